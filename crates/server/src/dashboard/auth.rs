//! Sign-up, sign-in (both with an emailed code), sign-out and the frozen-account page.
//!
//! Throttles (fixed windows, shared across servers when Redis is configured):
//! - failed passwords and wrong codes: 10 per 15 minutes per account (email) and per IP;
//!   past that every attempt gets the same neutral "too many attempts" answer, whether the
//!   email exists or not;
//! - resends: one a minute per challenge (counted from its last code), five an hour per
//!   address; new sign-ups and sign-ins: ten an hour per address (a password gates sign-in,
//!   and this caps the mail one address can be sent);
//! - sign-ups started from one IP: 20 per hour.
//!
//! The pending challenge travels in a signed cookie (`punchcard_otp`, Path=/dashboard, one
//! hour), so the code page needs no identifier in its URL.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use punchcard_app::accounts::{CodeToSend, Origin};
use punchcard_app::AppError;
use punchcard_domain::accounts::{Email, Password};
use punchcard_domain::time::Timestamp;
use punchcard_domain::ChallengeId;
use punchcard_store::otp::{OtpChallengeRow, OtpPurpose};
use serde::Deserialize;

use super::chrome::{redirect_with_flash, render, render_with, Flash, FormErrors, PageError};
use super::cookies;
use super::kit::back_to;
use super::session::{secure_cookies, session_cookie, AnyMember, Visitor};
use crate::client_ip::ClientIp;
use crate::mail::Mail;
use crate::state::AppState;

const FAILURES_PER_WINDOW: u64 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
const STARTS_PER_HOUR: u64 = 10;
const RESEND_INTERVAL: Duration = Duration::from_secs(60);
const RESENDS_PER_HOUR: u64 = 5;
const SIGN_UPS_PER_IP_HOUR: u64 = 20;
const CHALLENGE_COOKIE_AGE: i64 = 3600;

const WRONG_CREDENTIALS: &str = "Email or password is incorrect.";

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    csrf: String,
    flash: Option<Flash>,
    errors: FormErrors,
    email: String,
    business_name: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    flash: Option<Flash>,
    errors: FormErrors,
    email: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    csrf: String,
    flash: Option<Flash>,
    errors: FormErrors,
    email: String,
    action: &'static str,
    resend_action: &'static str,
    restart: &'static str,
    submit_label: &'static str,
}

#[derive(Template)]
#[template(path = "frozen.html")]
struct FrozenPage {
    /// The frozen merchant's id, for the operator; only a merchant that is frozen is named.
    merchant_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    business_name: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The pages of one kind of challenge.
#[derive(Clone, Copy)]
struct Flow {
    purpose: OtpPurpose,
    start: &'static str,
    verify: &'static str,
    resend: &'static str,
    submit_label: &'static str,
}

const SIGN_UP: Flow = Flow {
    purpose: OtpPurpose::SignUp,
    start: "/dashboard/signup",
    verify: "/dashboard/signup/verify",
    resend: "/dashboard/signup/resend",
    submit_label: "Register",
};

const SIGN_IN: Flow = Flow {
    purpose: OtpPurpose::SignIn,
    start: "/dashboard/login",
    verify: "/dashboard/login/verify",
    resend: "/dashboard/login/resend",
    submit_label: "Sign in",
};

pub(super) fn throttle_failed(e: crate::throttle::ThrottleError) -> PageError {
    PageError(AppError::internal(e))
}

pub(super) fn wait_message(retry: Duration) -> String {
    let secs = retry.as_secs().max(1);
    if secs == 1 {
        "1 second".to_string()
    } else if secs < 90 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", secs.div_ceil(60))
    }
}

fn failure_keys(ip: &ClientIp, account: &str) -> [String; 2] {
    [
        format!("auth-fail:ip:{}", ip.0),
        format!("auth-fail:acct:{}", account.trim().to_ascii_lowercase()),
    ]
}

/// Refuses when the IP or the account has too many recent failures.
pub(super) async fn failures_exceeded(
    state: &AppState,
    ip: &ClientIp,
    account: &str,
) -> Result<Option<Duration>, PageError> {
    for key in failure_keys(ip, account) {
        if let Err(retry) = state
            .throttle
            .check(&key, FAILURES_PER_WINDOW, FAILURE_WINDOW)
            .await
            .map_err(throttle_failed)?
        {
            return Ok(Some(retry));
        }
    }
    Ok(None)
}

pub(super) async fn record_failure(
    state: &AppState,
    ip: &ClientIp,
    account: &str,
) -> Result<(), PageError> {
    for key in failure_keys(ip, account) {
        let _ = state
            .throttle
            .hit(&key, FAILURES_PER_WINDOW, FAILURE_WINDOW)
            .await
            .map_err(throttle_failed)?;
    }
    Ok(())
}

/// Counts a challenge started for `email` (sign-up or sign-in); refuses past the hourly cap.
async fn count_start(state: &AppState, email: &Email) -> Result<Result<(), Duration>, PageError> {
    state
        .throttle
        .hit(
            &format!("otp-start:hour:{email}"),
            STARTS_PER_HOUR,
            Duration::from_secs(3600),
        )
        .await
        .map_err(throttle_failed)
}

/// Counts a resend: at most one a minute per challenge (its last code counts) and five an
/// hour per address.
async fn count_resend(
    state: &AppState,
    challenge: &OtpChallengeRow,
) -> Result<Result<(), Duration>, PageError> {
    let since = Timestamp::now().unix() - challenge.sent_at.unix();
    if since < RESEND_INTERVAL.as_secs() as i64 {
        return Ok(Err(Duration::from_secs(
            (RESEND_INTERVAL.as_secs() as i64 - since).max(1) as u64,
        )));
    }
    let minute = state
        .throttle
        .hit(
            &format!("otp-resend:min:{}", challenge.id),
            1,
            RESEND_INTERVAL,
        )
        .await
        .map_err(throttle_failed)?;
    if minute.is_err() {
        return Ok(minute);
    }
    state
        .throttle
        .hit(
            &format!("otp-resend:hour:{}", challenge.email),
            RESENDS_PER_HOUR,
            Duration::from_secs(3600),
        )
        .await
        .map_err(throttle_failed)
}

/// Mails the code (or, for a sign-up on a registered address, the warning instead).
async fn mail_code(state: &AppState, c: &CodeToSend) -> Result<(), PageError> {
    let to = c.email.as_str();
    let mail = match (c.purpose, c.already_registered) {
        (OtpPurpose::SignUp, true) => Mail::sign_up_existing(to, &state.base_url),
        (OtpPurpose::SignUp, false) => Mail::sign_up_code(to, c.code.expose(), &state.base_url),
        (OtpPurpose::SignIn, _) => Mail::sign_in_code(to, c.code.expose(), &state.base_url),
    }
    .map_err(AppError::internal)?;
    state.mailer.send(&mail).await.map_err(|e| {
        tracing::error!(error = %e, "cannot send a one-time code");
        PageError(AppError::Unavailable(
            punchcard_store::StoreError::Unavailable("mail delivery failed".to_string()),
        ))
    })
}

fn challenge_cookie(
    state: &AppState,
    purpose: OtpPurpose,
    id: &ChallengeId,
) -> axum::http::HeaderValue {
    let value = format!("{}:{}", purpose.as_str(), id.as_str());
    cookies::set(
        cookies::CHALLENGE,
        &state.cookie_key.sign(cookies::CHALLENGE, &value),
        cookies::Attrs {
            path: "/dashboard",
            max_age: Some(CHALLENGE_COOKIE_AGE),
            secure: secure_cookies(state),
        },
    )
}

/// The pending challenge of `purpose` named by the signed cookie.
fn pending_challenge(
    state: &AppState,
    headers: &HeaderMap,
    purpose: OtpPurpose,
) -> Option<ChallengeId> {
    let raw = cookies::get(headers, cookies::CHALLENGE)?;
    let value = state.cookie_key.verify(cookies::CHALLENGE, raw)?;
    let (p, id) = value.split_once(':')?;
    (p == purpose.as_str()).then(|| id.parse().ok()).flatten()
}

fn origin(ip: &ClientIp, headers: &HeaderMap) -> Origin {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Origin::new(ip.0.to_string(), ua)
}

fn start_again(state: &AppState, flow: Flow) -> Response {
    let mut res = back_to(
        state,
        flow.start,
        Flash::info("That code is no longer valid. Start again to get a new one."),
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::CHALLENGE, "/dashboard", secure_cookies(state)),
    );
    res
}

fn verify_page(
    visitor: &Visitor,
    flow: Flow,
    email: &str,
    errors: FormErrors,
    flash: Option<Flash>,
) -> VerifyPage {
    VerifyPage {
        csrf: visitor.csrf.clone(),
        flash,
        errors,
        email: email.to_string(),
        action: flow.verify,
        resend_action: flow.resend,
        restart: flow.start,
        submit_label: flow.submit_label,
    }
}

pub async fn signup_form(visitor: Visitor) -> Response {
    if visitor.signed_in {
        return Redirect::to("/dashboard").into_response();
    }
    render(&SignUpPage {
        csrf: visitor.csrf,
        flash: visitor.flash,
        errors: FormErrors::none(),
        email: String::new(),
        business_name: String::new(),
    })
}

pub async fn signup_submit(
    State(state): State<AppState>,
    ip: ClientIp,
    visitor: Visitor,
    Form(form): Form<SignUpForm>,
) -> Result<Response, PageError> {
    let page = |status: StatusCode, errors: FormErrors| {
        render_with(
            status,
            &SignUpPage {
                csrf: visitor.csrf.clone(),
                flash: None,
                errors,
                email: form.email.trim().to_string(),
                business_name: form.business_name.trim().to_string(),
            },
        )
    };
    if let Err(retry) = state
        .throttle
        .hit(
            &format!("signup:ip:{}", ip.0),
            SIGN_UPS_PER_IP_HOUR,
            Duration::from_secs(3600),
        )
        .await
        .map_err(throttle_failed)?
    {
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            FormErrors::form(format!(
                "Too many sign-ups from your network. Try again in {}.",
                wait_message(retry)
            )),
        ));
    }
    let strong = Password::parse(&form.password, &[&form.email, &form.business_name]);
    if let (Ok(email), Ok(_)) = (Email::parse(&form.email), strong) {
        if let Err(retry) = count_start(&state, &email).await? {
            return Ok(page(
                StatusCode::TOO_MANY_REQUESTS,
                FormErrors::form(format!(
                    "Too many codes were sent to this address. Try again in {}.",
                    wait_message(retry)
                )),
            ));
        }
    }
    let started = match state
        .app
        .start_sign_up(&form.email, &form.password, &form.business_name)
        .await
    {
        Ok(s) => s,
        Err(AppError::Validation(e)) => {
            return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, e.into()))
        }
        Err(e) => return Err(e.into()),
    };
    mail_code(&state, &started).await?;
    let mut res = Redirect::to(SIGN_UP.verify).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        challenge_cookie(&state, OtpPurpose::SignUp, &started.challenge_id),
    );
    Ok(res)
}

pub async fn login_form(visitor: Visitor) -> Response {
    if visitor.signed_in {
        return Redirect::to("/dashboard").into_response();
    }
    render(&LoginPage {
        csrf: visitor.csrf,
        flash: visitor.flash,
        errors: FormErrors::none(),
        email: String::new(),
    })
}

pub async fn login_submit(
    State(state): State<AppState>,
    ip: ClientIp,
    visitor: Visitor,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let page = |status: StatusCode, errors: FormErrors| {
        render_with(
            status,
            &LoginPage {
                csrf: visitor.csrf.clone(),
                flash: None,
                errors,
                email: form.email.trim().to_string(),
            },
        )
    };
    if let Some(retry) = failures_exceeded(&state, &ip, &form.email).await? {
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            FormErrors::form(format!(
                "Too many attempts. Try again in {}.",
                wait_message(retry)
            )),
        ));
    }
    let started = match state.app.start_sign_in(&form.email, &form.password).await {
        Ok(s) => s,
        Err(AppError::Unauthorized) => {
            record_failure(&state, &ip, &form.email).await?;
            return Ok(page(
                StatusCode::UNAUTHORIZED,
                FormErrors::form(WRONG_CREDENTIALS),
            ));
        }
        Err(AppError::AccountFrozen(id)) => {
            return Ok(Redirect::to(&frozen_path(&id)).into_response())
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(retry) = count_start(&state, &started.email).await? {
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            FormErrors::form(format!(
                "Too many codes were sent to this address. Try again in {}.",
                wait_message(retry)
            )),
        ));
    }
    mail_code(&state, &started).await?;
    let mut res = Redirect::to(SIGN_IN.verify).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        challenge_cookie(&state, OtpPurpose::SignIn, &started.challenge_id),
    );
    Ok(res)
}

async fn verify_form(
    state: AppState,
    headers: HeaderMap,
    visitor: Visitor,
    flow: Flow,
) -> Result<Response, PageError> {
    let Some(id) = pending_challenge(&state, &headers, flow.purpose) else {
        return Ok(Redirect::to(flow.start).into_response());
    };
    let challenge = match state.app.open_challenge(&id, flow.purpose).await {
        Ok(c) => c,
        Err(AppError::NotFound(_)) => return Ok(start_again(&state, flow)),
        Err(e) => return Err(e.into()),
    };
    Ok(render(&verify_page(
        &visitor,
        flow,
        challenge.email.as_str(),
        FormErrors::none(),
        visitor.flash.clone(),
    )))
}

async fn verify_submit(
    state: AppState,
    ip: ClientIp,
    headers: HeaderMap,
    visitor: Visitor,
    flow: Flow,
    code: &str,
) -> Result<Response, PageError> {
    let Some(id) = pending_challenge(&state, &headers, flow.purpose) else {
        return Ok(Redirect::to(flow.start).into_response());
    };
    let challenge = match state.app.open_challenge(&id, flow.purpose).await {
        Ok(c) => c,
        Err(AppError::NotFound(_)) => return Ok(start_again(&state, flow)),
        Err(e) => return Err(e.into()),
    };
    let email = challenge.email.as_str().to_string();
    let page = |status: StatusCode, errors: FormErrors| {
        render_with(status, &verify_page(&visitor, flow, &email, errors, None))
    };
    if let Some(retry) = failures_exceeded(&state, &ip, &email).await? {
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            FormErrors::form(format!(
                "Too many attempts. Try again in {}.",
                wait_message(retry)
            )),
        ));
    }
    let origin = origin(&ip, &headers);
    let result = match flow.purpose {
        OtpPurpose::SignUp => state.app.complete_sign_up(&id, code, &origin).await,
        OtpPurpose::SignIn => state.app.complete_sign_in(&id, code, &origin).await,
    };
    let signed_in = match result {
        Ok(s) => s,
        Err(AppError::Validation(e)) => {
            if e.0.iter().any(|f| f.message.starts_with("wrong code")) {
                record_failure(&state, &ip, &email).await?;
            }
            return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, e.into()));
        }
        Err(AppError::Conflict(m)) => return Ok(page(StatusCode::CONFLICT, FormErrors::form(m))),
        Err(AppError::AccountFrozen(id)) => {
            return Ok(Redirect::to(&frozen_path(&id)).into_response())
        }
        Err(e) => return Err(e.into()),
    };
    if flow.purpose == OtpPurpose::SignIn {
        // The session exists whatever happens to the alert; a failed alert is logged.
        match Mail::login_alert(
            signed_in.email.as_str(),
            &signed_in.merchant_name,
            signed_in.activity.created_at,
            &signed_in.activity.ip,
            &signed_in.activity.user_agent,
            &state.base_url,
        ) {
            Ok(mail) => {
                if let Err(e) = state.mailer.send(&mail).await {
                    tracing::error!(error = %e, merchant_id = %signed_in.session.merchant_id, "cannot send the login alert");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot build the login alert"),
        }
    }
    let welcome = match flow.purpose {
        OtpPurpose::SignUp => {
            "Welcome to Punchcard! Complete your profile and KYC to activate the account."
        }
        OtpPurpose::SignIn => "Signed in.",
    };
    let secure = secure_cookies(&state);
    let mut res = redirect_with_flash(
        &state.cookie_key,
        secure,
        "/dashboard",
        Flash::success(welcome),
    );
    let h = res.headers_mut();
    h.append(header::SET_COOKIE, session_cookie(&state, &signed_in.token));
    h.append(
        header::SET_COOKIE,
        cookies::clear(cookies::CHALLENGE, "/dashboard", secure),
    );
    Ok(res)
}

async fn resend(
    state: AppState,
    headers: HeaderMap,
    visitor: Visitor,
    flow: Flow,
) -> Result<Response, PageError> {
    let Some(id) = pending_challenge(&state, &headers, flow.purpose) else {
        return Ok(Redirect::to(flow.start).into_response());
    };
    let challenge = match state.app.open_challenge(&id, flow.purpose).await {
        Ok(c) => c,
        Err(AppError::NotFound(_)) => return Ok(start_again(&state, flow)),
        Err(e) => return Err(e.into()),
    };
    if let Err(retry) = count_resend(&state, &challenge).await? {
        return Ok(render_with(
            StatusCode::TOO_MANY_REQUESTS,
            &verify_page(
                &visitor,
                flow,
                challenge.email.as_str(),
                FormErrors::form(format!(
                    "You can request a new code in {}.",
                    wait_message(retry)
                )),
                None,
            ),
        ));
    }
    let sent = match state.app.resend_code(&id, flow.purpose).await {
        Ok(s) => s,
        Err(AppError::NotFound(_)) => return Ok(start_again(&state, flow)),
        Err(e) => return Err(e.into()),
    };
    mail_code(&state, &sent).await?;
    Ok(back_to(
        &state,
        flow.verify,
        Flash::success("We sent a new code. Earlier codes no longer work."),
    ))
}

pub async fn signup_verify_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
) -> Result<Response, PageError> {
    verify_form(state, headers, visitor, SIGN_UP).await
}

pub async fn signup_verify(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    verify_submit(state, ip, headers, visitor, SIGN_UP, &form.code).await
}

pub async fn signup_resend(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
) -> Result<Response, PageError> {
    resend(state, headers, visitor, SIGN_UP).await
}

pub async fn login_verify_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
) -> Result<Response, PageError> {
    verify_form(state, headers, visitor, SIGN_IN).await
}

pub async fn login_verify(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    visitor: Visitor,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    verify_submit(state, ip, headers, visitor, SIGN_IN, &form.code).await
}

pub async fn login_resend(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
) -> Result<Response, PageError> {
    resend(state, headers, visitor, SIGN_IN).await
}

pub async fn logout(State(state): State<AppState>, user: AnyMember) -> Result<Response, PageError> {
    state
        .app
        .sign_out(&user.merchant_id, &user.session_id)
        .await?;
    let secure = secure_cookies(&state);
    let mut res = redirect_with_flash(
        &state.cookie_key,
        secure,
        "/dashboard/login",
        Flash::info("You have signed out."),
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, "/", secure),
    );
    Ok(res)
}

/// Where a frozen merchant's members land: the page names the merchant for the operator.
pub fn frozen_path(merchant_id: &punchcard_domain::MerchantId) -> String {
    format!("/dashboard/frozen?merchant={merchant_id}")
}

#[derive(Debug, Default, Deserialize)]
pub struct FrozenQuery {
    #[serde(default)]
    merchant: Option<String>,
}

pub async fn frozen(
    State(state): State<AppState>,
    Query(query): Query<FrozenQuery>,
) -> Result<Response, PageError> {
    // A link can carry any id: name it only if it is a merchant that is frozen now.
    let merchant_id = match query
        .merchant
        .as_deref()
        .and_then(|m| m.trim().parse::<punchcard_domain::MerchantId>().ok())
    {
        Some(id) => match state.app.merchant(&id).await {
            Ok(m) if m.status == punchcard_domain::accounts::MerchantStatus::Frozen => {
                Some(m.id.to_string())
            }
            Ok(_) | Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    Ok(render_with(StatusCode::OK, &FrozenPage { merchant_id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_message(Duration::from_secs(0)), "1 second");
        assert_eq!(wait_message(Duration::from_secs(42)), "42 seconds");
        assert_eq!(wait_message(Duration::from_secs(600)), "10 minutes");
        assert_eq!(wait_message(Duration::from_secs(601)), "11 minutes");
    }
}
