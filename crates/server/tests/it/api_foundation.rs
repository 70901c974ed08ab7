//! The API's foundations over HTTP: authentication, errors, pagination, tenancy, idempotency,
//! health, metrics and the OpenAPI document.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::{ReadAnswer, TestApp};
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::Router;
use punchcard_domain::Env;
use serde_json::Value;

async fn lists_currencies_with_a_valid_key(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let res = t.api(&key).get("/api/v1/currencies").await;
    assert_eq!(res.status(), 200);
    let body = res.into_json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["code"], "PTS");
    assert_eq!(data[0]["name"], "Points");
    assert_eq!(data[0]["coins_per_unit"], "1");
    assert!(data[0]["id"].as_str().unwrap().starts_with("cur_"));
    assert!(data[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(body["next_cursor"].is_null());
    t.stop().await;
}

async fn refuses_missing_wrong_and_revoked_credentials(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Prod).await;

    let res = t.get_json("/api/v1/currencies").await;
    res.assert_problem_status(401);
    assert!(res.headers().get("www-authenticate").is_some());
    assert_eq!(res.into_json()["code"], "unauthorized");

    let wrong = (key.0.clone(), format!("{}x", key.1));
    let res = t.api(&wrong).get("/api/v1/currencies").await;
    res.assert_problem_status(401);
    assert_eq!(res.into_json()["code"], "unauthorized");

    let garbage = ("not-a-key".to_string(), "nope".to_string());
    let res = t.api(&garbage).get("/api/v1/currencies").await;
    res.assert_problem_status(401);

    let res = t
        .client
        .get(t.url("/api/v1/currencies"))
        .header("authorization", "Basic %%%")
        .read()
        .await;
    res.assert_problem_status(401);

    t.app
        .revoke_api_key(&m, Env::Prod, &key.0.parse().unwrap())
        .await
        .unwrap();
    let res = t.api(&key).get("/api/v1/currencies").await;
    res.assert_problem_status(401);
    assert_eq!(res.into_json()["code"], "unauthorized");
    t.stop().await;
}

async fn frozen_and_inactive_merchants_are_refused(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    t.app.freeze_merchant(&m).await.unwrap();
    let res = t.api(&key).get("/api/v1/currencies").await;
    res.assert_problem_status(403);
    let body = res.into_json();
    assert_eq!(body["code"], "account_frozen");
    assert_eq!(body["status"], 403);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());

    t.app.unfreeze_merchant(&m).await.unwrap();
    assert_eq!(t.api(&key).get("/api/v1/currencies").await.status(), 200);

    // A merchant still in KYC cannot use the API.
    let new = punchcard_app::merchants::NewMerchant::parse(
        "Pending",
        "p@example.com",
        "Correct-Horse-9",
        false,
    )
    .unwrap();
    let (pending, _) = t.app.create_merchant(new).await.unwrap();
    let pkey = t.api_key(&pending, Env::Dev).await;
    let res = t.api(&pkey).get("/api/v1/currencies").await;
    res.assert_problem_status(403);
    t.stop().await;
}

async fn merchants_see_only_their_own_currencies(t: TestApp) {
    let a = t.active_merchant("A").await;
    let b = t.active_merchant("B").await;
    t.app
        .create_currency(&b, "GEM", "Gems", "0.25")
        .await
        .unwrap();
    let key_a = t.api_key(&a, Env::Prod).await;
    let key_b = t.api_key(&b, Env::Dev).await;
    let codes = |v: Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        codes(t.api(&key_a).get("/api/v1/currencies").await.into_json()),
        vec!["PTS"]
    );
    let mut b_codes = codes(t.api(&key_b).get("/api/v1/currencies").await.into_json());
    b_codes.sort();
    assert_eq!(b_codes, vec!["GEM", "PTS"]);
    t.stop().await;
}

async fn paginates_with_cursor_and_validates_limits(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    for code in ["AAA", "BBB", "CCC", "DDD"] {
        t.app.create_currency(&m, code, code, "1").await.unwrap();
    }
    let key = t.api_key(&m, Env::Dev).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/currencies?limit=2&cursor={c}"),
            None => "/api/v1/currencies?limit=2".to_string(),
        };
        let body = t.api(&key).get(&path).await.into_json();
        let page = body["data"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 5, "no item twice across pages");

    for bad in ["limit=0", "limit=501", "limit=abc", "cursor=%21%21"] {
        let res = t.api(&key).get(&format!("/api/v1/currencies?{bad}")).await;
        res.assert_problem_status(422);
        let body = res.into_json();
        assert_eq!(body["code"], "validation_failed", "{bad}");
        assert!(!body["errors"].as_array().unwrap().is_empty());
    }
    let body = t
        .api(&key)
        .get("/api/v1/currencies?limit=500")
        .await
        .into_json();
    assert_eq!(body["data"].as_array().unwrap().len(), 5);
    t.stop().await;
}

async fn api_key_caps_hold_under_concurrency(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let app = t.app.clone();
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            app.create_api_key(&m, Env::Dev, &format!("k{i}"), None)
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "limit_reached"),
        }
    }
    assert_eq!(ok, 5, "exactly the DEV cap of keys is created");
    for i in 0..10 {
        t.app
            .create_api_key(&m, Env::Prod, &format!("p{i}"), None)
            .await
            .unwrap();
    }
    let err = t
        .app
        .create_api_key(&m, Env::Prod, "one too many", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "limit_reached");
    // Revoking frees a slot.
    let keys = t.app.list_api_keys(&m, Env::Prod).await.unwrap();
    t.app
        .revoke_api_key(&m, Env::Prod, &keys[0].id)
        .await
        .unwrap();
    t.app
        .create_api_key(&m, Env::Prod, "replacement", None)
        .await
        .unwrap();
    t.stop().await;
}

async fn callback_urls_are_checked(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let err = t
        .app
        .create_api_key(&m, Env::Dev, "hook", Some("http://127.0.0.1:9/hook"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    let err = t
        .app
        .create_api_key(&m, Env::Dev, "", Some("not a url"))
        .await
        .unwrap_err();
    match err {
        punchcard_app::AppError::Validation(v) => assert_eq!(v.0.len(), 2),
        other => panic!("unexpected {other:?}"),
    }
    t.app
        .create_api_key(&m, Env::Dev, "hook", Some("https://shop.example.com/hook"))
        .await
        .unwrap();
    t.stop().await;
}

async fn health_metrics_docs_and_request_ids(t: TestApp) {
    let res = t.client.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-request-id").is_some());
    let res = t
        .client
        .get(t.url("/readyz"))
        .header("x-request-id", "abc-123")
        .read()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123");
    assert_eq!(res.into_json()["database"], "ok");

    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    t.api(&key).get("/api/v1/currencies").await;
    let metrics = t
        .client
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("punchcard_http_requests_total"));
    assert!(metrics.contains("route=\"/api/v1/currencies\""));
    assert!(metrics.contains("punchcard_http_request_duration_seconds_bucket"));
    assert!(!metrics.contains(m.as_str()), "no per-tenant labels");

    let spec = t.get_json("/api/v1/openapi.json").await.into_json();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/api/v1/currencies"]["get"].is_object());
    assert!(spec["components"]["securitySchemes"]["basic"].is_object());

    let docs = t.client.get(t.url("/api/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "docs page served");
    assert!(!html.contains("cdn."), "no CDN");
    let js = t
        .client
        .get(t.url("/api/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200, "assets served by the binary");

    let res = t.get_json("/api/v1/nothing-here").await;
    res.assert_problem_status(404);
    assert_eq!(res.into_json()["code"], "not_found");
    t.stop().await;
}

/// Mounts the real authentication and idempotency middleware on a counting POST route.
async fn idempotency_keys_replay_and_detect_mismatch(t: TestApp) {
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
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
    let url = format!("http://{addr}/api/v1/echo");

    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let post = |idem: &str, body: &str| {
        t.client
            .post(&url)
            .basic_auth(&key.0, Some(&key.1))
            .header("idempotency-key", idem)
            .body(body.to_string())
            .read()
    };

    // Concurrent first attempts: exactly one runs, the others wait for its answer.
    let (a, b, c) = tokio::join!(
        post("k1", "hello"),
        post("k1", "hello"),
        post("k1", "hello")
    );
    let statuses: Vec<u16> = [&a, &b, &c].iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let first = post("k1", "hello").await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers().get("idempotent-replayed").unwrap(), "true");
    let body = first.into_json();
    assert_eq!(body["call"], 1);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a replay does not run again"
    );

    let res = post("k1", "a different body").await;
    res.assert_problem_status(422);
    assert_eq!(res.into_json()["code"], "idempotency_mismatch");

    // Keys are scoped per merchant and env: another env's same key runs anew.
    let prod_key = t.api_key(&m, Env::Prod).await;
    let res = t
        .client
        .post(&url)
        .basic_auth(&prod_key.0, Some(&prod_key.1))
        .header("idempotency-key", "k1")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Without a key every POST runs.
    for _ in 0..2 {
        t.client
            .post(&url)
            .basic_auth(&key.0, Some(&key.1))
            .body("x")
            .send()
            .await
            .unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);

    let res = post(&"x".repeat(300), "hello").await;
    res.assert_problem_status(422);
    t.stop().await;
}

on_both_backends!(
    lists_currencies_with_a_valid_key,
    refuses_missing_wrong_and_revoked_credentials,
    frozen_and_inactive_merchants_are_refused,
    merchants_see_only_their_own_currencies,
    paginates_with_cursor_and_validates_limits,
    api_key_caps_hold_under_concurrency,
    callback_urls_are_checked,
    health_metrics_docs_and_request_ids,
    idempotency_keys_replay_and_detect_mismatch,
);

async fn rate_limits_per_merchant_and_env_with_headers(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let dev = t.api_key(&m, Env::Dev).await;
    let first = t.api(&dev).get("/api/v1/currencies").await;
    assert_eq!(first.headers().get("ratelimit-limit").unwrap(), "100");
    assert_eq!(first.headers().get("ratelimit-remaining").unwrap(), "99");
    let reset: u64 = first
        .headers()
        .get("ratelimit-reset")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&reset));

    // The plan's rate applies to prod; dev stays at 100 a minute.
    t.app
        .set_plan(
            &m,
            punchcard_app::plans::PlanChange {
                rate_limit_per_minute: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let prod = t.api_key(&m, Env::Prod).await;
    // Start the burst well inside one 60-second window.
    let probe = t.api(&dev).get("/api/v1/currencies").await;
    let reset: u64 = probe
        .headers()
        .get("ratelimit-reset")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    if reset < 5 {
        tokio::time::sleep(std::time::Duration::from_secs(reset + 1)).await;
    }
    let mut handles = Vec::new();
    for _ in 0..8 {
        let api = t.api(&prod);
        handles.push(tokio::spawn(
            async move { api.get("/api/v1/currencies").await },
        ));
    }
    let mut ok = 0;
    let mut limited = 0;
    for h in handles {
        let res = h.await.unwrap();
        match res.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert!(res.headers().get("retry-after").is_some());
                assert_eq!(res.headers().get("ratelimit-remaining").unwrap(), "0");
                assert_eq!(res.into_json()["code"], "rate_limited");
            }
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!((ok, limited), (5, 3), "exactly the plan's rate is served");
    assert_eq!(
        t.api(&dev).get("/api/v1/currencies").await.status(),
        200,
        "dev has its own budget"
    );
    t.stop().await;
}

async fn housekeeping_purges_only_what_has_ended(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let fence = punchcard_app::idempotency::Fence {
        merchant_id: m.clone(),
        env: Env::Dev,
        key: "k-old".to_string(),
        holder: "att_first".to_string(),
    };
    t.app.claim_idempotency_key(&fence, "h").await.unwrap();
    let owner = t.app.list_members(&m).await.unwrap().remove(0);
    t.app
        .start_sign_in(owner.email.as_str(), "Correct-Horse-9")
        .await
        .unwrap();
    let reset = t
        .app
        .start_password_reset(owner.email.as_str())
        .await
        .unwrap();
    assert!(reset.is_some());
    let now = punchcard_domain::time::Timestamp::now();
    let nothing = t.app.purge_expired_at(now).await.unwrap();
    assert_eq!(nothing, Default::default(), "fresh rows stay");
    let claim = t.app.claim_idempotency_key(&fence, "h").await.unwrap();
    assert!(!matches!(
        claim,
        punchcard_app::idempotency::IdempotencyClaim::Claimed
    ));

    let later = now.plus(time::Duration::days(3));
    let purged = t.app.purge_expired_at(later).await.unwrap();
    assert_eq!(purged.idempotency_keys, 1);
    assert_eq!(purged.otp_challenges, 1);
    assert_eq!(purged.password_resets, 1);
    // Past the replay window the key can be used afresh.
    let claim = t.app.claim_idempotency_key(&fence, "other").await.unwrap();
    assert!(matches!(
        claim,
        punchcard_app::idempotency::IdempotencyClaim::Claimed
    ));
    t.stop().await;
}

mod housekeeping {
    use super::*;
    on_both_backends!(housekeeping_purges_only_what_has_ended);
}

mod rate_limits {
    use super::*;
    on_both_backends!(rate_limits_per_merchant_and_env_with_headers);
}
