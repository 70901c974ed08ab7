//! Test harness: the real server on port 0 with a fresh database, called over HTTP.
//!
//! Every test runs on SQLite and, when `PUNCHCARD_TEST_POSTGRES_URL` is set, on PostgreSQL
//! (a fresh database per test, dropped afterwards). In CI (`CI=true`) a missing PostgreSQL
//! fails the test rather than skipping it.
#![allow(dead_code)]

pub mod api;
pub mod dashboard;

// The CLI tests share this module and use none of the API client.
#[allow(unused_imports)]
pub use api::{ids, ApiResponse, Key, ReadAnswer};

use std::path::PathBuf;

use punchcard_app::App;
use punchcard_domain::{Env, MerchantId};
use punchcard_server::{Config, Server};
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub database_url: String,
    pub mail_dir: PathBuf,
    pub upload_dir: PathBuf,
    pub app: App,
    /// The server's shared state, for tests that mount its middleware on their own routes.
    pub state: punchcard_server::state::AppState,
    /// A plain client (no cookies); build others with `TestApp::browser_client`.
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pg_admin: Option<(String, String)>,
}

/// The PostgreSQL admin URL for tests, or `None` (skip) outside CI.
pub fn postgres_url() -> Option<String> {
    match std::env::var("PUNCHCARD_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI")
                .map(|v| v == "true" || v == "1")
                .unwrap_or(false)
            {
                panic!("PUNCHCARD_TEST_POSTGRES_URL must be set in CI: PostgreSQL tests may not be skipped");
            }
            eprintln!("PUNCHCARD_TEST_POSTGRES_URL is not set: skipping the PostgreSQL variant");
            None
        }
    }
}

/// The Redis URL for tests, or `None` (skip) outside CI.
pub fn redis_url() -> Option<String> {
    match std::env::var("PUNCHCARD_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI")
                .map(|v| v == "true" || v == "1")
                .unwrap_or(false)
            {
                panic!(
                    "PUNCHCARD_TEST_REDIS_URL must be set in CI: Redis tests may not be skipped"
                );
            }
            eprintln!("PUNCHCARD_TEST_REDIS_URL is not set: skipping a Redis test");
            None
        }
    }
}

/// An allowed-IP entry (`source` is `api` or `dashboard`).
pub fn allowed_ip_entry(source: &str, ip: &str) -> punchcard_app::allowed_ips::NewAllowedIp {
    punchcard_app::allowed_ips::NewAllowedIp::parse(source, ip).expect("valid entry")
}

/// An address no other test uses: `tag-<ulid>@example.com`.
pub fn unique_email(tag: &str) -> String {
    format!(
        "{tag}-{}@example.com",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

/// Creates a fresh, empty PostgreSQL database and answers its URL and name.
pub async fn fresh_postgres_database(admin_url: &str) -> (String, String) {
    let name = format!(
        "punchcard_test_{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to PUNCHCARD_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let mut url = url::Url::parse(admin_url).expect("valid PostgreSQL URL");
    url.set_path(&format!("/{name}"));
    (url.to_string(), name)
}

/// Drops a test database, even with connections still open.
pub async fn drop_postgres_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        conn.close().await.ok();
    }
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::start(Backend::Sqlite, |_| {})
            .await
            .expect("SQLite always runs")
    }

    pub async fn postgres() -> Option<TestApp> {
        Self::start(Backend::Postgres, |_| {}).await
    }

    /// Starts a server; `configure` adjusts the configuration (mail dir, proxies, …).
    pub async fn start(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg_admin) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("punchcard.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin = postgres_url()?;
                let (url, name) = fresh_postgres_database(&admin).await;
                (url, Some((admin, name)))
            }
        };
        Some(Self::launch(backend, database_url, pg_admin, dir, configure).await)
    }

    /// Starts a server on a database that an earlier release made: the schema up to migration
    /// `version`, holding the rows `fixture` (SQL statements separated by `;` at line ends)
    /// inserts. The server then migrates it to the current schema, as an upgrade does.
    pub async fn start_upgraded(backend: Backend, version: i64, fixture: &str) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg_admin) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("punchcard.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin = postgres_url()?;
                let (url, name) = fresh_postgres_database(&admin).await;
                (url, Some((admin, name)))
            }
        };
        let db = punchcard_store::Db::connect(&database_url)
            .await
            .expect("database opens");
        db.migrate_to(version).await.expect("earlier schema");
        let mut conn = db.conn().await.expect("connection");
        for statement in fixture
            .split(";\n")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            punchcard_store::query(statement)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("fixture statement failed: {e}\n{statement}"));
        }
        drop(conn);
        db.close().await;
        Some(Self::launch(backend, database_url, pg_admin, dir, |_| {}).await)
    }

    /// Starts another server on this one's database (as a second node behind a load
    /// balancer would run); it has its own mail and upload folders. Stopping or dropping it
    /// leaves the database alone: the first server owns it. Stop this one first.
    pub async fn start_on(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::launch(
            self.backend,
            self.database_url.clone(),
            None,
            dir,
            configure,
        )
        .await
    }

    async fn launch(
        backend: Backend,
        database_url: String,
        pg_admin: Option<(String, String)>,
        dir: tempfile::TempDir,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mail_dir = dir.path().join("mail");
        let upload_dir = dir.path().join("uploads");
        let mut config = Config::with_database(&database_url);
        config.mail_dir = mail_dir.clone();
        config.storage_url = format!("file://{}", upload_dir.display());
        configure(&mut config);
        let server = Server::build(config).await.expect("server starts");
        let addr = server.local_addr();
        let app = server.state().app.clone();
        let state = server.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            server
                .run(async move {
                    let _ = rx.await;
                })
                .await
                .expect("server runs");
        });
        TestApp {
            backend,
            base: format!("http://{addr}"),
            addr,
            database_url,
            mail_dir,
            upload_dir,
            app,
            state,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            dir,
            shutdown: Some(tx),
            server: Some(handle),
            pg_admin,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with a cookie jar that does not follow redirects, like a browser form.
    pub fn browser_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// An active merchant with a PTS currency; answers its id.
    pub async fn active_merchant(&self, name: &str) -> MerchantId {
        let email = unique_email("owner");
        let new =
            punchcard_app::merchants::NewMerchant::parse(name, &email, "Correct-Horse-9", true)
                .expect("valid merchant");
        let (id, _) = self
            .app
            .create_merchant(new)
            .await
            .expect("merchant created");
        self.app
            .create_currency(&id, "PTS", "Points", "1")
            .await
            .expect("currency created");
        id
    }

    /// An API key of a merchant: (key id, secret).
    pub async fn api_key(&self, merchant: &MerchantId, env: Env) -> Key {
        let k = self
            .app
            .create_api_key(merchant, env, "test key", None)
            .await
            .expect("key created");
        (k.id.to_string(), k.secret)
    }

    /// Sets a merchant's API rate limit (both environments), e.g. high enough for a long run.
    pub async fn set_rate_limit(&self, merchant: &MerchantId, per_minute: i64) {
        self.app
            .set_plan(
                merchant,
                punchcard_app::plans::PlanChange {
                    rate_limit_per_minute: Some(per_minute),
                    ..Default::default()
                },
            )
            .await
            .expect("plan set");
    }

    /// Stops the server and drops a PostgreSQL test database.
    pub async fn stop(mut self) {
        self.shutdown_now().await;
    }

    async fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), h).await;
        }
        self.app.db.close().await;
        if let Some((admin, name)) = self.pg_admin.take() {
            drop_postgres_database(&admin, &name).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((admin, name)) = self.pg_admin.take() {
            // Drop the database from a separate runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_postgres_database(&admin, &name));
                }
            })
            .join();
        }
    }
}

/// Declares each listed `async fn(TestApp)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::sqlite().await;
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Declares each listed `async fn(TestApp)` as a test on SQLite and on PostgreSQL, each with a
/// server configured by `configure: fn(&mut Config)`; a module per test holds its two backends.
#[macro_export]
macro_rules! on_both_backends_with {
    ($configure:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let t = $crate::common::TestApp::start($crate::common::Backend::Sqlite, super::$configure)
                        .await
                        .expect("SQLite always runs");
                    super::$name(t).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(t) =
                        $crate::common::TestApp::start($crate::common::Backend::Postgres, super::$configure).await
                    {
                        super::$name(t).await;
                    }
                }
            }
        )*
    };
}
