//! The catalog pages of the dashboard: deals, offers and stores listed, filtered, created,
//! edited, switched on and off, given images and deleted, through forms with anti-forgery
//! tokens, in the environment the session shows.

use crate::common::dashboard::{merchant_with_member, redirect_target, Member};
use crate::common::TestApp;
use punchcard_app::deals::DealDraft;
use punchcard_app::deals::Deals;
use punchcard_app::offers::Offers;
use punchcard_domain::{DealId, Env};
use reqwest::multipart::{Form, Part};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff";

impl Member {
    async fn upload_image(
        &self,
        t: &TestApp,
        path: &str,
        name: &str,
        bytes: &[u8],
    ) -> reqwest::Response {
        self.client
            .post(t.url(&format!("{path}?_csrf={}", self.csrf)))
            .header("connection", "close")
            .multipart(Form::new().part(
                "file",
                Part::bytes(bytes.to_vec()).file_name(name.to_string()),
            ))
            .send()
            .await
            .unwrap()
    }
}

/// The id in a `/dashboard/<collection>/<id>` address.
fn id_in(path: &str) -> String {
    path.rsplit('/').next().unwrap().to_string()
}

async fn deal_pages_work_end_to_end(t: TestApp) {
    let (m, member) = merchant_with_member(&t, "Corner Bakery", true).await;
    t.app
        .create_currency(&m, "PTS", "Points", "1")
        .await
        .unwrap();
    t.app
        .create_currency(&m, "GEM", "Gems", "0.5")
        .await
        .unwrap();

    // The pages are in the navigation and render.
    let html = member.page(&t, "/dashboard/deals").await;
    for link in ["/dashboard/deals", "/dashboard/offers", "/dashboard/stores"] {
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "nav links {link}"
        );
    }
    assert!(html.contains("No deals in PROD yet"));
    assert!(html.contains("0 of 100"));
    let form = member.page(&t, "/dashboard/deals/new").await;
    assert!(form.contains("name=\"_csrf\""));
    assert!(form.contains("No stores in PROD yet"));

    // Forms without the anti-forgery token are refused before anything happens.
    let res = member
        .client
        .post(t.url("/dashboard/deals"))
        .form(&[("name", "Sneaky"), ("kind", "cash"), ("sell_price", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = member
        .client
        .post(t.url("/dashboard/deals"))
        .form(&[
            ("name", "Sneaky"),
            ("kind", "cash"),
            ("sell_price", "1"),
            ("_csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // A store to attach.
    let res = member
        .post(
            &t,
            "/dashboard/stores",
            &[
                ("name", "Mill Lane"),
                ("mode", "offline"),
                ("address_line", "12 Mill Lane"),
                ("city", "Leeds"),
                ("country", "GB"),
            ],
        )
        .await;
    let store_id = id_in(&redirect_target(&res));
    assert!(store_id.starts_with("store_"));

    // Invalid input: 422, errors by the fields, what was typed kept.
    let res = member
        .post(
            &t,
            "/dashboard/deals",
            &[
                ("name", "Tea & cake"),
                ("kind", "gift"),
                ("sell_price", "lots"),
                ("starts_at", "2026-05-01T10:00"),
                ("ends_at", "2026-04-01T10:00"),
                ("store_ids", &store_id),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Type must be one of"), "{html}");
    assert!(html.contains("Sell price must be a whole number"));
    assert!(html.contains("End must be after starts_at"));
    assert!(
        html.contains("value=\"Tea &#38; cake\""),
        "typed values are kept"
    );
    assert!(html.contains("value=\"2026-05-01T10:00\""));
    assert!(html.contains(&format!("value=\"{store_id}\" checked")));
    assert!(t.app.cap_use::<Deals>(&m, Env::Prod).await.unwrap().used == 0);

    // Created available, attached to the store, with dates read as UTC.
    let res = member
        .post(
            &t,
            "/dashboard/deals",
            &[
                ("name", "Tea & cake"),
                ("kind", "voucher"),
                ("description", "Any tea, any slice."),
                ("sell_price", "25"),
                ("visibility", "partner"),
                ("starts_at", "2026-04-01T10:00"),
                ("ends_at", ""),
                ("store_ids", &store_id),
                ("available", "true"),
            ],
        )
        .await;
    let deal_path = redirect_target(&res);
    let deal_id: DealId = id_in(&deal_path).parse().unwrap();
    let html = member.page(&t, &deal_path).await;
    assert!(html.contains("Deal created; it is live now."));
    assert!(html.contains("value=\"Tea &#38; cake\""));
    assert!(html.contains(&format!("value=\"{store_id}\" checked")));
    assert!(html.contains("25 PTS"));
    assert!(html.contains("50 GEM"));
    assert!(html.contains("value=\"2026-04-01T10:00\""));
    let saved = t.app.item::<Deals>(&m, Env::Prod, &deal_id).await.unwrap();
    assert!(saved.row.available);
    assert_eq!(saved.row.visibility, "partner");
    assert_eq!(
        saved.row.starts_at.unwrap().to_rfc3339(),
        "2026-04-01T10:00:00Z"
    );
    assert_eq!(saved.links.len(), 1);

    // Listed, and found or not by the filters.
    let list = member.page(&t, "/dashboard/deals").await;
    assert!(list.contains("Tea &#38; cake"));
    assert!(list.contains("1 of 100"));
    assert!(list.contains("25 PTS · 50 GEM"));
    let none = member.page(&t, "/dashboard/deals?kind=cash").await;
    assert!(none.contains("No deal matches these filters."));
    let found = member
        .page(
            &t,
            &format!("/dashboard/deals?q=CAKE&store_id={store_id}&available=true"),
        )
        .await;
    assert!(found.contains("Tea &#38; cake"));
    let res = member.get(&t, "/dashboard/deals?kind=gift").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("kind must be one of"));

    // The availability switch, back to the filtered list it was pressed on.
    let back = "/dashboard/deals?kind=voucher";
    let res = member
        .post(
            &t,
            &format!("/dashboard/deals/{deal_id}/available"),
            &[("available", "false"), ("back", back)],
        )
        .await;
    assert_eq!(redirect_target(&res), back);
    assert!(
        !t.app
            .item::<Deals>(&m, Env::Prod, &deal_id)
            .await
            .unwrap()
            .row
            .available
    );
    let res = member
        .post(
            &t,
            &format!("/dashboard/deals/{deal_id}/available"),
            &[("available", "true"), ("back", "https://evil.example/")],
        )
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/deals");
    assert!(
        t.app
            .item::<Deals>(&m, Env::Prod, &deal_id)
            .await
            .unwrap()
            .row
            .available
    );

    // Editing: a full form; unticking the store detaches it, clearing a date removes it.
    let res = member
        .post(
            &t,
            &deal_path,
            &[
                ("name", "Tea and cake"),
                ("kind", "voucher"),
                ("description", ""),
                ("sell_price", "30"),
                ("visibility", "private"),
                ("starts_at", ""),
                ("ends_at", "2026-12-31T23:59"),
            ],
        )
        .await;
    assert_eq!(redirect_target(&res), deal_path);
    let saved = t.app.item::<Deals>(&m, Env::Prod, &deal_id).await.unwrap();
    assert_eq!(saved.row.name, "Tea and cake");
    assert_eq!(saved.row.sell_price, 30);
    assert!(!saved.row.available, "an unticked box switches it off");
    assert!(saved.row.starts_at.is_none());
    assert!(saved.links.is_empty());
    let res = member
        .post(
            &t,
            &deal_path,
            &[("name", ""), ("kind", "voucher"), ("sell_price", "1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Name is required"));

    // Images: wrong type and the fourth are refused next to the field; shown and served.
    let images = format!("{deal_path}/images");
    let res = member
        .upload_image(&t, &images, "notes.png", b"plain text")
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Image must be a PNG, JPEG, WebP or GIF image"));
    for (name, bytes) in [("a.png", PNG), ("b.gif", GIF), ("c.png", PNG)] {
        let res = member.upload_image(&t, &images, name, bytes).await;
        assert_eq!(redirect_target(&res), deal_path);
    }
    let res = member.upload_image(&t, &images, "d.png", PNG).await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("at most 3 images per deal"));
    let html = member.page(&t, &deal_path).await;
    assert!(html.contains("Images <span class=\"muted\">(3 of 3)</span>"));
    let srcs: Vec<String> = html
        .split("<img src=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().to_string())
        .collect();
    assert_eq!(srcs.len(), 3);
    let res = member.get(&t, &srcs[1]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/gif");
    assert_eq!(res.bytes().await.unwrap().as_ref(), GIF);
    let res = member
        .client
        .post(t.url(&format!("{images}?_csrf=wrong")))
        .header("connection", "close")
        .multipart(Form::new().part("file", Part::bytes(PNG.to_vec()).file_name("x.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "multipart forms need the token too");
    let res = member.post(&t, &format!("{}/delete", srcs[1]), &[]).await;
    assert_eq!(redirect_target(&res), deal_path);
    assert_eq!(member.get(&t, &srcs[1]).await.status(), 404);
    assert_eq!(
        t.app
            .item::<Deals>(&m, Env::Prod, &deal_id)
            .await
            .unwrap()
            .images
            .len(),
        2
    );

    // Deleting: gone from the pages, kept (marked) in the table.
    let res = member.post(&t, &format!("{deal_path}/delete"), &[]).await;
    assert_eq!(redirect_target(&res), "/dashboard/deals");
    assert_eq!(member.get(&t, &deal_path).await.status(), 404);
    assert!(!member
        .page(&t, "/dashboard/deals")
        .await
        .contains("Tea and cake"));
    let mut conn = t.app.db.conn().await.unwrap();
    let n: i64 = punchcard_store::query(
        "SELECT COUNT(*) FROM deals WHERE id = $1 AND deleted_at IS NOT NULL",
    )
    .bind(deal_id.as_str())
    .scalar(&mut conn)
    .await
    .unwrap();
    assert_eq!(n, 1);
    t.stop().await;
}

async fn the_session_env_decides_what_is_seen(t: TestApp) {
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let res = member
        .post(
            &t,
            "/dashboard/deals",
            &[("name", "Prod only"), ("kind", "cash"), ("sell_price", "5")],
        )
        .await;
    let prod_deal = redirect_target(&res);
    member.switch_env(&t, "dev").await;
    let html = member.page(&t, "/dashboard/deals").await;
    assert!(!html.contains("Prod only"));
    assert!(html.contains("0 of 10"));
    assert!(html.contains("DEV holds private deals only"));
    assert_eq!(member.get(&t, &prod_deal).await.status(), 404);
    let res = member
        .post(
            &t,
            &format!("{prod_deal}/available"),
            &[("available", "true")],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert!(
        !t.app
            .list_items::<Deals>(&m, Env::Prod, &Default::default(), None, 10)
            .await
            .unwrap()[0]
            .row
            .available
    );

    // Dev offers no partner deals.
    let form = member.page(&t, "/dashboard/deals/new").await;
    assert!(
        form.contains("disabled>Partner: also shown to customers of partners (PROD only)"),
        "{form}"
    );
    let res = member
        .post(
            &t,
            "/dashboard/deals",
            &[
                ("name", "Shared"),
                ("kind", "cash"),
                ("sell_price", "5"),
                ("visibility", "partner"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Visibility must be `private` in dev"));

    // The dev cap of 10 available deals, shown as a message rather than an error page.
    for i in 0..10 {
        t.app
            .create_item::<Deals>(
                &m,
                Env::Dev,
                &DealDraft {
                    name: format!("Live {i}"),
                    kind: "voucher".into(),
                    sell_price: "1".into(),
                    available: true,
                    ..DealDraft::default()
                },
            )
            .await
            .unwrap();
    }
    let res = member
        .post(
            &t,
            "/dashboard/deals",
            &[
                ("name", "Eleventh"),
                ("kind", "cash"),
                ("sell_price", "5"),
                ("available", "true"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("at most 10 active deals in dev"));
    let res = member
        .post(
            &t,
            "/dashboard/deals",
            &[("name", "Waiting"), ("kind", "cash"), ("sell_price", "5")],
        )
        .await;
    let waiting = redirect_target(&res);
    let res = member
        .post(
            &t,
            &format!("{waiting}/available"),
            &[("available", "true")],
        )
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/deals");
    let html = member.page(&t, "/dashboard/deals").await;
    assert!(
        html.contains("at most 10 active deals in dev"),
        "the refusal is flashed"
    );
    assert!(html.contains("10 of 10"));

    // Another merchant's member sees none of it.
    let (_, stranger) = merchant_with_member(&t, "Stranger", true).await;
    assert_eq!(stranger.get(&t, &waiting).await.status(), 404);
    stranger.switch_env(&t, "dev").await;
    assert_eq!(stranger.get(&t, &waiting).await.status(), 404);
    let res = stranger.post(&t, &format!("{waiting}/delete"), &[]).await;
    assert_eq!(res.status(), 404);
    assert!(!stranger
        .page(&t, "/dashboard/deals")
        .await
        .contains("Waiting"));
    assert_eq!(member.get(&t, &waiting).await.status(), 200);
    t.stop().await;
}

async fn offer_and_store_pages_work(t: TestApp) {
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    assert!(member
        .page(&t, "/dashboard/offers")
        .await
        .contains("No offers in PROD yet"));
    assert!(member
        .page(&t, "/dashboard/stores")
        .await
        .contains("No stores in PROD yet"));
    member.page(&t, "/dashboard/offers/new").await;
    member.page(&t, "/dashboard/stores/new").await;

    // Stores: offline ones need an address; online ones may carry a URL.
    let res = member
        .post(
            &t,
            "/dashboard/stores",
            &[
                ("name", "Pop-up"),
                ("mode", "offline"),
                ("url", "https://x.example"),
                ("latitude", "95"),
                ("longitude", "0"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Address is required for an offline store"),
        "{html}"
    );
    assert!(html.contains("Country is required for an offline store"));
    assert!(html.contains("Web address is for online stores only"));
    assert!(html.contains("Latitude must be a number of degrees from -90 to 90"));
    let res = member
        .post(
            &t,
            "/dashboard/stores",
            &[
                ("name", "Web shop"),
                ("mode", "online"),
                ("url", "https://shop.example"),
            ],
        )
        .await;
    let web_path = redirect_target(&res);
    let web_id = id_in(&web_path);
    let res = member
        .post(
            &t,
            "/dashboard/stores",
            &[
                ("name", "Briggate"),
                ("mode", "offline"),
                ("address_line", "1 Briggate"),
                ("city", "Leeds"),
                ("postal_code", "ls1 6hd"),
                ("country", "gb"),
                ("latitude", "53.7965"),
                ("longitude", "-1.5418"),
            ],
        )
        .await;
    let briggate_path = redirect_target(&res);
    let html = member.page(&t, &briggate_path).await;
    assert!(html.contains("value=\"LS1 6HD\""));
    assert!(html.contains("value=\"53.7965\""));
    assert!(html.contains("Nothing attached yet."));
    let list = member.page(&t, "/dashboard/stores?city=leeds").await;
    assert!(list.contains("Briggate") && !list.contains("Web shop"));
    let list = member.page(&t, "/dashboard/stores?mode=online").await;
    assert!(list.contains("https://shop.example") && !list.contains("Briggate"));
    assert!(member
        .page(&t, "/dashboard/stores")
        .await
        .contains("2 of 100"));

    // Offers: codes upper-cased and unique; stores attached; the switch.
    let res = member
        .post(
            &t,
            "/dashboard/offers",
            &[
                ("code", "first100"),
                ("name", "100 off your first order"),
                ("sell_price", "0"),
                ("store_ids", &web_id),
                ("available", "true"),
            ],
        )
        .await;
    let offer_path = redirect_target(&res);
    let res = member
        .post(
            &t,
            "/dashboard/offers",
            &[("code", "FIRST100"), ("name", "Twin"), ("sell_price", "1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Code is already the code of another offer"));
    let list = member.page(&t, "/dashboard/offers").await;
    assert!(list.contains("<code>FIRST100</code>"));
    assert!(list.contains("1 of 100"));
    assert!(member
        .page(&t, "/dashboard/offers?q=first")
        .await
        .contains("FIRST100"));
    assert!(member
        .page(&t, "/dashboard/offers?available=false")
        .await
        .contains("No offer matches these filters."));
    let res = member
        .post(
            &t,
            &format!("{offer_path}/available"),
            &[("available", "false")],
        )
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/offers");
    assert_eq!(
        t.app.cap_use::<Offers>(&m, Env::Prod).await.unwrap().used,
        0
    );
    let res = member
        .post(
            &t,
            &offer_path,
            &[
                ("code", "welcome"),
                ("name", "Welcome"),
                ("sell_price", "5"),
                ("store_ids", &web_id),
            ],
        )
        .await;
    assert_eq!(redirect_target(&res), offer_path);
    let html = member.page(&t, &offer_path).await;
    assert!(html.contains("value=\"WELCOME\""));
    let res = member
        .upload_image(&t, &format!("{offer_path}/images"), "o.png", PNG)
        .await;
    assert_eq!(redirect_target(&res), offer_path);

    // A deal on the web shop too; the store's page lists both.
    let res = member
        .post(
            &t,
            "/dashboard/deals",
            &[
                ("name", "Tote bag"),
                ("kind", "merchandise"),
                ("sell_price", "50"),
                ("store_ids", &web_id),
            ],
        )
        .await;
    redirect_target(&res);
    let html = member.page(&t, &web_path).await;
    assert!(html.contains("Tote bag"));
    assert!(html.contains("Welcome (WELCOME)"));
    let res = member
        .upload_image(&t, &format!("{web_path}/images"), "s.gif", GIF)
        .await;
    assert_eq!(redirect_target(&res), web_path);
    assert!(member.page(&t, &web_path).await.contains("(1 of 3)"));

    // Editing a store; invalid edits are shown.
    let res = member
        .post(
            &t,
            &briggate_path,
            &[("name", "Briggate"), ("mode", "offline"), ("city", "Leeds")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Address is required"));
    let res = member
        .post(
            &t,
            &briggate_path,
            &[
                ("name", "Briggate Arcade"),
                ("mode", "offline"),
                ("address_line", "1 Briggate"),
                ("city", "Leeds"),
                ("country", "GB"),
            ],
        )
        .await;
    assert_eq!(redirect_target(&res), briggate_path);
    assert!(member
        .page(&t, &briggate_path)
        .await
        .contains("value=\"Briggate Arcade\""));

    // Deleting the web shop detaches it from the offer and the deal.
    let res = member.post(&t, &format!("{web_path}/delete"), &[]).await;
    assert_eq!(redirect_target(&res), "/dashboard/stores");
    assert_eq!(member.get(&t, &web_path).await.status(), 404);
    let offer = t
        .app
        .item::<Offers>(&m, Env::Prod, &id_in(&offer_path).parse().unwrap())
        .await
        .unwrap();
    assert!(offer.links.is_empty());
    let res = member.post(&t, &format!("{offer_path}/delete"), &[]).await;
    assert_eq!(redirect_target(&res), "/dashboard/offers");
    assert_eq!(member.get(&t, &offer_path).await.status(), 404);
    t.stop().await;
}

on_both_backends!(
    deal_pages_work_end_to_end,
    the_session_env_decides_what_is_seen,
    offer_and_store_pages_work,
);
