//! Connections on the native drivers: a [`Conn`] is a SQLite or a PostgreSQL connection, and
//! a [`Query`] runs on either.
//!
//! A statement is written once: as portable SQL text with `$N` placeholders (both engines read
//! them), or, when it is assembled from optional parts, with sea-query, which renders it for
//! the engine. Values are bound as typed values: a [`Timestamp`] is a `timestamptz` on
//! PostgreSQL and fixed-width RFC 3339 text on SQLite (so text order is time order there), a
//! flag is a `boolean` on PostgreSQL and 0/1 on SQLite. Reading a column into a type it does
//! not decode to is an error, never a default.

use punchcard_domain::time::Timestamp;
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder, Value, Values};
use sea_query_binder::SqlxValues;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, Postgres, Row as _, Sqlite, SqliteConnection, Transaction};

use crate::{Backend, StoreError};

/// A connection taken from the pool, or the connection of an open transaction.
pub struct Conn(Inner);

enum Inner {
    SqlitePooled(PoolConnection<Sqlite>),
    SqliteTx(Transaction<'static, Sqlite>),
    PgPooled(PoolConnection<Postgres>),
    PgTx(Transaction<'static, Postgres>),
}

/// The driver connection behind a [`Conn`].
pub(crate) enum Target<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn {
    pub(crate) fn sqlite_pooled(c: PoolConnection<Sqlite>) -> Self {
        Self(Inner::SqlitePooled(c))
    }

    pub(crate) fn sqlite_tx(t: Transaction<'static, Sqlite>) -> Self {
        Self(Inner::SqliteTx(t))
    }

    pub(crate) fn pg_pooled(c: PoolConnection<Postgres>) -> Self {
        Self(Inner::PgPooled(c))
    }

    pub(crate) fn pg_tx(t: Transaction<'static, Postgres>) -> Self {
        Self(Inner::PgTx(t))
    }

    pub fn backend(&self) -> Backend {
        match self.0 {
            Inner::SqlitePooled(_) | Inner::SqliteTx(_) => Backend::Sqlite,
            Inner::PgPooled(_) | Inner::PgTx(_) => Backend::Postgres,
        }
    }

    pub(crate) fn target(&mut self) -> Target<'_> {
        match &mut self.0 {
            Inner::SqlitePooled(c) => Target::Sqlite(c),
            Inner::SqliteTx(t) => Target::Sqlite(t),
            Inner::PgPooled(c) => Target::Postgres(c),
            Inner::PgTx(t) => Target::Postgres(t),
        }
    }

    /// The PostgreSQL connection, for the few statements written for that engine alone
    /// (arrays with `UNNEST`); `None` on SQLite.
    pub(crate) fn postgres(&mut self) -> Option<&mut PgConnection> {
        match &mut self.0 {
            Inner::PgPooled(c) => Some(c),
            Inner::PgTx(t) => Some(t),
            Inner::SqlitePooled(_) | Inner::SqliteTx(_) => None,
        }
    }

    /// Commits the transaction this connection belongs to (a pooled connection has none).
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            Inner::SqliteTx(t) => t.commit().await?,
            Inner::PgTx(t) => t.commit().await?,
            Inner::SqlitePooled(_) | Inner::PgPooled(_) => {}
        }
        Ok(())
    }
}

/// A value bound to a placeholder.
pub trait Arg {
    fn value(self) -> Value;
}

macro_rules! plain_args {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn value(self) -> Value {
                self.into()
            }
        }
    )*};
}

plain_args!(
    &str,
    String,
    &String,
    i64,
    i32,
    bool,
    Option<&str>,
    Option<String>,
    Option<i64>,
    Option<bool>
);

impl Arg for &Option<String> {
    fn value(self) -> Value {
        self.as_deref().into()
    }
}

impl Arg for Timestamp {
    fn value(self) -> Value {
        Value::TimeDateTimeWithTimeZone(Some(Box::new(self.datetime())))
    }
}

impl Arg for Option<Timestamp> {
    fn value(self) -> Value {
        Value::TimeDateTimeWithTimeZone(self.map(|t| Box::new(t.datetime())))
    }
}

impl Arg for Value {
    fn value(self) -> Value {
        self
    }
}

/// SQLite keeps a timestamp as fixed-width text; every other value binds as it is.
fn for_sqlite(values: Values) -> SqlxValues {
    SqlxValues(Values(
        values
            .0
            .into_iter()
            .map(|v| match v {
                Value::TimeDateTimeWithTimeZone(t) => {
                    Value::String(t.map(|t| Box::new(Timestamp::from_datetime(*t).to_db())))
                }
                other => other,
            })
            .collect(),
    ))
}

/// Runs `$body` with the statement prepared for the connection's engine (`$q`), the driver
/// connection (`$c`) and the constructor of that engine's [`DbRow`] (`$row`).
macro_rules! on_engine {
    ($query:expr, $conn:expr, |$q:ident, $c:ident, $row:ident| $body:expr) => {{
        let keep = $query.persistent;
        match $conn.target() {
            Target::Sqlite($c) => {
                let (sql, values) = $query.for_sqlite();
                let $q = sqlx::query_with(&sql, values).persistent(keep);
                let $row = DbRow::Sqlite;
                $body
            }
            Target::Postgres($c) => {
                let (sql, values) = $query.for_postgres();
                let $q = sqlx::query_with(&sql, values).persistent(keep);
                let $row = DbRow::Postgres;
                $body
            }
        }
    }};
}

/// A statement with its values, ready to run on either engine.
#[must_use]
pub struct Query {
    text: Text,
    /// Whether the driver keeps the prepared statement for reuse (see [`Query::persistent`]).
    persistent: bool,
}

enum Text {
    /// Portable SQL with `$N` placeholders and its values.
    Portable(String, Vec<Value>),
    /// A statement rendered for each engine.
    Rendered {
        sqlite: (String, Values),
        postgres: (String, Values),
    },
}

/// A statement from portable SQL text; bind its `$N` values in order with [`Query::bind`].
pub fn query(sql: impl Into<String>) -> Query {
    Query {
        text: Text::Portable(sql.into(), Vec::new()),
        persistent: true,
    }
}

/// A statement built with sea-query, rendered for both engines.
pub fn statement(s: &impl QueryStatementWriter) -> Query {
    Query {
        text: Text::Rendered {
            sqlite: s.build(SqliteQueryBuilder),
            postgres: s.build(PostgresQueryBuilder),
        },
        persistent: true,
    }
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

impl Query {
    pub fn bind(mut self, v: impl Arg) -> Self {
        match &mut self.text {
            Text::Portable(_, values) => values.push(v.value()),
            Text::Rendered { .. } => panic!("a rendered statement carries its own values"),
        }
        self
    }

    /// A statement whose text changes from call to call is not kept prepared.
    pub fn persistent(mut self, keep: bool) -> Self {
        self.persistent = keep;
        self
    }

    fn for_sqlite(self) -> (String, SqlxValues) {
        match self.text {
            Text::Portable(sql, values) => (sql, for_sqlite(Values(values))),
            Text::Rendered { sqlite, .. } => (sqlite.0, for_sqlite(sqlite.1)),
        }
    }

    fn for_postgres(self) -> (String, SqlxValues) {
        match self.text {
            Text::Portable(sql, values) => (sql, SqlxValues(Values(values))),
            Text::Rendered { postgres, .. } => (postgres.0, SqlxValues(postgres.1)),
        }
    }

    pub async fn execute(self, conn: &mut Conn) -> Result<Done, StoreError> {
        let rows = on_engine!(self, conn, |q, c, _row| q.execute(c).await?.rows_affected());
        Ok(Done { rows })
    }

    pub async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<DbRow>, StoreError> {
        Ok(on_engine!(self, conn, |q, c, row| q
            .fetch_all(c)
            .await?
            .into_iter()
            .map(row)
            .collect()))
    }

    pub async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<DbRow>, StoreError> {
        Ok(on_engine!(self, conn, |q, c, row| q
            .fetch_optional(c)
            .await?
            .map(row)))
    }

    pub async fn fetch_one(self, conn: &mut Conn) -> Result<DbRow, StoreError> {
        self.fetch_optional(conn)
            .await?
            .ok_or(StoreError::from(sqlx::Error::RowNotFound))
    }

    /// The first column of the one row.
    pub async fn scalar<T: Column>(self, conn: &mut Conn) -> Result<T, StoreError> {
        self.fetch_one(conn).await?.at(0)
    }

    /// The first column of the row, if there is one.
    pub async fn scalar_optional<T: Column>(
        self,
        conn: &mut Conn,
    ) -> Result<Option<T>, StoreError> {
        self.fetch_optional(conn)
            .await?
            .map(|r| r.at(0))
            .transpose()
    }

    /// The first column of every row.
    pub async fn scalars<T: Column>(self, conn: &mut Conn) -> Result<Vec<T>, StoreError> {
        self.fetch_all(conn)
            .await?
            .iter()
            .map(|r| r.at(0))
            .collect()
    }
}

/// A row from either engine.
pub enum DbRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

/// Where a column is: by name or by position.
pub trait ColumnIndex: Copy + std::fmt::Display {
    fn sqlite(self, row: &SqliteRow) -> Result<usize, sqlx::Error>;
    fn postgres(self, row: &PgRow) -> Result<usize, sqlx::Error>;
}

impl ColumnIndex for &str {
    fn sqlite(self, row: &SqliteRow) -> Result<usize, sqlx::Error> {
        sqlx::ColumnIndex::index(&self, row)
    }

    fn postgres(self, row: &PgRow) -> Result<usize, sqlx::Error> {
        sqlx::ColumnIndex::index(&self, row)
    }
}

impl ColumnIndex for usize {
    fn sqlite(self, _row: &SqliteRow) -> Result<usize, sqlx::Error> {
        Ok(self)
    }

    fn postgres(self, _row: &PgRow) -> Result<usize, sqlx::Error> {
        Ok(self)
    }
}

impl DbRow {
    /// The column `index` decoded as `T`; a value that does not decode is an error.
    pub fn try_get<T: Column>(&self, index: &str) -> Result<T, StoreError> {
        self.at(index)
    }

    pub fn at<T: Column>(&self, index: impl ColumnIndex) -> Result<T, StoreError> {
        let decoded = match self {
            DbRow::Sqlite(r) => index.sqlite(r).and_then(|i| T::sqlite(r, i)),
            DbRow::Postgres(r) => index.postgres(r).and_then(|i| T::postgres(r, i)),
        };
        decoded.map_err(StoreError::from)
    }
}

/// A type a column decodes into on both engines.
pub trait Column: Sized {
    fn sqlite(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error>;
    fn postgres(row: &PgRow, i: usize) -> Result<Self, sqlx::Error>;
}

macro_rules! plain_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn sqlite(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
                row.try_get(i)
            }
            fn postgres(row: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
                row.try_get(i)
            }
        }
    )*};
}

plain_columns!(String, i64, bool, Option<String>, Option<i64>, Option<bool>);

fn decode_error(what: String) -> sqlx::Error {
    sqlx::Error::Decode(what.into())
}

/// The error for a stored value that is not one of its column's values.
/// Rows one multi-row statement writes or reads at most: SQLite finds a numbered value's slot
/// by a linear search, so binding costs grow with the square of the values.
pub(crate) const ROWS_PER_STATEMENT: usize = 32;

/// `$first, $first+1, …`: `count` numbered placeholders.
pub(crate) fn numbered(first: usize, count: usize) -> String {
    (0..count)
        .map(|i| format!("${}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($first, …), (…), …`: the placeholders of `rows` rows of `width` values each.
pub(crate) fn rows_of(first: usize, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", numbered(first + r * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn bad_value(column: &str, text: &str) -> StoreError {
    StoreError::from(decode_error(format!(
        "column `{column}` holds `{text}`, which is not a valid value"
    )))
}

impl Column for Timestamp {
    fn sqlite(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
        let text: String = row.try_get(i)?;
        Timestamp::parse(&text).ok_or_else(|| decode_error(format!("bad timestamp `{text}`")))
    }

    fn postgres(row: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
        let t: time::OffsetDateTime = row.try_get(i)?;
        Ok(Timestamp::from_datetime(t))
    }
}

impl Column for Option<Timestamp> {
    fn sqlite(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
        let text: Option<String> = row.try_get(i)?;
        text.map(|text| {
            Timestamp::parse(&text).ok_or_else(|| decode_error(format!("bad timestamp `{text}`")))
        })
        .transpose()
    }

    fn postgres(row: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
        let t: Option<time::OffsetDateTime> = row.try_get(i)?;
        Ok(t.map(Timestamp::from_datetime))
    }
}

/// A text column parsed into a domain type (an id, an environment, a status): a value that
/// does not parse is a decode error naming it.
pub fn parsed<T: std::str::FromStr>(row: &DbRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| bad_value(column, &text))
}

/// Like [`parsed`], for a nullable column.
pub fn parsed_opt<T: std::str::FromStr>(
    row: &DbRow,
    column: &str,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| text.parse().map_err(|_| bad_value(column, &text)))
        .transpose()
}
