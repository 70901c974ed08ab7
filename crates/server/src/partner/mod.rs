//! The partner app at `/partner`: a mobile-first web app for store staff (and admins and
//! owners) at the counter. Same accounts, sign-in and sessions as the dashboard; the session
//! layer of the dashboard runs in front of every page here too (anti-forgery tokens, flash
//! messages, security headers).
//!
//! Home offers *Scan code*, *Display code*, *Enter code ID*, *Analytics* and (with messages)
//! more. A staff member tied to stores works at one of them at a time (a signed cookie keeps
//! the choice); what they do is logged against that store.

pub mod analytics;
mod display;
pub mod frames;
mod scan;

pub use scan::frame_answer;

use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::counter::Counter;
use punchcard_app::ledger::Scope;
use punchcard_app::stores::Stores;
use punchcard_domain::accounts::{MerchantStatus, Role};
use punchcard_domain::{Env, SessionId, StoreId};
use punchcard_store::accounts::{MemberRow, MerchantRow};
use punchcard_store::stores::StoreFilter;

use crate::dashboard::chrome::{error_page, redirect_with_flash, Flash, PageError};
use crate::dashboard::cookies;
use crate::dashboard::session::secure_cookies;
use crate::state::AppState;

/// The cookie that remembers the store a member works at.
const STORE_COOKIE: &str = "punchcard_store";

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/partner", get(home))
        .route("/partner/store", post(choose_store))
        .route("/partner/env", post(switch_env))
        .merge(scan::routes())
        .merge(display::routes())
        .merge(analytics::routes())
        .route("/partner/messages", get(messages_page).post(send_message))
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::dashboard::session::layer,
        ))
}

/// A store in the picker.
#[derive(Debug, Clone)]
pub struct StoreChoice {
    pub id: String,
    pub name: String,
}

/// A signed-in member of an active merchant, at the counter.
#[derive(Debug, Clone)]
pub struct Staff {
    pub member: MemberRow,
    pub merchant: MerchantRow,
    pub env: Env,
    pub csrf: String,
    pub session_id: SessionId,
    pub flash: Option<Flash>,
    /// The stores the member may work at (tied ones, or all for a member tied to none).
    pub stores: Vec<StoreChoice>,
    /// Where the member works now; `None`: no store (a member tied to none who chose none).
    pub store: Option<StoreChoice>,
    /// The member is tied to stores (and sees only theirs).
    pub tied: bool,
}

impl Staff {
    pub fn scope(&self) -> Scope {
        Scope::new(&self.merchant.id, self.env)
    }

    pub fn counter(&self) -> Counter {
        Counter {
            scope: self.scope(),
            member_id: self.member.id.clone(),
            store_id: self.store.as_ref().and_then(|s| s.id.parse().ok()),
        }
    }

    /// The frame every partner page shares.
    pub fn chrome(&self, tab: Tab) -> PartnerChrome {
        PartnerChrome {
            merchant_name: self.merchant.name.clone(),
            email: self.member.email.to_string(),
            dev: self.env == Env::Dev,
            csrf: self.csrf.clone(),
            flash: self.flash.clone(),
            store: self.store.as_ref().map(|s| s.name.clone()),
            stores: self.stores.clone(),
            store_id: self
                .store
                .as_ref()
                .map(|s| s.id.clone())
                .unwrap_or_default(),
            tab,
            staff: self.member.role == Role::Staff,
        }
    }
}

/// Which of the home's options a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Home,
    Scan,
    Display,
    Enter,
    Messages,
    Analytics,
}

/// The frame of a partner page: header (merchant, store, env, sign out) and bottom tabs.
#[derive(Debug, Clone)]
pub struct PartnerChrome {
    pub merchant_name: String,
    pub email: String,
    pub dev: bool,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub store: Option<String>,
    pub stores: Vec<StoreChoice>,
    pub store_id: String,
    pub tab: Tab,
    /// A store staff account (no way into the dashboard).
    pub staff: bool,
}

impl PartnerChrome {
    pub fn on(&self, tab: &str) -> bool {
        let t = match tab {
            "home" => Tab::Home,
            "scan" => Tab::Scan,
            "display" => Tab::Display,
            "enter" => Tab::Enter,
            "messages" => Tab::Messages,
            _ => Tab::Analytics,
        };
        self.tab == t
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (ctx, s) = crate::dashboard::session::signed_in_session(parts, state).await?;
        if s.merchant.status != MerchantStatus::Active {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "Not open yet",
                "The partner app opens once the business's account is approved. Ask the account owner.",
            ));
        }
        let env = s.session.env;
        let app = &state.app;
        let fail = |e| PageError(e).into_response();
        let live = app
            .list_items::<Stores>(&s.merchant.id, env, &StoreFilter::default(), None, 200)
            .await
            .map_err(fail)?;
        let tied: Vec<StoreId> = app
            .member_stores(&s.merchant.id)
            .await
            .map_err(fail)?
            .into_iter()
            .filter(|(m, _)| *m == s.member.id)
            .map(|(_, store)| store)
            .collect();
        let stores: Vec<StoreChoice> = live
            .iter()
            .map(|v| &v.row)
            .filter(|st| tied.is_empty() || tied.contains(&st.id))
            .map(|st| StoreChoice {
                id: st.id.to_string(),
                name: st.name.clone(),
            })
            .collect();
        let chosen = cookies::get(&parts.headers, STORE_COOKIE)
            .and_then(|v| state.cookie_key.verify(STORE_COOKIE, v));
        let store = match chosen.and_then(|c| stores.iter().find(|s| s.id == c)) {
            Some(s) => Some(s.clone()),
            None if !tied.is_empty() => stores.first().cloned(),
            None => None,
        };
        Ok(Staff {
            env,
            csrf: s.session.csrf_token.clone(),
            session_id: s.session.id.clone(),
            member: s.member,
            merchant: s.merchant,
            flash: ctx.flash,
            stores,
            store,
            tied: !tied.is_empty(),
        })
    }
}

#[derive(Template)]
#[template(path = "partner/home.html")]
struct Home {
    chrome: PartnerChrome,
}

async fn home(staff: Staff) -> Response {
    crate::dashboard::chrome::render(&Home {
        chrome: staff.chrome(Tab::Home),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StoreForm {
    store_id: String,
}

/// Works at another store (one of the member's), or at none.
async fn choose_store(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<StoreForm>,
) -> Response {
    let secure = secure_cookies(&state);
    let choice = staff.stores.iter().find(|s| s.id == form.store_id.trim());
    let tied_only = staff.store.is_some() && choice.is_none() && !form.store_id.trim().is_empty();
    let flash = match choice {
        Some(s) => Flash::success(format!("You are now at {}.", s.name)),
        None if tied_only => Flash::error("That store is not one of yours."),
        None => Flash::info("No store chosen: what you do is not counted for a store."),
    };
    let mut res = redirect_with_flash(&state.cookie_key, secure, "/partner", flash);
    let value = match choice {
        Some(s) => cookies::set(
            STORE_COOKIE,
            &state.cookie_key.sign(STORE_COOKIE, &s.id),
            cookies::Attrs {
                path: "/",
                max_age: Some(90 * 24 * 3600),
                secure,
            },
        ),
        None => cookies::clear(STORE_COOKIE, "/", secure),
    };
    res.headers_mut().append(header::SET_COOKIE, value);
    res
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct EnvForm {
    env: String,
}

/// Switches between PROD and DEV (DEV is for trying the app out with test data).
async fn switch_env(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<EnvForm>,
) -> Result<Response, PageError> {
    let env: Env = form.env.parse().map_err(punchcard_app::AppError::from)?;
    state
        .app
        .set_session_env(&staff.merchant.id, &staff.session_id, env)
        .await?;
    let flash = match env {
        Env::Dev => Flash::info("Switched to DEV: test data only."),
        Env::Prod => Flash::info("Switched to PROD."),
    };
    Ok(redirect_with_flash(
        &state.cookie_key,
        secure_cookies(&state),
        "/partner",
        flash,
    ))
}

/// A page's confirmation or refusal, in words a counter clerk understands.
#[derive(Template)]
#[template(path = "partner/done.html")]
pub struct Done {
    pub chrome: PartnerChrome,
    /// `success` or `error`.
    pub kind: &'static str,
    pub title: String,
    pub lines: Vec<String>,
    /// Where the big button goes next, and its label.
    pub next: &'static str,
    pub next_label: &'static str,
}

pub fn done(status: StatusCode, page: Done) -> Response {
    crate::dashboard::chrome::render_with(status, &page)
}

#[derive(Template)]
#[template(path = "partner/messages.html")]
struct MessagesPage {
    chrome: PartnerChrome,
    form: crate::dashboard::messages::MessageForm,
    errors: crate::dashboard::chrome::FormErrors,
    choices: crate::dashboard::messages::SegmentChoices,
    messages: Vec<crate::dashboard::messages::MessageLine>,
    action: &'static str,
}

async fn messages_view(
    state: &AppState,
    staff: &Staff,
    form: crate::dashboard::messages::MessageForm,
    errors: crate::dashboard::chrome::FormErrors,
) -> Result<MessagesPage, PageError> {
    use crate::dashboard::messages::{lines, MessageForm, SegmentChoices};
    let scope = staff.scope();
    let mut choices = SegmentChoices::load(state, &scope).await?;
    // A member tied to stores writes to their stores' customers, or to everyone.
    if staff.tied {
        choices
            .stores
            .retain(|c| staff.stores.iter().any(|s| s.id == c.id));
    }
    let store = staff.counter().store_id;
    let messages = state
        .app
        .list_messages(
            &scope,
            if staff.tied { store.as_ref() } else { None },
            None,
            30,
        )
        .await?;
    Ok(MessagesPage {
        chrome: staff.chrome(Tab::Messages),
        choices,
        messages: lines(messages),
        form: MessageForm {
            kind: if form.kind.is_empty() {
                "message".into()
            } else {
                form.kind
            },
            segment: if form.segment.is_empty() {
                if staff.store.is_some() {
                    "store".into()
                } else {
                    "all".into()
                }
            } else {
                form.segment
            },
            store_id: if form.store_id.is_empty() {
                staff
                    .store
                    .as_ref()
                    .map(|s| s.id.clone())
                    .unwrap_or_default()
            } else {
                form.store_id
            },
            ..form
        },
        errors,
        action: "/partner/messages",
    })
}

async fn messages_page(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let view = messages_view(
        &state,
        &staff,
        Default::default(),
        crate::dashboard::chrome::FormErrors::none(),
    )
    .await?;
    Ok(crate::dashboard::chrome::render(&view))
}

async fn send_message(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<crate::dashboard::messages::MessageForm>,
) -> Result<Response, PageError> {
    use crate::dashboard::chrome::FormErrors;
    let counter = staff.counter();
    let sender = punchcard_app::messages::Sender {
        member_id: Some(staff.member.id.clone()),
        store_id: counter.store_id.clone(),
        api_key_id: None,
    };
    let sent = match form.to_new() {
        Ok(new) => state.app.send_message(&counter.scope, &sender, &new).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(_) => Ok(redirect_with_flash(
            &state.cookie_key,
            secure_cookies(&state),
            "/partner/messages",
            Flash::success("Sent: it reaches your customers in the background."),
        )),
        Err(e) => {
            let errors = match e {
                punchcard_app::AppError::Validation(v) => FormErrors::from(v),
                punchcard_app::AppError::LimitReached(m) => FormErrors::form(m),
                other => return Err(PageError(other)),
            };
            let view = messages_view(&state, &staff, form, errors).await?;
            Ok(crate::dashboard::chrome::render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &view,
            ))
        }
    }
}
