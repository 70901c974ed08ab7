//! `/api/v1/rules` and `/api/v1/campaigns`: API-triggered earn and redeem rules, and every
//! campaign of every kind with its computed status.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use punchcard_app::campaigns::{CampaignView, RuleDraft, RulePatch, Trigger, Triggered};
use punchcard_app::ledger::Scope;
use punchcard_domain::CampaignId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::catalog::{moment, nullable};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use super::wallets::WalletTransaction;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// What a merchant shares with the developer who integrates a rule (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct Share {
    pub name: String,
    pub id: String,
    /// `earn` or `redeem`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `dev` or `prod`.
    pub env: String,
    /// The URL the developer's server calls.
    #[schema(
        example = "https://loyalty.example/api/v1/rules/cmp_01jd3x1m2n3p4q5r6s7t8v9w0x/trigger"
    )]
    pub endpoint: String,
}

/// An API-triggered rule: earn or redeem points when an authorized key triggers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rule {
    #[schema(example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// Always `rule`.
    pub kind: String,
    pub name: String,
    /// `earn` or `redeem`.
    #[serde(rename = "type")]
    pub direction: String,
    pub currency_id: Option<String>,
    /// Fixed points per trigger, or null when the rule has a rate.
    pub points: Option<i64>,
    /// Points per unit of the trigger's `amount`, an exact decimal as a string.
    #[schema(example = "0.1")]
    pub rate: Option<String>,
    /// The most points one trigger moves (rate rules).
    pub cap_max: Option<i64>,
    pub max_per_lead: Option<i64>,
    /// The most points the rule moves in all.
    pub budget: Option<i64>,
    pub budget_used: i64,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// Switched on with `activate`.
    pub active: bool,
    /// `pending`, `live`, `completed` or `archived`, computed.
    #[schema(example = "live")]
    pub status: String,
    pub authorized_key_ids: Vec<String>,
    pub share: Share,
    pub created_at: String,
    pub updated_at: String,
}

fn rule(state: &AppState, env: &str, v: CampaignView) -> Rule {
    let c = v.campaign;
    let direction = c.direction.map(|d| d.to_string()).unwrap_or_default();
    Rule {
        share: Share {
            name: c.name.clone(),
            id: c.id.to_string(),
            kind: direction.clone(),
            env: env.to_string(),
            endpoint: format!("{}/api/v1/rules/{}/trigger", state.base_url, c.id),
        },
        id: c.id.to_string(),
        kind: c.kind.to_string(),
        name: c.name,
        direction,
        currency_id: c.currency_id.map(|c| c.to_string()),
        points: c.points,
        rate: c.rate.map(|r| r.to_string()),
        cap_max: c.cap_max,
        max_per_lead: c.max_per_lead,
        budget: c.budget,
        budget_used: c.budget_used,
        starts_at: moment(c.starts_at),
        ends_at: moment(c.ends_at),
        active: c.active,
        status: v.status.to_string(),
        authorized_key_ids: v.authorized_key_ids.iter().map(|k| k.to_string()).collect(),
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

/// A campaign of any kind, as the campaign list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Campaign {
    #[schema(example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// `task`, `surprise`, `rule` or `voucher`.
    pub kind: String,
    pub name: String,
    /// `pending`, `live`, `completed` or `archived`, computed.
    pub status: String,
    pub active: bool,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub max_per_lead: Option<i64>,
    pub budget: Option<i64>,
    pub budget_used: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CampaignView> for Campaign {
    fn from(v: CampaignView) -> Self {
        let c = v.campaign;
        Self {
            id: c.id.to_string(),
            kind: c.kind.to_string(),
            name: c.name,
            status: v.status.to_string(),
            active: c.active,
            starts_at: moment(c.starts_at),
            ends_at: moment(c.ends_at),
            max_per_lead: c.max_per_lead,
            budget: c.budget,
            budget_used: c.budget_used,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A rate as a JSON string (`"0.1"`) or number (`0.1`).
pub(crate) fn rate_text(v: Option<serde_json::Value>) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(punchcard_app::AppError::field(
            "rate",
            "must be a decimal, as a string or a number",
        )
        .into()),
    }
}

/// A new rule. It starts switched off (`pending`); activate it once it is right.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    #[schema(required = true, value_type = String, example = "Points per purchase", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// `earn` (credit points) or `redeem` (debit them).
    #[serde(rename = "type")]
    #[schema(required = true, value_type = String, example = "earn", pattern = "^(earn|redeem)$")]
    pub direction: Option<String>,
    #[schema(required = true, value_type = String, example = "cur_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub currency_id: Option<String>,
    /// Fixed points per trigger; give this or `rate`.
    #[schema(minimum = 1)]
    pub points: Option<i64>,
    /// Points per unit of the trigger's `amount`, rounded down: an exact decimal as a string
    /// (`"0.1"`) or a number; give this or `points`.
    #[schema(value_type = Option<String>, example = "0.1")]
    pub rate: Option<serde_json::Value>,
    /// The most points one trigger moves (with `rate`).
    #[schema(minimum = 1)]
    pub cap_max: Option<i64>,
    /// The most awards one lead gets from the rule.
    #[schema(minimum = 1)]
    pub max_per_lead: Option<i64>,
    /// The most points the rule moves in all.
    #[schema(minimum = 1)]
    pub budget: Option<i64>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// The API keys (of this environment) allowed to trigger the rule.
    pub authorized_key_ids: Option<Vec<String>>,
}

/// Changes to a rule: only the fields sent change; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub points: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub rate: Option<Option<serde_json::Value>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub cap_max: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_per_lead: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub budget: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    pub authorized_key_ids: Option<Vec<String>>,
}

/// A trigger: the lead (by id or customer id), the amount for a rate rule, and a retry key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTrigger {
    pub lead_id: Option<String>,
    pub customer_id: Option<String>,
    /// The amount the rate applies to (e.g. a purchase total in currency units).
    #[schema(minimum = 0)]
    pub amount: Option<i64>,
    /// A retry key: a repeat answers the first answer.
    #[schema(required = true, value_type = String, example = "order-1042")]
    pub hash: Option<String>,
}

/// What a trigger did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerResult {
    #[schema(example = "cmi_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub interaction_id: String,
    /// `awarded`.
    pub outcome: String,
    /// Signed points moved.
    pub points: i64,
    pub wallet_transaction: Option<WalletTransaction>,
}

impl From<Triggered> for TriggerResult {
    fn from(t: Triggered) -> Self {
        Self {
            interaction_id: t.interaction.id.to_string(),
            outcome: t.interaction.outcome.as_str().to_string(),
            points: t.interaction.points,
            wallet_transaction: t.transaction.map(WalletTransaction::from),
        }
    }
}

/// Filters of the campaign list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignFilters {
    /// `task`, `surprise`, `rule` or `voucher`.
    #[param(pattern = "^(task|surprise|rule|voucher)$")]
    pub kind: Option<String>,
    /// `pending`, `live`, `completed` or `archived`; archived campaigns only when asked.
    #[param(pattern = "^(pending|live|completed|archived)$")]
    pub status: Option<String>,
}

/// Filters of the rule list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleFilters {
    /// `pending`, `live`, `completed` or `archived`; archived rules only when asked.
    #[param(pattern = "^(pending|live|completed|archived)$")]
    pub status: Option<String>,
}

/// Creates a rule (switched off).
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules",
    request_body = NewRule,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the rule", body = Rule),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewRule>,
) -> Result<(StatusCode, Json<Rule>), ApiError> {
    let draft = RuleDraft {
        name: body.name.unwrap_or_default(),
        direction: body.direction.unwrap_or_default(),
        currency_id: body.currency_id.unwrap_or_default(),
        points: body.points,
        rate: rate_text(body.rate)?,
        cap_max: body.cap_max,
        max_per_lead: body.max_per_lead,
        budget: body.budget,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        authorized_key_ids: body.authorized_key_ids.unwrap_or_default(),
    };
    let view = state.app.create_rule(&Scope::from(&caller), &draft).await?;
    Ok((
        StatusCode::CREATED,
        Json(rule(&state, caller.env.as_str(), view)),
    ))
}

/// Lists the environment's rules in creation order.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules",
    params(PageParams, RuleFilters),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of rules", body = Page<Rule>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_rules(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<RuleFilters>,
) -> Result<Json<Page<Rule>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_campaigns(
            &Scope::from(&caller),
            Some("rule"),
            filters.status.as_deref(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| v.campaign.id.to_string());
    Ok(Json(Page {
        data: page
            .data
            .into_iter()
            .map(|v| rule(&state, caller.env.as_str(), v))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One rule.
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path, description = "the rule id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the rule", body = Rule),
        (status = 404, description = "no such rule in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<Rule>, ApiError> {
    let view = state.app.rule(&Scope::from(&caller), id.as_str()).await?;
    Ok(Json(rule(&state, caller.env.as_str(), view)))
}

/// Changes a rule.
#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path, description = "the rule id")),
    request_body = RuleChanges,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the changed rule", body = Rule),
        (status = 404, description = "no such rule in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
    ApiJson(body): ApiJson<RuleChanges>,
) -> Result<Json<Rule>, ApiError> {
    let rate = match body.rate {
        None => None,
        Some(v) => Some(rate_text(v)?),
    };
    let patch = RulePatch {
        name: body.name,
        points: body.points,
        rate,
        cap_max: body.cap_max,
        max_per_lead: body.max_per_lead,
        budget: body.budget,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        authorized_key_ids: body.authorized_key_ids,
    };
    let view = state
        .app
        .update_rule(&Scope::from(&caller), id.as_str(), patch)
        .await?;
    Ok(Json(rule(&state, caller.env.as_str(), view)))
}

/// Activates a rule: it goes live within its dates once it has an authorized key. Active
/// campaigns of every kind are capped: 10 in dev, 100 in prod.
#[utoipa::path(post, path = "/api/v1/rules/{id}/activate", tag = "rules",
    params(("id" = String, Path, description = "the rule id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the rule", body = Rule),
        (status = 404, description = "no such rule in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the active-campaign cap reached (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn activate_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<Rule>, ApiError> {
    let view = state
        .app
        .set_rule_active(&Scope::from(&caller), id.as_str(), true)
        .await?;
    Ok(Json(rule(&state, caller.env.as_str(), view)))
}

/// Deactivates a rule: it stops awarding and turns `pending`.
#[utoipa::path(post, path = "/api/v1/rules/{id}/deactivate", tag = "rules",
    params(("id" = String, Path, description = "the rule id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the rule", body = Rule),
        (status = 404, description = "no such rule in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deactivate_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<Rule>, ApiError> {
    let view = state
        .app
        .set_rule_active(&Scope::from(&caller), id.as_str(), false)
        .await?;
    Ok(Json(rule(&state, caller.env.as_str(), view)))
}

/// Triggers a rule: an earn rule credits `points`, or `floor(amount × rate)` at most
/// `cap_max`; a redeem rule debits likewise. Only the rule's authorized keys may trigger it;
/// the key's callback URL (if any) approves the move first. A repeated `hash` answers the
/// first answer.
#[utoipa::path(post, path = "/api/v1/rules/{id}/trigger", tag = "rules",
    params(("id" = String, Path, description = "the rule id")),
    request_body = NewTrigger,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the award and its wallet transaction (a repeat of the same hash and body answers the first award, with `Idempotent-Replayed: true`)", body = TriggerResult),
        (status = 403, description = "this key may not trigger the rule (`not_authorized`) or the plan's quota is used up (`quota_exhausted`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such rule in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the wallet holds too few points for a redeem rule (`insufficient_balance`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`), the rule is not live (`campaign_not_live`), its budget or per-lead limit is reached (`limit_reached`), the callback refused (`callback_rejected`) or the hash was used for another trigger (`idempotency_mismatch`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn trigger_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
    ApiJson(body): ApiJson<NewTrigger>,
) -> Result<Response, ApiError> {
    let trigger = Trigger {
        lead_id: body.lead_id,
        customer_id: body.customer_id,
        amount: body.amount,
        hash: body.hash.unwrap_or_default(),
    };
    let done = state
        .app
        .trigger_rule(&caller, id.as_str(), &trigger)
        .await?;
    let replayed = done.replayed;
    let mut res = (StatusCode::CREATED, Json(TriggerResult::from(done))).into_response();
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// Lists campaigns of every kind with their computed status, in creation order; archived
/// ones only with `status=archived`.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    params(PageParams, CampaignFilters),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of campaigns", body = Page<Campaign>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<CampaignFilters>,
) -> Result<Json<Page<Campaign>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_campaigns(
            &Scope::from(&caller),
            filters.kind.as_deref(),
            filters.status.as_deref(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| v.campaign.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Campaign::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One trigger of a campaign, whatever its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Interaction {
    #[schema(example = "cmi_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub campaign_id: String,
    /// The API key (or, for a voucher award, the integration) that triggered it.
    pub source_id: Option<String>,
    pub lead_id: Option<String>,
    /// The amount the trigger reported.
    pub amount: Option<i64>,
    /// Signed points moved; 0 when nothing was awarded.
    pub points: i64,
    /// `awarded` (for a task, every counted activity; the completing one carries the reward),
    /// `out_of_vouchers`, `error` (refused: see `error_code`) or `exception` (the server failed).
    pub outcome: String,
    /// The stable code of the refusal, e.g. `insufficient_balance`.
    pub error_code: Option<String>,
    pub hash: Option<String>,
    pub wallet_transaction_id: Option<String>,
    /// The coupon a deal reward issued (tasks, surprises).
    pub coupon_id: Option<String>,
    /// Voucher awards: the redeemer the request named.
    pub redeemer: Option<InteractionRedeemer>,
    /// Voucher awards: the vendor asked for (`amount` holds the amount asked for).
    pub vendor: Option<String>,
    /// Voucher awards: the vault the voucher came from.
    pub vault_id: Option<String>,
    pub created_at: String,
}

/// The redeemer of a voucher award, as the request named them.
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionRedeemer {
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub customer_id: Option<String>,
    pub name: Option<String>,
}

impl From<punchcard_store::campaigns::InteractionRow> for Interaction {
    fn from(i: punchcard_store::campaigns::InteractionRow) -> Self {
        Self {
            id: i.id.to_string(),
            campaign_id: i.campaign_id.to_string(),
            source_id: i.source_id,
            lead_id: i.lead_id.map(|l| l.to_string()),
            amount: i.amount,
            points: i.points,
            outcome: i.outcome.as_str().to_string(),
            error_code: i.error_code,
            hash: i.hash,
            wallet_transaction_id: i.wallet_transaction_id,
            coupon_id: i.coupon_id,
            redeemer: [
                &i.redeemer_email,
                &i.redeemer_mobile,
                &i.redeemer_customer_id,
                &i.redeemer_name,
            ]
            .iter()
            .any(|v| v.is_some())
            .then(|| InteractionRedeemer {
                email: i.redeemer_email.clone(),
                mobile: i.redeemer_mobile.clone(),
                customer_id: i.redeemer_customer_id.clone(),
                name: i.redeemer_name.clone(),
            }),
            vendor: i.vendor,
            vault_id: i.vault_id,
            created_at: i.created_at.to_rfc3339(),
        }
    }
}

/// Filters of a campaign's interactions.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionFilters {
    /// `awarded`, `out_of_vouchers`, `error` or `exception`.
    #[param(pattern = "^(awarded|out_of_vouchers|error|exception)$")]
    pub outcome: Option<String>,
    /// Part of the lead's email, mobile, customer id or name (any case), at most 100
    /// characters.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

/// A campaign's interactions, newest first: every trigger, whatever its outcome.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/interactions", tag = "campaigns",
    params(("id" = String, Path, description = "the campaign id"), PageParams, InteractionFilters),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of interactions, newest first", body = Page<Interaction>),
        (status = 404, description = "no such campaign in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_interactions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<InteractionFilters>,
) -> Result<Json<Page<Interaction>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_interactions(
            &Scope::from(&caller),
            id.as_str(),
            filters.outcome.as_deref(),
            filters.q.as_deref(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |i| i.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Interaction::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
