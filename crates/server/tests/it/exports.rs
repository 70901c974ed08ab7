//! CSV exports over HTTP: the API's and the dashboard's, with a header row, the range of days,
//! formulas defused, the key's environment only, and a body streamed page by page.

use crate::common::dashboard::{location, merchant_with_member};
use crate::common::{ApiResponse, Key, TestApp};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, LeadId, MerchantId};
use punchcard_store::leads::LeadRow;
use serde_json::json;

/// The records of a CSV body, header first.
fn records(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn export(t: &TestApp, key: &Key, path: &str) -> (u16, String, String) {
    let res = t.api(key).get_raw(path).await;
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

struct Shop {
    m: MerchantId,
    key: Key,
    currency: String,
}

async fn shop(t: &TestApp) -> Shop {
    let m = t.active_merchant("Export Shop").await;
    t.set_rate_limit(&m, 300_000).await;
    let currency = t
        .app
        .create_currency(&m, "GEM", "Gems", "1")
        .await
        .unwrap()
        .id
        .to_string();
    let key = t.api_key(&m, Env::Prod).await;
    Shop { m, key, currency }
}

async fn exports_have_a_header_rows_and_the_api_fields(t: TestApp) {
    let s = shop(&t).await;
    let api = t.api(&s.key);
    let lead = api
        .create(
            "/api/v1/leads",
            json!({"customer_id": "cust-export-1", "name": "=HYPERLINK(\"x\")",
                   "email": "ada@example.com", "mobile": "+44 20 7946 0958", "country": "gb"}),
        )
        .await;
    let lead_id = lead["id"].as_str().unwrap().to_string();
    let wallet = api
        .create(
            "/api/v1/wallets",
            json!({"lead_id": lead_id, "currency_id": s.currency}),
        )
        .await;
    let wallet_id = wallet["id"].as_str().unwrap().to_string();
    for (amount, hash) in [(50, "h-1"), (-20, "h-2")] {
        api.create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet_id, "kind": if amount > 0 { "reward" } else { "adjust" },
                   "amount": amount, "hash": hash, "description": "@SUM(A1)"}),
        )
        .await;
    }
    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": "Free tea", "description": "One tea", "kind": "voucher",
                   "sell_price": 10, "available": true, "visibility": "private"}),
        )
        .await;
    let deal_id = deal["id"].as_str().unwrap().to_string();
    api.create(
        "/api/v1/coupon_codes/bulk_generate",
        json!({"deal_id": deal_id, "count": 2}),
    )
    .await;
    let coupon = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": deal_id, "lead_id": lead_id, "hash": "c-1", "mode": "reward"}),
        )
        .await;

    let (status, content_type, body) = export(&t, &s.key, "/api/v1/exports/leads.csv").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let rows = records(&body);
    assert_eq!(
        rows[0],
        [
            "id",
            "customer_id",
            "name",
            "email",
            "mobile",
            "country",
            "dob",
            "created_at",
            "updated_at"
        ]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], lead_id);
    assert_eq!(rows[1][2], "'=HYPERLINK(\"x\")", "a formula is defused");
    assert_eq!(rows[1][4], "+442079460958");
    assert_eq!(rows[1][5], "GB");
    assert!(body.ends_with("\r\n"));

    let (status, _, body) = export(&t, &s.key, "/api/v1/exports/wallet_transactions.csv").await;
    assert_eq!(status, 200);
    let rows = records(&body);
    assert_eq!(
        rows[0],
        [
            "id",
            "wallet_id",
            "lead_id",
            "kind",
            "amount",
            "balance_after",
            "hash",
            "description",
            "reference",
            "created_at"
        ]
    );
    assert_eq!(rows.len(), 3);
    let amounts: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[3].as_str(), r[4].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(amounts, [("reward", "50", "50"), ("adjust", "-20", "30")]);
    assert_eq!(rows[1][7], "'@SUM(A1)");

    let (status, _, body) = export(&t, &s.key, "/api/v1/exports/coupons.csv").await;
    assert_eq!(status, 200);
    let rows = records(&body);
    assert_eq!(rows[0][..5], ["id", "deal_id", "lead_id", "code", "status"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], coupon["id"].as_str().unwrap());
    assert_eq!(rows[1][3], coupon["code"].as_str().unwrap());
    assert_eq!(rows[1][4], "issued");
    assert_eq!(rows[1][5], "reward");

    // Another environment's key exports none of it.
    let dev = t.api_key(&s.m, Env::Dev).await;
    for path in [
        "/api/v1/exports/leads.csv",
        "/api/v1/exports/wallet_transactions.csv",
        "/api/v1/exports/coupons.csv",
    ] {
        let (status, _, body) = export(&t, &dev, path).await;
        assert_eq!(status, 200);
        assert_eq!(records(&body).len(), 1, "{path}: the header only");
    }
    t.stop().await;
}

async fn the_range_picks_days_and_is_checked(t: TestApp) {
    let s = shop(&t).await;
    t.api(&s.key)
        .create(
            "/api/v1/leads",
            json!({"customer_id": "cust-today", "email": "t@example.com"}),
        )
        .await;
    let today = &Timestamp::now().to_rfc3339()[..10];
    let count = |body: &str| records(body).len() - 1;
    for (query, want) in [
        (format!("?from={today}&to={today}"), 1),
        (format!("?from={today}"), 1),
        (format!("?to={today}"), 1),
        ("?from=2000-01-01&to=2000-12-31".to_string(), 0),
        ("?from=2999-01-01".to_string(), 0),
        ("?from=&to=".to_string(), 1),
    ] {
        let (status, _, body) =
            export(&t, &s.key, &format!("/api/v1/exports/leads.csv{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(count(&body), want, "{query}");
    }
    for (query, fields) in [
        ("?from=yesterday", vec!["from"]),
        ("?from=2026-02-30&to=2026-13-01", vec!["from", "to"]),
        ("?from=2026-03-02&to=2026-03-01", vec!["to"]),
    ] {
        let res = ApiResponse::read(t.api(&s.key).request(
            reqwest::Method::GET,
            &format!("/api/v1/exports/coupons.csv{query}"),
        ))
        .await;
        assert_eq!(res.status(), 422, "{query}");
        let problem = res.into_json();
        assert_eq!(problem["code"], "validation_failed");
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields, "{query}");
    }
    t.stop().await;
}

/// More rows than several pages: every row once, in id order, arriving in several chunks.
async fn a_large_export_streams_every_row_once(t: TestApp) {
    let s = shop(&t).await;
    let total = 1_234;
    let now = Timestamp::now();
    let mut tx = t.app.db.begin_write().await.unwrap();
    for i in 0..total {
        let lead = LeadRow {
            merchant_id: s.m.clone(),
            env: Env::Prod,
            id: LeadId::new(),
            customer_id: format!("bulk-{i:05}"),
            name: None,
            email: Some(format!("bulk{i}@example.com")),
            mobile: None,
            country: None,
            dob: None,
            created_at: now,
            updated_at: now,
        };
        punchcard_store::leads::insert(&mut tx, &lead)
            .await
            .unwrap();
    }
    punchcard_store::commit(tx).await.unwrap();

    let mut res = t.api(&s.key).get_raw("/api/v1/exports/leads.csv").await;
    assert_eq!(res.status(), 200);
    let mut chunks = 0;
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks > 2, "streamed in pages, got {chunks} chunk(s)");
    let rows = records(std::str::from_utf8(&body).unwrap());
    assert_eq!(rows.len(), total + 1);
    let ids: Vec<&String> = rows[1..].iter().map(|r| &r[0]).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "each row once, in id order");
    t.stop().await;
}

async fn the_dashboard_downloads_the_shown_environment(t: TestApp) {
    let (m, member) = merchant_with_member(&t, "Export Cafe", true).await;
    let key = t.api_key(&m, Env::Prod).await;
    t.api(&key)
        .create(
            "/api/v1/leads",
            json!({"customer_id": "cust-dash", "email": "d@example.com"}),
        )
        .await;
    let page = member.page(&t, "/dashboard/leads").await;
    assert!(page.contains("action=\"/dashboard/leads/export.csv\""));
    for (path, header) in [
        ("/dashboard/leads/export.csv", "id,customer_id,name"),
        (
            "/dashboard/wallet-transactions/export.csv",
            "id,wallet_id,lead_id",
        ),
        ("/dashboard/coupons/export.csv", "id,deal_id,lead_id"),
    ] {
        let res = member.get(&t, path).await;
        assert_eq!(res.status(), 200, "{path}");
        let disposition = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.starts_with("attachment; filename="),
            "{disposition}"
        );
        let body = res.text().await.unwrap();
        assert!(body.starts_with(header), "{path}: {body}");
    }
    let body = member
        .get(&t, "/dashboard/leads/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("cust-dash"));
    member.switch_env(&t, "dev").await;
    let body = member
        .get(&t, "/dashboard/leads/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(!body.contains("cust-dash"), "DEV shows DEV rows only");
    let res = member
        .get(&t, "/dashboard/leads/export.csv?from=soon")
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/dashboard/leads");
    // Signed out, no export.
    let res = t
        .browser_client()
        .get(t.url("/dashboard/leads/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/dashboard/login");
    t.stop().await;
}

on_both_backends!(
    exports_have_a_header_rows_and_the_api_fields,
    the_range_picks_days_and_is_checked,
    a_large_export_streams_every_row_once,
    the_dashboard_downloads_the_shown_environment,
);
