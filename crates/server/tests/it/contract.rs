//! The API's answers asserted whole, as committed insta snapshots: a lead, a wallet
//! transaction, a deal, a coupon and a validation problem. Ids and timestamps differ on every
//! run, so they are redacted, each after checking it is an id or an RFC 3339 time; everything
//! else must match byte for byte, and the same snapshot holds on SQLite and PostgreSQL.
//!
//! A change to an answer fails here; `cargo insta review` (or `INSTA_UPDATE=always`) shows the
//! change, and the reviewed `.snap` file is committed with it. In CI (`CI=true`) a missing
//! snapshot fails instead of being written.

use insta::internals::Redaction;
use punchcard_domain::Env;
use serde_json::json;

use crate::common::{Key, TestApp};

/// Stands in for an id after checking that it is one (`prefix_` and a ULID).
fn id() -> Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_default();
        let (prefix, ulid) = text.split_once('_').unwrap_or(("", text));
        assert!(
            !prefix.is_empty() && ulid.len() == 26,
            "{path} is an id: {value:?}"
        );
        format!("[{prefix} id]")
    })
}

/// Stands in for a timestamp after checking that it is an RFC 3339 time.
fn timestamp() -> Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_default();
        assert!(
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{path} is an RFC 3339 time: {value:?}"
        );
        "[timestamp]"
    })
}

/// A prod merchant with the GEM currency (3 coins a point); answers its key and currency id.
async fn shop(t: &TestApp) -> (Key, String) {
    let m = t.active_merchant("Acme").await;
    let currency = t
        .app
        .create_currency(&m, "GEM", "Gems", "3")
        .await
        .unwrap()
        .id
        .to_string();
    (t.api_key(&m, Env::Prod).await, currency)
}

async fn answers_keep_their_shape(t: TestApp) {
    let (key, currency) = shop(&t).await;
    let api = t.api(&key);

    let lead = api
        .create(
            "/api/v1/leads",
            json!({"customer_id": "cust-0001", "name": "Ada Lovelace", "email": "Ada@Example.com",
                   "mobile": "+44 20 7946 0018", "country": "gb", "dob": "1990-12-10"}),
        )
        .await;
    insta::assert_json_snapshot!("lead", lead, {
        ".id" => id(),
        ".created_at" => timestamp(),
        ".updated_at" => timestamp(),
    });

    let wallet = api
        .create(
            "/api/v1/wallets",
            json!({"lead_id": lead["id"], "currency_id": currency}),
        )
        .await;
    let transaction = api
        .create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": wallet["id"], "kind": "reward", "amount": 10, "hash": "welcome",
                   "description": "Welcome bonus"}),
        )
        .await;
    insta::assert_json_snapshot!("wallet_transaction", transaction, {
        ".id" => id(),
        ".wallet_id" => id(),
        ".lead_id" => id(),
        ".created_at" => timestamp(),
    });

    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": "Free coffee", "description": "One coffee", "kind": "voucher",
                   "sell_price": 10, "available": true, "visibility": "private"}),
        )
        .await;
    insta::assert_json_snapshot!("deal", deal, {
        ".id" => id(),
        ".prices[].currency_id" => id(),
        ".created_at" => timestamp(),
        ".updated_at" => timestamp(),
    });

    api.create(
        "/api/v1/coupon_codes",
        json!({"deal_id": deal["id"], "value": "COFFEE-1"}),
    )
    .await;
    let coupon = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": deal["id"], "lead_id": lead["id"], "currency_id": currency,
                   "hash": "coffee-1", "mode": "redeem"}),
        )
        .await;
    insta::assert_json_snapshot!("coupon", coupon, {
        ".id" => id(),
        ".deal_id" => id(),
        ".lead_id" => id(),
        ".currency_id" => id(),
        ".wallet_id" => id(),
        ".created_at" => timestamp(),
    });

    let problem = api
        .post(
            "/api/v1/leads",
            json!({"customer_id": "abc", "country": "XX", "dob": "2999-01-01", "mobile": "12345"}),
        )
        .await
        .assert_problem(422, "validation_failed");
    insta::assert_json_snapshot!("validation_problem", problem);
    t.stop().await;
}

on_both_backends!(answers_keep_their_shape);
