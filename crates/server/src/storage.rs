//! Where uploaded files live: a local directory (`file://DIR`, the default) or an S3 bucket
//! (`s3://BUCKET[/PREFIX]`, configured by the usual `AWS_*` variables, `AWS_ENDPOINT` for
//! S3-compatible services).

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload};
use punchcard_app::uploads::{BlobError, BlobStore};

/// Object storage for uploads, addressed by server-made keys (`merchant_id/…`).
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// What the URL named, for logs (never credentials: they come from the environment).
    description: Arc<str>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("url", &self.description)
            .finish()
    }
}

/// A storage URL this server cannot use.
#[derive(Debug, thiserror::Error)]
#[error("PUNCHCARD_STORAGE_URL: {0}")]
pub struct StorageConfigError(String);

impl Storage {
    /// Opens the storage a URL names; the local directory is created if missing.
    pub fn open(url: &str) -> Result<Self, StorageConfigError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            StorageConfigError(format!(
                "`{url}` is not a storage URL: use file://DIR or s3://BUCKET[/PREFIX]"
            ))
        })?;
        let store: Arc<dyn ObjectStore> = match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if rest.is_empty() {
                    return Err(StorageConfigError(
                        "file:// needs a directory, e.g. file://./uploads".into(),
                    ));
                }
                std::fs::create_dir_all(rest).map_err(|e| {
                    StorageConfigError(format!("cannot create the upload directory `{rest}`: {e}"))
                })?;
                let fs = LocalFileSystem::new_with_prefix(rest).map_err(|e| {
                    StorageConfigError(format!("cannot use the upload directory `{rest}`: {e}"))
                })?;
                Arc::new(fs)
            }
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(StorageConfigError(
                        "s3:// needs a bucket, e.g. s3://my-bucket/uploads".into(),
                    ));
                }
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| StorageConfigError(format!("cannot configure S3 storage: {e}")))?;
                let prefix = prefix.trim_matches('/');
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix))
                }
            }
            other => {
                return Err(StorageConfigError(format!(
                    "unsupported scheme `{other}`: use file://DIR or s3://BUCKET[/PREFIX]"
                )))
            }
        };
        Ok(Self {
            store,
            description: url.into(),
        })
    }

    fn path(key: &str) -> Result<Path, BlobError> {
        Path::parse(key).map_err(|e| BlobError(format!("invalid key `{key}`: {e}")))
    }
}

impl BlobStore for Storage {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let path = Self::path(key)?;
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| BlobError(e.to_string()))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let path = Self::path(key)?;
        match self.store.get(&path).await {
            Ok(found) => {
                let bytes = found.bytes().await.map_err(|e| BlobError(e.to_string()))?;
                Ok(Some(bytes.to_vec()))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(BlobError(e.to_string())),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = Self::path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_storage_round_trips_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}/nested", dir.path().display());
        let s = Storage::open(&url).unwrap();
        s.put("mer_x/kyc/upl_y.pdf", b"%PDF-1.4".to_vec())
            .await
            .unwrap();
        assert_eq!(
            s.get("mer_x/kyc/upl_y.pdf").await.unwrap().as_deref(),
            Some(&b"%PDF-1.4"[..])
        );
        s.delete("mer_x/kyc/upl_y.pdf").await.unwrap();
        assert_eq!(s.get("mer_x/kyc/upl_y.pdf").await.unwrap(), None);
        s.delete("mer_x/kyc/upl_y.pdf").await.unwrap();
    }

    #[test]
    fn unsupported_schemes_are_refused_clearly() {
        let e = Storage::open("ftp://host/dir").unwrap_err().to_string();
        assert!(e.contains("unsupported scheme `ftp`"), "{e}");
        assert!(Storage::open("./uploads").is_err());
        assert!(Storage::open("s3://").is_err());
    }
}
