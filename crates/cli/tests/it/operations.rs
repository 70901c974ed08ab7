//! What an operator runs and reads: `punchcard --version` names the commit, JSON logs are flat
//! with a numeric latency, the admin CLI follows the log format and writes no colour codes to a
//! pipe, and the systemd unit's command line serves.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::BIN;

/// The JSON lines a child writes on stderr, as they come.
fn json_lines(child: &mut Child) -> Receiver<Value> {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v = serde_json::from_str::<Value>(&line)
                .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line `matches` accepts, within 60 seconds.
fn wait_for(lines: &Receiver<Value>, matches: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("the expected log line");
        if matches(&line) {
            return line;
        }
    }
}

struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn version_names_the_commit() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let commit = text
        .trim()
        .strip_prefix(&format!("punchcard {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("version line: {text}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    // Built from a git checkout, it is the checkout's commit (a build without git says
    // `unknown`, and `PUNCHCARD_COMMIT` at build time names it).
    if std::env::var("PUNCHCARD_COMMIT").is_err() {
        if let Ok(head) = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
        {
            if head.status.success() {
                let head = String::from_utf8(head.stdout).unwrap();
                assert_eq!(commit, head.trim());
            }
        }
    }
}

#[tokio::test]
async fn json_request_logs_are_flat_with_a_numeric_latency() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env(
            "PUNCHCARD_DATABASE_URL",
            format!("sqlite://{}/p.db", dir.path().display()),
        )
        .env("PUNCHCARD_MAIL_DIR", dir.path().join("mail"))
        .env(
            "PUNCHCARD_STORAGE_URL",
            format!("file://{}/uploads", dir.path().display()),
        )
        .env_remove("PUNCHCARD_LOG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = json_lines(&mut child);
    let child = Stopped(child);
    let listening = wait_for(&lines, |l| l["addr"].is_string());
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["message"], "punchcard listening");
    let addr = listening["addr"].as_str().unwrap().to_string();

    let status = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let line = wait_for(&lines, |l| {
        l["message"] == "finished processing request" && l["path"] == "/healthz"
    });
    // The request's span fields and the event's own, side by side at the top level.
    assert_eq!(line["method"], "GET");
    assert_eq!(line["request_id"], "req-42");
    assert_eq!(line["status"], 200);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert!(
        line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );
    assert!(
        line.get("fields").is_none() && line.get("span").is_none(),
        "{line}"
    );
    drop(child);
}

#[test]
fn admin_logs_follow_the_format_and_a_pipe_gets_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/p.db", dir.path().display());
    let run = |format: &str| {
        let out = Command::new(BIN)
            .args(["admin", "merchant", "list"])
            .env("PUNCHCARD_DATABASE_URL", &url)
            .env("PUNCHCARD_LOG_FORMAT", format)
            .env("PUNCHCARD_LOG", "trace")
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let text = run("text");
    assert!(!text.trim().is_empty(), "trace logs on stderr");
    assert!(!text.contains('\u{1b}'), "no escape codes: {text}");
    let json = run("json");
    assert!(!json.contains('\u{1b}'));
    let lines: Vec<&str> = json.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(v["level"].is_string() && v["target"].is_string(), "{line}");
    }
}

/// The unit's `Environment=` settings and `ExecStart=` words.
fn unit_command() -> (Vec<(String, String)>, Vec<String>) {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/punchcard.service"
    ))
    .unwrap();
    let mut env = Vec::new();
    let mut exec = None;
    for line in unit.lines().map(str::trim) {
        if let Some(setting) = line.strip_prefix("Environment=") {
            let (k, v) = setting.split_once('=').expect("NAME=value");
            env.push((k.to_string(), v.to_string()));
        } else if let Some(cmd) = line.strip_prefix("ExecStart=") {
            assert!(exec.is_none(), "one ExecStart");
            exec = Some(cmd.split_whitespace().map(String::from).collect::<Vec<_>>());
        }
    }
    (env, exec.expect("an ExecStart line"))
}

#[tokio::test]
async fn the_systemd_unit_command_line_serves() {
    let (env, exec) = unit_command();
    assert_eq!(exec[0], "/usr/local/bin/punchcard");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(BIN);
    cmd.args(&exec[1..])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for var in [
        "PUNCHCARD_LOG",
        "RUST_LOG",
        "PUNCHCARD_REDIS_URL",
        "PUNCHCARD_SMTP_URL",
    ] {
        cmd.env_remove(var);
    }
    let mut listen = None;
    for (k, v) in &env {
        // The unit's state directory becomes a temporary one, its port a free one.
        let v = v.replace("/var/lib/punchcard", state);
        let v = if k == "PUNCHCARD_LISTEN" {
            listen = Some(v.clone());
            format!("127.0.0.1:{port}")
        } else {
            v
        };
        cmd.env(k, v);
    }
    assert!(
        listen.is_some_and(|l| l.starts_with("127.0.0.1:")),
        "listens on loopback behind a proxy"
    );
    let mut child = cmd.spawn().unwrap();
    // The unit asks for JSON logs: every line parses.
    let lines = json_lines(&mut child);
    let _child = Stopped(child);
    wait_for(&lines, |l| l["message"] == "punchcard listening");
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        dir.path().join("punchcard.db").exists(),
        "the database in the state directory"
    );
}
