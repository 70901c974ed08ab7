//! Store errors: what went wrong, never the SQL text for a client.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    UnsupportedUrl(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A unique constraint refused the write; the value names the constraint or index.
    #[error("duplicate value ({0})")]
    Conflict(String),
    /// The idempotent request no longer holds its key (another attempt took it over, or an
    /// earlier attempt's action was applied): its transaction was rolled back.
    #[error("the request's idempotency key is held by another attempt")]
    Superseded,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let name = db
                    .constraint()
                    .map(str::to_string)
                    .unwrap_or_else(|| db.message().to_string());
                return StoreError::Conflict(name);
            }
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Whether a unique-constraint conflict concerns the named column or index.
    pub fn is_conflict_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::Conflict(c) if c.contains(needle))
    }
}
