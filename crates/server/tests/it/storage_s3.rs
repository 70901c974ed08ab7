//! Uploads on S3-compatible storage: the same `Storage` the server uses, against a local S3
//! server named by `PUNCHCARD_TEST_S3_ENDPOINT` (with a bucket `punchcard-test`).
//!
//! The S3 client reads its settings from `AWS_*` variables. Setting them in this process would
//! race with the tests running beside it, so the test runs itself again in a child process of
//! this binary with those variables set.

use punchcard_app::uploads::BlobStore;
use punchcard_server::storage::Storage;

fn s3_endpoint() -> Option<String> {
    match std::env::var("PUNCHCARD_TEST_S3_ENDPOINT") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI")
                .map(|v| v == "true" || v == "1")
                .unwrap_or(false)
            {
                panic!(
                    "PUNCHCARD_TEST_S3_ENDPOINT must be set in CI: the S3 test may not be skipped"
                );
            }
            eprintln!("PUNCHCARD_TEST_S3_ENDPOINT is not set: skipping the S3 storage test");
            None
        }
    }
}

/// Set in the child process that does the round trip.
const CHILD: &str = "PUNCHCARD_TEST_S3_CHILD";

#[tokio::test]
async fn uploads_round_trip_through_s3() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    if std::env::var_os(CHILD).is_some() {
        round_trip(&endpoint).await;
        return;
    }
    let out = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "storage_s3::uploads_round_trip_through_s3",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("AWS_ENDPOINT", &endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "punchcard-test")
        .env("AWS_SECRET_ACCESS_KEY", "punchcard-test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .await
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the round trip: {stdout}"
    );
}

async fn round_trip(endpoint: &str) {
    let storage = Storage::open("s3://punchcard-test/uploads").expect("S3 storage opens");
    let key = format!(
        "mer_test/kyc/{}.pdf",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let body = b"%PDF-1.4\n%%EOF\n".to_vec();
    storage.put(&key, body.clone()).await.expect("put");
    assert_eq!(storage.get(&key).await.expect("get"), Some(body));

    // The object sits under the prefix in the bucket, as any S3 client sees it.
    let listing = reqwest::get(format!(
        "{endpoint}/punchcard-test?list-type=2&prefix=uploads/"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(listing.contains(&format!("uploads/{key}")), "{listing}");

    storage.delete(&key).await.expect("delete");
    assert_eq!(storage.get(&key).await.expect("get after delete"), None);
    storage.delete(&key).await.expect("deleting twice is fine");
}
