//! Wallets and their append-only transactions. A balance changes only together with the
//! transaction that explains it, in one database transaction, guarded by the database.

use crate::Conn;
use punchcard_domain::ledger::{TransactionKind, MAX_BALANCE};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CurrencyId, Env, LeadId, MerchantId, WalletId, WalletTransactionId};

use crate::db::{numbered, rows_of, ROWS_PER_STATEMENT};
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

pub use crate::leads::LeadLabel;

fn lead_label(row: &crate::DbRow) -> Result<LeadLabel, StoreError> {
    Ok(LeadLabel {
        customer_id: row.try_get("lead_customer_id")?,
        name: row.try_get("lead_name")?,
    })
}

/// `cols` with every column qualified by `table`.
fn qualified(table: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A wallet with its lead's customer id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletWithLead {
    pub wallet: WalletRow,
    pub lead: LeadLabel,
}

/// [`list`], each wallet with its lead (one query, joined).
pub async fn list_with_leads(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    lead_id: Option<&str>,
    currency_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<WalletWithLead>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {}, l.customer_id AS lead_customer_id, l.name AS lead_name FROM wallets w \
         JOIN leads l ON l.merchant_id = w.merchant_id AND l.id = w.lead_id \
         WHERE w.merchant_id = $1 AND w.env = $2 AND w.id > $3 \
         AND ($4 IS NULL OR w.lead_id = $4) AND ($5 IS NULL OR w.currency_id = $5) ORDER BY w.id LIMIT $6",
        qualified("w", WALLET_COLUMNS)
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(after.unwrap_or(""))
    .bind(lead_id)
    .bind(currency_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(WalletWithLead {
                wallet: wallet_from_row(r)?,
                lead: lead_label(r)?,
            })
        })
        .collect()
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

/// What a wallet transaction request needs to know before it is queued, read in one
/// statement: the wallet, whether its lead is still there, and whether `hash` is stored.
#[derive(Debug, Clone)]
pub struct WalletForTransaction {
    pub wallet: WalletRow,
    /// False once the lead was deleted: its wallets are closed.
    pub lead_open: bool,
    /// The hash is held by a stored transaction.
    pub hash_taken: bool,
}

/// The wallet `id` for a transaction with `hash`; `None` when there is no such wallet.
pub async fn find_for_transaction(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
    hash: &str,
) -> Result<Option<WalletForTransaction>, StoreError> {
    let row = crate::query(
        "SELECT w.merchant_id, w.env, w.id, w.lead_id, w.currency_id, w.balance, w.created_at, \
         w.updated_at, \
         EXISTS (SELECT 1 FROM leads l WHERE l.merchant_id = $1 AND l.env = $2 \
             AND l.id = w.lead_id AND l.deleted_at IS NULL) AS lead_open, \
         EXISTS (SELECT 1 FROM wallet_transactions t WHERE t.merchant_id = $1 AND t.env = $2 \
             AND t.hash = $4) AS hash_taken \
         FROM wallets w WHERE w.merchant_id = $1 AND w.env = $2 AND w.id = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(WalletForTransaction {
            wallet: wallet_from_row(&row)?,
            lead_open: row.try_get::<bool>("lead_open")?,
            hash_taken: row.try_get::<bool>("hash_taken")?,
        })
    })
    .transpose()
}

/// A wallet as [`lock_for_group`] read it, locked.
#[derive(Debug, Clone)]
pub struct LockedWallet {
    pub id: WalletId,
    pub balance: i64,
    pub lead_id: LeadId,
    /// False once the lead was deleted: its wallets are closed.
    pub lead_open: bool,
}

/// What [`lock_for_group`] read: the wallets and which of the hashes are stored.
#[derive(Debug, Clone, Default)]
pub struct Locked {
    pub wallets: Vec<LockedWallet>,
    pub hashes_taken: Vec<String>,
}

/// Locks the wallets `ids` (of one merchant and env) in ascending id order, until the
/// transaction ends, and answers their balances and leads with which of `hashes` stored
/// transactions hold. A writer that changes several wallets in one
/// transaction reads them this way, in the global order (merchant, env, wallet id), so
/// writers of several servers never wait on each other in a cycle; SQLite's write
/// transaction already excludes every other writer. A wallet that does not exist is missing
/// from the answer.
pub async fn lock_for_group(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[&WalletId],
    hashes: &[&str],
) -> Result<Locked, StoreError> {
    let mut ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    const LEAD_OPEN: &str = "EXISTS (SELECT 1 FROM leads l WHERE l.merchant_id = w.merchant_id \
         AND l.env = w.env AND l.id = w.lead_id AND l.deleted_at IS NULL)";
    // The hashes are read by a statement of their own, after the locks are held: a statement
    // that waited for a lock still reads with the snapshot it started with, which would miss
    // a hash that the group holding the lock just stored.
    let found: Vec<(String, i64, String, bool)> = if let Some(pg) = conn.postgres() {
        // Rows are locked as the sorted scan hands them out, so in id order.
        sqlx::query_as(&format!(
            "SELECT w.id, w.balance, w.lead_id, {LEAD_OPEN} FROM wallets w \
             WHERE w.merchant_id = $1 AND w.env = $2 AND w.id = ANY($3) ORDER BY w.id FOR UPDATE"
        ))
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(&ids)
        .fetch_all(pg)
        .await?
    } else {
        // One statement for the group (SQLite's write transaction already excludes every
        // other writer).
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut q = crate::query(format!(
                "SELECT w.id, w.balance, w.lead_id, {LEAD_OPEN} AS lead_open FROM wallets w \
                 WHERE w.merchant_id = $1 AND w.env = $2 AND w.id IN ({})",
                numbered(3, chunk.len())
            ))
            .persistent(false)
            .bind(merchant_id.as_str())
            .bind(env.as_str());
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                found.push((
                    row.try_get::<String>("id")?,
                    row.try_get::<i64>("balance")?,
                    row.try_get::<String>("lead_id")?,
                    row.try_get::<bool>("lead_open")?,
                ));
            }
        }
        found
    };
    let hashes_taken = if hashes.is_empty() {
        Vec::new()
    } else if let Some(pg) = conn.postgres() {
        sqlx::query_scalar(
            "SELECT hash FROM wallet_transactions WHERE merchant_id = $1 AND env = $2 \
             AND hash = ANY($3)",
        )
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(hashes)
        .fetch_all(pg)
        .await?
    } else {
        find_by_hashes(conn, merchant_id, env, hashes)
            .await?
            .into_iter()
            .map(|t| t.hash)
            .collect()
    };
    let wallets = found
        .into_iter()
        .map(|(id, balance, lead_id, lead_open)| {
            Ok(LockedWallet {
                id: id
                    .parse::<WalletId>()
                    .map_err(|_| crate::db::bad_value("id", &id))?,
                balance,
                lead_id: lead_id
                    .parse::<LeadId>()
                    .map_err(|_| crate::db::bad_value("lead_id", &lead_id))?,
                lead_open,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Locked {
        wallets,
        hashes_taken,
    })
}

/// Writes a group: records `rows` and sets the balances of the wallets they changed (of any
/// merchant and env, read by [`lock_for_group`] in this transaction); one statement on
/// PostgreSQL however many there are. A hash stored already fails the statement (the unique
/// key on merchant, env and hash), and with it the caller's transaction. The table's check
/// keeps every balance within 0..=MAX_BALANCE whatever the caller computed.
pub async fn write_group(
    conn: &mut Conn,
    rows: &[TransactionRow],
    balances: &[(&MerchantId, Env, &WalletId, i64)],
    now: Timestamp,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let Some(pg) = conn.postgres() else {
        // SQLite: multi-row statements, so a group costs a few statements whatever its size.
        insert_transactions(conn, &rows.iter().collect::<Vec<_>>()).await?;
        for chunk in balances.chunks(ROWS_PER_STATEMENT) {
            let values = rows_of(2, chunk.len(), 4);
            let mut q = crate::query(format!(
                "UPDATE wallets SET balance = v.column4, updated_at = $1 \
                 FROM (VALUES {values}) AS v \
                 WHERE wallets.merchant_id = v.column1 AND wallets.env = v.column2 \
                 AND wallets.id = v.column3"
            ))
            .persistent(false)
            .bind(now);
            for (merchant_id, env, id, balance) in chunk {
                q = q
                    .bind(merchant_id.as_str())
                    .bind(env.as_str())
                    .bind(id.as_str())
                    .bind(*balance);
            }
            q.execute(&mut *conn).await?;
        }
        return Ok(());
    };
    let texts = |f: fn(&TransactionRow) -> &str| rows.iter().map(f).collect::<Vec<_>>();
    let optional = |f: fn(&TransactionRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "WITH recorded AS (INSERT INTO wallet_transactions (merchant_id, env, id, wallet_id, \
             lead_id, kind, amount, balance_after, hash, fingerprint, description, reference, \
             api_key_id, created_at) \
             SELECT m, e, i, w, l, k, a, b, h, f, d, r, key, $14 FROM UNNEST($1::text[], \
             $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], \
             $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[]) \
             AS v(m, e, i, w, l, k, a, b, h, f, d, r, key)) \
         UPDATE wallets AS w SET balance = v.balance, updated_at = $14 \
         FROM UNNEST($15::text[], $16::text[], $17::text[], $18::bigint[]) AS v(m, e, id, balance) \
         WHERE w.merchant_id = v.m AND w.env = v.e AND w.id = v.id",
    )
    .bind(texts(|r| r.merchant_id.as_str()))
    .bind(texts(|r| r.env.as_str()))
    .bind(texts(|r| r.id.as_str()))
    .bind(texts(|r| r.wallet_id.as_str()))
    .bind(texts(|r| r.lead_id.as_str()))
    .bind(texts(|r| r.kind.as_str()))
    .bind(rows.iter().map(|r| r.amount).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.balance_after).collect::<Vec<_>>())
    .bind(texts(|r| r.hash.as_str()))
    .bind(texts(|r| r.fingerprint.as_str()))
    .bind(optional(|r| r.description.as_deref()))
    .bind(optional(|r| r.reference.as_deref()))
    .bind(optional(|r| r.api_key_id.as_deref()))
    .bind(now.datetime())
    .bind(balances.iter().map(|b| b.0.as_str()).collect::<Vec<_>>())
    .bind(balances.iter().map(|b| b.1.as_str()).collect::<Vec<_>>())
    .bind(balances.iter().map(|b| b.2.as_str()).collect::<Vec<_>>())
    .bind(balances.iter().map(|b| b.3).collect::<Vec<_>>())
    .execute(pg)
    .await?;
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
    insert_transactions(conn, &[t]).await
}

/// Transactions written with one statement per [`ROWS_PER_STATEMENT`] of them.
pub async fn insert_transactions(
    conn: &mut Conn,
    rows: &[&TransactionRow],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values = rows_of(1, chunk.len(), 14);
        let mut q = crate::query(format!(
            "INSERT INTO wallet_transactions (merchant_id, env, id, wallet_id, lead_id, kind, \
             amount, balance_after, hash, fingerprint, description, reference, api_key_id, \
             created_at) VALUES {values}"
        ));
        if chunk.len() > 1 {
            q = q.persistent(false);
        }
        for t in chunk {
            q = q
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
                .bind(t.created_at);
        }
        q.execute(&mut *conn).await?;
    }
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
    if let Some(pg) = conn.postgres() {
        let rows = sqlx::query(&format!(
            "SELECT {TX_COLUMNS} FROM wallet_transactions WHERE merchant_id = $1 AND env = $2 \
             AND hash = ANY($3)"
        ))
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(hashes)
        .fetch_all(pg)
        .await?;
        return rows
            .into_iter()
            .map(|r| tx_from_row(&crate::DbRow::Postgres(r)))
            .collect();
    }
    let placeholders = numbered(3, hashes.len());
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

/// A transaction with its wallet's currency and its lead's customer id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionWithLead {
    pub transaction: TransactionRow,
    pub currency_id: CurrencyId,
    pub lead: LeadLabel,
}

/// [`list_transactions`], each with its wallet's currency and its lead (one query, joined).
pub async fn list_transactions_with_leads(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &TransactionFilter,
    after: Option<&str>,
    limit: i64,
    newest_first: bool,
) -> Result<Vec<TransactionWithLead>, StoreError> {
    let (cmp, order, start) = if newest_first {
        ("<", "DESC", after.unwrap_or("~"))
    } else {
        (">", "ASC", after.unwrap_or(""))
    };
    let rows = crate::query(format!(
        "SELECT {}, w.currency_id AS wallet_currency_id, l.customer_id AS lead_customer_id, \
         l.name AS lead_name FROM wallet_transactions t \
         JOIN wallets w ON w.merchant_id = t.merchant_id AND w.id = t.wallet_id \
         JOIN leads l ON l.merchant_id = t.merchant_id AND l.id = t.lead_id \
         WHERE t.merchant_id = $1 AND t.env = $2 AND t.id {cmp} $3 \
         AND ($4 IS NULL OR t.wallet_id = $4) AND ($5 IS NULL OR t.lead_id = $5) AND ($6 IS NULL OR t.kind = $6) \
         ORDER BY t.id {order} LIMIT $7",
        qualified("t", TX_COLUMNS)
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
    rows.iter()
        .map(|r| {
            Ok(TransactionWithLead {
                transaction: tx_from_row(r)?,
                currency_id: crate::db::parsed::<CurrencyId>(r, "wallet_currency_id")?,
                lead: lead_label(r)?,
            })
        })
        .collect()
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

/// One page of an export: transactions written in `[start, end)`, in id order after `after`.
pub async fn export_transactions_page(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    start: Timestamp,
    end: Timestamp,
    after: &str,
    limit: i64,
) -> Result<Vec<TransactionRow>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {TX_COLUMNS} FROM wallet_transactions WHERE merchant_id = $1 AND env = $2 \
         AND id > $3 AND created_at >= $4 AND created_at < $5 ORDER BY id LIMIT $6"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(after)
    .bind(start)
    .bind(end)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(tx_from_row).collect()
}
