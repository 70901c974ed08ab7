//! Idempotency claims that heal and fence, and anti-forgery tokens bound to the session.

use crate::common::api::{ApiClient, ApiResponse};
use crate::common::dashboard::{csrf_of, latest_code, PASSWORD};
use crate::common::TestApp;
use punchcard_app::accounts::Origin;
use punchcard_app::idempotency::{Fence, IdempotencyClaim, FENCE};
use punchcard_app::merchants::NewMerchant;
use punchcard_app::AppError;
use punchcard_domain::Env;
use reqwest::Method;
use serde_json::{json, Value};

fn cookie_of(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// A pre-login token pair (cookie and form token) that anyone can fetch for themselves.
async fn pre_login_pair(t: &TestApp) -> (String, String) {
    let res = t
        .client
        .get(t.url("/dashboard/login"))
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(&res, "punchcard_csrf").expect("a pre-login token cookie");
    let cookie = cookie.split(';').next().unwrap().to_string();
    (cookie, csrf_of(&res.text().await.unwrap()))
}

async fn signed_in_session(t: &TestApp, email: &str) -> String {
    let new = NewMerchant::parse("Acme", email, PASSWORD, true).unwrap();
    t.app.create_merchant(new).await.unwrap();
    let challenge = t.app.start_sign_in(email, PASSWORD).await.unwrap();
    t.app
        .complete_sign_in(
            &challenge.challenge_id,
            challenge.code.expose(),
            &Origin::new("127.0.0.1", "tests"),
        )
        .await
        .unwrap()
        .token
}

async fn a_planted_pre_login_token_is_refused_on_a_session(t: TestApp) {
    let session = signed_in_session(&t, "victim@example.com").await;
    let (planted_cookie, planted_token) = pre_login_pair(&t).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |cookies: String, token: String| {
        let client = no_redirects.clone();
        let url = t.url("/dashboard/env");
        async move {
            client
                .post(url)
                .header("cookie", cookies)
                .form(&[
                    ("_csrf", token.as_str()),
                    ("env", "dev"),
                    ("back", "/dashboard"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = post(
        format!("punchcard_session={session}; {planted_cookie}"),
        planted_token.clone(),
    )
    .await;
    assert_eq!(res.status(), 403, "a planted pre-login pair is refused");
    let res = post(format!("punchcard_session={session}"), planted_token).await;
    assert_eq!(res.status(), 403);

    // The session's own token works.
    let page = no_redirects
        .get(t.url("/dashboard/notifications"))
        .header("cookie", format!("punchcard_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let own = csrf_of(&page.text().await.unwrap());
    let res = post(
        format!("punchcard_session={session}; {planted_cookie}"),
        own,
    )
    .await;
    assert_eq!(res.status(), 303, "the session's own token is accepted");
    t.stop().await;
}

async fn the_pre_login_token_dies_at_sign_in(t: TestApp) {
    let email = "owner@example.com";
    let new = NewMerchant::parse("Acme", email, PASSWORD, true).unwrap();
    t.app.create_merchant(new).await.unwrap();
    let (pre, token) = pre_login_pair(&t).await;
    let res = t
        .client
        .post(t.url("/dashboard/login"))
        .header("cookie", &pre)
        .form(&[
            ("_csrf", token.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let challenge = cookie_of(&res, "punchcard_otp").expect("a challenge cookie");
    let challenge = challenge.split(';').next().unwrap().to_string();
    let code = latest_code(&t, email);
    let res = t
        .client
        .post(t.url("/dashboard/login/verify"))
        .header("cookie", format!("{pre}; {challenge}"))
        .form(&[("_csrf", token.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert!(cookie_of(&res, "punchcard_session").is_some(), "signed in");
    let cleared = cookie_of(&res, "punchcard_csrf").expect("the pre-login token is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    t.stop().await;
}

/// Idempotency records as a dead server leaves them: the action applied, the answer lost.
async fn lose_answer(t: &TestApp, key: &str) {
    let mut conn = t.app.db.conn().await.unwrap();
    let done = punchcard_store::query(
        "UPDATE idempotency_keys SET status_code = NULL, response_body = NULL, \
         lease_until = NULL, applied_by = holder WHERE idem_key = $1",
    )
    .bind(key)
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

/// POSTs with an Idempotency-Key.
async fn post(api: &ApiClient, path: &str, idem: &str, body: &Value) -> ApiResponse {
    ApiResponse::read(
        api.request(Method::POST, path)
            .header("idempotency-key", idem)
            .json(body),
    )
    .await
}

async fn a_retry_after_a_lost_answer_never_applies_twice(t: TestApp) {
    let merchant = t.active_merchant("Acme").await;
    let api = t.api(&t.api_key(&merchant, Env::Dev).await);
    let cur = api.get_ok("/api/v1/currencies").await["data"][0]["id"].clone();
    let lead_body = json!({"customer_id": "cust-0001", "email": "a@example.com"});
    let lead = post(&api, "/api/v1/leads", "lead-1", &lead_body)
        .await
        .expect(201);
    let wallet = post(
        &api,
        "/api/v1/wallets",
        "wallet-1",
        &json!({"lead_id": lead["id"], "currency_id": cur}),
    )
    .await
    .expect(201);
    let reward = json!({"wallet_id": wallet["id"], "kind": "reward", "amount": 7, "hash": "h-1"});
    let first = post(&api, "/api/v1/wallet_transactions", "reward-1", &reward)
        .await
        .expect(201);

    // A reward carries its own hash: the retry answers the transaction already written.
    lose_answer(&t, "reward-1").await;
    let again = post(&api, "/api/v1/wallet_transactions", "reward-1", &reward)
        .await
        .expect(201);
    assert_eq!(again["id"], first["id"]);

    // A lead has no retry key of its own: the retry is refused rather than applied twice,
    // and says so; the answer then stays the same.
    lose_answer(&t, "lead-1").await;
    for _ in 0..2 {
        post(&api, "/api/v1/leads", "lead-1", &lead_body)
            .await
            .assert_problem(409, "idempotency_applied");
    }
    let leads = api.get_ok("/api/v1/leads").await;
    assert_eq!(leads["data"].as_array().unwrap().len(), 1, "{leads}");
    let txs = api.get_ok("/api/v1/wallet_transactions").await;
    assert_eq!(txs["data"].as_array().unwrap().len(), 1, "{txs}");
    t.stop().await;
}

async fn an_attempt_that_lost_its_claim_cannot_commit(t: TestApp) {
    let merchant = t.active_merchant("Acme").await;
    let fence = |holder: &str| Fence {
        merchant_id: merchant.clone(),
        env: Env::Dev,
        key: "form-1".to_string(),
        holder: holder.to_string(),
    };
    let (first, second) = (fence("att_first"), fence("att_second"));
    assert_eq!(
        t.app
            .claim_idempotency_key(&first, "same-request")
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
    // While the first attempt holds a live lease, a second one waits.
    assert!(matches!(
        t.app
            .claim_idempotency_key(&second, "same-request")
            .await
            .unwrap(),
        IdempotencyClaim::InFlight { .. }
    ));
    // The first attempt's server stalls past its lease: the second takes over.
    let mut conn = t.app.db.conn().await.unwrap();
    punchcard_store::query("UPDATE idempotency_keys SET lease_until = $1")
        .bind(punchcard_domain::time::Timestamp::parse("2000-01-01T00:00:00Z").unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        t.app
            .claim_idempotency_key(&second, "same-request")
            .await
            .unwrap(),
        IdempotencyClaim::TakenOver { applied: false }
    );
    assert!(!t.app.renew_idempotency_key(&first).await.unwrap());

    // The stalled attempt wakes up: its write is rolled back.
    let stale = FENCE
        .scope(
            first.clone(),
            t.app.create_api_key(&merchant, Env::Dev, "stale", None),
        )
        .await;
    assert!(matches!(stale, Err(AppError::Superseded)), "{stale:?}");
    let fresh = FENCE
        .scope(
            second.clone(),
            t.app.create_api_key(&merchant, Env::Dev, "fresh", None),
        )
        .await;
    assert!(fresh.is_ok(), "{fresh:?}");
    assert!(!t
        .app
        .complete_idempotency_key(&first, 201, "x")
        .await
        .unwrap());
    assert!(t
        .app
        .complete_idempotency_key(&second, 201, "y")
        .await
        .unwrap());
    let keys = t.app.list_api_keys(&merchant, Env::Dev).await.unwrap();
    assert_eq!(keys.len(), 1, "only the attempt holding the key wrote");
    assert_eq!(keys[0].name, "fresh");
    t.stop().await;
}

on_both_backends!(
    a_planted_pre_login_token_is_refused_on_a_session,
    the_pre_login_token_dies_at_sign_in,
    a_retry_after_a_lost_answer_never_applies_twice,
    an_attempt_that_lost_its_claim_cannot_commit,
);
