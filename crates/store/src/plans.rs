//! Plans: quotas and rate limit per merchant.

use crate::Conn;
use punchcard_domain::limits::PlanLimits;
use punchcard_domain::time::Timestamp;
use punchcard_domain::MerchantId;

use crate::StoreError;

/// Writes a merchant's plan, creating it if missing.
pub async fn upsert(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    p: &PlanLimits,
    now: Timestamp,
) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO plans (merchant_id, leads, rewards, redeems, swaps, rate_limit_per_minute, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (merchant_id) DO UPDATE SET leads = excluded.leads, rewards = excluded.rewards, \
           redeems = excluded.redeems, swaps = excluded.swaps, \
           rate_limit_per_minute = excluded.rate_limit_per_minute, updated_at = excluded.updated_at",
    )
    .bind(merchant_id.as_str())
    .bind(p.leads)
    .bind(p.rewards)
    .bind(p.redeems)
    .bind(p.swaps)
    .bind(p.rate_limit_per_minute)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Option<PlanLimits>, StoreError> {
    let row = crate::query(
        "SELECT leads, rewards, redeems, swaps, rate_limit_per_minute FROM plans WHERE merchant_id = $1",
    )
    .bind(merchant_id.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(PlanLimits {
            leads: r.try_get("leads")?,
            rewards: r.try_get("rewards")?,
            redeems: r.try_get("redeems")?,
            swaps: r.try_get("swaps")?,
            rate_limit_per_minute: r.try_get("rate_limit_per_minute")?,
        })
    })
    .transpose()
}
