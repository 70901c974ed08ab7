//! Messages and promos, the segments they go to, and their deliveries to leads.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CampaignId, CurrencyId, DealId, Env, LeadId, MemberId, MerchantId, MessageId, StoreId,
};

use crate::{Conn, DbRow, StoreError};

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    All,
    /// Leads holding an unused coupon of the deal.
    DealCoupon(DealId),
    /// Leads with at least this balance in the currency.
    MinBalance(CurrencyId, i64),
    /// Leads who completed the task at least once.
    TaskCompleted(CampaignId),
    /// Leads whose birthday is in this month (1–12).
    BirthdayMonth(u8),
    /// Leads who joined at the store's code or were served at its counter.
    Store(StoreId),
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: MessageId,
    /// `message` or `promo`.
    pub kind: String,
    pub text: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub url: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    /// The segment as the API takes it (JSON).
    pub segment: String,
    /// `queued`, `sending` or `sent`.
    pub status: String,
    pub recipients: i64,
    pub delivered: i64,
    pub cursor: Option<String>,
    pub member_id: Option<MemberId>,
    pub store_id: Option<StoreId>,
    pub api_key_id: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

const COLUMNS: &str = "merchant_id, env, id, kind, text, title, body, url, image_url, video_url, \
     segment, status, recipients, delivered, cursor, member_id, store_id, api_key_id, created_at, sent_at";

fn message_of(row: &DbRow) -> Result<MessageRow, StoreError> {
    Ok(MessageRow {
        merchant_id: crate::db::parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed(row, "id")?,
        kind: row.try_get("kind")?,
        text: row.try_get("text")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        url: row.try_get("url")?,
        image_url: row.try_get("image_url")?,
        video_url: row.try_get("video_url")?,
        segment: row.try_get("segment")?,
        status: row.try_get("status")?,
        recipients: row.try_get("recipients")?,
        delivered: row.try_get("delivered")?,
        cursor: row.try_get("cursor")?,
        member_id: crate::db::parsed_opt(row, "member_id")?,
        store_id: crate::db::parsed_opt(row, "store_id")?,
        api_key_id: row.try_get("api_key_id")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

pub async fn insert(conn: &mut Conn, m: &MessageRow) -> Result<(), StoreError> {
    crate::query(format!(
        "INSERT INTO messages ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    ))
    .bind(m.merchant_id.as_str())
    .bind(m.env.as_str())
    .bind(m.id.as_str())
    .bind(m.kind.as_str())
    .bind(m.text.clone())
    .bind(m.title.clone())
    .bind(m.body.clone())
    .bind(m.url.clone())
    .bind(m.image_url.clone())
    .bind(m.video_url.clone())
    .bind(m.segment.as_str())
    .bind(m.status.as_str())
    .bind(m.recipients)
    .bind(m.delivered)
    .bind(m.cursor.clone())
    .bind(m.member_id.as_ref().map(|s| s.to_string()))
    .bind(m.store_id.as_ref().map(|s| s.to_string()))
    .bind(m.api_key_id.clone())
    .bind(m.created_at)
    .bind(m.sent_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> Result<Option<MessageRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {COLUMNS} FROM messages WHERE merchant_id = $1 AND env = $2 AND id = $3"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(message_of).transpose()
}

/// Messages newest first, before `before` (an id) when given; of one store when asked.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    store_id: Option<&StoreId>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM messages WHERE merchant_id = $1 AND env = $2");
    let mut n = 2;
    if store_id.is_some() {
        n += 1;
        sql.push_str(&format!(" AND store_id = ${n}"));
    }
    if before.is_some() {
        n += 1;
        sql.push_str(&format!(" AND id < ${n}"));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
    let mut q = crate::query(sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str());
    if let Some(s) = store_id {
        q = q.bind(s.as_str());
    }
    if let Some(b) = before {
        q = q.bind(b);
    }
    q.bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(message_of)
        .collect()
}

/// The segment's condition on `leads l` (live leads of `$1`, `$2`), with its own values
/// bound from `$4` on (`$3` is the cursor).
fn segment_condition(segment: &Segment) -> (&'static str, Vec<String>, Option<i64>) {
    match segment {
        Segment::All => ("", vec![], None),
        Segment::DealCoupon(deal) => (
            "AND EXISTS (SELECT 1 FROM coupons c WHERE c.merchant_id = l.merchant_id \
             AND c.env = l.env AND c.lead_id = l.id AND c.deal_id = $4 AND c.status = 'issued')",
            vec![deal.to_string()],
            None,
        ),
        Segment::MinBalance(currency, min) => (
            "AND EXISTS (SELECT 1 FROM wallets w WHERE w.merchant_id = l.merchant_id \
             AND w.env = l.env AND w.lead_id = l.id AND w.currency_id = $4 AND w.balance >= $5)",
            vec![currency.to_string()],
            Some(*min),
        ),
        Segment::TaskCompleted(task) => (
            "AND EXISTS (SELECT 1 FROM task_progress p WHERE p.merchant_id = l.merchant_id \
             AND p.campaign_id = $4 AND p.lead_id = l.id AND p.completions > 0)",
            vec![task.to_string()],
            None,
        ),
        Segment::BirthdayMonth(month) => (
            "AND l.dob IS NOT NULL AND substr(l.dob, 6, 2) = $4",
            vec![format!("{month:02}")],
            None,
        ),
        Segment::Store(store) => (
            "AND EXISTS (SELECT 1 FROM counter_actions a WHERE a.merchant_id = l.merchant_id \
             AND a.env = l.env AND a.store_id = $4 AND a.lead_id = l.id)",
            vec![store.to_string()],
            None,
        ),
    }
}

/// How many live leads the segment holds now.
pub async fn count_segment(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    segment: &Segment,
) -> Result<i64, StoreError> {
    let (condition, texts, number) = segment_condition(segment);
    let mut q = crate::query(format!(
        "SELECT COUNT(*) AS n FROM leads l WHERE l.merchant_id = $1 AND l.env = $2 \
         AND l.deleted_at IS NULL AND l.id > $3 {condition}"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind("");
    for t in texts {
        q = q.bind(t);
    }
    if let Some(n) = number {
        q = q.bind(n);
    }
    let row = q.fetch_one(conn).await?;
    row.try_get("n")
}

/// The next `limit` leads of the segment after `cursor`, in id order.
pub async fn segment_page(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    segment: &Segment,
    cursor: &str,
    limit: i64,
) -> Result<Vec<LeadId>, StoreError> {
    let (condition, texts, number) = segment_condition(segment);
    let limit_at = 4 + texts.len() + usize::from(number.is_some());
    let mut q = crate::query(format!(
        "SELECT l.id FROM leads l WHERE l.merchant_id = $1 AND l.env = $2 \
         AND l.deleted_at IS NULL AND l.id > $3 {condition} ORDER BY l.id LIMIT ${limit_at}"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(cursor);
    for t in texts {
        q = q.bind(t);
    }
    if let Some(n) = number {
        q = q.bind(n);
    }
    q.bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| crate::db::parsed(r, "id"))
        .collect()
}

/// Starts sending: the recipients as counted now, status `sending`. `false` when it had
/// started already.
pub async fn start(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &MessageId,
    recipients: i64,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE messages SET status = 'sending', recipients = $3 \
         WHERE merchant_id = $1 AND id = $2 AND status = 'queued'",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(recipients)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Delivers to `leads` (those not reached yet), and moves the cursor past them. Answers how
/// many were new.
pub async fn deliver(
    conn: &mut Conn,
    message: &MessageRow,
    leads: &[LeadId],
    now: Timestamp,
) -> Result<i64, StoreError> {
    let mut added = 0;
    for lead in leads {
        let done = crate::query(
            "INSERT INTO message_deliveries (merchant_id, env, message_id, lead_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(message.merchant_id.as_str())
        .bind(message.env.as_str())
        .bind(message.id.as_str())
        .bind(lead.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        added += done.rows_affected() as i64;
    }
    if let Some(last) = leads.last() {
        crate::query(
            "UPDATE messages SET delivered = delivered + $3, cursor = $4 \
             WHERE merchant_id = $1 AND id = $2",
        )
        .bind(message.merchant_id.as_str())
        .bind(message.id.as_str())
        .bind(added)
        .bind(last.as_str())
        .execute(conn)
        .await?;
    }
    Ok(added)
}

/// Marks a message sent: every lead of its segment was reached.
pub async fn finish(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &MessageId,
    now: Timestamp,
) -> Result<(), StoreError> {
    crate::query(
        "UPDATE messages SET status = 'sent', sent_at = $3, recipients = delivered \
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The messages a lead received, newest first.
pub async fn of_lead(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    lead_id: &LeadId,
    limit: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("m.{c}")).collect();
    crate::query(format!(
        "SELECT {} FROM message_deliveries d JOIN messages m \
         ON m.merchant_id = d.merchant_id AND m.id = d.message_id \
         WHERE d.merchant_id = $1 AND d.env = $2 AND d.lead_id = $3 \
         ORDER BY d.message_id DESC LIMIT $4",
        columns.join(", ")
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(lead_id.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(message_of)
    .collect()
}

/// Leads reached per UTC day in `[from, to)` (of messages sent at one store when asked).
pub async fn reach_by_day(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    store_id: Option<&StoreId>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(String, i64)>, StoreError> {
    let day = match conn.backend() {
        crate::Backend::Postgres => "to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        crate::Backend::Sqlite => "substr(d.created_at, 1, 10)",
    };
    let store = if store_id.is_some() {
        "AND m.store_id = $5"
    } else {
        ""
    };
    let mut q = crate::query(format!(
        "SELECT {day} AS day, COUNT(*) AS n FROM message_deliveries d JOIN messages m \
         ON m.merchant_id = d.merchant_id AND m.id = d.message_id \
         WHERE d.merchant_id = $1 AND d.env = $2 AND d.created_at >= $3 AND d.created_at < $4 \
         {store} GROUP BY 1"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(from)
    .bind(to);
    if let Some(s) = store_id {
        q = q.bind(s.as_str());
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("day")?, r.try_get("n")?)))
        .collect()
}
