//! Surprises over HTTP: creating and validating them, claims on and off the occasion (a
//! custom date today or tomorrow in the merchant's time zone, a lead's birthday), `count`
//! claims per occasion, retries by hash, statuses across dates and other kinds' ids.

use std::sync::Arc;

use crate::common::api::{id_of, ApiClient};
use crate::common::{ids, TestApp};
use crate::tasks::{days_from_now, deal_with_codes, merchant};
use punchcard_domain::time::{TimeZone, Timestamp};
use punchcard_domain::Env;
use serde_json::json;
use time::Duration;

/// The merchant's calendar day in `zone`, shifted by `days`, as `YYYY-MM-DD`.
fn day_in(zone: &str, days: i64) -> String {
    let today = TimeZone::parse(zone).unwrap().date_at(Timestamp::now());
    (today + Duration::days(days)).to_string()
}

async fn claim(
    api: &ApiClient,
    surprise: &str,
    lead: &str,
    hash: &str,
) -> crate::common::ApiResponse {
    api.post(
        "/api/v1/surprise_activities",
        json!({"surprise_id": surprise, "lead_id": lead, "hash": hash}),
    )
    .await
}

async fn lead_born(api: &ApiClient, customer_id: &str, dob: Option<&str>) -> String {
    id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": customer_id, "email": format!("{customer_id}@example.com"),
                   "dob": dob}),
        )
        .await,
    )
}

async fn surprises_are_created_validated_listed_and_changed(t: TestApp) {
    let (_m, key, cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let deal = deal_with_codes(&api, 1).await;

    api.post(
        "/api/v1/surprises",
        json!({"name": "", "type": "anniversary", "count": 0, "deal_id": "deal_x",
               "ends_at": "later"}),
    )
    .await
    .assert_invalid(&["name", "type", "count", "deal_id", "ends_at"]);
    api.post(
        "/api/v1/surprises",
        json!({"name": "No day", "type": "custom", "count": 1, "deal_id": deal}),
    )
    .await
    .assert_invalid(&["date"]);
    api.post(
        "/api/v1/surprises",
        json!({"name": "Bad day", "type": "custom", "date": "2026-02-30", "count": 1,
               "deal_id": deal}),
    )
    .await
    .assert_invalid(&["date"]);
    api.post(
        "/api/v1/surprises",
        json!({"name": "Birthday", "type": "lead_birthday", "date": "2026-01-01",
               "count": 1001}),
    )
    .await
    .assert_invalid(&["date", "count", "deal_id"]);
    assert_eq!(api.get_ok("/api/v1/surprises").await["data"], json!([]));

    let xmas = api
        .create(
            "/api/v1/surprises",
            json!({"name": "Christmas treat", "type": "custom", "date": "2026-12-24",
                   "count": 2, "deal_id": deal}),
        )
        .await;
    let id = id_of(&xmas);
    assert_eq!(xmas["kind"], "surprise");
    assert_eq!(xmas["type"], "custom");
    assert_eq!(xmas["date"], "2026-12-24");
    assert_eq!(xmas["status"], "live");
    assert_eq!(api.get_ok(&format!("/api/v1/surprises/{id}")).await, xmas);
    let bday = api
        .create(
            "/api/v1/surprises",
            json!({"name": "Happy birthday", "type": "lead_birthday", "count": 1,
                   "deal_id": deal, "starts_at": days_from_now(3)}),
        )
        .await;
    assert_eq!(bday["status"], "pending", "before its start");
    assert_eq!(bday["date"], serde_json::Value::Null);
    assert_eq!(
        ids(&api.get_ok("/api/v1/surprises").await),
        vec![id.clone(), id_of(&bday)]
    );
    assert_eq!(
        ids(&api
            .get_ok("/api/v1/campaigns?kind=surprise&status=live")
            .await),
        vec![id.clone()]
    );

    let changed = api
        .patch(
            &format!("/api/v1/surprises/{id}"),
            json!({"type": "lead_birthday", "paused": true}),
        )
        .await
        .expect(200);
    assert_eq!(changed["type"], "lead_birthday");
    assert_eq!(
        changed["date"],
        serde_json::Value::Null,
        "a birthday has no date"
    );
    assert_eq!(changed["status"], "pending");
    api.patch(
        &format!("/api/v1/surprises/{id}"),
        json!({"type": "custom"}),
    )
    .await
    .assert_invalid(&["date"]);
    let ended = api
        .patch(
            &format!("/api/v1/surprises/{id}"),
            json!({"paused": false, "starts_at": days_from_now(-3), "ends_at": days_from_now(-1)}),
        )
        .await
        .expect(200);
    assert_eq!(ended["status"], "completed");

    // Other kinds' ids are not surprises.
    let task = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Task", "reward": "points", "currency_id": cur, "count": 1,
                   "min_reward": 1}),
        )
        .await;
    api.get(&format!("/api/v1/surprises/{}", id_of(&task)))
        .await
        .assert_problem(404, "not_found");
    api.delete(&format!("/api/v1/surprises/{}", id_of(&task)))
        .await
        .assert_problem(404, "not_found");
    api.get(&format!("/api/v1/tasks/{id}"))
        .await
        .assert_problem(404, "not_found");
    let buyer = lead_born(&api, "cust-0001", None).await;
    claim(&api, &id_of(&task), &buyer, "s0")
        .await
        .assert_invalid(&["surprise_id"]);
    claim(&api, &id, &buyer, "s-ended")
        .await
        .assert_problem(422, "campaign_not_live");

    api.delete(&format!("/api/v1/surprises/{}", id_of(&bday)))
        .await
        .expect(204);
    api.get(&format!("/api/v1/surprises/{}", id_of(&bday)))
        .await
        .assert_problem(404, "not_found");
    t.stop().await;
}

async fn claims_follow_the_occasion_in_the_merchants_time_zone(t: TestApp) {
    let (m, key, _cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let deal = deal_with_codes(&api, 10).await;
    let zone = "Pacific/Kiritimati";
    t.app.set_time_zone(&m, zone).await.unwrap();
    let surprise = |date: String| json!({"name": "Today", "type": "custom", "date": date, "count": 2, "deal_id": deal});
    let today = id_of(
        &api.create("/api/v1/surprises", surprise(day_in(zone, 0)))
            .await,
    );
    let tomorrow = id_of(
        &api.create("/api/v1/surprises", surprise(day_in(zone, 1)))
            .await,
    );
    let buyer = lead_born(&api, "cust-0001", None).await;

    let first = claim(&api, &today, &buyer, "s1").await.expect(201);
    assert_eq!(first["surprise_id"], today);
    assert_eq!(first["lead_id"], buyer);
    assert_eq!(first["occasion"], day_in(zone, 0));
    let coupon = api
        .get_ok(&format!(
            "/api/v1/coupons/{}",
            first["coupon_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(coupon["mode"], "reward");
    assert_eq!(coupon["deal_id"], deal);
    let again = claim(&api, &today, &buyer, "s1").await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.expect(201), first);
    claim(
        &api,
        &today,
        &lead_born(&api, "cust-0002", None).await,
        "s1",
    )
    .await
    .assert_problem(422, "idempotency_mismatch");
    claim(&api, &today, &buyer, "s2").await.expect(201);
    claim(&api, &today, &buyer, "s3")
        .await
        .assert_problem(422, "limit_reached");
    claim(&api, &tomorrow, &buyer, "s4")
        .await
        .assert_problem(422, "not_on_occasion");

    // The same instant is another day at the other end of the calendar.
    t.app.set_time_zone(&m, "Pacific/Pago_Pago").await.unwrap();
    claim(&api, &today, &buyer, "s5")
        .await
        .assert_problem(422, "not_on_occasion");

    let listed = api
        .get_ok(&format!(
            "/api/v1/surprise_activities?surprise_id={today}&lead_id={buyer}"
        ))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert_eq!(listed["data"][0], first);
    let refused = api
        .get_ok(&format!(
            "/api/v1/campaigns/{today}/interactions?outcome=error"
        ))
        .await;
    let codes: Vec<&str> = refused["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["error_code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["not_on_occasion", "limit_reached", "idempotency_mismatch"]
    );
    let given = api
        .get_ok(&format!(
            "/api/v1/campaigns/{today}/interactions?outcome=awarded"
        ))
        .await;
    assert_eq!(
        given["data"][1]["coupon_id"], first["coupon_id"],
        "oldest last"
    );
    let quota = api.get_ok("/api/v1/quota").await;
    assert_eq!(
        (
            quota["rewards"]["used"].clone(),
            quota["redeems"]["used"].clone()
        ),
        (json!(2), json!(2)),
        "{quota}"
    );
    assert_eq!(
        api.get_ok(&format!("/api/v1/surprises/{today}")).await["budget_used"],
        2
    );
    t.stop().await;
}

async fn birthdays_are_the_leads_own(t: TestApp) {
    let (_m, key, _cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let deal = deal_with_codes(&api, 5).await;
    let bday = id_of(
        &api.create(
            "/api/v1/surprises",
            json!({"name": "Happy birthday", "type": "lead_birthday", "count": 1,
                   "deal_id": deal}),
        )
        .await,
    );
    // Born on this day (UTC, the default time zone) some years ago; or on another day; or
    // without a date of birth.
    let today = TimeZone::utc().date_at(Timestamp::now());
    let born = |years: i32, shift: i64| {
        let d = today + Duration::days(shift);
        let d = d
            .replace_year(d.year() - years)
            .unwrap_or(d - Duration::days(1));
        d.to_string()
    };
    let celebrating = lead_born(&api, "cust-0001", Some(&born(30, 0))).await;
    let not_today = lead_born(&api, "cust-0002", Some(&born(30, 1))).await;
    let unknown = lead_born(&api, "cust-0003", None).await;

    claim(&api, &bday, &celebrating, "b1").await.expect(201);
    claim(&api, &bday, &celebrating, "b2")
        .await
        .assert_problem(422, "limit_reached");
    claim(&api, &bday, &not_today, "b3")
        .await
        .assert_problem(422, "not_on_occasion");
    claim(&api, &bday, &unknown, "b4")
        .await
        .assert_problem(422, "not_on_occasion");
    t.stop().await;
}

async fn concurrent_claims_stay_within_count(t: TestApp) {
    let (_m, key, _cur) = merchant(&t, Env::Prod).await;
    let api = t.api(&key);
    let deal = deal_with_codes(&api, 20).await;
    let surprise = id_of(
        &api.create(
            "/api/v1/surprises",
            json!({"name": "Today", "type": "custom", "date": day_in("UTC", 0), "count": 3,
                   "deal_id": deal}),
        )
        .await,
    );
    let buyer = lead_born(&api, "cust-0001", None).await;
    let t = Arc::new(t);
    let mut handles = Vec::new();
    for i in 0..12 {
        let (api, surprise, buyer) = (t.api(&key), surprise.clone(), buyer.clone());
        handles.push(tokio::spawn(async move {
            claim(&api, &surprise, &buyer, &format!("c-{i}"))
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 9);
    let coupons = api
        .get_ok(&format!("/api/v1/coupons?lead_id={buyer}"))
        .await;
    assert_eq!(coupons["data"].as_array().unwrap().len(), 3);
    Arc::try_unwrap(t).ok().unwrap().stop().await;
}

/// The time zone is a setting of the dashboard's profile page, open before activation too.
async fn the_time_zone_is_set_on_the_profile_page(t: TestApp) {
    let (m, member) =
        crate::common::dashboard::merchant_with_member(&t, "Corner Bakery", false).await;
    let html = member.page(&t, "/dashboard/profile").await;
    assert!(
        html.contains(r#"name="time_zone" value="UTC""#),
        "UTC until set"
    );
    assert!(html.contains(r#"<option value="Europe/Paris">"#));

    let res = member
        .post(
            &t,
            "/dashboard/profile/time_zone",
            &[("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Time zone must be a time zone of the IANA database"));
    assert!(
        html.contains(r#"value="Mars/Olympus""#),
        "what was typed stays"
    );
    assert_eq!(t.app.time_zone(&m).await.unwrap().name(), "UTC");

    let res = member
        .post(
            &t,
            "/dashboard/profile/time_zone",
            &[("time_zone", "Europe/Paris")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = member.page(&t, "/dashboard/profile").await;
    assert!(html.contains("Time zone set to Europe/Paris."));
    assert!(html.contains(r#"name="time_zone" value="Europe/Paris""#));
    assert_eq!(t.app.time_zone(&m).await.unwrap().name(), "Europe/Paris");
    t.stop().await;
}

on_both_backends!(
    surprises_are_created_validated_listed_and_changed,
    claims_follow_the_occasion_in_the_merchants_time_zone,
    birthdays_are_the_leads_own,
    concurrent_claims_stay_within_count,
    the_time_zone_is_set_on_the_profile_page,
);
