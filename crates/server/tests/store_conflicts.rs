//! Unique keys decoded once and answered per field (every unique index of the schema is in
//! the table).

mod common;

use common::{Backend, TestApp};
use punchcard_app::AppError;
use punchcard_domain::accounts::MerchantStatus;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{AllowedIpId, Env};
use punchcard_store::allowed_ips::{self, AllowedIpRow};
use punchcard_store::error::UNIQUE_INDEXES;
use punchcard_store::{accounts, SchemaUniqueIndex, StoreError, UniqueKey};
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
    sqlx::query("CREATE UNIQUE INDEX leads_planted_email ON leads (merchant_id, env, email)")
        .execute(db.pool())
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

on_both_backends!(
    every_unique_index_of_the_schema_is_in_the_table,
    violations_decode_to_their_key,
);
