//! The SQLite and PostgreSQL migrations produce the same tables and columns.

use punchcard_store::Db;

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(admin) = crate::common::postgres_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let (pg_url, name) = crate::common::fresh_postgres_database(&admin).await;
    let pg = Db::connect(&pg_url).await.unwrap();
    pg.migrate().await.unwrap();
    let a = sqlite.schema_columns().await.unwrap();
    let b = pg.schema_columns().await.unwrap();
    pg.close().await;
    crate::common::drop_postgres_database(&admin, &name).await;
    assert!(!a.is_empty());
    assert_eq!(
        a, b,
        "tables and columns differ between the SQLite and PostgreSQL migrations"
    );
}

#[tokio::test]
async fn migration_folders_have_the_same_names() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations");
    let names = |d: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[tokio::test]
async fn unsupported_and_unreachable_databases_are_clear_errors() {
    let err = Db::connect("mysql://root@127.0.0.1/x").await.unwrap_err();
    assert!(
        err.to_string().contains("unsupported database URL scheme"),
        "{err}"
    );
    let err = Db::connect("postgres://postgres@127.0.0.1:1/none")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot reach the database"),
        "{err}"
    );
}
