//! Durability: a `punchcard serve` process killed with SIGKILL in the middle of writes loses
//! no acknowledged transaction, and the ledger still adds up after a restart.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::process::{admin_ok, announced_addr, BIN};

/// Starts `punchcard serve` on port 0 and answers the child and its base URL.
fn serve(url: &str, mail_dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env("PUNCHCARD_DATABASE_URL", url)
        .env("PUNCHCARD_MAIL_DIR", mail_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = announced_addr(&mut child);
    (child, format!("http://{addr}"))
}

async fn acknowledged_writes_survive_sigkill(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let m = admin_ok(
        &url,
        &[
            "merchant",
            "create",
            "--name",
            "Acme",
            "--email",
            "owner@example.com",
            "--password",
            "Correct-Horse-9",
            "--active",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cur = admin_ok(
        &url,
        &[
            "currency",
            "create",
            "--merchant",
            &m,
            "--code",
            "PTS",
            "--name",
            "Points",
            "--coins-per-unit",
            "1",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    admin_ok(
        &url,
        &["plan", "set", "--merchant", &m, "--rate-limit", "300000"],
    );
    let key = admin_ok(
        &url,
        &[
            "api-key",
            "create",
            "--merchant",
            &m,
            "--env",
            "prod",
            "--name",
            "k",
        ],
    );
    let key = (
        key["id"].as_str().unwrap().to_string(),
        key["secret"].as_str().unwrap().to_string(),
    );

    let (mut child, base) = serve(&url, dir.path());
    let client = reqwest::Client::new();
    let mut wallets = Vec::new();
    for i in 0..4 {
        let lead: Value = client
            .post(format!("{base}/api/v1/leads"))
            .basic_auth(&key.0, Some(&key.1))
            .json(&json!({"customer_id": format!("cust-{i:04}"), "email": "a@example.com"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let wallet: Value = client
            .post(format!("{base}/api/v1/wallets"))
            .basic_auth(&key.0, Some(&key.1))
            .json(&json!({"lead_id": lead["id"], "currency_id": cur}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        wallets.push(wallet["id"].as_str().unwrap().to_string());
    }

    // Writers reward without pause and note every acknowledged transaction.
    let acked: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, base, key, wallets, acked) = (
            client.clone(),
            base.clone(),
            key.clone(),
            wallets.clone(),
            acked.clone(),
        );
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let wallet = &wallets[(w + n) % wallets.len()];
                let amount = (n % 7 + 1) as i64;
                let res = client
                    .post(format!("{base}/api/v1/wallet_transactions"))
                    .basic_auth(&key.0, Some(&key.1))
                    .json(
                        &json!({"wallet_id": wallet, "kind": "reward", "amount": amount,
                                  "hash": format!("w{w}-{n}")}),
                    )
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                let Ok(res) = res else { break };
                if res.status() != 201 {
                    break;
                }
                let Ok(body) = res.json::<Value>().await else {
                    break;
                };
                acked.lock().unwrap().push((
                    body["id"].as_str().unwrap().to_string(),
                    wallet.clone(),
                    amount,
                ));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the writers got going: {}", acked.len());

    let (mut child, base) = serve(&url, dir.path());
    let get = |path: String| {
        let (client, key) = (client.clone(), key.clone());
        async move {
            client
                .get(path)
                .basic_auth(&key.0, Some(&key.1))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // Every transaction now in the ledger, per wallet.
    let mut stored = std::collections::HashMap::<String, (String, i64)>::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{base}/api/v1/wallet_transactions?limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get(path).await;
        for t in page["data"].as_array().unwrap() {
            stored.insert(
                t["id"].as_str().unwrap().to_string(),
                (
                    t["wallet_id"].as_str().unwrap().to_string(),
                    t["amount"].as_i64().unwrap(),
                ),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    for (id, wallet, amount) in &acked {
        assert_eq!(
            stored.get(id),
            Some(&(wallet.clone(), *amount)),
            "acknowledged transaction {id} survived"
        );
    }
    for wallet in &wallets {
        let balance = get(format!("{base}/api/v1/wallets/{wallet}")).await["balance"]
            .as_i64()
            .unwrap();
        let sum: i64 = stored
            .values()
            .filter(|(w, _)| w == wallet)
            .map(|(_, a)| a)
            .sum();
        assert_eq!(
            balance, sum,
            "balance of {wallet} is the sum of its transactions"
        );
    }
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    acknowledged_writes_survive_sigkill(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_acknowledged_writes_survive_sigkill() {
    let Some(admin_url) = crate::common::postgres_url() else {
        return;
    };
    let (url, name) = crate::common::fresh_postgres_database(&admin_url).await;
    acknowledged_writes_survive_sigkill(url).await;
    crate::common::drop_postgres_database(&admin_url, &name).await;
}
