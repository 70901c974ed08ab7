//! The partner app and the member page in headless Chromium on a phone-sized screen, with the
//! camera filming a QR code (Chromium's fake capture device playing a video made here): staff
//! sign in and use each option, a scanned coupon is marked used (read by the browser's
//! `BarcodeDetector`, which Linux Chromium lacks, so the test gives it one backed by jsQR), a
//! scanned card is given points (frames read on the server), and a customer's phone claims a displayed code from
//! the member page, which shows the balance, coupons with their QR codes, task progress and a
//! surprise claimed, and a message staff sent.

use std::path::PathBuf;

use serde_json::json;

use crate::browser_support::{mail_files, qr_barcode_detector, qr_video, wait_for_code, Browser};
use crate::common::dashboard::PASSWORD;
use crate::common::{Backend, TestApp};
use crate::partner::{deal, grant, shop, staff_of, store};

on_both_backends!(staff_and_customers_use_their_phones);

/// Signs `email` in through the sign-in pages; staff land in the partner app.
async fn sign_in(b: &Browser, t: &TestApp, email: &str) {
    b.open("/dashboard/login").await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    let before = mail_files(&t.mail_dir);
    b.click("Continue").await;
    b.wait_path("/dashboard/login/verify").await;
    let code = wait_for_code(&t.mail_dir, &before).await;
    b.fill("#code", &code).await;
    b.click("Sign in").await;
    b.wait_path("/partner").await;
}

/// Camera frames the server was asked to read so far (from its request metrics).
async fn frames_posted(t: &TestApp) -> u64 {
    let metrics = t
        .client
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("punchcard_http_requests_total{")
                && l.contains("route=\"/partner/scan/frame\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

fn video(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, qr_video(text)).unwrap();
    path
}

async fn staff_and_customers_use_their_phones(t: TestApp) {
    let shots = t.backend == Backend::Sqlite;
    let s = shop(&t, "Harbour Coffee").await;
    let harbour = store(&s, &t, "Harbour Street").await;
    grant(&s, &t, "Coffee stamp", 10).await;
    let cake = deal(&s, &t, "Free cake", &["CAKE-1", "CAKE-2"]).await;
    let tea = deal(&s, &t, "Free tea", &["TEA-1"]).await;
    let api = t.api(&s.key);
    let (lead, wallet) = api.lead_with_wallet("cust-ana", &s.currency).await;
    api.create(
        "/api/v1/wallet_transactions",
        json!({"wallet_id": wallet, "kind": "reward", "amount": 40, "hash": "welcome"}),
    )
    .await;
    let cake_coupon = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": cake, "lead_id": lead, "hash": "cake-ana", "mode": "reward"}),
        )
        .await;
    api.create(
        "/api/v1/coupons",
        json!({"deal_id": tea, "lead_id": lead, "hash": "tea-ana", "mode": "reward"}),
    )
    .await;
    let task = api
        .create(
            "/api/v1/tasks",
            json!({"name": "Three visits", "reward": "points", "currency_id": s.currency,
                   "count": 3, "min_reward": 5, "period": "week"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.create(
        "/api/v1/task_activities",
        json!({"task_id": task, "lead_id": lead, "hash": "visit-1"}),
    )
    .await;
    let today = punchcard_domain::time::Timestamp::now().to_rfc3339()[..10].to_string();
    api.create(
        "/api/v1/surprises",
        json!({"name": "Birthday week treat", "type": "custom", "date": today, "count": 1,
               "deal_id": cake}),
    )
    .await;
    let member = api
        .post(&format!("/api/v1/leads/{lead}/member_link"), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let id_token = api.get_ok(&format!("/api/v1/leads/{lead}/id_token")).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, staff_id) = staff_of(&t, &s.m).await;
    let staff_email = t
        .app
        .list_members(&s.m)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == staff_id)
        .unwrap()
        .email
        .to_string();
    t.app
        .set_member_stores(&s.m, staff_id.as_str(), std::slice::from_ref(&harbour))
        .await
        .unwrap();
    let videos = tempfile::tempdir().unwrap();
    let Some(barcode_detector) = qr_barcode_detector() else {
        return;
    };

    // A counter whose camera films the cake coupon: scanned with the browser's
    // BarcodeDetector, shown, marked used.
    let coupon_video = video(
        videos.path(),
        "coupon.y4m",
        cake_coupon["qr_token"].as_str().unwrap(),
    );
    let Some(b) = Browser::launch_with_camera(&t.base, &coupon_video).await else {
        return;
    };
    b.run_on_every_page(&barcode_detector).await;
    b.phone(390, 844).await;
    sign_in(&b, &t, &staff_email).await;
    b.wait_text("What do you want to do?").await;
    b.wait_text("Harbour Street").await;
    b.assert_fits_screen(390).await;
    if shots {
        b.screenshot_phone("partner-01-home", 390, 844).await;
    }
    b.open("/partner/scan").await;
    b.wait_path("/partner/code").await;
    b.wait_text("Free cake").await;
    b.wait_text("cust-ana").await;
    // The page's detector read the code: not one frame went to the server.
    let reads = b
        .client
        .execute(
            "return sessionStorage.getItem('barcode-detector-reads');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(reads, "1", "the BarcodeDetector read the coupon");
    assert_eq!(frames_posted(&t).await, 0, "no frame was posted");
    if shots {
        b.screenshot_phone("partner-02-scanned-coupon", 390, 844)
            .await;
    }
    b.click("Mark as used").await;
    b.wait_text("Coupon used").await;
    b.wait_text("Hand over the reward").await;
    let coupon = api
        .get_ok(&format!(
            "/api/v1/coupons/{}",
            cake_coupon["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(coupon["status"], "used");
    if shots {
        b.screenshot_phone("partner-03-coupon-used", 390, 844).await;
    }

    // Enter code ID: the tea coupon by its code and the customer id.
    b.open("/partner/enter").await;
    b.fill("#code", "TEA-1").await;
    b.fill("#customer_id", "cust-nobody").await;
    b.click("Mark the coupon used").await;
    b.wait_text("No lead has this customer id").await;
    b.fill("#customer_id", "cust-ana").await;
    b.click("Mark the coupon used").await;
    b.wait_text("Free tea for cust-ana").await;

    // Display code: a grant to claim, shown as a QR code for two minutes.
    b.open("/partner/display").await;
    b.click("Coffee stamp · 10 Points").await;
    b.wait_text("seconds left").await;
    let claim_token = b
        .find("[data-claim-qr]")
        .await
        .attr("data-token")
        .await
        .unwrap()
        .expect("the displayed token");
    let shown_at = b.path().await;
    if shots {
        b.screenshot_phone("partner-04-display", 390, 844).await;
    }
    // The store's join code, and the analytics.
    b.open("/partner/join-code").await;
    b.wait_text("Join us").await;
    b.find("[data-join-url]").await;
    b.open("/partner/analytics").await;
    b.wait_text("Coupons used").await;
    b.find("#chart-counter").await;
    b.assert_fits_screen(390).await;
    if shots {
        b.screenshot_phone("partner-05-analytics", 390, 844).await;
    }
    // A message to the store's customers (the customer was served here).
    b.open("/partner/messages").await;
    b.fill("#msg-text", "Fresh croissants today").await;
    b.click("Send").await;
    b.wait_text("Sent: it reaches your customers").await;
    b.wait_text("Fresh croissants today").await;
    b.assert_fits_screen(390).await;
    if shots {
        b.screenshot_phone("partner-07-messages", 390, 844).await;
    }
    b.quit().await;

    // Another counter films the customer's card; its frames are read by the server.
    let card_video = video(videos.path(), "card.y4m", &id_token);
    let Some(b) = Browser::launch_with_camera(&t.base, &card_video).await else {
        return;
    };
    b.phone(390, 844).await;
    sign_in(&b, &t, &staff_email).await;
    b.open("/partner/scan?decoder=server").await;
    b.wait_path("/partner/code").await;
    b.wait_text("Customer").await;
    b.wait_text("40").await;
    if shots {
        b.screenshot_phone("partner-06-scanned-card", 390, 844)
            .await;
    }
    b.click("Coffee stamp · 10 Points").await;
    b.wait_text("New balance: 50 points").await;
    assert!(
        frames_posted(&t).await > 0,
        "the server read the card's frames"
    );
    b.quit().await;

    // The customer's phone: the card, then the displayed code claimed with its camera.
    let claim_video = video(videos.path(), "claim.y4m", &claim_token);
    let Some(b) = Browser::launch_with_camera(&t.base, &claim_video).await else {
        return;
    };
    b.phone(390, 844).await;
    b.open(&format!("/m/{member}")).await;
    b.wait_text("Your points").await;
    b.wait_text("50").await;
    b.wait_text("1 of 3").await;
    b.assert_fits_screen(390).await;
    b.click("Surprise me").await;
    b.wait_text("Surprise!").await;
    b.wait_text("CAKE-2").await;
    b.find(".member-coupon .qr svg").await;
    b.click("Scan a code").await;
    b.wait_text("Claimed! It is on your card now.").await;
    b.wait_text("60").await;
    b.wait_text("Fresh croissants today").await;
    if shots {
        b.screenshot_phone("member-01-card", 390, 844).await;
    }
    b.quit().await;

    // The counter's screen learns it was claimed.
    let claim_id = shown_at.rsplit('/').next().unwrap().to_string();
    let view = t
        .app
        .claim_view(
            &punchcard_app::ledger::Scope::new(&s.m, punchcard_domain::Env::Prod),
            &claim_id,
        )
        .await
        .unwrap();
    assert!(view.claim.claimed_at.is_some());
    t.stop().await;
}
