//! Campaigns of every kind in one table (a kind of the catalog skeleton), the API keys that
//! may trigger a rule, and the interactions: every trigger, whatever its outcome.

use punchcard_domain::campaigns::{
    CalendarDate, CampaignKind, CampaignStatus, Direction, Occasion, Period, Rate, TaskReward,
    ARCHIVE_AFTER,
};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    ApiKeyId, CampaignId, CurrencyId, DealId, Env, InteractionId, LeadId, MerchantId,
};
use sea_query::{Alias, Cond, Expr, Order, SimpleExpr, Value};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row as _;

use crate::catalog::{catalog_row, is, Kind};
use crate::db::{parsed, parsed_opt, Arg, Column};
use crate::{Conn, DbRow, StoreError};

catalog_row! {
    /// A campaign as stored: the fields every kind shares, then each kind's own (`None` for
    /// the kinds that have no use for them).
    pub struct CampaignRow(CampaignId) in "campaigns" exact ["rate"] {
        kind: CampaignKind,
        name: String,
        starts_at: Option<Timestamp>,
        ends_at: Option<Timestamp>,
        /// Switched on: a rule activated, a campaign not paused.
        active: bool,
        max_per_lead: Option<i64>,
        /// The most points it may award in all; `None` is no budget.
        budget: Option<i64>,
        /// Points awarded so far, burned in each award's transaction.
        budget_used: i64,
        /// Rules: earn or redeem.
        direction: Option<Direction>,
        currency_id: Option<CurrencyId>,
        /// Rules: fixed points per trigger, or …
        points: Option<i64>,
        /// … points per unit of the trigger's amount, at most `cap_max`.
        rate: Option<Rate>,
        cap_max: Option<i64>,
        /// Tasks: points or a deal's coupon.
        reward: Option<TaskReward>,
        /// Tasks: the activities that complete one; surprises: claims per lead per occasion.
        count: Option<i64>,
        /// Tasks rewarding points: a random amount in `[min_reward, max_reward]`.
        min_reward: Option<i64>,
        max_reward: Option<i64>,
        /// The deal whose coupon a task or a surprise gives.
        deal_id: Option<DealId>,
        /// Tasks: the window progress counts in.
        period: Option<Period>,
        /// Surprises: a custom date or the lead's birthday, …
        occasion: Option<Occasion>,
        /// … and the custom date.
        occasion_date: Option<CalendarDate>,
    }
}

/// Optional conditions of a campaign list.
#[derive(Debug, Clone)]
pub struct CampaignFilter {
    pub kind: Option<CampaignKind>,
    /// `None` lists every status but `archived`.
    pub status: Option<CampaignStatus>,
    /// The clock the status is computed with.
    pub now: Timestamp,
}

impl Kind for CampaignRow {
    type Filter = CampaignFilter;
    const ON_DELETE: &'static [(&'static str, bool)] = &[("active", false)];

    fn condition(f: &CampaignFilter, merchant_id: &MerchantId) -> Cond {
        let c = |n: &str| Expr::col(Alias::new(n));
        let archive_line = f.now.minus(ARCHIVE_AFTER);
        let ended = Cond::all()
            .add(c("ends_at").is_not_null())
            .add(c("ends_at").lte(f.now.value()));
        let archived = Cond::all()
            .add(c("ends_at").is_not_null())
            .add(c("ends_at").lte(archive_line.value()));
        // The same rules as `punchcard_domain::campaigns::status`, as a condition: a rule
        // needs an authorized key, a voucher campaign a linked vault and a live integration.
        let linked = |table: &str| {
            sea_query::Query::select()
                .column(Alias::new("campaign_id"))
                .from(Alias::new(table))
                .and_where(is("merchant_id", merchant_id.as_str()))
                .to_owned()
        };
        let configured = Cond::any()
            .add(
                Cond::all()
                    .add(c("kind").ne(CampaignKind::Rule.as_str()))
                    .add(c("kind").ne(CampaignKind::Voucher.as_str())),
            )
            .add(
                Cond::all()
                    .add(is("kind", CampaignKind::Rule.as_str()))
                    .add(c("id").in_subquery(linked("campaign_keys"))),
            )
            .add(
                Cond::all()
                    .add(is("kind", CampaignKind::Voucher.as_str()))
                    .add(c("id").in_subquery(linked("campaign_vaults")))
                    .add(
                        c("id").in_subquery(
                            linked("campaign_integrations")
                                .and_where(is("status", "live"))
                                .to_owned(),
                        ),
                    ),
            );
        let switched_on = Cond::all()
            .add(is("active", true))
            .add(
                Cond::any()
                    .add(c("starts_at").is_null())
                    .add(c("starts_at").lte(f.now.value())),
            )
            .add(configured);
        let status = match f.status {
            None => archived.not(),
            Some(CampaignStatus::Archived) => archived,
            Some(CampaignStatus::Completed) => Cond::all().add(ended.clone()).add(archived.not()),
            Some(CampaignStatus::Live) => Cond::all().add(ended.not()).add(switched_on),
            Some(CampaignStatus::Pending) => Cond::all().add(ended.not()).add(switched_on.not()),
        };
        Cond::all()
            .add_option(f.kind.map(|k| is("kind", k.as_str())))
            .add(status)
    }
}

/// Takes the row lock of a live campaign (PostgreSQL; SQLite's writer holds the database), so
/// a read that follows sees every award committed before it; answers whether it exists.
pub async fn lock(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &CampaignId,
) -> Result<bool, StoreError> {
    let update = sea_query::Query::update()
        .table(Alias::new("campaigns"))
        .value(
            Alias::new("budget_used"),
            Expr::col(Alias::new("budget_used")),
        )
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(is("id", id.as_str()))
        .and_where(Expr::col(Alias::new("deleted_at")).is_null())
        .to_owned();
    Ok(crate::statement(&update)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// Burns `points` of a campaign's budget if it is switched on, within its dates at `now` and
/// has that much budget left (no budget: always). One guarded UPDATE, so concurrent awards
/// queue on the row and never overshoot; answers whether it burned.
pub async fn burn_budget(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &CampaignId,
    points: i64,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let c = |n: &str| Expr::col(Alias::new(n));
    let update = sea_query::Query::update()
        .table(Alias::new("campaigns"))
        .value(Alias::new("budget_used"), c("budget_used").add(points))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(is("id", id.as_str()))
        .and_where(c("deleted_at").is_null())
        .and_where(is("active", true))
        .cond_where(
            Cond::any()
                .add(c("starts_at").is_null())
                .add(c("starts_at").lte(now.value())),
        )
        .cond_where(
            Cond::any()
                .add(c("ends_at").is_null())
                .add(c("ends_at").gt(now.value())),
        )
        .cond_where(
            Cond::any()
                .add(c("budget").is_null())
                .add(Expr::expr(c("budget_used").add(points)).lte(c("budget"))),
        )
        .to_owned();
    Ok(crate::statement(&update)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

// ----- the API keys that may trigger a rule -----

/// Makes `keys` (live keys of the same environment, checked by the caller) the exact set of
/// keys allowed to trigger the campaign.
pub async fn set_keys(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
    keys: &[ApiKeyId],
) -> Result<(), StoreError> {
    let delete = sea_query::Query::delete()
        .from_table(Alias::new("campaign_keys"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("campaign_id", campaign_id.as_str()))
        .to_owned();
    crate::statement(&delete).execute(&mut *conn).await?;
    if keys.is_empty() {
        return Ok(());
    }
    let mut insert = sea_query::Query::insert();
    insert
        .into_table(Alias::new("campaign_keys"))
        .columns(["merchant_id", "env", "campaign_id", "api_key_id"].map(Alias::new));
    for key in keys {
        insert.values_panic([
            merchant_id.as_str().into(),
            env.as_str().into(),
            campaign_id.as_str().into(),
            key.as_str().into(),
        ]);
    }
    crate::statement(&insert).execute(conn).await?;
    Ok(())
}

/// The authorized keys of each of `ids`, as `(campaign, key)` pairs in key order.
pub async fn keys_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[CampaignId],
) -> Result<Vec<(CampaignId, ApiKeyId)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = sea_query::Query::select()
        .columns(["campaign_id", "api_key_id"].map(Alias::new))
        .from(Alias::new("campaign_keys"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(Expr::col(Alias::new("campaign_id")).is_in(ids.iter().map(|i| i.as_str())))
        .order_by(Alias::new("api_key_id"), Order::Asc)
        .to_owned();
    crate::statement(&select)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((parsed(r, "campaign_id")?, parsed(r, "api_key_id")?)))
        .collect()
}

// ----- interactions -----

/// What became of a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Awarded,
    /// Nothing in the linked vaults matched the request (voucher campaigns).
    OutOfVouchers,
    /// Refused: invalid, not authorized, not live, over a limit, insufficient balance.
    Error,
    /// The server failed.
    Exception,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Awarded => "awarded",
            Outcome::OutOfVouchers => "out_of_vouchers",
            Outcome::Error => "error",
            Outcome::Exception => "exception",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "awarded" => Ok(Outcome::Awarded),
            "out_of_vouchers" => Ok(Outcome::OutOfVouchers),
            "error" => Ok(Outcome::Error),
            "exception" => Ok(Outcome::Exception),
            _ => Err(()),
        }
    }
}

/// One trigger of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: InteractionId,
    pub campaign_id: CampaignId,
    /// The API key that triggered it.
    pub source_id: Option<String>,
    pub lead_id: Option<LeadId>,
    pub amount: Option<i64>,
    /// Signed points moved; 0 when nothing was awarded.
    pub points: i64,
    pub outcome: Outcome,
    /// Why nothing was awarded (the error's stable code).
    pub error_code: Option<String>,
    pub hash: Option<String>,
    pub fingerprint: Option<String>,
    pub wallet_transaction_id: Option<String>,
    /// Task activities: the progress in the current cycle, and the count that completes it.
    pub progress: Option<i64>,
    pub goal: Option<i64>,
    /// The coupon a deal reward issued.
    pub coupon_id: Option<String>,
    /// The task's period window, or the surprise's occasion (the day it falls on).
    pub window_key: Option<String>,
    /// Voucher awards: the redeemer the request named, …
    pub redeemer_email: Option<String>,
    pub redeemer_mobile: Option<String>,
    pub redeemer_customer_id: Option<String>,
    pub redeemer_name: Option<String>,
    /// … the vendor it asked for (`amount` holds the amount it asked for), …
    pub vendor: Option<String>,
    /// … and the voucher it got: the coupon code and its vault.
    pub code_id: Option<String>,
    pub vault_id: Option<String>,
    pub created_at: Timestamp,
}

impl InteractionRow {
    /// A trigger of `campaign_id` with nothing awarded yet; set the rest with struct update
    /// syntax.
    pub fn new(
        merchant_id: &MerchantId,
        env: Env,
        campaign_id: &CampaignId,
        outcome: Outcome,
        now: Timestamp,
    ) -> Self {
        Self {
            merchant_id: merchant_id.clone(),
            env,
            id: InteractionId::new(),
            campaign_id: campaign_id.clone(),
            source_id: None,
            lead_id: None,
            amount: None,
            points: 0,
            outcome,
            error_code: None,
            hash: None,
            fingerprint: None,
            wallet_transaction_id: None,
            progress: None,
            goal: None,
            coupon_id: None,
            window_key: None,
            redeemer_email: None,
            redeemer_mobile: None,
            redeemer_customer_id: None,
            redeemer_name: None,
            vendor: None,
            code_id: None,
            vault_id: None,
            created_at: now,
        }
    }
}

const INTERACTION_COLUMNS: [&str; 25] = [
    "merchant_id",
    "env",
    "id",
    "campaign_id",
    "source_id",
    "lead_id",
    "amount",
    "points",
    "outcome",
    "error_code",
    "hash",
    "fingerprint",
    "wallet_transaction_id",
    "progress",
    "goal",
    "coupon_id",
    "window_key",
    "redeemer_email",
    "redeemer_mobile",
    "redeemer_customer_id",
    "redeemer_name",
    "vendor",
    "code_id",
    "vault_id",
    "created_at",
];

fn interaction(row: &DbRow) -> Result<InteractionRow, StoreError> {
    Ok(InteractionRow {
        merchant_id: parsed(row, "merchant_id")?,
        env: parsed(row, "env")?,
        id: parsed(row, "id")?,
        campaign_id: parsed(row, "campaign_id")?,
        source_id: row.try_get("source_id")?,
        lead_id: parsed_opt(row, "lead_id")?,
        amount: row.try_get("amount")?,
        points: row.try_get("points")?,
        outcome: parsed_outcome(row)?,
        error_code: row.try_get("error_code")?,
        hash: row.try_get("hash")?,
        fingerprint: row.try_get("fingerprint")?,
        wallet_transaction_id: row.try_get("wallet_transaction_id")?,
        progress: row.try_get("progress")?,
        goal: row.try_get("goal")?,
        coupon_id: row.try_get("coupon_id")?,
        window_key: row.try_get("window_key")?,
        redeemer_email: row.try_get("redeemer_email")?,
        redeemer_mobile: row.try_get("redeemer_mobile")?,
        redeemer_customer_id: row.try_get("redeemer_customer_id")?,
        redeemer_name: row.try_get("redeemer_name")?,
        vendor: row.try_get("vendor")?,
        code_id: row.try_get("code_id")?,
        vault_id: row.try_get("vault_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn parsed_outcome(row: &DbRow) -> Result<Outcome, StoreError> {
    let text: String = row.try_get("outcome")?;
    text.parse()
        .map_err(|_| crate::db::bad_value("outcome", &text))
}

pub async fn insert_interaction(conn: &mut Conn, i: &InteractionRow) -> Result<(), StoreError> {
    let insert = sea_query::Query::insert()
        .into_table(Alias::new("campaign_interactions"))
        .columns(INTERACTION_COLUMNS.iter().map(|c| Alias::new(*c)))
        .values_panic([
            i.merchant_id.as_str().into(),
            i.env.as_str().into(),
            i.id.as_str().into(),
            i.campaign_id.as_str().into(),
            i.source_id.clone().into(),
            i.lead_id.as_ref().map(|l| l.to_string()).into(),
            i.amount.into(),
            i.points.into(),
            i.outcome.as_str().into(),
            i.error_code.clone().into(),
            i.hash.clone().into(),
            i.fingerprint.clone().into(),
            i.wallet_transaction_id.clone().into(),
            i.progress.into(),
            i.goal.into(),
            i.coupon_id.clone().into(),
            i.window_key.clone().into(),
            i.redeemer_email.clone().into(),
            i.redeemer_mobile.clone().into(),
            i.redeemer_customer_id.clone().into(),
            i.redeemer_name.clone().into(),
            i.vendor.clone().into(),
            i.code_id.clone().into(),
            i.vault_id.clone().into(),
            SimpleExpr::Value(i.created_at.value()),
        ])
        .to_owned();
    crate::statement(&insert).execute(conn).await?;
    Ok(())
}

fn interactions_of(merchant_id: &MerchantId, env: Env) -> sea_query::SelectStatement {
    sea_query::Query::select()
        .columns(INTERACTION_COLUMNS.iter().map(|c| Alias::new(*c)))
        .from(Alias::new("campaign_interactions"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .to_owned()
}

/// The award an earlier trigger with this hash made, if any.
pub async fn find_award_by_hash(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
    hash: &str,
) -> Result<Option<InteractionRow>, StoreError> {
    let select = interactions_of(merchant_id, env)
        .and_where(is("campaign_id", campaign_id.as_str()))
        .and_where(is("outcome", Outcome::Awarded.as_str()))
        .and_where(is("hash", hash))
        .to_owned();
    crate::statement(&select)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(interaction)
        .transpose()
}

/// How many rewards (points moved or a coupon issued) a campaign gave a lead; a task activity
/// that only counted progress is none.
pub async fn awards_to_lead(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    lead_id: &LeadId,
) -> Result<i64, StoreError> {
    let select = sea_query::Query::select()
        .expr(Expr::col(Alias::new("id")).count())
        .from(Alias::new("campaign_interactions"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("campaign_id", campaign_id.as_str()))
        .and_where(is("lead_id", lead_id.as_str()))
        .and_where(is("outcome", Outcome::Awarded.as_str()))
        .cond_where(
            Cond::any()
                .add(Expr::col(Alias::new("wallet_transaction_id")).is_not_null())
                .add(Expr::col(Alias::new("coupon_id")).is_not_null()),
        )
        .to_owned();
    crate::statement(&select).scalar(conn).await
}

/// How many awards a campaign made to a lead in one window (a surprise's occasion).
pub async fn awards_in_window(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    lead_id: &LeadId,
    window_key: &str,
) -> Result<i64, StoreError> {
    let select = sea_query::Query::select()
        .expr(Expr::col(Alias::new("id")).count())
        .from(Alias::new("campaign_interactions"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("campaign_id", campaign_id.as_str()))
        .and_where(is("lead_id", lead_id.as_str()))
        .and_where(is("window_key", window_key))
        .and_where(is("outcome", Outcome::Awarded.as_str()))
        .to_owned();
    crate::statement(&select).scalar(conn).await
}

/// Which awarded interactions of one kind a list shows.
#[derive(Debug, Clone)]
pub struct ActivityFilter {
    pub kind: CampaignKind,
    pub campaign_id: Option<CampaignId>,
    pub lead_id: Option<LeadId>,
}

/// The accepted triggers (task activities, surprise claims) of campaigns of `kind`.
fn activities_of(
    merchant_id: &MerchantId,
    env: Env,
    kind: CampaignKind,
) -> sea_query::SelectStatement {
    interactions_of(merchant_id, env)
        .and_where(is("outcome", Outcome::Awarded.as_str()))
        .and_where(
            Expr::col(Alias::new("campaign_id")).in_subquery(
                sea_query::Query::select()
                    .column(Alias::new("id"))
                    .from(Alias::new("campaigns"))
                    .and_where(is("merchant_id", merchant_id.as_str()))
                    .and_where(is("env", env.as_str()))
                    .and_where(is("kind", kind.as_str()))
                    .to_owned(),
            ),
        )
        .to_owned()
}

/// The accepted triggers of campaigns of one kind, in id order after `after`.
pub async fn list_activities(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &ActivityFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<InteractionRow>, StoreError> {
    let mut select = activities_of(merchant_id, env, filter.kind)
        .order_by(Alias::new("id"), Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .to_owned();
    if let Some(c) = &filter.campaign_id {
        select.and_where(is("campaign_id", c.as_str()));
    }
    if let Some(l) = &filter.lead_id {
        select.and_where(is("lead_id", l.as_str()));
    }
    if let Some(a) = after {
        select.and_where(Expr::col(Alias::new("id")).gt(a));
    }
    crate::statement(&select)
        .fetch_all(conn)
        .await?
        .iter()
        .map(interaction)
        .collect()
}

// ----- a lead's progress on a task -----

/// Counts one activity of a lead on a task in a window and answers the progress it makes.
/// One upsert: concurrent activities of the lead queue on the row, each gets its own count.
pub async fn count_activity(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
    lead_id: &LeadId,
    window_key: &str,
    now: Timestamp,
) -> Result<i64, StoreError> {
    crate::query(
        "INSERT INTO task_progress (merchant_id, env, campaign_id, lead_id, window_key, progress, completions, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, 0, $6) \
         ON CONFLICT (merchant_id, campaign_id, lead_id, window_key) \
         DO UPDATE SET progress = task_progress.progress + 1, updated_at = excluded.updated_at \
         RETURNING progress",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(campaign_id.as_str())
    .bind(lead_id.as_str())
    .bind(window_key)
    .bind(now)
    .scalar(conn)
    .await
}

/// Starts a new cycle after the activity that completed the task.
pub async fn complete_cycle(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    lead_id: &LeadId,
    window_key: &str,
) -> Result<(), StoreError> {
    crate::query(
        "UPDATE task_progress SET progress = 0, completions = completions + 1 \
         WHERE merchant_id = $1 AND campaign_id = $2 AND lead_id = $3 AND window_key = $4",
    )
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .bind(lead_id.as_str())
    .bind(window_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// A lead's progress on a task in a window (0 before the first activity).
pub async fn progress_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    lead_id: &LeadId,
    window_key: &str,
) -> Result<i64, StoreError> {
    Ok(crate::query(
        "SELECT progress FROM task_progress \
         WHERE merchant_id = $1 AND campaign_id = $2 AND lead_id = $3 AND window_key = $4",
    )
    .bind(merchant_id.as_str())
    .bind(campaign_id.as_str())
    .bind(lead_id.as_str())
    .bind(window_key)
    .scalar_optional::<i64>(conn)
    .await?
    .unwrap_or(0))
}

/// A campaign's interactions, newest first, before `before`; with `lead_query`, only those of
/// leads whose email, mobile, customer id or name contains it (any case).
#[allow(clippy::too_many_arguments)]
pub async fn list_interactions(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
    outcome: Option<Outcome>,
    lead_query: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<InteractionRow>, StoreError> {
    let mut select = interactions_of(merchant_id, env)
        .and_where(is("campaign_id", campaign_id.as_str()))
        .order_by(Alias::new("id"), Order::Desc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .to_owned();
    if let Some(o) = outcome {
        select.and_where(is("outcome", o.as_str()));
    }
    if let Some(q) = lead_query {
        let leads = sea_query::Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("leads"))
            .and_where(is("merchant_id", merchant_id.as_str()))
            .and_where(is("env", env.as_str()))
            .cond_where(crate::catalog::contains(
                &["email", "mobile", "customer_id", "name"],
                q,
            ))
            .to_owned();
        // A lead's details, or the redeemer's as an award request gave them.
        select.cond_where(
            sea_query::Cond::any()
                .add(Expr::col(Alias::new("lead_id")).in_subquery(leads))
                .add(crate::catalog::contains(
                    &[
                        "redeemer_email",
                        "redeemer_mobile",
                        "redeemer_customer_id",
                        "redeemer_name",
                    ],
                    q,
                )),
        );
    }
    if let Some(b) = before {
        select.and_where(Expr::col(Alias::new("id")).lt(b));
    }
    crate::statement(&select)
        .fetch_all(conn)
        .await?
        .iter()
        .map(interaction)
        .collect()
}

// ----- typed columns of the campaign row -----

fn decode_error(column: usize, text: &str) -> sqlx::Error {
    sqlx::Error::Decode(
        format!("column {column} holds `{text}`, which is not a valid value").into(),
    )
}

/// Text columns that parse into a domain type, strictly: a bad value is a decode error.
macro_rules! text_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn sqlite(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
                let text: String = row.try_get(i)?;
                text.parse().map_err(|_| decode_error(i, &text))
            }
            fn postgres(row: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
                let text: String = row.try_get(i)?;
                text.parse().map_err(|_| decode_error(i, &text))
            }
        }

        impl Column for Option<$t> {
            fn sqlite(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
                let text: Option<String> = row.try_get(i)?;
                text.map(|t| t.parse().map_err(|_| decode_error(i, &t))).transpose()
            }
            fn postgres(row: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
                let text: Option<String> = row.try_get(i)?;
                text.map(|t| t.parse().map_err(|_| decode_error(i, &t))).transpose()
            }
        }

        impl Arg for $t {
            fn value(self) -> Value {
                self.to_string().into()
            }
        }

        impl Arg for Option<$t> {
            fn value(self) -> Value {
                self.map(|v| v.to_string()).into()
            }
        }
    )*};
}

text_columns!(
    CampaignKind,
    Direction,
    CurrencyId,
    Rate,
    TaskReward,
    Period,
    Occasion,
    CalendarDate,
    DealId
);
