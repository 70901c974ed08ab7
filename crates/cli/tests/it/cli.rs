//! The `punchcard` binary end to end: operator commands on a database, then a real `serve`
//! process on the same database authenticating the printed key; errors and SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{admin, admin_ok, announced_addr, BIN};

struct Db {
    url: String,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite://{}", dir.path().join("cli.db").display()),
            pg: None,
            _dir: dir,
        }
    }

    async fn postgres() -> Option<Db> {
        let admin = crate::common::postgres_url()?;
        let (url, name) = crate::common::fresh_postgres_database(&admin).await;
        Some(Db {
            url,
            pg: Some((admin, name)),
            _dir: tempfile::tempdir().unwrap(),
        })
    }

    /// Runs `punchcard admin …` on this database.
    fn admin(&self, args: &[&str]) -> (bool, Value, String) {
        admin(&self.url, args)
    }

    fn admin_ok(&self, args: &[&str]) -> Value {
        admin_ok(&self.url, args)
    }

    async fn cleanup(self) {
        if let Some((admin, name)) = &self.pg {
            crate::common::drop_postgres_database(admin, name).await;
        }
    }
}

/// A `punchcard serve` process on port 0; its address read from its JSON log.
struct Serve {
    child: Child,
    base: String,
    stdout: String,
}

impl Serve {
    fn start(url: &str) -> Serve {
        Self::start_with(url, &[])
    }

    fn start_with(url: &str, extra: &[&str]) -> Serve {
        let mail_dir = std::env::temp_dir().join(format!("punchcard-mail-{}", ulid::Ulid::new()));
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(extra)
            .env("PUNCHCARD_DATABASE_URL", url)
            .env("PUNCHCARD_MAIL_DIR", &mail_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let addr = announced_addr(&mut child);
        // Whatever the server printed before listening (the demo banner) is complete by now.
        let (otx, orx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut buf = [0u8; 4096];
            use std::io::Read;
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                let _ = otx.send(text.clone());
            }
        });
        let mut stdout = String::new();
        while let Ok(t) = orx.recv_timeout(Duration::from_millis(300)) {
            stdout = t;
        }
        Serve {
            child,
            base: format!("http://{addr}"),
            stdout,
        }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn operator_flow(db: Db) {
    let m = db.admin_ok(&[
        "merchant",
        "create",
        "--name",
        "Corner Bakery",
        "--email",
        "owner@bakery.example",
        "--password",
        "Correct-Horse-9",
        "--active",
    ]);
    let merchant = m["id"].as_str().unwrap().to_string();
    assert!(merchant.starts_with("mer_"));
    assert_eq!(m["status"], "active");

    let c = db.admin_ok(&[
        "currency",
        "create",
        "--merchant",
        &merchant,
        "--code",
        "PTS",
        "--name",
        "Points",
        "--coins-per-unit",
        "0.5",
    ]);
    assert!(c["id"].as_str().unwrap().starts_with("cur_"));

    let k = db.admin_ok(&[
        "api-key",
        "create",
        "--merchant",
        &merchant,
        "--env",
        "prod",
        "--name",
        "shop",
    ]);
    let (key_id, secret) = (
        k["id"].as_str().unwrap().to_string(),
        k["secret"].as_str().unwrap().to_string(),
    );
    assert!(k["signing_secret"].as_str().unwrap().len() > 20);

    let p = db.admin_ok(&[
        "plan",
        "set",
        "--merchant",
        &merchant,
        "--leads",
        "50",
        "--rate-limit",
        "6000",
    ]);
    assert_eq!(p["plan"]["leads"], 50);
    assert_eq!(
        p["plan"]["rewards"], 10000,
        "unset options keep the default plan"
    );
    assert_eq!(p["plan"]["rate_limit_per_minute"], 6000);

    // The key printed by the CLI authenticates against a running server on the same database.
    let serve = Serve::start(&db.url);
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{}/api/v1/currencies", serve.base))
        .basic_auth(&key_id, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"][0]["code"], "PTS");
    assert_eq!(body["data"][0]["coins_per_unit"], "0.5");

    // Freezing from the CLI while the server runs takes effect within a second (the server
    // hears of it by a database notification).
    let f = db.admin_ok(&["merchant", "freeze", &merchant]);
    assert_eq!(f["status"], "frozen");
    let frozen_at = Instant::now();
    let res = loop {
        let res = client
            .get(format!("{}/api/v1/currencies", serve.base))
            .basic_auth(&key_id, Some(&secret))
            .send()
            .await
            .unwrap();
        if res.status() != 200 || frozen_at.elapsed() > Duration::from_secs(1) {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "account_frozen");
    let u = db.admin_ok(&["merchant", "unfreeze", &merchant]);
    assert_eq!(u["status"], "active");

    // Allowed IPs: the operator adds, lists and deletes entries; the running server follows
    // within its one-second cache (an operator unlocking a locked-out merchant).
    let added = db.admin_ok(&[
        "allowed-ip",
        "add",
        "--merchant",
        &merchant,
        "--source",
        "api",
        "--ip",
        "203.0.113.7/24",
    ]);
    assert_eq!(added["source"], "api");
    assert_eq!(added["ip"], "203.0.113.0/24", "stored normalised");
    let id = added["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("aip_"));
    let list = db.admin_ok(&["allowed-ip", "list", "--merchant", &merchant]);
    let entries = list["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["id"], id.as_str());
    assert_eq!(entries[0]["ip"], "203.0.113.0/24");
    let call = || {
        client
            .get(format!("{}/api/v1/currencies", serve.base))
            .basic_auth(&key_id, Some(&secret))
            .send()
    };
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let res = call().await.unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "ip_not_allowed");
    for (args, needle) in [
        (
            ["--source", "api", "--ip", "203.0.113.0/24"],
            "already in the list",
        ),
        (["--source", "mail", "--ip", "203.0.113.9"], "source"),
        (["--source", "api", "--ip", "203.0.113.300"], "ip"),
    ] {
        let mut full = vec!["allowed-ip", "add", "--merchant", &merchant];
        full.extend(args);
        let (ok, json, stderr) = db.admin(&full);
        assert!(!ok && json.is_null(), "{args:?}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let (ok, _, stderr) = db.admin(&[
        "allowed-ip",
        "add",
        "--merchant",
        "mer_01jd3x1m2n3p4q5r6s7t8v9w0x",
        "--source",
        "api",
        "--ip",
        "192.0.2.1",
    ]);
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    db.admin_ok(&["allowed-ip", "delete", "--merchant", &merchant, &id]);
    let list = db.admin_ok(&["allowed-ip", "list", "--merchant", &merchant]);
    assert!(list["data"].as_array().unwrap().is_empty());
    let (ok, _, stderr) = db.admin(&["allowed-ip", "delete", "--merchant", &merchant, &id]);
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(call().await.unwrap().status(), 200, "unlocked");
    // The cap of ten holds through the CLI too.
    for i in 0..10 {
        db.admin_ok(&[
            "allowed-ip",
            "add",
            "--merchant",
            &merchant,
            "--source",
            "dashboard",
            "--ip",
            &format!("198.51.100.{i}"),
        ]);
    }
    let (ok, _, stderr) = db.admin(&[
        "allowed-ip",
        "add",
        "--merchant",
        &merchant,
        "--source",
        "dashboard",
        "--ip",
        "198.51.100.200",
    ]);
    assert!(!ok && stderr.contains("at most 10"), "{stderr}");

    // Graceful shutdown on SIGTERM.
    let status = serve.terminate();
    assert!(status.success(), "exit status {status:?}");

    // A pending merchant, then activation.
    let m2 = db.admin_ok(&[
        "merchant",
        "create",
        "--name",
        "Kiosk",
        "--email",
        "kiosk@example.com",
        "--password",
        "Correct-Horse-9",
    ]);
    assert_eq!(m2["status"], "pending_kyc");
    let a = db.admin_ok(&["merchant", "activate", m2["id"].as_str().unwrap()]);
    assert_eq!(a["status"], "active");

    // Caps: 5 DEV keys.
    for i in 0..5 {
        db.admin_ok(&[
            "api-key",
            "create",
            "--merchant",
            &merchant,
            "--env",
            "dev",
            "--name",
            &format!("k{i}"),
        ]);
    }
    let (ok, _, stderr) = db.admin(&[
        "api-key",
        "create",
        "--merchant",
        &merchant,
        "--env",
        "dev",
        "--name",
        "k6",
    ]);
    assert!(!ok);
    assert!(stderr.contains("at most 5"), "{stderr}");

    // The keys that sign QR codes: each rotation makes a new one, the ones before retire in a
    // day.
    let first = db.admin_ok(&["signing-key", "rotate"]);
    let second = db.admin_ok(&["signing-key", "rotate"]);
    assert!(first["id"].as_str().unwrap().starts_with('k'), "{first}");
    assert_ne!(first["id"], second["id"]);
    assert_eq!(second["previous_keys_retire_in_hours"], 24);
    db.cleanup().await;
}

async fn bad_arguments_fail_clearly(db: Db) {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "merchant",
                "create",
                "--name",
                "X",
                "--email",
                "nope",
                "--password",
                "Correct-Horse-9",
            ],
            "email",
        ),
        (
            &[
                "merchant",
                "create",
                "--name",
                "X",
                "--email",
                "a@b.example",
                "--password",
                "short",
            ],
            "password",
        ),
        (&["merchant", "activate", "mer_bogus"], "not a merchant id"),
        (
            &["merchant", "activate", "mer_01jd3x1m2n3p4q5r6s7t8v9w0x"],
            "not found",
        ),
        (
            &[
                "currency",
                "create",
                "--merchant",
                "mer_01jd3x1m2n3p4q5r6s7t8v9w0x",
                "--code",
                "PTS",
                "--name",
                "P",
                "--coins-per-unit",
                "-1",
            ],
            "coins_per_unit",
        ),
        (
            &[
                "api-key",
                "create",
                "--merchant",
                "mer_01jd3x1m2n3p4q5r6s7t8v9w0x",
                "--env",
                "staging",
                "--name",
                "x",
            ],
            "dev",
        ),
        (
            &[
                "plan",
                "set",
                "--merchant",
                "mer_01jd3x1m2n3p4q5r6s7t8v9w0x",
                "--rate-limit",
                "0",
            ],
            "rate_limit",
        ),
    ];
    for (args, needle) in cases {
        let (ok, json, stderr) = db.admin(args);
        assert!(!ok, "{args:?} should fail");
        assert!(json.is_null(), "nothing on stdout for a failure");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let m = db.admin_ok(&[
        "merchant",
        "create",
        "--name",
        "Dup",
        "--email",
        "dup@example.com",
        "--password",
        "Correct-Horse-9",
    ]);
    let (ok, _, stderr) = db.admin(&[
        "merchant",
        "create",
        "--name",
        "Dup",
        "--email",
        "dup@example.com",
        "--password",
        "Correct-Horse-9",
    ]);
    assert!(!ok);
    assert!(stderr.contains("already registered"), "{stderr}");
    let merchant = m["id"].as_str().unwrap();
    db.admin_ok(&[
        "currency",
        "create",
        "--merchant",
        merchant,
        "--code",
        "PTS",
        "--name",
        "P",
        "--coins-per-unit",
        "1",
    ]);
    let (ok, _, stderr) = db.admin(&[
        "currency",
        "create",
        "--merchant",
        merchant,
        "--code",
        "pts",
        "--name",
        "P",
        "--coins-per-unit",
        "1",
    ]);
    assert!(!ok);
    assert!(stderr.contains("already exists"), "{stderr}");
    db.cleanup().await;
}

async fn demo_is_created_once(db: Db) {
    let first = Serve::start_with(&db.url, &["--demo"]);
    assert!(
        first.stdout.contains("Demo merchant created"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("demo@punchcard.localhost"));
    let curl = first
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("curl -u"))
        .expect("a curl example")
        .to_string();
    let creds = curl.split_whitespace().nth(2).unwrap().to_string();
    let (id, secret) = creds.split_once(':').unwrap();
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/currencies", first.base))
        .basic_auth(id, Some(secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    // The first key shown is the DEV one, where the demo's campaigns run.
    let campaigns: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/campaigns", first.base))
        .basic_auth(id, Some(secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kinds: Vec<(String, String)> = campaigns["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].to_string(), c["status"].to_string()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("\"rule\"".to_string(), "\"live\"".to_string()),
            ("\"surprise\"".to_string(), "\"live\"".to_string()),
            ("\"task\"".to_string(), "\"live\"".to_string()),
        ],
        "{campaigns}"
    );
    for c in campaigns["data"].as_array().unwrap() {
        let report: Value = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/campaigns/{}/report",
                first.base,
                c["id"].as_str().unwrap()
            ))
            .basic_auth(id, Some(secret))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            report["totals"]["awarded"].as_i64().unwrap() > 0,
            "every demo campaign has awarded something: {report}"
        );
    }
    assert!(first.terminate().success());

    let second = Serve::start_with(&db.url, &["--demo"]);
    assert!(
        second.stdout.contains("Demo merchant ready"),
        "{}",
        second.stdout
    );
    assert!(
        !second.stdout.contains("curl -u"),
        "keys are created only once"
    );
    assert!(second.terminate().success());
    let list = db.admin_ok(&["merchant", "list"]);
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "one demo merchant"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_demo_is_created_once() {
    demo_is_created_once(Db::sqlite().await).await;
}

#[tokio::test]
async fn postgres_demo_is_created_once() {
    if let Some(db) = Db::postgres().await {
        demo_is_created_once(db).await;
    }
}

/// Swap contracts and the lead-to-lead switch from the operator's side: a contract the
/// partner accepted is listed, approved (active), suspended and approved again; one still
/// proposed cannot be approved.
async fn swap_contracts_from_the_cli(db: Db) {
    use punchcard_domain::Env;
    let merchant = |name: &str, email: &str| {
        let m = db.admin_ok(&[
            "merchant",
            "create",
            "--name",
            name,
            "--email",
            email,
            "--password",
            "Correct-Horse-9",
            "--active",
        ]);
        let id = m["id"].as_str().unwrap().to_string();
        let c = db.admin_ok(&[
            "currency",
            "create",
            "--merchant",
            &id,
            "--code",
            "PTS",
            "--name",
            "Points",
            "--coins-per-unit",
            "1",
        ]);
        (id, c["id"].as_str().unwrap().to_string())
    };
    let (a, a_cur) = merchant("Alpha", "alpha@example.com");
    let (b, b_cur) = merchant("Beta", "beta@example.com");
    assert_eq!(
        db.admin_ok(&["swap-contract", "list"])["data"],
        serde_json::json!([])
    );

    let on = db.admin_ok(&["merchant", "set", "--merchant", &a, "--lead-swaps", "on"]);
    assert_eq!(on["lead_swaps"], "on");
    let (ok, _, stderr) = db.admin(&["merchant", "set", "--merchant", &a, "--lead-swaps", "maybe"]);
    assert!(!ok && stderr.contains("maybe"), "{stderr}");

    let store = punchcard_store::Db::connect(&db.url).await.unwrap();
    let app = punchcard_app::App::new(store.clone(), Default::default());
    assert!(app.lead_swaps(&a.parse().unwrap()).await.unwrap());
    let propose = |from: &str, to: &str, cur: &str, to_cur: &str| {
        let scope = punchcard_app::ledger::Scope::new(&from.parse().unwrap(), Env::Prod);
        let new = punchcard_app::swaps::NewContract {
            partner_merchant_id: to.to_string(),
            currency_id: cur.to_string(),
            partner_currency_id: to_cur.to_string(),
            rate: Some("1.5".into()),
            per_swap_max: Some(10),
            daily_max: Some(100),
        };
        let app = &app;
        async move { app.propose_contract(&scope, &new).await.unwrap() }
    };
    let accepted = propose(&a, &b, &a_cur, &b_cur).await;
    let b_scope = punchcard_app::ledger::Scope::new(&b.parse().unwrap(), Env::Prod);
    app.accept_contract(&b_scope, accepted.id.as_str())
        .await
        .unwrap();
    let proposed = propose(&b, &a, &b_cur, &a_cur).await;
    store.close().await;

    let list = db.admin_ok(&["swap-contract", "list"]);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(list["data"][0]["status"], "accepted");
    assert_eq!(list["data"][0]["rate"], "1.5");
    let (ok, _, stderr) = db.admin(&["swap-contract", "approve", proposed.id.as_str()]);
    assert!(!ok && stderr.contains("not accepted"), "{stderr}");
    let id = accepted.id.as_str();
    assert_eq!(
        db.admin_ok(&["swap-contract", "approve", id])["status"],
        "active"
    );
    let s = db.admin_ok(&["swap-contract", "suspend", id]);
    assert_eq!(
        (s["status"].as_str(), s["suspended_by"].as_str()),
        (Some("suspended"), Some("operator"))
    );
    assert_eq!(
        db.admin_ok(&["swap-contract", "approve", id])["status"],
        "active"
    );
    let (ok, _, stderr) = db.admin(&["swap-contract", "approve", "swc_nothing"]);
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_swap_contracts_from_the_cli() {
    swap_contracts_from_the_cli(Db::sqlite().await).await;
}

#[tokio::test]
async fn postgres_swap_contracts_from_the_cli() {
    if let Some(db) = Db::postgres().await {
        swap_contracts_from_the_cli(db).await;
    }
}

#[tokio::test]
async fn sqlite_operator_flow() {
    operator_flow(Db::sqlite().await).await;
}

#[tokio::test]
async fn postgres_operator_flow() {
    if let Some(db) = Db::postgres().await {
        operator_flow(db).await;
    }
}

#[tokio::test]
async fn sqlite_bad_arguments_fail_clearly() {
    bad_arguments_fail_clearly(Db::sqlite().await).await;
}

#[tokio::test]
async fn postgres_bad_arguments_fail_clearly() {
    if let Some(db) = Db::postgres().await {
        bad_arguments_fail_clearly(db).await;
    }
}

#[test]
fn unreachable_or_unsupported_database_is_a_clear_error() {
    for (url, needle) in [
        (
            "postgres://postgres@127.0.0.1:1/nothing",
            "cannot reach the database",
        ),
        (
            "mysql://root@127.0.0.1/x",
            "unsupported database URL scheme",
        ),
    ] {
        let out = Command::new(BIN)
            .args(["migrate"])
            .env("PUNCHCARD_DATABASE_URL", url)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(needle), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn serve_help_documents_every_setting() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "PUNCHCARD_DATABASE_URL",
        "PUNCHCARD_LISTEN",
        "PUNCHCARD_BASE_URL",
        "PUNCHCARD_SMTP_URL",
        "PUNCHCARD_MAIL_DIR",
        "PUNCHCARD_REDIS_URL",
        "PUNCHCARD_STORAGE_URL",
        "PUNCHCARD_TRUSTED_PROXIES",
        "PUNCHCARD_ALLOW_PRIVATE_CALLBACKS",
        "PUNCHCARD_CALLBACK_TIMEOUT",
        "PUNCHCARD_JOB_POLL_INTERVAL",
        "PUNCHCARD_WEBHOOK_RETRY_BASE",
        "PUNCHCARD_WEBHOOK_RETENTION_DAYS",
    ] {
        assert!(help.contains(var), "serve --help misses {var}");
    }
    // A retention that is not whole days is refused before anything starts.
    let out = Command::new(BIN)
        .args(["serve"])
        .env("PUNCHCARD_WEBHOOK_RETENTION_DAYS", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("at least 1 and at most 3650 days"),
        "{stderr}"
    );
}

#[test]
fn bench_currencies_reports_throughput_latency_and_memory() {
    let out = Command::new(BIN)
        .args([
            "bench",
            "--scenario",
            "currencies",
            "--seconds",
            "1",
            "--concurrency",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scenario"], "currencies");
    assert!(report["requests"].as_u64().unwrap() > 0);
    assert_eq!(report["errors"], serde_json::json!({}));
    assert!(report["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(report["backend"], "sqlite");
    let out = Command::new(BIN)
        .args(["bench", "--scenario", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario"));
}

#[test]
fn bench_paces_clients_and_preloads_the_ledger() {
    let report = ledger_bench(&["--rate", "20", "--preload", "500"]);
    assert_eq!(report["rate"], 20);
    assert_eq!(report["preloaded"]["transactions"], 500);
    // 20 a second for 2 seconds, give or take the schedule's edges.
    let requests = report["requests"].as_u64().unwrap();
    assert!((20..=60).contains(&requests), "{requests}");
    let out = Command::new(BIN)
        .args(["bench", "--scenario", "coupons", "--rate", "10"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ledger scenario only"));
}

/// Runs a short ledger bench with `extra` arguments and answers its report, checked for the
/// fields every run must have and for a ledger that adds up.
fn ledger_bench(extra: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args([
            "bench",
            "--seconds",
            "2",
            "--concurrency",
            "4",
            "--leads",
            "12",
            "--hot-wallet-count",
            "2",
            "--hot-wallets",
            "0.5",
        ])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scenario"], "ledger", "ledger is the default");
    assert_eq!(report["env"], "prod");
    assert_eq!(report["invariants"]["ok"], true, "{report:#}");
    let ok = report["ok"].as_u64().unwrap();
    assert!(ok > 0, "{report:#}");
    assert_eq!(report["errors"], serde_json::json!({}), "{report:#}");
    assert_eq!(
        report["requests"].as_u64().unwrap(),
        ok + report["insufficient_balance"].as_u64().unwrap()
    );
    assert!(report["throughput_rps"].as_f64().unwrap() > 0.0);
    for p in ["p50", "p99", "p99.9"] {
        assert!(report["latency_ms"][p].as_f64().unwrap() > 0.0, "{p}");
    }
    assert!(report["peak_rss_mib"].as_f64().unwrap() > 0.0);
    let details = &report["invariants"]["details"];
    assert_eq!(details["wallets"], 12);
    // The seeds plus at least the measured successes were acknowledged and found again.
    assert!(details["acknowledged"].as_u64().unwrap() >= 12 + ok);
    assert_eq!(details["acknowledged_sum"], details["balances_sum"]);
    assert!(
        details["transactions_listed"].as_u64().unwrap()
            >= details["acknowledged"].as_u64().unwrap()
    );
    report
}

#[test]
fn sqlite_ledger_bench_keeps_the_books() {
    let report = ledger_bench(&["--baseline"]);
    assert_eq!(report["backend"], "sqlite");
    assert_eq!(
        report["invariants"]["details"]["audit_ledger"]["mismatches"],
        0
    );
    // The plain-SQL baseline ran in the same invocation, and its books add up too.
    let baseline = &report["baseline"];
    assert_eq!(baseline["engine"], "sqlite", "{report:#}");
    assert_eq!(baseline["balances_add_up"], true);
    assert!(baseline["transactions_per_second"].as_f64().unwrap() > 0.0);
    assert!(report["ratio_to_baseline"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn postgres_ledger_bench_keeps_the_books() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let report = ledger_bench(&["--database-url", &db.url]);
    assert_eq!(report["backend"], "postgres");
    assert_eq!(
        report["invariants"]["details"]["audit_ledger"]["mismatches"],
        0
    );
    db.cleanup().await;
}

/// `--target` drives a separate `punchcard serve` with a key made by the operator CLI.
#[tokio::test]
async fn ledger_bench_drives_a_running_server() {
    let db = Db::sqlite().await;
    let m = db.admin_ok(&[
        "merchant",
        "create",
        "--name",
        "Load Test",
        "--email",
        "load@example.com",
        "--password",
        "Correct-Horse-9",
        "--active",
    ]);
    let merchant = m["id"].as_str().unwrap().to_string();
    db.admin_ok(&[
        "currency",
        "create",
        "--merchant",
        &merchant,
        "--code",
        "PTS",
        "--name",
        "Points",
        "--coins-per-unit",
        "1",
    ]);
    db.admin_ok(&[
        "plan",
        "set",
        "--merchant",
        &merchant,
        "--rewards",
        "1000000",
        "--rate-limit",
        "300000",
    ]);
    let k = db.admin_ok(&[
        "api-key",
        "create",
        "--merchant",
        &merchant,
        "--env",
        "prod",
        "--name",
        "bench",
    ]);
    let serve = Serve::start(&db.url);
    let report = ledger_bench(&[
        "--target",
        &serve.base,
        "--key-id",
        k["id"].as_str().unwrap(),
        "--key-secret",
        k["secret"].as_str().unwrap(),
    ]);
    assert_eq!(report["target"], serve.base.as_str());
    assert_eq!(report["backend"], "unknown");
    assert!(report["invariants"]["details"]["audit_ledger"].is_string());
    assert!(serve.terminate().success());

    // Without a key the bench refuses to start.
    let out = Command::new(BIN)
        .args(["bench", "--target", "http://127.0.0.1:9"])
        .env_remove("PUNCHCARD_BENCH_KEY_ID")
        .env_remove("PUNCHCARD_BENCH_KEY_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key-id"));
    db.cleanup().await;
}

/// `merchant kyc`: the submitted details and documents, and `--download` writing the
/// documents (read back through the same storage as the server's) into a directory.
async fn the_operator_reviews_a_kyc(db: Db) {
    use punchcard_app::kyc::KycInput;
    let m = db.admin_ok(&[
        "merchant",
        "create",
        "--name",
        "Corner Bakery",
        "--email",
        &format!("kyc-{}@example.com", ulid::Ulid::new()),
        "--password",
        "Correct-Horse-9",
    ]);
    let id = m["id"].as_str().unwrap().to_string();

    // Nothing submitted yet: no profile, no documents.
    let empty = db.admin_ok(&["merchant", "kyc", &id]);
    assert_eq!(empty["merchant"]["status"], "pending_kyc");
    assert!(empty["profile"].is_null());
    assert_eq!(empty["documents"], serde_json::json!([]));

    // The merchant fills in its KYC through the use cases, into a local upload directory.
    let uploads = tempfile::tempdir().unwrap();
    let storage_url = format!("file://{}", uploads.path().display());
    let store = punchcard_store::Db::connect(&db.url).await.unwrap();
    let app = punchcard_app::App::new(store.clone(), Default::default());
    let storage = punchcard_server::storage::Storage::open(&storage_url).unwrap();
    let merchant: punchcard_domain::MerchantId = id.parse().unwrap();
    app.save_kyc_profile(
        &merchant,
        &KycInput {
            legal_name: "Corner Bakery Ltd".into(),
            business_type: "company".into(),
            tax_id: "GB123".into(),
            phone: "+44 20 7946 0958".into(),
            address_line: "12 Mill Lane".into(),
            city: "Leeds".into(),
            postal_code: "ls1 4ab".into(),
            country: "gb".into(),
            contact_person: "Robin Flour".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    app.add_kyc_document(&storage, &merchant, "registration.pdf", pdf.clone())
        .await
        .unwrap();
    app.add_kyc_document(&storage, &merchant, "C:\\scans\\id.png", png.clone())
        .await
        .unwrap();
    // A second file of the same name.
    app.add_kyc_document(&storage, &merchant, "registration.pdf", pdf.clone())
        .await
        .unwrap();
    app.submit_kyc(&merchant).await.unwrap();
    store.close().await;

    let kyc = db.admin_ok(&["merchant", "kyc", &id]);
    assert_eq!(kyc["merchant"]["status"], "kyc_submitted");
    assert_eq!(kyc["profile"]["legal_name"], "Corner Bakery Ltd");
    assert_eq!(kyc["profile"]["postal_code"], "LS1 4AB");
    assert_eq!(kyc["profile"]["country"], "GB");
    assert_eq!(kyc["profile"]["tax_id"], "GB123");
    assert!(kyc["profile"]["registration_number"].is_null());
    assert!(kyc["profile"]["submitted_at"].is_string());
    let names: Vec<&str> = kyc["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["registration.pdf", "id.png", "registration.pdf"]);
    assert_eq!(kyc["documents"][1]["content_type"], "image/png");
    assert!(kyc["documents"][0].get("file").is_none(), "nothing written");

    // Downloaded: every document, byte for byte, the second of a name kept apart.
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("kyc");
    let got = db.admin_ok(&[
        "merchant",
        "kyc",
        &id,
        "--storage-url",
        &storage_url,
        "--download",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(got["downloaded_to"], dir.display().to_string());
    let files: Vec<std::path::PathBuf> = got["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| std::path::PathBuf::from(d["file"].as_str().unwrap()))
        .collect();
    assert_eq!(files[0], dir.join("registration.pdf"));
    assert_eq!(files[1], dir.join("id.png"));
    let second_id = got["documents"][2]["id"].as_str().unwrap();
    assert_eq!(files[2], dir.join(format!("{second_id}-registration.pdf")));
    assert_eq!(std::fs::read(&files[0]).unwrap(), pdf);
    assert_eq!(std::fs::read(&files[1]).unwrap(), png);
    assert_eq!(std::fs::read(&files[2]).unwrap(), pdf);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);

    // Storage that does not hold the files is an error, not an empty download.
    let elsewhere = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = db.admin(&[
        "merchant",
        "kyc",
        &id,
        "--storage-url",
        &format!("file://{}", elsewhere.path().display()),
        "--download",
        out.path().join("none").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("not found"), "{stderr}");
    // An unknown merchant is refused.
    let (ok, _, stderr) = db.admin(&["merchant", "kyc", "mer_01J00000000000000000000000"]);
    assert!(!ok, "{stderr}");
    db.cleanup().await;
}

#[tokio::test]
async fn sqlite_the_operator_reviews_a_kyc() {
    the_operator_reviews_a_kyc(Db::sqlite().await).await;
}

#[tokio::test]
async fn postgres_the_operator_reviews_a_kyc() {
    if let Some(db) = Db::postgres().await {
        the_operator_reviews_a_kyc(db).await;
    }
}
