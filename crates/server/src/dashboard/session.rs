//! The dashboard's session layer and the extractors pages use: `SignedIn`, `ActiveMerchant`
//! and `Visitor` (pre-login pages).
//!
//! The layer runs before every dashboard route: it resolves the session cookie (refusing
//! revoked, idle, expired and frozen-merchant sessions), enforces the anti-forgery token on
//! every POST (see [`super::csrf`]), issues the pre-login token cookie, and hands the flash
//! message of the previous redirect to the page (clearing it once a page, not a redirect,
//! showed it). Extractors then only read what the layer found.
//!
//! Cookie `punchcard_session`: HttpOnly, SameSite=Lax, Path=/, Secure when the base URL is
//! https, Max-Age 12 h (the absolute session lifetime; the idle limit is checked server-side).

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use punchcard_app::accounts::SessionContext;
use punchcard_app::secrets;
use punchcard_domain::accounts::{MerchantStatus, Role};
use punchcard_domain::{Env, SessionId};
use punchcard_store::accounts::{MemberRow, MerchantRow};

use super::chrome::{error_page, Flash, PageError};
use super::cookies;
use super::csrf;
use crate::state::AppState;

/// The largest urlencoded form body the layer reads to find the token.
const FORM_LIMIT: usize = 1024 * 1024;

/// Whether cookies must carry `Secure` (the public URL is https).
pub fn secure_cookies(state: &AppState) -> bool {
    state.base_url.starts_with("https://")
}

/// What the session layer found for this request.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub session: Option<SessionContext>,
    /// The signed pre-login token (also accepted from signed-in browsers).
    pub pre_login_csrf: String,
    pub flash: Option<Flash>,
    pub path: String,
}

impl RequestContext {
    fn csrf(&self) -> &str {
        match &self.session {
            Some(s) => &s.session.csrf_token,
            None => &self.pre_login_csrf,
        }
    }
}

/// The session layer (mounted on every dashboard route by `dashboard::routes`).
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let secure = secure_cookies(&state);
    let key = &state.cookie_key;

    let had_session_cookie = cookies::get(&parts.headers, cookies::SESSION).is_some();
    let session = match cookies::get(&parts.headers, cookies::SESSION) {
        Some(token) if !token.is_empty() => match state.app.session_for_token(token).await {
            Ok(s) => s,
            Err(e) => return PageError(e).into_response(),
        },
        _ => None,
    };
    let existing_csrf =
        cookies::get(&parts.headers, cookies::CSRF).and_then(|v| key.verify(cookies::CSRF, v));
    let (pre_login_csrf, issue_csrf) = match existing_csrf {
        Some(t) => (t, false),
        None => (secrets::random_token(""), true),
    };
    let flash = cookies::get(&parts.headers, cookies::FLASH)
        .and_then(|v| key.verify(cookies::FLASH, v))
        .and_then(|v| Flash::decode(&v));
    let had_flash = flash.is_some();

    let body = if csrf::is_safe(&parts.method) {
        body
    } else {
        let (buffered, body) = if csrf::is_urlencoded(&parts) {
            match axum::body::to_bytes(body, FORM_LIMIT).await {
                Ok(b) => (Some(b), None),
                Err(_) => {
                    return error_page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Form too large",
                        "The form is larger than the server accepts.",
                    )
                }
            }
        } else {
            (None, Some(body))
        };
        let submitted = csrf::submitted(&parts, buffered.as_deref());
        // A signed-in browser must send its session's own token: the pre-login pair is
        // anyone's for the asking, so it is good for pre-login forms only.
        let expected: Vec<&str> = match &session {
            Some(s) => vec![&s.session.csrf_token],
            None if !issue_csrf => vec![&pre_login_csrf],
            None => Vec::new(),
        };
        if !csrf::matches(submitted.as_deref(), &expected) {
            tracing::warn!(path = %parts.uri.path(), "dashboard POST without a valid anti-forgery token");
            let mut refused = error_page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be verified (it may have been open too long, or sent from another site). Go back, reload the page and try again.",
            );
            if buffered.is_none() {
                // The (multipart) body is left unread: end the connection rather than let
                // the client reuse it mid-upload.
                refused
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return refused;
        }
        match (buffered, body) {
            (Some(b), _) => Body::from(b),
            (None, Some(body)) => body,
            (None, None) => Body::empty(),
        }
    };

    if let Some(s) = &session {
        tracing::Span::current().record("merchant_id", s.merchant.id.as_str());
    }
    let session_live = session.is_some();
    parts.extensions.insert(RequestContext {
        session,
        pre_login_csrf: pre_login_csrf.clone(),
        flash,
        path: parts.uri.path().to_string(),
    });

    let mut res = next.run(Request::from_parts(parts, body)).await;
    let signed_in_now = sets_cookie(&res, cookies::SESSION);
    let headers = res.headers_mut();
    if signed_in_now {
        // The pre-login token dies at sign-in (a planted pair goes with it); the next
        // pre-login page gets a fresh one.
        headers.append(
            header::SET_COOKIE,
            cookies::clear(cookies::CSRF, "/", secure),
        );
    } else if issue_csrf {
        headers.append(
            header::SET_COOKIE,
            cookies::set(
                cookies::CSRF,
                &key.sign(cookies::CSRF, &pre_login_csrf),
                cookies::Attrs {
                    path: "/",
                    max_age: None,
                    secure,
                },
            ),
        );
    }
    if had_flash && !res.status().is_redirection() {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::clear(cookies::FLASH, "/", secure),
        );
    }
    if had_session_cookie && !session_live && !sets_cookie(&res, cookies::SESSION) {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::clear(cookies::SESSION, "/", secure),
        );
    }
    crate::security_headers::add(res.headers_mut());
    res
}

fn sets_cookie(res: &Response, name: &str) -> bool {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(&format!("{name}=")))
}

/// The `Set-Cookie` header that opens a session in the browser.
pub fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    cookies::set(
        cookies::SESSION,
        token,
        cookies::Attrs {
            path: "/",
            max_age: Some(punchcard_app::accounts::SESSION_ABSOLUTE.whole_seconds()),
            secure: secure_cookies(state),
        },
    )
}

/// The request's live session and what the layer found, once the member's address passes the
/// merchant's dashboard allow-list (a 403 page otherwise); without a session, a redirect to
/// `/dashboard/login`. The dashboard's and the partner app's extractors start here.
pub(crate) async fn signed_in_session(
    parts: &Parts,
    state: &AppState,
) -> Result<(RequestContext, SessionContext), Response> {
    let mut ctx = parts
        .extensions
        .get::<RequestContext>()
        .cloned()
        .ok_or_else(|| Redirect::to("/dashboard/login").into_response())?;
    let Some(s) = ctx.session.take() else {
        return Err(Redirect::to("/dashboard/login").into_response());
    };
    super::allowed_ips::check_dashboard_ip(parts, state, &s.merchant.id).await?;
    Ok((ctx, s))
}

/// A signed-in member with a live session. Pages that work before KYC approval (profile,
/// notifications, login activities) take this; others take [`ActiveMerchant`]. Without a
/// session the request is redirected to `/dashboard/login`.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub member: MemberRow,
    pub merchant: MerchantRow,
    /// The environment the dashboard currently shows (DEV/PROD toggle).
    pub env: Env,
    /// The anti-forgery token for this session's forms.
    pub csrf: String,
    pub session_id: SessionId,
    pub flash: Option<Flash>,
    pub unread: i64,
    pub path: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (ctx, s) = signed_in_session(parts, state).await?;
        // Store staff work in the partner app; the dashboard is for owners and admins.
        if s.member.role == Role::Staff {
            return Err(Redirect::to("/partner").into_response());
        }
        let unread = state
            .app
            .unread_notifications(&s.merchant.id)
            .await
            .map_err(|e| PageError(e).into_response())?;
        Ok(SignedIn {
            env: s.session.env,
            csrf: s.session.csrf_token.clone(),
            session_id: s.session.id.clone(),
            member: s.member,
            merchant: s.merchant,
            flash: ctx.flash,
            unread,
            path: ctx.path,
        })
    }
}

/// A signed-in member of any role (store staff included), for what every member may do from
/// either app: signing out. Without a session: redirected to `/dashboard/login`.
#[derive(Debug, Clone)]
pub struct AnyMember {
    pub merchant_id: punchcard_domain::MerchantId,
    pub session_id: SessionId,
}

impl FromRequestParts<AppState> for AnyMember {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match parts
            .extensions
            .get::<RequestContext>()
            .and_then(|ctx| ctx.session.as_ref())
        {
            Some(s) => Ok(AnyMember {
                merchant_id: s.merchant.id.clone(),
                session_id: s.session.id.clone(),
            }),
            None => Err(Redirect::to("/dashboard/login").into_response()),
        }
    }
}

/// A signed-in member whose merchant is active (KYC approved). Otherwise the request is
/// redirected to the profile and KYC page, `/dashboard/profile`.
#[derive(Debug, Clone)]
pub struct ActiveMerchant(pub SignedIn);

impl ActiveMerchant {
    /// The scope of the member's requests: its merchant, in the environment the toggle shows.
    pub fn scope(&self) -> punchcard_app::ledger::Scope {
        punchcard_app::ledger::Scope::new(&self.merchant.id, self.env)
    }
}

impl std::ops::Deref for ActiveMerchant {
    type Target = SignedIn;
    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl FromRequestParts<AppState> for ActiveMerchant {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = SignedIn::from_request_parts(parts, state).await?;
        if user.merchant.status != MerchantStatus::Active {
            return Err(Redirect::to("/dashboard/profile").into_response());
        }
        Ok(ActiveMerchant(user))
    }
}

/// Anyone on a pre-login page: the token its forms carry, the flash, and whether a session
/// is already open (sign-in pages then send the member to the dashboard).
#[derive(Debug, Clone)]
pub struct Visitor {
    pub csrf: String,
    pub flash: Option<Flash>,
    pub signed_in: bool,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<RequestContext>() {
            Some(ctx) => Visitor {
                csrf: ctx.csrf().to_string(),
                flash: ctx.flash.clone(),
                signed_in: ctx.session.is_some(),
            },
            None => Visitor {
                csrf: String::new(),
                flash: None,
                signed_in: false,
            },
        })
    }
}
