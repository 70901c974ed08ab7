//! Tenant isolation over every API endpoint: a key of another merchant, or of the same merchant
//! in the other environment, gets 404 for foreign ids and never sees foreign rows in lists.
//!
//! Adding an endpoint is one line in `ENDPOINTS`:
//!
//! ```text
//! ep("GET", "/api/v1/leads/{id}", Scope::Env, new_lead),
//! ```
//!
//! - the method and path; `{id}` is replaced by what the setup function returns. A path with
//!   `{id}` must answer 404 `not_found` to every foreign key and 2xx to the owner; other
//!   methods than GET are sent with the JSON body `{}`, foreign keys first, the owner last. A
//!   path without `{id}` (a list, or the quota) must show the setup's value to the owner and
//!   never to a foreign key.
//! - the scope: `Scope::Env` for records of one environment (leads, wallets, deals, …);
//!   `Scope::Merchant` for what both environments of a merchant share by design (currencies,
//!   the plan), which the other env of the same merchant does see.
//! - the setup function: `fn(&TestApp, &MerchantId, Env) -> Setup<'_>`, which creates one
//!   resource for the merchant in that env and returns its id (for something without an id,
//!   a value only that merchant's answer can contain). Write it next to the others below.
//!
//! Every endpoint is checked for a resource made in dev and one made in prod.
//!
//! `POST /api/v1/award` authenticates with a voucher campaign's integration, not an API key
//! (`Endpoint::integration`): every API key, the owner's included, gets 401; the integration's
//! own credentials award the voucher only its merchant's vault holds.

use punchcard_app::deals::Deals;
use punchcard_app::offers::Offers;
use punchcard_app::stores::Stores;
use std::future::Future;
use std::pin::Pin;

use crate::common::{Key, TestApp};
use punchcard_app::plans::PlanChange;
use punchcard_domain::{Env, MerchantId};
use serde_json::Value;

/// What a resource's data is shared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// One environment of one merchant.
    Env,
    /// Both environments of one merchant.
    Merchant,
}

type Setup<'a> = Pin<Box<dyn Future<Output = String> + 'a>>;
type SetupFn = for<'a> fn(&'a TestApp, &'a MerchantId, Env) -> Setup<'a>;

struct Endpoint {
    method: &'static str,
    path: &'static str,
    scope: Scope,
    setup: SetupFn,
    /// For a POST without `{id}`: the body, with `{value}` standing for the setup's value.
    /// Foreign keys must be refused (404 or 422); the owner must succeed. `multipart:FIELD`
    /// sends a multipart form with FIELD = the value and a one-row CSV file.
    body: Option<&'static str>,
    /// Whether foreign keys must be refused (the body names the setup's resource) or the POST
    /// only creates in the caller's own space.
    refused: bool,
    /// Called with an integration's credentials (the setup answers `id|secret|value`), which
    /// no API key opens.
    integration: bool,
}

const fn ep(method: &'static str, path: &'static str, scope: Scope, setup: SetupFn) -> Endpoint {
    Endpoint {
        method,
        path,
        scope,
        setup,
        body: None,
        refused: false,
        integration: false,
    }
}

/// A POST made with a voucher campaign's integration (`body` with `{value}` as elsewhere).
const fn by_integration(path: &'static str, setup: SetupFn, body: &'static str) -> Endpoint {
    Endpoint {
        method: "POST",
        path,
        scope: Scope::Env,
        setup,
        body: Some(body),
        refused: true,
        integration: true,
    }
}

/// A POST whose body refers to the setup's resource.
const fn refers(path: &'static str, setup: SetupFn, body: &'static str) -> Endpoint {
    Endpoint {
        method: "POST",
        path,
        scope: Scope::Env,
        setup,
        body: Some(body),
        refused: true,
        integration: false,
    }
}

/// A POST that creates in the caller's own space: the owner must succeed; what it made is
/// checked by the list and id endpoints.
const fn creates(path: &'static str, setup: SetupFn, body: &'static str) -> Endpoint {
    Endpoint {
        method: "POST",
        path,
        scope: Scope::Env,
        setup,
        body: Some(body),
        refused: false,
        integration: false,
    }
}

/// Every API endpoint, one line each.
const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/api/v1/currencies", Scope::Merchant, new_currency),
    ep("GET", "/api/v1/quota", Scope::Merchant, distinctive_plan),
    ep("GET", "/api/v1/stats", Scope::Env, distinctive_reward),
    creates(
        "/api/v1/leads",
        new_customer_id,
        r#"{"customer_id": "{value}", "email": "a@example.com"}"#,
    ),
    ep("GET", "/api/v1/leads", Scope::Env, new_lead),
    ep("GET", "/api/v1/leads/{id}", Scope::Env, new_lead),
    ep("PATCH", "/api/v1/leads/{id}", Scope::Env, new_lead),
    ep("DELETE", "/api/v1/leads/{id}", Scope::Env, new_lead),
    refers(
        "/api/v1/wallets",
        new_lead_and_currency,
        r#"{"lead_id": "{value}", "currency_id": "{value2}"}"#,
    ),
    ep("GET", "/api/v1/wallets", Scope::Env, new_wallet),
    ep("GET", "/api/v1/wallets/{id}", Scope::Env, new_wallet),
    refers(
        "/api/v1/wallet_transactions",
        new_wallet,
        r#"{"wallet_id": "{value}", "kind": "reward", "amount": 5, "hash": "iso-{value}"}"#,
    ),
    ep(
        "GET",
        "/api/v1/wallet_transactions",
        Scope::Env,
        new_transaction,
    ),
    ep(
        "GET",
        "/api/v1/wallet_transactions/{id}",
        Scope::Env,
        new_transaction,
    ),
    creates(
        "/api/v1/deals",
        new_name,
        r#"{"name": "{value}", "kind": "voucher", "sell_price": 5, "available": false, "visibility": "private"}"#,
    ),
    ep("GET", "/api/v1/deals", Scope::Env, new_deal),
    ep("GET", "/api/v1/deals/{id}", Scope::Env, new_deal),
    ep("PATCH", "/api/v1/deals/{id}", Scope::Env, new_deal),
    ep("DELETE", "/api/v1/deals/{id}", Scope::Env, new_deal),
    ep("POST", "/api/v1/deals/{id}/images", Scope::Env, new_deal),
    ep(
        "GET",
        "/api/v1/deals/{id}/images/{id}",
        Scope::Env,
        new_deal_image,
    ),
    ep(
        "DELETE",
        "/api/v1/deals/{id}/images/{id}",
        Scope::Env,
        new_deal_image,
    ),
    creates(
        "/api/v1/offers",
        new_name,
        r#"{"code": "{value}", "name": "Offer", "sell_price": 5, "available": false}"#,
    ),
    ep("GET", "/api/v1/offers", Scope::Env, new_offer),
    ep("GET", "/api/v1/offers/{id}", Scope::Env, new_offer),
    ep("PATCH", "/api/v1/offers/{id}", Scope::Env, new_offer),
    ep("DELETE", "/api/v1/offers/{id}", Scope::Env, new_offer),
    ep("POST", "/api/v1/offers/{id}/images", Scope::Env, new_offer),
    ep(
        "GET",
        "/api/v1/offers/{id}/images/{id}",
        Scope::Env,
        new_offer_image,
    ),
    ep(
        "DELETE",
        "/api/v1/offers/{id}/images/{id}",
        Scope::Env,
        new_offer_image,
    ),
    creates(
        "/api/v1/stores",
        new_name,
        r#"{"name": "{value}", "mode": "online", "url": "https://shop.example"}"#,
    ),
    ep("GET", "/api/v1/stores", Scope::Env, new_store),
    ep("GET", "/api/v1/stores/{id}", Scope::Env, new_store),
    ep("PATCH", "/api/v1/stores/{id}", Scope::Env, new_store),
    ep("DELETE", "/api/v1/stores/{id}", Scope::Env, new_store),
    ep("POST", "/api/v1/stores/{id}/images", Scope::Env, new_store),
    ep(
        "GET",
        "/api/v1/stores/{id}/images/{id}",
        Scope::Env,
        new_store_image,
    ),
    ep(
        "DELETE",
        "/api/v1/stores/{id}/images/{id}",
        Scope::Env,
        new_store_image,
    ),
    refers(
        "/api/v1/coupon_codes",
        new_deal,
        r#"{"deal_id": "{value}", "value": "ISO-{value}"}"#,
    ),
    refers(
        "/api/v1/coupon_codes/bulk_generate",
        new_deal,
        r#"{"deal_id": "{value}", "count": 3}"#,
    ),
    refers(
        "/api/v1/coupon_codes/bulk_upload",
        new_deal,
        "multipart:deal_id",
    ),
    ep("GET", "/api/v1/coupon_codes", Scope::Env, new_code),
    refers(
        "/api/v1/coupons",
        new_lead_and_deal,
        r#"{"deal_id": "{value}", "lead_id": "{value2}", "hash": "iso-{value}", "mode": "reward"}"#,
    ),
    ep("GET", "/api/v1/coupons", Scope::Env, new_coupon),
    ep("GET", "/api/v1/coupons/{id}", Scope::Env, new_coupon),
    ep("GET", "/api/v1/exports/leads.csv", Scope::Env, new_lead),
    ep(
        "GET",
        "/api/v1/exports/wallet_transactions.csv",
        Scope::Env,
        new_transaction,
    ),
    ep("GET", "/api/v1/exports/coupons.csv", Scope::Env, new_coupon),
    ep("POST", "/api/v1/coupons/{id}/use", Scope::Env, new_coupon),
    ep(
        "POST",
        "/api/v1/coupons/{id}/cancel",
        Scope::Env,
        new_coupon,
    ),
    refers(
        "/api/v1/coupons/use_by_code",
        new_coupon_code_and_customer,
        r#"{"code": "{value}", "customer_id": "{value2}"}"#,
    ),
    refers(
        "/api/v1/qr/resolve",
        new_coupon_token,
        r#"{"token": "{value}"}"#,
    ),
    ep("GET", "/api/v1/leads/{id}/id_token", Scope::Env, new_lead),
    ep(
        "POST",
        "/api/v1/leads/{id}/member_link",
        Scope::Env,
        new_lead,
    ),
    creates(
        "/api/v1/rules",
        new_currency,
        r#"{"name": "Rule", "type": "earn", "currency_id": "{value}", "points": 5}"#,
    ),
    ep("GET", "/api/v1/rules", Scope::Env, new_rule),
    ep("GET", "/api/v1/rules/{id}", Scope::Env, new_rule),
    ep("PATCH", "/api/v1/rules/{id}", Scope::Env, new_rule),
    ep("POST", "/api/v1/rules/{id}/activate", Scope::Env, new_rule),
    ep(
        "POST",
        "/api/v1/rules/{id}/deactivate",
        Scope::Env,
        new_rule,
    ),
    ep("POST", "/api/v1/rules/{id}/trigger", Scope::Env, new_rule),
    ep("GET", "/api/v1/campaigns", Scope::Env, new_rule),
    ep(
        "GET",
        "/api/v1/campaigns/{id}/interactions",
        Scope::Env,
        new_rule,
    ),
    creates(
        "/api/v1/tasks",
        new_currency,
        r#"{"name": "Task", "reward": "points", "currency_id": "{value}", "count": 2, "min_reward": 1, "paused": true}"#,
    ),
    ep("GET", "/api/v1/tasks", Scope::Env, new_task),
    ep("GET", "/api/v1/tasks/{id}", Scope::Env, new_task),
    ep("PATCH", "/api/v1/tasks/{id}", Scope::Env, new_task),
    ep("DELETE", "/api/v1/tasks/{id}", Scope::Env, new_task),
    refers(
        "/api/v1/task_activities",
        new_live_task_and_lead,
        r#"{"task_id": "{value}", "lead_id": "{value2}", "hash": "iso-{value}"}"#,
    ),
    ep(
        "GET",
        "/api/v1/task_activities",
        Scope::Env,
        new_task_activity,
    ),
    creates(
        "/api/v1/surprises",
        new_deal,
        r#"{"name": "Surprise", "type": "lead_birthday", "count": 1, "deal_id": "{value}", "paused": true}"#,
    ),
    ep("GET", "/api/v1/surprises", Scope::Env, new_surprise),
    ep("GET", "/api/v1/surprises/{id}", Scope::Env, new_surprise),
    ep("PATCH", "/api/v1/surprises/{id}", Scope::Env, new_surprise),
    ep("DELETE", "/api/v1/surprises/{id}", Scope::Env, new_surprise),
    refers(
        "/api/v1/surprise_activities",
        new_live_surprise_and_lead,
        r#"{"surprise_id": "{value}", "lead_id": "{value2}", "hash": "iso-{value}"}"#,
    ),
    ep(
        "GET",
        "/api/v1/surprise_activities",
        Scope::Env,
        new_surprise_activity,
    ),
    creates(
        "/api/v1/vaults",
        new_name,
        r#"{"name": "{value}", "vendor": "Bookshop", "amount": 1000}"#,
    ),
    ep("GET", "/api/v1/vaults", Scope::Env, new_vault),
    ep("GET", "/api/v1/vaults/{id}", Scope::Env, new_vault),
    creates(
        "/api/v1/voucher_campaigns",
        new_name,
        r#"{"name": "{value}", "paused": true}"#,
    ),
    ep(
        "GET",
        "/api/v1/voucher_campaigns",
        Scope::Env,
        new_voucher_campaign,
    ),
    ep(
        "GET",
        "/api/v1/voucher_campaigns/{id}",
        Scope::Env,
        new_voucher_campaign,
    ),
    ep(
        "PATCH",
        "/api/v1/voucher_campaigns/{id}",
        Scope::Env,
        new_voucher_campaign,
    ),
    ep(
        "DELETE",
        "/api/v1/voucher_campaigns/{id}",
        Scope::Env,
        new_voucher_campaign,
    ),
    ep(
        "POST",
        "/api/v1/voucher_campaigns/{id}/integrations",
        Scope::Env,
        new_voucher_campaign,
    ),
    ep(
        "GET",
        "/api/v1/voucher_campaigns/{id}/integrations",
        Scope::Env,
        new_voucher_campaign,
    ),
    ep(
        "PATCH",
        "/api/v1/voucher_campaigns/{id}/integrations/{id}",
        Scope::Env,
        new_integration,
    ),
    by_integration(
        "/api/v1/award",
        new_award_setup,
        r#"{"redeemer": {"name": "Iso"}, "hash": "iso-{value}"}"#,
    ),
    ep("GET", "/api/v1/campaigns/{id}/report", Scope::Env, new_rule),
    creates(
        "/api/v1/swap_contracts",
        new_contract_terms,
        r#"{"partner_merchant_id": "{value}", "partner_currency_id": "{value2}", "currency_id": "{value3}", "rate": "1", "per_swap_max": 10, "daily_max": 10}"#,
    ),
    ep(
        "GET",
        "/api/v1/swap_contracts",
        Scope::Env,
        new_swap_contract,
    ),
    ep(
        "GET",
        "/api/v1/swap_contracts/{id}",
        Scope::Env,
        new_swap_contract,
    ),
    ep(
        "POST",
        "/api/v1/swap_contracts/{id}/accept",
        Scope::Env,
        new_swap_contract,
    ),
    ep(
        "POST",
        "/api/v1/swap_contracts/{id}/suspend",
        Scope::Env,
        new_swap_contract,
    ),
    refers(
        "/api/v1/swaps",
        new_swap_wallet_and_lead,
        r#"{"from_wallet_id": "{value}", "amount": 1, "hash": "iso-{value}", "to_lead_id": "{value2}"}"#,
    ),
    ep("GET", "/api/v1/swaps", Scope::Env, new_swap),
    ep("GET", "/api/v1/swaps/{id}", Scope::Env, new_swap),
    creates(
        "/api/v1/webhook_endpoints",
        new_name,
        r#"{"url": "https://hooks.example.com/{value}", "events": ["lead.created"]}"#,
    ),
    ep(
        "GET",
        "/api/v1/webhook_endpoints",
        Scope::Env,
        new_webhook_endpoint,
    ),
    ep(
        "GET",
        "/api/v1/webhook_endpoints/{id}",
        Scope::Env,
        new_webhook_endpoint,
    ),
    ep(
        "PATCH",
        "/api/v1/webhook_endpoints/{id}",
        Scope::Env,
        new_webhook_endpoint,
    ),
    ep(
        "DELETE",
        "/api/v1/webhook_endpoints/{id}",
        Scope::Env,
        new_webhook_endpoint,
    ),
    ep(
        "GET",
        "/api/v1/webhook_endpoints/{id}/deliveries",
        Scope::Env,
        new_webhook_delivery_of_endpoint,
    ),
    ep(
        "POST",
        "/api/v1/webhook_deliveries/{id}/redeliver",
        Scope::Env,
        new_webhook_delivery,
    ),
    creates(
        "/api/v1/messages",
        new_name,
        r#"{"kind": "message", "text": "{value}", "segment": {"type": "all"}}"#,
    ),
    ep("GET", "/api/v1/messages", Scope::Env, new_message),
    ep("GET", "/api/v1/messages/{id}", Scope::Env, new_message),
];

fn new_message<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        crate::messages::message_to_all(t, &scope(m, env), &unique("iso"))
            .await
            .to_string()
    })
}

async fn webhook_endpoint_of(t: &TestApp, m: &MerchantId, env: Env) -> String {
    t.app
        .create_webhook_endpoint(
            &scope(m, env),
            punchcard_app::webhooks::EndpointInput {
                url: Some(format!("https://hooks.example.com/{}", unique("iso"))),
                events: Some(vec!["lead.created".into()]),
                enabled: None,
            },
        )
        .await
        .expect("endpoint created")
        .endpoint
        .id
        .to_string()
}

fn new_webhook_endpoint<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(webhook_endpoint_of(t, m, env))
}

/// An endpoint and a lead it hears of: answers `endpoint|delivery`.
async fn webhook_delivery_of(t: &TestApp, m: &MerchantId, env: Env) -> (String, String) {
    let endpoint = webhook_endpoint_of(t, m, env).await;
    lead_of(t, m, env).await;
    let deliveries = t
        .app
        .webhook_deliveries(&scope(m, env), &endpoint, None, 10)
        .await
        .expect("deliveries listed");
    (endpoint, deliveries[0].id.to_string())
}

/// The endpoint's id, whose delivery list shows the delivery's id.
fn new_webhook_delivery_of_endpoint<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move { webhook_delivery_of(t, m, env).await.0 })
}

fn new_webhook_delivery<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move { webhook_delivery_of(t, m, env).await.1 })
}

// ---- Setup functions: create something for `m` in `env`, answer its id ---------------------

fn new_currency<'a>(t: &'a TestApp, m: &'a MerchantId, _env: Env) -> Setup<'a> {
    Box::pin(async move {
        let code = format!("C{}", &ulid::Ulid::new().to_string()[17..]);
        t.app
            .create_currency(m, &code, "Isolated", "1")
            .await
            .expect("currency created")
            .id
            .to_string()
    })
}

/// The plan (and so the quota answer) is per merchant: a lead quota no one else has.
fn distinctive_plan<'a>(t: &'a TestApp, m: &'a MerchantId, _env: Env) -> Setup<'a> {
    Box::pin(async move {
        let leads = 7_000_000 + i64::from(rand::random::<u16>()) * 100 + 17;
        t.app
            .set_plan(
                m,
                PlanChange {
                    leads: Some(leads),
                    ..Default::default()
                },
            )
            .await
            .expect("plan set");
        leads.to_string()
    })
}

fn scope(m: &MerchantId, env: Env) -> punchcard_app::ledger::Scope {
    punchcard_app::ledger::Scope::new(m, env)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &ulid::Ulid::new().to_string()[16..])
}

fn new_customer_id<'a>(_t: &'a TestApp, _m: &'a MerchantId, _env: Env) -> Setup<'a> {
    Box::pin(async move { unique("cust-") })
}

fn new_name<'a>(_t: &'a TestApp, _m: &'a MerchantId, _env: Env) -> Setup<'a> {
    Box::pin(async move { unique("ISO") })
}

async fn lead_of(t: &TestApp, m: &MerchantId, env: Env) -> punchcard_store::leads::LeadRow {
    t.app
        .create_lead(
            &scope(m, env),
            punchcard_app::ledger::NewLead {
                customer_id: unique("cust-"),
                email: Some("iso@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("lead created")
}

/// `lead|currency`: a lead without a wallet, and the merchant's currency.
fn new_lead_and_currency<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let lead = lead_of(t, m, env).await;
        let currency = t.app.list_currencies(m, None, 1).await.unwrap()[0]
            .id
            .clone();
        format!("{}|{currency}", lead.id)
    })
}

fn new_lead<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move { lead_of(t, m, env).await.id.to_string() })
}

async fn wallet_of(t: &TestApp, m: &MerchantId, env: Env) -> String {
    let lead = lead_of(t, m, env).await;
    let currency = t.app.list_currencies(m, None, 1).await.unwrap()[0]
        .id
        .clone();
    t.app
        .create_wallet(&scope(m, env), lead.id.as_str(), currency.as_str())
        .await
        .expect("wallet created")
        .id
        .to_string()
}

fn new_wallet<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(wallet_of(t, m, env))
}

fn new_transaction<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let wallet = wallet_of(t, m, env).await;
        t.app
            .create_transaction(
                &scope(m, env),
                &punchcard_app::ledger::NewTransaction {
                    wallet_id: wallet,
                    kind: "reward".into(),
                    amount: 10,
                    hash: unique("h-"),
                    description: None,
                },
            )
            .await
            .expect("transaction")
            .transaction
            .id
            .to_string()
    })
}

async fn deal_of(t: &TestApp, m: &MerchantId, env: Env) -> String {
    t.app
        .create_item::<Deals>(
            m,
            env,
            &punchcard_app::deals::DealDraft {
                name: unique("Deal "),
                description: "Isolated".into(),
                kind: "voucher".into(),
                sell_price: "0".into(),
                available: true,
                visibility: "private".into(),
                ..Default::default()
            },
        )
        .await
        .expect("deal created")
        .row
        .id
        .to_string()
}

fn new_deal<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(deal_of(t, m, env))
}

fn new_rule<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let currency = t.app.list_currencies(m, None, 1).await.unwrap()[0]
            .id
            .to_string();
        t.app
            .create_rule(
                &scope(m, env),
                &punchcard_app::campaigns::RuleDraft {
                    name: unique("Rule "),
                    direction: "earn".into(),
                    currency_id: currency,
                    points: Some(5),
                    ..Default::default()
                },
            )
            .await
            .expect("rule created")
            .campaign
            .id
            .to_string()
    })
}

/// A task rewarding points on its second activity (paused: dev caps active campaigns).
async fn task_of(t: &TestApp, m: &MerchantId, env: Env, paused: bool) -> String {
    let currency = t.app.list_currencies(m, None, 1).await.unwrap()[0]
        .id
        .to_string();
    t.app
        .create_task(
            &scope(m, env),
            &punchcard_app::campaigns::tasks::TaskDraft {
                name: unique("Task "),
                reward: "points".into(),
                currency_id: Some(currency),
                count: Some(2),
                min_reward: Some(1),
                paused,
                ..Default::default()
            },
        )
        .await
        .expect("task created")
        .campaign
        .id
        .to_string()
}

fn new_task<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(task_of(t, m, env, true))
}

/// `task|lead`: a live task and a lead.
fn new_live_task_and_lead<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let task = task_of(t, m, env, false).await;
        format!("{task}|{}", lead_of(t, m, env).await.id)
    })
}

/// The caller an activity or a claim made through the app is recorded for.
fn principal(m: &MerchantId, env: Env) -> punchcard_app::api_keys::ApiPrincipal {
    punchcard_app::api_keys::ApiPrincipal {
        merchant_id: m.clone(),
        env,
        key_id: punchcard_domain::ApiKeyId::new(),
        callback_url: None,
        signing_secret: String::new(),
        rate_limit_per_minute: 100,
    }
}

fn new_task_activity<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let pair = new_live_task_and_lead(t, m, env).await;
        let (task, lead) = pair.split_once('|').unwrap();
        t.app
            .record_task_activity(
                &principal(m, env),
                &punchcard_app::campaigns::tasks::NewActivity {
                    task_id: task.into(),
                    lead_id: lead.into(),
                    hash: unique("a-"),
                },
            )
            .await
            .expect("activity recorded")
            .interaction
            .id
            .to_string()
    })
}

/// A surprise on today's date (UTC, the default time zone) with a generic code to give.
async fn surprise_of(t: &TestApp, m: &MerchantId, env: Env, paused: bool) -> String {
    let deal = deal_of(t, m, env).await;
    t.app
        .create_code(&scope(m, env), &deal, Some("generic_code"), &unique("ALL-"))
        .await
        .expect("code created");
    let today = punchcard_domain::time::TimeZone::utc()
        .date_at(punchcard_domain::time::Timestamp::now())
        .to_string();
    t.app
        .create_surprise(
            &scope(m, env),
            &punchcard_app::campaigns::surprises::SurpriseDraft {
                name: unique("Surprise "),
                occasion: "custom".into(),
                date: Some(today),
                count: Some(5),
                deal_id: deal,
                paused,
                ..Default::default()
            },
        )
        .await
        .expect("surprise created")
        .campaign
        .id
        .to_string()
}

fn new_surprise<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(surprise_of(t, m, env, true))
}

/// `surprise|lead`: a live surprise and a lead.
fn new_live_surprise_and_lead<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let surprise = surprise_of(t, m, env, false).await;
        format!("{surprise}|{}", lead_of(t, m, env).await.id)
    })
}

fn new_surprise_activity<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let pair = new_live_surprise_and_lead(t, m, env).await;
        let (surprise, lead) = pair.split_once('|').unwrap();
        t.app
            .claim_surprise(
                &principal(m, env),
                &punchcard_app::campaigns::surprises::NewClaim {
                    surprise_id: surprise.into(),
                    lead_id: lead.into(),
                    hash: unique("s-"),
                },
            )
            .await
            .expect("surprise claimed")
            .interaction
            .id
            .to_string()
    })
}

fn new_vault<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        t.app
            .create_vault(
                &scope(m, env),
                &punchcard_app::campaigns::vouchers::VaultDraft {
                    name: unique("Vault "),
                    vendor: "Bookshop".into(),
                    amount: Some(1000),
                    test: false,
                },
            )
            .await
            .expect("vault created")
            .vault
            .id
            .to_string()
    })
}

async fn voucher_campaign_of(t: &TestApp, m: &MerchantId, env: Env, vaults: Vec<String>) -> String {
    t.app
        .create_voucher_campaign(
            &scope(m, env),
            &punchcard_app::campaigns::vouchers::VoucherCampaignDraft {
                name: unique("Vouchers "),
                vault_ids: vaults,
                ..Default::default()
            },
        )
        .await
        .expect("voucher campaign created")
        .view
        .campaign
        .id
        .to_string()
}

fn new_voucher_campaign<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(voucher_campaign_of(t, m, env, Vec::new()))
}

/// `campaign|integration`.
fn new_integration<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let campaign = voucher_campaign_of(t, m, env, Vec::new()).await;
        let created = t
            .app
            .create_integration(&scope(m, env), &campaign, "Iso", Some("test"))
            .await
            .expect("integration created");
        format!("{campaign}|{}", created.integration.id)
    })
}

/// `integration|secret|code`: a live voucher campaign whose vault holds one code, and its
/// live integration's credentials.
fn new_award_setup<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let vault = new_vault(t, m, env).await;
        let code = unique("VCH-");
        t.app
            .create_code(&scope(m, env), &vault, None, &code)
            .await
            .expect("code created");
        let campaign = voucher_campaign_of(t, m, env, vec![vault]).await;
        let created = t
            .app
            .create_integration(&scope(m, env), &campaign, "Iso", Some("live"))
            .await
            .expect("integration created");
        format!("{}|{}|{code}", created.integration.id, created.secret)
    })
}

fn new_offer<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        t.app
            .create_item::<Offers>(
                m,
                env,
                &punchcard_app::offers::OfferDraft {
                    code: unique("ISO"),
                    name: "Offer".into(),
                    description: "Isolated".into(),
                    sell_price: "5".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("offer created")
            .row
            .id
            .to_string()
    })
}

fn new_store<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        t.app
            .create_item::<Stores>(
                m,
                env,
                &punchcard_app::stores::StoreDraft {
                    name: unique("Store "),
                    mode: "online".into(),
                    url: "https://shop.example".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("store created")
            .row
            .id
            .to_string()
    })
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

async fn image_of<K: punchcard_app::catalog_kind::CatalogKind>(
    t: &TestApp,
    m: &MerchantId,
    env: Env,
    item: &str,
) -> String {
    let parent = item.to_string();
    let item: K::Id = item.parse().unwrap();
    let image = t
        .app
        .add_catalog_image::<K, _>(&t.state.storage, m, env, &item, "i.png", PNG.to_vec())
        .await
        .expect("image added");
    format!("{parent}|{}", image.id)
}

fn new_deal_image<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let id = deal_of(t, m, env).await;
        image_of::<Deals>(t, m, env, &id).await
    })
}

fn new_offer_image<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let id = new_offer(t, m, env).await;
        image_of::<Offers>(t, m, env, &id).await
    })
}

fn new_store_image<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let id = new_store(t, m, env).await;
        image_of::<Stores>(t, m, env, &id).await
    })
}

fn new_code<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let deal = deal_of(t, m, env).await;
        t.app
            .create_code(&scope(m, env), &deal, None, &unique("ISO-"))
            .await
            .expect("code created")
            .id
            .to_string()
    })
}

/// `deal|lead`: a live deal with a generic code, and a lead.
fn new_lead_and_deal<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let deal = deal_of(t, m, env).await;
        t.app
            .create_code(&scope(m, env), &deal, Some("generic_code"), &unique("ALL-"))
            .await
            .expect("code created");
        let lead = lead_of(t, m, env).await;
        format!("{deal}|{}", lead.id)
    })
}

fn new_coupon<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let pair = new_lead_and_deal(t, m, env).await;
        let (deal, lead) = pair.split_once('|').unwrap();
        t.app
            .create_coupon(
                &scope(m, env),
                &punchcard_app::coupons::NewCoupon {
                    deal_id: deal.into(),
                    lead_id: lead.into(),
                    hash: unique("c-"),
                    mode: Some("reward".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("coupon issued")
            .coupon
            .id
            .to_string()
    })
}

/// `code|customer_id`: an issued coupon's code and its lead's customer id.
fn new_coupon_code_and_customer<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let id = new_coupon(t, m, env).await;
        let c = t.app.coupon(&scope(m, env), &id).await.expect("the coupon");
        let lead = t
            .app
            .lead(&scope(m, env), c.lead_id.as_str())
            .await
            .expect("its lead");
        format!("{}|{}", c.code, lead.customer_id)
    })
}

/// The token an issued coupon's QR carries.
fn new_coupon_token<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let id = new_coupon(t, m, env).await;
        let c = t.app.coupon(&scope(m, env), &id).await.expect("the coupon");
        t.app.coupon_token(&c).await.expect("its token")
    })
}

/// A reward of an amount no other setup gives: the stats of its env show those points today.
fn distinctive_reward<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let wallet = wallet_of(t, m, env).await;
        let amount = 100_000_000 + (ulid::Ulid::new().random() % 800_000_000) as i64;
        t.app
            .create_transaction(
                &scope(m, env),
                &punchcard_app::ledger::NewTransaction {
                    wallet_id: wallet,
                    kind: "reward".into(),
                    amount,
                    hash: unique("stats-"),
                    description: None,
                },
            )
            .await
            .expect("rewarded");
        format!("\"points_rewarded\":{amount}")
    })
}

/// `partner|partner currency|currency`: a merchant of its own to propose a contract to, its
/// currency, and the proposer's.
fn new_contract_terms<'a>(t: &'a TestApp, m: &'a MerchantId, _env: Env) -> Setup<'a> {
    Box::pin(async move {
        let partner = t.active_merchant("Partner").await;
        let partner_currency = t.app.list_currencies(&partner, None, 1).await.unwrap()[0]
            .id
            .clone();
        let currency = t.app.list_currencies(m, None, 1).await.unwrap()[0]
            .id
            .clone();
        format!("{partner}|{partner_currency}|{currency}")
    })
}

/// A contract proposed to a merchant of its own (a partner sees its contracts too).
fn new_swap_contract<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let terms = new_contract_terms(t, m, env).await;
        let parts: Vec<&str> = terms.split('|').collect();
        t.app
            .propose_contract(
                &scope(m, env),
                &punchcard_app::swaps::NewContract {
                    partner_merchant_id: parts[0].into(),
                    partner_currency_id: parts[1].into(),
                    currency_id: parts[2].into(),
                    rate: Some("1".into()),
                    per_swap_max: Some(10),
                    daily_max: Some(10),
                },
            )
            .await
            .expect("contract proposed")
            .id
            .to_string()
    })
}

/// `wallet|lead`: a wallet holding points and another lead, with lead-to-lead swaps on.
fn new_swap_wallet_and_lead<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        t.app.set_lead_swaps(m, true).await.expect("switched on");
        let wallet = wallet_of(t, m, env).await;
        t.app
            .create_transaction(
                &scope(m, env),
                &punchcard_app::ledger::NewTransaction {
                    wallet_id: wallet.clone(),
                    kind: "reward".into(),
                    amount: 100,
                    hash: unique("fund-"),
                    description: None,
                },
            )
            .await
            .expect("funded");
        let lead = lead_of(t, m, env).await;
        format!("{wallet}|{}", lead.id)
    })
}

fn new_swap<'a>(t: &'a TestApp, m: &'a MerchantId, env: Env) -> Setup<'a> {
    Box::pin(async move {
        let pair = new_swap_wallet_and_lead(t, m, env).await;
        let (wallet, lead) = pair.split_once('|').unwrap();
        t.app
            .create_swap(
                &scope(m, env),
                &punchcard_app::swaps::NewSwap {
                    from_wallet_id: wallet.into(),
                    amount: Some(1),
                    hash: unique("s-"),
                    to_lead_id: Some(lead.into()),
                    ..Default::default()
                },
            )
            .await
            .expect("swap made")
            .swap
            .id
            .to_string()
    })
}

/// Puts the setup's value into a path: `a|b` fills the first `{id}` with a and the second
/// with b; a single value fills every `{id}`.
fn fill(template: &str, value: &str) -> String {
    let parts: Vec<&str> = value.split('|').collect();
    let mut out = String::new();
    let mut rest = template;
    let mut i = 0;
    while let Some(at) = rest.find("{id}") {
        out.push_str(&rest[..at]);
        out.push_str(parts.get(i).copied().unwrap_or(parts[0]));
        i += 1;
        rest = &rest[at + 4..];
    }
    out.push_str(rest);
    out
}

// ---- The check ----------------------------------------------------------------------------

struct Caller {
    who: &'static str,
    key: Key,
    /// Whether this caller may see what the owner made.
    sees: bool,
}

async fn call(t: &TestApp, method: &str, path: &str, key: &Key) -> reqwest::Response {
    if method == "POST" && path.ends_with("/images") {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(PNG.to_vec())
                .file_name("i.png")
                .mime_str("image/png")
                .unwrap(),
        );
        return t
            .api(key)
            .request(reqwest::Method::POST, path)
            .multipart(form)
            .send()
            .await
            .expect("request sent");
    }
    call_with(t, method, path, key, "{}").await
}

async fn call_with(
    t: &TestApp,
    method: &str,
    path: &str,
    key: &Key,
    body: &str,
) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
    let mut req = t.api(key).request(method.clone(), path);
    if let Some(field) = body.strip_prefix("multipart:") {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        let form = reqwest::multipart::Form::new()
            .text(name.to_string(), value.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(unique("ISO-").into_bytes()).file_name("c.csv"),
            );
        req = req.multipart(form);
    } else if method != reqwest::Method::GET {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    req.send().await.expect("request sent")
}

async fn check(t: &TestApp, e: &Endpoint, value: &str, owner: &Key, others: &[Caller]) {
    let label = format!("{} {}", e.method, e.path);
    if e.integration {
        let mut parts = value.splitn(3, '|');
        let (id, secret, code) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let body = e.body.unwrap_or("{}").replace("{value}", code);
        for (who, key) in others
            .iter()
            .map(|c| (c.who, &c.key))
            .chain([("the owner's API key", owner)])
        {
            let res = call_with(t, e.method, e.path, key, &body).await;
            assert_eq!(res.status(), 401, "{label}: {who} is no integration");
        }
        let integration: Key = (id.to_string(), secret.to_string());
        let res = call_with(t, e.method, e.path, &integration, &body).await;
        assert_eq!(res.status(), 201, "{label}: the integration awards");
        let text = res.text().await.unwrap();
        assert!(text.contains(code), "{label}: its own voucher: {text}");
        return;
    }
    if let Some(template) = e.body {
        let mut parts = value.split('|');
        let first = parts.next().unwrap_or(value);
        let second = parts.next().unwrap_or(first);
        let third = parts.next().unwrap_or(second);
        let body = if template.starts_with("multipart:") {
            format!("{template}={first}")
        } else {
            template
                .replace("{value3}", third)
                .replace("{value2}", second)
                .replace("{value}", first)
        };
        for c in others.iter().filter(|_| e.refused) {
            let res = call_with(t, e.method, e.path, &c.key, &body).await;
            let status = res.status().as_u16();
            assert!(
                matches!(status, 404 | 422),
                "{label}: {} must be refused, got {status}",
                c.who
            );
        }
        let res = call_with(t, e.method, e.path, owner, &body).await;
        let status = res.status();
        assert!(
            status.is_success(),
            "{label}: the owner gets {status}: {}",
            res.text().await.unwrap_or_default()
        );
        return;
    }
    if e.path.contains("{id}") {
        let path = fill(e.path, value);
        for c in others.iter().filter(|c| !c.sees) {
            let res = call(t, e.method, &path, &c.key).await;
            assert_eq!(res.status(), 404, "{label}: {} must get 404", c.who);
            let body: Value = res.json().await.expect("problem body");
            assert_eq!(body["code"], "not_found", "{label}: {}", c.who);
            for part in value.split('|') {
                assert!(!body.to_string().contains(part), "{label}: {}", c.who);
            }
        }
        for c in others.iter().filter(|c| c.sees) {
            let res = call(t, e.method, &path, &c.key).await;
            assert_ne!(res.status(), 404, "{label}: {} shares it", c.who);
        }
        // The owner reaches it (the empty body may be refused, but not as unknown).
        let res = call(t, e.method, &path, owner).await;
        assert_ne!(res.status(), 404, "{label}: the owner reaches it");
        assert!(!res.status().is_server_error(), "{label}: {}", res.status());
    } else {
        let res = call(t, e.method, e.path, owner).await;
        assert_eq!(res.status(), 200, "{label}: owner");
        let text = res.text().await.unwrap();
        assert!(
            text.contains(value),
            "{label}: the owner sees {value}: {text}"
        );
        for c in others {
            let res = call(t, e.method, e.path, &c.key).await;
            assert_eq!(res.status(), 200, "{label}: {}", c.who);
            let text = res.text().await.unwrap();
            assert_eq!(
                text.contains(value),
                c.sees,
                "{label}: {} {} {value}: {text}",
                c.who,
                if c.sees { "must see" } else { "must not see" }
            );
        }
    }
}

fn other(env: Env) -> Env {
    match env {
        Env::Dev => Env::Prod,
        Env::Prod => Env::Dev,
    }
}

/// Runs the check of one endpoint for a resource made by merchant `a` in each env.
async fn check_endpoint(t: &TestApp, e: &Endpoint, a: &MerchantId, b: &MerchantId) {
    let (a_dev, a_prod) = (t.api_key(a, Env::Dev).await, t.api_key(a, Env::Prod).await);
    let (b_dev, b_prod) = (t.api_key(b, Env::Dev).await, t.api_key(b, Env::Prod).await);
    let key_of = |m: &MerchantId, env: Env| -> Key {
        match (m == a, env) {
            (true, Env::Dev) => a_dev.clone(),
            (true, Env::Prod) => a_prod.clone(),
            (false, Env::Dev) => b_dev.clone(),
            (false, Env::Prod) => b_prod.clone(),
        }
    };
    for env in [Env::Dev, Env::Prod] {
        let value = (e.setup)(t, a, env).await;
        let others = [
            Caller {
                who: "the same merchant's other env",
                key: key_of(a, other(env)),
                sees: e.scope == Scope::Merchant,
            },
            Caller {
                who: "another merchant, same env",
                key: key_of(b, env),
                sees: false,
            },
            Caller {
                who: "another merchant, other env",
                key: key_of(b, other(env)),
                sees: false,
            },
        ];
        check(t, e, &value, &key_of(a, env), &others).await;
    }
}

async fn no_key_sees_another_merchants_or_envs_data(t: TestApp) {
    // Fresh merchants per endpoint keep every check clear of the dev caps and rate limit.
    for e in ENDPOINTS {
        let a = t.active_merchant("A").await;
        let b = t.active_merchant("B").await;
        check_endpoint(&t, e, &a, &b).await;
    }
    t.stop().await;
}

/// The check is not blind: currencies declared per env (they are shared) must fail it.
async fn the_check_catches_a_leak(t: TestApp) {
    use futures_util::FutureExt;
    let a = t.active_merchant("A").await;
    let b = t.active_merchant("B").await;
    let wrong = ep("GET", "/api/v1/currencies", Scope::Env, new_currency);
    let outcome = std::panic::AssertUnwindSafe(check_endpoint(&t, &wrong, &a, &b))
        .catch_unwind()
        .await;
    let message = outcome.expect_err("a resource seen by the other env is reported");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        text.contains("the same merchant's other env must not see"),
        "{text}"
    );
    t.stop().await;
}

/// The table names every API route the server serves (so a new endpoint cannot be forgotten).
async fn the_table_covers_every_api_route(t: TestApp) {
    let spec: Value = t
        .client
        .get(t.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.push(format!("{} {}", method.to_uppercase(), with_id(path)));
            }
        }
    }
    documented.sort();
    let mut listed: Vec<String> = ENDPOINTS
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    listed.sort();
    assert_eq!(listed, documented, "add the missing endpoints to ENDPOINTS");
    t.stop().await;
}

/// `/api/v1/leads/{lead_id}` -> `/api/v1/leads/{id}`: the table names every parameter `{id}`.
fn with_id(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

on_both_backends!(
    no_key_sees_another_merchants_or_envs_data,
    the_check_catches_a_leak,
    the_table_covers_every_api_route,
);
