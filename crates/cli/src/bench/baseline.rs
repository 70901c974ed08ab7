//! The plain-SQL baseline that `punchcard bench --baseline` runs in the same invocation: the
//! same mix of rewards and debits as the ledger scenario, one database transaction per wallet
//! transaction (guarded `UPDATE … RETURNING`, `INSERT` of the ledger row, `COMMIT`), with the
//! same number of clients, on the same database engine and machine.
//!
//! On PostgreSQL it is pgbench running `bench/pgbench_reward.sql` on a scratch database of
//! the same server (created and dropped here); on SQLite it is the same statements from as
//! many connections on a fresh file in WAL mode with `synchronous = FULL`, taking turns
//! through one lock as `bench/sqlite_reward.py` does.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection, SqliteConnection};

use super::{latency_ms, measure, BenchArgs};

const SETUP_SQL: &str = include_str!("../../../../bench/pgbench_setup.sql");
const REWARD_SQL: &str = include_str!("../../../../bench/pgbench_reward.sql");
/// Every wallet starts with this many points, as in the ledger scenario.
const SEED: i64 = 100;

/// Runs the baseline for the engine of `database_url` (SQLite when `None`) and answers its
/// report: transactions per second and latency percentiles.
pub async fn run(args: &BenchArgs, database_url: Option<&str>) -> anyhow::Result<Value> {
    match database_url {
        Some(url) if url.starts_with("postgres") => pgbench(args, url).await,
        _ => sqlite(args).await,
    }
}

fn percent(share: f64) -> u32 {
    (share * 100.0).round() as u32
}

async fn pgbench(args: &BenchArgs, url: &str) -> anyhow::Result<Value> {
    let scratch = format!("punchcard_baseline_{}", std::process::id());
    let mut admin = PgConnection::connect(url)
        .await
        .context("connecting to PostgreSQL for the baseline")?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {scratch}").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {scratch}").as_str())
        .await?;
    let mut scratch_url = url::Url::parse(url).context("--database-url is not a URL")?;
    scratch_url.set_path(&scratch);
    let result = async {
        let mut conn = PgConnection::connect(scratch_url.as_str()).await?;
        // One statement at a time: VACUUM runs outside a transaction block.
        let setup = SETUP_SQL.replace(
            "generate_series(1, 1000)",
            &format!("generate_series(1, {})", args.leads),
        );
        for statement in statements(&setup) {
            conn.execute(statement.as_str()).await?;
        }
        conn.close().await?;
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("reward.sql");
        std::fs::write(&script, REWARD_SQL)?;
        let defines = [
            format!("wallets={}", args.leads),
            format!("hot={}", args.hot_wallet_count),
            format!("hot_pct={}", percent(args.hot_wallets)),
            format!("debit_pct={}", percent(args.debit_share)),
        ];
        let mut command = Command::new("pgbench");
        command
            .current_dir(dir.path())
            .args(["-n", "-j", "2", "-l"])
            .arg("-c")
            .arg(args.concurrency.to_string())
            .arg("-T")
            .arg(args.seconds.to_string());
        for d in &defines {
            command.arg("-D").arg(d);
        }
        command.arg("-f").arg(&script).arg(scratch_url.as_str());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await?
            .context("running pgbench (install the PostgreSQL client tools)")?;
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        if !output.status.success() {
            anyhow::bail!(
                "pgbench failed: {}{}",
                stdout,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let tps = stdout
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .ok_or_else(|| anyhow::anyhow!("pgbench printed no tps: {stdout}"))?;
        let mut latencies = pgbench_latencies(dir.path())?;
        let mut conn = PgConnection::connect(scratch_url.as_str()).await?;
        let mismatches: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM bench_wallets w WHERE balance <> \
             (SELECT coalesce(sum(amount), 0) FROM bench_ledger l WHERE l.wallet_id = w.id)",
        )
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        Ok::<_, anyhow::Error>(json!({
            "engine": "postgres",
            "tool": "pgbench, bench/pgbench_reward.sql",
            "transactions_per_second": tps,
            "latency_ms": latency_ms(&mut latencies),
            "balances_add_up": mismatches == 0,
        }))
    }
    .await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)").as_str())
        .await?;
    result
}

/// The statements of a SQL script, without its comments.
fn statements(script: &str) -> Vec<String> {
    let text: String = script
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Per-transaction latencies (the third column of pgbench's logs), in microseconds.
fn pgbench_latencies(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pgbench_log"));
        if is_log {
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                    latencies.push(us);
                }
            }
        }
    }
    Ok(latencies)
}

async fn sqlite(args: &BenchArgs) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("baseline.db").display()
    );
    let connect = || async {
        let mut conn = SqliteConnection::connect(&url).await?;
        conn.execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000",
        )
        .await?;
        Ok::<_, anyhow::Error>(conn)
    };
    let mut setup = connect().await?;
    setup
        .execute(
            "CREATE TABLE wallets (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0), \
                 updated_at TEXT NOT NULL); \
             CREATE TABLE ledger (id INTEGER PRIMARY KEY, wallet_id INTEGER NOT NULL REFERENCES wallets(id), \
                 amount INTEGER NOT NULL, balance_after INTEGER NOT NULL CHECK (balance_after >= 0), \
                 hash TEXT NOT NULL, created_at TEXT NOT NULL); \
             CREATE UNIQUE INDEX ledger_hash ON ledger (hash); \
             CREATE INDEX ledger_wallet ON ledger (wallet_id, id);",
        )
        .await?;
    let mut tx = setup.begin().await?;
    for w in 1..=args.leads as i64 {
        sqlx::query("INSERT INTO wallets VALUES ($1, $2, datetime('now'))")
            .bind(w)
            .bind(SEED)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO ledger (wallet_id, amount, balance_after, hash, created_at) \
             VALUES ($1, $2, $2, $3, datetime('now'))",
        )
        .bind(w)
        .bind(SEED)
        .bind(format!("seed-{w}"))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    setup.close().await?;

    // One writer at a time: the clients queue on a lock instead of SQLite's busy handler,
    // which sleeps and retries and starves writers under many clients.
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    let (measuring, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let mut clients = Vec::with_capacity(args.concurrency);
    for client in 0..args.concurrency {
        let mut conn = connect().await?;
        let (turn, measuring, stop) = (turn.clone(), measuring.clone(), stop.clone());
        let (wallets, hot, hot_share, debit_share) = (
            args.leads as i64,
            args.hot_wallet_count as i64,
            args.hot_wallets,
            args.debit_share,
        );
        clients.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(client as u64);
            let mut latencies = Vec::new();
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let wallet = if rng.gen_bool(hot_share) {
                    rng.gen_range(1..=hot)
                } else {
                    rng.gen_range(1..=wallets)
                };
                let amount = if rng.gen_bool(debit_share) {
                    -rng.gen_range(1..=200i64)
                } else {
                    rng.gen_range(1..=100i64)
                };
                let started = Instant::now();
                {
                    let _turn = turn.lock().await;
                    conn.execute("BEGIN IMMEDIATE").await?;
                    let after: Option<i64> = sqlx::query_scalar(
                        "UPDATE wallets SET balance = balance + $1, updated_at = datetime('now') \
                         WHERE id = $2 AND balance + $1 >= 0 RETURNING balance",
                    )
                    .bind(amount)
                    .bind(wallet)
                    .fetch_optional(&mut conn)
                    .await?;
                    if let Some(after) = after {
                        sqlx::query(
                            "INSERT INTO ledger (wallet_id, amount, balance_after, hash, created_at) \
                             VALUES ($1, $2, $3, $4, datetime('now'))",
                        )
                        .bind(wallet)
                        .bind(amount)
                        .bind(after)
                        .bind(ulid::Ulid::new().to_string())
                        .execute(&mut conn)
                        .await?;
                    }
                    conn.execute("COMMIT").await?;
                }
                if measuring.load(Ordering::Relaxed) {
                    done += 1;
                    latencies.push(started.elapsed().as_micros() as u64);
                }
            }
            Ok::<_, anyhow::Error>((done, latencies))
        }));
    }
    let elapsed = measure(&measuring, &stop, args.seconds).await;
    let (mut done, mut latencies) = (0u64, Vec::new());
    for c in clients {
        let (n, l) = c.await??;
        done += n;
        latencies.extend(l);
    }
    let mut check = connect().await?;
    let mismatches: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM wallets w WHERE balance <> \
         (SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.wallet_id = w.id)",
    )
    .fetch_one(&mut check)
    .await?;
    Ok(json!({
        "engine": "sqlite",
        "tool": "plain SQL from this process, synchronous = FULL",
        "transactions_per_second": done as f64 / elapsed,
        "latency_ms": latency_ms(&mut latencies),
        "balances_add_up": mismatches == 0,
    }))
}
