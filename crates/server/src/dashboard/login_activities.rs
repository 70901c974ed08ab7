//! Login activities: every sign-in, newest first, each with a "Report" action that freezes
//! the merchant. Available before KYC approval too: securing the account cannot wait.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use punchcard_domain::LoginActivityId;

use super::chrome::{render, Chrome, Nav, PageError};
use super::cookies;
use super::kit::{path_id, short_time};
use super::session::{secure_cookies, SignedIn};
use crate::state::AppState;

pub struct ActivityLine {
    pub id: String,
    pub when: String,
    pub email: String,
    pub ip: String,
    pub user_agent: String,
    pub reported: bool,
}

#[derive(Template)]
#[template(path = "login_activities.html")]
struct LoginActivitiesPage {
    chrome: Chrome,
    rows: Vec<ActivityLine>,
}

pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, PageError> {
    let rows = state
        .app
        .list_login_activities(&user.merchant.id)
        .await?
        .into_iter()
        .map(|v| ActivityLine {
            id: v.activity.id.to_string(),
            when: short_time(v.activity.created_at),
            email: v.email.unwrap_or_default(),
            ip: v.activity.ip,
            user_agent: if v.activity.user_agent.is_empty() {
                "unknown".to_string()
            } else {
                v.activity.user_agent
            },
            reported: v.activity.reported_at.is_some(),
        })
        .collect();
    Ok(render(&LoginActivitiesPage {
        chrome: Chrome::new(&user, Nav::LoginActivities),
        rows,
    }))
}

/// Reports a sign-in: the merchant is frozen, every session (this one too) ends.
pub async fn report(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: LoginActivityId = path_id(&id, "login activity")?;
    state
        .app
        .report_login_activity(&user.merchant.id, &id)
        .await?;
    let mut res = Redirect::to(&super::auth::frozen_path(&user.merchant.id)).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, "/", secure_cookies(&state)),
    );
    Ok(res)
}
