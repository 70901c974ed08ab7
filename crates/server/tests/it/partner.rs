//! The partner app over HTTP: staff land in it; a scanned coupon is used once however many
//! counters confirm it; a scanned ID is given a grant once per form; a displayed code is
//! claimed once, by one lead, before it expires; a store's join code makes one lead per
//! person; frames posted by the scanner are read on the server; the analytics count it all
//! per store, in the partner app and the dashboard.

use crate::common::dashboard::{location, merchant_with_member, Member, PASSWORD};
use crate::common::{unique_email, Key, TestApp};
use punchcard_domain::accounts::Role;
use punchcard_domain::{Env, MemberId, MerchantId};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) struct Shop {
    pub m: MerchantId,
    pub owner: Member,
    pub key: Key,
    pub currency: String,
}

pub(crate) async fn shop(t: &TestApp, name: &str) -> Shop {
    let (m, owner) = merchant_with_member(t, name, true).await;
    t.app
        .create_currency(&m, "PTS", "Points", "1")
        .await
        .expect("currency created");
    t.set_rate_limit(&m, 300_000).await;
    let currency = t.app.list_currencies(&m, None, 10).await.unwrap()[0]
        .id
        .to_string();
    let key = t.api_key(&m, Env::Prod).await;
    Shop {
        m,
        owner,
        key,
        currency,
    }
}

/// A store staff member of the shop, signed in.
pub(crate) async fn staff_of(t: &TestApp, m: &MerchantId) -> (Member, MemberId) {
    let owner = t
        .app
        .list_members(m)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.role == Role::Owner)
        .unwrap();
    let email = unique_email("staff");
    let invitation = t.app.invite_member(&owner, &email, "staff").await.unwrap();
    let row = t
        .app
        .accept_invitation(&invitation.token, PASSWORD)
        .await
        .unwrap();
    (Member::sign_in(t, &email).await, row.id)
}

pub(crate) async fn store(s: &Shop, t: &TestApp, name: &str) -> String {
    t.api(&s.key)
        .create(
            "/api/v1/stores",
            json!({"name": name, "mode": "offline", "address_line": "1 Quay St", "city": "Porto", "country": "PT"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A free deal with `codes` unique codes.
pub(crate) async fn deal(s: &Shop, t: &TestApp, name: &str, codes: &[&str]) -> String {
    let api = t.api(&s.key);
    let deal = api
        .create(
            "/api/v1/deals",
            json!({"name": name, "description": "On the house", "kind": "voucher",
                   "sell_price": 0, "available": true, "visibility": "private"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for c in codes {
        api.create("/api/v1/coupon_codes", json!({"deal_id": deal, "value": c}))
            .await;
    }
    deal
}

/// A point grant made on the dashboard's Partner app page.
pub(crate) async fn grant(s: &Shop, t: &TestApp, name: &str, points: i64) -> String {
    let res = s
        .owner
        .post(
            t,
            "/dashboard/partner/grants",
            &[
                ("name", name),
                ("currency_id", &s.currency),
                ("points", &points.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    t.app
        .point_grants(&punchcard_app::ledger::Scope::new(&s.m, Env::Prod))
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.name == name)
        .expect("the grant")
        .id
        .to_string()
}

fn attr(html: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn status_and_text(res: reqwest::Response) -> (StatusCode, String) {
    (res.status(), res.text().await.unwrap())
}

async fn balance(t: &TestApp, s: &Shop, lead: &str) -> i64 {
    let w = t
        .api(&s.key)
        .get_ok(&format!("/api/v1/wallets?lead_id={lead}"))
        .await;
    w["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["balance"].as_i64().unwrap())
        .sum()
}

async fn counter_totals(
    t: &TestApp,
    s: &Shop,
    store: Option<&str>,
) -> punchcard_store::counter::CounterDay {
    t.app
        .counter_stats(
            &punchcard_app::ledger::Scope::new(&s.m, Env::Prod),
            store,
            punchcard_app::stats::DayRange::last(7),
        )
        .await
        .unwrap()
        .totals
}

async fn staff_work_in_the_partner_app_at_their_store(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let north = store(&s, &t, "North").await;
    let south = store(&s, &t, "South").await;
    let (staff, staff_id) = staff_of(&t, &s.m).await;

    // Tied to one store on the dashboard: the partner app works there.
    let res = s
        .owner
        .post(
            &t,
            &format!("/dashboard/partner/members/{staff_id}/stores"),
            &[("store_ids", &south)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = staff.page(&t, "/partner").await;
    assert!(html.contains("Scan code") && html.contains("Display code"));
    assert!(html.contains("Enter code ID") && html.contains("Analytics"));
    assert!(html.contains(">South</option>") && !html.contains(">North</option>"));
    // Not one of theirs: refused, and nothing changes.
    let res = staff
        .post(&t, "/partner/store", &[("store_id", &north)])
        .await;
    assert_eq!(location(&res), "/partner");
    let html = staff.page(&t, "/partner").await;
    assert!(html.contains("That store is not one of yours"));
    // Another merchant's store cannot be tied.
    let other = shop(&t, "Elsewhere").await;
    let theirs = store(&other, &t, "Theirs").await;
    let res = s
        .owner
        .post(
            &t,
            &format!("/dashboard/partner/members/{staff_id}/stores"),
            &[("store_ids", &theirs)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = s.owner.page(&t, "/dashboard/partner").await;
    assert!(page.contains("no such store"), "refused with a message");
    assert!(page.contains("South"));

    // The dashboard and its pages send staff to the partner app; signing out ends it.
    let res = staff.get(&t, "/dashboard/leads").await;
    assert_eq!(location(&res), "/partner");
    let res = staff.post(&t, "/dashboard/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = staff.get(&t, "/partner").await;
    assert_eq!(location(&res), "/dashboard/login");
    t.stop().await;
}

async fn a_scanned_coupon_is_used_once_at_two_counters(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let deal = deal(&s, &t, "Free cake", &["CAKE-1"]).await;
    let api = t.api(&s.key);
    let (lead, _) = api.lead_with_wallet("cust-ana", &s.currency).await;
    let coupon = api
        .create(
            "/api/v1/coupons",
            json!({"deal_id": deal, "lead_id": lead, "hash": "give-ana", "mode": "reward"}),
        )
        .await;
    let token = coupon["qr_token"].as_str().unwrap().to_string();
    let (one, _) = staff_of(&t, &s.m).await;
    let (two, _) = staff_of(&t, &s.m).await;

    let html = one
        .page(&t, &format!("/partner/code?token={}", urlencode(&token)))
        .await;
    assert!(html.contains("Free cake") && html.contains("cust-ana"));
    assert!(html.contains("Mark as used"));
    let id = coupon["id"].as_str().unwrap();
    let path = format!("/partner/coupons/{id}/use");
    let (a, b) = tokio::join!(one.post(&t, &path, &[]), two.post(&t, &path, &[]));
    let (a, b) = (status_and_text(a).await, status_and_text(b).await);
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let refused = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert!(refused.contains("Do not hand over the reward again"));
    let used = if a.0 == StatusCode::OK { &a.1 } else { &b.1 };
    assert!(used.contains("Coupon used") && used.contains("Hand over the reward"));
    assert_eq!(
        api.get_ok(&format!("/api/v1/coupons/{id}")).await["status"],
        "used"
    );
    // Scanned again: shown as used, without the button.
    let html = one
        .page(&t, &format!("/partner/code?token={}", urlencode(&token)))
        .await;
    assert!(html.contains("Already used") && !html.contains("Mark as used"));
    assert_eq!(counter_totals(&t, &s, None).await.coupons_used, 1);

    // Another merchant's staff cannot read it.
    let other = shop(&t, "Elsewhere").await;
    let (stranger, _) = staff_of(&t, &other.m).await;
    let res = stranger
        .get(&t, &format!("/partner/code?token={}", urlencode(&token)))
        .await;
    let (status, html) = status_and_text(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("another merchant"), "{html}");
    let res = stranger.post(&t, &path, &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Enter code ID: the same coupon by code and customer id is refused as used.
    let other_coupon_deal = self::deal(&s, &t, "Free tea", &["TEA-1"]).await;
    api.create(
        "/api/v1/coupons",
        json!({"deal_id": other_coupon_deal, "lead_id": lead, "hash": "give-ana-tea", "mode": "reward"}),
    )
    .await;
    let res = one
        .post(
            &t,
            "/partner/enter",
            &[("code", "TEA-1"), ("customer_id", "nobody-here")],
        )
        .await;
    let (status, html) = status_and_text(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("No lead has this customer id"), "{html}");
    let res = one
        .post(
            &t,
            "/partner/enter",
            &[("code", "TEA-1"), ("customer_id", "cust-ana")],
        )
        .await;
    let (status, html) = status_and_text(res).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Free tea") && html.contains("Coupon used"));
    let res = one
        .post(
            &t,
            "/partner/enter",
            &[("code", "TEA-1"), ("customer_id", "cust-ana")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(counter_totals(&t, &s, None).await.coupons_used, 2);
    t.stop().await;
}

async fn a_scanned_id_is_given_a_grant_or_a_deal_once_per_form(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let south = store(&s, &t, "South").await;
    let stamp = grant(&s, &t, "Coffee stamp", 25).await;
    let cake = deal(&s, &t, "Free cake", &["CAKE-1"]).await;
    let api = t.api(&s.key);
    let (lead, _) = api.lead_with_wallet("cust-ana", &s.currency).await;
    let token = api.get_ok(&format!("/api/v1/leads/{lead}/id_token")).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (staff, _) = staff_of(&t, &s.m).await;
    staff
        .post(&t, "/partner/store", &[("store_id", &south)])
        .await;

    let html = staff
        .page(&t, &format!("/partner/code?token={}", urlencode(&token)))
        .await;
    assert!(
        html.contains("cust-ana") && html.contains("Coffee stamp") && html.contains("Free cake")
    );
    let hash = attr(&html, "name=\"hash\" value");
    let give = |gift: String, hash: String| {
        let staff = &staff;
        let t = &t;
        let lead = lead.clone();
        async move {
            staff
                .post(
                    t,
                    &format!("/partner/leads/{lead}/give"),
                    &[("gift", &gift), ("hash", &hash)],
                )
                .await
        }
    };
    // The same form sent twice at once: given once.
    let (a, b) = tokio::join!(
        give(stamp.clone(), hash.clone()),
        give(stamp.clone(), hash.clone())
    );
    let (a, b) = (status_and_text(a).await, status_and_text(b).await);
    assert!(a.0.is_success() || b.0.is_success(), "{a:?} {b:?}");
    assert_eq!(balance(&t, &s, &lead).await, 25);
    let (status, html) = status_and_text(give(stamp.clone(), hash.clone()).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("nothing more was given"), "{html}");
    assert_eq!(balance(&t, &s, &lead).await, 25);
    // A new scan (a new form) gives again; a deal gives a coupon.
    let (status, html) = status_and_text(give(stamp.clone(), "form-2".into()).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("New balance: 50 points"), "{html}");
    let (status, html) = status_and_text(give(cake.clone(), "form-3".into()).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("CAKE-1"), "{html}");
    // Out of codes: nothing given, in words.
    let (status, html) = status_and_text(give(cake.clone(), "form-4".into()).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("no coupons left"), "{html}");
    // Made-up gifts and another merchant's grant are refused.
    let (status, _) =
        status_and_text(give("pgr_01jd3x1m2n3p4q5r6s7t8v9w0x".into(), "form-5".into()).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = status_and_text(give("anything".into(), "form-6".into()).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let at_south = counter_totals(&t, &s, Some(&south)).await;
    assert_eq!((at_south.points_given, at_south.deals_given), (50, 1));
    let html = staff
        .page(&t, &format!("/partner/analytics?days=7&store={south}"))
        .await;
    assert!(html.contains("chart-counter-points"));
    assert!(html.contains("data-figure=\"Points given\""));
    let dash = s.owner.page(&t, "/dashboard/partner").await;
    assert!(dash.contains("Coffee stamp") && dash.contains("chart-counter"));
    t.stop().await;
}

async fn a_displayed_code_is_claimed_once_before_it_expires(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let stamp = grant(&s, &t, "Coffee stamp", 10).await;
    let api = t.api(&s.key);
    let (ana, _) = api.lead_with_wallet("cust-ana", &s.currency).await;
    let (bob, _) = api.lead_with_wallet("cust-bob", &s.currency).await;
    let link = |lead: String| {
        let api = t.api(&s.key);
        async move {
            api.post(&format!("/api/v1/leads/{lead}/member_link"), json!({}))
                .await
                .expect(200)["token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (ana_page, bob_page) = (link(ana.clone()).await, link(bob.clone()).await);
    let (staff, _) = staff_of(&t, &s.m).await;

    let res = staff
        .post(&t, "/partner/display", &[("gift", &stamp)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let shown = location(&res);
    let html = staff.page(&t, &shown).await;
    assert!(html.contains("Coffee stamp") && html.contains("seconds left"));
    let token = attr(&html, "data-token");
    assert!(token.starts_with("pc1.k."), "{token}");
    // The API reads it as a claim.
    let found = api
        .post("/api/v1/qr/resolve", json!({"token": token}))
        .await
        .expect(200);
    assert_eq!(
        (found["kind"].as_str(), found["claim"]["status"].as_str()),
        (Some("claim"), Some("open"))
    );

    // Two phones claim it at once: one gets it.
    let client = t.browser_client();
    let claim = |page: String| {
        let client = client.clone();
        let url = t.url(&format!("/m/{page}/claim"));
        let token = token.clone();
        async move {
            client
                .post(url)
                .form(&[("code", token.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(claim(ana_page.clone()), claim(bob_page.clone()));
    let outcomes = [location(&a), location(&b)];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.contains("done=claimed-code"))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| o.contains("done=taken")).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        balance(&t, &s, &ana).await + balance(&t, &s, &bob).await,
        10
    );
    let status: Value = staff
        .get(&t, &format!("{shown}/status"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "claimed");
    assert!(status["claimed_by"].as_str().unwrap().starts_with("cust-"));

    // An expired code gives nothing.
    let res = staff
        .post(&t, "/partner/display", &[("gift", &stamp)])
        .await;
    let html = staff.page(&t, &location(&res)).await;
    let late = attr(&html, "data-token");
    let mut conn = t.app.db.conn().await.unwrap();
    punchcard_store::query("UPDATE counter_claims SET expires_at = $1 WHERE claimed_at IS NULL")
        .bind(punchcard_domain::time::Timestamp::now().minus(time::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let res = client
        .post(t.url(&format!("/m/{ana_page}/claim")))
        .form(&[("code", late.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        location(&res).contains("done=taken"),
        "an expired code gives nothing"
    );
    // A coupon's or an ID's token is not a code to claim; nor is another merchant's.
    let id_token = api.get_ok(&format!("/api/v1/leads/{ana}/id_token")).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = client
        .post(t.url(&format!("/m/{ana_page}/claim")))
        .form(&[("code", id_token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(location(&res).contains("done=bad-code"));
    let before = balance(&t, &s, &ana).await + balance(&t, &s, &bob).await;
    assert_eq!(before, 10);
    assert_eq!(counter_totals(&t, &s, None).await.claims, 1);
    t.stop().await;
}

async fn a_join_code_makes_one_lead_per_person(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let north = store(&s, &t, "North").await;
    let (staff, _) = staff_of(&t, &s.m).await;
    staff
        .post(&t, "/partner/store", &[("store_id", &north)])
        .await;
    let html = staff.page(&t, "/partner/join-code").await;
    let url = crate::common::dashboard::unescape(
        html.split("data-join-url>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .expect("the join link"),
    );
    let path = url.trim_start_matches(&t.base).to_string();
    assert!(path.starts_with("/join/pc1.j."), "{path}");

    let phone = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = phone
        .get(t.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Join Quay Coffee") && html.contains("At North"));
    let csrf = crate::common::dashboard::csrf_of(&html);
    let join = |fields: Vec<(&'static str, String)>| {
        let phone = phone.clone();
        let url = t.url(&path);
        let csrf = csrf.clone();
        async move {
            let mut form = fields;
            form.push(("_csrf", csrf));
            phone.post(url).form(&form).send().await.unwrap()
        }
    };
    // No consent, no contact: refused, nothing made.
    let res = join(vec![("name", "Ana".into())]).await;
    let (status, html) = status_and_text(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Tick the box") && html.contains("Email or mobile is required"),
        "{html}"
    );
    let leads = |api: crate::common::api::ApiClient| async move {
        api.get_ok("/api/v1/leads?limit=100").await["data"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(leads(t.api(&s.key)).await, 0);
    let res = join(vec![
        ("name", "Ana".into()),
        ("email", "Ana@Example.com ".into()),
        ("consent", "yes".into()),
    ])
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let member = location(&res);
    assert!(
        member.starts_with("/m/") && member.contains("done=joined"),
        "{member}"
    );
    let html = phone
        .get(t.url(&member))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Welcome!") && html.contains("Ana"));
    // The same person again: the same lead, a new link (the old one stops working).
    let res = join(vec![
        ("name", "Ana again".into()),
        ("email", "ana@example.com".into()),
        ("consent", "yes".into()),
    ])
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(leads(t.api(&s.key)).await, 1);
    let old = phone
        .get(t.url(member.split('?').next().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    let at_north = counter_totals(&t, &s, Some(&north)).await;
    assert_eq!(at_north.new_leads, 1);
    // A forged join code opens nothing.
    let forged = format!("{}x", &path[..path.len() - 1]);
    let res = phone.get(t.url(&forged)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}

async fn frames_are_read_on_the_server(t: TestApp) {
    let s = shop(&t, "Quay Coffee").await;
    let (staff, _) = staff_of(&t, &s.m).await;
    let png = png_of("pc1.c.hello.world");
    let post = |body: Vec<u8>, csrf: String| {
        let staff = &staff;
        let t = &t;
        async move {
            staff
                .client
                .post(t.url("/partner/scan/frame"))
                .header("content-type", "image/png")
                .header("x-csrf-token", csrf)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let res = post(png.clone(), staff.csrf.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["token"], "pc1.c.hello.world");
    let res = post(b"not an image".to_vec(), staff.csrf.clone()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Without the session's anti-forgery token: refused.
    let res = post(png, "wrong".into()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    t.stop().await;
}

/// A PNG picture of a QR code of `text`, black on white with a quiet zone.
pub(crate) fn png_of(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let modules = code.width();
    let scale = 8;
    let side = (modules + 8) * scale;
    let colors = code.to_colors();
    let img = image::GrayImage::from_fn(side as u32, side as u32, |x, y| {
        let (mx, my) = (x as usize / scale, y as usize / scale);
        let dark = (4..modules + 4).contains(&mx)
            && (4..modules + 4).contains(&my)
            && colors[(my - 4) * modules + (mx - 4)] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

on_both_backends!(
    staff_work_in_the_partner_app_at_their_store,
    a_scanned_coupon_is_used_once_at_two_counters,
    a_scanned_id_is_given_a_grant_or_a_deal_once_per_form,
    a_displayed_code_is_claimed_once_before_it_expires,
    a_join_code_makes_one_lead_per_person,
    frames_are_read_on_the_server,
);
