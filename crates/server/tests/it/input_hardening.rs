//! Bad input gets a clear 4xx problem, never a 5xx and never a write: NUL and control
//! characters in every path id, list filter and body text; look-alike customer ids; bodies
//! that are not objects, unknown fields and empty ids; oversized bodies and wrong methods.
//! Security headers on every HTML answer, and an OpenAPI document that declares all of it.
//!
//! The tables come from the OpenAPI document itself (every operation with a path id, every
//! list's query parameters, every string field of every JSON body), so a new endpoint is
//! covered without being listed; only a valid body per JSON operation is written here
//! (`VALID_BODIES`), and a test fails when one is missing.

use crate::common::api::Key;
use crate::common::TestApp;
use punchcard_app::deals::Deals;
use punchcard_app::offers::Offers;
use punchcard_app::plans::PlanChange;
use punchcard_app::stores::Stores;
use punchcard_domain::{Env, MerchantId};
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// The records a test works on, all in the prod environment of one merchant.
struct Fixture {
    key: Key,
    lead: String,
    /// A lead without a wallet.
    lead2: String,
    wallet: String,
    transaction: String,
    deal: String,
    offer: String,
    store: String,
    coupon: String,
    /// The coupon's code, and the token its QR carries.
    coupon_code: String,
    coupon_token: String,
    currency: String,
    /// A live rule with a rate, which `key` may trigger.
    rule: String,
    /// A live task rewarding points, and a surprise whose occasion is today.
    task: String,
    surprise: String,
    /// A vault, a voucher campaign drawing from it, and one of its integrations.
    vault: String,
    voucher: String,
    integration: String,
    deal_image: String,
    offer_image: String,
    store_image: String,
    /// A partner merchant and its currency, a contract proposed to it, and a swap between two
    /// of this merchant's leads (lead-to-lead swaps are on).
    partner: String,
    partner_currency: String,
    lead3: String,
    contract: String,
    swap: String,
    /// A webhook endpoint and a delivery of a lead's creation to it.
    webhook_endpoint: String,
    message: String,
    webhook_delivery: String,
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

async fn fixture(t: &TestApp) -> Fixture {
    let m: MerchantId = t.active_merchant("Hardened").await;
    t.app
        .set_plan(
            &m,
            PlanChange {
                rate_limit_per_minute: Some(300_000),
                ..Default::default()
            },
        )
        .await
        .expect("plan set");
    let scope = punchcard_app::ledger::Scope::new(&m, Env::Prod);
    let currency = t.app.list_currencies(&m, None, 1).await.unwrap()[0]
        .id
        .to_string();
    let lead = t
        .app
        .create_lead(
            &scope,
            punchcard_app::ledger::NewLead {
                customer_id: "cust-0001".into(),
                email: Some("ada@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead")
        .id
        .to_string();
    let lead2 = t
        .app
        .create_lead(
            &scope,
            punchcard_app::ledger::NewLead {
                customer_id: "cust-0002b".into(),
                mobile: Some("+14155550100".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead")
        .id
        .to_string();
    let wallet = t
        .app
        .create_wallet(&scope, &lead, &currency)
        .await
        .expect("wallet")
        .id
        .to_string();
    let transaction = t
        .app
        .create_transaction(
            &scope,
            &punchcard_app::ledger::NewTransaction {
                wallet_id: wallet.clone(),
                kind: "reward".into(),
                amount: 100,
                hash: "h-1".into(),
                description: None,
            },
        )
        .await
        .expect("transaction")
        .transaction
        .id
        .to_string();
    let store = t
        .app
        .create_item::<Stores>(
            &m,
            Env::Prod,
            &punchcard_app::stores::StoreDraft {
                name: "Web shop".into(),
                mode: "online".into(),
                url: "https://shop.example".into(),
                ..Default::default()
            },
        )
        .await
        .expect("store")
        .row
        .id
        .to_string();
    let deal = t
        .app
        .create_item::<Deals>(
            &m,
            Env::Prod,
            &punchcard_app::deals::DealDraft {
                name: "Free coffee".into(),
                kind: "voucher".into(),
                sell_price: "5".into(),
                available: true,
                visibility: "private".into(),
                store_ids: vec![store.clone()],
                ..Default::default()
            },
        )
        .await
        .expect("deal")
        .row
        .id
        .to_string();
    t.app
        .create_code(&scope, &deal, Some("generic_code"), "ALL-1")
        .await
        .expect("code");
    let coupon = t
        .app
        .create_coupon(
            &scope,
            &punchcard_app::coupons::NewCoupon {
                deal_id: deal.clone(),
                lead_id: lead.clone(),
                hash: "c-1".into(),
                mode: Some("reward".into()),
                ..Default::default()
            },
        )
        .await
        .expect("coupon")
        .coupon;
    let coupon_token = t.app.coupon_token(&coupon).await.expect("its token");
    let coupon_code = coupon.code.clone();
    let coupon = coupon.id.to_string();
    let offer = t
        .app
        .create_item::<Offers>(
            &m,
            Env::Prod,
            &punchcard_app::offers::OfferDraft {
                code: "FIRST100".into(),
                name: "First order".into(),
                sell_price: "5".into(),
                ..Default::default()
            },
        )
        .await
        .expect("offer")
        .row
        .id
        .to_string();
    let deal_image = image_of::<Deals>(t, &m, &deal).await;
    let offer_image = image_of::<Offers>(t, &m, &offer).await;
    let store_image = image_of::<Stores>(t, &m, &store).await;
    let key = t.api_key(&m, Env::Prod).await;
    let rule = t
        .app
        .create_rule(
            &scope,
            &punchcard_app::campaigns::RuleDraft {
                name: "Per visit".into(),
                direction: "earn".into(),
                currency_id: currency.clone(),
                rate: Some("0.5".into()),
                authorized_key_ids: vec![key.0.clone()],
                ..Default::default()
            },
        )
        .await
        .expect("rule")
        .campaign
        .id
        .to_string();
    t.app
        .set_rule_active(&scope, &rule, true)
        .await
        .expect("rule activated");
    let task = t
        .app
        .create_task(
            &scope,
            &punchcard_app::campaigns::tasks::TaskDraft {
                name: "Visits".into(),
                currency_id: Some(currency.clone()),
                reward: "points".into(),
                count: Some(3),
                min_reward: Some(1),
                max_reward: Some(5),
                ..Default::default()
            },
        )
        .await
        .expect("task")
        .campaign
        .id
        .to_string();
    let today = punchcard_domain::time::Timestamp::now().datetime().date();
    let surprise = t
        .app
        .create_surprise(
            &scope,
            &punchcard_app::campaigns::surprises::SurpriseDraft {
                name: "Today".into(),
                occasion: "custom".into(),
                date: Some(today.to_string()),
                count: Some(100),
                deal_id: deal.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("surprise")
        .campaign
        .id
        .to_string();
    let vault = t
        .app
        .create_vault(
            &scope,
            &punchcard_app::campaigns::vouchers::VaultDraft {
                name: "Gift cards".into(),
                vendor: "acme".into(),
                amount: Some(1000),
                test: false,
            },
        )
        .await
        .expect("vault")
        .vault
        .id
        .to_string();
    let voucher = t
        .app
        .create_voucher_campaign(
            &scope,
            &punchcard_app::campaigns::vouchers::VoucherCampaignDraft {
                name: "Partners".into(),
                vault_ids: vec![vault.clone()],
                ..Default::default()
            },
        )
        .await
        .expect("voucher campaign")
        .view
        .campaign
        .id
        .to_string();
    let integration = t
        .app
        .create_integration(&scope, &voucher, "Shop", Some("test"))
        .await
        .expect("integration")
        .integration
        .id
        .to_string();
    let partner = t.active_merchant("Partner").await;
    let partner_currency = t.app.list_currencies(&partner, None, 1).await.unwrap()[0]
        .id
        .to_string();
    let contract = t
        .app
        .propose_contract(
            &scope,
            &punchcard_app::swaps::NewContract {
                partner_merchant_id: partner.to_string(),
                currency_id: currency.clone(),
                partner_currency_id: partner_currency.clone(),
                rate: Some("1.5".into()),
                per_swap_max: Some(10),
                daily_max: Some(100),
            },
        )
        .await
        .expect("contract")
        .id
        .to_string();
    t.app.set_lead_swaps(&m, true).await.expect("lead swaps on");
    let lead3 = t
        .app
        .create_lead(
            &scope,
            punchcard_app::ledger::NewLead {
                customer_id: "cust-0003".into(),
                email: Some("swap@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead")
        .id
        .to_string();
    let swap = t
        .app
        .create_swap(
            &scope,
            &punchcard_app::swaps::NewSwap {
                from_wallet_id: wallet.clone(),
                amount: Some(1),
                hash: "sw-1".into(),
                to_lead_id: Some(lead3.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("swap")
        .swap
        .id
        .to_string();
    let webhook_endpoint = t
        .app
        .create_webhook_endpoint(
            &scope,
            punchcard_app::webhooks::EndpointInput {
                url: Some("https://hooks.example.com/in".into()),
                events: Some(vec!["lead.created".into()]),
                enabled: None,
            },
        )
        .await
        .expect("webhook endpoint")
        .endpoint
        .id
        .to_string();
    t.app
        .create_lead(
            &scope,
            punchcard_app::ledger::NewLead {
                customer_id: "cust-hooked".into(),
                email: Some("hooked@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    let webhook_delivery = t
        .app
        .webhook_deliveries(&scope, &webhook_endpoint, None, 1)
        .await
        .expect("deliveries")[0]
        .id
        .to_string();
    let message = crate::messages::message_to_all(t, &scope, "Hello").await;
    // Sent before the test starts, so that nothing changes under it.
    while !t
        .app
        .send_message_batch(&scope, &message)
        .await
        .expect("sent")
    {}
    let message = message.to_string();
    Fixture {
        message,
        webhook_endpoint,
        webhook_delivery,
        partner: partner.to_string(),
        lead3,
        partner_currency,
        contract,
        swap,
        key,
        rule,
        task,
        surprise,
        vault,
        voucher,
        integration,
        lead,
        lead2,
        wallet,
        transaction,
        deal,
        offer,
        store,
        coupon,
        coupon_code,
        coupon_token,
        currency,
        deal_image,
        offer_image,
        store_image,
    }
}

async fn image_of<K: punchcard_app::catalog_kind::CatalogKind>(
    t: &TestApp,
    m: &MerchantId,
    item: &str,
) -> String {
    let item: K::Id = item.parse().unwrap();
    t.app
        .add_catalog_image::<K, _>(&t.state.storage, m, Env::Prod, &item, "i.png", PNG.to_vec())
        .await
        .expect("image")
        .id
        .to_string()
}

impl Fixture {
    /// The real id a path parameter stands for: `{id}` after `/leads` is the lead, and so on.
    fn id_for(&self, path: &str, param: &str) -> String {
        let collection = path.split('/').nth(3).unwrap_or("");
        let pick = |deal: &str, offer: &str, store: &str| match collection {
            "deals" => deal.to_string(),
            "offers" => offer.to_string(),
            "stores" => store.to_string(),
            _ => panic!("no fixture for {param} in {path}: add it to Fixture::id_for"),
        };
        match (collection, param) {
            (_, "image_id") => pick(&self.deal_image, &self.offer_image, &self.store_image),
            ("leads", "id") => self.lead.clone(),
            ("wallets", "id") => self.wallet.clone(),
            ("wallet_transactions", "id") => self.transaction.clone(),
            ("coupons", "id") => self.coupon.clone(),
            ("rules" | "campaigns", "id") => self.rule.clone(),
            ("tasks", "id") => self.task.clone(),
            ("vaults", "id") => self.vault.clone(),
            ("swap_contracts", "id") => self.contract.clone(),
            ("swaps", "id") => self.swap.clone(),
            ("webhook_endpoints", "id") => self.webhook_endpoint.clone(),
            ("messages", "id") => self.message.clone(),
            ("webhook_deliveries", "id") => self.webhook_delivery.clone(),
            ("voucher_campaigns", "id") => self.voucher.clone(),
            ("voucher_campaigns", "integration_id") => self.integration.clone(),
            ("surprises", "id") => self.surprise.clone(),
            (_, "id") => pick(&self.deal, &self.offer, &self.store),
            _ => panic!("no fixture for {param} in {path}: add it to Fixture::id_for"),
        }
    }
}

async fn spec(t: &TestApp) -> Value {
    t.client
        .get(t.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every (method, path, operation) of the API in the document.
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            // The award authenticates with an integration, not an API key: its input is
            // checked in `vouchers`.
            let by_integration = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("integration").is_some()));
            if by_integration {
                continue;
            }
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                ops.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

async fn send(t: &TestApp, key: &Key, method: &str, path: &str, body: Option<&str>) -> Response {
    let mut req = t
        .client
        .request(Method::from_bytes(method.as_bytes()).unwrap(), t.url(path))
        .basic_auth(&key.0, Some(&key.1));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    req.send().await.expect("request sent")
}

/// Every list the key can read, in full: what a refused request must leave unchanged.
async fn snapshot(t: &TestApp, key: &Key, spec: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (method, path, _) in operations(spec) {
        if method != "GET" || path.contains('{') {
            continue;
        }
        let limit = if path.ends_with("/quota") {
            ""
        } else {
            "?limit=500"
        };
        let res = send(t, key, "GET", &format!("{path}{limit}"), None).await;
        assert_eq!(res.status(), 200, "GET {path}");
        out.push((path, res.text().await.unwrap()));
    }
    out
}

async fn assert_unchanged(before: &[(String, String)], t: &TestApp, f: &Fixture, spec: &Value) {
    let after = snapshot(t, &f.key, spec).await;
    for ((path, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{path} changed after refused requests");
    }
}

/// A refusal: the status, problem+json, the code, and the fields named (when given).
async fn assert_problem(res: Response, status: u16, code: &str, label: &str) -> Value {
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{label}: {text}");
    assert_eq!(content_type, "application/problem+json", "{label}");
    let body: Value = serde_json::from_str(&text).expect("problem body");
    assert_eq!(body["code"], code, "{label}: {text}");
    assert_eq!(body["status"], status, "{label}");
    body
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

// ---- Path ids ------------------------------------------------------------------------------

/// Texts that cannot be ids, percent-encoded for a path: NUL and control characters, a bidi
/// override, too long, the wrong kind.
fn bad_path_ids(real: &str, other_kind: &str) -> Vec<String> {
    vec![
        "%00".to_string(),
        format!("{real}%00"),
        format!("%00{real}"),
        format!("{}%00{}", &real[..real.len() - 2], &real[real.len() - 1..]),
        format!("{real}%01"),
        format!("{real}%0A"),
        format!("%E2%80%AE{real}"),
        format!("{real}%E2%80%8B"),
        format!("{real}{}", "0".repeat(300)),
        other_kind.to_string(),
        "%FF%FE".to_string(),
    ]
}

async fn nul_and_control_characters_in_path_ids_answer_404(t: TestApp) {
    let f = fixture(&t).await;
    let spec = spec(&t).await;
    let before = snapshot(&t, &f.key, &spec).await;
    let mut checked = 0;
    for (method, path, op) in operations(&spec) {
        let params = path_params(&path);
        if params.is_empty() {
            continue;
        }
        let body = op["requestBody"]["content"]
            .get("application/json")
            .map(|_| "{}");
        for (i, param) in params.iter().enumerate() {
            let real = f.id_for(&path, param);
            // Another kind's real id: the wallet's, or the lead's for a wallet path.
            let other = if real == f.wallet { &f.lead } else { &f.wallet };
            for bad in bad_path_ids(&real, other) {
                let mut filled = path.clone();
                for (j, p) in params.iter().enumerate() {
                    let value = if i == j {
                        bad.clone()
                    } else {
                        f.id_for(&path, p)
                    };
                    filled = filled.replace(&format!("{{{p}}}"), &value);
                }
                let label = format!("{method} {filled}");
                let res = send(&t, &f.key, &method, &filled, body).await;
                assert_problem(res, 404, "not_found", &label).await;
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} cases");
    assert_unchanged(&before, &t, &f, &spec).await;
    // The records are all still there.
    for (path, id) in [
        ("leads", &f.lead),
        ("deals", &f.deal),
        ("offers", &f.offer),
        ("stores", &f.store),
        ("coupons", &f.coupon),
    ] {
        let res = t.api(&f.key).get_raw(&format!("/api/v1/{path}/{id}")).await;
        assert_eq!(res.status(), 200, "{path}/{id}");
    }
    t.stop().await;
}

// ---- List filters --------------------------------------------------------------------------

async fn control_characters_in_list_filters_answer_422(t: TestApp) {
    let f = fixture(&t).await;
    let spec = spec(&t).await;
    let mut checked = 0;
    for (method, path, op) in operations(&spec) {
        if method != "GET" {
            continue;
        }
        let query: Vec<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut filled = path.clone();
        for p in path_params(&path) {
            filled = filled.replace(&format!("{{{p}}}"), &f.id_for(&path, &p));
        }
        for name in query {
            for bad in ["a%00b", "%00", "cust%01", "x%0Ay", "%1B%5B31m"] {
                let url = format!("{filled}?{name}={bad}");
                let res = t.api(&f.key).get_raw(&url).await;
                let problem = assert_problem(res, 422, "validation_failed", &url).await;
                assert_eq!(fields(&problem), [name.as_str()], "{url}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} cases");
    // Filters parse as what they filter by: ids of their kind, customer ids, emails.
    for (url, field) in [
        ("/api/v1/wallets?lead_id=lead_nope", "lead_id"),
        ("/api/v1/wallets?lead_id=", ""),
        (&format!("/api/v1/wallets?lead_id={}", f.wallet), "lead_id"),
        ("/api/v1/wallet_transactions?wallet_id=wal_x", "wallet_id"),
        ("/api/v1/coupons?deal_id=deal_x", "deal_id"),
        ("/api/v1/coupon_codes?deal_id=nope", "deal_id"),
        ("/api/v1/leads?customer_id=ab", "customer_id"),
        (
            "/api/v1/leads?customer_id=cust%E2%80%AE-0001",
            "customer_id",
        ),
        ("/api/v1/leads?email=not-an-email", "email"),
        ("/api/v1/deals?store_id=store_x", "store_id"),
    ] {
        let res = t.api(&f.key).get_raw(url).await;
        if field.is_empty() {
            assert_eq!(res.status(), 200, "{url}");
            continue;
        }
        let problem = assert_problem(res, 422, "validation_failed", url).await;
        assert_eq!(fields(&problem), [field], "{url}");
    }
    // A filter that parses still finds.
    let found: Value = t
        .api(&f.key)
        .get_raw("/api/v1/leads?customer_id=cust-0001")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["data"][0]["id"], f.lead.as_str());
    t.stop().await;
}

// ---- Bodies --------------------------------------------------------------------------------

/// A valid body for every operation with a JSON body; `{lead}`, `{wallet}`, `{deal}`,
/// `{store}` and `{currency}` stand for the fixture's ids.
const VALID_BODIES: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/leads",
        r#"{"customer_id": "cust-new", "name": "Grace", "email": "grace@example.com", "mobile": "+14155550123", "country": "US", "dob": "1990-12-10"}"#,
    ),
    (
        "PATCH",
        "/api/v1/leads/{id}",
        r#"{"customer_id": "cust-0002", "name": "Ada King", "email": "ada@example.org", "mobile": "+14155550124", "country": "GB", "dob": "1985-12-10"}"#,
    ),
    (
        "POST",
        "/api/v1/wallets",
        r#"{"lead_id": "{lead2}", "currency_id": "{currency}"}"#,
    ),
    (
        "POST",
        "/api/v1/wallet_transactions",
        r#"{"wallet_id": "{wallet}", "kind": "reward", "amount": 5, "hash": "h-new", "description": "Birthday"}"#,
    ),
    (
        "POST",
        "/api/v1/deals",
        r#"{"name": "Tea", "description": "Any tea", "kind": "voucher", "sell_price": 3, "visibility": "private", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "store_ids": ["{store}"]}"#,
    ),
    (
        "PATCH",
        "/api/v1/deals/{id}",
        r#"{"name": "Tea", "description": "Any tea", "kind": "voucher", "visibility": "private", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "store_ids": ["{store}"]}"#,
    ),
    (
        "POST",
        "/api/v1/offers",
        r#"{"code": "SPRING", "name": "Spring", "description": "Spring offer", "sell_price": 0, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "store_ids": ["{store}"]}"#,
    ),
    (
        "PATCH",
        "/api/v1/offers/{id}",
        r#"{"code": "SUMMER", "name": "Summer", "description": "Summer offer", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "store_ids": ["{store}"]}"#,
    ),
    (
        "POST",
        "/api/v1/stores",
        r#"{"name": "Leeds", "mode": "offline", "address_line": "12 Mill Lane", "city": "Leeds", "postal_code": "LS1 4AP", "country": "GB"}"#,
    ),
    (
        "PATCH",
        "/api/v1/stores/{id}",
        r#"{"name": "Web", "mode": "online", "url": "https://shop.example/new"}"#,
    ),
    (
        "POST",
        "/api/v1/coupon_codes",
        r#"{"deal_id": "{deal}", "kind": "code", "value": "NEW-CODE-1"}"#,
    ),
    (
        "POST",
        "/api/v1/coupon_codes/bulk_generate",
        r#"{"deal_id": "{deal}", "count": 2}"#,
    ),
    (
        "POST",
        "/api/v1/coupons",
        r#"{"deal_id": "{deal}", "lead_id": "{lead}", "currency_id": "{currency}", "hash": "c-new", "mode": "reward"}"#,
    ),
    (
        "POST",
        "/api/v1/rules",
        r#"{"name": "Per purchase", "type": "earn", "currency_id": "{currency}", "rate": "0.1", "cap_max": 10, "max_per_lead": 5, "budget": 100, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "authorized_key_ids": ["{key}"]}"#,
    ),
    (
        "PATCH",
        "/api/v1/rules/{id}",
        r#"{"name": "Per visit", "rate": "0.25", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "authorized_key_ids": ["{key}"]}"#,
    ),
    (
        "POST",
        "/api/v1/rules/{id}/trigger",
        r#"{"lead_id": "{lead}", "amount": 10, "hash": "t-new"}"#,
    ),
    (
        "POST",
        "/api/v1/tasks",
        r#"{"name": "Weekly visits", "currency_id": "{currency}", "reward": "points", "count": 3, "min_reward": 1, "max_reward": 5, "period": "week", "max_per_lead": 2, "budget": 100, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "paused": false}"#,
    ),
    (
        "PATCH",
        "/api/v1/tasks/{id}",
        r#"{"name": "More visits", "count": 4, "period": "month", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z"}"#,
    ),
    (
        "POST",
        "/api/v1/task_activities",
        r#"{"task_id": "{task}", "lead_id": "{lead}", "hash": "a-new"}"#,
    ),
    (
        "POST",
        "/api/v1/surprises",
        r#"{"name": "Anniversary", "type": "custom", "date": "2030-01-01", "count": 1, "deal_id": "{deal}", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "paused": false}"#,
    ),
    (
        "PATCH",
        "/api/v1/surprises/{id}",
        r#"{"name": "Anniversary gift", "type": "custom", "date": "2031-01-01", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z"}"#,
    ),
    (
        "POST",
        "/api/v1/coupons/use_by_code",
        r#"{"code": "{coupon_code}", "customer_id": "cust-0001"}"#,
    ),
    (
        "POST",
        "/api/v1/qr/resolve",
        r#"{"token": "{coupon_token}"}"#,
    ),
    (
        "POST",
        "/api/v1/vaults",
        r#"{"name": "Store credit", "vendor": "acme", "amount": 500, "test": true}"#,
    ),
    (
        "POST",
        "/api/v1/voucher_campaigns",
        r#"{"name": "Partners two", "vault_ids": ["{vault}"], "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z", "max_per_redeemer": 2, "paused": false}"#,
    ),
    (
        "PATCH",
        "/api/v1/voucher_campaigns/{id}",
        r#"{"name": "Partners again", "vault_ids": ["{vault}"], "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z"}"#,
    ),
    (
        "POST",
        "/api/v1/voucher_campaigns/{id}/integrations",
        r#"{"name": "Till", "status": "test"}"#,
    ),
    (
        "PATCH",
        "/api/v1/voucher_campaigns/{id}/integrations/{integration_id}",
        r#"{"name": "Till two", "status": "live"}"#,
    ),
    (
        "POST",
        "/api/v1/surprise_activities",
        r#"{"surprise_id": "{surprise}", "lead_id": "{lead}", "hash": "s-new"}"#,
    ),
    (
        "POST",
        "/api/v1/swap_contracts",
        r#"{"partner_merchant_id": "{partner}", "currency_id": "{currency}", "partner_currency_id": "{partner_currency}", "rate": "1.5", "per_swap_max": 10, "daily_max": 100}"#,
    ),
    (
        "POST",
        "/api/v1/swaps",
        r#"{"from_wallet_id": "{wallet}", "amount": 1, "hash": "sw-new", "to_lead_id": "{lead3}"}"#,
    ),
    (
        "POST",
        "/api/v1/webhook_endpoints",
        r#"{"url": "https://hooks.example.com/new", "events": ["lead.created", "coupon.used"]}"#,
    ),
    (
        "POST",
        "/api/v1/messages",
        r#"{"kind": "promo", "title": "Spring", "body": "Two for one", "url": "https://shop.example.com/spring", "segment": {"type": "min_balance", "currency_id": "{currency}", "min_balance": 10}}"#,
    ),
    (
        "PATCH",
        "/api/v1/webhook_endpoints/{id}",
        r#"{"url": "https://hooks.example.com/moved", "events": ["wallet_transaction.created"], "enabled": true}"#,
    ),
];

impl Fixture {
    fn fill_body(&self, template: &str) -> Value {
        let text = template
            .replace("{lead2}", &self.lead2)
            .replace("{lead3}", &self.lead3)
            .replace("{lead}", &self.lead)
            .replace("{wallet}", &self.wallet)
            .replace("{deal}", &self.deal)
            .replace("{store}", &self.store)
            .replace("{currency}", &self.currency)
            .replace("{key}", &self.key.0)
            .replace("{task}", &self.task)
            .replace("{surprise}", &self.surprise)
            .replace("{vault}", &self.vault)
            .replace("{coupon_code}", &self.coupon_code)
            .replace("{coupon_token}", &self.coupon_token)
            .replace("{partner_currency}", &self.partner_currency)
            .replace("{partner}", &self.partner);
        serde_json::from_str(&text).expect("valid template")
    }

    fn fill_path(&self, path: &str) -> String {
        let mut filled = path.to_string();
        for p in path_params(path) {
            filled = filled.replace(&format!("{{{p}}}"), &self.id_for(path, &p));
        }
        filled
    }
}

/// The JSON-body operations of the document with their request schema.
fn json_body_operations(spec: &Value) -> Vec<(String, String, Value)> {
    operations(spec)
        .into_iter()
        .filter_map(|(method, path, op)| {
            let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
            if schema.is_null() {
                return None;
            }
            let schema = match schema["$ref"].as_str() {
                Some(r) => {
                    let name = r.rsplit('/').next().unwrap();
                    spec["components"]["schemas"][name].clone()
                }
                None => schema,
            };
            Some((method, path, schema))
        })
        .collect()
}

fn valid_body(f: &Fixture, method: &str, path: &str) -> Value {
    let (_, _, template) = VALID_BODIES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .unwrap_or_else(|| panic!("add a valid body for {method} {path} to VALID_BODIES"));
    f.fill_body(template)
}

/// Whether a schema property takes a string, or an array of strings.
fn text_kind(property: &Value) -> Option<bool> {
    let types: Vec<&str> = match &property["type"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"string") {
        Some(false)
    } else if types.contains(&"array") && property["items"]["type"] == "string" {
        Some(true)
    } else {
        None
    }
}

async fn control_characters_in_body_texts_answer_422_and_write_nothing(t: TestApp) {
    let f = fixture(&t).await;
    let spec = spec(&t).await;
    let before = snapshot(&t, &f.key, &spec).await;
    let mut checked = 0;
    for (method, path, schema) in json_body_operations(&spec) {
        let base = valid_body(&f, &method, &path);
        let url = f.fill_path(&path);
        let properties = schema["properties"].as_object().expect("properties");
        for (name, property) in properties {
            let Some(is_list) = text_kind(property) else {
                continue;
            };
            let good = match &base[name] {
                Value::String(s) => s.clone(),
                Value::Array(a) => a.first().and_then(Value::as_str).unwrap_or("x").to_string(),
                _ => "text".to_string(),
            };
            for bad in [
                format!("{good}\u{0}"),
                format!("\u{0}{good}"),
                format!("{good}\u{1}"),
                format!("{good}\u{1b}[31m"),
                format!("{good}\u{7f}"),
            ] {
                let mut body = base.clone();
                body[name.as_str()] = if is_list { json!([bad]) } else { json!(bad) };
                let label = format!("{method} {path} {name}={bad:?}");
                let res = send(&t, &f.key, &method, &url, Some(&body.to_string())).await;
                let problem = assert_problem(res, 422, "validation_failed", &label).await;
                let named = fields(&problem);
                assert!(
                    named.iter().all(|f| f.starts_with(name.as_str())) && !named.is_empty(),
                    "{label}: {named:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "only {checked} cases");
    assert_unchanged(&before, &t, &f, &spec).await;
    // The valid bodies are valid: each goes through once the bad ones were refused.
    for (method, path, _) in json_body_operations(&spec) {
        let body = valid_body(&f, &method, &path);
        let res = send(
            &t,
            &f.key,
            &method,
            &f.fill_path(&path),
            Some(&body.to_string()),
        )
        .await;
        let status = res.status();
        assert!(
            status.is_success(),
            "{method} {path}: {status} {}",
            res.text().await.unwrap()
        );
    }
    t.stop().await;
}

async fn free_text_keeps_line_breaks_and_tabs_identifiers_do_not(t: TestApp) {
    let f = fixture(&t).await;
    let res = send(
        &t,
        &f.key,
        "PATCH",
        &format!("/api/v1/deals/{}", f.deal),
        Some(&json!({"description": "Line one\nLine two\twith a tab"}).to_string()),
    )
    .await;
    assert_eq!(res.status(), 200);
    let deal: Value = res.json().await.unwrap();
    assert_eq!(deal["description"], "Line one\nLine two\twith a tab");
    for (method, path, body, field) in [
        (
            "PATCH",
            format!("/api/v1/deals/{}", f.deal),
            json!({"name": "Tea\nTime"}),
            "name",
        ),
        (
            "PATCH",
            format!("/api/v1/leads/{}", f.lead),
            json!({"customer_id": "cust\t42"}),
            "customer_id",
        ),
        (
            "PATCH",
            format!("/api/v1/leads/{}", f.lead),
            json!({"name": "Ada\nKing"}),
            "name",
        ),
        (
            "POST",
            "/api/v1/coupon_codes".to_string(),
            json!({"deal_id": f.deal, "value": "AB\tCD"}),
            "value",
        ),
    ] {
        let res = send(&t, &f.key, method, &path, Some(&body.to_string())).await;
        let problem =
            assert_problem(res, 422, "validation_failed", &format!("{path} {body}")).await;
        assert_eq!(fields(&problem), [field], "{path} {body}");
    }
    t.stop().await;
}

/// Invisible characters that make a look-alike of an identifier.
const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}',
    '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
];

async fn look_alike_identifiers_are_refused(t: TestApp) {
    let f = fixture(&t).await;
    let spec = spec(&t).await;
    let before = snapshot(&t, &f.key, &spec).await;
    for c in INVISIBLE {
        for customer_id in [
            format!("cust-0001{c}"),
            format!("cust{c}-0001"),
            format!("{c}cust-0001"),
        ] {
            let label = format!("customer id {customer_id:?}");
            let res = send(
                &t,
                &f.key,
                "POST",
                "/api/v1/leads",
                Some(&json!({"customer_id": customer_id, "email": "x@example.com"}).to_string()),
            )
            .await;
            let problem = assert_problem(res, 422, "validation_failed", &label).await;
            assert_eq!(fields(&problem), ["customer_id"], "{label}");
            let res = send(
                &t,
                &f.key,
                "PATCH",
                &format!("/api/v1/leads/{}", f.lead),
                Some(&json!({ "customer_id": customer_id }).to_string()),
            )
            .await;
            assert_problem(res, 422, "validation_failed", &label).await;
        }
        // Codes and emails are identifiers too.
        let res = send(
            &t,
            &f.key,
            "POST",
            "/api/v1/coupon_codes",
            Some(&json!({"deal_id": f.deal, "value": format!("CODE{c}1")}).to_string()),
        )
        .await;
        let problem = assert_problem(res, 422, "validation_failed", "code").await;
        assert_eq!(fields(&problem), ["value"]);
        let res = send(
            &t,
            &f.key,
            "POST",
            "/api/v1/leads",
            Some(
                &json!({"customer_id": "cust-0099", "email": format!("ada{c}@example.com")})
                    .to_string(),
            ),
        )
        .await;
        let problem = assert_problem(res, 422, "validation_failed", "email").await;
        assert_eq!(fields(&problem), ["email"]);
    }
    assert_unchanged(&before, &t, &f, &spec).await;
    // Names are free text: an accent or a right-to-left mark in a name is fine.
    let res = send(
        &t,
        &f.key,
        "PATCH",
        &format!("/api/v1/leads/{}", f.lead),
        Some(&json!({"name": "Zoë \u{200F}نور"}).to_string()),
    )
    .await;
    assert_eq!(res.status(), 200);
    t.stop().await;
}

async fn bodies_must_be_objects_with_known_fields(t: TestApp) {
    let f = fixture(&t).await;
    let spec = spec(&t).await;
    let before = snapshot(&t, &f.key, &spec).await;
    for (method, path, _) in json_body_operations(&spec) {
        let url = f.fill_path(&path);
        let base = valid_body(&f, &method, &path);
        // An array is not an object, even one whose items line up with the fields.
        let values: Vec<Value> = base.as_object().unwrap().values().cloned().collect();
        for body in [
            json!(values),
            json!(["Ada"]),
            json!("text"),
            json!(5),
            json!(null),
        ] {
            let label = format!("{method} {path} {body}");
            let res = send(&t, &f.key, &method, &url, Some(&body.to_string())).await;
            let problem = assert_problem(res, 422, "validation_failed", &label).await;
            assert_eq!(fields(&problem), ["body"], "{label}");
        }
        // Unknown fields are refused, named.
        let mut body = base.clone();
        body["nmae"] = json!("typo");
        let label = format!("{method} {path} unknown field");
        let res = send(&t, &f.key, &method, &url, Some(&body.to_string())).await;
        let problem = assert_problem(res, 422, "validation_failed", &label).await;
        assert_eq!(fields(&problem), ["nmae"], "{label}");
        // Malformed JSON and another content type.
        let res = send(&t, &f.key, &method, &url, Some("{\"name\": ")).await;
        assert_problem(res, 400, "malformed_json", &label).await;
        let res = t
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), t.url(&url))
            .basic_auth(&f.key.0, Some(&f.key.1))
            .header("content-type", "text/plain")
            .body(base.to_string())
            .send()
            .await
            .unwrap();
        assert_problem(res, 415, "unsupported_media_type", &label).await;
    }
    // Empty texts in an id list are refused like any text that is not an id.
    for (method, path) in [
        ("PATCH", "/api/v1/deals/{id}"),
        ("PATCH", "/api/v1/offers/{id}"),
        ("POST", "/api/v1/deals"),
        ("POST", "/api/v1/offers"),
    ] {
        for ids in [json!([""]), json!([" "]), json!([f.store, ""])] {
            let mut body = valid_body(&f, method, path);
            body["store_ids"] = ids.clone();
            let path = f.fill_path(path);
            let label = format!("{method} {path} store_ids={ids}");
            let res = send(&t, &f.key, method, &path, Some(&body.to_string())).await;
            let problem = assert_problem(res, 422, "validation_failed", &label).await;
            assert_eq!(fields(&problem), ["store_ids"], "{label}");
        }
    }
    assert_unchanged(&before, &t, &f, &spec).await;
    let deal: Value = t
        .api(&f.key)
        .get_raw(&format!("/api/v1/deals/{}", f.deal))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deal["store_ids"], json!([f.store]), "the stores stay");
    t.stop().await;
}

/// Sends a request over a plain connection and reads the answer while the body is still
/// being written: a server that refuses an oversized body answers before reading it all, and
/// closes the connection, which an HTTP client library reports as a failed write.
async fn raw_request(t: &TestApp, head: String, body: Vec<u8>) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(t.addr)
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    // `Expect: 100-continue`: the body goes only once the server asks for it, so a refusal
    // made from the declared length arrives before any of it.
    writer.write_all(head.as_bytes()).await.expect("head sent");
    let mut writer = Some(writer);
    let mut body = Some(body);
    let mut writing = None;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    let (status, content_type, body) = loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), reader.read(&mut chunk))
            .await
            .expect("an answer in time")
            .unwrap_or(0);
        answer.extend_from_slice(&chunk[..n]);
        if answer.starts_with(b"HTTP/1.1 100") {
            if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                answer.drain(..end + 4);
                let body = body.take().expect("one 100 Continue");
                let mut w = writer.take().expect("one 100 Continue");
                // The task hands the writer back rather than dropping it: dropping it would
                // close our side, and the server drops a half-closed request unanswered.
                writing = Some(tokio::spawn(async move {
                    let sent = w.write_all(&body).await;
                    (w, sent)
                }));
            }
            continue;
        }
        let text = String::from_utf8_lossy(&answer).to_string();
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if rest.len() >= length || n == 0 {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                let content_type = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-type:")
                            .map(|v| v.trim().to_string())
                    })
                    .unwrap_or_default();
                break (
                    status,
                    content_type,
                    serde_json::from_str(&rest[..length]).unwrap_or(Value::Null),
                );
            }
        }
        assert!(n > 0, "the connection closed without an answer: {text:?}");
    };
    if let Some(w) = writing {
        w.abort();
    }
    (status, content_type, body)
}

async fn oversized_bodies_answer_413_problems(t: TestApp) {
    let f = fixture(&t).await;
    let spec = spec(&t).await;
    let before = snapshot(&t, &f.key, &spec).await;
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", f.key.0, f.key.1));
    for size in [3 << 20, 10 << 20, 30 << 20] {
        let body = format!("{{\"name\": \"{}\"}}", "x".repeat(size)).into_bytes();
        let lead = format!("/api/v1/leads/{}", f.lead);
        let retry_key = format!("idempotency-key: big-{size}\r\n");
        for (method, path, extra) in [
            ("POST", "/api/v1/deals", ""),
            ("POST", "/api/v1/deals", retry_key.as_str()),
            ("PATCH", lead.as_str(), ""),
        ] {
            let head = format!(
                "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Basic {auth}\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\n\
                 expect: 100-continue\r\n{extra}\r\n",
                t.addr,
                body.len()
            );
            let label = format!("{method} {path} {size} bytes {extra}");
            let (status, content_type, problem) = raw_request(&t, head, body.clone()).await;
            assert_eq!(status, 413, "{label}");
            assert_eq!(content_type, "application/problem+json", "{label}");
            assert_eq!(problem["code"], "payload_too_large", "{label}");
        }
    }
    // Just under the limit is read (and refused for what it says, not for its size).
    let res = send(
        &t,
        &f.key,
        "POST",
        "/api/v1/deals",
        Some(&json!({"name": "x".repeat(2_000_000)}).to_string()),
    )
    .await;
    assert_problem(res, 422, "validation_failed", "2 MB").await;
    assert_unchanged(&before, &t, &f, &spec).await;
    t.stop().await;
}

async fn every_framework_rejection_is_a_problem(t: TestApp) {
    let f = fixture(&t).await;
    // Methods a path does not take.
    for (method, path) in [
        ("PUT", "/api/v1/leads".to_string()),
        ("DELETE", "/api/v1/wallets".to_string()),
        ("PATCH", format!("/api/v1/coupons/{}", f.coupon)),
        ("PUT", "/api/v1/openapi.json".to_string()),
        ("POST", "/healthz".to_string()),
    ] {
        let res = send(&t, &f.key, method, &path, Some("{}")).await;
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        assert!(
            allow.is_some_and(|a| !a.is_empty()),
            "{method} {path}: Allow"
        );
        assert_problem(res, 405, "method_not_allowed", &format!("{method} {path}")).await;
    }
    // Unknown API paths, and no credentials.
    let res = t.api(&f.key).get_raw("/api/v1/nothing-here").await;
    assert_problem(res, 404, "not_found", "unknown path").await;
    let res = t.client.get(t.url("/api/v1/leads")).send().await.unwrap();
    assert_problem(res, 401, "unauthorized", "no credentials").await;
    // A multipart upload sent as something else.
    let res = send(
        &t,
        &f.key,
        "POST",
        "/api/v1/coupon_codes/bulk_upload",
        Some("{}"),
    )
    .await;
    assert_problem(res, 415, "unsupported_media_type", "bulk upload").await;
    let res = send(
        &t,
        &f.key,
        "POST",
        &format!("/api/v1/deals/{}/images", f.deal),
        Some("{}"),
    )
    .await;
    assert_problem(res, 415, "unsupported_media_type", "image upload").await;
    // NUL in the texts of a multipart upload.
    let form = reqwest::multipart::Form::new()
        .text("deal_id", format!("{}\u{0}", f.deal))
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"ONE\nTWO".to_vec()).file_name("c.csv"),
        );
    let res = t
        .client
        .post(t.url("/api/v1/coupon_codes/bulk_upload"))
        .basic_auth(&f.key.0, Some(&f.key.1))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed", "deal_id with NUL").await;
    assert_eq!(fields(&problem), ["deal_id"]);
    let form = reqwest::multipart::Form::new()
        .text("deal_id", f.deal.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"ONE\nT\0WO\nTH\x01REE".to_vec()).file_name("c.csv"),
        );
    let res = t
        .client
        .post(t.url("/api/v1/coupon_codes/bulk_upload"))
        .basic_auth(&f.key.0, Some(&f.key.1))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed", "CSV with NUL").await;
    assert_eq!(fields(&problem), ["row 2", "row 3"]);
    let codes: Value = t
        .api(&f.key)
        .get_raw(&format!("/api/v1/coupon_codes?deal_id={}", f.deal))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        codes["data"].as_array().unwrap().len(),
        1,
        "nothing imported"
    );
    // A malformed Idempotency-Key.
    let res = t
        .client
        .post(t.url("/api/v1/leads"))
        .basic_auth(&f.key.0, Some(&f.key.1))
        .header("idempotency-key", "has space")
        .json(&json!({"customer_id": "cust-0042", "email": "k@example.com"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed", "idempotency key").await;
    assert_eq!(fields(&problem), ["Idempotency-Key"]);
    t.stop().await;
}

// ---- HTML answers --------------------------------------------------------------------------

const SECURITY_HEADERS: [&str; 4] = [
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "content-security-policy",
];

async fn assert_secured_html(res: Response, status: u16, label: &str) {
    assert_eq!(res.status(), status, "{label}");
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("text/html"),
        "{label}: {content_type}"
    );
    for h in SECURITY_HEADERS {
        assert!(headers.contains_key(h), "{label}: {h} missing");
    }
    assert_eq!(headers["x-frame-options"], "DENY", "{label}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{label}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{label}: {csp}");
    assert!(!res.text().await.unwrap().is_empty(), "{label}: a page");
}

async fn every_html_answer_carries_the_security_headers(t: TestApp) {
    for (path, status) in [
        ("/api/docs/", 200),
        ("/no-such-page", 404),
        ("/dashboard/no-such-page", 404),
        ("/dashboard/login", 200),
    ] {
        let res = t.client.get(t.url(path)).send().await.unwrap();
        assert_secured_html(res, status, path).await;
    }
    // A framework rejection outside the API is the HTML error page, secured too.
    for (method, path) in [(Method::POST, "/"), (Method::PUT, "/assets/app.css")] {
        let res = t
            .client
            .request(method.clone(), t.url(path))
            .send()
            .await
            .unwrap();
        assert_secured_html(res, 405, &format!("{method} {path}")).await;
    }
    t.stop().await;
}

// ---- The OpenAPI document ------------------------------------------------------------------

async fn the_document_declares_every_answer(t: TestApp) {
    let spec = spec(&t).await;
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    let declared = |op: &Value, status: &str| op["responses"].get(status).is_some();
    let mut authenticated = 0;
    for (method, path, op) in operations(&spec) {
        let label = format!("{method} {path}");
        if op["security"].as_array().is_none_or(|s| s.is_empty()) {
            continue;
        }
        authenticated += 1;
        for status in ["401", "403", "429"] {
            assert!(declared(&op, status), "{label} declares {status}");
        }
        if !op["requestBody"]["content"]["application/json"].is_null() {
            for status in ["400", "413", "415", "422"] {
                assert!(declared(&op, status), "{label} declares {status}");
            }
            let schema = &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            let name = schema.as_str().unwrap().rsplit('/').next().unwrap();
            assert_eq!(
                spec["components"]["schemas"][name]["additionalProperties"],
                json!(false),
                "{label}: unknown fields are refused"
            );
        }
        let has_query = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        if has_query {
            assert!(declared(&op, "422"), "{label} declares 422");
        }
        if path.contains('{') {
            assert!(declared(&op, "404"), "{label} declares 404");
            // Path ids are declared with the shape of their kind.
            for p in op["parameters"].as_array().unwrap() {
                if p["in"] == "path" {
                    let pattern = p["schema"]["pattern"].as_str().unwrap_or("");
                    assert!(
                        pattern.ends_with("_[0-9a-hjkmnp-tv-z]{26}$"),
                        "{label}: {p}"
                    );
                }
            }
        }
        if method == "POST" {
            assert!(declared(&op, "409"), "{label} declares 409");
            let takes_key = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            assert!(takes_key, "{label} takes Idempotency-Key");
        }
        // Every error answer is a problem.
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                let response = match response["$ref"].as_str() {
                    Some(r) => &spec["components"]["responses"][r.rsplit('/').next().unwrap()],
                    None => response,
                };
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{label} {status} is problem+json"
                );
            }
        }
    }
    assert!(authenticated > 40);
    t.stop().await;
}

on_both_backends!(
    nul_and_control_characters_in_path_ids_answer_404,
    control_characters_in_list_filters_answer_422,
    control_characters_in_body_texts_answer_422_and_write_nothing,
    free_text_keeps_line_breaks_and_tabs_identifiers_do_not,
    look_alike_identifiers_are_refused,
    bodies_must_be_objects_with_known_fields,
    oversized_bodies_answer_413_problems,
    every_framework_rejection_is_a_problem,
    every_html_answer_carries_the_security_headers,
    the_document_declares_every_answer,
);
