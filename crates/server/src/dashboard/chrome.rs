//! What every dashboard page shares: the chrome (header, environment toggle, navigation,
//! flash message), field errors, rendering, redirects with a flash, and the error page.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use punchcard_app::AppError;
use punchcard_domain::{Env, FieldError, ValidationErrors};

use super::cookies::{self, CookieKey};
use super::session::SignedIn;

/// The navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Leads,
    Wallets,
    WalletTransactions,
    Deals,
    Offers,
    Stores,
    Partner,
    Messages,
    CouponCodes,
    Coupons,
    Rules,
    Tasks,
    TaskActivities,
    Surprises,
    SurpriseActivities,
    Vaults,
    VoucherCampaigns,
    Swaps,
    Currencies,
    Uploads,
    ApiKeys,
    Webhooks,
    AllowedIps,
    Notifications,
    LoginActivities,
    Password,
    Members,
    Profile,
    None,
}

/// One link of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
    /// Pages that need an active merchant are shown, but disabled, until KYC is approved.
    pub enabled: bool,
    pub badge: i64,
}

/// A one-shot message shown on the next page after a form post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `success`, `error` or `info` (also the CSS class).
    pub kind: &'static str,
    pub message: String,
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Self {
            kind: "success",
            message: message.into(),
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self {
            kind: "error",
            message: message.into(),
        }
    }

    pub fn info(message: impl Into<String>) -> Self {
        Self {
            kind: "info",
            message: message.into(),
        }
    }

    /// What an action the app refused because of where things stand (a conflict: already
    /// used, under review) shows on the page it returns to; any other error is a page error.
    pub fn refusal(e: AppError) -> Result<Self, PageError> {
        Self::refusal_with(e, str::to_string)
    }

    /// [`Flash::refusal`] with the conflict's message in the page's words.
    pub fn refusal_with(
        e: AppError,
        words: impl FnOnce(&str) -> String,
    ) -> Result<Self, PageError> {
        match e {
            AppError::Conflict(m) => Ok(Self::error(words(&m))),
            other => Err(PageError(other)),
        }
    }

    pub(crate) fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{}\n{}", self.kind, self.message))
    }

    pub(crate) fn decode(s: &str) -> Option<Self> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (kind, message) = text.split_once('\n')?;
        let kind = match kind {
            "success" => "success",
            "error" => "error",
            _ => "info",
        };
        Some(Self {
            kind,
            message: message.to_string(),
        })
    }
}

/// The frame of a signed-in page. Embed it as a field named `chrome` in the page's template
/// struct and extend `base.html`.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub merchant_name: String,
    pub email: String,
    pub env: Env,
    /// KYC approved: environment toggle and every page available.
    pub active: bool,
    pub status: &'static str,
    /// The anti-forgery token every POST form must carry as `_csrf`.
    pub csrf: String,
    pub nav: Nav,
    pub flash: Option<Flash>,
    pub unread: i64,
    /// The page's path, where the environment toggle comes back to.
    pub path: String,
}

impl Chrome {
    pub fn new(user: &SignedIn, nav: Nav) -> Self {
        Self {
            merchant_name: user.merchant.name.clone(),
            email: user.member.email.as_str().to_string(),
            env: user.env,
            active: user.merchant.status == punchcard_domain::accounts::MerchantStatus::Active,
            status: user.merchant.status.as_str(),
            csrf: user.csrf.clone(),
            nav,
            flash: user.flash.clone(),
            unread: user.unread,
            path: user.path.clone(),
        }
    }

    pub fn is_dev(&self) -> bool {
        self.env == Env::Dev
    }

    /// The account status in words, for the header badge before activation.
    pub fn status_label(&self) -> &'static str {
        match self.status {
            "pending_kyc" => "KYC pending",
            "kyc_submitted" => "KYC in review",
            "rejected" => "KYC rejected",
            "frozen" => "Frozen",
            _ => "Active",
        }
    }

    pub fn env_label(&self) -> &'static str {
        match self.env {
            Env::Dev => "DEV",
            Env::Prod => "PROD",
        }
    }

    pub fn nav_items(&self) -> Vec<NavItem> {
        let all = [
            (Nav::Overview, "Overview", "/dashboard", true),
            (Nav::Leads, "Leads", "/dashboard/leads", true),
            (Nav::Wallets, "Wallets", "/dashboard/wallets", true),
            (
                Nav::WalletTransactions,
                "Wallet transactions",
                "/dashboard/wallet-transactions",
                true,
            ),
            (Nav::Deals, "Deals", "/dashboard/deals", true),
            (Nav::Offers, "Offers", "/dashboard/offers", true),
            (Nav::Stores, "Stores", "/dashboard/stores", true),
            (Nav::Partner, "Partner app", "/dashboard/partner", true),
            (Nav::Messages, "Messages", "/dashboard/messages", true),
            (
                Nav::CouponCodes,
                "Coupon codes",
                "/dashboard/coupon-codes",
                true,
            ),
            (Nav::Coupons, "Coupons", "/dashboard/coupons", true),
            (Nav::Rules, "Rules", "/dashboard/rules", true),
            (Nav::Tasks, "Tasks", "/dashboard/tasks", true),
            (
                Nav::TaskActivities,
                "Task activities",
                "/dashboard/task-activities",
                true,
            ),
            (Nav::Surprises, "Surprises", "/dashboard/surprises", true),
            (
                Nav::SurpriseActivities,
                "Surprise activities",
                "/dashboard/surprise-activities",
                true,
            ),
            (
                Nav::VoucherCampaigns,
                "Voucher campaigns",
                "/dashboard/voucher-campaigns",
                true,
            ),
            (Nav::Vaults, "Vaults", "/dashboard/vaults", true),
            (Nav::Swaps, "Swaps", "/dashboard/swaps", true),
            (Nav::Currencies, "Currencies", "/dashboard/currencies", true),
            (Nav::Uploads, "Uploads", "/dashboard/uploads", true),
            (Nav::ApiKeys, "API keys", "/dashboard/api-keys", true),
            (Nav::Webhooks, "Webhooks", "/dashboard/webhooks", true),
            (
                Nav::AllowedIps,
                "Allowed IPs",
                "/dashboard/allowed-ips",
                true,
            ),
            (
                Nav::Notifications,
                "Notifications",
                "/dashboard/notifications",
                false,
            ),
            (
                Nav::LoginActivities,
                "Login activities",
                "/dashboard/login-activities",
                false,
            ),
            (Nav::Password, "Password", "/dashboard/password", false),
            (Nav::Members, "Members", "/dashboard/members", true),
            (Nav::Profile, "Profile & KYC", "/dashboard/profile", false),
        ];
        all.into_iter()
            .map(|(nav, label, href, needs_active)| NavItem {
                label,
                href,
                current: nav == self.nav,
                enabled: self.active || !needs_active,
                badge: if nav == Nav::Notifications {
                    self.unread
                } else {
                    0
                },
            })
            .collect()
    }
}

/// Field errors of a form, shown next to each field.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub fields: Vec<FieldError>,
    /// An error about the whole form (shown above it).
    pub form: Option<String>,
}

impl FormErrors {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn form(message: impl Into<String>) -> Self {
        Self {
            fields: Vec::new(),
            form: Some(message.into()),
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    /// What a form shows when its use case refused it, and the status to answer: the fields'
    /// errors, or a message about the whole form (a cap). Any other error is a page error.
    pub fn refusal(e: AppError) -> Result<(StatusCode, Self), PageError> {
        Self::refusal_with(e, |e| match e {
            AppError::LimitReached(m) => Some(Self::form(m.clone())),
            _ => None,
        })
    }

    /// A refusal in the page's own words: invalid fields are always the fields' errors;
    /// `words` says what the form shows for the other refusals it expects. A message about
    /// the whole form answers the status the API gives that error; an error pinned on a field
    /// answers 422 like any invalid field. An error without words is a page error.
    pub fn refusal_with(
        e: AppError,
        words: impl FnOnce(&AppError) -> Option<Self>,
    ) -> Result<(StatusCode, Self), PageError> {
        if let AppError::Validation(e) = e {
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, e.into()));
        }
        match words(&e) {
            Some(shown) if shown.form.is_some() => {
                let status = crate::problem::Problem::from(&e).status;
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                Ok((status, shown))
            }
            Some(shown) => Ok((StatusCode::UNPROCESSABLE_ENTITY, shown)),
            None => Err(PageError(e)),
        }
    }

    /// Invalid fields only: any other refusal is a page error.
    pub fn invalid_fields(e: AppError) -> Result<(StatusCode, Self), PageError> {
        Self::refusal_with(e, |_| None)
    }

    /// The same errors with one field's shown on another (a form field that feeds a use
    /// case's field under another name).
    pub fn moved(mut self, from: &str, to: &str) -> Self {
        for f in &mut self.fields {
            if f.field == from {
                f.field = to.to_string();
            }
        }
        self
    }

    /// One field's error.
    pub fn field(field: &str, message: &str) -> Self {
        Self {
            fields: vec![FieldError::new(field, message)],
            form: None,
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// The field's error as a sentence naming the field ("Customer id must be …").
    pub fn sentence(&self, field: &str) -> Option<String> {
        self.get(field).map(|m| sentence(label(field), m))
    }

    /// The error about the whole form.
    pub fn whole(&self) -> Option<&str> {
        self.form.as_deref()
    }
}

/// How a form field is named in messages.
fn label(field: &str) -> &str {
    match field {
        "customer_id" => "Customer id",
        "name" => "Name",
        "email" => "Email",
        "mobile" => "Mobile",
        "country" => "Country",
        "dob" => "Date of birth",
        "lead_id" => "Lead",
        "currency_id" => "Currency",
        "wallet_id" => "Wallet",
        "kind" => "Kind",
        "amount" => "Amount",
        "hash" => "Hash",
        "description" => "Description",
        other => other,
    }
}

/// "Email" + "must be …" reads "Email must be …"; a message that is a sentence of its own
/// ("email or mobile is required", "no such currency") is shown as one.
fn sentence(label: &str, message: &str) -> String {
    let continues = ["is ", "must ", "would ", "was ", "has ", "cannot "]
        .iter()
        .any(|w| message.starts_with(w));
    if continues {
        format!("{label} {message}")
    } else {
        let mut chars = message.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => label.to_string(),
        }
    }
}

impl From<ValidationErrors> for FormErrors {
    fn from(e: ValidationErrors) -> Self {
        Self {
            fields: e.0,
            form: None,
        }
    }
}

/// Renders a template as an HTML answer with the given status.
pub fn render_with(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => {
            let mut res = (status, html).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Renders a template as a 200 HTML answer.
pub fn render(t: &impl Template) -> Response {
    render_with(StatusCode::OK, t)
}

/// A 303 redirect that shows `flash` on the next page.
pub fn redirect_with_flash(key: &CookieKey, secure: bool, to: &str, flash: Flash) -> Response {
    let mut res = Redirect::to(to).into_response();
    let value = key.sign(cookies::FLASH, &flash.encode());
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::FLASH,
            &value,
            cookies::Attrs {
                path: "/",
                max_age: Some(120),
                secure,
            },
        ),
    );
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// The plain error page (no chrome: it must render whatever went wrong).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    render_with(status, &ErrorPage { title, message })
}

/// A dashboard handler's error: an application error mapped once to a page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self.0 {
            AppError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An internal error occurred; it has been logged. Try again in a moment.",
                )
            }
            AppError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The service is temporarily unavailable; try again shortly.",
                )
            }
            AppError::Unauthorized => Redirect::to("/dashboard/login").into_response(),
            AppError::AccountFrozen(id) => {
                Redirect::to(&super::auth::frozen_path(id)).into_response()
            }
            AppError::NotFound(what) => error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("This {what} does not exist."),
            ),
            AppError::Forbidden(m) => error_page(StatusCode::FORBIDDEN, "Not allowed", m),
            AppError::Validation(e) => error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid input",
                &e.to_string(),
            ),
            AppError::LimitReached(m) => {
                error_page(StatusCode::UNPROCESSABLE_ENTITY, "Limit reached", m)
            }
            AppError::Conflict(m) => error_page(StatusCode::CONFLICT, "Conflict", m),
            AppError::TooManyRequests(m, _) => {
                error_page(StatusCode::TOO_MANY_REQUESTS, "Too many requests", m)
            }
            other => {
                let problem = crate::problem::Problem::from(other);
                let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::CONFLICT);
                error_page(status, "Not possible", &problem.detail)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_round_trips() {
        let f = Flash::success("Saved; all good.\nreally");
        assert_eq!(Flash::decode(&f.encode()), Some(f));
        assert_eq!(Flash::decode("!!"), None);
        assert_eq!(
            Flash::decode(
                &Flash {
                    kind: "info",
                    message: "x".into()
                }
                .encode()
            )
            .unwrap()
            .kind,
            "info"
        );
    }

    #[test]
    fn form_errors_by_field() {
        let mut v = ValidationErrors::new();
        v.push(FieldError::new("email", "is required"));
        let e = FormErrors::from(v);
        assert_eq!(e.get("email"), Some("is required"));
        assert_eq!(e.get("password"), None);
        assert!(!e.is_empty());
        assert!(FormErrors::none().is_empty());
    }

    #[test]
    fn refusals_show_fields_or_a_message_with_their_status() {
        let invalid = AppError::field("lead_id", "is required");
        let (status, e) = FormErrors::refusal(invalid).unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.get("lead_id"), Some("is required"));

        let (status, e) = FormErrors::refusal(AppError::LimitReached("10 of 10".into())).unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.whole(), Some("10 of 10"));
        assert!(FormErrors::refusal(AppError::Conflict("taken".into())).is_err());

        // A message about the whole form answers the API's status for the error ...
        let words = |e: &AppError| match e {
            AppError::Conflict(m) => Some(FormErrors::form(format!("No: {m}"))),
            AppError::NotFound(_) => Some(FormErrors::field("wallet_id", "is not one")),
            _ => None,
        };
        let (status, e) =
            FormErrors::refusal_with(AppError::Conflict("taken".into()), words).unwrap();
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(e.whole(), Some("No: taken"));
        // ... an error pinned on a field answers 422, and an error without words is a page's.
        let (status, e) = FormErrors::refusal_with(AppError::NotFound("wallet"), words).unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.get("wallet_id"), Some("is not one"));
        assert!(FormErrors::refusal_with(AppError::Forbidden("no".into()), words).is_err());

        let (_, e) = FormErrors::invalid_fields(AppError::field("lead_id", "is unknown")).unwrap();
        assert_eq!(e.moved("lead_id", "lead").get("lead"), Some("is unknown"));
        assert!(FormErrors::invalid_fields(AppError::LimitReached("x".into())).is_err());
    }

    #[test]
    fn conflicts_come_back_as_an_error_flash() {
        let f = Flash::refusal_with(AppError::Conflict("already used".into()), |m| {
            format!("Not changed: {m}.")
        })
        .unwrap();
        assert_eq!(f, Flash::error("Not changed: already used."));
        assert_eq!(
            Flash::refusal(AppError::Conflict("under review".into())).unwrap(),
            Flash::error("under review")
        );
        assert!(Flash::refusal(AppError::NotFound("coupon")).is_err());
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("Customer id", "must be between 4 and 64 characters"),
            "Customer id must be between 4 and 64 characters"
        );
        assert_eq!(
            sentence("Email", "email or mobile is required"),
            "Email or mobile is required"
        );
        assert_eq!(sentence("Currency", "no such currency"), "No such currency");
    }
}
