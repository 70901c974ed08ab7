//! The JSON API under `/api/v1`, its OpenAPI document and the browsable docs.

pub mod allowed_ips;
pub mod auth;
pub mod currencies;
pub mod extract;
pub mod idempotency;
pub mod pagination;
pub mod quota;
pub mod rate_limit;

use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Punchcard API",
        description = "Loyalty and rewards: leads, wallets, deals, coupons and campaigns.\n\n\
Authenticate with HTTP Basic: the API key id as username, its secret as password. The key fixes \
the merchant and the environment (dev or prod).\n\n\
Errors are `application/problem+json` with a stable `code`. Lists take `limit` (1-500, default 50) \
and `cursor` and answer `{\"data\": [...], \"next_cursor\": ...}`. Every POST accepts an \
`Idempotency-Key` header: a replay with the same body returns the first answer; the same key with \
another body answers 422 `idempotency_mismatch`; keys are remembered for 24 hours.\n\n\
Every authenticated answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` \
(per merchant and environment: 100 calls a minute in dev, the plan's rate in prod); past the \
limit the API answers 429 `rate_limited` with `Retry-After`. While the rate limiter's store is \
unreachable, calls are served without a limit and without these headers.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        crate::health::healthz,
        crate::health::readyz,
        currencies::list_currencies,
        quota::get_quota,
    ),
    components(schemas(crate::problem::Problem, crate::problem::FieldErrorSchema)),
    modifiers(&BasicAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "currencies", description = "The merchant's currencies"),
        (name = "quota", description = "The plan's quotas (burned in prod only)"),
    )
)]
pub struct ApiDoc;

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("API key id as username, API secret as password"))
                    .build(),
            ),
        );
    }
}

/// The authenticated API routes.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/currencies", get(currencies::list_currencies))
        .route("/api/v1/quota", get(quota::get_quota))
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(from_fn_with_state(state.clone(), rate_limit::rate_limit))
        .route_layer(from_fn_with_state(
            state.clone(),
            allowed_ips::enforce_api_allowed_ips,
        ))
        .route_layer(from_fn_with_state(state.clone(), auth::require_api_key))
}

/// `/api/v1/openapi.json` and the docs at `/api/docs`, served from the binary.
pub fn docs() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", ApiDoc::openapi()))
}
