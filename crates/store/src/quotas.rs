//! Quota counters, sharded: every merchant has `QUOTA_SHARDS` rows per quota, each allowed to
//! burn up to its `allotted` units. A burn touches one shard (picked by the caller, so
//! concurrent burns spread out) and falls back to any shard with room; the allotments always
//! add up to the plan's total, so the total can never be exceeded.

use crate::Conn;
use punchcard_domain::limits::{split_allotment, Quota, QUOTA_SHARDS};
use punchcard_domain::MerchantId;

use crate::StoreError;

/// Used and total per quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage {
    pub quota: Quota,
    pub used: i64,
    pub total: i64,
}

impl QuotaUsage {
    pub fn remaining(&self) -> i64 {
        (self.total - self.used).max(0)
    }
}

/// Burns one unit of `quota`, starting at shard `hint`; answers false when the quota is spent.
/// Call it inside the action's write transaction: a rollback gives the unit back.
pub async fn burn(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    quota: Quota,
    hint: u64,
) -> Result<bool, StoreError> {
    let first = (hint % QUOTA_SHARDS as u64) as i64;
    if take_from(conn, merchant_id, quota, first).await? {
        return Ok(true);
    }
    // The picked shard is spent: look for another with room. A concurrent burn may take it
    // first, so look again; the loop ends when no shard has room.
    for _ in 0..(2 * QUOTA_SHARDS) {
        let shard: Option<i64> = crate::query(
            "SELECT shard FROM quota_shards WHERE merchant_id = $1 AND quota = $2 AND used < allotted \
             ORDER BY shard LIMIT 1",
        )
        .bind(merchant_id.as_str())
        .bind(quota.as_str())
        .scalar_optional(&mut *conn)
        .await?;
        let Some(shard) = shard else {
            return Ok(false);
        };
        if take_from(conn, merchant_id, quota, shard).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Takes up to `want` units of `quota` at once, starting at shard `hint` (a batch of actions
/// takes what it may need in one go, then gives back what it did not use). Answers what it
/// took from which shard, `(shard, units)`; fewer than `want` units in all when the quota
/// runs out. Call it inside the batch's write transaction.
pub async fn take(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    quota: Quota,
    want: i64,
    hint: u64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut taken = Vec::new();
    if want <= 0 {
        return Ok(taken);
    }
    let first = (hint % QUOTA_SHARDS as u64) as i64;
    if take_units(conn, merchant_id, quota, first, want).await? {
        taken.push((first, want));
        return Ok(taken);
    }
    // The picked shard cannot give it all: take what each shard with room has left. A
    // concurrent burn may take units first, so look again; the loop ends when no shard has
    // room.
    let mut left = want;
    for _ in 0..(2 * QUOTA_SHARDS) {
        let rows = crate::query(
            "SELECT shard, allotted - used AS room FROM quota_shards \
             WHERE merchant_id = $1 AND quota = $2 AND used < allotted ORDER BY shard",
        )
        .bind(merchant_id.as_str())
        .bind(quota.as_str())
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let (shard, room): (i64, i64) = (r.try_get("shard")?, r.try_get("room")?);
            let n = room.min(left);
            if n > 0 && take_units(conn, merchant_id, quota, shard, n).await? {
                taken.push((shard, n));
                left -= n;
            }
            if left == 0 {
                return Ok(taken);
            }
        }
    }
    Ok(taken)
}

/// Gives back `units` that [`take`] took from `shard` in this transaction and were not used.
pub async fn give_back(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    quota: Quota,
    shard: i64,
    units: i64,
) -> Result<(), StoreError> {
    if units <= 0 {
        return Ok(());
    }
    crate::query(
        "UPDATE quota_shards SET used = used - $4 \
         WHERE merchant_id = $1 AND quota = $2 AND shard = $3 AND used >= $4",
    )
    .bind(merchant_id.as_str())
    .bind(quota.as_str())
    .bind(shard)
    .bind(units)
    .execute(conn)
    .await?;
    Ok(())
}

async fn take_units(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    quota: Quota,
    shard: i64,
    units: i64,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE quota_shards SET used = used + $4 \
         WHERE merchant_id = $1 AND quota = $2 AND shard = $3 AND used + $4 <= allotted",
    )
    .bind(merchant_id.as_str())
    .bind(quota.as_str())
    .bind(shard)
    .bind(units)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn take_from(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    quota: Quota,
    shard: i64,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE quota_shards SET used = used + 1 \
         WHERE merchant_id = $1 AND quota = $2 AND shard = $3 AND used < allotted",
    )
    .bind(merchant_id.as_str())
    .bind(quota.as_str())
    .bind(shard)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a quota's total: what is left after the units already used is spread again over the
/// shards. Creates the shards if missing. Run it in a write transaction.
pub async fn set_total(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    quota: Quota,
    total: i64,
) -> Result<(), StoreError> {
    // Lock this quota's shards before reading them, so no burn slips in between.
    crate::query("UPDATE quota_shards SET used = used WHERE merchant_id = $1 AND quota = $2")
        .bind(merchant_id.as_str())
        .bind(quota.as_str())
        .execute(&mut *conn)
        .await?;
    let rows = crate::query(
        "SELECT shard, used FROM quota_shards WHERE merchant_id = $1 AND quota = $2 ORDER BY shard",
    )
    .bind(merchant_id.as_str())
    .bind(quota.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut used = vec![0i64; QUOTA_SHARDS as usize];
    for r in &rows {
        let shard: i64 = r.try_get("shard")?;
        if let Some(slot) = usize::try_from(shard).ok().and_then(|i| used.get_mut(i)) {
            *slot = r.try_get("used")?;
        }
    }
    let spent: i64 = used.iter().sum();
    let extra = split_allotment(total - spent);
    for (shard, (used, extra)) in used.iter().zip(extra).enumerate() {
        crate::query(
            "INSERT INTO quota_shards (merchant_id, quota, shard, allotted, used) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (merchant_id, quota, shard) DO UPDATE SET allotted = excluded.allotted",
        )
        .bind(merchant_id.as_str())
        .bind(quota.as_str())
        .bind(shard as i64)
        .bind(used + extra)
        .bind(*used)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Used and total of every quota of a merchant.
pub async fn usage(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Vec<QuotaUsage>, StoreError> {
    let rows = crate::query(
        "SELECT quota, CAST(SUM(used) AS BIGINT) AS used, CAST(SUM(allotted) AS BIGINT) AS total FROM quota_shards \
         WHERE merchant_id = $1 GROUP BY quota",
    )
    .bind(merchant_id.as_str())
    .fetch_all(conn)
    .await?;
    let mut out = Vec::new();
    for quota in Quota::ALL {
        let row = rows
            .iter()
            .find(|r| r.try_get::<String>("quota").ok().as_deref() == Some(quota.as_str()));
        let (used, total) = match row {
            Some(r) => (r.try_get("used")?, r.try_get("total")?),
            None => (0, 0),
        };
        out.push(QuotaUsage { quota, used, total });
    }
    Ok(out)
}
