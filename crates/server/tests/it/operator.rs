//! What the operator and a newcomer meet: the demo merchant's first page, the Currencies and
//! Uploads pages, the operator's mail and the notification when a merchant submits KYC, and
//! the ledger pages naming each line's lead.

use crate::common::dashboard::{mails_to, merchant_with_member, Member};
use crate::common::{Backend, TestApp};
use punchcard_app::deals::Deals;
use punchcard_app::kyc::KycInput;
use punchcard_app::ledger::{NewLead, NewTransaction, Scope};
use punchcard_domain::Env;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const OPERATOR: &str = "operator@punchcard.example";

/// The value of an overview figure (`<div … data-figure="Leads added">…<p …>3</p>`).
fn figure(html: &str, label: &str) -> i64 {
    let at = html
        .find(&format!("data-figure=\"{label}\""))
        .unwrap_or_else(|| panic!("no figure {label}"));
    html[at..]
        .split("class=\"stat-value\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no value for {label}"))
}

fn kyc_input() -> KycInput {
    KycInput {
        legal_name: "Corner Bakery Ltd".into(),
        business_type: "company".into(),
        phone: "+44 20 7946 0958".into(),
        address_line: "12 Mill Lane".into(),
        city: "Leeds".into(),
        postal_code: "LS1 4AB".into(),
        country: "GB".into(),
        contact_person: "Robin Flour".into(),
        ..KycInput::default()
    }
}

/// The demo merchant opens on PROD, and PROD has customers, points and campaigns to show, as
/// DEV has.
async fn the_demo_opens_on_a_live_environment(t: TestApp) {
    let demo = t.app.ensure_demo().await.unwrap();
    assert!(demo.created);
    let m = Member::sign_in_with(&t, &demo.email, &demo.password).await;
    let html = m.page(&t, "/dashboard").await;
    assert!(
        html.contains("toggle-label\">PROD"),
        "the session starts on PROD"
    );
    for env in ["PROD", "DEV"] {
        if env == "DEV" {
            m.switch_env(&t, "dev").await;
        }
        let html = m.page(&t, "/dashboard").await;
        assert_eq!(figure(&html, "Leads added"), 3, "{env}");
        assert!(figure(&html, "Rewards") >= 3, "{env}");
        assert!(figure(&html, "Points rewarded") > 0, "{env}");
        assert!(figure(&html, "Deals redeemed") >= 1, "{env}");
        // The activity chart draws bars.
        assert!(html.contains("id=\"chart-activity\""), "{env}");
        assert!(
            html.contains("<rect class=\"series-1\""),
            "{env}: the chart has bars"
        );
        for (page, needle) in [
            ("/dashboard/leads", "Ada Example"),
            ("/dashboard/wallets", "Grace Example"),
            ("/dashboard/deals", "Free flat white"),
            ("/dashboard/tasks", "Three visits"),
            ("/dashboard/rules", "Beans per purchase"),
            ("/dashboard/currencies", "BEANS"),
        ] {
            let html = m.page(&t, page).await;
            assert!(html.contains(needle), "{env} {page} shows {needle}");
        }
    }
    // A second start reuses the merchant and its data.
    let again = t.app.ensure_demo().await.unwrap();
    assert!(!again.created);
    assert_eq!(again.merchant_id, demo.merchant_id);
    t.stop().await;
}

/// Currencies: read-only, with their rates; Uploads: every file by parent with its cap.
async fn currencies_and_uploads_pages(t: TestApp) {
    let (merchant, m) = merchant_with_member(&t, "Corner Bakery", false).await;
    // KYC documents first (they can change only before approval), then activation.
    t.app
        .save_kyc_profile(&merchant, &kyc_input())
        .await
        .unwrap();
    for name in ["registration.pdf", "utility-bill.pdf"] {
        t.app
            .add_kyc_document(&t.state.storage, &merchant, name, PDF.to_vec())
            .await
            .unwrap();
    }
    t.app.submit_kyc(&merchant).await.unwrap();
    t.app.activate_merchant(&merchant).await.unwrap();
    t.app
        .create_currency(&merchant, "PTS", "Points", "0.5")
        .await
        .unwrap();
    t.app
        .create_currency(&merchant, "GEM", "Gems", "4")
        .await
        .unwrap();

    let html = m.page(&t, "/dashboard/currencies").await;
    assert!(html.contains("href=\"/dashboard/currencies\" class=\"current\""));
    assert!(html.contains("data-currency=\"PTS\""));
    assert!(html.contains("Points"));
    assert!(html.contains(">0.5<"), "coins per point");
    // A 100-coin deal costs 200 PTS and 25 GEM.
    assert!(html.contains("200 PTS"), "{html}");
    assert!(html.contains("25 GEM"));
    assert!(html.contains("cur_"), "the currency ids the API needs");
    assert!(!html.contains("<form method=\"post\" action=\"/dashboard/currencies"));

    // Two deals in PROD, one full of images; a deal in DEV with one.
    let deal = |name: &str| punchcard_app::deals::DealDraft {
        name: name.to_string(),
        kind: "voucher".to_string(),
        sell_price: "100".to_string(),
        visibility: "private".to_string(),
        ..Default::default()
    };
    let full = t
        .app
        .create_item::<Deals>(&merchant, Env::Prod, &deal("Free flat white"))
        .await
        .unwrap();
    let one = t
        .app
        .create_item::<Deals>(&merchant, Env::Prod, &deal("Cinnamon bun"))
        .await
        .unwrap();
    let dev = t
        .app
        .create_item::<Deals>(&merchant, Env::Dev, &deal("Test deal"))
        .await
        .unwrap();
    for (env, id, n) in [
        (Env::Prod, &full.row.id, 3),
        (Env::Prod, &one.row.id, 1),
        (Env::Dev, &dev.row.id, 1),
    ] {
        for i in 0..n {
            t.app
                .add_catalog_image::<Deals, _>(
                    &t.state.storage,
                    &merchant,
                    env,
                    id,
                    &format!("photo-{i}.png"),
                    PNG.to_vec(),
                )
                .await
                .unwrap();
        }
    }

    let html = m.page(&t, "/dashboard/uploads").await;
    assert!(html.contains("href=\"/dashboard/uploads\" class=\"current\""));
    let group = |parent: &str| -> String {
        let at = html
            .find(&format!("data-parent=\"{parent}\""))
            .unwrap_or_else(|| panic!("no group for {parent}"));
        html[at..].split("</section>").next().unwrap().to_string()
    };
    let kyc = group(merchant.as_str());
    assert!(kyc.contains("2 of 3"), "{kyc}");
    assert!(kyc.contains("registration.pdf") && kyc.contains("utility-bill.pdf"));
    assert!(kyc.contains("/dashboard/profile/documents/upl_"));
    let full_group = group(full.row.id.as_str());
    assert!(full_group.contains("Free flat white"));
    assert!(full_group.contains("3 of 3"), "{full_group}");
    assert!(full_group.contains("Full: delete a file"));
    assert!(full_group.contains(&format!("/dashboard/deals/{}/images/upl_", full.row.id)));
    let one_group = group(one.row.id.as_str());
    assert!(one_group.contains("1 of 3"));
    assert!(
        !html.contains(dev.row.id.as_str()),
        "DEV's images stay in DEV"
    );
    assert!(html.contains("6 files in 3 places"), "{html}");
    // The KYC leads the page.
    let at = |id: &str| html.find(&format!("data-parent=\"{id}\"")).unwrap();
    assert!(at(merchant.as_str()) < at(full.row.id.as_str()));
    // A listed file opens.
    let href = full_group
        .split("href=\"")
        .map(|r| r.split('"').next().unwrap())
        .find(|h| h.contains("/images/"))
        .unwrap()
        .to_string();
    assert_eq!(m.get(&t, &href).await.status(), 200);

    // DEV: the KYC documents and DEV's deal only.
    m.switch_env(&t, "dev").await;
    let html = m.page(&t, "/dashboard/uploads").await;
    assert!(html.contains("2 of 3"));
    assert!(html.contains(dev.row.id.as_str()));
    assert!(!html.contains(full.row.id.as_str()));
    assert!(html.contains("3 files in 2 places"), "{html}");

    // A deleted deal's images leave the page.
    m.switch_env(&t, "prod").await;
    t.app
        .delete_item::<punchcard_app::deals::Deals>(&merchant, Env::Prod, &one.row.id)
        .await
        .unwrap();
    let html = m.page(&t, "/dashboard/uploads").await;
    assert!(!html.contains(one.row.id.as_str()));

    // Another merchant sees none of it.
    let (_, other) = merchant_with_member(&t, "Harbour Coffee", true).await;
    let html = other.page(&t, "/dashboard/uploads").await;
    assert!(html.contains("No uploads in PROD yet"));
    assert!(!html.contains("registration.pdf"));
    let html = other.page(&t, "/dashboard/currencies").await;
    assert!(html.contains("No currencies yet"));
    t.stop().await;
}

async fn submit_kyc_through_the_dashboard(t: &TestApp) -> punchcard_domain::MerchantId {
    let (merchant, m) = merchant_with_member(t, "Corner Bakery", false).await;
    t.app
        .save_kyc_profile(&merchant, &kyc_input())
        .await
        .unwrap();
    t.app
        .add_kyc_document(
            &t.state.storage,
            &merchant,
            "registration.pdf",
            PDF.to_vec(),
        )
        .await
        .unwrap();
    let res = m.post(t, "/dashboard/profile/submit", &[]).await;
    assert_eq!(res.status(), 303);
    let notes = t.app.list_notifications(&merchant).await.unwrap();
    assert!(notes.iter().any(|n| n.kind == "kyc_submitted"), "{notes:?}");
    let html = m.page(t, "/dashboard/notifications").await;
    assert!(html.contains("KYC submitted"));
    merchant
}

/// Submitting KYC notifies the merchant and mails the operator, when an address is set.
async fn a_kyc_submission_reaches_the_operator(backend: Backend) {
    let Some(t) = TestApp::start(backend, |c| c.operator_email = Some(OPERATOR.to_string())).await
    else {
        return;
    };
    let merchant = submit_kyc_through_the_dashboard(&t).await;
    let mails = mails_to(&t.mail_dir, OPERATOR);
    assert_eq!(mails.len(), 1, "one mail to the operator");
    let mail = &mails[0];
    assert!(
        mail.contains("Subject: KYC to review: Corner Bakery"),
        "{mail}"
    );
    assert!(mail.contains(&format!("punchcard admin merchant kyc {merchant}")));
    assert!(mail.contains(&format!("punchcard admin merchant activate {merchant}")));
    assert!(mail.contains("Documents:   1"));
    t.stop().await;

    // Without an operator address, the merchant is still notified and no mail is written.
    let t = TestApp::start(backend, |_| {}).await.unwrap();
    submit_kyc_through_the_dashboard(&t).await;
    let written = std::fs::read_dir(&t.mail_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(written, 0, "no mail without PUNCHCARD_OPERATOR_EMAIL");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_kyc_submission_reaches_the_operator() {
    a_kyc_submission_reaches_the_operator(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_kyc_submission_reaches_the_operator() {
    a_kyc_submission_reaches_the_operator(Backend::Postgres).await;
}

/// The wallet and transaction lists name each line's lead: its name and customer id.
async fn ledger_pages_name_the_leads(t: TestApp) {
    let (merchant, m) = merchant_with_member(&t, "Corner Bakery", true).await;
    let pts = t
        .app
        .create_currency(&merchant, "PTS", "Points", "1")
        .await
        .unwrap();
    let scope = Scope::new(&merchant, Env::Prod);
    for (i, (customer_id, name)) in [("cust-1042", Some("Ada Lovelace")), ("cust-2077", None)]
        .into_iter()
        .enumerate()
    {
        let lead = t
            .app
            .create_lead(
                &scope,
                NewLead {
                    customer_id: customer_id.to_string(),
                    name: name.map(str::to_string),
                    email: Some(format!("{customer_id}@example.com")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let wallet = t
            .app
            .create_wallet(&scope, lead.id.as_str(), pts.id.as_str())
            .await
            .unwrap();
        t.app
            .create_transaction(
                &scope,
                &NewTransaction {
                    wallet_id: wallet.id.to_string(),
                    kind: "reward".to_string(),
                    amount: 40 + i as i64,
                    hash: format!("welcome-{i}"),
                    description: None,
                },
            )
            .await
            .unwrap();
    }
    for page in ["/dashboard/wallets", "/dashboard/wallet-transactions"] {
        let html = m.page(&t, page).await;
        assert!(
            html.contains("<span class=\"lead-name\">Ada Lovelace</span>"),
            "{page}: {html}"
        );
        assert!(html.contains("<span class=\"lead-customer\">cust-1042</span>"));
        assert!(html.contains("<span class=\"lead-customer\">cust-2077</span>"));
        assert!(html.contains("/dashboard/leads/lead_"));
    }
    let html = m.page(&t, "/dashboard/wallet-transactions").await;
    assert!(html.contains("+40 PTS") && html.contains("+41 PTS"));
    // Filters still apply to the joined lists.
    let html = m.page(&t, "/dashboard/wallets?lead=cust-2077").await;
    assert!(!html.contains("Ada Lovelace"));
    assert!(html.contains("cust-2077"));
    let html = m
        .page(&t, "/dashboard/wallet-transactions?lead=cust-1042")
        .await;
    assert!(html.contains("Ada Lovelace"));
    assert!(!html.contains("cust-2077"));
    t.stop().await;
}

on_both_backends!(
    the_demo_opens_on_a_live_environment,
    currencies_and_uploads_pages,
    ledger_pages_name_the_leads,
);
