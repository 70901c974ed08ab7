//! Passwords over HTTP: strength checked by zxcvbn on every form that sets one, a reset by an
//! emailed link (single use, expiring, the same answer for unknown addresses, CSRF-checked),
//! and a signed-in member's change that asks for the current password.

use std::time::Duration;

use crate::common::dashboard::{csrf_of, get, location, mails_to, page_csrf, post, sign_in};
use crate::common::{unique_email, TestApp};
use punchcard_app::merchants::NewMerchant;
use punchcard_domain::time::Timestamp;
use reqwest::{Client, StatusCode};

const PASSWORD: &str = "Correct-Horse-9";
const NEW_PASSWORD: &str = "Velvet-Orbit-Lantern-31";

async fn operator_merchant(app: &TestApp, email: &str) {
    let new = NewMerchant::parse("Harbour Coffee", email, PASSWORD, true).unwrap();
    app.app.create_merchant(new).await.unwrap();
}

/// The mails to `to` whose subject says `subject`, waiting a little for one sent after the
/// answer.
async fn mails_about(app: &TestApp, to: &str, subject: &str, want: usize) -> Vec<String> {
    for _ in 0..50 {
        let found: Vec<String> = mails_to(&app.mail_dir, to)
            .into_iter()
            .filter(|m| m.contains(subject))
            .collect();
        if found.len() >= want {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

/// The reset link path of a mail.
fn reset_path(mail: &str) -> String {
    let start = mail
        .find("/dashboard/password/reset/")
        .expect("a reset link");
    mail[start..].split_whitespace().next().unwrap().to_string()
}

/// Asks for a reset link; answers the page.
async fn ask_reset(app: &TestApp, client: &Client, email: &str) -> (StatusCode, String) {
    let csrf = page_csrf(app, client, "/dashboard/password/forgot").await;
    let res = post(
        app,
        client,
        "/dashboard/password/forgot",
        &[("_csrf", &csrf), ("email", email)],
    )
    .await;
    (res.status(), res.text().await.unwrap())
}

/// Whether the browser is signed in (the dashboard does not send it to the sign-in page).
async fn signed_in(app: &TestApp, client: &Client) -> bool {
    let res = get(app, client, "/dashboard/notifications").await;
    res.status() == StatusCode::OK
}

async fn password_accepted(app: &TestApp, email: &str, password: &str) -> bool {
    let client = app.browser_client();
    let csrf = page_csrf(app, &client, "/dashboard/login").await;
    let res = post(
        app,
        &client,
        "/dashboard/login",
        &[("_csrf", &csrf), ("email", email), ("password", password)],
    )
    .await;
    res.status() == StatusCode::SEE_OTHER
}

async fn guessable_passwords_are_refused_with_advice(app: TestApp) {
    let browser = app.browser_client();
    let csrf = page_csrf(&app, &browser, "/dashboard/signup").await;
    let email = unique_email("weak");
    let res = post(
        &app,
        &browser,
        "/dashboard/signup",
        &[
            ("_csrf", &csrf),
            ("email", &email),
            ("password", "Password1!"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Password is too easy to guess."), "{html}");
    assert!(mails_to(&app.mail_dir, &email).is_empty(), "no code sent");
    // The business name counts as a guess too.
    let res = post(
        &app,
        &browser,
        "/dashboard/signup",
        &[
            ("_csrf", &csrf),
            ("email", &email),
            ("password", "marigoldbakery"),
            ("business_name", "Marigold Bakery"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Password is too easy to guess."));
    app.stop().await;
}

async fn a_reset_link_works_once(app: TestApp) {
    let email = unique_email("reset");
    operator_merchant(&app, &email).await;
    let elsewhere = app.browser_client();
    sign_in(&app, &elsewhere, &email, PASSWORD).await;

    let browser = app.browser_client();
    let (status, html) = ask_reset(&app, &browser, &email).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("If an account uses that address"));
    let mails = mails_about(&app, &email, "Reset your Punchcard password", 1).await;
    assert_eq!(mails.len(), 1, "one link mailed");
    let link = reset_path(&mails[0]);

    let res = get(&app, &browser, &link).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains(&email));
    let csrf = csrf_of(&html);

    let res = post(
        &app,
        &browser,
        &link,
        &[
            ("_csrf", &csrf),
            ("password", NEW_PASSWORD),
            ("password_confirm", "something else"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("It does not match the password"));
    let res = post(
        &app,
        &browser,
        &link,
        &[
            ("_csrf", &csrf),
            ("password", "Password1!"),
            ("password_confirm", "Password1!"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Password is too easy to guess."));
    assert!(
        password_accepted(&app, &email, PASSWORD).await,
        "unchanged so far"
    );

    let res = post(
        &app,
        &browser,
        &link,
        &[
            ("_csrf", &csrf),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/login");
    assert!(!signed_in(&app, &elsewhere).await, "other sessions end");
    assert!(!password_accepted(&app, &email, PASSWORD).await);
    assert!(password_accepted(&app, &email, NEW_PASSWORD).await);
    assert_eq!(
        mails_about(&app, &email, "Your Punchcard password was changed", 1)
            .await
            .len(),
        1
    );

    // Spent: neither the page nor the form works again.
    assert_eq!(
        get(&app, &browser, &link).await.status(),
        StatusCode::NOT_FOUND
    );
    let res = post(
        &app,
        &browser,
        &link,
        &[
            ("_csrf", &csrf),
            ("password", "Another-Pass-7-Quartz"),
            ("password_confirm", "Another-Pass-7-Quartz"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(password_accepted(&app, &email, NEW_PASSWORD).await);
    app.stop().await;
}

async fn expired_and_replaced_links_are_refused(app: TestApp) {
    let email = unique_email("expiry");
    operator_merchant(&app, &email).await;
    let browser = app.browser_client();
    ask_reset(&app, &browser, &email).await;
    let first = reset_path(&mails_about(&app, &email, "Reset your Punchcard password", 1).await[0]);
    ask_reset(&app, &browser, &email).await;
    let mails = mails_about(&app, &email, "Reset your Punchcard password", 2).await;
    let second = reset_path(&mails[1]);
    assert_ne!(first, second);
    assert_eq!(
        get(&app, &browser, &first).await.status(),
        StatusCode::NOT_FOUND,
        "a newer link ends the older one"
    );
    assert_eq!(get(&app, &browser, &second).await.status(), StatusCode::OK);

    // Thirty minutes later the link is refused, page and form alike.
    let mut conn = app.app.db.conn().await.unwrap();
    punchcard_store::query("UPDATE password_resets SET expires_at = $1 WHERE used_at IS NULL")
        .bind(Timestamp::now().minus(time::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let res = get(&app, &browser, &second).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("expired or was already used"));
    let csrf = page_csrf(&app, &browser, "/dashboard/password/forgot").await;
    let res = post(
        &app,
        &browser,
        &second,
        &[
            ("_csrf", &csrf),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(password_accepted(&app, &email, PASSWORD).await);
    // A made-up token is no different.
    let res = get(&app, &browser, "/dashboard/password/reset/0123456789abcdef").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn unknown_addresses_get_the_same_answer(app: TestApp) {
    let known = unique_email("known");
    operator_merchant(&app, &known).await;
    let unknown = unique_email("nobody");
    let browser = app.browser_client();
    let (a_status, a) = ask_reset(&app, &browser, &unknown).await;
    let (b_status, b) = ask_reset(&app, &browser, &known).await;
    assert_eq!(a_status, StatusCode::OK);
    assert_eq!(a_status, b_status);
    assert_eq!(a, b, "the pages are identical");
    assert_eq!(
        mails_about(&app, &known, "Reset your Punchcard password", 1)
            .await
            .len(),
        1
    );
    assert!(mails_to(&app.mail_dir, &unknown).is_empty());

    // A malformed address is a field error, whoever asks.
    let csrf = page_csrf(&app, &browser, "/dashboard/password/forgot").await;
    let res = post(
        &app,
        &browser,
        "/dashboard/password/forgot",
        &[("_csrf", &csrf), ("email", "not-an-email")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Email must be an email address"));

    // Requests are throttled per address, with the same words for both kinds.
    for _ in 0..4 {
        ask_reset(&app, &browser, &unknown).await;
    }
    let (status, html) = ask_reset(&app, &browser, &unknown).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("Too many requests"));
    app.stop().await;
}

async fn password_forms_need_the_form_token(app: TestApp) {
    let email = unique_email("csrf");
    operator_merchant(&app, &email).await;
    let browser = app.browser_client();
    let _ = page_csrf(&app, &browser, "/dashboard/password/forgot").await;
    let res = post(
        &app,
        &browser,
        "/dashboard/password/forgot",
        &[("email", &email)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(
        &app,
        &browser,
        "/dashboard/password/forgot",
        &[("_csrf", "forged"), ("email", &email)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(mails_to(&app.mail_dir, &email).is_empty());

    ask_reset(&app, &browser, &email).await;
    let link = reset_path(&mails_about(&app, &email, "Reset your Punchcard password", 1).await[0]);
    let res = post(
        &app,
        &browser,
        &link,
        &[
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get(&app, &browser, &link).await.status(),
        StatusCode::OK,
        "still open"
    );

    sign_in(&app, &browser, &email, PASSWORD).await;
    let res = post(
        &app,
        &browser,
        "/dashboard/password",
        &[
            ("current_password", PASSWORD),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(password_accepted(&app, &email, PASSWORD).await);
    app.stop().await;
}

async fn a_signed_in_member_changes_the_password(app: TestApp) {
    let email = unique_email("change");
    operator_merchant(&app, &email).await;
    let browser = app.browser_client();
    sign_in(&app, &browser, &email, PASSWORD).await;
    let elsewhere = app.browser_client();
    sign_in(&app, &elsewhere, &email, PASSWORD).await;

    let csrf = page_csrf(&app, &browser, "/dashboard/password").await;
    let change = |current: &'static str, new: &'static str| {
        let (app, browser, csrf) = (&app, &browser, csrf.clone());
        async move {
            post(
                app,
                browser,
                "/dashboard/password",
                &[
                    ("_csrf", &csrf),
                    ("current_password", current),
                    ("password", new),
                    ("password_confirm", new),
                ],
            )
            .await
        }
    };
    let res = change("Wrong-Horse-99", NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("The current password is not correct"));
    let res = change(PASSWORD, "Password1!").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Password is too easy to guess."));
    let res = change(PASSWORD, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("must differ from the current password"));
    assert!(
        password_accepted(&app, &email, PASSWORD).await,
        "nothing changed yet"
    );

    let res = change(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/password");
    assert!(
        signed_in(&app, &browser).await,
        "this browser stays signed in"
    );
    assert!(!signed_in(&app, &elsewhere).await, "other sessions end");
    assert!(!password_accepted(&app, &email, PASSWORD).await);
    assert!(password_accepted(&app, &email, NEW_PASSWORD).await);
    assert_eq!(
        mails_about(&app, &email, "Your Punchcard password was changed", 1)
            .await
            .len(),
        1
    );
    // Signed out, the page sends the browser to sign in.
    let res = get(&app, &app.browser_client(), "/dashboard/password").await;
    assert_eq!(location(&res), "/dashboard/login");
    app.stop().await;
}

on_both_backends!(
    guessable_passwords_are_refused_with_advice,
    a_reset_link_works_once,
    expired_and_replaced_links_are_refused,
    unknown_addresses_get_the_same_answer,
    password_forms_need_the_form_token,
    a_signed_in_member_changes_the_password,
);
