//! Swap contracts between two merchants, the swaps made, the points each sending lead swapped
//! per contract and UTC day (guarded against the daily maximum by the database), and the
//! merchant's switch for swaps between its own leads.

use punchcard_domain::campaigns::Rate;
use punchcard_domain::swaps::{ContractStatus, SuspendedBy};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CurrencyId, Env, LeadId, MerchantId, SwapContractId, SwapId, WalletId, WalletTransactionId,
};

use crate::db::parsed;
use crate::{Backend, Conn, DbRow, StoreError};

/// A swap contract as stored; `merchant_id` is the proposer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: SwapContractId,
    pub partner_merchant_id: MerchantId,
    pub currency_id: CurrencyId,
    pub partner_currency_id: CurrencyId,
    pub rate: Rate,
    pub per_swap_max: i64,
    pub daily_max: i64,
    pub status: ContractStatus,
    pub suspended_by: Option<SuspendedBy>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const CONTRACT_COLUMNS: &str = "merchant_id, env, id, partner_merchant_id, currency_id, \
    partner_currency_id, CAST(rate AS TEXT) AS rate, per_swap_max, daily_max, status, \
    suspended_by, created_at, updated_at";

fn contract_from_row(row: &DbRow) -> Result<ContractRow, StoreError> {
    let status: String = row.try_get("status")?;
    let suspended_by: Option<String> = row.try_get("suspended_by")?;
    let rate: String = row.try_get("rate")?;
    Ok(ContractRow {
        merchant_id: parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: parsed(row, "id")?,
        partner_merchant_id: parsed(row, "partner_merchant_id")?,
        currency_id: parsed(row, "currency_id")?,
        partner_currency_id: parsed(row, "partner_currency_id")?,
        rate: Rate::parse(&rate).map_err(|_| crate::db::bad_value("rate", &rate))?,
        per_swap_max: row.try_get("per_swap_max")?,
        daily_max: row.try_get("daily_max")?,
        status: ContractStatus::parse(&status)
            .ok_or_else(|| crate::db::bad_value("status", &status))?,
        suspended_by: suspended_by
            .map(|s| SuspendedBy::parse(&s).ok_or_else(|| crate::db::bad_value("suspended_by", &s)))
            .transpose()?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
    })
}

pub async fn insert_contract(conn: &mut Conn, c: &ContractRow) -> Result<(), StoreError> {
    let rate = match conn.backend() {
        Backend::Postgres => "CAST($7 AS NUMERIC)",
        Backend::Sqlite => "$7",
    };
    crate::query(format!(
        "INSERT INTO swap_contracts (merchant_id, env, id, partner_merchant_id, currency_id, \
         partner_currency_id, rate, per_swap_max, daily_max, status, suspended_by, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, {rate}, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(c.merchant_id.as_str())
    .bind(c.env.as_str())
    .bind(c.id.as_str())
    .bind(c.partner_merchant_id.as_str())
    .bind(c.currency_id.as_str())
    .bind(c.partner_currency_id.as_str())
    .bind(c.rate.to_string())
    .bind(c.per_swap_max)
    .bind(c.daily_max)
    .bind(c.status.as_str())
    .bind(c.suspended_by.map(SuspendedBy::as_str))
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A contract `merchant_id` is a party to (proposer or partner), in `env`.
pub async fn find_contract(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<ContractRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {CONTRACT_COLUMNS} FROM swap_contracts \
         WHERE (merchant_id = $1 OR partner_merchant_id = $1) AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(contract_from_row).transpose()
}

/// Any contract, by its id alone (the operator's view).
pub async fn find_contract_by_id(
    conn: &mut Conn,
    id: &str,
) -> Result<Option<ContractRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {CONTRACT_COLUMNS} FROM swap_contracts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(contract_from_row).transpose()
}

/// One page of the contracts `merchant_id` is a party to in `env`, in id order; every
/// merchant's when `merchant_id` is `None` (the operator's list, every env).
pub async fn list_contracts(
    conn: &mut Conn,
    party: Option<(&MerchantId, Env)>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ContractRow>, StoreError> {
    let (merchant, env) = match party {
        Some((m, e)) => (Some(m.as_str()), Some(e.as_str())),
        None => (None, None),
    };
    let rows = crate::query(format!(
        "SELECT {CONTRACT_COLUMNS} FROM swap_contracts \
         WHERE ($1 IS NULL OR merchant_id = $1 OR partner_merchant_id = $1) \
         AND ($2 IS NULL OR env = $2) AND id > $3 ORDER BY id LIMIT $4"
    ))
    .bind(merchant)
    .bind(env)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(contract_from_row).collect()
}

/// Moves a contract from one of `from` to `to`; false when it is in none of them (a
/// concurrent change came first, or the move is not allowed from where it is).
pub async fn set_contract_status(
    conn: &mut Conn,
    id: &SwapContractId,
    from: &[ContractStatus],
    to: ContractStatus,
    suspended_by: Option<SuspendedBy>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let placeholders = (0..from.len())
        .map(|i| format!("${}", i + 5))
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = crate::query(format!(
        "UPDATE swap_contracts SET status = $1, suspended_by = $2, updated_at = $3 \
         WHERE id = $4 AND status IN ({placeholders})"
    ))
    .persistent(false)
    .bind(to.as_str())
    .bind(suspended_by.map(SuspendedBy::as_str))
    .bind(now)
    .bind(id.as_str());
    for s in from {
        q = q.bind(s);
    }
    Ok(q.execute(conn).await?.rows_affected() == 1)
}

/// Adds `points` to what `lead_id` swapped under `contract_id` on `day`, unless that would
/// pass `daily_max`; false (and nothing changed) when it would. The row stays locked until
/// the transaction ends, so concurrent swaps of one lead queue and recount.
#[allow(clippy::too_many_arguments)]
pub async fn add_usage(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    contract_id: &SwapContractId,
    lead_id: &LeadId,
    day: &str,
    points: i64,
    daily_max: i64,
) -> Result<bool, StoreError> {
    if points > daily_max {
        return Ok(false);
    }
    let total: Option<i64> = crate::query(
        "INSERT INTO swap_usage (merchant_id, env, contract_id, lead_id, day, points) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (merchant_id, contract_id, lead_id, day) \
         DO UPDATE SET points = swap_usage.points + excluded.points \
         WHERE swap_usage.points + excluded.points <= $7 \
         RETURNING points",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(contract_id.as_str())
    .bind(lead_id.as_str())
    .bind(day)
    .bind(points)
    .bind(daily_max)
    .scalar_optional(conn)
    .await?;
    Ok(total.is_some())
}

/// Points `lead_id` swapped under `contract_id` on `day`.
pub async fn usage(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    contract_id: &SwapContractId,
    lead_id: &LeadId,
    day: &str,
) -> Result<i64, StoreError> {
    Ok(crate::query(
        "SELECT points FROM swap_usage WHERE merchant_id = $1 AND contract_id = $2 \
         AND lead_id = $3 AND day = $4",
    )
    .bind(merchant_id.as_str())
    .bind(contract_id.as_str())
    .bind(lead_id.as_str())
    .bind(day)
    .scalar_optional(conn)
    .await?
    .unwrap_or(0))
}

/// A swap as stored; `merchant_id` is the sender's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: SwapId,
    pub hash: String,
    pub contract_id: Option<SwapContractId>,
    pub from_wallet_id: WalletId,
    pub from_lead_id: LeadId,
    pub to_merchant_id: MerchantId,
    pub to_wallet_id: WalletId,
    pub to_lead_id: LeadId,
    pub amount_out: i64,
    pub amount_in: i64,
    pub out_transaction_id: WalletTransactionId,
    pub in_transaction_id: WalletTransactionId,
    pub api_key_id: Option<String>,
    pub created_at: Timestamp,
}

const SWAP_COLUMNS: &str = "merchant_id, env, id, hash, contract_id, from_wallet_id, \
    from_lead_id, to_merchant_id, to_wallet_id, to_lead_id, amount_out, amount_in, \
    out_transaction_id, in_transaction_id, api_key_id, created_at";

fn swap_from_row(row: &DbRow) -> Result<SwapRow, StoreError> {
    Ok(SwapRow {
        merchant_id: parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: parsed(row, "id")?,
        hash: row.try_get("hash")?,
        contract_id: crate::db::parsed_opt(row, "contract_id")?,
        from_wallet_id: parsed(row, "from_wallet_id")?,
        from_lead_id: parsed(row, "from_lead_id")?,
        to_merchant_id: parsed(row, "to_merchant_id")?,
        to_wallet_id: parsed(row, "to_wallet_id")?,
        to_lead_id: parsed(row, "to_lead_id")?,
        amount_out: row.try_get("amount_out")?,
        amount_in: row.try_get("amount_in")?,
        out_transaction_id: parsed(row, "out_transaction_id")?,
        in_transaction_id: parsed(row, "in_transaction_id")?,
        api_key_id: row.try_get("api_key_id")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

pub async fn insert_swap(conn: &mut Conn, s: &SwapRow) -> Result<(), StoreError> {
    crate::query(format!(
        "INSERT INTO swaps ({SWAP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16)"
    ))
    .bind(s.merchant_id.as_str())
    .bind(s.env.as_str())
    .bind(s.id.as_str())
    .bind(&s.hash)
    .bind(s.contract_id.as_ref().map(SwapContractId::as_str))
    .bind(s.from_wallet_id.as_str())
    .bind(s.from_lead_id.as_str())
    .bind(s.to_merchant_id.as_str())
    .bind(s.to_wallet_id.as_str())
    .bind(s.to_lead_id.as_str())
    .bind(s.amount_out)
    .bind(s.amount_in)
    .bind(s.out_transaction_id.as_str())
    .bind(s.in_transaction_id.as_str())
    .bind(&s.api_key_id)
    .bind(s.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A swap `merchant_id` sent or received, in `env`.
pub async fn find_swap(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<SwapRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {SWAP_COLUMNS} FROM swaps \
         WHERE (merchant_id = $1 OR to_merchant_id = $1) AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(swap_from_row).transpose()
}

/// The swap the sender `merchant_id` made with `hash` in `env`.
pub async fn find_swap_by_hash(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    hash: &str,
) -> Result<Option<SwapRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {SWAP_COLUMNS} FROM swaps WHERE merchant_id = $1 AND env = $2 AND hash = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(swap_from_row).transpose()
}

/// One page of the swaps `merchant_id` sent or received in `env`, newest first below
/// `before` when `newest_first`, else in id order after `after`.
pub async fn list_swaps(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    after: Option<&str>,
    limit: i64,
    newest_first: bool,
) -> Result<Vec<SwapRow>, StoreError> {
    let (cmp, order, start) = if newest_first {
        ("<", "DESC", after.unwrap_or("~"))
    } else {
        (">", "ASC", after.unwrap_or(""))
    };
    let rows = crate::query(format!(
        "SELECT {SWAP_COLUMNS} FROM swaps WHERE (merchant_id = $1 OR to_merchant_id = $1) \
         AND env = $2 AND id {cmp} $3 ORDER BY id {order} LIMIT $4"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(start)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(swap_from_row).collect()
}

/// Whether the merchant lets its leads swap points with each other.
pub async fn lead_swaps(conn: &mut Conn, merchant_id: &MerchantId) -> Result<bool, StoreError> {
    Ok(
        crate::query("SELECT lead_swaps FROM merchants WHERE id = $1")
            .bind(merchant_id.as_str())
            .scalar_optional::<bool>(conn)
            .await?
            .unwrap_or(false),
    )
}

/// Switches lead-to-lead swaps on or off; false when there is no such merchant.
pub async fn set_lead_swaps(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    on: bool,
) -> Result<bool, StoreError> {
    Ok(
        crate::query("UPDATE merchants SET lead_swaps = $1 WHERE id = $2")
            .bind(on)
            .bind(merchant_id.as_str())
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}
