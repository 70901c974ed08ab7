//! A campaign's report, counted from its interactions in cells: one per UTC hour, outcome,
//! refusal code and vault. Hours that have closed are counted once into
//! `campaign_report_hours`; the report reads those cells and counts only the interactions
//! since, so it reads a bounded number of rows however many interactions a campaign has. Only
//! the expression naming a row's hour is the engine's own (SQLite keeps a time as RFC 3339
//! text, PostgreSQL as `timestamptz`).

use punchcard_domain::time::Timestamp;
use punchcard_domain::{CampaignId, MerchantId};

use crate::{Backend, Conn, DbRow, StoreError};

/// Interactions counted by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub interactions: i64,
    pub awarded: i64,
    pub out_of_vouchers: i64,
    pub errors: i64,
    pub exceptions: i64,
    /// Points moved by the awards, signed as in the ledger (negative for a redeem rule).
    pub points_awarded: i64,
}

impl OutcomeCounts {
    /// Adds a cell's interactions to the counts of its outcome.
    pub fn add(&mut self, cell: &Cell) {
        self.interactions += cell.interactions;
        match cell.outcome.as_str() {
            "awarded" => {
                self.awarded += cell.interactions;
                self.points_awarded += cell.points;
            }
            "out_of_vouchers" => self.out_of_vouchers += cell.interactions,
            "error" => self.errors += cell.interactions,
            _ => self.exceptions += cell.interactions,
        }
    }
}

/// A campaign's interactions of one outcome, refusal code and vault, counted in one hour (or
/// over all hours, where the hour is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub hour: Option<Timestamp>,
    pub outcome: String,
    /// Empty when none.
    pub error_code: String,
    /// The vault the voucher came from; empty when none.
    pub vault_id: String,
    pub interactions: i64,
    pub points: i64,
}

fn cell(row: &DbRow, with_hour: bool) -> Result<Cell, StoreError> {
    Ok(Cell {
        hour: if with_hour {
            Some(row.try_get("hour")?)
        } else {
            None
        },
        outcome: row.try_get("outcome")?,
        error_code: row.try_get("error_code")?,
        vault_id: row.try_get("vault_id")?,
        interactions: row.try_get("interactions")?,
        points: row.try_get("points")?,
    })
}

/// The expression naming the UTC hour a row's `created_at` falls in, as the moment it starts.
fn hour_of(backend: Backend) -> &'static str {
    match backend {
        // `2026-01-31T14:05:09.000000Z`: the hour is a prefix.
        Backend::Sqlite => "(substr(created_at, 1, 13) || ':00:00.000000Z')",
        Backend::Postgres => {
            "(date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
        }
    }
}

/// The cells of a campaign's interactions created at or after `from`, `to` excluded when
/// given: `SELECT … FROM campaign_interactions … GROUP BY` the cell's key, so an insert can
/// take it as it is.
fn cells_sql(backend: Backend, with_env: bool, to: bool) -> String {
    let hour = hour_of(backend);
    let (env, env_group) = if with_env {
        (
            "merchant_id, env, campaign_id, ",
            "merchant_id, env, campaign_id, ",
        )
    } else {
        ("", "")
    };
    let until = if to { " AND created_at < $4" } else { "" };
    format!(
        "SELECT {env}{hour} AS hour, outcome, COALESCE(error_code, '') AS error_code, \
           COALESCE(vault_id, '') AS vault_id, CAST(COUNT(*) AS BIGINT) AS interactions, \
           CAST(COALESCE(SUM(points), 0) AS BIGINT) AS points \
         FROM campaign_interactions \
         WHERE merchant_id = $1 AND campaign_id = $2 AND created_at >= $3{until} \
         GROUP BY {env_group}{hour}, outcome, COALESCE(error_code, ''), COALESCE(vault_id, '')"
    )
}

/// The start of the first hour not counted into `campaign_report_hours` yet; `None` when none
/// was.
pub async fn counted_until(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
) -> Result<Option<Timestamp>, StoreError> {
    crate::query(
        "SELECT counted_until FROM campaign_report_marks WHERE merchant_id = $1 AND campaign_id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .scalar_optional(conn)
    .await
}

/// Counts the campaign's interactions of the hours before `until` (an hour's start) that are
/// not counted yet into `campaign_report_hours`, and moves its mark to `until`. Run in a
/// transaction: the mark is locked first, so two servers counting at once count each hour
/// once. Answers the mark as it is after.
pub async fn count_hours(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    until: Timestamp,
) -> Result<Timestamp, StoreError> {
    let never = Timestamp::from_datetime(time::OffsetDateTime::UNIX_EPOCH);
    crate::query(
        "INSERT INTO campaign_report_marks (merchant_id, campaign_id, counted_until) \
         VALUES ($1, $2, $3) ON CONFLICT (merchant_id, campaign_id) DO NOTHING",
    )
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .bind(never)
    .execute(&mut *conn)
    .await?;
    // SQLite has one writer at a time: the transaction is the lock.
    let lock = match conn.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let from: Timestamp = crate::query(format!(
        "SELECT counted_until FROM campaign_report_marks \
         WHERE merchant_id = $1 AND campaign_id = $2{lock}"
    ))
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .scalar(&mut *conn)
    .await?;
    if from >= until {
        return Ok(from);
    }
    crate::query(format!(
        "INSERT INTO campaign_report_hours \
           (merchant_id, env, campaign_id, hour, outcome, error_code, vault_id, interactions, points) {}",
        cells_sql(conn.backend(), true, true)
    ))
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .bind(from)
    .bind(until)
    .execute(&mut *conn)
    .await?;
    crate::query(
        "UPDATE campaign_report_marks SET counted_until = $3 \
         WHERE merchant_id = $1 AND campaign_id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .bind(until)
    .execute(conn)
    .await?;
    Ok(until)
}

/// The counted cells of a campaign's hours before `before`, summed over the hours: one per
/// outcome, code and vault.
pub async fn counted_totals(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    before: Timestamp,
) -> Result<Vec<Cell>, StoreError> {
    crate::query(
        "SELECT outcome, error_code, vault_id, \
           CAST(SUM(interactions) AS BIGINT) AS interactions, CAST(SUM(points) AS BIGINT) AS points \
         FROM campaign_report_hours WHERE merchant_id = $1 AND campaign_id = $2 AND hour < $3 \
         GROUP BY outcome, error_code, vault_id",
    )
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .bind(before)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| cell(r, false))
    .collect()
}

/// The counted cells of a campaign's hours from `since` on, before `before`.
pub async fn counted_hours(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    since: Timestamp,
    before: Timestamp,
) -> Result<Vec<Cell>, StoreError> {
    crate::query(
        "SELECT hour, outcome, error_code, vault_id, interactions, points \
         FROM campaign_report_hours \
         WHERE merchant_id = $1 AND campaign_id = $2 AND hour >= $3 AND hour < $4",
    )
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .bind(since)
    .bind(before)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| cell(r, true))
    .collect()
}

/// The cells of a campaign's interactions from `from` on, counted now from the interactions
/// (the hours not counted into `campaign_report_hours` yet).
pub async fn uncounted_hours(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    from: Timestamp,
) -> Result<Vec<Cell>, StoreError> {
    crate::query(cells_sql(conn.backend(), false, false))
        .bind(merchant_id.as_str())
        .bind(campaign_id.as_str())
        .bind(from)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| cell(r, true))
        .collect()
}

/// The campaigns that have interactions not counted into hours before `until`: those with a
/// mark behind it, and those with interactions and no mark yet.
pub async fn behind(
    conn: &mut Conn,
    until: Timestamp,
) -> Result<Vec<(MerchantId, CampaignId)>, StoreError> {
    let rows = crate::query(
        "SELECT c.merchant_id, c.id FROM campaigns c \
         LEFT JOIN campaign_report_marks m ON m.merchant_id = c.merchant_id AND m.campaign_id = c.id \
         WHERE (m.counted_until IS NULL OR m.counted_until < $1) \
           AND EXISTS (SELECT 1 FROM campaign_interactions i \
             WHERE i.merchant_id = c.merchant_id AND i.campaign_id = c.id \
               AND i.created_at >= COALESCE(m.counted_until, $2) AND i.created_at < $1) \
         ORDER BY c.merchant_id, c.id",
    )
    .bind(until)
    .bind(Timestamp::from_datetime(time::OffsetDateTime::UNIX_EPOCH))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                crate::db::parsed(r, "merchant_id")?,
                crate::db::parsed(r, "id")?,
            ))
        })
        .collect()
}

/// Drops a campaign's kept cells and its mark, so that the next report counts every hour from
/// its interactions again (after interactions were written into hours already counted, as an
/// import of past interactions does).
pub async fn recount(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
) -> Result<(), StoreError> {
    for table in ["campaign_report_hours", "campaign_report_marks"] {
        crate::query(format!(
            "DELETE FROM {table} WHERE merchant_id = $1 AND campaign_id = $2"
        ))
        .bind(merchant_id.as_str())
        .bind(campaign_id.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
