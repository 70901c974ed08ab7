//! Members: the team list, invitations by email (owner only), removal, and the public page
//! where an invited person chooses a password.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::AppError;
use punchcard_domain::accounts::Role;
use punchcard_domain::{InvitationId, MemberId};

use super::chrome::{error_page, render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, found, path_id, short_time};
use super::session::{SignedIn, Visitor};
use crate::mail::Mail;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/members", get(list).post(invite))
        .route("/dashboard/members/{id}/remove", post(remove))
        .route("/dashboard/members/invitations/{id}/revoke", post(revoke))
        .route(
            "/dashboard/invitations/{token}",
            get(accept_form).post(accept),
        )
}

pub struct MemberLine {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub since: String,
    pub is_owner: bool,
    pub is_you: bool,
}

pub struct InvitationLine {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub expires: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct InviteForm {
    pub email: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "dashboard/members.html")]
struct ListPage {
    chrome: Chrome,
    members: Vec<MemberLine>,
    invitations: Vec<InvitationLine>,
    can_manage: bool,
    form: InviteForm,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct AcceptPage {
    csrf: String,
    flash: Option<Flash>,
    errors: FormErrors,
    email: String,
    merchant_name: String,
    role: &'static str,
    token: String,
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationMail<'a> {
    merchant_name: &'a str,
    role: &'a str,
    link: &'a str,
    expires: &'a str,
}

async fn list_page(
    state: &AppState,
    user: &SignedIn,
    form: InviteForm,
    errors: FormErrors,
) -> Result<ListPage, PageError> {
    let members = state.app.list_members(&user.merchant.id).await?;
    let invitations = state.app.pending_invitations(&user.merchant.id).await?;
    Ok(ListPage {
        chrome: Chrome::new(user, Nav::Members),
        members: members
            .iter()
            .map(|m| MemberLine {
                id: m.id.to_string(),
                email: m.email.to_string(),
                role: m.role.as_str(),
                since: short_time(m.created_at),
                is_owner: m.role == Role::Owner,
                is_you: m.id == user.member.id,
            })
            .collect(),
        invitations: invitations
            .iter()
            .map(|i| InvitationLine {
                id: i.id.to_string(),
                email: i.email.to_string(),
                role: i.role.as_str(),
                expires: short_time(i.expires_at),
            })
            .collect(),
        can_manage: user.member.role == Role::Owner,
        form,
        errors,
    })
}

pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, PageError> {
    Ok(render(
        &list_page(&state, &user, InviteForm::default(), FormErrors::none()).await?,
    ))
}

pub async fn invite(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    let created = match state
        .app
        .invite_member(&user.member, &form.email, &form.role)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            // A refused invitation answers 422 whatever the reason: the form was not taken.
            let (_, errors) = FormErrors::refusal_with(e, |e| match e {
                AppError::LimitReached(m) | AppError::Forbidden(m) => {
                    Some(FormErrors::form(m.clone()))
                }
                _ => None,
            })?;
            return Ok(render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &list_page(&state, &user, form, errors).await?,
            ));
        }
    };
    let link = format!("{}/dashboard/invitations/{}", state.base_url, created.token);
    let expires = created.invitation.expires_at.to_rfc3339();
    let body = InvitationMail {
        merchant_name: &user.merchant.name,
        role: created.invitation.role.as_str(),
        link: &link,
        expires: &expires,
    }
    .render()
    .map_err(AppError::internal)?;
    let mail = Mail {
        to: created.invitation.email.to_string(),
        subject: format!("You are invited to {} on Punchcard", user.merchant.name),
        body,
    };
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, "could not send an invitation");
        return Ok(back_to(&state, "/dashboard/members",
            Flash::error("The invitation was saved but its email could not be sent; revoke it and try again."),
        ));
    }
    Ok(back_to(
        &state,
        "/dashboard/members",
        Flash::success(format!("Invitation sent to {}.", created.invitation.email)),
    ))
}

pub async fn revoke(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: InvitationId = path_id(&id, "invitation")?;
    state.app.revoke_invitation(&user.member, &id).await?;
    Ok(back_to(
        &state,
        "/dashboard/members",
        Flash::success("Invitation revoked."),
    ))
}

pub async fn remove(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: MemberId = path_id(&id, "member")?;
    state.app.remove_member(&user.member, &id).await?;
    Ok(back_to(
        &state,
        "/dashboard/members",
        Flash::success("Member removed; their sessions have ended."),
    ))
}

fn invalid_invitation() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Invitation not valid",
        "This invitation link has expired, was revoked or was already used. Ask the account owner for a new one.",
    )
}

async fn accept_page(
    state: &AppState,
    visitor: &Visitor,
    token: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let Some(invitation) = found(state.app.invitation_for_token(token).await)? else {
        return Ok(invalid_invitation());
    };
    let merchant = state.app.merchant(&invitation.merchant_id).await?;
    Ok(render_with(
        status,
        &AcceptPage {
            csrf: visitor.csrf.clone(),
            flash: visitor.flash.clone(),
            errors,
            email: invitation.email.to_string(),
            merchant_name: merchant.name,
            role: invitation.role.as_str(),
            token: token.to_string(),
        },
    ))
}

pub async fn accept_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    accept_page(&state, &visitor, &token, FormErrors::none(), StatusCode::OK).await
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AcceptForm {
    pub password: String,
    pub password_confirm: String,
}

pub async fn accept(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, PageError> {
    if form.password != form.password_confirm {
        let errors = FormErrors::field("password_confirm", "does not match the password");
        return accept_page(
            &state,
            &visitor,
            &token,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match state.app.accept_invitation(&token, &form.password).await {
        Ok(member) => Ok(back_to(
            &state,
            "/dashboard/login",
            Flash::success(format!(
                "Your account {} is ready: sign in to continue.",
                member.email
            )),
        )),
        Err(AppError::NotFound(_)) => Ok(invalid_invitation()),
        Err(e) => {
            let (status, errors) = FormErrors::invalid_fields(e)?;
            accept_page(&state, &visitor, &token, errors, status).await
        }
    }
}
