//! The pages of every catalog kind, served once for deals, offers and stores: the list with
//! its filters, create, edit, switch on and off, images and delete. A kind brings its own
//! filter form, table line, templates and words.

use std::future::Future;

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use punchcard_app::catalog::{CapUse, Price};
use punchcard_app::catalog_kind::{
    Cap, CatalogKind, Draft, DraftSource, PatchOf, Query as _, View,
};
use punchcard_app::AppError;
use punchcard_domain::{FieldError, UploadId};

use super::catalog::{read_image, store_choices, Images, StoreChoice};
use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, list_href, path_id, safe_back, FormFields};
use super::session::ActiveMerchant;
use crate::api::catalog::{image_answer, IMAGE_BODY_LIMIT};
use crate::api::pagination::{decode_cursor, encode_cursor};
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;

/// A catalog kind as the dashboard shows it.
pub trait PageKind: CatalogKind + Sized {
    /// The list's address, under which every page of the kind lives: `/dashboard/deals`.
    const LIST: &'static str;
    const NAV: Nav;
    /// One item in flashes: `Deal`.
    const TITLE: &'static str;
    /// The flash after a deletion.
    const DELETED: &'static str;
    /// One line of the list's table.
    type Line: Send;
    type ListPage: Template + Send;
    type FormPage: Template + Send;

    /// The filters the list's form offers, of those its address carries.
    fn page_query(query: Self::Query) -> Self::Query {
        query
    }
    fn line(v: &View<Self>) -> Self::Line;
    /// The draft of a new item's empty form.
    fn blank() -> Self::Draft {
        Self::Draft::default()
    }
    /// The flash after creation.
    fn created(v: &View<Self>) -> String {
        if Self::available(&v.row) {
            format!("{} created; it is live now.", Self::TITLE)
        } else {
            format!("{} created. Switch it on when it is ready.", Self::TITLE)
        }
    }
    /// Its name, in flashes.
    fn name(v: &View<Self>) -> &str;
    /// The list page from its shared parts, with what the kind adds.
    fn list_page(list: ListParts<Self>) -> Self::ListPage;
    /// The form page (new or edit) from its shared parts, with what the kind adds.
    fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        saved: Option<&View<Self>>,
        draft: &Self::Draft,
    ) -> impl Future<Output = Result<Self::FormPage, PageError>> + Send;
}

/// What every list page shows.
pub struct ListParts<K: PageKind> {
    pub chrome: Chrome,
    /// The list's address, under which its items' pages live.
    pub list_path: &'static str,
    pub lines: Vec<K::Line>,
    pub filters: K::Query,
    pub filtering: bool,
    pub filter_errors: FormErrors,
    /// The items that count against the kind's cap, and the cap.
    pub count: CapUse,
    /// This page's address, where toggles come back to.
    pub here: String,
    pub next: Option<String>,
    /// The choices of the store filter, for kinds stores carry.
    pub stores: Vec<StoreChoice>,
}

/// What every form page shows.
pub struct FormParts {
    pub chrome: Chrome,
    /// Empty for a new item.
    pub id: String,
    pub errors: FormErrors,
    /// The image section, once the item is saved.
    pub images: Option<Images>,
    /// The store picker, for kinds stores carry, and the saved item's prices.
    pub stores: Vec<StoreChoice>,
    pub prices: Vec<Price>,
}

/// A form as drafts read it; its `…_at` fields are `datetime-local` inputs.
impl DraftSource for FormFields {
    fn text(&self, field: &str) -> String {
        if field.ends_with("_at") {
            self.moment(field)
        } else {
            self.get(field)
        }
    }

    fn ticked(&self, field: &str) -> bool {
        FormFields::ticked(self, field)
    }

    fn all(&self, field: &str) -> Vec<String> {
        FormFields::all(self, field)
    }
}

/// The store choices of a kind stores carry, `selected` ticked.
async fn stores<K: PageKind>(
    state: &AppState,
    user: &ActiveMerchant,
    selected: &[String],
) -> Result<Vec<StoreChoice>, PageError> {
    if !K::CARRIED {
        return Ok(Vec::new());
    }
    let all = state.app.all_stores(&user.merchant.id, user.env).await?;
    Ok(store_choices(&all, selected))
}

/// Lets a kind's page template read the shared parts as its own fields.
macro_rules! page_parts {
    ($page:ty => $parts:ty) => {
        impl std::ops::Deref for $page {
            type Target = $parts;
            fn deref(&self) -> &$parts {
                &self.parts
            }
        }
    };
}
pub(crate) use page_parts;

/// Every page of a kind.
pub fn routes<K: PageKind>() -> Router<AppState> {
    let item = format!("{}/{{id}}", K::LIST);
    let router = Router::new()
        .route(K::LIST, get(list::<K>).post(create::<K>))
        .route(&format!("{}/new", K::LIST), get(new::<K>))
        .route(&item, get(edit::<K>).post(update::<K>))
        .route(&format!("{item}/delete"), post(delete::<K>))
        .route(
            &format!("{item}/images"),
            post(upload::<K>).layer(DefaultBodyLimit::max(IMAGE_BODY_LIMIT)),
        )
        .route(&format!("{item}/images/{{image_id}}"), get(image::<K>))
        .route(
            &format!("{item}/images/{{image_id}}/delete"),
            post(delete_image::<K>),
        );
    match K::CAP {
        Cap::WhileAvailable(_) => router.route(&format!("{item}/available"), post(toggle::<K>)),
        Cap::FromCreation(_) => router,
    }
}

fn href<K: PageKind>(f: &K::Query, cursor: Option<&str>) -> String {
    list_href(K::LIST, &f.pairs(), cursor)
}

fn item_href<K: PageKind>(id: &K::Id) -> String {
    format!("{}/{id}", K::LIST)
}

/// The list's page past the first.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Cursor {
    cursor: String,
}

async fn list<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(filters): Query<K::Query>,
    Query(Cursor { cursor }): Query<Cursor>,
) -> Result<Response, PageError> {
    let (filters, m, env) = (K::page_query(filters), &user.merchant.id, user.env);
    let count = state.app.cap_use::<K>(m, env).await?;
    let (lines, next, filter_errors) = match K::filter(&filters) {
        Ok(filter) => {
            let after = decode_cursor(&cursor);
            let rows = state
                .app
                .list_items::<K>(m, env, &filter, after.as_deref(), PAGE_SIZE + 1);
            let rows = rows.await?;
            let more = rows.len() as i64 > PAGE_SIZE;
            let rows = &rows[..rows.len().min(PAGE_SIZE as usize)];
            let next = more.then(|| rows.last()).flatten().map(|v| {
                let cursor = encode_cursor(&K::id(&v.row).to_string());
                href::<K>(&filters, Some(&cursor))
            });
            (rows.iter().map(K::line).collect(), next, FormErrors::none())
        }
        Err(e) => (Vec::new(), None, e.into()),
    };
    let status = if filter_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let pairs = filters.pairs();
    let active = pairs.iter().any(|(_, v)| !v.trim().is_empty());
    let store_id = pairs.iter().filter(|(k, _)| *k == "store_id");
    let store_id: Vec<String> = store_id.map(|(_, v)| v.to_string()).collect();
    let list = ListParts {
        chrome: Chrome::new(&user, K::NAV),
        list_path: K::LIST,
        lines,
        filtering: active || !filter_errors.is_empty(),
        here: href::<K>(&filters, None),
        stores: stores::<K>(&state, &user, &store_id).await?,
        filters,
        filter_errors,
        count,
        next,
    };
    Ok(render_with(status, &K::list_page(list)))
}

/// The form page of a new or a saved item, with what was typed and why it was refused.
async fn form_page<K: PageKind>(
    state: &AppState,
    user: &ActiveMerchant,
    saved: Option<&View<K>>,
    draft: &K::Draft,
    errors: FormErrors,
    image_errors: FormErrors,
) -> Result<K::FormPage, PageError> {
    let id = saved.map(|v| K::id(&v.row));
    let parts = FormParts {
        chrome: Chrome::new(user, K::NAV),
        id: id.map(ToString::to_string).unwrap_or_default(),
        stores: stores::<K>(state, user, K::draft_stores(draft)).await?,
        prices: saved.map(|v| v.prices.clone()).unwrap_or_default(),
        errors,
        images: saved.zip(id).map(|(v, id)| {
            Images::new(
                format!("{}/images", item_href::<K>(id)),
                &v.images,
                image_errors,
            )
        }),
    };
    K::form_page(state, user, parts, saved, draft).await
}

async fn new<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    let (draft, none) = (K::blank(), FormErrors::none);
    let page = form_page::<K>(&state, &user, None, &draft, none(), none());
    Ok(render(&page.await?))
}

async fn create<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let draft = K::Draft::read(&FormFields::parse(&body));
    let created = state
        .app
        .create_item::<K>(&user.merchant.id, user.env, &draft);
    match created.await {
        Ok(v) => {
            let flash = Flash::success(K::created(&v));
            Ok(back_to(&state, &item_href::<K>(K::id(&v.row)), flash))
        }
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            let page = form_page::<K>(&state, &user, None, &draft, errors, FormErrors::none());
            Ok(render_with(status, &page.await?))
        }
    }
}

/// The edit page of a saved item, with the errors of the form or of its images.
async fn edit_page<K: PageKind>(
    state: &AppState,
    user: &ActiveMerchant,
    id: &K::Id,
    draft: Option<&K::Draft>,
    status: StatusCode,
    errors: FormErrors,
    image_errors: FormErrors,
) -> Result<Response, PageError> {
    let saved = state.app.item::<K>(&user.merchant.id, user.env, id).await?;
    let draft = draft.cloned().unwrap_or_else(|| K::edit_draft(&saved));
    let page = form_page::<K>(state, user, Some(&saved), &draft, errors, image_errors);
    Ok(render_with(status, &page.await?))
}

async fn edit<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: K::Id = path_id(&id, K::NAME)?;
    let none = FormErrors::none;
    edit_page::<K>(&state, &user, &id, None, StatusCode::OK, none(), none()).await
}

async fn update<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let id: K::Id = path_id(&id, K::NAME)?;
    let draft = K::Draft::read(&FormFields::parse(&body));
    let patch: PatchOf<K> = draft.clone().into();
    let updated = state
        .app
        .update_item::<K>(&user.merchant.id, user.env, &id, patch);
    match updated.await {
        Ok(_) => {
            let flash = Flash::success(format!("{} saved.", K::TITLE));
            Ok(back_to(&state, &item_href::<K>(&id), flash))
        }
        Err(e) => {
            let (status, none) = (StatusCode::UNPROCESSABLE_ENTITY, FormErrors::none());
            let errors = FormErrors::refusal(e)?.1;
            edit_page::<K>(&state, &user, &id, Some(&draft), status, errors, none).await
        }
    }
}

/// Switches an item on or off from its list, back to the same filtered page.
async fn toggle<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let id: K::Id = path_id(&id, K::NAME)?;
    let f = FormFields::parse(&body);
    let on = f.ticked("available");
    let back = safe_back(&f.get("back"), K::LIST);
    let switched = state
        .app
        .update_item::<K>(&user.merchant.id, user.env, &id, K::switch(on));
    match switched.await {
        Ok(v) => Ok(back_to(
            &state,
            &back,
            Flash::success(if on {
                format!("{} is live.", K::name(&v))
            } else {
                format!("{} is switched off.", K::name(&v))
            }),
        )),
        Err(AppError::LimitReached(m)) => Ok(back_to(&state, &back, Flash::error(m))),
        Err(AppError::Validation(e)) => Ok(back_to(
            &state,
            &item_href::<K>(&id),
            Flash::error(format!("Fix this {} before switching it on: {e}", K::NAME)),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn delete<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: K::Id = path_id(&id, K::NAME)?;
    let deleted = state.app.delete_item::<K>(&user.merchant.id, user.env, &id);
    deleted.await?;
    Ok(back_to(&state, K::LIST, Flash::success(K::DELETED)))
}

async fn upload<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let id: K::Id = path_id(&id, K::NAME)?;
    let (status, message) = match read_image(multipart).await {
        Err(refusal) => refusal,
        Ok((name, bytes)) => {
            let (m, env, storage) = (&user.merchant.id, user.env, &state.storage);
            let added = state
                .app
                .add_catalog_image::<K, _>(storage, m, env, &id, &name, bytes);
            match added.await {
                Ok(row) => {
                    let flash = Flash::success(format!("Uploaded {}.", row.name));
                    return Ok(back_to(&state, &item_href::<K>(&id), flash));
                }
                Err(AppError::Validation(e)) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e.for_field("file")
                        .unwrap_or("is not acceptable")
                        .to_string(),
                ),
                Err(AppError::LimitReached(m)) => (StatusCode::UNPROCESSABLE_ENTITY, m),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let errors = FormErrors {
        fields: vec![FieldError::new("file", message)],
        form: None,
    };
    edit_page::<K>(&state, &user, &id, None, status, FormErrors::none(), errors).await
}

async fn image<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: K::Id = path_id(&id, K::NAME)?;
    let image_id: UploadId = path_id(&image_id, "image")?;
    let (m, env) = (&user.merchant.id, user.env);
    Ok(image_answer::<K>(&state, m, env, &id, &image_id).await?)
}

async fn delete_image<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: K::Id = path_id(&id, K::NAME)?;
    let image_id: UploadId = path_id(&image_id, "image")?;
    let (m, env) = (&user.merchant.id, user.env);
    state
        .app
        .delete_catalog_image::<K, _>(&state.storage, m, env, &id, &image_id)
        .await?;
    let flash = Flash::success("Image deleted.");
    Ok(back_to(&state, &item_href::<K>(&id), flash))
}
