//! Vaults in the dashboard: the environment's standalone vaults of vouchers with their stock,
//! and a form to add one. Their codes are added like a deal's, through the API's coupon-code
//! endpoints with `vault_id`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use punchcard_app::campaigns::vouchers::{VaultDraft, VaultView};

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, short_time};
use super::session::ActiveMerchant;
use crate::state::AppState;

const LIST: &str = "/dashboard/vaults";

pub fn routes() -> Router<AppState> {
    Router::new().route(LIST, get(list).post(add))
}

/// One vault as the list shows it.
pub struct VaultLine {
    pub id: String,
    pub name: String,
    pub vendor: String,
    /// The amount in the smallest unit, as typed (cents).
    pub amount: i64,
    pub test: bool,
    pub available: i64,
    pub issued: i64,
    pub generic: i64,
    pub created: String,
}

impl VaultLine {
    fn of(v: VaultView) -> Self {
        Self {
            id: v.vault.id.to_string(),
            name: v.vault.name,
            vendor: v.vault.vendor,
            amount: v.vault.amount,
            test: v.vault.test,
            available: v.stock.unique_available,
            issued: v.stock.unique_issued,
            generic: v.stock.generic,
            created: short_time(v.vault.created_at),
        }
    }
}

/// The add-a-vault form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct VaultForm {
    pub name: String,
    pub vendor: String,
    pub amount: String,
    /// Present when the box is ticked.
    pub test: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/vaults.html")]
struct ListPage {
    chrome: Chrome,
    vaults: Vec<VaultLine>,
    form: VaultForm,
    errors: FormErrors,
}

async fn list_page(
    state: &AppState,
    user: &ActiveMerchant,
    form: VaultForm,
    errors: FormErrors,
) -> Result<ListPage, PageError> {
    let vaults = state
        .app
        .list_vaults(&user.scope(), None, 500)
        .await?
        .into_iter()
        .map(VaultLine::of)
        .collect();
    Ok(ListPage {
        chrome: Chrome::new(user, Nav::Vaults),
        vaults,
        form,
        errors,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    Ok(render(
        &list_page(&state, &user, VaultForm::default(), FormErrors::none()).await?,
    ))
}

pub async fn add(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<VaultForm>,
) -> Result<Response, PageError> {
    let amount = form.amount.trim();
    let parsed = amount.parse::<i64>().ok();
    let draft = VaultDraft {
        name: form.name.clone(),
        vendor: form.vendor.clone(),
        amount: parsed,
        test: form.test.is_some(),
    };
    let result = state.app.create_vault(&user.scope(), &draft).await;
    let result = match (result, parsed, amount.is_empty()) {
        // Typed, but not a whole number: say so rather than "required".
        (Err(punchcard_app::AppError::Validation(mut e)), None, false) => {
            e.0.retain(|f| f.field != "amount");
            e.push(punchcard_domain::FieldError::new(
                "amount",
                "must be a whole number of cents",
            ));
            Err(punchcard_app::AppError::Validation(e))
        }
        (other, ..) => other,
    };
    match result {
        Ok(v) => Ok(back_to(
            &state,
            LIST,
            Flash::success(format!("Vault {} added.", v.vault.name)),
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
