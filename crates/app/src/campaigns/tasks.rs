//! Tasks: a lead's activities counted per period window; the `count`-th activity of a cycle
//! completes the task and rewards it (random points in a range, or a deal's coupon) in the
//! same transaction, then a new cycle starts, up to `max_per_lead` completions.

use crate::webhooks::{Event, EventObject, EventType};
use futures_util::future::BoxFuture;
use punchcard_domain::campaigns::{
    random_points, CampaignKind, CampaignStatus, Period, TaskReward, MAX_COUNT,
};
use punchcard_domain::catalog::{parse_moment, parse_name, Schedule};
use punchcard_domain::ledger::{parse_hash, TransactionKind};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CampaignId, CurrencyId, DealId, FieldError, LeadId, ValidationErrors};
use punchcard_store::campaigns::{self, ActivityFilter, CampaignRow, InteractionRow, Outcome};
use punchcard_store::leads::LeadRow;
use punchcard_store::{catalog, currencies, leads, Tx};

use super::{
    check_per_lead, give_coupon, give_points, guard, positive, same_request, status_of,
    CampaignView, Points, MAX_POINTS,
};
use crate::api_keys::ApiPrincipal;
use crate::callbacks::{ActionKind, PendingAction};
use crate::input::field_id;
use crate::ledger::writer::LedgerWork;
use crate::ledger::{fingerprint, Scope};
use crate::{App, AppError};

/// A task as the merchant writes it; every field is checked by [`App::create_task`].
#[derive(Debug, Clone, Default)]
pub struct TaskDraft {
    pub name: String,
    pub currency_id: Option<String>,
    /// `points` or `deal`.
    pub reward: String,
    pub count: Option<i64>,
    pub min_reward: Option<i64>,
    pub max_reward: Option<i64>,
    pub deal_id: Option<String>,
    /// `none` (default), `day`, `week` or `month`.
    pub period: Option<String>,
    pub max_per_lead: Option<i64>,
    pub budget: Option<i64>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub paused: bool,
}

/// Changes to a task: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct TaskPatch {
    pub name: Option<String>,
    pub currency_id: Option<Option<String>>,
    pub reward: Option<String>,
    pub count: Option<i64>,
    pub min_reward: Option<Option<i64>>,
    pub max_reward: Option<Option<i64>>,
    pub deal_id: Option<Option<String>>,
    pub period: Option<String>,
    pub max_per_lead: Option<Option<i64>>,
    pub budget: Option<Option<i64>>,
    pub starts_at: Option<Option<String>>,
    pub ends_at: Option<Option<String>>,
    pub paused: Option<bool>,
}

/// An activity of a lead on a task, as the API sends it.
#[derive(Debug, Clone, Default)]
pub struct NewActivity {
    pub task_id: String,
    pub lead_id: String,
    pub hash: String,
}

/// An accepted activity (its interaction), or the earlier answer to the same hash.
#[derive(Debug, Clone)]
pub struct Activity {
    pub interaction: InteractionRow,
    pub replayed: bool,
}

struct CheckedTask {
    name: String,
    currency_id: Option<CurrencyId>,
    reward: TaskReward,
    count: i64,
    min_reward: Option<i64>,
    max_reward: Option<i64>,
    deal_id: Option<DealId>,
    period: Period,
    max_per_lead: Option<i64>,
    budget: Option<i64>,
    schedule: Schedule,
}

/// What an activity's outcome depends on, beside the dates and the switch.
type Terms = (
    Option<TaskReward>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<DealId>,
    Option<CurrencyId>,
    Option<Period>,
    Option<i64>,
);

fn terms(t: &CampaignRow) -> Terms {
    (
        t.reward,
        t.count,
        t.min_reward,
        t.max_reward,
        t.deal_id.clone(),
        t.currency_id.clone(),
        t.period,
        t.max_per_lead,
    )
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl App {
    async fn check_task(&self, scope: &Scope, d: &TaskDraft) -> Result<CheckedTask, AppError> {
        let mut errors = ValidationErrors::new();
        let name = errors.check(parse_name(&d.name, 100));
        let reward = errors.check(d.reward.parse::<TaskReward>());
        let count = match d.count {
            None => {
                errors.push(FieldError::new(
                    "count",
                    "is required: the activities that complete the task",
                ));
                None
            }
            Some(c) => errors.check(positive("count", Some(c), MAX_COUNT)),
        };
        let period = errors.check(
            present(&d.period)
                .unwrap_or(Period::None.as_str())
                .parse::<Period>(),
        );
        let currency_id = match present(&d.currency_id) {
            Some(c) => errors.check(field_id::<CurrencyId>("currency_id", c).map(Some)),
            None => Some(None),
        };
        let deal_id = match present(&d.deal_id) {
            Some(c) => errors.check(field_id::<DealId>("deal_id", c).map(Some)),
            None => Some(None),
        };
        let min_reward = errors.check(positive("min_reward", d.min_reward, MAX_POINTS));
        let max_reward = errors.check(positive("max_reward", d.max_reward, MAX_POINTS));
        match reward {
            Some(TaskReward::Points) => {
                if present(&d.currency_id).is_none() {
                    errors.push(FieldError::new(
                        "currency_id",
                        "is required for a points reward: the wallet's currency",
                    ));
                }
                if d.min_reward.is_none() {
                    errors.push(FieldError::new(
                        "min_reward",
                        "is required for a points reward",
                    ));
                }
                if let (Some(min), Some(max)) = (d.min_reward, d.max_reward) {
                    if max < min {
                        errors.push(FieldError::new("max_reward", "must be at least min_reward"));
                    }
                }
                if present(&d.deal_id).is_some() {
                    errors.push(FieldError::new("deal_id", "applies to a deal reward only"));
                }
            }
            Some(TaskReward::Deal) => {
                if present(&d.deal_id).is_none() {
                    errors.push(FieldError::new("deal_id", "is required for a deal reward"));
                }
                for (field, v) in [("min_reward", d.min_reward), ("max_reward", d.max_reward)] {
                    if v.is_some() {
                        errors.push(FieldError::new(field, "applies to a points reward only"));
                    }
                }
            }
            None => {}
        }
        let max_per_lead = errors.check(positive("max_per_lead", d.max_per_lead, MAX_POINTS));
        let budget = errors.check(positive("budget", d.budget, MAX_POINTS));
        let starts_at = errors.check(parse_moment(
            "starts_at",
            d.starts_at.as_deref().unwrap_or(""),
        ));
        let ends_at = errors.check(parse_moment("ends_at", d.ends_at.as_deref().unwrap_or("")));
        let schedule = match (starts_at, ends_at) {
            (Some(s), Some(e)) => errors.check(Schedule::new(s, e)),
            _ => None,
        };
        let mut conn = self.db.conn().await?;
        if let Some(Some(c)) = &currency_id {
            if currencies::find(&mut conn, &scope.merchant_id, c.as_str())
                .await?
                .is_none()
            {
                errors.push(FieldError::new("currency_id", "no such currency"));
            }
        }
        if let Some(Some(deal)) = &deal_id {
            if punchcard_store::coupons::deal_terms(
                &mut conn,
                &scope.merchant_id,
                scope.env,
                deal.as_str(),
            )
            .await?
            .is_none()
            {
                errors.push(FieldError::new("deal_id", "no such deal"));
            }
        }
        errors.into_result()?;
        let reward = reward.expect("checked");
        let min_reward = min_reward.expect("checked");
        Ok(CheckedTask {
            name: name.expect("checked"),
            currency_id: currency_id.expect("checked"),
            reward,
            count: count.flatten().expect("checked"),
            min_reward,
            // A range without a top is a fixed amount.
            max_reward: match reward {
                TaskReward::Points => max_reward.expect("checked").or(min_reward),
                TaskReward::Deal => None,
            },
            deal_id: deal_id.expect("checked"),
            period: period.expect("checked"),
            max_per_lead: max_per_lead.expect("checked"),
            budget: budget.expect("checked"),
            schedule: schedule.expect("checked"),
        })
    }

    /// Creates a task, switched on unless `paused` (then counted against the active-campaign
    /// cap).
    pub async fn create_task(
        &self,
        scope: &Scope,
        draft: &TaskDraft,
    ) -> Result<CampaignView, AppError> {
        let t = self.check_task(scope, draft).await?;
        let now = Timestamp::now();
        let row = CampaignRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: CampaignId::new(),
            kind: CampaignKind::Task,
            name: t.name,
            starts_at: t.schedule.starts_at,
            ends_at: t.schedule.ends_at,
            active: !draft.paused,
            max_per_lead: t.max_per_lead,
            budget: t.budget,
            budget_used: 0,
            direction: None,
            currency_id: t.currency_id,
            points: None,
            rate: None,
            cap_max: None,
            reward: Some(t.reward),
            count: Some(t.count),
            min_reward: t.min_reward,
            max_reward: t.max_reward,
            deal_id: t.deal_id,
            period: Some(t.period),
            occasion: None,
            occasion_date: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let view = self.save_campaign(scope, row, None).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %view.campaign.id, "task created");
        Ok(view)
    }

    pub async fn task(&self, scope: &Scope, id: &str) -> Result<CampaignView, AppError> {
        self.campaign_of_kind(scope, id, CampaignKind::Task).await
    }

    /// Changes a task's fields; they are checked as a new task's are.
    pub async fn update_task(
        &self,
        scope: &Scope,
        id: &str,
        patch: TaskPatch,
    ) -> Result<CampaignView, AppError> {
        let current = self.task(scope, id).await?.campaign;
        let c = &current;
        // Switching the reward drops the other reward's fields unless they are sent.
        let switched = patch
            .reward
            .as_deref()
            .and_then(|r| r.parse::<TaskReward>().ok())
            .filter(|r| Some(*r) != c.reward);
        let (min_reward, max_reward, deal_id) = match switched {
            Some(TaskReward::Deal) => (None, None, c.deal_id.as_ref().map(|d| d.to_string())),
            Some(TaskReward::Points) => (c.min_reward, c.max_reward, None),
            None => (
                c.min_reward,
                c.max_reward,
                c.deal_id.as_ref().map(|d| d.to_string()),
            ),
        };
        let draft = TaskDraft {
            name: patch.name.unwrap_or_else(|| c.name.clone()),
            currency_id: patch
                .currency_id
                .unwrap_or_else(|| c.currency_id.as_ref().map(|c| c.to_string())),
            reward: patch
                .reward
                .unwrap_or_else(|| c.reward.map(|r| r.to_string()).unwrap_or_default()),
            count: patch.count.or(c.count),
            min_reward: patch.min_reward.unwrap_or(min_reward),
            max_reward: patch.max_reward.unwrap_or(max_reward),
            deal_id: patch.deal_id.unwrap_or(deal_id),
            period: patch.period.or_else(|| c.period.map(|p| p.to_string())),
            max_per_lead: patch.max_per_lead.unwrap_or(c.max_per_lead),
            budget: patch.budget.unwrap_or(c.budget),
            starts_at: patch
                .starts_at
                .unwrap_or_else(|| c.starts_at.map(|t| t.to_rfc3339())),
            ends_at: patch
                .ends_at
                .unwrap_or_else(|| c.ends_at.map(|t| t.to_rfc3339())),
            paused: patch.paused.unwrap_or(!c.active),
        };
        let t = self.check_task(scope, &draft).await?;
        let row = CampaignRow {
            name: t.name,
            starts_at: t.schedule.starts_at,
            ends_at: t.schedule.ends_at,
            active: !draft.paused,
            max_per_lead: t.max_per_lead,
            budget: t.budget,
            currency_id: t.currency_id,
            reward: Some(t.reward),
            count: Some(t.count),
            min_reward: t.min_reward,
            max_reward: t.max_reward,
            deal_id: t.deal_id,
            period: Some(t.period),
            updated_at: Timestamp::now(),
            ..current.clone()
        };
        self.save_campaign(scope, row, Some(&current)).await
    }

    pub async fn delete_task(&self, scope: &Scope, id: &str) -> Result<(), AppError> {
        self.delete_campaign(scope, id, CampaignKind::Task).await
    }

    /// Records an activity of a lead on a task. Every activity on a task the key can see is
    /// an interaction: an accepted one (`awarded`, carrying the progress it made and the
    /// reward when it completed the task) or a refused one with its error code.
    pub async fn record_task_activity(
        &self,
        principal: &ApiPrincipal,
        new: &NewActivity,
    ) -> Result<Activity, AppError> {
        let scope = Scope::from(principal);
        let task_id = field_id::<CampaignId>("task_id", &new.task_id)?;
        let task = {
            let mut conn = self.db.conn().await?;
            catalog::find::<CampaignRow>(&mut conn, &scope.merchant_id, scope.env, &task_id)
                .await?
                .filter(|c| c.kind == CampaignKind::Task)
                .ok_or_else(|| AppError::field("task_id", "no such task"))?
        };
        let mut lead_seen = None;
        let done = self
            .count_activity(principal, &scope, &task, new, &mut lead_seen)
            .await;
        if let Err(e) = &done {
            let refused = InteractionRow {
                source_id: Some(principal.key_id.to_string()),
                lead_id: lead_seen,
                ..InteractionRow::new(
                    &scope.merchant_id,
                    scope.env,
                    &task.id,
                    Outcome::Error,
                    Timestamp::now(),
                )
            };
            self.record_refusal(refused, e).await;
        }
        done
    }

    async fn count_activity(
        &self,
        principal: &ApiPrincipal,
        scope: &Scope,
        task: &CampaignRow,
        new: &NewActivity,
        lead_seen: &mut Option<LeadId>,
    ) -> Result<Activity, AppError> {
        let mut errors = ValidationErrors::new();
        let hash = errors.check(parse_hash(&new.hash));
        let lead_id = errors.check(field_id::<LeadId>("lead_id", &new.lead_id));
        errors.into_result()?;
        let (hash, lead_id) = (hash.expect("checked"), lead_id.expect("checked"));
        let fp = fingerprint(&[lead_id.as_str()]);
        let replay = |done: InteractionRow| {
            same_request(done, &fp).map(|interaction| Activity {
                interaction,
                replayed: true,
            })
        };
        let mut conn = self.db.conn().await?;
        if let Some(done) =
            campaigns::find_award_by_hash(&mut conn, &scope.merchant_id, scope.env, &task.id, &hash)
                .await?
        {
            return replay(done);
        }
        let now = Timestamp::now();
        let current = status_of(task, false, now);
        if current != CampaignStatus::Live {
            return Err(super::not_live_kind(CampaignKind::Task, current));
        }
        let lead = leads::find(&mut conn, &scope.merchant_id, scope.env, lead_id.as_str())
            .await?
            .ok_or_else(|| AppError::field("lead_id", "no such lead"))?;
        *lead_seen = Some(lead.id.clone());
        let (Some(reward), Some(count)) = (task.reward, task.count) else {
            return Err(AppError::Conflict("the task rewards nothing".to_string()));
        };
        let period = task.period.unwrap_or(Period::None);
        let today = self
            .merchant_time_zone(&mut conn, &scope.merchant_id)
            .await?
            .date_at(now);
        let window = period.window(today);
        let points = match reward {
            TaskReward::Points => random_points(
                task.min_reward.unwrap_or(1),
                task.max_reward.or(task.min_reward).unwrap_or(1),
            ),
            TaskReward::Deal => 0,
        };
        // The key's callback approves the reward before anything is written, when this
        // activity is to complete the task; an activity that only counts calls nothing.
        let completing = match principal.callback_url {
            Some(_) => {
                campaigns::progress_of(&mut conn, &scope.merchant_id, &task.id, &lead.id, &window)
                    .await?
                    + 1
                    >= count
            }
            None => false,
        };
        // A write waits for the writer; never hold a read connection meanwhile.
        drop(conn);
        if completing {
            let action = match reward {
                TaskReward::Points => PendingAction {
                    lead_id: Some(lead.id.clone()),
                    currency_id: task.currency_id.clone(),
                    amount: Some(points),
                    hash: Some(hash.clone()),
                    ..PendingAction::new(ActionKind::Reward, principal)
                },
                TaskReward::Deal => PendingAction {
                    lead_id: Some(lead.id.clone()),
                    deal_id: task.deal_id.clone(),
                    hash: Some(hash.clone()),
                    mode: Some("reward".to_string()),
                    ..PendingAction::new(ActionKind::Coupon, principal)
                },
            };
            self.confirm_action(principal, &action).await?;
        }
        let route = lead.id.to_string();
        let work = TaskActivityWork {
            app: self.clone(),
            scope: scope.clone(),
            task: task.clone(),
            lead,
            key_id: principal.key_id.to_string(),
            has_callback: principal.callback_url.is_some(),
            confirmed: completing,
            count,
            window,
            points,
            reward,
            hash,
            fingerprint: fp,
        };
        // Through the ledger writer, with the lead's other changes.
        let activity = self.write_through_ledger(&route, work).await?;
        let interaction = &activity.interaction;
        if !activity.replayed {
            if interaction.points != 0 {
                self.activity
                    .points_moved(interaction.points, interaction.points < 0);
            }
            if interaction.wallet_transaction_id.is_some() || interaction.coupon_id.is_some() {
                tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %task.id, lead_id = ?interaction.lead_id, "task completed");
            }
        }
        Ok(activity)
    }

    /// Accepted activities of tasks in id order, of one task or lead when asked.
    /// The live tasks with a lead's progress in their current period (the merchant's calendar):
    /// `(task, progress, count)`.
    pub async fn task_progress(
        &self,
        lead: &punchcard_store::leads::LeadRow,
    ) -> Result<Vec<(CampaignView, i64, i64)>, AppError> {
        let scope = Scope::new(&lead.merchant_id, lead.env);
        let live = self
            .list_campaigns(&scope, Some("task"), Some("live"), None, 100)
            .await?;
        let mut conn = self.db.conn().await?;
        let today = self
            .merchant_time_zone(&mut conn, &scope.merchant_id)
            .await?
            .date_at(Timestamp::now());
        let mut out = Vec::new();
        for t in live {
            let Some(count) = t.campaign.count else {
                continue;
            };
            let window = t.campaign.period.unwrap_or(Period::None).window(today);
            let progress = campaigns::progress_of(
                &mut conn,
                &scope.merchant_id,
                &t.campaign.id,
                &lead.id,
                &window,
            )
            .await?;
            out.push((t, progress, count));
        }
        Ok(out)
    }

    pub async fn list_task_activities(
        &self,
        scope: &Scope,
        task_id: Option<&str>,
        lead_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InteractionRow>, AppError> {
        self.list_activities(scope, CampaignKind::Task, task_id, lead_id, after, limit)
            .await
    }

    /// Accepted activities of campaigns of `kind`, in id order, of one campaign or lead when
    /// asked.
    pub async fn list_activities(
        &self,
        scope: &Scope,
        kind: CampaignKind,
        campaign_id: Option<&str>,
        lead_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InteractionRow>, AppError> {
        let campaign_id = campaign_id.map(str::trim).filter(|s| !s.is_empty());
        let lead_id = lead_id.map(str::trim).filter(|s| !s.is_empty());
        // Text that is no id of its kind matches nothing.
        let (Ok(campaign_id), Ok(lead_id)) = (
            campaign_id.map(str::parse::<CampaignId>).transpose(),
            lead_id.map(str::parse::<LeadId>).transpose(),
        ) else {
            return Ok(Vec::new());
        };
        let filter = ActivityFilter {
            kind,
            campaign_id,
            lead_id,
        };
        let mut conn = self.db.conn().await?;
        Ok(campaigns::list_activities(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            &filter,
            after,
            limit,
        )
        .await?)
    }
}

/// An activity of a task, checked (and confirmed when it completes the task), for the
/// ledger writer to write.
struct TaskActivityWork {
    app: App,
    scope: Scope,
    task: CampaignRow,
    lead: LeadRow,
    key_id: String,
    /// The key has a callback, which confirmed the reward if `confirmed`.
    has_callback: bool,
    confirmed: bool,
    count: i64,
    window: String,
    points: i64,
    reward: TaskReward,
    hash: String,
    fingerprint: String,
}

impl LedgerWork for TaskActivityWork {
    type Output = Activity;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Activity, AppError>> {
        Box::pin(self.write(tx))
    }
}

impl TaskActivityWork {
    /// The activity's writes in `tx`: the progress counted, and on completion the reward,
    /// with the interaction and events; an earlier activity of the hash is answered as a
    /// replay.
    async fn write(&self, tx: &mut Tx) -> Result<Activity, AppError> {
        let (app, scope, task, lead) = (&self.app, &self.scope, &self.task, &self.lead);
        let (hash, fp, count, window, points, reward) = (
            &self.hash,
            &self.fingerprint,
            self.count,
            &self.window,
            self.points,
            self.reward,
        );
        let now = Timestamp::now();
        if let Some(done) =
            campaigns::find_award_by_hash(tx, &scope.merchant_id, scope.env, &task.id, hash).await?
        {
            return same_request(done, fp).map(|interaction| Activity {
                interaction,
                replayed: true,
            });
        }
        // Dates and switch; the campaign's row is held until commit, so what follows sees
        // every activity committed before.
        guard(tx, scope, task, false, 0, now).await?;
        // The terms read before the write (and shown to the callback) must still hold.
        let latest =
            catalog::find::<CampaignRow>(tx, &scope.merchant_id, scope.env, &task.id).await?;
        if latest.as_ref().map(terms) != Some(terms(task)) {
            return Err(AppError::Conflict(
                "the task changed meanwhile; send the activity again".to_string(),
            ));
        }
        check_per_lead(tx, scope, task, &lead.id).await?;
        let progress = campaigns::count_activity(
            tx,
            &scope.merchant_id,
            scope.env,
            &task.id,
            &lead.id,
            window,
            now,
        )
        .await?;
        let mut interaction = InteractionRow {
            source_id: Some(self.key_id.clone()),
            lead_id: Some(lead.id.clone()),
            hash: Some(hash.clone()),
            fingerprint: Some(fp.clone()),
            progress: Some(progress.min(count)),
            goal: Some(count),
            window_key: Some(window.clone()),
            ..InteractionRow::new(
                &scope.merchant_id,
                scope.env,
                &task.id,
                Outcome::Awarded,
                now,
            )
        };
        let (mut given_points, mut given_coupon) = (None, None);
        if progress >= count {
            if self.has_callback && !self.confirmed {
                // Concurrent activities moved the progress since it was read: the callback
                // has not approved this reward.
                return Err(AppError::Conflict(
                    "the task's progress changed meanwhile; send the activity again".to_string(),
                ));
            }
            let cost = match reward {
                TaskReward::Points => points,
                TaskReward::Deal => 1,
            };
            guard(tx, scope, task, false, cost, now).await?;
            campaigns::complete_cycle(tx, &scope.merchant_id, &task.id, &lead.id, window).await?;
            match reward {
                TaskReward::Points => {
                    let currency_id = task.currency_id.clone().ok_or_else(|| {
                        AppError::Conflict("the task has no currency".to_string())
                    })?;
                    let posted = give_points(
                        tx,
                        scope,
                        Points {
                            campaign: task,
                            lead,
                            currency_id: &currency_id,
                            kind: TransactionKind::Reward,
                            amount: points,
                            hash,
                            fingerprint: fp,
                            description: format!("task: {}", task.name),
                        },
                        now,
                    )
                    .await?;
                    interaction.points = points;
                    interaction.wallet_transaction_id = Some(posted.id.to_string());
                    given_points = Some(posted);
                }
                TaskReward::Deal => {
                    let coupon = give_coupon(tx, scope, task, lead, hash, fp, now).await?;
                    interaction.coupon_id = Some(coupon.id.to_string());
                    given_coupon = Some(coupon);
                }
            }
        }
        if given_points.is_some() || given_coupon.is_some() {
            let mut events = vec![Event::new(
                EventType::TaskCompleted,
                EventObject::TaskActivity(&interaction),
            )];
            if let Some(posted) = &given_points {
                events.push(Event::new(
                    EventType::WalletTransactionCreated,
                    EventObject::WalletTransaction(posted),
                ));
            }
            if let Some(coupon) = &given_coupon {
                events.push(Event::new(
                    EventType::CouponIssued,
                    EventObject::Coupon(coupon),
                ));
            }
            app.emit(tx, scope, &events).await?;
        }
        // A concurrent activity with the same hash that committed first refuses this row;
        // the writer then runs the activity again alone, which answers that one.
        campaigns::insert_interaction(tx, &interaction).await?;
        Ok(Activity {
            interaction,
            replayed: false,
        })
    }
}
