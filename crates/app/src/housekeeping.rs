//! Periodic clean-up of rows that no longer serve anyone: expired sign-in rows, idempotency
//! records past their window, and webhook deliveries and failed jobs past the retention period.

use punchcard_domain::time::Timestamp;
use punchcard_store::housekeeping::{self, Purged};
use punchcard_store::{jobs, webhooks};
use time::Duration;

use crate::{App, AppError};

/// How long a replay with the same `Idempotency-Key` returns the first answer.
pub const IDEMPOTENCY_REPLAY_WINDOW: Duration = Duration::hours(24);

/// Ended sessions, codes and invitations are kept this long (for support questions).
pub const KEEP_ENDED: Duration = Duration::days(1);

/// Rows deleted by one statement of a purge that may find many: each batch commits on its own,
/// so a large backlog never holds a long write lock.
pub const PURGE_BATCH: i64 = 500;

impl App {
    /// Purges as of `now`; safe to run on several servers at once.
    pub async fn purge_expired_at(&self, now: Timestamp) -> Result<Purged, AppError> {
        // Each statement takes its own turn to write, so a large backlog never holds up
        // requests' writes for long.
        let mut purged = housekeeping::purge(
            &mut *self.db.write_conn().await?,
            now.minus(KEEP_ENDED),
            now.minus(IDEMPOTENCY_REPLAY_WINDOW),
        )
        .await?;
        // Each batch is a statement of its own, until one finds fewer than a batch.
        let retention =
            Duration::try_from(self.settings.webhook_retention).unwrap_or(Duration::days(30));
        let kept_from = now.minus(retention);
        loop {
            let n =
                webhooks::purge_ended(&mut *self.db.write_conn().await?, kept_from, PURGE_BATCH)
                    .await?;
            purged.webhook_deliveries += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        loop {
            let n = jobs::purge_failed(&mut *self.db.write_conn().await?, kept_from, PURGE_BATCH)
                .await?;
            purged.failed_jobs += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        if purged != Purged::default() {
            tracing::info!(?purged, "expired rows purged");
        }
        Ok(purged)
    }
}
