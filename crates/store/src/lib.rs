//! All SQL: one query path for SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Every function takes a connection (`&mut AnyConnection`), so a use case can compose several
//! of them in one transaction opened with [`Db::begin_write`].

pub mod accounts;
pub mod allowed_ips;
pub mod api_keys;
mod catalog;
pub mod changes;
pub mod coupons;
pub mod currencies;
pub mod deals;
pub mod error;
pub mod housekeeping;
pub mod idempotency;
pub mod invitations;
pub mod kyc;
pub mod leads;
pub mod limits;
pub mod login_activities;
pub mod notifications;
pub mod offers;
pub mod otp;
pub mod plans;
pub mod quotas;
pub mod sessions;
pub mod stores;
pub mod uploads;
pub mod wallets;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

pub use error::{StoreError, UniqueKey};
pub use sqlx::AnyConnection as Conn;

/// A write transaction; commit it with [`commit`] or it rolls back on drop. It derefs to the
/// connection, so every store function takes `&mut tx`.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    /// SQLite: this process's turn to write, held until the transaction ends.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    backend: Backend,
    /// Topics published in this transaction, told to this process's subscribers on commit.
    published: Vec<changes::Topic>,
    /// SQLite: the change counter value this transaction wrote.
    bumped_to: Option<i64>,
    hub: std::sync::Arc<changes::Hub>,
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a pool plus which engine is behind it.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time: writers of this process queue here in arrival order
    /// instead of sleeping and retrying in SQLite's busy handler.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// This process's end of the change notifications (see [`changes`]).
    hub: std::sync::Arc<changes::Hub>,
    /// The URL it was opened with (the change listener opens its own connection).
    url: DbUrl,
}

/// A database URL, which may hold a password: never printed.
#[derive(Clone)]
struct DbUrl(std::sync::Arc<str>);

impl DbUrl {
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbUrl(..)")
    }
}

/// Which backend a URL names, or a clear error.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        _ => Err(StoreError::UnsupportedUrl(format!(
            "unsupported database URL scheme `{scheme}`: use sqlite://FILE or postgres://USER@HOST/DB"
        ))),
    }
}

impl Db {
    /// Connects (creating a missing SQLite file) and checks the database answers.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::UnsupportedUrl(format!("invalid database URL: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            // A broken connection fails its query (and is then dropped) rather than costing
            // every checkout a round trip to test it.
            .test_before_acquire(false)
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 20,
            });
        let pool_options = match backend {
            Backend::Sqlite => pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the single writer; FULL makes every
                    // acknowledged commit durable; the busy timeout queues writers instead of failing.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(describe_connect_error(&e)))?;
        Ok(Self {
            pool,
            backend,
            writer: Default::default(),
            hub: changes::Hub::new(),
            url: DbUrl(url.into()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// A pooled connection for reads (or single-statement writes).
    pub async fn conn(&self) -> Result<PoolConnection<Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Opens a write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so a read-then-write transaction cannot fail to upgrade its lock.
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.writer.clone().lock_owned().await;
                Tx {
                    inner: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: Some(turn),
                    backend: self.backend,
                    published: Vec::new(),
                    bumped_to: None,
                    hub: self.hub.clone(),
                }
            }
            Backend::Postgres => Tx {
                inner: self.pool.begin().await?,
                _turn: None,
                backend: self.backend,
                published: Vec::new(),
                bumped_to: None,
                hub: self.hub.clone(),
            },
        })
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Table and column names of the current schema, for the cross-backend equivalence test.
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                 ORDER BY m.name, p.name"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' \
                 ORDER BY table_name, column_name"
            }
        };
        let rows: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&self.pool).await?;
        Ok(rows)
    }

    /// Every unique index of the current schema (primary keys included) with its columns in
    /// order, for the test that [`error::UNIQUE_INDEXES`] names them all.
    pub async fn schema_unique_indexes(&self) -> Result<Vec<SchemaUniqueIndex>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name, il.name, ii.name FROM sqlite_master m \
                 JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                 AND il.\"unique\" = 1 ORDER BY m.name, il.name, ii.seqno"
            }
            Backend::Postgres => {
                "SELECT CAST(t.relname AS TEXT), CAST(i.relname AS TEXT), CAST(a.attname AS TEXT) \
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 JOIN LATERAL unnest(CAST(x.indkey AS int2[])) WITH ORDINALITY AS k(attnum, ord) ON true \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE x.indisunique AND n.nspname = current_schema() AND t.relname NOT LIKE '_sqlx%' \
                 ORDER BY 1, 2, k.ord"
            }
        };
        let rows: Vec<(String, String, String)> = sqlx::query_as(sql).fetch_all(&self.pool).await?;
        let mut out: Vec<SchemaUniqueIndex> = Vec::new();
        for (table, name, column) in rows {
            match out.last_mut() {
                Some(last) if last.table == table && last.name == name => last.columns.push(column),
                _ => out.push(SchemaUniqueIndex {
                    table,
                    name,
                    columns: vec![column],
                }),
            }
        }
        Ok(out)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A unique index as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaUniqueIndex {
    pub table: String,
    /// On SQLite a primary key's index is `sqlite_autoindex_<table>_<n>`.
    pub name: String,
    pub columns: Vec<String>,
}

fn describe_connect_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => format!("cannot reach the database: {io}"),
        sqlx::Error::PoolTimedOut => "cannot reach the database: timed out".to_string(),
        sqlx::Error::Database(db) => {
            format!("the database refused the connection: {}", db.message())
        }
        sqlx::Error::Configuration(c) => format!("invalid database configuration: {c}"),
        other => format!("cannot open the database: {other}"),
    }
}

/// Commits a write transaction, then tells this process's subscribers what it published.
/// Inside an idempotent request (see [`idempotency::FENCE`]) the same transaction records that
/// the request's action is applied, and the transaction rolls back with
/// [`StoreError::Superseded`] if the request no longer holds its key.
pub async fn commit(mut tx: Tx) -> Result<(), StoreError> {
    if let Ok(fence) = idempotency::FENCE.try_with(Clone::clone) {
        if !idempotency::mark_applied(&mut tx, &fence).await? {
            return Err(StoreError::Superseded);
        }
    }
    let Tx {
        inner,
        _turn,
        published,
        bumped_to,
        hub,
        ..
    } = tx;
    inner.commit().await?;
    drop(_turn);
    if let Some(value) = bumped_to {
        hub.committed_bump(value);
    }
    for topic in published {
        hub.send(changes::Change::Topic(topic));
    }
    Ok(())
}

/// The `env` column of a row.
pub(crate) fn env_of(row: &sqlx::any::AnyRow) -> Result<punchcard_domain::Env, StoreError> {
    use sqlx::Row;
    let env: String = row.try_get("env")?;
    env.parse()
        .map_err(|_| StoreError::Database(sqlx::Error::Decode(format!("bad env `{env}`").into())))
}
