//! Upgrading keeps data: a database made by the release before native PostgreSQL types
//! (schema version 9, rows in `fixtures/data_before_native_types.sql`) migrates in place, and
//! every lead, balance, transaction, deal, coupon and rate reads back unchanged through the
//! API, on SQLite and on PostgreSQL. The whole answers are one insta snapshot shared by both.

use punchcard_domain::{Env, MerchantId};
use serde_json::{json, Value};

use crate::common::{Backend, TestApp};

const FIXTURE: &str = include_str!("fixtures/data_before_native_types.sql");
const MERCHANT: &str = "mer_01jf8k2m3n4p5q6r7s8t9v0w1x";
const LEAD: &str = "lead_01jf8k2m3n4p5q6r7s8t9v0w3b";
const WALLET: &str = "wal_01jf8k2m3n4p5q6r7s8t9v0w4c";
const DEAL: &str = "deal_01jf8k2m3n4p5q6r7s8t9v0w7f";
const PAUSED_DEAL: &str = "deal_01jf8k2m3n4p5q6r7s8t9v0w8g";
const COUPON: &str = "cpn_01jf8k2m3n4p5q6r7s8t9v0w9h";

async fn data_survives_the_upgrade(t: TestApp) {
    let merchant: MerchantId = MERCHANT.parse().unwrap();
    let key = t.api_key(&merchant, Env::Dev).await;
    let api = t.api(&key);
    let lead = api.get_ok(&format!("/api/v1/leads/{LEAD}")).await;
    let wallet = api.get_ok(&format!("/api/v1/wallets/{WALLET}")).await;
    let transactions = api
        .get_ok(&format!("/api/v1/wallet_transactions?wallet_id={WALLET}"))
        .await;
    let deal = api.get_ok(&format!("/api/v1/deals/{DEAL}")).await;
    let paused = api.get_ok(&format!("/api/v1/deals/{PAUSED_DEAL}")).await;
    let coupon = api.get_ok(&format!("/api/v1/coupons/{COUPON}")).await;
    let codes = api
        .get_ok(&format!("/api/v1/coupon_codes?deal_id={DEAL}"))
        .await;
    let currencies = api.get_ok("/api/v1/currencies").await;

    // The values that the column conversions touch, spelled out.
    assert_eq!(lead["created_at"], "2026-10-03T10:00:00.000001Z");
    assert_eq!(lead["updated_at"], "2026-10-04T11:15:30.5Z");
    assert_eq!(wallet["balance"], 75);
    let amounts: Vec<&Value> = transactions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["amount"])
        .collect();
    assert_eq!(amounts, [&json!(100), &json!(-25)]);
    assert_eq!(deal["available"], true);
    assert_eq!(paused["available"], false);
    assert_eq!(deal["starts_at"], "2026-10-01T00:00:00Z");
    assert_eq!(coupon["status"], "used");
    assert_eq!(coupon["used_at"], "2026-10-06T09:00:00.25Z");
    assert_eq!(currencies["data"][0]["coins_per_unit"], "0.5");

    // The coupon's QR token is signed with a key made on first use: checked, then left out.
    let mut coupon = coupon;
    let token = coupon["qr_token"].take();
    assert!(
        token.as_str().is_some_and(|t| t.starts_with("pc1.c.")),
        "{token}"
    );
    coupon.as_object_mut().unwrap().remove("qr_token");
    insta::assert_json_snapshot!(
        "data_after_upgrade",
        json!({
            "lead": lead,
            "wallet": wallet,
            "transactions": transactions,
            "deal": deal,
            "paused_deal": paused,
            "coupon": coupon,
            "coupon_codes": codes,
            "currencies": currencies,
        })
    );

    // The upgraded ledger keeps working: a reward lands on the migrated balance.
    let reward = api
        .create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": WALLET, "kind": "reward", "amount": 5, "hash": "after-upgrade"}),
        )
        .await;
    assert_eq!(reward["balance_after"], 80);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_data_survives_the_upgrade() {
    let t = TestApp::start_upgraded(Backend::Sqlite, 9, FIXTURE)
        .await
        .expect("SQLite always runs");
    data_survives_the_upgrade(t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_data_survives_the_upgrade() {
    if let Some(t) = TestApp::start_upgraded(Backend::Postgres, 9, FIXTURE).await {
        data_survives_the_upgrade(t).await;
    }
}
