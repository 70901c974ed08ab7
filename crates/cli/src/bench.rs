//! `punchcard bench`: drives a server's API over HTTP from concurrent clients and prints a JSON
//! report: throughput, latency percentiles, peak memory and, for the ledger, whether the books
//! still add up.
//!
//! By default it starts a server in this process on a fresh database (a temporary SQLite file,
//! or the `--database-url` it migrates) with a merchant whose prod plan is raised so that
//! quotas and the rate limit never cut a run short. `--target` drives a server that is already
//! running instead, with the API key given.

mod baseline;
mod coupons;
mod currencies;
mod ledger;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use punchcard_app::merchants::NewMerchant;
use punchcard_app::plans::PlanChange;
use punchcard_app::App;
use punchcard_domain::limits::MAX_RATE_LIMIT_PER_MINUTE;
use punchcard_domain::{Env, MerchantId};
use punchcard_server::{Config, Server};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

#[derive(Args)]
pub struct BenchArgs {
    /// Scenario: `ledger` (rewards and debits on many wallets, then an invariant check),
    /// `coupons` (coupons issued from one deal's codes to many leads, then a check that no
    /// code went out twice) or `currencies` (authenticated list reads).
    #[arg(long, default_value = "ledger")]
    scenario: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to measure, in seconds (after a one-second warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Database of the server started here; default: a fresh SQLite file in a temporary
    /// directory. A PostgreSQL URL should name an empty database: it is migrated first.
    #[arg(long, conflicts_with = "target")]
    database_url: Option<String>,
    /// Drive the server already running at this base URL (e.g. `http://127.0.0.1:8080`)
    /// instead of starting one; needs `--key-id` and `--key-secret`.
    #[arg(long, requires_all = ["key_id", "key_secret"])]
    target: Option<String>,
    /// API key id for `--target` (a prod key, so caps on dev data do not apply); ignored
    /// without `--target`.
    #[arg(long, env = "PUNCHCARD_BENCH_KEY_ID")]
    key_id: Option<String>,
    /// API key secret for `--target`.
    #[arg(long, env = "PUNCHCARD_BENCH_KEY_SECRET")]
    key_secret: Option<String>,
    /// Ledger: currency of the wallets on `--target` (default: the first one listed).
    #[arg(long, requires = "target")]
    currency_id: Option<String>,
    /// Ledger: leads to create, each with one wallet.
    #[arg(long, default_value_t = 1000)]
    leads: usize,
    /// Ledger: share of the transactions (0 to 1) aimed at a few hot wallets.
    #[arg(long, default_value_t = 0.1)]
    hot_wallets: f64,
    /// Ledger: how many wallets are hot.
    #[arg(long, default_value_t = 4)]
    hot_wallet_count: usize,
    /// Ledger: share of the transactions (0 to 1) that are debits (`adjust` with a negative
    /// amount); the rest are rewards.
    #[arg(long, default_value_t = 0.3)]
    debit_share: f64,
    /// Ledger: also run the plain-SQL baseline (one database transaction per wallet
    /// transaction, the same mix and clients) on the same engine, and print both rates and
    /// their ratio. On PostgreSQL it runs `pgbench` on a scratch database of the same server.
    #[arg(long, conflicts_with = "target")]
    baseline: bool,
    /// Ledger: requests per second the clients send together, each on a fixed schedule
    /// (latency counts from the scheduled moment, so a server that falls behind shows it);
    /// 0 sends back to back, as fast as the server answers.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Ledger: transactions written straight into the ledger of another merchant before the
    /// run, so the tables and their indexes already hold this many rows (e.g. 10000000).
    #[arg(long, default_value_t = 0, conflicts_with = "target")]
    preload: u64,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if !matches!(args.scenario.as_str(), "ledger" | "coupons" | "currencies") {
        anyhow::bail!(
            "unknown scenario `{}`: available: ledger, coupons, currencies",
            args.scenario
        );
    }
    if args.concurrency == 0 || args.concurrency > 4096 {
        anyhow::bail!("--concurrency must be between 1 and 4096");
    }
    if args.seconds == 0 || args.seconds > 3600 {
        anyhow::bail!("--seconds must be between 1 and 3600");
    }
    if args.leads == 0 || args.leads > 1_000_000 {
        anyhow::bail!("--leads must be between 1 and 1000000");
    }
    if args.hot_wallet_count == 0 || args.hot_wallet_count > args.leads {
        anyhow::bail!("--hot-wallet-count must be between 1 and --leads");
    }
    for (name, share) in [
        ("--hot-wallets", args.hot_wallets),
        ("--debit-share", args.debit_share),
    ] {
        if !(0.0..=1.0).contains(&share) {
            anyhow::bail!("{name} must be a share between 0 and 1");
        }
    }
    if args.baseline && args.scenario != "ledger" {
        anyhow::bail!("--baseline compares the ledger scenario only");
    }
    if args.rate > 1_000_000 {
        anyhow::bail!("--rate must be at most 1000000 requests per second");
    }
    if args.preload > 100_000_000 {
        anyhow::bail!("--preload must be at most 100000000 transactions");
    }
    if (args.rate > 0 || args.preload > 0) && args.scenario != "ledger" {
        anyhow::bail!("--rate and --preload apply to the ledger scenario only");
    }
    match args.scenario.as_str() {
        "ledger" => ledger::run(&args).await,
        "coupons" => coupons::run(&args).await,
        _ => currencies::run(&args).await,
    }
}

/// Quotas of the bench merchant's plan: far beyond what a run burns.
const BENCH_QUOTA: i64 = 1_000_000_000;

/// The server under load and how to call it.
pub(crate) struct Harness {
    pub api: Api,
    /// `sqlite` or `postgres` for a server started here; `unknown` for `--target`.
    pub backend: String,
    pub target: Option<String>,
    /// Set when the server runs in this process.
    pub local: Option<Local>,
}

/// A server started in this process, with the merchant made for the run.
pub(crate) struct Local {
    pub app: App,
    pub merchant_id: MerchantId,
    pub currency_id: String,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start(args: &BenchArgs) -> anyhow::Result<Harness> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .timeout(Duration::from_secs(60))
            .build()?;
        if let Some(target) = &args.target {
            let base = target.trim_end_matches('/').to_string();
            reqwest::Url::parse(&base).context("--target must be a URL like http://HOST:PORT")?;
            return Ok(Harness {
                api: Api {
                    client,
                    base,
                    key_id: args.key_id.clone().unwrap_or_default(),
                    key_secret: args.key_secret.clone().unwrap_or_default(),
                },
                backend: "unknown".to_string(),
                target: Some(target.clone()),
                local: None,
            });
        }
        let dir = tempfile::tempdir()?;
        let database_url = args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
        let backend = punchcard_store::backend_of(&database_url)?;
        let mut config = Config::with_database(&database_url);
        config.mail_dir = dir.path().join("mail");
        config.storage_url = format!("file://{}", dir.path().join("uploads").display());
        let server = Server::build(config).await?;
        let addr = server.local_addr();
        let app = server.state().app.clone();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.run(async move {
            let _ = stop_rx.await;
        }));

        let email = format!(
            "bench-{}@example.com",
            ulid::Ulid::new().to_string().to_ascii_lowercase()
        );
        let new = NewMerchant::parse("Bench", &email, "Correct-Horse-9", true)?;
        let (merchant_id, _) = app.create_merchant(new).await?;
        let currency = app
            .create_currency(&merchant_id, "PTS", "Points", "1")
            .await?;
        app.set_plan(
            &merchant_id,
            PlanChange {
                leads: Some(BENCH_QUOTA),
                rewards: Some(BENCH_QUOTA),
                redeems: Some(BENCH_QUOTA),
                rate_limit_per_minute: Some(MAX_RATE_LIMIT_PER_MINUTE),
                ..Default::default()
            },
        )
        .await?;
        let key = app
            .create_api_key(&merchant_id, Env::Prod, "bench", None)
            .await?;
        Ok(Harness {
            api: Api {
                client,
                base: format!("http://{addr}"),
                key_id: key.id.to_string(),
                key_secret: key.secret,
            },
            backend: match backend {
                punchcard_store::Backend::Sqlite => "sqlite",
                punchcard_store::Backend::Postgres => "postgres",
            }
            .to_string(),
            target: None,
            local: Some(Local {
                app,
                merchant_id,
                currency_id: currency.id.to_string(),
                stop,
                serving,
                _dir: dir,
            }),
        })
    }

    /// Stops the server started here, if any, once its in-flight requests are done.
    pub async fn finish(self) -> anyhow::Result<()> {
        if let Some(local) = self.local {
            let _ = local.stop.send(());
            local.serving.await??;
        }
        Ok(())
    }

    /// What the bench set up on a server it started; `None` for `--target`.
    pub fn plan_note(&self) -> Value {
        match &self.local {
            Some(_) => json!({
                "leads": BENCH_QUOTA,
                "rewards": BENCH_QUOTA,
                "redeems": BENCH_QUOTA,
                "rate_limit_per_minute": MAX_RATE_LIMIT_PER_MINUTE,
            }),
            None => Value::Null,
        }
    }
}

/// An authenticated API client.
#[derive(Clone)]
pub(crate) struct Api {
    pub client: reqwest::Client,
    pub base: String,
    key_id: String,
    key_secret: String,
}

impl Api {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.key_id, Some(&self.key_secret))
    }

    /// A setup or check call (not measured): waits out a rate limit, and answers the JSON of
    /// the expected status or an error naming what the server said.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        expect: StatusCode,
    ) -> anyhow::Result<Value> {
        for _ in 0..20 {
            let mut req = self.request(method.clone(), path).query(query);
            if let Some(body) = body {
                req = req.json(body);
            }
            let res = req
                .send()
                .await
                .with_context(|| format!("{method} {path}"))?;
            let status = res.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 60);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let text = res
                .text()
                .await
                .with_context(|| format!("{method} {path}"))?;
            if status != expect {
                anyhow::bail!("{method} {path} answered {status}: {text}");
            }
            return serde_json::from_str(&text)
                .with_context(|| format!("{method} {path} answered something other than JSON"));
        }
        anyhow::bail!("{method} {path}: still rate limited after 20 tries")
    }
}

/// The clients' timeline: a one-second warm-up, then `seconds` in which they record what they
/// do (`measuring`), then `stop`. Answers the measured seconds.
pub(crate) async fn measure(measuring: &AtomicBool, stop: &AtomicBool, seconds: u64) -> f64 {
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    elapsed
}

/// p50, p99, p99.9 and max of latencies in microseconds, in milliseconds.
pub(crate) fn latency_ms(latencies: &mut [u64]) -> Value {
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    json!({"p50": pct(0.50), "p99": pct(0.99), "p99.9": pct(0.999), "max": pct(1.0)})
}

/// Peak resident memory of this process, from /proc.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// What the peak RSS figure covers.
pub(crate) fn rss_scope(harness: &Harness) -> &'static str {
    if harness.local.is_some() {
        "server and load generator (one process)"
    } else {
        "load generator only"
    }
}
