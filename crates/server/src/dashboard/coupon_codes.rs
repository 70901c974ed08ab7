//! Coupon codes: each deal's stock, the list of codes, and the three ways to add codes (one
//! at a time, bulk generated, uploaded as CSV), in the dashboard's current environment.

use punchcard_app::deals::Deals;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::deals::DealView;
use punchcard_app::AppError;
use punchcard_domain::coupons::CodeOwner;
use punchcard_domain::coupons::{CodeKind, MAX_BULK_GENERATE, MAX_BULK_UPLOAD};
use punchcard_domain::{DealId, FieldError, ValidationErrors};
use punchcard_store::coupons::{CodeFilter, CodeRow, Stock};

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{
    back_to, checked_after_of, deal_name, deal_options, list_href, live_deals, non_empty,
    short_time, DealOption, MultipartFields, Pager, Unreadable,
};
use super::session::ActiveMerchant;
use crate::api::coupons::MAX_UPLOAD_BYTES;
use crate::state::AppState;

/// Codes per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// The upload form's body limit: the API's file cap plus room for the other fields, so a
/// slightly-too-large file gets a message on the page rather than a bare 413.
const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 1024 * 1024;

const LIST: &str = "/dashboard/coupon-codes";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(add))
        .route("/dashboard/coupon-codes/generate", post(generate))
        .route(
            "/dashboard/coupon-codes/upload",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
}

/// A code kind as the page names it.
pub fn kind_label(kind: CodeKind) -> &'static str {
    match kind {
        CodeKind::Code => "Code",
        CodeKind::GenericCode => "Generic code",
        CodeKind::Link => "Link",
        CodeKind::GenericLink => "Generic link",
    }
}

/// The kinds for the selects: (value, label).
pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
}

fn kind_options() -> Vec<KindOption> {
    CodeKind::ALL
        .into_iter()
        .map(|k| KindOption {
            value: k.as_str(),
            label: kind_label(k),
        })
        .collect()
}

/// One line of the stock table.
pub struct StockLine {
    pub deal_id: String,
    pub name: String,
    pub available: bool,
    pub left: i64,
    pub handed_out: i64,
    pub generic: i64,
    /// Nothing left to hand out: coupons of this deal would be refused.
    pub empty: bool,
}

/// One line of the code list.
pub struct CodeLine {
    pub value: String,
    pub is_link: bool,
    pub kind: &'static str,
    pub deal: String,
    pub unique: bool,
    pub issued: bool,
    pub issued_at: String,
    pub added: String,
}

impl CodeLine {
    fn of(c: &CodeRow, deals: &[DealView]) -> Self {
        Self {
            value: c.value.clone(),
            is_link: c.kind.is_link(),
            kind: kind_label(c.kind),
            deal: match &c.owner {
                CodeOwner::Deal(d) => deal_name(deals, d),
                CodeOwner::Vault(v) => v.to_string(),
            },
            unique: c.kind.is_unique(),
            issued: c.issued,
            issued_at: c.issued_at.map(short_time).unwrap_or_default(),
            added: short_time(c.created_at),
        }
    }
}

/// The list's filters and page, as query parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct CodeQuery {
    pub deal_id: String,
    pub kind: String,
    /// `available` or `issued`.
    pub status: String,
    pub cursor: String,
}

impl CodeQuery {
    fn filter(&self) -> Result<(CodeFilter, Option<String>), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let kind = match self.kind.trim() {
            "" => None,
            k => errors.check(CodeKind::parse(k)),
        };
        let issued = match self.status.trim() {
            "" => None,
            "available" => Some(false),
            "issued" => Some(true),
            _ => {
                errors.push(FieldError::new("status", "must be available or issued"));
                None
            }
        };
        let after = checked_after_of(&self.cursor, &mut errors);
        errors.into_result()?;
        Ok((
            CodeFilter {
                deal_id: non_empty(&self.deal_id),
                vault_id: None,
                kind,
                issued,
            },
            after,
        ))
    }

    fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("deal_id", &self.deal_id),
            ("kind", &self.kind),
            ("status", &self.status),
        ]
    }

    /// This list's address with another cursor (`None`: the first page).
    fn href(&self, cursor: Option<&str>) -> String {
        list_href(LIST, &self.pairs(), cursor)
    }

    fn filtered(&self) -> bool {
        [&self.deal_id, &self.kind, &self.status]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

/// The add-one form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct CodeForm {
    pub deal_id: String,
    pub kind: String,
    pub value: String,
}

/// The bulk-generate form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct GenerateForm {
    pub deal_id: String,
    pub count: String,
}

/// The upload form's fields other than the file (a file input cannot be refilled).
#[derive(Debug, Clone, Default)]
pub struct UploadForm {
    pub deal_id: String,
    pub kind: String,
    pub file_name: String,
}

/// The three forms, as entered, with their errors.
#[derive(Default)]
struct Forms {
    one: CodeForm,
    one_errors: FormErrors,
    generate: GenerateForm,
    generate_errors: FormErrors,
    upload: UploadForm,
    upload_errors: FormErrors,
    /// Rows of a refused upload, each with its number and what is wrong.
    bad_rows: Vec<BadRow>,
}

/// A row of a refused upload.
pub struct BadRow {
    /// The line number in the file (as text: the check names rows `row N`).
    pub row: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "dashboard/coupon_codes.html")]
struct CodesPage {
    chrome: Chrome,
    deals: Vec<DealOption>,
    kinds: Vec<KindOption>,
    stock: Vec<StockLine>,
    codes: Vec<CodeLine>,
    query: CodeQuery,
    filtered: bool,
    pager: Pager,
    one: CodeForm,
    one_errors: FormErrors,
    generate: GenerateForm,
    generate_errors: FormErrors,
    upload: UploadForm,
    upload_errors: FormErrors,
    bad_rows: Vec<BadRow>,
    max_generate: i64,
    max_rows: usize,
}

async fn codes_page(
    state: &AppState,
    user: &ActiveMerchant,
    query: CodeQuery,
    mut forms: Forms,
) -> Result<CodesPage, PageError> {
    let scope = user.scope();
    let (filter, after) = query.filter()?;
    let deals = live_deals(state, user).await?;
    let stocks: HashMap<DealId, Stock> = state.app.stocks(&scope).await?.into_iter().collect();
    let stock = deals
        .iter()
        .map(|v| &v.row)
        .map(|d| {
            let s = stocks.get(&d.id).copied().unwrap_or_default();
            StockLine {
                deal_id: d.id.to_string(),
                name: d.name.clone(),
                available: d.available,
                left: s.unique_available,
                handed_out: s.unique_issued,
                generic: s.generic,
                empty: s.unique_available == 0 && s.generic == 0,
            }
        })
        .collect();
    let mut rows = state
        .app
        .list_codes(&scope, &filter, after.as_deref(), PAGE_SIZE + 1)
        .await?;
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        after.is_some(),
        |r| r.id.to_string(),
        LIST,
        &query.pairs(),
    );
    // Forms start on the deal the list shows.
    for deal_id in [
        &mut forms.one.deal_id,
        &mut forms.generate.deal_id,
        &mut forms.upload.deal_id,
    ] {
        if deal_id.is_empty() {
            deal_id.clone_from(&query.deal_id);
        }
    }
    Ok(CodesPage {
        chrome: Chrome::new(user, Nav::CouponCodes),
        codes: rows.iter().map(|c| CodeLine::of(c, &deals)).collect(),
        deals: deal_options(&deals),
        kinds: kind_options(),
        stock,
        filtered: query.filtered(),
        query,
        pager,
        one: forms.one,
        one_errors: forms.one_errors,
        generate: forms.generate,
        generate_errors: forms.generate_errors,
        upload: forms.upload,
        upload_errors: forms.upload_errors,
        bad_rows: forms.bad_rows,
        max_generate: MAX_BULK_GENERATE,
        max_rows: MAX_BULK_UPLOAD,
    })
}

/// The page again with a refused form, its entries and errors; the list shows the deal the
/// form was for.
async fn refused(
    state: &AppState,
    user: &ActiveMerchant,
    status: StatusCode,
    deal_id: &str,
    forms: Forms,
) -> Result<Response, PageError> {
    let query = CodeQuery {
        deal_id: deal_id.trim().to_string(),
        ..CodeQuery::default()
    };
    Ok(render_with(
        status,
        &codes_page(state, user, query, forms).await?,
    ))
}

/// What the forms show when codes are refused: the fields' errors, or why the deal takes no
/// more (a conflict) above the form.
fn refusal(e: AppError) -> Result<(StatusCode, FormErrors), PageError> {
    FormErrors::refusal_with(e, |e| match e {
        AppError::Conflict(m) => Some(FormErrors::form(m.clone())),
        _ => None,
    })
}

/// Back to the list of the deal codes were added to, with a message.
fn added(state: &AppState, deal_id: &str, flash: Flash) -> Response {
    let to = CodeQuery {
        deal_id: deal_id.trim().to_string(),
        ..CodeQuery::default()
    }
    .href(None);
    back_to(state, &to, flash)
}

async fn deal_label(state: &AppState, user: &ActiveMerchant, deal_id: &str) -> String {
    match deal_id.parse::<DealId>() {
        Ok(id) => match state
            .app
            .item::<Deals>(&user.merchant.id, user.env, &id)
            .await
        {
            Ok(d) => d.row.name,
            Err(_) => deal_id.to_string(),
        },
        Err(_) => deal_id.to_string(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(query): Query<CodeQuery>,
) -> Result<Response, PageError> {
    Ok(render(
        &codes_page(&state, &user, query, Forms::default()).await?,
    ))
}

/// Adds one code or link.
pub async fn add(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let deal_id = form.deal_id.clone();
    let result = state
        .app
        .create_code(
            &user.scope(),
            &form.deal_id,
            Some(form.kind.as_str()),
            &form.value,
        )
        .await;
    match result {
        Ok(code) => {
            let deal = deal_label(&state, &user, code.owner.column_and_id().1).await;
            Ok(added(
                &state,
                code.owner.column_and_id().1,
                Flash::success(format!(
                    "{} {} added to {deal}.",
                    kind_label(code.kind),
                    code.value
                )),
            ))
        }
        Err(e) => {
            let (status, one_errors) = refusal(e)?;
            let forms = Forms {
                one: form,
                one_errors,
                ..Forms::default()
            };
            refused(&state, &user, status, &deal_id, forms).await
        }
    }
}

/// Generates up to 1000 unique codes.
pub async fn generate(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<GenerateForm>,
) -> Result<Response, PageError> {
    let deal_id = form.deal_id.clone();
    let count = match form.count.trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            let message = if form.count.trim().is_empty() {
                "is required".to_string()
            } else {
                format!("must be a whole number from 1 to {MAX_BULK_GENERATE}")
            };
            let forms = Forms {
                generate: form,
                generate_errors: FormErrors::field("count", &message),
                ..Forms::default()
            };
            return refused(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                &deal_id,
                forms,
            )
            .await;
        }
    };
    match state
        .app
        .generate_codes(&user.scope(), &form.deal_id, count)
        .await
    {
        Ok(created) => {
            let deal = deal_label(&state, &user, &form.deal_id).await;
            Ok(added(
                &state,
                &form.deal_id,
                Flash::success(format!("Generated {created} unique codes for {deal}.")),
            ))
        }
        Err(e) => {
            let (status, generate_errors) = refusal(e)?;
            let forms = Forms {
                generate: form,
                generate_errors,
                ..Forms::default()
            };
            refused(&state, &user, status, &deal_id, forms).await
        }
    }
}

/// Imports a CSV of codes: all rows, or none and every bad row listed.
pub async fn upload(
    State(state): State<AppState>,
    user: ActiveMerchant,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let (fields, failure) = match MultipartFields::read(multipart).await {
        Ok(fields) => (fields, None),
        Err((why, fields)) => (fields, Some(why)),
    };
    let file = fields.file("file");
    let form = UploadForm {
        deal_id: fields.text("deal_id"),
        kind: fields.text("kind"),
        file_name: file
            .as_ref()
            .map(|(name, _)| name.clone())
            .unwrap_or_default(),
    };
    let deal_id = form.deal_id.clone();
    let file = match (failure, file) {
        (Some(why), _) => {
            let message = match why {
                Unreadable::TooLarge => format!(
                    "is too large: at most {} MiB ({MAX_BULK_UPLOAD} rows)",
                    MAX_UPLOAD_BYTES / (1024 * 1024)
                ),
                Unreadable::Broken => "could not be read; try again".to_string(),
            };
            let forms = Forms {
                upload: form,
                upload_errors: FormErrors::field("file", &message),
                ..Forms::default()
            };
            return refused(&state, &user, why.status(), &deal_id, forms).await;
        }
        (None, Some((_, f))) if !f.is_empty() || !form.file_name.is_empty() => f,
        (None, _) => {
            let forms = Forms {
                upload: form,
                upload_errors: FormErrors::field("file", "is required: choose a CSV file of codes"),
                ..Forms::default()
            };
            return refused(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                &deal_id,
                forms,
            )
            .await;
        }
    };
    match state
        .app
        .upload_codes(
            &user.scope(),
            &form.deal_id,
            Some(form.kind.as_str()),
            &file,
        )
        .await
    {
        Ok(imported) => {
            let deal = deal_label(&state, &user, &form.deal_id).await;
            let from = if form.file_name.is_empty() {
                String::new()
            } else {
                format!(" from {}", form.file_name)
            };
            Ok(added(
                &state,
                &form.deal_id,
                Flash::success(format!("Imported {imported} codes{from} into {deal}.")),
            ))
        }
        Err(e) => {
            let (status, mut upload_errors) = refusal(e)?;
            // A refused file names its bad rows `row N`: they are listed under the form.
            let (bad_rows, fields): (Vec<FieldError>, Vec<FieldError>) = upload_errors
                .fields
                .into_iter()
                .partition(|f| f.field.starts_with("row "));
            upload_errors.fields = fields;
            let bad_rows = bad_rows
                .into_iter()
                .map(|f| BadRow {
                    row: f.field.trim_start_matches("row ").to_string(),
                    message: f.message,
                })
                .collect();
            let forms = Forms {
                upload: form,
                upload_errors,
                bad_rows,
                ..Forms::default()
            };
            refused(&state, &user, status, &deal_id, forms).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_addresses_keep_the_filters() {
        let q = CodeQuery {
            deal_id: "deal_1".into(),
            kind: String::new(),
            status: "issued".into(),
            cursor: "abc".into(),
        };
        assert_eq!(
            q.href(Some("xyz")),
            "/dashboard/coupon-codes?deal_id=deal_1&status=issued&cursor=xyz"
        );
        assert_eq!(CodeQuery::default().href(None), "/dashboard/coupon-codes");
        assert!(q.filtered());
        assert!(CodeQuery {
            kind: "nope".into(),
            ..CodeQuery::default()
        }
        .filter()
        .is_err());
    }
}
