//! Use cases: one function per action. Each opens its transaction, checks the rules and writes
//! through the store.

pub mod accounts;
pub mod activity;
pub mod allowed_ips;
pub mod api_keys;
pub mod callbacks;
pub mod campaign_reports;
pub mod campaigns;
pub mod catalog;
pub mod catalog_kind;
pub mod counter;
pub mod coupons;
pub mod currencies;
pub mod deals;
pub mod demo;
pub mod error;
pub mod exports;
pub mod housekeeping;
pub mod idempotency;
pub mod input;
pub mod jobs;
pub mod kyc;
pub mod ledger;
pub mod limits;
pub mod members;
pub mod merchants;
pub mod messages;
pub mod offers;
pub mod passwords;
pub mod plans;
pub mod secrets;
pub mod stats;
pub mod stores;
pub mod swaps;
pub mod tokens;
pub mod uploads;
pub mod webhooks;

pub use error::AppError;
use punchcard_store::Db;

/// Settings the use cases need (the server passes its configuration in).
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Accept callback URLs that point at private or loopback addresses.
    pub allow_private_callbacks: bool,
    /// How long a callback may take to answer before the action is rejected.
    pub callback_timeout: std::time::Duration,
    /// How often a server looks for due background jobs.
    pub job_poll_interval: std::time::Duration,
    /// How long a claimed job is held before another server may take it over.
    pub job_lease: std::time::Duration,
    /// The wait after a webhook delivery's first failure; it doubles with each failure.
    pub webhook_retry_base: std::time::Duration,
    /// How long a webhook delivery is retried before it is left `failed`.
    pub webhook_retry_window: std::time::Duration,
    /// How long a webhook endpoint may take to answer.
    pub webhook_timeout: std::time::Duration,
    /// How long a delivered or given-up webhook delivery (and a failed job) is kept before
    /// housekeeping deletes it.
    pub webhook_retention: std::time::Duration,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            allow_private_callbacks: false,
            callback_timeout: callbacks::DEFAULT_TIMEOUT,
            job_poll_interval: std::time::Duration::from_secs(1),
            job_lease: std::time::Duration::from_secs(60),
            webhook_retry_base: std::time::Duration::from_secs(30),
            webhook_retry_window: std::time::Duration::from_secs(24 * 60 * 60),
            webhook_timeout: std::time::Duration::from_secs(10),
            webhook_retention: webhooks::DEFAULT_RETENTION,
        }
    }
}

/// The application: the database plus settings; cheap to clone (its parts are shared, one
/// reference count per clone).
#[derive(Clone, Debug)]
pub struct App(std::sync::Arc<AppParts>);

impl std::ops::Deref for App {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What an [`App`] holds.
#[derive(Debug)]
pub struct AppParts {
    pub db: Db,
    pub settings: AppSettings,
    /// The HTTP client of pre-action callbacks, built once from `settings` and shared by clones.
    pub(crate) callback_client: reqwest::Client,
    /// API keys with their merchant's status and plan, as every API call reads them; forgotten
    /// on every server when a key, the status or the plan changes.
    pub(crate) keys: std::sync::Arc<api_keys::KeyCache>,
    /// This server's ledger writer (see [`ledger::writer`]); `None` outside a tokio runtime,
    /// where each transaction commits alone.
    pub(crate) ledger_writer: Option<ledger::LedgerWriter>,
    /// Interactions that could not be written when they happened, written again later.
    pub(crate) unrecorded: std::sync::Arc<campaigns::Unrecorded>,
    /// The keys that sign QR tokens, as last read.
    pub(crate) key_ring: std::sync::Arc<tokens::KeyRing>,
    /// Where events are written, with the change they report.
    pub(crate) outbox: std::sync::Arc<webhooks::Outbox>,
    /// Webhook deliveries attempted by this server, by outcome.
    pub delivery_outcomes: std::sync::Arc<webhooks::DeliveryOutcomes>,
    /// What was rewarded, redeemed and awarded since start (for metrics).
    pub(crate) activity: std::sync::Arc<activity::Activity>,
}

impl App {
    /// Builds the application and starts its ledger writer on the current tokio runtime.
    pub fn new(db: Db, settings: AppSettings) -> Self {
        let callback_client = callbacks::build_client(&settings);
        let keys = std::sync::Arc::new(api_keys::key_cache(&db));
        let outbox = std::sync::Arc::new(webhooks::Outbox::new(&db, settings.webhook_retry_window));
        // One commit (one fsync) and a handful of statements for a whole group of wallet
        // transactions, instead of a transaction and its round trips for each.
        let ledger_writer = tokio::runtime::Handle::try_current()
            .is_ok()
            .then(|| ledger::LedgerWriter::start(db.clone(), outbox.clone()));
        Self(std::sync::Arc::new(AppParts {
            db,
            settings,
            callback_client,
            keys,
            ledger_writer,
            unrecorded: Default::default(),
            key_ring: Default::default(),
            outbox,
            delivery_outcomes: Default::default(),
            activity: Default::default(),
        }))
    }

    /// What was rewarded, redeemed and awarded since this process started.
    pub fn activity(&self) -> &activity::Activity {
        &self.activity
    }
}
