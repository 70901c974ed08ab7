//! API rate limits per merchant and env (dev 100 calls a minute, prod the plan's rate), with
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on every answer.
//!
//! Counted in fixed 60-second windows through the shared [`Throttle`](crate::throttle::Throttle),
//! so several servers behind a load balancer share one budget when Redis is configured.
//!
//! If the counter store fails (Redis unreachable or too slow) the call is served without a
//! limit and without rate-limit headers: an outage of the limiter must not take the API down
//! with it. Each such call counts in `punchcard_rate_limit_backend_errors_total`, and a
//! warning is logged at most every ten seconds while it lasts.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use punchcard_app::api_keys::ApiPrincipal;
use punchcard_app::campaigns::vouchers::IntegrationPrincipal;

use crate::problem::Problem;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);

/// The merchant, env and calls a minute of the caller: an API key, or an integration of a
/// voucher campaign (which shares its merchant's budget).
fn bucket(req: &Request) -> Option<(String, i64)> {
    if let Some(p) = req.extensions().get::<ApiPrincipal>() {
        return Some((
            format!("api:{}:{}", p.merchant_id, p.env),
            p.rate_limit_per_minute,
        ));
    }
    req.extensions().get::<IntegrationPrincipal>().map(|p| {
        (
            format!("api:{}:{}", p.merchant_id, p.env),
            p.rate_limit_per_minute,
        )
    })
}

pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some((key, per_minute)) = bucket(&req) else {
        return next.run(req).await;
    };
    let limit = u64::try_from(per_minute).unwrap_or(0).max(1);
    match state.throttle.count(&key, WINDOW).await {
        Ok((count, reset)) => {
            let reset_secs = reset.as_secs().max(1);
            if count > limit {
                let mut res = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "rate limit of {limit} calls a minute reached; retry in {reset_secs} s"
                    ),
                )
                .with_retry_after(reset_secs)
                .into_response();
                set_headers(res.headers_mut(), limit, 0, reset_secs);
                return res;
            }
            let mut res = next.run(req).await;
            set_headers(res.headers_mut(), limit, limit - count, reset_secs);
            res
        }
        Err(e) => {
            state.metrics.rate_limit_backend_error();
            if state.throttle.should_report_failure() {
                tracing::warn!(error = %e, "rate limiter unavailable; serving API calls without a limit");
            }
            next.run(req).await
        }
    }
}

fn set_headers(h: &mut HeaderMap, limit: u64, remaining: u64, reset: u64) {
    h.insert("ratelimit-limit", HeaderValue::from(limit));
    h.insert("ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("ratelimit-reset", HeaderValue::from(reset));
}
