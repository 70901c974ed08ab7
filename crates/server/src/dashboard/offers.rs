//! Offers (public promo codes) of the session's environment: list with filters, create,
//! edit, switch on and off, attach stores, images, delete.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use punchcard_app::catalog::{CatalogCounts, CatalogItem};
use punchcard_app::catalog_kind::CatalogKind;
use punchcard_app::offers::Offers;
use punchcard_app::offers::{OfferDraft, OfferPatch, OfferQuery, OfferView};
use punchcard_app::AppError;
use punchcard_domain::OfferId;

use super::catalog::{
    price_line, short_moment, store_choices, upload_image, ImageOutcome, Images, StoreChoice,
};
use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, list_href, safe_back, to_local_input, FormFields};
use super::session::ActiveMerchant;
use crate::api::catalog::IMAGE_BODY_LIMIT;
use crate::api::pagination::{decode_cursor, encode_cursor};
use crate::state::AppState;

const LIST: &str = "/dashboard/offers";
const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route("/dashboard/offers/new", get(new))
        .route("/dashboard/offers/{id}", get(edit).post(update))
        .route("/dashboard/offers/{id}/available", post(toggle))
        .route("/dashboard/offers/{id}/delete", post(delete))
        .route(
            "/dashboard/offers/{id}/images",
            post(upload).layer(DefaultBodyLimit::max(IMAGE_BODY_LIMIT)),
        )
        .route("/dashboard/offers/{id}/images/{image_id}", get(image))
        .route(
            "/dashboard/offers/{id}/images/{image_id}/delete",
            post(delete_image),
        )
}

/// The filter form as typed, to fill it again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    pub available: String,
    pub store_id: String,
    pub q: String,
    pub cursor: String,
}

impl Filters {
    fn query(&self) -> OfferQuery {
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        OfferQuery {
            available: opt(&self.available),
            code: None,
            store_id: opt(&self.store_id),
            q: opt(&self.q),
        }
    }

    fn active(&self) -> bool {
        [&self.available, &self.store_id, &self.q]
            .iter()
            .any(|s| !s.trim().is_empty())
    }

    /// This list's address, optionally from a cursor.
    fn href(&self, cursor: Option<&str>) -> String {
        list_href(
            LIST,
            &[
                ("available", &self.available),
                ("store_id", &self.store_id),
                ("q", &self.q),
            ],
            cursor,
        )
    }
}

pub struct OfferLine {
    pub id: String,
    pub code: String,
    pub name: String,
    pub sell_price: i64,
    pub prices: String,
    pub available: bool,
    pub starts: String,
    pub ends: String,
    pub stores: usize,
    pub images: usize,
}

impl OfferLine {
    fn of(v: &OfferView) -> Self {
        let d = &v.offer;
        Self {
            id: d.id.to_string(),
            code: d.code.clone(),
            name: d.name.clone(),
            sell_price: d.sell_price,
            prices: price_line(&v.prices),
            available: d.available,
            starts: short_moment(d.starts_at),
            ends: short_moment(d.ends_at),
            stores: v.store_ids.len(),
            images: v.images.len(),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/offers.html")]
struct ListPage {
    chrome: Chrome,
    offers: Vec<OfferLine>,
    filters: Filters,
    filtering: bool,
    filter_errors: FormErrors,
    stores: Vec<StoreChoice>,
    counts: CatalogCounts,
    /// This page's address, where toggles come back to.
    here: String,
    next: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(filters): Query<Filters>,
) -> Result<Response, PageError> {
    let counts = state
        .app
        .catalog_counts(&user.merchant.id, user.env)
        .await?;
    let stores = state.app.all_stores(&user.merchant.id, user.env).await?;
    let (offers, next, filter_errors) = match filters.query().parse() {
        Ok(filter) => {
            let after = decode_cursor(&filters.cursor);
            let rows = state
                .app
                .list_offers(
                    &user.merchant.id,
                    user.env,
                    &filter,
                    after.as_deref(),
                    PAGE_SIZE + 1,
                )
                .await?;
            let more = rows.len() as i64 > PAGE_SIZE;
            let rows = &rows[..rows.len().min(PAGE_SIZE as usize)];
            let next = more
                .then(|| rows.last())
                .flatten()
                .map(|v| filters.href(Some(&encode_cursor(v.offer.id.as_str()))));
            (
                rows.iter().map(OfferLine::of).collect(),
                next,
                FormErrors::none(),
            )
        }
        Err(e) => (Vec::new(), None, e.into()),
    };
    let status = if filter_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_with(
        status,
        &ListPage {
            chrome: Chrome::new(&user, Nav::Offers),
            offers,
            filtering: filters.active() || !filter_errors.is_empty(),
            here: filters.href(None),
            stores: store_choices(&stores, std::slice::from_ref(&filters.store_id)),
            filters,
            filter_errors,
            counts,
            next,
        },
    ))
}

/// The offer form's values as typed.
pub struct OfferForm {
    pub code: String,
    pub name: String,
    pub description: String,
    pub sell_price: String,
    pub available: bool,
    pub starts_at: String,
    pub ends_at: String,
}

impl OfferForm {
    fn of(d: &OfferDraft) -> Self {
        Self {
            code: d.code.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            sell_price: d.sell_price.clone(),
            available: d.available,
            starts_at: to_local_input(&d.starts_at),
            ends_at: to_local_input(&d.ends_at),
        }
    }
}

fn draft_of(f: &FormFields) -> OfferDraft {
    OfferDraft {
        code: f.get("code"),
        name: f.get("name"),
        description: f.get("description"),
        sell_price: f.get("sell_price"),
        available: f.ticked("available"),
        starts_at: f.moment("starts_at"),
        ends_at: f.moment("ends_at"),
        store_ids: f.all("store_ids"),
    }
}

pub struct PriceLine {
    pub code: String,
    pub points: i64,
}

#[derive(Template)]
#[template(path = "dashboard/offer_form.html")]
struct FormPage {
    chrome: Chrome,
    /// Empty for a new offer.
    id: String,
    form: OfferForm,
    errors: FormErrors,
    stores: Vec<StoreChoice>,
    prices: Vec<PriceLine>,
    images: Option<Images>,
}

async fn form_page(
    state: &AppState,
    user: &ActiveMerchant,
    saved: Option<&OfferView>,
    draft: &OfferDraft,
    errors: FormErrors,
    image_errors: FormErrors,
) -> Result<FormPage, PageError> {
    let stores = state.app.all_stores(&user.merchant.id, user.env).await?;
    Ok(FormPage {
        chrome: Chrome::new(user, Nav::Offers),
        id: saved.map(|v| v.offer.id.to_string()).unwrap_or_default(),
        form: OfferForm::of(draft),
        errors,
        stores: store_choices(&stores, &draft.store_ids),
        prices: saved
            .map(|v| {
                v.prices
                    .iter()
                    .map(|p| PriceLine {
                        code: p.code.clone(),
                        points: p.points,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        images: saved.map(|v| {
            Images::new(
                format!("/dashboard/offers/{}/images", v.offer.id),
                &v.images,
                image_errors,
            )
        }),
    })
}

pub async fn new(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    let draft = OfferDraft::default();
    Ok(render(
        &form_page(
            &state,
            &user,
            None,
            &draft,
            FormErrors::none(),
            FormErrors::none(),
        )
        .await?,
    ))
}

pub async fn create(
    State(state): State<AppState>,
    user: ActiveMerchant,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let draft = draft_of(&FormFields::parse(&body));
    match state
        .app
        .create_offer(&user.merchant.id, user.env, &draft)
        .await
    {
        Ok(v) => Ok(back_to(
            &state,
            &format!("/dashboard/offers/{}", v.offer.id),
            Flash::success(if v.offer.available {
                "Offer created; it is live now."
            } else {
                "Offer created. Switch it on when it is ready."
            }),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            Ok(render_with(
                status,
                &form_page(&state, &user, None, &draft, errors, FormErrors::none()).await?,
            ))
        }
    }
}

fn offer_id(id: &str) -> Result<OfferId, PageError> {
    id.parse()
        .map_err(|_| PageError(AppError::NotFound("offer")))
}

pub async fn edit(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let v = state
        .app
        .offer(&user.merchant.id, user.env, &offer_id(&id)?)
        .await?;
    let draft = Offers::edit_draft(&v);
    Ok(render(
        &form_page(
            &state,
            &user,
            Some(&v),
            &draft,
            FormErrors::none(),
            FormErrors::none(),
        )
        .await?,
    ))
}

pub async fn update(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let id = offer_id(&id)?;
    let draft = draft_of(&FormFields::parse(&body));
    let patch = OfferPatch {
        code: Some(draft.code.clone()),
        name: Some(draft.name.clone()),
        description: Some(draft.description.clone()),
        sell_price: Some(draft.sell_price.clone()),
        available: Some(draft.available),
        starts_at: Some(draft.starts_at.clone()),
        ends_at: Some(draft.ends_at.clone()),
        store_ids: Some(draft.store_ids.clone()),
    };
    match state
        .app
        .update_item::<Offers>(&user.merchant.id, user.env, &id, patch)
        .await
    {
        Ok(_) => Ok(back_to(
            &state,
            &format!("/dashboard/offers/{id}"),
            Flash::success("Offer saved."),
        )),
        Err(e) => refused(&state, &user, &id, &draft, FormErrors::refusal(e)?.1).await,
    }
}

/// The edit page again, with what was typed and why it was refused.
async fn refused(
    state: &AppState,
    user: &ActiveMerchant,
    id: &OfferId,
    draft: &OfferDraft,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let saved = state.app.offer(&user.merchant.id, user.env, id).await?;
    Ok(render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form_page(state, user, Some(&saved), draft, errors, FormErrors::none()).await?,
    ))
}

pub async fn toggle(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let id = offer_id(&id)?;
    let f = FormFields::parse(&body);
    let on = f.ticked("available");
    let back = safe_back(&f.get("back"), LIST);
    let patch = OfferPatch {
        available: Some(on),
        ..OfferPatch::default()
    };
    match state
        .app
        .update_item::<Offers>(&user.merchant.id, user.env, &id, patch)
        .await
    {
        Ok(v) => Ok(back_to(
            &state,
            &back,
            Flash::success(if on {
                format!("{} is live.", v.offer.name)
            } else {
                format!("{} is switched off.", v.offer.name)
            }),
        )),
        Err(AppError::LimitReached(m)) => Ok(back_to(&state, &back, Flash::error(m))),
        Err(AppError::Validation(e)) => Ok(back_to(
            &state,
            &format!("/dashboard/offers/{id}"),
            Flash::error(format!("Fix this offer before switching it on: {e}")),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = offer_id(&id)?;
    state
        .app
        .delete_item::<Offers>(&user.merchant.id, user.env, &id)
        .await?;
    Ok(back_to(&state, LIST, Flash::success("Offer deleted.")))
}

pub async fn upload(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let id = offer_id(&id)?;
    let item = CatalogItem::Offer(id.clone());
    match upload_image(&state, &user, &item, multipart).await? {
        ImageOutcome::Stored(name) => Ok(back_to(
            &state,
            &format!("/dashboard/offers/{id}"),
            Flash::success(format!("Uploaded {name}.")),
        )),
        ImageOutcome::Refused(status, errors) => {
            let v = state.app.offer(&user.merchant.id, user.env, &id).await?;
            let draft = Offers::edit_draft(&v);
            Ok(render_with(
                status,
                &form_page(&state, &user, Some(&v), &draft, FormErrors::none(), errors).await?,
            ))
        }
    }
}

pub async fn image(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let item = CatalogItem::Offer(offer_id(&id)?);
    super::catalog::serve_image(&state, &user, &item, &image_id).await
}

pub async fn delete_image(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = offer_id(&id)?;
    super::catalog::delete_image(&state, &user, &CatalogItem::Offer(id.clone()), &image_id).await?;
    Ok(back_to(
        &state,
        &format!("/dashboard/offers/{id}"),
        Flash::success("Image deleted."),
    ))
}
