//! The coupons scenario: coupons issued in reward mode from one deal's codes to many leads
//! at once, then a check that every issued coupon holds a code of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::ledger::in_parallel;
use super::{latency_ms, measure, peak_rss_mib, rss_scope, BenchArgs, Harness};

/// Codes made per `bulk_generate` call (its maximum).
const CODES_PER_CALL: usize = 1000;

/// Codes the deal starts with: more than a run on this kind of machine issues.
const CODES_PER_SECOND: usize = 8000;

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let harness = Harness::start(args).await?;
    let report = bench(&harness, args).await;
    harness.finish().await?;
    println!("{}", serde_json::to_string_pretty(&report?)?);
    Ok(())
}

async fn bench(harness: &Harness, args: &BenchArgs) -> anyhow::Result<Value> {
    let setup_started = Instant::now();
    let run = ulid::Ulid::new().to_string().to_ascii_lowercase();
    let api = &harness.api;
    let deal = api
        .call(
            Method::POST,
            "/api/v1/deals",
            &[],
            Some(
                &json!({"name": format!("Bench {run}"), "description": "Bench coupon",
                         "kind": "voucher", "sell_price": 1, "available": true,
                         "visibility": "private"}),
            ),
            StatusCode::CREATED,
        )
        .await?;
    let deal_id = deal["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("a deal without an id: {deal}"))?
        .to_string();
    let codes = CODES_PER_SECOND * (args.seconds as usize + 2);
    {
        let (api, deal_id) = (api.clone(), deal_id.clone());
        in_parallel(codes.div_ceil(CODES_PER_CALL), 4, move |_| {
            let (api, deal_id) = (api.clone(), deal_id.clone());
            async move {
                api.call(
                    Method::POST,
                    "/api/v1/coupon_codes/bulk_generate",
                    &[],
                    Some(&json!({"deal_id": deal_id, "count": CODES_PER_CALL})),
                    StatusCode::CREATED,
                )
                .await
            }
        })
        .await?;
    }
    let leads: Vec<String> = {
        let (api, run) = (api.clone(), run.clone());
        in_parallel(args.leads, args.concurrency, move |i| {
            let (api, run) = (api.clone(), run.clone());
            async move {
                let lead = api
                    .call(
                        Method::POST,
                        "/api/v1/leads",
                        &[],
                        Some(&json!({"customer_id": format!("bench-{run}-{i}"),
                                     "email": format!("bench-{run}-{i}@example.com")})),
                        StatusCode::CREATED,
                    )
                    .await?;
                lead["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow::anyhow!("a lead without an id: {lead}"))
            }
        })
        .await?
    };
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    // Every client issues coupons to leads in turn, each request with a hash of its own.
    let leads = Arc::new(leads);
    let next = Arc::new(AtomicUsize::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (api, leads, next) = (api.clone(), leads.clone(), next.clone());
        let (measuring, stop, deal_id, run) = (
            measuring.clone(),
            stop.clone(),
            deal_id.clone(),
            run.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut issued = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = json!({"deal_id": deal_id, "lead_id": leads[i % leads.len()],
                                  "mode": "reward", "hash": format!("{run}-{i}")});
                let started = Instant::now();
                let outcome = match api
                    .request(Method::POST, "/api/v1/coupons")
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(res) if res.status() == StatusCode::CREATED => {
                        match res.json::<Value>().await {
                            Ok(v) => Ok(v["code"].as_str().unwrap_or_default().to_string()),
                            Err(_) => Err("transport".to_string()),
                        }
                    }
                    Ok(res) => {
                        let status = res.status().as_u16().to_string();
                        let code = res
                            .json::<Value>()
                            .await
                            .ok()
                            .and_then(|v| v["code"].as_str().map(str::to_string));
                        Err(code.map_or(status.clone(), |c| format!("{status} {c}")))
                    }
                    Err(_) => Err("transport".to_string()),
                };
                // A coupon issued outside the measured second still holds its code.
                if let Ok(code) = &outcome {
                    issued.push(code.clone());
                }
                if measuring.load(Ordering::Relaxed) {
                    match outcome {
                        Ok(_) => latencies.push(started.elapsed().as_micros() as u64),
                        Err(kind) => *errors.entry(kind).or_default() += 1,
                    }
                }
            }
            (latencies, errors, issued)
        }));
    }
    // Fresh statistics half way through the warm-up, once the coupons table is no longer
    // empty, as autovacuum takes them on a live server: plans made while it was empty would
    // otherwise read the deal's every coupon to find one by its hash.
    let analyze = harness.local.as_ref().map(|local| {
        let db = local.app.db.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let mut conn = db.conn().await?;
            punchcard_store::query("ANALYZE").execute(&mut conn).await?;
            Ok::<_, anyhow::Error>(())
        })
    });
    let elapsed = measure(&measuring, &stop, args.seconds).await;
    if let Some(analyze) = analyze {
        analyze.await??;
    }
    let mut latencies = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut issued = Vec::new();
    for w in workers {
        let (l, e, i) = w.await?;
        latencies.extend(l);
        issued.extend(i);
        for (k, n) in e {
            *errors.entry(k).or_default() += n;
        }
    }

    // The check: the codes the answers gave are distinct, and the deal's codes marked issued
    // are exactly as many as the coupons answered.
    let distinct: BTreeSet<&String> = issued.iter().collect();
    let mut issued_codes = 0usize;
    let mut after: Option<String> = None;
    loop {
        let mut query = vec![("deal_id", deal_id.as_str()), ("limit", "500")];
        if let Some(a) = &after {
            query.push(("cursor", a.as_str()));
        }
        let page = api
            .call(Method::GET, "/api/v1/coupons", &query, None, StatusCode::OK)
            .await?;
        issued_codes += page["data"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    let sound = distinct.len() == issued.len() && issued_codes == issued.len();
    Ok(json!({
        "scenario": "coupons",
        "backend": harness.backend,
        "target": harness.target,
        "env": if harness.local.is_some() { Some("prod") } else { None },
        "plan": harness.plan_note(),
        "concurrency": args.concurrency,
        "leads": args.leads,
        "codes": codes,
        "setup_seconds": setup_seconds,
        "seconds": elapsed,
        "coupons": latencies.len(),
        "errors": errors,
        "throughput_rps": latencies.len() as f64 / elapsed,
        "latency_ms": latency_ms(&mut latencies),
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_of": rss_scope(harness),
        "check": {
            "coupons_answered": issued.len(),
            "distinct_codes": distinct.len(),
            "coupons_listed": issued_codes,
            "sound": sound,
        },
    }))
}
