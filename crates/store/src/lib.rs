//! All SQL, on SQLite or PostgreSQL through their native sqlx drivers (see [`db`]).
//!
//! Every function takes a connection (`&mut Conn`), so a use case can compose several of them
//! in one transaction opened with [`Db::begin_write`].

// Each aggregate's tables, with the functions the use cases call on them.

// Accounts: merchants and members, sign-in, KYC and what the dashboard shows them.
pub mod accounts;
pub mod invitations;
pub mod kyc;
pub mod login_activities;
pub mod notifications;
pub mod otp;
pub mod password_resets;
pub mod sessions;
pub mod uploads;

// Access: API keys, allowed IPs, idempotency records, plans, caps and quotas.
pub mod allowed_ips;
pub mod api_keys;
pub mod idempotency;
pub mod limits;
pub mod plans;
pub mod quotas;

// The ledger: currencies, leads, wallets and their transactions.
pub mod currencies;
pub mod leads;
pub mod signing_keys;
pub mod wallets;

// The catalog: one skeleton (`catalog`) and its kinds.
pub mod catalog;
pub mod deals;
pub mod offers;
pub mod stores;

// The campaign engine: campaigns of every kind, their interactions and authorized keys.
pub mod campaign_reports;
pub mod campaigns;

// Coupons: the codes of a deal's vault and the coupons issued from them.
pub mod coupons;
pub mod vaults;
pub mod vouchers;

// Swaps between leads and merchants.
pub mod swaps;

// The partner app at the counter, and the messages merchants send.
pub mod counter;
pub mod messages;

// The overview's figures.
pub mod stats;

// Webhook endpoints, their deliveries, and the job queue that drives background work.
pub mod jobs;
pub mod webhooks;

// The machinery: connections and queries, errors, change notifications and the caches they
// keep true, housekeeping.
pub mod cache;
pub mod changes;
pub mod db;
pub mod error;
pub mod housekeeping;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};

pub use db::{query, statement, Conn, DbRow, Query};
pub use error::{StoreError, UniqueKey};

/// A write transaction; commit it with [`commit`] or it rolls back on drop. It derefs to the
/// connection, so every store function takes `&mut tx`.
pub struct Tx {
    inner: Conn,
    /// SQLite: this process's turn to write, held until the transaction ends.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    backend: Backend,
    /// Topics published in this transaction, told to this process's subscribers on commit.
    published: Vec<changes::Topic>,
    /// SQLite: the change counter value this transaction wrote.
    bumped_to: Option<i64>,
    hub: std::sync::Arc<changes::Hub>,
    /// Savepoints open in this transaction (each named by its depth).
    savepoints: usize,
}

/// A point inside a [`Tx`] to roll back to, so one refused step does not undo the steps
/// before it. Give it back with [`Tx::release`] (keep the step) or [`Tx::rollback_to`] (undo
/// it); savepoints nest and end in the reverse order of their opening.
#[must_use = "a savepoint is released or rolled back to"]
#[derive(Debug)]
pub struct Savepoint {
    depth: usize,
    /// What the transaction had published when the savepoint was taken.
    published: usize,
    bumped_to: Option<i64>,
}

impl Savepoint {
    fn name(&self) -> String {
        format!("punchcard_sp_{}", self.depth)
    }
}

impl Tx {
    /// Opens a savepoint (`SAVEPOINT`).
    pub async fn savepoint(&mut self) -> Result<Savepoint, StoreError> {
        let sp = Savepoint {
            depth: self.savepoints,
            published: self.published.len(),
            bumped_to: self.bumped_to,
        };
        query(format!("SAVEPOINT {}", sp.name()))
            .persistent(sp.depth < 4)
            .execute(&mut self.inner)
            .await?;
        self.savepoints += 1;
        Ok(sp)
    }

    /// Keeps what was done since the savepoint, as part of the transaction (`RELEASE
    /// SAVEPOINT`); it still commits or rolls back with the whole transaction.
    pub async fn release(&mut self, sp: Savepoint) -> Result<(), StoreError> {
        self.end(&sp)?;
        query(format!("RELEASE SAVEPOINT {}", sp.name()))
            .persistent(sp.depth < 4)
            .execute(&mut self.inner)
            .await?;
        Ok(())
    }

    /// Undoes what was done since the savepoint (`ROLLBACK TO SAVEPOINT`, then `RELEASE`):
    /// its writes and the topics it published; the transaction goes on. This also recovers a
    /// PostgreSQL transaction that a failed statement left aborted.
    pub async fn rollback_to(&mut self, sp: Savepoint) -> Result<(), StoreError> {
        self.end(&sp)?;
        let name = sp.name();
        query(format!("ROLLBACK TO SAVEPOINT {name}"))
            .persistent(sp.depth < 4)
            .execute(&mut self.inner)
            .await?;
        query(format!("RELEASE SAVEPOINT {name}"))
            .persistent(sp.depth < 4)
            .execute(&mut self.inner)
            .await?;
        self.published.truncate(sp.published);
        self.bumped_to = sp.bumped_to;
        Ok(())
    }

    fn end(&mut self, sp: &Savepoint) -> Result<(), StoreError> {
        if sp.depth + 1 != self.savepoints {
            return Err(StoreError::Database(error::DbError(sqlx::Error::Protocol(
                format!(
                    "savepoint {} ended while {} are open: savepoints end innermost first",
                    sp.depth, self.savepoints
                ),
            ))));
        }
        self.savepoints -= 1;
        Ok(())
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

/// A pooled connection for writes outside a transaction (see [`Db::write_conn`]); it derefs
/// to the connection.
pub struct WriteConn {
    conn: Conn,
    /// SQLite: this process's turn to write, held until the connection goes back.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteConn {
    type Target = Conn;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
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

/// What a connection pool holds right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    pub pool: &'static str,
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// The database: a pool plus which engine is behind it.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// PostgreSQL: the connections of the ledger writer's groups (see [`Db::begin_group`]).
    ledger: Option<PgPool>,
    /// SQLite: the one connection every write goes through, in turn. Its page cache stays
    /// current (no other connection of this process writes), where a write on any pooled
    /// connection would first read again every page changed since that connection's last use.
    sqlite_writer: Option<SqlitePool>,
    backend: Backend,
    /// SQLite has one writer at a time: writers of this process queue here in arrival order
    /// instead of sleeping and retrying in SQLite's busy handler.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// This process's end of the change notifications (see [`changes`]).
    hub: std::sync::Arc<changes::Hub>,
    /// The URL it was opened with (the change listener opens its own connection).
    url: DbUrl,
}

/// The pool of the engine behind the URL.
#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
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
        let backend = backend_of(url)?;
        let invalid =
            |e: sqlx::Error| StoreError::UnsupportedUrl(format!("invalid database URL: {e}"));
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(describe_connect_error(&e));
        let mut ledger = None;
        let mut sqlite_writer = None;
        let pool = match backend {
            Backend::Sqlite => {
                // WAL lets readers run beside the single writer; FULL makes every
                // acknowledged commit durable; the busy timeout queues writers instead of failing.
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .log_statements(tracing::log::LevelFilter::Trace)
                    .log_slow_statements(
                        tracing::log::LevelFilter::Warn,
                        Duration::from_millis(500),
                    );
                let pool = pool_options(8)
                    .connect_with(options.clone())
                    .await
                    .map_err(unavailable)?;
                sqlite_writer = Some(
                    pool_options(1)
                        .connect_with(options)
                        .await
                        .map_err(unavailable)?,
                );
                Pool::Sqlite(pool)
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .log_statements(tracing::log::LevelFilter::Trace)
                    .log_slow_statements(
                        tracing::log::LevelFilter::Warn,
                        Duration::from_millis(500),
                    );
                // The ledger writer's groups get connections of their own, so they never wait
                // behind requests for one; they are opened when first used.
                ledger = Some(pool_options(LEDGER_CONNECTIONS).connect_lazy_with(options.clone()));
                Pool::Postgres(
                    pool_options(20)
                        .connect_with(options)
                        .await
                        .map_err(unavailable)?,
                )
            }
        };
        Ok(Self {
            pool,
            ledger,
            sqlite_writer,
            backend,
            writer: Default::default(),
            hub: changes::Hub::new(),
            url: DbUrl(url.into()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pools and how many connections each holds: `main`, on PostgreSQL
    /// `ledger` (the ledger writer's) and on SQLite `writer` (the one every write goes through).
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        let mut stats = vec![match &self.pool {
            Pool::Sqlite(p) => stats_of("main", p),
            Pool::Postgres(p) => stats_of("main", p),
        }];
        stats.extend(self.ledger.as_ref().map(|p| stats_of("ledger", p)));
        stats.extend(self.sqlite_writer.as_ref().map(|p| stats_of("writer", p)));
        stats
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrate_to(i64::MAX).await
    }

    /// Applies pending migrations up to and including `version` (an upgrade test builds the
    /// schema of an earlier release this way).
    pub async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        let run = match &self.pool {
            Pool::Sqlite(p) => migrator(&SQLITE_MIGRATIONS, version).run(p).await,
            Pool::Postgres(p) => migrator(&POSTGRES_MIGRATIONS, version).run(p).await,
        };
        run.map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// A pooled connection for reads. Writes outside a transaction take [`Db::write_conn`].
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Conn::sqlite_pooled(p.acquire().await?),
            Pool::Postgres(p) => Conn::pg_pooled(p.acquire().await?),
        })
    }

    /// A pooled connection for single-statement writes outside a transaction. On SQLite it
    /// holds this process's turn to write, as [`Db::begin_write`] does: a statement that
    /// waited on SQLite's own lock instead would lose every race to the writers queued in
    /// turn (its busy handler polls) and could wait out its busy timeout under steady writes.
    pub async fn write_conn(&self) -> Result<WriteConn, StoreError> {
        Ok(match &self.sqlite_writer {
            Some(writer) => {
                let turn = self.writer.clone().lock_owned().await;
                WriteConn {
                    conn: Conn::sqlite_pooled(writer.acquire().await?),
                    _turn: Some(turn),
                }
            }
            None => WriteConn {
                conn: self.conn().await?,
                _turn: None,
            },
        })
    }

    /// A write transaction for a group of the ledger writer: on PostgreSQL on a connection
    /// kept for the writer, so a group never queues behind requests for a connection; on
    /// SQLite as any write.
    pub async fn begin_group(&self) -> Result<Tx, StoreError> {
        let Some(ledger) = &self.ledger else {
            return self.begin_write().await;
        };
        Ok(Tx {
            inner: Conn::pg_tx(ledger.begin().await?),
            _turn: None,
            backend: self.backend,
            published: Vec::new(),
            bumped_to: None,
            hub: self.hub.clone(),
            savepoints: 0,
        })
    }

    /// Opens a write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so a read-then-write transaction cannot fail to upgrade its lock.
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.writer.clone().lock_owned().await;
                let Some(writer) = &self.sqlite_writer else {
                    unreachable!("a SQLite database has a writer's connection")
                };
                Tx {
                    inner: Conn::sqlite_tx(writer.begin_with("BEGIN IMMEDIATE").await?),
                    _turn: Some(turn),
                    backend: self.backend,
                    published: Vec::new(),
                    bumped_to: None,
                    hub: self.hub.clone(),
                    savepoints: 0,
                }
            }
            Backend::Postgres => Tx {
                inner: match &self.pool {
                    Pool::Postgres(pool) => Conn::pg_tx(pool.begin().await?),
                    Pool::Sqlite(_) => unreachable!("a PostgreSQL database has a PostgreSQL pool"),
                },
                _turn: None,
                backend: self.backend,
                published: Vec::new(),
                bumped_to: None,
                hub: self.hub.clone(),
                savepoints: 0,
            },
        })
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        query("SELECT 1").execute(&mut self.conn().await?).await?;
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
        let mut conn = self.conn().await?;
        query(sql)
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| Ok((r.at(0)?, r.at(1)?)))
            .collect()
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
        let mut conn = self.conn().await?;
        let rows = query(sql).fetch_all(&mut conn).await?;
        let mut out: Vec<SchemaUniqueIndex> = Vec::new();
        for row in rows {
            let (table, name, column): (String, String, String) =
                (row.at(0)?, row.at(1)?, row.at(2)?);
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
        if let Some(ledger) = &self.ledger {
            ledger.close().await;
        }
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Connections kept for the ledger writer's groups on PostgreSQL: one per group in flight.
pub const LEDGER_CONNECTIONS: u32 = 2;

/// How many connections `p` holds, and how many of them are idle.
fn stats_of<DB: sqlx::Database>(pool: &'static str, p: &sqlx::Pool<DB>) -> PoolStats {
    PoolStats {
        pool,
        size: p.size(),
        idle: p.num_idle(),
        max: p.options().get_max_connections(),
    }
}

fn pool_options<DB: sqlx::Database>(max: u32) -> PoolOptions<DB> {
    PoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        // A broken connection fails its query (and is then dropped) rather than costing
        // every checkout a round trip to test it.
        .test_before_acquire(false)
        .max_connections(max)
}

/// The migrations of `all` up to and including `version`.
fn migrator(all: &sqlx::migrate::Migrator, version: i64) -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate::Migrator::DEFAULT;
    m.migrations = all
        .migrations
        .iter()
        .filter(|m| m.version <= version)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    m
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
pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    let fence = idempotency::FENCE.try_with(Clone::clone).ok();
    commit_fenced(tx, fence.as_ref()).await
}

/// [`commit`] with the request's fence given rather than read from the task (for work done
/// on a request's behalf by another task, such as the ledger writer); `None` commits
/// unfenced.
pub async fn commit_fenced(
    mut tx: Tx,
    fence: Option<&idempotency::Fence>,
) -> Result<(), StoreError> {
    if let Some(fence) = fence {
        if !idempotency::mark_applied(&mut tx, fence).await? {
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
pub(crate) fn env_of(row: &DbRow) -> Result<punchcard_domain::Env, StoreError> {
    db::parsed(row, "env")
}
