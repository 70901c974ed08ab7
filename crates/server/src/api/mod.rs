//! The JSON API under `/api/v1`, its OpenAPI document and the browsable docs.

pub mod allowed_ips;
pub mod auth;
pub mod coupons;
pub mod currencies;
pub mod extract;
pub mod idempotency;
pub mod leads;
pub mod pagination;
pub mod quota;
pub mod rate_limit;
pub mod wallets;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
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
limit the API answers 429 `rate_limited` with `Retry-After`.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        crate::health::healthz,
        crate::health::readyz,
        currencies::list_currencies,
        quota::get_quota,
        leads::create_lead,
        leads::list_leads,
        leads::get_lead,
        leads::update_lead,
        leads::delete_lead,
        wallets::create_wallet,
        wallets::list_wallets,
        wallets::get_wallet,
        wallets::create_transaction,
        wallets::list_transactions,
        wallets::get_transaction,
        coupons::create_code,
        coupons::bulk_generate,
        coupons::bulk_upload,
        coupons::list_codes,
        coupons::create_coupon,
        coupons::list_coupons,
        coupons::get_coupon,
        coupons::use_coupon,
        coupons::cancel_coupon,
    ),
    components(schemas(crate::problem::Problem, crate::problem::FieldErrorSchema)),
    modifiers(&BasicAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "currencies", description = "The merchant's currencies"),
        (name = "quota", description = "The plan's quotas (burned in prod only)"),
        (name = "leads", description = "The merchant's customers"),
        (name = "wallets", description = "A lead's balance in one currency"),
        (name = "wallet transactions", description = "Rewards, adjustments and the rest of the ledger"),
        (name = "coupon codes", description = "Every deal's vault of codes and links"),
        (name = "coupons", description = "Codes issued to leads: redeemed with points or rewarded"),
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
        .route(
            "/api/v1/leads",
            get(leads::list_leads).post(leads::create_lead),
        )
        .route(
            "/api/v1/leads/{id}",
            get(leads::get_lead)
                .patch(leads::update_lead)
                .delete(leads::delete_lead),
        )
        .route(
            "/api/v1/wallets",
            get(wallets::list_wallets).post(wallets::create_wallet),
        )
        .route("/api/v1/wallets/{id}", get(wallets::get_wallet))
        .route(
            "/api/v1/wallet_transactions",
            get(wallets::list_transactions).post(wallets::create_transaction),
        )
        .route(
            "/api/v1/wallet_transactions/{id}",
            get(wallets::get_transaction),
        )
        .route(
            "/api/v1/coupon_codes",
            get(coupons::list_codes).post(coupons::create_code),
        )
        .route(
            "/api/v1/coupon_codes/bulk_generate",
            post(coupons::bulk_generate),
        )
        .route(
            "/api/v1/coupon_codes/bulk_upload",
            post(coupons::bulk_upload).layer(DefaultBodyLimit::max(coupons::MAX_UPLOAD_BYTES)),
        )
        .route(
            "/api/v1/coupons",
            get(coupons::list_coupons).post(coupons::create_coupon),
        )
        .route("/api/v1/coupons/{id}", get(coupons::get_coupon))
        .route("/api/v1/coupons/{id}/use", post(coupons::use_coupon))
        .route("/api/v1/coupons/{id}/cancel", post(coupons::cancel_coupon))
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
