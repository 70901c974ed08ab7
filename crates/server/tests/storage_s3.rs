//! Uploads on S3-compatible storage: the same `Storage` the server uses, against a local S3
//! server named by `PUNCHCARD_TEST_S3_ENDPOINT` (with a bucket `punchcard-test`).
//!
//! This binary sets the `AWS_*` variables the S3 client reads, so it runs in a process of its own.

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

#[tokio::test]
async fn uploads_round_trip_through_s3() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    // SAFETY of the environment: no other thread of this test binary reads these variables.
    std::env::set_var("AWS_ENDPOINT", &endpoint);
    std::env::set_var("AWS_ALLOW_HTTP", "true");
    std::env::set_var("AWS_ACCESS_KEY_ID", "punchcard-test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "punchcard-test");
    std::env::set_var("AWS_REGION", "us-east-1");
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
