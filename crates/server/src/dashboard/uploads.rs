//! The Uploads page: every file of the merchant by what it is attached to (KYC documents, and
//! the images of the environment's deals, offers and stores), with each parent's cap.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::uploads::UploadGroup;

use super::chrome::{render, Chrome, Nav, PageError};
use super::kit::short_time;
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard/uploads", get(list))
}

/// One file as the page lists it.
pub struct FileLine {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: String,
    pub uploaded: String,
    /// Where the file opens.
    pub href: String,
}

/// One parent and its files.
pub struct ParentLine {
    /// `Deal`, `Offer`, `Store` or `KYC`.
    pub kind: &'static str,
    pub name: String,
    pub id: String,
    /// The parent's page, where files are added and removed.
    pub href: String,
    pub count: usize,
    pub cap: i64,
    pub files: Vec<FileLine>,
}

impl ParentLine {
    pub fn full(&self) -> bool {
        self.count as i64 >= self.cap
    }
}

/// `1.2 MB`, `34 KB`, `512 B`.
pub fn human_size(bytes: i64) -> String {
    const KB: i64 = 1000;
    if bytes >= KB * KB {
        format!(
            "{}.{} MB",
            bytes / (KB * KB),
            bytes % (KB * KB) / (KB * 100)
        )
    } else if bytes >= KB {
        format!("{} KB", bytes / KB)
    } else {
        format!("{bytes} B")
    }
}

fn parent_line(g: UploadGroup) -> ParentLine {
    let (kind, page) = match g.parent_type.as_str() {
        "deal" => ("Deal", "/dashboard/deals"),
        "offer" => ("Offer", "/dashboard/offers"),
        "store" => ("Store", "/dashboard/stores"),
        _ => ("KYC", "/dashboard/profile"),
    };
    let kyc = kind == "KYC";
    let href = if kyc {
        page.to_string()
    } else {
        format!("{page}/{}", g.parent_id)
    };
    let files = g
        .uploads
        .iter()
        .map(|u| FileLine {
            id: u.id.to_string(),
            name: u.name.clone(),
            content_type: u.content_type.clone(),
            size: human_size(u.size_bytes),
            uploaded: short_time(u.created_at),
            href: if kyc {
                format!("/dashboard/profile/documents/{}", u.id)
            } else {
                format!("{href}/images/{}", u.id)
            },
        })
        .collect::<Vec<_>>();
    ParentLine {
        kind,
        name: match g.parent_name {
            Some(n) => n,
            None if kyc => "Business documents".to_string(),
            None => g.parent_id.clone(),
        },
        id: g.parent_id,
        href,
        count: files.len(),
        cap: g.cap,
        files,
    }
}

#[derive(Template)]
#[template(path = "dashboard/uploads.html")]
struct UploadsPage {
    chrome: Chrome,
    parents: Vec<ParentLine>,
    files: usize,
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    let groups = state
        .app
        .uploads_by_parent(&user.merchant.id, user.env)
        .await?;
    let parents: Vec<ParentLine> = groups.into_iter().map(parent_line).collect();
    Ok(render(&UploadsPage {
        chrome: Chrome::new(&user, Nav::Uploads),
        files: parents.iter().map(|p| p.count).sum(),
        parents,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(34_500), "34 KB");
        assert_eq!(human_size(1_250_000), "1.2 MB");
        assert_eq!(human_size(5_242_880), "5.2 MB");
    }
}
