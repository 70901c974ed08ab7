//! Change notifications: tells every server of an instance that data it caches has changed.
//!
//! A write that changes cached data publishes a [`Topic`] inside its own transaction
//! ([`publish`]). Nothing is sent unless that transaction commits; then subscribers
//! ([`Db::subscribe_changes`]) hear it:
//! - in the writing process at once, when [`crate::commit`] returns;
//! - on PostgreSQL in every other process through `NOTIFY punchcard_changes, '<topic>'`, which
//!   PostgreSQL delivers at commit, heard by [`watch`]'s `LISTEN`;
//! - on SQLite in other processes on the same file (`punchcard admin`), through a counter in
//!   the database header (`PRAGMA user_version`) that the write bumps and [`watch`] polls; a
//!   move of the counter that this process did not make means "something changed".
//!
//! A subscriber that may have missed something (the listener reconnected, the SQLite counter
//! moved, the channel lagged) gets [`Change::Everything`] and forgets all it cached.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use punchcard_domain::MerchantId;
use tokio::sync::broadcast;

use crate::{Backend, Db, StoreError, Tx};

/// The PostgreSQL channel every server listens on.
pub const CHANNEL: &str = "punchcard_changes";
/// How often a SQLite server looks for changes made by another process.
pub const SQLITE_POLL: Duration = Duration::from_millis(250);
/// The application name of the listening connection (seen in `pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "punchcard-changes";
/// Changes held for a subscriber that has not read them yet; past this it is told to forget
/// everything instead.
const BACKLOG: usize = 1024;

/// What changed. Each topic names the cached thing and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A merchant's allowed IPs (either source).
    AllowedIps(MerchantId),
    /// A merchant's API keys (one created or revoked).
    ApiKeys(MerchantId),
    /// A merchant's status (activated, frozen, unfrozen, rejected).
    MerchantStatus(MerchantId),
    /// A merchant's plan (quotas and rate limit).
    Plan(MerchantId),
    /// A merchant's webhook endpoints (one created, changed or deleted).
    WebhookEndpoints(MerchantId),
}

impl Topic {
    /// The NOTIFY payload: `<kind>:<id>`.
    pub fn payload(&self) -> String {
        match self {
            Topic::AllowedIps(m) => format!("allowed_ips:{m}"),
            Topic::ApiKeys(m) => format!("api_keys:{m}"),
            Topic::MerchantStatus(m) => format!("merchant_status:{m}"),
            Topic::Plan(m) => format!("plan:{m}"),
            Topic::WebhookEndpoints(m) => format!("webhook_endpoints:{m}"),
        }
    }

    /// The merchant whose data changed.
    pub fn merchant_id(&self) -> &MerchantId {
        match self {
            Topic::AllowedIps(m)
            | Topic::ApiKeys(m)
            | Topic::MerchantStatus(m)
            | Topic::Plan(m)
            | Topic::WebhookEndpoints(m) => m,
        }
    }

    /// Reads a payload back; `None` for one this version does not know.
    pub fn parse(payload: &str) -> Option<Self> {
        let (kind, id) = payload.split_once(':')?;
        match kind {
            "allowed_ips" => id.parse().ok().map(Topic::AllowedIps),
            "api_keys" => id.parse().ok().map(Topic::ApiKeys),
            "merchant_status" => id.parse().ok().map(Topic::MerchantStatus),
            "plan" => id.parse().ok().map(Topic::Plan),
            "webhook_endpoints" => id.parse().ok().map(Topic::WebhookEndpoints),
            _ => None,
        }
    }
}

/// What a subscriber hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Topic(Topic),
    /// Changes may have been missed: forget everything cached.
    Everything,
}

impl Change {
    /// A payload from another server; an unknown one (a newer version's topic) is treated as
    /// anything having changed rather than ignored.
    fn from_payload(payload: &str) -> Self {
        match Topic::parse(payload) {
            Some(t) => Change::Topic(t),
            None => {
                tracing::warn!(
                    payload,
                    "unknown change notification; forgetting every cache"
                );
                Change::Everything
            }
        }
    }
}

/// The in-process end of the channel, shared by every clone of a [`Db`].
pub(crate) struct Hub {
    sender: broadcast::Sender<Change>,
    /// Whether [`watch`] currently hears other processes' changes.
    live: AtomicBool,
    /// SQLite: counter values this process's commits wrote and the poll has not passed yet.
    own_bumps: std::sync::Mutex<Vec<i64>>,
    /// SQLite: the counter value last read.
    seen: std::sync::Mutex<Option<i64>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("subscribers", &self.sender.receiver_count())
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish()
    }
}

impl Hub {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            sender: broadcast::channel(BACKLOG).0,
            live: AtomicBool::new(false),
            own_bumps: Default::default(),
            seen: Default::default(),
        })
    }

    pub(crate) fn send(&self, change: Change) {
        // No subscriber (the CLI, a test without a server) is not an error.
        let _ = self.sender.send(change);
    }

    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Relaxed);
    }

    /// Records a counter value a commit of this process wrote.
    pub(crate) fn committed_bump(&self, value: i64) {
        self.own_bumps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(value);
    }

    /// Whether another process moved the counter from `seen` to `now`. Writers take turns, so
    /// each value in between was written by one commit; any this process did not record was
    /// someone else's. (A commit recorded late counts as someone else's: a needless, harmless
    /// flush, never a missed change.)
    fn others_moved(&self, seen: i64, now: i64) -> bool {
        let mut own = self.own_bumps.lock().unwrap_or_else(|p| p.into_inner());
        if now < seen {
            // Wrapped around: count it as a change.
            own.clear();
            return true;
        }
        let ours = own.iter().filter(|v| seen < **v && **v <= now).count();
        own.retain(|v| *v > now);
        usize::try_from(now - seen).unwrap_or(usize::MAX) > ours
    }
}

/// A subscription to changes; read it with [`Changes::try_next`] or [`Changes::next`].
#[derive(Debug)]
pub struct Changes {
    receiver: broadcast::Receiver<Change>,
    hub: Arc<Hub>,
}

impl Changes {
    /// The next change already received, without waiting.
    pub fn try_next(&mut self) -> Option<Change> {
        match self.receiver.try_recv() {
            Ok(c) => Some(c),
            Err(broadcast::error::TryRecvError::Empty) => None,
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(Change::Everything),
            Err(broadcast::error::TryRecvError::Closed) => None,
        }
    }

    /// Waits for the next change.
    pub async fn next(&mut self) -> Change {
        loop {
            match self.receiver.recv().await {
                Ok(c) => return c,
                Err(broadcast::error::RecvError::Lagged(_)) => return Change::Everything,
                // The hub lives as long as this subscription holds it: never closed.
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// Whether other processes' changes are being heard (see [`watch`]). While they are not,
    /// a cache should not keep anything for long.
    pub fn live(&self) -> bool {
        self.hub.live.load(Ordering::Relaxed)
    }
}

impl Db {
    /// Subscribes to changes committed from now on.
    pub fn subscribe_changes(&self) -> Changes {
        Changes {
            receiver: self.hub.sender.subscribe(),
            hub: self.hub.clone(),
        }
    }
}

/// Publishes `topic` with the transaction: sent to other processes only if it commits, and
/// to this process's subscribers once [`crate::commit`] succeeds.
pub async fn publish(tx: &mut Tx, topic: Topic) -> Result<(), StoreError> {
    match tx.backend {
        Backend::Postgres => {
            // `pg_notify` rather than `NOTIFY`, which takes no parameters; PostgreSQL holds it
            // until the commit and drops it on rollback.
            crate::query("SELECT 1 FROM pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(topic.payload())
                .execute(&mut tx.inner)
                .await?;
        }
        Backend::Sqlite => {
            // The header counter is written by this transaction, so it moves only on commit.
            // Writers are serialised (`BEGIN IMMEDIATE`), so read-then-set cannot lose a bump.
            // One bump per transaction, however many topics it publishes.
            if tx.bumped_to.is_none() {
                let n: i64 = crate::query("SELECT user_version FROM pragma_user_version")
                    .scalar(&mut tx.inner)
                    .await?;
                // The header holds a signed 32-bit value; wrapping reads as a change.
                let next = if n >= i64::from(i32::MAX) { 0 } else { n + 1 };
                crate::query(format!("PRAGMA user_version = {next}"))
                    .persistent(false)
                    .execute(&mut tx.inner)
                    .await?;
                tx.bumped_to = Some(next);
            }
        }
    }
    tx.published.push(topic);
    Ok(())
}

/// Hears other processes' changes and hands them to this process's subscribers, until the
/// future is dropped: on PostgreSQL a `LISTEN` that reconnects after a dropped connection; on
/// SQLite a poll of the change counter every [`SQLITE_POLL`].
pub async fn watch(db: Db) {
    let hub = db.hub.clone();
    let _not_live_when_gone = LiveGuard(hub.clone());
    match db.backend {
        Backend::Postgres => listen(&db, &hub).await,
        Backend::Sqlite => poll(&db, &hub).await,
    }
}

struct LiveGuard(Arc<Hub>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.set_live(false);
    }
}

async fn listen(db: &Db, hub: &Hub) {
    const FIRST_RETRY: Duration = Duration::from_millis(100);
    const LAST_RETRY: Duration = Duration::from_secs(5);
    let mut retry = FIRST_RETRY;
    loop {
        match connect_listener(db.url.expose()).await {
            Ok(mut listener) => {
                // Anything committed while nobody listened was missed.
                hub.set_live(true);
                hub.send(Change::Everything);
                retry = FIRST_RETRY;
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) => hub.send(Change::from_payload(n.payload())),
                        Ok(None) => {
                            // The connection dropped and sqlx listened again on a new one.
                            tracing::warn!("change listener reconnected; forgetting every cache");
                            hub.send(Change::Everything);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "change listener lost its connection");
                            break;
                        }
                    }
                }
                hub.set_live(false);
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for changes; retrying"),
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

async fn connect_listener(url: &str) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?
        .application_name(LISTENER_APPLICATION_NAME);
    // One connection, kept for as long as it lives; PgListener takes a new one from this
    // pool when it drops.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn poll(db: &Db, hub: &Hub) {
    let mut every = tokio::time::interval(SQLITE_POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match read_counter(db, hub).await {
            Ok(()) => hub.set_live(true),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the change counter; retrying");
                hub.set_live(false);
            }
        }
    }
}

/// SQLite: reads the change counter and tells subscribers to forget everything if another
/// process moved it since the last read.
async fn read_counter(db: &Db, hub: &Hub) -> Result<(), StoreError> {
    let mut conn = db.conn().await?;
    let n: i64 = crate::query("SELECT user_version FROM pragma_user_version")
        .scalar(&mut conn)
        .await?;
    let mut seen = hub.seen.lock().unwrap_or_else(|p| p.into_inner());
    match *seen {
        None => *seen = Some(n),
        Some(s) if s == n => {}
        // A read that started before a newer one finished: nothing new in it. (The counter
        // wraps from i32::MAX to 0, far below.)
        Some(s) if n < s && s - n < i64::from(i32::MAX) / 2 => {}
        Some(s) => {
            if hub.others_moved(s, n) {
                hub.send(Change::Everything);
            }
            *seen = Some(n);
        }
    }
    Ok(())
}

impl Db {
    /// Brings this process's subscribers up to date with other processes' commits before a
    /// cache is trusted. PostgreSQL delivers them as they commit; on SQLite the change counter
    /// is read now rather than at the next poll, so a change another process (the operator
    /// CLI) committed is never missed by a request that starts after it.
    pub async fn catch_up_changes(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Postgres => Ok(()),
            Backend::Sqlite => read_counter(self, &self.hub).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_unknown_ones_mean_everything() {
        let m = MerchantId::new();
        for (t, payload) in [
            (Topic::AllowedIps(m.clone()), format!("allowed_ips:{m}")),
            (Topic::ApiKeys(m.clone()), format!("api_keys:{m}")),
            (
                Topic::MerchantStatus(m.clone()),
                format!("merchant_status:{m}"),
            ),
            (Topic::Plan(m.clone()), format!("plan:{m}")),
        ] {
            assert_eq!(t.payload(), payload);
            assert_eq!(Topic::parse(&t.payload()), Some(t.clone()));
            assert_eq!(Change::from_payload(&t.payload()), Change::Topic(t));
        }
        for unknown in ["", "allowed_ips:", "allowed_ips:nope", "api_key:key_x", "x"] {
            assert_eq!(
                Change::from_payload(unknown),
                Change::Everything,
                "{unknown}"
            );
        }
    }

    #[test]
    fn only_counter_moves_made_elsewhere_count() {
        let hub = Hub::new();
        hub.committed_bump(5);
        hub.committed_bump(6);
        assert!(!hub.others_moved(4, 6), "both moves were ours");
        hub.committed_bump(8);
        assert!(hub.others_moved(6, 8), "7 was someone else's");
        // A commit of ours not yet recorded counts as someone else's; one recorded ahead of the
        // poll is kept for the next look.
        assert!(hub.others_moved(8, 9));
        hub.committed_bump(11);
        hub.committed_bump(10);
        assert!(!hub.others_moved(9, 10));
        assert!(!hub.others_moved(10, 11));
        assert!(hub.others_moved(11, 0), "wrapped");
    }
}
