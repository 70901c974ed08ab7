//! The coupon codes and coupons pages: stock per deal, adding codes one by one, generated and
//! uploaded (bad rows listed, nothing imported), issuing coupons by hand (once per form), using
//! and cancelling them (points refunded), and the walls between merchants and environments.

use crate::common::dashboard::{input_value_by_name, merchant_with_member, unescape, Member};
use crate::common::TestApp;
use punchcard_app::coupons::NewCoupon;
use punchcard_app::deals::DealDraft;
use punchcard_app::deals::Deals;
use punchcard_app::ledger::{NewLead, NewTransaction, Scope};
use punchcard_app::plans::PlanChange;
use punchcard_domain::{Env, MerchantId};
use punchcard_store::coupons::{CodeFilter, CouponFilter};
use reqwest::multipart::{Form, Part};

impl Member {
    /// Posts the CSV upload form (multipart: the token rides in the address).
    async fn upload_codes(
        &self,
        t: &TestApp,
        deal_id: &str,
        kind: &str,
        file_name: &str,
        csv: Vec<u8>,
    ) -> reqwest::Response {
        let form = Form::new()
            .text("deal_id", deal_id.to_string())
            .text("kind", kind.to_string())
            .part(
                "file",
                Part::bytes(csv)
                    .file_name(file_name.to_string())
                    .mime_str("text/csv")
                    .unwrap(),
            );
        self.client
            .post(t.url(&format!(
                "/dashboard/coupon-codes/upload?_csrf={}",
                self.csrf
            )))
            .header("connection", "close")
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Follows a form's redirect and answers the page it lands on (with its flash message).
    async fn landed(&self, t: &TestApp, res: reqwest::Response) -> String {
        assert_eq!(
            res.status(),
            303,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let to = res.headers()["location"].to_str().unwrap().to_string();
        self.page(t, &to).await
    }
}

async fn refused(res: reqwest::Response, status: u16) -> String {
    let got = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(got, status, "{html}");
    html
}

struct Shop {
    m: MerchantId,
    member: Member,
    /// GEM: 3 coins a point.
    currency: String,
}

async fn shop(t: &TestApp, name: &str) -> Shop {
    let (m, member) = merchant_with_member(t, name, true).await;
    let currency = t
        .app
        .create_currency(&m, "GEM", "Gems", "3")
        .await
        .unwrap()
        .id
        .to_string();
    Shop {
        m,
        member,
        currency,
    }
}

async fn deal(t: &TestApp, m: &MerchantId, env: Env, name: &str, price: i64, on: bool) -> String {
    let draft = DealDraft {
        name: name.to_string(),
        kind: "voucher".to_string(),
        sell_price: price.to_string(),
        available: on,
        visibility: "private".to_string(),
        ..DealDraft::default()
    };
    t.app
        .create_item::<Deals>(m, env, &draft)
        .await
        .unwrap()
        .row
        .id
        .to_string()
}

/// A lead with a GEM wallet holding `points`: (lead id, wallet id).
async fn customer(t: &TestApp, s: &Shop, customer_id: &str, points: i64) -> (String, String) {
    let scope = Scope::new(&s.m, Env::Prod);
    let lead = t
        .app
        .create_lead(
            &scope,
            NewLead {
                customer_id: customer_id.to_string(),
                email: Some(format!("{customer_id}@example.com")),
                ..NewLead::default()
            },
        )
        .await
        .unwrap();
    let wallet = t
        .app
        .create_wallet(&scope, lead.id.as_str(), &s.currency)
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
                    hash: format!("seed-{customer_id}"),
                    description: None,
                },
            )
            .await
            .unwrap();
    }
    (lead.id.to_string(), wallet.id.to_string())
}

async fn balance(t: &TestApp, s: &Shop, wallet: &str) -> i64 {
    t.app
        .wallet(&Scope::new(&s.m, Env::Prod), wallet)
        .await
        .unwrap()
        .balance
}

/// (unique left, handed out, generic) in the stock table's row of `deal`.
fn stock_of(html: &str, deal: &str) -> (i64, i64, i64) {
    let table = html
        .split("stock-table")
        .nth(1)
        .and_then(|r| r.split("</table>").next())
        .expect("a stock table");
    let row = table
        .split("<tr")
        .find(|r| r.contains(&format!(">{deal}</a>")))
        .unwrap_or_else(|| panic!("no stock row for {deal}"));
    let cell = |label: &str| -> i64 {
        row.split(&format!("data-label=\"{label}\">"))
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    (cell("Unique left"), cell("Handed out"), cell("Generic"))
}

/// How many codes (or coupons) the list on a page shows.
fn listed(html: &str, label: &str) -> usize {
    html.matches(&format!("data-label=\"{label}\" class=\"code-value\""))
        .count()
}

/// The address of a pager link, unescaped.
fn pager_link(html: &str, label: &str) -> Option<String> {
    let pager = html.split("class=\"coupon-pager\"").nth(1)?;
    let at = pager.find(&format!(">{label}</a>"))?;
    let href = pager[..at].rsplit("href=\"").next()?.split('"').next()?;
    Some(unescape(href))
}

async fn codes_are_added_one_by_one_generated_and_uploaded(t: TestApp) {
    let s = shop(&t, "Acme").await;
    let m = &s.member;
    let d = deal(&t, &s.m, Env::Prod, "Free coffee", 10, true).await;
    let scope = Scope::new(&s.m, Env::Prod);

    let html = m.page(&t, "/dashboard/coupon-codes").await;
    assert!(
        html.contains("href=\"/dashboard/coupon-codes\""),
        "in the navigation"
    );
    assert!(
        html.contains("href=\"/dashboard/coupons\""),
        "in the navigation"
    );
    assert!(html.contains("No codes in PROD yet"));
    assert_eq!(stock_of(&html, "Free coffee"), (0, 0, 0));
    assert!(html.contains("badge-danger\" title=\"Coupons of this deal would be refused\">empty"));

    // One at a time.
    let res = m
        .post(
            &t,
            "/dashboard/coupon-codes",
            &[("deal_id", &d), ("kind", "code"), ("value", "WELCOME-1")],
        )
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("/dashboard/coupon-codes?deal_id={d}").as_str()
    );
    let html = m.landed(&t, res).await;
    assert!(
        html.contains("Code WELCOME-1 added to Free coffee."),
        "{html}"
    );
    assert!(html.contains("<code>WELCOME-1</code>"));
    assert_eq!(stock_of(&html, "Free coffee"), (1, 0, 0));
    // The same code again: refused next to the field, the entry kept.
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupon-codes",
            &[("deal_id", &d), ("kind", "code"), ("value", "WELCOME-1")],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Code or link already exists in this environment"));
    assert!(html.contains("value=\"WELCOME-1\""));
    assert!(html.contains("Nothing was added"));
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupon-codes",
            &[("deal_id", &d), ("kind", "link"), ("value", "not a link")],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("must be an http or https link"));
    assert!(
        html.contains("<option value=\"link\" selected>"),
        "kind kept"
    );
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupon-codes",
            &[("deal_id", ""), ("kind", "code"), ("value", "X-1")],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Deal is required"));
    let res = m
        .post(
            &t,
            "/dashboard/coupon-codes",
            &[
                ("deal_id", &d),
                ("kind", "generic_link"),
                ("value", "https://shop.example/promo"),
            ],
        )
        .await;
    assert!(m
        .landed(&t, res)
        .await
        .contains("Generic link https://shop.example/promo added"));

    // Generated: 1 to 1000.
    for (count, message) in [
        ("0", "must be between 1 and 1000"),
        ("1001", "must be between 1 and 1000"),
        ("many", "must be a whole number"),
        ("", "How many is required"),
    ] {
        let html = refused(
            m.post(
                &t,
                "/dashboard/coupon-codes/generate",
                &[("deal_id", &d), ("count", count)],
            )
            .await,
            422,
        )
        .await;
        assert!(html.contains(message), "{count}: {message}");
        assert!(html.contains(&format!("value=\"{count}\"")), "entry kept");
    }
    let res = m
        .post(
            &t,
            "/dashboard/coupon-codes/generate",
            &[("deal_id", &d), ("count", "50")],
        )
        .await;
    let html = m.landed(&t, res).await;
    assert!(html.contains("Generated 50 unique codes for Free coffee."));
    assert_eq!(stock_of(&html, "Free coffee"), (51, 0, 1));

    // Uploaded: a good file is imported whole.
    let res = m
        .upload_codes(
            &t,
            &d,
            "code",
            "codes.csv",
            b"code\r\nUP-1\r\nUP-2\r\n\"UP-3\"\r\n".to_vec(),
        )
        .await;
    let html = m.landed(&t, res).await;
    assert!(html.contains("Imported 3 codes from codes.csv into Free coffee."));
    assert_eq!(stock_of(&html, "Free coffee"), (54, 0, 1));

    // A bad file: every bad row listed with its number, nothing imported.
    let bad = format!("UP-4\n\nUP-4\n{}\nUP-5\n", "X".repeat(80));
    let html = refused(
        m.upload_codes(&t, &d, "code", "bad.csv", bad.into_bytes())
            .await,
        422,
    )
    .await;
    assert!(html.contains("Nothing was imported"), "{html}");
    assert!(html.contains("3 rows of <strong>bad.csv</strong> cannot be used"));
    for (row, problem) in [(2, "is empty"), (3, "duplicates row 1"), (4, "is too long")] {
        assert!(
            html.contains(&format!("<td class=\"num\">{row}</td><td>{problem}")),
            "row {row}: {problem}"
        );
    }
    assert!(!html.contains("<td class=\"num\">5</td>"));
    assert!(
        html.contains(&format!("<option value=\"{d}\" selected>")),
        "the deal stays chosen"
    );
    // Rows that exist already are listed too; still nothing imported.
    let html = refused(
        m.upload_codes(
            &t,
            &d,
            "code",
            "again.csv",
            b"NEW-1\nWELCOME-1\nUP-2\n".to_vec(),
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("<td class=\"num\">2</td><td>already exists"));
    assert!(html.contains("<td class=\"num\">3</td><td>already exists"));
    let html = m.page(&t, "/dashboard/coupon-codes").await;
    assert_eq!(
        stock_of(&html, "Free coffee"),
        (54, 0, 1),
        "nothing imported"
    );
    for missing in ["UP-4", "UP-5", "NEW-1"] {
        assert!(!html.contains(&format!("<code>{missing}</code>")));
    }
    let too_many: String = (0..10_001).map(|i| format!("C-{i}\n")).collect();
    let html = refused(
        m.upload_codes(&t, &d, "code", "big.csv", too_many.into_bytes())
            .await,
        422,
    )
    .await;
    assert!(html.contains("at most 10000 are allowed"));
    // No file chosen, an unknown deal, and no anti-forgery token.
    let res = m
        .client
        .post(t.url(&format!("/dashboard/coupon-codes/upload?_csrf={}", m.csrf)))
        .multipart(
            Form::new()
                .text("deal_id", d.clone())
                .part("file", Part::bytes(Vec::new()).file_name("")),
        )
        .send()
        .await
        .unwrap();
    assert!(refused(res, 422).await.contains("choose a CSV file"));
    let html = refused(
        m.upload_codes(
            &t,
            "deal_01jd3x1m2n3p4q5r6s7t8v9w0x",
            "code",
            "a.csv",
            b"Z-1\n".to_vec(),
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Deal no such deal"));
    let res = m
        .client
        .post(t.url("/dashboard/coupon-codes/upload"))
        .header("connection", "close")
        .multipart(Form::new().text("deal_id", d.clone()).part(
            "file",
            Part::bytes(b"FORGED-1\n".to_vec()).file_name("f.csv"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // A large file: 10000 codes at once, and 3 MB of long links past the default body limit.
    let d2 = deal(&t, &s.m, Env::Prod, "Gift card", 300, true).await;
    let rows: String = (0..10_000).map(|i| format!("BULK-{i:05}\n")).collect();
    let res = m
        .upload_codes(
            &t,
            &d2,
            "code",
            "bulk.csv",
            format!("code\n{rows}").into_bytes(),
        )
        .await;
    let html = m.landed(&t, res).await;
    assert!(html.contains("Imported 10000 codes from bulk.csv into Gift card."));
    assert_eq!(stock_of(&html, "Gift card"), (10_000, 0, 0));
    let links: String = (0..1500)
        .map(|i| format!("https://shop.example/r/{i:04}/{}\n", "p".repeat(1990)))
        .collect();
    assert!(links.len() > 3_000_000);
    let res = m
        .upload_codes(&t, &d2, "link", "links.csv", links.into_bytes())
        .await;
    assert!(m
        .landed(&t, res)
        .await
        .contains("Imported 1500 codes from links.csv into Gift card."));

    // Filters and pages.
    let html = m
        .page(
            &t,
            &format!("/dashboard/coupon-codes?deal_id={d}&kind=generic_link"),
        )
        .await;
    assert_eq!(listed(&html, "Code or link"), 1);
    assert!(html.contains("Shared"));
    let html = m
        .page(
            &t,
            &format!("/dashboard/coupon-codes?deal_id={d}&status=issued"),
        )
        .await;
    assert!(html.contains("No codes match these filters."));
    let mut seen = 0;
    let mut page = format!("/dashboard/coupon-codes?deal_id={d}");
    let mut pages = 0;
    loop {
        let html = m.page(&t, &page).await;
        seen += listed(&html, "Code or link");
        pages += 1;
        if pages > 1 {
            assert!(pager_link(&html, "First page").is_some());
        }
        match pager_link(&html, "Next page") {
            Some(next) => {
                assert!(
                    next.contains(&format!("deal_id={d}")),
                    "filters kept: {next}"
                );
                page = next;
            }
            None => break,
        }
    }
    assert_eq!((seen, pages), (55, 2));
    let html = refused(m.get(&t, "/dashboard/coupon-codes?kind=coupon").await, 422).await;
    assert!(html.contains("kind"));
    let all = t
        .app
        .list_codes(&scope, &CodeFilter::default(), None, 20_000)
        .await
        .unwrap();
    assert_eq!(all.len(), 55 + 11_500);
    t.stop().await;
}

async fn coupons_are_issued_used_and_cancelled(t: TestApp) {
    let s = shop(&t, "Acme").await;
    let m = &s.member;
    let scope = Scope::new(&s.m, Env::Prod);
    let d = deal(&t, &s.m, Env::Prod, "Free coffee", 10, true).await; // 4 GEM
    for code in ["ONE", "TWO", "THREE"] {
        t.app
            .create_code(&scope, &d, Some("code"), code)
            .await
            .unwrap();
    }
    let (lead, wallet) = customer(&t, &s, "cust-0001", 10).await;

    let html = m.page(&t, "/dashboard/coupons").await;
    assert!(html.contains("No coupons in PROD yet"));
    assert!(html.contains("Free coffee · 4 GEM"), "the price in points");
    let hash = input_value_by_name(&html, "hash");
    assert!(hash.starts_with("dashboard-"), "{hash}");
    assert_ne!(
        hash,
        input_value_by_name(&m.page(&t, "/dashboard/coupons").await, "hash"),
        "a fresh key per form"
    );

    // Redeemed with points, by customer id; the same form again issues nothing more.
    let form = [
        ("deal_id", d.as_str()),
        ("lead", "cust-0001"),
        ("currency_id", s.currency.as_str()),
        ("mode", "redeem"),
        ("hash", hash.as_str()),
    ];
    let res = m.post(&t, "/dashboard/coupons", &form).await;
    assert_eq!(
        res.headers()["location"],
        "/dashboard/coupons?lead=cust-0001"
    );
    let html = m.landed(&t, res).await;
    assert!(
        html.contains("Coupon ONE issued to cust-0001 for Free coffee: 4 points paid"),
        "{html}"
    );
    assert!(html.contains("<code>ONE</code>"));
    assert!(html.contains("Redeemed: 4 GEM"));
    assert_eq!(balance(&t, &s, &wallet).await, 6);
    let html = m
        .landed(&t, m.post(&t, "/dashboard/coupons", &form).await)
        .await;
    assert!(html.contains("This form already issued coupon ONE"));
    assert_eq!(balance(&t, &s, &wallet).await, 6);
    let coupons = t
        .app
        .list_coupons(&scope, &CouponFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(coupons.len(), 1, "issued once");
    let one = coupons[0].id.to_string();

    // A reward, by lead id: free.
    let res = m
        .post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", d.as_str()),
                ("lead", lead.as_str()),
                ("currency_id", ""),
                ("mode", "reward"),
                ("hash", "support-ticket-77"),
            ],
        )
        .await;
    let html = m.landed(&t, res).await;
    assert!(html.contains("Coupon TWO issued to cust-0001 for Free coffee as a reward."));
    assert!(html.contains(">Reward<"));
    assert_eq!(balance(&t, &s, &wallet).await, 6);

    // Refusals, in words, with the entries kept.
    customer(&t, &s, "cust-0002", 3).await;
    let poor = [
        ("deal_id", d.as_str()),
        ("lead", "cust-0002"),
        ("currency_id", s.currency.as_str()),
        ("mode", "redeem"),
        ("hash", "poor-1"),
    ];
    let html = refused(m.post(&t, "/dashboard/coupons", &poor).await, 409).await;
    assert!(
        html.contains(
            "Insufficient balance: the lead&#39;s wallet holds 3 points and this deal costs 4."
        ),
        "{html}"
    );
    assert!(html.contains("value=\"cust-0002\""));
    assert!(
        html.contains("value=\"poor-1\""),
        "the same key: nothing was issued"
    );
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", d.as_str()),
                ("lead", "nobody"),
                ("currency_id", ""),
                ("mode", "redeem"),
                ("hash", "x-1"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Currency is required to redeem"));
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", d.as_str()),
                ("lead", "nobody"),
                ("currency_id", s.currency.as_str()),
                ("mode", "redeem"),
                ("hash", "x-1"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Lead no such lead"));
    let off = deal(&t, &s.m, Env::Prod, "Winter soup", 3, false).await;
    t.app
        .create_code(&scope, &off, Some("generic_code"), "SOUP")
        .await
        .unwrap();
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", off.as_str()),
                ("lead", "cust-0001"),
                ("currency_id", ""),
                ("mode", "reward"),
                ("hash", "x-2"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Deal is not available"));
    let bare = deal(&t, &s.m, Env::Prod, "Tote bag", 3, true).await;
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", bare.as_str()),
                ("lead", "cust-0001"),
                ("currency_id", s.currency.as_str()),
                ("mode", "redeem"),
                ("hash", "x-3"),
            ],
        )
        .await,
        409,
    )
    .await;
    assert!(html.contains("Out of stock: this deal has no coupon codes left"));
    assert_eq!(balance(&t, &s, &wallet).await, 6, "nothing debited");
    // The key of an issued coupon with other fields: refused, and the form gets a new key.
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", d.as_str()),
                ("lead", "cust-0001"),
                ("currency_id", ""),
                ("mode", "reward"),
                ("hash", hash.as_str()),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("already used to issue a different coupon"));
    assert_ne!(input_value_by_name(&html, "hash"), hash);

    // Used once; a second time says so.
    let res = m
        .post(
            &t,
            &format!("/dashboard/coupons/{one}/use"),
            &[("back", "/dashboard/coupons?status=issued")],
        )
        .await;
    assert_eq!(
        res.headers()["location"],
        "/dashboard/coupons?status=issued"
    );
    let html = m.landed(&t, res).await;
    assert!(html.contains("Coupon ONE marked used."));
    assert!(!html.contains("<code>ONE</code>"), "no longer issued");
    let html = m
        .landed(
            &t,
            m.post(
                &t,
                &format!("/dashboard/coupons/{one}/use"),
                &[("back", "https://evil.example/")],
            )
            .await,
        )
        .await;
    assert!(html.contains("Not changed: the coupon is already used."));
    let html = m
        .landed(
            &t,
            m.post(&t, &format!("/dashboard/coupons/{one}/cancel"), &[])
                .await,
        )
        .await;
    assert!(html.contains("Not changed: the coupon is already used."));
    assert_eq!(balance(&t, &s, &wallet).await, 6);

    // Cancelled: a redeemed coupon's points come back.
    let res = m
        .post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", d.as_str()),
                ("lead", "cust-0001"),
                ("currency_id", s.currency.as_str()),
                ("mode", "redeem"),
                ("hash", "refund-me"),
            ],
        )
        .await;
    assert!(m.landed(&t, res).await.contains("Coupon THREE issued"));
    assert_eq!(balance(&t, &s, &wallet).await, 2);
    let three = t
        .app
        .list_coupons(
            &scope,
            &CouponFilter {
                code: Some("THREE".into()),
                ..CouponFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap()[0]
        .id
        .to_string();
    let html = m.page(&t, "/dashboard/coupons?status=issued").await;
    assert!(html.contains("The 4 GEM paid for it are refunded to the lead&#39;s wallet"));
    let html = m
        .landed(
            &t,
            m.post(&t, &format!("/dashboard/coupons/{three}/cancel"), &[])
                .await,
        )
        .await;
    assert!(
        html.contains(
            "Coupon THREE cancelled: 4 points refunded to the lead&#39;s wallet (balance now 6)."
        ),
        "{html}"
    );
    assert_eq!(balance(&t, &s, &wallet).await, 6);
    let html = m.page(&t, "/dashboard/coupons?status=cancelled").await;
    assert!(html.contains("<code>THREE</code>"));
    assert!(html.contains("Cancelled"));
    assert_eq!(listed(&html, "Code"), 1);

    // The list, newest first, and its filters.
    let html = m.page(&t, "/dashboard/coupons").await;
    assert_eq!(listed(&html, "Code"), 3);
    let (three_at, one_at) = (
        html.find("<code>THREE</code>").unwrap(),
        html.find("<code>ONE</code>").unwrap(),
    );
    assert!(three_at < one_at, "newest first");
    let html = m.page(&t, "/dashboard/coupons?code=TWO").await;
    assert_eq!(listed(&html, "Code"), 1);
    let html = m
        .page(&t, &format!("/dashboard/coupons?lead={lead}&deal_id={d}"))
        .await;
    assert_eq!(listed(&html, "Code"), 3);
    let html = m.page(&t, "/dashboard/coupons?lead=cust-0002").await;
    assert!(html.contains("No coupons match these filters."));
    let html = m.page(&t, "/dashboard/coupons?lead=nobody").await;
    assert!(html.contains("No lead has the id or customer id"));

    // Quota: a plan whose redeems are used up refuses, in words.
    t.app
        .create_code(&scope, &d, Some("generic_code"), "EVERYONE")
        .await
        .unwrap();
    t.app
        .set_plan(
            &s.m,
            PlanChange {
                redeems: Some(3),
                ..PlanChange::default()
            },
        )
        .await
        .unwrap();
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", off.as_str()),
                ("lead", "cust-0001"),
                ("currency_id", ""),
                ("mode", "reward"),
                ("hash", "x-4"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Deal is not available"), "validation first");
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", d.as_str()),
                ("lead", "cust-0001"),
                ("currency_id", ""),
                ("mode", "reward"),
                ("hash", "x-5"),
            ],
        )
        .await,
        403,
    )
    .await;
    assert!(
        html.contains("Quota exhausted: the plan&#39;s redeem quota is used up"),
        "{html}"
    );
    assert!(t.app.audit_ledger(Some(&s.m)).await.unwrap().is_empty());
    t.stop().await;
}

/// Paging through many coupons, newest first.
async fn coupon_pages(t: TestApp) {
    let s = shop(&t, "Acme").await;
    let scope = Scope::new(&s.m, Env::Prod);
    let d = deal(&t, &s.m, Env::Prod, "Sticker", 3, true).await;
    t.app
        .create_code(&scope, &d, Some("generic_code"), "STICK")
        .await
        .unwrap();
    let (lead, _) = customer(&t, &s, "cust-0001", 0).await;
    for i in 0..55 {
        t.app
            .create_coupon(
                &scope,
                &NewCoupon {
                    deal_id: d.clone(),
                    lead_id: lead.clone(),
                    currency_id: None,
                    hash: format!("h-{i}"),
                    mode: Some("reward".into()),
                },
            )
            .await
            .unwrap();
    }
    let html = s.member.page(&t, "/dashboard/coupons?status=issued").await;
    assert_eq!(listed(&html, "Code"), 50);
    let next = pager_link(&html, "Older").expect("a next page");
    assert!(next.contains("status=issued"));
    let html = s.member.page(&t, &next).await;
    assert_eq!(listed(&html, "Code"), 5);
    assert!(pager_link(&html, "Older").is_none());
    assert_eq!(
        pager_link(&html, "Newest").as_deref(),
        Some("/dashboard/coupons?status=issued")
    );
    // Acting from the second page comes back to it.
    let table = html.split("coupon-table").nth(1).unwrap();
    let back = input_value_by_name(table, "back");
    assert_eq!(unescape(&back), next);
    t.stop().await;
}

async fn merchants_and_environments_stay_apart(t: TestApp) {
    let s = shop(&t, "Acme").await;
    let scope = Scope::new(&s.m, Env::Prod);
    let d = deal(&t, &s.m, Env::Prod, "Free coffee", 3, true).await;
    t.app
        .create_code(&scope, &d, Some("code"), "PROD-CODE")
        .await
        .unwrap();
    let (lead, _) = customer(&t, &s, "cust-0001", 10).await;
    let coupon = t
        .app
        .create_coupon(
            &scope,
            &NewCoupon {
                deal_id: d.clone(),
                lead_id: lead.clone(),
                currency_id: Some(s.currency.clone()),
                hash: "c-1".into(),
                mode: None,
            },
        )
        .await
        .unwrap()
        .coupon;
    let id = coupon.id.to_string();

    // Another merchant sees none of it and cannot touch it.
    let other = shop(&t, "Other").await;
    let o = &other.member;
    for action in ["use", "cancel"] {
        let res = o
            .post(&t, &format!("/dashboard/coupons/{id}/{action}"), &[])
            .await;
        assert_eq!(res.status(), 404, "{action}");
    }
    let html = o.page(&t, "/dashboard/coupons").await;
    assert!(!html.contains("PROD-CODE") && !html.contains("Free coffee"));
    let html = o.page(&t, "/dashboard/coupon-codes").await;
    assert!(!html.contains("PROD-CODE") && !html.contains("Free coffee"));
    let html = refused(
        o.post(
            &t,
            "/dashboard/coupon-codes",
            &[("deal_id", &d), ("kind", "code"), ("value", "THEIRS")],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Deal no such deal"));
    let html = refused(
        o.post(
            &t,
            "/dashboard/coupons",
            &[
                ("deal_id", &d),
                ("lead", &lead),
                ("currency_id", ""),
                ("mode", "reward"),
                ("hash", "steal-1"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Deal no such deal"));
    assert_eq!(
        t.app.coupon(&scope, &id).await.unwrap().status,
        coupon.status,
        "untouched"
    );

    // DEV has its own deals, codes and coupons.
    let m = &s.member;
    m.switch_env(&t, "dev").await;
    let html = m.page(&t, "/dashboard/coupon-codes").await;
    assert!(html.contains("Coupon codes <span class=\"badge badge-muted\">DEV</span>"));
    assert!(!html.contains("Free coffee") && !html.contains("PROD-CODE"));
    let html = m.page(&t, "/dashboard/coupons").await;
    assert!(html.contains("No coupons in DEV yet"));
    assert_eq!(
        m.post(&t, &format!("/dashboard/coupons/{id}/use"), &[])
            .await
            .status(),
        404
    );
    let html = refused(
        m.post(
            &t,
            "/dashboard/coupon-codes/generate",
            &[("deal_id", &d), ("count", "5")],
        )
        .await,
        422,
    )
    .await;
    assert!(html.contains("Deal no such deal"));
    let dev_deal = deal(&t, &s.m, Env::Dev, "Test latte", 3, true).await;
    let res = m
        .upload_codes(
            &t,
            &dev_deal,
            "code",
            "dev.csv",
            b"DEV-1\nPROD-CODE\n".to_vec(),
        )
        .await;
    let html = m.landed(&t, res).await;
    assert!(
        html.contains("Imported 2 codes from dev.csv into Test latte."),
        "values are per environment"
    );
    assert_eq!(stock_of(&html, "Test latte"), (2, 0, 0));
    m.switch_env(&t, "prod").await;
    let html = m.page(&t, "/dashboard/coupon-codes").await;
    assert!(!html.contains("Test latte") && !html.contains("DEV-1"));
    assert_eq!(stock_of(&html, "Free coffee"), (0, 1, 0));
    let html = m.page(&t, "/dashboard/coupons").await;
    assert!(html.contains("<code>PROD-CODE</code>"));
    t.stop().await;
}

on_both_backends!(
    codes_are_added_one_by_one_generated_and_uploaded,
    coupons_are_issued_used_and_cancelled,
    coupon_pages,
    merchants_and_environments_stay_apart,
);
