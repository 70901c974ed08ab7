//! Tasks over HTTP: creating and validating them, statuses across dates, progress per lead
//! and period window, completion rewarded in points or a deal's coupon, new cycles up to
//! `max_per_lead`, retries by hash, 40 concurrent activities that complete a task once, a
//! budget and a per-lead limit that concurrency never overshoots, and the active-campaign cap
//! across kinds.

use std::sync::Arc;

use crate::common::api::id_of;
use crate::common::api::ApiClient;
use crate::common::{ids, Key, TestApp};
use punchcard_domain::{Env, MerchantId};
use serde_json::{json, Value};
use time::Duration;

/// An active merchant with a fast rate limit; answers it, a key of `env` and its PTS currency.
pub(crate) async fn merchant(t: &TestApp, env: Env) -> (MerchantId, Key, String) {
    let m = t.active_merchant("Acme").await;
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, env).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    (m, key, currency)
}

/// RFC 3339 of now shifted by `days`.
pub(crate) fn days_from_now(days: i64) -> String {
    punchcard_domain::time::Timestamp::now()
        .plus(Duration::days(days))
        .to_rfc3339()
}

/// An available deal with `codes` unique codes in its vault; answers its id.
pub(crate) async fn deal_with_codes(api: &ApiClient, codes: i64) -> String {
    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": "Free coffee", "description": "One coffee", "kind": "voucher",
                   "sell_price": 5, "available": true, "visibility": "private"}),
        )
        .await;
    let id = id_of(&deal);
    api.create(
        "/api/v1/coupon_codes/bulk_generate",
        json!({"deal_id": id, "count": codes}),
    )
    .await;
    id
}

/// A lead; answers its id.
pub(crate) async fn lead(api: &ApiClient, customer_id: &str) -> String {
    id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": customer_id, "email": format!("{customer_id}@example.com")}),
        )
        .await,
    )
}

async fn act(api: &ApiClient, task: &str, lead: &str, hash: &str) -> crate::common::ApiResponse {
    api.post(
        "/api/v1/task_activities",
        json!({"task_id": task, "lead_id": lead, "hash": hash}),
    )
    .await
}

fn points_task(cur: &str, count: i64) -> Value {
    json!({"name": "Ride often", "reward": "points", "currency_id": cur, "count": count,
           "min_reward": 10, "max_reward": 20})
}

async fn tasks_are_created_validated_listed_and_changed(t: TestApp) {
    let (_m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let deal = deal_with_codes(&api, 1).await;

    // Every bad field at once; nothing written.
    api.post(
        "/api/v1/tasks",
        json!({"name": "", "reward": "cash", "currency_id": "cur_x", "count": 0,
               "period": "year", "max_per_lead": 0, "budget": -1, "starts_at": "soon"}),
    )
    .await
    .assert_invalid(&[
        "name",
        "reward",
        "currency_id",
        "count",
        "period",
        "max_per_lead",
        "budget",
        "starts_at",
    ]);
    api.post(
        "/api/v1/tasks",
        json!({"name": "Points", "reward": "points", "count": 1001, "deal_id": deal}),
    )
    .await
    .assert_invalid(&["currency_id", "count", "min_reward", "deal_id"]);
    api.post(
        "/api/v1/tasks",
        json!({"name": "Range", "reward": "points", "currency_id": cur, "count": 3,
               "min_reward": 20, "max_reward": 10}),
    )
    .await
    .assert_invalid(&["max_reward"]);
    api.post(
        "/api/v1/tasks",
        json!({"name": "Deal", "reward": "deal", "count": 3, "min_reward": 1,
               "max_reward": 2}),
    )
    .await
    .assert_invalid(&["deal_id", "min_reward", "max_reward"]);
    api.post(
        "/api/v1/tasks",
        json!({"name": "Deal", "reward": "deal", "count": 3,
               "deal_id": "deal_01jd3x1m2n3p4q5r6s7t8v9w0x"}),
    )
    .await
    .assert_invalid(&["deal_id"]);
    api.post(
        "/api/v1/tasks",
        json!({"name": "Backwards", "reward": "points", "currency_id": cur, "count": 1,
               "min_reward": 1, "starts_at": days_from_now(2), "ends_at": days_from_now(1)}),
    )
    .await
    .assert_invalid(&["ends_at"]);
    assert_eq!(api.get_ok("/api/v1/tasks").await["data"], json!([]));

    let task = api.create("/api/v1/tasks", points_task(&cur, 3)).await;
    let id = id_of(&task);
    assert!(id.starts_with("cmp_"));
    assert_eq!(task["kind"], "task");
    assert_eq!(task["status"], "live", "live at once");
    assert_eq!(task["paused"], false);
    assert_eq!(task["period"], "none", "the default period");
    assert_eq!(
        (task["min_reward"].clone(), task["max_reward"].clone()),
        (json!(10), json!(20))
    );
    assert_eq!(api.get_ok(&format!("/api/v1/tasks/{id}")).await, task);
    let fixed = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Fixed", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 7, "period": "week"}),
        )
        .await;
    assert_eq!(fixed["max_reward"], 7, "no top: a fixed amount");
    let by_deal = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Coffee card", "reward": "deal", "deal_id": deal, "count": 5,
                   "period": "month", "paused": true}),
        )
        .await;
    assert_eq!(by_deal["status"], "pending", "paused");
    assert_eq!(by_deal["currency_id"], Value::Null);
    assert_eq!(
        ids(&api.get_ok("/api/v1/tasks").await),
        vec![id.clone(), id_of(&fixed), id_of(&by_deal)]
    );
    assert_eq!(
        ids(&api.get_ok("/api/v1/tasks?status=pending").await),
        vec![id_of(&by_deal)]
    );

    // Changes are checked as on create; pausing and unpausing move the status.
    api.patch(&format!("/api/v1/tasks/{id}"), json!({"max_reward": 5}))
        .await
        .assert_invalid(&["max_reward"]);
    let changed = api
        .patch(
            &format!("/api/v1/tasks/{id}"),
            json!({"name": "Ride more", "count": 7, "period": "day", "paused": true}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            changed["name"].clone(),
            changed["count"].clone(),
            changed["period"].clone(),
            changed["status"].clone()
        ),
        (json!("Ride more"), json!(7), json!("day"), json!("pending"))
    );
    let on = api
        .patch(&format!("/api/v1/tasks/{id}"), json!({"paused": false}))
        .await
        .expect(200);
    assert_eq!(on["status"], "live");
    api.patch(&format!("/api/v1/tasks/{id}"), json!({"reward": "deal"}))
        .await
        .assert_invalid(&["deal_id"]);
    let switched = api
        .patch(
            &format!("/api/v1/tasks/{id}"),
            json!({"reward": "deal", "deal_id": deal}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            switched["min_reward"].clone(),
            switched["max_reward"].clone(),
            switched["deal_id"].clone()
        ),
        (Value::Null, Value::Null, json!(deal)),
        "the points range goes with the points"
    );
    api.patch(
        &format!("/api/v1/tasks/{id}"),
        json!({"reward": "points", "min_reward": 5}),
    )
    .await
    .expect(200);

    // Statuses follow the dates.
    let later = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Later", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 1, "starts_at": days_from_now(1)}),
        )
        .await;
    assert_eq!(later["status"], "pending");
    let ended = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Ended", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 1, "starts_at": days_from_now(-5), "ends_at": days_from_now(-1)}),
        )
        .await;
    assert_eq!(ended["status"], "completed");
    let archived = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Old", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 1, "starts_at": days_from_now(-60), "ends_at": days_from_now(-31)}),
        )
        .await;
    assert_eq!(archived["status"], "archived");
    assert!(!ids(&api.get_ok("/api/v1/tasks").await).contains(&id_of(&archived)));
    assert_eq!(
        ids(&api
            .get_ok("/api/v1/campaigns?kind=task&status=completed")
            .await),
        vec![id_of(&ended)]
    );
    let buyer = lead(&api, "cust-0001").await;
    for (task, code) in [(&later, "campaign_not_live"), (&ended, "campaign_not_live")] {
        act(&api, &id_of(task), &buyer, "h1")
            .await
            .assert_problem(422, code);
    }

    // Another kind's id is no task, and a task is no rule.
    let rule = api
        .create(
            "/api/v1/rules",
            json!({"name": "Rule", "type": "earn", "currency_id": cur, "points": 1}),
        )
        .await;
    api.get(&format!("/api/v1/tasks/{}", id_of(&rule)))
        .await
        .assert_problem(404, "not_found");
    api.patch(
        &format!("/api/v1/tasks/{}", id_of(&rule)),
        json!({"name": "x"}),
    )
    .await
    .assert_problem(404, "not_found");
    api.delete(&format!("/api/v1/tasks/{}", id_of(&rule)))
        .await
        .assert_problem(404, "not_found");
    api.get(&format!("/api/v1/rules/{id}"))
        .await
        .assert_problem(404, "not_found");
    act(&api, &id_of(&rule), &buyer, "h2")
        .await
        .assert_invalid(&["task_id"]);

    // Deleting hides it; its activities are refused.
    api.delete(&format!("/api/v1/tasks/{id}")).await.expect(204);
    api.get(&format!("/api/v1/tasks/{id}"))
        .await
        .assert_problem(404, "not_found");
    act(&api, &id, &buyer, "h3")
        .await
        .assert_invalid(&["task_id"]);
    t.stop().await;
}

async fn points_tasks_complete_in_cycles_up_to_max_per_lead(t: TestApp) {
    let (m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let mut body = points_task(&cur, 3);
    body["max_per_lead"] = json!(2);
    let task = id_of(&api.create("/api/v1/tasks", body).await);
    let (buyer, wallet) = api.lead_with_wallet("cust-0001", &cur).await;

    let first = act(&api, &task, &buyer, "ride-1").await.expect(201);
    assert_eq!(first["task_id"], task);
    assert_eq!(first["lead_id"], buyer);
    assert_eq!(
        (
            first["progress"].clone(),
            first["count"].clone(),
            first["completed"].clone(),
            first["reward"].clone()
        ),
        (json!(1), json!(3), json!(false), Value::Null)
    );
    assert_eq!(
        act(&api, &task, &buyer, "ride-2").await.expect(201)["progress"],
        2
    );
    let done = act(&api, &task, &buyer, "ride-3").await.expect(201);
    assert_eq!(done["progress"], 3);
    assert_eq!(done["completed"], true);
    let amount = done["reward"]["amount"].as_i64().unwrap();
    assert!((10..=20).contains(&amount), "{amount}");
    let wtx = api
        .get_ok(&format!(
            "/api/v1/wallet_transactions/{}",
            done["reward"]["wallet_transaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(wtx["kind"], "reward");
    assert_eq!(wtx["amount"], amount);
    assert_eq!(wtx["reference"], task, "the ledger names the campaign");
    assert_eq!(api.balance(&wallet).await, amount);

    // The same hash answers the first answer; another body with it is refused.
    let again = act(&api, &task, &buyer, "ride-3").await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.expect(201), done);
    let other = lead(&api, "cust-0002").await;
    act(&api, &task, &other, "ride-3")
        .await
        .assert_problem(422, "idempotency_mismatch");
    assert_eq!(api.balance(&wallet).await, amount, "nothing moved twice");

    // A new cycle, then the per-lead limit.
    assert_eq!(
        act(&api, &task, &buyer, "ride-4").await.expect(201)["progress"],
        1
    );
    act(&api, &task, &buyer, "ride-5").await.expect(201);
    let second = act(&api, &task, &buyer, "ride-6").await.expect(201);
    assert_eq!(second["completed"], true);
    act(&api, &task, &buyer, "ride-7")
        .await
        .assert_problem(422, "limit_reached");
    let total = amount + second["reward"]["amount"].as_i64().unwrap();
    assert_eq!(api.balance(&wallet).await, total);

    // Bad activities.
    act(&api, &task, "lead_01jd3x1m2n3p4q5r6s7t8v9w0x", "x")
        .await
        .assert_invalid(&["lead_id"]);
    api.post(
        "/api/v1/task_activities",
        json!({"task_id": task, "lead_id": buyer}),
    )
    .await
    .assert_invalid(&["hash"]);
    api.post(
        "/api/v1/task_activities",
        json!({"lead_id": buyer, "hash": "y"}),
    )
    .await
    .assert_invalid(&["task_id"]);

    // Accepted activities are listed; every activity is an interaction.
    let listed = api
        .get_ok(&format!(
            "/api/v1/task_activities?task_id={task}&lead_id={buyer}"
        ))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 6);
    assert_eq!(listed["data"][2], done);
    assert_eq!(
        api.get_ok(&format!("/api/v1/task_activities?lead_id={other}"))
            .await["data"],
        json!([])
    );
    let refused = api
        .get_ok(&format!(
            "/api/v1/campaigns/{task}/interactions?outcome=error"
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
            "limit_reached",
            "idempotency_mismatch"
        ]
    );
    let quota = api.get_ok("/api/v1/quota").await;
    assert_eq!(quota["rewards"]["used"], 2, "{quota}");
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    t.stop().await;
}

async fn deal_tasks_give_a_coupon_and_periods_follow_the_time_zone(t: TestApp) {
    let (m, key, _cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let deal = deal_with_codes(&api, 3).await;
    let task = id_of(
        &api.create(
            "/api/v1/tasks",
            json!({"name": "Coffee card", "reward": "deal", "deal_id": deal, "count": 2,
                   "period": "day"}),
        )
        .await,
    );
    let buyer = lead(&api, "cust-0001").await;

    // The two ends of the calendar: these zones are 25 hours apart, so never on one day.
    t.app.set_time_zone(&m, "Pacific/Kiritimati").await.unwrap();
    assert_eq!(
        act(&api, &task, &buyer, "c1").await.expect(201)["progress"],
        1
    );
    t.app.set_time_zone(&m, "Pacific/Pago_Pago").await.unwrap();
    assert_eq!(
        act(&api, &task, &buyer, "c2").await.expect(201)["progress"],
        1,
        "another day: a new window, the unfinished progress lapsed"
    );
    let done = act(&api, &task, &buyer, "c3").await.expect(201);
    assert_eq!(done["completed"], true);
    let coupon = api
        .get_ok(&format!(
            "/api/v1/coupons/{}",
            done["reward"]["coupon_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(coupon["mode"], "reward");
    assert_eq!(coupon["deal_id"], deal);
    assert_eq!(coupon["lead_id"], buyer);
    assert_eq!(done["reward"].get("amount"), None);
    let quota = api.get_ok("/api/v1/quota").await;
    assert_eq!(
        (
            quota["rewards"]["used"].clone(),
            quota["redeems"]["used"].clone()
        ),
        (json!(1), json!(1)),
        "{quota}"
    );
    t.stop().await;
}

async fn concurrent_activities_complete_a_task_once(t: TestApp) {
    let (m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let mut body = points_task(&cur, 40);
    body["max_per_lead"] = json!(1);
    let task = id_of(&api.create("/api/v1/tasks", body).await);
    let (buyer, wallet) = api.lead_with_wallet("cust-0001", &cur).await;
    let mut handles = Vec::new();
    for i in 0..40 {
        let (api, task, buyer) = (t.api(&key), task.clone(), buyer.clone());
        handles.push(tokio::spawn(async move {
            act(&api, &task, &buyer, &format!("a-{i}"))
                .await
                .expect(201)
        }));
    }
    let mut progress = Vec::new();
    let mut completed = Vec::new();
    for h in handles {
        let a = h.await.unwrap();
        progress.push(a["progress"].as_i64().unwrap());
        if a["completed"] == true {
            completed.push(a);
        }
    }
    progress.sort();
    assert_eq!(progress, (1..=40).collect::<Vec<_>>(), "each counted once");
    assert_eq!(completed.len(), 1, "completed exactly once");
    let amount = completed[0]["reward"]["amount"].as_i64().unwrap();
    assert_eq!(api.balance(&wallet).await, amount);
    act(&api, &task, &buyer, "a-late")
        .await
        .assert_problem(422, "limit_reached");
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    t.stop().await;
}

async fn concurrency_never_overshoots_budget_or_per_lead_limit(t: TestApp) {
    let (m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let budgeted = id_of(
        &api.create(
            "/api/v1/tasks",
            json!({"name": "Budget", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 10, "budget": 25}),
        )
        .await,
    );
    let limited = id_of(
        &api.create(
            "/api/v1/tasks",
            json!({"name": "Thrice", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 1, "max_per_lead": 3}),
        )
        .await,
    );
    let mut leads = Vec::new();
    for i in 0..4 {
        leads.push(lead(&api, &format!("cust-000{i}")).await);
    }
    let t = Arc::new(t);
    let mut handles = Vec::new();
    for i in 0..24 {
        let api = t.api(&key);
        let (task, lead) = if i % 2 == 0 {
            (budgeted.clone(), leads[i % 4].clone())
        } else {
            (limited.clone(), leads[0].clone())
        };
        handles.push(tokio::spawn(async move {
            let res = act(&api, &task, &lead, &format!("b-{i}")).await;
            (task, res.status().as_u16(), res.into_json())
        }));
    }
    let (mut budget_awards, mut limited_awards) = (0, 0);
    for h in handles {
        let (task, status, body) = h.await.unwrap();
        match status {
            201 => {
                assert_eq!(body["completed"], true);
                if task == budgeted {
                    budget_awards += 1;
                } else {
                    limited_awards += 1;
                }
            }
            422 => assert_eq!(body["code"], "limit_reached", "{body}"),
            s => panic!("unexpected {s}: {body}"),
        }
    }
    assert_eq!(budget_awards, 2, "10 + 10 <= 25 < 30");
    assert_eq!(limited_awards, 3);
    assert_eq!(
        api.get_ok(&format!("/api/v1/tasks/{budgeted}")).await["budget_used"],
        20
    );
    let errors = api
        .get_ok(&format!(
            "/api/v1/campaigns/{budgeted}/interactions?outcome=error"
        ))
        .await;
    assert_eq!(
        errors["data"].as_array().unwrap().len(),
        10,
        "every refusal recorded"
    );
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

async fn the_active_campaign_cap_counts_every_kind(t: TestApp) {
    let (_m, key, cur) = merchant(&t, Env::Dev).await;
    let api = t.api(&key);
    let deal = deal_with_codes(&api, 1).await;
    let rule = api
        .create(
            "/api/v1/rules",
            json!({"name": "Rule", "type": "earn", "currency_id": cur, "points": 1,
                   "authorized_key_ids": [key.0]}),
        )
        .await;
    api.post(
        &format!("/api/v1/rules/{}/activate", id_of(&rule)),
        json!({}),
    )
    .await
    .expect(200);
    api.create(
        "/api/v1/surprises",
        json!({"name": "Treat", "type": "lead_birthday", "count": 1, "deal_id": deal}),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(id_of(
            &api.create("/api/v1/tasks", points_task(&cur, 2)).await,
        ));
    }
    api.post("/api/v1/tasks", points_task(&cur, 2))
        .await
        .assert_problem(422, "limit_reached");
    let mut paused = points_task(&cur, 2);
    paused["paused"] = json!(true);
    let paused = id_of(&api.create("/api/v1/tasks", paused).await);
    api.patch(&format!("/api/v1/tasks/{paused}"), json!({"paused": false}))
        .await
        .assert_problem(422, "limit_reached");
    api.delete(&format!("/api/v1/tasks/{}", tasks[0]))
        .await
        .expect(204);
    let on = api
        .patch(&format!("/api/v1/tasks/{paused}"), json!({"paused": false}))
        .await
        .expect(200);
    assert_eq!(on["status"], "live");
    t.stop().await;
}

on_both_backends!(
    tasks_are_created_validated_listed_and_changed,
    points_tasks_complete_in_cycles_up_to_max_per_lead,
    deal_tasks_give_a_coupon_and_periods_follow_the_time_zone,
    concurrent_activities_complete_a_task_once,
    concurrency_never_overshoots_budget_or_per_lead_limit,
    the_active_campaign_cap_counts_every_kind,
);

/// A key's callback approves only what moves: the activity that completes a task, and every
/// claim of a surprise; a refusal writes nothing but the interaction.
mod callback {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{StatusCode, Uri};
    use axum::Router;
    use punchcard_domain::Env;
    use serde_json::{json, Value};

    use super::{act, deal_with_codes, lead, points_task};
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

    async fn only_rewards_wait_for_the_callback(backend: Backend) {
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
        let approving = t.api(&key_with_callback(&t, &m, &format!("http://{addr}/ok")).await);
        let refusing = t.api(&key_with_callback(&t, &m, &format!("http://{addr}/no")).await);
        let task = id_of(
            &approving
                .create("/api/v1/tasks", points_task(&cur, 2))
                .await,
        );
        let buyer = lead(&approving, "cust-0001").await;

        assert_eq!(
            act(&refusing, &task, &buyer, "t1").await.expect(201)["progress"],
            1
        );
        assert!(seen.lock().unwrap().is_empty(), "counting moves nothing");
        act(&refusing, &task, &buyer, "t2")
            .await
            .assert_problem(422, "callback_rejected");
        let done = act(&approving, &task, &buyer, "t3").await.expect(201);
        assert_eq!(done["progress"], 2, "the refused activity was not counted");
        assert_eq!(done["completed"], true);
        let bodies = seen.lock().unwrap().clone();
        assert_eq!(bodies.len(), 2, "{bodies:?}");
        assert_eq!(bodies[1]["kind"], "reward");
        assert_eq!(bodies[1]["amount"], done["reward"]["amount"]);
        assert_eq!(bodies[1]["lead_id"], buyer);

        let deal = deal_with_codes(&approving, 2).await;
        let today = punchcard_domain::time::TimeZone::utc()
            .date_at(punchcard_domain::time::Timestamp::now())
            .to_string();
        let surprise = id_of(
            &approving
                .create(
                    "/api/v1/surprises",
                    json!({"name": "Today", "type": "custom", "date": today, "count": 5,
                           "deal_id": deal}),
                )
                .await,
        );
        let claim = |api: &crate::common::api::ApiClient, hash: &str| {
            let (api, body) = (
                api.clone(),
                json!({"surprise_id": surprise, "lead_id": buyer, "hash": hash}),
            );
            async move { api.post("/api/v1/surprise_activities", body).await }
        };
        claim(&refusing, "s1")
            .await
            .assert_problem(422, "callback_rejected");
        let given = claim(&approving, "s2").await.expect(201);
        let bodies = seen.lock().unwrap().clone();
        assert_eq!(bodies.len(), 4, "{bodies:?}");
        assert_eq!(bodies[3]["kind"], "coupon");
        assert_eq!(bodies[3]["mode"], "reward");
        assert_eq!(bodies[3]["deal_id"], deal);
        assert_eq!(
            approving
                .get_ok(&format!("/api/v1/coupons?lead_id={buyer}"))
                .await["data"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "the refused claim issued nothing: {given}"
        );
        t.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        only_rewards_wait_for_the_callback(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        only_rewards_wait_for_the_callback(Backend::Postgres).await;
    }
}
