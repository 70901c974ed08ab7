//! API keys: creation under the per-env cap, authentication, revocation.

use punchcard_domain::accounts::{parse_label, MerchantStatus};
use punchcard_domain::limits::{default_rate_limit, Resource};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{ApiKeyId, Env, MerchantId, ValidationErrors};
use std::sync::Arc;

use punchcard_store::api_keys::{self, ApiKeyRow, KeyWithMerchant};
use punchcard_store::cache::Cache;
use punchcard_store::changes::Topic;
use punchcard_store::{commit, Db};

use crate::callbacks::{callback_target, check_callback_host};
use crate::limits::check_cap;
use crate::{secrets, App, AppError};

/// A freshly created key: the only time its secret exists in clear.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CreatedApiKey {
    pub id: ApiKeyId,
    pub secret: String,
    pub signing_secret: String,
}

/// The outcome of a create-key form that may be submitted twice (a reload re-posts it).
#[derive(Debug, Clone)]
pub enum KeyCreation {
    Created(CreatedApiKey),
    /// This form already created the key: its secret was shown then, and only then.
    AlreadyCreated(ApiKeyId),
    /// The same form is still being processed.
    InProgress,
}

/// Who an authenticated API request acts for.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub key_id: ApiKeyId,
    pub callback_url: Option<String>,
    pub signing_secret: String,
    /// API calls allowed per minute in this env: 100 in dev, the plan's rate in prod.
    pub rate_limit_per_minute: i64,
}

/// API keys as authentication reads them, with their merchant's status and plan.
pub(crate) type KeyCache = Cache<ApiKeyId, Arc<KeyWithMerchant>>;

/// A cache that forgets a merchant's keys when a key, the merchant's status or its plan
/// changes, on every server.
pub(crate) fn key_cache(db: &Db) -> KeyCache {
    Cache::new(db, |t| {
        matches!(
            t,
            Topic::ApiKeys(_) | Topic::MerchantStatus(_) | Topic::Plan(_)
        )
    })
}

impl App {
    pub async fn create_api_key(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        name: &str,
        callback_url: Option<&str>,
    ) -> Result<CreatedApiKey, AppError> {
        let mut errors = ValidationErrors::new();
        let name = errors.check(parse_label("name", name, 64));
        let allow_private = self.settings.allow_private_callbacks;
        let callback = match callback_url.map(str::trim).filter(|s| !s.is_empty()) {
            Some(url) => errors.check(callback_target(url, env, allow_private)),
            None => None,
        };
        if let Some(target) = &callback {
            errors.check(check_callback_host(target, allow_private).await);
        }
        errors.into_result()?;
        let secret = secrets::random_token("sk_");
        let signing_secret = secrets::random_token("whsec_");
        let row = ApiKeyRow {
            merchant_id: merchant_id.clone(),
            id: ApiKeyId::new(),
            env,
            name: name.expect("checked"),
            secret_hash: secrets::token_hash(&secret),
            signing_secret: signing_secret.clone(),
            callback_url: callback_url
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            created_at: Timestamp::now(),
            revoked_at: None,
        };
        let mut tx = self.db.begin_write().await?;
        check_cap(&mut tx, merchant_id, env, Resource::ApiKeys).await?;
        api_keys::insert(&mut tx, &row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, key_id = %row.id, env = %env, "API key created");
        Ok(CreatedApiKey {
            id: row.id,
            secret,
            signing_secret,
        })
    }

    /// Creates a key once per form submission: `form_id` (a random token rendered into the
    /// form) is claimed in the idempotency store, and a re-post answers with the key it
    /// created (never the secret, which is not kept). A refused attempt frees the form id so
    /// the corrected form can be sent again.
    pub async fn create_api_key_once(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        form_id: &str,
        name: &str,
        callback_url: Option<&str>,
    ) -> Result<KeyCreation, AppError> {
        use crate::idempotency::{parse_key, Fence, IdempotencyClaim, FENCE};
        let key = format!("dashboard:api-key:{}", parse_key(form_id)?);
        let fingerprint = secrets::token_hash(&key);
        let fence = Fence {
            merchant_id: merchant_id.clone(),
            env,
            key,
            holder: secrets::random_token("att_"),
        };
        match self.claim_idempotency_key(&fence, &fingerprint).await? {
            IdempotencyClaim::Claimed | IdempotencyClaim::TakenOver { applied: false } => {}
            IdempotencyClaim::TakenOver { applied: true } => {
                return Err(AppError::Conflict(
                    "this form was already submitted".to_string(),
                ))
            }
            IdempotencyClaim::Done { body, .. } => {
                return match body.parse() {
                    Ok(id) => Ok(KeyCreation::AlreadyCreated(id)),
                    Err(_) => Err(AppError::Conflict(
                        "this form was already submitted".to_string(),
                    )),
                }
            }
            IdempotencyClaim::InFlight { .. } => return Ok(KeyCreation::InProgress),
        }
        let created = FENCE
            .scope(
                fence.clone(),
                self.create_api_key(merchant_id, env, name, callback_url),
            )
            .await;
        match created {
            Ok(created) => {
                self.complete_idempotency_key(&fence, 201, created.id.as_str())
                    .await?;
                Ok(KeyCreation::Created(created))
            }
            Err(e) => {
                self.release_idempotency_key(&fence).await?;
                Err(e)
            }
        }
    }

    /// Checks a Basic-auth key id and secret. Unknown keys, wrong secrets and revoked keys are
    /// all `Unauthorized`; a frozen merchant is `AccountFrozen`.
    pub async fn authenticate_api_key(
        &self,
        key_id: &str,
        secret: &str,
    ) -> Result<ApiPrincipal, AppError> {
        let key_id: ApiKeyId = key_id.parse().map_err(|_| AppError::Unauthorized)?;
        let found = self
            .keys
            .get_or_load(&key_id, || async {
                let mut conn = self.db.conn().await?;
                let found = api_keys::find_for_auth(&mut conn, &key_id).await?;
                Ok::<_, AppError>(found.map(|f| (f.key.merchant_id.clone(), Arc::new(f))))
            })
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !secrets::hashes_equal(&secrets::token_hash(secret), &found.key.secret_hash) {
            return Err(AppError::Unauthorized);
        }
        if found.key.revoked_at.is_some() {
            return Err(AppError::Unauthorized);
        }
        match MerchantStatus::parse(&found.merchant_status) {
            Some(MerchantStatus::Active) => {}
            Some(MerchantStatus::Frozen) => {
                return Err(AppError::AccountFrozen(found.key.merchant_id.clone()))
            }
            _ => {
                return Err(AppError::Forbidden(
                    "the account is not active yet: complete KYC first".to_string(),
                ))
            }
        }
        let rate_limit_per_minute = match found.key.env {
            Env::Dev => default_rate_limit(Env::Dev),
            Env::Prod => found
                .plan_rate_limit
                .unwrap_or_else(|| default_rate_limit(Env::Prod)),
        };
        Ok(ApiPrincipal {
            rate_limit_per_minute,
            merchant_id: found.key.merchant_id.clone(),
            env: found.key.env,
            key_id: found.key.id.clone(),
            callback_url: found.key.callback_url.clone(),
            signing_secret: found.key.signing_secret.clone(),
        })
    }

    pub async fn list_api_keys(
        &self,
        merchant_id: &MerchantId,
        env: Env,
    ) -> Result<Vec<ApiKeyRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(api_keys::list(&mut conn, merchant_id, env).await?)
    }

    pub async fn api_key(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &ApiKeyId,
    ) -> Result<ApiKeyRow, AppError> {
        let mut conn = self.db.conn().await?;
        api_keys::find(&mut conn, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound("API key"))
    }

    pub async fn revoke_api_key(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &ApiKeyId,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        let key = api_keys::find(&mut tx, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound("API key"))?;
        if key.revoked_at.is_none() {
            api_keys::revoke(&mut tx, merchant_id, env, id, Timestamp::now()).await?;
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, key_id = %id, "API key revoked");
        Ok(())
    }
}
