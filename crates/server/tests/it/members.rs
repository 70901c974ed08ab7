//! Members over HTTP: the owner invites an admin by email, the invitee chooses a password
//! and signs in; invitations are single-use; only the owner manages the team.

use crate::common::dashboard::{csrf_of, get, location, mails_to, post, sign_in};
use crate::common::{unique_email, TestApp};
use punchcard_app::merchants::NewMerchant;
use reqwest::{Client, StatusCode};

const PASSWORD: &str = "Correct-Horse-9";

async fn page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let res = get(app, client, path).await;
    (res.status(), res.text().await.unwrap())
}

fn invitation_link(mail: &str) -> String {
    let start = mail
        .find("/dashboard/invitations/")
        .expect("invitation link");
    mail[start..].split_whitespace().next().unwrap().to_string()
}

async fn owner_invites_an_admin_who_joins(t: TestApp) {
    let owner_email = unique_email("owner");
    let new = NewMerchant::parse("Harbour Coffee", &owner_email, PASSWORD, true).unwrap();
    t.app.create_merchant(new).await.unwrap();
    let owner = t.browser_client();
    sign_in(&t, &owner, &owner_email, PASSWORD).await;

    let (status, html) = page(&t, &owner, "/dashboard/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&owner_email) && html.contains("Invite a member"));
    let csrf = csrf_of(&html);

    // Bad input: clear errors, nothing sent.
    let res = post(
        &t,
        &owner,
        "/dashboard/members",
        &[("_csrf", &csrf), ("email", "nope"), ("role", "owner")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("must be an email address") && html.contains("must be admin or staff"));
    let res = post(
        &t,
        &owner,
        "/dashboard/members",
        &[("_csrf", &csrf), ("email", &owner_email), ("role", "admin")],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "an existing account cannot be invited"
    );

    // Without the form token the post is refused.
    let admin_email = unique_email("admin");
    let res = post(
        &t,
        &owner,
        "/dashboard/members",
        &[("email", &admin_email), ("role", "admin")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(mails_to(&t.mail_dir, &admin_email).is_empty());

    let res = post(
        &t,
        &owner,
        "/dashboard/members",
        &[("_csrf", &csrf), ("email", &admin_email), ("role", "admin")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&t, &owner, "/dashboard/members").await;
    assert!(html.contains("Pending invitations") && html.contains(&admin_email));
    let mail = mails_to(&t.mail_dir, &admin_email)
        .pop()
        .expect("invitation mail");
    assert!(mail.contains("Harbour Coffee"));
    let link = invitation_link(&mail);

    // The invitee chooses a password (mismatch and weak passwords are refused first).
    let invitee = t.browser_client();
    let (status, html) = page(&t, &invitee, &link).await;
    assert_eq!(status, StatusCode::OK, "{link} {mail} {html}");
    assert!(html.contains(&admin_email) && html.contains("admin"));
    let csrf = csrf_of(&html);
    let res = post(
        &t,
        &invitee,
        &link,
        &[
            ("_csrf", &csrf),
            ("password", "Another-Pass-7"),
            ("password_confirm", "different"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post(
        &t,
        &invitee,
        &link,
        &[
            ("_csrf", &csrf),
            ("password", "weak"),
            ("password_confirm", "weak"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post(
        &t,
        &invitee,
        &link,
        &[
            ("_csrf", &csrf),
            ("password", "Another-Pass-7"),
            ("password_confirm", "Another-Pass-7"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/dashboard/login");

    // Single use.
    let (status, _) = page(&t, &invitee, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The admin signs in, sees the team but cannot manage it.
    sign_in(&t, &invitee, &admin_email, "Another-Pass-7").await;
    let (status, html) = page(&t, &invitee, "/dashboard/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&owner_email) && !html.contains("Invite a member"));
    let csrf = csrf_of(&html);
    let res = post(
        &t,
        &invitee,
        "/dashboard/members",
        &[
            ("_csrf", &csrf),
            ("email", &unique_email("x")),
            ("role", "staff"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The owner removes the admin: the admin's session ends.
    let members = t
        .app
        .list_members(&t.app.list_merchants().await.unwrap()[0].id)
        .await
        .unwrap();
    let admin = members
        .iter()
        .find(|m| m.email.as_str() == admin_email)
        .unwrap();
    let (_, html) = page(&t, &owner, "/dashboard/members").await;
    let res = post(
        &t,
        &owner,
        &format!("/dashboard/members/{}/remove", admin.id),
        &[("_csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = invitee
        .get(t.url("/dashboard/members"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/dashboard/login"));
    t.stop().await;
}

async fn invitations_can_be_revoked_and_are_tenant_scoped(t: TestApp) {
    let a_email = unique_email("a");
    let b_email = unique_email("b");
    for (name, email) in [("A", &a_email), ("B", &b_email)] {
        let new = NewMerchant::parse(name, email, PASSWORD, true).unwrap();
        t.app.create_merchant(new).await.unwrap();
    }
    let a = t.browser_client();
    sign_in(&t, &a, &a_email, PASSWORD).await;
    let b = t.browser_client();
    sign_in(&t, &b, &b_email, PASSWORD).await;

    let guest = unique_email("guest");
    let (_, html) = page(&t, &a, "/dashboard/members").await;
    post(
        &t,
        &a,
        "/dashboard/members",
        &[
            ("_csrf", &csrf_of(&html)),
            ("email", &guest),
            ("role", "staff"),
        ],
    )
    .await;
    let link = invitation_link(&mails_to(&t.mail_dir, &guest).pop().unwrap());
    let merchant_a = t
        .app
        .list_merchants()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == "A")
        .unwrap();
    let pending = t.app.pending_invitations(&merchant_a.id).await.unwrap();
    assert_eq!(pending.len(), 1);

    // Another merchant cannot revoke it, nor remove A's owner.
    let (_, html) = page(&t, &b, "/dashboard/members").await;
    let res = post(
        &t,
        &b,
        &format!("/dashboard/members/invitations/{}/revoke", pending[0].id),
        &[("_csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let owner_a = t.app.list_members(&merchant_a.id).await.unwrap().remove(0);
    let res = post(
        &t,
        &b,
        &format!("/dashboard/members/{}/remove", owner_a.id),
        &[("_csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.app.list_members(&merchant_a.id).await.unwrap().len(), 1);

    let (_, html) = page(&t, &a, "/dashboard/members").await;
    let res = post(
        &t,
        &a,
        &format!("/dashboard/members/invitations/{}/revoke", pending[0].id),
        &[("_csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(&t, &t.browser_client(), &link).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a revoked invitation no longer works"
    );
    let (status, _) = page(
        &t,
        &t.browser_client(),
        "/dashboard/invitations/forged-token",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.stop().await;
}

async fn staff_are_kept_out_of_the_dashboard(t: TestApp) {
    let owner_email = unique_email("owner");
    let new = NewMerchant::parse("Harbour Coffee", &owner_email, PASSWORD, true).unwrap();
    t.app.create_merchant(new).await.unwrap();
    let owner = t.browser_client();
    sign_in(&t, &owner, &owner_email, PASSWORD).await;
    let staff_email = unique_email("staff");
    let (_, html) = page(&t, &owner, "/dashboard/members").await;
    post(
        &t,
        &owner,
        "/dashboard/members",
        &[
            ("_csrf", &csrf_of(&html)),
            ("email", &staff_email),
            ("role", "staff"),
        ],
    )
    .await;
    let link = invitation_link(&mails_to(&t.mail_dir, &staff_email).pop().unwrap());
    let staff = t.browser_client();
    let (_, html) = page(&t, &staff, &link).await;
    let res = post(
        &t,
        &staff,
        &link,
        &[
            ("_csrf", &csrf_of(&html)),
            ("password", "Counter-Staff-1"),
            ("password_confirm", "Counter-Staff-1"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    sign_in(&t, &staff, &staff_email, "Counter-Staff-1").await;
    for path in ["/dashboard", "/dashboard/members", "/dashboard/api-keys"] {
        let res = get(&t, &staff, path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/partner", "{path}");
    }
    let (status, html) = page(&t, &staff, "/partner").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Scan code") && html.contains("Sign out"));
    assert!(!html.contains("Open the dashboard"), "staff have no way in");
    t.stop().await;
}

on_both_backends!(
    staff_are_kept_out_of_the_dashboard,
    owner_invites_an_admin_who_joins,
    invitations_can_be_revoked_and_are_tenant_scoped
);
