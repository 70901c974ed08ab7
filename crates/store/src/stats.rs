//! The overview's figures: what a merchant's environment did per UTC day (leads added,
//! rewards and the points they gave, deals redeemed with points, coupons used, swaps).

use std::collections::BTreeMap;

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId};

use crate::{Backend, Conn, StoreError};

/// The counts of one UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub leads_added: i64,
    pub rewards: i64,
    pub points_rewarded: i64,
    pub deals_redeemed: i64,
    pub coupons_used: i64,
    pub swaps: i64,
}

/// The counts of every day in `[from, to)` that has any, keyed by `YYYY-MM-DD` (UTC).
pub async fn daily(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    from: Timestamp,
    to: Timestamp,
) -> Result<BTreeMap<String, DayCounts>, StoreError> {
    // The UTC day of a moment column: SQLite keeps fixed-width RFC 3339 text in UTC.
    let backend = conn.backend();
    let day = |column: &str| match backend {
        Backend::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        Backend::Sqlite => format!("substr({column}, 1, 10)"),
    };
    // (table, moment column, extra condition, what to add up besides the count)
    let queries: [(&str, &str, &str, &str, fn(&mut DayCounts, i64, i64)); 6] = [
        ("leads", "created_at", "", "0", |d, n, _| d.leads_added = n),
        (
            "wallet_transactions",
            "created_at",
            "AND kind = 'reward'",
            "amount",
            |d, n, s| {
                d.rewards = n;
                d.points_rewarded = s;
            },
        ),
        (
            "coupons",
            "created_at",
            "AND mode = 'redeem'",
            "0",
            |d, n, _| d.deals_redeemed = n,
        ),
        (
            "coupons",
            "used_at",
            "AND used_at IS NOT NULL",
            "0",
            |d, n, _| d.coupons_used = n,
        ),
        ("swaps", "created_at", "", "0", |d, n, _| d.swaps = n),
        // Swaps the merchant's leads received from a partner's.
        ("swaps", "created_at", "", "0", |d, n, _| d.swaps += n),
    ];
    let mut out: BTreeMap<String, DayCounts> = BTreeMap::new();
    for (i, (table, column, extra, sum, apply)) in queries.into_iter().enumerate() {
        let owner = if i == 5 {
            "to_merchant_id = $1 AND merchant_id <> $1"
        } else {
            "merchant_id = $1"
        };
        let rows = crate::query(format!(
            "SELECT {} AS day, COUNT(*) AS n, CAST(COALESCE(SUM({sum}), 0) AS BIGINT) AS total \
             FROM {table} WHERE {owner} AND env = $2 AND {column} >= $3 AND {column} < $4 {extra} \
             GROUP BY 1",
            day(column)
        ))
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?;
        for row in rows {
            let day: String = row.try_get("day")?;
            let (n, total): (i64, i64) = (row.try_get("n")?, row.try_get("total")?);
            apply(out.entry(day).or_default(), n, total);
        }
    }
    Ok(out)
}
