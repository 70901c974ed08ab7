//! Application errors, each with a stable code that the HTTP layer maps once.

use punchcard_domain::{FieldError, ValidationErrors};
use punchcard_store::{StoreError, UniqueKey};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed: {0}")]
    Validation(ValidationErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("authentication required")]
    Unauthorized,
    /// The merchant is frozen until the operator unfreezes it; names it for the operator.
    #[error("the account is frozen")]
    AccountFrozen(punchcard_domain::MerchantId),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    LimitReached(String),
    /// The API key is not among those allowed to trigger the campaign.
    #[error("{0}")]
    NotAuthorized(String),
    /// The campaign does not award now (pending, completed or archived).
    #[error("{0}")]
    CampaignNotLive(String),
    /// Not a surprise's occasion today (its custom date, or the lead's birthday).
    #[error("{0}")]
    NotOnOccasion(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the {} quota of the plan is used up", .0.as_str())]
    QuotaExhausted(punchcard_domain::limits::Quota),
    #[error("the wallet balance is too low")]
    InsufficientBalance { balance: i64, requested: i64 },
    #[error("{0}")]
    OutOfStock(String),
    /// No voucher in a campaign's linked vaults matches the award request.
    #[error("{0}")]
    OutOfVouchers(String),
    /// The integration that called was revoked.
    #[error("this integration is revoked")]
    IntegrationRevoked,
    /// A QR token that is forged, truncated, expired, already used, or another merchant's
    /// or environment's.
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    CallbackRejected(String),
    #[error("{0}")]
    IdempotencyMismatch(String),
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// The request's Idempotency-Key is held by another attempt: nothing was written.
    #[error("another attempt holds this request's idempotency key")]
    Superseded,
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::NotFound(_) => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::AccountFrozen(_) => "account_frozen",
            AppError::Forbidden(_) => "forbidden",
            AppError::LimitReached(_) => "limit_reached",
            AppError::NotAuthorized(_) => "not_authorized",
            AppError::CampaignNotLive(_) => "campaign_not_live",
            AppError::NotOnOccasion(_) => "not_on_occasion",
            AppError::Conflict(_) => "conflict",
            AppError::QuotaExhausted(_) => "quota_exhausted",
            AppError::InsufficientBalance { .. } => "insufficient_balance",
            AppError::OutOfStock(_) => "out_of_stock",
            AppError::OutOfVouchers(_) => "out_of_vouchers",
            AppError::IntegrationRevoked => "integration_revoked",
            AppError::InvalidToken(_) => "invalid_token",
            AppError::CallbackRejected(_) => "callback_rejected",
            AppError::IdempotencyMismatch(_) => "idempotency_mismatch",
            AppError::TooManyRequests(..) => "rate_limited",
            AppError::Superseded => "idempotency_in_progress",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn field(field: &str, message: &str) -> Self {
        AppError::Validation(FieldError::new(field, message).into())
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::Internal(Box::new(e))
    }

    /// The answer when `key` refuses a write: the field it guards (422 `validation_failed`),
    /// a reused retry hash (422 `idempotency_mismatch`), or, for keys no user types, a generic
    /// 409 `conflict`. Checks made before a write answer the same through this function.
    pub fn duplicate(key: UniqueKey) -> Self {
        if let Some(field) = duplicate_field(key) {
            return AppError::Validation(field.into());
        }
        match key {
            UniqueKey::WalletTransactionHash => AppError::IdempotencyMismatch(
                "this hash was already used for a different transaction".to_string(),
            ),
            UniqueKey::CouponHash => AppError::IdempotencyMismatch(
                "this hash was already used for a different coupon".to_string(),
            ),
            UniqueKey::CampaignInteractionHash => AppError::IdempotencyMismatch(
                "this hash was already used for a different trigger of this campaign".to_string(),
            ),
            _ => AppError::Conflict(
                "the request collided with another change made at the same time; retry it"
                    .to_string(),
            ),
        }
    }
}

/// The field a unique key guards and what to tell the user who typed it; `None` for keys no
/// user types (generated tokens and ids, retry hashes).
pub fn duplicate_field(key: UniqueKey) -> Option<FieldError> {
    let (field, message) = match key {
        UniqueKey::MemberEmail => ("email", "is already registered"),
        UniqueKey::CurrencyCode => ("code", "already exists for this merchant"),
        UniqueKey::AllowedIpCidr => ("ip", "is already in the list for this source"),
        UniqueKey::LeadCustomerId => ("customer_id", "is already used by another lead"),
        UniqueKey::WalletLeadCurrency => (
            "currency_id",
            "the lead already has a wallet in this currency",
        ),
        UniqueKey::OfferLiveCode => (
            "code",
            "is already the code of another offer in this environment",
        ),
        UniqueKey::CouponCodeValue => ("value", "already exists in this environment"),
        UniqueKey::WalletTransactionHash
        | UniqueKey::CouponHash
        | UniqueKey::CampaignInteractionHash
        | UniqueKey::SessionToken
        | UniqueKey::InvitationToken
        | UniqueKey::MemberPageToken
        | UniqueKey::CounterActionHash
        | UniqueKey::PasswordResetToken
        | UniqueKey::PrimaryKey(_)
        | UniqueKey::Unknown => return None,
    };
    Some(FieldError::new(field, message))
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => AppError::Unavailable(e),
            StoreError::Superseded => AppError::Superseded,
            StoreError::Unique(key) => AppError::duplicate(key),
            other => AppError::Internal(Box::new(other)),
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Validation(e)
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Validation(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_keys_map_to_fields_hashes_or_a_generic_conflict() {
        let e = AppError::from(StoreError::Unique(UniqueKey::LeadCustomerId));
        match &e {
            AppError::Validation(v) => {
                assert_eq!(
                    v.for_field("customer_id"),
                    Some("is already used by another lead")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.code(), "validation_failed");
        let e = AppError::from(StoreError::Unique(UniqueKey::CouponHash));
        assert_eq!(e.code(), "idempotency_mismatch");
        for key in [
            UniqueKey::Unknown,
            UniqueKey::SessionToken,
            UniqueKey::PrimaryKey("plans"),
        ] {
            let e = AppError::from(StoreError::Unique(key));
            assert_eq!(e.code(), "conflict", "{key:?}");
        }
    }
}
