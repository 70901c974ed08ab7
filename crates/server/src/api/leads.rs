//! `/api/v1/leads`: the merchant's customers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use punchcard_app::ledger::{LeadPatch, NewLead, Scope};
use punchcard_domain::accounts::Email;
use punchcard_domain::ledger::{CustomerId, Mobile};
use punchcard_domain::text::parse_filter;
use punchcard_domain::{LeadId, ValidationErrors};
use punchcard_store::leads::{LeadFilter, LeadRow};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A lead: one of the merchant's customers, in one environment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lead {
    #[schema(example = "lead_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// The merchant's own id for the customer (4-64 characters, unique per environment).
    #[schema(example = "cust-1042")]
    pub customer_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// E.164, e.g. `+14155550123`.
    pub mobile: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    pub dob: Option<String>,
    pub env: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<LeadRow> for Lead {
    fn from(r: LeadRow) -> Self {
        Self {
            id: r.id.to_string(),
            customer_id: r.customer_id,
            name: r.name,
            email: r.email,
            mobile: r.mobile,
            country: r.country,
            dob: r.dob,
            env: r.env.as_str().to_string(),
            created_at: r.created_at.to_rfc3339(),
            updated_at: r.updated_at.to_rfc3339(),
        }
    }
}

/// A new lead: `customer_id` and `email` or `mobile` are required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLead {
    /// Your id for the customer: 4-64 characters, no control or invisible characters.
    #[serde(default)]
    #[schema(
        required = true,
        example = "cust-1042",
        min_length = 4,
        max_length = 64
    )]
    pub customer_id: String,
    /// Up to 120 characters.
    #[schema(max_length = 120)]
    pub name: Option<String>,
    #[schema(example = "ada@example.com", format = Email, max_length = 254)]
    pub email: Option<String>,
    /// E.164 (spaces, dashes, dots and parentheses are dropped).
    #[schema(example = "+14155550123", pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub mobile: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "GB", pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// Date of birth, `YYYY-MM-DD`, 1900 or later, not in the future.
    #[schema(example = "1990-12-10", format = Date)]
    pub dob: Option<String>,
}

/// Changes to a lead: a field left out is kept, `null` clears it (email or mobile must remain).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLead {
    #[schema(min_length = 4, max_length = 64)]
    pub customer_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub mobile: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z]{2}$")]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub dob: Option<Option<String>>,
}

/// A field that is present in the JSON (possibly `null`), as opposed to left out.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Filters of the lead list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadListParams {
    /// Exact customer id: finds the one lead with it.
    pub customer_id: Option<String>,
    /// Exact email (case-insensitive).
    pub email: Option<String>,
    /// Exact mobile (E.164).
    pub mobile: Option<String>,
    /// Substring of customer id, name, email or mobile.
    pub q: Option<String>,
}

impl LeadListParams {
    /// The filter as typed, for a search form: a value that cannot match any lead gives an
    /// empty list rather than an error.
    pub fn lenient_filter(&self) -> LeadFilter {
        let some = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        LeadFilter {
            customer_id: some(&self.customer_id),
            email: some(&self.email).map(|e| e.to_ascii_lowercase()),
            mobile: some(&self.mobile).map(|m| {
                m.chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                    .collect()
            }),
            query: some(&self.q),
        }
    }

    /// The filter, each value parsed as what it filters by (a customer id, an email, …).
    pub fn filter(&self) -> Result<LeadFilter, ValidationErrors> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let mut e = ValidationErrors::new();
        let customer_id = given(&self.customer_id)
            .and_then(|c| e.check(CustomerId::parse(c)))
            .map(|c| c.as_str().to_string());
        let email = given(&self.email)
            .and_then(|m| e.check(Email::parse(m)))
            .map(|m| m.as_str().to_string());
        let mobile = given(&self.mobile)
            .and_then(|m| e.check(Mobile::parse(m)))
            .map(|m| m.as_str().to_string());
        let query = e.check(parse_filter("q", self.q.as_deref(), 100)).flatten();
        e.into_result()?;
        Ok(LeadFilter {
            customer_id,
            email,
            mobile,
            query,
        })
    }
}

/// Creates a lead. In prod it burns one lead quota; dev holds at most 10 leads.
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads",
    request_body = CreateLead,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the lead", body = Lead),
        (status = 403, description = "`quota_exhausted`: the plan's lead quota is used up", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (also a customer id already in use) or `limit_reached`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_lead(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateLead>,
) -> Result<(StatusCode, Json<Lead>), ApiError> {
    let row = state
        .app
        .create_lead(
            &Scope::from(&caller),
            NewLead {
                customer_id: body.customer_id,
                name: body.name,
                email: body.email,
                mobile: body.mobile,
                country: body.country,
                dob: body.dob,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Lists leads; `?customer_id=` finds one.
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads",
    params(PageParams, LeadListParams),
    security(("basic" = [])),
    responses((status = 200, description = "a page of leads", body = Page<Lead>)))]
pub async fn list_leads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(params): ApiQuery<LeadListParams>,
) -> Result<Json<Page<Lead>>, ApiError> {
    let page = page.parse()?;
    let rows = state
        .app
        .list_leads(
            &Scope::from(&caller),
            &params.filter()?,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |r| r.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Lead::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Reads a lead.
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = String, Path, description = "lead id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the lead", body = Lead),
        (status = 404, description = "no such lead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_lead(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(
        state
            .app
            .lead(&Scope::from(&caller), id.as_str())
            .await?
            .into(),
    ))
}

/// Changes a lead's details.
#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = String, Path, description = "lead id")),
    request_body = UpdateLead,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the updated lead", body = Lead),
        (status = 404, description = "no such lead", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_lead(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<LeadId>,
    ApiJson(body): ApiJson<UpdateLead>,
) -> Result<Json<Lead>, ApiError> {
    let row = state
        .app
        .update_lead(
            &Scope::from(&caller),
            id.as_str(),
            LeadPatch {
                customer_id: body.customer_id,
                name: body.name,
                email: body.email,
                mobile: body.mobile,
                country: body.country,
                dob: body.dob,
            },
        )
        .await?;
    Ok(Json(row.into()))
}

/// Deletes a lead: its personal data is erased; its wallets and transactions stay so the
/// ledger still adds up, and its customer id can be used again.
#[utoipa::path(delete, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = String, Path, description = "lead id")),
    security(("basic" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such lead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_lead(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_lead(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
