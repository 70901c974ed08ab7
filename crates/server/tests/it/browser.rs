//! The dashboard in headless Chromium, walked as a merchant would: sign up with an emailed
//! code, fill in KYC with a document, get approved, switch environments, create an API key,
//! restrict IPs, create a lead with a wallet and reward it, upload coupon codes and see the
//! stock, sign out and in again, then report a sign-in and find the account frozen.
//! Screenshots of the main pages land in `target/screenshots/`.

use punchcard_app::deals::Deals;
use std::time::Duration;

use crate::browser_support::{mail_files, tiny_pdf, wait_for_code, Browser};
use crate::common::{Backend, TestApp};
use fantoccini::Locator;
use punchcard_domain::accounts::MerchantStatus;
use punchcard_domain::{Env, MerchantId};

const EMAIL: &str = "owner@bean-and-leaf.example";
const PASSWORD: &str = "Espresso-Tonic-42";
const BUSINESS: &str = "Bean & Leaf Coffee";

on_both_backends!(a_merchant_walks_the_dashboard);

async fn a_merchant_walks_the_dashboard(t: TestApp) {
    let Some(b) = Browser::launch(&t.base).await else {
        return;
    };
    // One set of screenshots is enough; the SQLite run takes them.
    let shots = t.backend == Backend::Sqlite;
    let shot = |name: &'static str| {
        let b = &b;
        async move {
            if shots {
                b.screenshot_full(name).await;
            }
        }
    };

    // Sign up: email and password, then the code from the email.
    b.open("/dashboard/signup").await;
    b.wait_text("Create your account").await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", "short").await;
    b.click("Send code").await;
    // A weak password is refused next to its field.
    b.find(".field.has-error #password").await;
    b.open("/dashboard/signup").await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", PASSWORD).await;
    b.fill("#business_name", BUSINESS).await;
    shot("01-sign-up").await;
    let before = mail_files(&t.mail_dir);
    b.click("Send code").await;
    b.wait_path("/dashboard/signup/verify").await;
    b.wait_text(EMAIL).await;
    shot("02-code").await;
    let code = wait_for_code(&t.mail_dir, &before).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.fill("#code", wrong).await;
    b.click("Register").await;
    b.wait_text("wrong code").await;
    b.fill("#code", &code).await;
    b.click("Register").await;

    // Signed in, but only the profile works until KYC is approved.
    b.wait_path("/dashboard/profile").await;
    b.wait_text("Activate your account").await;
    b.wait_text(BUSINESS).await;
    b.open("/dashboard/api-keys").await;
    b.wait_path("/dashboard/profile").await;

    // KYC details: an empty form is refused field by field, a complete one is saved.
    b.click("Fill in").await;
    b.wait_path("/dashboard/profile/edit").await;
    b.click("Save details").await;
    b.wait_text("Some fields need attention").await;
    b.wait_text("Legal business name is required").await;
    b.fill("#legal_name", "Bean and Leaf Coffee Ltd").await;
    b.select("#business_type", "company").await;
    b.fill("#registration_number", "09876543").await;
    b.fill("#website", "https://bean-and-leaf.example").await;
    b.fill("#phone", "+44 20 7946 0958").await;
    b.fill("#address_line", "12 Roastery Lane").await;
    b.fill("#city", "London").await;
    b.fill("#postal_code", "E1 6AN").await;
    b.fill("#country", "GB").await;
    b.fill("#contact_person", "Ada Brewer").await;
    b.click("Save details").await;
    b.wait_path("/dashboard/profile").await;
    b.wait_text("KYC details saved.").await;
    b.wait_text("Bean and Leaf Coffee Ltd").await;

    // A document, uploaded through the file input.
    let pdf = t.dir.path().join("certificate-of-registration.pdf");
    std::fs::write(&pdf, tiny_pdf()).expect("write PDF");
    b.find("#file")
        .await
        .send_keys(pdf.to_str().expect("UTF-8 path"))
        .await
        .expect("choose the file");
    b.click("Upload").await;
    b.wait_text("Uploaded certificate-of-registration.pdf")
        .await;
    b.wait_text("(1 of 3)").await;
    shot("03-profile-kyc").await;

    b.click("Submit KYC").await;
    b.wait_text("KYC submitted.").await;
    b.wait_text("Submitted, awaiting review").await;
    assert!(
        b.client
            .find(Locator::XPath("//button[normalize-space()='Submit KYC']"))
            .await
            .is_err(),
        "a submitted KYC cannot be submitted again"
    );
    shot("04-profile-submitted").await;

    // The operator approves it.
    let merchant = only_merchant(&t, MerchantStatus::KycSubmitted).await;
    t.app.activate_merchant(&merchant).await.expect("activate");

    // The whole dashboard opens; the header names the merchant and carries the env toggle.
    b.open("/dashboard").await;
    b.wait_path("/dashboard").await;
    b.wait_text("Overview").await;
    let header = b.find("header.topbar").await.text().await.unwrap();
    assert!(
        header.contains(BUSINESS),
        "the header names the merchant: {header}"
    );
    assert!(
        header.contains(EMAIL),
        "the header names the member: {header}"
    );
    let first_env = env_label(&b).await;
    assert!(
        first_env == "PROD" || first_env == "DEV",
        "env toggle shows {first_env}"
    );
    shot("05-overview").await;

    // Toggle the environment and back: the header and the page follow.
    b.find(".env-toggle button")
        .await
        .click()
        .await
        .expect("toggle env");
    let other = if first_env == "PROD" { "DEV" } else { "PROD" };
    wait_for_env(&b, other).await;
    b.wait_path("/dashboard").await;
    if other == "DEV" {
        b.wait_text("DEV environment").await;
        shot("06-overview-dev").await;
    }
    b.find(".env-toggle button")
        .await
        .click()
        .await
        .expect("toggle env back");
    wait_for_env(&b, &first_env).await;
    let env: Env = first_env.to_ascii_lowercase().parse().expect("env");

    // An API key: its secret shows once, on the answer to the form, and never again.
    b.click_link("API keys").await;
    b.wait_path("/dashboard/api-keys").await;
    b.fill("#name", "Web shop").await;
    b.click("Create key").await;
    b.wait_text("API key created").await;
    let key_id = b
        .find("#key-id")
        .await
        .prop("value")
        .await
        .unwrap()
        .expect("key id");
    let secret = b
        .find("#key-secret")
        .await
        .prop("value")
        .await
        .unwrap()
        .expect("secret");
    assert!(secret.len() >= 24, "a long secret: {secret}");
    shot("07-api-key-created").await;
    let key = (key_id.clone(), secret.clone());
    let res = t.api(&key).get("/api/v1/currencies").await;
    assert_eq!(res.status(), 200, "the new key works: {}", res.json());

    b.click("I have copied the secret").await;
    b.wait_path("/dashboard/api-keys").await;
    b.wait_text("Web shop").await;
    b.wait_text(&key_id).await;
    assert!(
        !b.source().await.contains(&secret),
        "the secret is not on the list"
    );
    b.client.refresh().await.expect("reload");
    b.wait_text("Web shop").await;
    assert!(
        !b.source().await.contains(&secret),
        "the secret is gone after a reload"
    );
    b.client
        .find(Locator::Css(&format!(
            "a[href='/dashboard/api-keys/{key_id}']"
        )))
        .await
        .expect("a link to the key")
        .click()
        .await
        .expect("open the key");
    b.wait_path(&format!("/dashboard/api-keys/{key_id}")).await;
    assert!(
        !b.source().await.contains(&secret),
        "the key's page never shows the secret"
    );
    b.click_link("API keys").await;
    b.wait_path("/dashboard/api-keys").await;
    shot("08-api-keys").await;

    // Allowed IPs: the dashboard from this machine only, the API from loopback.
    b.click_link("Allowed IPs").await;
    b.wait_path("/dashboard/allowed-ips").await;
    b.wait_text("No restrictions").await;
    b.select("#source", "dashboard").await;
    b.fill("#ip", "127.0.0.1").await;
    b.click("Add").await;
    b.wait_path("/dashboard/allowed-ips").await;
    b.wait_text("allowed for the dashboard").await;
    b.select("#source", "api").await;
    b.fill("#ip", "127.0.0.0/8").await;
    b.click("Add").await;
    b.wait_text("allowed for the API").await;
    let listed = b.find("table").await.text().await.unwrap();
    assert!(
        listed.contains("Dashboard") && listed.contains("127.0.0.1"),
        "listed: {listed}"
    );
    assert!(
        listed.contains("API") && listed.contains("127.0.0.0/8"),
        "listed: {listed}"
    );
    b.wait_text("2 of 10").await;
    shot("09-allowed-ips").await;
    let res = t.api(&key).get("/api/v1/currencies").await;
    assert_eq!(res.status(), 200, "loopback is allowed for the API");

    // The ledger: a lead (a bad form first), its wallet, a reward, the balance.
    t.app
        .create_currency(&merchant, "PTS", "Points", "1")
        .await
        .expect("currency");
    b.click_link("Leads").await;
    b.wait_path("/dashboard/leads").await;
    b.wait_text("No leads in").await;
    b.fill("#customer_id", "ab").await;
    b.fill("#name", "Ada Lovelace").await;
    b.click("Create lead").await;
    b.wait_text("Customer id must be between 4 and 64 characters")
        .await;
    b.wait_text("Email or mobile is required").await;
    b.find(".field.has-error #customer_id").await;
    let kept = b.find("#name").await.prop("value").await.unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("Ada Lovelace"),
        "typed values are kept"
    );
    shot("09a-lead-form-errors").await;
    b.fill("#customer_id", "cust-1042").await;
    b.fill("#email", "ada@example.com").await;
    b.fill("#mobile", "+44 20 7946 0958").await;
    b.fill("#country", "GB").await;
    b.click("Create lead").await;
    b.wait_text("Lead cust-1042 created.").await;
    let lead_path = b.path().await;
    assert!(
        lead_path.starts_with("/dashboard/leads/lead_"),
        "{lead_path}"
    );
    b.click("Create wallet").await;
    b.wait_text("PTS wallet created.").await;
    b.fill("#amount", "120").await;
    b.fill("#description", "Welcome gift").await;
    b.click("Record transaction").await;
    b.wait_text("the wallet now holds 120 PTS").await;
    let balance = b
        .find("#wallets-table .balance")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(balance.trim(), "120", "the balance shows");
    b.wait_text("Welcome gift").await;
    fits_window(&b).await;
    shot("09b-lead").await;
    b.click_link("Wallets").await;
    b.wait_path("/dashboard/wallets").await;
    b.wait_text("PTS").await;
    shot("09c-wallets").await;
    b.click_link("Wallet transactions").await;
    b.wait_path("/dashboard/wallet-transactions").await;
    b.wait_text("+120 PTS").await;
    fits_window(&b).await;
    shot("09d-wallet-transactions").await;
    b.click_link("Leads").await;
    b.wait_text("cust-1042").await;
    shot("09e-leads").await;
    // Coupon codes: a CSV uploaded through the page shows its progress, then the stock.
    upload_codes_and_see_the_stock(&t, &b, &merchant, env, shots).await;

    // A form posted without the anti-forgery token is refused, same-site or cross-site.
    forged_posts_are_refused(&t, &b, &merchant, env).await;

    // A phone: every page fits the screen, with no sideways scrolling.
    for width in [360, 390] {
        b.phone(width, 844).await;
        for page in [
            "/dashboard/profile",
            "/dashboard/api-keys",
            "/dashboard/allowed-ips",
            "/dashboard/login-activities",
            "/dashboard/leads",
            lead_path.as_str(),
            "/dashboard/wallets",
            "/dashboard/wallet-transactions",
            "/dashboard/coupon-codes",
            "/dashboard/coupons",
            "/dashboard",
        ] {
            b.open(page).await;
            b.wait_path(page).await;
            b.assert_fits_screen(width).await;
        }
    }
    if shots {
        b.open(&lead_path).await;
        b.wait_text("Welcome gift").await;
        b.screenshot_phone("10a-lead-phone", 390, 844).await;
        b.open("/dashboard/wallet-transactions").await;
        b.wait_text("Welcome gift").await;
        b.screenshot_phone("10b-wallet-transactions-phone", 390, 844)
            .await;
        b.open("/dashboard").await;
    }
    b.wait_text("Overview").await;
    if shots {
        b.screenshot_phone("10-overview-phone", 390, 844).await;
        for (page, name) in [
            ("/dashboard/coupon-codes", "10b-coupon-codes-phone"),
            ("/dashboard/coupons", "10c-coupons-phone"),
        ] {
            b.open(page).await;
            b.wait_path(page).await;
            b.screenshot_phone(name, 390, 844).await;
        }
        b.open("/dashboard").await;
        b.wait_text("Overview").await;
    }
    // The navigation folds behind a menu button.
    b.find("[data-nav-toggle]")
        .await
        .click()
        .await
        .expect("open the menu");
    b.client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#sidenav.open"))
        .await
        .expect("the menu opens");
    assert!(b.find("#sidenav").await.is_displayed().await.unwrap());
    if shots {
        b.screenshot("11-phone-menu").await;
    }
    b.desktop().await;

    // Sign out, then in again with the password and a new code.
    b.click("Sign out").await;
    b.wait_path("/dashboard/login").await;
    b.wait_text("You have signed out.").await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", PASSWORD).await;
    let before = mail_files(&t.mail_dir);
    b.click("Continue").await;
    b.wait_path("/dashboard/login/verify").await;
    let code = wait_for_code(&t.mail_dir, &before).await;
    b.fill("#code", &code).await;
    b.click("Sign in").await;
    b.wait_path("/dashboard").await;
    b.wait_text("Signed in.").await;

    // Login activities: report this sign-in; the account freezes at once.
    b.click_link("Login activities").await;
    b.wait_path("/dashboard/login-activities").await;
    b.wait_text("HeadlessChrome").await;
    shot("12-login-activities").await;
    b.find("details.menu summary")
        .await
        .click()
        .await
        .expect("open the row's menu");
    // The click opens a confirmation; WebDriver may report it as an error of the click.
    let _ = b.button("Report").await.click().await;
    let question = b
        .accept_confirm()
        .await
        .expect("reporting asks for confirmation");
    assert!(
        question.contains("frozen"),
        "the confirmation explains: {question}"
    );
    b.wait_path("/dashboard/frozen").await;
    b.wait_text("Your account is frozen").await;
    shot("13-frozen").await;

    // Signed out: the dashboard asks for a sign-in, and sign-in explains the freeze.
    b.open("/dashboard").await;
    b.wait_path("/dashboard/login").await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", PASSWORD).await;
    b.click("Continue").await;
    b.wait_path("/dashboard/frozen").await;
    b.wait_text("frozen").await;
    // The page names the merchant id the operator will ask for.
    b.wait_text("punchcard admin merchant unfreeze mer_").await;

    // And the merchant's API key is refused.
    t.api(&key)
        .get("/api/v1/currencies")
        .await
        .assert_problem(403, "account_frozen");
    assert_eq!(
        t.app.merchant(&merchant).await.expect("merchant").status,
        MerchantStatus::Frozen
    );

    b.quit().await;
    t.stop().await;
}

/// The desktop page needs no sideways scrolling either.
async fn fits_window(b: &Browser) {
    let measured = b
        .client
        .execute(
            "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];",
            vec![],
        )
        .await
        .expect("measure the page");
    let (client, scroll) = (
        measured[0].as_u64().unwrap_or(0),
        measured[1].as_u64().unwrap_or(0),
    );
    assert!(
        scroll <= client,
        "{} scrolls sideways on the desktop (window {client}, page {scroll})",
        b.path().await
    );
}

async fn only_merchant(t: &TestApp, status: MerchantStatus) -> MerchantId {
    let all = t.app.list_merchants().await.expect("merchants");
    let mine: Vec<_> = all.into_iter().filter(|m| m.name == BUSINESS).collect();
    assert_eq!(mine.len(), 1, "one merchant signed up");
    assert_eq!(mine[0].status, status);
    mine[0].id.clone()
}

/// The label of the header's DEV/PROD toggle.
async fn env_label(b: &Browser) -> String {
    b.find(".env-toggle .toggle-label")
        .await
        .text()
        .await
        .unwrap()
        .trim()
        .to_string()
}

async fn wait_for_env(b: &Browser, want: &str) {
    for _ in 0..100 {
        if let Ok(el) = b
            .client
            .find(Locator::Css(".env-toggle .toggle-label"))
            .await
        {
            if el.text().await.unwrap_or_default().trim() == want {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the header toggle never showed {want}");
}

/// A same-site script and a cross-site page both post dashboard forms without the token.
async fn forged_posts_are_refused(t: &TestApp, b: &Browser, merchant: &MerchantId, env: Env) {
    b.open("/dashboard").await;
    b.wait_text("Overview").await;
    let status = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/dashboard/api-keys', {method: 'POST',
                 headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                 body: 'name=Forged+same-site'})
               .then(r => done(r.status), e => done(String(e)));",
            vec![],
        )
        .await
        .expect("fetch");
    assert_eq!(status, 403, "a POST without the token is refused");

    // Another site (localhost is not 127.0.0.1) whose page posts to the dashboard at once.
    let target = t.url("/dashboard/api-keys");
    let page = format!(
        "<!doctype html><title>Win a prize</title>\
         <form method=post action=\"{target}\"><input name=name value=\"Forged cross-site\"></form>\
         <script>document.forms[0].submit()</script>"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let evil = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(page) }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, evil).await;
    });
    b.client
        .goto(&format!("http://localhost:{port}/"))
        .await
        .expect("open the other site");
    b.wait_path("/dashboard/api-keys").await;
    b.wait_text("Form expired").await;
    server.abort();

    let names: Vec<String> = t
        .app
        .list_api_keys(merchant, env)
        .await
        .expect("keys")
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(
        names,
        vec!["Web shop".to_string()],
        "no forged key was created"
    );
    let url = b.client.current_url().await.expect("url");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
}

/// Uploads a CSV of codes through the page: the script shows the upload's progress, then a
/// "processing" state, then the answer in place; a bad file lists its bad rows.
async fn upload_codes_and_see_the_stock(
    t: &TestApp,
    b: &Browser,
    merchant: &MerchantId,
    env: Env,
    shots: bool,
) {
    let draft = punchcard_app::deals::DealDraft {
        name: "Flat white".to_string(),
        kind: "voucher".to_string(),
        sell_price: "30".to_string(),
        available: true,
        visibility: "private".to_string(),
        ..Default::default()
    };
    let deal = t
        .app
        .create_item::<Deals>(merchant, env, &draft)
        .await
        .expect("deal")
        .row
        .id
        .to_string();
    b.click_link("Coupon codes").await;
    b.wait_path("/dashboard/coupon-codes").await;
    b.wait_text("Flat white").await;
    b.wait_text("No codes in").await;

    let csv = t.dir.path().join("codes.csv");
    let rows: String = (0..5000).map(|i| format!("FLAT-{i:05}\n")).collect();
    std::fs::write(&csv, format!("code\n{rows}")).expect("write CSV");
    // Note what the progress box shows, and mark the page: a page the script updated in
    // place keeps the mark, a plain form post would lose it.
    b.client
        .execute(
            "window.uploadStates = []; window.stillThisPage = true;
             const box = document.querySelector('[data-upload-progress]');
             new MutationObserver(() => {
               const s = box.querySelector('.upload-status').textContent;
               if (s && window.uploadStates[window.uploadStates.length - 1] !== s) window.uploadStates.push(s);
             }).observe(box, {subtree: true, childList: true, characterData: true, attributes: true});",
            vec![],
        )
        .await
        .expect("observe the progress box");
    b.select("#upload-deal", &deal).await;
    b.select("#upload-kind", "code").await;
    b.find("#upload-file")
        .await
        .send_keys(csv.to_str().expect("UTF-8 path"))
        .await
        .expect("choose the file");
    // A slow line, so the progress can be seen (and photographed) on the way.
    b.throttle_uploads(20_000).await;
    b.client
        .execute(
            "document.getElementById('upload').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .expect("scroll to the upload form");
    b.click("Upload").await;
    b.wait_text("Uploading codes.csv").await;
    if shots {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        b.screenshot("14-coupon-codes-uploading").await;
    }
    b.throttle_uploads(0).await;
    b.wait_text("Imported 5000 codes from codes.csv into Flat white.")
        .await;
    let states = b
        .client
        .execute(
            "return [window.stillThisPage === true, window.uploadStates];",
            vec![],
        )
        .await
        .expect("read the progress states");
    assert_eq!(
        states[0], true,
        "the script sent the file and updated the page in place"
    );
    let seen: Vec<String> = states[1]
        .as_array()
        .expect("states")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    assert!(
        seen.iter()
            .any(|s| s.starts_with("Uploading codes.csv") && s.ends_with('%')),
        "upload progress shown: {seen:?}"
    );
    assert!(
        seen.iter().any(|s| s.starts_with("Processing")),
        "processing shown: {seen:?}"
    );
    let url = b.client.current_url().await.expect("url");
    assert_eq!(url.path(), "/dashboard/coupon-codes");
    assert_eq!(url.query(), Some(format!("deal_id={deal}").as_str()));
    let stock = b.find(".stock-table").await.text().await.unwrap();
    assert!(
        stock.contains("Flat white") && stock.contains("5000"),
        "stock: {stock}"
    );
    if shots {
        b.screenshot_full("15-coupon-codes").await;
    }

    // A file with bad rows: every one listed, nothing imported.
    let bad = t.dir.path().join("more-codes.csv");
    std::fs::write(&bad, "FLAT-00001\nNEW-1\n\nNEW-1\n").expect("write CSV");
    b.select("#upload-deal", &deal).await;
    b.find("#upload-file")
        .await
        .send_keys(bad.to_str().expect("UTF-8 path"))
        .await
        .expect("choose the file");
    b.click("Upload").await;
    b.wait_text("Nothing was imported").await;
    let report = b.find(".upload-report").await.text().await.unwrap();
    for needle in ["more-codes.csv", "is empty", "duplicates row 2"] {
        assert!(report.contains(needle), "{needle} in {report}");
    }
    if shots {
        b.screenshot_full("16-coupon-codes-bad-rows").await;
    }
    let scope = punchcard_app::ledger::Scope::new(merchant, env);
    assert_eq!(
        t.app
            .stock(&scope, &deal)
            .await
            .expect("stock")
            .unique_available,
        5000,
        "nothing imported"
    );

    // A coupon handed out from the vault shows on the coupons page and in the stock.
    let lead = t
        .app
        .create_lead(
            &scope,
            punchcard_app::ledger::NewLead {
                customer_id: "guest-0042".to_string(),
                email: Some("guest@example.com".to_string()),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
    let coupon = t
        .app
        .create_coupon(
            &scope,
            &punchcard_app::coupons::NewCoupon {
                deal_id: deal.clone(),
                lead_id: lead.id.to_string(),
                currency_id: None,
                hash: "welcome-gift".to_string(),
                mode: Some("reward".to_string()),
            },
        )
        .await
        .expect("coupon")
        .coupon;
    b.click_link("Coupons").await;
    b.wait_path("/dashboard/coupons").await;
    b.wait_text(&coupon.code).await;
    b.wait_text("guest-0042").await;
    if shots {
        b.screenshot_full("17-coupons").await;
    }
    b.click_link("Coupon codes").await;
    let stock = b.find(".stock-table").await.text().await.unwrap();
    assert!(stock.contains("4999"), "one handed out: {stock}");
}
