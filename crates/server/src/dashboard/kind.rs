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
use punchcard_app::catalog::CatalogCounts;
use punchcard_app::catalog_kind::{Cap, CatalogKind, ItemId, PatchOf};
use punchcard_app::AppError;
use serde::de::DeserializeOwned;

use super::catalog::{upload_image, ImageOutcome, Images};
use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, list_href, safe_back, FormFields};
use super::session::ActiveMerchant;
use crate::api::catalog::IMAGE_BODY_LIMIT;
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
    /// The filter form as typed, to fill it again.
    type Filters: DeserializeOwned + Default + Send + Sync;
    /// One line of the list's table.
    type Line: Send;
    type ListPage: Template + Send;
    type FormPage: Template + Send;

    /// The filters by name (the cursor aside), as the list's address carries them.
    fn filter_pairs(f: &Self::Filters) -> Vec<(&'static str, &str)>;
    fn cursor(f: &Self::Filters) -> &str;
    fn query(f: &Self::Filters) -> Self::Query;
    fn line(v: &Self::View) -> Self::Line;
    /// The draft of a new item's empty form.
    fn blank() -> Self::Draft {
        Self::Draft::default()
    }
    fn draft_of(f: &FormFields) -> Self::Draft;
    /// The flash after creation.
    fn created(v: &Self::View) -> String {
        if Self::available(Self::row_of(v)) {
            format!("{} created; it is live now.", Self::TITLE)
        } else {
            format!("{} created. Switch it on when it is ready.", Self::TITLE)
        }
    }
    /// Its name, in flashes.
    fn name(v: &Self::View) -> &str;
    /// The list page from its shared parts, with what the kind adds.
    fn list_page(
        state: &AppState,
        user: &ActiveMerchant,
        list: ListParts<Self>,
    ) -> impl Future<Output = Result<Self::ListPage, PageError>> + Send;
    /// The form page (new or edit) from its shared parts, with what the kind adds.
    fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        saved: Option<&Self::View>,
        draft: &Self::Draft,
    ) -> impl Future<Output = Result<Self::FormPage, PageError>> + Send;
}

/// What every list page shows.
pub struct ListParts<K: PageKind> {
    pub chrome: Chrome,
    /// The list's address, under which its items' pages live.
    pub list_path: &'static str,
    pub lines: Vec<K::Line>,
    pub filters: K::Filters,
    pub filtering: bool,
    pub filter_errors: FormErrors,
    pub counts: CatalogCounts,
    /// This page's address, where toggles come back to.
    pub here: String,
    pub next: Option<String>,
}

/// What every form page shows.
pub struct FormParts {
    pub chrome: Chrome,
    /// Empty for a new item.
    pub id: String,
    pub errors: FormErrors,
    /// The image section, once the item is saved.
    pub images: Option<Images>,
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

fn href<K: PageKind>(f: &K::Filters, cursor: Option<&str>) -> String {
    list_href(K::LIST, &K::filter_pairs(f), cursor)
}

fn item_href<K: PageKind>(id: &K::Id) -> String {
    format!("{}/{id}", K::LIST)
}

async fn list<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(filters): Query<K::Filters>,
) -> Result<Response, PageError> {
    let counts = state
        .app
        .catalog_counts(&user.merchant.id, user.env)
        .await?;
    let (lines, next, filter_errors) = match K::filter(&K::query(&filters)) {
        Ok(filter) => {
            let after = decode_cursor(K::cursor(&filters));
            let rows = state
                .app
                .list_items::<K>(
                    &user.merchant.id,
                    user.env,
                    &filter,
                    after.as_deref(),
                    PAGE_SIZE + 1,
                )
                .await?;
            let more = rows.len() as i64 > PAGE_SIZE;
            let rows = &rows[..rows.len().min(PAGE_SIZE as usize)];
            let next = more.then(|| rows.last()).flatten().map(|v| {
                let cursor = encode_cursor(K::id(K::row_of(v)).as_str());
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
    let active = K::filter_pairs(&filters)
        .iter()
        .any(|(_, v)| !v.trim().is_empty());
    let list = ListParts {
        chrome: Chrome::new(&user, K::NAV),
        list_path: K::LIST,
        lines,
        filtering: active || !filter_errors.is_empty(),
        here: href::<K>(&filters, None),
        filters,
        filter_errors,
        counts,
        next,
    };
    Ok(render_with(
        status,
        &K::list_page(&state, &user, list).await?,
    ))
}

/// The form page of a new or a saved item, with what was typed and why it was refused.
async fn form_page<K: PageKind>(
    state: &AppState,
    user: &ActiveMerchant,
    saved: Option<&K::View>,
    draft: &K::Draft,
    errors: FormErrors,
    image_errors: FormErrors,
) -> Result<K::FormPage, PageError> {
    let id = saved.map(|v| K::id(K::row_of(v)));
    let parts = FormParts {
        chrome: Chrome::new(user, K::NAV),
        id: id.map(ToString::to_string).unwrap_or_default(),
        errors,
        images: saved.zip(id).map(|(v, id)| {
            Images::new(
                format!("{}/images", item_href::<K>(id)),
                K::images_of(v),
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
    let draft = K::draft_of(&FormFields::parse(&body));
    match state
        .app
        .create_item::<K>(&user.merchant.id, user.env, &draft)
        .await
    {
        Ok(v) => Ok(back_to(
            &state,
            &item_href::<K>(K::id(K::row_of(&v))),
            Flash::success(K::created(&v)),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            let page = form_page::<K>(&state, &user, None, &draft, errors, FormErrors::none());
            Ok(render_with(status, &page.await?))
        }
    }
}

fn item_id<K: PageKind>(id: &str) -> Result<K::Id, PageError> {
    id.parse()
        .map_err(|_| PageError(AppError::NotFound(K::NAME)))
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
    let id = item_id::<K>(&id)?;
    let none = FormErrors::none;
    edit_page::<K>(&state, &user, &id, None, StatusCode::OK, none(), none()).await
}

async fn update<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let id = item_id::<K>(&id)?;
    let draft = K::draft_of(&FormFields::parse(&body));
    let patch: PatchOf<K> = draft.clone().into();
    match state
        .app
        .update_item::<K>(&user.merchant.id, user.env, &id, patch)
        .await
    {
        Ok(_) => Ok(back_to(
            &state,
            &item_href::<K>(&id),
            Flash::success(format!("{} saved.", K::TITLE)),
        )),
        Err(e) => {
            let errors = FormErrors::refusal(e)?.1;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            edit_page::<K>(
                &state,
                &user,
                &id,
                Some(&draft),
                status,
                errors,
                FormErrors::none(),
            )
            .await
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
    let id = item_id::<K>(&id)?;
    let f = FormFields::parse(&body);
    let on = f.ticked("available");
    let back = safe_back(&f.get("back"), K::LIST);
    match state
        .app
        .update_item::<K>(&user.merchant.id, user.env, &id, K::switch(on))
        .await
    {
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
    let id = item_id::<K>(&id)?;
    state
        .app
        .delete_item::<K>(&user.merchant.id, user.env, &id)
        .await?;
    Ok(back_to(&state, K::LIST, Flash::success(K::DELETED)))
}

async fn upload<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let id = item_id::<K>(&id)?;
    match upload_image(&state, &user, &K::parent(id.clone()), multipart).await? {
        ImageOutcome::Stored(name) => Ok(back_to(
            &state,
            &item_href::<K>(&id),
            Flash::success(format!("Uploaded {name}.")),
        )),
        ImageOutcome::Refused(status, errors) => {
            edit_page::<K>(&state, &user, &id, None, status, FormErrors::none(), errors).await
        }
    }
}

async fn image<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let item = K::parent(item_id::<K>(&id)?);
    super::catalog::serve_image(&state, &user, &item, &image_id).await
}

async fn delete_image<K: PageKind>(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = item_id::<K>(&id)?;
    super::catalog::delete_image(&state, &user, &K::parent(id.clone()), &image_id).await?;
    Ok(back_to(
        &state,
        &item_href::<K>(&id),
        Flash::success("Image deleted."),
    ))
}
