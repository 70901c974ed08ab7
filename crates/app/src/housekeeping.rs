//! Periodic clean-up of rows that no longer serve anyone.

use punchcard_domain::time::Timestamp;
use punchcard_store::housekeeping::{self, Purged};
use time::Duration;

use crate::{App, AppError};

/// How long a replay with the same `Idempotency-Key` returns the first answer.
pub const IDEMPOTENCY_REPLAY_WINDOW: Duration = Duration::hours(24);

/// Ended sessions, codes and invitations are kept this long (for support questions).
pub const KEEP_ENDED: Duration = Duration::days(1);

impl App {
    /// Purges as of `now`; safe to run on several servers at once.
    pub async fn purge_expired_at(&self, now: Timestamp) -> Result<Purged, AppError> {
        let mut conn = self.db.write_conn().await?;
        let purged = housekeeping::purge(
            &mut conn,
            now.minus(KEEP_ENDED),
            now.minus(IDEMPOTENCY_REPLAY_WINDOW),
        )
        .await?;
        if purged != Purged::default() {
            tracing::info!(?purged, "expired rows purged");
        }
        Ok(purged)
    }
}
