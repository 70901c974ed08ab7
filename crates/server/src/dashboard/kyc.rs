//! Profile and KYC: business details, documents, submission and the review status. These
//! pages work before the merchant is active; the rest of the dashboard sends members here.

use askama::Template;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::kyc::{KycInput, KycOverview, BUSINESS_TYPES};
use punchcard_app::uploads::MAX_UPLOAD_BYTES;
use punchcard_app::AppError;
use punchcard_domain::UploadId;

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, path_id, short_time, MultipartFields, Unreadable};
use super::session::SignedIn;
use crate::mail::Mail;
use crate::state::AppState;

/// The multipart body limit of the upload form: the file cap plus room for the other parts,
/// so a slightly-too-large file gets the "at most 5 MiB" message rather than a bare 413.
const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/profile", get(show).post(save))
        .route("/dashboard/profile/edit", get(edit))
        .route("/dashboard/profile/submit", post(submit))
        .route("/dashboard/profile/time_zone", post(save_time_zone))
        .route(
            "/dashboard/profile/documents",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/dashboard/profile/documents/{id}", get(download))
        .route("/dashboard/profile/documents/{id}/delete", post(delete))
}

/// One document line.
pub struct DocumentLine {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub size: String,
    pub uploaded: String,
}

/// One read-only detail line.
pub struct DetailLine {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "dashboard/kyc_profile.html")]
struct ProfilePage {
    chrome: Chrome,
    /// What a partner names to propose a swap contract.
    merchant_id: String,
    status: &'static str,
    rejection_reason: String,
    editable: bool,
    can_submit: bool,
    has_profile: bool,
    details: Vec<DetailLine>,
    documents: Vec<DocumentLine>,
    document_cap: i64,
    room_for_documents: bool,
    upload_errors: FormErrors,
    submit_errors: FormErrors,
    /// The merchant's time zone as typed (or saved), with every name to pick from.
    time_zone: String,
    time_zones: Vec<String>,
    time_zone_errors: FormErrors,
}

#[derive(Template)]
#[template(path = "dashboard/kyc_edit.html")]
struct EditPage {
    chrome: Chrome,
    form: KycInput,
    errors: FormErrors,
    business_types: &'static [(&'static str, &'static str)],
}

fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

fn business_type_label(v: &str) -> String {
    BUSINESS_TYPES
        .iter()
        .find(|(k, _)| *k == v)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| v.to_string())
}

/// The time zone form's field: what was typed, and its error.
struct TimeZoneField {
    value: String,
    errors: FormErrors,
}

impl TimeZoneField {
    async fn saved(state: &AppState, user: &SignedIn) -> Result<Self, PageError> {
        Ok(Self {
            value: state.app.time_zone(&user.merchant.id).await?.to_string(),
            errors: FormErrors::none(),
        })
    }
}

fn profile_page(
    user: &SignedIn,
    o: &KycOverview,
    upload_errors: FormErrors,
    submit_errors: FormErrors,
    time_zone: TimeZoneField,
) -> ProfilePage {
    let details = match &o.profile {
        None => Vec::new(),
        Some(p) => {
            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
            vec![
                DetailLine {
                    label: "Legal business name",
                    value: p.legal_name.clone(),
                },
                DetailLine {
                    label: "Business type",
                    value: business_type_label(&p.business_type),
                },
                DetailLine {
                    label: "Registration number",
                    value: opt(&p.registration_number),
                },
                DetailLine {
                    label: "Tax ID",
                    value: opt(&p.tax_id),
                },
                DetailLine {
                    label: "Website",
                    value: opt(&p.website),
                },
                DetailLine {
                    label: "Phone",
                    value: p.phone.clone(),
                },
                DetailLine {
                    label: "Address",
                    value: p.address_line.clone(),
                },
                DetailLine {
                    label: "City",
                    value: p.city.clone(),
                },
                DetailLine {
                    label: "Postal code",
                    value: p.postal_code.clone(),
                },
                DetailLine {
                    label: "Country",
                    value: p.country.clone(),
                },
                DetailLine {
                    label: "Contact person",
                    value: p.contact_person.clone(),
                },
            ]
        }
    };
    let documents: Vec<DocumentLine> = o
        .documents
        .iter()
        .map(|d| DocumentLine {
            id: d.id.to_string(),
            name: d.name.clone(),
            kind: match d.content_type.as_str() {
                "application/pdf" => "PDF",
                "image/png" => "PNG",
                _ => "JPEG",
            },
            size: human_size(d.size_bytes),
            uploaded: short_time(d.created_at),
        })
        .collect();
    let cap = punchcard_domain::limits::KYC_DOCUMENT_CAP;
    ProfilePage {
        chrome: Chrome::new(user, Nav::Profile),
        merchant_id: o.merchant.id.to_string(),
        status: o.merchant.status.as_str(),
        rejection_reason: o.merchant.rejection_reason.clone().unwrap_or_default(),
        editable: o.editable(),
        can_submit: o.can_submit(),
        has_profile: o.profile.is_some(),
        room_for_documents: (documents.len() as i64) < cap,
        details,
        documents,
        document_cap: cap,
        upload_errors,
        submit_errors,
        time_zone: time_zone.value,
        time_zones: punchcard_domain::time::TimeZone::names(),
        time_zone_errors: time_zone.errors,
    }
}

pub async fn show(State(state): State<AppState>, user: SignedIn) -> Result<Response, PageError> {
    let o = state.app.kyc_overview(&user.merchant.id).await?;
    let tz = TimeZoneField::saved(&state, &user).await?;
    Ok(render(&profile_page(
        &user,
        &o,
        FormErrors::none(),
        FormErrors::none(),
        tz,
    )))
}

/// The time zone form: a valid IANA name is saved; anything else is shown back with its error.
#[derive(serde::Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

pub async fn save_time_zone(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<TimeZoneForm>,
) -> Result<Response, PageError> {
    match state
        .app
        .set_time_zone(&user.merchant.id, &form.time_zone)
        .await
    {
        Ok(tz) => Ok(back_to_profile(
            &state,
            Flash::success(format!("Time zone set to {tz}.")),
        )),
        Err(e) => match FormErrors::invalid_fields(e) {
            Ok((status, errors)) => {
                let o = state.app.kyc_overview(&user.merchant.id).await?;
                let tz = TimeZoneField {
                    value: form.time_zone,
                    errors,
                };
                Ok(render_with(
                    status,
                    &profile_page(&user, &o, FormErrors::none(), FormErrors::none(), tz),
                ))
            }
            Err(PageError(e)) => Ok(back_to_profile(&state, Flash::refusal(e)?)),
        },
    }
}

pub async fn edit(State(state): State<AppState>, user: SignedIn) -> Result<Response, PageError> {
    let o = state.app.kyc_overview(&user.merchant.id).await?;
    if !o.editable() {
        return Ok(back_to_profile(
            &state,
            Flash::info("Your KYC details cannot change at this stage."),
        ));
    }
    let form = o
        .profile
        .as_ref()
        .map(KycInput::from_profile)
        .unwrap_or_default();
    Ok(render(&EditPage {
        chrome: Chrome::new(&user, Nav::Profile),
        form,
        errors: FormErrors::none(),
        business_types: BUSINESS_TYPES,
    }))
}

pub async fn save(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<KycInput>,
) -> Result<Response, PageError> {
    match state.app.save_kyc_profile(&user.merchant.id, &form).await {
        Ok(_) => Ok(back_to_profile(
            &state,
            Flash::success("KYC details saved."),
        )),
        Err(e) => match FormErrors::invalid_fields(e) {
            Ok((status, errors)) => Ok(render_with(
                status,
                &EditPage {
                    chrome: Chrome::new(&user, Nav::Profile),
                    form,
                    errors,
                    business_types: BUSINESS_TYPES,
                },
            )),
            Err(PageError(e)) => Ok(back_to_profile(&state, Flash::refusal(e)?)),
        },
    }
}

/// Re-renders the profile page with an error next to the upload field.
async fn upload_refused(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    message: &str,
) -> Result<Response, PageError> {
    let o = state.app.kyc_overview(&user.merchant.id).await?;
    let errors = FormErrors::field("file", message);
    let tz = TimeZoneField::saved(state, user).await?;
    Ok(render_with(
        status,
        &profile_page(user, &o, errors, FormErrors::none(), tz),
    ))
}

pub async fn upload(
    State(state): State<AppState>,
    user: SignedIn,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let fields = match MultipartFields::read(multipart).await {
        Ok(fields) => fields,
        Err((why, _)) => {
            let message = match why {
                Unreadable::TooLarge => "must be at most 5 MiB",
                Unreadable::Broken => "could not be read; try again",
            };
            return upload_refused(&state, &user, why.status(), message).await;
        }
    };
    let Some((name, bytes)) = fields.file("file") else {
        return upload_refused(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            "choose a file to upload",
        )
        .await;
    };
    match state
        .app
        .add_kyc_document(&state.storage, &user.merchant.id, &name, bytes)
        .await
    {
        Ok(doc) => Ok(back_to_profile(
            &state,
            Flash::success(format!("Uploaded {}.", doc.name)),
        )),
        Err(e) => {
            let refused = FormErrors::refusal_with(e, |e| match e {
                AppError::LimitReached(m) => Some(FormErrors::field("file", m)),
                _ => None,
            });
            match refused {
                Ok((status, errors)) => {
                    let message = errors.get("file").unwrap_or("is not acceptable");
                    upload_refused(&state, &user, status, message).await
                }
                Err(PageError(e)) => Ok(back_to_profile(&state, Flash::refusal(e)?)),
            }
        }
    }
}

/// Serves a document to members of its merchant only; any other id is "not found".
pub async fn download(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: UploadId = path_id(&id, "document")?;
    let content = state
        .app
        .read_upload(&state.storage, &user.merchant.id, &id)
        .await?;
    let mut res = Response::new(Body::from(content.bytes));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content.upload.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&content.upload.name),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

/// `attachment` with an ASCII-safe file name (others become `_`), so it can carry no header.
fn content_disposition(name: &str) -> HeaderValue {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{safe}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

pub async fn delete(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: UploadId = path_id(&id, "document")?;
    match state
        .app
        .delete_kyc_document(&state.storage, &user.merchant.id, &id)
        .await
    {
        Ok(()) => Ok(back_to_profile(&state, Flash::success("Document deleted."))),
        Err(e) => Ok(back_to_profile(&state, Flash::refusal(e)?)),
    }
}

pub async fn submit(State(state): State<AppState>, user: SignedIn) -> Result<Response, PageError> {
    match state.app.submit_kyc(&user.merchant.id).await {
        Ok(merchant) => {
            tell_operator(&state, &merchant).await;
            Ok(back_to_profile(
                &state,
                Flash::success("KYC submitted. We will review it and notify you here."),
            ))
        }
        Err(e) => match FormErrors::invalid_fields(e) {
            Ok((status, errors)) => {
                let o = state.app.kyc_overview(&user.merchant.id).await?;
                let tz = TimeZoneField::saved(&state, &user).await?;
                Ok(render_with(
                    status,
                    &profile_page(&user, &o, FormErrors::none(), errors, tz),
                ))
            }
            Err(PageError(e)) => Ok(back_to_profile(&state, Flash::refusal(e)?)),
        },
    }
}

/// Mails the operator (when `PUNCHCARD_OPERATOR_EMAIL` is set) that a KYC awaits review.
/// The submission stands whatever happens to the mail; a failure is logged.
async fn tell_operator(state: &AppState, merchant: &punchcard_store::accounts::MerchantRow) {
    let Some(to) = state
        .config
        .operator_email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    let documents = match state.app.kyc_overview(&merchant.id).await {
        Ok(o) => o.documents.len(),
        Err(e) => {
            tracing::error!(error = %e, merchant_id = %merchant.id, "cannot read the submitted KYC");
            return;
        }
    };
    match Mail::kyc_submitted(
        to,
        &merchant.name,
        merchant.id.as_str(),
        documents,
        &state.base_url,
    ) {
        Ok(mail) => {
            if let Err(e) = state.mailer.send(&mail).await {
                tracing::error!(error = %e, merchant_id = %merchant.id, "cannot mail the operator about a KYC");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot build the KYC mail"),
    }
}

fn back_to_profile(state: &AppState, flash: Flash) -> Response {
    back_to(state, "/dashboard/profile", flash)
}
