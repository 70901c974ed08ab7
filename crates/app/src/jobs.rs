//! The background job queue: a job is enqueued in the write transaction of the change that
//! calls for it, and a [`JobRunner`] on every server claims due jobs under a lease and runs
//! each with the handler of its kind. A job whose server died mid-run is claimed again once
//! its lease runs out, so every job runs to an end at least once: handlers are idempotent.
//!
//! A new kind of job is a name, a handler and a call to [`JobKinds::register`]:
//!
//! ```ignore
//! pub const SEND_MESSAGE: &str = "message_send";
//! fn send_message<'a>(app: &'a App, job: &'a Job) -> JobFuture<'a> {
//!     Box::pin(app.send_message_job(job))
//! }
//! let kinds = JobKinds::standard().register(SEND_MESSAGE, send_message);
//! // in a write transaction:
//! jobs::enqueue(&mut tx, NewJob::now(SEND_MESSAGE, &payload)?.for_tenant(&m, env)).await?;
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId};
use punchcard_store::jobs;
pub use punchcard_store::jobs::JobRow as Job;
use punchcard_store::Conn;

use crate::{App, AppError};

/// What became of a run of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Finished: the job leaves the queue.
    Done,
    /// Run it again at this moment (the handler keeps its own schedule).
    RetryAt(Timestamp, String),
    /// Give up: kept as `failed` with the reason.
    Failed(String),
}

/// A handler's run of one job. An `Err` is retried with the queue's backoff until the job's
/// `max_attempts`.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<JobOutcome, AppError>> + Send + 'a>>;

/// Runs one job of a kind.
pub type Handler = for<'a> fn(&'a App, &'a Job) -> JobFuture<'a>;

/// The kinds of job this server runs, each with its handler.
#[derive(Clone)]
pub struct JobKinds {
    handlers: HashMap<&'static str, Handler>,
}

impl std::fmt::Debug for JobKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}

impl JobKinds {
    /// No kinds at all.
    pub fn empty() -> Self {
        Self {
            handlers: HashMap::new(),
        }
    }

    /// Every kind the application defines.
    pub fn standard() -> Self {
        Self::empty()
            .register(
                crate::webhooks::DELIVERY_JOB,
                crate::webhooks::delivery_handler,
            )
            .register(crate::messages::SEND_JOB, crate::messages::send_handler)
    }

    /// Adds (or replaces) the handler of `kind`.
    pub fn register(mut self, kind: &'static str, handler: Handler) -> Self {
        self.handlers.insert(kind, handler);
        self
    }

    fn handler(&self, kind: &str) -> Option<Handler> {
        self.handlers.get(kind).copied()
    }
}

/// A job to write into the queue.
#[derive(Debug, Clone)]
pub struct NewJob(jobs::NewJob);

/// How many times a job is tried when its kind says nothing else.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 10;

impl NewJob {
    /// A job of `kind` with `payload` (its handler's JSON), due at once.
    pub fn now(kind: &str, payload: &impl serde::Serialize) -> Result<Self, AppError> {
        Ok(Self(jobs::NewJob {
            kind: kind.to_string(),
            payload: serde_json::to_string(payload).map_err(AppError::internal)?,
            run_at: Timestamp::now(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            merchant_id: None,
            env: None,
        }))
    }

    /// For a merchant's env.
    pub fn for_tenant(mut self, merchant_id: &MerchantId, env: Env) -> Self {
        self.0.merchant_id = Some(merchant_id.clone());
        self.0.env = Some(env);
        self
    }

    /// Not before `at`.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.0.run_at = at;
        self
    }

    pub fn max_attempts(mut self, n: i64) -> Self {
        self.0.max_attempts = n.max(1);
        self
    }
}

/// Writes `job` on `conn`: inside a write transaction it exists only if that commits.
pub async fn enqueue(conn: &mut Conn, job: NewJob) -> Result<(), AppError> {
    jobs::enqueue(conn, &job.0, Timestamp::now()).await?;
    Ok(())
}

/// How long the queue waits before running a job again after its handler failed.
fn backoff(attempts: i64) -> time::Duration {
    time::Duration::seconds(1i64 << attempts.clamp(0, 12)).min(time::Duration::hours(1))
}

/// Claims and runs due jobs; one per server (any number of servers share the queue).
#[derive(Debug, Clone)]
pub struct JobRunner {
    app: App,
    kinds: Arc<JobKinds>,
    /// Names this runner's leases.
    worker: String,
    /// Jobs claimed at once.
    batch: i64,
}

impl JobRunner {
    pub fn new(app: App, kinds: JobKinds) -> Self {
        Self {
            app,
            kinds: Arc::new(kinds),
            worker: format!("wrk_{}", punchcard_domain::ids::next_ulid()),
            batch: 16,
        }
    }

    /// This runner's name in the leases it takes.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Claims the jobs due now and runs them together; answers how many it ran.
    pub async fn run_due(&self) -> Result<usize, AppError> {
        let now = Timestamp::now();
        let lease = time::Duration::try_from(self.app.settings.job_lease)
            .unwrap_or(time::Duration::minutes(1));
        let claimed = self.claim(now, now.plus(lease)).await?;
        let n = claimed.len();
        let runs = claimed.into_iter().map(|job| self.run_one(job));
        futures_util::future::join_all(runs).await;
        Ok(n)
    }

    /// Claims the jobs due now without running them, as a server that then dies would.
    pub async fn claim_and_abandon(&self) -> Result<usize, AppError> {
        let now = Timestamp::now();
        let lease = time::Duration::try_from(self.app.settings.job_lease)
            .unwrap_or(time::Duration::minutes(1));
        Ok(self.claim(now, now.plus(lease)).await?.len())
    }

    /// Claims due jobs under a lease. An idle queue is only read: the claim, a write, is made
    /// in a write transaction once something is due, so polling never contends with the
    /// writes of requests (SQLite has one writer at a time).
    async fn claim(&self, now: Timestamp, until: Timestamp) -> Result<Vec<Job>, AppError> {
        {
            let mut conn = self.app.db.conn().await?;
            if !jobs::any_due(&mut conn, now).await? {
                return Ok(Vec::new());
            }
        }
        let mut tx = self.app.db.begin_write().await?;
        let claimed = jobs::claim(&mut tx, &self.worker, now, until, self.batch).await?;
        punchcard_store::commit(tx).await?;
        Ok(claimed)
    }

    async fn run_one(&self, job: Job) {
        let now = Timestamp::now();
        let outcome = if job.attempts > job.max_attempts {
            JobOutcome::Failed(format!("tried {} times", job.max_attempts))
        } else {
            match self.kinds.handler(&job.kind) {
                // A kind this server does not know (a newer server's): left for one that does.
                None => JobOutcome::RetryAt(
                    now.plus(time::Duration::minutes(1)),
                    format!("no handler for jobs of kind `{}` on this server", job.kind),
                ),
                Some(handler) => match handler(&self.app, &job).await {
                    Ok(outcome) => outcome,
                    Err(e) if job.attempts >= job.max_attempts => {
                        JobOutcome::Failed(format!("{}: {e}", e.code()))
                    }
                    Err(e) => JobOutcome::RetryAt(
                        Timestamp::now().plus(backoff(job.attempts)),
                        format!("{}: {e}", e.code()),
                    ),
                },
            }
        };
        if let Err(e) = self.settle(&job, &outcome).await {
            // The lease runs out and the job is claimed again: handlers are idempotent.
            tracing::warn!(job_id = %job.id, kind = job.kind, error = %e, "a job's outcome was not recorded");
        }
        match &outcome {
            JobOutcome::Failed(why) => {
                tracing::warn!(job_id = %job.id, kind = job.kind, attempts = job.attempts, reason = why, "job failed")
            }
            JobOutcome::RetryAt(at, why) => {
                tracing::debug!(job_id = %job.id, kind = job.kind, at = %at.to_rfc3339(), reason = why, "job to run again")
            }
            JobOutcome::Done => {}
        }
    }

    async fn settle(&self, job: &Job, outcome: &JobOutcome) -> Result<(), AppError> {
        // A write in turn with the others (SQLite has one writer at a time).
        let mut conn = self.app.db.begin_write().await?;
        let now = Timestamp::now();
        let held = match outcome {
            JobOutcome::Done => jobs::finish(&mut conn, &job.id, &self.worker).await?,
            JobOutcome::RetryAt(at, why) => {
                jobs::requeue(&mut conn, &job.id, &self.worker, *at, Some(why), now).await?
            }
            JobOutcome::Failed(why) => {
                jobs::fail(&mut conn, &job.id, &self.worker, why, now).await?
            }
        };
        punchcard_store::commit(conn).await?;
        if !held {
            tracing::warn!(job_id = %job.id, kind = job.kind, "the job's lease ran out before it ended");
        }
        Ok(())
    }

    /// Runs due jobs until the task is dropped, looking again every poll interval (at once
    /// after a full batch).
    pub async fn run(self) {
        let poll: Duration = self.app.settings.job_poll_interval;
        loop {
            match self.run_due().await {
                Ok(n) if n as i64 >= self.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "claiming jobs failed; trying again"),
            }
            tokio::time::sleep(poll).await;
        }
    }
}
