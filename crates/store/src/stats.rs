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

/// One figure: counted (and added up) from a table's rows by the UTC day of a moment column.
struct Counted {
    table: &'static str,
    /// The merchant's rows (`$1`).
    owner: &'static str,
    column: &'static str,
    extra: &'static str,
    sum: &'static str,
    apply: fn(&mut DayCounts, i64, i64),
}

const COUNTED: [Counted; 6] = [
    Counted {
        table: "leads",
        owner: "merchant_id = $1",
        column: "created_at",
        extra: "",
        sum: "0",
        apply: |d, n, _| d.leads_added = n,
    },
    Counted {
        table: "wallet_transactions",
        owner: "merchant_id = $1",
        column: "created_at",
        extra: "AND kind = 'reward'",
        sum: "amount",
        apply: |d, n, points| {
            d.rewards = n;
            d.points_rewarded = points;
        },
    },
    Counted {
        table: "coupons",
        owner: "merchant_id = $1",
        column: "created_at",
        extra: "AND mode = 'redeem'",
        sum: "0",
        apply: |d, n, _| d.deals_redeemed = n,
    },
    Counted {
        table: "coupons",
        owner: "merchant_id = $1",
        column: "used_at",
        extra: "AND used_at IS NOT NULL",
        sum: "0",
        apply: |d, n, _| d.coupons_used = n,
    },
    // Swaps the merchant's leads sent, and those they received from a partner's.
    Counted {
        table: "swaps",
        owner: "merchant_id = $1",
        column: "created_at",
        extra: "",
        sum: "0",
        apply: |d, n, _| d.swaps += n,
    },
    Counted {
        table: "swaps",
        owner: "to_merchant_id = $1 AND merchant_id <> $1",
        column: "created_at",
        extra: "",
        sum: "0",
        apply: |d, n, _| d.swaps += n,
    },
];

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
    let mut out: BTreeMap<String, DayCounts> = BTreeMap::new();
    for c in COUNTED {
        let rows = crate::query(format!(
            "SELECT {} AS day, COUNT(*) AS n, CAST(COALESCE(SUM({}), 0) AS BIGINT) AS total \
             FROM {} WHERE {} AND env = $2 AND {} >= $3 AND {} < $4 {} GROUP BY 1",
            day(c.column),
            c.sum,
            c.table,
            c.owner,
            c.column,
            c.column,
            c.extra
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
            (c.apply)(out.entry(day).or_default(), n, total);
        }
    }
    Ok(out)
}
