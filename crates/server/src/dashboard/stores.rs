//! Stores of the session's environment: list with filters, create, edit, images, delete, and
//! the deals and offers each carries.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use punchcard_app::catalog::{CatalogCounts, CatalogItem};
use punchcard_app::catalog_kind::CatalogKind;
use punchcard_app::deals::DealQuery;
use punchcard_app::offers::OfferQuery;
use punchcard_app::stores::Stores;
use punchcard_app::stores::{StoreDraft, StorePatch, StoreQuery, StoreView};
use punchcard_app::AppError;
use punchcard_domain::StoreId;

use super::catalog::{upload_image, ImageOutcome, Images};
use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, list_href, FormFields};
use super::session::ActiveMerchant;
use crate::api::catalog::IMAGE_BODY_LIMIT;
use crate::api::pagination::{decode_cursor, encode_cursor};
use crate::state::AppState;

const LIST: &str = "/dashboard/stores";
const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route("/dashboard/stores/new", get(new))
        .route("/dashboard/stores/{id}", get(edit).post(update))
        .route("/dashboard/stores/{id}/delete", post(delete))
        .route(
            "/dashboard/stores/{id}/images",
            post(upload).layer(DefaultBodyLimit::max(IMAGE_BODY_LIMIT)),
        )
        .route("/dashboard/stores/{id}/images/{image_id}", get(image))
        .route(
            "/dashboard/stores/{id}/images/{image_id}/delete",
            post(delete_image),
        )
}

/// The filter form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    pub mode: String,
    pub city: String,
    pub q: String,
    pub cursor: String,
}

impl Filters {
    fn query(&self) -> StoreQuery {
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        StoreQuery {
            mode: opt(&self.mode),
            city: opt(&self.city),
            q: opt(&self.q),
        }
    }

    fn active(&self) -> bool {
        [&self.mode, &self.city, &self.q]
            .iter()
            .any(|s| !s.trim().is_empty())
    }

    fn href(&self, cursor: Option<&str>) -> String {
        list_href(
            LIST,
            &[("mode", &self.mode), ("city", &self.city), ("q", &self.q)],
            cursor,
        )
    }
}

pub struct StoreLine {
    pub id: String,
    pub name: String,
    pub online: bool,
    pub url: String,
    pub address: String,
    pub located: bool,
    pub deals: usize,
    pub offers: usize,
    pub images: usize,
}

fn address_of(v: &StoreView) -> String {
    let s = &v.store;
    [&s.address_line, &s.postal_code, &s.city, &s.country]
        .iter()
        .filter_map(|p| p.as_deref())
        .collect::<Vec<_>>()
        .join(", ")
}

impl StoreLine {
    fn of(v: &StoreView) -> Self {
        Self {
            id: v.store.id.to_string(),
            name: v.store.name.clone(),
            online: v.store.mode == "online",
            url: v.store.url.clone().unwrap_or_default(),
            address: address_of(v),
            located: v.location().is_some(),
            deals: v.deal_ids.len(),
            offers: v.offer_ids.len(),
            images: v.images.len(),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/stores.html")]
struct ListPage {
    chrome: Chrome,
    stores: Vec<StoreLine>,
    filters: Filters,
    filtering: bool,
    filter_errors: FormErrors,
    counts: CatalogCounts,
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
    let (stores, next, filter_errors) = match filters.query().parse() {
        Ok(filter) => {
            let after = decode_cursor(&filters.cursor);
            let rows = state
                .app
                .list_stores(
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
                .map(|v| filters.href(Some(&encode_cursor(v.store.id.as_str()))));
            (
                rows.iter().map(StoreLine::of).collect(),
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
            chrome: Chrome::new(&user, Nav::Stores),
            stores,
            filtering: filters.active() || !filter_errors.is_empty(),
            filters,
            filter_errors,
            counts,
            next,
        },
    ))
}

fn draft_of(f: &FormFields) -> StoreDraft {
    StoreDraft {
        name: f.get("name"),
        mode: f.get("mode"),
        url: f.get("url"),
        address_line: f.get("address_line"),
        city: f.get("city"),
        postal_code: f.get("postal_code"),
        country: f.get("country"),
        latitude: f.get("latitude"),
        longitude: f.get("longitude"),
    }
}

/// A deal or offer a store carries, for its page.
pub struct Carried {
    pub href: String,
    pub label: String,
    pub available: bool,
}

#[derive(Template)]
#[template(path = "dashboard/store_form.html")]
struct FormPage {
    chrome: Chrome,
    /// Empty for a new store.
    id: String,
    form: StoreDraft,
    errors: FormErrors,
    deals: Vec<Carried>,
    offers: Vec<Carried>,
    images: Option<Images>,
}

async fn form_page(
    state: &AppState,
    user: &ActiveMerchant,
    saved: Option<&StoreView>,
    form: StoreDraft,
    errors: FormErrors,
    image_errors: FormErrors,
) -> Result<FormPage, PageError> {
    let (mut deals, mut offers) = (Vec::new(), Vec::new());
    if let Some(v) = saved {
        // The same filtered lists the API offers, so the page shows what `store_id=` finds.
        let by_store = Some(v.store.id.to_string());
        let deal_filter = DealQuery {
            store_id: by_store.clone(),
            ..DealQuery::default()
        }
        .parse()?;
        for d in state
            .app
            .list_deals(&user.merchant.id, user.env, &deal_filter, None, 500)
            .await?
        {
            deals.push(Carried {
                href: format!("/dashboard/deals/{}", d.deal.id),
                label: d.deal.name,
                available: d.deal.available,
            });
        }
        let offer_filter = OfferQuery {
            store_id: by_store,
            ..OfferQuery::default()
        }
        .parse()?;
        for o in state
            .app
            .list_offers(&user.merchant.id, user.env, &offer_filter, None, 500)
            .await?
        {
            offers.push(Carried {
                href: format!("/dashboard/offers/{}", o.offer.id),
                label: format!("{} ({})", o.offer.name, o.offer.code),
                available: o.offer.available,
            });
        }
    }
    Ok(FormPage {
        chrome: Chrome::new(user, Nav::Stores),
        id: saved.map(|v| v.store.id.to_string()).unwrap_or_default(),
        form,
        errors,
        deals,
        offers,
        images: saved.map(|v| {
            Images::new(
                format!("/dashboard/stores/{}/images", v.store.id),
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
    let draft = StoreDraft {
        mode: "offline".into(),
        ..StoreDraft::default()
    };
    Ok(render(
        &form_page(
            &state,
            &user,
            None,
            draft,
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
        .create_store(&user.merchant.id, user.env, &draft)
        .await
    {
        Ok(v) => Ok(back_to(
            &state,
            &format!("/dashboard/stores/{}", v.store.id),
            Flash::success("Store created. Attach it to deals and offers from their pages."),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            Ok(render_with(
                status,
                &form_page(&state, &user, None, draft, errors, FormErrors::none()).await?,
            ))
        }
    }
}

fn store_id(id: &str) -> Result<StoreId, PageError> {
    id.parse()
        .map_err(|_| PageError(AppError::NotFound("store")))
}

pub async fn edit(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let v = state
        .app
        .store(&user.merchant.id, user.env, &store_id(&id)?)
        .await?;
    let draft = Stores::edit_draft(&v);
    Ok(render(
        &form_page(
            &state,
            &user,
            Some(&v),
            draft,
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
    let id = store_id(&id)?;
    let draft = draft_of(&FormFields::parse(&body));
    let patch = StorePatch {
        name: Some(draft.name.clone()),
        mode: Some(draft.mode.clone()),
        url: Some(draft.url.clone()),
        address_line: Some(draft.address_line.clone()),
        city: Some(draft.city.clone()),
        postal_code: Some(draft.postal_code.clone()),
        country: Some(draft.country.clone()),
        latitude: Some(draft.latitude.clone()),
        longitude: Some(draft.longitude.clone()),
    };
    match state
        .app
        .update_item::<Stores>(&user.merchant.id, user.env, &id, patch)
        .await
    {
        Ok(_) => Ok(back_to(
            &state,
            &format!("/dashboard/stores/{id}"),
            Flash::success("Store saved."),
        )),
        Err(AppError::Validation(e)) => {
            let saved = state.app.store(&user.merchant.id, user.env, &id).await?;
            Ok(render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(
                    &state,
                    &user,
                    Some(&saved),
                    draft,
                    e.into(),
                    FormErrors::none(),
                )
                .await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = store_id(&id)?;
    state
        .app
        .delete_item::<Stores>(&user.merchant.id, user.env, &id)
        .await?;
    Ok(back_to(
        &state,
        LIST,
        Flash::success("Store deleted; its deals and offers no longer list it."),
    ))
}

pub async fn upload(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let id = store_id(&id)?;
    let item = CatalogItem::Store(id.clone());
    match upload_image(&state, &user, &item, multipart).await? {
        ImageOutcome::Stored(name) => Ok(back_to(
            &state,
            &format!("/dashboard/stores/{id}"),
            Flash::success(format!("Uploaded {name}.")),
        )),
        ImageOutcome::Refused(status, errors) => {
            let v = state.app.store(&user.merchant.id, user.env, &id).await?;
            let draft = Stores::edit_draft(&v);
            Ok(render_with(
                status,
                &form_page(&state, &user, Some(&v), draft, FormErrors::none(), errors).await?,
            ))
        }
    }
}

pub async fn image(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let item = CatalogItem::Store(store_id(&id)?);
    super::catalog::serve_image(&state, &user, &item, &image_id).await
}

pub async fn delete_image(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = store_id(&id)?;
    super::catalog::delete_image(&state, &user, &CatalogItem::Store(id.clone()), &image_id).await?;
    Ok(back_to(
        &state,
        &format!("/dashboard/stores/{id}"),
        Flash::success("Image deleted."),
    ))
}
