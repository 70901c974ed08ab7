//! Surprises in the dashboard: a deal's coupon that a customer can claim on an occasion (a
//! date of the merchant's choosing, or the customer's birthday). Their form and words; the
//! pages come from `campaigns`, the claims show on the campaign page.

use askama::Template;
use axum::Router;
use punchcard_app::campaigns::surprises::{SurpriseDraft, SurprisePatch};
use punchcard_app::campaigns::CampaignView;
use punchcard_app::ledger::Scope;
use punchcard_app::{App, AppError};
use punchcard_domain::campaigns::{CampaignKind, Occasion};
use punchcard_domain::{CampaignId, FieldError};

use super::campaigns::{schedule_words, CampaignPage, Context, FormParts};
use super::campaigns_tasks::deal_of;
use super::chrome::{Nav, PageError};
use super::kit::{
    deal_options, from_local_input, live_deals, non_empty, to_local_input, DealOption, FormFields,
};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    super::campaigns::routes::<Surprises>()
}

/// The surprise kind of the campaign pages.
pub struct Surprises;

/// A surprise's form as typed.
#[derive(Debug, Clone, Default)]
pub struct SurpriseForm {
    pub name: String,
    /// `custom` or `lead_birthday`.
    pub occasion: String,
    /// `YYYY-MM-DD`, for a custom occasion.
    pub date: String,
    pub count: String,
    pub deal_id: String,
    pub starts_at: String,
    pub ends_at: String,
}

impl SurpriseForm {
    fn draft(&self) -> (SurpriseDraft, Vec<FieldError>) {
        let mut bad = Vec::new();
        let draft = SurpriseDraft {
            name: self.name.clone(),
            occasion: self.occasion.clone(),
            date: non_empty(&self.date),
            count: super::campaigns_rules::number("count", &self.count, &mut bad),
            deal_id: self.deal_id.clone(),
            starts_at: non_empty(&from_local_input(&self.starts_at)),
            ends_at: non_empty(&from_local_input(&self.ends_at)),
            // New surprises wait for the confirmation, as rules do.
            paused: true,
        };
        (draft, bad)
    }
}

fn occasion_words(v: &CampaignView) -> String {
    match (v.campaign.occasion, v.campaign.occasion_date) {
        (Some(Occasion::LeadBirthday), _) => "on the customer's birthday".to_string(),
        (_, Some(d)) => format!("on {d}"),
        _ => "on its occasion".to_string(),
    }
}

#[derive(Template)]
#[template(path = "dashboard/surprise_form.html")]
pub struct SurpriseFormPage {
    parts: FormParts,
    form: SurpriseForm,
    deals: Vec<DealOption>,
}
super::kind::page_parts!(SurpriseFormPage => FormParts);

impl CampaignPage for Surprises {
    const KIND: CampaignKind = CampaignKind::Surprise;
    const LIST: &'static str = "/dashboard/surprises";
    const NAV: Nav = Nav::Surprises;
    const TITLE: &'static str = "Surprise";
    const NOUN: &'static str = "surprise";
    const PLURAL: &'static str = "Surprises";
    const INTRO: &'static str = "A deal's coupon your customers can claim on an occasion: a \
        date you choose, or their birthday. Your server or app claims it for a customer through \
        the API, at most the set number of times per occasion.";
    const SWITCH: (&'static str, &'static str) = ("Start", "Pause");
    type Form = SurpriseForm;
    type FormPage = SurpriseFormPage;

    fn form_of(f: &FormFields) -> SurpriseForm {
        SurpriseForm {
            name: f.get("name"),
            occasion: f.get("type"),
            date: f.get("date"),
            count: f.get("count"),
            deal_id: f.get("deal_id"),
            starts_at: f.get("starts_at"),
            ends_at: f.get("ends_at"),
        }
    }

    fn form_of_saved(v: &CampaignView) -> SurpriseForm {
        let c = &v.campaign;
        SurpriseForm {
            name: c.name.clone(),
            occasion: c
                .occasion
                .map(|o| o.as_str().to_string())
                .unwrap_or_default(),
            date: c.occasion_date.map(|d| d.to_string()).unwrap_or_default(),
            count: c.count.map(|n| n.to_string()).unwrap_or_default(),
            deal_id: c
                .deal_id
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            starts_at: c.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ends_at: c.ends_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        }
    }

    async fn create(
        app: &App,
        scope: &Scope,
        form: &SurpriseForm,
    ) -> Result<CampaignView, AppError> {
        let (draft, bad) = form.draft();
        app.create_surprise(scope, &draft)
            .await
            .map_err(|e| super::campaigns_rules::with_bad_numbers(e, bad))
    }

    async fn update(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        form: &SurpriseForm,
    ) -> Result<CampaignView, AppError> {
        let (d, bad) = form.draft();
        let patch = SurprisePatch {
            name: Some(d.name),
            occasion: Some(d.occasion),
            date: Some(d.date),
            count: d.count,
            deal_id: Some(d.deal_id),
            starts_at: Some(d.starts_at),
            ends_at: Some(d.ends_at),
            paused: None,
        };
        app.update_surprise(scope, id.as_str(), patch)
            .await
            .map_err(|e| super::campaigns_rules::with_bad_numbers(e, bad))
    }

    async fn switch(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        on: bool,
    ) -> Result<CampaignView, AppError> {
        let patch = SurprisePatch {
            paused: Some(!on),
            ..Default::default()
        };
        app.update_surprise(scope, id.as_str(), patch).await
    }

    async fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        form: &SurpriseForm,
    ) -> Result<SurpriseFormPage, PageError> {
        let deals = live_deals(state, user).await?;
        Ok(SurpriseFormPage {
            parts,
            form: SurpriseForm {
                starts_at: to_local_input(&form.starts_at),
                ends_at: to_local_input(&form.ends_at),
                ..form.clone()
            },
            deals: deal_options(&deals),
        })
    }

    fn reward(v: &CampaignView, ctx: &Context) -> String {
        format!("a coupon of {} {}", deal_of(v, ctx), occasion_words(v))
    }

    fn settings(v: &CampaignView, ctx: &Context) -> Vec<(&'static str, String)> {
        let c = &v.campaign;
        vec![
            ("Gives", format!("a coupon of {}", deal_of(v, ctx))),
            ("Occasion", occasion_words(v)),
            (
                "Claims per customer and occasion",
                c.count.map_or("1".to_string(), |n| n.to_string()),
            ),
            ("Schedule", schedule_words(v)),
            ("Paused", if c.active { "no" } else { "yes" }.to_string()),
        ]
    }

    fn plain_words(v: &CampaignView, ctx: &Context, env_label: &str) -> Vec<String> {
        let c = &v.campaign;
        let count = c.count.unwrap_or(1);
        let s = schedule_words(v);
        vec![
            format!(
                "Gives a coupon of {} to a customer who claims it {}.",
                deal_of(v, ctx),
                occasion_words(v)
            ),
            if count == 1 {
                "At most once per customer and occasion.".to_string()
            } else {
                format!("At most {count} times per customer and occasion.")
            },
            format!("{}{}.", s[..1].to_uppercase(), &s[1..]),
            if env_label == "PROD" {
                "In PROD: it gives your real customers coupons.".to_string()
            } else {
                "In DEV: test data only.".to_string()
            },
        ]
    }

    fn not_yet_live(v: &CampaignView) -> Option<String> {
        super::campaigns_tasks::dates_stand_in_the_way(v)
    }
}
