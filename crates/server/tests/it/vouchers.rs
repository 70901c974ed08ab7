//! Voucher campaigns over HTTP: standalone vaults filled through the coupon-code endpoints,
//! campaign statuses across dates and configuration, integrations (test, live, revoked) and
//! `POST /api/v1/award` with every answer it gives, retries by hash, the per-redeemer limit,
//! concurrent awards on a small vault, the interactions every request leaves, and the
//! available-vouchers figures of the report.

use std::collections::HashSet;

use crate::common::api::{id_of, ApiClient, Key};
use crate::common::TestApp;
use crate::tasks::{days_from_now, merchant};
use punchcard_app::ledger::Scope;
use punchcard_domain::{CampaignId, Env, MerchantId};
use serde_json::{json, Value};

/// A vault of `vendor` and `amount` holding `codes` unique codes with this prefix.
pub(crate) async fn vault(
    api: &ApiClient,
    vendor: &str,
    amount: i64,
    test: bool,
    codes: &[&str],
) -> String {
    let v = id_of(
        &api.create(
            "/api/v1/vaults",
            json!({"name": format!("{vendor} {amount}"), "vendor": vendor, "amount": amount, "test": test}),
        )
        .await,
    );
    for code in codes {
        api.create(
            "/api/v1/coupon_codes",
            json!({"vault_id": v, "value": code}),
        )
        .await;
    }
    v
}

pub(crate) async fn campaign(api: &ApiClient, body: Value) -> String {
    id_of(&api.create("/api/v1/voucher_campaigns", body).await)
}

/// A new integration's credentials.
pub(crate) async fn integration(api: &ApiClient, campaign: &str, status: &str) -> Key {
    let i = api
        .create(
            &format!("/api/v1/voucher_campaigns/{campaign}/integrations"),
            json!({"name": format!("{status} app"), "status": status}),
        )
        .await;
    assert_eq!(i["status"], status);
    let secret = i["secret"].as_str().expect("the secret, once").to_string();
    (id_of(&i), secret)
}

async fn status_of(api: &ApiClient, campaign: &str) -> String {
    api.get_ok(&format!("/api/v1/voucher_campaigns/{campaign}"))
        .await["status"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) fn award_body(email: &str, hash: &str) -> Value {
    json!({"redeemer": {"email": email}, "hash": hash})
}

async fn interactions(api: &ApiClient, campaign: &str) -> Vec<Value> {
    api.get_ok(&format!(
        "/api/v1/campaigns/{campaign}/interactions?limit=500"
    ))
    .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn vaults_hold_codes_added_generated_and_uploaded(t: TestApp) {
    let (_m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    api.post(
        "/api/v1/vaults",
        json!({"name": "", "vendor": "", "amount": 0}),
    )
    .await
    .assert_invalid(&["name", "vendor", "amount"]);
    api.post(
        "/api/v1/vaults",
        json!({"name": "No amount", "vendor": "Bookshop"}),
    )
    .await
    .assert_invalid(&["amount"]);
    let created = api
        .create(
            "/api/v1/vaults",
            json!({"name": "Books 10", "vendor": "Bookshop", "amount": 1000, "test": true}),
        )
        .await;
    let v = id_of(&created);
    assert!(v.starts_with("vlt_"));
    assert_eq!(created["vendor"], "Bookshop");
    assert_eq!(created["amount"], 1000);
    assert_eq!(created["test"], true);
    assert_eq!(created["available"], 0);
    assert_eq!(created["issued"], 0);

    // One code, then generated ones, then a CSV: all through the coupon-code endpoints.
    let one = api
        .create(
            "/api/v1/coupon_codes",
            json!({"vault_id": v, "value": "BOOK-1"}),
        )
        .await;
    assert_eq!(one["vault_id"], v.as_str());
    assert!(one.get("deal_id").is_none(), "{one}");
    let generated = api
        .create(
            "/api/v1/coupon_codes/bulk_generate",
            json!({"vault_id": v, "count": 5}),
        )
        .await;
    assert_eq!(generated["created"], 5);
    let form = reqwest::multipart::Form::new()
        .text("vault_id", v.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"code\nBOOK-2\nBOOK-3\nBOOK-4\n".to_vec())
                .file_name("codes.csv"),
        );
    let uploaded = api
        .upload("/api/v1/coupon_codes/bulk_upload", form)
        .await
        .expect(201);
    assert_eq!(uploaded["imported"], 3);
    // A bad CSV imports nothing.
    let form = reqwest::multipart::Form::new()
        .text("vault_id", v.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"BOOK-5\nBOOK-1\n".to_vec()).file_name("codes.csv"),
        );
    api.upload("/api/v1/coupon_codes/bulk_upload", form)
        .await
        .assert_invalid(&["row 2"]);

    let got = api.get_ok(&format!("/api/v1/vaults/{v}")).await;
    assert_eq!(got["available"], 9);
    assert_eq!(got["issued"], 0);
    let listed = api
        .get_ok(&format!("/api/v1/coupon_codes?vault_id={v}&limit=500"))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 9);
    assert!(listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["vault_id"] == v.as_str()));
    let vaults = api.get_ok("/api/v1/vaults").await;
    assert_eq!(crate::common::ids(&vaults), vec![v.clone()]);

    // Exactly one of deal_id and vault_id, each naming its own kind.
    let deal = crate::tasks::deal_with_codes(&api, 1).await;
    api.post(
        "/api/v1/coupon_codes",
        json!({"vault_id": v, "deal_id": deal, "value": "BOTH"}),
    )
    .await
    .assert_invalid(&["vault_id"]);
    api.post("/api/v1/coupon_codes", json!({"value": "NEITHER"}))
        .await
        .assert_invalid(&["deal_id"]);
    api.post(
        "/api/v1/coupon_codes",
        json!({"deal_id": v, "value": "MIXED"}),
    )
    .await
    .assert_invalid(&["deal_id"]);
    api.post(
        "/api/v1/coupon_codes/bulk_generate",
        json!({"vault_id": "vlt_01jd3x1m2n3p4q5r6s7t8v9w0x", "count": 1}),
    )
    .await
    .assert_invalid(&["vault_id"]);
    api.get("/api/v1/vaults/vlt_01jd3x1m2n3p4q5r6s7t8v9w0x")
        .await
        .assert_problem(404, "not_found");
    // A deal's codes answer as before: with their deal and without a vault.
    let deal_codes = api
        .get_ok(&format!("/api/v1/coupon_codes?deal_id={deal}"))
        .await;
    let first = &deal_codes["data"][0];
    assert_eq!(first["deal_id"], deal.as_str());
    assert!(first.get("vault_id").is_none(), "{first}");
    t.stop().await;
}

async fn statuses_follow_dates_and_configuration(t: TestApp) {
    let (_m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let v = vault(&api, "Bookshop", 1000, false, &["S-1"]).await;

    api.post(
        "/api/v1/voucher_campaigns",
        json!({"name": "", "vault_ids": ["vlt_nope"], "max_per_redeemer": 0, "ends_at": "soon"}),
    )
    .await
    .assert_invalid(&["name", "vault_ids", "max_per_redeemer", "ends_at"]);

    // Pending by default: no vault, then no live integration.
    let c = campaign(&api, json!({"name": "Thanks"})).await;
    let got = api.get_ok(&format!("/api/v1/voucher_campaigns/{c}")).await;
    assert_eq!(got["kind"], "voucher");
    assert_eq!(got["status"], "pending");
    assert_eq!(got["vault_ids"], json!([]));
    api.patch(
        &format!("/api/v1/voucher_campaigns/{c}"),
        json!({"vault_ids": [v]}),
    )
    .await
    .expect(200);
    assert_eq!(
        status_of(&api, &c).await,
        "pending",
        "a vault, no integration"
    );
    let (test_id, _) = integration(&api, &c, "test").await;
    assert_eq!(
        status_of(&api, &c).await,
        "pending",
        "a test integration only"
    );
    let (live_id, _) = integration(&api, &c, "live").await;
    assert_eq!(status_of(&api, &c).await, "live");
    let listed = api
        .get_ok(&format!("/api/v1/voucher_campaigns/{c}/integrations"))
        .await;
    assert_eq!(crate::common::ids(&listed), vec![test_id, live_id.clone()]);
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("secret").is_none()),
        "secrets are shown once: {listed}"
    );

    // Revoking the live integration, pausing, a later start: pending again.
    let path = format!("/api/v1/voucher_campaigns/{c}/integrations/{live_id}");
    let revoked = api
        .patch(&path, json!({"status": "revoked"}))
        .await
        .expect(200);
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked.get("secret").is_none());
    assert_eq!(status_of(&api, &c).await, "pending");
    api.patch(&path, json!({"status": "live"}))
        .await
        .expect(200);
    api.patch(&path, json!({"status": "active"}))
        .await
        .assert_invalid(&["status"]);
    assert_eq!(status_of(&api, &c).await, "live");
    let paused = api
        .patch(
            &format!("/api/v1/voucher_campaigns/{c}"),
            json!({"paused": true}),
        )
        .await
        .expect(200);
    assert_eq!(paused["status"], "pending");
    api.patch(
        &format!("/api/v1/voucher_campaigns/{c}"),
        json!({"paused": false, "starts_at": days_from_now(2)}),
    )
    .await
    .expect(200);
    assert_eq!(status_of(&api, &c).await, "pending");

    // Dates: completed after the end, archived 30 days after, hidden unless asked for.
    let completed = api
        .patch(
            &format!("/api/v1/voucher_campaigns/{c}"),
            json!({"starts_at": days_from_now(-10), "ends_at": days_from_now(-1)}),
        )
        .await
        .expect(200);
    assert_eq!(completed["status"], "completed");
    let old = campaign(
        &api,
        json!({"name": "Last year", "vault_ids": [v], "starts_at": days_from_now(-60),
               "ends_at": days_from_now(-31)}),
    )
    .await;
    assert_eq!(status_of(&api, &old).await, "archived");
    let all = crate::common::ids(&api.get_ok("/api/v1/campaigns?kind=voucher").await);
    assert!(all.contains(&c) && !all.contains(&old), "{all:?}");
    let archived = crate::common::ids(
        &api.get_ok("/api/v1/campaigns?kind=voucher&status=archived")
            .await,
    );
    assert_eq!(archived, vec![old.clone()]);
    let completed = crate::common::ids(
        &api.get_ok("/api/v1/voucher_campaigns?status=completed")
            .await,
    );
    assert_eq!(completed, vec![c.clone()]);

    // The list's status filter computes the status as the campaign's answer does.
    let live = campaign(&api, json!({"name": "Now", "vault_ids": [v]})).await;
    assert_eq!(status_of(&api, &live).await, "pending");
    integration(&api, &live, "live").await;
    assert_eq!(
        crate::common::ids(&api.get_ok("/api/v1/campaigns?status=live").await),
        vec![live.clone()]
    );
    let pending = crate::common::ids(&api.get_ok("/api/v1/voucher_campaigns?status=pending").await);
    assert!(!pending.contains(&live), "{pending:?}");

    // Another kind's id is no voucher campaign; a deleted one is gone.
    let deal = crate::tasks::deal_with_codes(&api, 1).await;
    let surprise = id_of(
        &api.create(
            "/api/v1/surprises",
            json!({"name": "Treat", "type": "lead_birthday", "count": 1, "deal_id": deal}),
        )
        .await,
    );
    api.get(&format!("/api/v1/voucher_campaigns/{surprise}"))
        .await
        .assert_problem(404, "not_found");
    api.delete(&format!("/api/v1/voucher_campaigns/{live}"))
        .await
        .expect(204);
    api.get(&format!("/api/v1/voucher_campaigns/{live}"))
        .await
        .assert_problem(404, "not_found");
    t.stop().await;
}

async fn integrations_award_their_own_kind_of_voucher(t: TestApp) {
    let (_m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let test_vault = vault(&api, "Bookshop", 1000, true, &["TEST-1", "TEST-2"]).await;
    let live_vault = vault(&api, "Bookshop", 1000, false, &["LIVE-1"]).await;
    let other = vault(&api, "Cinema", 500, false, &["FILM-1"]).await;
    let c = campaign(
        &api,
        json!({"name": "Thanks", "vault_ids": [test_vault, live_vault, other], "paused": true}),
    )
    .await;
    let test_key = integration(&api, &c, "test").await;
    let test_app = t.api(&test_key);

    // A test integration on a pending (paused) campaign: test vouchers only.
    assert_eq!(status_of(&api, &c).await, "pending");
    let got = test_app
        .post("/api/v1/award", award_body("ann@example.com", "t-1"))
        .await
        .expect(201);
    assert_eq!(got["voucher"]["test"], true);
    assert_eq!(got["voucher"]["vendor"], "Bookshop");
    assert_eq!(got["voucher"]["amount"], 1000);
    assert!(got["voucher"]["code"]
        .as_str()
        .unwrap()
        .starts_with("TEST-"));
    assert!(got["interaction_id"].as_str().unwrap().starts_with("cmi_"));
    // No test voucher of the cinema: out of vouchers, though a live one exists.
    test_app
        .post(
            "/api/v1/award",
            json!({"redeemer": {"name": "Ann"}, "vendor": "cinema", "hash": "t-2"}),
        )
        .await
        .assert_problem(409, "out_of_vouchers");

    // A live integration needs the campaign live.
    let live_key = integration(&api, &c, "live").await;
    let live_app = t.api(&live_key);
    live_app
        .post("/api/v1/award", award_body("bob@example.com", "l-1"))
        .await
        .assert_problem(422, "campaign_not_live");
    api.patch(
        &format!("/api/v1/voucher_campaigns/{c}"),
        json!({"paused": false}),
    )
    .await
    .expect(200);
    assert_eq!(status_of(&api, &c).await, "live");
    let got = live_app
        .post(
            "/api/v1/award",
            json!({"redeemer": {"mobile": "+14155550123", "customer_id": "cust-1"},
                   "vendor": "Bookshop", "amount": 1000, "hash": "l-2"}),
        )
        .await
        .expect(201);
    assert_eq!(got["voucher"]["test"], false);
    assert_eq!(got["voucher"]["code"], "LIVE-1");
    // Matching criteria, or nothing matches.
    live_app
        .post(
            "/api/v1/award",
            json!({"redeemer": {"name": "Cy"}, "vendor": "Bookshop", "hash": "l-3"}),
        )
        .await
        .assert_problem(409, "out_of_vouchers");
    live_app
        .post(
            "/api/v1/award",
            json!({"redeemer": {"name": "Cy"}, "amount": 700, "hash": "l-4"}),
        )
        .await
        .assert_problem(409, "out_of_vouchers");
    let film = live_app
        .post(
            "/api/v1/award",
            json!({"redeemer": {"name": "Cy"}, "amount": 500, "hash": "l-5"}),
        )
        .await
        .expect(201);
    assert_eq!(film["voucher"]["code"], "FILM-1");
    // Unknown vendor and bad data: validation_failed naming the fields.
    live_app
        .post(
            "/api/v1/award",
            json!({"redeemer": {"name": "Cy"}, "vendor": "Garage", "hash": "l-6"}),
        )
        .await
        .assert_invalid(&["vendor"]);
    live_app
        .post(
            "/api/v1/award",
            json!({"redeemer": {"email": "not-an-email", "mobile": "12"}, "amount": -1, "hash": ""}),
        )
        .await
        .assert_invalid(&["redeemer.email", "redeemer.mobile", "amount", "hash"]);
    live_app
        .post("/api/v1/award", json!({"redeemer": {}, "hash": "l-7"}))
        .await
        .assert_invalid(&["redeemer"]);

    // Revoked: refused; wrong credentials and API keys: unauthorized.
    api.patch(
        &format!("/api/v1/voucher_campaigns/{c}/integrations/{}", live_key.0),
        json!({"status": "revoked"}),
    )
    .await
    .expect(200);
    live_app
        .post("/api/v1/award", award_body("dan@example.com", "l-8"))
        .await
        .assert_problem(403, "integration_revoked");
    t.api(&(live_key.0.clone(), "isk_wrong".to_string()))
        .post("/api/v1/award", award_body("dan@example.com", "l-9"))
        .await
        .assert_problem(401, "unauthorized");
    api.post("/api/v1/award", award_body("dan@example.com", "l-10"))
        .await
        .assert_problem(401, "unauthorized");
    // An integration's credentials open nothing else.
    test_app
        .get("/api/v1/vaults")
        .await
        .assert_problem(401, "unauthorized");

    // Once the campaign ended, not even the test integration awards.
    api.patch(
        &format!("/api/v1/voucher_campaigns/{c}"),
        json!({"starts_at": days_from_now(-3), "ends_at": days_from_now(-1)}),
    )
    .await
    .expect(200);
    test_app
        .post("/api/v1/award", award_body("eve@example.com", "t-3"))
        .await
        .assert_problem(422, "campaign_not_live");

    // Every request is an interaction, with its outcome and the redeemer as sent, found by
    // the redeemer's details.
    let found = api
        .get_ok(&format!("/api/v1/campaigns/{c}/interactions?q=EVE@example"))
        .await;
    let found = found["data"].as_array().unwrap();
    assert!(!found.is_empty());
    assert!(found
        .iter()
        .all(|i| i["redeemer"]["email"] == "eve@example.com"));
    let seen = interactions(&api, &c).await;
    let outcomes: Vec<&str> = seen
        .iter()
        .rev()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "awarded",
            "out_of_vouchers",
            "error",
            "awarded",
            "out_of_vouchers",
            "out_of_vouchers",
            "awarded",
            "error",
            "error",
            "error",
            "error",
            "error",
        ]
    );
    let codes: Vec<Option<&str>> = seen
        .iter()
        .rev()
        .map(|i| i["error_code"].as_str())
        .collect();
    assert_eq!(codes[2], Some("campaign_not_live"));
    assert_eq!(codes[4], Some("out_of_vouchers"));
    assert_eq!(codes[7], Some("validation_failed"));
    assert_eq!(codes[10], Some("integration_revoked"));
    assert_eq!(codes[11], Some("campaign_not_live"));
    let live_award = &seen[seen.len() - 4];
    assert_eq!(live_award["redeemer"]["mobile"], "+14155550123");
    assert_eq!(live_award["redeemer"]["customer_id"], "cust-1");
    assert_eq!(live_award["vendor"], "Bookshop");
    assert_eq!(live_award["amount"], 1000);
    assert_eq!(live_award["vault_id"], live_vault.as_str());
    assert_eq!(live_award["source_id"], live_key.0.as_str());
    let refused = &seen[seen.len() - 9];
    assert_eq!(
        refused["redeemer"]["email"], "not-an-email",
        "as sent: {refused}"
    );
    assert!(seen.iter().all(|i| i["lead_id"].is_null()));
    t.stop().await;
}

async fn awards_are_idempotent_and_limited_per_redeemer(t: TestApp) {
    let (_m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let v = vault(&api, "Bookshop", 1000, false, &["I-1", "I-2", "I-3"]).await;
    let c = campaign(
        &api,
        json!({"name": "Once each", "vault_ids": [v], "max_per_redeemer": 1}),
    )
    .await;
    let app = t.api(&integration(&api, &c, "live").await);

    let first = app
        .post("/api/v1/award", award_body("ann@example.com", "order-1"))
        .await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let first = first.into_json();
    let again = app
        .post("/api/v1/award", award_body("ANN@example.com ", "order-1"))
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), &first, "the first voucher, again");
    app.post("/api/v1/award", award_body("bob@example.com", "order-1"))
        .await
        .assert_problem(422, "idempotency_mismatch");
    // An Idempotency-Key works as on every POST.
    let keyed = |hash: &str| {
        app.request(reqwest::Method::POST, "/api/v1/award")
            .header("idempotency-key", "award-key-1")
            .json(&award_body("cy@example.com", hash))
    };
    let once = crate::common::ApiResponse::read(keyed("order-5")).await;
    assert_eq!(once.status(), 201, "{}", once.json());
    let twice = crate::common::ApiResponse::read(keyed("order-5")).await;
    assert_eq!(twice.header("idempotent-replayed"), Some("true"));
    assert_eq!(twice.json(), once.json());
    crate::common::ApiResponse::read(keyed("order-6"))
        .await
        .assert_problem(422, "idempotency_mismatch");
    // One voucher per redeemer: the same email, or the same person by another detail.
    app.post("/api/v1/award", award_body("ann@example.com", "order-2"))
        .await
        .assert_problem(422, "limit_reached");
    app.post(
        "/api/v1/award",
        json!({"redeemer": {"email": "ann@example.com", "name": "Ann"}, "hash": "order-3"}),
    )
    .await
    .assert_problem(422, "limit_reached");
    let bob = app
        .post("/api/v1/award", award_body("bob@example.com", "order-4"))
        .await
        .expect(201);
    assert_ne!(bob["voucher"]["code"], first["voucher"]["code"]);
    let got = api.get_ok(&format!("/api/v1/vaults/{v}")).await;
    assert_eq!(got["available"], 0);
    assert_eq!(got["issued"], 3);
    let seen = interactions(&api, &c).await;
    let awarded = seen.iter().filter(|i| i["outcome"] == "awarded").count();
    let errors: Vec<&str> = seen
        .iter()
        .filter(|i| i["outcome"] == "error")
        .map(|i| i["error_code"].as_str().unwrap())
        .collect();
    assert_eq!(awarded, 3, "a replay writes nothing");
    assert_eq!(
        errors,
        ["limit_reached", "limit_reached", "idempotency_mismatch"]
    );
    t.stop().await;
}

async fn concurrent_awards_hand_out_each_voucher_once(t: TestApp) {
    let (m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let v = id_of(
        &api.create(
            "/api/v1/vaults",
            json!({"name": "Small", "vendor": "Bookshop", "amount": 1000}),
        )
        .await,
    );
    api.create(
        "/api/v1/coupon_codes/bulk_generate",
        json!({"vault_id": v, "count": 25}),
    )
    .await;
    let c = campaign(&api, json!({"name": "Rush", "vault_ids": [v]})).await;
    let app = t.api(&integration(&api, &c, "live").await);

    let mut tasks = Vec::new();
    for n in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.post(
                "/api/v1/award",
                award_body(&format!("person{n}@example.com"), &format!("rush-{n}")),
            )
            .await
        }));
    }
    let mut codes = HashSet::new();
    let mut out = 0;
    for task in tasks {
        let res = task.await.unwrap();
        match res.status().as_u16() {
            201 => {
                let code = res.json()["voucher"]["code"].as_str().unwrap().to_string();
                assert!(codes.insert(code), "a voucher awarded twice");
            }
            409 => {
                assert_eq!(res.json()["code"], "out_of_vouchers");
                out += 1;
            }
            other => panic!("unexpected {other}: {}", res.json()),
        }
    }
    assert_eq!(codes.len(), 25);
    assert_eq!(out, 15);
    let got = api.get_ok(&format!("/api/v1/vaults/{v}")).await;
    assert_eq!(got["available"], 0);
    assert_eq!(got["issued"], 25);
    let seen = interactions(&api, &c).await;
    assert_eq!(seen.len(), 40, "every request is an interaction");
    assert_eq!(
        seen.iter().filter(|i| i["outcome"] == "awarded").count(),
        25
    );
    assert_eq!(
        seen.iter()
            .filter(|i| i["outcome"] == "out_of_vouchers")
            .count(),
        15
    );

    // The report's available vouchers: per linked vault, what is left and what was awarded.
    let available = t
        .app
        .campaign_report(&Scope::new(&m, Env::Prod), &c)
        .await
        .unwrap()
        .available;
    assert_eq!(available.len(), 1);
    let a = &available[0];
    assert_eq!(a.vault_id.as_str(), v);
    assert_eq!(
        (a.vendor.as_str(), a.amount, a.test),
        ("Bookshop", 1000, false)
    );
    assert_eq!(a.available, 0);
    assert_eq!(
        (a.awarded, a.awarded_last_7_days, a.awarded_last_day),
        (25, 25, 25)
    );
    t.stop().await;
}

async fn merchants_and_environments_stay_apart(t: TestApp) {
    let (m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let v = vault(&api, "Bookshop", 1000, false, &["MINE-1"]).await;
    let c = campaign(&api, json!({"name": "Mine", "vault_ids": [v]})).await;
    let app = t.api(&integration(&api, &c, "live").await);

    // The other env of the same merchant, and another merchant, see none of it.
    let dev = t.api(&t.api_key(&m, Env::Dev).await);
    let other_m: MerchantId = t.active_merchant("Other").await;
    let other = t.api(&t.api_key(&other_m, Env::Prod).await);
    for foreign in [&dev, &other] {
        foreign
            .get(&format!("/api/v1/vaults/{v}"))
            .await
            .assert_problem(404, "not_found");
        foreign
            .post(
                "/api/v1/coupon_codes",
                json!({"vault_id": v, "value": "THEIRS"}),
            )
            .await
            .assert_invalid(&["vault_id"]);
        foreign
            .post(
                "/api/v1/voucher_campaigns",
                json!({"name": "Borrowed", "vault_ids": [v]}),
            )
            .await
            .assert_invalid(&["vault_ids"]);
        foreign
            .post(
                &format!("/api/v1/voucher_campaigns/{c}/integrations"),
                json!({"name": "Sneaky"}),
            )
            .await
            .assert_problem(404, "not_found");
        let interactions = foreign
            .get(&format!("/api/v1/campaigns/{c}/interactions"))
            .await;
        interactions.assert_problem_status(404);
    }
    // The integration awards from its own campaign only.
    let got = app
        .post("/api/v1/award", award_body("ann@example.com", "iso-1"))
        .await
        .expect(201);
    assert_eq!(got["voucher"]["code"], "MINE-1");
    t.stop().await;
}

async fn the_vaults_page_lists_and_adds_vaults(t: TestApp) {
    use crate::common::dashboard::merchant_with_member;
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let html = member.page(&t, "/dashboard/vaults").await;
    assert!(html.contains("No vault yet"), "{html}");

    // Every bad field is named next to its input, and what was typed stays.
    let res = member
        .post(
            &t,
            "/dashboard/vaults",
            &[("name", "Books"), ("vendor", ""), ("amount", "ten")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Vendor is required"), "{html}");
    assert!(
        html.contains("Amount must be a whole number of cents"),
        "{html}"
    );
    assert!(html.contains(r#"value="Books""#), "{html}");

    let res = member
        .post(
            &t,
            "/dashboard/vaults",
            &[
                ("name", "Books 10"),
                ("vendor", "Bookshop"),
                ("amount", "1000"),
                ("test", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Its codes go in like a deal's; the page shows the stock.
    let mut made = None;
    for env in [Env::Dev, Env::Prod] {
        let scope = Scope::new(&m, env);
        if let Some(v) = t.app.list_vaults(&scope, None, 10).await.unwrap().pop() {
            made = Some((scope, v));
        }
    }
    let (scope, v) = made.expect("the vault, in the dashboard's environment");
    assert!(v.vault.test);
    assert_eq!(
        (v.vault.vendor.as_str(), v.vault.amount),
        ("Bookshop", 1000)
    );
    t.app
        .generate_codes(&scope, v.vault.id.as_str(), 3)
        .await
        .unwrap();
    let html = member.page(&t, "/dashboard/vaults").await;
    assert!(html.contains("Vault Books 10 added."), "{html}");
    assert!(html.contains(v.vault.id.as_str()), "{html}");
    assert!(
        html.contains(r#"<td data-label="Available">3</td>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<td data-label="Kind">Test</td>"#),
        "{html}"
    );
    t.stop().await;
}

async fn voucher_campaign_pages_create_edit_and_add_integrations(t: TestApp) {
    use crate::common::dashboard::merchant_with_member;
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let res = member
        .post(
            &t,
            "/dashboard/vaults",
            &[
                ("name", "Books test"),
                ("vendor", "Bookshop"),
                ("amount", "1000"),
                ("test", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let mut found = None;
    for env in [Env::Dev, Env::Prod] {
        let scope = Scope::new(&m, env);
        if let Some(v) = t.app.list_vaults(&scope, None, 10).await.unwrap().pop() {
            found = Some((scope, v.vault.id.to_string()));
        }
    }
    let (scope, vault) = found.expect("the vault");
    t.app
        .create_code(&scope, &vault, None, "PAGE-1")
        .await
        .unwrap();

    let html = member.page(&t, "/dashboard/voucher-campaigns/new").await;
    assert!(
        html.contains(&format!(r#"name="vault_ids" value="{vault}""#)),
        "{html}"
    );
    let res = member
        .post(
            &t,
            "/dashboard/voucher-campaigns",
            &[
                ("name", ""),
                ("vault_ids", &vault),
                ("max_per_redeemer", "lots"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Name is required"), "{html}");
    assert!(
        html.contains("Vouchers per customer must be a whole number"),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"value="{vault}" checked"#)),
        "ticks kept: {html}"
    );
    let res = member
        .post(
            &t,
            "/dashboard/voucher-campaigns",
            &[
                ("name", "Thanks"),
                ("vault_ids", &vault),
                ("max_per_redeemer", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let campaign = t
        .app
        .list_voucher_campaigns(&scope, None, None, 10)
        .await
        .unwrap()
        .pop()
        .expect("the campaign");
    let id = campaign.view.campaign.id.to_string();
    assert_eq!(campaign.vault_ids.len(), 1);
    assert_eq!(campaign.view.campaign.max_per_lead, Some(1));
    assert!(!campaign.view.campaign.active, "created paused");
    let html = member.page(&t, "/dashboard/voucher-campaigns").await;
    assert!(html.contains("Thanks"), "{html}");
    let html = member
        .page(&t, &format!("/dashboard/voucher-campaigns/{id}"))
        .await;
    assert!(
        html.contains(&format!(r#"value="{vault}" checked"#)),
        "saved ticks: {html}"
    );

    // An integration's secret is shown once, and works.
    let path = format!("/dashboard/voucher-campaigns/{id}/integrations");
    let html = member.page(&t, &path).await;
    assert!(html.contains("No integration yet"), "{html}");
    let res = member
        .post(&t, &path, &[("name", ""), ("status", "test")])
        .await;
    assert_eq!(res.status(), 422);
    let res = member
        .post(&t, &path, &[("name", "Checkout"), ("status", "test")])
        .await;
    assert_eq!(res.status(), 201);
    let html = res.text().await.unwrap();
    let secret = html
        .split(r#"<code class="secret">"#)
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the secret")
        .to_string();
    let integration = t
        .app
        .list_integrations(&scope, &id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let again = member.page(&t, &path).await;
    assert!(!again.contains(&secret), "shown once");
    assert!(again.contains(integration.id.as_str()));
    let award = t
        .api(&(integration.id.to_string(), secret))
        .post("/api/v1/award", award_body("ann@example.com", "page-1"))
        .await
        .expect(201);
    assert_eq!(award["voucher"]["code"], "PAGE-1");
    let res = member
        .post(
            &t,
            &format!("{path}/{}", integration.id),
            &[("status", "revoked")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = member.page(&t, &path).await;
    assert!(html.contains("Checkout is now revoked."), "{html}");
    t.stop().await;
}

/// The report of a voucher campaign: totals, answers by code, vouchers by type and day, stock
/// per vault; the same after its settled hours are counted and kept, and on its page.
async fn the_report_counts_awards_by_type_answer_and_vault(t: TestApp) {
    let (m, member) = crate::common::dashboard::merchant_with_member(&t, "Acme", true).await;
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, Env::Prod).await;
    let api = t.api(&key);
    let books = vault(&api, "Bookshop", 1000, false, &["B-1", "B-2", "B-3"]).await;
    let films = vault(&api, "Cinema", 500, false, &["F-1"]).await;
    let c = campaign(&api, json!({"name": "Thanks", "vault_ids": [books, films]})).await;
    let app = t.api(&integration(&api, &c, "live").await);
    let award = |email: &str, hash: &str, vendor: &str| json!({"redeemer": {"email": email, "name": "Ann"}, "vendor": vendor, "hash": hash});
    for n in 0..2 {
        app.post(
            "/api/v1/award",
            award(&format!("b{n}@example.com"), &format!("b-{n}"), "Bookshop"),
        )
        .await
        .expect(201);
    }
    app.post("/api/v1/award", award("f@example.com", "f-0", "Cinema"))
        .await
        .expect(201);
    app.post("/api/v1/award", award("f@example.com", "f-1", "Cinema"))
        .await
        .assert_problem(409, "out_of_vouchers");
    for n in 0..3 {
        app.post(
            "/api/v1/award",
            award("x@example.com", &format!("x-{n}"), "Nowhere"),
        )
        .await
        .assert_problem(422, "validation_failed");
    }

    let check = |r: &Value| {
        let totals = &r["totals"];
        assert_eq!(
            (
                &totals["interactions"],
                &totals["awarded"],
                &totals["out_of_vouchers"],
                &totals["errors"],
                &totals["exceptions"]
            ),
            (&json!(7), &json!(3), &json!(1), &json!(3), &json!(0)),
            "{r}"
        );
        assert_eq!(
            r["responses"],
            json!([
                {"outcome": "awarded", "code": null, "interactions": 3},
                {"outcome": "error", "code": "validation_failed", "interactions": 3},
                {"outcome": "out_of_vouchers", "code": "out_of_vouchers", "interactions": 1},
            ]),
            "{r}"
        );
        let types = r["awarded_by_type"].as_array().unwrap();
        let named: Vec<(&str, i64, i64)> = types
            .iter()
            .map(|t| {
                let days = t["by_day"].as_array().unwrap();
                assert_eq!(days.len(), 30);
                let summed: i64 = days.iter().map(|d| d["awarded"].as_i64().unwrap()).sum();
                (
                    t["vendor"].as_str().unwrap(),
                    t["amount"].as_i64().unwrap(),
                    summed,
                )
            })
            .collect();
        assert_eq!(named, vec![("Bookshop", 1000, 2), ("Cinema", 500, 1)]);
        let stock: Vec<(&str, i64, i64, i64, i64)> = r["available"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["vendor"].as_str().unwrap(),
                    a["available"].as_i64().unwrap(),
                    a["awarded"].as_i64().unwrap(),
                    a["awarded_last_7_days"].as_i64().unwrap(),
                    a["awarded_last_day"].as_i64().unwrap(),
                )
            })
            .collect();
        let mut stock = stock;
        stock.sort();
        assert_eq!(
            stock,
            vec![("Bookshop", 1, 2, 2, 2), ("Cinema", 0, 1, 1, 1)]
        );
        let sum = |k: &str, f: &str| {
            r[k].as_array()
                .unwrap()
                .iter()
                .map(|b| b[f].as_i64().unwrap())
                .sum::<i64>()
        };
        assert_eq!(
            (
                sum("by_day", "interactions"),
                sum("by_hour", "interactions")
            ),
            (7, 7)
        );
        assert_eq!((sum("by_day", "awarded"), sum("by_hour", "errors")), (3, 3));
    };
    let path = format!("/api/v1/campaigns/{c}/report");
    let report = api.get_ok(&path).await;
    check(&report);

    // Counted as if two hours had passed: the hours are kept, and the report says the same.
    let scope = Scope::new(&m, Env::Prod);
    let later = punchcard_domain::time::Timestamp::now().plus(time::Duration::hours(2));
    let counted = t.app.count_report_hours_at(later).await.unwrap();
    assert!(counted >= 1, "the campaign had hours to count");
    assert_eq!(
        t.app.count_report_hours_at(later).await.unwrap(),
        0,
        "counted once"
    );
    let campaign_id: CampaignId = c.parse().unwrap();
    let mut conn = t.app.db.conn().await.unwrap();
    let kept = punchcard_store::campaign_reports::counted_until(&mut conn, &m, &campaign_id)
        .await
        .unwrap()
        .expect("a mark");
    assert!(kept > punchcard_domain::time::Timestamp::now());
    drop(conn);
    let at_later = t.app.campaign_report_at(&scope, &c, later).await.unwrap();
    assert_eq!(
        at_later.totals,
        t.app.campaign_report(&scope, &c).await.unwrap().totals
    );
    assert_eq!(
        (at_later.totals.interactions, at_later.totals.awarded),
        (7, 3)
    );
    check(&api.get_ok(&path).await);

    // The campaign page draws it and lists the redeemers.
    let html = member.page(&t, &format!("/dashboard/campaigns/{c}")).await;
    for shown in [
        "id=\"chart-awarded-day\"",
        "id=\"chart-errors-hour\"",
        "id=\"chart-by-type\"",
        "Bookshop 1000",
        "data-response=\"error:validation_failed\"",
        "API statistics",
        "Available vouchers",
        "What the outcomes mean",
        "f@example.com",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    t.stop().await;
}

/// Reports read at once by many while the hours are counted: each hour is counted once.
async fn concurrent_reports_count_each_hour_once(t: TestApp) {
    let (m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let v = vault(&api, "Bookshop", 1000, false, &["C-1", "C-2", "C-3", "C-4"]).await;
    let c = campaign(&api, json!({"name": "Busy", "vault_ids": [v]})).await;
    let app = t.api(&integration(&api, &c, "live").await);
    for n in 0..4 {
        app.post(
            "/api/v1/award",
            award_body(&format!("r{n}@example.com"), &format!("r-{n}")),
        )
        .await
        .expect(201);
    }
    let scope = Scope::new(&m, Env::Prod);
    let later = punchcard_domain::time::Timestamp::now().plus(time::Duration::hours(3));
    let reports: Vec<_> = (0..8)
        .map(|_| {
            let app = t.app.clone();
            let scope = scope.clone();
            let c = c.clone();
            tokio::spawn(async move { app.campaign_report_at(&scope, &c, later).await })
        })
        .collect();
    for r in reports {
        let r = r.await.unwrap().unwrap();
        assert_eq!((r.totals.interactions, r.totals.awarded), (4, 4));
    }
    let again = t.app.campaign_report_at(&scope, &c, later).await.unwrap();
    assert_eq!(again.totals.awarded, 4);
    t.stop().await;
}

/// The reporting page of a voucher campaign with a month of awards, in Chromium at desktop and
/// phone widths: every chart draws bars, the tables hold the numbers, nothing overflows.
async fn the_reporting_page_draws_its_charts_in_the_browser(t: TestApp) {
    use crate::browser_support::Browser;
    use punchcard_domain::time::Timestamp;
    use punchcard_store::campaigns::{InteractionRow, Outcome};
    let Some(b) = Browser::launch(&t.base).await else {
        return;
    };
    let shots = t.backend == crate::common::Backend::Sqlite;
    let email = format!(
        "owner-{}@vouchers.example",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let (m, _) = t
        .app
        .create_merchant(
            punchcard_app::merchants::NewMerchant::parse(
                "Harbour Books",
                &email,
                crate::campaigns_dashboard::PASSWORD,
                true,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, Env::Prod).await;
    let api = t.api(&key);
    let codes: Vec<String> = (0..40).map(|n| format!("BK-{n}")).collect();
    let code_refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let books = vault(&api, "Bookshop", 1000, false, &code_refs).await;
    let films = vault(&api, "Cinema", 500, false, &["CN-1", "CN-2"]).await;
    let c = campaign(
        &api,
        json!({"name": "Spring thanks", "vault_ids": [books, films]}),
    )
    .await;
    // Three weeks of history, oldest first, as awards would have left it, then today's.
    let campaign_id: CampaignId = c.parse().unwrap();
    let now = Timestamp::now();
    let mut tx = t.app.db.begin_write().await.unwrap();
    for day in (1..22i64).rev() {
        let at = now.minus(time::Duration::days(day));
        for k in 0..((day * 7) % 9 + 1) {
            let (vault_id, vendor, amount) = if k % 4 == 0 {
                (&films, "Cinema", 500)
            } else {
                (&books, "Bookshop", 1000)
            };
            let row = InteractionRow {
                vault_id: Some(vault_id.clone()),
                vendor: Some(vendor.into()),
                amount: Some(amount),
                redeemer_email: Some(format!("d{day}k{k}@example.com")),
                ..InteractionRow::new(&m, Env::Prod, &campaign_id, Outcome::Awarded, at)
            };
            punchcard_store::campaigns::insert_interaction(&mut tx, &row)
                .await
                .unwrap();
        }
        if day % 4 == 0 {
            let row = InteractionRow {
                error_code: Some("validation_failed".into()),
                ..InteractionRow::new(&m, Env::Prod, &campaign_id, Outcome::Error, at)
            };
            punchcard_store::campaigns::insert_interaction(&mut tx, &row)
                .await
                .unwrap();
        }
    }
    punchcard_store::commit(tx).await.unwrap();
    let app = t.api(&integration(&api, &c, "live").await);
    for n in 0..6 {
        app.post(
            "/api/v1/award",
            json!({"redeemer": {"email": format!("r{n}@example.com"), "name": format!("Reader {n}")},
                   "vendor": if n % 3 == 0 { "Cinema" } else { "Bookshop" }, "hash": format!("a-{n}")}),
        )
        .await;
    }
    app.post(
        "/api/v1/award",
        json!({"redeemer": {"email": "x@example.com"}, "vendor": "Nowhere", "hash": "bad"}),
    )
    .await
    .assert_problem(422, "validation_failed");

    crate::campaigns_dashboard::sign_in(&t, &b, &email).await;
    b.open(&format!("/dashboard/campaigns/{c}")).await;
    b.wait_text("API statistics").await;
    for drawn in [
        "#chart-awarded-day rect.series-1",
        "#chart-awarded-hour rect.series-1",
        "#chart-errors-day rect.series-1",
        "#chart-by-type rect.series-2",
        "#api-statistics tr[data-response='error:validation_failed']",
        "#available-vouchers tr",
    ] {
        b.find(drawn).await;
    }
    b.wait_text("Bookshop 1000").await;
    b.wait_text("Reader 5").await;
    if shots {
        b.screenshot_full("40-voucher-report").await;
    }
    for width in [360, 390] {
        b.phone(width, 800).await;
        b.open(&format!("/dashboard/campaigns/{c}")).await;
        b.wait_text("API statistics").await;
        b.assert_fits_screen(width).await;
        if shots && width == 390 {
            b.screenshot_phone("41-voucher-report-phone", 390, 800)
                .await;
        }
    }
    b.desktop().await;
    b.quit().await;
    t.stop().await;
}

/// A request that fails inside the server is answered 500 and still recorded, as an
/// `exception` with its code, in the interactions and the report.
async fn a_failure_inside_the_server_is_recorded_as_an_exception(t: TestApp) {
    let (_m, key, _) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let v = vault(&api, "Bookshop", 1000, false, &["E-1"]).await;
    let c = campaign(&api, json!({"name": "Fragile", "vault_ids": [v]})).await;
    let app = t.api(&integration(&api, &c, "live").await);
    // A vault row the server cannot read: every award of the campaign fails inside it.
    let spoil = |env: &str| {
        punchcard_store::query("UPDATE vaults SET env = $1 WHERE id = $2")
            .bind(env.to_string())
            .bind(v.clone())
    };
    let mut conn = t.app.db.conn().await.unwrap();
    spoil("nowhere").execute(&mut conn).await.unwrap();
    drop(conn);
    app.post("/api/v1/award", award_body("ann@example.com", "e-1"))
        .await
        .assert_problem(500, "internal_error");
    let seen = interactions(&api, &c).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["outcome"], "exception");
    assert_eq!(seen[0]["error_code"], "internal_error");
    assert_eq!(
        seen[0]["redeemer"]["email"], "ann@example.com",
        "{}",
        seen[0]
    );
    assert_eq!(t.app.unrecorded_count(), 0);

    // The database refuses interactions for a while: the exception is kept, then written.
    let (refuse, allow): (&[&str], &[&str]) = match t.backend {
        crate::common::Backend::Sqlite => (
            &[
                "CREATE TRIGGER refuse BEFORE INSERT ON campaign_interactions \
               BEGIN SELECT RAISE(ABORT, 'out of reach'); END",
            ],
            &["DROP TRIGGER refuse"],
        ),
        crate::common::Backend::Postgres => (
            &[
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'out of reach'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse BEFORE INSERT ON campaign_interactions \
                 FOR EACH ROW EXECUTE FUNCTION refuse()",
            ],
            &["DROP TRIGGER refuse ON campaign_interactions"],
        ),
    };
    let run = |sql: &[&str]| {
        let sql: Vec<String> = sql.iter().map(|s| s.to_string()).collect();
        let db = t.app.db.clone();
        async move {
            let mut conn = db.conn().await.unwrap();
            for s in sql {
                punchcard_store::query(s).execute(&mut conn).await.unwrap();
            }
        }
    };
    run(refuse).await;
    app.post("/api/v1/award", award_body("bob@example.com", "e-2"))
        .await
        .assert_problem(500, "internal_error");
    assert_eq!(t.app.unrecorded_count(), 1);
    assert_eq!(t.app.record_unrecorded().await, 0, "still refused");
    assert_eq!(t.app.unrecorded_count(), 1, "kept");
    run(allow).await;
    assert_eq!(t.app.record_unrecorded().await, 1);
    assert_eq!(t.app.unrecorded_count(), 0);
    let seen = interactions(&api, &c).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0]["redeemer"]["email"], "bob@example.com");
    assert_eq!(seen[0]["outcome"], "exception");

    // Mended, the same hash is a new attempt and awards.
    let mut conn = t.app.db.conn().await.unwrap();
    spoil("prod").execute(&mut conn).await.unwrap();
    drop(conn);
    app.post("/api/v1/award", award_body("ann@example.com", "e-1"))
        .await
        .expect(201);
    let report = api.get_ok(&format!("/api/v1/campaigns/{c}/report")).await;
    assert_eq!(report["totals"]["exceptions"], 2, "{report}");
    assert_eq!(report["totals"]["awarded"], 1);
    t.stop().await;
}

on_both_backends!(
    vaults_hold_codes_added_generated_and_uploaded,
    statuses_follow_dates_and_configuration,
    integrations_award_their_own_kind_of_voucher,
    awards_are_idempotent_and_limited_per_redeemer,
    concurrent_awards_hand_out_each_voucher_once,
    merchants_and_environments_stay_apart,
    the_vaults_page_lists_and_adds_vaults,
    voucher_campaign_pages_create_edit_and_add_integrations,
    the_report_counts_awards_by_type_answer_and_vault,
    concurrent_reports_count_each_hour_once,
    the_reporting_page_draws_its_charts_in_the_browser,
    a_failure_inside_the_server_is_recorded_as_an_exception,
);
