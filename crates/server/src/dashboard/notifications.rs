//! The notifications page. Showing the list marks what it showed as read.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use punchcard_domain::time::Timestamp;

use super::chrome::{render, Chrome, Nav, PageError};
use super::kit::short_time;
use super::session::SignedIn;
use crate::state::AppState;

pub struct NotificationLine {
    pub title: String,
    pub body: String,
    pub when: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    chrome: Chrome,
    rows: Vec<NotificationLine>,
}

pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, PageError> {
    let shown_at = Timestamp::now();
    let list = state.app.list_notifications(&user.merchant.id).await?;
    let newest = list.first().map(|n| n.created_at);
    let rows = list
        .into_iter()
        .map(|n| NotificationLine {
            unread: n.read_at.is_none(),
            when: short_time(n.created_at),
            title: n.title,
            body: n.body,
        })
        .collect();
    // Only what was on the page becomes read; a notification arriving meanwhile stays new.
    if let Some(newest) = newest {
        state
            .app
            .mark_notifications_read(&user.merchant.id, newest.min(shown_at))
            .await?;
    }
    let mut chrome = Chrome::new(&user, Nav::Notifications);
    chrome.unread = 0;
    Ok(render(&NotificationsPage { chrome, rows }))
}
