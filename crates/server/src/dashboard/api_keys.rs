//! API keys of the current environment: list, create (the secret is shown once), show the
//! signing secret, revoke.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::api_keys::KeyCreation;
use punchcard_domain::limits::api_key_cap;
use punchcard_domain::ApiKeyId;
use punchcard_store::api_keys::ApiKeyRow;

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, path_id, short_time};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api-keys", get(list).post(create))
        .route("/dashboard/api-keys/{id}", get(show))
        .route("/dashboard/api-keys/{id}/revoke", post(revoke))
}

pub struct KeyLine {
    pub id: String,
    pub name: String,
    pub callback_url: String,
    pub created: String,
    pub revoked: bool,
}

impl KeyLine {
    fn of(k: &ApiKeyRow) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name.clone(),
            callback_url: k.callback_url.clone().unwrap_or_default(),
            created: short_time(k.created_at),
            revoked: k.revoked_at.is_some(),
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewKeyForm {
    pub name: String,
    pub callback_url: String,
    /// A random token per rendered form, so a re-post (reload) cannot create a second key.
    pub form_id: String,
}

#[derive(Template)]
#[template(path = "dashboard/api_keys.html")]
struct ListPage {
    chrome: Chrome,
    keys: Vec<KeyLine>,
    live: i64,
    cap: i64,
    form: NewKeyForm,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "dashboard/api_keys_created.html")]
struct CreatedPage {
    chrome: Chrome,
    id: String,
    name: String,
    secret: String,
    signing_secret: String,
}

#[derive(Template)]
#[template(path = "dashboard/api_keys_show.html")]
struct ShowPage {
    chrome: Chrome,
    key: KeyLine,
    signing_secret: String,
}

async fn list_page(
    state: &AppState,
    user: &ActiveMerchant,
    form: NewKeyForm,
    errors: FormErrors,
) -> Result<ListPage, PageError> {
    let rows = state.app.list_api_keys(&user.merchant.id, user.env).await?;
    let live = rows.iter().filter(|k| k.revoked_at.is_none()).count() as i64;
    // Live keys first, newest first.
    let mut keys: Vec<&ApiKeyRow> = rows.iter().collect();
    keys.sort_by(|a, b| {
        a.revoked_at
            .is_some()
            .cmp(&b.revoked_at.is_some())
            .then(b.id.cmp(&a.id))
    });
    let mut form = form;
    if form.form_id.is_empty() {
        form.form_id = ulid::Ulid::new().to_string();
    }
    Ok(ListPage {
        chrome: Chrome::new(user, Nav::ApiKeys),
        keys: keys.into_iter().map(KeyLine::of).collect(),
        live,
        cap: api_key_cap(user.env),
        form,
        errors,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    Ok(render(
        &list_page(&state, &user, NewKeyForm::default(), FormErrors::none()).await?,
    ))
}

/// Creates a key and shows its secret on this answer only (never stored in clear, never
/// shown again); the page is not cached.
pub async fn create(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<NewKeyForm>,
) -> Result<Response, PageError> {
    let callback = Some(form.callback_url.as_str()).filter(|s| !s.trim().is_empty());
    let form_id = if form.form_id.is_empty() {
        ulid::Ulid::new().to_string()
    } else {
        form.form_id.clone()
    };
    match state
        .app
        .create_api_key_once(&user.merchant.id, user.env, &form_id, &form.name, callback)
        .await
    {
        Ok(KeyCreation::Created(created)) => Ok(render(&CreatedPage {
            chrome: Chrome::new(&user, Nav::ApiKeys),
            id: created.id.to_string(),
            name: form.name.trim().to_string(),
            secret: created.secret,
            signing_secret: created.signing_secret,
        })),
        Ok(KeyCreation::AlreadyCreated(id)) => Ok(back_to(&state, &format!("/dashboard/api-keys/{id}"),
            Flash::info(
                "This form already created the key below; its secret was shown once and cannot be shown again.",
            ),
        )),
        Ok(KeyCreation::InProgress) => Ok(back_to(&state, "/dashboard/api-keys",
            Flash::info("The key is being created; it appears in the list in a moment."),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            Ok(render_with(
                status,
                &list_page(&state, &user, form, errors).await?,
            ))
        }
    }
}

/// One key with its signing secret (which verifies callbacks; the API secret is never shown).
pub async fn show(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: ApiKeyId = path_id(&id, "API key")?;
    let key = state.app.api_key(&user.merchant.id, user.env, &id).await?;
    Ok(render(&ShowPage {
        chrome: Chrome::new(&user, Nav::ApiKeys),
        key: KeyLine::of(&key),
        signing_secret: key.signing_secret,
    }))
}

pub async fn revoke(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: ApiKeyId = path_id(&id, "API key")?;
    state
        .app
        .revoke_api_key(&user.merchant.id, user.env, &id)
        .await?;
    Ok(back_to(
        &state,
        "/dashboard/api-keys",
        Flash::success(format!(
            "API key {id} revoked; requests with it are now refused."
        )),
    ))
}
