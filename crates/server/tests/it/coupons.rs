//! Vaults and coupons over HTTP: adding, generating and uploading codes; issuing coupons with
//! points or as rewards; use once; cancel with refund; the race for the last codes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::common::{ApiResponse, Key, TestApp};
use punchcard_app::plans::PlanChange;
use punchcard_domain::{Env, MerchantId};
use serde_json::json;

struct Shop {
    m: MerchantId,
    key: Key,
    currency: String,
}

/// A prod merchant with a fast plan and a currency worth 3 coins a point.
async fn shop(t: &TestApp) -> Shop {
    let m = t.active_merchant("Acme").await;
    t.set_rate_limit(&m, 300_000).await;
    let currency = t
        .app
        .create_currency(&m, "GEM", "Gems", "3")
        .await
        .unwrap()
        .id
        .to_string();
    let key = t.api_key(&m, Env::Prod).await;
    Shop { m, key, currency }
}

async fn deal(t: &TestApp, s: &Shop, price: i64) -> String {
    let d = t
        .api(&s.key)
        .create(
            "/api/v1/deals",
            json!({"name": "Free coffee", "description": "One coffee", "kind": "voucher",
                   "sell_price": price, "available": true, "visibility": "private"}),
        )
        .await;
    d["id"].as_str().unwrap().to_string()
}

/// A lead with a wallet in the shop's currency holding `points`.
async fn customer(t: &TestApp, s: &Shop, customer_id: &str, points: i64) -> (String, String) {
    let api = t.api(&s.key);
    let (lead, wallet) = api.lead_with_wallet(customer_id, &s.currency).await;
    if points > 0 {
        api.create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": "reward", "amount": points,
                   "hash": format!("seed-{customer_id}")}),
        )
        .await;
    }
    (lead, wallet)
}

async fn upload(t: &TestApp, s: &Shop, deal: &str, kind: Option<&str>, csv: String) -> ApiResponse {
    let mut form = reqwest::multipart::Form::new()
        .text("deal_id", deal.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes())
                .file_name("codes.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    if let Some(k) = kind {
        form = form.text("kind", k.to_string());
    }
    t.api(&s.key)
        .upload("/api/v1/coupon_codes/bulk_upload", form)
        .await
}

async fn code_count(t: &TestApp, s: &Shop, deal: &str) -> usize {
    t.api(&s.key)
        .get(&format!("/api/v1/coupon_codes?deal_id={deal}&limit=500"))
        .await
        .into_json()["data"]
        .as_array()
        .unwrap()
        .len()
}

async fn vault_codes_one_generated_uploaded(t: TestApp) {
    let s = shop(&t).await;
    let d = deal(&t, &s, 30).await;

    let c = t
        .api(&s.key)
        .create(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "value": "WELCOME-1"}),
        )
        .await;
    assert_eq!(c["kind"], "code");
    assert_eq!(c["status"], "available");
    let res = t
        .api(&s.key)
        .post(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "value": "WELCOME-1"}),
        )
        .await;
    assert_eq!(res.status(), 422, "a code exists once");
    let res = t
        .api(&s.key)
        .post(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "kind": "link", "value": "not a link"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    t.api(&s.key)
        .create(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "kind": "link", "value": "https://shop.example/r/abc"}),
        )
        .await;
    let res = t
        .api(&s.key)
        .post(
            "/api/v1/coupon_codes",
            json!({"deal_id": "deal_01jd3x1m2n3p4q5r6s7t8v9w0x", "value": "X1"}),
        )
        .await;
    assert_eq!(res.status(), 422, "unknown deal");

    // Bulk generate: 1 to 1000, distinct, unambiguous.
    for bad in [0, 1001] {
        let res = t
            .api(&s.key)
            .post(
                "/api/v1/coupon_codes/bulk_generate",
                json!({"deal_id": d, "count": bad}),
            )
            .await;
        assert_eq!(res.status(), 422, "{bad}");
    }
    let g = t
        .api(&s.key)
        .create(
            "/api/v1/coupon_codes/bulk_generate",
            json!({"deal_id": d, "count": 1000}),
        )
        .await;
    assert_eq!(g["created"], 1000);
    let mut values = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/coupon_codes?deal_id={d}&limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = t.api(&s.key).get(&path).await.into_json();
        for c in page["data"].as_array().unwrap() {
            values.insert(c["value"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(values.len(), 1002);
    assert!(values
        .iter()
        .filter(|v| v.len() == 10)
        .all(|v| v.chars().all(|c| "ACDEFGHJKMNPQRTUVWXY34679".contains(c))));

    // Upload: every bad row reported, nothing imported.
    let d2 = deal(&t, &s, 10).await;
    let res = upload(
        &t,
        &s,
        &d2,
        None,
        format!(
            "code\nGOOD-1\n\nGOOD-1\n{}\nWELCOME-1\nGOOD-2\n",
            "X".repeat(80)
        ),
    )
    .await;
    assert_eq!(res.status(), 422);
    let problem = res.into_json();
    assert_eq!(problem["code"], "validation_failed");
    let rows: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["row 3", "row 4", "row 5"], "{problem}");
    assert_eq!(code_count(&t, &s, &d2).await, 0, "nothing half-imported");
    // Rows that exist already are reported once the file itself is clean.
    let res = upload(&t, &s, &d2, None, "GOOD-1\nWELCOME-1\n".to_string()).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.into_json()["errors"][0]["field"], "row 2");
    assert_eq!(code_count(&t, &s, &d2).await, 0);
    let too_many: String = (0..10_001).map(|i| format!("C-{i}\n")).collect();
    assert_eq!(upload(&t, &s, &d2, None, too_many).await.status(), 422);

    let ten_thousand: String = (0..10_000).map(|i| format!("C-{i}\n")).collect();
    let res = upload(&t, &s, &d2, Some("code"), format!("code\n{ten_thousand}")).await;
    assert_eq!(res.expect(201)["imported"], 10_000);
    let links = upload(
        &t,
        &s,
        &d2,
        Some("generic_link"),
        "https://shop.example/promo\n".to_string(),
    )
    .await;
    assert_eq!(links.expect(201)["imported"], 1);
    t.stop().await;
}

async fn redeem_reward_use_and_cancel(t: TestApp) {
    let s = shop(&t).await;
    let d = deal(&t, &s, 10).await; // 10 coins at 3 coins a point: 4 points
    let (lead, wallet) = customer(&t, &s, "cust-0001", 10).await;
    t.api(&s.key)
        .create(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "value": "ONLY-ONE"}),
        )
        .await;
    t.api(&s.key)
        .create(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "value": "SECOND"}),
        )
        .await;

    let res = t
        .api(&s.key)
        .post(
            "/api/v1/coupons",
            json!({"deal_id": d, "lead_id": lead, "hash": "c-0", "mode": "redeem"}),
        )
        .await;
    assert_eq!(res.status(), 422, "redeem needs a currency");

    let req = json!({"deal_id": d, "lead_id": lead, "currency_id": s.currency,
               "hash": "c-1", "mode": "redeem"});
    let c = t.api(&s.key).create("/api/v1/coupons", req.clone()).await;
    assert_eq!(c["status"], "issued");
    assert_eq!(c["code"], "ONLY-ONE");
    assert_eq!(c["points"], 4);
    assert_eq!(t.api(&s.key).balance(&wallet).await, 6);
    // A replay answers the same coupon and debits nothing more.
    let again = t.api(&s.key).create("/api/v1/coupons", req).await;
    assert_eq!(again["id"], c["id"]);
    assert_eq!(t.api(&s.key).balance(&wallet).await, 6);
    let res = t
        .api(&s.key)
        .post(
            "/api/v1/coupons",
            json!({"deal_id": d, "lead_id": lead,
               "currency_id": s.currency, "hash": "c-1", "mode": "reward"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.into_json()["code"], "idempotency_mismatch");
    let redeem = t
        .api(&s.key)
        .get(&format!(
            "/api/v1/wallet_transactions?wallet_id={wallet}&kind=redeem"
        ))
        .await
        .into_json();
    assert_eq!(redeem["data"][0]["amount"], -4);
    assert_eq!(redeem["data"][0]["reference"], c["id"]);

    // Use exactly once.
    let id = c["id"].as_str().unwrap();
    let used = t
        .api(&s.key)
        .post(&format!("/api/v1/coupons/{id}/use"), json!({}))
        .await;
    assert_eq!(used.status(), 200);
    assert_eq!(used.into_json()["status"], "used");
    let twice = t
        .api(&s.key)
        .post(&format!("/api/v1/coupons/{id}/use"), json!({}))
        .await;
    assert_eq!(twice.status(), 409);
    let cancel_used = t
        .api(&s.key)
        .post(&format!("/api/v1/coupons/{id}/cancel"), json!({}))
        .await;
    assert_eq!(cancel_used.status(), 409);

    // Insufficient balance: nothing debited, no code taken.
    let (poor, poor_wallet) = customer(&t, &s, "cust-0002", 3).await;
    let res = t
        .api(&s.key)
        .post(
            "/api/v1/coupons",
            json!({"deal_id": d, "lead_id": poor, "currency_id": s.currency, "hash": "c-2"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.into_json()["code"], "insufficient_balance");
    assert_eq!(t.api(&s.key).balance(&poor_wallet).await, 3);
    let available = t
        .api(&s.key)
        .get(&format!(
            "/api/v1/coupon_codes?deal_id={d}&status=available"
        ))
        .await
        .into_json();
    assert_eq!(available["data"].as_array().unwrap().len(), 1);

    // Cancel refunds with a reversal.
    let c2 = t
        .api(&s.key)
        .create(
            "/api/v1/coupons",
            json!({"deal_id": d, "lead_id": lead, "currency_id": s.currency, "hash": "c-3"}),
        )
        .await;
    assert_eq!(c2["code"], "SECOND");
    assert_eq!(t.api(&s.key).balance(&wallet).await, 2);
    let id2 = c2["id"].as_str().unwrap();
    let cancelled = t
        .api(&s.key)
        .post(&format!("/api/v1/coupons/{id2}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(cancelled.into_json()["status"], "cancelled");
    assert_eq!(t.api(&s.key).balance(&wallet).await, 6);
    let again = t
        .api(&s.key)
        .post(&format!("/api/v1/coupons/{id2}/cancel"), json!({}))
        .await;
    assert_eq!(again.status(), 409, "cancelled once");
    assert_eq!(t.api(&s.key).balance(&wallet).await, 6);

    // Out of stock: the unique codes are gone; nothing debited.
    let res = t
        .api(&s.key)
        .post(
            "/api/v1/coupons",
            json!({"deal_id": d, "lead_id": lead, "currency_id": s.currency, "hash": "c-4"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.into_json()["code"], "out_of_stock");
    assert_eq!(t.api(&s.key).balance(&wallet).await, 6);

    // A reward coupon is free; a generic code is handed out again and again.
    t.api(&s.key)
        .create(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "kind": "generic_code", "value": "EVERYONE"}),
        )
        .await;
    for i in 0..2 {
        let r = t
            .api(&s.key)
            .create(
                "/api/v1/coupons",
                json!({"deal_id": d, "lead_id": lead, "hash": format!("r-{i}"), "mode": "reward"}),
            )
            .await;
        assert_eq!(r["code"], "EVERYONE");
        assert_eq!(r["points"], 0);
    }
    assert_eq!(t.api(&s.key).balance(&wallet).await, 6);
    let lead_coupons = t
        .api(&s.key)
        .get(&format!("/api/v1/coupons?lead_id={lead}"))
        .await
        .into_json();
    assert_eq!(lead_coupons["data"].as_array().unwrap().len(), 4);

    // Quotas: 3 redeems issued (one cancelled: burned all the same) and 2 rewards.
    let quota = t.api(&s.key).get("/api/v1/quota").await.into_json();
    assert_eq!(quota["redeems"]["used"], 4);
    assert_eq!(
        quota["rewards"]["used"],
        2 + 2,
        "two seed rewards and two reward coupons"
    );
    assert!(t.app.audit_ledger(Some(&s.m)).await.unwrap().is_empty());
    t.stop().await;
}

async fn concurrent_buyers_get_distinct_codes(t: TestApp) {
    let s = shop(&t).await;
    let d = deal(&t, &s, 3).await; // 1 point each
    let (lead, wallet) = customer(&t, &s, "cust-0001", 1000).await;
    let codes: String = (0..100).map(|i| format!("RACE-{i}\n")).collect();
    upload(&t, &s, &d, None, codes).await.expect(201);

    let t = Arc::new(t);
    let s = Arc::new(s);
    let mut handles = Vec::new();
    for i in 0..150 {
        let (t, s, d, lead) = (t.clone(), s.clone(), d.clone(), lead.clone());
        handles.push(tokio::spawn(async move {
            let res = t
                .api(&s.key)
                .post(
                    "/api/v1/coupons",
                    json!({"deal_id": d,
                       "lead_id": lead, "currency_id": s.currency,
                       "hash": format!("buy-{i}")}),
                )
                .await;
            let status = res.status().as_u16();
            (status, res.into_json())
        }));
    }
    let mut codes = BTreeSet::new();
    let mut out = 0;
    for h in handles {
        let (status, b) = h.await.unwrap();
        match status {
            201 => assert!(codes.insert(b["code"].as_str().unwrap().to_string()), "{b}"),
            409 => {
                assert_eq!(b["code"], "out_of_stock");
                out += 1;
            }
            s => panic!("unexpected {s}: {b}"),
        }
    }
    assert_eq!((codes.len(), out), (100, 50));
    assert_eq!(
        t.api(&s.key).balance(&wallet).await,
        900,
        "only the 100 sold were paid"
    );
    assert!(t.app.audit_ledger(Some(&s.m)).await.unwrap().is_empty());
    let t = Arc::try_unwrap(t).ok().unwrap();
    t.stop().await;
}

/// Reward coupons from one deal, sent at once, are written in batches by the ledger writer:
/// each answers as it would alone. The quota is never overshot, no code goes out twice, a
/// hash sent twice gets one coupon, and a request past the unique codes or the quota gets the
/// deal's generic code or its refusal.
async fn reward_coupons_from_one_deal_batch(t: TestApp) {
    let s = shop(&t).await;
    let d = deal(&t, &s, 3).await;
    let mut leads = Vec::new();
    for i in 0..6 {
        leads.push(customer(&t, &s, &format!("cust-{i:04}"), 0).await.0);
    }
    let codes: String = (0..40).map(|i| format!("BATCH-{i}\n")).collect();
    upload(&t, &s, &d, None, codes).await.expect(201);
    // 30 rewards left on the plan.
    let used = t.api(&s.key).get("/api/v1/quota").await.into_json()["rewards"]["used"]
        .as_i64()
        .unwrap();
    t.app
        .set_plan(
            &s.m,
            PlanChange {
                rewards: Some(used + 30),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = t.app.ledger_writer_stats().unwrap();

    let t = Arc::new(t);
    let s = Arc::new(s);
    let mut handles = Vec::new();
    // 50 requests, and the first 5 of them twice more each.
    for i in (0..50).chain(0..5).chain(0..5) {
        let (t, s, d, lead) = (t.clone(), s.clone(), d.clone(), leads[i % 6].clone());
        handles.push(tokio::spawn(async move {
            let res = t
                .api(&s.key)
                .post(
                    "/api/v1/coupons",
                    json!({"deal_id": d, "lead_id": lead, "mode": "reward",
                           "hash": format!("gift-{i}")}),
                )
                .await;
            let status = res.status().as_u16();
            (i, status, res.into_json())
        }));
    }
    let mut by_hash: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut refused = 0;
    for h in handles {
        let (i, status, b) = h.await.unwrap();
        match status {
            201 => {
                by_hash
                    .entry(i)
                    .or_default()
                    .insert(b["id"].as_str().unwrap().to_string());
            }
            403 | 409 => {
                assert!(
                    ["quota_exhausted", "out_of_stock"].contains(&b["code"].as_str().unwrap()),
                    "{b}"
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert!(
        by_hash.values().all(|ids| ids.len() == 1),
        "a hash sent three times got one coupon: {by_hash:?}"
    );
    let quota = t.api(&s.key).get("/api/v1/quota").await.into_json();
    assert_eq!(
        by_hash.len(),
        30,
        "as many coupons as the quota allowed: {quota}"
    );
    assert!(refused >= 20, "{refused}");
    assert_eq!(
        quota["rewards"]["used"],
        used + 30,
        "never overshot: {quota}"
    );
    let listed = t
        .api(&s.key)
        .get(&format!("/api/v1/coupons?deal_id={d}&limit=100"))
        .await
        .into_json();
    let listed_codes: BTreeSet<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed_codes.len(), 30, "distinct codes: {listed}");
    let after = t.app.ledger_writer_stats().unwrap();
    assert!(
        after.items - before.items > after.groups - before.groups,
        "the writer grouped them: {before:?} {after:?}"
    );
    let t = Arc::try_unwrap(t).ok().unwrap();
    t.stop().await;
}

async fn coupons_are_isolated(t: TestApp) {
    let s = shop(&t).await;
    let d = deal(&t, &s, 3).await;
    let (lead, _) = customer(&t, &s, "cust-0001", 10).await;
    let code = t
        .api(&s.key)
        .create(
            "/api/v1/coupon_codes",
            json!({"deal_id": d, "value": "MINE"}),
        )
        .await;
    let c = t
        .api(&s.key)
        .create(
            "/api/v1/coupons",
            json!({"deal_id": d, "lead_id": lead, "currency_id": s.currency, "hash": "c"}),
        )
        .await;
    let dev = t.api_key(&s.m, Env::Dev).await;
    let other = t.active_merchant("Other").await;
    let other = t.api_key(&other, Env::Prod).await;
    let id = c["id"].as_str().unwrap();
    for k in [&dev, &other] {
        assert_eq!(
            t.api(k)
                .get(&format!("/api/v1/coupons/{id}"))
                .await
                .status(),
            404
        );
        for path in ["/api/v1/coupons", "/api/v1/coupon_codes"] {
            let list = t.api(k).get(path).await.into_json();
            assert_eq!(list["data"].as_array().unwrap().len(), 0, "{path}");
        }
        for action in ["use", "cancel"] {
            let res = t
                .api(k)
                .post(&format!("/api/v1/coupons/{id}/{action}"), json!({}))
                .await;
            assert_eq!(res.status(), 404);
        }
        let res = t
            .api(k)
            .post(
                "/api/v1/coupon_codes",
                json!({"deal_id": d, "value": "THEIRS"}),
            )
            .await;
        assert_eq!(res.status(), 422, "a foreign deal is unknown");
        let res = t
            .api(k)
            .post(
                "/api/v1/coupons",
                json!({"deal_id": d, "lead_id": lead, "hash": "x", "mode": "reward"}),
            )
            .await;
        assert_eq!(res.status(), 422, "a foreign deal is unknown");
    }
    assert_eq!(code["value"], "MINE");
    t.stop().await;
}

/// Files as spreadsheets write them: a byte order mark, `;` between fields, quoted fields
/// holding line breaks, a final blank line; a bad row still named by its line, nothing imported.
async fn csv_uploads_as_spreadsheets_write_them(t: TestApp) {
    let s = shop(&t).await;
    let d = deal(&t, &s, 30).await;
    let bad = "\u{feff}code;note\r\nSHEET-1;\"two\r\nlines\"\r\nSHEET-2;x\r\nSHEET-1;again\r\n\r\n";
    let res = upload(&t, &s, &d, None, bad.to_string()).await;
    assert_eq!(res.status(), 422);
    let problem = res.into_json();
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1);
    assert_eq!(problem["errors"][0]["field"], "row 5");
    assert_eq!(code_count(&t, &s, &d).await, 0, "nothing half-imported");

    let good = "\u{feff}code;note\r\nSHEET-1;\"two\r\nlines; one cell\"\r\nSHEET-2;x\r\n\r\n";
    let res = upload(&t, &s, &d, None, good.to_string()).await;
    assert_eq!(res.expect(201)["imported"], 2);
    assert_eq!(code_count(&t, &s, &d).await, 2);
    let res = upload(&t, &s, &d, None, "\"OPEN-1\nOPEN-2\n".to_string()).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.into_json()["errors"][0]["field"], "row 1");
    t.stop().await;
}

on_both_backends!(
    csv_uploads_as_spreadsheets_write_them,
    vault_codes_one_generated_uploaded,
    redeem_reward_use_and_cancel,
    concurrent_buyers_get_distinct_codes,
    reward_coupons_from_one_deal_batch,
    coupons_are_isolated,
);
