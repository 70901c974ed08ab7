//! `punchcard bench`: starts a server on a fresh database and drives its API over HTTP from
//! concurrent clients, then prints throughput, latency percentiles and peak memory as JSON.
//!
//! The database is a temporary SQLite file unless `--database-url` names another (an empty
//! PostgreSQL database, say). The bench merchant's plan allows the highest rate, so the
//! limiter never throttles the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use punchcard_app::merchants::NewMerchant;
use punchcard_app::plans::PlanChange;
use punchcard_domain::limits::MAX_RATE_LIMIT_PER_MINUTE;
use punchcard_domain::Env;
use punchcard_server::{Config, Server};
use serde_json::json;

#[derive(Args)]
pub struct BenchArgs {
    /// Scenario: `currencies` (authenticated list reads).
    #[arg(long, default_value = "currencies")]
    scenario: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to run, in seconds (after a one-second warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Database to run on; default: a fresh SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.scenario != "currencies" {
        anyhow::bail!(
            "unknown scenario `{}`: available: currencies",
            args.scenario
        );
    }
    if args.concurrency == 0 || args.concurrency > 4096 {
        anyhow::bail!("--concurrency must be between 1 and 4096");
    }
    if args.seconds == 0 || args.seconds > 3600 {
        anyhow::bail!("--seconds must be between 1 and 3600");
    }
    let dir = tempfile::tempdir()?;
    let database_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut config = Config::with_database(&database_url);
    config.mail_dir = dir.path().join("mail");
    config.storage_url = format!("file://{}", dir.path().join("uploads").display());
    let server = Server::build(config).await?;
    let addr = server.local_addr();
    let app = server.state().app.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));

    let email = format!(
        "bench-{}@example.com",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let new = NewMerchant::parse("Bench", &email, "Correct-Horse-9", true)?;
    let (merchant, _) = app.create_merchant(new).await?;
    app.create_currency(&merchant, "PTS", "Points", "1").await?;
    app.set_plan(
        &merchant,
        PlanChange {
            rate_limit_per_minute: Some(MAX_RATE_LIMIT_PER_MINUTE),
            ..Default::default()
        },
    )
    .await?;
    let key = app
        .create_api_key(&merchant, Env::Prod, "bench", None)
        .await?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let url = format!("http://{addr}/api/v1/currencies");
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (client, url, measuring, stop) =
            (client.clone(), url.clone(), measuring.clone(), stop.clone());
        let (id, secret) = (key.id.to_string(), key.secret.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = match client.get(&url).basic_auth(&id, Some(&secret)).send().await {
                    Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        latencies.push(started.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        latencies.extend(l);
        errors += e;
    }
    let _ = stop_tx.send(());
    serving.await??;
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    let report = json!({
        "scenario": args.scenario,
        "backend": database_url.split(':').next().unwrap_or(""),
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "requests": latencies.len(),
        "errors": errors,
        "requests_per_second": latencies.len() as f64 / elapsed,
        "latency_ms": {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Peak resident memory of this process (server and clients together), from /proc.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
