//! Allowed-IP enforcement: API calls (and dashboard pages) from addresses outside the
//! merchant's list for that source are refused; an empty list allows everyone.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use punchcard_app::allowed_ips::{ranges_allow, IpSource};
use punchcard_app::api_keys::ApiPrincipal;
use punchcard_app::campaigns::vouchers::IntegrationPrincipal;
use punchcard_app::{App, AppError};
use punchcard_domain::net::IpRange;
use punchcard_domain::MerchantId;
use punchcard_store::cache::Cache;
use punchcard_store::changes::Topic;
use punchcard_store::Db;

use crate::client_ip::client_ip_of;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A per-merchant cache of allowed ranges, so each API call does not read them; a change to
/// a merchant's list is forgotten on every server as it commits (see
/// `punchcard_store::cache`).
#[derive(Debug)]
pub struct AllowedIpCache {
    cache: Cache<(MerchantId, IpSource), Arc<Vec<IpRange>>>,
}

impl AllowedIpCache {
    pub fn new(db: &Db) -> Arc<Self> {
        Arc::new(Self {
            cache: Cache::new(db, |t| matches!(t, Topic::AllowedIps(_))),
        })
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
        let ranges = self
            .cache
            .get_or_load(&key, || async {
                let ranges = app.allowed_ranges(merchant_id, source).await?;
                Ok::<_, AppError>(Some((merchant_id.clone(), Arc::new(ranges))))
            })
            .await?
            .unwrap_or_default();
        Ok(ranges_allow(&ranges, ip))
    }

    /// Forgets a merchant's lists.
    pub fn invalidate(&self, merchant_id: &MerchantId) {
        self.cache.forget(merchant_id);
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

/// Runs after API-key (or integration) authentication: refuses callers outside the
/// merchant's `api` list.
pub async fn enforce_api_allowed_ips(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    // An API key's call, or an integration's award: both are the merchant's API traffic.
    let merchant_id = match (
        req.extensions().get::<ApiPrincipal>(),
        req.extensions().get::<IntegrationPrincipal>(),
    ) {
        (Some(p), _) => p.merchant_id.clone(),
        (None, Some(p)) => p.merchant_id.clone(),
        (None, None) => return ApiError(AppError::Unauthorized).into_response(),
    };
    let (parts, body) = req.into_parts();
    let ip = client_ip_of(&parts, &state.config.trusted_proxies);
    match state
        .allowed_ips
        .allows(&state.app, &merchant_id, IpSource::Api, ip)
        .await
    {
        Ok(true) => next.run(Request::from_parts(parts, body)).await,
        Ok(false) => {
            tracing::info!(merchant_id = %merchant_id, %ip, "API call from a non-allowed IP refused");
            ip_not_allowed(ip).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}
