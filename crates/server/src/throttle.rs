//! Fixed-window counters for rate limits and sign-in throttles: in process by default, in
//! Redis when `PUNCHCARD_REDIS_URL` is set so limits hold across servers.
//!
//! A window is `[k * window, (k + 1) * window)` in Unix time; a key's counter lives for one
//! window. `hit` counts an event and refuses it past the limit; `check` only looks, for
//! throttles that count failures (check before trying, `hit` when the try failed).
//!
//! Redis is reached lazily and every call is bounded by [`REDIS_DEADLINE`]s: a server starts
//! while Redis is down, and a call made during an outage gets a [`ThrottleError`] quickly
//! instead of hanging. Each caller decides what an error means (the API rate limit serves
//! the call; sign-in throttles refuse it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long connecting to Redis, or one answer from it, may take; a whole counter operation
/// (a connection included) gets twice this.
pub const REDIS_DEADLINE: Duration = Duration::from_millis(500);

/// At most one warning about an unreachable store per this many seconds.
const FAILURE_LOG_EVERY_SECS: u64 = 10;

/// Counters shared by the handlers of one server (cheap to clone).
#[derive(Clone)]
pub struct Throttle {
    inner: Inner,
    /// When an unreachable store was last reported (seconds since the epoch; 0: never).
    last_failure_report: Arc<AtomicU64>,
}

#[derive(Clone)]
enum Inner {
    Local(Arc<Mutex<LocalCounters>>),
    Redis(ConnectionManager),
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner {
            Inner::Local(_) => f.write_str("Throttle(in process)"),
            Inner::Redis(_) => f.write_str("Throttle(redis)"),
        }
    }
}

#[derive(Default)]
struct LocalCounters {
    /// key -> (window index, window length in seconds, count)
    counts: HashMap<String, (u64, u64, u64)>,
    hits_since_sweep: u64,
}

/// The throttle store could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("throttle store unavailable: {0}")]
pub struct ThrottleError(String);

/// Seconds since the epoch (a clock before 1970 counts as 0).
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn window_of(now: u64, window: Duration) -> (u64, u64, Duration) {
    let len = window.as_secs().max(1);
    let index = now / len;
    let retry_after = Duration::from_secs((index + 1) * len - now);
    (index, len, retry_after)
}

impl Throttle {
    /// Counters in this process only.
    pub fn in_process() -> Self {
        Self::with(Inner::Local(Arc::new(Mutex::new(LocalCounters::default()))))
    }

    /// Counters in Redis. Fails only on a malformed URL: the connection is made on first use
    /// and remade after a failure, so a server can start (and keep serving) while Redis is
    /// down. Use [`Throttle::ping`] to report whether it answers.
    pub fn redis(url: &str) -> Result<Self, ThrottleError> {
        let client = redis::Client::open(url).map_err(|e| ThrottleError(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_DEADLINE))
            .set_response_timeout(Some(REDIS_DEADLINE))
            // One attempt per reconnection: callers must not queue behind a retry loop.
            .set_number_of_retries(0);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| ThrottleError(e.to_string()))?;
        Ok(Self::with(Inner::Redis(manager)))
    }

    fn with(inner: Inner) -> Self {
        Self {
            inner,
            last_failure_report: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Whether the counter store answers (always true in process).
    pub async fn ping(&self) -> Result<(), ThrottleError> {
        match &self.inner {
            Inner::Local(_) => Ok(()),
            Inner::Redis(manager) => {
                let mut conn = manager.clone();
                let _: String = bounded(redis::cmd("PING").query_async(&mut conn)).await?;
                Ok(())
            }
        }
    }

    /// Whether a failure of the store should be logged now: true at most once every
    /// ten seconds, so an outage does not flood the log with one line per request.
    pub fn should_report_failure(&self) -> bool {
        let now = now_secs();
        let last = self.last_failure_report.load(Ordering::Relaxed);
        now >= last + FAILURE_LOG_EVERY_SECS
            && self
                .last_failure_report
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Counts one event under `key`; past `limit` in the current window it is refused with
    /// how long until the window ends.
    pub async fn hit(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<Result<(), Duration>, ThrottleError> {
        let (count, retry_after) = self.count(key, window).await?;
        Ok(if count > limit {
            Err(retry_after)
        } else {
            Ok(())
        })
    }

    /// Counts one event under `key` and answers the window's count so far (this one included)
    /// and how long until the window ends; for limits that report what remains.
    pub async fn count(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), ThrottleError> {
        let (index, len, retry_after) = window_of(now_secs(), window);
        let count = match &self.inner {
            Inner::Local(counters) => {
                let mut c = counters.lock().unwrap_or_else(|p| p.into_inner());
                c.hits_since_sweep += 1;
                if c.hits_since_sweep >= 1024 {
                    // Forget counters of past windows now and then, so memory stays bounded.
                    let now = now_secs();
                    c.counts.retain(|_, (i, l, _)| *i >= now / *l);
                    c.hits_since_sweep = 0;
                }
                let entry = c.counts.entry(key.to_string()).or_insert((index, len, 0));
                if entry.0 != index || entry.1 != len {
                    *entry = (index, len, 0);
                }
                entry.2 += 1;
                entry.2
            }
            Inner::Redis(manager) => {
                let mut conn = manager.clone();
                let rkey = redis_key(key, len, index);
                let (count,): (u64,) = bounded(
                    redis::pipe()
                        .atomic()
                        .incr(&rkey, 1u64)
                        .expire(&rkey, len as i64 + 1)
                        .ignore()
                        .query_async(&mut conn),
                )
                .await?;
                count
            }
        };
        Ok((count, retry_after))
    }

    /// Whether `key` has already reached `limit` in the current window, without counting.
    pub async fn check(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<Result<(), Duration>, ThrottleError> {
        let (index, len, retry_after) = window_of(now_secs(), window);
        let count = match &self.inner {
            Inner::Local(counters) => {
                let c = counters.lock().unwrap_or_else(|p| p.into_inner());
                match c.counts.get(key) {
                    Some((i, l, n)) if *i == index && *l == len => *n,
                    _ => 0,
                }
            }
            Inner::Redis(manager) => {
                let mut conn = manager.clone();
                let n: Option<u64> = bounded(
                    redis::cmd("GET")
                        .arg(redis_key(key, len, index))
                        .query_async(&mut conn),
                )
                .await?;
                n.unwrap_or(0)
            }
        };
        Ok(if count >= limit {
            Err(retry_after)
        } else {
            Ok(())
        })
    }
}

/// Runs one Redis operation, connecting included, within twice [`REDIS_DEADLINE`].
async fn bounded<T>(
    op: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ThrottleError> {
    match tokio::time::timeout(2 * REDIS_DEADLINE, op).await {
        Ok(result) => result.map_err(|e| ThrottleError(e.to_string())),
        Err(_) => Err(ThrottleError("no answer in time".to_string())),
    }
}

fn redis_key(key: &str, len: u64, index: u64) -> String {
    format!("punchcard:throttle:{key}:{len}:{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exercise(t: &Throttle) {
        let key = format!("test:{}", ulid::Ulid::new());
        let w = Duration::from_secs(3600);
        assert!(t.check(&key, 3, w).await.unwrap().is_ok());
        for _ in 0..3 {
            assert!(t.hit(&key, 3, w).await.unwrap().is_ok());
        }
        let retry = t.hit(&key, 3, w).await.unwrap().unwrap_err();
        assert!(retry > Duration::ZERO && retry <= w);
        assert!(t.check(&key, 3, w).await.unwrap().is_err());
        // Other keys and other window lengths count on their own.
        assert!(t.hit(&format!("{key}:other"), 3, w).await.unwrap().is_ok());
        assert!(t
            .check(&key, 3, Duration::from_secs(7200))
            .await
            .unwrap()
            .is_ok());
    }

    #[test]
    fn windows() {
        let (i, l, r) = window_of(125, Duration::from_secs(60));
        assert_eq!((i, l, r), (2, 60, Duration::from_secs(55)));
        let (_, l, _) = window_of(5, Duration::from_millis(10));
        assert_eq!(l, 1);
    }

    #[tokio::test]
    async fn in_process_counts_and_refuses() {
        exercise(&Throttle::in_process()).await;
    }

    #[tokio::test]
    async fn unreachable_redis_fails_fast_and_is_reported_sparingly() {
        // Nothing listens on port 1: every operation errs, quickly, and the handle stays usable.
        let t = Throttle::redis("redis://127.0.0.1:1").expect("valid URL");
        for _ in 0..3 {
            let started = std::time::Instant::now();
            assert!(t.count("k", Duration::from_secs(60)).await.is_err());
            assert!(t.check("k", 1, Duration::from_secs(60)).await.is_err());
            assert!(started.elapsed() < 4 * REDIS_DEADLINE);
        }
        assert!(t.ping().await.is_err());
        assert!(t.should_report_failure());
        assert!(!t.should_report_failure(), "once per interval");
        assert!(Throttle::redis("not a url").is_err());
    }

    #[tokio::test]
    async fn redis_counts_and_refuses() {
        let Some(url) = std::env::var("PUNCHCARD_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "PUNCHCARD_TEST_REDIS_URL must be set in CI: Redis tests may not be skipped"
            );
            eprintln!("PUNCHCARD_TEST_REDIS_URL is not set: skipping the Redis throttle test");
            return;
        };
        let t = Throttle::redis(&url).expect("valid URL");
        t.ping().await.expect("redis reachable");
        exercise(&t).await;
        // Two handles on the same Redis share the counters, as two servers would.
        let key = format!("test:{}", ulid::Ulid::new());
        let w = Duration::from_secs(3600);
        let other = Throttle::redis(&url).expect("valid URL");
        assert!(t.hit(&key, 1, w).await.unwrap().is_ok());
        assert!(other.hit(&key, 1, w).await.unwrap().is_err());
    }
}
