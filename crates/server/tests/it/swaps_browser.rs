//! A swap contract walked through two merchants' dashboards in headless Chromium: one
//! proposes, the other accepts, the operator approves, both see it active; then a swap shows
//! on the overview's activity chart. Screenshots at a phone's width and a desktop's.

use crate::browser_support::{mail_files, wait_for_code, Browser};
use crate::common::{Backend, TestApp};
use punchcard_app::deals::Deals;
use punchcard_app::ledger::{NewLead, NewTransaction, Scope};
use punchcard_app::merchants::NewMerchant;
use punchcard_app::swaps::NewSwap;
use punchcard_domain::{Env, MerchantId};

const PASSWORD: &str = "Espresso-Tonic-42";
const PHONE: u32 = 390;

on_both_backends!(two_merchants_agree_a_swap_contract);

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

async fn sign_out(b: &Browser) {
    b.click("Sign out").await;
    b.wait_path("/dashboard/login").await;
}

/// An active merchant with one currency; answers its id, its owner's email and the currency.
async fn merchant(t: &TestApp, name: &str, code: &str) -> (MerchantId, String, String) {
    let email = format!(
        "owner-{}@example.com",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let (m, _) = t
        .app
        .create_merchant(NewMerchant::parse(name, &email, PASSWORD, true).unwrap())
        .await
        .unwrap();
    let c = t.app.create_currency(&m, code, code, "1").await.unwrap();
    (m, email, c.id.to_string())
}

/// A PROD lead with a wallet in `currency`, rewarded `points` (0: none); answers the wallet id.
async fn lead_with_points(
    t: &TestApp,
    m: &MerchantId,
    customer_id: &str,
    name: &str,
    currency: &str,
    points: i64,
) -> String {
    let scope = Scope::new(m, Env::Prod);
    let lead = t
        .app
        .create_lead(
            &scope,
            NewLead {
                customer_id: customer_id.to_string(),
                name: Some(name.to_string()),
                email: Some(format!("{customer_id}@example.com")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let wallet = t
        .app
        .create_wallet(&scope, lead.id.as_str(), currency)
        .await
        .unwrap();
    if points > 0 {
        t.app
            .create_transaction(
                &scope,
                &NewTransaction {
                    wallet_id: wallet.id.to_string(),
                    kind: "reward".to_string(),
                    amount: points,
                    hash: format!("welcome-{customer_id}"),
                    description: None,
                },
            )
            .await
            .unwrap();
    }
    wallet.id.to_string()
}

/// Saves the page at a phone's width (the whole page) and at the desktop's.
async fn shots(b: &Browser, name: &str) {
    b.phone(PHONE, 844).await;
    b.assert_fits_screen(PHONE).await;
    let phone = b
        .screenshot_phone(&format!("{name}-phone"), PHONE, 844)
        .await;
    b.desktop().await;
    let desktop = b.screenshot_full(&format!("{name}-desktop")).await;
    eprintln!("screenshots: {} {}", phone.display(), desktop.display());
}

/// The bars the overview's activity chart draws: (count, tallest height).
async fn activity_bars(b: &Browser) -> (u64, f64) {
    let v = b
        .client
        .execute(
            "const bars = Array.from(document.querySelectorAll('#chart-activity svg rect[class^=series]'));
             return [bars.length, Math.max(0, ...bars.map(r => r.getBoundingClientRect().height))];",
            vec![],
        )
        .await
        .expect("measure the chart");
    (v[0].as_u64().unwrap_or(0), v[1].as_f64().unwrap_or(0.0))
}

async fn two_merchants_agree_a_swap_contract(t: TestApp) {
    let Some(b) = Browser::launch(&t.base).await else {
        return;
    };
    let take_shots = t.backend == Backend::Sqlite;
    let (bakery, bakery_email, crumbs) = merchant(&t, "Corner Bakery", "CRUMB").await;
    let (coffee, coffee_email, beans) = merchant(&t, "Harbour Coffee", "BEAN").await;
    let wallet = lead_with_points(&t, &bakery, "bakery-0001", "Ada Example", &crumbs, 300).await;
    lead_with_points(&t, &coffee, "coffee-0001", "Ada Example", &beans, 0).await;

    // The bakery proposes a contract from its Swaps page.
    sign_in(&t, &b, &bakery_email).await;
    b.click_link("Swaps").await;
    b.wait_path("/dashboard/swaps").await;
    b.wait_text(bakery.as_str()).await;
    b.fill("#partner_merchant_id", coffee.as_str()).await;
    b.select("#currency_id", &crumbs).await;
    b.fill("#partner_currency_id", &beans).await;
    b.fill("#rate", "2").await;
    b.fill("#per_swap_max", "100").await;
    b.fill("#daily_max", "250").await;
    b.click("Propose contract").await;
    b.wait_text("proposed. It becomes active once the partner accepts it")
        .await;
    b.wait_text("Proposed by you").await;
    // The partner's currency is named by its code.
    b.wait_text("1 CRUMB buys 2 of BEAN").await;
    if take_shots {
        shots(&b, "40-swaps-proposed").await;
    }
    sign_out(&b).await;

    // The coffee shop sees it proposed to it and accepts.
    sign_in(&t, &b, &coffee_email).await;
    b.click_link("Swaps").await;
    b.wait_path("/dashboard/swaps").await;
    b.wait_text("Proposed to you").await;
    b.wait_text(bakery.as_str()).await;
    b.wait_text("1 of CRUMB buys 2 BEAN").await;
    b.click("Accept").await;
    b.wait_text("accepted. It becomes active once the operator approves it.")
        .await;
    let contracts = t.app.all_contracts().await.unwrap();
    assert_eq!(contracts.len(), 1);
    let contract = contracts[0].id.to_string();
    assert_eq!(contracts[0].status.as_str(), "accepted");

    // The operator approves (what `punchcard admin swap-contract approve` runs).
    let approved = t.app.approve_contract(&contract).await.unwrap();
    assert_eq!(approved.status.as_str(), "active");
    b.open("/dashboard/swaps").await;
    b.wait_text("active").await;
    assert!(b.source().await.contains("badge badge-ok\">active<"));
    if take_shots {
        shots(&b, "41-swaps-active-partner").await;
    }

    // A lead of the bakery swaps 40 crumbs for 80 beans at the coffee shop.
    let swap = t
        .app
        .create_swap(
            &Scope::new(&bakery, Env::Prod),
            &NewSwap {
                from_wallet_id: wallet,
                amount: Some(40),
                hash: "swap-1".to_string(),
                to_lead_id: None,
                contract_id: Some(contract.clone()),
                to_customer_id: Some("coffee-0001".to_string()),
            },
        )
        .await
        .unwrap();
    assert_eq!(swap.swap.amount_in, 80);
    b.open("/dashboard/swaps").await;
    b.wait_text(swap.swap.id.as_str()).await;
    // Each side names its own lead, never the partner's.
    b.wait_text("coffee-0001").await;
    let text = b.text().await;
    assert!(text.contains("The partner's lead"), "{text}");
    assert!(!text.contains("bakery-0001"), "{text}");
    sign_out(&b).await;

    // The bakery sees the contract active and the swap, and its overview charts the day.
    sign_in(&t, &b, &bakery_email).await;
    let (bars, tallest) = activity_bars(&b).await;
    assert!(bars >= 2, "rewards and the swap are drawn: {bars} bars");
    assert!(tallest > 10.0, "the bars are visible: {tallest}px");
    b.wait_text("Swaps (1)").await;
    if take_shots {
        shots(&b, "42-overview").await;
    }
    b.click_link("Swaps").await;
    b.wait_path("/dashboard/swaps").await;
    b.wait_text(swap.swap.id.as_str()).await;
    b.wait_text("bakery-0001").await;
    let text = b.text().await;
    assert!(text.contains("Ada Example"), "{text}");
    assert!(text.contains("The partner's lead"), "{text}");
    assert!(!text.contains("coffee-0001"), "{text}");
    assert!(b.source().await.contains("badge badge-ok\">active<"));
    if take_shots {
        shots(&b, "43-swaps-active-proposer").await;
    }
    // A deal with two pictures, for the Uploads page.
    let deal = t
        .app
        .create_item::<Deals>(
            &bakery,
            Env::Prod,
            &punchcard_app::deals::DealDraft {
                name: "Cinnamon bun with a very long name that has to wrap on a phone".to_string(),
                kind: "voucher".to_string(),
                sell_price: "100".to_string(),
                visibility: "private".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for name in ["bun-front.png", "bun-side-view-in-the-morning-light.png"] {
        t.app
            .add_catalog_image::<Deals, _>(
                &t.state.storage,
                &bakery,
                Env::Prod,
                &deal.row.id,
                name,
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec(),
            )
            .await
            .unwrap();
    }
    b.open("/dashboard/uploads").await;
    b.wait_text("2 of 3").await;
    // The pages this adds fit a phone.
    for page in [
        "/dashboard/currencies",
        "/dashboard/uploads",
        "/dashboard/wallets",
    ] {
        b.open(page).await;
        b.wait_path(page).await;
        if take_shots {
            shots(&b, &format!("44{}", page.replace('/', "-"))).await;
        } else {
            b.phone(PHONE, 844).await;
            b.assert_fits_screen(PHONE).await;
            b.desktop().await;
        }
    }
    b.quit().await;
    t.stop().await;
}
