//! The catalog over HTTP: deals, offers and stores, their validation, caps, prices, soft
//! deletion, images, and isolation between merchants and environments.

use crate::common::{ids, ApiResponse, Key, TestApp};
use punchcard_app::stores::Stores;
use punchcard_domain::{Env, MerchantId};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
];
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff";
const WEBP: &[u8] = b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10";

fn offline_store(name: &str, city: &str) -> Value {
    json!({
        "name": name,
        "mode": "offline",
        "address_line": "12 Mill Lane",
        "city": city,
        "postal_code": "ls1 4ab",
        "country": "gb",
        "latitude": 53.7997,
        "longitude": -1.5492,
    })
}

async fn deals_crud_validation_and_prices(t: TestApp) {
    let m = t.active_merchant("Corner Bakery").await;
    t.app
        .create_currency(&m, "GEM", "Gems", "0.3")
        .await
        .unwrap();
    t.app
        .create_currency(&m, "BIG", "Big coins", "40")
        .await
        .unwrap();
    let key = t.api_key(&m, Env::Dev).await;
    let store = t
        .api(&key)
        .create("/api/v1/stores", offline_store("Mill Lane", "Leeds"))
        .await;
    let store_id = store["id"].as_str().unwrap().to_string();

    // A minimal deal: private, not available, priced in every currency (rounded up).
    let deal = t
        .api(&key)
        .create(
            "/api/v1/deals",
            json!({"name": "Free coffee", "kind": "voucher", "sell_price": 100}),
        )
        .await;
    let deal_id = deal["id"].as_str().unwrap().to_string();
    assert!(deal_id.starts_with("deal_"));
    assert_eq!(deal["available"], false);
    assert_eq!(deal["visibility"], "private");
    assert_eq!(deal["description"], "");
    assert!(deal["starts_at"].is_null());
    assert_eq!(deal["store_ids"], json!([]));
    assert_eq!(deal["images"], json!([]));
    let points: Vec<(String, i64)> = deal["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p["currency_id"].as_str().unwrap().starts_with("cur_"));
            (
                p["code"].as_str().unwrap().to_string(),
                p["points"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut points = points;
    points.sort();
    assert_eq!(
        points,
        vec![("BIG".into(), 3), ("GEM".into(), 334), ("PTS".into(), 100)]
    );
    let fetched = t
        .api(&key)
        .get(&format!("/api/v1/deals/{deal_id}"))
        .await
        .into_json();
    assert_eq!(fetched, deal);

    // Every invalid field is reported at once, and nothing is written.
    let res = t
        .api(&key)
        .post(
            "/api/v1/deals",
            json!({
                "name": "",
                "kind": "gift",
                "sell_price": -5,
                "starts_at": "2026-03-01T00:00:00Z",
                "ends_at": "2026-02-01T00:00:00Z",
                "store_ids": ["store_nope", "store_01jd3x1m2n3p4q5r6s7t8v9w0x"],
            }),
        )
        .await;
    res.assert_invalid(&["name", "kind", "sell_price", "ends_at", "store_ids"]);
    let res = t
        .api(&key)
        .post(
            "/api/v1/deals",
            json!({"name": "Ghost store", "kind": "cash", "sell_price": 1,
               "store_ids": ["store_01jd3x1m2n3p4q5r6s7t8v9w0x"], "starts_at": "next week"}),
        )
        .await;
    let body = res.assert_invalid(&["store_ids", "starts_at"]);
    assert!(body["errors"].to_string().contains("no such store"));
    t.api(&key)
        .post("/api/v1/deals", json!({"sell_price": 1}))
        .await
        .assert_invalid(&["name", "kind"]);
    // Unknown or mistyped fields are refused rather than ignored.
    t.api(&key)
        .post(
            "/api/v1/deals",
            json!({"name": "x", "kind": "cash", "sell_price": 1, "availble": true}),
        )
        .await
        .assert_problem(422, "validation_failed");
    t.api(&key)
        .post(
            "/api/v1/deals",
            json!({"name": "x", "kind": "cash", "sell_price": "ten"}),
        )
        .await
        .assert_problem(422, "validation_failed");
    // Dev holds private deals only.
    let body = t
        .api(&key)
        .post(
            "/api/v1/deals",
            json!({"name": "Shared", "kind": "cash", "sell_price": 5, "visibility": "partner"}),
        )
        .await
        .assert_invalid(&["visibility"]);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("dev"));
    assert_eq!(ids(&t.api(&key).get_ok("/api/v1/deals").await).len(), 1);

    // Changes: only what is sent changes; dates can be set and cleared; stores replaced.
    let changed = t
        .api(&key)
        .patch(
            &format!("/api/v1/deals/{deal_id}"),
            json!({
                "name": "Free flat white",
                "available": true,
                "starts_at": "2026-01-01T09:00:00+01:00",
                "ends_at": "2026-12-31T00:00:00Z",
                "store_ids": [store_id],
                "sell_price": 90,
            }),
        )
        .await
        .into_json();
    assert_eq!(changed["name"], "Free flat white");
    assert_eq!(changed["kind"], "voucher");
    assert_eq!(changed["available"], true);
    assert_eq!(changed["starts_at"], "2026-01-01T08:00:00Z");
    assert_eq!(changed["store_ids"], json!([store_id]));
    assert_eq!(changed["sell_price"], 90);
    let res = t
        .api(&key)
        .patch(
            &format!("/api/v1/deals/{deal_id}"),
            json!({"ends_at": "2025-01-01T00:00:00Z", "kind": "nope"}),
        )
        .await;
    res.assert_invalid(&["ends_at", "kind"]);
    let cleared = t
        .api(&key)
        .patch(
            &format!("/api/v1/deals/{deal_id}"),
            json!({"starts_at": null, "description": "One per visit."}),
        )
        .await
        .into_json();
    assert!(cleared["starts_at"].is_null());
    assert_eq!(cleared["ends_at"], "2026-12-31T00:00:00Z");
    assert_eq!(cleared["description"], "One per visit.");
    assert_eq!(cleared["store_ids"], json!([store_id]));

    // Filters and pages.
    for (name, kind, available) in [
        ("Cash back", "cash", false),
        ("Tote bag", "merchandise", true),
        ("Baking class", "meetup", false),
    ] {
        t.api(&key)
            .create(
                "/api/v1/deals",
                json!({"name": name, "kind": kind, "sell_price": 10, "available": available}),
            )
            .await;
    }
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/deals?kind=cash").await).len(),
        1
    );
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/deals?available=true").await).len(),
        2
    );
    assert_eq!(
        ids(&t
            .api(&key)
            .get_ok("/api/v1/deals?available=false&kind=meetup")
            .await)
        .len(),
        1
    );
    assert_eq!(
        ids(&t
            .api(&key)
            .get_ok(&format!("/api/v1/deals?store_id={store_id}"))
            .await),
        vec![deal_id.clone()]
    );
    let found = t.api(&key).get_ok("/api/v1/deals?q=WHITE").await;
    assert_eq!(ids(&found), vec![deal_id.clone()]);
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/deals?q=%25").await).len(),
        0,
        "LIKE wildcards are searched literally"
    );
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/deals?visibility=private").await).len(),
        4
    );
    t.api(&key)
        .get("/api/v1/deals?kind=gift&available=maybe&store_id=x")
        .await
        .assert_invalid(&["kind", "available", "store_id"]);
    let first = t.api(&key).get_ok("/api/v1/deals?limit=3").await;
    assert_eq!(ids(&first).len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = t
        .api(&key)
        .get_ok(&format!("/api/v1/deals?limit=3&cursor={cursor}"))
        .await;
    assert_eq!(ids(&second).len(), 1);
    assert!(second["next_cursor"].is_null());

    // Deleting hides the deal everywhere but keeps its row for the coupons issued from it.
    let res = t
        .api(&key)
        .delete(&format!("/api/v1/deals/{deal_id}"))
        .await;
    assert_eq!(res.status(), 204);
    t.api(&key)
        .get(&format!("/api/v1/deals/{deal_id}"))
        .await
        .assert_problem(404, "not_found");
    t.api(&key)
        .delete(&format!("/api/v1/deals/{deal_id}"))
        .await
        .assert_problem(404, "not_found");
    t.api(&key)
        .patch(&format!("/api/v1/deals/{deal_id}"), json!({"name": "x"}))
        .await
        .assert_problem(404, "not_found");
    assert!(!ids(&t.api(&key).get_ok("/api/v1/deals").await).contains(&deal_id));
    let store = t
        .api(&key)
        .get(&format!("/api/v1/stores/{store_id}"))
        .await
        .into_json();
    assert_eq!(store["deal_ids"], json!([]));
    let mut conn = t.app.db.conn().await.unwrap();
    let row = punchcard_store::query("SELECT deleted_at, available FROM deals WHERE id = $1")
        .bind(&deal_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let deleted_at: Option<punchcard_domain::time::Timestamp> = row.at(0).unwrap();
    let available: bool = row.at(1).unwrap();
    assert!(deleted_at.is_some(), "the row stays, marked deleted");
    assert!(!available);
    drop(conn);
    t.api(&key)
        .get("/api/v1/deals/not-an-id")
        .await
        .assert_problem(404, "not_found");

    // Prod may hold partner deals.
    let prod = t.api_key(&m, Env::Prod).await;
    let partner = t
        .api(&prod)
        .create(
            "/api/v1/deals",
            json!({"name": "Shared", "kind": "cash", "sell_price": 5, "visibility": "partner"}),
        )
        .await;
    assert_eq!(partner["visibility"], "partner");
    assert_eq!(
        ids(&t
            .api(&prod)
            .get_ok("/api/v1/deals?visibility=partner")
            .await),
        vec![partner["id"].as_str().unwrap().to_string()]
    );
    t.stop().await;
}

async fn make_available_deals(t: &TestApp, key: &Key, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let d = t
            .api(key)
            .create(
                "/api/v1/deals",
                json!({"name": format!("Deal {i}"),
                   "kind": "voucher", "sell_price": 10, "available": true}),
            )
            .await;
        out.push(d["id"].as_str().unwrap().to_string());
    }
    out
}

async fn active_deal_cap_holds(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let live = make_available_deals(&t, &key, 10).await;
    let body = t
        .api(&key)
        .post(
            "/api/v1/deals",
            json!({"name": "Eleventh", "kind": "voucher", "sell_price": 10, "available": true}),
        )
        .await
        .assert_problem(422, "limit_reached");
    assert!(body["detail"].as_str().unwrap().contains("10 active deals"));
    // A deal that is not available does not count, but cannot be switched on at the cap.
    let draft = t
        .api(&key)
        .create(
            "/api/v1/deals",
            json!({"name": "Draft", "kind": "voucher", "sell_price": 10}),
        )
        .await;
    let draft_path = format!("/api/v1/deals/{}", draft["id"].as_str().unwrap());
    t.api(&key)
        .patch(&draft_path, json!({"available": true}))
        .await
        .assert_problem(422, "limit_reached");
    // Editing a live deal at the cap is fine; switching one off frees a slot.
    let res = t
        .api(&key)
        .patch(
            &format!("/api/v1/deals/{}", live[0]),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = t
        .api(&key)
        .patch(
            &format!("/api/v1/deals/{}", live[0]),
            json!({"available": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = t
        .api(&key)
        .patch(&draft_path, json!({"available": true}))
        .await;
    assert_eq!(res.status(), 200);
    // Deleting a live deal frees a slot too.
    assert_eq!(
        t.api(&key)
            .delete(&format!("/api/v1/deals/{}", live[1]))
            .await
            .status(),
        204
    );
    t.api(&key)
        .create(
            "/api/v1/deals",
            json!({"name": "Replacement", "kind": "cash", "sell_price": 1, "available": true}),
        )
        .await;
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/deals?available=true").await).len(),
        10
    );
    // Prod has its own, larger cap.
    let prod = t.api_key(&m, Env::Prod).await;
    assert_eq!(make_available_deals(&t, &prod, 11).await.len(), 11);
    t.stop().await;
}

async fn concurrent_creates_stop_at_the_dev_cap(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let api = t.api(&key);
        tasks.push(tokio::spawn(async move {
            api.post(
                "/api/v1/deals",
                json!({"name": format!("Rush {i}"), "kind": "voucher", "sell_price": 5,
                           "available": true}),
            )
            .await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for task in tasks {
        let res = task.await.unwrap();
        match res.status().as_u16() {
            201 => ok += 1,
            422 => {
                assert_eq!(res.into_json()["code"], "limit_reached");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, refused), (10, 40));
    let live = t
        .api(&key)
        .get_ok("/api/v1/deals?available=true&limit=500")
        .await;
    assert_eq!(ids(&live).len(), 10);
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/deals?limit=500").await).len(),
        10
    );
    t.stop().await;
}

async fn offers_codes_caps_and_changes(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let offer = t
        .api(&key)
        .create(
            "/api/v1/offers",
            json!({"code": "first100",
               "name": "100 off your first order", "sell_price": 0, "available": true}),
        )
        .await;
    let offer_id = offer["id"].as_str().unwrap().to_string();
    assert!(offer_id.starts_with("offer_"));
    assert_eq!(offer["code"], "FIRST100");
    assert_eq!(offer["available"], true);
    assert_eq!(offer["prices"][0]["points"], 0);

    t.api(&key)
        .post(
            "/api/v1/offers",
            json!({"code": "First100", "name": "Again", "sell_price": 1}),
        )
        .await
        .assert_invalid(&["code"]);
    t.api(&key)
        .post(
            "/api/v1/offers",
            json!({"code": "50% OFF", "name": "", "sell_price": -1, "ends_at": "soon"}),
        )
        .await
        .assert_invalid(&["code", "name", "sell_price", "ends_at"]);
    t.api(&key)
        .post(
            "/api/v1/offers",
            json!({"code": "A".repeat(33), "name": "Long", "sell_price": 1}),
        )
        .await
        .assert_invalid(&["code"]);

    // The same code is free in the other environment.
    let prod = t.api_key(&m, Env::Prod).await;
    t.api(&prod)
        .create(
            "/api/v1/offers",
            json!({"code": "FIRST100", "name": "Prod twin", "sell_price": 1}),
        )
        .await;

    // Changing to a code another live offer uses is refused; deleting frees the code.
    let second = t
        .api(&key)
        .create(
            "/api/v1/offers",
            json!({"code": "SUMMER", "name": "Summer", "sell_price": 20}),
        )
        .await;
    let second_path = format!("/api/v1/offers/{}", second["id"].as_str().unwrap());
    t.api(&key)
        .patch(&second_path, json!({"code": "first100"}))
        .await
        .assert_invalid(&["code"]);
    let renamed = t
        .api(&key)
        .patch(
            &second_path,
            json!({"code": "summer-24", "description": "Sunny"}),
        )
        .await
        .into_json();
    assert_eq!(renamed["code"], "SUMMER-24");
    assert_eq!(renamed["name"], "Summer");
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/offers?code=summer-24").await),
        vec![second["id"].as_str().unwrap().to_string()]
    );
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/offers?q=first").await),
        vec![offer_id.clone()]
    );
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/offers?available=false").await).len(),
        1
    );
    assert_eq!(
        t.api(&key)
            .delete(&format!("/api/v1/offers/{offer_id}"))
            .await
            .status(),
        204
    );
    t.api(&key)
        .get(&format!("/api/v1/offers/{offer_id}"))
        .await
        .assert_problem(404, "not_found");
    let reused = t
        .api(&key)
        .create(
            "/api/v1/offers",
            json!({"code": "FIRST100", "name": "Back again", "sell_price": 0}),
        )
        .await;
    assert_ne!(reused["id"], offer["id"]);

    // At most 10 available offers in dev.
    for i in 0..10 {
        t.api(&key)
            .create(
                "/api/v1/offers",
                json!({"code": format!("LIVE{i}"),
                   "name": "Live", "sell_price": 1, "available": true}),
            )
            .await;
    }
    t.api(&key)
        .post(
            "/api/v1/offers",
            json!({"code": "LIVE10", "name": "Live", "sell_price": 1, "available": true}),
        )
        .await
        .assert_problem(422, "limit_reached");
    t.api(&key)
        .patch(&second_path, json!({"available": true}))
        .await
        .assert_problem(422, "limit_reached");
    t.stop().await;
}

async fn stores_validation_filters_and_links(t: TestApp) {
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Prod).await;
    let leeds = t
        .api(&key)
        .create("/api/v1/stores", offline_store("Mill Lane", "Leeds"))
        .await;
    let leeds_id = leeds["id"].as_str().unwrap().to_string();
    assert!(leeds_id.starts_with("store_"));
    assert_eq!(leeds["mode"], "offline");
    assert_eq!(leeds["country"], "GB");
    assert_eq!(leeds["postal_code"], "LS1 4AB");
    assert_eq!(leeds["latitude"], 53.7997);
    assert_eq!(leeds["longitude"], -1.5492);
    assert!(leeds["url"].is_null());
    let web = t
        .api(&key)
        .create(
            "/api/v1/stores",
            json!({"name": "Web shop", "mode": "online", "url": "https://shop.example/deals"}),
        )
        .await;
    let web_id = web["id"].as_str().unwrap().to_string();
    assert_eq!(web["url"], "https://shop.example/deals");
    assert!(web["latitude"].is_null());
    assert!(web["city"].is_null());

    t.api(&key)
        .post(
            "/api/v1/stores",
            json!({"name": "Pop-up", "mode": "offline",
               "url": "https://x.example", "latitude": 91}),
        )
        .await
        .assert_invalid(&["url", "address_line", "city", "country", "longitude"]);
    t.api(&key)
        .post(
            "/api/v1/stores",
            json!({"name": "Kiosk", "mode": "kiosk",
               "country": "XX", "latitude": 10, "longitude": 200}),
        )
        .await
        .assert_invalid(&["mode", "country", "longitude"]);
    t.api(&key)
        .post(
            "/api/v1/stores",
            json!({"mode": "online", "url": "not a url"}),
        )
        .await
        .assert_invalid(&["name", "url"]);

    t.api(&key)
        .create("/api/v1/stores", offline_store("Briggate", "leeds"))
        .await;
    t.api(&key)
        .create("/api/v1/stores", offline_store("Deansgate", "Manchester"))
        .await;
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/stores?city=LEEDS").await).len(),
        2
    );
    assert_eq!(
        ids(&t.api(&key).get_ok("/api/v1/stores?mode=online").await),
        vec![web_id.clone()]
    );
    assert_eq!(
        ids(&t
            .api(&key)
            .get_ok("/api/v1/stores?q=gate&mode=offline")
            .await)
        .len(),
        2
    );
    t.api(&key)
        .get("/api/v1/stores?mode=kiosk")
        .await
        .assert_invalid(&["mode"]);

    // Changes: clearing the location, moving online (the address may stay).
    let changed = t
        .api(&key)
        .patch(
            &format!("/api/v1/stores/{leeds_id}"),
            json!({"latitude": null, "longitude": null, "name": "Mill Lane Bakery"}),
        )
        .await
        .into_json();
    assert!(changed["latitude"].is_null());
    assert_eq!(changed["name"], "Mill Lane Bakery");
    assert_eq!(changed["city"], "Leeds");
    t.api(&key)
        .patch(
            &format!("/api/v1/stores/{leeds_id}"),
            json!({"city": null, "latitude": 10}),
        )
        .await
        .assert_invalid(&["city", "longitude"]);

    // The deals and offers a store carries are listed on it, live ones only.
    let deal = t
        .api(&key)
        .create(
            "/api/v1/deals",
            json!({"name": "Loaf",
               "kind": "merchandise", "sell_price": 30, "store_ids": [leeds_id, web_id]}),
        )
        .await;
    let offer = t
        .api(&key)
        .create(
            "/api/v1/offers",
            json!({"code": "BREAD", "name": "Bread", "sell_price": 3, "store_ids": [web_id]}),
        )
        .await;
    let mut deal_stores: Vec<String> = deal["store_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    deal_stores.sort();
    let mut expected = vec![leeds_id.clone(), web_id.clone()];
    expected.sort();
    assert_eq!(deal_stores, expected);
    let web = t
        .api(&key)
        .get(&format!("/api/v1/stores/{web_id}"))
        .await
        .into_json();
    assert_eq!(web["deal_ids"], json!([deal["id"]]));
    assert_eq!(web["offer_ids"], json!([offer["id"]]));
    assert_eq!(
        ids(&t
            .api(&key)
            .get_ok(&format!("/api/v1/offers?store_id={web_id}"))
            .await),
        vec![offer["id"].as_str().unwrap().to_string()]
    );

    // Deleting a store detaches it.
    assert_eq!(
        t.api(&key)
            .delete(&format!("/api/v1/stores/{web_id}"))
            .await
            .status(),
        204
    );
    let deal = t
        .api(&key)
        .get(&format!("/api/v1/deals/{}", deal["id"].as_str().unwrap()))
        .await
        .into_json();
    assert_eq!(deal["store_ids"], json!([leeds_id]));
    let offer = t
        .api(&key)
        .get(&format!("/api/v1/offers/{}", offer["id"].as_str().unwrap()))
        .await
        .into_json();
    assert_eq!(offer["store_ids"], json!([]));
    t.api(&key)
        .get(&format!("/api/v1/stores/{web_id}"))
        .await
        .assert_problem(404, "not_found");
    // A deleted store cannot be attached.
    t.api(&key)
        .patch(
            &format!("/api/v1/deals/{}", deal["id"].as_str().unwrap()),
            json!({"store_ids": [web_id]}),
        )
        .await
        .assert_invalid(&["store_ids"]);

    // At most 100 stores per environment.
    let mut have = ids(&t.api(&key).get_ok("/api/v1/stores").await).len();
    while have < 100 {
        t.app
            .create_item::<Stores>(
                &m,
                Env::Prod,
                &punchcard_app::stores::StoreDraft {
                    name: format!("Branch {have}"),
                    mode: "online".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        have += 1;
    }
    t.api(&key)
        .post(
            "/api/v1/stores",
            json!({"name": "One more", "mode": "online"}),
        )
        .await
        .assert_problem(422, "limit_reached");
    t.stop().await;
}

/// One of each resource of merchant `m` in `env`, with an image each: (deal, offer, store).
async fn one_of_each(t: &TestApp, key: &Key) -> (String, String, String) {
    let store = t
        .api(key)
        .create("/api/v1/stores", offline_store("Own", "York"))
        .await;
    let store_id = store["id"].as_str().unwrap().to_string();
    let deal = t
        .api(key)
        .create(
            "/api/v1/deals",
            json!({"name": "Own deal", "kind": "cash", "sell_price": 1, "store_ids": [store_id]}),
        )
        .await;
    let offer = t
        .api(key)
        .create(
            "/api/v1/offers",
            json!({"code": "OWN", "name": "Own offer", "sell_price": 1}),
        )
        .await;
    (
        deal["id"].as_str().unwrap().to_string(),
        offer["id"].as_str().unwrap().to_string(),
        store_id,
    )
}

async fn upload(t: &TestApp, key: &Key, path: &str, name: &str, bytes: Vec<u8>) -> ApiResponse {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    t.api(key).upload(path, form).await
}

async fn other_merchants_and_envs_see_nothing(t: TestApp) {
    let a = t.active_merchant("Alpha").await;
    let b = t.active_merchant("Beta").await;
    let a_dev = t.api_key(&a, Env::Dev).await;
    let a_prod = t.api_key(&a, Env::Prod).await;
    let b_dev = t.api_key(&b, Env::Dev).await;
    let (deal, offer, store) = one_of_each(&t, &a_dev).await;
    let image = upload(
        &t,
        &a_dev,
        &format!("/api/v1/deals/{deal}/images"),
        "a.png",
        PNG.to_vec(),
    )
    .await
    .into_json();
    let image_url = image["url"].as_str().unwrap().to_string();
    assert_eq!(t.api(&a_dev).get_raw(&image_url).await.status(), 200);

    for stranger in [&a_prod, &b_dev] {
        for (collection, id) in [("deals", &deal), ("offers", &offer), ("stores", &store)] {
            let path = format!("/api/v1/{collection}/{id}");
            t.api(stranger)
                .get(&path)
                .await
                .assert_problem(404, "not_found");
            t.api(stranger)
                .patch(&path, json!({"name": "Taken over"}))
                .await
                .assert_problem(404, "not_found");
            t.api(stranger)
                .delete(&path)
                .await
                .assert_problem(404, "not_found");
            upload(
                &t,
                stranger,
                &format!("{path}/images"),
                "x.png",
                PNG.to_vec(),
            )
            .await
            .assert_problem(404, "not_found");
            let listed = t
                .api(stranger)
                .get_ok(&format!("/api/v1/{collection}"))
                .await;
            assert!(
                ids(&listed).is_empty(),
                "{collection} leak into another tenant's list"
            );
        }
        t.api(stranger)
            .get(&image_url)
            .await
            .assert_problem(404, "not_found");
        t.api(stranger)
            .delete(&image_url)
            .await
            .assert_problem(404, "not_found");
        // Another tenant's store can be neither filtered on nor attached.
        assert!(ids(&t
            .api(stranger)
            .get_ok(&format!("/api/v1/deals?store_id={store}"))
            .await)
        .is_empty());
        t.api(stranger)
            .post(
                "/api/v1/deals",
                json!({"name": "Mine", "kind": "cash", "sell_price": 1, "store_ids": [store]}),
            )
            .await
            .assert_invalid(&["store_ids"]);
    }
    // Nothing changed for the owner.
    let d = t
        .api(&a_dev)
        .get(&format!("/api/v1/deals/{deal}"))
        .await
        .into_json();
    assert_eq!(d["name"], "Own deal");
    assert_eq!(d["images"].as_array().unwrap().len(), 1);
    assert_eq!(d["store_ids"], json!([store]));
    t.stop().await;
}

async fn images_are_checked_capped_served_and_removed(t: TestApp) {
    let m: MerchantId = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let (deal, offer, store) = one_of_each(&t, &key).await;
    let path = format!("/api/v1/deals/{deal}/images");

    // Wrong type (by content, whatever the name) and too big are refused.
    let body = upload(&t, &key, &path, "photo.png", b"just some text".to_vec())
        .await
        .assert_invalid(&["file"]);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("PNG, JPEG, WebP or GIF"));
    upload(&t, &key, &path, "doc.pdf", b"%PDF-1.4\n%%EOF".to_vec())
        .await
        .assert_invalid(&["file"]);
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let body = upload(&t, &key, &path, "big.png", big)
        .await
        .assert_invalid(&["file"]);
    assert_eq!(body["errors"][0]["message"], "must be at most 5 MiB");
    t.api(&key)
        .upload(&path, Form::new().text("note", "no file"))
        .await
        .assert_invalid(&["file"]);
    let res = t.api(&key).post(&path, json!({"file": "x"})).await;
    assert_eq!(res.status(), 415);

    // Three images of the accepted kinds, then the fourth is refused.
    let mut urls = Vec::new();
    for (name, bytes, kind) in [
        ("a.png", PNG, "image/png"),
        ("b.gif", GIF, "image/gif"),
        ("c.webp", WEBP, "image/webp"),
    ] {
        let res = upload(&t, &key, &path, name, bytes.to_vec()).await;
        assert_eq!(res.status(), 201);
        let image = res.into_json();
        assert_eq!(image["content_type"], kind);
        assert_eq!(image["name"], name);
        assert_eq!(image["size_bytes"], bytes.len());
        urls.push(image["url"].as_str().unwrap().to_string());
    }
    let body = upload(&t, &key, &path, "d.jpg", JPEG.to_vec())
        .await
        .assert_problem(422, "limit_reached");
    assert!(body["detail"].as_str().unwrap().contains("3 images"));
    let d = t
        .api(&key)
        .get(&format!("/api/v1/deals/{deal}"))
        .await
        .into_json();
    assert_eq!(d["images"].as_array().unwrap().len(), 3);

    // Served with their type; removable, which frees a slot.
    let res = t.api(&key).get_raw(&urls[1]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/gif");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().as_ref(), GIF);
    assert_eq!(t.api(&key).delete(&urls[1]).await.status(), 204);
    t.api(&key)
        .get(&urls[1])
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        upload(&t, &key, &path, "d.jpg", JPEG.to_vec())
            .await
            .status(),
        201
    );
    // An image id under another parent is not found.
    let wrong = urls[0]
        .replace(&deal, &offer)
        .replace("/deals/", "/offers/");
    t.api(&key)
        .get(&wrong)
        .await
        .assert_problem(404, "not_found");

    // Offers and stores take images the same way.
    for p in [
        format!("/api/v1/offers/{offer}/images"),
        format!("/api/v1/stores/{store}/images"),
    ] {
        assert_eq!(
            upload(&t, &key, &p, "x.jpg", JPEG.to_vec()).await.status(),
            201
        );
        upload(&t, &key, &p, "x.txt", b"hello".to_vec())
            .await
            .assert_invalid(&["file"]);
    }
    let s = t
        .api(&key)
        .get(&format!("/api/v1/stores/{store}"))
        .await
        .into_json();
    assert_eq!(s["images"][0]["content_type"], "image/jpeg");
    assert!(s["images"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/api/v1/stores/{store}/images/upl_")));
    // A deleted deal's images are out of reach.
    assert_eq!(
        t.api(&key)
            .delete(&format!("/api/v1/deals/{deal}"))
            .await
            .status(),
        204
    );
    t.api(&key)
        .get(&urls[0])
        .await
        .assert_problem(404, "not_found");
    t.stop().await;
}

async fn the_openapi_document_describes_the_catalog(t: TestApp) {
    let spec = t.get_json("/api/v1/openapi.json").await.into_json();
    for collection in ["deals", "offers", "stores"] {
        let base = format!("/api/v1/{collection}");
        let paths = &spec["paths"];
        assert!(paths[&base]["get"].is_object(), "{base} get");
        assert!(
            paths[&base]["post"]["requestBody"].is_object(),
            "{base} post"
        );
        let one = format!("{base}/{{id}}");
        for m in ["get", "patch", "delete"] {
            assert!(paths[&one][m].is_object(), "{one} {m}");
        }
        assert!(paths[&one]["patch"]["requestBody"].is_object());
        assert!(
            paths[&format!("{one}/images")]["post"]["requestBody"]["content"]
                ["multipart/form-data"]
                .is_object()
        );
        assert!(paths[&format!("{one}/images/{{image_id}}")]["delete"].is_object());
    }
    let schemas = &spec["components"]["schemas"];
    for name in [
        "Deal",
        "NewDeal",
        "DealChanges",
        "Offer",
        "NewOffer",
        "OfferChanges",
        "Store",
        "NewStore",
        "StoreChanges",
        "CurrencyPrice",
        "Image",
    ] {
        assert!(schemas[name].is_object(), "schema {name}");
    }
    let required = schemas["NewDeal"]["required"].to_string();
    for f in ["name", "kind", "sell_price"] {
        assert!(required.contains(f), "NewDeal requires {f}: {required}");
    }
    let params = spec["paths"]["/api/v1/deals"]["get"]["parameters"].to_string();
    for p in [
        "kind",
        "available",
        "visibility",
        "store_id",
        "q",
        "limit",
        "cursor",
    ] {
        assert!(
            params.contains(&format!("\"{p}\"")),
            "deal list parameter {p}"
        );
    }
    t.stop().await;
}

on_both_backends!(
    deals_crud_validation_and_prices,
    active_deal_cap_holds,
    concurrent_creates_stop_at_the_dev_cap,
    offers_codes_caps_and_changes,
    stores_validation_filters_and_links,
    other_merchants_and_envs_see_nothing,
    images_are_checked_capped_served_and_removed,
    the_openapi_document_describes_the_catalog,
);
