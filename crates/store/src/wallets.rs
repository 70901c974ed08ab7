//! Wallets and their append-only transactions. A balance changes only together with the
//! transaction that explains it, in one database transaction, guarded by the database.

use crate::Conn;
use punchcard_domain::ledger::{TransactionKind, MAX_BALANCE};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CurrencyId, Env, LeadId, MerchantId, WalletId, WalletTransactionId};

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: WalletId,
    pub lead_id: LeadId,
    pub currency_id: CurrencyId,
    pub balance: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const WALLET_COLUMNS: &str =
    "merchant_id, env, id, lead_id, currency_id, balance, created_at, updated_at";

fn wallet_from_row(row: &crate::DbRow) -> Result<WalletRow, StoreError> {
    Ok(WalletRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed::<WalletId>(row, "id")?,
        lead_id: crate::db::parsed::<LeadId>(row, "lead_id")?,
        currency_id: crate::db::parsed::<CurrencyId>(row, "currency_id")?,
        balance: row.try_get("balance")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
    })
}

pub async fn insert(conn: &mut Conn, w: &WalletRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO wallets (merchant_id, env, id, lead_id, currency_id, balance, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(w.merchant_id.as_str())
    .bind(w.env.as_str())
    .bind(w.id.as_str())
    .bind(w.lead_id.as_str())
    .bind(w.currency_id.as_str())
    .bind(w.balance)
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a wallet unless its lead already has one in its currency, a concurrent writer's
/// included (on PostgreSQL the insert waits for that writer); answers the lead's wallet.
pub async fn insert_or_find(conn: &mut Conn, w: &WalletRow) -> Result<WalletRow, StoreError> {
    crate::query(
        "INSERT INTO wallets (merchant_id, env, id, lead_id, currency_id, balance, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (merchant_id, lead_id, currency_id) DO NOTHING",
    )
    .bind(w.merchant_id.as_str())
    .bind(w.env.as_str())
    .bind(w.id.as_str())
    .bind(w.lead_id.as_str())
    .bind(w.currency_id.as_str())
    .bind(w.balance)
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(&mut *conn)
    .await?;
    find_for_lead(
        conn,
        &w.merchant_id,
        w.env,
        w.lead_id.as_str(),
        w.currency_id.as_str(),
    )
    .await?
    .ok_or_else(|| StoreError::from(sqlx::Error::RowNotFound))
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<WalletRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE merchant_id = $1 AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(wallet_from_row).transpose()
}

pub async fn find_for_lead(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    lead_id: &str,
    currency_id: &str,
) -> Result<Option<WalletRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE merchant_id = $1 AND env = $2 AND lead_id = $3 AND currency_id = $4"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(lead_id)
    .bind(currency_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(wallet_from_row).transpose()
}

/// One page of wallets in id order, optionally of one lead and/or currency.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    lead_id: Option<&str>,
    currency_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<WalletRow>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE merchant_id = $1 AND env = $2 AND id > $3 \
         AND ($4 IS NULL OR lead_id = $4) AND ($5 IS NULL OR currency_id = $5) ORDER BY id LIMIT $6"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(after.unwrap_or(""))
    .bind(lead_id)
    .bind(currency_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(wallet_from_row).collect()
}

/// Applies `amount` to a wallet's balance if the result stays within 0..=MAX_BALANCE, and
/// answers the new balance; `None` when the wallet does not exist or the balance would leave
/// that range. The row stays locked until the transaction ends.
pub async fn apply(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &WalletId,
    amount: i64,
    now: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let balance: Option<i64> = crate::query(
        "UPDATE wallets SET balance = balance + $1, updated_at = $2 \
         WHERE merchant_id = $3 AND env = $4 AND id = $5 AND balance + $1 >= 0 AND balance + $1 <= $6 \
         RETURNING balance",
    )
    .bind(amount)
    .bind(now)
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .bind(MAX_BALANCE)
    .scalar_optional(conn)
    .await?;
    Ok(balance)
}

/// Locks the wallets `ids` (of one merchant and env) in ascending id order, until the
/// transaction ends. A writer that changes several wallets in one transaction locks them
/// first this way, in the global order (merchant, env, wallet id), so writers of several
/// servers never wait on each other in a cycle. SQLite needs none: its write transaction
/// already excludes every other writer.
pub async fn lock_in_order(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[&WalletId],
) -> Result<(), StoreError> {
    if ids.is_empty() || conn.backend() == crate::Backend::Sqlite {
        return Ok(());
    }
    let mut ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    // Rows are locked as the sorted scan hands them out, so in id order.
    let placeholders = (0..ids.len())
        .map(|i| format!("${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = crate::query(format!(
        "SELECT id FROM wallets WHERE merchant_id = $1 AND env = $2 AND id IN ({placeholders}) \
         ORDER BY id FOR UPDATE"
    ))
    .persistent(false)
    .bind(merchant_id.as_str())
    .bind(env.as_str());
    for id in ids {
        q = q.bind(id);
    }
    q.execute(conn).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: WalletTransactionId,
    pub wallet_id: WalletId,
    pub lead_id: LeadId,
    pub kind: TransactionKind,
    pub amount: i64,
    pub balance_after: i64,
    pub hash: String,
    pub fingerprint: String,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub api_key_id: Option<String>,
    pub created_at: Timestamp,
}

const TX_COLUMNS: &str =
    "merchant_id, env, id, wallet_id, lead_id, kind, amount, balance_after, hash, \
                          fingerprint, description, reference, api_key_id, created_at";

fn tx_from_row(row: &crate::DbRow) -> Result<TransactionRow, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(TransactionRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed::<WalletTransactionId>(row, "id")?,
        wallet_id: crate::db::parsed::<WalletId>(row, "wallet_id")?,
        lead_id: crate::db::parsed::<LeadId>(row, "lead_id")?,
        kind: TransactionKind::parse(&kind).ok_or_else(|| {
            StoreError::from(sqlx::Error::Decode(format!("bad kind `{kind}`").into()))
        })?,
        amount: row.try_get("amount")?,
        balance_after: row.try_get("balance_after")?,
        hash: row.try_get("hash")?,
        fingerprint: row.try_get("fingerprint")?,
        description: row.try_get("description")?,
        reference: row.try_get("reference")?,
        api_key_id: row.try_get("api_key_id")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

pub async fn insert_transaction(conn: &mut Conn, t: &TransactionRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO wallet_transactions (merchant_id, env, id, wallet_id, lead_id, kind, amount, balance_after, hash, \
         fingerprint, description, reference, api_key_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(t.merchant_id.as_str())
    .bind(t.env.as_str())
    .bind(t.id.as_str())
    .bind(t.wallet_id.as_str())
    .bind(t.lead_id.as_str())
    .bind(t.kind.as_str())
    .bind(t.amount)
    .bind(t.balance_after)
    .bind(&t.hash)
    .bind(&t.fingerprint)
    .bind(&t.description)
    .bind(&t.reference)
    .bind(&t.api_key_id)
    .bind(t.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_transaction(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<TransactionRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {TX_COLUMNS} FROM wallet_transactions WHERE merchant_id = $1 AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(tx_from_row).transpose()
}

pub async fn find_by_hash(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    hash: &str,
) -> Result<Option<TransactionRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {TX_COLUMNS} FROM wallet_transactions WHERE merchant_id = $1 AND env = $2 AND hash = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(tx_from_row).transpose()
}

/// The transactions of one merchant and env that hold any of `hashes`.
pub async fn find_by_hashes(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    hashes: &[&str],
) -> Result<Vec<TransactionRow>, StoreError> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (0..hashes.len())
        .map(|i| format!("${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = crate::query(format!(
        "SELECT {TX_COLUMNS} FROM wallet_transactions WHERE merchant_id = $1 AND env = $2 \
         AND hash IN ({placeholders})"
    ))
    .persistent(false)
    .bind(merchant_id.as_str())
    .bind(env.as_str());
    for hash in hashes {
        q = q.bind(*hash);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(tx_from_row).collect()
}

/// Filters of a transaction list, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    pub wallet_id: Option<String>,
    pub lead_id: Option<String>,
    pub kind: Option<TransactionKind>,
}

/// One page of transactions in id (time) order after `after`, or newest first when
/// `newest_first` (then `after` is the id to continue below).
pub async fn list_transactions(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &TransactionFilter,
    after: Option<&str>,
    limit: i64,
    newest_first: bool,
) -> Result<Vec<TransactionRow>, StoreError> {
    let (cmp, order, start) = if newest_first {
        ("<", "DESC", after.unwrap_or("~"))
    } else {
        (">", "ASC", after.unwrap_or(""))
    };
    let rows = crate::query(format!(
        "SELECT {TX_COLUMNS} FROM wallet_transactions WHERE merchant_id = $1 AND env = $2 AND id {cmp} $3 \
         AND ($4 IS NULL OR wallet_id = $4) AND ($5 IS NULL OR lead_id = $5) AND ($6 IS NULL OR kind = $6) \
         ORDER BY id {order} LIMIT $7"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(start)
    .bind(&filter.wallet_id)
    .bind(&filter.lead_id)
    .bind(filter.kind.map(TransactionKind::as_str))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(tx_from_row).collect()
}

/// Wallets whose balance differs from the sum of their transactions: (wallet id, balance,
/// sum). Empty when the ledger adds up.
pub async fn audit(
    conn: &mut Conn,
    merchant_id: Option<&MerchantId>,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let rows = crate::query(
        "SELECT w.id, w.balance, CAST(COALESCE((SELECT SUM(t.amount) FROM wallet_transactions t \
            WHERE t.merchant_id = w.merchant_id AND t.wallet_id = w.id), 0) AS BIGINT) AS total \
         FROM wallets w WHERE ($1 IS NULL OR w.merchant_id = $1)",
    )
    .bind(merchant_id.map(MerchantId::as_str))
    .fetch_all(conn)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let (id, balance, total): (String, i64, i64) =
            (r.try_get("id")?, r.try_get("balance")?, r.try_get("total")?);
        if balance != total {
            out.push((id, balance, total));
        }
    }
    Ok(out)
}
