//! Idempotency keys: a POST with a key runs once; replays get the first answer.

use punchcard_domain::time::Timestamp;
use punchcard_domain::FieldError;
use punchcard_store::idempotency::{self, Claim};

use crate::{App, AppError};

pub use punchcard_store::idempotency::{Claim as IdempotencyClaim, Fence, FENCE};

/// Checks a client's key: 1-255 visible ASCII characters.
pub fn parse_key(key: &str) -> Result<String, AppError> {
    let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| (0x21..0x7f).contains(&b));
    if ok {
        Ok(key.to_string())
    } else {
        Err(FieldError::new("Idempotency-Key", "must be 1-255 visible ASCII characters").into())
    }
}

/// How long a claim holds without renewal: a retry takes over a claim whose server stopped
/// renewing it (it died) once this much time has passed.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a running request renews its claim.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

fn lease_from(now: Timestamp) -> Timestamp {
    now.plus(time::Duration::try_from(LEASE).expect("a short lease"))
}

impl App {
    /// Claims `key` for one attempt of a request (`fence.holder` names the attempt).
    pub async fn claim_idempotency_key(
        &self,
        fence: &Fence,
        request_hash: &str,
    ) -> Result<Claim, AppError> {
        let mut conn = self.db.write_conn().await?;
        let now = Timestamp::now();
        Ok(idempotency::claim(
            &mut conn,
            &fence.merchant_id,
            fence.env,
            &fence.key,
            request_hash,
            &fence.holder,
            now,
            lease_from(now),
        )
        .await?)
    }

    /// Extends the attempt's claim; false once another attempt took it over.
    pub async fn renew_idempotency_key(&self, fence: &Fence) -> Result<bool, AppError> {
        let mut conn = self.db.write_conn().await?;
        Ok(idempotency::renew(&mut conn, fence, lease_from(Timestamp::now())).await?)
    }

    /// Stores the attempt's answer; false when another attempt holds the key.
    pub async fn complete_idempotency_key(
        &self,
        fence: &Fence,
        status: u16,
        body: &str,
    ) -> Result<bool, AppError> {
        let mut conn = self.db.write_conn().await?;
        Ok(idempotency::complete(&mut conn, fence, i64::from(status), body).await?)
    }

    /// Frees the attempt's claim after a server-side failure.
    pub async fn release_idempotency_key(&self, fence: &Fence) -> Result<(), AppError> {
        let mut conn = self.db.write_conn().await?;
        Ok(idempotency::release(&mut conn, fence).await?)
    }
}
