//! Messages and promos: a merchant (dashboard, partner app or API) writes one for all its
//! leads or a segment; it is queued with a job in the same transaction, and the job reaches
//! the segment's leads in batches, each batch committed with the cursor past it, so a send cut
//! short by a restart resumes where it stopped and reaches every lead exactly once. Leads see
//! their messages on the member page.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CampaignId, CurrencyId, DealId, FieldError, MemberId, MessageId, StoreId, ValidationErrors,
};
use punchcard_store::leads::LeadRow;
use punchcard_store::messages::{self, MessageRow, Segment};
use punchcard_store::{commit, Conn};
use serde::{Deserialize, Serialize};

use crate::input::named;
use crate::jobs::{self, Job, JobFuture, JobOutcome, NewJob};
use crate::ledger::Scope;
use crate::{App, AppError};

/// The job that fans a message out.
pub const SEND_JOB: &str = "message_send";

/// Leads reached per committed batch.
pub const BATCH: i64 = 500;

/// Lengths allowed.
pub const MAX_TEXT: usize = 1000;
pub const MAX_TITLE: usize = 120;
pub const MAX_BODY: usize = 2000;
pub const MAX_URL: usize = 2000;

/// Messages an environment may have queued or sending at once.
pub const MAX_IN_FLIGHT: usize = 20;

/// A segment as the API and the forms take it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_balance: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

/// A message as the merchant writes it.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub kind: String,
    pub text: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub url: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub segment: SegmentInput,
}

/// Who sends it.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    pub member_id: Option<MemberId>,
    pub store_id: Option<StoreId>,
    pub api_key_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SendJob {
    message_id: String,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn text_field(
    errors: &mut ValidationErrors,
    field: &str,
    v: &Option<String>,
    max: usize,
) -> Option<String> {
    let v = given(v)?;
    if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
        return None;
    }
    Some(v.to_string())
}

fn url_field(errors: &mut ValidationErrors, field: &str, v: &Option<String>) -> Option<String> {
    let v = given(v)?;
    let ok = v.len() <= MAX_URL
        && url::Url::parse(v)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !ok {
        errors.push(FieldError::new(
            field,
            "must be an http or https address of at most 2000 characters",
        ));
        return None;
    }
    Some(v.to_string())
}

/// An id of the segment, or an error on `segment.<field>`.
fn shaped<T>(errors: &mut ValidationErrors, field: &str, raw: &str) -> Option<T>
where
    T: std::str::FromStr,
{
    match raw.trim().parse::<T>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(FieldError::new(
                format!("segment.{field}"),
                "is not a valid id",
            ));
            None
        }
    }
}

/// Reads a segment: its ids checked for shape here, for existence by the caller.
fn segment_of(s: &SegmentInput, errors: &mut ValidationErrors, today_month: u8) -> Option<Segment> {
    let need = |errors: &mut ValidationErrors, field: &str, v: &Option<String>| -> Option<String> {
        match given(v) {
            Some(v) => Some(v.to_string()),
            None => {
                errors.push(FieldError::new(
                    format!("segment.{field}"),
                    "is required for this segment",
                ));
                None
            }
        }
    };
    match s.kind.trim() {
        "all" => Some(Segment::All),
        "deal_coupon" => {
            let id = need(errors, "deal_id", &s.deal_id)?;
            let id: DealId = shaped(errors, "deal_id", &id)?;
            Some(Segment::DealCoupon(id))
        }
        "min_balance" => {
            let id = need(errors, "currency_id", &s.currency_id);
            let min = match s.min_balance {
                Some(n) if n >= 0 => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "segment.min_balance",
                        "must be a whole number of at least 0",
                    ));
                    None
                }
            };
            let id: CurrencyId = shaped(errors, "currency_id", &id?)?;
            Some(Segment::MinBalance(id, min?))
        }
        "task_completed" => {
            let id = need(errors, "task_id", &s.task_id)?;
            let id: CampaignId = shaped(errors, "task_id", &id)?;
            Some(Segment::TaskCompleted(id))
        }
        "birthday_month" => Some(Segment::BirthdayMonth(today_month)),
        "store" => {
            let id = need(errors, "store_id", &s.store_id)?;
            let id: StoreId = shaped(errors, "store_id", &id)?;
            Some(Segment::Store(id))
        }
        _ => {
            errors.push(FieldError::new(
                "segment.type",
                "must be all, deal_coupon, min_balance, task_completed, birthday_month or store",
            ));
            None
        }
    }
}

/// The segment named by a stored message (its JSON as written when it was sent).
fn stored_segment(m: &MessageRow) -> Result<Segment, AppError> {
    let input: SegmentInput = serde_json::from_str(&m.segment).map_err(AppError::internal)?;
    let month = m.created_at.datetime().month() as u8;
    let mut errors = ValidationErrors::new();
    segment_of(&input, &mut errors, month)
        .ok_or_else(|| AppError::Internal(format!("message {} has a bad segment", m.id).into()))
}

/// Checks that what a segment names is the merchant's.
async fn check_segment(conn: &mut Conn, scope: &Scope, s: &Segment) -> Result<(), AppError> {
    let missing = |field: &str, what: &str| {
        AppError::field(&format!("segment.{field}"), &format!("no such {what}"))
    };
    match s {
        Segment::All | Segment::BirthdayMonth(_) => Ok(()),
        Segment::DealCoupon(d) => {
            punchcard_store::coupons::deal_terms(conn, &scope.merchant_id, scope.env, d.as_str())
                .await?
                .map(|_| ())
                .ok_or_else(|| missing("deal_id", "deal"))
        }
        Segment::MinBalance(c, _) => {
            punchcard_store::currencies::find(conn, &scope.merchant_id, c.as_str())
                .await?
                .map(|_| ())
                .ok_or_else(|| missing("currency_id", "currency"))
        }
        Segment::TaskCompleted(t) => punchcard_store::catalog::find::<
            punchcard_store::campaigns::CampaignRow,
        >(conn, &scope.merchant_id, scope.env, t)
        .await?
        .filter(|c| c.kind == punchcard_domain::campaigns::CampaignKind::Task)
        .map(|_| ())
        .ok_or_else(|| missing("task_id", "task")),
        Segment::Store(st) => {
            let live = punchcard_store::catalog::live_ids::<punchcard_store::stores::StoreRow>(
                conn,
                &scope.merchant_id,
                scope.env,
                std::slice::from_ref(st),
            )
            .await?;
            if live.is_empty() {
                Err(missing("store_id", "store"))
            } else {
                Ok(())
            }
        }
    }
}

/// The queue's handler of [`SEND_JOB`].
pub(crate) fn send_handler<'a>(app: &'a App, job: &'a Job) -> JobFuture<'a> {
    Box::pin(app.send_message_job(job))
}

impl App {
    /// Queues a message for its segment; answers it as `queued`.
    pub async fn send_message(
        &self,
        scope: &Scope,
        sender: &Sender,
        new: &NewMessage,
    ) -> Result<MessageRow, AppError> {
        let now = Timestamp::now();
        let mut errors = ValidationErrors::new();
        let kind = new.kind.trim();
        let text = text_field(&mut errors, "text", &new.text, MAX_TEXT);
        let title = text_field(&mut errors, "title", &new.title, MAX_TITLE);
        let body = text_field(&mut errors, "body", &new.body, MAX_BODY);
        let url = url_field(&mut errors, "url", &new.url);
        let image_url = url_field(&mut errors, "image_url", &new.image_url);
        let video_url = url_field(&mut errors, "video_url", &new.video_url);
        match kind {
            "message" => {
                if given(&new.text).is_none() {
                    errors.push(FieldError::new("text", "is required for a message"));
                }
            }
            "promo" => {
                if given(&new.title).is_none() {
                    errors.push(FieldError::new("title", "is required for a promo"));
                }
                if given(&new.body).is_none() {
                    errors.push(FieldError::new("body", "is required for a promo"));
                }
            }
            _ => errors.push(FieldError::new("kind", "must be message or promo")),
        }
        let month = now.datetime().month() as u8;
        let segment = segment_of(&new.segment, &mut errors, month);
        errors.into_result()?;
        let segment = segment.expect("checked");
        let mut tx = self.db.begin_write().await?;
        check_segment(&mut tx, scope, &segment).await?;
        let in_flight = messages::list(&mut tx, &scope.merchant_id, scope.env, None, None, 200)
            .await?
            .iter()
            .filter(|m| m.status != "sent")
            .count();
        if in_flight >= MAX_IN_FLIGHT {
            return Err(AppError::LimitReached(format!(
                "{MAX_IN_FLIGHT} messages are already waiting to be sent; try again once they are out"
            )));
        }
        let row = MessageRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: MessageId::new(),
            kind: kind.to_string(),
            text,
            title,
            body,
            url,
            image_url,
            video_url,
            segment: serde_json::to_string(&new.segment).map_err(AppError::internal)?,
            status: "queued".to_string(),
            recipients: 0,
            delivered: 0,
            cursor: None,
            member_id: sender.member_id.clone(),
            store_id: sender.store_id.clone(),
            api_key_id: sender.api_key_id.clone(),
            created_at: now,
            sent_at: None,
        };
        messages::insert(&mut tx, &row).await?;
        jobs::enqueue(
            &mut tx,
            NewJob::now(
                SEND_JOB,
                &SendJob {
                    message_id: row.id.to_string(),
                },
            )?
            .for_tenant(&scope.merchant_id, scope.env),
        )
        .await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, message_id = %row.id, "message queued");
        Ok(row)
    }

    pub async fn message(&self, scope: &Scope, id: &str) -> Result<MessageRow, AppError> {
        let id: MessageId = named(id, "message")?;
        let mut conn = self.db.conn().await?;
        messages::find(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("message"))
    }

    /// Messages newest first (of one store's staff when asked), before `before`.
    pub async fn list_messages(
        &self,
        scope: &Scope,
        store_id: Option<&StoreId>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(messages::list(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            store_id,
            before,
            limit,
        )
        .await?)
    }

    /// The messages a lead received, newest first.
    pub async fn messages_of_lead(&self, lead: &LeadRow) -> Result<Vec<MessageRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(messages::of_lead(&mut conn, &lead.merchant_id, lead.env, &lead.id, 30).await?)
    }

    /// Reaches the next batch of a message's segment; `true` once every lead is reached.
    pub async fn send_message_batch(
        &self,
        scope: &Scope,
        id: &MessageId,
    ) -> Result<bool, AppError> {
        let mut tx = self.db.begin_write().await?;
        let Some(m) = messages::find(&mut tx, &scope.merchant_id, scope.env, id.as_str()).await?
        else {
            return Ok(true);
        };
        if m.status == "sent" {
            return Ok(true);
        }
        let segment = stored_segment(&m)?;
        if m.status == "queued" {
            let recipients =
                messages::count_segment(&mut tx, &scope.merchant_id, scope.env, &segment).await?;
            messages::start(&mut tx, &scope.merchant_id, &m.id, recipients).await?;
        }
        let cursor = m.cursor.clone().unwrap_or_default();
        let page = messages::segment_page(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &segment,
            &cursor,
            BATCH,
        )
        .await?;
        let now = Timestamp::now();
        messages::deliver(&mut tx, &m, &page, now).await?;
        let finished = (page.len() as i64) < BATCH;
        if finished {
            messages::finish(&mut tx, &scope.merchant_id, &m.id, now).await?;
        }
        commit(tx).await?;
        if finished {
            tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, message_id = %m.id, "message sent");
        }
        Ok(finished)
    }

    async fn send_message_job(&self, job: &Job) -> Result<JobOutcome, AppError> {
        let what: SendJob = serde_json::from_str(&job.payload)
            .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
        let (Some(merchant_id), Some(env)) = (&job.merchant_id, job.env) else {
            return Ok(JobOutcome::Failed("the job names no merchant".to_string()));
        };
        let scope = Scope::new(merchant_id, env);
        let id: MessageId = match what.message_id.parse() {
            Ok(id) => id,
            Err(_) => return Ok(JobOutcome::Failed("the job names no message".to_string())),
        };
        while !self.send_message_batch(&scope, &id).await? {}
        Ok(JobOutcome::Done)
    }
}
