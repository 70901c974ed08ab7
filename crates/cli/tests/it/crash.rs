//! Durability: a `punchcard serve` process killed with SIGKILL in the middle of writes loses
//! no acknowledged transaction, and the ledger still adds up after a restart.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::process::{admin_ok, announced_addr, BIN};

/// A test per backend of a scenario that takes a database URL: a fresh SQLite file, and a
/// fresh PostgreSQL database (skipped outside CI when PostgreSQL is not configured).
macro_rules! on_sqlite_and_postgres {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("punchcard.db").display());
                super::$scenario(url).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(admin_url) = crate::common::postgres_url() else {
                    return;
                };
                let (url, name) = crate::common::fresh_postgres_database(&admin_url).await;
                super::$scenario(url).await;
                crate::common::drop_postgres_database(&admin_url, &name).await;
            }
        }
    };
}

/// An active merchant with a PTS currency, made through the operator CLI: (merchant, currency).
fn merchant_with_currency(url: &str) -> (String, String) {
    let m = admin_ok(
        url,
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
        url,
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
    (m, cur)
}

/// Starts `punchcard serve` on port 0 and answers the child and its base URL.
fn serve(url: &str, mail_dir: &std::path::Path) -> (Child, String) {
    serve_with(url, mail_dir, &[])
}

/// [`serve`] with more environment variables.
fn serve_with(url: &str, mail_dir: &std::path::Path, vars: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .envs(vars.iter().copied())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env("PUNCHCARD_DATABASE_URL", url)
        .env("PUNCHCARD_MAIL_DIR", mail_dir)
        .env("PUNCHCARD_ALLOW_PRIVATE_CALLBACKS", "true")
        .env("PUNCHCARD_CALLBACK_TIMEOUT", "60")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = announced_addr(&mut child);
    (child, format!("http://{addr}"))
}

async fn acknowledged_writes_survive_sigkill(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let (m, cur) = merchant_with_currency(&url);
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

on_sqlite_and_postgres!(acknowledged_writes_survive_sigkill);

/// A callback receiver that holds every call open until `answer` is set, then approves.
async fn callback_receiver(
    answer: Arc<std::sync::atomic::AtomicBool>,
    calls: tokio::sync::mpsc::UnboundedSender<()>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (answer, calls) = (answer.clone(), calls.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let _ = calls.send(());
                while !answer.load(std::sync::atomic::Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    format!("http://{addr}/approve")
}

/// A request killed mid-flight (its server gets SIGKILL while the request waits on its
/// callback) leaves its Idempotency-Key claimed; after a restart the retry with the same key
/// takes the claim over and applies the action once, and later retries replay its answer.
async fn idempotency_key_heals_after_sigkill(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let (m, cur) = merchant_with_currency(&url);
    let answer = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (calls_tx, mut calls) = tokio::sync::mpsc::unbounded_channel();
    let callback = callback_receiver(answer.clone(), calls_tx).await;
    let key = admin_ok(
        &url,
        &[
            "api-key",
            "create",
            "--merchant",
            &m,
            "--env",
            "dev",
            "--name",
            "k",
            "--callback-url",
            &callback,
            "--allow-private-callbacks",
        ],
    );
    let key = (
        key["id"].as_str().unwrap().to_string(),
        key["secret"].as_str().unwrap().to_string(),
    );

    let (mut child, base) = serve(&url, dir.path());
    let client = reqwest::Client::new();
    let post = |base: String, path: &'static str, body: Value, idem: &'static str| {
        let (client, key) = (client.clone(), key.clone());
        async move {
            client
                .post(format!("{base}{path}"))
                .basic_auth(&key.0, Some(&key.1))
                .header("idempotency-key", idem)
                .json(&body)
                .timeout(Duration::from_secs(60))
                .send()
                .await
        }
    };
    let lead: Value = post(
        base.clone(),
        "/api/v1/leads",
        json!({"customer_id": "cust-0001", "email": "a@example.com"}),
        "lead-1",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let wallet: Value = post(
        base.clone(),
        "/api/v1/wallets",
        json!({"lead_id": lead["id"], "currency_id": cur}),
        "wallet-1",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let reward =
        json!({"wallet_id": wallet["id"], "kind": "reward", "amount": 25, "hash": "order-1"});

    // The reward waits on its callback, which does not answer; the server dies meanwhile.
    let in_flight = tokio::spawn(post(
        base.clone(),
        "/api/v1/wallet_transactions",
        reward.clone(),
        "reward-1",
    ));
    tokio::time::timeout(Duration::from_secs(30), calls.recv())
        .await
        .expect("the reward reached its callback");
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    assert!(
        in_flight.await.unwrap().is_err(),
        "the killed request got no answer"
    );

    let (mut child, base) = serve(&url, dir.path());
    answer.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    let mut first = None;
    while started.elapsed() < Duration::from_secs(40) {
        let res = post(
            base.clone(),
            "/api/v1/wallet_transactions",
            reward.clone(),
            "reward-1",
        )
        .await
        .unwrap();
        if res.status() == 409 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], "idempotency_in_progress", "{body}");
            continue;
        }
        assert_eq!(res.status(), 201, "the retry applies the reward");
        first = Some(res.json::<Value>().await.unwrap());
        break;
    }
    let first = first.expect("the retry got through after the restart");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "healed within seconds: {:?}",
        started.elapsed()
    );
    assert_eq!(first["amount"], 25);
    assert_eq!(first["balance_after"], 25);

    let again = post(
        base.clone(),
        "/api/v1/wallet_transactions",
        reward.clone(),
        "reward-1",
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);

    let listed: Value = client
        .get(format!(
            "{base}/api/v1/wallet_transactions?wallet_id={}",
            wallet["id"].as_str().unwrap()
        ))
        .basic_auth(&key.0, Some(&key.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "applied once: {listed}"
    );
    let balance: Value = client
        .get(format!(
            "{base}/api/v1/wallets/{}",
            wallet["id"].as_str().unwrap()
        ))
        .basic_auth(&key.0, Some(&key.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(balance["balance"], 25);
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

on_sqlite_and_postgres!(idempotency_key_heals_after_sigkill);

/// A webhook receiver that answers 200 to everything and sends on each request it read.
async fn webhook_receiver(got: tokio::sync::mpsc::UnboundedSender<String>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let got = got.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                // The headers and the whole body (its length is in the headers).
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                }
                let _ = got.send(String::from_utf8_lossy(&request).to_string());
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    format!("http://{addr}/events")
}

/// An event written with its change, whose delivery the server had not sent yet when it got
/// SIGKILL, is delivered after a restart: the outbox and the job queue live in the database.
async fn a_queued_webhook_is_delivered_after_sigkill(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let (m, _cur) = merchant_with_currency(&url);
    let key = admin_ok(
        &url,
        &[
            "api-key",
            "create",
            "--merchant",
            &m,
            "--env",
            "dev",
            "--name",
            "k",
        ],
    );
    let key = (
        key["id"].as_str().unwrap().to_string(),
        key["secret"].as_str().unwrap().to_string(),
    );
    let (got, mut received) = tokio::sync::mpsc::unbounded_channel();
    let receiver = webhook_receiver(got).await;

    // A server that looks for due jobs once, at start, then not for a minute.
    let (mut child, base) = serve_with(&url, dir.path(), &[("PUNCHCARD_JOB_POLL_INTERVAL", "60")]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = reqwest::Client::new();
    let endpoint: Value = client
        .post(format!("{base}/api/v1/webhook_endpoints"))
        .basic_auth(&key.0, Some(&key.1))
        .json(&json!({"url": receiver, "events": ["lead.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(endpoint["secret"].is_string(), "{endpoint}");
    let lead = client
        .post(format!("{base}/api/v1/leads"))
        .basic_auth(&key.0, Some(&key.1))
        .json(&json!({"customer_id": "cust-crash", "email": "c@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(lead.status(), 201);
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    assert!(
        received.try_recv().is_err(),
        "nothing was sent before the kill"
    );

    let (mut child, _base) =
        serve_with(&url, dir.path(), &[("PUNCHCARD_JOB_POLL_INTERVAL", "0.1")]);
    let request = tokio::time::timeout(Duration::from_secs(15), received.recv())
        .await
        .expect("the delivery arrives after the restart")
        .unwrap();
    assert!(request.starts_with("POST /events "), "{request}");
    let lower = request.to_ascii_lowercase();
    assert!(lower.contains("webhook-id: msg_"), "{request}");
    assert!(lower.contains("webhook-signature: v1,"), "{request}");
    assert!(request.contains(r#""type":"lead.created""#), "{request}");
    assert!(request.contains("cust-crash"), "{request}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(received.try_recv().is_err(), "delivered once");
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

on_sqlite_and_postgres!(a_queued_webhook_is_delivered_after_sigkill);
