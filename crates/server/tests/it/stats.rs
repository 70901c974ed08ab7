//! The overview's figures: `GET /api/v1/stats` counts leads added, rewards and their points,
//! deals redeemed, coupons used and swaps per UTC day over a range (the last 30 days by
//! default), per environment; bad ranges are refused; the dashboard's overview shows them for
//! 7, 30 or 90 days.

use crate::common::api::id_of;
use crate::common::TestApp;
use crate::tasks::{deal_with_codes, merchant};
use punchcard_domain::time::Timestamp;
use punchcard_domain::Env;
use serde_json::json;

fn today() -> String {
    punchcard_domain::campaigns::CalendarDate(Timestamp::now().datetime().date()).to_string()
}

async fn stats_count_what_the_environment_did(t: TestApp) {
    let (m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let empty = api.get_ok("/api/v1/stats").await;
    assert_eq!(empty["by_day"].as_array().unwrap().len(), 30);
    assert_eq!(empty["to"], today().as_str());
    assert_eq!(empty["leads_added"], 0);

    let (lead, wallet) = api.lead_with_wallet("cust-0001", &cur).await;
    let other = id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": "cust-0002", "email": "b@example.com"}),
        )
        .await,
    );
    for (amount, hash, kind) in [
        (10, "r-1", "reward"),
        (5, "r-2", "reward"),
        (-3, "a-1", "adjust"),
    ] {
        api.create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet, "kind": kind, "amount": amount, "hash": hash}),
        )
        .await;
    }
    let deal = deal_with_codes(&api, 2).await;
    let coupon = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": deal, "lead_id": lead, "currency_id": cur, "hash": "c-1", "mode": "redeem"}),
        )
        .await;
    api.post(
        &format!("/api/v1/coupons/{}/use", id_of(&coupon)),
        json!({}),
    )
    .await
    .expect(200);
    api.create(
        "/api/v1/coupons",
        json!({"deal_id": deal, "lead_id": lead, "hash": "c-2", "mode": "reward"}),
    )
    .await;
    t.app.set_lead_swaps(&m, true).await.unwrap();
    api.create(
        "/api/v1/swaps",
        json!({"from_wallet_id": wallet, "amount": 1, "hash": "s-1", "to_lead_id": other}),
    )
    .await;

    let s = api.get_ok("/api/v1/stats").await;
    let expected = json!({"leads_added": 2, "rewards": 2, "points_rewarded": 15,
                          "deals_redeemed": 1, "coupons_used": 1, "swaps": 1});
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&s[k], v, "{k}: {s}");
    }
    let days = s["by_day"].as_array().unwrap();
    let last = days.last().unwrap();
    assert_eq!(last["date"], today().as_str());
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&last[k], v, "{k} of today: {last}");
    }
    assert_eq!(days[0]["leads_added"], 0);

    // A range of its own, days without activity included; refused ranges.
    let old = api
        .get_ok("/api/v1/stats?from=2026-01-01&to=2026-01-07")
        .await;
    assert_eq!(old["by_day"].as_array().unwrap().len(), 7);
    assert_eq!(old["by_day"][6]["date"], "2026-01-07");
    assert_eq!(old["rewards"], 0);
    api.get("/api/v1/stats?from=2026-13-01")
        .await
        .assert_invalid(&["from"]);
    api.get("/api/v1/stats?from=2026-02-01&to=2026-01-01")
        .await
        .assert_invalid(&["from"]);
    api.get("/api/v1/stats?from=2024-01-01&to=2026-01-01")
        .await
        .assert_invalid(&["from"]);
    api.get("/api/v1/stats?to=yesterday")
        .await
        .assert_invalid(&["to"]);

    // The other environment counts its own.
    let dev = t.api(&t.api_key(&m, Env::Dev).await);
    let d = dev.get_ok("/api/v1/stats").await;
    assert_eq!(
        (d["leads_added"].as_i64(), d["rewards"].as_i64()),
        (Some(0), Some(0))
    );

    // The overview shows the figures for 7, 30 or 90 days.
    let member = crate::common::dashboard::Member::sign_in(&t, &owner_email(&t, &m).await).await;
    member.switch_env(&t, "prod").await;
    let html = member.page(&t, "/dashboard").await;
    assert!(html.contains("The last 30 days"), "{html}");
    assert!(html.contains(r#"data-figure="Points rewarded">"#), "{html}");
    let figure = |html: &str, label: &str| -> String {
        let at = html.find(&format!(r#"data-figure="{label}""#)).unwrap();
        let rest = &html[at..];
        let start =
            rest.find(r#"<p class="stat-value">"#).unwrap() + r#"<p class="stat-value">"#.len();
        rest[start..].split('<').next().unwrap().to_string()
    };
    assert_eq!(figure(&html, "Points rewarded"), "15");
    assert_eq!(figure(&html, "Swaps"), "1");
    // Charted by day, with the numbers beside: today's column holds the period's points.
    for drawn in [
        r#"id="chart-activity""#,
        r#"id="chart-leads""#,
        r#"id="chart-points""#,
        "Points rewarded (15)",
        "Swaps (1)",
    ] {
        assert!(html.contains(drawn), "{drawn} in {html}");
    }
    let points = &html[html.find(r#"id="chart-points""#).unwrap()..];
    assert!(
        points.contains(r#"class="series-1""#),
        "today's bar is drawn"
    );
    let week = member.page(&t, "/dashboard?days=7").await;
    assert!(week.contains("The last 7 days"), "{week}");
    assert_eq!(figure(&week, "Leads added"), "2");
    let odd = member.page(&t, "/dashboard?days=12").await;
    assert!(
        odd.contains("The last 30 days"),
        "an unknown period shows the default"
    );
    t.stop().await;
}

async fn owner_email(t: &TestApp, m: &punchcard_domain::MerchantId) -> String {
    t.app
        .list_members(m)
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
        .email
        .as_str()
        .to_string()
}

on_both_backends!(stats_count_what_the_environment_did);
