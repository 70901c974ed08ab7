//! Dashboard helpers for tests: a signed-in member's browser, form tokens and mailed codes.

use std::path::Path;
use std::sync::Arc;

use punchcard_app::accounts::Origin;
use punchcard_app::merchants::NewMerchant;
use punchcard_domain::MerchantId;

use reqwest::{Client, Response, StatusCode};

use super::TestApp;

pub const PASSWORD: &str = "Correct-Horse-9";

/// A signed-in dashboard browser: its client (session cookie set) and anti-forgery token.
pub struct Member {
    pub client: reqwest::Client,
    pub csrf: String,
}

/// A merchant (pending KYC unless `active`) and a signed-in browser of its owner.
pub async fn merchant_with_member(t: &TestApp, name: &str, active: bool) -> (MerchantId, Member) {
    let email = format!(
        "{}@example.com",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let new = NewMerchant::parse(name, &email, PASSWORD, active).unwrap();
    let (merchant_id, _) = t.app.create_merchant(new).await.unwrap();
    (merchant_id, Member::sign_in(t, &email).await)
}

impl Member {
    /// Signs in through the use cases (the code comes from the challenge, not the mail) and
    /// reads the session's anti-forgery token off a page.
    pub async fn sign_in(t: &TestApp, email: &str) -> Member {
        Self::sign_in_with(t, email, PASSWORD).await
    }

    /// [`Member::sign_in`] with a password of one's own.
    pub async fn sign_in_with(t: &TestApp, email: &str, password: &str) -> Member {
        let challenge = t.app.start_sign_in(email, password).await.unwrap();
        let signed = t
            .app
            .complete_sign_in(
                &challenge.challenge_id,
                challenge.code.expose(),
                &Origin::new("127.0.0.1", "tests"),
            )
            .await
            .unwrap();
        let jar = Arc::new(reqwest::cookie::Jar::default());
        jar.add_cookie_str(
            &format!("punchcard_session={}; Path=/", signed.token),
            &t.base.parse().unwrap(),
        );
        let client = reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = client
            .get(t.url("/dashboard/notifications"))
            .send()
            .await
            .unwrap();
        // Store staff are sent to the partner app, whose pages carry the same token.
        let res = if res.status() == StatusCode::SEE_OTHER {
            client.get(t.url(&location(&res))).send().await.unwrap()
        } else {
            res
        };
        let html = res.text().await.unwrap();
        Member {
            client,
            csrf: csrf_of(&html),
        }
    }

    pub async fn get(&self, t: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(t.url(path)).send().await.unwrap()
    }

    /// A page that must answer 200.
    pub async fn page(&self, t: &TestApp, path: &str) -> String {
        let res = self.get(t, path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.unwrap()
    }

    /// Switches the dashboard to an environment (the header toggle).
    pub async fn switch_env(&self, t: &TestApp, env: &str) {
        let res = self
            .post(t, "/dashboard/env", &[("env", env), ("back", "/dashboard")])
            .await;
        assert_eq!(res.status(), 303);
    }

    /// Posts a form with the anti-forgery token added.
    pub async fn post(
        &self,
        t: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &self.csrf));
        self.client
            .post(t.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// The anti-forgery token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a form with an anti-forgery token")
        .to_string()
}

/// Every mail written to `dir` for `to`, oldest first.
pub fn mails_to(dir: &Path, to: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read_to_string(p).expect("mail file"))
        .filter(|m| {
            m.lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("To: {to}")))
        })
        .collect()
}

/// The 6-digit code of the newest mail to `to`.
pub fn latest_code(t: &TestApp, to: &str) -> String {
    let mails = mails_to(&t.mail_dir, to);
    let mail = mails.last().unwrap_or_else(|| panic!("no mail to {to}"));
    mail.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in mail: {mail}"))
        .to_string()
}

/// GETs a page with a browser of one's own (signed in or not).
pub async fn get(t: &TestApp, client: &Client, path: &str) -> Response {
    client.get(t.url(path)).send().await.expect("request sent")
}

/// POSTs a form as it stands (the caller adds `_csrf`).
pub async fn post(t: &TestApp, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
    client
        .post(t.url(path))
        .form(form)
        .send()
        .await
        .expect("request sent")
}

/// The anti-forgery token of a page that must answer 200.
pub async fn page_csrf(t: &TestApp, client: &Client, path: &str) -> String {
    let res = get(t, client, path).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    csrf_of(&res.text().await.unwrap())
}

/// Signs in through the forms with the mailed code; the client ends signed in.
pub async fn sign_in(t: &TestApp, client: &Client, email: &str, password: &str) {
    let csrf = page_csrf(t, client, "/dashboard/login").await;
    let res = post(
        t,
        client,
        "/dashboard/login",
        &[("_csrf", &csrf), ("email", email), ("password", password)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "password accepted");
    assert_eq!(location(&res), "/dashboard/login/verify");
    let csrf = page_csrf(t, client, "/dashboard/login/verify").await;
    let code = latest_code(t, email);
    let res = post(
        t,
        client,
        "/dashboard/login/verify",
        &[("_csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard");
}

/// The `Location` of an answer, or "" without one.
pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Where a form post redirects to; it must be a 303.
pub fn redirect_target(res: &Response) -> String {
    assert_eq!(res.status(), 303, "expected a redirect");
    location(res)
}

/// The value of the input whose id is `id`.
pub fn input_value(html: &str, id: &str) -> String {
    value_after(html, &format!("id=\"{id}\""))
}

/// The value of the input named `name`.
pub fn input_value_by_name(html: &str, name: &str) -> String {
    value_after(html, &format!("name=\"{name}\""))
}

fn value_after(html: &str, attribute: &str) -> String {
    let start = html
        .find(attribute)
        .unwrap_or_else(|| panic!("no input with {attribute}"));
    html[start..]
        .split("value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string()
}

/// Text as it was before the template escaped it.
pub fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x2f;", "/")
        .replace("&#38;", "&")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
}
