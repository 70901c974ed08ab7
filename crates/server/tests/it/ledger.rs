//! The points ledger over HTTP: leads, wallets and wallet transactions, their validation, and
//! the invariants under concurrency (no overdraft, no double application, balance = sum).

use std::sync::Arc;

use crate::common::{ApiResponse, Key, TestApp};
use punchcard_app::plans::PlanChange;
use punchcard_domain::{Env, MerchantId};
use serde_json::{json, Value};

/// An active merchant whose prod plan allows a fast, long run; answers the merchant, a prod
/// key and its PTS currency id.
async fn prod_merchant(t: &TestApp) -> (MerchantId, Key, String) {
    let m = t.active_merchant("Acme").await;
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, Env::Prod).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    (m, key, currency)
}

async fn leads_crud_and_validation(t: TestApp) {
    let (_m, key, _cur) = prod_merchant(&t).await;

    // Every bad field reported at once, nothing written.
    let res = t
        .api(&key)
        .post(
            "/api/v1/leads",
            json!({"customer_id": "abc", "country": "XX", "dob": "2999-01-01", "mobile": "12345"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem = res.into_json();
    assert_eq!(problem["code"], "validation_failed");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["customer_id", "country", "dob", "mobile"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let res = t
        .api(&key)
        .post("/api/v1/leads", json!({"customer_id": "cust-0001"}))
        .await;
    assert_eq!(res.status(), 422, "email or mobile is required");
    let list = t.api(&key).get("/api/v1/leads").await.into_json();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);

    let res = t
        .api(&key)
        .post(
            "/api/v1/leads",
            json!({"customer_id": "cust-0001", "name": "Ada Lovelace", "email": "Ada@Example.com",
               "mobile": "+44 20 7946 0018", "country": "gb", "dob": "1990-12-10"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let lead = res.into_json();
    assert_eq!(lead["email"], "ada@example.com");
    assert_eq!(lead["mobile"], "+442079460018");
    assert_eq!(lead["country"], "GB");
    assert!(lead["id"].as_str().unwrap().starts_with("lead_"));
    let id = lead["id"].as_str().unwrap();

    // Customer ids are unique per merchant and env.
    let res = t
        .api(&key)
        .post(
            "/api/v1/leads",
            json!({"customer_id": "cust-0001", "email": "other@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.into_json()["errors"][0]["field"], "customer_id");

    // Find by customer id, email, mobile.
    for q in [
        "customer_id=cust-0001",
        "email=ada@example.com",
        "mobile=%2B442079460018",
        "q=lovelace",
    ] {
        let found = t
            .api(&key)
            .get(&format!("/api/v1/leads?{q}"))
            .await
            .into_json();
        assert_eq!(found["data"].as_array().unwrap().len(), 1, "{q}");
        assert_eq!(found["data"][0]["id"], id);
    }
    let none = t
        .api(&key)
        .get("/api/v1/leads?customer_id=nobody")
        .await
        .into_json();
    assert_eq!(none["data"].as_array().unwrap().len(), 0);

    // Update: a left-out field stays, null clears, the email-or-mobile rule still holds.
    let res = t
        .api(&key)
        .patch(
            &format!("/api/v1/leads/{id}"),
            json!({"name": "Ada King", "mobile": null}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let updated = res.into_json();
    assert_eq!(updated["name"], "Ada King");
    assert_eq!(updated["mobile"], Value::Null);
    assert_eq!(updated["email"], "ada@example.com");
    let res = t
        .api(&key)
        .patch(&format!("/api/v1/leads/{id}"), json!({"email": null}))
        .await;
    assert_eq!(res.status(), 422, "the last contact cannot be cleared");

    // Delete erases; the customer id is free again.
    let res = t.api(&key).delete(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        t.api(&key)
            .get(&format!("/api/v1/leads/{id}"))
            .await
            .status(),
        404
    );
    let res = t
        .api(&key)
        .post(
            "/api/v1/leads",
            json!({"customer_id": "cust-0001", "email": "new@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    t.stop().await;
}

async fn rewards_adjustments_and_hashes(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t).await;
    let (lead, wallet) = t.api(&key).lead_with_wallet("cust-0001", &cur).await;

    let res = t
        .api(&key)
        .post(
            "/api/v1/wallets",
            json!({"lead_id": lead, "currency_id": cur}),
        )
        .await;
    assert_eq!(res.status(), 422, "one wallet per lead and currency");

    let reward = json!({"wallet_id": wallet, "kind": "reward", "amount": 100, "hash": "order-1"});
    let res = t
        .api(&key)
        .post("/api/v1/wallet_transactions", reward.clone())
        .await;
    assert_eq!(res.status(), 201);
    let first = res.into_json();
    assert_eq!(first["balance_after"], 100);
    assert_eq!(first["kind"], "reward");
    assert_eq!(first["lead_id"], lead.as_str());

    // The same hash and body: the original transaction, applied once.
    let res = t
        .api(&key)
        .post("/api/v1/wallet_transactions", reward)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(res.into_json()["id"], first["id"]);
    // The same hash, another body.
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": 5, "hash": "order-1"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.into_json()["code"], "idempotency_mismatch");

    // Bad input.
    for bad in [
        json!({"wallet_id": wallet, "kind": "reward", "amount": -5, "hash": "h-1"}),
        json!({"wallet_id": wallet, "kind": "redeem", "amount": 5, "hash": "h-2"}),
        json!({"wallet_id": wallet, "kind": "adjust", "amount": 0, "hash": "h-3"}),
        json!({"wallet_id": wallet, "kind": "reward", "amount": 5, "hash": ""}),
        json!({"wallet_id": wallet, "kind": "reward", "amount": 5, "hash": "#mine"}),
    ] {
        let res = t
            .api(&key)
            .post("/api/v1/wallet_transactions", bad.clone())
            .await;
        assert_eq!(res.status(), 422, "{bad}");
        assert_eq!(res.into_json()["code"], "validation_failed");
    }
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": "wal_01jd3x1m2n3p4q5r6s7t8v9w0x",
               "kind": "reward", "amount": 5, "hash": "h-4"}),
        )
        .await;
    assert_eq!(res.status(), 404);

    // A debit beyond the balance writes nothing.
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "adjust", "amount": -101, "hash": "h-5"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.into_json()["code"], "insufficient_balance");
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet,
               "kind": "adjust", "amount": -40, "hash": "h-6", "description": "support"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.into_json()["balance_after"], 60);

    let w = t
        .api(&key)
        .get(&format!("/api/v1/wallets/{wallet}"))
        .await
        .into_json();
    assert_eq!(w["balance"], 60);
    let txs = t
        .api(&key)
        .get(&format!("/api/v1/wallet_transactions?wallet_id={wallet}"))
        .await
        .into_json();
    let amounts: Vec<i64> = txs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [100, -40]);
    let rewards = t
        .api(&key)
        .get("/api/v1/wallet_transactions?kind=reward")
        .await
        .into_json();
    assert_eq!(rewards["data"].as_array().unwrap().len(), 1);
    let wallets = t
        .api(&key)
        .get(&format!("/api/v1/wallets?lead_id={lead}"))
        .await
        .into_json();
    assert_eq!(wallets["data"].as_array().unwrap().len(), 1);

    // Only the reward burned reward quota; the lead burned a lead quota.
    let quota = t.api(&key).get("/api/v1/quota").await.into_json();
    assert_eq!(quota["rewards"]["used"], 1);
    assert_eq!(quota["leads"]["used"], 1);
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());

    // A deleted lead's wallet keeps its history and takes no more transactions.
    let res = t.api(&key).delete(&format!("/api/v1/leads/{lead}")).await;
    assert_eq!(res.status(), 204);
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": 1, "hash": "h-7"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        t.api(&key)
            .get(&format!("/api/v1/wallets/{wallet}"))
            .await
            .status(),
        200
    );
    t.stop().await;
}

async fn concurrent_debits_never_overdraw(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t).await;
    let (_lead, wallet) = t.api(&key).lead_with_wallet("cust-0001", &cur).await;
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": 50, "hash": "seed"}),
        )
        .await;
    assert_eq!(res.status(), 201);

    let t = Arc::new(t);
    let mut handles = Vec::new();
    for i in 0..200 {
        let (t, key, wallet) = (t.clone(), key.clone(), wallet.clone());
        handles.push(tokio::spawn(async move {
            let res = t
                .api(&key)
                .post(
                    "/api/v1/wallet_transactions",
                    json!({"wallet_id": wallet,
                       "kind": "adjust", "amount": -1, "hash": format!("debit-{i}")}),
                )
                .await;
            let status = res.status().as_u16();
            let b = res.into_json();
            (status, b)
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    let mut seen_after = std::collections::BTreeSet::new();
    for h in handles {
        let (status, b) = h.await.unwrap();
        match status {
            201 => {
                ok += 1;
                assert!(seen_after.insert(b["balance_after"].as_i64().unwrap()));
            }
            409 => {
                assert_eq!(b["code"], "insufficient_balance");
                refused += 1;
            }
            s => panic!("unexpected {s}: {b}"),
        }
    }
    assert_eq!((ok, refused), (50, 150));
    assert_eq!(
        seen_after,
        (0..50).collect(),
        "each debit saw its own balance"
    );
    let w = t
        .api(&key)
        .get(&format!("/api/v1/wallets/{wallet}"))
        .await
        .into_json();
    assert_eq!(w["balance"], 0);
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

async fn concurrent_duplicates_apply_once(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t).await;
    let (_lead, wallet) = t.api(&key).lead_with_wallet("cust-0001", &cur).await;
    let t = Arc::new(t);
    let mut handles = Vec::new();
    // 40 concurrent retries of one reward, half also with the same Idempotency-Key.
    for i in 0..40 {
        let (api, wallet) = (t.api(&key), wallet.clone());
        handles.push(tokio::spawn(async move {
            let mut req = api
                .request(reqwest::Method::POST, "/api/v1/wallet_transactions")
                .json(&json!({"wallet_id": wallet, "kind": "reward", "amount": 7, "hash": "once"}));
            if i % 2 == 0 {
                req = req.header("idempotency-key", "retry-1");
            }
            let res = ApiResponse::read(req).await;
            (res.status().as_u16(), res.into_json())
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for h in handles {
        let (status, b) = h.await.unwrap();
        assert_eq!(status, 201, "{b}");
        ids.insert(b["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "one transaction for all retries");
    let w = t
        .api(&key)
        .get(&format!("/api/v1/wallets/{wallet}"))
        .await
        .into_json();
    assert_eq!(w["balance"], 7);
    let quota = t.api(&key).get("/api/v1/quota").await.into_json();
    assert_eq!(quota["rewards"]["used"], 1, "one reward quota burned");
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

async fn dev_caps_hold_under_concurrency(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let t = Arc::new(t);
    let mut handles = Vec::new();
    for i in 0..200 {
        let (t, key) = (t.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            let res = t
                .api(&key)
                .post(
                    "/api/v1/leads",
                    json!({"customer_id": format!("cust-{i:04}"), "mobile": "+14155550123"}),
                )
                .await;
            let status = res.status().as_u16();
            (status, res.into_json())
        }));
    }
    let mut created = 0;
    for h in handles {
        let (status, b) = h.await.unwrap();
        match status {
            201 => created += 1,
            422 => assert_eq!(b["code"], "limit_reached", "{b}"),
            // Dev allows 100 calls a minute: the rest of the burst is rate limited.
            429 => assert_eq!(b["code"], "rate_limited"),
            s => panic!("unexpected {s}: {b}"),
        }
    }
    assert_eq!(created, 10, "dev holds at most 10 leads");
    let scope = punchcard_app::ledger::Scope::new(&m, Env::Dev);
    let leads = t
        .app
        .list_leads(&scope, &Default::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(leads.len(), 10);
    // Dev burns no quota.
    let usage = t.app.quota_usage(&m).await.unwrap();
    assert!(usage.iter().all(|q| q.used == 0));
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

async fn quota_refusals_write_nothing(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t).await;
    t.app
        .set_plan(
            &m,
            PlanChange {
                leads: Some(3),
                rewards: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let t = Arc::new(t);
    let mut handles = Vec::new();
    for i in 0..20 {
        let (t, key) = (t.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            let res = t
                .api(&key)
                .post(
                    "/api/v1/leads",
                    json!({"customer_id": format!("cust-{i:04}"), "email": "x@example.com"}),
                )
                .await;
            let status = res.status().as_u16();
            (status, res.into_json())
        }));
    }
    let mut created = 0;
    for h in handles {
        let (status, b) = h.await.unwrap();
        match status {
            201 => created += 1,
            403 => assert_eq!(b["code"], "quota_exhausted"),
            s => panic!("unexpected {s}: {b}"),
        }
    }
    assert_eq!(created, 3);
    let scope = punchcard_app::ledger::Scope::new(&m, Env::Prod);
    let leads = t
        .app
        .list_leads(&scope, &Default::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(leads.len(), 3, "refused leads were not written");

    let lead = leads[0].id.to_string();
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallets",
            json!({"lead_id": lead, "currency_id": cur}),
        )
        .await;
    let wallet = res.into_json()["id"].as_str().unwrap().to_string();
    for i in 0..2 {
        let res = t
            .api(&key)
            .post(
                "/api/v1/wallet_transactions",
                json!({"wallet_id": wallet,
                   "kind": "reward", "amount": 10, "hash": format!("r-{i}")}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": 10, "hash": "r-3"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.into_json()["code"], "quota_exhausted");
    // Adjustments burn no reward quota.
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "adjust", "amount": 5, "hash": "a-1"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let w = t
        .api(&key)
        .get(&format!("/api/v1/wallets/{wallet}"))
        .await
        .into_json();
    assert_eq!(w["balance"], 25, "the refused reward changed nothing");
    let quota = t.api(&key).get("/api/v1/quota").await.into_json();
    assert_eq!(quota["rewards"]["remaining"], 0);
    assert_eq!(quota["leads"]["remaining"], 0);
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

async fn other_merchants_and_envs_see_nothing(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t).await;
    let (lead, wallet) = t.api(&key).lead_with_wallet("cust-0001", &cur).await;
    let res = t
        .api(&key)
        .post(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": 5, "hash": "h"}),
        )
        .await;
    let tx = res.into_json()["id"].as_str().unwrap().to_string();
    let dev = t.api_key(&m, Env::Dev).await;
    let other = t.active_merchant("Other").await;
    let other = t.api_key(&other, Env::Prod).await;
    for k in [&dev, &other] {
        for path in [
            format!("/api/v1/leads/{lead}"),
            format!("/api/v1/wallets/{wallet}"),
            format!("/api/v1/wallet_transactions/{tx}"),
        ] {
            assert_eq!(t.api(k).get(&path).await.status(), 404, "{path}");
        }
        for path in [
            "/api/v1/leads",
            "/api/v1/wallets",
            "/api/v1/wallet_transactions",
        ] {
            let list = t.api(k).get(path).await.into_json();
            assert_eq!(list["data"].as_array().unwrap().len(), 0, "{path}");
        }
        let res = t
            .api(k)
            .post(
                "/api/v1/wallet_transactions",
                json!({"wallet_id": wallet, "kind": "reward", "amount": 5, "hash": "x"}),
            )
            .await;
        assert_eq!(res.status(), 404);
    }
    t.stop().await;
}

on_both_backends!(
    leads_crud_and_validation,
    rewards_adjustments_and_hashes,
    concurrent_debits_never_overdraw,
    concurrent_duplicates_apply_once,
    dev_caps_hold_under_concurrency,
    quota_refusals_write_nothing,
    other_merchants_and_envs_see_nothing,
);
