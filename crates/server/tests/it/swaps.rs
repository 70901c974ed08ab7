//! Swaps over HTTP: contracts proposed, accepted by the partner only, approved by the operator
//! and suspended by either side; swaps between two leads of one merchant (when switched on)
//! and to a partner's lead with the rate applied exactly, the per-swap and daily limits, the
//! swap quota, refusals that write nothing on either side, retries by hash, isolation between
//! merchants and envs, both merchants' callbacks, and concurrent swaps that never overdraw or
//! pass a limit and keep both ledgers adding up.

use std::sync::Arc;

use crate::common::api::{id_of, ApiClient, Key};
use crate::common::{Backend, TestApp};
use punchcard_domain::{Env, MerchantId};
use serde_json::{json, Value};

/// A merchant with a key in `env`, a high rate limit and its PTS currency.
async fn merchant(t: &TestApp, name: &str, env: Env) -> (MerchantId, Key, String) {
    let m = t.active_merchant(name).await;
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, env).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    (m, key, currency)
}

/// A lead of `api`'s merchant with a wallet holding `points`; answers (lead, wallet).
async fn funded(
    api: &ApiClient,
    customer_id: &str,
    currency: &str,
    points: i64,
) -> (String, String) {
    let (lead, wallet) = api.lead_with_wallet(customer_id, currency).await;
    if points > 0 {
        api.create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": points, "hash": format!("fund-{customer_id}")}),
        )
        .await;
    }
    (lead, wallet)
}

/// A lead without a wallet; answers its id.
async fn lead(api: &ApiClient, customer_id: &str) -> String {
    id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": customer_id, "email": format!("{customer_id}@example.com")}),
        )
        .await,
    )
}

/// A contract proposed by `a` to `b`, accepted by `b` and approved by the operator.
#[allow(clippy::too_many_arguments)]
async fn active_contract(
    t: &TestApp,
    a: &ApiClient,
    b: &ApiClient,
    b_id: &MerchantId,
    a_cur: &str,
    b_cur: &str,
    rate: Value,
    per_swap_max: i64,
    daily_max: i64,
) -> String {
    let c = a
        .create(
            "/api/v1/swap_contracts",
            json!({"partner_merchant_id": b_id, "currency_id": a_cur, "partner_currency_id": b_cur,
                   "rate": rate, "per_swap_max": per_swap_max, "daily_max": daily_max}),
        )
        .await;
    let id = id_of(&c);
    b.post(&format!("/api/v1/swap_contracts/{id}/accept"), json!({}))
        .await
        .expect(200);
    let approved = t.app.approve_contract(&id).await.unwrap();
    assert_eq!(approved.status.as_str(), "active");
    id
}

fn partner_swap(wallet: &str, amount: i64, hash: &str, contract: &str, customer: &str) -> Value {
    json!({"from_wallet_id": wallet, "amount": amount, "hash": hash,
           "contract_id": contract, "to_customer_id": customer})
}

async fn kinds(api: &ApiClient, wallet: &str) -> Vec<(String, i64)> {
    api.get_ok(&format!("/api/v1/wallet_transactions?wallet_id={wallet}"))
        .await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_string(),
                t["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn swaps_used(api: &ApiClient) -> i64 {
    api.get_ok("/api/v1/quota").await["swaps"]["used"]
        .as_i64()
        .unwrap()
}

async fn contracts_are_proposed_accepted_approved_and_suspended(t: TestApp) {
    let (a_id, a_key, a_cur) = merchant(&t, "Alpha", Env::Prod).await;
    let (b_id, b_key, b_cur) = merchant(&t, "Beta", Env::Prod).await;
    let (_c_id, c_key, _) = merchant(&t, "Gamma", Env::Prod).await;
    let (a, b, c) = (t.api(&a_key), t.api(&b_key), t.api(&c_key));

    a.post("/api/v1/swap_contracts", json!({}))
        .await
        .assert_invalid(&[
            "partner_merchant_id",
            "currency_id",
            "partner_currency_id",
            "rate",
            "per_swap_max",
            "daily_max",
        ]);
    a.post(
        "/api/v1/swap_contracts",
        json!({"partner_merchant_id": a_id, "currency_id": a_cur, "partner_currency_id": a_cur,
               "rate": "0", "per_swap_max": 0, "daily_max": 10}),
    )
    .await
    .assert_invalid(&["partner_merchant_id", "rate", "per_swap_max"]);
    // The partner's currency must be the partner's.
    a.post(
        "/api/v1/swap_contracts",
        json!({"partner_merchant_id": b_id, "currency_id": a_cur, "partner_currency_id": a_cur,
               "rate": "1", "per_swap_max": 10, "daily_max": 10}),
    )
    .await
    .assert_invalid(&["partner_currency_id"]);
    a.post(
        "/api/v1/swap_contracts",
        json!({"partner_merchant_id": b_id, "currency_id": a_cur, "partner_currency_id": b_cur,
               "rate": [1], "per_swap_max": 10, "daily_max": 10}),
    )
    .await
    .assert_invalid(&["rate"]);

    let created = a
        .create(
            "/api/v1/swap_contracts",
            json!({"partner_merchant_id": b_id, "currency_id": a_cur, "partner_currency_id": b_cur,
                   "rate": 2.25, "per_swap_max": 100, "daily_max": 500}),
        )
        .await;
    let id = id_of(&created);
    assert!(id.starts_with("swc_"));
    assert_eq!(created["status"], "proposed");
    assert_eq!(created["rate"], "2.25");
    assert_eq!(created["role"], "proposer");
    assert_eq!(created["merchant_id"], a_id.as_str());

    // The partner sees it; a third merchant and the proposer's dev env do not.
    let seen = b.get_ok(&format!("/api/v1/swap_contracts/{id}")).await;
    assert_eq!(seen["role"], "partner");
    assert_eq!(
        crate::common::ids(&b.get_ok("/api/v1/swap_contracts").await),
        vec![id.clone()]
    );
    c.get(&format!("/api/v1/swap_contracts/{id}"))
        .await
        .assert_problem(404, "not_found");
    c.post(&format!("/api/v1/swap_contracts/{id}/suspend"), json!({}))
        .await
        .assert_problem(404, "not_found");
    let a_dev = t.api(&t.api_key(&a_id, Env::Dev).await);
    a_dev
        .get(&format!("/api/v1/swap_contracts/{id}"))
        .await
        .assert_problem(404, "not_found");
    assert!(crate::common::ids(&c.get_ok("/api/v1/swap_contracts").await).is_empty());

    // Only the partner accepts; the operator approves only what was accepted.
    a.post(&format!("/api/v1/swap_contracts/{id}/accept"), json!({}))
        .await
        .assert_problem(403, "forbidden");
    assert!(t.app.approve_contract(&id).await.is_err());
    let accepted = b
        .post(&format!("/api/v1/swap_contracts/{id}/accept"), json!({}))
        .await
        .expect(200);
    assert_eq!(accepted["status"], "accepted");
    b.post(&format!("/api/v1/swap_contracts/{id}/accept"), json!({}))
        .await
        .assert_problem(409, "conflict");

    // No swap before the operator approves.
    let (_al, aw) = funded(&a, "alpha-0001", &a_cur, 100).await;
    lead(&b, "beta-0001").await;
    a.post(
        "/api/v1/swaps",
        partner_swap(&aw, 10, "early", &id, "beta-0001"),
    )
    .await
    .assert_problem(409, "conflict");
    let approved = t.app.approve_contract(&id).await.unwrap();
    assert_eq!(approved.status.as_str(), "active");
    assert_eq!(
        a.get_ok(&format!("/api/v1/swap_contracts/{id}")).await["status"],
        "active"
    );
    a.create(
        "/api/v1/swaps",
        partner_swap(&aw, 10, "now", &id, "beta-0001"),
    )
    .await;

    // Either side suspends; the operator brings it back.
    let suspended = b
        .post(&format!("/api/v1/swap_contracts/{id}/suspend"), json!({}))
        .await
        .expect(200);
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["suspended_by"], "partner");
    a.post(
        "/api/v1/swaps",
        partner_swap(&aw, 10, "paused", &id, "beta-0001"),
    )
    .await
    .assert_problem(409, "conflict");
    t.app.approve_contract(&id).await.unwrap();
    let by_operator = t.app.operator_suspend_contract(&id).await.unwrap();
    assert_eq!(
        by_operator.suspended_by.map(|s| s.as_str()),
        Some("operator")
    );
    t.app.approve_contract(&id).await.unwrap();
    let again = a
        .post(&format!("/api/v1/swap_contracts/{id}/suspend"), json!({}))
        .await
        .expect(200);
    assert_eq!(again["suspended_by"], "proposer");
    assert_eq!(t.app.all_contracts().await.unwrap().len(), 1);
    t.stop().await;
}

async fn partner_swaps_apply_the_rate_and_the_limits(t: TestApp) {
    let (a_id, a_key, a_cur) = merchant(&t, "Alpha", Env::Prod).await;
    let (b_id, b_key, b_cur) = merchant(&t, "Beta", Env::Prod).await;
    let (a, b) = (t.api(&a_key), t.api(&b_key));
    let contract = active_contract(&t, &a, &b, &b_id, &a_cur, &b_cur, json!("1.5"), 100, 150).await;
    let (a_lead, aw) = funded(&a, "alpha-0001", &a_cur, 1000).await;
    let b_lead = lead(&b, "beta-0001").await;

    // 10 buys 15; the partner's wallet is created for it.
    let res = a
        .post(
            "/api/v1/swaps",
            partner_swap(&aw, 10, "s-1", &contract, "beta-0001"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let s = res.into_json();
    assert!(id_of(&s).starts_with("swp_"));
    assert_eq!(
        (s["amount_out"].as_i64(), s["amount_in"].as_i64()),
        (Some(10), Some(15))
    );
    assert_eq!(s["out_transaction"]["kind"], "swap_out");
    assert_eq!(s["out_transaction"]["amount"], -10);
    assert_eq!(s["out_transaction"]["balance_after"], 990);
    assert_eq!(s["out_transaction"]["hash"], "s-1");
    assert!(
        s["in_transaction"].is_null(),
        "the partner's entry is the partner's: {s}"
    );
    assert_eq!(s["to_lead_id"], b_lead.as_str());
    assert_eq!(s["contract_id"], contract.as_str());
    let bw = s["to_wallet_id"].as_str().unwrap().to_string();
    assert_eq!(b.balance(&bw).await, 15);
    let seen = b.get_ok(&format!("/api/v1/swaps/{}", id_of(&s))).await;
    assert_eq!(seen["in_transaction"]["kind"], "swap_in");
    assert_eq!(seen["in_transaction"]["amount"], 15);
    assert!(seen["out_transaction"].is_null());

    // Rounded down: 3 × 1.5 = 4.5 buys 4.
    let s = a
        .create(
            "/api/v1/swaps",
            partner_swap(&aw, 3, "s-2", &contract, "beta-0001"),
        )
        .await;
    assert_eq!(s["amount_in"], 4);
    assert_eq!(b.balance(&bw).await, 19);

    // Per swap: 100 is fine, 101 is not.
    a.post(
        "/api/v1/swaps",
        partner_swap(&aw, 101, "s-3", &contract, "beta-0001"),
    )
    .await
    .assert_problem(422, "limit_reached");
    // Per day and lead, inclusive: 13 used, 100 more is 113, 38 more would be 151.
    a.create(
        "/api/v1/swaps",
        partner_swap(&aw, 100, "s-4", &contract, "beta-0001"),
    )
    .await;
    a.post(
        "/api/v1/swaps",
        partner_swap(&aw, 38, "s-5", &contract, "beta-0001"),
    )
    .await
    .assert_problem(422, "limit_reached");
    a.create(
        "/api/v1/swaps",
        partner_swap(&aw, 37, "s-6", &contract, "beta-0001"),
    )
    .await;
    a.post(
        "/api/v1/swaps",
        partner_swap(&aw, 1, "s-7", &contract, "beta-0001"),
    )
    .await
    .assert_problem(422, "limit_reached");
    assert_eq!(a.balance(&aw).await, 1000 - 150);
    assert_eq!(b.balance(&bw).await, 15 + 4 + 150 + 55);
    assert_eq!(swaps_used(&a).await, 4);
    assert_eq!(
        swaps_used(&b).await,
        0,
        "the sender's merchant burns the quota"
    );

    // Too little to buy a point, an unknown partner lead, a wallet in another currency.
    let (_x, small) = funded(&a, "alpha-0002", &a_cur, 5).await;
    a.post(
        "/api/v1/swaps",
        partner_swap(&small, 6, "s-8", &contract, "beta-0001"),
    )
    .await
    .assert_problem(409, "insufficient_balance");
    a.post(
        "/api/v1/swaps",
        partner_swap(&small, 1, "s-9", &contract, "nobody-0001"),
    )
    .await
    .assert_invalid(&["to_customer_id"]);
    let other_cur = t
        .app
        .create_currency(&a_id, "MLS", "Miles", "1")
        .await
        .unwrap()
        .id
        .to_string();
    let other = id_of(
        &a.create(
            "/api/v1/wallets",
            json!({"lead_id": a_lead, "currency_id": other_cur}),
        )
        .await,
    );
    a.post(
        "/api/v1/swaps",
        partner_swap(&other, 1, "s-10", &contract, "beta-0001"),
    )
    .await
    .assert_invalid(&["from_wallet_id"]);
    a.post(
        "/api/v1/swaps",
        json!({"from_wallet_id": aw, "amount": 1, "hash": "s-11", "contract_id": contract}),
    )
    .await
    .assert_invalid(&["to_customer_id"]);
    // Refusals wrote nothing on either side.
    assert_eq!(kinds(&a, &small).await, vec![("reward".to_string(), 5)]);
    assert_eq!(b.balance(&bw).await, 224);
    assert_eq!(swaps_used(&a).await, 4);

    // A retry answers the first swap; the hash with another body, or a reward's hash, does not.
    let first = a
        .post(
            "/api/v1/swaps",
            partner_swap(&aw, 3, "s-2", &contract, "beta-0001"),
        )
        .await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.json()["amount_in"], 4);
    a.post(
        "/api/v1/swaps",
        partner_swap(&aw, 4, "s-2", &contract, "beta-0001"),
    )
    .await
    .assert_problem(422, "idempotency_mismatch");
    a.post(
        "/api/v1/swaps",
        partner_swap(&aw, 4, "fund-alpha-0001", &contract, "beta-0001"),
    )
    .await
    .assert_problem(422, "idempotency_mismatch");
    assert_eq!(a.balance(&aw).await, 850);
    assert_eq!(swaps_used(&a).await, 4);

    // The partner's side swaps back: 3 ÷ 1.5 = 2.
    let back = b
        .create(
            "/api/v1/swaps",
            partner_swap(&bw, 3, "back-1", &contract, "alpha-0001"),
        )
        .await;
    assert_eq!(back["amount_in"], 2);
    assert_eq!(back["to_wallet_id"], aw.as_str());
    assert_eq!(a.balance(&aw).await, 852);
    assert_eq!(swaps_used(&b).await, 1);

    // Both merchants see the swaps in their ledgers and their swap lists.
    assert_eq!(
        kinds(&a, &aw).await,
        vec![
            ("reward".to_string(), 1000),
            ("swap_out".to_string(), -10),
            ("swap_out".to_string(), -3),
            ("swap_out".to_string(), -100),
            ("swap_out".to_string(), -37),
            ("swap_in".to_string(), 2),
        ]
    );
    assert_eq!(
        kinds(&b, &bw).await,
        vec![
            ("swap_in".to_string(), 15),
            ("swap_in".to_string(), 4),
            ("swap_in".to_string(), 150),
            ("swap_in".to_string(), 55),
            ("swap_out".to_string(), -3),
        ]
    );
    assert_eq!(
        crate::common::ids(&a.get_ok("/api/v1/swaps").await).len(),
        5
    );
    assert_eq!(
        crate::common::ids(&b.get_ok("/api/v1/swaps").await).len(),
        5
    );
    assert!(t.app.audit_ledger(Some(&a_id)).await.unwrap().is_empty());
    assert!(t.app.audit_ledger(Some(&b_id)).await.unwrap().is_empty());
    t.stop().await;
}

async fn lead_to_lead_swaps_need_the_switch(t: TestApp) {
    let (m, dev_key, cur) = merchant(&t, "Alpha", Env::Dev).await;
    let api = t.api(&dev_key);
    let (_l1, w1) = funded(&api, "lead-0001", &cur, 100).await;
    let l2 = lead(&api, "lead-0002").await;
    let body = |amount: i64, hash: &str| json!({"from_wallet_id": w1, "amount": amount, "hash": hash, "to_lead_id": l2});
    api.post("/api/v1/swaps", body(10, "l-1"))
        .await
        .assert_problem(403, "forbidden");
    t.app.set_lead_swaps(&m, true).await.unwrap();
    assert!(t.app.lead_swaps(&m).await.unwrap());
    let s = api.create("/api/v1/swaps", body(10, "l-1")).await;
    assert_eq!(
        (s["amount_out"].as_i64(), s["amount_in"].as_i64()),
        (Some(10), Some(10))
    );
    assert_eq!(s["in_transaction"]["kind"], "swap_in");
    assert_eq!(s["out_transaction"]["kind"], "swap_out");
    assert!(s["contract_id"].is_null());
    let w2 = s["to_wallet_id"].as_str().unwrap().to_string();
    assert_eq!(api.balance(&w2).await, 10);
    assert_eq!(api.balance(&w1).await, 90);
    assert_eq!(swaps_used(&api).await, 0, "dev burns no quota");
    api.post(
        "/api/v1/swaps",
        json!({"from_wallet_id": w1, "amount": 1, "hash": "l-2", "to_lead_id": s["from_lead_id"]}),
    )
    .await
    .assert_invalid(&["to_lead_id"]);
    api.post(
        "/api/v1/swaps",
        json!({"from_wallet_id": w1, "amount": 0, "hash": "", "to_lead_id": l2, "contract_id": "swc_x"}),
    )
    .await
    .assert_invalid(&["amount", "hash", "to_lead_id"]);

    // Prod burns one swap quota per swap, and refuses past the plan's.
    let prod = t.api(&t.api_key(&m, Env::Prod).await);
    t.app
        .set_plan(
            &m,
            punchcard_app::plans::PlanChange {
                swaps: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_p1, pw1) = funded(&prod, "lead-0001", &cur, 100).await;
    let p2 = lead(&prod, "lead-0002").await;
    prod.create(
        "/api/v1/swaps",
        json!({"from_wallet_id": pw1, "amount": 5, "hash": "p-1", "to_lead_id": p2}),
    )
    .await;
    prod.post(
        "/api/v1/swaps",
        json!({"from_wallet_id": pw1, "amount": 5, "hash": "p-2", "to_lead_id": p2}),
    )
    .await
    .assert_problem(403, "quota_exhausted");
    assert_eq!(prod.balance(&pw1).await, 95);
    assert_eq!(swaps_used(&prod).await, 1);
    // Switched off again, nothing goes.
    t.app.set_lead_swaps(&m, false).await.unwrap();
    api.post("/api/v1/swaps", body(1, "l-3"))
        .await
        .assert_problem(403, "forbidden");
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    t.stop().await;
}

async fn swaps_stay_within_their_merchants_and_envs(t: TestApp) {
    let (a_id, a_key, a_cur) = merchant(&t, "Alpha", Env::Prod).await;
    let (b_id, b_key, b_cur) = merchant(&t, "Beta", Env::Prod).await;
    let (_c_id, c_key, c_cur) = merchant(&t, "Gamma", Env::Prod).await;
    let (a, b, c) = (t.api(&a_key), t.api(&b_key), t.api(&c_key));
    let contract = active_contract(&t, &a, &b, &b_id, &a_cur, &b_cur, json!(1), 100, 1000).await;
    let (_al, aw) = funded(&a, "alpha-0001", &a_cur, 100).await;
    lead(&b, "beta-0001").await;
    let s = a
        .create(
            "/api/v1/swaps",
            partner_swap(&aw, 10, "i-1", &contract, "beta-0001"),
        )
        .await;
    let sid = id_of(&s);
    c.get(&format!("/api/v1/swaps/{sid}"))
        .await
        .assert_problem(404, "not_found");
    assert!(crate::common::ids(&c.get_ok("/api/v1/swaps").await).is_empty());
    // A third merchant cannot use the contract, nor another merchant's wallet.
    let (_cl, cw) = funded(&c, "gamma-0001", &c_cur, 100).await;
    c.post(
        "/api/v1/swaps",
        partner_swap(&cw, 1, "i-2", &contract, "beta-0001"),
    )
    .await
    .assert_invalid(&["contract_id"]);
    c.post(
        "/api/v1/swaps",
        partner_swap(&aw, 1, "i-3", &contract, "beta-0001"),
    )
    .await
    .assert_invalid(&["from_wallet_id"]);

    // Dev does not see prod's contract, swaps or leads.
    let a_dev = t.api(&t.api_key(&a_id, Env::Dev).await);
    let b_dev = t.api(&t.api_key(&b_id, Env::Dev).await);
    let (_dl, dw) = funded(&a_dev, "alpha-0001", &a_cur, 100).await;
    a_dev
        .post(
            "/api/v1/swaps",
            partner_swap(&dw, 1, "i-4", &contract, "beta-0001"),
        )
        .await
        .assert_invalid(&["contract_id"]);
    a_dev
        .get(&format!("/api/v1/swaps/{sid}"))
        .await
        .assert_problem(404, "not_found");
    // A dev contract reaches the partner's dev leads only.
    let dev_contract = active_contract(
        &t,
        &a_dev,
        &b_dev,
        &b_id,
        &a_cur,
        &b_cur,
        json!(1),
        100,
        1000,
    )
    .await;
    a_dev
        .post(
            "/api/v1/swaps",
            partner_swap(&dw, 1, "i-5", &dev_contract, "beta-0001"),
        )
        .await
        .assert_invalid(&["to_customer_id"]);
    lead(&b_dev, "beta-0001").await;
    let d = a_dev
        .create(
            "/api/v1/swaps",
            partner_swap(&dw, 1, "i-5", &dev_contract, "beta-0001"),
        )
        .await;
    assert_eq!(d["env"], "dev");
    assert_eq!(
        crate::common::ids(&b.get_ok("/api/v1/swaps").await),
        vec![sid]
    );
    assert_eq!(
        crate::common::ids(&b_dev.get_ok("/api/v1/swaps").await),
        vec![id_of(&d)]
    );
    t.stop().await;
}

async fn concurrent_swaps_never_overdraw_nor_pass_the_daily_limit(t: TestApp) {
    let (a_id, a_key, a_cur) = merchant(&t, "Alpha", Env::Prod).await;
    let (b_id, b_key, b_cur) = merchant(&t, "Beta", Env::Prod).await;
    let (a, b) = (t.api(&a_key), t.api(&b_key));
    let roomy = active_contract(&t, &a, &b, &b_id, &a_cur, &b_cur, json!("2"), 10, 100_000).await;
    let tight = active_contract(&t, &a, &b, &b_id, &a_cur, &b_cur, json!("2"), 10, 30).await;
    let (_l1, poor) = funded(&a, "alpha-0001", &a_cur, 50).await;
    let (_l2, rich) = funded(&a, "alpha-0002", &a_cur, 1000).await;
    lead(&b, "beta-0001").await;
    // The partner swaps back at the same time, so wallets of both merchants are locked from
    // both sides.
    let (_l3, bw) = funded(&b, "beta-0002", &b_cur, 1000).await;

    let t = Arc::new(t);
    let mut handles = Vec::new();
    for i in 0..100 {
        for (wallet, contract, tag, key, to) in [
            (
                poor.clone(),
                roomy.clone(),
                "poor",
                a_key.clone(),
                "beta-0001",
            ),
            (
                rich.clone(),
                tight.clone(),
                "rich",
                a_key.clone(),
                "beta-0001",
            ),
            (
                bw.clone(),
                roomy.clone(),
                "back",
                b_key.clone(),
                "alpha-0002",
            ),
        ] {
            if tag == "back" && i % 4 != 0 {
                continue;
            }
            let t = t.clone();
            handles.push(tokio::spawn(async move {
                let res = t
                    .api(&key)
                    .post(
                        "/api/v1/swaps",
                        partner_swap(
                            &wallet,
                            1 + i64::from(tag == "back"),
                            &format!("{tag}-{i}"),
                            &contract,
                            to,
                        ),
                    )
                    .await;
                (tag, res.status().as_u16(), res.into_json())
            }));
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    for h in handles {
        let (tag, status, body) = h.await.unwrap();
        match (tag, status) {
            (_, 201) => {}
            ("poor", 409) => assert_eq!(body["code"], "insufficient_balance"),
            ("rich", 422) => assert_eq!(body["code"], "limit_reached"),
            other => panic!("unexpected {other:?}: {body}"),
        }
        *counts.entry((tag, status)).or_insert(0) += 1;
    }
    assert_eq!(counts.get(&("poor", 201)), Some(&50), "{counts:?}");
    assert_eq!(counts.get(&("poor", 409)), Some(&50), "{counts:?}");
    assert_eq!(counts.get(&("rich", 201)), Some(&30), "{counts:?}");
    assert_eq!(counts.get(&("rich", 422)), Some(&70), "{counts:?}");
    assert_eq!(counts.get(&("back", 201)), Some(&25), "{counts:?}");
    assert_eq!(a.balance(&poor).await, 0);
    assert_eq!(a.balance(&rich).await, 1000 - 30 + 25);
    assert_eq!(b.balance(&bw).await, 1000 - 50);
    let received = b.get_ok("/api/v1/leads?customer_id=beta-0001").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let wallets = b
        .get_ok(&format!("/api/v1/wallets?lead_id={received}"))
        .await;
    assert_eq!(wallets["data"][0]["balance"], (50 + 30) * 2);
    assert_eq!(swaps_used(&a).await, 80);
    assert_eq!(swaps_used(&b).await, 25);
    assert!(t.app.audit_ledger(Some(&a_id)).await.unwrap().is_empty());
    assert!(t.app.audit_ledger(Some(&b_id)).await.unwrap().is_empty());
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

on_both_backends!(
    contracts_are_proposed_accepted_approved_and_suspended,
    partner_swaps_apply_the_rate_and_the_limits,
    lead_to_lead_swaps_need_the_switch,
    swaps_stay_within_their_merchants_and_envs,
    concurrent_swaps_never_overdraw_nor_pass_the_daily_limit,
    the_swaps_page_manages_contracts_and_lists_swaps,
    a_partner_accepts_a_contract_in_the_browser,
);

/// A listener that approves on `/ok` and declines anything else; answers its address and the
/// bodies it received.
async fn callback_listener() -> (
    std::net::SocketAddr,
    Arc<std::sync::Mutex<Vec<(String, Value)>>>,
) {
    use axum::http::{StatusCode, Uri};
    let seen: Arc<std::sync::Mutex<Vec<(String, Value)>>> = Arc::default();
    let kept = seen.clone();
    let router = axum::Router::new().fallback(move |uri: Uri, body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            kept.lock().unwrap().push((uri.path().to_string(), json));
            if uri.path() == "/ok" {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            }
        }
    });
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(socket, router).await.unwrap();
    });
    (addr, seen)
}

async fn both_merchants_callbacks_are_consulted(backend: Backend) {
    let Some(t) = TestApp::start(backend, |c| c.allow_private_callbacks = true).await else {
        return;
    };
    let (addr, seen) = callback_listener().await;
    let (a_id, a_key, a_cur) = merchant(&t, "Alpha", Env::Dev).await;
    let (b_id, b_key, b_cur) = merchant(&t, "Beta", Env::Dev).await;
    let (a, b) = (t.api(&a_key), t.api(&b_key));
    let contract = active_contract(&t, &a, &b, &b_id, &a_cur, &b_cur, json!(1), 100, 1000).await;
    let (_al, aw) = funded(&a, "alpha-0001", &a_cur, 100).await;
    lead(&b, "beta-0001").await;
    // The partner's key declines: nothing is written on either side.
    let declining = t
        .app
        .create_api_key(
            &b_id,
            Env::Dev,
            "hooked",
            Some(&format!("http://{addr}/no")),
        )
        .await
        .unwrap();
    let hooked_a = t
        .app
        .create_api_key(
            &a_id,
            Env::Dev,
            "hooked",
            Some(&format!("http://{addr}/ok")),
        )
        .await
        .unwrap();
    let a_hooked = t.api(&(hooked_a.id.to_string(), hooked_a.secret.clone()));
    a_hooked
        .post(
            "/api/v1/swaps",
            partner_swap(&aw, 10, "c-1", &contract, "beta-0001"),
        )
        .await
        .assert_problem(422, "callback_rejected");
    assert_eq!(a.balance(&aw).await, 100);
    assert!(crate::common::ids(&b.get_ok("/api/v1/swaps").await).is_empty());
    {
        let hits = seen.lock().unwrap();
        assert_eq!(hits.len(), 2, "{hits:?}");
        assert_eq!(hits[0].0, "/ok");
        assert_eq!(hits[0].1["kind"], "swap");
        assert_eq!(hits[0].1["amount"], -10);
        assert_eq!(hits[0].1["merchant_id"], a_id.as_str());
        assert_eq!(hits[1].0, "/no");
        assert_eq!(hits[1].1["merchant_id"], b_id.as_str());
        assert_eq!(hits[1].1["amount"], 10);
    }
    t.app
        .revoke_api_key(&b_id, Env::Dev, &declining.id)
        .await
        .unwrap();
    t.app
        .create_api_key(
            &b_id,
            Env::Dev,
            "approving",
            Some(&format!("http://{addr}/ok")),
        )
        .await
        .unwrap();
    a_hooked
        .create(
            "/api/v1/swaps",
            partner_swap(&aw, 10, "c-1", &contract, "beta-0001"),
        )
        .await;
    assert_eq!(a.balance(&aw).await, 90);
    assert_eq!(seen.lock().unwrap().len(), 4);
    t.stop().await;
}

mod callbacks {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::both_merchants_callbacks_are_consulted(crate::common::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::both_merchants_callbacks_are_consulted(crate::common::Backend::Postgres).await;
    }
}

/// The Swaps page: the ids partners need, the lead-to-lead switch, proposing (with errors
/// shown beside their fields), accepting and suspending contracts, and the swaps made.
async fn the_swaps_page_manages_contracts_and_lists_swaps(t: TestApp) {
    use crate::common::dashboard::merchant_with_member;
    use punchcard_app::ledger::Scope;
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let cur = t
        .app
        .create_currency(&m, "PTS", "Points", "1")
        .await
        .unwrap()
        .id
        .to_string();
    let (partner, _, partner_cur) = merchant(&t, "Beta", Env::Prod).await;
    member.switch_env(&t, "prod").await;
    let html = member.page(&t, "/dashboard/swaps").await;
    assert!(
        html.contains(m.as_str()),
        "the merchant id is shown: {html}"
    );
    assert!(html.contains(&cur), "{html}");
    assert!(html.contains("No contract yet"), "{html}");
    assert!(
        html.contains("cannot swap points with each other"),
        "{html}"
    );
    let profile = member.page(&t, "/dashboard/profile").await;
    assert!(
        profile.contains(m.as_str()),
        "the profile shows the merchant id"
    );

    // Every bad field is named beside its input, and what was typed stays.
    let res = member
        .post(
            &t,
            "/dashboard/swaps",
            &[
                ("partner_merchant_id", "mer_nothing"),
                ("currency_id", &cur),
                ("partner_currency_id", ""),
                ("rate", "abc"),
                ("per_swap_max", "ten"),
                ("daily_max", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    for shown in [
        "Partner's merchant id no such partner merchant",
        "Partner's currency id is required",
        "Rate must be a positive decimal",
        "Most points in one swap must be a whole number of points",
        "Most points per lead and day is required",
        r#"value="abc""#,
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    let res = member
        .post(
            &t,
            "/dashboard/swaps",
            &[
                ("partner_merchant_id", partner.as_str()),
                ("currency_id", &cur),
                ("partner_currency_id", &partner_cur),
                ("rate", "1.5"),
                ("per_swap_max", "100"),
                ("daily_max", "500"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = member.page(&t, "/dashboard/swaps").await;
    assert!(html.contains("Proposed by you"), "{html}");
    assert!(html.contains("1 PTS buys 1.5 of"), "{html}");

    // A contract proposed to this merchant can be accepted here, then suspended.
    let theirs = t
        .app
        .propose_contract(
            &Scope::new(&partner, Env::Prod),
            &punchcard_app::swaps::NewContract {
                partner_merchant_id: m.to_string(),
                currency_id: partner_cur.clone(),
                partner_currency_id: cur.clone(),
                rate: Some("2".into()),
                per_swap_max: Some(10),
                daily_max: Some(20),
            },
        )
        .await
        .unwrap();
    let html = member.page(&t, "/dashboard/swaps").await;
    assert!(html.contains("Proposed to you"), "{html}");
    assert!(
        html.contains(&format!("/dashboard/swaps/{}/accept", theirs.id)),
        "{html}"
    );
    let res = member
        .post(&t, &format!("/dashboard/swaps/{}/accept", theirs.id), &[])
        .await;
    assert_eq!(res.status(), 303);
    let scope = Scope::new(&m, Env::Prod);
    assert_eq!(
        t.app
            .contract(&scope, theirs.id.as_str())
            .await
            .unwrap()
            .status
            .as_str(),
        "accepted"
    );
    let res = member
        .post(&t, &format!("/dashboard/swaps/{}/accept", theirs.id), &[])
        .await;
    assert_eq!(res.status(), 303);
    let html = member.page(&t, "/dashboard/swaps").await;
    assert!(
        html.contains("cannot become accepted"),
        "the refusal is shown: {html}"
    );
    member
        .post(&t, &format!("/dashboard/swaps/{}/suspend", theirs.id), &[])
        .await;
    let c = t.app.contract(&scope, theirs.id.as_str()).await.unwrap();
    assert_eq!(c.status.as_str(), "suspended");
    assert_eq!(c.suspended_by.map(|s| s.as_str()), Some("partner"));

    // The switch, and a swap between two leads in the list.
    let res = member
        .post(&t, "/dashboard/swaps/lead-swaps", &[("lead_swaps", "on")])
        .await;
    assert_eq!(res.status(), 303);
    assert!(t.app.lead_swaps(&m).await.unwrap());
    let key = t.api_key(&m, Env::Prod).await;
    let api = t.api(&key);
    let (from_lead, w) = funded(&api, "lead-0001", &cur, 50).await;
    let to = lead(&api, "lead-0002").await;
    api.create(
        "/api/v1/swaps",
        json!({"from_wallet_id": w, "amount": 7, "hash": "d-1", "to_lead_id": to}),
    )
    .await;
    let html = member.page(&t, "/dashboard/swaps").await;
    assert!(html.contains("Between your leads"), "{html}");
    assert!(html.contains(&from_lead), "{html}");
    assert!(
        html.contains(r#"<td data-label="Points out">7</td>"#),
        "{html}"
    );
    assert!(html.contains("can swap points with each other"), "{html}");
    t.stop().await;
}

/// In the browser: the partner accepts a contract on the Swaps page, and the page fits a phone.
async fn a_partner_accepts_a_contract_in_the_browser(t: TestApp) {
    use crate::browser_support::Browser;
    use crate::campaigns_dashboard::{sign_in, PASSWORD};
    use punchcard_app::ledger::Scope;
    let Some(b) = Browser::launch(&t.base).await else {
        return;
    };
    let email = format!(
        "owner-{}@harbour.example",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let (m, _) = t
        .app
        .create_merchant(
            punchcard_app::merchants::NewMerchant::parse("Harbour Books", &email, PASSWORD, true)
                .unwrap(),
        )
        .await
        .unwrap();
    let cur = t
        .app
        .create_currency(&m, "PTS", "Points", "1")
        .await
        .unwrap()
        .id
        .to_string();
    let (proposer, _, proposer_cur) = merchant(&t, "Beta", Env::Prod).await;
    let c = t
        .app
        .propose_contract(
            &Scope::new(&proposer, Env::Prod),
            &punchcard_app::swaps::NewContract {
                partner_merchant_id: m.to_string(),
                currency_id: proposer_cur,
                partner_currency_id: cur,
                rate: Some("0.5".into()),
                per_swap_max: Some(10),
                daily_max: Some(20),
            },
        )
        .await
        .unwrap();
    sign_in(&t, &b, &email).await;
    b.click_link("Swaps").await;
    b.wait_path("/dashboard/swaps").await;
    b.wait_text("Proposed to you").await;
    for width in [360, 390] {
        b.phone(width, 844).await;
        b.assert_fits_screen(width).await;
        // The overview's activity figures fit as well.
        b.open("/dashboard?days=90").await;
        b.wait_text("The last 90 days").await;
        b.find("#chart-activity svg").await;
        b.assert_fits_screen(width).await;
        if width == 390 && t.backend == crate::common::Backend::Sqlite {
            b.screenshot_phone("50-overview-phone", 390, 844).await;
        }
        b.open("/dashboard/swaps").await;
        b.wait_text("Proposed to you").await;
    }
    b.click("Accept").await;
    b.wait_text("accepted. It becomes active once the operator approves it.")
        .await;
    b.assert_fits_screen(390).await;
    b.desktop().await;
    let now = t
        .app
        .contract(&Scope::new(&m, Env::Prod), c.id.as_str())
        .await
        .unwrap();
    assert_eq!(now.status.as_str(), "accepted");
    b.quit().await;
    t.stop().await;
}
