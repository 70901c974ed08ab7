//! The API keys page: the secret is shown once, never listed; revoking locks the API out;
//! the per-environment cap is enforced with a clear message.

use crate::common::dashboard::{input_value, input_value_by_name, merchant_with_member, Member};
use crate::common::TestApp;

impl Member {
    /// Creates a key through the page; answers (id, secret, signing secret).
    async fn create_key(&self, t: &TestApp, name: &str) -> (String, String, String) {
        let res = self
            .post(
                t,
                "/dashboard/api-keys",
                &[("name", name), ("callback_url", "")],
            )
            .await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("shown only this once"));
        (
            input_value(&html, "key-id"),
            input_value(&html, "key-secret"),
            input_value(&html, "signing-secret"),
        )
    }
}

async fn api_status(t: &TestApp, id: &str, secret: &str) -> u16 {
    t.api(&(id.to_string(), secret.to_string()))
        .get("/api/v1/currencies")
        .await
        .status()
        .as_u16()
}

async fn the_secret_is_shown_once_and_revoking_locks_the_api_out(t: TestApp) {
    let (merchant_id, m) = merchant_with_member(&t, "Acme", true).await;
    t.app
        .create_currency(&merchant_id, "PTS", "Points", "1")
        .await
        .unwrap();
    let html = m.page(&t, "/dashboard/api-keys").await;
    assert!(html.contains("0 of 10"), "PROD cap shown");
    m.switch_env(&t, "dev").await;
    let html = m.page(&t, "/dashboard/api-keys").await;
    assert!(html.contains("0 of 5"), "DEV cap shown");

    let (id, secret, signing) = m.create_key(&t, "Web shop").await;
    assert!(id.starts_with("key_"));
    assert!(secret.starts_with("sk_"));
    assert!(signing.starts_with("whsec_"));
    assert_eq!(api_status(&t, &id, &secret).await, 200);

    // The list names the key but never holds the secret (nor the signing secret).
    let list = m.page(&t, "/dashboard/api-keys").await;
    assert!(list.contains(&id));
    assert!(list.contains("Web shop"));
    assert!(list.contains("1 of 5"));
    assert!(!list.contains(&secret));
    assert!(!list.contains(&signing));
    // The key's page shows the signing secret, still not the API secret.
    let show = m.page(&t, &format!("/dashboard/api-keys/{id}")).await;
    assert!(show.contains(&signing));
    assert!(!show.contains(&secret));

    // Revoke: the page confirms and the API refuses the key.
    let res = m
        .post(&t, &format!("/dashboard/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/api-keys");
    let list = m.page(&t, "/dashboard/api-keys").await;
    assert!(list.contains("Revoked"));
    assert!(list.contains("0 of 5"));
    assert_eq!(api_status(&t, &id, &secret).await, 401);
    t.stop().await;
}

/// Reloading the answer to the create form re-posts it: the same form creates one key only.
async fn a_reposted_create_form_makes_one_key(t: TestApp) {
    let (merchant_id, m) = merchant_with_member(&t, "Acme", true).await;
    let html = m.page(&t, "/dashboard/api-keys").await;
    let form_id = input_value_by_name(&html, "form_id");
    assert!(!form_id.is_empty());
    let fields = [
        ("name", "Till"),
        ("callback_url", ""),
        ("form_id", form_id.as_str()),
    ];
    let first = m.post(&t, "/dashboard/api-keys", &fields).await;
    assert_eq!(first.status(), 200);
    let first_id = input_value(&first.text().await.unwrap(), "key-id");
    let again = m.post(&t, "/dashboard/api-keys", &fields).await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        again.headers()["location"],
        format!("/dashboard/api-keys/{first_id}").as_str()
    );
    let shown = m.page(&t, &format!("/dashboard/api-keys/{first_id}")).await;
    assert!(shown.contains("already created"));
    let live = t
        .app
        .list_api_keys(&merchant_id, punchcard_domain::Env::Prod)
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "one key for one form");

    // A refused form (bad name) can be corrected and sent again with the same form id.
    let html = m.page(&t, "/dashboard/api-keys").await;
    let form_id = input_value_by_name(&html, "form_id");
    let bad = m
        .post(
            &t,
            "/dashboard/api-keys",
            &[("name", ""), ("callback_url", ""), ("form_id", &form_id)],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert_eq!(input_value_by_name(&html, "form_id"), form_id);
    let ok = m
        .post(
            &t,
            "/dashboard/api-keys",
            &[
                ("name", "Kiosk"),
                ("callback_url", ""),
                ("form_id", &form_id),
            ],
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        t.app
            .list_api_keys(&merchant_id, punchcard_domain::Env::Prod)
            .await
            .unwrap()
            .len(),
        2
    );
    t.stop().await;
}

async fn the_dev_cap_is_five_live_keys(t: TestApp) {
    let (_merchant_id, m) = merchant_with_member(&t, "Acme", true).await;
    m.switch_env(&t, "dev").await;
    let (first, _, _) = m.create_key(&t, "key 1").await;
    for i in 2..=5 {
        m.create_key(&t, &format!("key {i}")).await;
    }
    let res = m
        .post(
            &t,
            "/dashboard/api-keys",
            &[("name", "key 6"), ("callback_url", "")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("at most 5 API keys in dev"), "{html}");
    assert!(!html.contains("sk_"));
    assert!(html.contains("value=\"key 6\""), "the typed name is kept");
    // A revoked key frees a slot.
    m.post(&t, &format!("/dashboard/api-keys/{first}/revoke"), &[])
        .await;
    m.create_key(&t, "key 6").await;
    t.stop().await;
}

async fn bad_input_and_other_merchants_keys(t: TestApp) {
    let (a, m) = merchant_with_member(&t, "Acme", true).await;
    m.switch_env(&t, "dev").await;
    let res = m
        .post(
            &t,
            "/dashboard/api-keys",
            &[("name", " "), ("callback_url", "ftp://files.example")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Name is required"));
    assert!(html.contains("Callback URL must be an http:// or https:// URL"));
    assert!(t
        .app
        .list_api_keys(&a, punchcard_domain::Env::Dev)
        .await
        .unwrap()
        .is_empty());

    // Another merchant's key is not found, and cannot be revoked.
    let other = t.active_merchant("Other").await;
    let (other_id, other_secret) = t.api_key(&other, punchcard_domain::Env::Dev).await;
    let res = m
        .client
        .get(t.url(&format!("/dashboard/api-keys/{other_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = m
        .post(&t, &format!("/dashboard/api-keys/{other_id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(api_status(&t, &other_id, &other_secret).await, 200);
    // A PROD key is not listed in DEV.
    let prod = t
        .app
        .create_api_key(&a, punchcard_domain::Env::Prod, "prod key", None)
        .await
        .unwrap();
    assert!(!m
        .page(&t, "/dashboard/api-keys")
        .await
        .contains(prod.id.as_str()));
    t.stop().await;
}

on_both_backends!(
    a_reposted_create_form_makes_one_key,
    the_secret_is_shown_once_and_revoking_locks_the_api_out,
    the_dev_cap_is_five_live_keys,
    bad_input_and_other_merchants_keys,
);
