//! Idempotency keys: a POST with a key runs once; replays get the first answer.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, FieldError, MerchantId};
use punchcard_store::idempotency::{self, Claim};

use crate::{App, AppError};

pub use punchcard_store::idempotency::Claim as IdempotencyClaim;

/// Checks a client's key: 1-255 visible ASCII characters.
pub fn parse_key(key: &str) -> Result<String, AppError> {
    let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| (0x21..0x7f).contains(&b));
    if ok {
        Ok(key.to_string())
    } else {
        Err(FieldError::new("Idempotency-Key", "must be 1-255 visible ASCII characters").into())
    }
}

impl App {
    pub async fn claim_idempotency_key(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(idempotency::claim(
            &mut conn,
            merchant_id,
            env,
            key,
            request_hash,
            Timestamp::now(),
        )
        .await?)
    }

    pub async fn complete_idempotency_key(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), AppError> {
        let mut conn = self.db.conn().await?;
        Ok(
            idempotency::complete(&mut conn, merchant_id, env, key, i64::from(status), body)
                .await?,
        )
    }

    pub async fn release_idempotency_key(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        key: &str,
    ) -> Result<(), AppError> {
        let mut conn = self.db.conn().await?;
        Ok(idempotency::release(&mut conn, merchant_id, env, key).await?)
    }
}
