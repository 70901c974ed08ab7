//! Messages and promos: each segment reaches exactly its leads, a send cut short after one
//! batch finishes once (every lead reached once, the counts right), bad input changes nothing,
//! and the member page shows what the lead received.

use std::time::Duration;

use crate::common::TestApp;
use crate::partner::{deal, shop, store};
use punchcard_app::ledger::Scope;
use punchcard_domain::Env;
use serde_json::{json, Value};

/// A message to every lead of `scope`, queued.
pub(crate) async fn message_to_all(
    t: &TestApp,
    scope: &Scope,
    text: &str,
) -> punchcard_domain::MessageId {
    t.app
        .send_message(
            scope,
            &punchcard_app::messages::Sender::default(),
            &punchcard_app::messages::NewMessage {
                kind: "message".into(),
                text: Some(text.into()),
                segment: punchcard_app::messages::SegmentInput {
                    kind: "all".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("message queued")
        .id
}

async fn sent(t: &TestApp, key: &crate::common::Key, id: &str) -> Value {
    for _ in 0..200 {
        let m = t.api(key).get_ok(&format!("/api/v1/messages/{id}")).await;
        if m["status"] == "sent" {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("message {id} was not sent");
}

async fn reached(t: &TestApp, m: &punchcard_domain::MerchantId, lead: &str, id: &str) -> bool {
    let scope = Scope::new(m, Env::Prod);
    let lead = t.app.lead(&scope, lead).await.unwrap();
    t.app
        .messages_of_lead(&lead)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id.as_str() == id)
}

async fn segments_reach_exactly_their_leads(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let api = t.api(&s.key);
    let north = store(&s, &t, "North").await;
    let cake = deal(&s, &t, "Free cake", &["CAKE-1"]).await;
    let lead = |customer: &'static str, dob: Option<String>| {
        let api = t.api(&s.key);
        async move {
            let mut body =
                json!({"customer_id": customer, "email": format!("{customer}@example.com")});
            if let Some(d) = dob {
                body["dob"] = json!(d);
            }
            api.create("/api/v1/leads", body).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let month = punchcard_domain::time::Timestamp::now().to_rfc3339()[5..7].to_string();
    let other_month = if month == "01" { "02" } else { "01" };
    let rich = lead("cust-rich", None).await;
    let poor = lead("cust-poor", None).await;
    let holder = lead("cust-holder", None).await;
    let born = lead("cust-born", Some(format!("1990-{month}-15"))).await;
    let not_born = lead("cust-not-born", Some(format!("1990-{other_month}-15"))).await;
    for (who, points) in [(&rich, 50), (&poor, 5)] {
        let w = api
            .create(
                "/api/v1/wallets",
                json!({"lead_id": who, "currency_id": s.currency}),
            )
            .await;
        api.create(
            "/api/v1/wallet_transactions",
            json!({"wallet_id": w["id"], "kind": "reward", "amount": points, "hash": format!("seed-{who}")}),
        )
        .await;
    }
    api.create(
        "/api/v1/coupons",
        json!({"deal_id": cake, "lead_id": holder, "hash": "give-holder", "mode": "reward"}),
    )
    .await;
    let task = api
        .create(
            "/api/v1/tasks",
            json!({"name": "One visit", "reward": "points", "currency_id": s.currency,
                   "count": 1, "min_reward": 1}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.create(
        "/api/v1/task_activities",
        json!({"task_id": task, "lead_id": poor, "hash": "visit-poor"}),
    )
    .await;
    // One customer joins at the North store's code.
    let token = t
        .app
        .join_token(&Scope::new(&s.m, Env::Prod), Some(&north.parse().unwrap()))
        .await
        .unwrap();
    let (joined, _) = t
        .app
        .join(
            &token,
            &punchcard_app::counter::JoinForm {
                name: "Jo".into(),
                email: "jo@example.com".into(),
                mobile: String::new(),
                consent: true,
            },
        )
        .await
        .unwrap();
    let joined = joined.id.to_string();
    let everyone = [&rich, &poor, &holder, &born, &not_born, &joined];

    let cases: Vec<(Value, Vec<&String>)> = vec![
        (json!({"type": "all"}), everyone.to_vec()),
        (
            json!({"type": "min_balance", "currency_id": s.currency, "min_balance": 10}),
            vec![&rich],
        ),
        (
            json!({"type": "deal_coupon", "deal_id": cake}),
            vec![&holder],
        ),
        (
            json!({"type": "task_completed", "task_id": task}),
            vec![&poor],
        ),
        (json!({"type": "birthday_month"}), vec![&born]),
        (json!({"type": "store", "store_id": north}), vec![&joined]),
    ];
    for (segment, expected) in cases {
        let m = api
            .create(
                "/api/v1/messages",
                json!({"kind": "message", "text": "Hello", "segment": segment}),
            )
            .await;
        assert_eq!(m["status"], "queued");
        let id = m["id"].as_str().unwrap().to_string();
        let done = sent(&t, &s.key, &id).await;
        assert_eq!(done["delivered"], expected.len(), "{segment}");
        assert_eq!(done["recipients"], expected.len(), "{segment}");
        for who in everyone {
            assert_eq!(
                reached(&t, &s.m, who, &id).await,
                expected.contains(&who),
                "{segment}: {who}"
            );
        }
    }

    // Bad input: refused field by field, nothing queued.
    let before = api.get_ok("/api/v1/messages").await["data"]
        .as_array()
        .unwrap()
        .len();
    api.post(
        "/api/v1/messages",
        json!({"kind": "promo", "segment": {"type": "all"}}),
    )
    .await
    .assert_invalid(&["title", "body"]);
    api.post(
        "/api/v1/messages",
        json!({"kind": "message", "text": "Hi", "url": "javascript:alert(1)", "segment": {"type": "nobody"}}),
    )
    .await
    .assert_invalid(&["url", "segment.type"]);
    api.post(
        "/api/v1/messages",
        json!({"kind": "message", "text": "Hi", "segment": {"type": "deal_coupon", "deal_id": "deal_01jd3x1m2n3p4q5r6s7t8v9w0x"}}),
    )
    .await
    .assert_invalid(&["segment.deal_id"]);
    let after = api.get_ok("/api/v1/messages").await["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // The member page shows what the lead received.
    let link = api
        .post(&format!("/api/v1/leads/{rich}/member_link"), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let promo = api
        .create(
            "/api/v1/messages",
            json!({"kind": "promo", "title": "Spring tasting", "body": "Two for one on Friday",
                   "url": "https://quay.example.com/spring", "segment": {"type": "all"}}),
        )
        .await;
    sent(&t, &s.key, promo["id"].as_str().unwrap()).await;
    let html = t
        .browser_client()
        .get(t.url(&format!("/m/{link}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Spring tasting") && html.contains("Two for one on Friday"));
    assert!(html.contains("https://quay.example.com/spring"));
    t.stop().await;
}

async fn a_send_cut_short_finishes_once(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let scope = Scope::new(&s.m, Env::Prod);
    let n = punchcard_app::messages::BATCH as usize + 120;
    for i in 0..n {
        t.app
            .create_lead(
                &scope,
                punchcard_app::ledger::NewLead {
                    customer_id: format!("cust-{i:05}"),
                    email: Some(format!("c{i}@example.com")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let m_id = message_to_all(&t, &scope, "Hello all").await;
    // One server reaches a batch and dies; the queue's runner (and this one again, at the same
    // time) carry on from the cursor.
    let first = t.app.send_message_batch(&scope, &m_id).await.unwrap();
    assert!(!first, "more than one batch");
    let (a, b) = tokio::join!(
        t.app.send_message_batch(&scope, &m_id),
        t.app.send_message_batch(&scope, &m_id)
    );
    a.unwrap();
    b.unwrap();
    let done = sent(&t, &s.key, m_id.as_str()).await;
    assert_eq!(done["delivered"], n);
    assert_eq!(done["recipients"], n);
    let mut conn = t.app.db.conn().await.unwrap();
    let row = punchcard_store::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT lead_id) AS d FROM message_deliveries WHERE message_id = $1",
    )
    .bind(m_id.as_str())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let (count, distinct): (i64, i64) = (row.try_get("n").unwrap(), row.try_get("d").unwrap());
    assert_eq!((count, distinct), (n as i64, n as i64));
    t.stop().await;
}

on_both_backends!(
    segments_reach_exactly_their_leads,
    a_send_cut_short_finishes_once
);
