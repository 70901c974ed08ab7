//! The ledger pages of the dashboard: leads (search, create, edit, delete), their wallets
//! and manual transactions, and the wallet and transaction lists, per environment.

use crate::common::dashboard::{input_value, merchant_with_member, unescape, Member};
use crate::common::TestApp;
use punchcard_app::ledger::{NewLead, NewTransaction, Scope};
use punchcard_app::plans::PlanChange;
use punchcard_domain::{Env, MerchantId};
use punchcard_store::leads::LeadFilter;
use punchcard_store::wallets::TransactionFilter;

impl Member {
    /// Creates a lead through the form; answers its id.
    async fn create_lead(&self, t: &TestApp, fields: &[(&str, &str)]) -> String {
        let res = self.post(t, "/dashboard/leads", fields).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let to = res.headers()["location"].to_str().unwrap().to_string();
        to.strip_prefix("/dashboard/leads/")
            .unwrap_or_else(|| panic!("redirected to {to}"))
            .to_string()
    }
}

/// The `value` of every option of the select `name`.
fn options(html: &str, name: &str) -> Vec<String> {
    let start = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no select {name}"));
    let select = &html[start..html[start..].find("</select>").unwrap() + start];
    select
        .split("<option value=\"")
        .skip(1)
        .map(|o| o.split('"').next().unwrap().to_string())
        .collect()
}

async fn leads_of(t: &TestApp, m: &MerchantId, env: Env) -> Vec<String> {
    t.app
        .list_leads(&Scope::new(m, env), &LeadFilter::default(), None, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.customer_id)
        .collect()
}

async fn transaction_count(t: &TestApp, m: &MerchantId, env: Env) -> usize {
    t.app
        .list_transactions(
            &Scope::new(m, env),
            &TransactionFilter::default(),
            None,
            500,
            false,
        )
        .await
        .unwrap()
        .len()
}

async fn balance(t: &TestApp, m: &MerchantId, env: Env, wallet: &str) -> i64 {
    t.app
        .wallet(&Scope::new(m, env), wallet)
        .await
        .unwrap()
        .balance
}

/// An active merchant with a PTS currency and its owner signed in (PROD by default).
async fn merchant(t: &TestApp, name: &str) -> (MerchantId, Member) {
    let (id, m) = merchant_with_member(t, name, true).await;
    t.app
        .create_currency(&id, "PTS", "Points", "1")
        .await
        .unwrap();
    (id, m)
}

async fn pages_render_and_the_form_creates_a_lead(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    for (path, title) in [
        ("/dashboard/leads", "No leads in PROD yet"),
        ("/dashboard/wallets", "No wallets in PROD yet"),
        (
            "/dashboard/wallet-transactions",
            "No transactions in PROD yet",
        ),
    ] {
        let html = m.page(&t, path).await;
        assert!(html.contains(title), "{path}: {html}");
        for link in [
            "href=\"/dashboard/leads\"",
            "href=\"/dashboard/wallets\"",
            "href=\"/dashboard/wallet-transactions\"",
        ] {
            assert!(html.contains(link), "{path} links {link}");
        }
    }
    let html = m.page(&t, "/dashboard/leads").await;
    assert!(html.contains("0 of 1000 lead quota used in PROD"), "{html}");

    let id = m
        .create_lead(
            &t,
            &[
                ("customer_id", "cust-1042"),
                ("name", "Ada Lovelace"),
                ("email", "Ada@Example.com"),
                ("mobile", "+44 20 7946 0958"),
                ("country", "gb"),
                ("dob", "1990-12-10"),
            ],
        )
        .await;
    assert!(id.starts_with("lead_"), "{id}");
    let html = unescape(&m.page(&t, &format!("/dashboard/leads/{id}")).await);
    assert!(html.contains("Lead cust-1042 created."), "{html}");
    for shown in [
        "Ada Lovelace",
        "ada@example.com",
        "+442079460958",
        "GB",
        "1990-12-10",
    ] {
        assert!(html.contains(shown), "the lead's page shows {shown}");
    }
    assert!(html.contains("No wallet yet"));
    let list = m.page(&t, "/dashboard/leads").await;
    assert!(list.contains(&format!("/dashboard/leads/{id}")));
    assert!(list.contains("1 of 1000 lead quota used in PROD"), "{list}");
    assert_eq!(leads_of(&t, &mid, Env::Prod).await, vec!["cust-1042"]);
    t.stop().await;
}

async fn bad_input_shows_field_errors_and_writes_nothing(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    let res = m
        .post(
            &t,
            "/dashboard/leads",
            &[
                ("customer_id", "ab"),
                ("name", "Grace"),
                ("email", "not-an-email"),
                ("mobile", "0123"),
                ("country", "XX"),
                ("dob", "2999-01-01"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = unescape(&res.text().await.unwrap());
    for message in [
        "Customer id must be between 4 and 64 characters",
        "Email must be an email address",
        "Mobile must be in E.164 form",
        "Country must be an ISO 3166-1 alpha-2 country code",
        "Date of birth must not be in the future",
    ] {
        assert!(html.contains(message), "shows {message:?}: {html}");
    }
    // What was typed stays in the form.
    for (field, typed) in [
        ("customer_id", "ab"),
        ("name", "Grace"),
        ("email", "not-an-email"),
        ("mobile", "0123"),
        ("country", "XX"),
        ("dob", "2999-01-01"),
    ] {
        assert_eq!(input_value(&html, field), typed, "{field} kept");
    }
    assert!(html.contains("field has-error"));

    // Email or mobile is required.
    let res = m
        .post(
            &t,
            "/dashboard/leads",
            &[("customer_id", "cust-0001"), ("email", ""), ("mobile", "")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = unescape(&res.text().await.unwrap());
    assert!(html.contains("Email or mobile is required"), "{html}");
    assert!(leads_of(&t, &mid, Env::Prod).await.is_empty());

    // A customer id already in use is refused next to its field.
    m.create_lead(
        &t,
        &[("customer_id", "cust-0001"), ("email", "a@example.com")],
    )
    .await;
    let res = m
        .post(
            &t,
            "/dashboard/leads",
            &[("customer_id", "cust-0001"), ("email", "b@example.com")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Customer id is already used by another lead"));
    assert_eq!(leads_of(&t, &mid, Env::Prod).await, vec!["cust-0001"]);

    // The edit form: the same checks, nothing saved on error; an emptied field is cleared.
    let id = t
        .app
        .list_leads(
            &Scope::new(&mid, Env::Prod),
            &LeadFilter::default(),
            None,
            1,
        )
        .await
        .unwrap()[0]
        .id
        .to_string();
    let res = m
        .post(
            &t,
            &format!("/dashboard/leads/{id}"),
            &[("customer_id", "cust-0001"), ("email", ""), ("mobile", "")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = unescape(&res.text().await.unwrap());
    assert!(html.contains("Email or mobile is required"));
    let res = m
        .post(
            &t,
            &format!("/dashboard/leads/{id}"),
            &[
                ("customer_id", "cust-0001"),
                ("name", "Grace Hopper"),
                ("email", ""),
                ("mobile", "+14155550123"),
                ("country", "US"),
                ("dob", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let lead = t.app.lead(&Scope::new(&mid, Env::Prod), &id).await.unwrap();
    assert_eq!(lead.name.as_deref(), Some("Grace Hopper"));
    assert_eq!(lead.email, None);
    assert_eq!(lead.mobile.as_deref(), Some("+14155550123"));
    assert!(m
        .page(&t, &format!("/dashboard/leads/{id}"))
        .await
        .contains("Lead details saved."));
    t.stop().await;
}

async fn search_finds_leads_and_pages_through_them(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    let scope = Scope::new(&mid, Env::Prod);
    for (customer_id, name, email, mobile) in [
        (
            "cust-ada",
            "Ada Lovelace",
            "ada@example.com",
            "+14155550101",
        ),
        (
            "cust-grace",
            "Grace Hopper",
            "grace@example.com",
            "+14155550102",
        ),
        (
            "cust-alan",
            "Alan Turing",
            "alan@example.org",
            "+14155550103",
        ),
    ] {
        t.app
            .create_lead(
                &scope,
                NewLead {
                    customer_id: customer_id.into(),
                    name: Some(name.into()),
                    email: Some(email.into()),
                    mobile: Some(mobile.into()),
                    ..NewLead::default()
                },
            )
            .await
            .unwrap();
    }
    let found = |html: &str| {
        ["cust-ada", "cust-grace", "cust-alan"]
            .into_iter()
            .filter(|c| html.contains(&format!("<code>{c}</code>")))
            .collect::<Vec<_>>()
    };
    let html = m.page(&t, "/dashboard/leads?customer_id=cust-grace").await;
    assert_eq!(found(&html), ["cust-grace"]);
    assert!(html.contains("value=\"cust-grace\""), "the search is kept");
    let html = m
        .page(&t, "/dashboard/leads?email=ALAN%40example.org")
        .await;
    assert_eq!(found(&html), ["cust-alan"]);
    let html = m
        .page(&t, "/dashboard/leads?mobile=%2B1+415+555+0101")
        .await;
    assert_eq!(found(&html), ["cust-ada"]);
    let html = m.page(&t, "/dashboard/leads?q=hopper").await;
    assert_eq!(found(&html), ["cust-grace"]);
    let html = m.page(&t, "/dashboard/leads?q=example.com").await;
    assert_eq!(found(&html), ["cust-ada", "cust-grace"]);
    let html = m.page(&t, "/dashboard/leads?customer_id=nobody").await;
    assert!(html.contains("No lead matches this search"));

    // More than a page: "Next page" carries the search and leads on.
    for i in 0..52 {
        t.app
            .create_lead(
                &scope,
                NewLead {
                    customer_id: format!("bulk-{i:03}"),
                    email: Some(format!("bulk{i}@example.net")),
                    ..NewLead::default()
                },
            )
            .await
            .unwrap();
    }
    let html = unescape(&m.page(&t, "/dashboard/leads?q=bulk").await);
    let rows = |html: &str| html.matches("<code>bulk-").count();
    assert_eq!(rows(&html), 50);
    assert!(!html.contains("cust-ada"));
    let next = html
        .split("rel=\"next\"")
        .next()
        .and_then(|h| h.rsplit("href=\"").next())
        .and_then(|h| h.split('"').next())
        .expect("a next page link")
        .to_string();
    assert!(
        next.starts_with("/dashboard/leads?q=bulk&cursor="),
        "{next}"
    );
    let html = m.page(&t, &next).await;
    assert_eq!(rows(&html), 2);
    assert!(!html.contains("rel=\"next\""));
    assert!(html.contains("First page"));
    t.stop().await;
}

async fn other_merchants_and_envs_do_not_mix(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    let (other, _) = merchant(&t, "Other").await;
    let theirs = t
        .app
        .create_lead(
            &Scope::new(&other, Env::Prod),
            NewLead {
                customer_id: "their-customer".into(),
                email: Some("theirs@example.com".into()),
                ..NewLead::default()
            },
        )
        .await
        .unwrap();
    let path = format!("/dashboard/leads/{}", theirs.id);
    assert_eq!(m.get(&t, &path).await.status(), 404);
    for (action, fields) in [
        (
            "",
            vec![("customer_id", "stolen"), ("email", "x@example.com")],
        ),
        ("/delete", vec![]),
        ("/wallets", vec![("currency_id", "cur_x")]),
        (
            "/transactions",
            vec![
                ("wallet_id", "wal_x"),
                ("kind", "reward"),
                ("amount", "5"),
                ("hash", "h-1"),
            ],
        ),
    ] {
        let res = m.post(&t, &format!("{path}{action}"), &fields).await;
        assert_eq!(res.status(), 404, "POST {action}");
    }
    assert_eq!(
        t.app
            .lead(&Scope::new(&other, Env::Prod), theirs.id.as_str())
            .await
            .unwrap(),
        theirs,
        "untouched"
    );
    assert!(!m
        .page(&t, "/dashboard/leads?q=their")
        .await
        .contains("their-customer"));
    assert_eq!(m.get(&t, "/dashboard/leads/nonsense").await.status(), 404);

    // The toggle: a PROD lead is not in DEV, and the other way round.
    let prod = m
        .create_lead(
            &t,
            &[("customer_id", "prod-lead"), ("email", "p@example.com")],
        )
        .await;
    m.switch_env(&t, "dev").await;
    let html = m.page(&t, "/dashboard/leads").await;
    assert!(html.contains("No leads in DEV yet"), "{html}");
    assert!(html.contains("0 of 10 leads in DEV"));
    assert_eq!(
        m.get(&t, &format!("/dashboard/leads/{prod}"))
            .await
            .status(),
        404
    );
    // The same customer id is free in DEV.
    let dev = m
        .create_lead(
            &t,
            &[("customer_id", "prod-lead"), ("email", "d@example.com")],
        )
        .await;
    let html = m.page(&t, "/dashboard/leads").await;
    assert!(html.contains(&dev) && !html.contains(&prod));
    m.switch_env(&t, "prod").await;
    let html = m.page(&t, "/dashboard/leads").await;
    assert!(html.contains(&prod) && !html.contains(&dev));
    assert_eq!(leads_of(&t, &mid, Env::Dev).await, vec!["prod-lead"]);
    assert_eq!(leads_of(&t, &mid, Env::Prod).await, vec!["prod-lead"]);
    t.stop().await;
}

async fn wallets_and_manual_transactions(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    let lead = m
        .create_lead(
            &t,
            &[("customer_id", "cust-7"), ("email", "c7@example.com")],
        )
        .await;
    let page = format!("/dashboard/leads/{lead}");

    // A wallet in the merchant's currency, chosen from a select.
    let html = m.page(&t, &page).await;
    let currencies = options(&html, "currency_id");
    assert_eq!(currencies.len(), 1);
    assert!(!html.contains("Reward or adjust points"), "no wallet yet");
    let res = m
        .post(
            &t,
            &format!("{page}/wallets"),
            &[("currency_id", &currencies[0])],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = m.page(&t, &page).await;
    assert!(html.contains("PTS wallet created."), "{html}");
    assert!(html.contains("The lead has a wallet in every currency"));
    let wallet = options(&html, "wallet_id")[0].clone();
    assert!(wallet.starts_with("wal_"));
    // A second wallet in the same currency is refused.
    let res = m
        .post(
            &t,
            &format!("{page}/wallets"),
            &[("currency_id", &currencies[0])],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("The lead already has a wallet in this currency"));
    let res = m
        .post(
            &t,
            &format!("{page}/wallets"),
            &[("currency_id", "cur_nope")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("No such currency"));

    // A reward with the hash the form carries.
    let hash = input_value(&html, "hash");
    assert!(hash.starts_with("manual-"), "{hash}");
    let reward = [
        ("wallet_id", wallet.as_str()),
        ("kind", "reward"),
        ("amount", "100"),
        ("description", "Welcome gift"),
        ("hash", hash.as_str()),
    ];
    let res = m.post(&t, &format!("{page}/transactions"), &reward).await;
    assert_eq!(res.status(), 303);
    assert_eq!(balance(&t, &mid, Env::Prod, &wallet).await, 100);
    let html = m.page(&t, &page).await;
    assert!(html.contains("the wallet now holds 100 PTS"), "{html}");
    assert!(html.contains("Welcome gift"));
    assert_ne!(input_value(&html, "hash"), hash, "a fresh hash per form");

    // The same form again (a double click, a reload): recorded once.
    let res = m.post(&t, &format!("{page}/transactions"), &reward).await;
    assert_eq!(res.status(), 303);
    assert_eq!(balance(&t, &mid, Env::Prod, &wallet).await, 100);
    assert_eq!(transaction_count(&t, &mid, Env::Prod).await, 1);
    let html = m.page(&t, &page).await;
    assert!(
        html.contains("recorded once and is not applied again"),
        "{html}"
    );

    // The same hash for another amount is refused; nothing is written.
    let res = m
        .post(
            &t,
            &format!("{page}/transactions"),
            &[
                ("wallet_id", wallet.as_str()),
                ("kind", "reward"),
                ("amount", "999"),
                ("hash", hash.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Hash was already used for a different transaction"),
        "{html}"
    );
    assert_eq!(input_value(&html, "amount"), "999", "the amount is kept");
    assert_ne!(input_value(&html, "hash"), hash, "a fresh hash is offered");
    assert_eq!(balance(&t, &mid, Env::Prod, &wallet).await, 100);

    // An adjustment down.
    let html = m.page(&t, &page).await;
    let res = m
        .post(
            &t,
            &format!("{page}/transactions"),
            &[
                ("wallet_id", wallet.as_str()),
                ("kind", "adjust"),
                ("amount", "-30"),
                ("description", "Correction"),
                ("hash", &input_value(&html, "hash")),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(balance(&t, &mid, Env::Prod, &wallet).await, 70);

    // Below zero: refused with the balance named, nothing written.
    let html = m.page(&t, &page).await;
    let res = m
        .post(
            &t,
            &format!("{page}/transactions"),
            &[
                ("wallet_id", wallet.as_str()),
                ("kind", "adjust"),
                ("amount", "-500"),
                ("hash", &input_value(&html, "hash")),
            ],
        )
        .await;
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Insufficient balance: the wallet holds 70 PTS, so 500 PTS cannot be taken away. Nothing was written."),
        "{html}"
    );
    assert_eq!(input_value(&html, "amount"), "-500");
    assert_eq!(balance(&t, &mid, Env::Prod, &wallet).await, 70);
    assert_eq!(transaction_count(&t, &mid, Env::Prod).await, 2);

    // Bad amounts and kinds are refused next to their field.
    for (kind, amount, message) in [
        ("reward", "abc", "Amount must be a whole number of points"),
        ("reward", "", "Amount is required"),
        ("reward", "-5", "Amount must be positive for a reward"),
        ("adjust", "0", "Amount must not be zero"),
        ("redeem", "5", "Kind only reward and adjust"),
    ] {
        let res = m
            .post(
                &t,
                &format!("{page}/transactions"),
                &[
                    ("wallet_id", wallet.as_str()),
                    ("kind", kind),
                    ("amount", amount),
                    ("hash", "manual-bad-input"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "{kind} {amount}");
        let html = unescape(&res.text().await.unwrap());
        let shown =
            html.contains(message) || (kind == "redeem" && html.contains("Only reward and adjust"));
        assert!(shown, "{message}: {html}");
    }
    assert_eq!(transaction_count(&t, &mid, Env::Prod).await, 2);

    // The page lists the lead's transactions, newest first.
    let html = m.page(&t, &page).await;
    let adjust = html.find("Correction").unwrap();
    let gift = html.find("Welcome gift").unwrap();
    assert!(adjust < gift, "newest first");
    assert!(html.contains("-30 PTS") && html.contains("+100 PTS"));

    // The wallet and transaction lists, with their filters.
    let html = m.page(&t, "/dashboard/wallets").await;
    assert!(html.contains(&wallet) && html.contains(&format!("/dashboard/leads/{lead}")));
    let html = m.page(&t, "/dashboard/wallets?lead=cust-7").await;
    assert!(html.contains(&wallet));
    let html = m.page(&t, "/dashboard/wallets?lead=cust-unknown").await;
    assert!(html.contains("No wallet matches these filters"));
    let html = m
        .page(
            &t,
            &format!("/dashboard/wallets?currency_id={}", currencies[0]),
        )
        .await;
    assert!(html.contains(&wallet));
    let html = m.page(&t, "/dashboard/wallet-transactions").await;
    assert!(html.contains("Welcome gift") && html.contains("Correction"));
    assert!(html.find("Correction").unwrap() < html.find("Welcome gift").unwrap());
    let html = m
        .page(&t, "/dashboard/wallet-transactions?kind=adjust")
        .await;
    assert!(html.contains("Correction") && !html.contains("Welcome gift"));
    let html = m
        .page(
            &t,
            &format!("/dashboard/wallet-transactions?wallet_id={wallet}&kind=reward"),
        )
        .await;
    assert!(html.contains("Welcome gift") && !html.contains("Correction"));
    let html = m
        .page(&t, &format!("/dashboard/wallet-transactions?lead={lead}"))
        .await;
    assert!(html.contains("Welcome gift"));

    // DEV sees none of it.
    m.switch_env(&t, "dev").await;
    assert!(m
        .page(&t, "/dashboard/wallets")
        .await
        .contains("No wallets in DEV yet"));
    assert!(m
        .page(&t, "/dashboard/wallet-transactions")
        .await
        .contains("No transactions in DEV yet"));
    assert!(t.app.audit_ledger(Some(&mid)).await.unwrap().is_empty());
    t.stop().await;
}

async fn caps_and_quotas_are_explained(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    // DEV holds at most 10 leads.
    m.switch_env(&t, "dev").await;
    for i in 0..10 {
        t.app
            .create_lead(
                &Scope::new(&mid, Env::Dev),
                NewLead {
                    customer_id: format!("dev-{i:02}"),
                    email: Some(format!("dev{i}@example.com")),
                    ..NewLead::default()
                },
            )
            .await
            .unwrap();
    }
    assert!(m
        .page(&t, "/dashboard/leads")
        .await
        .contains("10 of 10 leads in DEV"));
    let res = m
        .post(
            &t,
            "/dashboard/leads",
            &[("customer_id", "dev-eleven"), ("email", "e@example.com")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Limit reached: at most 10 leads in dev"),
        "{html}"
    );
    assert_eq!(input_value(&html, "customer_id"), "dev-eleven");
    assert_eq!(leads_of(&t, &mid, Env::Dev).await.len(), 10);

    // PROD: the plan's quotas.
    m.switch_env(&t, "prod").await;
    let lead = m
        .create_lead(
            &t,
            &[("customer_id", "prod-1"), ("email", "p1@example.com")],
        )
        .await;
    t.app
        .set_plan(
            &mid,
            PlanChange {
                leads: Some(1),
                rewards: Some(0),
                ..PlanChange::default()
            },
        )
        .await
        .unwrap();
    let res = m
        .post(
            &t,
            "/dashboard/leads",
            &[("customer_id", "prod-2"), ("email", "p2@example.com")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = unescape(&res.text().await.unwrap());
    assert!(
        html.contains("The plan's lead quota is used up, so no lead was created"),
        "{html}"
    );
    assert_eq!(leads_of(&t, &mid, Env::Prod).await, vec!["prod-1"]);

    let page = format!("/dashboard/leads/{lead}");
    let html = m.page(&t, &page).await;
    let currency = options(&html, "currency_id")[0].clone();
    m.post(
        &t,
        &format!("{page}/wallets"),
        &[("currency_id", &currency)],
    )
    .await;
    let html = m.page(&t, &page).await;
    assert!(html.contains("0 of 0 reward quota used in PROD"), "{html}");
    let wallet = options(&html, "wallet_id")[0].clone();
    let res = m
        .post(
            &t,
            &format!("{page}/transactions"),
            &[
                ("wallet_id", wallet.as_str()),
                ("kind", "reward"),
                ("amount", "10"),
                ("hash", &input_value(&html, "hash")),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    let html = unescape(&res.text().await.unwrap());
    assert!(
        html.contains("The plan's reward quota is used up, so nothing was rewarded"),
        "{html}"
    );
    assert_eq!(transaction_count(&t, &mid, Env::Prod).await, 0);
    t.stop().await;
}

async fn delete_erases_the_lead_and_keeps_the_ledger(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    let lead = m
        .create_lead(
            &t,
            &[
                ("customer_id", "cust-gone"),
                ("name", "Erased Person"),
                ("email", "erased@example.com"),
                ("mobile", "+14155550199"),
            ],
        )
        .await;
    let page = format!("/dashboard/leads/{lead}");
    let html = m.page(&t, &page).await;
    assert!(html.contains("data-confirm=\"Delete cust-gone?"));
    let currency = options(&html, "currency_id")[0].clone();
    m.post(
        &t,
        &format!("{page}/wallets"),
        &[("currency_id", &currency)],
    )
    .await;
    let html = m.page(&t, &page).await;
    let wallet = options(&html, "wallet_id")[0].clone();
    m.post(
        &t,
        &format!("{page}/transactions"),
        &[
            ("wallet_id", wallet.as_str()),
            ("kind", "reward"),
            ("amount", "40"),
            ("hash", &input_value(&html, "hash")),
        ],
    )
    .await;

    let res = m.post(&t, &format!("{page}/delete"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/dashboard/leads");
    let html = m.page(&t, "/dashboard/leads").await;
    assert!(html.contains("personal data is erased"), "{html}");
    assert!(!html.contains("Erased Person") && !html.contains("erased@example.com"));
    assert_eq!(m.get(&t, &page).await.status(), 404);
    assert_eq!(
        m.post(&t, &format!("{page}/delete"), &[]).await.status(),
        404
    );
    // The personal data is gone from the database, not just hidden.
    let mut conn = t.app.db.conn().await.unwrap();
    let row = punchcard_store::query(
        "SELECT customer_id, name, email, mobile FROM leads WHERE merchant_id = $1 AND id = $2",
    )
    .bind(mid.as_str())
    .bind(&lead)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let left: (String, Option<String>, Option<String>, Option<String>) = (
        row.at(0).unwrap(),
        row.at(1).unwrap(),
        row.at(2).unwrap(),
        row.at(3).unwrap(),
    );
    drop(conn);
    assert_eq!(left, (lead.clone(), None, None, None));
    // The ledger stays: the wallet and its transaction are listed.
    let html = m.page(&t, "/dashboard/wallets").await;
    assert!(html.contains(&wallet));
    let html = m.page(&t, "/dashboard/wallet-transactions").await;
    assert!(html.contains("+40 PTS"));
    assert_eq!(balance(&t, &mid, Env::Prod, &wallet).await, 40);
    // The customer id can be used again.
    m.create_lead(
        &t,
        &[("customer_id", "cust-gone"), ("email", "new@example.com")],
    )
    .await;
    t.stop().await;
}

/// The lead's transactions come 20 to a page and the ledger 50, newest first, with links on.
async fn transactions_are_paged_newest_first(t: TestApp) {
    let (mid, m) = merchant(&t, "Acme").await;
    let scope = Scope::new(&mid, Env::Prod);
    let lead = m
        .create_lead(
            &t,
            &[("customer_id", "cust-many"), ("email", "m@example.com")],
        )
        .await;
    let currency = t.app.list_currencies(&mid, None, 1).await.unwrap()[0]
        .id
        .to_string();
    let wallet = t
        .app
        .create_wallet(&scope, &lead, &currency)
        .await
        .unwrap()
        .id
        .to_string();
    for i in 1..=52 {
        // Ids sort by time to the millisecond: one entry per millisecond at most.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        t.app
            .create_transaction(
                &scope,
                &NewTransaction {
                    wallet_id: wallet.clone(),
                    kind: "reward".into(),
                    amount: 1,
                    hash: format!("order-{i}"),
                    description: Some(format!("entry #{i}.")),
                },
            )
            .await
            .unwrap();
    }
    let entries = |html: &str| -> Vec<u32> {
        html.split("entry #")
            .skip(1)
            .map(|r| r.split('.').next().unwrap().parse().unwrap())
            .collect()
    };
    let next_of = |html: &str| -> Option<String> {
        let html = unescape(html);
        html.contains("rel=\"next\"").then(|| {
            html.split("rel=\"next\"")
                .next()
                .and_then(|h| h.rsplit("href=\"").next())
                .and_then(|h| h.split('"').next())
                .unwrap()
                .to_string()
        })
    };
    let html = m.page(&t, &format!("/dashboard/leads/{lead}")).await;
    assert_eq!(entries(&html), (33..=52).rev().collect::<Vec<_>>());
    let next = next_of(&html).expect("older transactions");
    assert!(next.ends_with("#transactions"), "{next}");
    let html = m.page(&t, &next).await;
    assert_eq!(entries(&html), (13..=32).rev().collect::<Vec<_>>());
    let html = m.page(&t, &next_of(&html).expect("older still")).await;
    assert_eq!(entries(&html), (1..=12).rev().collect::<Vec<_>>());
    assert!(next_of(&html).is_none());

    let html = m.page(&t, "/dashboard/wallet-transactions").await;
    assert_eq!(entries(&html), (3..=52).rev().collect::<Vec<_>>());
    let next = next_of(&html).expect("a second page");
    let html = m.page(&t, &next).await;
    assert_eq!(entries(&html), vec![2, 1]);
    assert_eq!(balance(&t, &mid, Env::Prod, &wallet).await, 52);
    t.stop().await;
}

on_both_backends!(
    pages_render_and_the_form_creates_a_lead,
    bad_input_shows_field_errors_and_writes_nothing,
    search_finds_leads_and_pages_through_them,
    other_merchants_and_envs_do_not_mix,
    wallets_and_manual_transactions,
    caps_and_quotas_are_explained,
    delete_erases_the_lead_and_keeps_the_ledger,
    transactions_are_paged_newest_first,
);
