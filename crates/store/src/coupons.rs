//! Vaults of coupon codes and the coupons issued from them. A code belongs to a deal or to a
//! standalone vault ([`CodeOwner`]); both are handed out the same way.
//!
//! Handing out a unique code is one conditional UPDATE of one code row: on PostgreSQL the row is
//! picked with `FOR UPDATE SKIP LOCKED`, so concurrent buyers of one deal take different codes
//! instead of queueing on the same one; SQLite has a single writer and needs no lock hint.

use crate::Conn;
use punchcard_domain::coupons::{CodeKind, CodeOwner, CouponMode, CouponStatus};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CouponCodeId, CouponId, DealId, Env, LeadId, MerchantId, VaultId};

use crate::db::{numbered, rows_of, ROWS_PER_STATEMENT};
use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: CouponCodeId,
    pub owner: CodeOwner,
    pub kind: CodeKind,
    pub value: String,
    pub issued: bool,
    pub issued_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

const CODE_COLUMNS: &str =
    "merchant_id, env, id, deal_id, vault_id, kind, value, issued, issued_at, created_at";

fn decode_err(what: &str) -> StoreError {
    StoreError::from(sqlx::Error::Decode(what.to_string().into()))
}

fn code_from_row(row: &crate::DbRow) -> Result<CodeRow, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(CodeRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed::<CouponCodeId>(row, "id")?,
        owner: owner_of(row)?,
        kind: CodeKind::parse(&kind).map_err(|_| decode_err("bad code kind"))?,
        value: row.try_get("value")?,
        issued: row.try_get::<bool>("issued")?,
        issued_at: row.try_get::<Option<Timestamp>>("issued_at")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

/// The deal or the vault a code row names; a row naming both or neither does not decode.
fn owner_of(row: &crate::DbRow) -> Result<CodeOwner, StoreError> {
    let deal = crate::db::parsed_opt::<DealId>(row, "deal_id")?;
    let vault = crate::db::parsed_opt::<VaultId>(row, "vault_id")?;
    match (deal, vault) {
        (Some(d), None) => Ok(CodeOwner::Deal(d)),
        (None, Some(v)) => Ok(CodeOwner::Vault(v)),
        _ => Err(decode_err("a code belongs to exactly one deal or vault")),
    }
}

/// What a coupon needs to know about a live deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealTerms {
    pub id: DealId,
    pub name: String,
    pub sell_price: i64,
    pub available: bool,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
}

/// A live (not deleted) deal of the merchant in `env`.
pub async fn deal_terms(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    deal_id: &str,
) -> Result<Option<DealTerms>, StoreError> {
    let row = crate::query(
        "SELECT id, name, sell_price, available, starts_at, ends_at FROM deals \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(deal_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(terms_of).transpose()
}

fn terms_of(r: &crate::DbRow) -> Result<DealTerms, StoreError> {
    Ok(DealTerms {
        id: crate::db::parsed::<DealId>(r, "id")?,
        name: r.try_get("name")?,
        sell_price: r.try_get("sell_price")?,
        available: r.try_get::<bool>("available")?,
        starts_at: r.try_get::<Option<Timestamp>>("starts_at")?,
        ends_at: r.try_get::<Option<Timestamp>>("ends_at")?,
    })
}

/// The live deals on offer at `now` (switched on, within their dates), by name.
pub async fn deals_on_offer(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<DealTerms>, StoreError> {
    crate::query(
        "SELECT id, name, sell_price, available, starts_at, ends_at FROM deals \
         WHERE merchant_id = $1 AND env = $2 AND deleted_at IS NULL AND available \
         AND (starts_at IS NULL OR starts_at <= $3) AND (ends_at IS NULL OR ends_at > $3) \
         ORDER BY name, id LIMIT $4",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(terms_of)
    .collect()
}

pub async fn insert_code(conn: &mut Conn, c: &CodeRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO coupon_codes (merchant_id, env, id, deal_id, vault_id, kind, value, issued, issued_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(c.merchant_id.as_str())
    .bind(c.env.as_str())
    .bind(c.id.as_str())
    .bind(c.owner.deal_id().map(DealId::as_str))
    .bind(c.owner.vault_id().map(VaultId::as_str))
    .bind(c.kind.as_str())
    .bind(&c.value)
    .bind(c.issued)
    .bind(c.issued_at)
    .bind(c.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts new codes of one deal or vault, skipping values that already exist; answers how many were
/// inserted. Rows go in batches to stay under the backends' parameter limits.
pub async fn insert_codes_skipping_existing(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    owner: &CodeOwner,
    kind: CodeKind,
    values: &[String],
    now: Timestamp,
) -> Result<u64, StoreError> {
    use sea_query::{Alias, OnConflict};
    let col = |c: &str| Alias::new(c);
    let mut inserted = 0;
    for chunk in values.chunks(100) {
        let mut insert = sea_query::Query::insert();
        insert
            .into_table(col("coupon_codes"))
            .columns(
                [
                    "merchant_id",
                    "env",
                    "id",
                    "deal_id",
                    "vault_id",
                    "kind",
                    "value",
                    "issued",
                    "created_at",
                ]
                .map(col),
            )
            .on_conflict(
                OnConflict::columns(["merchant_id", "env", "value"].map(col))
                    .do_nothing()
                    .to_owned(),
            );
        for v in chunk {
            insert.values_panic([
                merchant_id.as_str().into(),
                env.as_str().into(),
                CouponCodeId::new().to_string().into(),
                owner.deal_id().map(DealId::as_str).into(),
                owner.vault_id().map(VaultId::as_str).into(),
                kind.as_str().into(),
                v.as_str().into(),
                false.into(),
                crate::db::Arg::value(now).into(),
            ]);
        }
        inserted += crate::statement(&insert)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(inserted)
}

/// Which of `values` already exist for the merchant in `env`.
pub async fn existing_values(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    values: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in values.chunks(500) {
        let sql = format!(
            "SELECT value FROM coupon_codes WHERE merchant_id = $1 AND env = $2 AND value IN ({})",
            numbered(3, chunk.len())
        );
        let mut q = crate::query(&sql)
            .bind(merchant_id.as_str())
            .bind(env.as_str());
        for v in chunk {
            q = q.bind(v.as_str());
        }
        found.extend(q.scalars(&mut *conn).await?);
    }
    Ok(found)
}

/// Filters of a code list, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CodeFilter {
    pub deal_id: Option<String>,
    pub vault_id: Option<String>,
    pub kind: Option<CodeKind>,
    pub issued: Option<bool>,
}

pub async fn list_codes(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &CodeFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CodeRow>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {CODE_COLUMNS} FROM coupon_codes WHERE merchant_id = $1 AND env = $2 AND id > $3 \
         AND ($4 IS NULL OR deal_id = $4) AND ($5 IS NULL OR kind = $5) AND ($6 IS NULL OR issued = $6) \
         AND ($8 IS NULL OR vault_id = $8) ORDER BY id LIMIT $7"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(after.unwrap_or(""))
    .bind(&filter.deal_id)
    .bind(filter.kind.map(CodeKind::as_str))
    .bind(filter.issued)
    .bind(limit)
    .bind(&filter.vault_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(code_from_row).collect()
}

/// A deal's or a vault's stock: unique codes left, unique codes handed out, generic codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stock {
    pub unique_available: i64,
    pub unique_issued: i64,
    pub generic: i64,
}

pub async fn stock(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    owner: &CodeOwner,
) -> Result<Stock, StoreError> {
    let (column, owner_id) = owner.column_and_id();
    let row = crate::query(format!(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN kind IN ('code', 'link') AND issued = FALSE THEN 1 ELSE 0 END), 0) AS BIGINT) AS available, \
           CAST(COALESCE(SUM(CASE WHEN kind IN ('code', 'link') AND issued = TRUE THEN 1 ELSE 0 END), 0) AS BIGINT) AS issued, \
           CAST(COALESCE(SUM(CASE WHEN kind IN ('generic_code', 'generic_link') THEN 1 ELSE 0 END), 0) AS BIGINT) AS generic \
         FROM coupon_codes WHERE merchant_id = $1 AND env = $2 AND {column} = $3",
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(owner_id)
    .fetch_one(conn)
    .await?;
    Ok(Stock {
        unique_available: row.try_get("available")?,
        unique_issued: row.try_get("issued")?,
        generic: row.try_get("generic")?,
    })
}

/// The stock of every deal of the merchant in `env` that has codes, by deal id.
pub async fn stock_by_deal(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
) -> Result<Vec<(DealId, Stock)>, StoreError> {
    let rows = crate::query(
        "SELECT deal_id, \
           CAST(SUM(CASE WHEN kind IN ('code', 'link') AND issued = FALSE THEN 1 ELSE 0 END) AS BIGINT) AS available, \
           CAST(SUM(CASE WHEN kind IN ('code', 'link') AND issued = TRUE THEN 1 ELSE 0 END) AS BIGINT) AS issued, \
           CAST(SUM(CASE WHEN kind IN ('generic_code', 'generic_link') THEN 1 ELSE 0 END) AS BIGINT) AS generic \
         FROM coupon_codes WHERE merchant_id = $1 AND env = $2 AND deal_id IS NOT NULL \
         GROUP BY deal_id ORDER BY deal_id",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                crate::db::parsed::<DealId>(r, "deal_id")?,
                Stock {
                    unique_available: r.try_get("available")?,
                    unique_issued: r.try_get("issued")?,
                    generic: r.try_get("generic")?,
                },
            ))
        })
        .collect()
}

/// Hands out one unique code of the deal (marking it issued), or `None` when none is left.
/// Run it inside the write transaction that creates the coupon.
pub async fn claim_unique(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    deal_id: &DealId,
    now: Timestamp,
) -> Result<Option<CodeRow>, StoreError> {
    claim_unique_of(conn, merchant_id, env, "deal_id", &[deal_id.as_str()], now).await
}

/// Hands out one unique code of any of `vaults` (marking it issued), or `None` when none is
/// left: the same claim as a deal's.
pub async fn claim_unique_in_vaults(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    vaults: &[VaultId],
    now: Timestamp,
) -> Result<Option<CodeRow>, StoreError> {
    let ids: Vec<&str> = vaults.iter().map(VaultId::as_str).collect();
    claim_unique_of(conn, merchant_id, env, "vault_id", &ids, now).await
}

async fn claim_unique_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    column: &str,
    owners: &[&str],
    now: Timestamp,
) -> Result<Option<CodeRow>, StoreError> {
    // PostgreSQL: skip rows other buyers hold, then, if all were held, wait for one (its holder
    // may roll back). SQLite: one writer at a time, the first free row is free.
    let locks: &[&str] = match conn.backend() {
        crate::Backend::Postgres => &["FOR UPDATE SKIP LOCKED", "FOR UPDATE"],
        crate::Backend::Sqlite => &[""],
    };
    for lock in locks {
        let claimed = claim_codes(conn, merchant_id, env, column, owners, 1, lock, now).await?;
        if let Some(code) = claimed.into_iter().next() {
            return Ok(Some(code));
        }
    }
    Ok(None)
}

/// Marks up to `count` free unique codes of `owners` issued and answers them, lowest ids
/// first, locking the rows it picks with `lock`.
#[allow(clippy::too_many_arguments)]
async fn claim_codes(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    column: &str,
    owners: &[&str],
    count: i64,
    lock: &str,
    now: Timestamp,
) -> Result<Vec<CodeRow>, StoreError> {
    if owners.is_empty() || count <= 0 {
        return Ok(Vec::new());
    }
    // The codes are picked once, by a CTE (materialized on PostgreSQL): an `IN (subquery)`
    // may be evaluated again for each row it is joined with, and with `SKIP LOCKED` each
    // evaluation can pick other codes, claiming more than `count`. Ordered as the stock index
    // (owner, issued, id) is: a plan that walks the codes in id order instead would step over
    // every code issued before finding a free one.
    let materialized = match conn.backend() {
        crate::Backend::Postgres => "MATERIALIZED",
        crate::Backend::Sqlite => "",
    };
    let list = numbered(5, owners.len());
    let mut q = crate::query(format!(
        "WITH picked AS {materialized} (SELECT id FROM coupon_codes \
           WHERE merchant_id = $2 AND env = $3 AND {column} IN ({list}) AND issued = FALSE \
           AND kind IN ('code', 'link') ORDER BY {column}, issued, id LIMIT $4 {lock}) \
         UPDATE coupon_codes SET issued = TRUE, issued_at = $1 \
         WHERE merchant_id = $2 AND id IN (SELECT id FROM picked) AND issued = FALSE \
         RETURNING {CODE_COLUMNS}"
    ))
    .bind(now)
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(count);
    for o in owners {
        q = q.bind(*o);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    if rows.len() as i64 > count {
        return Err(crate::db::bad_value(
            "issued",
            &format!("{} codes claimed where {count} were asked for", rows.len()),
        ));
    }
    let mut codes = rows
        .iter()
        .map(code_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    codes.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    Ok(codes)
}

/// A generic code of the deal (handed out to everybody), if it has one.
pub async fn generic_code(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    deal_id: &DealId,
) -> Result<Option<CodeRow>, StoreError> {
    generic_code_of(conn, merchant_id, env, "deal_id", &[deal_id.as_str()]).await
}

/// A generic code of any of `vaults`, if one has any.
pub async fn generic_code_in_vaults(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    vaults: &[VaultId],
) -> Result<Option<CodeRow>, StoreError> {
    let ids: Vec<&str> = vaults.iter().map(VaultId::as_str).collect();
    generic_code_of(conn, merchant_id, env, "vault_id", &ids).await
}

async fn generic_code_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    column: &str,
    owners: &[&str],
) -> Result<Option<CodeRow>, StoreError> {
    if owners.is_empty() {
        return Ok(None);
    }
    let list = numbered(3, owners.len());
    let mut q = crate::query(format!(
        "SELECT {CODE_COLUMNS} FROM coupon_codes WHERE merchant_id = $1 AND env = $2 AND {column} IN ({list}) \
         AND kind IN ('generic_code', 'generic_link') ORDER BY id LIMIT 1"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str());
    for o in owners {
        q = q.bind(*o);
    }
    let row = q.fetch_optional(conn).await?;
    row.as_ref().map(code_from_row).transpose()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: CouponId,
    pub deal_id: DealId,
    pub lead_id: LeadId,
    pub code_id: CouponCodeId,
    pub code_kind: CodeKind,
    pub code: String,
    pub mode: CouponMode,
    pub currency_id: Option<String>,
    pub wallet_id: Option<String>,
    pub points: i64,
    pub status: CouponStatus,
    pub hash: String,
    pub fingerprint: String,
    pub api_key_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
}

const COUPON_COLUMNS: &str = "merchant_id, env, id, deal_id, lead_id, code_id, code_kind, code, mode, currency_id, \
     wallet_id, points, status, hash, fingerprint, api_key_id, created_at, updated_at, used_at, cancelled_at";

fn coupon_from_row(row: &crate::DbRow) -> Result<CouponRow, StoreError> {
    let ts = |col: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<Timestamp>>(col)
    };
    let kind: String = row.try_get("code_kind")?;
    let mode: String = row.try_get("mode")?;
    let status: String = row.try_get("status")?;
    Ok(CouponRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed::<CouponId>(row, "id")?,
        deal_id: crate::db::parsed::<DealId>(row, "deal_id")?,
        lead_id: crate::db::parsed::<LeadId>(row, "lead_id")?,
        code_id: crate::db::parsed::<CouponCodeId>(row, "code_id")?,
        code_kind: CodeKind::parse(&kind).map_err(|_| decode_err("bad code kind"))?,
        code: row.try_get("code")?,
        mode: CouponMode::parse(&mode).map_err(|_| decode_err("bad coupon mode"))?,
        currency_id: row.try_get("currency_id")?,
        wallet_id: row.try_get("wallet_id")?,
        points: row.try_get("points")?,
        status: CouponStatus::parse(&status).ok_or_else(|| decode_err("bad coupon status"))?,
        hash: row.try_get("hash")?,
        fingerprint: row.try_get("fingerprint")?,
        api_key_id: row.try_get("api_key_id")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
        used_at: ts("used_at")?,
        cancelled_at: ts("cancelled_at")?,
    })
}

pub async fn insert_coupon(conn: &mut Conn, c: &CouponRow) -> Result<(), StoreError> {
    insert_coupons(conn, &[c]).await
}

/// Coupons written with one statement per [`ROWS_PER_STATEMENT`] of them.
pub async fn insert_coupons(conn: &mut Conn, coupons: &[&CouponRow]) -> Result<(), StoreError> {
    for chunk in coupons.chunks(ROWS_PER_STATEMENT) {
        let values = rows_of(1, chunk.len(), 20);
        let mut q = crate::query(format!(
            "INSERT INTO coupons (merchant_id, env, id, deal_id, lead_id, code_id, code_kind, code, \
             mode, currency_id, wallet_id, points, status, hash, fingerprint, api_key_id, \
             created_at, updated_at, used_at, cancelled_at) VALUES {values}"
        ));
        if chunk.len() > 1 {
            q = q.persistent(false);
        }
        for c in chunk {
            q = q
                .bind(c.merchant_id.as_str())
                .bind(c.env.as_str())
                .bind(c.id.as_str())
                .bind(c.deal_id.as_str())
                .bind(c.lead_id.as_str())
                .bind(c.code_id.as_str())
                .bind(c.code_kind.as_str())
                .bind(&c.code)
                .bind(c.mode.as_str())
                .bind(&c.currency_id)
                .bind(&c.wallet_id)
                .bind(c.points)
                .bind(c.status.as_str())
                .bind(&c.hash)
                .bind(&c.fingerprint)
                .bind(&c.api_key_id)
                .bind(c.created_at)
                .bind(c.updated_at)
                .bind(c.used_at)
                .bind(c.cancelled_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The coupons of a merchant and env that hold any of `hashes`.
pub async fn find_coupons_by_hashes(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    hashes: &[&str],
) -> Result<Vec<CouponRow>, StoreError> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(ROWS_PER_STATEMENT) {
        let mut q = crate::query(format!(
            "SELECT {COUPON_COLUMNS} FROM coupons WHERE merchant_id = $1 AND env = $2 \
             AND hash IN ({})",
            numbered(3, chunk.len())
        ))
        .persistent(false)
        .bind(merchant_id.as_str())
        .bind(env.as_str());
        for h in chunk {
            q = q.bind(*h);
        }
        for row in q.fetch_all(&mut *conn).await? {
            found.push(coupon_from_row(&row)?);
        }
    }
    Ok(found)
}

/// Hands out up to `count` unique codes of a deal (marking them issued) in one statement,
/// lowest ids first, as that many claims one after the other would; on PostgreSQL codes that
/// other buyers hold are skipped. Fewer come back when fewer are free.
pub async fn claim_unique_many(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    deal_id: &DealId,
    count: i64,
    now: Timestamp,
) -> Result<Vec<CodeRow>, StoreError> {
    let lock = match conn.backend() {
        crate::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        crate::Backend::Sqlite => "",
    };
    let owners = [deal_id.as_str()];
    claim_codes(conn, merchant_id, env, "deal_id", &owners, count, lock, now).await
}

pub async fn find_coupon(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<CouponRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {COUPON_COLUMNS} FROM coupons WHERE merchant_id = $1 AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(coupon_from_row).transpose()
}

pub async fn find_coupon_by_hash(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    hash: &str,
) -> Result<Option<CouponRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {COUPON_COLUMNS} FROM coupons WHERE merchant_id = $1 AND env = $2 AND hash = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(coupon_from_row).transpose()
}

/// Filters of a coupon list, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CouponFilter {
    pub lead_id: Option<String>,
    pub deal_id: Option<String>,
    pub status: Option<CouponStatus>,
    pub code: Option<String>,
}

/// One page of coupons in id (issue) order, after `after`.
pub async fn list_coupons(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &CouponFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CouponRow>, StoreError> {
    select_coupons(
        conn,
        merchant_id,
        env,
        filter,
        "id > $3",
        "id",
        after,
        limit,
    )
    .await
}

/// One page of coupons newest first, before `before` (the dashboard's order).
pub async fn list_coupons_newest(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &CouponFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<CouponRow>, StoreError> {
    select_coupons(
        conn,
        merchant_id,
        env,
        filter,
        "($3 = '' OR id < $3)",
        "id DESC",
        before,
        limit,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn select_coupons(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &CouponFilter,
    bound: &str,
    order: &str,
    from: Option<&str>,
    limit: i64,
) -> Result<Vec<CouponRow>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {COUPON_COLUMNS} FROM coupons WHERE merchant_id = $1 AND env = $2 AND {bound} \
         AND ($4 IS NULL OR lead_id = $4) AND ($5 IS NULL OR deal_id = $5) AND ($6 IS NULL OR status = $6) \
         AND ($7 IS NULL OR code = $7) ORDER BY {order} LIMIT $8"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(from.unwrap_or(""))
    .bind(&filter.lead_id)
    .bind(&filter.deal_id)
    .bind(filter.status.map(CouponStatus::as_str))
    .bind(&filter.code)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(coupon_from_row).collect()
}

/// Moves an issued coupon to `used` or `cancelled`; answers the updated coupon, or `None`
/// when it was not `issued` any more (or does not exist).
pub async fn finish_coupon(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
    to: CouponStatus,
    now: Timestamp,
) -> Result<Option<CouponRow>, StoreError> {
    let column = match to {
        CouponStatus::Used => "used_at",
        CouponStatus::Cancelled => "cancelled_at",
        CouponStatus::Issued => return Ok(None),
    };
    let row = crate::query(format!(
        "UPDATE coupons SET status = $1, {column} = $2, updated_at = $2 \
         WHERE merchant_id = $3 AND env = $4 AND id = $5 AND status = 'issued' \
         RETURNING {COUPON_COLUMNS}"
    ))
    .bind(to.as_str())
    .bind(now)
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(coupon_from_row).transpose()
}

/// One code of the merchant in `env`, by id.
pub async fn find_code(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<CodeRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {CODE_COLUMNS} FROM coupon_codes WHERE merchant_id = $1 AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(code_from_row).transpose()
}

/// One page of an export: coupons issued in `[start, end)`, in id order after `after`.
pub async fn export_coupons_page(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    start: Timestamp,
    end: Timestamp,
    after: &str,
    limit: i64,
) -> Result<Vec<CouponRow>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {COUPON_COLUMNS} FROM coupons WHERE merchant_id = $1 AND env = $2 \
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
    rows.iter().map(coupon_from_row).collect()
}
