//! The SQLite and PostgreSQL migrations produce equivalent schemas: the same tables and
//! columns, each column of the same type family and nullability, the same primary keys, and
//! the same indexes (table, columns in order, uniqueness, partial predicate, and the name of
//! each index made by `CREATE INDEX`).
//!
//! Where the two legitimately differ, `ALLOWED` names the difference and says why; an entry
//! that matches no difference fails the test too, so the list stays true. A second test plants
//! differences in a PostgreSQL schema and checks that each one is reported.

use std::collections::{BTreeMap, BTreeSet};

use punchcard_store::Db;

/// Differences between the SQLite and the PostgreSQL schema that are intended, each as
/// `schema_differences` words it, with the reason. None today: the type families the engines
/// keep differently are in `EQUIVALENT_FAMILIES`.
const ALLOWED: &[(&str, &str)] = &[];

/// A SQLite family that stands for a PostgreSQL one, with the reason.
const EQUIVALENT_FAMILIES: &[(&str, &str, &str)] = &[
    (
        "text",
        "timestamp",
        "SQLite keeps a moment as fixed-width RFC 3339 text in UTC, so text order is time order",
    ),
    (
        "integer (64-bit)",
        "boolean",
        "SQLite keeps a flag as 0 or 1",
    ),
    (
        "text",
        "numeric",
        "SQLite keeps an exact decimal (a currency's rate) as its decimal text",
    ),
];

// ---- Type families ------------------------------------------------------------------------
//
// A column's type is compared by family, since the two engines spell types differently:
//
// | family            | SQLite declared type          | PostgreSQL data type              |
// |-------------------|-------------------------------|-----------------------------------|
// | text              | TEXT, VARCHAR, CHAR, CLOB     | text, character varying, character|
// | integer (64-bit)  | INTEGER, BIGINT, INT          | bigint                            |
// | integer (32-bit)  | (none: SQLite is 64-bit)      | integer, smallint                 |
// | boolean           | BOOLEAN, BOOL                 | boolean                           |
// | timestamp         | DATETIME, TIMESTAMPTZ         | timestamp with time zone          |
// | timestamp (naive) | TIMESTAMP                     | timestamp without time zone       |
// | numeric           | NUMERIC, DECIMAL              | numeric                           |
// | float             | REAL, DOUBLE, FLOAT           | real, double precision            |
// | blob              | BLOB                          | bytea                             |
//
// PostgreSQL keeps moments as `timestamptz`, flags as `boolean` and rates as `numeric`; SQLite
// keeps their equivalents (`EQUIVALENT_FAMILIES`). An unknown type fails the test: map it here
// rather than let it pass unexamined.

fn sqlite_family(table: &str, column: &str, declared: &str) -> &'static str {
    let base = declared
        .split('(')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    match base.as_str() {
        "TEXT" | "VARCHAR" | "CHAR" | "CLOB" => "text",
        "INTEGER" | "BIGINT" | "INT" => "integer (64-bit)",
        "BOOLEAN" | "BOOL" => "boolean",
        "DATETIME" | "TIMESTAMPTZ" => "timestamp",
        "TIMESTAMP" => "timestamp (naive)",
        "NUMERIC" | "DECIMAL" => "numeric",
        "REAL" | "DOUBLE" | "FLOAT" => "float",
        "BLOB" => "blob",
        other => panic!("SQLite {table}.{column} is declared `{other}`: map it in sqlite_family"),
    }
}

fn postgres_family(table: &str, column: &str, data_type: &str) -> &'static str {
    match data_type {
        "text" | "character varying" | "character" => "text",
        "bigint" => "integer (64-bit)",
        "integer" | "smallint" => "integer (32-bit)",
        "boolean" => "boolean",
        "timestamp with time zone" => "timestamp",
        "timestamp without time zone" => "timestamp (naive)",
        "numeric" => "numeric",
        "real" | "double precision" => "float",
        "bytea" => "blob",
        other => panic!("PostgreSQL {table}.{column} is `{other}`: map it in postgres_family"),
    }
}

// ---- Reading a schema -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    table: String,
    columns: Vec<String>,
    unique: bool,
    /// The WHERE of a partial index, lower case, without parentheses.
    predicate: Option<String>,
    /// The name of an index made by `CREATE INDEX`; `None` for one behind a constraint,
    /// whose name each engine makes up.
    name: Option<String>,
}

impl std::fmt::Display for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.unique {
            write!(f, "unique ")?;
        }
        write!(f, "index ")?;
        if let Some(name) = &self.name {
            write!(f, "{name} ")?;
        }
        write!(f, "on {}({})", self.table, self.columns.join(", "))?;
        if let Some(p) = &self.predicate {
            write!(f, " where {p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Schema {
    /// (table, column) -> (type family, nullable)
    columns: BTreeMap<(String, String), (&'static str, bool)>,
    /// table -> primary key columns in order
    primary_keys: BTreeMap<String, Vec<String>>,
    indexes: BTreeSet<Index>,
}

fn normalise_predicate(sql: &str) -> String {
    sql.replace(['(', ')'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

async fn sqlite_schema(url: &str) -> Schema {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut schema = Schema::default();
    for (table,) in tables {
        let columns: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
                .bind(&table)
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for (column, declared, not_null, pk_position) in columns {
            let family = sqlite_family(&table, &column, &declared);
            // An INTEGER PRIMARY KEY is the rowid, never NULL; any other column is as declared
            // (SQLite lets a non-integer primary key column hold NULL unless it says NOT NULL).
            let rowid = pk_position > 0 && declared.eq_ignore_ascii_case("INTEGER");
            let nullable = not_null == 0 && !rowid;
            if pk_position > 0 {
                pk.push((pk_position, column.clone()));
            }
            schema
                .columns
                .insert((table.clone(), column), (family, nullable));
        }
        pk.sort();
        if !pk.is_empty() {
            schema
                .primary_keys
                .insert(table.clone(), pk.into_iter().map(|(_, c)| c).collect());
        }
        let indexes: Vec<(String, i64, String, i64)> =
            sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)")
                .bind(&table)
                .fetch_all(&pool)
                .await
                .unwrap();
        for (name, unique, origin, partial) in indexes {
            if origin == "pk" {
                continue;
            }
            let columns: Vec<(Option<String>,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let predicate = if partial == 1 {
                let (sql,): (String,) = sqlx::query_as(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                )
                .bind(&name)
                .fetch_one(&pool)
                .await
                .unwrap();
                let at = sql
                    .to_ascii_uppercase()
                    .rfind(" WHERE ")
                    .expect("a partial index has a WHERE");
                Some(normalise_predicate(&sql[at + 7..]))
            } else {
                None
            };
            schema.indexes.insert(Index {
                table: table.clone(),
                columns: columns
                    .into_iter()
                    .map(|(c,)| c.unwrap_or_else(|| "(expression)".to_string()))
                    .collect(),
                unique: unique == 1,
                predicate,
                name: (origin == "c").then_some(name),
            });
        }
    }
    pool.close().await;
    schema
}

/// (table, index, unique, primary, columns in order, predicate, made by a constraint)
type PgIndexRow = (
    String,
    String,
    bool,
    bool,
    Vec<String>,
    Option<String>,
    bool,
);

async fn postgres_schema(url: &str) -> Schema {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut schema = Schema::default();
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (table, column, data_type, nullable) in columns {
        let family = postgres_family(&table, &column, &data_type);
        schema
            .columns
            .insert((table, column), (family, nullable == "YES"));
    }
    let indexes: Vec<PgIndexRow> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indisprimary, \
                    ARRAY(SELECT COALESCE(a.attname::text, '(expression)') \
                          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                          LEFT JOIN pg_attribute a \
                            ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
                          ORDER BY k.ord), \
                    pg_get_expr(ix.indpred, ix.indrelid), \
                    EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid \
                            AND c.conrelid = ix.indrelid AND c.contype IN ('p', 'u', 'x')) \
             FROM pg_index ix \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND t.relname NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (table, name, unique, primary, columns, predicate, from_constraint) in indexes {
        if primary {
            schema.primary_keys.insert(table, columns);
            continue;
        }
        schema.indexes.insert(Index {
            table,
            columns,
            unique,
            predicate: predicate.as_deref().map(normalise_predicate),
            name: (!from_constraint).then_some(name),
        });
    }
    pool.close().await;
    schema
}

/// Every difference between the two schemas, one line each.
fn schema_differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let keys: BTreeSet<_> = sqlite
        .columns
        .keys()
        .chain(postgres.columns.keys())
        .collect();
    for key @ (table, column) in keys {
        match (sqlite.columns.get(key), postgres.columns.get(key)) {
            (Some((a_type, a_null)), Some((b_type, b_null))) => {
                if a_type != b_type
                    && !EQUIVALENT_FAMILIES
                        .iter()
                        .any(|(a, b, _)| a == a_type && b == b_type)
                {
                    out.push(format!(
                        "{table}.{column} type: SQLite {a_type}, PostgreSQL {b_type}"
                    ));
                }
                if a_null != b_null {
                    let word = |n: &bool| if *n { "NULL" } else { "NOT NULL" };
                    out.push(format!(
                        "{table}.{column} nullability: SQLite {}, PostgreSQL {}",
                        word(a_null),
                        word(b_null)
                    ));
                }
            }
            (Some(_), None) => out.push(format!("{table}.{column} only on SQLite")),
            (None, Some(_)) => out.push(format!("{table}.{column} only on PostgreSQL")),
            (None, None) => unreachable!(),
        }
    }
    let tables: BTreeSet<_> = sqlite
        .primary_keys
        .keys()
        .chain(postgres.primary_keys.keys())
        .collect();
    for table in tables {
        let (a, b) = (
            sqlite.primary_keys.get(table),
            postgres.primary_keys.get(table),
        );
        if a != b {
            out.push(format!(
                "{table} primary key: SQLite {a:?}, PostgreSQL {b:?}"
            ));
        }
    }
    for index in sqlite.indexes.difference(&postgres.indexes) {
        out.push(format!("{index} only on SQLite"));
    }
    for index in postgres.indexes.difference(&sqlite.indexes) {
        out.push(format!("{index} only on PostgreSQL"));
    }
    out
}

/// Both schemas, each made by its migration folder (PostgreSQL in a fresh database).
struct Migrated {
    _dir: tempfile::TempDir,
    sqlite_url: String,
    postgres_url: String,
    admin: String,
    database: String,
}

impl Migrated {
    async fn new() -> Option<Migrated> {
        let admin = crate::common::postgres_url()?;
        let dir = tempfile::tempdir().unwrap();
        let sqlite_url = format!("sqlite://{}", dir.path().join("s.db").display());
        let sqlite = Db::connect(&sqlite_url).await.unwrap();
        sqlite.migrate().await.unwrap();
        sqlite.close().await;
        let (postgres_url, database) = crate::common::fresh_postgres_database(&admin).await;
        let pg = Db::connect(&postgres_url).await.unwrap();
        pg.migrate().await.unwrap();
        pg.close().await;
        Some(Migrated {
            _dir: dir,
            sqlite_url,
            postgres_url,
            admin,
            database,
        })
    }

    async fn differences(&self) -> Vec<String> {
        let sqlite = sqlite_schema(&self.sqlite_url).await;
        let postgres = postgres_schema(&self.postgres_url).await;
        assert!(sqlite.columns.len() > 50, "the SQLite schema was read");
        assert!(!sqlite.indexes.is_empty() && !sqlite.primary_keys.is_empty());
        schema_differences(&sqlite, &postgres)
    }

    async fn drop(self) {
        crate::common::drop_postgres_database(&self.admin, &self.database).await;
    }
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(m) = Migrated::new().await else {
        return;
    };
    let found = m.differences().await;
    m.drop().await;
    let unexpected: Vec<&String> = found
        .iter()
        .filter(|d| !ALLOWED.iter().any(|(a, _)| a == d))
        .collect();
    let stale: Vec<&str> = ALLOWED
        .iter()
        .map(|(a, _)| *a)
        .filter(|a| !found.iter().any(|d| d == a))
        .collect();
    assert!(
        unexpected.is_empty(),
        "the SQLite and PostgreSQL migrations differ (fix one, or list the difference in \
         ALLOWED with its reason):\n{}",
        unexpected
            .iter()
            .map(|d| format!("  {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        stale.is_empty(),
        "ALLOWED lists differences that no longer exist: {stale:?}"
    );
}

/// Differences planted in the PostgreSQL schema are each reported: a type, a nullability, a
/// uniqueness, a column order, a partial predicate, an extra index and an extra column.
#[tokio::test]
async fn the_comparison_catches_planted_differences() {
    let Some(m) = Migrated::new().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&m.postgres_url).await.unwrap();
    for statement in [
        "ALTER TABLE merchants ALTER COLUMN rejection_reason TYPE bigint USING NULL",
        "ALTER TABLE merchants ALTER COLUMN status_before_freeze SET NOT NULL",
        "DROP INDEX members_email",
        "CREATE INDEX members_email ON members (email)",
        "DROP INDEX currencies_code",
        "CREATE UNIQUE INDEX currencies_code ON currencies (code, merchant_id)",
        "DROP INDEX offers_live_code",
        "CREATE UNIQUE INDEX offers_live_code ON offers (merchant_id, env, code) \
         WHERE deleted_at IS NOT NULL",
        "CREATE INDEX planted ON api_keys (created_at)",
        "ALTER TABLE plans ADD COLUMN planted TEXT",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let found = m.differences().await;
    m.drop().await;
    for expected in [
        "merchants.rejection_reason type: SQLite text, PostgreSQL integer (64-bit)",
        "merchants.status_before_freeze nullability: SQLite NULL, PostgreSQL NOT NULL",
        "unique index members_email on members(email) only on SQLite",
        "index members_email on members(email) only on PostgreSQL",
        "unique index currencies_code on currencies(merchant_id, code) only on SQLite",
        "unique index currencies_code on currencies(code, merchant_id) only on PostgreSQL",
        "unique index offers_live_code on offers(merchant_id, env, code) where deleted_at is not null only on PostgreSQL",
        "index planted on api_keys(created_at) only on PostgreSQL",
        "plans.planted only on PostgreSQL",
    ] {
        assert!(
            found.iter().any(|d| d == expected),
            "not reported: {expected}\nreported:\n{}",
            found.join("\n")
        );
    }
    assert_eq!(found.len(), 10, "{}", found.join("\n"));
}

#[tokio::test]
async fn migration_folders_have_the_same_names() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations");
    let names = |d: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[tokio::test]
async fn unsupported_and_unreachable_databases_are_clear_errors() {
    let err = Db::connect("mysql://root@127.0.0.1/x").await.unwrap_err();
    assert!(
        err.to_string().contains("unsupported database URL scheme"),
        "{err}"
    );
    let err = Db::connect("postgres://postgres@127.0.0.1:1/none")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot reach the database"),
        "{err}"
    );
}

/// PostgreSQL keeps native types: every moment is a `timestamptz`, every flag a `boolean`,
/// the rate of a currency an exact `numeric`.
#[tokio::test]
async fn postgres_columns_have_native_types() {
    let Some(m) = Migrated::new().await else {
        return;
    };
    let postgres = postgres_schema(&m.postgres_url).await;
    m.drop().await;
    let moments: Vec<_> = postgres
        .columns
        .iter()
        .filter(|((_, column), _)| column.ends_with("_at") || column.ends_with("_until"))
        .collect();
    assert!(moments.len() > 50, "{moments:?}");
    for ((table, column), (family, _)) in moments {
        assert_eq!(*family, "timestamp", "{table}.{column}");
    }
    for (table, column, expected) in [
        ("deals", "available", "boolean"),
        ("offers", "available", "boolean"),
        ("coupon_codes", "issued", "boolean"),
        ("currencies", "coins_per_unit", "numeric"),
    ] {
        let (family, _) = postgres.columns[&(table.to_string(), column.to_string())];
        assert_eq!(family, expected, "{table}.{column}");
    }
}
