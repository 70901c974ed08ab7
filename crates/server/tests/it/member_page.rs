//! QR tokens and the member page: a coupon's and a lead's signed tokens resolve for their own
//! merchant and env only (forged, truncated, another merchant's or env's are `invalid_token`),
//! a rotation keeps codes on screens working, *Enter code* uses a coupon by code and customer
//! id once, and the member page shows the lead's card to the holder of its link alone.

use crate::common::{Key, TestApp};
use punchcard_domain::{Env, MerchantId};
use serde_json::{json, Value};

struct Shop {
    m: MerchantId,
    key: Key,
    currency: String,
}

async fn shop(t: &TestApp, name: &str) -> Shop {
    let m = t.active_merchant(name).await;
    t.set_rate_limit(&m, 300_000).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    let key = t.api_key(&m, Env::Prod).await;
    Shop { m, key, currency }
}

/// A lead holding `points`, and a coupon of a free deal given to it with code `code`.
async fn lead_with_coupon(t: &TestApp, s: &Shop, customer_id: &str, code: &str) -> (String, Value) {
    let api = t.api(&s.key);
    let (lead, wallet) = api.lead_with_wallet(customer_id, &s.currency).await;
    api.create(
        "/api/v1/wallet_transactions",
        json!({"wallet_id": wallet, "kind": "reward", "amount": 120, "hash": format!("seed-{customer_id}")}),
    )
    .await;
    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": "Free coffee", "description": "One coffee", "kind": "voucher",
                   "sell_price": 0, "available": true, "visibility": "private"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.create(
        "/api/v1/coupon_codes",
        json!({"deal_id": deal, "value": code}),
    )
    .await;
    let coupon = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": deal, "lead_id": lead, "hash": format!("give-{customer_id}"), "mode": "reward"}),
        )
        .await;
    (lead, coupon)
}

/// A plain GET, as a phone's browser makes it.
async fn get(t: &TestApp, path: &str) -> reqwest::Response {
    t.browser_client().get(t.url(path)).send().await.unwrap()
}

async fn resolve(t: &TestApp, key: &Key, token: &str) -> crate::common::ApiResponse {
    t.api(key)
        .post("/api/v1/qr/resolve", json!({"token": token}))
        .await
}

async fn tokens_resolve_for_their_own_merchant_and_env_only(t: TestApp) {
    let s = shop(&t, "Harbour Books").await;
    let (lead, coupon) = lead_with_coupon(&t, &s, "cust-ada", "CAFE-1").await;
    let coupon_token = coupon["qr_token"].as_str().expect("a QR token").to_string();
    assert!(coupon_token.starts_with("pc1.c."), "{coupon_token}");

    let found = resolve(&t, &s.key, &coupon_token).await.expect(200);
    assert_eq!(found["kind"], "coupon");
    assert_eq!(found["coupon"]["id"], coupon["id"]);
    assert_eq!(found["coupon"]["status"], "issued");
    let id_token = t
        .api(&s.key)
        .get_ok(&format!("/api/v1/leads/{lead}/id_token"))
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let found = resolve(&t, &s.key, &id_token).await.expect(200);
    assert_eq!(found["kind"], "lead");
    assert_eq!(found["lead"]["id"], lead.as_str());
    assert_eq!(found["lead"]["customer_id"], "cust-ada");

    // Forged, truncated, made up: refused.
    let last = coupon_token.chars().last().unwrap();
    let forged = format!(
        "{}{}",
        &coupon_token[..coupon_token.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    let other_subject = coupon_token.replace(
        coupon["id"].as_str().unwrap(),
        "cpn_01jd3x1m2n3p4q5r6s7t8v9w0x",
    );
    for bad in [
        forged.as_str(),
        &coupon_token[..coupon_token.len() - 5],
        &coupon_token[..20],
        other_subject.as_str(),
        "pc1.c.x.p.y.0.k.z",
        "not a code at all",
    ] {
        resolve(&t, &s.key, bad)
            .await
            .assert_problem(422, "invalid_token");
    }
    resolve(&t, &s.key, "").await.assert_invalid(&["token"]);

    // Another merchant's key, and the same merchant's dev key, cannot read it.
    let other = shop(&t, "Elsewhere").await;
    resolve(&t, &other.key, &coupon_token)
        .await
        .assert_problem(422, "invalid_token");
    let dev = t.api_key(&s.m, Env::Dev).await;
    resolve(&t, &dev, &id_token)
        .await
        .assert_problem(422, "invalid_token");

    // A rotation: codes already shown keep working, new ones are signed by the new key.
    let new_key = t.app.rotate_signing_key().await.unwrap();
    resolve(&t, &s.key, &coupon_token).await.expect(200);
    let again = t
        .api(&s.key)
        .get_ok(&format!(
            "/api/v1/coupons/{}",
            coupon["id"].as_str().unwrap()
        ))
        .await;
    let fresh = again["qr_token"].as_str().unwrap();
    assert!(fresh.contains(&format!(".{new_key}.")), "{fresh}");
    resolve(&t, &s.key, fresh).await.expect(200);
    t.stop().await;
}

async fn entering_a_code_uses_the_customers_coupon_once(t: TestApp) {
    let s = shop(&t, "Harbour Books").await;
    let (_lead, coupon) = lead_with_coupon(&t, &s, "cust-ada", "CAFE-1").await;
    let api = t.api(&s.key);
    api.post(
        "/api/v1/coupons/use_by_code",
        json!({"code": "CAFE-1", "customer_id": "cust-nobody"}),
    )
    .await
    .assert_invalid(&["customer_id"]);
    api.post(
        "/api/v1/coupons/use_by_code",
        json!({"code": "CAFE-2", "customer_id": "cust-ada"}),
    )
    .await
    .assert_invalid(&["code"]);
    api.post(
        "/api/v1/coupons/use_by_code",
        json!({"code": "", "customer_id": ""}),
    )
    .await
    .assert_invalid(&["code", "customer_id"]);

    // Two counters enter it at once: one uses it.
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let api = t.api(&s.key);
            tokio::spawn(async move {
                api.post(
                    "/api/v1/coupons/use_by_code",
                    json!({"code": " CAFE-1 ", "customer_id": "cust-ada"}),
                )
                .await
                .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 422 || *s == 409),
        "{statuses:?}"
    );
    let used = api
        .get_ok(&format!(
            "/api/v1/coupons/{}",
            coupon["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(used["status"], "used");
    t.stop().await;
}

async fn the_member_page_shows_the_card_to_the_holder_of_its_link(t: TestApp) {
    let s = shop(&t, "Harbour Books").await;
    let (lead, coupon) = lead_with_coupon(&t, &s, "cust-ada", "CAFE-1").await;
    let (other_lead, _) = lead_with_coupon(&t, &s, "cust-bob", "CAFE-BOB").await;
    let api = t.api(&s.key);
    let link = api
        .post(&format!("/api/v1/leads/{lead}/member_link"), json!({}))
        .await
        .expect(200);
    let url = link["url"].as_str().unwrap().to_string();
    assert!(
        url.ends_with(&format!("/m/{}", link["token"].as_str().unwrap())),
        "{url}"
    );
    let path = format!("/m/{}", link["token"].as_str().unwrap());
    let res = get(&t, &path).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for shown in [
        "Harbour Books",
        "cust-ada",
        "data-balance>120<",
        "Your ID",
        "<svg",
        "Free coffee",
        "CAFE-1",
        "Ready to use",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    assert!(!html.contains("CAFE-BOB"), "another lead's coupon leaked");
    assert!(!html.contains("cust-bob"));

    // Used, the coupon shows so, without a QR to scan.
    api.post(
        &format!("/api/v1/coupons/{}/use", coupon["id"].as_str().unwrap()),
        json!({}),
    )
    .await
    .expect(200);
    let html = get(&t, &path).await.text().await.unwrap();
    assert!(html.contains("Used"), "{html}");

    // A new link retires the old one; guesses and other shapes are plain 404s.
    let newer = api
        .post(&format!("/api/v1/leads/{lead}/member_link"), json!({}))
        .await
        .expect(200);
    assert_eq!(get(&t, &path).await.status(), 404);
    let newer_path = format!("/m/{}", newer["token"].as_str().unwrap());
    assert_eq!(get(&t, &newer_path).await.status(), 200);
    for guess in [
        format!("/m/{}", "0".repeat(64)),
        "/m/short".to_string(),
        format!("/m/{lead}"),
    ] {
        assert_eq!(get(&t, &guess).await.status(), 404, "{guess}");
    }
    // Links are per lead and per merchant: another merchant's key cannot make one.
    let other = shop(&t, "Elsewhere").await;
    t.api(&other.key)
        .post(&format!("/api/v1/leads/{lead}/member_link"), json!({}))
        .await
        .assert_problem(404, "not_found");
    let _ = other_lead;
    t.stop().await;
}

async fn the_dashboard_emails_or_shows_a_member_link(t: TestApp) {
    use crate::common::dashboard::{mails_to, merchant_with_member};
    let (m, member) = merchant_with_member(&t, "Harbour Books", true).await;
    let scope = punchcard_app::ledger::Scope::new(&m, Env::Prod);
    let with_email = t
        .app
        .create_lead(
            &scope,
            punchcard_app::ledger::NewLead {
                customer_id: "cust-ada".into(),
                name: Some("Ada".into()),
                email: Some("ada@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let page = member
        .page(&t, &format!("/dashboard/leads/{}", with_email.id))
        .await;
    assert!(
        page.contains("Email a new link to ada@example.com"),
        "{page}"
    );
    let res = member
        .post(
            &t,
            &format!("/dashboard/leads/{}/member-link", with_email.id),
            &[("send", "email")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let mails = mails_to(&t.mail_dir, "ada@example.com");
    assert_eq!(mails.len(), 1);
    let url = mails[0]
        .split_whitespace()
        .find(|w| w.contains("/m/"))
        .expect("the link in the mail")
        .to_string();
    let path = &url[url.find("/m/").unwrap()..];
    let html = get(&t, path).await.text().await.unwrap();
    assert!(
        html.contains("Harbour Books") && html.contains("cust-ada"),
        "{html}"
    );

    // Shown instead: the emailed link stops working.
    let res = member
        .post(
            &t,
            &format!("/dashboard/leads/{}/member-link", with_email.id),
            &[("send", "show")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = member
        .page(&t, &format!("/dashboard/leads/{}", with_email.id))
        .await;
    assert!(page.contains("New member-page link"), "{page}");
    assert_eq!(get(&t, path).await.status(), 404);
    t.stop().await;
}

async fn the_member_page_shows_progress_and_gives_a_surprise(t: TestApp) {
    let s = shop(&t, "Harbour Books").await;
    let (lead, coupon) = lead_with_coupon(&t, &s, "cust-ada", "CAFE-1").await;
    let api = t.api(&s.key);
    let task = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Three visits", "reward": "points", "currency_id": s.currency,
                   "count": 3, "min_reward": 5, "period": "week"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.create(
        "/api/v1/task_activities",
        json!({"task_id": task, "lead_id": lead, "hash": "visit-1"}),
    )
    .await;
    let today = punchcard_domain::time::Timestamp::now().to_rfc3339()[..10].to_string();
    api.create(
        "/api/v1/surprises",
        json!({"name": "Spring gift", "type": "custom", "date": today, "count": 1,
               "deal_id": coupon["deal_id"]}),
    )
    .await;
    api.create(
        "/api/v1/coupon_codes",
        json!({"deal_id": coupon["deal_id"], "value": "GIFT-1"}),
    )
    .await;
    let token = api
        .post(&format!("/api/v1/leads/{lead}/member_link"), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/m/{token}");
    let html = get(&t, &path).await.text().await.unwrap();
    for shown in [
        "Your progress",
        "Three visits",
        "1 of 3",
        "Today's surprises",
        "Spring gift",
        "Surprise me",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    let action = html
        .split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|a| a.contains("/surprises/"))
        .expect("the form's action")
        .to_string();
    let hash = html
        .split("name=\"hash\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's hash")
        .to_string();
    let client = t.browser_client();
    let tap = |hash: String| {
        let client = client.clone();
        let url = t.url(&action);
        async move {
            client
                .post(url)
                .form(&[("hash", hash.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let res = tap(hash.clone()).await;
    assert_eq!(res.status(), 303);
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert!(back.contains("done=claimed"), "{back}");
    let html = get(&t, &back).await.text().await.unwrap();
    assert!(
        html.contains("Surprise!") && html.contains("GIFT-1"),
        "{html}"
    );
    assert!(html.contains("Claimed today"), "{html}");
    // The same tap again replays; a new one is over the count.
    assert!(tap(hash).await.headers()["location"]
        .to_str()
        .unwrap()
        .contains("done=claimed"));
    assert!(tap("member-another".into()).await.headers()["location"]
        .to_str()
        .unwrap()
        .contains("done=limit"));
    let coupons = api.get_ok(&format!("/api/v1/coupons?lead_id={lead}")).await["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(coupons, 2, "one coupon from the surprise");
    // Another token cannot claim for this lead.
    let res = client
        .post(t.url(&format!("/m/{}/surprises/x", "0".repeat(64))))
        .form(&[("hash", "h")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    t.stop().await;
}

on_both_backends!(
    tokens_resolve_for_their_own_merchant_and_env_only,
    entering_a_code_uses_the_customers_coupon_once,
    the_member_page_shows_the_card_to_the_holder_of_its_link,
    the_dashboard_emails_or_shows_a_member_link,
    the_member_page_shows_progress_and_gives_a_surprise,
);
