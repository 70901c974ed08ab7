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

use crate::client_ip::client_ip_of;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// How long a merchant's list is reused before it is read again. Writes through this server
/// invalidate at once; this bounds how late another server sees a change.
const CACHE_TTL: Duration = Duration::from_secs(1);
/// Past this many entries the cache starts over rather than grow without bound.
const CACHE_MAX_ENTRIES: usize = 10_000;

type Key = (MerchantId, IpSource);
/// When a list was read, and the list.
type Entry = (Instant, Arc<Vec<IpRange>>);

/// A short-lived per-merchant cache of allowed ranges, so each API call does not read them.
#[derive(Debug, Default)]
pub struct AllowedIpCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl AllowedIpCache {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
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
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries
                .get(&key)
                .filter(|(at, _)| at.elapsed() < CACHE_TTL)
                .map(|(_, ranges)| ranges.clone())
        };
        let ranges = match cached {
            Some(r) => r,
            None => {
                let fresh = Arc::new(app.allowed_ranges(merchant_id, source).await?);
                let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
                if entries.len() >= CACHE_MAX_ENTRIES {
                    entries.clear();
                }
                entries.insert(key, (Instant::now(), fresh.clone()));
                fresh
            }
        };
        Ok(ranges_allow(&ranges, ip))
    }

    /// Forgets a merchant's lists after a change.
    pub fn invalidate(&self, merchant_id: &MerchantId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(m, _), _| m != merchant_id);
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
