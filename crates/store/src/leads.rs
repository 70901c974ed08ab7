//! Leads: a merchant's customers, per environment.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, LeadId, MerchantId};

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: LeadId,
    pub customer_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub country: Option<String>,
    pub dob: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A lead as the dashboard names it on a line of another list (a wallet, a swap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadLabel {
    pub customer_id: String,
    pub name: Option<String>,
}

/// The customer ids and names of some of a merchant's leads in one env, in one query.
pub async fn labels(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[&str],
) -> Result<Vec<(LeadId, LeadLabel)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    use sea_query::{Alias, Expr};
    let select = sea_query::Query::select()
        .columns(["id", "customer_id", "name"].map(Alias::new))
        .from(Alias::new("leads"))
        .and_where(Expr::col(Alias::new("merchant_id")).eq(merchant_id.as_str()))
        .and_where(Expr::col(Alias::new("env")).eq(env.as_str()))
        .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()))
        .to_owned();
    let rows = crate::statement(&select).fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                crate::db::parsed::<LeadId>(r, "id")?,
                LeadLabel {
                    customer_id: r.try_get("customer_id")?,
                    name: r.try_get("name")?,
                },
            ))
        })
        .collect()
}

pub(crate) const COLUMNS: &str =
    "merchant_id, env, id, customer_id, name, email, mobile, country, dob, created_at, updated_at";

pub(crate) fn from_row(row: &crate::DbRow) -> Result<LeadRow, StoreError> {
    Ok(LeadRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed::<LeadId>(row, "id")?,
        customer_id: row.try_get("customer_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        mobile: row.try_get("mobile")?,
        country: row.try_get("country")?,
        dob: row.try_get("dob")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
    })
}

pub async fn insert(conn: &mut Conn, l: &LeadRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO leads (merchant_id, env, id, customer_id, name, email, mobile, country, dob, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(l.merchant_id.as_str())
    .bind(l.env.as_str())
    .bind(l.id.as_str())
    .bind(&l.customer_id)
    .bind(&l.name)
    .bind(&l.email)
    .bind(&l.mobile)
    .bind(&l.country)
    .bind(&l.dob)
    .bind(l.created_at)
    .bind(l.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live (not deleted) lead of the merchant in `env`.
pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<LeadRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {COLUMNS} FROM leads WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Filters of a lead list; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    /// Case-insensitive substring of customer id, name, email or mobile.
    pub query: Option<String>,
}

/// One page of live leads in id order after `after`.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &LeadFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<LeadRow>, StoreError> {
    let pattern = filter
        .query
        .as_deref()
        .map(|q| format!("%{}%", escape_like(&q.to_lowercase())));
    let rows = crate::query(format!(
        "SELECT {COLUMNS} FROM leads WHERE merchant_id = $1 AND env = $2 AND deleted_at IS NULL AND id > $3 \
         AND ($4 IS NULL OR customer_id = $4) AND ($5 IS NULL OR email = $5) AND ($6 IS NULL OR mobile = $6) \
         AND ($7 IS NULL OR LOWER(customer_id) LIKE $7 ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE $7 ESCAPE '\\' \
              OR COALESCE(email, '') LIKE $7 ESCAPE '\\' OR COALESCE(mobile, '') LIKE $7 ESCAPE '\\') \
         ORDER BY id LIMIT $8"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(after.unwrap_or(""))
    .bind(&filter.customer_id)
    .bind(&filter.email)
    .bind(&filter.mobile)
    .bind(&pattern)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// `%`, `_` and `\` taken literally in a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes a lead's editable fields; answers whether a live lead was updated.
pub async fn update(conn: &mut Conn, l: &LeadRow) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE leads SET customer_id = $1, name = $2, email = $3, mobile = $4, country = $5, dob = $6, updated_at = $7 \
         WHERE merchant_id = $8 AND env = $9 AND id = $10 AND deleted_at IS NULL",
    )
    .bind(&l.customer_id)
    .bind(&l.name)
    .bind(&l.email)
    .bind(&l.mobile)
    .bind(&l.country)
    .bind(&l.dob)
    .bind(l.updated_at)
    .bind(l.merchant_id.as_str())
    .bind(l.env.as_str())
    .bind(l.id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Erases a lead's personal data and marks it deleted; its wallets and transactions stay so
/// the ledger still adds up. Answers whether a live lead was deleted.
pub async fn erase(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &LeadId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE leads SET customer_id = id, name = NULL, email = NULL, mobile = NULL, country = NULL, dob = NULL, \
         updated_at = $1, deleted_at = $1 \
         WHERE merchant_id = $2 AND env = $3 AND id = $4 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of an export: live leads created in `[start, end)`, in id order after `after`.
pub async fn export_page(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    start: Timestamp,
    end: Timestamp,
    after: &str,
    limit: i64,
) -> Result<Vec<LeadRow>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {COLUMNS} FROM leads WHERE merchant_id = $1 AND env = $2 AND id > $3 \
         AND deleted_at IS NULL AND created_at >= $4 AND created_at < $5 ORDER BY id LIMIT $6"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(after)
    .bind(start)
    .bind(end)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}
