//! The counter: point grants staff may give, the stores staff work at, codes displayed for a
//! lead to claim, and the log of what was done at the counter (read back as daily figures).

use std::collections::BTreeMap;

use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CounterActionId, CounterClaimId, CurrencyId, DealId, Env, LeadId, MemberId, MerchantId,
    PointGrantId, StoreId,
};

use crate::{Backend, Conn, DbRow, StoreError};

// ----- point grants -----

/// A fixed number of points in one currency that staff may give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointGrantRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: PointGrantId,
    pub name: String,
    pub currency_id: CurrencyId,
    pub points: i64,
    pub created_at: Timestamp,
}

const GRANT_COLUMNS: &str = "merchant_id, env, id, name, currency_id, points, created_at";

fn grant_of(row: &DbRow) -> Result<PointGrantRow, StoreError> {
    Ok(PointGrantRow {
        merchant_id: crate::db::parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed(row, "id")?,
        name: row.try_get("name")?,
        currency_id: crate::db::parsed(row, "currency_id")?,
        points: row.try_get("points")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert_grant(conn: &mut Conn, g: &PointGrantRow) -> Result<(), StoreError> {
    crate::query(format!(
        "INSERT INTO point_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(g.merchant_id.as_str())
    .bind(g.env.as_str())
    .bind(g.id.as_str())
    .bind(g.name.as_str())
    .bind(g.currency_id.as_str())
    .bind(g.points)
    .bind(g.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The grants in use, oldest first.
pub async fn list_grants(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
) -> Result<Vec<PointGrantRow>, StoreError> {
    crate::query(format!(
        "SELECT {GRANT_COLUMNS} FROM point_grants \
         WHERE merchant_id = $1 AND env = $2 AND archived_at IS NULL ORDER BY id"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(grant_of)
    .collect()
}

/// A grant in use.
pub async fn find_grant(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<PointGrantRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {GRANT_COLUMNS} FROM point_grants \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND archived_at IS NULL"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(grant_of).transpose()
}

/// Takes a grant out of use (the codes and actions that name it keep their history).
pub async fn archive_grant(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE point_grants SET archived_at = $4 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND archived_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ----- the stores staff work at -----

/// Every member's stores, as `(member, store)` pairs.
pub async fn member_stores(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Vec<(MemberId, StoreId)>, StoreError> {
    crate::query(
        "SELECT member_id, store_id FROM member_stores WHERE merchant_id = $1 \
         ORDER BY member_id, store_id",
    )
    .bind(merchant_id.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok((
            crate::db::parsed(r, "member_id")?,
            crate::db::parsed(r, "store_id")?,
        ))
    })
    .collect()
}

/// Sets the stores a member works at (none: any).
pub async fn set_member_stores(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    member_id: &MemberId,
    stores: &[StoreId],
) -> Result<(), StoreError> {
    crate::query("DELETE FROM member_stores WHERE merchant_id = $1 AND member_id = $2")
        .bind(merchant_id.as_str())
        .bind(member_id.as_str())
        .execute(&mut *conn)
        .await?;
    for s in stores {
        crate::query(
            "INSERT INTO member_stores (merchant_id, member_id, store_id) VALUES ($1, $2, $3)",
        )
        .bind(merchant_id.as_str())
        .bind(member_id.as_str())
        .bind(s.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// ----- displayed codes -----

/// A code displayed at the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: CounterClaimId,
    pub store_id: Option<StoreId>,
    pub member_id: MemberId,
    pub grant_id: Option<PointGrantId>,
    pub deal_id: Option<DealId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub claimed_at: Option<Timestamp>,
    pub lead_id: Option<LeadId>,
    pub wallet_transaction_id: Option<String>,
    pub coupon_id: Option<String>,
}

const CLAIM_COLUMNS: &str = "merchant_id, env, id, store_id, member_id, grant_id, deal_id, \
     created_at, expires_at, claimed_at, lead_id, wallet_transaction_id, coupon_id";

fn claim_of(row: &DbRow) -> Result<ClaimRow, StoreError> {
    Ok(ClaimRow {
        merchant_id: crate::db::parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed(row, "id")?,
        store_id: crate::db::parsed_opt(row, "store_id")?,
        member_id: crate::db::parsed(row, "member_id")?,
        grant_id: crate::db::parsed_opt(row, "grant_id")?,
        deal_id: crate::db::parsed_opt(row, "deal_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        claimed_at: row.try_get("claimed_at")?,
        lead_id: crate::db::parsed_opt(row, "lead_id")?,
        wallet_transaction_id: row.try_get("wallet_transaction_id")?,
        coupon_id: row.try_get("coupon_id")?,
    })
}

pub async fn insert_claim(conn: &mut Conn, c: &ClaimRow) -> Result<(), StoreError> {
    crate::query(format!(
        "INSERT INTO counter_claims ({CLAIM_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(c.merchant_id.as_str())
    .bind(c.env.as_str())
    .bind(c.id.as_str())
    .bind(c.store_id.as_ref().map(|s| s.to_string()))
    .bind(c.member_id.as_str())
    .bind(c.grant_id.as_ref().map(|s| s.to_string()))
    .bind(c.deal_id.as_ref().map(|s| s.to_string()))
    .bind(c.created_at)
    .bind(c.expires_at)
    .bind(c.claimed_at)
    .bind(c.lead_id.as_ref().map(|s| s.to_string()))
    .bind(c.wallet_transaction_id.clone())
    .bind(c.coupon_id.clone())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_claim(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<ClaimRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {CLAIM_COLUMNS} FROM counter_claims WHERE merchant_id = $1 AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(claim_of).transpose()
}

/// Takes an unclaimed, unexpired code for `lead_id`: `false` when it was claimed (by anyone)
/// or has expired. Exactly one of any number of concurrent takers gets `true`.
pub async fn take_claim(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &CounterClaimId,
    lead_id: &LeadId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE counter_claims SET claimed_at = $4, lead_id = $5 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND claimed_at IS NULL AND expires_at > $4",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .bind(now)
    .bind(lead_id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records what a claim gave.
pub async fn set_claim_result(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &CounterClaimId,
    wallet_transaction_id: Option<&str>,
    coupon_id: Option<&str>,
) -> Result<(), StoreError> {
    crate::query(
        "UPDATE counter_claims SET wallet_transaction_id = $3, coupon_id = $4 \
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(wallet_transaction_id.map(str::to_string))
    .bind(coupon_id.map(str::to_string))
    .execute(conn)
    .await?;
    Ok(())
}

// ----- what was done at the counter -----

/// What kind of thing was done at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    CouponUsed,
    PointsGiven,
    DealGiven,
    Claimed,
    Joined,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CouponUsed => "coupon_used",
            Self::PointsGiven => "points_given",
            Self::DealGiven => "deal_given",
            Self::Claimed => "claimed",
            Self::Joined => "joined",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::CouponUsed,
            Self::PointsGiven,
            Self::DealGiven,
            Self::Claimed,
            Self::Joined,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One thing done at the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: CounterActionId,
    pub kind: ActionKind,
    pub store_id: Option<StoreId>,
    pub member_id: Option<MemberId>,
    pub lead_id: Option<LeadId>,
    /// Points given (points given, or a claimed grant).
    pub points: i64,
    /// The coupon, wallet transaction or claim it made or used.
    pub reference: Option<String>,
    /// The retry key of a give.
    pub hash: Option<String>,
    pub created_at: Timestamp,
}

const ACTION_COLUMNS: &str =
    "merchant_id, env, id, kind, store_id, member_id, lead_id, points, reference, hash, created_at";

fn action_of(row: &DbRow) -> Result<ActionRow, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(ActionRow {
        merchant_id: crate::db::parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed(row, "id")?,
        kind: ActionKind::parse(&kind).ok_or_else(|| crate::db::bad_value("kind", &kind))?,
        store_id: crate::db::parsed_opt(row, "store_id")?,
        member_id: crate::db::parsed_opt(row, "member_id")?,
        lead_id: crate::db::parsed_opt(row, "lead_id")?,
        points: row.try_get("points")?,
        reference: row.try_get("reference")?,
        hash: row.try_get("hash")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The give made with this retry key, if any.
pub async fn find_action_by_hash(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    hash: &str,
) -> Result<Option<ActionRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {ACTION_COLUMNS} FROM counter_actions WHERE merchant_id = $1 AND env = $2 AND hash = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(action_of).transpose()
}

/// The leads that joined at a store's code.
pub async fn joined_at(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    store_id: &StoreId,
) -> Result<Vec<LeadId>, StoreError> {
    crate::query(
        "SELECT DISTINCT lead_id FROM counter_actions WHERE merchant_id = $1 AND env = $2 \
         AND store_id = $3 AND kind = 'joined' AND lead_id IS NOT NULL ORDER BY lead_id",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(store_id.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| crate::db::parsed(r, "lead_id"))
    .collect()
}

pub async fn insert_action(conn: &mut Conn, a: &ActionRow) -> Result<(), StoreError> {
    crate::query(format!(
        "INSERT INTO counter_actions ({ACTION_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(a.merchant_id.as_str())
    .bind(a.env.as_str())
    .bind(a.id.as_str())
    .bind(a.kind.as_str())
    .bind(a.store_id.as_ref().map(|s| s.to_string()))
    .bind(a.member_id.as_ref().map(|s| s.to_string()))
    .bind(a.lead_id.as_ref().map(|s| s.to_string()))
    .bind(a.points)
    .bind(a.reference.clone())
    .bind(a.hash.clone())
    .bind(a.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The counter's figures of one UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterDay {
    pub coupons_used: i64,
    /// Points given by staff from a scanned ID and through claimed codes.
    pub points_given: i64,
    /// Deals given by staff from a scanned ID (coupons in reward mode).
    pub deals_given: i64,
    pub claims: i64,
    pub new_leads: i64,
    /// Leads reached by messages and promos.
    pub message_reach: i64,
}

/// The counter's figures of every day in `[from, to)` that has any, keyed by `YYYY-MM-DD`
/// (UTC), of one store when asked.
pub async fn daily(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    store_id: Option<&StoreId>,
    from: Timestamp,
    to: Timestamp,
) -> Result<BTreeMap<String, CounterDay>, StoreError> {
    let day = match conn.backend() {
        Backend::Postgres => "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        Backend::Sqlite => "substr(created_at, 1, 10)",
    };
    let store = if store_id.is_some() {
        "AND store_id = $5"
    } else {
        ""
    };
    let mut q = crate::query(format!(
        "SELECT {day} AS day, kind, COUNT(*) AS n, CAST(COALESCE(SUM(points), 0) AS BIGINT) AS points \
         FROM counter_actions WHERE merchant_id = $1 AND env = $2 AND created_at >= $3 \
         AND created_at < $4 {store} GROUP BY 1, 2"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(from)
    .bind(to);
    if let Some(s) = store_id {
        q = q.bind(s.as_str());
    }
    let mut out: BTreeMap<String, CounterDay> = BTreeMap::new();
    for row in q.fetch_all(conn).await? {
        let day: String = row.try_get("day")?;
        let kind: String = row.try_get("kind")?;
        let (n, points): (i64, i64) = (row.try_get("n")?, row.try_get("points")?);
        let d = out.entry(day).or_default();
        match ActionKind::parse(&kind) {
            Some(ActionKind::CouponUsed) => d.coupons_used += n,
            Some(ActionKind::PointsGiven) => d.points_given += points,
            Some(ActionKind::DealGiven) => d.deals_given += n,
            Some(ActionKind::Claimed) => {
                d.claims += n;
                d.points_given += points;
            }
            Some(ActionKind::Joined) => d.new_leads += n,
            None => return Err(crate::db::bad_value("kind", &kind)),
        }
    }
    Ok(out)
}
