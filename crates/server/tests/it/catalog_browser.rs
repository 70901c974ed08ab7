//! The catalog pages in headless Chromium, used as a merchant would: add a store, create a
//! live deal attached to it with an image, switch it off from the list, filter, add an offer,
//! and check that every catalog page fits a phone screen.

use crate::browser_support::{mail_files, wait_for_code, Browser};
use crate::common::{Backend, TestApp};
use fantoccini::Locator;
use punchcard_app::deals::Deals;
use punchcard_app::merchants::NewMerchant;
use punchcard_domain::Env;

const PASSWORD: &str = "Espresso-Tonic-42";
/// A valid 4x4 orange PNG, so the browser can draw the thumbnail.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09,
    0x29, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x38, 0x51, 0xa1, 0x01,
    0x47, 0x0c, 0xc4, 0x71, 0x00, 0x53, 0x52, 0x16, 0x81, 0xf1, 0xab, 0xa1, 0x40, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

on_both_backends!(a_merchant_builds_the_catalog);

async fn sign_in(t: &TestApp, b: &Browser, email: &str) {
    b.open("/dashboard/login").await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    let before = mail_files(&t.mail_dir);
    b.click("Continue").await;
    b.wait_path("/dashboard/login/verify").await;
    let code = wait_for_code(&t.mail_dir, &before).await;
    b.fill("#code", &code).await;
    b.click("Sign in").await;
    b.wait_path("/dashboard").await;
}

async fn a_merchant_builds_the_catalog(t: TestApp) {
    let Some(b) = Browser::launch(&t.base).await else {
        return;
    };
    let shots = t.backend == Backend::Sqlite;
    let email = format!(
        "owner-{}@bakery.example",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let (m, _) = t
        .app
        .create_merchant(NewMerchant::parse("Corner Bakery", &email, PASSWORD, true).unwrap())
        .await
        .unwrap();
    t.app
        .create_currency(&m, "PTS", "Points", "0.5")
        .await
        .unwrap();
    sign_in(&t, &b, &email).await;

    // A store first.
    b.click_link("Stores").await;
    b.wait_path("/dashboard/stores").await;
    b.wait_text("No stores in PROD yet").await;
    b.click("Create store").await;
    b.wait_path("/dashboard/stores/new").await;
    b.fill("#name", "Mill Lane").await;
    b.fill("#address_line", "12 Mill Lane").await;
    b.fill("#city", "Leeds").await;
    b.fill("#country", "gb").await;
    b.click("Create store").await;
    b.wait_text("Store created.").await;

    // A deal, live at once, carried by the store.
    b.click_link("Deals").await;
    b.wait_path("/dashboard/deals").await;
    b.click("Create deal").await;
    b.wait_path("/dashboard/deals/new").await;
    b.fill("#name", "Free flat white").await;
    b.select("#kind", "voucher").await;
    b.fill("#sell_price", "75").await;
    b.client
        .find(Locator::XPath("//label[contains(., 'Mill Lane')]/input"))
        .await
        .expect("the store's checkbox")
        .click()
        .await
        .expect("tick the store");
    b.client
        .find(Locator::Css("input[name=available]"))
        .await
        .expect("the available box")
        .click()
        .await
        .expect("tick available");
    b.click("Create deal").await;
    b.wait_text("Deal created; it is live now.").await;
    b.wait_text("150 PTS").await;
    let deal_path = b.path().await;
    assert!(
        deal_path.starts_with("/dashboard/deals/deal_"),
        "{deal_path}"
    );

    // An image, chosen like a person would.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flat-white.png");
    std::fs::write(&file, PNG).unwrap();
    b.find("#file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .expect("choose the file");
    b.click("Upload").await;
    b.wait_text("Uploaded flat-white.png.").await;
    b.find(".thumb img").await;
    // The thumbnail is served to the page and drawn (decoded at its real size).
    let mut drawn = 0;
    for _ in 0..50 {
        drawn = b
            .client
            .execute(
                "const i = document.querySelector('.thumb img'); return i.complete ? i.naturalWidth : 0;",
                vec![],
            )
            .await
            .expect("measure the image")
            .as_u64()
            .unwrap_or(0);
        if drawn > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(drawn, 4, "the thumbnail loads");
    if shots {
        b.screenshot_full("20-deal-edit").await;
    }

    // Switched off from the list, then found with the filter.
    b.click_link("Deals").await;
    b.wait_path("/dashboard/deals").await;
    b.wait_text("1 of 100").await;
    b.click("On").await;
    b.wait_text("Free flat white is switched off.").await;
    b.wait_text("0 of 100").await;
    b.find("details.filters summary")
        .await
        .click()
        .await
        .expect("open the filters");
    b.fill("#f-q", "flat").await;
    b.select("#f-available", "false").await;
    b.click("Filter").await;
    b.wait_text("Clear").await;
    assert!(b.text().await.contains("Free flat white"));
    if shots {
        b.screenshot_full("21-deals").await;
    }
    let deal = t
        .app
        .list_items::<Deals>(&m, Env::Prod, &Default::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(deal.len(), 1);
    assert!(!deal[0].row.available);
    assert_eq!(deal[0].links.len(), 1);
    assert_eq!(deal[0].images.len(), 1);

    // An offer.
    b.click_link("Offers").await;
    b.click("Create offer").await;
    b.wait_path("/dashboard/offers/new").await;
    b.fill("#code", "first100").await;
    b.fill("#name", "100 off your first order").await;
    b.fill("#sell_price", "0").await;
    b.click("Create offer").await;
    b.wait_text("Offer created.").await;
    b.click_link("Offers").await;
    b.wait_text("FIRST100").await;

    // Every catalog page fits a phone.
    let store_path = {
        b.click_link("Stores").await;
        b.wait_path("/dashboard/stores").await;
        b.click_link("Mill Lane").await;
        b.wait_text("Deals and offers here").await;
        b.wait_text("Free flat white").await;
        b.path().await
    };
    for width in [360, 390] {
        b.phone(width, 844).await;
        for page in [
            "/dashboard/deals",
            "/dashboard/deals/new",
            deal_path.as_str(),
            "/dashboard/offers",
            "/dashboard/offers/new",
            "/dashboard/stores",
            "/dashboard/stores/new",
            store_path.as_str(),
        ] {
            b.open(page).await;
            b.wait_path(page).await;
            b.assert_fits_screen(width).await;
        }
    }
    if shots {
        b.open("/dashboard/deals").await;
        b.screenshot_phone("22-deals-phone", 390, 844).await;
    }
    b.desktop().await;
    b.quit().await;
    t.stop().await;
}
