//! `POST /api/v1/award`: an integration of a voucher campaign awards one voucher to a
//! redeemer. It authenticates with the integration's own credentials (HTTP Basic: the
//! integration id and secret), not with an API key; its calls count against the merchant's
//! rate limit and allowed IPs like API keys' calls.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use punchcard_app::campaigns::vouchers::{AwardRequest, Awarded};
use punchcard_app::AppError;
use punchcard_domain::vouchers::RawRedeemer;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::basic_credentials;
use super::extract::ApiJson;
use super::tasks::created;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

pub use punchcard_app::campaigns::vouchers::IntegrationPrincipal;

/// Authenticates an award request with an integration's id and secret.
pub async fn require_integration(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some((id, secret)) = basic_credentials(req.headers()) else {
        return ApiError(AppError::Unauthorized).into_response();
    };
    match state.app.authenticate_integration(&id, &secret).await {
        Ok(principal) => {
            tracing::Span::current().record("merchant_id", principal.merchant_id.as_str());
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// The person the voucher goes to: at least one of the four.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemerBody {
    #[schema(example = "ann@example.com")]
    pub email: Option<String>,
    /// E.164, e.g. `+14155550123`.
    #[schema(example = "+14155550123")]
    pub mobile: Option<String>,
    /// The calling application's id for the person, 4-64 characters.
    pub customer_id: Option<String>,
    #[schema(max_length = 120)]
    pub name: Option<String>,
}

/// An award request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAward {
    #[schema(required = true, value_type = RedeemerBody)]
    pub redeemer: Option<RedeemerBody>,
    /// Only vouchers of this vendor (a vendor no linked vault holds is `validation_failed`).
    #[schema(example = "Bookshop")]
    pub vendor: Option<String>,
    /// Only vouchers of this value, in the smallest unit of money.
    #[schema(example = 1000, minimum = 1)]
    pub amount: Option<i64>,
    /// A retry key: a repeat with the same body answers the first voucher.
    #[schema(required = true, value_type = String, example = "order-4411")]
    pub hash: Option<String>,
}

/// The voucher awarded.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardedVoucher {
    /// The code (or link) to hand to the redeemer.
    #[schema(example = "KX7RM4QPTA")]
    pub code: String,
    pub vendor: String,
    /// In the smallest unit of money.
    pub amount: i64,
    /// A test voucher (awarded to a test integration).
    pub test: bool,
}

/// An award's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Award {
    #[schema(example = "cmi_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub interaction_id: String,
    pub voucher: AwardedVoucher,
}

impl From<Awarded> for Award {
    fn from(a: Awarded) -> Self {
        Self {
            interaction_id: a.interaction.id.to_string(),
            voucher: AwardedVoucher {
                code: a.voucher.code,
                vendor: a.voucher.vendor,
                amount: a.voucher.amount,
                test: a.voucher.test,
            },
        }
    }
}

/// Awards one voucher from the campaign's linked vaults matching `vendor` and `amount` (any
/// when not given): a test voucher to a `test` integration (also while the campaign is
/// pending), a real one to a `live` integration while the campaign is live. A unique voucher
/// is handed out once; a repeated `hash` answers the first voucher. Every request, awarded or
/// not, is an interaction of the campaign.
#[utoipa::path(post, path = "/api/v1/award", tag = "voucher campaigns",
    request_body = NewAward,
    security(("integration" = [])),
    responses(
        (status = 201, description = "the voucher (a repeat of the same hash and body answers the first voucher, with `Idempotent-Replayed: true`)", body = Award),
        (status = 401, description = "missing or wrong integration credentials (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "the integration is revoked (`integration_revoked`), the account is frozen (`account_frozen`) or the caller's IP is not allowed (`ip_not_allowed`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no voucher in the linked vaults matches the request (`out_of_vouchers`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields or a vendor no linked vault holds (`validation_failed`), the campaign is not live for a live integration or has ended (`campaign_not_live`), `max_per_redeemer` reached (`limit_reached`) or the hash was used for another request (`idempotency_mismatch`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "the merchant's rate limit is reached (`rate_limited`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn award(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<IntegrationPrincipal>,
    ApiJson(body): ApiJson<NewAward>,
) -> Result<Response, ApiError> {
    let r = body.redeemer.unwrap_or_default();
    let request = AwardRequest {
        redeemer: RawRedeemer {
            email: r.email,
            mobile: r.mobile,
            customer_id: r.customer_id,
            name: r.name,
        },
        vendor: body.vendor,
        amount: body.amount,
        hash: body.hash.unwrap_or_default(),
    };
    let awarded = state.app.award_voucher(&principal, &request).await?;
    let replayed = awarded.replayed;
    Ok(created(Award::from(awarded), replayed))
}
