//! Passwords: *Forgot your password?* (an emailed reset link) and a signed-in member's
//! password change, which asks for the current password.
//!
//! Asking for a link answers the same page whether the address has an account or not, and
//! the mail goes out after the answer, so neither the words nor the timing tell. Requests are
//! throttled per address (5 an hour) and per IP (20 an hour); wrong current passwords count
//! with sign-in failures.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use punchcard_app::AppError;
use punchcard_domain::accounts::Email;
use punchcard_domain::time::Timestamp;

use super::auth::{failures_exceeded, record_failure, throttle_failed, wait_message};
use super::chrome::{error_page, render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, found};
use super::session::{SignedIn, Visitor};
use crate::client_ip::ClientIp;
use crate::mail::Mail;
use crate::state::AppState;

const RESETS_PER_ADDRESS_HOUR: u64 = 5;
const RESETS_PER_IP_HOUR: u64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/password/forgot",
            get(forgot_form).post(forgot_submit),
        )
        .route(
            "/dashboard/password/reset/{token}",
            get(reset_form).post(reset_submit),
        )
        .route("/dashboard/password", get(change_form).post(change_submit))
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    csrf: String,
    flash: Option<Flash>,
    errors: FormErrors,
    email: String,
    sent: bool,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    csrf: String,
    flash: Option<Flash>,
    errors: FormErrors,
    email: String,
    token: String,
}

#[derive(Template)]
#[template(path = "dashboard/password.html")]
struct ChangePage {
    chrome: Chrome,
    errors: FormErrors,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    pub email: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewPasswordForm {
    pub current_password: String,
    pub password: String,
    pub password_confirm: String,
}

pub async fn forgot_form(visitor: Visitor) -> Response {
    if visitor.signed_in {
        return Redirect::to("/dashboard/password").into_response();
    }
    render(&ForgotPage {
        csrf: visitor.csrf,
        flash: visitor.flash,
        errors: FormErrors::none(),
        email: String::new(),
        sent: false,
    })
}

pub async fn forgot_submit(
    State(state): State<AppState>,
    ip: ClientIp,
    visitor: Visitor,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    let page = |status: StatusCode, errors: FormErrors, sent: bool| {
        render_with(
            status,
            &ForgotPage {
                csrf: visitor.csrf.clone(),
                flash: None,
                errors,
                email: if sent {
                    String::new()
                } else {
                    form.email.trim().to_string()
                },
                sent,
            },
        )
    };
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            return Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                FormErrors::field("email", &e.message),
                false,
            ))
        }
    };
    let hour = Duration::from_secs(3600);
    for (key, limit) in [
        (format!("pw-reset:ip:{}", ip.0), RESETS_PER_IP_HOUR),
        (format!("pw-reset:acct:{email}"), RESETS_PER_ADDRESS_HOUR),
    ] {
        let counted = state
            .throttle
            .hit(&key, limit, hour)
            .await
            .map_err(throttle_failed)?;
        if let Err(retry) = counted {
            return Ok(page(
                StatusCode::TOO_MANY_REQUESTS,
                FormErrors::form(format!(
                    "Too many requests. Try again in {}.",
                    wait_message(retry)
                )),
                false,
            ));
        }
    }
    let reset = state.app.start_password_reset(email.as_str()).await?;
    if let Some(reset) = reset {
        let link = format!(
            "{}/dashboard/password/reset/{}",
            state.base_url, reset.token
        );
        let mail = Mail::password_reset(reset.email.as_str(), &link, reset.expires_at)
            .map_err(AppError::internal)?;
        // Sent after the answer, so that its time does not tell that the account exists.
        let mailer = state.mailer.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&mail).await {
                tracing::error!(error = %e, "could not send a password reset link");
            }
        });
    }
    Ok(page(StatusCode::OK, FormErrors::none(), true))
}

fn invalid_link() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This password reset link has expired or was already used. Ask for a new one on the sign-in page.",
    )
}

async fn reset_page(
    state: &AppState,
    visitor: &Visitor,
    token: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let Some(open) = found(state.app.password_reset_for_token(token).await)? else {
        return Ok(invalid_link());
    };
    Ok(render_with(
        status,
        &ResetPage {
            csrf: visitor.csrf.clone(),
            flash: visitor.flash.clone(),
            errors,
            email: open.email.to_string(),
            token: token.to_string(),
        },
    ))
}

pub async fn reset_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    reset_page(&state, &visitor, &token, FormErrors::none(), StatusCode::OK).await
}

pub async fn reset_submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(form): Form<NewPasswordForm>,
) -> Result<Response, PageError> {
    if form.password != form.password_confirm {
        let errors = FormErrors::field("password_confirm", "does not match the password");
        return reset_page(
            &state,
            &visitor,
            &token,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match state
        .app
        .complete_password_reset(&token, &form.password)
        .await
    {
        Ok(member) => {
            notify_changed(&state, &member.email).await;
            Ok(back_to(
                &state,
                "/dashboard/login",
                Flash::success(format!(
                    "The password of {} is changed: sign in with it to continue.",
                    member.email
                )),
            ))
        }
        Err(AppError::NotFound(_)) => Ok(invalid_link()),
        Err(e) => {
            let (status, errors) = FormErrors::invalid_fields(e)?;
            reset_page(&state, &visitor, &token, errors, status).await
        }
    }
}

/// Mails the member that the password changed; a failure is logged, the change stands.
async fn notify_changed(state: &AppState, email: &Email) {
    match Mail::password_changed(email.as_str(), Timestamp::now(), &state.base_url) {
        Ok(mail) => {
            if let Err(e) = state.mailer.send(&mail).await {
                tracing::error!(error = %e, "could not send a password change notice");
            }
        }
        Err(e) => tracing::error!(error = %e, "could not build a password change notice"),
    }
}

pub async fn change_form(user: SignedIn) -> Response {
    render(&ChangePage {
        chrome: Chrome::new(&user, Nav::Password),
        errors: FormErrors::none(),
    })
}

pub async fn change_submit(
    State(state): State<AppState>,
    ip: ClientIp,
    user: SignedIn,
    Form(form): Form<NewPasswordForm>,
) -> Result<Response, PageError> {
    let page = |status: StatusCode, errors: FormErrors| {
        render_with(
            status,
            &ChangePage {
                chrome: Chrome::new(&user, Nav::Password),
                errors,
            },
        )
    };
    let account = user.member.email.as_str();
    if let Some(retry) = failures_exceeded(&state, &ip, account).await? {
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            FormErrors::form(format!(
                "Too many attempts. Try again in {}.",
                wait_message(retry)
            )),
        ));
    }
    if form.password != form.password_confirm {
        return Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            FormErrors::field("password_confirm", "does not match the password"),
        ));
    }
    let changed = state
        .app
        .change_password(
            &user.merchant.id,
            &user.member.id,
            &user.session_id,
            &form.current_password,
            &form.password,
        )
        .await;
    match changed {
        Ok(()) => {
            notify_changed(&state, &user.member.email).await;
            Ok(back_to(
                &state,
                "/dashboard/password",
                Flash::success("Password changed. Your other sessions were signed out."),
            ))
        }
        Err(e) => {
            let (status, errors) = FormErrors::invalid_fields(e)?;
            if errors.has("current_password") {
                record_failure(&state, &ip, account).await?;
            }
            Ok(page(status, errors))
        }
    }
}
