//! API access control under load: rate limits (in process, shared through Redis, failing open
//! when Redis is gone), allowed IPs, counted caps, plan quotas and idempotency keys, each
//! checked with real concurrent requests or transactions and the invariant asserted after.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{allowed_ip_entry as entry, ApiResponse, Backend, Key, ReadAnswer, TestApp};
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::Router;
use punchcard_app::plans::PlanChange;
use punchcard_app::AppError;
use punchcard_domain::limits::Quota;
use punchcard_domain::{Env, MerchantId};
use serde_json::Value;

fn header_u64(res: &ApiResponse, name: &str) -> u64 {
    res.header(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

/// Waits for the next 60-second window when fewer than `need` seconds are left in this one,
/// so a burst is counted in a single window (the servers run on this machine's clock).
async fn start_early_in_a_window(need: u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let left = 60 - now.as_secs() % 60;
    if left < need {
        tokio::time::sleep(Duration::from_secs(left) + Duration::from_millis(200)).await;
    }
}

async fn get(t: &TestApp, key: &Key) -> ApiResponse {
    t.api(key).get("/api/v1/currencies").await
}

async fn metrics(t: &TestApp) -> String {
    t.client
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn backend_errors(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("punchcard_rate_limit_backend_errors_total "))
        .expect("the backend-error counter is exported")
        .trim()
        .parse()
        .unwrap()
}

// ---- Rate limits ----------------------------------------------------------------------

/// 100 DEV calls a minute: each answer says what is left; the 101st is refused.
async fn the_101st_dev_call_in_a_minute_is_refused(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let dev = t.api_key(&m, Env::Dev).await;
    start_early_in_a_window(20).await;
    for i in 1..=100u64 {
        let res = get(&t, &dev).await;
        assert_eq!(res.status(), 200, "call {i}");
        assert_eq!(header_u64(&res, "ratelimit-limit"), 100);
        assert_eq!(header_u64(&res, "ratelimit-remaining"), 100 - i);
        assert!((1..=60).contains(&header_u64(&res, "ratelimit-reset")));
    }
    let res = get(&t, &dev).await;
    assert_eq!(res.status(), 429);
    assert_eq!(
        res.header("content-type").unwrap(),
        "application/problem+json"
    );
    assert_eq!(header_u64(&res, "ratelimit-limit"), 100);
    assert_eq!(header_u64(&res, "ratelimit-remaining"), 0);
    let reset = header_u64(&res, "ratelimit-reset");
    let retry_after = header_u64(&res, "retry-after");
    assert!((1..=60).contains(&retry_after));
    assert_eq!(retry_after, reset, "Retry-After is when the window resets");
    let body = res.into_json();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["status"], 429);

    // The other env of the same merchant and another merchant have budgets of their own.
    let prod = t.api_key(&m, Env::Prod).await;
    let res = get(&t, &prod).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header_u64(&res, "ratelimit-limit"), 1000);
    let other = t.active_merchant("Other").await;
    assert_eq!(
        get(&t, &t.api_key(&other, Env::Dev).await).await.status(),
        200
    );
    // A second key of the same merchant and env shares the refused budget.
    let dev2 = t.api_key(&m, Env::Dev).await;
    assert_eq!(get(&t, &dev2).await.status(), 429);
    t.stop().await;
}

/// Two servers on one database and one Redis: calls split between them share one budget.
async fn two_servers_share_one_budget_through_redis(backend: Backend) {
    let Some(redis) = crate::common::redis_url() else {
        return;
    };
    let with_redis = |c: &mut punchcard_server::Config| c.redis_url = Some(redis.clone());
    let Some(a) = TestApp::start(backend, with_redis).await else {
        return;
    };
    let b = a.start_on(with_redis).await;
    let m = a.active_merchant("Acme").await;
    a.set_rate_limit(&m, 30).await;
    let prod = a.api_key(&m, Env::Prod).await;
    start_early_in_a_window(15).await;
    let mut calls = Vec::new();
    for i in 0..80 {
        let api = if i % 2 == 0 {
            a.api(&prod)
        } else {
            b.api(&prod)
        };
        calls.push(tokio::spawn(
            async move { api.get("/api/v1/currencies").await },
        ));
    }
    let (mut served, mut refused, mut least_remaining) = (0, 0, u64::MAX);
    for call in calls {
        let res = call.await.unwrap();
        assert_eq!(header_u64(&res, "ratelimit-limit"), 30);
        let remaining = header_u64(&res, "ratelimit-remaining");
        match res.status().as_u16() {
            200 => {
                served += 1;
                least_remaining = least_remaining.min(remaining);
            }
            429 => {
                refused += 1;
                assert_eq!(remaining, 0);
                assert!(res.header("retry-after").is_some());
            }
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!((served, refused), (30, 50), "one budget for both servers");
    assert_eq!(least_remaining, 0);
    // Either server now refuses this merchant's prod calls.
    assert_eq!(get(&a, &prod).await.status(), 429);
    assert_eq!(get(&b, &prod).await.status(), 429);
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_servers_share_one_budget_through_redis() {
    two_servers_share_one_budget_through_redis(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers_share_one_budget_through_redis() {
    two_servers_share_one_budget_through_redis(Backend::Postgres).await;
}

/// A server whose Redis does not answer still starts, and serves API calls without a limit
/// (and without rate-limit headers), counting each in the backend-error metric.
async fn the_rate_limit_fails_open_without_redis(backend: Backend) {
    // Nothing listens on port 1 of the loopback.
    let Some(t) = TestApp::start(backend, |c| {
        c.redis_url = Some("redis://127.0.0.1:1".to_string());
    })
    .await
    else {
        return;
    };
    assert_eq!(backend_errors(&metrics(&t).await), 0);
    let m = t.active_merchant("Acme").await;
    t.set_rate_limit(&m, 2).await;
    let prod = t.api_key(&m, Env::Prod).await;
    for i in 0..5 {
        let started = std::time::Instant::now();
        let res = get(&t, &prod).await;
        assert_eq!(res.status(), 200, "call {i} is served past the limit of 2");
        assert!(res.header("ratelimit-remaining").is_none());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "no long wait on Redis"
        );
    }
    assert_eq!(backend_errors(&metrics(&t).await), 5);
    // Health does not depend on Redis.
    assert_eq!(
        t.client
            .get(t.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_rate_limit_fails_open_without_redis() {
    the_rate_limit_fails_open_without_redis(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_rate_limit_fails_open_without_redis() {
    the_rate_limit_fails_open_without_redis(Backend::Postgres).await;
}

/// A TCP relay to Redis that can be cut and restored, to play an outage.
struct Relay {
    addr: std::net::SocketAddr,
    target: String,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            addr: listener.local_addr().unwrap(),
            target,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every relayed connection.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same address.
    async fn restore(&self) {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) => {
                    tries += 1;
                    assert!(tries < 50, "cannot listen on {} again: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        self.serve(listener);
    }
}

/// Redis goes away while the server runs: calls are served and counted as backend errors;
/// when it is back, limiting (and its headers) resumes without a restart.
async fn the_rate_limit_survives_a_redis_outage(backend: Backend) {
    let Some(redis) = crate::common::redis_url() else {
        return;
    };
    let target = url::Url::parse(&redis).unwrap();
    let relay = Relay::start(format!(
        "{}:{}",
        target.host_str().unwrap(),
        target.port().unwrap_or(6379)
    ))
    .await;
    let mut through_relay = target.clone();
    through_relay.set_port(Some(relay.addr.port())).unwrap();
    through_relay.set_host(Some("127.0.0.1")).unwrap();
    let Some(t) = TestApp::start(backend, |c| c.redis_url = Some(through_relay.to_string())).await
    else {
        relay.cut();
        return;
    };
    let m = t.active_merchant("Acme").await;
    let dev = t.api_key(&m, Env::Dev).await;
    let res = get(&t, &dev).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header_u64(&res, "ratelimit-limit"), 100);

    relay.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let res = get(&t, &dev).await;
        assert_eq!(res.status(), 200, "served while Redis is away");
        assert!(res.header("ratelimit-limit").is_none());
    }
    assert!(backend_errors(&metrics(&t).await) >= 3);

    relay.restore().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let res = get(&t, &dev).await;
        assert_eq!(res.status(), 200);
        if res.header("ratelimit-limit").is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the limiter did not come back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    relay.cut();
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_rate_limit_survives_a_redis_outage() {
    the_rate_limit_survives_a_redis_outage(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_rate_limit_survives_a_redis_outage() {
    the_rate_limit_survives_a_redis_outage(Backend::Postgres).await;
}

// ---- Allowed IPs ------------------------------------------------------------------------

/// The test client connects from 127.0.0.1: an `api` list that leaves it out refuses the
/// calls of both envs; a loopback entry (plain, CIDR or IPv4-mapped) lets them through.
async fn calls_from_outside_the_api_list_are_refused(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let dev = t.api_key(&m, Env::Dev).await;
    let prod = t.api_key(&m, Env::Prod).await;
    for blocking in [
        t.app
            .add_allowed_ip(&m, entry("api", "203.0.113.0/24"))
            .await
            .unwrap(),
        t.app.add_allowed_ip(&m, entry("api", "::1")).await.unwrap(),
        t.app
            .add_allowed_ip(&m, entry("api", "2001:db8::/32"))
            .await
            .unwrap(),
        // A dashboard entry that covers us does not open the API.
        t.app
            .add_allowed_ip(&m, entry("dashboard", "127.0.0.0/8"))
            .await
            .unwrap(),
    ] {
        assert!(blocking.id.as_str().starts_with("aip_"));
    }
    t.state.allowed_ips.invalidate(&m);
    get(&t, &dev).await.assert_problem(403, "ip_not_allowed");
    get(&t, &prod).await.assert_problem(403, "ip_not_allowed");
    // Every API route is behind the list.
    let res = t.api(&prod).get("/api/v1/quota").await;
    res.assert_problem(403, "ip_not_allowed");

    for allowing in [
        "127.0.0.0/8",
        "127.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:127.0.0.0/104",
    ] {
        let e = t
            .app
            .add_allowed_ip(&m, entry("api", allowing))
            .await
            .unwrap();
        t.state.allowed_ips.invalidate(&m);
        let res = get(&t, &dev).await;
        assert_eq!(res.status(), 200, "{allowing} lets 127.0.0.1 in");
        assert_eq!(get(&t, &prod).await.status(), 200);
        t.app.delete_allowed_ip(&m, &e.id).await.unwrap();
        t.state.allowed_ips.invalidate(&m);
        get(&t, &dev).await.assert_problem(403, "ip_not_allowed");
    }
    t.stop().await;
}

/// Through a trusted proxy the client address comes from X-Forwarded-For, so IPv6 clients,
/// CIDR ranges and IPv4-mapped addresses can be shown over HTTP.
async fn ipv6_cidr_and_mapped_clients_through_a_proxy(backend: Backend) {
    let Some(t) = TestApp::start(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Prod).await;
    for ip in ["2001:db8::/32", "198.51.100.0/24"] {
        t.app.add_allowed_ip(&m, entry("api", ip)).await.unwrap();
    }
    let via = |client_ip: &'static str| {
        t.client
            .get(t.url("/api/v1/currencies"))
            .basic_auth(&key.0, Some(&key.1))
            .header("x-forwarded-for", client_ip)
            .read()
    };
    for allowed in [
        "2001:db8::7",
        "2001:db8:ffff::1",
        "198.51.100.4",
        "::ffff:198.51.100.250",
    ] {
        assert_eq!(via(allowed).await.status(), 200, "{allowed}");
    }
    for refused in [
        "2001:db9::1",
        "::1",
        "198.51.101.4",
        "::ffff:203.0.113.9",
        "127.0.0.1",
    ] {
        via(refused).await.assert_problem(403, "ip_not_allowed");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ipv6_cidr_and_mapped_clients_through_a_proxy() {
    ipv6_cidr_and_mapped_clients_through_a_proxy(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ipv6_cidr_and_mapped_clients_through_a_proxy() {
    ipv6_cidr_and_mapped_clients_through_a_proxy(Backend::Postgres).await;
}

// ---- Counted caps -----------------------------------------------------------------------

/// 200 concurrent adds of different addresses: exactly the cap of ten is kept.
async fn the_allowed_ip_cap_holds_for_200_concurrent_adds(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let app = t.app.clone();
        let m = m.clone();
        let source = if i % 2 == 0 { "api" } else { "dashboard" };
        let ip = format!("10.{}.{}.1", i / 256, i % 256);
        tasks.push(tokio::spawn(async move {
            app.add_allowed_ip(&m, entry(source, &ip)).await
        }));
    }
    let mut added = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => added += 1,
            Err(AppError::LimitReached(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(added, 10);
    assert_eq!(t.app.list_allowed_ips(&m).await.unwrap().len(), 10);
    t.stop().await;
}

/// 200 concurrent DEV key creations: exactly five keys exist after.
async fn the_dev_api_key_cap_holds_for_200_concurrent_creates(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = t.app.clone();
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            app.create_api_key(&m, Env::Dev, &format!("k{i}"), None)
                .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(AppError::LimitReached(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(created, 5);
    let live = t.app.list_api_keys(&m, Env::Dev).await.unwrap();
    assert_eq!(live.iter().filter(|k| k.revoked_at.is_none()).count(), 5);
    assert!(t.app.list_api_keys(&m, Env::Prod).await.unwrap().is_empty());
    t.stop().await;
}

// ---- Plan quotas ------------------------------------------------------------------------

async fn set_rewards(t: &TestApp, m: &MerchantId, total: i64) {
    t.app
        .set_plan(
            m,
            PlanChange {
                rewards: Some(total),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// One action's transaction burning `quotas` in `env`, committed when the burn succeeds.
async fn burn(t: &TestApp, m: &MerchantId, env: Env, quotas: &[Quota]) -> Result<(), AppError> {
    let mut tx = t.app.db.begin_write().await?;
    punchcard_app::limits::burn_quota(&mut tx, m, env, quotas).await?;
    punchcard_store::commit(tx).await?;
    Ok(())
}

async fn usage(t: &TestApp, m: &MerchantId, quota: Quota) -> (i64, i64) {
    let u = t
        .app
        .quota_usage(m)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.quota == quota)
        .unwrap();
    (u.used, u.total)
}

async fn api_quota(t: &TestApp, key: &Key) -> Value {
    let res = t.api(key).get("/api/v1/quota").await;
    assert_eq!(res.status(), 200);
    res.into_json()
}

fn line(total: i64, used: i64, remaining: i64) -> Value {
    serde_json::json!({"total": total, "used": used, "remaining": remaining})
}

/// 200 concurrent reward transactions against a quota of 37 spread over the shards: exactly
/// 37 commit; rollbacks give units back; plan changes take effect at once; dev burns nothing.
async fn quota_shards_hold_under_concurrency(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    set_rewards(&t, &m, 37).await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let app = t.app.clone();
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = app.db.begin_write().await?;
            punchcard_app::limits::burn_quota(&mut tx, &m, Env::Prod, &[Quota::Rewards]).await?;
            punchcard_store::commit(tx).await?;
            Ok::<(), AppError>(())
        }));
    }
    let mut burned = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => burned += 1,
            Err(AppError::QuotaExhausted(Quota::Rewards)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(burned, 37);
    assert_eq!(usage(&t, &m, Quota::Rewards).await, (37, 37));
    let err = burn(&t, &m, Env::Prod, &[Quota::Rewards])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "quota_exhausted");
    assert_eq!(
        usage(&t, &m, Quota::Leads).await,
        (0, 1000),
        "other quotas untouched"
    );

    // The API shows the same numbers to keys of both envs; only prod burns.
    let prod = t.api_key(&m, Env::Prod).await;
    let dev = t.api_key(&m, Env::Dev).await;
    let q = api_quota(&t, &prod).await;
    assert_eq!(q["env"], "prod");
    assert_eq!(q["burns_quota"], true);
    assert_eq!(q["rewards"], line(37, 37, 0));
    assert_eq!(q["leads"], line(1000, 0, 1000));
    assert_eq!(q["redeems"], line(10000, 0, 10000));
    assert_eq!(q["swaps"], line(1000, 0, 1000));
    assert_eq!(q["rate_limit_per_minute"], 1000);
    let q = api_quota(&t, &dev).await;
    assert_eq!(q["env"], "dev");
    assert_eq!(q["burns_quota"], false);
    assert_eq!(q["rewards"], line(37, 37, 0));
    assert_eq!(q["rate_limit_per_minute"], 100);

    // Dev burns nothing, even with the quota spent.
    for _ in 0..5 {
        burn(&t, &m, Env::Dev, &[Quota::Rewards, Quota::Leads])
            .await
            .unwrap();
    }
    assert_eq!(usage(&t, &m, Quota::Rewards).await, (37, 37));
    assert_eq!(usage(&t, &m, Quota::Leads).await, (0, 1000));

    // Raising the plan spreads the new room; a rolled-back burn gives its unit back.
    set_rewards(&t, &m, 40).await;
    {
        let mut tx = t.app.db.begin_write().await.unwrap();
        punchcard_app::limits::burn_quota(&mut tx, &m, Env::Prod, &[Quota::Rewards])
            .await
            .unwrap();
        drop(tx);
    }
    assert_eq!(usage(&t, &m, Quota::Rewards).await, (37, 40));
    burn(&t, &m, Env::Prod, &[Quota::Rewards]).await.unwrap();
    assert_eq!(usage(&t, &m, Quota::Rewards).await, (38, 40));
    assert_eq!(api_quota(&t, &prod).await["rewards"], line(40, 38, 2));

    // An action burning two quotas, one of them spent, burns neither.
    t.app
        .set_plan(
            &m,
            PlanChange {
                redeems: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let err = burn(&t, &m, Env::Prod, &[Quota::Redeems, Quota::Rewards])
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::QuotaExhausted(Quota::Redeems)),
        "{err:?}"
    );
    assert_eq!(usage(&t, &m, Quota::Rewards).await, (38, 40));

    // Lowering the plan below what is used refuses further burns; the API shows the plan's
    // total, what was used and nothing remaining.
    set_rewards(&t, &m, 20).await;
    let err = burn(&t, &m, Env::Prod, &[Quota::Rewards])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "quota_exhausted");
    assert_eq!(usage(&t, &m, Quota::Rewards).await, (38, 20));
    assert_eq!(api_quota(&t, &prod).await["rewards"], line(20, 38, 0));

    // Raising it again allows exactly the difference.
    set_rewards(&t, &m, 45).await;
    for _ in 0..7 {
        burn(&t, &m, Env::Prod, &[Quota::Rewards]).await.unwrap();
    }
    let err = burn(&t, &m, Env::Prod, &[Quota::Rewards])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "quota_exhausted");
    assert_eq!(api_quota(&t, &prod).await["rewards"], line(45, 45, 0));

    // Another merchant's quotas are its own.
    let other = t.active_merchant("Other").await;
    assert_eq!(usage(&t, &other, Quota::Rewards).await, (0, 10000));
    t.stop().await;
}

// ---- Idempotency ------------------------------------------------------------------------

/// Serves a counting POST route behind the real authentication and idempotency middleware
/// (no API endpoint writes yet); answers its URL and the call counter.
async fn echo_route(t: &TestApp, work: Duration) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let state = t.state.clone();
    let router = Router::new()
        .route(
            "/api/v1/echo",
            post(move |body: String| {
                let counter = counter.clone();
                async move {
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(work).await;
                    (
                        axum::http::StatusCode::CREATED,
                        axum::Json(serde_json::json!({"call": n, "echo": body})),
                    )
                }
            }),
        )
        .route_layer(from_fn_with_state(
            state.clone(),
            punchcard_server::api::idempotency::idempotency,
        ))
        .route_layer(from_fn_with_state(
            state.clone(),
            punchcard_server::api::auth::require_api_key,
        ))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/api/v1/echo"), calls)
}

/// 20 concurrent POSTs with one key and body: the handler runs once and all 20 get its
/// answer; the same key with another body is refused, while running and after.
async fn twenty_concurrent_duplicates_run_once(t: TestApp) {
    let (url, calls) = echo_route(&t, Duration::from_millis(300)).await;
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Prod).await;
    let post = |idem: &str, body: &str| {
        t.client
            .post(&url)
            .basic_auth(&key.0, Some(&key.1))
            .header("idempotency-key", idem)
            .body(body.to_string())
            .read()
    };
    let mut tasks = Vec::new();
    for _ in 0..20 {
        tasks.push(tokio::spawn(post("order-1", "{\"amount\": 5}")));
    }
    // Once the first has claimed the key, another body under it is refused at once.
    while calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let res = post("order-1", "{\"amount\": 6}").await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.into_json()["code"], "idempotency_mismatch");

    let mut answers = Vec::new();
    let mut replayed = 0;
    for task in tasks {
        let res = task.await.unwrap();
        assert_eq!(res.status(), 201);
        if res.header("idempotent-replayed") == Some("true") {
            replayed += 1;
        }
        answers.push(res.into_json());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler ran once");
    assert_eq!(replayed, 19, "every duplicate got the stored answer");
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0]["call"], 1);

    let res = post("order-1", "{\"amount\": 6}").await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.header("content-type").unwrap(),
        "application/problem+json"
    );
    assert_eq!(res.into_json()["code"], "idempotency_mismatch");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    t.stop().await;
}

/// A client that hangs up while its request runs does not leave the key stuck: the request
/// finishes, and the retry gets its answer instead of waiting and a 409.
async fn a_client_that_hangs_up_does_not_strand_its_key(t: TestApp) {
    let (url, calls) = echo_route(&t, Duration::from_millis(800)).await;
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let err = impatient
        .post(&url)
        .basic_auth(&key.0, Some(&key.1))
        .header("idempotency-key", "hang-up")
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let started = std::time::Instant::now();
    let res = t
        .client
        .post(&url)
        .basic_auth(&key.0, Some(&key.1))
        .header("idempotency-key", "hang-up")
        .body("x")
        .read()
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.header("idempotent-replayed"), Some("true"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(res.into_json()["call"], 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    t.stop().await;
}

on_both_backends!(
    the_101st_dev_call_in_a_minute_is_refused,
    calls_from_outside_the_api_list_are_refused,
    the_allowed_ip_cap_holds_for_200_concurrent_adds,
    the_dev_api_key_cap_holds_for_200_concurrent_creates,
    quota_shards_hold_under_concurrency,
    twenty_concurrent_duplicates_run_once,
    a_client_that_hangs_up_does_not_strand_its_key,
);
