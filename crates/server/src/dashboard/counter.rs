//! The partner app's settings and figures in the dashboard: what happened at the counter (the
//! same figures and charts as the partner app's *Analytics*), the point grants staff may give,
//! and the stores each member works at.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::stats::DayRange;
use punchcard_app::stores::Stores;
use punchcard_domain::accounts::Role;
use punchcard_store::stores::StoreFilter;

use super::charts::BarChart;
use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, Currencies, CurrencyOption, FormFields};
use super::session::ActiveMerchant;
use crate::partner::analytics::{charts, figures, Figure, PERIODS};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/partner", get(page))
        .route("/dashboard/partner/grants", post(add_grant))
        .route("/dashboard/partner/grants/{id}/remove", post(remove_grant))
        .route("/dashboard/partner/members/{id}/stores", post(set_stores))
}

pub struct GrantLine {
    pub id: String,
    pub name: String,
    pub points: i64,
    pub currency: String,
}

pub struct StoreBox {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

pub struct MemberLine {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub stores: Vec<StoreBox>,
    pub summary: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct GrantForm {
    pub name: String,
    pub currency_id: String,
    pub points: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct PageQuery {
    days: String,
    store: String,
}

pub struct StoreOption {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "dashboard/partner.html")]
struct Page {
    chrome: Chrome,
    days: i64,
    periods: [i64; 3],
    store: String,
    stores: Vec<StoreOption>,
    figures: Vec<Figure>,
    charts: Vec<BarChart>,
    from: String,
    to: String,
    grants: Vec<GrantLine>,
    currencies: Vec<CurrencyOption>,
    form: GrantForm,
    errors: FormErrors,
    members: Vec<MemberLine>,
}

async fn build(
    state: &AppState,
    user: &ActiveMerchant,
    q: &PageQuery,
    form: GrantForm,
    errors: FormErrors,
) -> Result<Page, PageError> {
    let scope = user.scope();
    let days = q
        .days
        .parse::<i64>()
        .ok()
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(30);
    let live = state
        .app
        .list_items::<Stores>(
            &user.merchant.id,
            user.env,
            &StoreFilter::default(),
            None,
            200,
        )
        .await?;
    let store = if live.iter().any(|s| s.row.id.as_str() == q.store) {
        q.store.clone()
    } else {
        String::new()
    };
    let stats = state
        .app
        .counter_stats(
            &scope,
            Some(store.as_str()).filter(|s| !s.is_empty()),
            DayRange::last(days),
        )
        .await?;
    let currencies = Currencies::load(state, &user.merchant.id).await?;
    let grants = state
        .app
        .point_grants(&scope)
        .await?
        .into_iter()
        .map(|g| GrantLine {
            id: g.id.to_string(),
            name: g.name,
            points: g.points,
            currency: currencies.code(g.currency_id.as_str()),
        })
        .collect();
    let ties = state.app.member_stores(&user.merchant.id).await?;
    let members = state
        .app
        .list_members(&user.merchant.id)
        .await?
        .into_iter()
        .filter(|m| m.role != Role::Owner)
        .map(|m| {
            let mine: Vec<&punchcard_domain::StoreId> = ties
                .iter()
                .filter(|(member, _)| *member == m.id)
                .map(|(_, s)| s)
                .collect();
            let stores: Vec<StoreBox> = live
                .iter()
                .map(|s| StoreBox {
                    id: s.row.id.to_string(),
                    name: s.row.name.clone(),
                    checked: mine.contains(&&s.row.id),
                })
                .collect();
            let names: Vec<String> = stores
                .iter()
                .filter(|s| s.checked)
                .map(|s| s.name.clone())
                .collect();
            MemberLine {
                id: m.id.to_string(),
                email: m.email.to_string(),
                role: m.role.as_str(),
                summary: if names.is_empty() {
                    "Any store".to_string()
                } else {
                    names.join(", ")
                },
                stores,
            }
        })
        .collect();
    Ok(Page {
        chrome: Chrome::new(user, Nav::Partner),
        days,
        periods: PERIODS,
        store,
        stores: live
            .iter()
            .map(|s| StoreOption {
                id: s.row.id.to_string(),
                name: s.row.name.clone(),
            })
            .collect(),
        figures: figures(&stats),
        charts: charts(&stats),
        from: stats.range.from.to_string(),
        to: stats.range.to.to_string(),
        grants,
        currencies: currencies.0.iter().map(CurrencyOption::named).collect(),
        form,
        errors,
        members,
    })
}

async fn page(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    Ok(render(
        &build(&state, &user, &q, GrantForm::default(), FormErrors::none()).await?,
    ))
}

async fn add_grant(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<GrantForm>,
) -> Result<Response, PageError> {
    match state
        .app
        .create_point_grant(&user.scope(), &form.name, &form.currency_id, &form.points)
        .await
    {
        Ok(g) => Ok(back_to(
            &state,
            "/dashboard/partner#grants",
            Flash::success(format!(
                "Staff can now give {} points ({}).",
                g.points, g.name
            )),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal_with(e, |e| match e {
                punchcard_app::AppError::LimitReached(m) => Some(FormErrors::form(m.clone())),
                _ => None,
            })?;
            let page = build(&state, &user, &PageQuery::default(), form, errors).await?;
            Ok(render_with(status, &page))
        }
    }
}

async fn remove_grant(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    state.app.archive_point_grant(&user.scope(), &id).await?;
    Ok(back_to(
        &state,
        "/dashboard/partner#grants",
        Flash::success("The point grant is no longer offered."),
    ))
}

async fn set_stores(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let fields = FormFields::parse(&body);
    match state
        .app
        .set_member_stores(&user.merchant.id, &id, &fields.all("store_ids"))
        .await
    {
        Ok(()) => Ok(back_to(
            &state,
            "/dashboard/partner#staff",
            Flash::success("The member's stores are saved."),
        )),
        Err(punchcard_app::AppError::Validation(v)) => Ok(back_to(
            &state,
            "/dashboard/partner#staff",
            Flash::error(
                v.0.first()
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| "The stores could not be saved.".into()),
            ),
        )),
        Err(e) => Err(PageError(e)),
    }
}
