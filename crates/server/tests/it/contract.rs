//! The API's answers asserted whole, as committed insta snapshots: a lead, a wallet
//! transaction, a deal, a coupon, a validation problem, a vault, a voucher campaign, an
//! integration, an award and its interaction, a swap contract, a swap, a message, a webhook
//! endpoint, a webhook delivery and an event as its receiver gets it. Ids and timestamps
//! differ on every run, so they are redacted, each after checking it is an id or an RFC 3339
//! time; everything else must match byte for byte, and the same snapshot holds on SQLite and
//! PostgreSQL.
//!
//! A change to an answer fails here; `cargo insta review` (or `INSTA_UPDATE=always`) shows the
//! change, and the reviewed `.snap` file is committed with it. In CI (`CI=true`) a missing
//! snapshot fails instead of being written.

use insta::internals::Redaction;
use punchcard_domain::Env;
use serde_json::json;

use crate::common::{Key, TestApp};
use crate::webhooks::{quick, verify, Receiver};

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

/// Stands in for a coupon's QR token after checking its shape (`pc1.c.` and seven more parts).
fn qr_token() -> Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_default();
        assert!(
            text.starts_with("pc1.c.") && text.split('.').count() == 8,
            "{path} is a coupon token: {value:?}"
        );
        "[qr token]"
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

    let message = api
        .create(
            "/api/v1/messages",
            json!({"kind": "promo", "title": "Double gems", "body": "All week long.",
                   "url": "https://shop.example.com/week",
                   "segment": {"type": "min_balance", "currency_id": currency, "min_balance": 5}}),
        )
        .await;
    insta::assert_json_snapshot!("message", message, {
        ".id" => id(),
        ".segment.currency_id" => id(),
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
        ".qr_token" => qr_token(),
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

    let vault = api
        .create(
            "/api/v1/vaults",
            json!({"name": "Books 10", "vendor": "Bookshop", "amount": 1000}),
        )
        .await;
    api.create(
        "/api/v1/coupon_codes",
        json!({"vault_id": vault["id"], "value": "BOOK-1"}),
    )
    .await;
    let vault = api
        .get_ok(&format!("/api/v1/vaults/{}", vault["id"].as_str().unwrap()))
        .await;
    insta::assert_json_snapshot!("vault", vault, {
        ".id" => id(),
        ".created_at" => timestamp(),
    });
    let campaign = api
        .create(
            "/api/v1/voucher_campaigns",
            json!({"name": "Thank you", "vault_ids": [vault["id"]], "max_per_redeemer": 1,
                   "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2036-01-01T00:00:00Z"}),
        )
        .await;
    let campaign_id = campaign["id"].as_str().unwrap().to_string();
    let integration = api
        .create(
            &format!("/api/v1/voucher_campaigns/{campaign_id}/integrations"),
            json!({"name": "Checkout", "status": "live"}),
        )
        .await;
    insta::assert_json_snapshot!("integration", integration, {
        ".id" => id(),
        ".campaign_id" => id(),
        ".secret" => "[secret]",
        ".created_at" => timestamp(),
        ".updated_at" => timestamp(),
    });
    let campaign = api
        .get_ok(&format!("/api/v1/voucher_campaigns/{campaign_id}"))
        .await;
    insta::assert_json_snapshot!("voucher_campaign", campaign, {
        ".id" => id(),
        ".vault_ids[]" => id(),
        ".created_at" => timestamp(),
        ".updated_at" => timestamp(),
    });
    let app = t.api(&(
        integration["id"].as_str().unwrap().to_string(),
        integration["secret"].as_str().unwrap().to_string(),
    ));
    let award = app
        .create(
            "/api/v1/award",
            json!({"redeemer": {"email": "Ann@Example.com", "name": "Ann"}, "vendor": "Bookshop",
                   "amount": 1000, "hash": "order-1"}),
        )
        .await;
    insta::assert_json_snapshot!("award", award, {
        ".interaction_id" => id(),
    });
    let interactions = api
        .get_ok(&format!("/api/v1/campaigns/{campaign_id}/interactions"))
        .await;
    insta::assert_json_snapshot!("award_interaction", interactions["data"][0], {
        ".id" => id(),
        ".campaign_id" => id(),
        ".source_id" => id(),
        ".vault_id" => id(),
        ".created_at" => timestamp(),
    });

    // A swap contract with a partner, and a swap to the partner's lead.
    let partner = t.active_merchant("Partner").await;
    let partner_currency = t.app.list_currencies(&partner, None, 1).await.unwrap()[0]
        .id
        .to_string();
    let contract = api
        .create(
            "/api/v1/swap_contracts",
            json!({"partner_merchant_id": partner, "currency_id": currency,
                   "partner_currency_id": partner_currency, "rate": "1.5",
                   "per_swap_max": 100, "daily_max": 500}),
        )
        .await;
    insta::assert_json_snapshot!("swap_contract", contract, {
        ".id" => id(),
        ".merchant_id" => id(),
        ".partner_merchant_id" => id(),
        ".currency_id" => id(),
        ".partner_currency_id" => id(),
        ".created_at" => timestamp(),
        ".updated_at" => timestamp(),
    });
    let contract_id = contract["id"].as_str().unwrap();
    let partner_scope = punchcard_app::ledger::Scope::new(&partner, Env::Prod);
    t.app
        .accept_contract(&partner_scope, contract_id)
        .await
        .unwrap();
    t.app.approve_contract(contract_id).await.unwrap();
    t.app
        .create_lead(
            &partner_scope,
            punchcard_app::ledger::NewLead {
                customer_id: "partner-0001".into(),
                email: Some("p@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let swap = api
        .create(
            "/api/v1/swaps",
            json!({"from_wallet_id": wallet["id"], "amount": 3, "hash": "swap-1",
                   "contract_id": contract_id, "to_customer_id": "partner-0001"}),
        )
        .await;
    insta::assert_json_snapshot!("swap", swap, {
        ".id" => id(),
        ".merchant_id" => id(),
        ".contract_id" => id(),
        ".from_wallet_id" => id(),
        ".from_lead_id" => id(),
        ".to_merchant_id" => id(),
        ".to_wallet_id" => id(),
        ".to_lead_id" => id(),
        ".out_transaction.id" => id(),
        ".out_transaction.wallet_id" => id(),
        ".out_transaction.lead_id" => id(),
        ".out_transaction.reference" => id(),
        ".out_transaction.created_at" => timestamp(),
        ".created_at" => timestamp(),
    });
    t.stop().await;
}

/// Stands in for a webhook secret after checking its shape (`whsec_` and base64 of 32 bytes).
fn webhook_secret() -> Redaction {
    insta::dynamic_redaction(|value, path| {
        use base64::Engine as _;
        let text = value.as_str().unwrap_or_default();
        let key = text
            .strip_prefix("whsec_")
            .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok());
        assert_eq!(
            key.map(|k| k.len()),
            Some(32),
            "{path} is a secret: {value:?}"
        );
        "[secret]"
    })
}

/// Stands in for the test receiver's port after checking the URL is the receiver's.
fn receiver_url() -> Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_default();
        let port = text
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/ok"));
        assert!(
            port.is_some_and(|p| p.parse::<u16>().is_ok()),
            "{path} is the receiver's URL: {value:?}"
        );
        "http://127.0.0.1:[port]/ok"
    })
}

/// Stands in for the time an answer took, after checking the line's shape.
fn answer_line() -> Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_default();
        let ms = text
            .strip_prefix("HTTP 200 in ")
            .and_then(|rest| rest.strip_suffix(" ms"));
        assert!(
            ms.is_some_and(|n| n.parse::<u64>().is_ok()),
            "{path} says how the receiver answered: {value:?}"
        );
        "HTTP 200 in [n] ms"
    })
}

/// Webhooks: an endpoint as created (its secret redacted), a delivery in its log, and an
/// event as the receiver gets it (headers and body; the signature checked, then redacted).
async fn webhook_answers_keep_their_shape(t: TestApp) {
    let rx = Receiver::start().await;
    let m = t.active_merchant("Acme").await;
    let currency = t
        .app
        .create_currency(&m, "GEM", "Gems", "3")
        .await
        .unwrap()
        .id
        .to_string();
    let api = t.api(&t.api_key(&m, Env::Dev).await);
    let endpoint = api
        .create(
            "/api/v1/webhook_endpoints",
            json!({"url": rx.url("/ok"), "events": ["lead.created", "wallet_transaction.created"]}),
        )
        .await;
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    insta::assert_json_snapshot!("webhook_endpoint", endpoint, {
        ".id" => id(),
        ".url" => receiver_url(),
        ".secret" => webhook_secret(),
        ".created_at" => timestamp(),
        ".updated_at" => timestamp(),
    });

    let lead = api
        .create(
            "/api/v1/leads",
            json!({"customer_id": "cust-0001", "name": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    let wallet = api
        .create(
            "/api/v1/wallets",
            json!({"lead_id": lead["id"], "currency_id": currency}),
        )
        .await;
    api.create(
        "/api/v1/wallet_transactions",
        json!({"wallet_id": wallet["id"], "kind": "reward", "amount": 10, "hash": "welcome",
               "description": "Welcome bonus"}),
    )
    .await;
    let hits = rx.wait_for("/ok", 2).await;
    let hit = hits
        .iter()
        .find(|h| h.kind() == "wallet_transaction.created")
        .expect("the transaction's event");
    verify(&secret, hit);
    let received = json!({
        "headers": {
            "webhook-id": hit.id,
            "webhook-timestamp": hit.timestamp,
            "webhook-signature": hit.signature,
        },
        "body": hit.json(),
    });
    insta::assert_json_snapshot!("webhook_event", received, {
        ".headers[\"webhook-id\"]" => id(),
        ".headers[\"webhook-timestamp\"]" => insta::dynamic_redaction(|value, path| {
            assert!(
                value.as_str().is_some_and(|s| s.parse::<i64>().is_ok()),
                "{path} is a unix time: {value:?}"
            );
            "[unix time]"
        }),
        ".headers[\"webhook-signature\"]" => "[signature]",
        ".body.timestamp" => timestamp(),
        ".body.data.id" => id(),
        ".body.data.wallet_id" => id(),
        ".body.data.lead_id" => id(),
        ".body.data.created_at" => timestamp(),
    });

    let endpoint_id = endpoint["id"].as_str().unwrap();
    let mut delivery = json!(null);
    for _ in 0..200 {
        let log = api
            .get_ok(&format!(
                "/api/v1/webhook_endpoints/{endpoint_id}/deliveries"
            ))
            .await;
        if let Some(d) = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["event"] == "lead.created" && d["status"] == "delivered")
        {
            delivery = d.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!delivery.is_null(), "the lead's event was delivered");
    insta::assert_json_snapshot!("webhook_delivery", delivery, {
        ".id" => id(),
        ".endpoint_id" => id(),
        ".last_response" => answer_line(),
        ".last_attempt_at" => timestamp(),
        ".delivered_at" => timestamp(),
        ".created_at" => timestamp(),
        ".payload.timestamp" => timestamp(),
        ".payload.data.id" => id(),
        ".payload.data.created_at" => timestamp(),
        ".payload.data.updated_at" => timestamp(),
    });
    t.stop().await;
}

on_both_backends!(answers_keep_their_shape);
on_both_backends_with!(quick; webhook_answers_keep_their_shape);
