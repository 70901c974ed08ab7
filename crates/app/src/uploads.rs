//! Uploaded files: type checks by content, names, storage keys and where the bytes go.

use std::future::Future;

use punchcard_domain::{FieldError, MerchantId, UploadId};
use punchcard_store::uploads::{self, UploadRow};

use crate::{App, AppError};

/// The largest file accepted: 5 MiB.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

/// A file type recognised by its first bytes, never by its name or declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Webp => "image/webp",
            FileKind::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
            FileKind::Webp => "webp",
            FileKind::Gif => "gif",
        }
    }
}

/// Recognises PDF, PNG, JPEG, WebP and GIF by their magic bytes; anything else is `None`.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else if bytes.starts_with(PNG) {
        Some(FileKind::Png)
    } else if bytes.len() >= 4 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpeg)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(FileKind::Webp)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(FileKind::Gif)
    } else {
        None
    }
}

fn check_size(bytes: &[u8]) -> Result<(), FieldError> {
    if bytes.is_empty() {
        return Err(FieldError::new("file", "is required"));
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(FieldError::new("file", "must be at most 5 MiB"));
    }
    Ok(())
}

/// Checks a document's bytes (KYC): not empty, not too large, and a PDF, PNG or JPEG.
pub fn check_file(bytes: &[u8]) -> Result<FileKind, FieldError> {
    check_size(bytes)?;
    match sniff(bytes) {
        Some(k @ (FileKind::Pdf | FileKind::Png | FileKind::Jpeg)) => Ok(k),
        _ => Err(FieldError::new("file", "must be a PDF, PNG or JPEG file")),
    }
}

/// Checks an image's bytes (catalog pictures): not empty, not too large, and a PNG, JPEG,
/// WebP or GIF.
pub fn check_image(bytes: &[u8]) -> Result<FileKind, FieldError> {
    check_size(bytes)?;
    match sniff(bytes) {
        Some(k @ (FileKind::Png | FileKind::Jpeg | FileKind::Webp | FileKind::Gif)) => Ok(k),
        _ => Err(FieldError::new(
            "file",
            "must be a PNG, JPEG, WebP or GIF image",
        )),
    }
}

/// A display name from what the browser sent: the last path segment, printable, at most 120
/// characters; `document` when nothing usable is left.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(120).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "document".to_string()
    } else {
        cleaned.to_string()
    }
}

/// The storage key of an upload: made by the server, never from the person's file name.
pub fn storage_key(
    merchant_id: &MerchantId,
    parent_type: &str,
    id: &UploadId,
    kind: FileKind,
) -> String {
    format!(
        "{}/{}/{}.{}",
        merchant_id,
        parent_type,
        id,
        kind.extension()
    )
}

/// Object storage failed (disk, network, permissions).
#[derive(Debug, thiserror::Error)]
#[error("object storage: {0}")]
pub struct BlobError(pub String);

impl From<BlobError> for AppError {
    fn from(e: BlobError) -> Self {
        AppError::internal(e)
    }
}

/// Where uploaded bytes are kept, by key (local disk, S3 …).
pub trait BlobStore: Send + Sync {
    fn put(&self, key: &str, bytes: Vec<u8>) -> impl Future<Output = Result<(), BlobError>> + Send;
    /// The bytes under `key`, or `None` when nothing is stored there.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, BlobError>> + Send;
    /// Removes `key`; a missing key is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), BlobError>> + Send;
}

/// An upload's record with its bytes, to serve.
#[derive(Debug, Clone)]
pub struct UploadContent {
    pub upload: UploadRow,
    pub bytes: Vec<u8>,
}

impl App {
    /// An upload of this merchant with its bytes; another merchant's id is `NotFound`.
    pub async fn read_upload<B: BlobStore>(
        &self,
        blobs: &B,
        merchant_id: &MerchantId,
        id: &UploadId,
    ) -> Result<UploadContent, AppError> {
        let upload = {
            let mut conn = self.db.conn().await?;
            uploads::find(&mut conn, merchant_id, id)
                .await?
                .ok_or(AppError::NotFound("upload"))?
        };
        let bytes = blobs
            .get(&upload.storage_key)
            .await?
            .ok_or(AppError::NotFound("upload"))?;
        Ok(UploadContent { upload, bytes })
    }
}

/// The files of one parent (a deal, offer, store, or the KYC), with its cap.
#[derive(Debug, Clone)]
pub struct UploadGroup {
    /// `deal`, `offer`, `store` or `kyc`.
    pub parent_type: String,
    pub parent_id: String,
    /// The item's name; `None` for the KYC documents.
    pub parent_name: Option<String>,
    /// How many files the parent may hold.
    pub cap: i64,
    pub uploads: Vec<UploadRow>,
}

/// The most files a parent of this type holds.
pub fn cap_of(parent_type: &str) -> i64 {
    match parent_type {
        crate::kyc::KYC_PARENT => punchcard_domain::limits::KYC_DOCUMENT_CAP,
        _ => punchcard_domain::catalog::IMAGE_CAP,
    }
}

impl App {
    /// Every file the dashboard of `env` shows, by parent: the KYC documents first, then the
    /// environment's deals, offers and stores that have images.
    pub async fn uploads_by_parent(
        &self,
        merchant_id: &MerchantId,
        env: punchcard_domain::Env,
    ) -> Result<Vec<UploadGroup>, AppError> {
        let rows = {
            let mut conn = self.db.conn().await?;
            uploads::list_with_parents(&mut conn, merchant_id, env).await?
        };
        let mut groups: Vec<UploadGroup> = Vec::new();
        for row in rows {
            let u = row.upload;
            match groups.last_mut() {
                Some(g) if g.parent_type == u.parent_type && g.parent_id == u.parent_id => {
                    g.uploads.push(u)
                }
                _ => groups.push(UploadGroup {
                    cap: cap_of(&u.parent_type),
                    parent_type: u.parent_type.clone(),
                    parent_id: u.parent_id.clone(),
                    parent_name: row.parent_name,
                    uploads: vec![u],
                }),
            }
        }
        // The KYC documents lead: they decide whether the account is active.
        groups.sort_by_key(|g| g.parent_type != crate::kyc::KYC_PARENT);
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3"), Some(FileKind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileKind::Png));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F']),
            Some(FileKind::Jpeg)
        );
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE1]), Some(FileKind::Jpeg));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(FileKind::Webp));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(FileKind::Gif));
        assert_eq!(sniff(b"GIF87a"), Some(FileKind::Gif));
    }

    #[test]
    fn refuses_other_content_whatever_the_name() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"%PD"), None);
        assert_eq!(sniff(b"GIF90a"), None);
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"PK\x03\x04"), None);
        assert_eq!(sniff(b"<html>%PDF-"), None);
        assert_eq!(sniff(b"\x89PNG"), None);
        assert_eq!(sniff(&[0xFF, 0xD8]), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
    }

    #[test]
    fn checks_size_and_emptiness() {
        assert!(check_file(b"").is_err());
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_UPLOAD_BYTES, b' ');
        assert_eq!(check_file(&big), Ok(FileKind::Pdf));
        big.push(b' ');
        assert_eq!(
            check_file(&big).unwrap_err().message,
            "must be at most 5 MiB"
        );
        assert_eq!(
            check_file(b"hello").unwrap_err().message,
            "must be a PDF, PNG or JPEG file"
        );
        // Documents are not GIFs; pictures are not PDFs.
        assert!(check_file(b"GIF89a\x01\0\x01\0").is_err());
        assert_eq!(check_image(b"GIF89a\x01\0\x01\0"), Ok(FileKind::Gif));
        assert_eq!(
            check_image(b"%PDF-1.7").unwrap_err().message,
            "must be a PNG, JPEG, WebP or GIF image"
        );
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(MAX_UPLOAD_BYTES + 1, 0);
        assert_eq!(
            check_image(&big).unwrap_err().message,
            "must be at most 5 MiB"
        );
    }

    #[test]
    fn display_names_drop_paths_and_control_characters() {
        assert_eq!(display_name("C:\\Users\\a\\passport.pdf"), "passport.pdf");
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("a\u{0}b\n.pdf"), "ab.pdf");
        assert_eq!(display_name(""), "document");
        assert_eq!(display_name("dir/.."), "document");
        assert_eq!(display_name(&"x".repeat(300)).len(), 120);
    }

    #[test]
    fn storage_keys_are_server_made() {
        let m = MerchantId::new();
        let id = UploadId::new();
        let key = storage_key(&m, "kyc", &id, FileKind::Png);
        assert_eq!(key, format!("{m}/kyc/{id}.png"));
    }
}
