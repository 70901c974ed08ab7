//! Voucher campaigns in the dashboard: their form (name, linked vaults, per-redeemer limit,
//! dates) and words as a kind of the campaign pages, and their integrations page, where a new
//! integration's secret is shown once.

use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use punchcard_app::campaigns::vouchers::{VoucherCampaignDraft, VoucherCampaignPatch};
use punchcard_app::campaigns::CampaignView;
use punchcard_app::ledger::Scope;
use punchcard_app::{App, AppError};
use punchcard_domain::campaigns::{CampaignKind, CampaignStatus};
use punchcard_domain::{CampaignId, FieldError};

use super::campaigns::{schedule_words, Action, CampaignPage, Context, FormParts};
use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{
    back_to, from_local_input, non_empty, path_id, short_time, to_local_input, FormFields,
};
use super::session::ActiveMerchant;
use crate::state::AppState;

const LIST: &str = "/dashboard/voucher-campaigns";

pub fn routes() -> Router<AppState> {
    super::campaigns::routes::<VoucherCampaigns>()
        .route(
            &format!("{LIST}/{{id}}/integrations"),
            get(integrations).post(add_integration),
        )
        .route(
            &format!("{LIST}/{{id}}/integrations/{{integration_id}}"),
            post(change_integration),
        )
}

/// The voucher kind of the campaign pages.
pub struct VoucherCampaigns;

/// A voucher campaign's form as typed.
#[derive(Debug, Clone, Default)]
pub struct VoucherForm {
    pub name: String,
    /// The ticked vaults; `None` until read from the form or the saved campaign.
    pub vault_ids: Option<Vec<String>>,
    pub max_per_redeemer: String,
    pub starts_at: String,
    pub ends_at: String,
}

impl VoucherForm {
    fn draft(&self) -> (VoucherCampaignDraft, Vec<FieldError>) {
        let mut bad = Vec::new();
        let draft = VoucherCampaignDraft {
            name: self.name.clone(),
            vault_ids: self.vault_ids.clone().unwrap_or_default(),
            starts_at: non_empty(&from_local_input(&self.starts_at)),
            ends_at: non_empty(&from_local_input(&self.ends_at)),
            max_per_redeemer: super::campaigns_rules::number(
                "max_per_redeemer",
                &self.max_per_redeemer,
                &mut bad,
            ),
            // New campaigns wait for the confirmation, as the other kinds do.
            paused: true,
        };
        (draft, bad)
    }

    pub fn ticks(&self, id: &str) -> bool {
        self.vault_ids
            .as_ref()
            .is_some_and(|v| v.iter().any(|x| x == id))
    }
}

/// A vault as a checkbox of the form.
pub struct VaultChoice {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "dashboard/voucher_form.html")]
pub struct VoucherFormPage {
    parts: FormParts,
    form: VoucherForm,
    vaults: Vec<VaultChoice>,
}
super::kind::page_parts!(VoucherFormPage => FormParts);

impl CampaignPage for VoucherCampaigns {
    const KIND: CampaignKind = CampaignKind::Voucher;
    const LIST: &'static str = LIST;
    const NAV: Nav = Nav::VoucherCampaigns;
    const TITLE: &'static str = "Voucher campaign";
    const NOUN: &'static str = "voucher campaign";
    const PLURAL: &'static str = "Voucher campaigns";
    const INTRO: &'static str = "Vouchers from your vaults that another application awards to \
        its customers through one of the campaign's integrations. It is live once it has a \
        linked vault and a live integration, within its dates.";
    const SWITCH: (&'static str, &'static str) = ("Start", "Pause");
    type Form = VoucherForm;
    type FormPage = VoucherFormPage;

    fn form_of(f: &FormFields) -> VoucherForm {
        VoucherForm {
            name: f.get("name"),
            vault_ids: Some(f.all("vault_ids")),
            max_per_redeemer: f.get("max_per_redeemer"),
            starts_at: f.get("starts_at"),
            ends_at: f.get("ends_at"),
        }
    }

    fn form_of_saved(v: &CampaignView) -> VoucherForm {
        let c = &v.campaign;
        VoucherForm {
            name: c.name.clone(),
            vault_ids: None,
            max_per_redeemer: c.max_per_lead.map(|n| n.to_string()).unwrap_or_default(),
            starts_at: c.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ends_at: c.ends_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        }
    }

    async fn create(
        app: &App,
        scope: &Scope,
        form: &VoucherForm,
    ) -> Result<CampaignView, AppError> {
        let (draft, bad) = form.draft();
        app.create_voucher_campaign(scope, &draft)
            .await
            .map(|v| v.view)
            .map_err(|e| super::campaigns_rules::with_bad_numbers(e, bad))
    }

    async fn update(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        form: &VoucherForm,
    ) -> Result<CampaignView, AppError> {
        let (d, bad) = form.draft();
        let patch = VoucherCampaignPatch {
            name: Some(d.name),
            vault_ids: form.vault_ids.clone(),
            starts_at: Some(d.starts_at),
            ends_at: Some(d.ends_at),
            max_per_redeemer: Some(d.max_per_redeemer),
            paused: None,
        };
        app.update_voucher_campaign(scope, id.as_str(), patch)
            .await
            .map(|v| v.view)
            .map_err(|e| super::campaigns_rules::with_bad_numbers(e, bad))
    }

    async fn switch(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        on: bool,
    ) -> Result<CampaignView, AppError> {
        let patch = VoucherCampaignPatch {
            paused: Some(!on),
            ..Default::default()
        };
        app.update_voucher_campaign(scope, id.as_str(), patch)
            .await
            .map(|v| v.view)
    }

    async fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        form: &VoucherForm,
    ) -> Result<VoucherFormPage, PageError> {
        let scope = user.scope();
        let vaults = state
            .app
            .list_vaults(&scope, None, 500)
            .await?
            .into_iter()
            .map(|v| VaultChoice {
                label: format!(
                    "{} — {} {} ({}, {} available)",
                    v.vault.name,
                    v.vault.vendor,
                    v.vault.amount,
                    if v.vault.test { "test" } else { "live" },
                    v.stock.unique_available
                ),
                id: v.vault.id.to_string(),
            })
            .collect();
        let vault_ids = match (&form.vault_ids, parts.id.is_empty()) {
            (Some(ids), _) => ids.clone(),
            (None, true) => Vec::new(),
            (None, false) => state
                .app
                .voucher_campaign(&scope, &parts.id)
                .await?
                .vault_ids
                .iter()
                .map(|v| v.to_string())
                .collect(),
        };
        Ok(VoucherFormPage {
            parts,
            form: VoucherForm {
                vault_ids: Some(vault_ids),
                starts_at: to_local_input(&form.starts_at),
                ends_at: to_local_input(&form.ends_at),
                ..form.clone()
            },
            vaults,
        })
    }

    fn reward(_v: &CampaignView, _ctx: &Context) -> String {
        "a voucher from its vaults".to_string()
    }

    fn settings(v: &CampaignView, _ctx: &Context) -> Vec<(&'static str, String)> {
        let c = &v.campaign;
        vec![
            ("Gives", "a voucher from its linked vaults".to_string()),
            (
                "Vouchers per redeemer",
                c.max_per_lead
                    .map_or("no limit".to_string(), |n| n.to_string()),
            ),
            ("Schedule", schedule_words(v)),
            ("Paused", if c.active { "no" } else { "yes" }.to_string()),
        ]
    }

    fn plain_words(v: &CampaignView, _ctx: &Context, env_label: &str) -> Vec<String> {
        let c = &v.campaign;
        let s = schedule_words(v);
        vec![
            "Gives a voucher from its linked vaults to the customer an integration names."
                .to_string(),
            match c.max_per_lead {
                Some(1) => "At most one voucher per customer.".to_string(),
                Some(n) => format!("At most {n} vouchers per customer."),
                None => "No limit per customer.".to_string(),
            },
            format!("{}{}.", s[..1].to_uppercase(), &s[1..]),
            if env_label == "PROD" {
                "In PROD: live integrations award real vouchers.".to_string()
            } else {
                "In DEV: test data only.".to_string()
            },
        ]
    }

    fn not_yet_live(v: &CampaignView) -> Option<String> {
        super::campaigns_tasks::dates_stand_in_the_way(v).or_else(|| {
            (v.status == CampaignStatus::Pending && v.campaign.active).then(|| {
                "it also needs a linked vault and an integration with status live.".to_string()
            })
        })
    }

    fn actions(v: &CampaignView) -> Vec<Action> {
        vec![Action {
            label: "Integrations",
            href: format!("{LIST}/{}/integrations", v.campaign.id),
            copies: None,
        }]
    }
}

// ----- integrations -----

/// One integration as the page shows it.
pub struct IntegrationLine {
    pub id: String,
    pub name: String,
    pub status: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/voucher_integrations.html")]
struct IntegrationsPage {
    chrome: Chrome,
    campaign_id: String,
    campaign_name: String,
    integrations: Vec<IntegrationLine>,
    /// A new integration's id and secret, shown on this answer only.
    created: Option<(String, String)>,
    name: String,
    errors: FormErrors,
}

async fn integrations_page(
    state: &AppState,
    user: &ActiveMerchant,
    id: &CampaignId,
    created: Option<(String, String)>,
    name: String,
    errors: FormErrors,
) -> Result<IntegrationsPage, PageError> {
    let scope = user.scope();
    let campaign = state.app.voucher_campaign(&scope, id.as_str()).await?;
    let integrations = state
        .app
        .list_integrations(&scope, id.as_str())
        .await?
        .into_iter()
        .map(|i| IntegrationLine {
            id: i.id.to_string(),
            name: i.name,
            status: i.status.to_string(),
            created: short_time(i.created_at),
        })
        .collect();
    Ok(IntegrationsPage {
        chrome: Chrome::new(user, Nav::VoucherCampaigns),
        campaign_id: id.to_string(),
        campaign_name: campaign.view.campaign.name,
        integrations,
        created,
        name,
        errors,
    })
}

async fn integrations(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: CampaignId = path_id(&id, "voucher campaign")?;
    Ok(render(
        &integrations_page(&state, &user, &id, None, String::new(), FormErrors::none()).await?,
    ))
}

async fn add_integration(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, PageError> {
    let id: CampaignId = path_id(&id, "voucher campaign")?;
    let f = FormFields::parse(&raw);
    let name = f.get("name");
    let status = f.get("status");
    match state
        .app
        .create_integration(&user.scope(), id.as_str(), &name, Some(status.as_str()))
        .await
    {
        // The secret is on this answer only: it is kept as a hash.
        Ok(c) => Ok(render_with(
            StatusCode::CREATED,
            &integrations_page(
                &state,
                &user,
                &id,
                Some((c.integration.id.to_string(), c.secret)),
                String::new(),
                FormErrors::none(),
            )
            .await?,
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            Ok(render_with(
                status,
                &integrations_page(&state, &user, &id, None, name, errors).await?,
            ))
        }
    }
}

async fn change_integration(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, integration_id)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, PageError> {
    let id: CampaignId = path_id(&id, "voucher campaign")?;
    let status = FormFields::parse(&raw).get("status");
    let row = state
        .app
        .update_integration(
            &user.scope(),
            id.as_str(),
            &integration_id,
            None,
            Some(status.as_str()),
        )
        .await?;
    Ok(back_to(
        &state,
        &format!("{LIST}/{id}/integrations"),
        Flash::success(format!("{} is now {}.", row.name, row.status)),
    ))
}
