//! The ledger writer: wallet transactions applied in groups, one commit per group, each item
//! answered as if it had run alone in its turn.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{Key, TestApp};
use punchcard_app::idempotency::{Fence, IdempotencyClaim};
use punchcard_app::ledger::writer::apply_group;
use punchcard_app::ledger::{NewTransaction, Pending, Posted, PreparedTransaction, Scope};
use punchcard_app::plans::PlanChange;
use punchcard_app::AppError;
use punchcard_domain::{Env, MerchantId};
use serde_json::{json, Value};

async fn prod_merchant(t: &TestApp, name: &str) -> (MerchantId, Key, String) {
    let m = t.active_merchant(name).await;
    t.set_rate_limit(&m, 300_000).await;
    let key = t.api_key(&m, Env::Prod).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    (m, key, currency)
}

/// A checked transaction for a group; `hash` is set afterwards, so a group may carry a hash
/// that is already stored (which a request would have answered before queueing).
async fn ready(
    t: &TestApp,
    scope: &Scope,
    wallet: &str,
    kind: &str,
    amount: i64,
    hash: &str,
) -> Pending {
    let new = NewTransaction {
        wallet_id: wallet.to_string(),
        kind: kind.to_string(),
        amount,
        hash: "unused-hash".to_string(),
        description: None,
    };
    let PreparedTransaction::Ready(mut ready, _) =
        t.app.prepare_transaction(scope, &new).await.unwrap()
    else {
        panic!("a fresh hash is ready");
    };
    ready.hash = hash.to_string();
    Pending {
        scope: scope.clone(),
        ready,
        fence: None,
    }
}

/// What an answer says, in short: `ok <balance_after>`, `replay <id>` or the error code.
fn outcome(r: &Result<Posted, AppError>) -> String {
    match r {
        Ok(p) if p.replayed => format!("replay {}", p.transaction.id),
        Ok(p) => format!("ok {}", p.transaction.balance_after),
        Err(e) => e.code().to_string(),
    }
}

async fn a_group_answers_each_item_as_if_alone(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t, "Acme").await;
    let api = t.api(&key);
    let (_, a) = api.lead_with_wallet("cust-a", &cur).await;
    let (_, b) = api.lead_with_wallet("cust-b", &cur).await;
    let stored = api
        .create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": a, "kind": "reward", "amount": 15, "hash": "stored-1"}),
        )
        .await;
    // A second merchant, on a plan with 2 rewards left, in the same group.
    let (m2, key2, cur2) = prod_merchant(&t, "Tight").await;
    t.app
        .set_plan(
            &m2,
            PlanChange {
                rewards: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, c) = t.api(&key2).lead_with_wallet("cust-c", &cur2).await;
    // Two idempotent requests: one still holds its key, one lost it to another attempt.
    let fence = |key: &str, holder: &str| Fence {
        merchant_id: m.clone(),
        env: Env::Prod,
        key: key.to_string(),
        holder: holder.to_string(),
    };
    let holding = fence("req-live", "att_live");
    t.app
        .claim_idempotency_key(&holding, "request")
        .await
        .unwrap();
    let superseded = fence("req-stale", "att_stale");
    assert_eq!(
        t.app
            .claim_idempotency_key(&fence("req-stale", "att_other"), "request")
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );

    let s = Scope::new(&m, Env::Prod);
    let s2 = Scope::new(&m2, Env::Prod);
    let mut group = vec![
        ready(&t, &s, &a, "reward", 5, "g-1").await,
        ready(&t, &s, &a, "adjust", -100, "g-2").await,
        ready(&t, &s2, &c, "reward", 1, "c-1").await,
        ready(&t, &s, &a, "adjust", -20, "g-3").await,
        ready(&t, &s, &a, "adjust", -1, "g-4").await,
        // The hash of item 0, the same request: its replay.
        ready(&t, &s, &a, "reward", 5, "g-1").await,
        // The hash of item 0, another request.
        ready(&t, &s, &a, "reward", 6, "g-1").await,
        // A stored hash: the same request, then another.
        ready(&t, &s, &a, "reward", 15, "stored-1").await,
        ready(&t, &s, &b, "reward", 15, "stored-1").await,
        ready(&t, &s2, &c, "reward", 1, "c-2").await,
        ready(&t, &s, &b, "adjust", -1, "g-5").await,
        // The hash of refused item 1: nothing was stored under it, so it applies.
        ready(&t, &s, &b, "reward", 3, "g-2").await,
        ready(&t, &s2, &c, "reward", 1, "c-3").await,
        ready(&t, &s, &b, "adjust", -3, "g-6").await,
        ready(&t, &s, &b, "reward", 4, "g-7").await,
        ready(&t, &s, &b, "reward", 4, "g-8").await,
        // An adjustment burns no reward quota.
        ready(&t, &s2, &c, "adjust", 1, "c-4").await,
    ];
    group[14].fence = Some(holding.clone());
    group[15].fence = Some(superseded.clone());
    let applied = apply_group(&t.app, group).await;
    assert!(
        !applied.fell_back,
        "the group applies together, in one transaction"
    );
    let results = applied.results;
    let first = results[0].as_ref().unwrap().transaction.id.clone();
    let got: Vec<String> = results.iter().map(outcome).collect();
    assert_eq!(
        got,
        [
            "ok 20".to_string(),
            "insufficient_balance".to_string(),
            "ok 1".to_string(),
            "ok 0".to_string(),
            "insufficient_balance".to_string(),
            format!("replay {first}"),
            "idempotency_mismatch".to_string(),
            format!("replay {}", stored["id"].as_str().unwrap()),
            "idempotency_mismatch".to_string(),
            "ok 2".to_string(),
            "insufficient_balance".to_string(),
            "ok 3".to_string(),
            "quota_exhausted".to_string(),
            "ok 0".to_string(),
            "ok 4".to_string(),
            "idempotency_in_progress".to_string(),
            "ok 3".to_string(),
        ]
    );
    // Nothing was answered before the commit: every acknowledged row is there.
    assert_eq!(api.balance(&a).await, 0);
    assert_eq!(api.balance(&b).await, 4);
    assert_eq!(t.api(&key2).balance(&c).await, 3);
    let quota = api.get_ok("/api/v1/quota").await;
    assert_eq!(quota["rewards"]["used"], 4, "stored-1, g-1, g-2 and g-7");
    let quota = t.api(&key2).get_ok("/api/v1/quota").await;
    assert_eq!(quota["rewards"]["used"], 2);
    assert_eq!(quota["rewards"]["remaining"], 0);
    // The live request's action is recorded as applied, the superseded one's is not: a retry
    // taking over either claim (its lease run out) is told so.
    let mut conn = t.app.db.conn().await.unwrap();
    punchcard_store::query("UPDATE idempotency_keys SET lease_until = $1")
        .bind(punchcard_domain::time::Timestamp::parse("2000-01-01T00:00:00Z").unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    for (key, applied) in [("req-live", true), ("req-stale", false)] {
        assert_eq!(
            t.app
                .claim_idempotency_key(&fence(key, "att_retry"), "request")
                .await
                .unwrap(),
            IdempotencyClaim::TakenOver { applied },
            "{key}"
        );
    }
    let txs = api
        .get_ok(&format!("/api/v1/wallet_transactions?wallet_id={b}"))
        .await;
    let hashes: Vec<&str> = txs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["hash"].as_str().unwrap())
        .collect();
    assert_eq!(hashes, ["g-2", "g-6", "g-7"]);
    assert!(t.app.audit_ledger(None).await.unwrap().is_empty());
    t.stop().await;
}

/// Fires `bodies` at once through `apis` (round robin) and answers (status, body) in order.
async fn burst(apis: &[crate::common::api::ApiClient], bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let mut handles = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let api = apis[i % apis.len()].clone();
        handles.push(tokio::spawn(async move {
            let res = api.post("/api/v1/wallet_transactions", body).await;
            (res.status().as_u16(), res.into_json())
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Checks a burst's answers: no 5xx, only the refusals a lone request could get, each hash
/// applied once, and balances that match the acknowledged transactions.
async fn check_burst(
    t: &TestApp,
    m: &MerchantId,
    api: &crate::common::api::ApiClient,
    wallets: &[String],
    bodies: &[Value],
    answers: &[(u16, Value)],
    seeded: i64,
) {
    let mut by_hash: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut acknowledged: BTreeMap<String, i64> = BTreeMap::new();
    for (body, (status, answer)) in bodies.iter().zip(answers) {
        match status {
            201 => {
                assert_eq!(answer["hash"], body["hash"], "{answer}");
                assert_eq!(answer["amount"], body["amount"], "{answer}");
                assert!(answer["balance_after"].as_i64().unwrap() >= 0);
                let id = answer["id"].as_str().unwrap().to_string();
                if by_hash
                    .entry(body["hash"].as_str().unwrap().to_string())
                    .or_default()
                    .insert(id)
                {
                    *acknowledged
                        .entry(body["wallet_id"].as_str().unwrap().to_string())
                        .or_default() += body["amount"].as_i64().unwrap();
                }
            }
            409 => assert_eq!(answer["code"], "insufficient_balance", "{answer}"),
            422 => assert_eq!(answer["code"], "idempotency_mismatch", "{answer}"),
            s => panic!("unexpected {s}: {answer}"),
        }
    }
    for (hash, ids) in &by_hash {
        assert_eq!(ids.len(), 1, "hash {hash} applied once: {ids:?}");
    }
    for w in wallets {
        assert_eq!(
            api.balance(w).await,
            seeded + acknowledged.get(w).copied().unwrap_or(0),
            "{w}"
        );
    }
    assert!(t.app.audit_ledger(Some(m)).await.unwrap().is_empty());
}

/// Transactions on a few hot wallets: rewards, debits that may overdraw, and hashes sent
/// twice (the same body, or another).
fn mixed_bodies(wallets: &[String], tag: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let wallet = &wallets[i % wallets.len()];
            match i % 5 {
                0 | 1 => json!({"wallet_id": wallet, "kind": "reward", "amount": 3,
                                "hash": format!("{tag}-{i}")}),
                2 | 3 => json!({"wallet_id": wallet, "kind": "adjust", "amount": -4,
                                "hash": format!("{tag}-{i}")}),
                // Every fifth repeats an earlier hash: its body every tenth, another otherwise.
                _ => {
                    let earlier = i - 4;
                    let amount = if i % 10 == 4 { 3 } else { 5 };
                    json!({"wallet_id": &wallets[earlier % wallets.len()], "kind": "reward",
                           "amount": amount, "hash": format!("{tag}-{earlier}")})
                }
            }
        })
        .collect()
}

async fn seeded_wallets(api: &crate::common::api::ApiClient, cur: &str, n: usize) -> Vec<String> {
    let mut wallets = Vec::new();
    for i in 0..n {
        let (_, w) = api.lead_with_wallet(&format!("hot-{i:04}"), cur).await;
        api.create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": w, "kind": "reward", "amount": 10, "hash": format!("seed-{i}")}),
        )
        .await;
        wallets.push(w);
    }
    wallets
}

async fn a_burst_of_mixed_transactions_answers_each_as_if_alone(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t, "Acme").await;
    let api = t.api(&key);
    let wallets = seeded_wallets(&api, &cur, 3).await;
    let bodies = mixed_bodies(&wallets, "burst", 300);
    let answers = burst(std::slice::from_ref(&api), bodies.clone()).await;
    check_burst(&t, &m, &api, &wallets, &bodies, &answers, 10).await;
    // Concurrent requests were grouped, and every group applied together.
    let stats = t
        .app
        .ledger_writer_stats()
        .expect("the server runs a ledger writer");
    assert!(stats.items > stats.groups, "{stats:?}");
    assert_eq!(stats.fallbacks, 0, "{stats:?}");
    t.stop().await;
}

async fn two_servers_on_the_same_hot_wallets_add_up(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t, "Acme").await;
    let other = t.start_on(|_| {}).await;
    let api = t.api(&key);
    let wallets = seeded_wallets(&api, &cur, 3).await;
    let bodies = mixed_bodies(&wallets, "two", 400);
    let apis = [api.clone(), other.api(&key)];
    let answers = burst(&apis, bodies.clone()).await;
    check_burst(&t, &m, &api, &wallets, &bodies, &answers, 10).await;
    other.stop().await;
    t.stop().await;
}

/// Swaps between hot wallets and coupon redemptions from them, fired at once with plain
/// transactions on the same wallets: the writer takes them into the same groups (each under a
/// savepoint of its own), every answer is one a lone request could get, and the books add up.
async fn swaps_and_coupons_share_groups_with_transactions(t: TestApp) {
    let (m, key, cur) = prod_merchant(&t, "Acme").await;
    t.app.set_lead_swaps(&m, true).await.unwrap();
    let api = t.api(&key);
    let wallets = seeded_wallets(&api, &cur, 4).await;
    let mut leads = Vec::new();
    for w in &wallets {
        leads.push(
            api.get_ok(&format!("/api/v1/wallets/{w}")).await["lead_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": "Coffee", "description": "One coffee", "kind": "voucher",
                   "sell_price": 2, "available": true, "visibility": "private"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.create(
        "/api/v1/coupon_codes/bulk_generate",
        json!({"deal_id": deal, "count": 40}),
    )
    .await;
    let writer_before = t.app.ledger_writer_stats().unwrap();

    let mut handles = Vec::new();
    for i in 0..120usize {
        let api = api.clone();
        let (w, to_lead, lead) = (
            wallets[i % 4].clone(),
            leads[(i + 1) % 4].clone(),
            leads[i % 4].clone(),
        );
        let (deal, cur) = (deal.clone(), cur.clone());
        handles.push(tokio::spawn(async move {
            let (path, body) = match i % 3 {
                0 => ("/api/v1/wallet_transactions",
                      json!({"wallet_id": w, "kind": "adjust", "amount": if i % 2 == 0 { 2 } else { -3 },
                             "hash": format!("mix-{i}")})),
                1 => ("/api/v1/swaps",
                      json!({"from_wallet_id": w, "amount": 2, "hash": format!("mix-{i}"),
                             "to_lead_id": to_lead})),
                _ => ("/api/v1/coupons",
                      json!({"deal_id": deal, "lead_id": lead, "currency_id": cur,
                             "hash": format!("mix-{i}")})),
            };
            let res = api.post(path, body).await;
            (i, res.status().as_u16(), res.into_json())
        }));
    }
    let mut made = [0usize; 3];
    // Points added to or taken from the four wallets together, by the acknowledged answers.
    let mut delta = 0;
    for h in handles {
        let (i, status, answer) = h.await.unwrap();
        match status {
            201 => {
                made[i % 3] += 1;
                delta += match i % 3 {
                    0 => answer["amount"].as_i64().unwrap(),
                    1 => 0,
                    _ => -answer["points"].as_i64().unwrap(),
                };
            }
            409 => assert!(
                ["insufficient_balance", "out_of_stock"]
                    .contains(&answer["code"].as_str().unwrap()),
                "{i}: {answer}"
            ),
            s => panic!("unexpected {s} for {i}: {answer}"),
        }
    }
    assert!(
        made.iter().all(|n| *n > 0),
        "each kind went through: {made:?}"
    );
    // The balances are what the ledger says, and every swap moved points between two of them.
    assert!(t.app.audit_ledger(Some(&m)).await.unwrap().is_empty());
    let mut total = 0;
    for w in &wallets {
        total += api.balance(w).await;
    }
    assert_eq!(total, 4 * 10 + delta, "swaps move points, they make none");
    let writer = t.app.ledger_writer_stats().unwrap();
    assert!(
        writer.items - writer_before.items > writer.groups - writer_before.groups,
        "grouped: {writer_before:?} -> {writer:?}"
    );
    assert_eq!(writer.fallbacks, writer_before.fallbacks, "{writer:?}");
    t.stop().await;
}

on_both_backends!(
    a_group_answers_each_item_as_if_alone,
    a_burst_of_mixed_transactions_answers_each_as_if_alone,
    two_servers_on_the_same_hot_wallets_add_up,
    swaps_and_coupons_share_groups_with_transactions,
);
