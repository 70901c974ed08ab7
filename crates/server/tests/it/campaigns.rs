//! The campaign engine over HTTP, through API-triggered rules: creating and validating rules,
//! statuses computed from dates and configuration, which keys may trigger a rule, earn and
//! redeem awards with their limits, retries by hash, and a budget that concurrent triggers
//! never overshoot.

use std::sync::Arc;

use crate::common::api::id_of;
use crate::common::{ids, Key, TestApp};
use punchcard_domain::{Env, MerchantId};
use serde_json::{json, Value};
use time::Duration;

/// An active merchant with a fast rate limit; answers it, a key of `env` and its PTS currency.
async fn merchant(t: &TestApp, env: Env) -> (MerchantId, Key, String) {
    let m = t.active_merchant("Acme").await;
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, env).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    (m, key, currency)
}

/// RFC 3339 of now shifted by `days`.
fn days_from_now(days: i64) -> String {
    punchcard_domain::time::Timestamp::now()
        .plus(Duration::days(days))
        .to_rfc3339()
}

/// Creates a rule authorized for `key` and activates it; answers its id.
async fn live_rule(t: &TestApp, key: &Key, body: Value) -> String {
    let mut body = body;
    body["authorized_key_ids"] = json!([key.0]);
    let rule = t.api(key).create("/api/v1/rules", body).await;
    let id = id_of(&rule);
    let on = t
        .api(key)
        .post(&format!("/api/v1/rules/{id}/activate"), json!({}))
        .await
        .expect(200);
    assert_eq!(on["status"], "live", "{on}");
    id
}

async fn trigger(t: &TestApp, key: &Key, rule: &str, body: Value) -> crate::common::ApiResponse {
    t.api(key)
        .post(&format!("/api/v1/rules/{rule}/trigger"), body)
        .await
}

async fn rules_are_created_validated_listed_and_changed(t: TestApp) {
    let (_m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);

    // Every bad field at once; nothing written.
    api.post(
        "/api/v1/rules",
        json!({"name": "", "type": "spend", "currency_id": "cur_x", "points": 5, "rate": "0.1",
               "cap_max": 0, "budget": -1, "starts_at": "tomorrow",
               "authorized_key_ids": ["key_nope"]}),
    )
    .await
    .assert_invalid(&[
        "name",
        "type",
        "currency_id",
        "rate",
        "cap_max",
        "budget",
        "starts_at",
        "authorized_key_ids",
    ]);
    api.post(
        "/api/v1/rules",
        json!({"name": "Nothing", "type": "earn", "currency_id": cur}),
    )
    .await
    .assert_invalid(&["points"]);
    api.post(
        "/api/v1/rules",
        json!({"name": "Bad rate", "type": "earn", "currency_id": cur, "rate": "0.0000001"}),
    )
    .await
    .assert_invalid(&["rate"]);
    api.post(
        "/api/v1/rules",
        json!({"name": "Backwards", "type": "earn", "currency_id": cur, "points": 1,
               "starts_at": days_from_now(2), "ends_at": days_from_now(1)}),
    )
    .await
    .assert_invalid(&["ends_at"]);
    assert_eq!(
        api.get_ok("/api/v1/rules").await["data"],
        json!([]),
        "nothing written"
    );

    // A rate as a JSON number is the same exact decimal as its string.
    let rule = api
        .create(
            "/api/v1/rules",
            json!({"name": "Per purchase", "type": "earn", "currency_id": cur, "rate": 0.1,
                   "cap_max": 50, "max_per_lead": 3, "budget": 1000,
                   "authorized_key_ids": [key.0]}),
        )
        .await;
    let id = id_of(&rule);
    assert!(id.starts_with("cmp_"));
    assert_eq!(rule["kind"], "rule");
    assert_eq!(rule["type"], "earn");
    assert_eq!(rule["rate"], "0.1");
    assert_eq!(rule["points"], Value::Null);
    assert_eq!(rule["budget_used"], 0);
    assert_eq!(rule["active"], false);
    assert_eq!(rule["status"], "pending", "not activated yet");
    assert_eq!(rule["authorized_key_ids"], json!([key.0]));
    assert_eq!(rule["share"]["id"], id);
    assert_eq!(rule["share"]["type"], "earn");
    assert_eq!(rule["share"]["env"], "prod");
    assert!(rule["share"]["endpoint"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/rules/{id}/trigger")));
    let text = rule.to_string();
    assert!(!text.contains(&key.1), "no secret is shared");

    assert_eq!(api.get_ok(&format!("/api/v1/rules/{id}")).await, rule);
    assert_eq!(ids(&api.get_ok("/api/v1/rules").await), vec![id.clone()]);

    // Changes are checked as on create; `null` clears.
    api.patch(&format!("/api/v1/rules/{id}"), json!({"rate": "abc"}))
        .await
        .assert_invalid(&["rate"]);
    let changed = api
        .patch(
            &format!("/api/v1/rules/{id}"),
            json!({"name": "Per purchase, capped", "rate": "2.5", "budget": null}),
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "Per purchase, capped");
    assert_eq!(changed["rate"], "2.5");
    assert_eq!(changed["budget"], Value::Null);
    assert_eq!(changed["cap_max"], 50);

    // Activation makes it live; deactivation pending again.
    let on = api
        .post(&format!("/api/v1/rules/{id}/activate"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (on["active"].clone(), on["status"].clone()),
        (json!(true), json!("live"))
    );
    let off = api
        .post(&format!("/api/v1/rules/{id}/deactivate"), json!({}))
        .await
        .expect(200);
    assert_eq!(off["status"], "pending");

    // Without an authorized key a rule stays pending even when activated.
    let keyless = api
        .create(
            "/api/v1/rules",
            json!({"name": "Keyless", "type": "redeem", "currency_id": cur, "points": 10}),
        )
        .await;
    let keyless = api
        .post(
            &format!("/api/v1/rules/{}/activate", id_of(&keyless)),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(keyless["status"], "pending");

    // Unknown ids and other kinds' ids are 404.
    api.get("/api/v1/rules/cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")
        .await
        .assert_problem(404, "not_found");
    api.get("/api/v1/rules/deal_01jd3x1m2n3p4q5r6s7t8v9w0x")
        .await
        .assert_problem(404, "not_found");
    t.stop().await;
}

async fn statuses_follow_the_dates(t: TestApp) {
    let (_m, key, cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let rule = |name: &str, starts: Option<i64>, ends: Option<i64>| {
        json!({"name": name, "type": "earn", "currency_id": cur, "points": 1,
               "starts_at": starts.map(days_from_now), "ends_at": ends.map(days_from_now)})
    };
    let live = live_rule(&t, &key, rule("Live", Some(-1), Some(1))).await;
    let upcoming = {
        let mut body = rule("Upcoming", Some(2), None);
        body["authorized_key_ids"] = json!([key.0]);
        let r = api.create("/api/v1/rules", body).await;
        let on = api
            .post(&format!("/api/v1/rules/{}/activate", id_of(&r)), json!({}))
            .await
            .expect(200);
        assert_eq!(on["status"], "pending", "before its start");
        id_of(&r)
    };
    let completed = {
        let mut body = rule("Completed", Some(-10), Some(-1));
        body["authorized_key_ids"] = json!([key.0]);
        let r = api.create("/api/v1/rules", body).await;
        assert_eq!(r["status"], "completed", "past its end, even switched off");
        id_of(&r)
    };
    let archived = {
        let r = api
            .create("/api/v1/rules", rule("Archived", Some(-60), Some(-31)))
            .await;
        assert_eq!(r["status"], "archived");
        id_of(&r)
    };

    // Archived campaigns are hidden unless asked for.
    let all = api.get_ok("/api/v1/campaigns").await;
    assert_eq!(
        ids(&all),
        vec![live.clone(), upcoming.clone(), completed.clone()]
    );
    let statuses: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["live", "pending", "completed"]);
    assert!(all["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["kind"] == "rule"));
    for (status, want) in [
        ("live", &live),
        ("pending", &upcoming),
        ("completed", &completed),
        ("archived", &archived),
    ] {
        assert_eq!(
            ids(&api
                .get_ok(&format!("/api/v1/campaigns?status={status}"))
                .await),
            vec![want.clone()],
            "{status}"
        );
        assert_eq!(
            ids(&api.get_ok(&format!("/api/v1/rules?status={status}")).await),
            vec![want.clone()],
            "{status}"
        );
    }
    assert_eq!(
        ids(&api.get_ok("/api/v1/campaigns?kind=task").await),
        Vec::<String>::new()
    );
    api.get("/api/v1/campaigns?status=sleeping")
        .await
        .assert_invalid(&["status"]);

    // Only a live rule awards.
    let (lead, _wallet) = api.lead_with_wallet("cust-0001", &cur).await;
    for rule in [&upcoming, &completed] {
        trigger(&t, &key, rule, json!({"lead_id": lead, "hash": "h1"}))
            .await
            .assert_problem(422, "campaign_not_live");
    }
    trigger(&t, &key, &live, json!({"lead_id": lead, "hash": "h1"}))
        .await
        .expect(201);

    // Moving the dates moves the status.
    let moved = api
        .patch(
            &format!("/api/v1/rules/{upcoming}"),
            json!({"starts_at": null}),
        )
        .await
        .expect(200);
    assert_eq!(moved["status"], "live");
    t.stop().await;
}

async fn dev_caps_active_campaigns_at_ten(t: TestApp) {
    let (_m, key, cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let mut rules = Vec::new();
    for i in 0..11 {
        let r = api
            .create(
                "/api/v1/rules",
                json!({"name": format!("Rule {i}"), "type": "earn", "currency_id": cur,
                       "points": 1, "authorized_key_ids": [key.0]}),
            )
            .await;
        rules.push(id_of(&r));
    }
    let t = Arc::new(t);
    let mut handles = Vec::new();
    for id in &rules {
        let api = t.api(&key);
        let id = id.clone();
        handles.push(tokio::spawn(async move {
            api.post(&format!("/api/v1/rules/{id}/activate"), json!({}))
                .await
        }));
    }
    let mut on = 0;
    for h in handles {
        let res = h.await.unwrap();
        if res.status() == 200 {
            on += 1;
        } else {
            res.assert_problem(422, "limit_reached");
        }
    }
    assert_eq!(on, 10);
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

async fn triggers_award_under_the_rules_limits(t: TestApp) {
    let (m, key, cur) = merchant(&t, Env::Prod).await;
    let other_key = t.api_key(&m, Env::Prod).await;
    let api = t.api(&key);
    let (lead, wallet) = api.lead_with_wallet("cust-0001", &cur).await;

    // Fixed points, earn.
    let fixed = live_rule(
        &t,
        &key,
        json!({"name": "Signup bonus", "type": "earn", "currency_id": cur, "points": 25,
               "max_per_lead": 2}),
    )
    .await;
    let first = trigger(
        &t,
        &key,
        &fixed,
        json!({"lead_id": lead, "hash": "order-1"}),
    )
    .await
    .expect(201);
    assert_eq!(first["outcome"], "awarded");
    assert_eq!(first["points"], 25);
    let tx = &first["wallet_transaction"];
    assert_eq!(tx["kind"], "reward");
    assert_eq!(tx["amount"], 25);
    assert_eq!(tx["balance_after"], 25);
    assert_eq!(api.balance(&wallet).await, 25);
    let posted = api
        .get_ok(&format!("/api/v1/wallet_transactions/{}", id_of(tx)))
        .await;
    assert_eq!(posted["id"], tx["id"]);

    // A repeated hash answers the first answer and moves nothing.
    let again = trigger(
        &t,
        &key,
        &fixed,
        json!({"lead_id": lead, "hash": "order-1"}),
    )
    .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let again = again.expect(201);
    assert_eq!(again["interaction_id"], first["interaction_id"]);
    assert_eq!(again["wallet_transaction"], first["wallet_transaction"]);
    assert_eq!(api.balance(&wallet).await, 25);
    trigger(
        &t,
        &key,
        &fixed,
        json!({"customer_id": "cust-0001", "hash": "order-1"}),
    )
    .await
    .assert_problem(422, "idempotency_mismatch");

    // By customer id; then the per-lead limit.
    trigger(
        &t,
        &key,
        &fixed,
        json!({"customer_id": "cust-0001", "hash": "order-2"}),
    )
    .await
    .expect(201);
    trigger(
        &t,
        &key,
        &fixed,
        json!({"lead_id": lead, "hash": "order-3"}),
    )
    .await
    .assert_problem(422, "limit_reached");
    assert_eq!(api.balance(&wallet).await, 50);

    // Only listed keys may trigger.
    trigger(
        &t,
        &other_key,
        &fixed,
        json!({"lead_id": lead, "hash": "order-4"}),
    )
    .await
    .assert_problem(403, "not_authorized");

    // Bad triggers.
    trigger(&t, &key, &fixed, json!({"hash": "x"}))
        .await
        .assert_invalid(&["lead_id"]);
    trigger(
        &t,
        &key,
        &fixed,
        json!({"lead_id": "lead_01jd3x1m2n3p4q5r6s7t8v9w0x", "hash": "x"}),
    )
    .await
    .assert_invalid(&["lead_id"]);
    trigger(&t, &key, &fixed, json!({"lead_id": lead}))
        .await
        .assert_invalid(&["hash"]);

    // A rate per unit, rounded down and capped; the wallet of a new lead opens itself.
    let rate = live_rule(
        &t,
        &key,
        json!({"name": "Per purchase", "type": "earn", "currency_id": cur, "rate": "0.1",
               "cap_max": 30}),
    )
    .await;
    let buyer = api
        .create(
            "/api/v1/leads",
            json!({"customer_id": "cust-0002", "email": "b@example.com"}),
        )
        .await;
    let r = trigger(
        &t,
        &key,
        &rate,
        json!({"lead_id": id_of(&buyer), "amount": 199, "hash": "p1"}),
    )
    .await
    .expect(201);
    assert_eq!(r["points"], 19, "floor(199 × 0.1)");
    let buyer_wallet = r["wallet_transaction"]["wallet_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = trigger(
        &t,
        &key,
        &rate,
        json!({"lead_id": id_of(&buyer), "amount": 100000, "hash": "p2"}),
    )
    .await
    .expect(201);
    assert_eq!(r["points"], 30, "at most cap_max");
    trigger(&t, &key, &rate, json!({"lead_id": lead, "hash": "p3"}))
        .await
        .assert_invalid(&["amount"]);
    trigger(
        &t,
        &key,
        &rate,
        json!({"lead_id": lead, "amount": 5, "hash": "p4"}),
    )
    .await
    .assert_invalid(&["amount"]);
    assert_eq!(api.balance(&buyer_wallet).await, 49);

    // A redeem rule debits, and refuses what the wallet cannot pay, writing only the
    // interaction.
    let redeem = live_rule(
        &t,
        &key,
        json!({"name": "Pay with points", "type": "redeem", "currency_id": cur, "points": 40}),
    )
    .await;
    let paid = trigger(&t, &key, &redeem, json!({"lead_id": lead, "hash": "r1"}))
        .await
        .expect(201);
    assert_eq!(paid["points"], -40);
    assert_eq!(paid["wallet_transaction"]["kind"], "redeem");
    assert_eq!(paid["wallet_transaction"]["amount"], -40);
    assert_eq!(api.balance(&wallet).await, 10);
    trigger(&t, &key, &redeem, json!({"lead_id": lead, "hash": "r2"}))
        .await
        .assert_problem(409, "insufficient_balance");
    assert_eq!(api.balance(&wallet).await, 10);
    let seen = api
        .get_ok(&format!("/api/v1/campaigns/{redeem}/interactions"))
        .await;
    let outcomes: Vec<(Value, Value)> = seen["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["outcome"].clone(), i["error_code"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (json!("error"), json!("insufficient_balance")),
            (json!("awarded"), Value::Null)
        ],
        "every trigger is recorded, newest first"
    );
    let refused = api
        .get_ok(&format!(
            "/api/v1/campaigns/{fixed}/interactions?outcome=error"
        ))
        .await;
    let codes: Vec<&str> = refused["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["error_code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "validation_failed",
            "validation_failed",
            "validation_failed",
            "not_authorized",
            "limit_reached",
            "idempotency_mismatch"
        ]
    );

    // The ledger names the campaign on every transaction it posted.
    let txs = api
        .get_ok(&format!("/api/v1/wallet_transactions?wallet_id={wallet}"))
        .await;
    assert_eq!(txs["data"].as_array().unwrap().len(), 3);
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    t.stop().await;
}

async fn concurrent_triggers_never_overshoot_the_budget(t: TestApp) {
    let (m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let mut leads = Vec::new();
    for i in 0..4 {
        let lead = api
            .create(
                "/api/v1/leads",
                json!({"customer_id": format!("cust-000{i}"), "email": format!("c{i}@example.com")}),
            )
            .await;
        leads.push(id_of(&lead));
    }
    let rule = live_rule(
        &t,
        &key,
        json!({"name": "Limited", "type": "earn", "currency_id": cur, "points": 7,
               "budget": 700}),
    )
    .await;
    let t = Arc::new(t);
    let mut handles = Vec::new();
    for i in 0..200 {
        let (api, rule, lead) = (t.api(&key), rule.clone(), leads[i % 4].clone());
        handles.push(tokio::spawn(async move {
            let res = api
                .post(
                    &format!("/api/v1/rules/{rule}/trigger"),
                    json!({"lead_id": lead, "hash": format!("t-{i}")}),
                )
                .await;
            (res.status().as_u16(), res.into_json())
        }));
    }
    let (mut awarded, mut refused) = (0, 0);
    for h in handles {
        let (status, body) = h.await.unwrap();
        match status {
            201 => awarded += 1,
            422 => {
                assert_eq!(body["code"], "limit_reached", "{body}");
                refused += 1;
            }
            s => panic!("unexpected {s}: {body}"),
        }
    }
    assert_eq!((awarded, refused), (100, 100));
    let rule_now = api.get_ok(&format!("/api/v1/rules/{rule}")).await;
    assert_eq!(rule_now["budget_used"], 700);
    let mut total = 0;
    for lead in &leads {
        let wallets = api.get_ok(&format!("/api/v1/wallets?lead_id={lead}")).await;
        total += wallets["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["balance"].as_i64().unwrap())
            .sum::<i64>();
    }
    assert_eq!(total, 700, "the budget, exactly");
    let quota = api.get_ok("/api/v1/quota").await;
    assert_eq!(quota["rewards"]["used"], 100, "{quota}");
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

on_both_backends!(
    rules_are_created_validated_listed_and_changed,
    statuses_follow_the_dates,
    dev_caps_active_campaigns_at_ten,
    triggers_award_under_the_rules_limits,
    concurrent_triggers_never_overshoot_the_budget,
);

/// Triggers wait for the key's callback: a refusal moves nothing and is recorded.
mod callback {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{StatusCode, Uri};
    use axum::Router;
    use punchcard_domain::Env;
    use serde_json::{json, Value};

    use super::{live_rule, trigger};
    use crate::common::api::id_of;
    use crate::common::{Backend, Key, TestApp};

    type Seen = Arc<Mutex<Vec<Value>>>;

    /// The merchant's side: approves at `/ok`, refuses anywhere else; keeps every body.
    async fn endpoint(State(seen): State<Seen>, uri: Uri, body: Bytes) -> StatusCode {
        seen.lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        if uri.path() == "/ok" {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        }
    }

    async fn key_with_callback(t: &TestApp, m: &punchcard_domain::MerchantId, url: &str) -> Key {
        let k = t
            .app
            .create_api_key(m, Env::Dev, "hooked", Some(url))
            .await
            .expect("key created");
        (k.id.to_string(), k.secret)
    }

    async fn triggers_wait_for_the_callback(backend: Backend) {
        let Some(t) = TestApp::start(backend, |c| c.allow_private_callbacks = true).await else {
            return;
        };
        let seen: Seen = Arc::default();
        let router = Router::new().fallback(endpoint).with_state(seen.clone());
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });

        let m = t.active_merchant("Acme").await;
        let cur = t.app.list_currencies(&m, None, 1).await.unwrap()[0]
            .id
            .to_string();
        let approving = key_with_callback(&t, &m, &format!("http://{addr}/ok")).await;
        let refusing = key_with_callback(&t, &m, &format!("http://{addr}/no")).await;
        let (lead, wallet) = t.api(&approving).lead_with_wallet("cust-0001", &cur).await;
        let rule = live_rule(
            &t,
            &approving,
            json!({"name": "Hooked", "type": "earn", "currency_id": cur, "points": 9}),
        )
        .await;
        t.api(&approving)
            .patch(
                &format!("/api/v1/rules/{rule}"),
                json!({"authorized_key_ids": [approving.0, refusing.0]}),
            )
            .await
            .expect(200);

        trigger(&t, &refusing, &rule, json!({"lead_id": lead, "hash": "c1"}))
            .await
            .assert_problem(422, "callback_rejected");
        assert_eq!(t.api(&approving).balance(&wallet).await, 0, "nothing moved");
        let done = trigger(
            &t,
            &approving,
            &rule,
            json!({"lead_id": lead, "hash": "c2"}),
        )
        .await
        .expect(201);
        assert_eq!(done["points"], 9);
        assert_eq!(t.api(&approving).balance(&wallet).await, 9);
        let bodies = seen.lock().unwrap().clone();
        assert_eq!(bodies.len(), 2, "{bodies:?}");
        for body in &bodies {
            assert_eq!(body["kind"], "reward");
            assert_eq!(body["amount"], 9);
            assert_eq!(body["lead_id"], lead);
        }
        let refused = t
            .api(&approving)
            .get_ok(&format!(
                "/api/v1/campaigns/{rule}/interactions?outcome=error"
            ))
            .await;
        assert_eq!(refused["data"][0]["error_code"], "callback_rejected");
        assert_eq!(id_of(&refused["data"][0]).len(), 30);
        t.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        triggers_wait_for_the_callback(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        triggers_wait_for_the_callback(Backend::Postgres).await;
    }
}
