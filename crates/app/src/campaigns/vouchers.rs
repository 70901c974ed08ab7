//! Voucher campaigns: standalone vaults of vouchers (their codes are coupon codes), campaigns
//! that draw from linked vaults, the integrations that call them, and the award: one voucher
//! matching the request's vendor and amount, handed to a redeemer once per `hash`.

use crate::webhooks::{Event, EventObject, EventType};
use punchcard_domain::accounts::MerchantStatus;
use punchcard_domain::campaigns::{CampaignKind, CampaignStatus};
use punchcard_domain::catalog::{parse_moment, parse_name, Schedule};
use punchcard_domain::ledger::parse_hash;
use punchcard_domain::limits::default_rate_limit;
use punchcard_domain::time::Timestamp;
use punchcard_domain::vouchers::{
    parse_amount, parse_vendor, IntegrationStatus, RawRedeemer, Redeemer,
};
use punchcard_domain::{
    CampaignId, Env, FieldError, IntegrationId, MerchantId, ValidationErrors, VaultId,
};
use punchcard_store::campaigns::{self, CampaignRow, InteractionRow, Outcome};
use punchcard_store::coupons::{self, CodeRow, Stock};
use punchcard_store::vaults::{self, VaultFilter, VaultRow};
use punchcard_store::vouchers::{self, IntegrationRow};
use punchcard_store::{catalog, commit, Conn};

use super::{
    guard, links_of, not_live_kind, positive, same_request, status_of, CampaignView, Finished,
};
use crate::input::{field_id, named};
use crate::ledger::{fingerprint, Scope};
use crate::{secrets, App, AppError};

/// The most vouchers one redeemer may get from a campaign, when it limits them.
const MAX_PER_REDEEMER: i64 = 1_000_000;

/// The most vaults one campaign draws from.
const MAX_VAULTS: usize = 100;

// ----- vaults -----

/// A vault as the merchant writes it; every field is checked by [`App::create_vault`].
#[derive(Debug, Clone, Default)]
pub struct VaultDraft {
    pub name: String,
    pub vendor: String,
    /// In the smallest unit of money.
    pub amount: Option<i64>,
    pub test: bool,
}

/// A vault with its stock.
#[derive(Debug, Clone)]
pub struct VaultView {
    pub vault: VaultRow,
    pub stock: Stock,
}

// ----- voucher campaigns -----

/// A voucher campaign with its status and the vaults it draws from.
#[derive(Debug, Clone)]
pub struct VoucherCampaignView {
    pub view: CampaignView,
    pub vault_ids: Vec<VaultId>,
}

/// A voucher campaign as the merchant writes it.
#[derive(Debug, Clone, Default)]
pub struct VoucherCampaignDraft {
    pub name: String,
    pub vault_ids: Vec<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub max_per_redeemer: Option<i64>,
    pub paused: bool,
}

/// Changes to a voucher campaign: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct VoucherCampaignPatch {
    pub name: Option<String>,
    pub vault_ids: Option<Vec<String>>,
    pub starts_at: Option<Option<String>>,
    pub ends_at: Option<Option<String>>,
    pub max_per_redeemer: Option<Option<i64>>,
    pub paused: Option<bool>,
}

struct CheckedVoucherCampaign {
    name: String,
    vaults: Vec<VaultId>,
    schedule: Schedule,
    max_per_redeemer: Option<i64>,
}

// ----- integrations -----

/// A new integration: the only time its secret exists in clear.
#[derive(Debug, Clone)]
pub struct CreatedIntegration {
    pub integration: IntegrationRow,
    pub secret: String,
}

/// Who an award request acts for: an integration of one campaign, in one merchant's env.
#[derive(Debug, Clone)]
pub struct IntegrationPrincipal {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub integration_id: IntegrationId,
    pub campaign_id: CampaignId,
    /// API calls allowed per minute in this env, shared with the merchant's API keys.
    pub rate_limit_per_minute: i64,
}

// ----- awards -----

/// An award request as the integration sends it.
#[derive(Debug, Clone, Default)]
pub struct AwardRequest {
    pub redeemer: RawRedeemer,
    pub vendor: Option<String>,
    pub amount: Option<i64>,
    pub hash: String,
}

/// The voucher an award handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub code: String,
    pub vendor: String,
    pub amount: i64,
    pub test: bool,
}

/// What an award did: its interaction and the voucher.
#[derive(Debug, Clone)]
pub struct Awarded {
    pub interaction: InteractionRow,
    pub voucher: Voucher,
    /// An earlier award with the same hash: this is its answer.
    pub replayed: bool,
}

/// A checked award request.
struct CheckedAward {
    redeemer: Redeemer,
    vendor: Option<String>,
    amount: Option<i64>,
    hash: String,
    fingerprint: String,
}

/// Text of a field as sent, kept on a refused request's interaction for search: trimmed and
/// at most 254 characters.
fn as_sent(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(254).collect())
}

fn vault_view(vault: VaultRow, stocks: &[(VaultId, Stock)]) -> VaultView {
    let stock = stocks
        .iter()
        .find(|(id, _)| *id == vault.id)
        .map(|(_, s)| *s)
        .unwrap_or_default();
    VaultView { vault, stock }
}

impl App {
    // ----- vaults -----

    /// Creates an empty vault; codes are added through the coupon-code functions with its id.
    pub async fn create_vault(
        &self,
        scope: &Scope,
        draft: &VaultDraft,
    ) -> Result<VaultView, AppError> {
        let mut errors = ValidationErrors::new();
        let name = errors.check(parse_name(&draft.name, 100));
        let vendor = errors.check(parse_vendor("vendor", &draft.vendor));
        let amount = match draft.amount {
            Some(a) => errors.check(parse_amount("amount", a)),
            None => {
                errors.push(FieldError::new(
                    "amount",
                    "is required: the voucher's value in the smallest unit of money",
                ));
                None
            }
        };
        errors.into_result()?;
        let now = Timestamp::now();
        let row = VaultRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: VaultId::new(),
            name: name.expect("checked"),
            vendor: vendor.expect("checked"),
            amount: amount.expect("checked"),
            test: draft.test,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let mut tx = self.db.begin_write().await?;
        catalog::insert(&mut tx, &row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, vault_id = %row.id, "vault created");
        Ok(VaultView {
            vault: row,
            stock: Stock::default(),
        })
    }

    pub async fn vault(&self, scope: &Scope, id: &str) -> Result<VaultView, AppError> {
        let id: VaultId = named(id, "vault")?;
        let mut conn = self.db.conn().await?;
        let vault = catalog::find::<VaultRow>(&mut conn, &scope.merchant_id, scope.env, &id)
            .await?
            .ok_or(AppError::NotFound("vault"))?;
        let stocks = vaults::stock_of(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            std::slice::from_ref(&id),
        )
        .await?;
        Ok(vault_view(vault, &stocks))
    }

    /// One page of vaults in creation order, with their stock.
    pub async fn list_vaults(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<VaultView>, AppError> {
        let mut conn = self.db.conn().await?;
        let rows = catalog::list::<VaultRow>(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            &VaultFilter,
            after,
            limit,
        )
        .await?;
        let ids: Vec<VaultId> = rows.iter().map(|v| v.id.clone()).collect();
        let stocks = vaults::stock_of(&mut conn, &scope.merchant_id, scope.env, &ids).await?;
        Ok(rows.into_iter().map(|v| vault_view(v, &stocks)).collect())
    }

    // ----- voucher campaigns -----

    async fn check_voucher_campaign(
        &self,
        scope: &Scope,
        d: &VoucherCampaignDraft,
    ) -> Result<CheckedVoucherCampaign, AppError> {
        let mut errors = ValidationErrors::new();
        let name = errors.check(parse_name(&d.name, 100));
        let max_per_redeemer = errors
            .check(positive(
                "max_per_redeemer",
                d.max_per_redeemer,
                MAX_PER_REDEEMER,
            ))
            .flatten();
        let starts_at = errors.check(parse_moment(
            "starts_at",
            d.starts_at.as_deref().unwrap_or(""),
        ));
        let ends_at = errors.check(parse_moment("ends_at", d.ends_at.as_deref().unwrap_or("")));
        let schedule = match (starts_at, ends_at) {
            (Some(s), Some(e)) => errors.check(Schedule::new(s, e)),
            _ => None,
        };
        if d.vault_ids.len() > MAX_VAULTS {
            errors.push(FieldError::new(
                "vault_ids",
                format!("link at most {MAX_VAULTS} vaults"),
            ));
        }
        let mut vaults: Vec<VaultId> = Vec::new();
        let mut conn = self.db.conn().await?;
        for raw in d.vault_ids.iter().take(MAX_VAULTS) {
            let found = match field_id::<VaultId>("vault_ids", raw) {
                Ok(v) => catalog::find::<VaultRow>(&mut conn, &scope.merchant_id, scope.env, &v)
                    .await?
                    .map(|row| row.id),
                Err(_) => None,
            };
            match found {
                Some(v) if !vaults.contains(&v) => vaults.push(v),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    "vault_ids",
                    format!("no such vault in {}: {}", scope.env, raw.trim()),
                )),
            }
        }
        errors.into_result()?;
        Ok(CheckedVoucherCampaign {
            name: name.expect("checked"),
            vaults,
            schedule: schedule.expect("checked"),
            max_per_redeemer,
        })
    }

    /// Creates a voucher campaign, switched on unless `paused` (then counted against the
    /// active-campaign cap). It stays `pending` until it has a linked vault and a live
    /// integration.
    pub async fn create_voucher_campaign(
        &self,
        scope: &Scope,
        draft: &VoucherCampaignDraft,
    ) -> Result<VoucherCampaignView, AppError> {
        let c = self.check_voucher_campaign(scope, draft).await?;
        let now = Timestamp::now();
        let row = CampaignRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: CampaignId::new(),
            kind: CampaignKind::Voucher,
            name: c.name,
            starts_at: c.schedule.starts_at,
            ends_at: c.schedule.ends_at,
            active: !draft.paused,
            max_per_lead: c.max_per_redeemer,
            budget: None,
            budget_used: 0,
            direction: None,
            currency_id: None,
            points: None,
            rate: None,
            cap_max: None,
            reward: None,
            count: None,
            min_reward: None,
            max_reward: None,
            deal_id: None,
            period: None,
            occasion: None,
            occasion_date: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let view = self
            .save_campaign_linking(scope, row, None, Some(&c.vaults))
            .await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %view.campaign.id, "voucher campaign created");
        self.voucher_campaign(scope, view.campaign.id.as_str())
            .await
    }

    pub async fn voucher_campaign(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<VoucherCampaignView, AppError> {
        let view = self
            .campaign_of_kind(scope, id, CampaignKind::Voucher)
            .await?;
        let mut conn = self.db.conn().await?;
        let vault_ids = vouchers::vaults_of(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            std::slice::from_ref(&view.campaign.id),
        )
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
        Ok(VoucherCampaignView { view, vault_ids })
    }

    /// One page of voucher campaigns in creation order with their vaults; archived ones only
    /// when `status` asks for them.
    pub async fn list_voucher_campaigns(
        &self,
        scope: &Scope,
        status: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<VoucherCampaignView>, AppError> {
        let views = self
            .list_campaigns(scope, Some("voucher"), status, after, limit)
            .await?;
        let ids: Vec<CampaignId> = views.iter().map(|v| v.campaign.id.clone()).collect();
        let mut conn = self.db.conn().await?;
        let vaults = vouchers::vaults_of(&mut conn, &scope.merchant_id, scope.env, &ids).await?;
        Ok(views
            .into_iter()
            .map(|view| {
                let vault_ids = vaults
                    .iter()
                    .filter(|(c, _)| *c == view.campaign.id)
                    .map(|(_, v)| v.clone())
                    .collect();
                VoucherCampaignView { view, vault_ids }
            })
            .collect())
    }

    /// Changes a voucher campaign's fields; they are checked as a new one's are.
    pub async fn update_voucher_campaign(
        &self,
        scope: &Scope,
        id: &str,
        patch: VoucherCampaignPatch,
    ) -> Result<VoucherCampaignView, AppError> {
        let current = self.voucher_campaign(scope, id).await?;
        let c = &current.view.campaign;
        let draft = VoucherCampaignDraft {
            name: patch.name.unwrap_or_else(|| c.name.clone()),
            vault_ids: patch
                .vault_ids
                .clone()
                .unwrap_or_else(|| current.vault_ids.iter().map(|v| v.to_string()).collect()),
            starts_at: patch
                .starts_at
                .unwrap_or_else(|| c.starts_at.map(|t| t.to_rfc3339())),
            ends_at: patch
                .ends_at
                .unwrap_or_else(|| c.ends_at.map(|t| t.to_rfc3339())),
            max_per_redeemer: patch.max_per_redeemer.unwrap_or(c.max_per_lead),
            paused: patch.paused.unwrap_or(!c.active),
        };
        let checked = self.check_voucher_campaign(scope, &draft).await?;
        let row = CampaignRow {
            name: checked.name,
            starts_at: checked.schedule.starts_at,
            ends_at: checked.schedule.ends_at,
            max_per_lead: checked.max_per_redeemer,
            active: !draft.paused,
            updated_at: Timestamp::now(),
            ..c.clone()
        };
        let vaults = patch.vault_ids.is_some().then_some(checked.vaults);
        self.save_campaign_linking(scope, row, Some(c), vaults.as_deref())
            .await?;
        self.voucher_campaign(scope, id).await
    }

    pub async fn delete_voucher_campaign(&self, scope: &Scope, id: &str) -> Result<(), AppError> {
        self.delete_campaign(scope, id, CampaignKind::Voucher).await
    }

    // ----- integrations -----

    /// Adds an integration to a voucher campaign (`test` unless said otherwise) with a new
    /// secret, kept only as a hash.
    pub async fn create_integration(
        &self,
        scope: &Scope,
        campaign_id: &str,
        name: &str,
        status: Option<&str>,
    ) -> Result<CreatedIntegration, AppError> {
        let campaign = self
            .voucher_campaign(scope, campaign_id)
            .await?
            .view
            .campaign;
        let mut errors = ValidationErrors::new();
        let name = errors.check(parse_name(name, 100));
        let status = errors.check(
            status
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("test")
                .parse::<IntegrationStatus>(),
        );
        errors.into_result()?;
        let secret = secrets::random_token("isk_");
        let now = Timestamp::now();
        let row = IntegrationRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: IntegrationId::new(),
            campaign_id: campaign.id,
            name: name.expect("checked"),
            status: status.expect("checked"),
            secret_hash: secrets::token_hash(&secret),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        vouchers::insert_integration(&mut tx, &row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, integration_id = %row.id, "integration created");
        Ok(CreatedIntegration {
            integration: row,
            secret,
        })
    }

    pub async fn list_integrations(
        &self,
        scope: &Scope,
        campaign_id: &str,
    ) -> Result<Vec<IntegrationRow>, AppError> {
        let campaign = self
            .voucher_campaign(scope, campaign_id)
            .await?
            .view
            .campaign;
        let mut conn = self.db.conn().await?;
        Ok(
            vouchers::integrations_of(&mut conn, &scope.merchant_id, scope.env, &campaign.id)
                .await?,
        )
    }

    /// Renames an integration or changes its status (a revoked one may be switched back).
    pub async fn update_integration(
        &self,
        scope: &Scope,
        campaign_id: &str,
        integration_id: &str,
        name: Option<&str>,
        status: Option<&str>,
    ) -> Result<IntegrationRow, AppError> {
        let campaign = self
            .voucher_campaign(scope, campaign_id)
            .await?
            .view
            .campaign;
        let integration_id: IntegrationId = named(integration_id, "integration")?;
        let mut errors = ValidationErrors::new();
        let name = name.and_then(|n| errors.check(parse_name(n, 100)));
        let status = status.and_then(|s| errors.check(s.parse::<IntegrationStatus>()));
        errors.into_result()?;
        let mut tx = self.db.begin_write().await?;
        let current =
            vouchers::integrations_of(&mut tx, &scope.merchant_id, scope.env, &campaign.id)
                .await?
                .into_iter()
                .find(|i| i.id == integration_id)
                .ok_or(AppError::NotFound("integration"))?;
        let row = IntegrationRow {
            name: name.unwrap_or_else(|| current.name.clone()),
            status: status.unwrap_or(current.status),
            updated_at: Timestamp::now(),
            ..current
        };
        if !vouchers::update_integration(&mut tx, &row).await? {
            return Err(AppError::NotFound("integration"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, integration_id = %row.id, status = %row.status, "integration changed");
        Ok(row)
    }

    /// Checks an integration's Basic-auth id and secret. Unknown ids and wrong secrets are
    /// `Unauthorized`, a frozen merchant `AccountFrozen`; a revoked integration passes here,
    /// so that its refused award is recorded on the campaign.
    pub async fn authenticate_integration(
        &self,
        id: &str,
        secret: &str,
    ) -> Result<IntegrationPrincipal, AppError> {
        let id: IntegrationId = id.parse().map_err(|_| AppError::Unauthorized)?;
        let mut conn = self.db.conn().await?;
        let found = vouchers::find_integration_for_auth(&mut conn, &id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !secrets::hashes_equal(&secrets::token_hash(secret), &found.integration.secret_hash) {
            return Err(AppError::Unauthorized);
        }
        match MerchantStatus::parse(&found.merchant_status) {
            Some(MerchantStatus::Active) => {}
            Some(MerchantStatus::Frozen) => {
                return Err(AppError::AccountFrozen(
                    found.integration.merchant_id.clone(),
                ))
            }
            _ => {
                return Err(AppError::Forbidden(
                    "the account is not active yet: complete KYC first".to_string(),
                ))
            }
        }
        let i = found.integration;
        let rate_limit_per_minute = match i.env {
            Env::Dev => default_rate_limit(Env::Dev),
            Env::Prod => found
                .plan_rate_limit
                .unwrap_or_else(|| default_rate_limit(Env::Prod)),
        };
        Ok(IntegrationPrincipal {
            merchant_id: i.merchant_id,
            env: i.env,
            integration_id: i.id,
            campaign_id: i.campaign_id,
            rate_limit_per_minute,
        })
    }

    // ----- the award -----

    /// Awards one voucher of the integration's campaign to a redeemer. Every request of a
    /// campaign that exists is recorded as an interaction, whatever its outcome; the voucher,
    /// the budget burn and the interaction are written in one transaction.
    pub async fn award_voucher(
        &self,
        principal: &IntegrationPrincipal,
        request: &AwardRequest,
    ) -> Result<Awarded, AppError> {
        let scope = Scope::new(&principal.merchant_id, principal.env);
        let campaign = {
            let mut conn = self.db.conn().await?;
            self.find_kind(
                &mut conn,
                &scope,
                principal.campaign_id.as_str(),
                CampaignKind::Voucher,
            )
            .await?
        };
        let done = super::unpanicked(self.try_award(principal, &scope, &campaign, request)).await;
        if let Err(e) = &done {
            let r = &request.redeemer;
            let refused = InteractionRow {
                source_id: Some(principal.integration_id.to_string()),
                amount: request.amount,
                vendor: as_sent(&request.vendor),
                redeemer_email: as_sent(&r.email),
                redeemer_mobile: as_sent(&r.mobile),
                redeemer_customer_id: as_sent(&r.customer_id),
                redeemer_name: as_sent(&r.name),
                ..InteractionRow::new(
                    &scope.merchant_id,
                    scope.env,
                    &campaign.id,
                    Outcome::Error,
                    Timestamp::now(),
                )
            };
            self.record_refusal(refused, e).await;
        }
        done
    }

    fn check_award(request: &AwardRequest) -> Result<CheckedAward, AppError> {
        let mut errors = ValidationErrors::new();
        let redeemer = match Redeemer::parse(&request.redeemer) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        let hash = errors.check(parse_hash(&request.hash));
        let vendor = match as_sent(&request.vendor) {
            Some(v) => errors.check(parse_vendor("vendor", &v)).map(Some),
            None => Some(None),
        };
        let amount = match request.amount {
            Some(a) => errors.check(parse_amount("amount", a)).map(Some),
            None => Some(None),
        };
        errors.into_result()?;
        let (redeemer, hash, vendor, amount) = (
            redeemer.expect("checked"),
            hash.expect("checked"),
            vendor.expect("checked"),
            amount.expect("checked"),
        );
        let [email, mobile, customer_id, name] = redeemer.fingerprint_parts();
        let vendor_text = vendor.clone().unwrap_or_default().to_lowercase();
        let amount_text = amount.map(|a| a.to_string()).unwrap_or_default();
        let fingerprint = fingerprint(&[
            "voucher",
            &email,
            &mobile,
            &customer_id,
            &name,
            &vendor_text,
            &amount_text,
        ]);
        Ok(CheckedAward {
            redeemer,
            vendor,
            amount,
            hash,
            fingerprint,
        })
    }

    async fn try_award(
        &self,
        principal: &IntegrationPrincipal,
        scope: &Scope,
        campaign: &CampaignRow,
        request: &AwardRequest,
    ) -> Result<Awarded, AppError> {
        let mut conn = self.db.conn().await?;
        // The integration's status as it is now (authentication does not cache it).
        let integration =
            vouchers::integrations_of(&mut conn, &scope.merchant_id, scope.env, &campaign.id)
                .await?
                .into_iter()
                .find(|i| i.id == principal.integration_id)
                .ok_or(AppError::Unauthorized)?;
        if integration.status == IntegrationStatus::Revoked {
            return Err(AppError::IntegrationRevoked);
        }
        let a = Self::check_award(request)?;
        if let Some(done) = campaigns::find_award_by_hash(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            &campaign.id,
            &a.hash,
        )
        .await?
        {
            return self
                .replay_award(&mut conn, scope, done, &a.fingerprint)
                .await;
        }
        let linked =
            vouchers::linked_vaults(&mut conn, &scope.merchant_id, scope.env, &campaign.id).await?;
        if let Some(v) = &a.vendor {
            if !linked.iter().any(|l| l.vendor.eq_ignore_ascii_case(v)) {
                return Err(AppError::field(
                    "vendor",
                    "is not the vendor of any vault this campaign draws from",
                ));
            }
        }
        let test = integration.status == IntegrationStatus::Test;
        let configured = self.configured(&mut conn, scope, &campaign.id).await?;
        let now = Timestamp::now();
        check_awards_now(campaign, configured, test, now)?;
        let matching: Vec<&VaultRow> = linked
            .iter()
            .filter(|v| v.test == test)
            .filter(|v| {
                a.vendor
                    .as_ref()
                    .is_none_or(|x| v.vendor.eq_ignore_ascii_case(x))
            })
            .filter(|v| a.amount.is_none_or(|x| v.amount == x))
            .collect();
        if matching.is_empty() {
            return Err(out_of_vouchers(test));
        }
        drop(conn);

        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        if let Some(done) = campaigns::find_award_by_hash(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &campaign.id,
            &a.hash,
        )
        .await?
        {
            return self
                .replay_award(&mut tx, scope, done, &a.fingerprint)
                .await;
        }
        // Hold the campaign's row until commit (a live award also burns one of its budget),
        // so the redeemer's count below sees every award committed before.
        if test {
            let latest = lock_campaign(&mut tx, scope, campaign).await?;
            check_awards_now(&latest, configured, true, now)?;
        } else {
            guard(&mut tx, scope, campaign, configured, 1, now).await?;
        }
        if let Some(max) = campaign.max_per_lead {
            if vouchers::awards_to_redeemer(&mut tx, &scope.merchant_id, &campaign.id, &a.redeemer)
                .await?
                >= max
            {
                return Err(AppError::LimitReached(format!(
                    "this redeemer already had the most vouchers this campaign gives one ({max})"
                )));
            }
        }
        let ids: Vec<VaultId> = matching.iter().map(|v| v.id.clone()).collect();
        let code = match coupons::claim_unique_in_vaults(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &ids,
            now,
        )
        .await?
        {
            Some(code) => code,
            None => coupons::generic_code_in_vaults(&mut tx, &scope.merchant_id, scope.env, &ids)
                .await?
                .ok_or_else(|| out_of_vouchers(test))?,
        };
        let vault = code_vault(&code, &matching)?;
        let voucher = Voucher {
            code: code.value.clone(),
            vendor: vault.vendor.clone(),
            amount: vault.amount,
            test: vault.test,
        };
        let r = &a.redeemer;
        let interaction = InteractionRow {
            source_id: Some(principal.integration_id.to_string()),
            amount: a.amount,
            vendor: a.vendor.clone(),
            redeemer_email: r.email.as_ref().map(|e| e.as_str().to_string()),
            redeemer_mobile: r.mobile.as_ref().map(|m| m.as_str().to_string()),
            redeemer_customer_id: r.customer_id.as_ref().map(|c| c.as_str().to_string()),
            redeemer_name: r.name.clone(),
            code_id: Some(code.id.to_string()),
            vault_id: Some(vault.id.to_string()),
            hash: Some(a.hash.clone()),
            fingerprint: Some(a.fingerprint.clone()),
            ..InteractionRow::new(
                &scope.merchant_id,
                scope.env,
                &campaign.id,
                Outcome::Awarded,
                now,
            )
        };
        self.emit(
            &mut tx,
            scope,
            &[Event::new(
                EventType::VoucherAwarded,
                EventObject::VoucherAwarded {
                    interaction: &interaction,
                    voucher: &voucher,
                },
            )],
        )
        .await?;
        match self.finish(tx, scope, interaction).await? {
            Finished::Done(interaction) => {
                self.activity.voucher_awarded();
                tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %campaign.id, interaction_id = %interaction.id, "voucher awarded");
                Ok(Awarded {
                    interaction,
                    voucher,
                    replayed: false,
                })
            }
            Finished::Earlier(done) => {
                let mut conn = self.db.conn().await?;
                self.replay_award(&mut conn, scope, done, &a.fingerprint)
                    .await
            }
        }
    }

    /// Whether a voucher campaign has a linked vault and a live integration.
    async fn configured(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        id: &CampaignId,
    ) -> Result<bool, AppError> {
        let links = links_of(conn, scope, std::slice::from_ref(id)).await?;
        Ok(links
            .first()
            .is_some_and(|(_, l)| l.configured_for(CampaignKind::Voucher)))
    }

    async fn replay_award(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        done: InteractionRow,
        fp: &str,
    ) -> Result<Awarded, AppError> {
        let done = same_request(done, fp)?;
        let missing = || AppError::Conflict("the earlier award's voucher is gone".to_string());
        let code_id = done.code_id.clone().ok_or_else(missing)?;
        let code = coupons::find_code(&mut *conn, &scope.merchant_id, scope.env, &code_id)
            .await?
            .ok_or_else(missing)?;
        let vault_id = code.owner.vault_id().cloned().ok_or_else(missing)?;
        let vault = catalog::find::<VaultRow>(&mut *conn, &scope.merchant_id, scope.env, &vault_id)
            .await?
            .ok_or_else(missing)?;
        Ok(Awarded {
            interaction: done,
            voucher: Voucher {
                code: code.value,
                vendor: vault.vendor,
                amount: vault.amount,
                test: vault.test,
            },
            replayed: true,
        })
    }
}

/// Whether the campaign awards now to an integration of this kind: a live integration needs
/// the campaign `live`; a test integration also works while it is `pending`, never once it
/// ended.
fn check_awards_now(
    campaign: &CampaignRow,
    configured: bool,
    test: bool,
    now: Timestamp,
) -> Result<(), AppError> {
    let status = status_of(campaign, configured, now);
    let awards = match status {
        CampaignStatus::Live => true,
        CampaignStatus::Pending => test,
        CampaignStatus::Completed | CampaignStatus::Archived => false,
    };
    if awards {
        Ok(())
    } else {
        Err(not_live_kind(CampaignKind::Voucher, status))
    }
}

/// Takes the campaign's row lock in the award's transaction and reads it again.
async fn lock_campaign(
    conn: &mut Conn,
    scope: &Scope,
    campaign: &CampaignRow,
) -> Result<CampaignRow, AppError> {
    let gone = || AppError::NotFound("voucher campaign");
    if !campaigns::lock(&mut *conn, &scope.merchant_id, scope.env, &campaign.id).await? {
        return Err(gone());
    }
    catalog::find::<CampaignRow>(conn, &scope.merchant_id, scope.env, &campaign.id)
        .await?
        .ok_or_else(gone)
}

/// The vault a claimed code came from, among those it was claimed from.
fn code_vault<'a>(code: &CodeRow, vaults: &[&'a VaultRow]) -> Result<&'a VaultRow, AppError> {
    let id = code.owner.vault_id();
    vaults
        .iter()
        .copied()
        .find(|v| Some(&v.id) == id)
        .ok_or_else(|| AppError::Conflict("the voucher's vault changed meanwhile".to_string()))
}

fn out_of_vouchers(test: bool) -> AppError {
    let which = if test { "test" } else { "live" };
    AppError::OutOfVouchers(format!(
        "no {which} voucher in this campaign's vaults matches the request"
    ))
}
