//! Allowed-IP enforcement: API calls (and dashboard pages) from addresses outside the
//! merchant's list for that source are refused; an empty list allows everyone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use punchcard_app::allowed_ips::{ranges_allow, IpSource};
use punchcard_app::api_keys::ApiPrincipal;
use punchcard_app::{App, AppError};
use punchcard_domain::net::IpRange;
use punchcard_domain::MerchantId;
use punchcard_store::changes::{Change, Changes, Topic};
use punchcard_store::Db;

use crate::client_ip::client_ip_of;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// How long an entry is trusted while other servers' changes are not being heard (the
/// listener is reconnecting, or has not started): the bound polling used to give.
const UNHEARD_TTL: Duration = Duration::from_secs(1);
/// The longest an entry is kept even while changes are heard, bounding the cost of any
/// invalidation that goes missing.
const MAX_AGE: Duration = Duration::from_secs(300);
/// Past this many entries the cache starts over rather than grow without bound.
const CACHE_MAX_ENTRIES: usize = 10_000;

type Key = (MerchantId, IpSource);
/// When a list was read, and the list.
type Entry = (Instant, Arc<Vec<IpRange>>);

/// A per-merchant cache of allowed ranges, so each API call does not read them. A change is
/// published with the write that makes it (see `punchcard_store::changes`): this server's
/// writes are forgotten as they commit, other servers' as soon as their notification arrives.
#[derive(Debug)]
pub struct AllowedIpCache {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    entries: HashMap<Key, Entry>,
    changes: Changes,
    /// Moves on every invalidation: a list read before it moved is not kept.
    generation: u64,
}

impl Inner {
    /// Applies the changes heard since the last look.
    fn catch_up(&mut self) {
        while let Some(change) = self.changes.try_next() {
            match change {
                Change::Topic(Topic::AllowedIps(m)) => self.forget(&m),
                Change::Topic(_) => {}
                Change::Everything => {
                    self.entries.clear();
                    self.generation += 1;
                }
            }
        }
    }

    fn forget(&mut self, merchant_id: &MerchantId) {
        self.entries.retain(|(m, _), _| m != merchant_id);
        self.generation += 1;
    }
}

impl AllowedIpCache {
    pub fn new(db: &Db) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                changes: db.subscribe_changes(),
                generation: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.catch_up();
        inner
    }

    /// Whether `ip` may use `source` for this merchant.
    pub async fn allows(
        &self,
        app: &App,
        merchant_id: &MerchantId,
        source: IpSource,
        ip: IpAddr,
    ) -> Result<bool, AppError> {
        let key = (merchant_id.clone(), source);
        let (cached, generation) = {
            let inner = self.lock();
            let ttl = if inner.changes.live() {
                MAX_AGE
            } else {
                UNHEARD_TTL
            };
            let cached = inner
                .entries
                .get(&key)
                .filter(|(at, _)| at.elapsed() < ttl)
                .map(|(_, ranges)| ranges.clone());
            (cached, inner.generation)
        };
        let ranges = match cached {
            Some(r) => r,
            None => {
                let fresh = Arc::new(app.allowed_ranges(merchant_id, source).await?);
                let mut inner = self.lock();
                // A change heard while reading may not be in what was read: keep nothing.
                if inner.generation == generation {
                    if inner.entries.len() >= CACHE_MAX_ENTRIES {
                        inner.entries.clear();
                    }
                    inner.entries.insert(key, (Instant::now(), fresh.clone()));
                }
                fresh
            }
        };
        Ok(ranges_allow(&ranges, ip))
    }

    /// Forgets a merchant's lists.
    pub fn invalidate(&self, merchant_id: &MerchantId) {
        self.lock().forget(merchant_id);
    }
}

/// The 403 answer for an API call from an address that is not allowed.
pub fn ip_not_allowed(ip: IpAddr) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "ip_not_allowed",
        format!("requests from {ip} are not in this account's allowed IPs for the API"),
    )
}

/// Runs after API-key authentication: refuses callers outside the merchant's `api` list.
pub async fn enforce_api_allowed_ips(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(principal) = req.extensions().get::<ApiPrincipal>().cloned() else {
        return ApiError(AppError::Unauthorized).into_response();
    };
    let (parts, body) = req.into_parts();
    let ip = client_ip_of(&parts, &state.config.trusted_proxies);
    match state
        .allowed_ips
        .allows(&state.app, &principal.merchant_id, IpSource::Api, ip)
        .await
    {
        Ok(true) => next.run(Request::from_parts(parts, body)).await,
        Ok(false) => {
            tracing::info!(merchant_id = %principal.merchant_id, %ip, "API call from a non-allowed IP refused");
            ip_not_allowed(ip).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}
