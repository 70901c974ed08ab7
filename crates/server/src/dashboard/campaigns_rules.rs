//! Rules (API-triggered earn and redeem rules) in the dashboard: their form, their words, and
//! sharing a rule's id with the developer who integrates it (copied, or sent by email, never
//! with a secret). The pages themselves come from `campaigns`.

use askama::Template;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::campaigns::{CampaignView, RuleDraft, RulePatch};
use punchcard_app::ledger::Scope;
use punchcard_app::{App, AppError};
use punchcard_domain::accounts::Email;
use punchcard_domain::campaigns::{CampaignKind, Direction};
use punchcard_domain::{CampaignId, Env, FieldError};

use super::campaigns::{schedule_words, Action, CampaignPage, Context, FormParts};
use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, non_empty, path_id, to_local_input, CurrencyOption, FormFields};
use super::session::ActiveMerchant;
use crate::mail::Mail;
use crate::state::AppState;

/// The rule pages, and sharing a rule.
pub fn routes() -> Router<AppState> {
    super::campaigns::routes::<Rules>().route(
        "/dashboard/rules/{id}/share",
        get(share_page).post(share_by_email),
    )
}

/// The rule kind of the campaign pages.
pub struct Rules;

/// A rule's form as typed.
#[derive(Debug, Clone, Default)]
pub struct RuleForm {
    pub name: String,
    /// `earn` or `redeem`.
    pub direction: String,
    pub currency_id: String,
    pub points: String,
    pub rate: String,
    pub cap_max: String,
    pub max_per_lead: String,
    pub budget: String,
    /// As `datetime-local` inputs hold them (UTC).
    pub starts_at: String,
    pub ends_at: String,
    pub key_ids: Vec<String>,
}

/// A whole number as typed: empty is none; anything else that is not a number is kept as an
/// error of its field, and stands in the draft as 0, which the campaign's checks refuse on that
/// same field, so every field's error is shown at once and nothing is written.
pub(super) fn number(field: &str, raw: &str, bad: &mut Vec<FieldError>) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            bad.push(FieldError::new(field, "must be a whole number"));
            Some(0)
        }
    }
}

impl RuleForm {
    /// The draft the rule's use cases check, and the numbers that did not parse.
    fn draft(&self) -> (RuleDraft, Vec<FieldError>) {
        let mut bad = Vec::new();
        let draft = RuleDraft {
            name: self.name.clone(),
            direction: self.direction.clone(),
            currency_id: self.currency_id.clone(),
            points: number("points", &self.points, &mut bad),
            rate: non_empty(&self.rate),
            cap_max: number("cap_max", &self.cap_max, &mut bad),
            max_per_lead: number("max_per_lead", &self.max_per_lead, &mut bad),
            budget: number("budget", &self.budget, &mut bad),
            starts_at: non_empty(&super::kit::from_local_input(&self.starts_at)),
            ends_at: non_empty(&super::kit::from_local_input(&self.ends_at)),
            authorized_key_ids: self.key_ids.clone(),
        };
        (draft, bad)
    }
}

/// A refusal with the numbers that did not parse named in our words.
pub(super) fn with_bad_numbers(e: AppError, bad: Vec<FieldError>) -> AppError {
    if bad.is_empty() {
        return e;
    }
    match e {
        AppError::Validation(mut v) => {
            v.0.retain(|f| !bad.iter().any(|b| b.field == f.field));
            v.0.extend(bad);
            AppError::Validation(v)
        }
        other => other,
    }
}

/// `Earn Points` or `Redeem Points`.
pub fn type_label(d: Option<Direction>) -> &'static str {
    match d {
        Some(Direction::Redeem) => "Redeem Points",
        _ => "Earn Points",
    }
}

fn env_words(env: Env) -> &'static str {
    match env {
        Env::Dev => "DEV (test data)",
        Env::Prod => "PROD (live)",
    }
}

/// One API key as a checkbox.
pub struct KeyChoice {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "dashboard/rule_form.html")]
pub struct RuleFormPage {
    parts: FormParts,
    form: RuleForm,
    currencies: Vec<CurrencyOption>,
    keys: Vec<KeyChoice>,
    /// The type and currency of a saved rule cannot change.
    fixed: Option<(String, String)>,
}
super::kind::page_parts!(RuleFormPage => FormParts);

impl CampaignPage for Rules {
    const KIND: CampaignKind = CampaignKind::Rule;
    const LIST: &'static str = "/dashboard/rules";
    const NAV: Nav = Nav::Rules;
    const TITLE: &'static str = "Rule";
    const NOUN: &'static str = "rule";
    const PLURAL: &'static str = "Rules";
    const INTRO: &'static str = "Earn and redeem rules that your developers trigger through the \
        API, for example on a purchase: each trigger credits or debits a customer's points under \
        the rule's limits. A rule starts switched off; activate it once it is right, then share \
        its id with the developer who integrates it.";
    type Form = RuleForm;
    type FormPage = RuleFormPage;

    fn form_of(f: &FormFields) -> RuleForm {
        RuleForm {
            name: f.get("name"),
            direction: f.get("type"),
            currency_id: f.get("currency_id"),
            points: f.get("points"),
            rate: f.get("rate"),
            cap_max: f.get("cap_max"),
            max_per_lead: f.get("max_per_lead"),
            budget: f.get("budget"),
            starts_at: f.get("starts_at"),
            ends_at: f.get("ends_at"),
            key_ids: f.all("authorized_key_ids"),
        }
    }

    fn form_of_saved(v: &CampaignView) -> RuleForm {
        let c = &v.campaign;
        let text = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        RuleForm {
            name: c.name.clone(),
            direction: c.direction.map(|d| d.to_string()).unwrap_or_default(),
            currency_id: c
                .currency_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            points: text(c.points),
            rate: c.rate.map(|r| r.to_string()).unwrap_or_default(),
            cap_max: text(c.cap_max),
            max_per_lead: text(c.max_per_lead),
            budget: text(c.budget),
            starts_at: c.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ends_at: c.ends_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            key_ids: v.authorized_key_ids.iter().map(|k| k.to_string()).collect(),
        }
    }

    async fn create(app: &App, scope: &Scope, form: &RuleForm) -> Result<CampaignView, AppError> {
        let (draft, bad) = form.draft();
        app.create_rule(scope, &draft)
            .await
            .map_err(|e| with_bad_numbers(e, bad))
    }

    async fn update(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        form: &RuleForm,
    ) -> Result<CampaignView, AppError> {
        let (d, bad) = form.draft();
        let patch = RulePatch {
            name: Some(d.name),
            points: Some(d.points),
            rate: Some(d.rate),
            cap_max: Some(d.cap_max),
            max_per_lead: Some(d.max_per_lead),
            budget: Some(d.budget),
            starts_at: Some(d.starts_at),
            ends_at: Some(d.ends_at),
            authorized_key_ids: Some(d.authorized_key_ids),
        };
        app.update_rule(scope, id.as_str(), patch)
            .await
            .map_err(|e| with_bad_numbers(e, bad))
    }

    async fn switch(
        app: &App,
        scope: &Scope,
        id: &CampaignId,
        on: bool,
    ) -> Result<CampaignView, AppError> {
        app.set_rule_active(scope, id.as_str(), on).await
    }

    async fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        form: &RuleForm,
    ) -> Result<RuleFormPage, PageError> {
        let ctx = Context::load(state, user).await?;
        let mut keys: Vec<KeyChoice> = ctx
            .live_keys()
            .map(|k| KeyChoice {
                id: k.id.to_string(),
                name: k.name.clone(),
                checked: form.key_ids.iter().any(|c| c == k.id.as_str()),
            })
            .collect();
        // A key authorized before it was revoked stays shown, so saving does not drop it
        // silently (the rule's checks refuse it, with its name).
        for id in &form.key_ids {
            if !keys.iter().any(|k| &k.id == id) {
                keys.push(KeyChoice {
                    id: id.clone(),
                    name: ctx.key_label(id),
                    checked: true,
                });
            }
        }
        let fixed = (!parts.id.is_empty()).then(|| {
            let direction = form.direction.parse::<Direction>().ok();
            (
                type_label(direction).to_string(),
                ctx.currencies.code(&form.currency_id),
            )
        });
        Ok(RuleFormPage {
            parts,
            form: RuleForm {
                starts_at: to_local_input(&form.starts_at),
                ends_at: to_local_input(&form.ends_at),
                ..form.clone()
            },
            currencies: ctx.currencies.0.iter().map(CurrencyOption::named).collect(),
            keys,
            fixed,
        })
    }

    fn reward(v: &CampaignView, ctx: &Context) -> String {
        let c = &v.campaign;
        let code = currency_code(v, ctx);
        let sign = match c.direction {
            Some(Direction::Redeem) => "−",
            _ => "+",
        };
        match (c.points, c.rate) {
            (Some(p), _) => format!("{sign}{p} {code}"),
            (None, Some(r)) => match c.cap_max {
                Some(cap) => format!("{sign}{r} {code} per unit, at most {cap}"),
                None => format!("{sign}{r} {code} per unit"),
            },
            (None, None) => String::new(),
        }
    }

    fn settings(v: &CampaignView, ctx: &Context) -> Vec<(&'static str, String)> {
        let c = &v.campaign;
        let code = currency_code(v, ctx);
        let or_none = |n: Option<i64>, none: &str| n.map_or(none.to_string(), |n| n.to_string());
        let mut rows = vec![
            ("Type", type_label(c.direction).to_string()),
            ("Currency", code.clone()),
        ];
        match (c.points, c.rate) {
            (Some(p), _) => rows.push(("Points per trigger", p.to_string())),
            (None, Some(r)) => {
                rows.push(("Rate", format!("{r} {code} per unit of amount")));
                rows.push(("Cap max per trigger", or_none(c.cap_max, "none")));
            }
            (None, None) => {}
        }
        rows.push(("Max per customer", or_none(c.max_per_lead, "no limit")));
        rows.push((
            "Budget",
            match c.budget {
                Some(b) => format!("{} of {b} points used", c.budget_used),
                None => format!("no budget ({} points moved)", c.budget_used),
            },
        ));
        rows.push(("Schedule", schedule_words(v)));
        rows.push((
            "Authorized API keys",
            if v.authorized_key_ids.is_empty() {
                "none yet".to_string()
            } else {
                v.authorized_key_ids
                    .iter()
                    .map(|k| ctx.key_label(k.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ));
        rows
    }

    fn plain_words(v: &CampaignView, ctx: &Context, env_label: &str) -> Vec<String> {
        let c = &v.campaign;
        let code = currency_code(v, ctx);
        let redeem = c.direction == Some(Direction::Redeem);
        let (verb, place) = if redeem {
            ("Debits", "from")
        } else {
            ("Credits", "to")
        };
        let mut words = Vec::new();
        words.push(match (c.points, c.rate) {
            (Some(p), _) => {
                format!("{verb} {p} points ({code}) {place} the customer's wallet per trigger.")
            }
            (None, Some(r)) => {
                let cap = c
                    .cap_max
                    .map(|cap| format!(", at most {cap} points per trigger"))
                    .unwrap_or_default();
                format!(
                    "{verb} {r} points ({code}) per unit of the amount each trigger reports, \
                     rounded down{cap}, {place} the customer's wallet."
                )
            }
            (None, None) => "Moves no points: it has neither points nor a rate.".to_string(),
        });
        if redeem {
            words.push("A wallet holding fewer points is refused, and nothing moves.".to_string());
        }
        words.push(match c.max_per_lead {
            Some(1) => "At most once per customer.".to_string(),
            Some(n) => format!("At most {n} times per customer."),
            None => "As many times per customer as it is triggered.".to_string(),
        });
        words.push(match c.budget {
            Some(b) => format!(
                "At most {b} points in all ({} used so far); then it refuses further triggers.",
                c.budget_used
            ),
            None => "No total budget: it moves points for as long as it is live.".to_string(),
        });
        let schedule = schedule_words(v);
        let mut chars = schedule.chars();
        let schedule = match chars.next() {
            Some(f) => f.to_uppercase().chain(chars).collect::<String>(),
            None => schedule,
        };
        words.push(format!("{schedule}."));
        words.push(if v.authorized_key_ids.is_empty() {
            "No API key may trigger it yet: it stays pending until you authorize one.".to_string()
        } else {
            format!(
                "Callable by the API keys {}.",
                v.authorized_key_ids
                    .iter()
                    .map(|k| ctx.key_label(k.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        words.push(if env_label == "PROD" {
            "In PROD: it moves your customers' real points.".to_string()
        } else {
            "In DEV: test data only; nothing reaches your customers.".to_string()
        });
        words
    }

    fn not_yet_live(v: &CampaignView) -> Option<String> {
        let c = &v.campaign;
        let now = punchcard_domain::time::Timestamp::now();
        if c.ends_at.is_some_and(|e| e <= now) {
            return Some("its end date has passed, so it awards nothing.".to_string());
        }
        if v.authorized_key_ids.is_empty() {
            return Some("no API key is authorized to trigger it; edit it to add one.".to_string());
        }
        match c.starts_at {
            Some(s) if s > now => Some(format!(
                "it goes live at its start, {} (UTC).",
                super::campaigns::short_moment(Some(s))
            )),
            _ => None,
        }
    }

    fn actions(v: &CampaignView) -> Vec<Action> {
        let id = v.campaign.id.to_string();
        vec![Action {
            label: "Share rule ID",
            href: format!("/dashboard/rules/{id}/share"),
            copies: Some(id),
        }]
    }
}

fn currency_code(v: &CampaignView, ctx: &Context) -> String {
    v.campaign
        .currency_id
        .as_ref()
        .map(|c| ctx.currencies.code(c.as_str()))
        .unwrap_or_default()
}

// ----- sharing a rule with its developer -----

/// What a developer needs to integrate a rule; never a secret.
pub struct Shared {
    pub name: String,
    pub id: String,
    pub kind: &'static str,
    pub env: &'static str,
    pub endpoint: String,
    pub guide: String,
    /// The guide's section on rules.
    pub section: &'static str,
    pub reference: String,
}

impl Shared {
    fn of(state: &AppState, v: &CampaignView, env: Env) -> Self {
        let base = state.base_url.trim_end_matches('/');
        Self {
            name: v.campaign.name.clone(),
            id: v.campaign.id.to_string(),
            kind: type_label(v.campaign.direction),
            env: env_words(env),
            endpoint: format!("{base}/api/v1/rules/{}/trigger", v.campaign.id),
            guide: format!("{base}{}", crate::api::GUIDE_PATH),
            section: crate::api::GUIDE_SECTION,
            reference: format!("{base}/api/docs"),
        }
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ShareQuery {
    /// Set by our script once it copied the id.
    pub copied: String,
}

#[derive(Template)]
#[template(path = "dashboard/rule_share.html")]
pub struct SharePage {
    chrome: Chrome,
    shared: Shared,
    copied: bool,
    to: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "mail/rule_share.txt")]
struct ShareMail<'a> {
    shared: &'a Shared,
    merchant_name: &'a str,
    sender: &'a str,
}

async fn rule_of(
    state: &AppState,
    user: &ActiveMerchant,
    raw: &str,
) -> Result<CampaignView, PageError> {
    let id: CampaignId = path_id(raw, "rule")?;
    Ok(state.app.rule(&user.scope(), id.as_str()).await?)
}

async fn share_page(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Query(q): Query<ShareQuery>,
) -> Result<Response, PageError> {
    let v = rule_of(&state, &user, &id).await?;
    Ok(render(&SharePage {
        chrome: Chrome::new(&user, Nav::Rules),
        shared: Shared::of(&state, &v, user.env),
        copied: q.copied == "1",
        to: String::new(),
        errors: FormErrors::none(),
    }))
}

async fn share_by_email(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let v = rule_of(&state, &user, &id).await?;
    let shared = Shared::of(&state, &v, user.env);
    let to = FormFields::parse(&body).get("to").trim().to_string();
    let email = match Email::parse(&to) {
        Ok(e) => e,
        Err(e) => {
            return Ok(render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SharePage {
                    chrome: Chrome::new(&user, Nav::Rules),
                    shared,
                    copied: false,
                    to,
                    errors: FormErrors::from(punchcard_domain::ValidationErrors(vec![
                        FieldError::new("to", e.message),
                    ])),
                },
            ))
        }
    };
    let body = ShareMail {
        shared: &shared,
        merchant_name: &user.merchant.name,
        sender: user.member.email.as_str(),
    }
    .render()
    .map_err(AppError::internal)?;
    let mail = Mail {
        to: email.as_str().to_string(),
        subject: format!("Rule to integrate: {} ({})", shared.name, shared.env),
        body,
    };
    let back = format!("/dashboard/rules/{}/share", shared.id);
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, "could not send a rule's details");
        return Ok(back_to(
            &state,
            &back,
            Flash::error("The email could not be sent; try again in a moment."),
        ));
    }
    Ok(back_to(
        &state,
        &back,
        Flash::success(format!("Sent the rule's details to {}.", email.as_str())),
    ))
}
