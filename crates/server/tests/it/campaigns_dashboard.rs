//! The campaign engine in the dashboard and its report: the Rules pages (create with per-field
//! errors, edit, activate only through a confirmation that says what the rule will do,
//! deactivate, share the rule by email without a secret), the campaign page with its totals,
//! chart and searchable interactions, and `GET /campaigns/{id}/report` counting the triggers
//! made through the API by outcome, UTC day and hour. Then the same in headless Chromium, at
//! desktop and phone widths.

use crate::browser_support::{mail_files, wait_for_code, Browser};
use crate::common::api::id_of;
use crate::common::dashboard::{mails_to, merchant_with_member, redirect_target, Member};
use crate::common::{Backend, Key, TestApp};
use punchcard_app::campaigns::RuleDraft;
use punchcard_app::ledger::Scope;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CampaignId, Env, MerchantId};
use punchcard_store::campaigns::{InteractionRow, Outcome};
use serde_json::{json, Value};
use time::Duration;

on_both_backends!(
    rule_pages_create_with_errors_and_edit,
    activation_needs_the_confirmation,
    sharing_a_rule_mails_its_details_and_no_secret,
    the_report_counts_triggers_by_outcome_day_and_hour,
    interactions_are_found_by_customer,
    task_and_surprise_pages,
    a_merchant_activates_a_rule_in_the_browser,
);

/// A merchant with a signed-in owner, a PTS currency and a PROD key named `Shop server`;
/// answers them and the currency id.
async fn merchant(t: &TestApp) -> (MerchantId, Member, Key, String) {
    let (m, member) = merchant_with_member(t, "Harbour Books", true).await;
    t.set_rate_limit(&m, 300_000).await;
    let currency = t
        .app
        .create_currency(&m, "PTS", "Points", "1")
        .await
        .unwrap()
        .id
        .to_string();
    let k = t
        .app
        .create_api_key(&m, Env::Prod, "Shop server", None)
        .await
        .unwrap();
    (m, member, (k.id.to_string(), k.secret), currency)
}

/// A rule made through the use case, authorized for `key`, switched off.
async fn rule(t: &TestApp, m: &MerchantId, key: &Key, currency: &str, points: i64) -> String {
    t.app
        .create_rule(
            &Scope::new(m, Env::Prod),
            &RuleDraft {
                name: "Points per visit".into(),
                direction: "earn".into(),
                currency_id: currency.into(),
                points: Some(points),
                max_per_lead: Some(3),
                authorized_key_ids: vec![key.0.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .campaign
        .id
        .to_string()
}

async fn rules_of(t: &TestApp, m: &MerchantId) -> Vec<punchcard_app::campaigns::CampaignView> {
    t.app
        .list_campaigns(&Scope::new(m, Env::Prod), Some("rule"), None, None, 100)
        .await
        .unwrap()
}

async fn rule_pages_create_with_errors_and_edit(t: TestApp) {
    let (m, member, key, currency) = merchant(&t).await;

    let list = member.page(&t, "/dashboard/rules").await;
    assert!(
        list.contains("href=\"/dashboard/rules\""),
        "in the navigation"
    );
    assert!(list.contains("No rules in PROD yet"), "{list}");
    let form = member.page(&t, "/dashboard/rules/new").await;
    assert!(
        form.contains(&format!("value=\"{}\"", key.0)),
        "keys as checkboxes"
    );
    assert!(form.contains("Shop server"));
    assert!(form.contains(&format!("<option value=\"{currency}\"")));

    // Every bad field is named next to it, what was typed is kept, and nothing is written.
    let res = member
        .post(
            &t,
            "/dashboard/rules",
            &[
                ("name", ""),
                ("type", "earn"),
                ("currency_id", ""),
                ("points", "ten"),
                ("rate", ""),
                ("budget", "0"),
                ("max_per_lead", "2"),
                ("starts_at", "2026-05-01T10:00"),
                ("ends_at", "2026-04-01T10:00"),
                ("authorized_key_ids", &key.0),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    for shown in [
        "Nothing was saved",
        "Name is required",
        "Currency is required",
        "Fixed points: must be a whole number",
        "Budget must be a whole number from 1",
        "End must be after",
        "value=\"ten\"",
        "value=\"2026-05-01T10:00\"",
        &format!("value=\"{}\" checked", key.0),
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    let res = member
        .post(
            &t,
            "/dashboard/rules",
            &[
                ("name", "Both"),
                ("type", "earn"),
                ("currency_id", &currency),
                ("points", "5"),
                ("rate", "0.5"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("give either fixed points or a rate"));
    assert!(rules_of(&t, &m).await.is_empty(), "nothing written");

    // Created switched off, on its campaign page.
    let res = member
        .post(
            &t,
            "/dashboard/rules",
            &[
                ("name", "Points per purchase"),
                ("type", "earn"),
                ("currency_id", &currency),
                ("rate", "0.1"),
                ("cap_max", "50"),
                ("max_per_lead", "3"),
                ("budget", "1000"),
                ("ends_at", "2099-01-01T00:00"),
                ("authorized_key_ids", &key.0),
            ],
        )
        .await;
    let page = redirect_target(&res);
    assert!(page.starts_with("/dashboard/campaigns/cmp_"), "{page}");
    let id = page.rsplit('/').next().unwrap().to_string();
    let html = member.page(&t, &page).await;
    for shown in [
        "Rule created.",
        "Points per purchase",
        "Pending",
        "0.1 PTS per unit of amount",
        "0 of 1000 points used",
        "Shop server",
        "Awarded against requests, by day",
        "<svg",
        "No interactions yet",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    let saved = &rules_of(&t, &m).await[0];
    assert!(!saved.campaign.active);
    assert_eq!(saved.campaign.rate.unwrap().to_string(), "0.1");
    assert_eq!(
        saved.campaign.ends_at.unwrap().to_rfc3339(),
        "2099-01-01T00:00:00Z"
    );

    let confirm = crate::common::dashboard::unescape(
        &member
            .page(&t, &format!("/dashboard/rules/{id}/activate"))
            .await,
    );
    assert!(
        confirm.contains(
            "Credits 0.1 points (PTS) per unit of the amount each trigger reports, rounded down, \
             at most 50 points per trigger, to the customer's wallet."
        ),
        "{confirm}"
    );
    assert!(confirm.contains("At most 1000 points in all (0 used so far)"));
    assert!(confirm.contains("From now until 2099-01-01 00:00 (UTC)."));

    // Listed with its status, and filtered by status.
    let list = member.page(&t, "/dashboard/rules").await;
    assert!(list.contains("Points per purchase"));
    assert!(list.contains("+0.1 PTS per unit, at most 50"));
    assert!(list.contains(">Pending<"));
    assert!(list.contains(&format!(
        "href=\"/dashboard/rules/{id}/share\" data-copy-text=\"{id}\""
    )));
    let live = member.page(&t, "/dashboard/rules?status=live").await;
    assert!(live.contains("No live rules in PROD."), "{live}");
    let pending = member.page(&t, "/dashboard/rules?status=pending").await;
    assert!(pending.contains("Points per purchase"));
    assert_eq!(
        member
            .get(&t, "/dashboard/rules?status=paused")
            .await
            .status(),
        422
    );

    // Edited: the type and currency stay; a bad field is refused and nothing changes.
    let edit = member.page(&t, &format!("/dashboard/rules/{id}")).await;
    assert!(edit.contains("value=\"Points per purchase\""));
    assert!(edit.contains("Earn Points"));
    assert!(edit.contains("value=\"2099-01-01T00:00\""));
    let res = member
        .post(
            &t,
            &format!("/dashboard/rules/{id}"),
            &[("name", "Points per purchase"), ("rate", "abc")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Rate: must be"));
    let res = member
        .post(
            &t,
            &format!("/dashboard/rules/{id}"),
            &[
                ("name", "Points per order"),
                ("rate", "0.2"),
                ("cap_max", "40"),
                ("budget", "2000"),
                ("authorized_key_ids", &key.0),
            ],
        )
        .await;
    assert_eq!(redirect_target(&res), format!("/dashboard/campaigns/{id}"));
    let saved = &rules_of(&t, &m).await[0];
    assert_eq!(saved.campaign.name, "Points per order");
    assert_eq!(saved.campaign.budget, Some(2000));
    assert_eq!(saved.campaign.max_per_lead, None, "cleared when left empty");
    assert_eq!(saved.campaign.ends_at, None);
    assert_eq!(saved.authorized_key_ids.len(), 1);

    // Unknown and malformed ids are "not found".
    assert_eq!(
        member.get(&t, "/dashboard/rules/cmp_nope").await.status(),
        404
    );
    assert_eq!(
        member
            .get(&t, &format!("/dashboard/campaigns/{}", CampaignId::new()))
            .await
            .status(),
        404
    );
    // The DEV dashboard does not see PROD's rule.
    member.switch_env(&t, "dev").await;
    assert_eq!(
        member
            .get(&t, &format!("/dashboard/campaigns/{id}"))
            .await
            .status(),
        404
    );
    assert!(member
        .page(&t, "/dashboard/rules")
        .await
        .contains("No rules in DEV yet"));
    t.stop().await;
}

async fn activation_needs_the_confirmation(t: TestApp) {
    let (m, member, key, currency) = merchant(&t).await;
    let id = rule(&t, &m, &key, &currency, 10).await;

    // A bare post does not switch it on: it leads to the confirmation.
    let res = member
        .post(&t, &format!("/dashboard/rules/{id}/activate"), &[])
        .await;
    assert_eq!(
        redirect_target(&res),
        format!("/dashboard/rules/{id}/activate")
    );
    assert!(!rules_of(&t, &m).await[0].campaign.active);

    let confirm = member
        .page(&t, &format!("/dashboard/rules/{id}/activate"))
        .await;
    for words in [
        "Review what it will do, then confirm.",
        "Credits 10 points (PTS) to the customer&#39;s wallet per trigger.",
        "At most 3 times per customer.",
        "No total budget",
        "From now on, with no end date.",
        &format!("Callable by the API keys Shop server ({}).", key.0),
        "In PROD: it moves your customers&#39; real points.",
        "Yes, activate it",
    ] {
        let words = words.replace("&#39;", "'");
        assert!(
            crate::common::dashboard::unescape(&confirm).contains(&words),
            "{words} in {confirm}"
        );
    }
    let res = member
        .post(
            &t,
            &format!("/dashboard/rules/{id}/activate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/rules");
    let list = member.page(&t, "/dashboard/rules").await;
    assert!(list.contains("Points per visit is live."), "{list}");
    assert!(list.contains(">Live<"));
    let on = &rules_of(&t, &m).await[0];
    assert!(on.campaign.active);
    assert_eq!(on.status.as_str(), "live");

    // Switched off from the list.
    let res = member
        .post(&t, &format!("/dashboard/rules/{id}/deactivate"), &[])
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/rules");
    assert!(member
        .page(&t, "/dashboard/rules")
        .await
        .contains("Points per visit is switched off"));
    assert!(!rules_of(&t, &m).await[0].campaign.active);

    // A rule without a key says it will not be live yet.
    let bare = t
        .app
        .create_rule(
            &Scope::new(&m, Env::Prod),
            &RuleDraft {
                name: "Keyless".into(),
                direction: "redeem".into(),
                currency_id: currency.clone(),
                points: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let confirm = crate::common::dashboard::unescape(
        &member
            .page(
                &t,
                &format!("/dashboard/rules/{}/activate", bare.campaign.id),
            )
            .await,
    );
    assert!(confirm.contains("Debits 5 points (PTS) from the customer's wallet per trigger."));
    assert!(confirm.contains("It will not be live yet: no API key is authorized"));

    // DEV holds 10 active campaigns: the 11th is refused on its confirmation page.
    let dev = Scope::new(&m, Env::Dev);
    let mut ids = Vec::new();
    for n in 0..11 {
        let r = t
            .app
            .create_rule(
                &dev,
                &RuleDraft {
                    name: format!("Dev rule {n}"),
                    direction: "earn".into(),
                    currency_id: currency.clone(),
                    points: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        ids.push(r.campaign.id.to_string());
    }
    for id in &ids[..10] {
        t.app.set_rule_active(&dev, id, true).await.unwrap();
    }
    member.switch_env(&t, "dev").await;
    let last = &ids[10];
    let res = member
        .post(
            &t,
            &format!("/dashboard/rules/{last}/activate"),
            &[("confirm", "yes")],
        )
        .await;
    let back = redirect_target(&res);
    assert_eq!(back, format!("/dashboard/rules/{last}/activate"));
    let page = member.page(&t, &back).await;
    assert!(page.contains("flash-error"), "{page}");
    assert!(page.contains("active campaigns"), "{page}");
    assert!(
        !t.app.rule(&dev, last).await.unwrap().campaign.active,
        "not switched on"
    );
    t.stop().await;
}

async fn sharing_a_rule_mails_its_details_and_no_secret(t: TestApp) {
    let (m, member, key, currency) = merchant(&t).await;
    let id = rule(&t, &m, &key, &currency, 10).await;
    let endpoint = format!("/api/v1/rules/{id}/trigger");

    let page = member
        .page(&t, &format!("/dashboard/rules/{id}/share"))
        .await;
    for shown in [
        id.as_str(),
        "Earn Points",
        "PROD (live)",
        endpoint.as_str(),
        "/api/guide",
        "data-copy=\"rule-id\"",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    assert!(member
        .page(&t, &format!("/dashboard/rules/{id}/share?copied=1"))
        .await
        .contains("Rule ID copied to your clipboard."));

    let res = member
        .post(
            &t,
            &format!("/dashboard/rules/{id}/share"),
            &[("to", "not an address")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("field-error"));

    let res = member
        .post(
            &t,
            &format!("/dashboard/rules/{id}/share"),
            &[("to", "dev@integrator.example")],
        )
        .await;
    let back = redirect_target(&res);
    assert!(member
        .page(&t, &back)
        .await
        .contains("Sent the rule&#39;s details to dev@integrator.example."));
    let mails = mails_to(&t.mail_dir, "dev@integrator.example");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    for shown in [
        "Subject: Rule to integrate: Points per visit",
        "Rule name:    Points per visit",
        &format!("Rule ID:      {id}"),
        "Rule type:    Earn Points",
        "Environment:  PROD (live)",
        &format!("URL endpoint: POST {}{endpoint}", t.base),
        &format!("{}/api/guide", t.base),
        &format!("{}/api/docs", t.base),
    ] {
        assert!(mail.contains(shown), "{shown} in {mail}");
    }
    let k = t
        .app
        .api_key(&m, Env::Prod, &key.0.parse().unwrap())
        .await
        .unwrap();
    assert!(!mail.contains(&key.1), "never the API secret");
    assert!(
        !mail.contains(&k.signing_secret),
        "never the signing secret"
    );
    assert!(!mail.contains(&k.secret_hash));

    // The guide the mail links to is served.
    let guide = t.client.get(t.url("/api/guide")).send().await.unwrap();
    assert_eq!(guide.status(), 200);
    let section = punchcard_server::api::GUIDE_SECTION;
    assert!(guide
        .text()
        .await
        .unwrap()
        .contains(&format!("\n## {section}\n")));
    assert!(mail.contains(&format!("(section \"{section}\")")));
    t.stop().await;
}

/// Records an interaction of `campaign` at `at`, as a trigger would have.
async fn interaction_at(
    t: &TestApp,
    m: &MerchantId,
    campaign: &str,
    outcome: Outcome,
    at: Timestamp,
) {
    let campaign: CampaignId = campaign.parse().unwrap();
    let row = InteractionRow {
        points: if outcome == Outcome::Awarded { 10 } else { 0 },
        error_code: (outcome != Outcome::Awarded).then(|| "limit_reached".to_string()),
        ..InteractionRow::new(m, Env::Prod, &campaign, outcome, at)
    };
    let mut tx = t.app.db.begin_write().await.unwrap();
    punchcard_store::campaigns::insert_interaction(&mut tx, &row)
        .await
        .unwrap();
    // The server writes interactions as they happen; one written into an hour the report has
    // counted already is counted again only once its counts are dropped.
    punchcard_store::campaign_reports::recount(&mut tx, m, &campaign)
        .await
        .unwrap();
    punchcard_store::commit(tx).await.unwrap();
}

fn day_of(t: Timestamp) -> String {
    t.to_rfc3339()[..10].to_string()
}

fn totals_of(v: &Value) -> (i64, i64, i64, i64) {
    (
        v["interactions"].as_i64().unwrap(),
        v["awarded"].as_i64().unwrap(),
        v["errors"].as_i64().unwrap(),
        v["exceptions"].as_i64().unwrap(),
    )
}

async fn the_report_counts_triggers_by_outcome_day_and_hour(t: TestApp) {
    let (m, member, key, currency) = merchant(&t).await;
    let api = t.api(&key);
    let id = rule(&t, &m, &key, &currency, 10).await;
    api.post(&format!("/api/v1/rules/{id}/activate"), json!({}))
        .await
        .expect(200);
    api.create(
        "/api/v1/leads",
        json!({"customer_id": "cust-ada", "email": "ada@example.com", "name": "Ada Lovelace"}),
    )
    .await;

    // Before any trigger: every day and hour present, all zeros.
    let empty = api.get_ok(&format!("/api/v1/campaigns/{id}/report")).await;
    assert_eq!(empty["status"], "live");
    assert_eq!(empty["kind"], "rule");
    assert_eq!(totals_of(&empty["totals"]), (0, 0, 0, 0));
    assert_eq!(empty["by_day"].as_array().unwrap().len(), 30);
    assert_eq!(empty["by_hour"].as_array().unwrap().len(), 48);
    assert_eq!(empty["available"], json!([]));

    // Three awards, then the fourth is over the per-lead limit, and one names nobody.
    let today = day_of(Timestamp::now());
    for n in 0..4 {
        let res = api
            .post(
                &format!("/api/v1/rules/{id}/trigger"),
                json!({"customer_id": "cust-ada", "hash": format!("visit-{n}")}),
            )
            .await;
        if n < 3 {
            res.expect(201);
        } else {
            res.assert_problem(422, "limit_reached");
        }
    }
    api.post(
        &format!("/api/v1/rules/{id}/trigger"),
        json!({"customer_id": "cust-nobody", "hash": "visit-x"}),
    )
    .await
    .assert_problem_status(422);

    let report = api.get_ok(&format!("/api/v1/campaigns/{id}/report")).await;
    let totals = &report["totals"];
    assert_eq!(totals_of(totals), (5, 3, 2, 0), "{report}");
    assert_eq!(totals["out_of_vouchers"], 0);
    assert_eq!(totals["points_awarded"], 30);
    let days = report["by_day"].as_array().unwrap();
    let hours = report["by_hour"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(hours.len(), 48);
    let sum = |rows: &[Value], f: &str| rows.iter().map(|r| r[f].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum(days, "awarded"), 3);
    assert_eq!(sum(days, "errors"), 2);
    assert_eq!(sum(hours, "interactions"), 5);
    // Today's bucket holds them (unless the day turned during the test).
    if day_of(Timestamp::now()) == today {
        let last = days.last().unwrap();
        assert_eq!(last["date"], today.as_str());
        assert_eq!(totals_of(last), (5, 3, 2, 0), "{last}");
    }
    // Days run oldest first, one apart, every one present.
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, dates);
    assert!(hours.last().unwrap()["hour"]
        .as_str()
        .unwrap()
        .ends_with(":00:00Z"));

    // Interactions of earlier days land in their UTC day and hour; older ones count in the
    // totals only.
    let now = Timestamp::now();
    let three_days_ago = now.minus(Duration::days(3));
    let two_hours_ago = now.minus(Duration::hours(2));
    interaction_at(&t, &m, &id, Outcome::Awarded, three_days_ago).await;
    interaction_at(&t, &m, &id, Outcome::Error, three_days_ago).await;
    interaction_at(&t, &m, &id, Outcome::Exception, two_hours_ago).await;
    interaction_at(&t, &m, &id, Outcome::Awarded, now.minus(Duration::days(40))).await;
    let report = api.get_ok(&format!("/api/v1/campaigns/{id}/report")).await;
    assert_eq!(totals_of(&report["totals"]), (9, 5, 3, 1));
    let days = report["by_day"].as_array().unwrap();
    let that_day = days
        .iter()
        .find(|d| d["date"] == day_of(three_days_ago).as_str())
        .expect("the day three days ago");
    assert_eq!(totals_of(that_day), (2, 1, 1, 0));
    assert_eq!(sum(days, "awarded"), 4, "forty days ago is outside the 30");
    let hours = report["by_hour"].as_array().unwrap();
    let hour = format!("{}:00:00Z", &two_hours_ago.to_rfc3339()[..13]);
    let that_hour = hours
        .iter()
        .find(|h| h["hour"] == hour.as_str())
        .unwrap_or_else(|| panic!("{hour} in {report}"));
    assert_eq!(that_hour["exceptions"], 1);
    assert_eq!(sum(hours, "interactions"), 6);

    // Not found: another kind of id, an unknown campaign.
    api.get(&format!("/api/v1/campaigns/{}/report", CampaignId::new()))
        .await
        .assert_problem(404, "not_found");

    // The campaign page shows the same numbers.
    let html = member.page(&t, &format!("/dashboard/campaigns/{id}")).await;
    assert!(html.contains("data-total=\"interactions\">9<"), "{html}");
    assert!(html.contains("data-total=\"awarded\">5<"));
    assert!(html.contains("data-total=\"errors\">3<"));
    assert!(html.contains("data-total=\"exceptions\">1<"));
    assert!(html.contains(&format!("data-label=\"{}\"", day_of(three_days_ago))));
    assert!(html.contains("limit_reached"));
    t.stop().await;
}

async fn interactions_are_found_by_customer(t: TestApp) {
    let (m, member, key, currency) = merchant(&t).await;
    let api = t.api(&key);
    let id = rule(&t, &m, &key, &currency, 10).await;
    api.post(&format!("/api/v1/rules/{id}/activate"), json!({}))
        .await
        .expect(200);
    let ada = id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": "cust-ada", "email": "ada@example.com", "name": "Ada Lovelace"}),
        )
        .await,
    );
    let bob = id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": "cust-bob", "mobile": "+447400123456", "name": "Bob_Stone"}),
        )
        .await,
    );
    for (customer, n) in [("cust-ada", 4), ("cust-bob", 1)] {
        for i in 0..n {
            let _ = api
                .post(
                    &format!("/api/v1/rules/{id}/trigger"),
                    json!({"customer_id": customer, "hash": format!("{customer}-{i}")}),
                )
                .await;
        }
    }
    let leads_of = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["lead_id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let found = |q: &str| {
        let api = api.clone();
        let path = format!("/api/v1/campaigns/{id}/interactions?q={}", urlencode(q));
        async move { api.get_ok(&path).await }
    };
    // By email, customer id and name, any case; a redeemer found is every one of its.
    assert_eq!(leads_of(&found("ADA@EXAMPLE").await), vec![ada.clone(); 4]);
    assert_eq!(leads_of(&found("cust-bo").await), vec![bob.clone()]);
    assert_eq!(leads_of(&found("lovelace").await).len(), 4);
    assert_eq!(leads_of(&found("7400123").await), vec![bob.clone()]);
    // LIKE's wildcards are taken literally.
    assert_eq!(leads_of(&found("b_s").await), vec![bob.clone()]);
    assert!(leads_of(&found("%").await).is_empty());
    assert!(leads_of(&found("nobody").await).is_empty());
    // With the outcome filter: Ada's fourth trigger was over the limit.
    let errors = api
        .get_ok(&format!(
            "/api/v1/campaigns/{id}/interactions?q=ada&outcome=error"
        ))
        .await;
    assert_eq!(leads_of(&errors), vec![ada.clone()]);
    assert_eq!(errors["data"][0]["error_code"], "limit_reached");
    api.get(&format!(
        "/api/v1/campaigns/{id}/interactions?q={}",
        "x".repeat(101)
    ))
    .await
    .assert_invalid(&["q"]);

    // The campaign page searches the same way, with a pager.
    let html = member
        .page(
            &t,
            &format!("/dashboard/campaigns/{id}?q=Ada&outcome=awarded"),
        )
        .await;
    assert_eq!(html.matches(&format!("/dashboard/leads/{ada}")).count(), 3);
    assert!(html.contains("Ada Lovelace · cust-ada"), "{html}");
    assert!(html.contains("ada@example.com"));
    assert!(!html.contains(&bob));
    let none = member
        .page(&t, &format!("/dashboard/campaigns/{id}?q=zzz"))
        .await;
    assert!(none.contains("No interaction matches."));
    let res = member
        .get(
            &t,
            &format!("/dashboard/campaigns/{id}?q={}", "x".repeat(101)),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Customer must be at most 100"));
    t.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn task_and_surprise_pages(t: TestApp) {
    let (m, member, key, currency) = merchant(&t).await;
    let api = t.api(&key);
    let deal = id_of(
        &api.create(
            "/api/v1/deals",
            json!({"name": "Free coffee", "kind": "voucher", "sell_price": 10, "available": true}),
        )
        .await,
    );
    let campaigns_of = |kind: &'static str| {
        let t = &t;
        let m = m.clone();
        async move {
            t.app
                .list_campaigns(&Scope::new(&m, Env::Prod), Some(kind), None, None, 100)
                .await
                .unwrap()
        }
    };

    // Tasks: in the navigation, created with errors by their fields, then paused.
    let list = member.page(&t, "/dashboard/tasks").await;
    assert!(list.contains("href=\"/dashboard/surprises\""));
    assert!(list.contains("No tasks in PROD yet"));
    let form = member.page(&t, "/dashboard/tasks/new").await;
    assert!(form.contains(&format!("<option value=\"{deal}\"")));
    let res = member
        .post(
            &t,
            "/dashboard/tasks",
            &[
                ("name", ""),
                ("reward", "points"),
                ("count", ""),
                ("min_reward", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    for shown in [
        "Name is required",
        "Activities is required",
        "Minimum must be a whole number",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    assert!(campaigns_of("task").await.is_empty(), "nothing written");
    let res = member
        .post(
            &t,
            "/dashboard/tasks",
            &[
                ("name", "Three visits"),
                ("reward", "points"),
                ("currency_id", &currency),
                ("count", "3"),
                ("min_reward", "5"),
                ("max_reward", "10"),
                ("period", "week"),
            ],
        )
        .await;
    let page = redirect_target(&res);
    let task = page.rsplit('/').next().unwrap().to_string();
    let html = member.page(&t, &page).await;
    assert!(html.contains("Task created."));
    assert!(html.contains(">Pending<"));
    assert!(html.contains(&format!("href=\"/dashboard/tasks/{task}/activate\">Start<")));

    // Started only through its confirmation.
    let res = member
        .post(&t, &format!("/dashboard/tasks/{task}/activate"), &[])
        .await;
    assert_eq!(
        redirect_target(&res),
        format!("/dashboard/tasks/{task}/activate")
    );
    assert!(!campaigns_of("task").await[0].campaign.active);
    let confirm = crate::common::dashboard::unescape(
        &member
            .page(&t, &format!("/dashboard/tasks/{task}/activate"))
            .await,
    );
    assert!(
        confirm.contains(
            "Gives a random 5 to 10 points (PTS) to a customer on their activity number 3 each week."
        ),
        "{confirm}"
    );
    let res = member
        .post(
            &t,
            &format!("/dashboard/tasks/{task}/activate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/tasks");
    assert!(member
        .page(&t, "/dashboard/tasks")
        .await
        .contains("Three visits is live."));

    // Its activities show their progress on its page.
    let lead = id_of(
        &api.create(
            "/api/v1/leads",
            json!({"customer_id": "cust-ada", "email": "ada@example.com", "name": "Ada Lovelace"}),
        )
        .await,
    );
    for n in 0..2 {
        api.create(
            "/api/v1/task_activities",
            json!({"task_id": task, "lead_id": lead, "hash": format!("visit-{n}")}),
        )
        .await;
    }
    let html = member
        .page(&t, &format!("/dashboard/campaigns/{task}"))
        .await;
    assert!(html.contains("data-progress>1 of 3<"), "{html}");
    assert!(html.contains("data-progress>2 of 3<"));
    assert!(html.contains("Ada Lovelace · cust-ada"));
    assert!(html.contains("data-total=\"awarded\">2<"));
    // And on the task activities page, of every task, filtered by task and customer.
    let html = member.page(&t, "/dashboard/task-activities").await;
    assert!(html.contains("data-progress>2 of 3<"), "{html}");
    assert!(html.contains(&format!(
        "href=\"/dashboard/campaigns/{task}\">Three visits<"
    )));
    assert!(html.contains("Ada Lovelace · cust-ada"));
    let html = member
        .page(
            &t,
            &format!("/dashboard/task-activities?campaign={task}&lead={lead}"),
        )
        .await;
    assert!(html.contains("data-progress>1 of 3<"));
    let html = member
        .page(
            &t,
            "/dashboard/task-activities?lead=lead_00000000000000000000000000",
        )
        .await;
    assert!(html.contains("No activity matches."));
    assert!(member
        .page(&t, "/dashboard/surprise-activities")
        .await
        .contains("No surprise activities yet"));

    // Paused from the list.
    let res = member
        .post(&t, &format!("/dashboard/tasks/{task}/deactivate"), &[])
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/tasks");
    assert!(!campaigns_of("task").await[0].campaign.active);

    // Surprises: the same pages with their own form and words.
    let res = member
        .post(
            &t,
            "/dashboard/surprises",
            &[
                ("name", "Birthday coffee"),
                ("type", "custom"),
                ("count", "1"),
                ("deal_id", &deal),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Date is required"));
    assert!(campaigns_of("surprise").await.is_empty());
    let res = member
        .post(
            &t,
            "/dashboard/surprises",
            &[
                ("name", "Birthday coffee"),
                ("type", "lead_birthday"),
                ("count", "1"),
                ("deal_id", &deal),
            ],
        )
        .await;
    let surprise = redirect_target(&res)
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let confirm = crate::common::dashboard::unescape(
        &member
            .page(&t, &format!("/dashboard/surprises/{surprise}/activate"))
            .await,
    );
    assert!(
        confirm.contains(
            "Gives a coupon of Free coffee to a customer who claims it on the customer's birthday."
        ),
        "{confirm}"
    );
    assert!(confirm.contains("At most once per customer and occasion."));
    let res = member
        .post(
            &t,
            &format!("/dashboard/surprises/{surprise}/activate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(redirect_target(&res), "/dashboard/surprises");
    let list = member.page(&t, "/dashboard/surprises").await;
    assert!(list.contains("Birthday coffee is live."), "{list}");
    assert!(list.contains(">Live<"));
    let edit = member
        .page(&t, &format!("/dashboard/surprises/{surprise}"))
        .await;
    assert!(edit.contains("value=\"lead_birthday\" checked"));
    // A rule's pages do not open a task.
    assert_eq!(
        member
            .get(&t, &format!("/dashboard/rules/{task}"))
            .await
            .status(),
        404
    );
    t.stop().await;
}

// ----- in the browser -----

pub(crate) const PASSWORD: &str = "Harbour-Lights-77";

pub(crate) async fn sign_in(t: &TestApp, b: &Browser, email: &str) {
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

async fn a_merchant_activates_a_rule_in_the_browser(t: TestApp) {
    let Some(b) = Browser::launch(&t.base).await else {
        return;
    };
    let shots = t.backend == Backend::Sqlite;
    let email = format!(
        "owner-{}@harbour.example",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let (m, _) = t
        .app
        .create_merchant(
            punchcard_app::merchants::NewMerchant::parse("Harbour Books", &email, PASSWORD, true)
                .unwrap(),
        )
        .await
        .unwrap();
    t.set_rate_limit(&m, 300_000).await;
    t.app
        .create_currency(&m, "PTS", "Points", "1")
        .await
        .unwrap();
    let k = t
        .app
        .create_api_key(&m, Env::Prod, "Shop server", None)
        .await
        .unwrap();
    let key: Key = (k.id.to_string(), k.secret);
    sign_in(&t, &b, &email).await;

    // Create a rule from the Rules page.
    b.click_link("Rules").await;
    b.wait_path("/dashboard/rules").await;
    b.wait_text("No rules in PROD yet").await;
    b.click("Create rule").await;
    b.wait_path("/dashboard/rules/new").await;
    b.click("Create rule").await;
    b.wait_text("Some fields need attention").await;
    b.fill("#name", "Points per visit").await;
    let currency = t.app.list_currencies(&m, None, 1).await.unwrap()[0]
        .id
        .to_string();
    b.select("#currency_id", &currency).await;
    b.fill("#points", "10").await;
    b.fill("#max_per_lead", "5").await;
    b.find(&format!(
        "input[name=authorized_key_ids][value='{}']",
        key.0
    ))
    .await
    .click()
    .await
    .expect("tick the key");
    b.click("Create rule").await;
    b.wait_text("Rule created.").await;
    let page = b.path().await;
    assert!(page.starts_with("/dashboard/campaigns/cmp_"), "{page}");
    let id = page.rsplit('/').next().unwrap().to_string();

    // Activate it through the confirmation, and see it live.
    b.click("Activate").await;
    b.wait_path(&format!("/dashboard/rules/{id}/activate"))
        .await;
    b.wait_text("Credits 10 points (PTS) to the customer's wallet per trigger.")
        .await;
    b.wait_text("Callable by the API keys Shop server").await;
    if shots {
        b.screenshot_full("30-rule-activate").await;
    }
    b.click("Yes, activate it").await;
    b.wait_path("/dashboard/rules").await;
    b.wait_text("Points per visit is live.").await;
    let badge = b.find("[data-status]").await.text().await.unwrap();
    assert_eq!(badge, "Live");

    // Share the rule ID from the line's menu: the link copies the id where the browser lets
    // it, then opens the page that emails it to a developer.
    b.find("details.menu summary")
        .await
        .click()
        .await
        .expect("open the menu");
    b.wait_text("Share rule ID").await;
    if shots {
        b.screenshot_full("31-rules").await;
    }
    b.click("Share rule ID").await;
    b.wait_path(&format!("/dashboard/rules/{id}/share")).await;
    b.wait_text("What your developer needs").await;
    b.fill("#to", "dev@integrator.example").await;
    b.click("Send email").await;
    b.wait_text("Sent the rule's details to dev@integrator.example.")
        .await;
    assert_eq!(mails_to(&t.mail_dir, "dev@integrator.example").len(), 1);
    if shots {
        b.screenshot_full("35-rule-share").await;
    }

    // Triggers through the API, and a month of history, fill the campaign page's chart.
    let now = Timestamp::now();
    // Oldest first, so ids follow time as real triggers' do.
    for day in (1..26i64).rev() {
        let at = now.minus(Duration::days(day));
        for _ in 0..((day * 7) % 9 + (day % 4)) {
            interaction_at(&t, &m, &id, Outcome::Awarded, at).await;
        }
        if day % 5 == 0 {
            interaction_at(&t, &m, &id, Outcome::Error, at).await;
        }
    }
    let api = t.api(&key);
    api.create(
        "/api/v1/leads",
        json!({"customer_id": "cust-ada", "email": "ada@example.com", "name": "Ada Lovelace"}),
    )
    .await;
    for n in 0..6 {
        let _ = api
            .post(
                &format!("/api/v1/rules/{id}/trigger"),
                json!({"customer_id": "cust-ada", "hash": format!("visit-{n}")}),
            )
            .await;
    }
    b.open(&format!("/dashboard/campaigns/{id}")).await;
    b.wait_text("Awarded against requests, by day").await;
    b.wait_text("limit_reached").await;
    b.wait_text("Ada Lovelace · cust-ada").await;
    b.find("#chart-awarded-day .series-1").await;
    if shots {
        b.screenshot_full("32-rule-campaign").await;
    }
    // A task's page lists its activities with their progress.
    let task = t
        .app
        .create_task(
            &Scope::new(&m, Env::Prod),
            &punchcard_app::campaigns::tasks::TaskDraft {
                name: "Three visits a week".into(),
                currency_id: Some(currency.clone()),
                reward: "points".into(),
                count: Some(3),
                min_reward: Some(5),
                max_reward: Some(10),
                period: Some("week".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .campaign
        .id
        .to_string();
    let ada = t
        .app
        .list_leads(&Scope::new(&m, Env::Prod), &Default::default(), None, 1)
        .await;
    let ada = ada.unwrap()[0].id.to_string();
    for n in 0..4 {
        api.create(
            "/api/v1/task_activities",
            json!({"task_id": task, "lead_id": ada, "hash": format!("task-{n}")}),
        )
        .await;
    }
    b.open(&format!("/dashboard/campaigns/{task}")).await;
    b.wait_text("1 of 3").await;
    b.wait_text("Three visits a week").await;
    if shots {
        b.screenshot_full("36-task-campaign").await;
    }
    b.open(&format!("/dashboard/campaigns/{id}")).await;

    // Older interactions are a page away.
    b.click("Older").await;
    b.wait_text("Newest").await;
    assert!(
        !b.text().await.contains("Ada Lovelace"),
        "the newest are on the first page"
    );

    // The same on a phone: create a redeem rule, activate it through its confirmation.
    b.phone(390, 844).await;
    b.open("/dashboard/rules").await;
    b.click("Create rule").await;
    b.wait_path("/dashboard/rules/new").await;
    b.fill("#name", "Coffee for points").await;
    b.find("input[name=type][value=redeem]")
        .await
        .click()
        .await
        .expect("choose redeem");
    b.select("#currency_id", &currency).await;
    b.fill("#points", "150").await;
    b.find(&format!(
        "input[name=authorized_key_ids][value='{}']",
        key.0
    ))
    .await
    .click()
    .await
    .expect("tick the key");
    b.click("Create rule").await;
    b.wait_text("Rule created.").await;
    b.assert_fits_screen(390).await;
    b.click("Activate").await;
    b.wait_text("Debits 150 points (PTS) from the customer's wallet per trigger.")
        .await;
    b.assert_fits_screen(390).await;
    b.click("Yes, activate it").await;
    b.wait_text("Coffee for points is live.").await;
    let statuses = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('[data-status]')).map(e => e.textContent);",
            vec![],
        )
        .await
        .expect("read the statuses");
    assert_eq!(statuses, json!(["Live", "Live"]));
    b.desktop().await;

    // Every page fits a phone.
    for width in [360, 390] {
        b.phone(width, 844).await;
        for page in [
            "/dashboard/rules".to_string(),
            "/dashboard/rules/new".to_string(),
            format!("/dashboard/rules/{id}"),
            format!("/dashboard/rules/{id}/activate"),
            format!("/dashboard/rules/{id}/share"),
            format!("/dashboard/campaigns/{id}"),
            "/dashboard/tasks".to_string(),
            "/dashboard/tasks/new".to_string(),
            "/dashboard/surprises".to_string(),
            "/dashboard/surprises/new".to_string(),
            "/dashboard/task-activities".to_string(),
            "/dashboard/surprise-activities".to_string(),
        ] {
            b.open(&page).await;
            b.wait_path(&page).await;
            b.assert_fits_screen(width).await;
        }
    }
    if shots {
        b.open(&format!("/dashboard/campaigns/{id}")).await;
        b.screenshot_phone("33-rule-campaign-phone", 390, 844).await;
        b.open("/dashboard/rules").await;
        b.screenshot_phone("34-rules-phone", 390, 844).await;
    }
    b.desktop().await;
    b.quit().await;
    t.stop().await;
}
