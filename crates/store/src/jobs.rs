//! The background job queue: jobs written in the transaction of the change that calls for
//! them, claimed by any server (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a single-statement
//! claim on SQLite) under a lease that expires, so a job a crashed server held runs again.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, JobId, MerchantId};

use crate::{Backend, Conn, StoreError};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: String,
    /// The handler's own JSON.
    pub payload: String,
    /// Not before this moment.
    pub run_at: Timestamp,
    /// Tries before it is left `failed`.
    pub max_attempts: i64,
    /// The tenant it works for, where it has one.
    pub merchant_id: Option<MerchantId>,
    pub env: Option<Env>,
}

/// A claimed job.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: JobId,
    pub kind: String,
    /// The handler's own JSON.
    pub payload: String,
    pub merchant_id: Option<MerchantId>,
    pub env: Option<Env>,
    /// Claims so far, this one included.
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub created_at: Timestamp,
}

const COLUMNS: &str =
    "id, kind, payload, merchant_id, env, attempts, max_attempts, run_at, created_at";

fn from_row(row: &crate::DbRow) -> Result<JobRow, StoreError> {
    let env: Option<String> = row.try_get("env")?;
    let merchant_id: Option<String> = row.try_get("merchant_id")?;
    Ok(JobRow {
        id: crate::db::parsed(row, "id")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        merchant_id: merchant_id
            .map(|m| {
                m.parse()
                    .map_err(|_| crate::db::bad_value("merchant_id", &m))
            })
            .transpose()?,
        env: env
            .map(|e| e.parse().map_err(|_| crate::db::bad_value("env", &e)))
            .transpose()?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_at: row.try_get("run_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Writes a job; on a transaction's connection it runs only if the transaction commits.
pub async fn enqueue(conn: &mut Conn, job: &NewJob, now: Timestamp) -> Result<JobId, StoreError> {
    let id = JobId::new();
    crate::query(
        "INSERT INTO jobs (id, kind, payload, merchant_id, env, status, run_at, attempts, \
         max_attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'queued', $6, 0, $7, $8, $8)",
    )
    .bind(id.as_str())
    .bind(job.kind.as_str())
    .bind(job.payload.as_str())
    .bind(job.merchant_id.as_ref().map(|m| m.as_str()))
    .bind(job.env.map(|e| e.as_str()))
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Whether any job is due at `now` (queued and due, or leased by a server that let its lease
/// run out).
pub async fn any_due(conn: &mut Conn, now: Timestamp) -> Result<bool, StoreError> {
    let row = crate::query(
        "SELECT 1 AS due FROM jobs \
         WHERE (status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until < $1) \
         LIMIT 1",
    )
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Claims up to `limit` jobs that are due (queued and past `run_at`, or running on a lease
/// that ran out) for `worker` until `locked_until`, counting an attempt on each. Two servers
/// never claim the same job: PostgreSQL skips rows another claim holds, SQLite has one writer.
pub async fn claim(
    conn: &mut Conn,
    worker: &str,
    now: Timestamp,
    locked_until: Timestamp,
    limit: i64,
) -> Result<Vec<JobRow>, StoreError> {
    let lock = match conn.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, \
         locked_until = $3, updated_at = $2 \
         WHERE id IN (SELECT id FROM jobs \
           WHERE (status = 'queued' AND run_at <= $2) OR (status = 'running' AND locked_until < $2) \
           ORDER BY run_at, id LIMIT $4{lock}) \
         RETURNING {COLUMNS}"
    );
    let rows = crate::query(sql)
        .bind(worker)
        .bind(now)
        .bind(locked_until)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let mut jobs: Vec<JobRow> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    jobs.sort_by(|a, b| (a.run_at, &a.id).cmp(&(b.run_at, &b.id)));
    Ok(jobs)
}

/// A job `worker` finished: gone from the queue. False when its lease was lost meanwhile.
pub async fn finish(conn: &mut Conn, id: &JobId, worker: &str) -> Result<bool, StoreError> {
    let done = crate::query("DELETE FROM jobs WHERE id = $1 AND locked_by = $2")
        .bind(id.as_str())
        .bind(worker)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a job `worker` held back in the queue until `run_at`, with why it stopped.
pub async fn requeue(
    conn: &mut Conn,
    id: &JobId,
    worker: &str,
    run_at: Timestamp,
    error: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE jobs SET status = 'queued', run_at = $3, locked_by = NULL, locked_until = NULL, \
         last_error = $4, updated_at = $5 WHERE id = $1 AND locked_by = $2",
    )
    .bind(id.as_str())
    .bind(worker)
    .bind(run_at)
    .bind(error)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Leaves a job `failed`: kept with its last error, never claimed again.
pub async fn fail(
    conn: &mut Conn,
    id: &JobId,
    worker: &str,
    error: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE jobs SET status = 'failed', locked_by = NULL, locked_until = NULL, \
         last_error = $3, updated_at = $4 WHERE id = $1 AND locked_by = $2",
    )
    .bind(id.as_str())
    .bind(worker)
    .bind(error)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many jobs are in each status, for tests and the operator.
pub async fn count_by_status(conn: &mut Conn, status: &str) -> Result<i64, StoreError> {
    crate::query("SELECT COUNT(*) FROM jobs WHERE status = $1")
        .bind(status)
        .scalar(conn)
        .await
}

/// Removes at most `limit` failed jobs last touched before `before`; answers how many.
pub async fn purge_failed(
    conn: &mut Conn,
    before: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    Ok(crate::query(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'failed' \
         AND updated_at < $1 LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}
