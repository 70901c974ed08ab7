//! The JSON API under `/api/v1`, its OpenAPI document and the browsable docs.

pub mod allowed_ips;
pub mod auth;
pub mod award;
pub mod campaign_reports;
pub mod campaigns;
pub mod catalog;
pub mod coupons;
pub mod currencies;
pub mod deals;
pub mod exports;
pub mod extract;
pub mod id_shapes;
pub mod idempotency;
pub mod leads;
pub mod messages;
pub mod offers;
pub mod pagination;
pub mod quota;
pub mod rate_limit;
pub mod schema_details;
pub mod shared_answers;
pub mod stats;
pub mod stores;
pub mod surprises;
pub mod swaps;
pub mod tasks;
pub mod tokens;
pub mod vaults;
pub mod vouchers;
pub mod wallets;
pub mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use id_shapes::IdShapes;
use schema_details::SchemaDetails;
use shared_answers::SharedAnswers;
use webhooks::WebhookEvents;

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
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    servers((url = "/", description = "the server that serves this document")),
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
        exports::export_leads,
        exports::export_wallet_transactions,
        exports::export_coupons,
        coupons::create_code,
        coupons::bulk_generate,
        coupons::bulk_upload,
        coupons::list_codes,
        coupons::create_coupon,
        coupons::list_coupons,
        coupons::get_coupon,
        coupons::use_coupon,
        coupons::use_coupon_by_code,
        tokens::id_token,
        tokens::resolve,
        tokens::member_link,
        coupons::cancel_coupon,
        deals::create_deal,
        deals::list_deals,
        deals::get_deal,
        deals::update_deal,
        deals::delete_deal,
        deals::upload_deal_image,
        deals::get_deal_image,
        deals::delete_deal_image,
        offers::create_offer,
        offers::list_offers,
        offers::get_offer,
        offers::update_offer,
        offers::delete_offer,
        offers::upload_offer_image,
        offers::get_offer_image,
        offers::delete_offer_image,
        stores::create_store,
        stores::list_stores,
        stores::get_store,
        stores::update_store,
        stores::delete_store,
        stores::upload_store_image,
        stores::get_store_image,
        stores::delete_store_image,
        campaigns::create_rule,
        campaigns::list_rules,
        campaigns::get_rule,
        campaigns::update_rule,
        campaigns::activate_rule,
        campaigns::deactivate_rule,
        campaigns::trigger_rule,
        campaigns::list_campaigns,
        campaigns::list_interactions,
        tasks::create_task,
        tasks::list_tasks,
        tasks::get_task,
        tasks::update_task,
        tasks::delete_task,
        tasks::create_task_activity,
        tasks::list_task_activities,
        surprises::create_surprise,
        surprises::list_surprises,
        surprises::get_surprise,
        surprises::update_surprise,
        surprises::delete_surprise,
        surprises::create_surprise_activity,
        surprises::list_surprise_activities,
        vaults::create_vault,
        vaults::list_vaults,
        vaults::get_vault,
        vouchers::create_voucher_campaign,
        vouchers::list_voucher_campaigns,
        vouchers::get_voucher_campaign,
        vouchers::update_voucher_campaign,
        vouchers::delete_voucher_campaign,
        vouchers::create_integration,
        vouchers::list_integrations,
        vouchers::update_integration,
        award::award,
        campaign_reports::get_report,
        messages::create_message,
        messages::list_messages,
        messages::get_message,
        swaps::create_swap_contract,
        swaps::list_swap_contracts,
        swaps::get_swap_contract,
        swaps::accept_swap_contract,
        swaps::suspend_swap_contract,
        swaps::create_swap,
        swaps::list_swaps,
        swaps::get_swap,
        stats::get_stats,
        webhooks::create_endpoint,
        webhooks::list_endpoints,
        webhooks::get_endpoint,
        webhooks::update_endpoint,
        webhooks::delete_endpoint,
        webhooks::list_deliveries,
        webhooks::redeliver,
    ),
    components(schemas(
        crate::problem::Problem,
        crate::problem::FieldErrorSchema,
        // The objects webhook events carry.
        leads::Lead,
        wallets::WalletTransaction,
        coupons::Coupon,
        tasks::TaskActivity,
        surprises::SurpriseActivity,
        campaigns::TriggerResult,
        award::Award,
        swaps::Swap,
        schema_details::CallbackAction
    )),
    modifiers(&BasicAuth, &SharedAnswers, &IdShapes, &WebhookEvents, &SchemaDetails),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "currencies", description = "The merchant's currencies"),
        (name = "quota", description = "The plan's quotas (burned in prod only)"),
        (name = "leads", description = "The merchant's customers"),
        (name = "wallets", description = "A lead's balance in one currency"),
        (name = "wallet transactions", description = "Rewards, adjustments and the rest of the ledger"),
        (name = "exports", description = "CSV exports of leads, wallet transactions and coupons, streamed with a header row; `from` and `to` pick the days rows were created on (UTC)"),
        (name = "coupon codes", description = "Every deal's vault of codes and links"),
        (name = "coupons", description = "Codes issued to leads: redeemed with points or rewarded"),
        (name = "deals", description = "Deals leads spend points on: voucher, cash, merchandise or meetup; at most 10 available in dev, 100 in prod"),
        (name = "offers", description = "Offers: public promo codes with a price in coins; at most 10 available in dev, 100 in prod"),
        (name = "stores", description = "Stores, online or at an address, and the deals and offers they carry; at most 100 per environment"),
        (name = "campaigns", description = "Campaigns of every kind (task, surprise, rule, voucher) with their computed status: pending, live, completed or archived"),
        (name = "rules", description = "API-triggered earn and redeem rules: an authorized key triggers one, and points move through the ledger under the rule's limits"),
        (name = "tasks", description = "Tasks: a lead's activities counted per period; the `count`-th completes the task and rewards it with points or a deal's coupon"),
        (name = "surprises", description = "Surprises: a deal's coupon a lead claims on an occasion, a custom date or the lead's birthday, in the merchant's time zone"),
        (name = "vaults", description = "Standalone vaults: one vendor's vouchers of one amount, test or live, that voucher campaigns draw from; codes go in through the coupon-code endpoints with `vault_id`"),
        (name = "voucher campaigns", description = "Voucher campaigns: linked vaults, integrations with credentials of their own, and `POST /api/v1/award`, which they call to award a voucher to a redeemer"),
        (name = "stats", description = "The overview's figures per UTC day"),
        (name = "webhooks", description = "Endpoints that receive this environment's events, signed the Standard Webhooks way, with their delivery log; the events and their bodies are under `webhooks`"),
        (name = "messages", description = "Messages and promos to all leads or a segment, sent in the background and shown on each lead's member page"),
        (name = "swaps", description = "Swaps of a lead's points: to another lead of the merchant (when switched on), or to a partner's lead under a contract the partner accepted and the operator approved"),
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
        components.add_security_scheme(
            "integration",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "a voucher campaign's integration id as username, its secret as password",
                    ))
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
        .route("/api/v1/stats", get(stats::get_stats))
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
        .route("/api/v1/exports/leads.csv", get(exports::export_leads))
        .route(
            "/api/v1/exports/wallet_transactions.csv",
            get(exports::export_wallet_transactions),
        )
        .route("/api/v1/exports/coupons.csv", get(exports::export_coupons))
        .route("/api/v1/coupons/{id}/use", post(coupons::use_coupon))
        .route(
            "/api/v1/coupons/use_by_code",
            post(coupons::use_coupon_by_code),
        )
        .route("/api/v1/qr/resolve", post(tokens::resolve))
        .route("/api/v1/leads/{id}/id_token", get(tokens::id_token))
        .route("/api/v1/leads/{id}/member_link", post(tokens::member_link))
        .route("/api/v1/coupons/{id}/cancel", post(coupons::cancel_coupon))
        .route(
            "/api/v1/deals",
            get(deals::list_deals).post(deals::create_deal),
        )
        .route(
            "/api/v1/deals/{id}",
            get(deals::get_deal)
                .patch(deals::update_deal)
                .delete(deals::delete_deal),
        )
        .route(
            "/api/v1/deals/{id}/images",
            post(deals::upload_deal_image).layer(DefaultBodyLimit::max(catalog::IMAGE_BODY_LIMIT)),
        )
        .route(
            "/api/v1/deals/{id}/images/{image_id}",
            get(deals::get_deal_image).delete(deals::delete_deal_image),
        )
        .route(
            "/api/v1/offers",
            get(offers::list_offers).post(offers::create_offer),
        )
        .route(
            "/api/v1/offers/{id}",
            get(offers::get_offer)
                .patch(offers::update_offer)
                .delete(offers::delete_offer),
        )
        .route(
            "/api/v1/offers/{id}/images",
            post(offers::upload_offer_image)
                .layer(DefaultBodyLimit::max(catalog::IMAGE_BODY_LIMIT)),
        )
        .route(
            "/api/v1/offers/{id}/images/{image_id}",
            get(offers::get_offer_image).delete(offers::delete_offer_image),
        )
        .route(
            "/api/v1/stores",
            get(stores::list_stores).post(stores::create_store),
        )
        .route(
            "/api/v1/stores/{id}",
            get(stores::get_store)
                .patch(stores::update_store)
                .delete(stores::delete_store),
        )
        .route(
            "/api/v1/stores/{id}/images",
            post(stores::upload_store_image)
                .layer(DefaultBodyLimit::max(catalog::IMAGE_BODY_LIMIT)),
        )
        .route(
            "/api/v1/stores/{id}/images/{image_id}",
            get(stores::get_store_image).delete(stores::delete_store_image),
        )
        .route(
            "/api/v1/rules",
            get(campaigns::list_rules).post(campaigns::create_rule),
        )
        .route(
            "/api/v1/rules/{id}",
            get(campaigns::get_rule).patch(campaigns::update_rule),
        )
        .route(
            "/api/v1/rules/{id}/activate",
            post(campaigns::activate_rule),
        )
        .route(
            "/api/v1/rules/{id}/deactivate",
            post(campaigns::deactivate_rule),
        )
        .route("/api/v1/rules/{id}/trigger", post(campaigns::trigger_rule))
        .route("/api/v1/campaigns", get(campaigns::list_campaigns))
        .route(
            "/api/v1/campaigns/{id}/interactions",
            get(campaigns::list_interactions),
        )
        .route(
            "/api/v1/tasks",
            get(tasks::list_tasks).post(tasks::create_task),
        )
        .route(
            "/api/v1/tasks/{id}",
            get(tasks::get_task)
                .patch(tasks::update_task)
                .delete(tasks::delete_task),
        )
        .route(
            "/api/v1/task_activities",
            get(tasks::list_task_activities).post(tasks::create_task_activity),
        )
        .route(
            "/api/v1/surprises",
            get(surprises::list_surprises).post(surprises::create_surprise),
        )
        .route(
            "/api/v1/surprises/{id}",
            get(surprises::get_surprise)
                .patch(surprises::update_surprise)
                .delete(surprises::delete_surprise),
        )
        .route(
            "/api/v1/surprise_activities",
            get(surprises::list_surprise_activities).post(surprises::create_surprise_activity),
        )
        .route(
            "/api/v1/vaults",
            get(vaults::list_vaults).post(vaults::create_vault),
        )
        .route("/api/v1/vaults/{id}", get(vaults::get_vault))
        .route(
            "/api/v1/voucher_campaigns",
            get(vouchers::list_voucher_campaigns).post(vouchers::create_voucher_campaign),
        )
        .route(
            "/api/v1/voucher_campaigns/{id}",
            get(vouchers::get_voucher_campaign)
                .patch(vouchers::update_voucher_campaign)
                .delete(vouchers::delete_voucher_campaign),
        )
        .route(
            "/api/v1/voucher_campaigns/{id}/integrations",
            get(vouchers::list_integrations).post(vouchers::create_integration),
        )
        .route(
            "/api/v1/voucher_campaigns/{id}/integrations/{integration_id}",
            axum::routing::patch(vouchers::update_integration),
        )
        .route(
            "/api/v1/campaigns/{id}/report",
            get(campaign_reports::get_report),
        )
        .route(
            "/api/v1/swap_contracts",
            get(swaps::list_swap_contracts).post(swaps::create_swap_contract),
        )
        .route("/api/v1/swap_contracts/{id}", get(swaps::get_swap_contract))
        .route(
            "/api/v1/swap_contracts/{id}/accept",
            post(swaps::accept_swap_contract),
        )
        .route(
            "/api/v1/swap_contracts/{id}/suspend",
            post(swaps::suspend_swap_contract),
        )
        .route(
            "/api/v1/swaps",
            get(swaps::list_swaps).post(swaps::create_swap),
        )
        .route("/api/v1/swaps/{id}", get(swaps::get_swap))
        .route(
            "/api/v1/messages",
            get(messages::list_messages).post(messages::create_message),
        )
        .route("/api/v1/messages/{id}", get(messages::get_message))
        .route(
            "/api/v1/webhook_endpoints",
            get(webhooks::list_endpoints).post(webhooks::create_endpoint),
        )
        .route(
            "/api/v1/webhook_endpoints/{id}",
            get(webhooks::get_endpoint)
                .patch(webhooks::update_endpoint)
                .delete(webhooks::delete_endpoint),
        )
        .route(
            "/api/v1/webhook_endpoints/{id}/deliveries",
            get(webhooks::list_deliveries),
        )
        .route(
            "/api/v1/webhook_deliveries/{id}/redeliver",
            post(webhooks::redeliver),
        )
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(axum::middleware::from_fn(extract::body_ceiling))
        .route_layer(from_fn_with_state(state.clone(), rate_limit::rate_limit))
        .route_layer(from_fn_with_state(
            state.clone(),
            allowed_ips::enforce_api_allowed_ips,
        ))
        .route_layer(from_fn_with_state(state.clone(), auth::require_api_key))
        .merge(award_routes(state))
}

/// `POST /api/v1/award`, authenticated by a voucher campaign's integration instead of an API
/// key, under the same idempotency keys, rate limit, allowed IPs and body ceiling (its own
/// retry key is the body's `hash`).
fn award_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/award", post(award::award))
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(axum::middleware::from_fn(extract::body_ceiling))
        .route_layer(from_fn_with_state(state.clone(), rate_limit::rate_limit))
        .route_layer(from_fn_with_state(
            state.clone(),
            allowed_ips::enforce_api_allowed_ips,
        ))
        .route_layer(from_fn_with_state(
            state.clone(),
            award::require_integration,
        ))
}

/// Where the server serves its README, the integration guide a rule's developer is sent to.
pub const GUIDE_PATH: &str = "/api/guide";
/// The README's section that guides triggering rules (a test checks that it exists).
pub const GUIDE_SECTION: &str = "Campaigns: rules, tasks, surprises and voucher campaigns";

const README: &str = include_str!("../../../../README.md");

/// The README as plain text: its [`GUIDE_SECTION`] is the guide to triggering rules.
async fn guide() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        README,
    )
}

/// `/api/v1/openapi.json` and the docs at `/api/docs`, served from the binary, and the guide.
pub fn docs() -> Router<AppState> {
    Router::new()
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", ApiDoc::openapi()))
        .route(GUIDE_PATH, get(guide))
}
