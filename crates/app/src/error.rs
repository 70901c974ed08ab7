//! Application errors, each with a stable code that the HTTP layer maps once.

use punchcard_domain::{FieldError, ValidationErrors};
use punchcard_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed: {0}")]
    Validation(ValidationErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("authentication required")]
    Unauthorized,
    #[error("the account is frozen")]
    AccountFrozen,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    LimitReached(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the {} quota of the plan is used up", .0.as_str())]
    QuotaExhausted(punchcard_domain::limits::Quota),
    #[error("the wallet balance is too low")]
    InsufficientBalance { balance: i64, requested: i64 },
    #[error("{0}")]
    OutOfStock(String),
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
            AppError::AccountFrozen => "account_frozen",
            AppError::Forbidden(_) => "forbidden",
            AppError::LimitReached(_) => "limit_reached",
            AppError::Conflict(_) => "conflict",
            AppError::QuotaExhausted(_) => "quota_exhausted",
            AppError::InsufficientBalance { .. } => "insufficient_balance",
            AppError::OutOfStock(_) => "out_of_stock",
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
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => AppError::Unavailable(e),
            StoreError::Superseded => AppError::Superseded,
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
