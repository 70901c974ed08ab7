//! The pages of the campaign engine, served once for every kind: a kind's list with its status
//! filter, create and edit, switching on with a confirmation that says in plain words what the
//! campaign will do, and switching off. A kind brings its form, its words and its own extra
//! actions (see `campaigns_rules`); every kind shares the campaign page (`campaigns_report`).

use std::future::Future;

use askama::Template;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use punchcard_app::campaigns::CampaignView;
use punchcard_app::deals::DealView;
use punchcard_app::ledger::Scope;
use punchcard_app::{App, AppError};
use punchcard_domain::campaigns::{CampaignKind, CampaignStatus};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CampaignId, DealId};
use punchcard_store::api_keys::ApiKeyRow;

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{
    after_of, back_to, deal_name, list_href, live_deals, path_id, short_time, Currencies,
    FormFields, Pager,
};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub(super) const PAGE_SIZE: i64 = 50;

/// What the words of a campaign's pages need besides the campaign: the currencies (by code)
/// and the environment's API keys (by name).
pub struct Context {
    pub currencies: Currencies,
    pub keys: Vec<ApiKeyRow>,
    /// The environment's deals, whose coupons tasks and surprises give.
    pub deals: Vec<DealView>,
    /// A voucher campaign's integrations, by id and name (empty for other kinds).
    pub integrations: Vec<(String, String)>,
}

impl Context {
    pub async fn load(state: &AppState, user: &ActiveMerchant) -> Result<Self, PageError> {
        Ok(Self {
            currencies: Currencies::load(state, &user.merchant.id).await?,
            keys: state.app.list_api_keys(&user.merchant.id, user.env).await?,
            deals: live_deals(state, user).await?,
            integrations: Vec::new(),
        })
    }

    /// A deal's name (its id when it is gone).
    pub fn deal_name(&self, id: &DealId) -> String {
        deal_name(&self.deals, id)
    }

    /// A key as the merchant named it: `Shop server (key_…)`, or its id when it is gone.
    pub fn key_label(&self, id: &str) -> String {
        match self.keys.iter().find(|k| k.id.as_str() == id) {
            Some(k) if k.revoked_at.is_some() => format!("{} ({id}, revoked)", k.name),
            Some(k) => format!("{} ({id})", k.name),
            None => id.to_string(),
        }
    }

    /// A key's name alone (its id when it is gone), where the id would crowd a table.
    /// The name of the API key or integration that triggered an interaction.
    pub fn key_name(&self, id: &str) -> String {
        self.keys
            .iter()
            .find(|k| k.id.as_str() == id)
            .map(|k| k.name.clone())
            .or_else(|| {
                self.integrations
                    .iter()
                    .find(|(i, _)| i == id)
                    .map(|(_, name)| name.clone())
            })
            .unwrap_or_else(|| {
                if id == punchcard_app::campaigns::surprises::MEMBER_PAGE_SOURCE {
                    "Member page".to_string()
                } else {
                    id.to_string()
                }
            })
    }

    /// The keys that can still be authorized (not revoked).
    pub fn live_keys(&self) -> impl Iterator<Item = &ApiKeyRow> {
        self.keys.iter().filter(|k| k.revoked_at.is_none())
    }
}

/// An action a kind adds to its lines and to the campaign page (a link styled as a button).
pub struct Action {
    pub label: &'static str,
    pub href: String,
    /// Text our script copies to the clipboard before following the link.
    pub copies: Option<String>,
}

/// A kind of campaign as the dashboard shows it.
pub trait CampaignPage: Send + Sync + Sized + 'static {
    const KIND: CampaignKind;
    /// The list's address, under which every page of the kind lives: `/dashboard/rules`.
    const LIST: &'static str;
    const NAV: Nav;
    /// One campaign of the kind, in titles and flashes: `Rule`.
    const TITLE: &'static str;
    /// The same in a sentence: `rule`.
    const NOUN: &'static str;
    /// The list's title: `Rules`.
    const PLURAL: &'static str;
    /// What the kind is for, under the list's title.
    const INTRO: &'static str;
    /// The form as typed, to fill it again.
    type Form: Default + Clone + Send + Sync;
    type FormPage: Template + Send;

    fn form_of(f: &FormFields) -> Self::Form;
    fn form_of_saved(v: &CampaignView) -> Self::Form;
    fn create(
        app: &App,
        scope: &Scope,
        form: &Self::Form,
    ) -> impl Future<Output = Result<CampaignView, AppError>> + Send;
    fn update(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        form: &Self::Form,
    ) -> impl Future<Output = Result<CampaignView, AppError>> + Send;
    /// Switches it on (activate, resume) or off.
    fn switch(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        on: bool,
    ) -> impl Future<Output = Result<CampaignView, AppError>> + Send;
    fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        form: &Self::Form,
    ) -> impl Future<Output = Result<Self::FormPage, PageError>> + Send;
    /// What one award is, shortly, for the list: `10 PTS`, `0.1 PTS per unit, at most 50`.
    fn reward(v: &CampaignView, ctx: &Context) -> String;
    /// Its settings as the campaign page lists them.
    fn settings(v: &CampaignView, ctx: &Context) -> Vec<(&'static str, String)>;
    /// What it will do once switched on, sentence by sentence, in the merchant's words.
    fn plain_words(v: &CampaignView, ctx: &Context, env_label: &str) -> Vec<String>;
    /// Why switching it on would not make it live yet, if anything stands in the way.
    fn not_yet_live(v: &CampaignView) -> Option<String>;
    /// The kind's own actions on a campaign.
    fn actions(_v: &CampaignView) -> Vec<Action> {
        Vec::new()
    }
    /// The words of the switch: (`Activate`, `Deactivate`).
    const SWITCH: (&'static str, &'static str) = ("Activate", "Deactivate");
}

/// What every form page of a campaign kind shows.
pub struct FormParts {
    pub chrome: Chrome,
    /// Empty for a new campaign.
    pub id: String,
    pub errors: FormErrors,
    pub list_path: &'static str,
    pub title: &'static str,
}

/// The badge of a status: its words and its CSS class.
pub fn status_badge(s: CampaignStatus) -> (&'static str, &'static str) {
    match s {
        CampaignStatus::Pending => ("Pending", "badge-warn"),
        CampaignStatus::Live => ("Live", "badge-ok"),
        CampaignStatus::Completed => ("Completed", "badge-muted"),
        CampaignStatus::Archived => ("Archived", "badge-muted"),
    }
}

/// `2026-03-01 10:00` (UTC), or empty.
pub fn short_moment(t: Option<Timestamp>) -> String {
    t.map(|t| short_time(t)[..16].to_string())
        .unwrap_or_default()
}

/// A schedule in words: `from … to … (UTC)`.
pub fn schedule_words(v: &CampaignView) -> String {
    let c = &v.campaign;
    match (c.starts_at, c.ends_at) {
        (None, None) => "from now on, with no end date".to_string(),
        (Some(s), None) => format!("from {} (UTC), with no end date", short_moment(Some(s))),
        (None, Some(e)) => format!("from now until {} (UTC)", short_moment(Some(e))),
        (Some(s), Some(e)) => format!(
            "from {} to {} (UTC)",
            short_moment(Some(s)),
            short_moment(Some(e))
        ),
    }
}

/// Every page of a kind.
pub fn routes<K: CampaignPage>() -> Router<AppState> {
    let item = format!("{}/{{id}}", K::LIST);
    Router::new()
        .route(K::LIST, get(list::<K>).post(create::<K>))
        .route(&format!("{}/new", K::LIST), get(new::<K>))
        .route(&item, get(edit::<K>).post(update::<K>))
        .route(
            &format!("{item}/activate"),
            get(confirm::<K>).post(activate::<K>),
        )
        .route(&format!("{item}/deactivate"), post(deactivate::<K>))
}

// ----- the list -----

/// The list's filters as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListFilters {
    pub status: String,
    pub cursor: String,
}

/// One campaign in a list.
pub struct Line {
    pub id: String,
    pub name: String,
    pub reward: String,
    pub dates: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub active: bool,
    pub actions: Vec<Action>,
}

#[derive(Template)]
#[template(path = "dashboard/campaign_list.html")]
pub struct ListPage {
    chrome: Chrome,
    list_path: &'static str,
    plural: &'static str,
    title: &'static str,
    intro: &'static str,
    switch_on: &'static str,
    switch_off: &'static str,
    lines: Vec<Line>,
    tabs: Vec<Tab>,
    status: String,
    filter_errors: FormErrors,
    pager: Pager,
}

/// One status filter above a list.
pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

fn tabs(list: &str, current: &str) -> Vec<Tab> {
    [
        ("", "All"),
        ("pending", "Pending"),
        ("live", "Live"),
        ("completed", "Completed"),
        ("archived", "Archived"),
    ]
    .into_iter()
    .map(|(status, label)| Tab {
        label,
        href: list_href(list, &[("status", status)], None),
        current: current.trim() == status,
    })
    .collect()
}

fn dates_of(v: &CampaignView) -> String {
    let c = &v.campaign;
    match (c.starts_at, c.ends_at) {
        (None, None) => String::new(),
        (s, e) => format!("{} – {}", short_moment(s), short_moment(e)),
    }
}

async fn list<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(f): Query<ListFilters>,
) -> Result<Response, PageError> {
    let ctx = Context::load(&state, &user).await?;
    let after = after_of(&f.cursor);
    let found = state
        .app
        .list_campaigns(
            &user.scope(),
            Some(K::KIND.as_str()),
            Some(f.status.as_str()),
            after.as_deref(),
            PAGE_SIZE + 1,
        )
        .await;
    let (mut rows, filter_errors) = match found {
        Ok(rows) => (rows, FormErrors::none()),
        Err(AppError::Validation(e)) => (Vec::new(), FormErrors::from(e)),
        Err(e) => return Err(e.into()),
    };
    let pairs = [("status", f.status.as_str())];
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        after.is_some(),
        |v| v.campaign.id.to_string(),
        K::LIST,
        &pairs,
    );
    let lines = rows
        .iter()
        .map(|v| {
            let (status, status_class) = status_badge(v.status);
            Line {
                id: v.campaign.id.to_string(),
                name: v.campaign.name.clone(),
                reward: K::reward(v, &ctx),
                dates: dates_of(v),
                status,
                status_class,
                active: v.campaign.active,
                actions: K::actions(v),
            }
        })
        .collect();
    let status = if filter_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_with(
        status,
        &ListPage {
            chrome: Chrome::new(&user, K::NAV),
            list_path: K::LIST,
            plural: K::PLURAL,
            title: K::TITLE,
            intro: K::INTRO,
            switch_on: K::SWITCH.0,
            switch_off: K::SWITCH.1,
            lines,
            tabs: tabs(K::LIST, &f.status),
            status: f.status,
            filter_errors,
            pager,
        },
    ))
}

// ----- create and edit -----

fn parts<K: CampaignPage>(user: &ActiveMerchant, id: &str, errors: FormErrors) -> FormParts {
    FormParts {
        chrome: Chrome::new(user, K::NAV),
        id: id.to_string(),
        errors,
        list_path: K::LIST,
        title: K::TITLE,
    }
}

async fn new<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    let parts = parts::<K>(&user, "", FormErrors::none());
    Ok(render(
        &K::form_page(&state, &user, parts, &K::Form::default()).await?,
    ))
}

async fn create<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let form = K::form_of(&FormFields::parse(&body));
    match K::create(&state.app, &user.scope(), &form).await {
        Ok(v) => Ok(back_to(
            &state,
            &format!("/dashboard/campaigns/{}", v.campaign.id),
            Flash::success(format!(
                "{} created. Review it, then {} it when it is ready.",
                K::TITLE,
                K::SWITCH.0.to_lowercase()
            )),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            let parts = parts::<K>(&user, "", errors);
            Ok(render_with(
                status,
                &K::form_page(&state, &user, parts, &form).await?,
            ))
        }
    }
}

/// A campaign of this kind: another kind's id names none.
async fn of_kind<K: CampaignPage>(
    state: &AppState,
    user: &ActiveMerchant,
    raw: &str,
) -> Result<CampaignView, PageError> {
    let id: CampaignId = path_id(raw, K::NOUN)?;
    let v = state
        .app
        .campaign_any_kind(&user.scope(), id.as_str())
        .await?;
    if v.campaign.kind != K::KIND {
        return Err(PageError(AppError::NotFound(K::NOUN)));
    }
    Ok(v)
}

async fn edit<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let v = of_kind::<K>(&state, &user, &id).await?;
    let parts = parts::<K>(&user, v.campaign.id.as_str(), FormErrors::none());
    Ok(render(
        &K::form_page(&state, &user, parts, &K::form_of_saved(&v)).await?,
    ))
}

async fn update<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let v = of_kind::<K>(&state, &user, &id).await?;
    let form = K::form_of(&FormFields::parse(&body));
    match K::update(&state.app, &user.scope(), &v.campaign.id, &form).await {
        Ok(saved) => Ok(back_to(
            &state,
            &format!("/dashboard/campaigns/{}", saved.campaign.id),
            Flash::success(format!("{} saved.", K::TITLE)),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            let parts = parts::<K>(&user, v.campaign.id.as_str(), errors);
            Ok(render_with(
                status,
                &K::form_page(&state, &user, parts, &form).await?,
            ))
        }
    }
}

// ----- switching on, with a confirmation, and off -----

#[derive(Template)]
#[template(path = "dashboard/campaign_activate.html")]
pub struct ConfirmPage {
    chrome: Chrome,
    list_path: &'static str,
    plural: &'static str,
    title: &'static str,
    switch_on: &'static str,
    id: String,
    name: String,
    words: Vec<String>,
    warning: Option<String>,
    already_on: bool,
}

async fn confirm<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let v = of_kind::<K>(&state, &user, &id).await?;
    let ctx = Context::load(&state, &user).await?;
    let chrome = Chrome::new(&user, K::NAV);
    let words = K::plain_words(&v, &ctx, chrome.env_label());
    Ok(render(&ConfirmPage {
        list_path: K::LIST,
        plural: K::PLURAL,
        title: K::TITLE,
        switch_on: K::SWITCH.0,
        id: v.campaign.id.to_string(),
        name: v.campaign.name.clone(),
        warning: K::not_yet_live(&v),
        already_on: v.campaign.active,
        words,
        chrome,
    }))
}

async fn activate<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let v = of_kind::<K>(&state, &user, &id).await?;
    let here = format!("{}/{}/activate", K::LIST, v.campaign.id);
    // Switching on moves points: only from the confirmation page, never by a bare post.
    if FormFields::parse(&body).get("confirm") != "yes" {
        return Ok(back_to(
            &state,
            &here,
            Flash::info("Review what it will do, then confirm."),
        ));
    }
    match K::switch(&state.app, &user.scope(), &v.campaign.id, true).await {
        Ok(on) => {
            let message = match on.status {
                CampaignStatus::Live => format!("{} is live.", on.campaign.name),
                _ => format!(
                    "{} is switched on; it is {} for now: {}",
                    on.campaign.name,
                    on.status,
                    K::not_yet_live(&on).unwrap_or_default()
                ),
            };
            Ok(back_to(&state, K::LIST, Flash::success(message)))
        }
        Err(AppError::LimitReached(m)) => Ok(back_to(&state, &here, Flash::error(m))),
        Err(e) => Err(e.into()),
    }
}

async fn deactivate<K: CampaignPage>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let v = of_kind::<K>(&state, &user, &id).await?;
    let off = K::switch(&state.app, &user.scope(), &v.campaign.id, false).await?;
    Ok(back_to(
        &state,
        K::LIST,
        Flash::success(format!(
            "{} is switched off: it awards nothing until you {} it again.",
            off.campaign.name,
            K::SWITCH.0.to_lowercase()
        )),
    ))
}
