//! Unique keys decoded once and answered per field (every unique index of the schema is in
//! the table); cached allowed IPs forgotten on every server as soon as a change commits.

use std::time::{Duration, Instant};

use crate::common::dashboard::merchant_with_member;
use crate::common::{Backend, TestApp};
use punchcard_app::allowed_ips::NewAllowedIp;
use punchcard_app::{App, AppError, AppSettings};
use punchcard_domain::accounts::MerchantStatus;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{AllowedIpId, Env, MerchantId};
use punchcard_store::allowed_ips::{self, AllowedIpRow};
use punchcard_store::changes::{self, Change, Changes, Topic};
use punchcard_store::error::UNIQUE_INDEXES;
use punchcard_store::{accounts, commit, Db, SchemaUniqueIndex, StoreError, UniqueKey};
use serde_json::{json, Value};

// ----- unique keys -----

/// The schema's unique indexes that `UNIQUE_INDEXES` does not name, as `table (columns)`.
/// PostgreSQL reports a violation by index name, SQLite by table and columns, so each backend
/// is checked the way it reports.
fn missing_from_the_table(backend: Backend, schema: &[SchemaUniqueIndex]) -> Vec<String> {
    schema
        .iter()
        .filter(|idx| {
            !UNIQUE_INDEXES.iter().any(|k| {
                let same_columns = k.table == idx.table && k.columns == idx.columns.as_slice();
                match backend {
                    Backend::Postgres => k.name == idx.name && same_columns,
                    // A primary key's index is `sqlite_autoindex_…`; any other keeps its name.
                    Backend::Sqlite => {
                        same_columns
                            && (k.name == idx.name || idx.name.starts_with("sqlite_autoindex_"))
                    }
                }
            })
        })
        .map(|idx| format!("{} {} ({})", idx.name, idx.table, idx.columns.join(", ")))
        .collect()
}

async fn every_unique_index_of_the_schema_is_in_the_table(t: TestApp) {
    let db = &t.app.db;
    let schema = db.schema_unique_indexes().await.unwrap();
    assert!(schema.len() >= 20, "{schema:?}");
    let missing = missing_from_the_table(t.backend, &schema);
    assert!(
        missing.is_empty(),
        "unique indexes missing from punchcard_store::error::UNIQUE_INDEXES: {missing:#?}"
    );
    // No entry names an index the schema does not have.
    for k in UNIQUE_INDEXES {
        assert!(
            schema
                .iter()
                .any(|i| i.table == k.table && i.columns == k.columns),
            "{} names no index of the schema",
            k.name
        );
    }

    // A new unique index is caught ...
    punchcard_store::query(
        "CREATE UNIQUE INDEX leads_planted_email ON leads (merchant_id, env, email)",
    )
    .execute(&mut db.conn().await.unwrap())
    .await
    .unwrap();
    let schema = db.schema_unique_indexes().await.unwrap();
    assert_eq!(
        missing_from_the_table(t.backend, &schema),
        vec!["leads_planted_email leads (merchant_id, env, email)".to_string()]
    );

    // ... and until it is listed, a write it refuses is a plain 409 `conflict` that shows
    // nothing of the database.
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    let create = |customer: &'static str| {
        t.client
            .post(t.url("/api/v1/leads"))
            .basic_auth(&key.0, Some(&key.1))
            .json(&json!({"customer_id": customer, "email": "same@example.com"}))
            .send()
    };
    assert_eq!(create("cust-0001").await.unwrap().status(), 201);
    let res = create("cust-0002").await.unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let text = res.text().await.unwrap();
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["code"], "conflict");
    assert_eq!(problem["status"], 409);
    for leak in [
        "planted",
        "UNIQUE",
        "unique",
        "leads.",
        "constraint",
        "duplicate",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    t.stop().await;
}

/// Real violations on each backend decode to their key, and the use cases answer each one
/// on its field.
async fn violations_decode_to_their_key(t: TestApp) {
    let db = &t.app.db;
    let m = t.active_merchant("Acme").await;

    // Store level: a secondary unique index and a primary key.
    let row = AllowedIpRow {
        merchant_id: m.clone(),
        id: AllowedIpId::new(),
        source: "api".to_string(),
        cidr: "203.0.113.7".to_string(),
        created_at: Timestamp::now(),
    };
    let mut tx = db.begin_write().await.unwrap();
    allowed_ips::insert(&mut tx, &row).await.unwrap();
    let again = AllowedIpRow {
        id: AllowedIpId::new(),
        ..row.clone()
    };
    let err = allowed_ips::insert(&mut tx, &again).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unique(UniqueKey::AllowedIpCidr)),
        "{err:?}"
    );
    drop(tx);
    let mut conn = db.conn().await.unwrap();
    let err = accounts::insert_merchant(
        &mut conn,
        &m,
        "Twin",
        MerchantStatus::Active,
        Timestamp::now(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.unique_key(), Some(UniqueKey::PrimaryKey("merchants")));
    drop(conn);

    // Use cases: the field each key guards.
    let field_of = |e: AppError| match e {
        AppError::Validation(v) => (v.0[0].field.clone(), v.0[0].message.clone()),
        other => panic!("expected a field error, got {other:?}"),
    };
    let err = t
        .app
        .create_currency(&m, "PTS", "Points again", "1")
        .await
        .unwrap_err();
    assert_eq!(
        field_of(err),
        ("code".into(), "already exists for this merchant".into())
    );
    let owner = t.app.list_members(&m).await.unwrap().remove(0);
    let again = punchcard_app::merchants::NewMerchant::parse(
        "Copycat",
        owner.email.as_str(),
        "Correct-Horse-9",
        true,
    )
    .unwrap();
    let err = t.app.create_merchant(again).await.unwrap_err();
    assert_eq!(
        field_of(err),
        ("email".into(), "is already registered".into())
    );

    // Over HTTP: the customer id, which nothing checks before the insert.
    let key = t.api_key(&m, Env::Dev).await;
    let create = |email: &'static str| {
        t.client
            .post(t.url("/api/v1/leads"))
            .basic_auth(&key.0, Some(&key.1))
            .json(&json!({"customer_id": "cust-0001", "email": email}))
            .send()
    };
    assert_eq!(create("a@example.com").await.unwrap().status(), 201);
    let res = create("b@example.com").await.unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(
        problem["errors"],
        json!([{"field": "customer_id", "message": "is already used by another lead"}])
    );
    t.stop().await;
}

// ----- change notifications -----

fn entry(source: &str, ip: &str) -> NewAllowedIp {
    NewAllowedIp::parse(source, ip).expect("valid entry")
}

async fn status_of(t: &TestApp, key: &(String, String)) -> u16 {
    t.api(key)
        .get_raw("/api/v1/currencies")
        .await
        .status()
        .as_u16()
}

/// Polls `t`'s API until it answers `want`; answers how long that took.
async fn until_status(
    t: &TestApp,
    key: &(String, String),
    want: u16,
    within: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        let got = status_of(t, key).await;
        if got == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "still {got}, not {want}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until a server hears other processes' changes (its listener is connected).
async fn until_live(t: &TestApp) {
    let changes = t.app.db.subscribe_changes();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !changes.live() {
        assert!(
            Instant::now() < deadline,
            "the change listener never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next change a subscription hears, within `within`.
async fn next_change(changes: &mut Changes, within: Duration) -> Change {
    tokio::time::timeout(within, changes.next())
        .await
        .unwrap_or_else(|_| panic!("no change heard within {within:?}"))
}

/// Drops what a subscription heard so far (a listener's first `Everything`, …).
async fn drain(changes: &mut Changes) {
    while tokio::time::timeout(Duration::from_millis(300), changes.next())
        .await
        .is_ok()
    {}
}

/// How soon another server must follow a change. The cache keeps a list for minutes while it
/// hears changes, so meeting this is the notification's doing, not an expiry. SQLite servers in
/// separate processes (here: separate pools) hear through the change counter's poll.
const FOLLOWS_WITHIN: Duration = Duration::from_millis(750);

async fn another_server_follows_an_allowed_ip_change_at_once(t: TestApp) {
    let b = t.start_on(|_| {}).await;
    until_live(&t).await;
    until_live(&b).await;
    let (m, member) = merchant_with_member(&t, "Acme", true).await;
    let key = t.api_key(&m, Env::Dev).await;
    // Both servers have read (and cached) the empty list.
    assert_eq!(status_of(&t, &key).await, 200);
    assert_eq!(status_of(&b, &key).await, 200);

    // Added through the first server's dashboard: the second refuses the API at once.
    let res = member
        .post(
            &t,
            "/dashboard/allowed-ips",
            &[("source", "api"), ("ip", "203.0.113.7")],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(status_of(&t, &key).await, 403, "the writing server at once");
    let took = until_status(&b, &key, 403, FOLLOWS_WITHIN).await;
    eprintln!("the other server followed an add in {took:?}");

    // Deleted through the use case (as the CLI does): both let the API in again.
    let rule = t.app.list_allowed_ips(&m).await.unwrap().remove(0);
    t.app.delete_allowed_ip(&m, &rule.id).await.unwrap();
    assert_eq!(status_of(&t, &key).await, 200);
    let took = until_status(&b, &key, 200, FOLLOWS_WITHIN).await;
    eprintln!("the other server followed a delete in {took:?}");

    // And the other way round: the second server's write reaches the first.
    b.app
        .add_allowed_ip(&m, entry("api", "198.51.100.0/24"))
        .await
        .unwrap();
    until_status(&t, &key, 403, FOLLOWS_WITHIN).await;
    b.stop().await;
    t.stop().await;
}

/// A change whose transaction rolls back notifies nobody; the one that commits does.
async fn a_rolled_back_change_notifies_nothing(t: TestApp) {
    let b = t.start_on(|_| {}).await;
    until_live(&t).await;
    until_live(&b).await;
    let rolled_back = t.active_merchant("Rolled back").await;
    let committed = t.active_merchant("Committed").await;
    let mut here = t.app.db.subscribe_changes();
    let mut there = b.app.db.subscribe_changes();
    drain(&mut here).await;
    drain(&mut there).await;

    let row = |m: &MerchantId| AllowedIpRow {
        merchant_id: m.clone(),
        id: AllowedIpId::new(),
        source: "api".to_string(),
        cidr: "203.0.113.1".to_string(),
        created_at: Timestamp::now(),
    };
    let mut tx = t.app.db.begin_write().await.unwrap();
    allowed_ips::insert(&mut tx, &row(&rolled_back))
        .await
        .unwrap();
    drop(tx);
    let mut tx = t.app.db.begin_write().await.unwrap();
    allowed_ips::insert(&mut tx, &row(&committed))
        .await
        .unwrap();
    commit(tx).await.unwrap();

    // This process hears the commit as it returns (on PostgreSQL its own listener may echo it).
    let topic = Change::Topic(Topic::AllowedIps(committed.clone()));
    assert_eq!(here.try_next(), Some(topic.clone()));
    let mut heard_here = Vec::new();
    while let Ok(c) = tokio::time::timeout(Duration::from_millis(500), here.next()).await {
        heard_here.push(c);
    }
    assert!(heard_here.iter().all(|c| *c == topic), "{heard_here:?}");

    // The other server hears the commit once; on SQLite it learns that something changed,
    // not what (the counter moved once: the rollback did not move it).
    let expected = match t.backend {
        Backend::Postgres => topic,
        Backend::Sqlite => Change::Everything,
    };
    assert_eq!(
        next_change(&mut there, Duration::from_secs(2)).await,
        expected
    );
    let more = tokio::time::timeout(Duration::from_millis(600), there.next()).await;
    assert!(more.is_err(), "heard more than the commit: {more:?}");
    assert!(t
        .app
        .list_allowed_ips(&rolled_back)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(t.app.list_allowed_ips(&committed).await.unwrap().len(), 1);
    b.stop().await;
    t.stop().await;
}

/// Creating or revoking an API key and moving a merchant's status are heard by every server
/// (for the caches that hold keys and statuses): on PostgreSQL as their topic, on SQLite as
/// "something changed".
async fn key_and_status_changes_reach_other_servers(t: TestApp) {
    let b = t.start_on(|_| {}).await;
    until_live(&t).await;
    until_live(&b).await;
    let m = t.active_merchant("Keys and status").await;
    let mut there = b.app.db.subscribe_changes();
    drain(&mut there).await;
    let heard = |topic: Topic| match t.backend {
        Backend::Postgres => Change::Topic(topic),
        Backend::Sqlite => Change::Everything,
    };

    let key = t
        .app
        .create_api_key(&m, Env::Dev, "cached", None)
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut there, Duration::from_secs(2)).await,
        heard(Topic::ApiKeys(m.clone()))
    );
    drain(&mut there).await;
    t.app.revoke_api_key(&m, Env::Dev, &key.id).await.unwrap();
    assert_eq!(
        next_change(&mut there, Duration::from_secs(2)).await,
        heard(Topic::ApiKeys(m.clone()))
    );
    drain(&mut there).await;
    t.app.freeze_merchant(&m).await.unwrap();
    assert_eq!(
        next_change(&mut there, Duration::from_secs(2)).await,
        heard(Topic::MerchantStatus(m.clone()))
    );
    drain(&mut there).await;
    t.app.unfreeze_merchant(&m).await.unwrap();
    assert_eq!(
        next_change(&mut there, Duration::from_secs(2)).await,
        heard(Topic::MerchantStatus(m.clone()))
    );
    b.stop().await;
    t.stop().await;
}

/// Servers cache API keys with their merchant's status: a freeze, an unfreeze and a revoke on
/// one server reach another's cache at once.
async fn a_freeze_or_revoke_reaches_every_servers_key_cache(t: TestApp) {
    let b = t.start_on(|_| {}).await;
    until_live(&t).await;
    until_live(&b).await;
    let m = t.active_merchant("Cached keys").await;
    let key = t.api_key(&m, Env::Dev).await;
    assert_eq!(status_of(&b, &key).await, 200);
    t.app.freeze_merchant(&m).await.unwrap();
    until_status(&b, &key, 403, FOLLOWS_WITHIN).await;
    t.app.unfreeze_merchant(&m).await.unwrap();
    until_status(&b, &key, 200, FOLLOWS_WITHIN).await;
    let key_id = key.0.parse().unwrap();
    t.app.revoke_api_key(&m, Env::Dev, &key_id).await.unwrap();
    until_status(&b, &key, 401, FOLLOWS_WITHIN).await;
    b.stop().await;
    t.stop().await;
}

/// `punchcard admin allowed-ip …` writes from another process, through the use cases on its
/// own connection: a running server follows within a second or two.
async fn an_admin_change_reaches_a_running_server(t: TestApp) {
    until_live(&t).await;
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    assert_eq!(status_of(&t, &key).await, 200);

    let db = Db::connect(&t.database_url).await.unwrap();
    let admin = App::new(db.clone(), AppSettings::default());
    let rule = admin
        .add_allowed_ip(&m, entry("api", "203.0.113.7"))
        .await
        .unwrap();
    let took = until_status(&t, &key, 403, Duration::from_secs(2)).await;
    eprintln!("the server followed the admin's add in {took:?}");
    admin.delete_allowed_ip(&m, &rule.id).await.unwrap();
    until_status(&t, &key, 200, Duration::from_secs(2)).await;
    db.close().await;
    t.stop().await;
}

on_both_backends!(
    every_unique_index_of_the_schema_is_in_the_table,
    violations_decode_to_their_key,
    another_server_follows_an_allowed_ip_change_at_once,
    a_rolled_back_change_notifies_nothing,
    an_admin_change_reaches_a_running_server,
    key_and_status_changes_reach_other_servers,
    a_freeze_or_revoke_reaches_every_servers_key_cache,
);

/// The listener's connection is cut: it reconnects, tells its subscribers to forget everything
/// (it may have missed notifications), and hears the next change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_listener_reconnects_and_forgets_everything() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let b = t.start_on(|_| {}).await;
    until_live(&b).await;
    let m = t.active_merchant("Acme").await;
    let key = t.api_key(&m, Env::Dev).await;
    assert_eq!(status_of(&b, &key).await, 200);
    let mut there = b.app.db.subscribe_changes();
    drain(&mut there).await;

    let cut: Vec<bool> = punchcard_store::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(changes::LISTENER_APPLICATION_NAME)
    .scalars(&mut t.app.db.conn().await.unwrap())
    .await
    .unwrap();
    let cut = cut.len();
    assert_eq!(cut, 2, "one listener per server");
    assert_eq!(
        next_change(&mut there, Duration::from_secs(10)).await,
        Change::Everything
    );
    until_live(&b).await;
    // Cached again after the reconnection: only a notification can make it forget now.
    assert_eq!(status_of(&b, &key).await, 200);

    t.app
        .add_allowed_ip(&m, entry("api", "203.0.113.7"))
        .await
        .unwrap();
    until_status(&b, &key, 403, FOLLOWS_WITHIN).await;
    b.stop().await;
    t.stop().await;
}
