//! Tasks in the dashboard: a lead completes one on its Nth activity (in each day, week or month
//! when it has a period) and gets points or a deal's coupon. Their form and words; the pages
//! come from `campaigns`, the activities with their progress show on the campaign page.

use askama::Template;
use axum::Router;
use punchcard_app::campaigns::tasks::{TaskDraft, TaskPatch};
use punchcard_app::campaigns::CampaignView;
use punchcard_app::ledger::Scope;
use punchcard_app::{App, AppError};
use punchcard_domain::campaigns::{CampaignKind, Period, TaskReward};
use punchcard_domain::{CampaignId, FieldError};

use super::campaigns::{schedule_words, CampaignPage, Context, FormParts};
use super::chrome::{Nav, PageError};
use super::kit::{
    deal_options, from_local_input, live_deals, non_empty, to_local_input, CurrencyOption,
    DealOption, FormFields,
};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    super::campaigns::routes::<Tasks>()
}

/// The task kind of the campaign pages.
pub struct Tasks;

/// A task's form as typed.
#[derive(Debug, Clone, Default)]
pub struct TaskForm {
    pub name: String,
    /// `points` or `deal`.
    pub reward: String,
    pub currency_id: String,
    pub count: String,
    pub min_reward: String,
    pub max_reward: String,
    pub deal_id: String,
    pub period: String,
    pub max_per_lead: String,
    pub budget: String,
    pub starts_at: String,
    pub ends_at: String,
}

impl TaskForm {
    fn draft(&self) -> (TaskDraft, Vec<FieldError>) {
        let mut bad = Vec::new();
        let n = super::campaigns_rules::number;
        let draft = TaskDraft {
            name: self.name.clone(),
            currency_id: non_empty(&self.currency_id),
            reward: self.reward.clone(),
            count: n("count", &self.count, &mut bad),
            min_reward: n("min_reward", &self.min_reward, &mut bad),
            max_reward: n("max_reward", &self.max_reward, &mut bad),
            deal_id: non_empty(&self.deal_id),
            period: non_empty(&self.period),
            max_per_lead: n("max_per_lead", &self.max_per_lead, &mut bad),
            budget: n("budget", &self.budget, &mut bad),
            starts_at: non_empty(&from_local_input(&self.starts_at)),
            ends_at: non_empty(&from_local_input(&self.ends_at)),
            // New tasks wait for the confirmation, as rules do.
            paused: true,
        };
        (draft, bad)
    }
}

fn period_words(p: Option<Period>) -> &'static str {
    match p {
        Some(Period::Day) => " each day",
        Some(Period::Week) => " each week",
        Some(Period::Month) => " each month",
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "dashboard/task_form.html")]
pub struct TaskFormPage {
    parts: FormParts,
    form: TaskForm,
    currencies: Vec<CurrencyOption>,
    deals: Vec<DealOption>,
}
super::kind::page_parts!(TaskFormPage => FormParts);

impl CampaignPage for Tasks {
    const KIND: CampaignKind = CampaignKind::Task;
    const LIST: &'static str = "/dashboard/tasks";
    const NAV: Nav = Nav::Tasks;
    const TITLE: &'static str = "Task";
    const NOUN: &'static str = "task";
    const PLURAL: &'static str = "Tasks";
    const INTRO: &'static str = "Reward customers for doing something a number of times: \
        your server records each activity through the API, and the activity that reaches the \
        count completes the task and gives points or a deal's coupon.";
    const SWITCH: (&'static str, &'static str) = ("Start", "Pause");
    type Form = TaskForm;
    type FormPage = TaskFormPage;

    fn form_of(f: &FormFields) -> TaskForm {
        TaskForm {
            name: f.get("name"),
            reward: f.get("reward"),
            currency_id: f.get("currency_id"),
            count: f.get("count"),
            min_reward: f.get("min_reward"),
            max_reward: f.get("max_reward"),
            deal_id: f.get("deal_id"),
            period: f.get("period"),
            max_per_lead: f.get("max_per_lead"),
            budget: f.get("budget"),
            starts_at: f.get("starts_at"),
            ends_at: f.get("ends_at"),
        }
    }

    fn form_of_saved(v: &CampaignView) -> TaskForm {
        let c = &v.campaign;
        let text = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        TaskForm {
            name: c.name.clone(),
            reward: c.reward.map(|r| r.as_str().to_string()).unwrap_or_default(),
            currency_id: c
                .currency_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            count: text(c.count),
            min_reward: text(c.min_reward),
            max_reward: text(c.max_reward),
            deal_id: c
                .deal_id
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            period: c.period.map(|p| p.as_str().to_string()).unwrap_or_default(),
            max_per_lead: text(c.max_per_lead),
            budget: text(c.budget),
            starts_at: c.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ends_at: c.ends_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        }
    }

    async fn create(app: &App, scope: &Scope, form: &TaskForm) -> Result<CampaignView, AppError> {
        let (draft, bad) = form.draft();
        app.create_task(scope, &draft)
            .await
            .map_err(|e| super::campaigns_rules::with_bad_numbers(e, bad))
    }

    async fn update(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        form: &TaskForm,
    ) -> Result<CampaignView, AppError> {
        let (d, bad) = form.draft();
        let patch = TaskPatch {
            name: Some(d.name),
            currency_id: Some(d.currency_id),
            reward: Some(d.reward),
            count: d.count,
            min_reward: Some(d.min_reward),
            max_reward: Some(d.max_reward),
            deal_id: Some(d.deal_id),
            period: Some(d.period.unwrap_or_else(|| "none".to_string())),
            max_per_lead: Some(d.max_per_lead),
            budget: Some(d.budget),
            starts_at: Some(d.starts_at),
            ends_at: Some(d.ends_at),
            paused: None,
        };
        app.update_task(scope, id.as_str(), patch)
            .await
            .map_err(|e| super::campaigns_rules::with_bad_numbers(e, bad))
    }

    async fn switch(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        on: bool,
    ) -> Result<CampaignView, AppError> {
        let patch = TaskPatch {
            paused: Some(!on),
            ..Default::default()
        };
        app.update_task(scope, id.as_str(), patch).await
    }

    async fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        form: &TaskForm,
    ) -> Result<TaskFormPage, PageError> {
        let ctx = Context::load(state, user).await?;
        let deals = live_deals(state, user).await?;
        Ok(TaskFormPage {
            parts,
            form: TaskForm {
                starts_at: to_local_input(&form.starts_at),
                ends_at: to_local_input(&form.ends_at),
                ..form.clone()
            },
            currencies: ctx.currencies.0.iter().map(CurrencyOption::named).collect(),
            deals: deal_options(&deals),
        })
    }

    fn reward(v: &CampaignView, ctx: &Context) -> String {
        let c = &v.campaign;
        let code = c
            .currency_id
            .as_ref()
            .map(|c| ctx.currencies.code(c.as_str()))
            .unwrap_or_default();
        let count = c.count.unwrap_or(1);
        let after = format!(
            "after {count} {}{}",
            if count == 1 { "activity" } else { "activities" },
            period_words(c.period)
        );
        match c.reward {
            Some(TaskReward::Deal) => format!("a coupon of {} {after}", deal_of(v, ctx)),
            _ => match (c.min_reward, c.max_reward) {
                (Some(min), Some(max)) if max != min => format!("{min}–{max} {code} {after}"),
                (Some(p), _) => format!("{p} {code} {after}"),
                _ => after,
            },
        }
    }

    fn settings(v: &CampaignView, ctx: &Context) -> Vec<(&'static str, String)> {
        let c = &v.campaign;
        let or_none = |n: Option<i64>, none: &str| n.map_or(none.to_string(), |n| n.to_string());
        vec![
            ("Reward", Self::reward(v, ctx)),
            ("Activities to complete", or_none(c.count, "1")),
            (
                "Counted",
                match c.period {
                    Some(Period::Day) => "per day",
                    Some(Period::Week) => "per week",
                    Some(Period::Month) => "per month",
                    _ => "in all",
                }
                .to_string(),
            ),
            ("Max per customer", or_none(c.max_per_lead, "no limit")),
            (
                "Budget",
                match c.budget {
                    Some(b) => format!("{} of {b} used", c.budget_used),
                    None => "no budget".to_string(),
                },
            ),
            ("Schedule", schedule_words(v)),
            (
                "Paused",
                if c.active {
                    "no".to_string()
                } else {
                    "yes".to_string()
                },
            ),
        ]
    }

    fn plain_words(v: &CampaignView, ctx: &Context, env_label: &str) -> Vec<String> {
        let c = &v.campaign;
        let mut words = vec![format!(
            "Gives {} to a customer on their activity number {}{}.",
            match c.reward {
                Some(TaskReward::Deal) => format!("a coupon of {}", deal_of(v, ctx)),
                _ => {
                    let code = c
                        .currency_id
                        .as_ref()
                        .map(|c| ctx.currencies.code(c.as_str()))
                        .unwrap_or_default();
                    match (c.min_reward, c.max_reward) {
                        (Some(min), Some(max)) if max != min => {
                            format!("a random {min} to {max} points ({code})")
                        }
                        (Some(p), _) => format!("{p} points ({code})"),
                        _ => "points".to_string(),
                    }
                }
            },
            c.count.unwrap_or(1),
            period_words(c.period),
        )];
        words.push(match c.max_per_lead {
            Some(n) => format!("At most {n} times per customer."),
            None => "As many times per customer as they complete it.".to_string(),
        });
        let s = schedule_words(v);
        words.push(format!("{}{}.", s[..1].to_uppercase(), &s[1..]));
        words.push(if env_label == "PROD" {
            "In PROD: it rewards your real customers.".to_string()
        } else {
            "In DEV: test data only.".to_string()
        });
        words
    }

    fn not_yet_live(v: &CampaignView) -> Option<String> {
        dates_stand_in_the_way(v)
    }
}

/// The name of the deal whose coupon a campaign gives.
pub(super) fn deal_of(v: &CampaignView, ctx: &Context) -> String {
    v.campaign
        .deal_id
        .as_ref()
        .map(|d| ctx.deal_name(d))
        .unwrap_or_default()
}

/// Why a campaign switched on is not live yet, if its dates say so.
pub(super) fn dates_stand_in_the_way(v: &CampaignView) -> Option<String> {
    let c = &v.campaign;
    let now = punchcard_domain::time::Timestamp::now();
    if c.ends_at.is_some_and(|e| e <= now) {
        return Some("its end date has passed, so it gives nothing.".to_string());
    }
    match c.starts_at {
        Some(s) if s > now => Some(format!(
            "it goes live at its start, {} (UTC).",
            super::campaigns::short_moment(Some(s))
        )),
        _ => None,
    }
}
