//! What an operator watches: `/metrics` names the build, the process, the database pools and
//! what the business did (rewards, redemptions, voucher awards, counted once each, replays not
//! again).

use crate::common::TestApp;
use crate::tasks::{deal_with_codes, merchant};
use crate::vouchers::{award_body, campaign, integration, vault};
use punchcard_domain::Env;
use serde_json::json;

async fn metrics(t: &TestApp) -> String {
    let res = t.client.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The value of the sample `name` (with its labels, if any) in an exposition.
fn sample(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in\n{exposition}"))
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn metrics_name_the_build_process_pools_and_business(t: TestApp) {
    let before = metrics(&t).await;
    let build = format!(
        "punchcard_build_info{{version=\"{}\",commit=\"{}\"}} 1",
        punchcard_server::build_info::VERSION,
        punchcard_server::build_info::COMMIT
    );
    assert!(before.contains(&build), "{build} in\n{before}");
    assert!(sample(&before, "process_resident_memory_bytes") > 1_000_000.0);
    assert!(sample(&before, "process_cpu_seconds_total") >= 0.0);
    assert!(sample(&before, "process_open_fds") >= 3.0);
    let size = sample(&before, "punchcard_db_pool_connections{pool=\"main\"}");
    let idle = sample(&before, "punchcard_db_pool_idle_connections{pool=\"main\"}");
    let max = sample(&before, "punchcard_db_pool_max_connections{pool=\"main\"}");
    assert!(
        size >= 1.0 && idle <= size && size <= max,
        "{size} {idle} {max}"
    );
    for counter in [
        "punchcard_rewards_total",
        "punchcard_redemptions_total",
        "punchcard_voucher_awards_total",
    ] {
        assert_eq!(sample(&before, counter), 0.0, "{counter}");
    }

    let (_m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let (lead, wallet) = api.lead_with_wallet("cust-metrics", &cur).await;
    let reward = json!({"wallet_id": wallet, "kind": "reward", "amount": 50, "hash": "m-1"});
    api.create("/api/v1/wallet_transactions", reward.clone())
        .await;
    // A replay answers the first reward: not a second one.
    let again = api.post("/api/v1/wallet_transactions", reward).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // An adjustment is neither.
    api.create(
        "/api/v1/wallet_transactions",
        json!({"wallet_id": wallet, "kind": "adjust", "amount": -1, "hash": "m-2"}),
    )
    .await;
    let deal = deal_with_codes(&api, 3).await;
    api.create(
        "/api/v1/coupons",
        json!({"deal_id": deal, "lead_id": lead, "currency_id": cur, "mode": "redeem", "hash": "c-1"}),
    )
    .await;
    // A coupon given away spends no points: no redemption.
    api.create(
        "/api/v1/coupons",
        json!({"deal_id": deal, "lead_id": lead, "mode": "reward", "hash": "c-2"}),
    )
    .await;
    let v = vault(&api, "Bookshop", 1000, false, &["V-1"]).await;
    let c = campaign(&api, json!({"name": "Books", "vault_ids": [v]})).await;
    let app = t.api(&integration(&api, &c, "live").await);
    let award = app
        .post("/api/v1/award", award_body("ann@example.com", "a-1"))
        .await;
    assert_eq!(award.status(), 201, "{}", award.json());
    assert!(award.json()["interaction_id"].is_string());

    let after = metrics(&t).await;
    assert_eq!(sample(&after, "punchcard_rewards_total"), 1.0);
    assert_eq!(sample(&after, "punchcard_redemptions_total"), 1.0);
    assert_eq!(sample(&after, "punchcard_voucher_awards_total"), 1.0);
    t.stop().await;
}

crate::on_both_backends!(metrics_name_the_build_process_pools_and_business);
