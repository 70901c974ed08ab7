//! The signed tokens QR codes carry and the member-page links: a lead's ID token, resolving a
//! scanned token, and a new member-page link.

use axum::extract::State;
use axum::Json;
use punchcard_app::ledger::Scope;
use punchcard_app::tokens::Resolved;
use punchcard_domain::LeadId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::coupons::{answered, Coupon};
use super::extract::{ApiJson, ApiPath};
use super::leads::Lead;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A signed token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    /// Draw it as a QR code; it names its merchant and environment and only they can read it.
    #[schema(
        example = "pc1.l.mer_01jd3x1m2n3p4q5r6s7t8v9w0x.p.lead_01jd3x1m2n3p4q5r6s7t8v9w0x.0.k1a2b3c4d5.q1Xb0aZ9kq3vV5nT2mYw8A"
    )]
    pub token: String,
}

/// The token a lead's ID QR carries (the member page shows it; staff scan it).
#[utoipa::path(get, path = "/api/v1/leads/{id}/id_token", tag = "leads",
    params(("id" = String, Path, description = "lead id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the lead's ID token", body = TokenAnswer),
        (status = 404, description = "no such lead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn id_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<TokenAnswer>, ApiError> {
    let token = state
        .app
        .lead_id_token(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(TokenAnswer { token }))
}

/// A scanned token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveToken {
    #[serde(default)]
    #[schema(required = true)]
    pub token: String,
}

/// What a scanned token stands for: `{kind: lead, lead}`, `{kind: coupon, coupon}`,
/// `{kind: claim, claim}` (a code displayed at a counter for a lead to claim) or
/// `{kind: join, store_id}` (a store's join code).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedAnswer {
    /// `lead`, `coupon`, `claim` or `join`.
    #[schema(example = "coupon")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead: Option<Lead>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<Coupon>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimAnswer>,
    /// For a join code: the store it names, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

impl ResolvedAnswer {
    fn of(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            lead: None,
            coupon: None,
            claim: None,
            store_id: None,
        }
    }
}

/// A code displayed at a counter: what it gives and whether it was claimed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimAnswer {
    #[schema(example = "clm_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// What it gives, in words.
    #[schema(example = "50 points (Coffee stamp)")]
    pub gives: String,
    /// `open`, `claimed` or `expired`.
    #[schema(example = "open")]
    pub status: String,
    pub store_id: Option<String>,
    pub grant_id: Option<String>,
    pub deal_id: Option<String>,
    /// The lead that claimed it.
    pub lead_id: Option<String>,
    pub expires_at: String,
    pub claimed_at: Option<String>,
}

/// Reads a scanned QR token. A forged, truncated or expired token, or another merchant's or
/// environment's, is 422 `invalid_token`.
#[utoipa::path(post, path = "/api/v1/qr/resolve", tag = "coupons",
    request_body = ResolveToken,
    security(("basic" = [])),
    responses(
        (status = 200, description = "what the token stands for", body = ResolvedAnswer),
        (status = 422, description = "`invalid_token` or `validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resolve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ResolveToken>,
) -> Result<Json<ResolvedAnswer>, ApiError> {
    let answer = match state
        .app
        .resolve_token(&Scope::from(&caller), &body.token)
        .await?
    {
        Resolved::Lead(l) => ResolvedAnswer {
            lead: Some(l.into()),
            ..ResolvedAnswer::of("lead")
        },
        Resolved::Coupon(c) => ResolvedAnswer {
            coupon: Some(answered(&state, c).await?),
            ..ResolvedAnswer::of("coupon")
        },
        Resolved::Claim(v) => {
            let status = v
                .status(punchcard_domain::time::Timestamp::now())
                .to_string();
            let c = v.claim;
            ResolvedAnswer {
                claim: Some(ClaimAnswer {
                    id: c.id.to_string(),
                    gives: v.label,
                    status,
                    store_id: c.store_id.map(|s| s.to_string()),
                    grant_id: c.grant_id.map(|s| s.to_string()),
                    deal_id: c.deal_id.map(|s| s.to_string()),
                    lead_id: c.lead_id.map(|s| s.to_string()),
                    expires_at: c.expires_at.to_rfc3339(),
                    claimed_at: c.claimed_at.map(|t| t.to_rfc3339()),
                }),
                ..ResolvedAnswer::of("claim")
            }
        }
        Resolved::Join(store) => ResolvedAnswer {
            store_id: store.map(|s| s.to_string()),
            ..ResolvedAnswer::of("join")
        },
    };
    Ok(Json(answer))
}

/// A member-page link.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberLink {
    /// The lead's own page: give it to the lead alone, it needs no password.
    #[schema(example = "https://loyalty.example/m/3f9a…")]
    pub url: String,
    /// The secret part of the link.
    pub token: String,
}

/// A new member-page link for a lead; the one before stops working.
#[utoipa::path(post, path = "/api/v1/leads/{id}/member_link", tag = "leads",
    params(("id" = String, Path, description = "lead id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the new link", body = MemberLink),
        (status = 404, description = "no such lead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn member_link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<MemberLink>, ApiError> {
    let token = state
        .app
        .new_member_link(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(MemberLink {
        url: format!("{}/m/{token}", state.base_url),
        token,
    }))
}
