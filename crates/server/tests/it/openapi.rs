//! The OpenAPI document lists every path of the API contract, each operation with its
//! responses, and a request body schema for every operation that takes one; the whole
//! document is a committed snapshot.

use crate::common::TestApp;
use serde_json::Value;

/// (method, path) of the published contract.
const CONTRACT: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/currencies"),
    ("get", "/api/v1/quota"),
    ("post", "/api/v1/leads"),
    ("get", "/api/v1/leads"),
    ("get", "/api/v1/leads/{id}"),
    ("patch", "/api/v1/leads/{id}"),
    ("delete", "/api/v1/leads/{id}"),
    ("post", "/api/v1/wallets"),
    ("get", "/api/v1/wallets"),
    ("get", "/api/v1/wallets/{id}"),
    ("post", "/api/v1/wallet_transactions"),
    ("get", "/api/v1/wallet_transactions"),
    ("post", "/api/v1/deals"),
    ("get", "/api/v1/deals"),
    ("get", "/api/v1/deals/{id}"),
    ("patch", "/api/v1/deals/{id}"),
    ("delete", "/api/v1/deals/{id}"),
    ("post", "/api/v1/coupon_codes"),
    ("post", "/api/v1/coupon_codes/bulk_generate"),
    ("post", "/api/v1/coupon_codes/bulk_upload"),
    ("post", "/api/v1/coupons"),
    ("get", "/api/v1/coupons"),
    ("post", "/api/v1/coupons/{id}/use"),
    ("post", "/api/v1/coupons/{id}/cancel"),
    ("post", "/api/v1/offers"),
    ("get", "/api/v1/offers"),
    ("post", "/api/v1/stores"),
    ("get", "/api/v1/stores"),
    ("post", "/api/v1/rules"),
    ("get", "/api/v1/rules"),
    ("get", "/api/v1/rules/{id}"),
    ("patch", "/api/v1/rules/{id}"),
    ("post", "/api/v1/rules/{id}/activate"),
    ("post", "/api/v1/rules/{id}/deactivate"),
    ("post", "/api/v1/rules/{id}/trigger"),
    ("get", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{id}/interactions"),
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("patch", "/api/v1/tasks/{id}"),
    ("delete", "/api/v1/tasks/{id}"),
    ("post", "/api/v1/task_activities"),
    ("get", "/api/v1/task_activities"),
    ("post", "/api/v1/surprises"),
    ("get", "/api/v1/surprises"),
    ("get", "/api/v1/surprises/{id}"),
    ("patch", "/api/v1/surprises/{id}"),
    ("delete", "/api/v1/surprises/{id}"),
    ("post", "/api/v1/surprise_activities"),
    ("get", "/api/v1/surprise_activities"),
    ("get", "/api/v1/campaigns/{id}/report"),
    ("get", "/api/v1/exports/leads.csv"),
    ("get", "/api/v1/exports/wallet_transactions.csv"),
    ("get", "/api/v1/exports/coupons.csv"),
];

/// Operations whose request carries a body.
const WITH_BODY: &[(&str, &str)] = &[
    ("post", "/api/v1/leads"),
    ("patch", "/api/v1/leads/{id}"),
    ("post", "/api/v1/wallets"),
    ("post", "/api/v1/wallet_transactions"),
    ("post", "/api/v1/deals"),
    ("patch", "/api/v1/deals/{id}"),
    ("post", "/api/v1/coupon_codes"),
    ("post", "/api/v1/coupon_codes/bulk_generate"),
    ("post", "/api/v1/coupon_codes/bulk_upload"),
    ("post", "/api/v1/coupons"),
    ("post", "/api/v1/offers"),
    ("post", "/api/v1/stores"),
    ("post", "/api/v1/rules"),
    ("patch", "/api/v1/rules/{id}"),
    ("post", "/api/v1/rules/{id}/trigger"),
    ("post", "/api/v1/tasks"),
    ("patch", "/api/v1/tasks/{id}"),
    ("post", "/api/v1/task_activities"),
    ("post", "/api/v1/surprises"),
    ("patch", "/api/v1/surprises/{id}"),
    ("post", "/api/v1/surprise_activities"),
];

#[tokio::test]
async fn every_contract_path_is_documented_with_schemas() {
    let t = TestApp::sqlite().await;
    let spec: Value = t.get_json("/api/v1/openapi.json").await.expect(200);
    for (method, path) in CONTRACT {
        let op = &spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} documents its success answer"
        );
        let success = responses
            .iter()
            .find(|(s, _)| s.starts_with('2'))
            .map(|(_, r)| r)
            .unwrap();
        if *method != "delete" && path.starts_with("/api") {
            assert!(
                success["content"].is_object(),
                "{method} {path} documents its answer's schema"
            );
        }
    }
    for (method, path) in WITH_BODY {
        let body = &spec["paths"][path][method]["requestBody"]["content"];
        assert!(
            body.as_object().is_some_and(|c| !c.is_empty()),
            "{method} {path} documents its request body"
        );
    }
    t.stop().await;
}

/// The whole document, as a committed snapshot: a change to the contract shows in review
/// (`cargo insta review`) and is committed with the code that makes it.
#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let t = TestApp::sqlite().await;
    let spec = t.get_json("/api/v1/openapi.json").await.expect(200);
    insta::assert_json_snapshot!("openapi", spec);
    t.stop().await;
}
