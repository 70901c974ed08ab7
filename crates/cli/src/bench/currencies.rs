//! The currencies scenario: authenticated list reads, the cost of the API's fixed path
//! (authentication, allowed IPs, rate limit) plus one small query.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::{latency_ms, measure, peak_rss_mib, rss_scope, BenchArgs, Harness};

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let harness = Harness::start(args).await?;
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (api, measuring, stop) = (harness.api.clone(), measuring.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let outcome = match api.request(Method::GET, "/api/v1/currencies").send().await {
                    Ok(res) => {
                        let status = res.status();
                        match res.bytes().await {
                            Ok(_) if status.is_success() => Ok(()),
                            Ok(_) => Err(status.as_u16().to_string()),
                            Err(_) => Err("transport".to_string()),
                        }
                    }
                    Err(_) => Err("transport".to_string()),
                };
                if measuring.load(Ordering::Relaxed) {
                    match outcome {
                        Ok(()) => latencies.push(started.elapsed().as_micros() as u64),
                        Err(kind) => *errors.entry(kind).or_default() += 1,
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let elapsed = measure(&measuring, &stop, args.seconds).await;
    let mut latencies = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for w in workers {
        let (l, e) = w.await?;
        latencies.extend(l);
        for (k, n) in e {
            *errors.entry(k).or_default() += n;
        }
    }
    let report = json!({
        "scenario": "currencies",
        "backend": harness.backend,
        "target": harness.target,
        "env": if harness.local.is_some() { Some("prod") } else { None },
        "plan": harness.plan_note(),
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "requests": latencies.len(),
        "errors": errors,
        "throughput_rps": latencies.len() as f64 / elapsed,
        "latency_ms": latency_ms(&mut latencies),
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_of": rss_scope(&harness),
    });
    harness.finish().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
