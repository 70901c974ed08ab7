//! Deletes rows whose life is over: used or expired sign-in codes, ended sessions, lapsed
//! invitations, used or expired password reset links and idempotency records past their replay
//! window. Ended webhook deliveries and failed jobs are deleted by their own modules, in batches
//! ([`crate::webhooks::purge_ended`], [`crate::jobs::purge_failed`]).

use crate::Conn;
use punchcard_domain::time::Timestamp;

use crate::StoreError;

/// How many rows each purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub otp_challenges: u64,
    pub sessions: u64,
    pub invitations: u64,
    pub password_resets: u64,
    pub idempotency_keys: u64,
    /// Webhook deliveries delivered or given up before the retention period.
    pub webhook_deliveries: u64,
    /// Jobs left `failed` before the retention period.
    pub failed_jobs: u64,
}

/// Removes what ended before `ended_before` and idempotency records created before
/// `replay_window_start`.
pub async fn purge(
    conn: &mut Conn,
    ended_before: Timestamp,
    replay_window_start: Timestamp,
) -> Result<Purged, StoreError> {
    let otp = crate::query("DELETE FROM otp_challenges WHERE expires_at < $1")
        .bind(ended_before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let sessions = crate::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
        .bind(ended_before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let invitations = crate::query(
        "DELETE FROM invitations WHERE accepted_at IS NULL AND (expires_at < $1 OR revoked_at < $1)",
    )
    .bind(ended_before)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let password_resets =
        crate::query("DELETE FROM password_resets WHERE expires_at < $1 OR used_at < $1")
            .bind(ended_before)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    let idempotency = crate::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(replay_window_start)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(Purged {
        otp_challenges: otp,
        sessions,
        invitations,
        password_resets,
        idempotency_keys: idempotency,
        ..Purged::default()
    })
}
