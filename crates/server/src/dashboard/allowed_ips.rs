//! Allowed IPs: the list, adding (with a lock-out warning for dashboard rules), deleting,
//! and the check that keeps members on other addresses out of the dashboard.

use std::net::IpAddr;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::allowed_ips::{ranges_allow, IpSource, NewAllowedIp};
use punchcard_domain::limits::ALLOWED_IP_CAP;
use punchcard_domain::net::IpRange;
use punchcard_domain::{AllowedIpId, MerchantId};

use super::chrome::{error_page, render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, path_id, short_time};
use super::session::ActiveMerchant;
use crate::client_ip::{client_ip_of, ClientIp};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/allowed-ips", get(list).post(add))
        .route("/dashboard/allowed-ips/{id}/delete", post(delete))
}

/// Refuses a signed-in member whose address is outside the merchant's `dashboard` list
/// (called by the session extractor; an empty list allows everyone).
pub async fn check_dashboard_ip(
    parts: &Parts,
    state: &AppState,
    merchant_id: &MerchantId,
) -> Result<(), Response> {
    let ip = client_ip_of(parts, &state.config.trusted_proxies);
    match state
        .allowed_ips
        .allows(&state.app, merchant_id, IpSource::Dashboard, ip)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::info!(merchant_id = %merchant_id, %ip, "dashboard request from a non-allowed IP refused");
            Err(error_page(
                StatusCode::FORBIDDEN,
                "Address not allowed",
                &format!(
                    "This account accepts dashboard access only from its allowed IP addresses, and {ip} is not one of them. \
                     Connect from an allowed address, or ask the operator to lift the restriction."
                ),
            ))
        }
        Err(e) => Err(axum::response::IntoResponse::into_response(PageError(e))),
    }
}

pub struct EntryLine {
    pub id: String,
    pub source: String,
    pub cidr: String,
    pub created: String,
    /// Deleting it would leave a dashboard list that does not include the current address.
    pub locks_out: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewEntryForm {
    pub source: String,
    pub ip: String,
    /// The explicit "yes, I may lock myself out" checkbox.
    pub confirm_lockout: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/allowed_ips.html")]
struct ListPage {
    chrome: Chrome,
    entries: Vec<EntryLine>,
    count: usize,
    cap: i64,
    current_ip: String,
    form: NewEntryForm,
    errors: FormErrors,
    /// Shown when a dashboard rule would not include the current address.
    lockout_warning: bool,
}

async fn list_page(
    state: &AppState,
    user: &ActiveMerchant,
    ip: IpAddr,
    form: NewEntryForm,
    errors: FormErrors,
    lockout_warning: bool,
) -> Result<ListPage, PageError> {
    let rows = state.app.list_allowed_ips(&user.merchant.id).await?;
    let dashboard: Vec<(String, IpRange)> = rows
        .iter()
        .filter(|r| r.source == IpSource::Dashboard.as_str())
        .filter_map(|r| {
            IpRange::parse(&r.cidr)
                .ok()
                .map(|range| (r.id.to_string(), range))
        })
        .collect();
    let entries = rows
        .iter()
        .map(|r| {
            let id = r.id.to_string();
            let remaining: Vec<IpRange> = dashboard
                .iter()
                .filter(|(i, _)| *i != id)
                .map(|(_, r)| *r)
                .collect();
            EntryLine {
                locks_out: r.source == IpSource::Dashboard.as_str()
                    && !remaining.is_empty()
                    && !ranges_allow(&remaining, ip),
                id,
                source: r.source.clone(),
                cidr: r.cidr.clone(),
                created: short_time(r.created_at),
            }
        })
        .collect::<Vec<_>>();
    Ok(ListPage {
        chrome: Chrome::new(user, Nav::AllowedIps),
        count: entries.len(),
        entries,
        cap: ALLOWED_IP_CAP,
        current_ip: ip.to_string(),
        form,
        errors,
        lockout_warning,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
    ClientIp(ip): ClientIp,
) -> Result<Response, PageError> {
    Ok(render(
        &list_page(
            &state,
            &user,
            ip,
            NewEntryForm::default(),
            FormErrors::none(),
            false,
        )
        .await?,
    ))
}

pub async fn add(
    State(state): State<AppState>,
    user: ActiveMerchant,
    ClientIp(ip): ClientIp,
    Form(form): Form<NewEntryForm>,
) -> Result<Response, PageError> {
    let new = match NewAllowedIp::parse(&form.source, &form.ip) {
        Ok(n) => n,
        Err(e) => {
            return Ok(render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &list_page(&state, &user, ip, form, e.into(), false).await?,
            ))
        }
    };
    if new.source == IpSource::Dashboard && form.confirm_lockout.is_none() {
        let mut after = state
            .app
            .allowed_ranges(&user.merchant.id, IpSource::Dashboard)
            .await?;
        after.push(new.range);
        if !ranges_allow(&after, ip) {
            let errors = FormErrors::form(format!(
                "Your current address, {ip}, is not in this range: once it is saved, this browser will be locked out of the dashboard. \
                 Tick the box below to save it anyway."
            ));
            return Ok(render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &list_page(&state, &user, ip, form, errors, true).await?,
            ));
        }
    }
    // The write publishes the change: this server's cache forgets the list when it commits.
    match state.app.add_allowed_ip(&user.merchant.id, new).await {
        Ok(row) => Ok(back_to(
            &state,
            "/dashboard/allowed-ips",
            Flash::success(format!(
                "{} allowed for the {}.",
                row.cidr,
                if row.source == "api" {
                    "API"
                } else {
                    "dashboard"
                }
            )),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            Ok(render_with(
                status,
                &list_page(&state, &user, ip, form, errors, false).await?,
            ))
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: AllowedIpId = path_id(&id, "allowed IP")?;
    state.app.delete_allowed_ip(&user.merchant.id, &id).await?;
    Ok(back_to(
        &state,
        "/dashboard/allowed-ips",
        Flash::success("Allowed IP deleted."),
    ))
}
