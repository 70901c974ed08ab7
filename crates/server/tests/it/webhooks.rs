//! Webhooks against a real receiver on 127.0.0.1: every event arrives once, signed the
//! Standard Webhooks way (checked here independently); a failed delivery is retried and
//! logged; a refused or rolled-back change sends nothing; redelivery; endpoint validation and
//! limits; merchants and environments hear only their own events; a job held by a server that
//! died runs once its lease runs out; housekeeping deletes ended deliveries and failed jobs
//! past the retention period, never pending ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Router;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use punchcard_app::jobs::{JobKinds, JobRunner};
use punchcard_app::{App, AppSettings};
use punchcard_domain::Env;
use punchcard_server::Config;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::api::{id_of, ApiClient};
use crate::common::{Key, TestApp};

const ALL_EVENTS: [&str; 10] = [
    "lead.created",
    "wallet_transaction.created",
    "coupon.issued",
    "coupon.used",
    "coupon.cancelled",
    "task.completed",
    "surprise.claimed",
    "rule.triggered",
    "voucher.awarded",
    "swap.completed",
];

/// A delivery the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    pub fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap().to_string()
    }
}

/// The merchant's receiver: `/ok` answers 200, `/flaky` 500 the first time it sees a message
/// and 200 after, `/down` always 500.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    base: String,
}

async fn receive(
    State(hits): State<Arc<Mutex<Vec<Hit>>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let hit = Hit {
        path: uri.path().to_string(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    };
    let mut hits = hits.lock().unwrap();
    let seen = hits.iter().any(|h| h.id == hit.id && h.path == hit.path);
    hits.push(hit);
    match uri.path() {
        "/ok" => StatusCode::OK,
        "/flaky" if seen => StatusCode::NO_CONTENT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().fallback(receive).with_state(hits.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            hits,
            base: format!("http://{addr}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn on(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    /// Waits until `path` got at least `n` requests (10 s at most), then answers them all.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Hit> {
        for _ in 0..200 {
            if self.on(path).len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let hits = self.on(path);
        assert!(
            hits.len() >= n,
            "{} of {n} deliveries to {path}",
            hits.len()
        );
        hits
    }
}

/// Checks a delivery's signature the way a receiver would, with the endpoint's secret.
pub(crate) fn verify(secret: &str, hit: &Hit) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", hit.id, hit.timestamp, hit.body).as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(hit.signature, expected, "signature of {}", hit.id);
    let ts: i64 = hit.timestamp.parse().expect("a unix timestamp");
    let now = punchcard_domain::time::Timestamp::now().unix();
    assert!((now - ts).abs() < 60, "a fresh timestamp");
    assert!(hit.id.starts_with("msg_"), "{}", hit.id);
}

/// Private receivers allowed, jobs looked for often, retries quick.
pub(crate) fn quick(c: &mut Config) {
    c.allow_private_callbacks = true;
    c.job_poll_interval = Duration::from_millis(50);
    c.webhook_retry_base = Duration::from_millis(300);
}

/// The server's runner looks for jobs once at start, then not for a minute.
fn idle_runner(c: &mut Config) {
    c.allow_private_callbacks = true;
    c.job_poll_interval = Duration::from_secs(60);
}

async fn merchant(t: &TestApp, env: Env) -> (punchcard_domain::MerchantId, Key, String) {
    let m = t.active_merchant("Hooked").await;
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, env).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    (m, key, currency)
}

async fn endpoint(api: &ApiClient, url: &str, events: &[&str]) -> (String, String) {
    let e = api
        .create(
            "/api/v1/webhook_endpoints",
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(e["url"], url);
    assert_eq!(e["enabled"], true);
    let secret = e["secret"].as_str().expect("the secret, once").to_string();
    (id_of(&e), secret)
}

async fn deliveries(api: &ApiClient, endpoint: &str) -> Vec<Value> {
    api.get_ok(&format!("/api/v1/webhook_endpoints/{endpoint}/deliveries"))
        .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn deal_with_codes(api: &ApiClient, price: i64, codes: i64) -> String {
    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": "Coffee", "kind": "voucher", "sell_price": price, "available": true,
                   "visibility": "private"}),
        )
        .await;
    api.create(
        "/api/v1/coupon_codes/bulk_generate",
        json!({"deal_id": deal["id"], "count": codes}),
    )
    .await;
    id_of(&deal)
}

async fn every_event_arrives_once_signed(t: TestApp) {
    let rx = Receiver::start().await;
    let (m, key, cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let (_, secret) = endpoint(&api, &rx.url("/ok"), &ALL_EVENTS).await;

    // lead.created ×2
    let (lead, wallet) = api.lead_with_wallet("cust-hook-1", &cur).await;
    let lead2 = id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": "cust-hook-2", "email": "two@example.com"}),
        )
        .await,
    );
    // wallet_transaction.created (through the ledger writer)
    let reward = api
        .create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": 100, "hash": "r-1"}),
        )
        .await;
    // coupon.issued with points (and its wallet transaction), coupon.used
    let deal = deal_with_codes(&api, 5, 5).await;
    let paid = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": deal, "lead_id": lead, "currency_id": cur, "hash": "c-1", "mode": "redeem"}),
        )
        .await;
    let used = api
        .post(&format!("/api/v1/coupons/{}/use", id_of(&paid)), json!({}))
        .await
        .expect(200);
    // coupon.issued as a reward, coupon.cancelled (nothing to refund)
    let given = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": deal, "lead_id": lead, "hash": "c-2", "mode": "reward"}),
        )
        .await;
    api.post(
        &format!("/api/v1/coupons/{}/cancel", id_of(&given)),
        json!({}),
    )
    .await
    .expect(200);
    // task.completed and its points
    let task = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Visit", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 3, "max_reward": 3}),
        )
        .await;
    let activity = api
        .create(
            "/api/v1/task_activities",
            json!({"task_id": task["id"], "lead_id": lead, "hash": "t-1"}),
        )
        .await;
    assert_eq!(activity["completed"], true);
    // rule.triggered and its points
    let rule = api
        .create(
            "/api/v1/rules",
            json!({"name": "Spend", "type": "earn", "currency_id": cur, "points": 7,
                   "authorized_key_ids": [key.0]}),
        )
        .await;
    api.post(
        &format!("/api/v1/rules/{}/activate", id_of(&rule)),
        json!({}),
    )
    .await
    .expect(200);
    let triggered = api
        .create(
            &format!("/api/v1/rules/{}/trigger", id_of(&rule)),
            json!({"lead_id": lead, "hash": "g-1"}),
        )
        .await;
    // surprise.claimed and its coupon
    let today = punchcard_domain::time::Timestamp::now().datetime().date();
    let surprise = api
        .create(
            "/api/v1/surprises",
            json!({"name": "Today", "type": "custom", "date": today.to_string(), "count": 1,
                   "deal_id": deal}),
        )
        .await;
    api.create(
        "/api/v1/surprise_activities",
        json!({"surprise_id": surprise["id"], "lead_id": lead, "hash": "s-1"}),
    )
    .await;
    // voucher.awarded
    let vault = id_of(
        &api.create(
            "/api/v1/vaults",
            json!({"name": "Books", "vendor": "Bookshop", "amount": 1000}),
        )
        .await,
    );
    api.create(
        "/api/v1/coupon_codes",
        json!({"vault_id": vault, "value": "BOOK-1"}),
    )
    .await;
    let campaign = id_of(
        &api.create(
            "/api/v1/voucher_campaigns",
            json!({"name": "Books", "vault_ids": [vault]}),
        )
        .await,
    );
    let integration = api
        .create(
            &format!("/api/v1/voucher_campaigns/{campaign}/integrations"),
            json!({"name": "Shop", "status": "live"}),
        )
        .await;
    let awarded = t
        .api(&(
            id_of(&integration),
            integration["secret"].as_str().unwrap().to_string(),
        ))
        .create(
            "/api/v1/award",
            json!({"redeemer": {"email": "ann@example.com"}, "hash": "a-1"}),
        )
        .await;
    // swap.completed and both of its transactions
    t.app.set_lead_swaps(&m, true).await.unwrap();
    let swap = api
        .create(
            "/api/v1/swaps",
            json!({"from_wallet_id": wallet, "amount": 2, "hash": "sw-1", "to_lead_id": lead2}),
        )
        .await;

    let expected: HashMap<&str, usize> = HashMap::from([
        ("lead.created", 2),
        ("wallet_transaction.created", 6),
        ("coupon.issued", 3),
        ("coupon.used", 1),
        ("coupon.cancelled", 1),
        ("task.completed", 1),
        ("surprise.claimed", 1),
        ("rule.triggered", 1),
        ("voucher.awarded", 1),
        ("swap.completed", 1),
    ]);
    let total: usize = expected.values().sum();
    rx.wait_for("/ok", total).await;
    // Nothing more comes: each event once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits = rx.on("/ok");
    assert_eq!(hits.len(), total, "{hits:#?}");
    let mut counted: HashMap<String, usize> = HashMap::new();
    for hit in &hits {
        verify(&secret, hit);
        let body = hit.json();
        assert!(
            punchcard_domain::time::Timestamp::parse(body["timestamp"].as_str().unwrap()).is_some(),
            "{body}"
        );
        assert!(body["data"].is_object(), "{body}");
        *counted.entry(hit.kind()).or_default() += 1;
    }
    let mut ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "one message per event");
    for (kind, n) in &expected {
        assert_eq!(counted.get(*kind), Some(n), "{kind}: {counted:?}");
    }

    // The data is the object as the API answers it.
    let data_of = |kind: &str, id: &str| -> Value {
        hits.iter()
            .map(Hit::json)
            .find(|b| {
                b["type"] == kind
                    && (b["data"]["id"] == id
                        || b["data"]["interaction_id"] == id
                        || b["data"]["id"].is_null())
            })
            .unwrap_or_else(|| panic!("no {kind} of {id}"))["data"]
            .clone()
    };
    let lead_now = api.get_ok(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(data_of("lead.created", &lead), lead_now);
    assert_eq!(
        data_of("wallet_transaction.created", &id_of(&reward)),
        reward
    );
    let used_event = data_of("coupon.used", &id_of(&paid));
    assert_eq!(used_event["status"], "used");
    assert_eq!(used_event["code"], used["code"]);
    assert_eq!(
        data_of(
            "rule.triggered",
            triggered["interaction_id"].as_str().unwrap()
        )["wallet_transaction"],
        triggered["wallet_transaction"]
    );
    assert_eq!(
        data_of(
            "voucher.awarded",
            awarded["interaction_id"].as_str().unwrap()
        ),
        awarded
    );
    assert_eq!(data_of("swap.completed", &id_of(&swap))["id"], swap["id"]);

    // The log says delivered, once each.
    let e = &api.get_ok("/api/v1/webhook_endpoints").await["data"][0];
    assert!(e.get("secret").is_none(), "the secret is shown only once");
    let log = deliveries(&api, &id_of(e)).await;
    assert_eq!(log.len(), total);
    for d in &log {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["last_status"], 200, "{d}");
    }
    t.stop().await;
}

async fn a_failed_delivery_is_retried_then_logged(t: TestApp) {
    let rx = Receiver::start().await;
    let (_m, key, _cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let (flaky, secret) = endpoint(&api, &rx.url("/flaky"), &["lead.created"]).await;
    let (down, _) = endpoint(&api, &rx.url("/down"), &["lead.created"]).await;
    api.create(
        "/api/v1/leads",
        json!({"customer_id": "cust-retry", "email": "r@example.com"}),
    )
    .await;
    let hits = rx.wait_for("/flaky", 2).await;
    assert_eq!(hits[0].id, hits[1].id, "a retry is the same message");
    assert_eq!(hits[0].body, hits[1].body);
    verify(&secret, &hits[1]);
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&api, &flaky).await;
        if log[0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered", "{log:?}");
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["last_status"], 204);
    assert_eq!(log[0]["event"], "lead.created");
    assert!(log[0]["delivered_at"].is_string());
    // The endpoint that keeps failing stays pending, with what it answered and when it is
    // tried next.
    rx.wait_for("/down", 2).await;
    let log = deliveries(&api, &down).await;
    assert_eq!(log[0]["status"], "pending", "{log:?}");
    assert!(log[0]["attempts"].as_i64().unwrap() >= 1);
    assert_eq!(log[0]["last_status"], 500);
    assert!(log[0]["next_attempt_at"].is_string());
    // The metrics count attempts by outcome.
    let metrics = t
        .client
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for outcome in ["delivered", "retrying"] {
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("punchcard_webhook_deliveries_total{")
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .unwrap_or_else(|| panic!("no {outcome} count in {metrics}"));
        let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(n >= 1, "{line}");
    }
    t.stop().await;
}

async fn refused_and_rolled_back_changes_send_nothing(t: TestApp) {
    let rx = Receiver::start().await;
    let (_m, key, cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let (e, _) = endpoint(&api, &rx.url("/ok"), &ALL_EVENTS).await;
    let (lead, wallet) = api.lead_with_wallet("cust-none", &cur).await;
    rx.wait_for("/ok", 1).await;
    // A debit past the balance is refused before anything is written.
    api.post(
        "/api/v1/wallet_transactions",
        json!({"wallet_id": wallet, "kind": "adjust", "amount": -50, "hash": "x-1"}),
    )
    .await
    .assert_problem(409, "insufficient_balance");
    // A coupon paid with points the lead lacks: the code was claimed in the transaction,
    // which rolls back whole, coupon.issued included.
    let deal = deal_with_codes(&api, 500, 2).await;
    api.post(
        "/api/v1/coupons",
        json!({"deal_id": deal, "lead_id": lead, "currency_id": cur, "hash": "c-x", "mode": "redeem"}),
    )
    .await
    .assert_problem(409, "insufficient_balance");
    // A redeem rule on an empty wallet.
    let rule = api
        .create(
            "/api/v1/rules",
            json!({"name": "Pay", "type": "redeem", "currency_id": cur, "points": 5,
                   "authorized_key_ids": [key.0]}),
        )
        .await;
    api.post(
        &format!("/api/v1/rules/{}/activate", id_of(&rule)),
        json!({}),
    )
    .await
    .expect(200);
    api.post(
        &format!("/api/v1/rules/{}/trigger", id_of(&rule)),
        json!({"lead_id": lead, "hash": "g-x"}),
    )
    .await
    .assert_problem(409, "insufficient_balance");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let kinds: Vec<String> = rx.on("/ok").iter().map(Hit::kind).collect();
    assert_eq!(kinds, ["lead.created"]);
    assert_eq!(deliveries(&api, &e).await.len(), 1);
    t.stop().await;
}

async fn redeliver_sends_the_same_message_again(t: TestApp) {
    let rx = Receiver::start().await;
    let (_m, key, _cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let (e, secret) = endpoint(&api, &rx.url("/ok"), &["lead.created"]).await;
    api.create(
        "/api/v1/leads",
        json!({"customer_id": "cust-again", "email": "a@example.com"}),
    )
    .await;
    rx.wait_for("/ok", 1).await;
    let mut log = deliveries(&api, &e).await;
    for _ in 0..100 {
        if log[0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = deliveries(&api, &e).await;
    }
    assert_eq!(log[0]["status"], "delivered");
    let id = id_of(&log[0]);
    let again = api
        .post(
            &format!("/api/v1/webhook_deliveries/{id}/redeliver"),
            json!({}),
        )
        .await
        .expect(202);
    assert_eq!(again["status"], "pending");
    let hits = rx.wait_for("/ok", 2).await;
    assert_eq!(hits[0].id, id);
    assert_eq!(hits[1].id, id, "the same webhook-id");
    assert_eq!(hits[0].body, hits[1].body);
    verify(&secret, &hits[1]);
    for _ in 0..100 {
        log = deliveries(&api, &e).await;
        if log[0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 2);
    api.post(
        "/api/v1/webhook_deliveries/msg_01jd3x1m2n3p4q5r6s7t8v9w0x/redeliver",
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    t.stop().await;
}

async fn merchants_and_environments_hear_only_their_own(t: TestApp) {
    let rx = Receiver::start().await;
    let (a, a_dev, _) = merchant(&t, Env::Dev).await;
    let a_prod = t.api_key(&a, Env::Prod).await;
    let (_b, b_dev, _) = merchant(&t, Env::Dev).await;
    let (ea, _) = endpoint(&t.api(&a_dev), &rx.url("/ok?a"), &["lead.created"]).await;
    let (eb, _) = endpoint(&t.api(&b_dev), &rx.url("/ok?b"), &["lead.created"]).await;
    for (k, c) in [
        (&a_dev, "cust-a"),
        (&a_prod, "cust-a-prod"),
        (&b_dev, "cust-b"),
    ] {
        t.api(k)
            .create(
                "/api/v1/leads",
                json!({"customer_id": c, "email": "x@example.com"}),
            )
            .await;
    }
    rx.wait_for("/ok", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let customers: Vec<String> = rx
        .on("/ok")
        .iter()
        .map(|h| {
            h.json()["data"]["customer_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(customers.len(), 2, "{customers:?}");
    assert!(customers.contains(&"cust-a".to_string()));
    assert!(customers.contains(&"cust-b".to_string()));
    let a_log = deliveries(&t.api(&a_dev), &ea).await;
    assert_eq!(a_log.len(), 1);
    // Another merchant, or the other env, sees none of it.
    for other in [&b_dev, &a_prod] {
        let api = t.api(other);
        api.get(&format!("/api/v1/webhook_endpoints/{ea}"))
            .await
            .assert_problem(404, "not_found");
        api.get(&format!("/api/v1/webhook_endpoints/{ea}/deliveries"))
            .await
            .assert_problem(404, "not_found");
        api.post(
            &format!("/api/v1/webhook_deliveries/{}/redeliver", id_of(&a_log[0])),
            json!({}),
        )
        .await
        .assert_problem(404, "not_found");
    }
    assert_eq!(
        t.api(&b_dev).get_ok("/api/v1/webhook_endpoints").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect::<Vec<_>>(),
        [eb]
    );
    t.stop().await;
}

/// A server claims a delivery and dies before sending it: another server sends it once the
/// lease runs out, and not before.
async fn a_job_held_by_a_dead_server_runs_after_its_lease(t: TestApp) {
    let rx = Receiver::start().await;
    let (_m, key, _cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    endpoint(&api, &rx.url("/ok"), &["lead.created"]).await;
    api.create(
        "/api/v1/leads",
        json!({"customer_id": "cust-lease", "email": "l@example.com"}),
    )
    .await;
    let settings = AppSettings {
        allow_private_callbacks: true,
        job_lease: Duration::from_secs(1),
        ..AppSettings::default()
    };
    let server = |settings: AppSettings| {
        let url = t.database_url.clone();
        async move {
            let db = punchcard_store::Db::connect(&url).await.unwrap();
            App::new(db, settings)
        }
    };
    let dying = JobRunner::new(server(settings.clone()).await, JobKinds::standard());
    assert_eq!(dying.claim_and_abandon().await.unwrap(), 1);
    let survivor = JobRunner::new(server(settings).await, JobKinds::standard());
    assert_eq!(survivor.run_due().await.unwrap(), 0, "the lease holds");
    assert!(rx.on("/ok").is_empty());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(survivor.run_due().await.unwrap(), 1, "the lease ran out");
    let hits = rx.wait_for("/ok", 1).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(survivor.run_due().await.unwrap(), 0, "the job is done");
    t.stop().await;
}

async fn endpoints_are_validated_and_limited(t: TestApp) {
    let (_m, key, _cur) = merchant(&t, Env::Dev).await;
    let prod = t.api_key(&_m, Env::Prod).await;
    let api = t.api(&key);
    let bad = |body: Value, fields: &'static [&'static str]| {
        let api = api.clone();
        async move {
            api.post("/api/v1/webhook_endpoints", body)
                .await
                .assert_invalid(fields);
        }
    };
    bad(json!({}), &["url", "events"]).await;
    bad(
        json!({"url": "https://hooks.example.com/x", "events": []}),
        &["events"],
    )
    .await;
    bad(
        json!({"url": "https://hooks.example.com/x", "events": ["lead.deleted"]}),
        &["events"],
    )
    .await;
    bad(
        json!({"url": "ftp://hooks.example.com/x", "events": ["lead.created"]}),
        &["url"],
    )
    .await;
    // Private and loopback addresses are refused while the operator does not allow them.
    for url in [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://10.0.0.7/x",
    ] {
        bad(json!({"url": url, "events": ["lead.created"]}), &["url"]).await;
    }
    // https in prod.
    t.api(&prod)
        .post(
            "/api/v1/webhook_endpoints",
            json!({"url": "http://hooks.example.com/x", "events": ["lead.created"]}),
        )
        .await
        .assert_invalid(&["url"]);
    assert!(api.get_ok("/api/v1/webhook_endpoints").await["data"]
        .as_array()
        .unwrap()
        .is_empty());

    // Ten per environment.
    let mut made = Vec::new();
    for i in 0..10 {
        let (id, secret) = endpoint(
            &api,
            &format!("https://hooks.example.com/{i}"),
            &["lead.created", "lead.created", "coupon.used"],
        )
        .await;
        assert!(secret.starts_with("whsec_"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&secret["whsec_".len()..])
            .unwrap();
        assert_eq!(bytes.len(), 32);
        made.push(id);
    }
    api.post(
        "/api/v1/webhook_endpoints",
        json!({"url": "https://hooks.example.com/11", "events": ["lead.created"]}),
    )
    .await
    .assert_problem(422, "limit_reached");
    let one = api
        .get_ok(&format!("/api/v1/webhook_endpoints/{}", made[0]))
        .await;
    assert_eq!(one["events"], json!(["lead.created", "coupon.used"]));
    assert!(one.get("secret").is_none());
    // Changed, disabled, refused when wrong, deleted.
    let changed = api
        .patch(
            &format!("/api/v1/webhook_endpoints/{}", made[0]),
            json!({"events": ["swap.completed"], "enabled": false}),
        )
        .await
        .expect(200);
    assert_eq!(changed["events"], json!(["swap.completed"]));
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["url"], "https://hooks.example.com/0");
    api.patch(
        &format!("/api/v1/webhook_endpoints/{}", made[0]),
        json!({"url": "http://127.0.0.1/x", "events": ["nope"]}),
    )
    .await
    .assert_invalid(&["url", "events"]);
    api.delete(&format!("/api/v1/webhook_endpoints/{}", made[0]))
        .await
        .expect(204);
    api.get(&format!("/api/v1/webhook_endpoints/{}", made[0]))
        .await
        .assert_problem(404, "not_found");
    // Room for one more.
    endpoint(&api, "https://hooks.example.com/again", &["lead.created"]).await;
    t.stop().await;
}

on_both_backends_with!(quick;
    every_event_arrives_once_signed,
    a_failed_delivery_is_retried_then_logged,
    refused_and_rolled_back_changes_send_nothing,
    redeliver_sends_the_same_message_again,
    merchants_and_environments_hear_only_their_own,
);
on_both_backends_with!(idle_runner; a_job_held_by_a_dead_server_runs_after_its_lease);
on_both_backends_with!(defaults; endpoints_are_validated_and_limited);

fn defaults(_: &mut Config) {}

/// The server's runner idle, and ended deliveries kept ten days.
fn ten_days_retention(c: &mut Config) {
    idle_runner(c);
    c.webhook_retention = Duration::from_secs(10 * 24 * 60 * 60);
}

/// Housekeeping deletes delivered and given-up deliveries and failed jobs older than the
/// retention period, more than a batch of them, and keeps recent ones and whatever is still
/// pending or queued, however old.
async fn ended_deliveries_go_after_the_retention_period(t: TestApp) {
    use punchcard_app::housekeeping::PURGE_BATCH;
    use punchcard_domain::time::Timestamp;
    use punchcard_store::jobs;
    use punchcard_store::webhooks::{self as store, DeliveryRow, DeliveryStatus};

    assert_eq!(t.app.webhook_retention_days(), 10);
    let rx = Receiver::start().await;
    let (m, key, _cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let (e, _) = endpoint(&api, &rx.url("/ok"), &["lead.created"]).await;
    let now = Timestamp::now();
    let days = |n: i64| now.minus(time::Duration::days(n));
    let old_ended = 2 * PURGE_BATCH as usize + 7;
    // (status, created and last tried `days` ago, how many)
    let plan = [
        (DeliveryStatus::Delivered, 40, old_ended - 3),
        (DeliveryStatus::Failed, 11, 3),
        (DeliveryStatus::Delivered, 9, 2),
        (DeliveryStatus::Failed, 1, 2),
        (DeliveryStatus::Pending, 40, 2),
    ];
    let mut tx = t.app.db.begin_write().await.unwrap();
    for (status, age, n) in plan {
        for _ in 0..n {
            let d = DeliveryRow {
                merchant_id: m.clone(),
                env: Env::Dev,
                id: punchcard_domain::WebhookDeliveryId::new(),
                endpoint_id: e.parse().unwrap(),
                event_type: "lead.created".into(),
                payload: "{}".into(),
                status: DeliveryStatus::Pending,
                attempts: 0,
                last_status: None,
                last_response: None,
                last_attempt_at: None,
                next_attempt_at: Some(days(age)),
                delivered_at: None,
                retry_until: days(age - 1),
                created_at: days(age),
            };
            store::insert_delivery(&mut tx, &d).await.unwrap();
            let next =
                (status == DeliveryStatus::Pending).then(|| now.plus(time::Duration::hours(1)));
            store::record_attempt(
                &mut tx,
                &m,
                Env::Dev,
                &d.id,
                status,
                Some(500),
                "",
                next,
                days(age),
            )
            .await
            .unwrap();
        }
    }
    // Two jobs that failed (long ago, and yesterday) and one still queued from long ago.
    let job = |run_at| jobs::NewJob {
        kind: "nothing_knows_this".into(),
        payload: "{}".into(),
        run_at,
        max_attempts: 1,
        merchant_id: Some(m.clone()),
        env: Some(Env::Dev),
    };
    for age in [40, 1] {
        jobs::enqueue(&mut tx, &job(days(age)), days(age))
            .await
            .unwrap();
        let claimed = jobs::claim(&mut tx, "wrk_test", days(age), now, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(
            jobs::fail(&mut tx, &claimed[0].id, "wrk_test", "gave up", days(age))
                .await
                .unwrap()
        );
    }
    jobs::enqueue(&mut tx, &job(now.plus(time::Duration::days(1))), days(40))
        .await
        .unwrap();
    punchcard_store::commit(tx).await.unwrap();

    let purged = t.app.purge_expired_at(now).await.unwrap();
    assert_eq!(purged.webhook_deliveries, old_ended as u64);
    assert_eq!(purged.failed_jobs, 1);
    let log = deliveries(&api, &e).await;
    let statuses: Vec<&str> = log.iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(log.len(), 6, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "pending").count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == "delivered").count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == "failed").count(), 2);
    let mut conn = t.app.db.conn().await.unwrap();
    assert_eq!(jobs::count_by_status(&mut conn, "failed").await.unwrap(), 1);
    assert_eq!(jobs::count_by_status(&mut conn, "queued").await.unwrap(), 1);
    drop(conn);
    // Nothing more to do.
    let again = t.app.purge_expired_at(now).await.unwrap();
    assert_eq!((again.webhook_deliveries, again.failed_jobs), (0, 0));
    // Ten days on, the recent ones have ended long enough too; pending ones stay.
    let later = t
        .app
        .purge_expired_at(now.plus(time::Duration::days(10)))
        .await
        .unwrap();
    assert_eq!((later.webhook_deliveries, later.failed_jobs), (4, 1));
    let log = deliveries(&api, &e).await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d["status"] == "pending"), "{log:?}");
    t.stop().await;
}

on_both_backends_with!(ten_days_retention; ended_deliveries_go_after_the_retention_period);

/// The Webhooks page: add an endpoint with its events (the secret shown once), see its
/// deliveries, redeliver one, edit, disable and delete it.
async fn the_webhooks_page_manages_endpoints_and_shows_deliveries(t: TestApp) {
    use crate::common::dashboard::{input_value, merchant_with_member};
    let rx = Receiver::start().await;
    let (merchant, m) = merchant_with_member(&t, "Hooked", true).await;
    t.app
        .create_currency(&merchant, "PTS", "Points", "1")
        .await
        .unwrap();
    m.switch_env(&t, "dev").await;
    let html = m.page(&t, "/dashboard/webhooks").await;
    assert!(html.contains("0 of 10"), "{html}");
    assert!(
        html.contains("for 30 days"),
        "the retention is stated: {html}"
    );
    assert!(html.contains(r#"value="wallet_transaction.created""#));
    assert!(
        html.contains(r#"href="/dashboard/webhooks""#),
        "in the menu"
    );

    // Refused: the fields say why, nothing is made.
    let res = m
        .post(&t, "/dashboard/webhooks", &[("url", "ftp://x")])
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("field-error"), "{html}");
    assert!(t
        .app
        .webhook_endpoints(&punchcard_app::ledger::Scope::new(&merchant, Env::Dev))
        .await
        .unwrap()
        .is_empty());

    let url = rx.url("/ok");
    let res = m
        .post(
            &t,
            "/dashboard/webhooks",
            &[
                ("url", url.as_str()),
                ("events", "lead.created"),
                ("events", "coupon.used"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("shown only this"));
    let secret = input_value(&html, "webhook-secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let at = html
        .find("/dashboard/webhooks/whe_")
        .expect("a link to the endpoint");
    let id = html[at + "/dashboard/webhooks/".len()..][..30].to_string();
    let list = m.page(&t, "/dashboard/webhooks").await;
    assert!(list.contains(&url) && list.contains("1 of 10"));
    assert!(!list.contains(&secret), "the secret is not listed");

    // A lead: its event arrives and shows in the endpoint's log.
    let scope = punchcard_app::ledger::Scope::new(&merchant, Env::Dev);
    t.app
        .create_lead(
            &scope,
            punchcard_app::ledger::NewLead {
                customer_id: "cust-page".into(),
                email: Some("page@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let hits = rx.wait_for("/ok", 1).await;
    verify(&secret, &hits[0]);
    let mut page = String::new();
    for _ in 0..100 {
        page = m.page(&t, &format!("/dashboard/webhooks/{id}")).await;
        if page.contains("Delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        page.contains("Delivered") && page.contains("lead.created"),
        "{page}"
    );
    assert!(!page.contains(&secret));
    let res = m
        .post(
            &t,
            &format!(
                "/dashboard/webhooks/{id}/deliveries/{}/redeliver",
                hits[0].id
            ),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    let again = rx.wait_for("/ok", 2).await;
    assert_eq!(again[1].id, hits[0].id);

    // Edit: other events, disabled (the box left unticked).
    let res = m
        .post(
            &t,
            &format!("/dashboard/webhooks/{id}"),
            &[("url", url.as_str()), ("events", "swap.completed")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let e = t.app.webhook_endpoint(&scope, &id).await.unwrap();
    assert_eq!(e.events, ["swap.completed"]);
    assert!(!e.enabled);
    let res = m
        .post(&t, &format!("/dashboard/webhooks/{id}/delete"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let list = m.page(&t, "/dashboard/webhooks").await;
    assert!(list.contains("No webhook endpoints"), "{list}");
    t.stop().await;
}

on_both_backends_with!(quick; the_webhooks_page_manages_endpoints_and_shows_deliveries);
