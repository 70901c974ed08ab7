//! The ledger scenario: leads and one wallet each created over the API, balances seeded, then
//! concurrent rewards and debits (each with its own hash) spread over the wallets, a share of
//! them on a few hot wallets. Afterwards the books are checked against every transaction the
//! server acknowledged: balances equal the sum of their transactions, none is negative, every
//! acknowledged transaction is there with its amount, and nothing else was applied.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{baseline, latency_ms, measure, peak_rss_mib, rss_scope, Api, BenchArgs, Harness};

/// Every wallet starts with one reward of this many points, so early debits can succeed.
const SEED_BALANCE: i64 = 100;
/// Rewards move 1 to this many points.
const MAX_REWARD: i64 = 100;
/// Debits take 1 to this many points: more than a fresh wallet holds, so some are refused.
const MAX_DEBIT: i64 = 200;
/// How often a transaction whose answer was lost is sent again (same hash: it applies once).
const RETRIES: usize = 3;
/// Examples kept per kind of invariant failure.
const EXAMPLES: usize = 5;

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let harness = Harness::start(args).await?;
    let outcome = bench(&harness, args).await;
    let stopped = harness.finish().await;
    let mut report = outcome?;
    stopped?;
    if args.baseline {
        let base = baseline::run(args, args.database_url.as_deref()).await?;
        let plain = base["transactions_per_second"].as_f64().unwrap_or(0.0);
        let ours = report["throughput_rps"].as_f64().unwrap_or(0.0);
        report["baseline"] = base;
        report["ratio_to_baseline"] = json!(if plain > 0.0 { ours / plain } else { 0.0 });
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report["invariants"]["ok"] != Value::Bool(true) {
        anyhow::bail!("the ledger does not add up: see `invariants` in the report");
    }
    Ok(())
}

/// A transaction the server acknowledged with 201: its id and what was asked.
#[derive(Debug, Clone)]
struct Ack {
    id: String,
    wallet: usize,
    amount: i64,
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    /// Answered or failed in the measured window.
    requests: u64,
    ok: u64,
    insufficient: u64,
    errors: BTreeMap<String, u64>,
    latencies: Vec<u64>,
    /// Every 201, measured or not (warm-up and the last requests count for the books too).
    acks: Vec<Ack>,
    /// Hashes whose answer never arrived, even after retries: applied at most once.
    unresolved: Vec<String>,
    /// 201 answers whose wallet or amount differ from the request.
    wrong_answers: Vec<String>,
    /// A first attempt answered as a replay of an earlier transaction.
    unexpected_replays: Vec<String>,
}

/// How transactions are picked.
struct Mix {
    run: String,
    wallets: Vec<String>,
    hot_count: usize,
    hot_share: f64,
    debit_share: f64,
}

impl Mix {
    /// A wallet (by index), a kind and a signed amount.
    fn pick(&self, rng: &mut StdRng) -> (usize, &'static str, i64) {
        let wallet = if rng.gen_bool(self.hot_share) {
            rng.gen_range(0..self.hot_count)
        } else {
            rng.gen_range(0..self.wallets.len())
        };
        if rng.gen_bool(self.debit_share) {
            (wallet, "adjust", -rng.gen_range(1..=MAX_DEBIT))
        } else {
            (wallet, "reward", rng.gen_range(1..=MAX_REWARD))
        }
    }
}

enum Answer {
    Acked {
        id: String,
        wallet_id: String,
        amount: i64,
        replayed: bool,
    },
    Insufficient,
    Refused(u16),
    /// No complete answer: the transaction may or may not have been applied.
    Lost,
}

async fn post_transaction(api: &Api, body: &Value) -> Answer {
    let res = match api
        .request(Method::POST, "/api/v1/wallet_transactions")
        .json(body)
        .send()
        .await
    {
        Ok(res) => res,
        Err(_) => return Answer::Lost,
    };
    let status = res.status();
    let replayed = res.headers().contains_key("idempotent-replayed");
    let Ok(bytes) = res.bytes().await else {
        return Answer::Lost;
    };
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    match (status, json) {
        (StatusCode::CREATED, Some(v)) => match (v["id"].as_str(), v["amount"].as_i64()) {
            (Some(id), Some(amount)) => Answer::Acked {
                id: id.to_string(),
                wallet_id: v["wallet_id"].as_str().unwrap_or_default().to_string(),
                amount,
                replayed,
            },
            // Written, but the answer cannot say which transaction: ask again by hash.
            _ => Answer::Lost,
        },
        (StatusCode::CREATED, None) => Answer::Lost,
        (StatusCode::CONFLICT, Some(v)) if v["code"] == "insufficient_balance" => {
            Answer::Insufficient
        }
        (status, _) => Answer::Refused(status.as_u16()),
    }
}

/// Runs `f(0..n)` on `concurrency` tasks and answers the results in index order; the first
/// error stops the rest.
pub(crate) async fn in_parallel<T, F, Fut>(
    n: usize,
    concurrency: usize,
    f: F,
) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (f, next) = (f.clone(), next.clone());
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(done);
                }
                done.push((i, f(i).await?));
            }
        });
    }
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    while let Some(finished) = tasks.join_next().await {
        for (i, value) in finished?? {
            slots[i] = Some(value);
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

async fn bench(harness: &Harness, args: &BenchArgs) -> anyhow::Result<Value> {
    let setup_started = Instant::now();
    let run = ulid::Ulid::new().to_string().to_ascii_lowercase();
    let currency_id = match (&harness.local, &args.currency_id) {
        (Some(local), _) => local.currency_id.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            let list = harness
                .api
                .call(Method::GET, "/api/v1/currencies", &[], None, StatusCode::OK)
                .await?;
            list["data"][0]["id"]
                .as_str()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "the merchant has no currency: create one or pass --currency-id"
                    )
                })?
                .to_string()
        }
    };

    // Leads and their wallets, over the API.
    let created = {
        let (api, run, currency_id) = (harness.api.clone(), run.clone(), currency_id.clone());
        in_parallel(args.leads, args.concurrency, move |i| {
            let (api, run, currency_id) = (api.clone(), run.clone(), currency_id.clone());
            async move {
                let lead = api
                    .call(
                        Method::POST,
                        "/api/v1/leads",
                        &[],
                        Some(&json!({
                            "customer_id": format!("bench-{run}-{i}"),
                            "email": format!("bench-{run}-{i}@example.com"),
                        })),
                        StatusCode::CREATED,
                    )
                    .await?;
                let wallet = api
                    .call(
                        Method::POST,
                        "/api/v1/wallets",
                        &[],
                        Some(&json!({"lead_id": lead["id"], "currency_id": currency_id})),
                        StatusCode::CREATED,
                    )
                    .await?;
                let id = wallet["id"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("a wallet without an id: {wallet}"))?;
                Ok((
                    id.to_string(),
                    wallet["env"].as_str().unwrap_or("").to_string(),
                ))
            }
        })
        .await?
    };
    let env = created.first().map(|(_, env)| env.clone());
    let wallets: Vec<String> = created.into_iter().map(|(id, _)| id).collect();

    // Seed balances: one reward per wallet.
    let mut acks = {
        let (api, run, wallets) = (harness.api.clone(), run.clone(), Arc::new(wallets.clone()));
        in_parallel(wallets.len(), args.concurrency, move |i| {
            let (api, run, wallets) = (api.clone(), run.clone(), wallets.clone());
            async move {
                let tx = api
                    .call(
                        Method::POST,
                        "/api/v1/wallet_transactions",
                        &[],
                        Some(&json!({
                            "wallet_id": wallets[i],
                            "kind": "reward",
                            "amount": SEED_BALANCE,
                            "hash": format!("{run}-seed-{i}"),
                            "description": "bench seed",
                        })),
                        StatusCode::CREATED,
                    )
                    .await?;
                let id = tx["id"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("a transaction without an id: {tx}"))?;
                Ok(Ack {
                    id: id.to_string(),
                    wallet: i,
                    amount: SEED_BALANCE,
                })
            }
        })
        .await?
    };
    let preloaded = match &harness.local {
        Some(local) if args.preload > 0 => {
            let started = Instant::now();
            preload(local, args.preload).await?;
            json!({"transactions": args.preload, "seconds": started.elapsed().as_secs_f64()})
        }
        _ => Value::Null,
    };
    // Fresh statistics, as the baseline's setup takes them: the planner then knows the
    // tables are no longer empty (autovacuum would analyze them only a minute later).
    if let Some(local) = &harness.local {
        let mut conn = local.app.db.conn().await?;
        punchcard_store::query("ANALYZE").execute(&mut conn).await?;
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    // The measured run.
    let mix = Arc::new(Mix {
        run,
        wallets,
        hot_count: args.hot_wallet_count,
        hot_share: args.hot_wallets,
        debit_share: args.debit_share,
    });
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(args.concurrency);
    // With a rate, each client sends on its own fixed schedule, the clients' starts spread
    // over one interval.
    let interval = (args.rate > 0)
        .then(|| Duration::from_secs_f64(args.concurrency as f64 / args.rate as f64));
    let start = tokio::time::Instant::now();
    for worker in 0..args.concurrency {
        let (api, mix, measuring, stop) = (
            harness.api.clone(),
            mix.clone(),
            measuring.clone(),
            stop.clone(),
        );
        let pace = interval.map(|every| Pace {
            next: start + every.mul_f64(worker as f64 / args.concurrency as f64),
            every,
        });
        workers.push(tokio::spawn(async move {
            drive(worker, &api, &mix, &measuring, &stop, pace).await
        }));
    }
    let elapsed = measure(&measuring, &stop, args.seconds).await;
    let mut total = Tally::default();
    for w in workers {
        let t = w.await?;
        total.requests += t.requests;
        total.ok += t.ok;
        total.insufficient += t.insufficient;
        for (k, n) in t.errors {
            *total.errors.entry(k).or_default() += n;
        }
        total.latencies.extend(t.latencies);
        total.acks.extend(t.acks);
        total.unresolved.extend(t.unresolved);
        total.wrong_answers.extend(t.wrong_answers);
        total.unexpected_replays.extend(t.unexpected_replays);
    }
    acks.append(&mut total.acks);
    total.acks = acks;

    let check_started = Instant::now();
    let mut invariants = check(harness, args.concurrency, &mix.wallets, &total).await?;
    invariants["seconds"] = json!(check_started.elapsed().as_secs_f64());

    Ok(json!({
        "scenario": "ledger",
        "backend": harness.backend,
        "target": harness.target,
        "env": env,
        "plan": harness.plan_note(),
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "leads": mix.wallets.len(),
        "hot_wallets": {"count": mix.hot_count, "share": mix.hot_share},
        "debit_share": mix.debit_share,
        "setup_seconds": setup_seconds,
        "preloaded": preloaded,
        "rate": if args.rate > 0 { json!(args.rate) } else { json!("as fast as answered") },
        "requests": total.requests,
        "ok": total.ok,
        "insufficient_balance": total.insufficient,
        "errors": total.errors,
        "throughput_rps": total.requests as f64 / elapsed,
        "ok_per_second": total.ok as f64 / elapsed,
        "latency_ms": latency_ms(&mut total.latencies),
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_of": rss_scope(harness),
        "invariants": invariants,
    }))
}

/// A client's schedule: when it sends next, and how often.
struct Pace {
    next: tokio::time::Instant,
    every: Duration,
}

/// Writes `rows` reward transactions of one point straight into a wallet of another
/// merchant (made for the purpose), in one statement, so the ledger's tables and indexes are
/// that large when the run starts; the wallet's balance is set to their sum.
async fn preload(local: &super::Local, rows: u64) -> anyhow::Result<()> {
    use punchcard_app::ledger::{NewLead, Scope};
    use punchcard_app::merchants::NewMerchant;
    use punchcard_domain::time::Timestamp;
    use punchcard_domain::Env;
    let app = &local.app;
    let email = format!(
        "ballast-{}@example.com",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let (merchant_id, _) = app
        .create_merchant(NewMerchant::parse(
            "Ballast",
            &email,
            "Correct-Horse-9",
            true,
        )?)
        .await?;
    let currency = app
        .create_currency(&merchant_id, "PTS", "Points", "1")
        .await?;
    let scope = Scope::new(&merchant_id, Env::Dev);
    let lead = app
        .create_lead(
            &scope,
            NewLead {
                customer_id: "ballast".to_string(),
                email: Some(email.clone()),
                ..Default::default()
            },
        )
        .await?;
    let wallet = app
        .create_wallet(&scope, lead.id.as_str(), currency.id.as_str())
        .await?;
    let rows = i64::try_from(rows)?;
    // Ids of digits only are valid ids (and older than any made now); each row's balance
    // after is the running sum.
    let (series, id) = match app.db.backend() {
        punchcard_store::Backend::Postgres => (
            "generate_series(1, $6::bigint) AS g(n)",
            "lpad(CAST(n AS TEXT), 26, '0')",
        ),
        punchcard_store::Backend::Sqlite => (
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $6) \
             SELECT n FROM s) AS g",
            "printf('%026d', n)",
        ),
    };
    let mut tx = app.db.begin_write().await?;
    punchcard_store::query(format!(
        "INSERT INTO wallet_transactions (merchant_id, env, id, wallet_id, lead_id, kind, \
         amount, balance_after, hash, fingerprint, created_at) \
         SELECT $1, $2, 'wtx_' || {id}, $3, $4, 'reward', 1, n, 'preload-' || n, '', $5 \
         FROM {series}"
    ))
    .bind(merchant_id.as_str())
    .bind(Env::Dev.as_str())
    .bind(wallet.id.as_str())
    .bind(lead.id.as_str())
    .bind(Timestamp::now())
    .bind(rows)
    .execute(&mut tx)
    .await?;
    punchcard_store::query(
        "UPDATE wallets SET balance = $1 WHERE merchant_id = $2 AND env = $3 AND id = $4",
    )
    .bind(rows)
    .bind(merchant_id.as_str())
    .bind(Env::Dev.as_str())
    .bind(wallet.id.as_str())
    .execute(&mut tx)
    .await?;
    punchcard_store::commit(tx).await?;
    Ok(())
}

/// One client: transactions back to back (or on its schedule) until told to stop.
async fn drive(
    worker: usize,
    api: &Api,
    mix: &Mix,
    measuring: &AtomicBool,
    stop: &AtomicBool,
    mut pace: Option<Pace>,
) -> Tally {
    let mut rng = StdRng::from_entropy();
    let mut tally = Tally::default();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        // On a schedule, the latency counts from the moment the request was due: a request
        // sent late because the previous answer came late waited that long too.
        let due = match &mut pace {
            Some(p) => {
                tokio::time::sleep_until(p.next).await;
                let due = p.next.into_std();
                p.next += p.every;
                Some(due)
            }
            None => None,
        };
        let (wallet, kind, amount) = mix.pick(&mut rng);
        let hash = format!("{}-{worker}-{seq}", mix.run);
        seq += 1;
        let body = json!({
            "wallet_id": mix.wallets[wallet],
            "kind": kind,
            "amount": amount,
            "hash": hash,
        });
        let started = due.unwrap_or_else(Instant::now);
        let mut answer = post_transaction(api, &body).await;
        if measuring.load(Ordering::Relaxed) {
            tally.requests += 1;
            match &answer {
                Answer::Acked { .. } => tally.ok += 1,
                Answer::Insufficient => tally.insufficient += 1,
                Answer::Refused(status) => {
                    *tally.errors.entry(status.to_string()).or_default() += 1
                }
                Answer::Lost => *tally.errors.entry("transport".to_string()).or_default() += 1,
            }
            if !matches!(answer, Answer::Lost) {
                tally.latencies.push(started.elapsed().as_micros() as u64);
            }
        }
        // A lost answer: ask again with the same hash, which the server applies at most once.
        let mut tries = 0;
        while matches!(answer, Answer::Lost) && tries < RETRIES {
            tries += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            answer = post_transaction(api, &body).await;
        }
        match answer {
            Answer::Acked {
                id,
                wallet_id,
                amount: answered,
                replayed,
            } => {
                if answered != amount || wallet_id != mix.wallets[wallet] {
                    tally.wrong_answers.push(id.clone());
                }
                if replayed && tries == 0 {
                    tally.unexpected_replays.push(id.clone());
                }
                tally.acks.push(Ack { id, wallet, amount });
            }
            Answer::Lost => tally.unresolved.push(hash),
            Answer::Insufficient | Answer::Refused(_) => {}
        }
    }
    tally
}

/// A transaction as the API lists it.
struct Listed {
    id: String,
    wallet_id: String,
    amount: i64,
    balance_after: i64,
    hash: String,
}

/// Failures of one kind: how many, and a few examples.
#[derive(Default)]
struct Failures(BTreeMap<&'static str, (u64, Vec<Value>)>);

impl Failures {
    fn add(&mut self, kind: &'static str, example: Value) {
        let (count, examples) = self.0.entry(kind).or_default();
        *count += 1;
        if examples.len() < EXAMPLES {
            examples.push(example);
        }
    }

    fn to_json(&self) -> Value {
        self.0
            .iter()
            .map(|(k, (n, ex))| (k.to_string(), json!({"count": n, "examples": ex})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Reads the wallets and their transactions back through the API (and, on a server started
/// here, the database-side audit) and compares them with what was acknowledged.
async fn check(
    harness: &Harness,
    concurrency: usize,
    wallets: &[String],
    tally: &Tally,
) -> anyhow::Result<Value> {
    let api = &harness.api;
    let ours: HashMap<&str, usize> = wallets
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut balances: Vec<Option<i64>> = vec![None; wallets.len()];
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "500")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let page = api
            .call(Method::GET, "/api/v1/wallets", &query, None, StatusCode::OK)
            .await?;
        for w in page["data"].as_array().into_iter().flatten() {
            if let (Some(i), Some(balance)) = (
                w["id"].as_str().and_then(|id| ours.get(id)),
                w["balance"].as_i64(),
            ) {
                balances[*i] = Some(balance);
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }

    let listed: Vec<Vec<Listed>> = {
        let (api, wallets) = (api.clone(), Arc::new(wallets.to_vec()));
        in_parallel(wallets.len(), concurrency, move |i| {
            let (api, wallets) = (api.clone(), wallets.clone());
            async move {
                let mut out = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let mut query = vec![("limit", "500"), ("wallet_id", wallets[i].as_str())];
                    if let Some(c) = &cursor {
                        query.push(("cursor", c.as_str()));
                    }
                    let page = api
                        .call(
                            Method::GET,
                            "/api/v1/wallet_transactions",
                            &query,
                            None,
                            StatusCode::OK,
                        )
                        .await?;
                    for t in page["data"].as_array().into_iter().flatten() {
                        out.push(Listed {
                            id: t["id"].as_str().unwrap_or_default().to_string(),
                            wallet_id: t["wallet_id"].as_str().unwrap_or_default().to_string(),
                            amount: t["amount"].as_i64().unwrap_or(i64::MIN),
                            balance_after: t["balance_after"].as_i64().unwrap_or(i64::MIN),
                            hash: t["hash"].as_str().unwrap_or_default().to_string(),
                        });
                    }
                    match page["next_cursor"].as_str() {
                        Some(c) => cursor = Some(c.to_string()),
                        None => return Ok(out),
                    }
                }
            }
        })
        .await?
    };

    let mut books = compare(wallets, &balances, &listed, tally);
    let audit = match &harness.local {
        Some(local) => {
            let mismatches = local.app.audit_ledger(Some(&local.merchant_id)).await?;
            for (wallet, balance, sum) in &mismatches {
                books.failures.add(
                    "audit_ledger",
                    json!({"wallet": wallet, "balance": balance, "sum": sum}),
                );
            }
            json!({"mismatches": mismatches.len()})
        }
        None => json!("not run: the server is not in this process"),
    };
    Ok(json!({
        "ok": books.failures.0.is_empty(),
        "details": {
            "wallets": wallets.len(),
            "transactions_listed": books.transactions,
            "acknowledged": tally.acks.len(),
            "acknowledged_sum": tally.acks.iter().map(|a| a.amount).sum::<i64>(),
            "balances_sum": books.balances_sum,
            "unresolved": tally.unresolved.len(),
            "unresolved_applied": books.unresolved_applied,
            "audit_ledger": audit,
            "failures": books.failures.to_json(),
        },
    }))
}

/// The outcome of comparing the books with what the clients saw.
struct Books {
    failures: Failures,
    transactions: u64,
    unresolved_applied: u64,
    balances_sum: i64,
}

/// Compares the wallets' balances and listed transactions (by wallet index) with the
/// acknowledged transactions.
fn compare(
    wallets: &[String],
    balances: &[Option<i64>],
    listed: &[Vec<Listed>],
    tally: &Tally,
) -> Books {
    let mut failures = Failures::default();
    let mut acked: HashMap<&str, &Ack> = HashMap::new();
    for ack in &tally.acks {
        if acked.insert(ack.id.as_str(), ack).is_some() {
            failures.add("acknowledged_twice", json!(ack.id));
        }
    }
    for id in &tally.wrong_answers {
        failures.add("answer_differs_from_request", json!(id));
    }
    for id in &tally.unexpected_replays {
        failures.add("first_attempt_answered_as_replay", json!(id));
    }
    let unresolved: HashSet<&str> = tally.unresolved.iter().map(String::as_str).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut expected = vec![0i64; wallets.len()];
    for ack in &tally.acks {
        expected[ack.wallet] += ack.amount;
    }
    let (mut transactions, mut unresolved_applied, mut balances_sum) = (0u64, 0u64, 0i64);
    for (i, txs) in listed.iter().enumerate() {
        let wallet = wallets[i].as_str();
        let Some(balance) = balances[i] else {
            failures.add("wallet_missing", json!(wallet));
            continue;
        };
        balances_sum += balance;
        transactions += txs.len() as u64;
        if balance < 0 {
            failures.add(
                "negative_balance",
                json!({"wallet": wallet, "balance": balance}),
            );
        }
        let sum: i64 = txs.iter().map(|t| t.amount).sum();
        if sum != balance {
            failures.add(
                "balance_is_not_sum_of_transactions",
                json!({"wallet": wallet, "balance": balance, "sum": sum}),
            );
        }
        for t in txs {
            if t.wallet_id != wallet {
                failures.add(
                    "transaction_listed_under_other_wallet",
                    json!({"transaction": t.id, "wallet": wallet}),
                );
            }
            if t.balance_after < 0 {
                failures.add(
                    "negative_balance_after",
                    json!({"transaction": t.id, "balance_after": t.balance_after}),
                );
            }
            match acked.get(t.id.as_str()) {
                Some(ack) => {
                    seen.insert(t.id.as_str());
                    if ack.wallet != i || ack.amount != t.amount {
                        failures.add(
                            "amount_or_wallet_differs",
                            json!({"transaction": t.id, "acknowledged": ack.amount, "stored": t.amount}),
                        );
                    }
                }
                None if unresolved.contains(t.hash.as_str()) => {
                    unresolved_applied += 1;
                    expected[i] += t.amount;
                }
                None => failures.add(
                    "applied_but_not_acknowledged",
                    json!({"transaction": t.id, "hash": t.hash, "amount": t.amount}),
                ),
            }
        }
        if expected[i] != balance {
            failures.add(
                "balance_is_not_sum_of_acknowledged",
                json!({"wallet": wallet, "balance": balance, "acknowledged": expected[i]}),
            );
        }
    }
    for ack in &tally.acks {
        if !seen.contains(ack.id.as_str()) {
            failures.add(
                "acknowledged_but_missing",
                json!({"transaction": ack.id, "wallet": wallets[ack.wallet]}),
            );
        }
    }
    Books {
        failures,
        transactions,
        unresolved_applied,
        balances_sum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(id: &str, wallet: &str, amount: i64, balance_after: i64) -> Listed {
        Listed {
            id: id.to_string(),
            wallet_id: wallet.to_string(),
            amount,
            balance_after,
            hash: format!("h-{id}"),
        }
    }

    fn ack(id: &str, wallet: usize, amount: i64) -> Ack {
        Ack {
            id: id.to_string(),
            wallet,
            amount,
        }
    }

    fn kinds(books: &Books) -> Vec<&'static str> {
        books.failures.0.keys().copied().collect()
    }

    fn wallets() -> Vec<String> {
        vec!["wal_a".to_string(), "wal_b".to_string()]
    }

    #[test]
    fn sound_books_pass() {
        let tally = Tally {
            acks: vec![ack("t1", 0, 100), ack("t2", 0, -30), ack("t3", 1, 5)],
            ..Default::default()
        };
        let listed = vec![
            vec![tx("t1", "wal_a", 100, 100), tx("t2", "wal_a", -30, 70)],
            vec![tx("t3", "wal_b", 5, 5)],
        ];
        let books = compare(&wallets(), &[Some(70), Some(5)], &listed, &tally);
        assert!(kinds(&books).is_empty());
        assert_eq!((books.transactions, books.balances_sum), (3, 75));
    }

    #[test]
    fn every_kind_of_broken_books_is_caught() {
        // An acknowledged debit that is missing (its balance change kept).
        let tally = Tally {
            acks: vec![ack("t1", 0, 100), ack("t2", 0, -30)],
            ..Default::default()
        };
        let listed = vec![vec![tx("t1", "wal_a", 100, 100)], vec![]];
        let books = compare(&wallets(), &[Some(70), Some(0)], &listed, &tally);
        assert_eq!(
            kinds(&books),
            [
                "acknowledged_but_missing",
                "balance_is_not_sum_of_transactions"
            ]
        );

        // A transaction nobody was told about, applied to the balance.
        let tally = Tally {
            acks: vec![ack("t1", 0, 100)],
            ..Default::default()
        };
        let listed = vec![
            vec![tx("t1", "wal_a", 100, 100), tx("tx", "wal_a", 7, 107)],
            vec![],
        ];
        let books = compare(&wallets(), &[Some(107), Some(0)], &listed, &tally);
        assert_eq!(
            kinds(&books),
            [
                "applied_but_not_acknowledged",
                "balance_is_not_sum_of_acknowledged"
            ]
        );

        // Stored with another amount than acknowledged; a negative balance; a wallet gone.
        let tally = Tally {
            acks: vec![ack("t1", 0, 100)],
            ..Default::default()
        };
        let listed = vec![vec![tx("t1", "wal_a", -100, -100)], vec![]];
        let books = compare(&wallets(), &[Some(-100), None], &listed, &tally);
        assert_eq!(
            kinds(&books),
            [
                "amount_or_wallet_differs",
                "balance_is_not_sum_of_acknowledged",
                "negative_balance",
                "negative_balance_after",
                "wallet_missing"
            ]
        );

        // Answers that disagree with the request, or replay on a first attempt.
        let tally = Tally {
            acks: vec![ack("t1", 0, 100), ack("t1", 0, 100)],
            wrong_answers: vec!["t1".to_string()],
            unexpected_replays: vec!["t1".to_string()],
            ..Default::default()
        };
        let listed = vec![vec![tx("t1", "wal_a", 100, 100)], vec![]];
        let books = compare(&wallets(), &[Some(100), Some(0)], &listed, &tally);
        assert!(kinds(&books).contains(&"acknowledged_twice"));
        assert!(kinds(&books).contains(&"answer_differs_from_request"));
        assert!(kinds(&books).contains(&"first_attempt_answered_as_replay"));
    }

    #[test]
    fn a_lost_answer_may_have_been_applied_once() {
        let tally = Tally {
            acks: vec![ack("t1", 0, 100)],
            unresolved: vec!["h-t2".to_string()],
            ..Default::default()
        };
        let listed = vec![
            vec![tx("t1", "wal_a", 100, 100), tx("t2", "wal_a", 10, 110)],
            vec![],
        ];
        let books = compare(&wallets(), &[Some(110), Some(0)], &listed, &tally);
        assert!(kinds(&books).is_empty());
        assert_eq!(books.unresolved_applied, 1);
    }
}
