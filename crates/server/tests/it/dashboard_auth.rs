//! Dashboard accounts over HTTP: sign-up and sign-in with emailed codes, sessions, CSRF,
//! throttles, reporting a login, and answers that never reveal whether an email exists.

use crate::common::dashboard::{
    csrf_of, get, latest_code, location, mails_to, page_csrf, post, sign_in,
};
use crate::common::{unique_email, TestApp};
use punchcard_app::merchants::NewMerchant;
use punchcard_domain::{Env, MerchantId};
use reqwest::{Client, Response, StatusCode};

const PASSWORD: &str = "Correct-Horse-9";

/// Starts a sign-up; answers the response to the form post.
async fn start_sign_up(app: &TestApp, client: &Client, email: &str) -> Response {
    let csrf = page_csrf(app, client, "/dashboard/signup").await;
    post(
        app,
        client,
        "/dashboard/signup",
        &[
            ("_csrf", &csrf),
            ("email", email),
            ("password", PASSWORD),
            ("business_name", "Corner Bakery"),
        ],
    )
    .await
}

/// Signs up all the way; the client ends signed in.
async fn sign_up(app: &TestApp, client: &Client, email: &str) {
    let res = start_sign_up(app, client, email).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/signup/verify");
    let csrf = page_csrf(app, client, "/dashboard/signup/verify").await;
    let code = latest_code(app, email);
    let res = post(
        app,
        client,
        "/dashboard/signup/verify",
        &[("_csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(location(&res), "/dashboard");
}

/// An active merchant created by the operator, with a known owner email.
async fn operator_merchant(app: &TestApp, email: &str) -> MerchantId {
    let new = NewMerchant::parse("Harbour Coffee", email, PASSWORD, true).unwrap();
    app.app.create_merchant(new).await.unwrap().0
}

async fn sign_up_then_sign_in(app: TestApp) {
    let email = unique_email("owner");
    let browser = app.browser_client();
    sign_up(&app, &browser, &email).await;

    // Pending KYC: the overview sends the member to the profile page; security pages work.
    let res = get(&app, &browser, "/dashboard").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/profile");
    let res = get(&app, &browser, "/dashboard/login-activities").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Corner Bakery") && html.contains(&email) && html.contains("127.0.0.1"));
    assert!(
        html.contains("Welcome to Punchcard"),
        "the flash of the sign-up shows once"
    );
    let html = get(&app, &browser, "/dashboard/login-activities")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Welcome to Punchcard"));

    // The operator approves KYC: the overview opens, in PROD.
    let merchant = app
        .app
        .list_merchants()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == "Corner Bakery")
        .unwrap();
    app.app.activate_merchant(&merchant.id).await.unwrap();
    let res = get(&app, &browser, "/dashboard").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("PROD") && html.contains("Overview"));

    // The toggle switches the session to DEV and back to the same page.
    let csrf = csrf_of(&html);
    let res = post(
        &app,
        &browser,
        "/dashboard/env",
        &[("_csrf", &csrf), ("env", "dev"), ("back", "/dashboard")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard");
    let html = get(&app, &browser, "/dashboard")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("DEV environment"));

    // Sign-out ends the session, and the old cookie opens nothing any more.
    let cookie = session_cookie_of(&app, &browser).await;
    let res = post(&app, &browser, "/dashboard/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/login");
    let res = get(&app, &browser, "/dashboard").await;
    assert_eq!(location(&res), "/dashboard/login");
    let replay = app
        .client
        .get(app.url("/dashboard/notifications"))
        .header("cookie", format!("punchcard_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/dashboard/login");

    // Sign-in: code, session, login alert and a second login activity.
    let other = app.browser_client();
    sign_in(&app, &other, &email, PASSWORD).await;
    let alerts: Vec<_> = mails_to(&app.mail_dir, &email)
        .into_iter()
        .filter(|m| m.contains("Subject: New sign-in to your Punchcard account"))
        .collect();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].contains("127.0.0.1"));
    let html = get(&app, &other, "/dashboard/login-activities")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("/report\"").count(),
        2,
        "sign-up and sign-in are both listed"
    );
    // Same address as before: no new-IP notification.
    let notes = app.app.list_notifications(&merchant.id).await.unwrap();
    assert!(notes.iter().all(|n| n.kind != "new_login_ip"));
    app.stop().await;
}

/// The session cookie the client holds, read back by asking the server for a page with it.
async fn session_cookie_of(app: &TestApp, _client: &Client) -> String {
    // reqwest's jar is not readable; sign in on a plain client instead to get a raw cookie.
    let email = unique_email("raw");
    operator_merchant(app, &email).await;
    let csrf_res = get(app, &app.client, "/dashboard/login").await;
    let pre = csrf_res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("punchcard_csrf="))
        .unwrap();
    let pre = pre.split(';').next().unwrap().to_string();
    let token = csrf_of(&csrf_res.text().await.unwrap());
    let res = app
        .client
        .post(app.url("/dashboard/login"))
        .header("cookie", &pre)
        .form(&[
            ("_csrf", token.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let challenge = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("punchcard_otp="))
        .unwrap();
    let challenge = challenge.split(';').next().unwrap().to_string();
    let code = latest_code(app, &email);
    let res = app
        .client
        .post(app.url("/dashboard/login/verify"))
        .header("cookie", format!("{pre}; {challenge}"))
        .form(&[("_csrf", token.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("punchcard_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/")
    );
    let value = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("punchcard_session=")
        .to_string();
    // Sign that session out too, so replaying it must fail.
    let page = app
        .client
        .get(app.url("/dashboard/notifications"))
        .header("cookie", format!("punchcard_session={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_of(&page.text().await.unwrap());
    let out = app
        .client
        .post(app.url("/dashboard/logout"))
        .header("cookie", format!("punchcard_session={value}"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    value
}

async fn five_wrong_codes_burn_the_code(app: TestApp) {
    let email = unique_email("brute");
    let browser = app.browser_client();
    let res = start_sign_up(&app, &browser, &email).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let csrf = page_csrf(&app, &browser, "/dashboard/signup/verify").await;
    let code = latest_code(&app, &email);
    let wrong: Vec<String> = (0..10u32)
        .map(|i| format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .filter(|c| *c != code)
        .take(5)
        .collect();
    for (i, w) in wrong.iter().enumerate() {
        let res = post(
            &app,
            &browser,
            "/dashboard/signup/verify",
            &[("_csrf", &csrf), ("code", w)],
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong code {i}"
        );
        assert!(res.text().await.unwrap().contains("wrong code"));
    }
    let res = post(
        &app,
        &browser,
        "/dashboard/signup/verify",
        &[("_csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("too many wrong codes"));
    let res = get(&app, &browser, "/dashboard/notifications").await;
    assert_eq!(location(&res), "/dashboard/login", "no session was opened");
    assert!(
        app.app.list_merchants().await.unwrap().is_empty(),
        "no account was created"
    );
    app.stop().await;
}

async fn resend_is_throttled(app: TestApp) {
    let email = unique_email("resend");
    let browser = app.browser_client();
    let res = start_sign_up(&app, &browser, &email).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let csrf = page_csrf(&app, &browser, "/dashboard/signup/verify").await;
    let res = post(
        &app,
        &browser,
        "/dashboard/signup/resend",
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("You can request a new code in"));
    assert_eq!(mails_to(&app.mail_dir, &email).len(), 1, "no second mail");
    app.stop().await;
}

async fn posts_without_a_valid_token_are_refused(app: TestApp) {
    let browser = app.browser_client();
    let email = unique_email("csrf");
    let res = post(
        &app,
        &browser,
        "/dashboard/signup",
        &[("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let _ = page_csrf(&app, &browser, "/dashboard/login").await;
    let res = post(
        &app,
        &browser,
        "/dashboard/login",
        &[
            ("_csrf", "forged"),
            ("email", &email),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(mails_to(&app.mail_dir, &email).is_empty());

    // Signed in: a post without the token does not sign out.
    operator_merchant(&app, &email).await;
    sign_in(&app, &browser, &email, PASSWORD).await;
    let res = post(&app, &browser, "/dashboard/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = get(&app, &browser, "/dashboard").await;
    assert_eq!(res.status(), StatusCode::OK);
    app.stop().await;
}

async fn reporting_a_login_freezes_the_merchant(app: TestApp) {
    let email = unique_email("report");
    let merchant = operator_merchant(&app, &email).await;
    let key = app.api_key(&merchant, Env::Prod).await;
    assert_eq!(
        app.api(&key).get("/api/v1/currencies").await.status(),
        StatusCode::OK
    );
    let first = app.browser_client();
    let second = app.browser_client();
    sign_in(&app, &first, &email, PASSWORD).await;
    sign_in(&app, &second, &email, PASSWORD).await;

    let html = get(&app, &first, "/dashboard/login-activities")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let start = html
        .find("/dashboard/login-activities/login_")
        .expect("a report action");
    let action = html[start..].split('"').next().unwrap().to_string();
    let res = post(&app, &first, &action, &[("_csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let frozen = format!("/dashboard/frozen?merchant={merchant}");
    assert_eq!(location(&res), frozen);
    let page = get(&app, &first, &frozen).await.text().await.unwrap();
    // The page names the merchant id the operator asks for.
    assert!(page.contains(&format!("punchcard admin merchant unfreeze {merchant}")));
    assert!(page.contains(&format!(
        "<code id=\"frozen-merchant-id\">{merchant}</code>"
    )));
    // A link naming another merchant that is not frozen shows no id.
    let other = operator_merchant(&app, &unique_email("other")).await;
    let page = get(&app, &first, &format!("/dashboard/frozen?merchant={other}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(other.as_str()));
    assert!(page.contains("punchcard admin merchant unfreeze MERCHANT_ID"));

    // Every session ended, the API refuses the keys, and signing in leads to the frozen page.
    for client in [&first, &second] {
        let res = get(&app, client, "/dashboard/login-activities").await;
        assert_eq!(location(&res), "/dashboard/login");
    }
    app.api(&key)
        .get("/api/v1/currencies")
        .await
        .assert_problem(403, "account_frozen");
    let csrf = page_csrf(&app, &first, "/dashboard/login").await;
    let res = post(
        &app,
        &first,
        "/dashboard/login",
        &[("_csrf", &csrf), ("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(location(&res), frozen);

    // Unfreezing does not revive the old sessions.
    app.app.unfreeze_merchant(&merchant).await.unwrap();
    let res = get(&app, &second, "/dashboard").await;
    assert_eq!(location(&res), "/dashboard/login");
    app.stop().await;
}

async fn unknown_email_and_wrong_password_answer_alike(app: TestApp) {
    let known = unique_email("known");
    operator_merchant(&app, &known).await;
    let unknown = unique_email("nobody");
    let browser = app.browser_client();
    let csrf = page_csrf(&app, &browser, "/dashboard/login").await;

    let started = std::time::Instant::now();
    let a = post(
        &app,
        &browser,
        "/dashboard/login",
        &[
            ("_csrf", &csrf),
            ("email", &unknown),
            ("password", PASSWORD),
        ],
    )
    .await;
    let unknown_took = started.elapsed();
    let started = std::time::Instant::now();
    let b = post(
        &app,
        &browser,
        "/dashboard/login",
        &[
            ("_csrf", &csrf),
            ("email", &known),
            ("password", "Wrong-Horse-99"),
        ],
    )
    .await;
    let wrong_took = started.elapsed();
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(a.status(), b.status());
    let a = a.text().await.unwrap().replace(&unknown, "EMAIL");
    let b = b.text().await.unwrap().replace(&known, "EMAIL");
    assert_eq!(a, b);
    assert!(a.contains("Email or password is incorrect."));
    // Both paths verify one argon2 hash: neither is many times faster than the other.
    let (fast, slow) = if unknown_took < wrong_took {
        (unknown_took, wrong_took)
    } else {
        (wrong_took, unknown_took)
    };
    assert!(
        slow < fast * 5 + std::time::Duration::from_millis(50),
        "{unknown_took:?} vs {wrong_took:?}"
    );
    assert!(
        mails_to(&app.mail_dir, &known).is_empty() && mails_to(&app.mail_dir, &unknown).is_empty()
    );
    app.stop().await;
}

async fn wrong_passwords_are_throttled(app: TestApp) {
    let email = unique_email("throttle");
    operator_merchant(&app, &email).await;
    let browser = app.browser_client();
    let csrf = page_csrf(&app, &browser, "/dashboard/login").await;
    for _ in 0..10 {
        let res = post(
            &app,
            &browser,
            "/dashboard/login",
            &[
                ("_csrf", &csrf),
                ("email", &email),
                ("password", "Wrong-Horse-99"),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password gets the neutral answer, as does an unknown email from here.
    let res = post(
        &app,
        &browser,
        "/dashboard/login",
        &[("_csrf", &csrf), ("email", &email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("Too many attempts"));
    let res = post(
        &app,
        &browser,
        "/dashboard/login",
        &[
            ("_csrf", &csrf),
            ("email", &unique_email("x")),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the IP is throttled too"
    );
    app.stop().await;
}

async fn sign_up_with_a_registered_email_reveals_nothing(app: TestApp) {
    let known = unique_email("taken");
    operator_merchant(&app, &known).await;
    let fresh = unique_email("fresh");
    let a = start_sign_up(&app, &app.browser_client(), &fresh).await;
    let b = start_sign_up(&app, &app.browser_client(), &known).await;
    assert_eq!(a.status(), b.status());
    assert_eq!(location(&a), location(&b));
    let warning = mails_to(&app.mail_dir, &known);
    assert_eq!(warning.len(), 1);
    assert!(warning[0].contains("Subject: Someone tried to sign up with your email"));
    assert!(!warning[0]
        .lines()
        .any(|l| l.trim().len() == 6 && l.trim().chars().all(|c| c.is_ascii_digit())));
    assert_eq!(app.app.list_merchants().await.unwrap().len(), 1);
    app.stop().await;
}

async fn signup_form_shows_field_errors(app: TestApp) {
    let browser = app.browser_client();
    let csrf = page_csrf(&app, &browser, "/dashboard/signup").await;
    let res = post(
        &app,
        &browser,
        "/dashboard/signup",
        &[
            ("_csrf", &csrf),
            ("email", "not-an-email"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Email must be an email address"));
    assert!(html.contains("Password must be at least 10 characters"));
    assert!(html.contains("value=\"not-an-email\""), "input is kept");
    app.stop().await;
}

async fn pages_and_assets(app: TestApp) {
    let res = get(&app, &app.client, "/assets/app.css").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .client
        .get(app.url("/assets/app.css"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = get(&app, &app.client, "/no/such/page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
    let res = get(&app, &app.client, "/dashboard").await;
    assert_eq!(location(&res), "/dashboard/login");
    app.stop().await;
}

on_both_backends!(
    sign_up_then_sign_in,
    five_wrong_codes_burn_the_code,
    resend_is_throttled,
    posts_without_a_valid_token_are_refused,
    reporting_a_login_freezes_the_merchant,
    unknown_email_and_wrong_password_answer_alike,
    wrong_passwords_are_throttled,
    sign_up_with_a_registered_email_reveals_nothing,
    signup_form_shows_field_errors,
    pages_and_assets,
);

/// A browser behind a trusted proxy that reports `ip` as the client.
fn browser_from(ip: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_from_a_new_address_is_notified() {
    let app = TestApp::start(crate::common::Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    .unwrap();
    let email = unique_email("newip");
    let merchant = operator_merchant(&app, &email).await;
    sign_in(&app, &browser_from("198.51.100.7"), &email, PASSWORD).await;
    sign_in(&app, &browser_from("198.51.100.7"), &email, PASSWORD).await;
    let new_ip = |notes: &[punchcard_store::notifications::NotificationRow]| {
        notes.iter().filter(|n| n.kind == "new_login_ip").count()
    };
    assert_eq!(
        new_ip(&app.app.list_notifications(&merchant).await.unwrap()),
        0,
        "first and known addresses are quiet"
    );
    let browser = browser_from("203.0.113.50");
    sign_in(&app, &browser, &email, PASSWORD).await;
    let notes = app.app.list_notifications(&merchant).await.unwrap();
    assert_eq!(new_ip(&notes), 1);
    assert!(notes[0].body.contains("203.0.113.50"));

    // The page lists it as new, then marks it read.
    let html = get(&app, &browser, "/dashboard/notifications")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign-in from a new IP address") && html.contains("unread"));
    assert_eq!(app.app.unread_notifications(&merchant).await.unwrap(), 0);
    let html = get(&app, &browser, "/dashboard/login-activities")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("203.0.113.50") && html.contains("198.51.100.7"));
    app.stop().await;
}

/// A minimal SMTP server: collects every message it receives as (recipients, data).
async fn smtp_server() -> (
    u16,
    std::sync::Arc<tokio::sync::Mutex<Vec<(Vec<String>, String)>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let store = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test ESMTP\r\n").await;
                let mut rcpts = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        rcpts.push(line[8..].trim().to_string());
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        let _ = write.write_all(b"354 go ahead\r\n").await;
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().await.push((std::mem::take(&mut rcpts), data));
                        b"250 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, inbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_codes_arrive_over_smtp() {
    let (port, inbox) = smtp_server().await;
    let app = TestApp::start(crate::common::Backend::Sqlite, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}?tls=none"));
    })
    .await
    .unwrap();
    let email = unique_email("smtp");
    let browser = app.browser_client();
    let res = start_sign_up(&app, &browser, &email).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (rcpts, data) = inbox
        .lock()
        .await
        .last()
        .cloned()
        .expect("a message arrived");
    assert_eq!(rcpts, vec![format!("<{email}>")]);
    assert!(data.contains("Subject: Your Punchcard sign-up code"));
    let code = data
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .expect("a code in the message")
        .to_string();
    assert!(
        mails_to(&app.mail_dir, &email).is_empty(),
        "no file when SMTP is set"
    );
    let csrf = page_csrf(&app, &browser, "/dashboard/signup/verify").await;
    let res = post(
        &app,
        &browser,
        "/dashboard/signup/verify",
        &[("_csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard");
    app.stop().await;
}
