//! The `punchcard` binary as the tests run it: `admin` commands on a database, and `serve`
//! on port 0 with its address read from its JSON log.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_punchcard");

/// Runs `punchcard admin …` on the database at `url`; answers (exit success, stdout JSON or
/// Null, stderr). A panic is never an acceptable way to fail.
pub fn admin(url: &str, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(BIN)
        .arg("admin")
        .args(args)
        .env("PUNCHCARD_DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.success(), json, stderr)
}

/// Runs `punchcard admin …`, which must succeed; answers its JSON.
pub fn admin_ok(url: &str, args: &[&str]) -> Value {
    let (ok, json, stderr) = admin(url, args);
    assert!(ok, "punchcard admin {args:?} failed: {stderr}");
    json
}

/// The address a `punchcard serve --log-format json` child announces on stderr (which it
/// takes over, draining it for the rest of the child's life).
pub fn announced_addr(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if let Some(addr) = v["addr"].as_str() {
                    let _ = tx.send(addr.to_string());
                }
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("server announces its address")
}
