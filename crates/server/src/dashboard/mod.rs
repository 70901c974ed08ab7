//! The merchant dashboard at `/dashboard`: server-rendered pages, sessions, sign-up and
//! sign-in, and the chrome every page shares.
//!
//! # Adding a page
//!
//! 1. Write a handler that takes [`session::ActiveMerchant`] (or [`session::SignedIn`] for
//!    pages that must work before KYC approval). Without a session the extractor redirects
//!    to `/dashboard/login`; without an active merchant, to `/dashboard/profile`. Use
//!    `user.merchant.id` and `user.env` to scope every call to the app.
//! 2. Give the page's template struct a field `chrome: Chrome` built with
//!    `Chrome::new(&user, Nav::YourPage)`, extend `base.html` and fill `{% block content %}`.
//!    The chrome carries the merchant name, member email, DEV/PROD toggle, navigation,
//!    flash message and the anti-forgery token.
//! 3. Every POST form includes `<input type="hidden" name="_csrf" value="{{ chrome.csrf }}">`
//!    (multipart forms put `?_csrf={{ chrome.csrf }}` in their `action` instead). The session
//!    layer refuses any other POST with 403 before the handler runs.
//! 4. Forms post, then redirect (PRG): on success answer
//!    `kit::back_to(&state, "/dashboard/…", Flash::success("…"))`;
//!    on invalid input re-render the form with `render_with(StatusCode::UNPROCESSABLE_ENTITY, …)`
//!    and a `FormErrors` (from the app's `ValidationErrors`), shown next to each field with
//!    `{% if let Some(e) = errors.get("field") %}`. Required fields carry
//!    `<span class="req">*</span>` in their label.
//! 5. Return `Result<Response, PageError>`: app errors become the right page or redirect.
//! 6. Add the route to [`routes`] (or merge your module's router there); the session layer
//!    covers every route registered in that function.

pub mod allowed_ips;
pub mod api_keys;
pub mod assets;
pub mod auth;
pub mod campaigns;
pub mod campaigns_activities;
pub mod campaigns_report;
pub mod campaigns_rules;
pub mod campaigns_surprises;
pub mod campaigns_tasks;
pub mod catalog;
pub mod charts;
pub mod chrome;
pub mod cookies;
pub mod counter;
pub mod coupon_codes;
pub mod coupons;
pub mod csrf;
pub mod currencies;
pub mod deals;
pub mod exports;
pub mod kind;
pub mod kit;
pub mod kyc;
pub mod leads;
pub mod login_activities;
pub mod members;
pub mod messages;
pub mod notifications;
pub mod offers;
pub mod overview;
pub mod passwords;
pub mod session;
pub mod stores;
pub mod swaps;
pub mod uploads;
pub mod vaults;
pub mod vouchers;
pub mod wallets;
pub mod webhooks;

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use punchcard_app::deals::Deals;
use punchcard_app::offers::Offers;
use punchcard_app::stores::Stores;

pub use chrome::{Chrome, Flash, FormErrors, Nav, PageError};
pub use session::{ActiveMerchant, SignedIn, Visitor};

use crate::state::AppState;

/// The dashboard's routes, behind the session layer, plus the static assets.
pub fn routes(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/dashboard", get(overview::overview))
        .route("/dashboard/env", post(overview::switch_env))
        .route(
            "/dashboard/signup",
            get(auth::signup_form).post(auth::signup_submit),
        )
        .route(
            "/dashboard/signup/verify",
            get(auth::signup_verify_form).post(auth::signup_verify),
        )
        .route("/dashboard/signup/resend", post(auth::signup_resend))
        .route(
            "/dashboard/login",
            get(auth::login_form).post(auth::login_submit),
        )
        .route(
            "/dashboard/login/verify",
            get(auth::login_verify_form).post(auth::login_verify),
        )
        .route("/dashboard/login/resend", post(auth::login_resend))
        .route("/dashboard/logout", post(auth::logout))
        .route("/dashboard/frozen", get(auth::frozen))
        .route("/dashboard/login-activities", get(login_activities::list))
        .route(
            "/dashboard/login-activities/{id}/report",
            post(login_activities::report),
        )
        .route("/dashboard/notifications", get(notifications::list))
        .merge(kyc::routes())
        .merge(api_keys::routes())
        .merge(webhooks::routes())
        .merge(allowed_ips::routes())
        .merge(vaults::routes())
        .merge(swaps::routes())
        .merge(currencies::routes())
        .merge(uploads::routes())
        .merge(vouchers::routes())
        .merge(coupon_codes::routes())
        .merge(coupons::routes())
        .merge(members::routes())
        .merge(passwords::routes())
        .merge(kind::routes::<Deals>())
        .merge(kind::routes::<Offers>())
        .merge(kind::routes::<Stores>())
        .merge(counter::routes())
        .merge(messages::routes())
        .merge(leads::routes())
        .merge(exports::routes())
        .merge(wallets::routes())
        .merge(campaigns_rules::routes())
        .merge(campaigns_tasks::routes())
        .merge(campaigns_surprises::routes())
        .merge(campaigns_report::routes())
        .merge(campaigns_activities::routes())
        .route_layer(from_fn_with_state(state.clone(), session::layer));
    Router::new()
        .merge(pages)
        .route("/assets/{name}", get(assets::asset))
}

/// The HTML "not found" page for paths outside the API.
pub async fn not_found_page() -> Response {
    chrome::error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address. Check the link, or go back to the dashboard.",
    )
}
