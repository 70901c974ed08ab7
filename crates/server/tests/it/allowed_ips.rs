//! Allowed IPs: the cap, and API enforcement with and without trusted proxies.

use crate::common::dashboard::{merchant_with_member, Member};
use crate::common::{allowed_ip_entry as entry, ApiResponse, Backend, Key, ReadAnswer, TestApp};
use punchcard_app::AppError;
use punchcard_domain::Env;

impl Member {
    async fn add(&self, t: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post(t, "/dashboard/allowed-ips", fields).await
    }

    async fn delete(&self, t: &TestApp, id: &str) -> reqwest::Response {
        self.post(t, &format!("/dashboard/allowed-ips/{id}/delete"), &[])
            .await
    }
}

/// GETs the currencies, through a proxy that says the client is `forwarded_for`.
async fn api_get_via(t: &TestApp, key: &Key, forwarded_for: Option<&str>) -> ApiResponse {
    let mut req = t
        .api(key)
        .request(reqwest::Method::GET, "/api/v1/currencies");
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.read().await
}

async fn at_most_ten_entries_and_no_duplicates(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    for i in 0..10 {
        let source = if i % 2 == 0 { "api" } else { "dashboard" };
        t.app
            .add_allowed_ip(&m, entry(source, &format!("198.51.100.{i}")))
            .await
            .unwrap();
    }
    let err = t
        .app
        .add_allowed_ip(&m, entry("api", "203.0.113.0/24"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::LimitReached(_)), "{err:?}");
    assert_eq!(t.app.list_allowed_ips(&m).await.unwrap().len(), 10);

    // A duplicate is a field error even below the cap; the same address under the other
    // source is not a duplicate.
    let first = t.app.list_allowed_ips(&m).await.unwrap().remove(0);
    t.app.delete_allowed_ip(&m, &first.id).await.unwrap();
    let err = t
        .app
        .add_allowed_ip(&m, entry("api", "198.51.100.2/32"))
        .await
        .unwrap_err();
    match err {
        AppError::Validation(e) => assert_eq!(
            e.for_field("ip"),
            Some("is already in the list for this source")
        ),
        other => panic!("expected a field error, got {other:?}"),
    }
    t.app
        .add_allowed_ip(&m, entry("dashboard", "198.51.100.2"))
        .await
        .unwrap();

    // Another merchant's entries neither count nor can be deleted.
    let other = t.active_merchant("Other").await;
    t.app
        .add_allowed_ip(&other, entry("api", "198.51.100.1"))
        .await
        .unwrap();
    let err = t
        .app
        .delete_allowed_ip(&other, &first.id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)));
    t.stop().await;
}

/// Ten concurrent adds on a merchant with nine entries: exactly one wins.
async fn the_cap_holds_under_concurrency(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    for i in 0..9 {
        t.app
            .add_allowed_ip(&m, entry("api", &format!("198.51.100.{i}")))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..10 {
        let app = t.app.clone();
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            app.add_allowed_ip(&m, entry("dashboard", &format!("203.0.113.{i}")))
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppError::LimitReached(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(t.app.list_allowed_ips(&m).await.unwrap().len(), 10);
    t.stop().await;
}

async fn api_calls_from_other_addresses_are_refused(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    // No entry: everyone is allowed.
    assert_eq!(api_get_via(&t, &key, None).await.status(), 200);

    // A dashboard-only rule does not restrict the API.
    t.app
        .add_allowed_ip(&m, entry("dashboard", "203.0.113.0/24"))
        .await
        .unwrap();
    t.state.allowed_ips.invalidate(&m);
    assert_eq!(api_get_via(&t, &key, None).await.status(), 200);

    let rule = t
        .app
        .add_allowed_ip(&m, entry("api", "203.0.113.0/24"))
        .await
        .unwrap();
    t.state.allowed_ips.invalidate(&m);
    api_get_via(&t, &key, None)
        .await
        .assert_problem(403, "ip_not_allowed");
    // Without trusted proxies, X-Forwarded-For is ignored: the peer (loopback) is the client.
    api_get_via(&t, &key, Some("203.0.113.9"))
        .await
        .assert_problem(403, "ip_not_allowed");

    // Allowing loopback lets the call through.
    t.app
        .add_allowed_ip(&m, entry("api", "127.0.0.1"))
        .await
        .unwrap();
    t.state.allowed_ips.invalidate(&m);
    assert_eq!(api_get_via(&t, &key, None).await.status(), 200);

    // Another merchant without rules is unaffected.
    let other = t.active_merchant("Other").await;
    let other_key = t.api_key(&other, Env::Dev).await;
    assert_eq!(api_get_via(&t, &other_key, None).await.status(), 200);

    // Bad credentials are still 401, not an IP answer.
    let wrong = (key.0.clone(), "sk_wrong".to_string());
    assert_eq!(api_get_via(&t, &wrong, None).await.status(), 401);
    let _ = rule;
    t.stop().await;
}

/// A change made elsewhere (no invalidation here) takes effect within the cache's second.
async fn changes_take_effect_within_two_seconds(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    assert_eq!(api_get_via(&t, &key, None).await.status(), 200);
    let rule = t
        .app
        .add_allowed_ip(&m, entry("api", "203.0.113.7"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    api_get_via(&t, &key, None)
        .await
        .assert_problem(403, "ip_not_allowed");
    t.app.delete_allowed_ip(&m, &rule.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(api_get_via(&t, &key, None).await.status(), 200);
    t.stop().await;
}

async fn the_dashboard_page_adds_lists_and_deletes(t: TestApp) {
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let html = member
        .get(&t, "/dashboard/allowed-ips")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your current address is <code>127.0.0.1</code>"));
    assert!(html.contains("0 of 10"));

    let res = member
        .add(&t, &[("source", "api"), ("ip", "203.0.113.300")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("IP must be an IP address or a CIDR range"));
    let res = member
        .add(&t, &[("source", "api"), ("ip", "203.0.113.9/24")])
        .await;
    assert_eq!(res.status(), 303);
    let html = member
        .get(&t, "/dashboard/allowed-ips")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("203.0.113.0/24"), "stored normalised");
    assert!(html.contains("1 of 10"));
    let res = member
        .add(&t, &[("source", "api"), ("ip", "203.0.113.0/24")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("IP is already in the list for this source"));

    // Up to the cap through the page, then a clear refusal.
    for i in 1..10 {
        let res = member
            .add(&t, &[("source", "api"), ("ip", &format!("198.51.100.{i}"))])
            .await;
        assert_eq!(res.status(), 303, "entry {i}");
    }
    let res = member
        .add(&t, &[("source", "api"), ("ip", "198.51.100.200")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("at most 10 allowed IPs"));

    let rows = t.app.list_allowed_ips(&m).await.unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(member.delete(&t, rows[0].id.as_str()).await.status(), 303);
    assert_eq!(t.app.list_allowed_ips(&m).await.unwrap().len(), 9);
    // Another merchant's entry cannot be deleted from here.
    let other = t.active_merchant("Other").await;
    let theirs = t
        .app
        .add_allowed_ip(&other, entry("api", "192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(member.delete(&t, theirs.id.as_str()).await.status(), 404);
    assert_eq!(t.app.list_allowed_ips(&other).await.unwrap().len(), 1);
    t.stop().await;
}

/// A dashboard rule that leaves out the current address needs an explicit confirmation;
/// once saved, the dashboard answers 403 to this browser.
async fn dashboard_rules_warn_before_locking_out(t: TestApp) {
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let res = member
        .add(&t, &[("source", "dashboard"), ("ip", "203.0.113.5")])
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Your current address, 127.0.0.1, is not in this range"));
    assert!(html.contains("name=\"confirm_lockout\""));
    assert!(
        t.app.list_allowed_ips(&m).await.unwrap().is_empty(),
        "nothing saved without confirmation"
    );

    // A rule that includes the current address needs no confirmation; with it in place, a
    // second, foreign rule needs none either.
    assert_eq!(
        member
            .add(&t, &[("source", "dashboard"), ("ip", "127.0.0.0/8")])
            .await
            .status(),
        303
    );
    assert_eq!(
        member
            .add(&t, &[("source", "dashboard"), ("ip", "203.0.113.5")])
            .await
            .status(),
        303
    );
    assert_eq!(member.get(&t, "/dashboard").await.status(), 200);

    // Deleting the loopback rule leaves only the foreign one: the dashboard is now refused.
    let loopback = t
        .app
        .list_allowed_ips(&m)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.cidr == "127.0.0.0/8")
        .unwrap();
    assert_eq!(member.delete(&t, loopback.id.as_str()).await.status(), 303);
    for path in ["/dashboard", "/dashboard/allowed-ips", "/dashboard/profile"] {
        let res = member.get(&t, path).await;
        assert_eq!(res.status(), 403, "{path}");
        assert!(res.text().await.unwrap().contains("Address not allowed"));
    }
    // API access is a separate list and stays open.
    let key = t.api_key(&m, Env::Dev).await;
    assert_eq!(api_get_via(&t, &key, None).await.status(), 200);
    t.stop().await;
}

async fn a_confirmed_lockout_is_saved(t: TestApp) {
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let res = member
        .add(
            &t,
            &[
                ("source", "dashboard"),
                ("ip", "203.0.113.5"),
                ("confirm_lockout", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(t.app.list_allowed_ips(&m).await.unwrap().len(), 1);
    assert_eq!(member.get(&t, "/dashboard/allowed-ips").await.status(), 403);
    t.stop().await;
}

on_both_backends!(
    the_dashboard_page_adds_lists_and_deletes,
    dashboard_rules_warn_before_locking_out,
    a_confirmed_lockout_is_saved,
    at_most_ten_entries_and_no_duplicates,
    the_cap_holds_under_concurrency,
    api_calls_from_other_addresses_are_refused,
    changes_take_effect_within_two_seconds,
);

/// With loopback as a trusted proxy, the client is the right-most untrusted X-Forwarded-For
/// address; a forged left-most entry does not help.
async fn forwarded_for_counts_only_from_trusted_proxies(backend: Backend) {
    let Some(t) = TestApp::start(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Prod).await;
    t.app
        .add_allowed_ip(&m, entry("api", "203.0.113.0/24"))
        .await
        .unwrap();
    assert_eq!(
        api_get_via(&t, &key, Some("203.0.113.9")).await.status(),
        200
    );
    api_get_via(&t, &key, Some("198.51.100.4"))
        .await
        .assert_problem(403, "ip_not_allowed");
    api_get_via(&t, &key, Some("203.0.113.9, 198.51.100.4"))
        .await
        .assert_problem(403, "ip_not_allowed");
    // No header: the proxy itself is the client, and it is not allowed.
    api_get_via(&t, &key, None)
        .await
        .assert_problem(403, "ip_not_allowed");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_forwarded_for_counts_only_from_trusted_proxies() {
    forwarded_for_counts_only_from_trusted_proxies(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_forwarded_for_counts_only_from_trusted_proxies() {
    forwarded_for_counts_only_from_trusted_proxies(Backend::Postgres).await;
}
