//! The campaign engine: campaigns of every kind with their computed status, API-triggered
//! rules, and the steps every kind takes to turn a trigger into a reward under the campaign's
//! limits (the guarded burn, the reward, the interaction, the replay of a hash). Tasks and
//! surprises, the kinds with their own activities, are in [`tasks`] and [`surprises`]; voucher
//! campaigns, their vaults, integrations and awards in [`vouchers`].

pub mod surprises;
pub mod tasks;
pub mod vouchers;

use crate::webhooks::{Event, EventObject, EventType};
use futures_util::future::BoxFuture;
use punchcard_domain::campaigns::{
    status, CampaignKind, CampaignStatus, Direction, Rate, RuleReward, StatusInputs,
};
use punchcard_domain::catalog::{parse_moment, parse_name, Schedule};
use punchcard_domain::ledger::{parse_hash, CustomerId, TransactionKind};
use punchcard_domain::limits::{Quota, Resource};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    ApiKeyId, CampaignId, CurrencyId, FieldError, LeadId, ValidationErrors, VaultId, WalletId,
};
use punchcard_store::campaigns::{self, CampaignFilter, CampaignRow, InteractionRow, Outcome};
use punchcard_store::leads::{self, LeadFilter, LeadRow};
use punchcard_store::wallets::{self, TransactionRow, WalletRow};
use punchcard_store::{api_keys, catalog, commit, currencies, Conn, Tx};

use crate::api_keys::ApiPrincipal;
use crate::callbacks::{ActionKind, PendingAction};
use crate::input::{field_id, named};
use crate::ledger::writer::LedgerWork;
use crate::ledger::{fingerprint, post_entry, Entry, Scope};
use crate::limits::{burn_quota, check_cap};
use crate::{App, AppError};

/// The most points a rule may award per trigger, cap or budget.
pub(crate) const MAX_POINTS: i64 = 1_000_000_000_000;

/// A campaign with what its status depends on.
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub campaign: CampaignRow,
    /// The API keys allowed to trigger it (rules).
    pub authorized_key_ids: Vec<ApiKeyId>,
    pub status: CampaignStatus,
}

/// What a campaign has linked to it, which its kind's configuration needs: authorized keys
/// (rules), vaults and a live integration (voucher campaigns).
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub keys: Vec<ApiKeyId>,
    pub vault_ids: Vec<VaultId>,
    pub live_integration: bool,
}

impl Links {
    fn keys(keys: Vec<ApiKeyId>) -> Self {
        Self {
            keys,
            ..Self::default()
        }
    }

    /// Whether a campaign of `kind` with these links is configured enough to be live.
    pub fn configured_for(&self, kind: CampaignKind) -> bool {
        match kind {
            CampaignKind::Rule => !self.keys.is_empty(),
            CampaignKind::Voucher => !self.vault_ids.is_empty() && self.live_integration,
            CampaignKind::Task | CampaignKind::Surprise => true,
        }
    }
}

impl CampaignView {
    pub(crate) fn of(campaign: CampaignRow, links: Links, now: Timestamp) -> Self {
        let status = status_of(&campaign, links.configured_for(campaign.kind), now);
        Self {
            campaign,
            authorized_key_ids: links.keys,
            status,
        }
    }
}

/// The status of a campaign: one function for every kind. `configured` says whether the
/// kind's own configuration is complete ([`Links::configured_for`]: a rule's authorized key, a
/// voucher campaign's vault and live integration); kinds that need nothing ignore it.
pub fn status_of(c: &CampaignRow, configured: bool, now: Timestamp) -> CampaignStatus {
    let configured = match c.kind {
        CampaignKind::Rule | CampaignKind::Voucher => configured,
        CampaignKind::Task | CampaignKind::Surprise => true,
    };
    status(
        StatusInputs {
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            active: c.active,
            configured,
        },
        now,
    )
}

/// A rule as the merchant writes it; every field is checked by [`App::create_rule`].
#[derive(Debug, Clone, Default)]
pub struct RuleDraft {
    pub name: String,
    /// `earn` or `redeem`.
    pub direction: String,
    pub currency_id: String,
    pub points: Option<i64>,
    /// An exact decimal as text.
    pub rate: Option<String>,
    pub cap_max: Option<i64>,
    pub max_per_lead: Option<i64>,
    pub budget: Option<i64>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub authorized_key_ids: Vec<String>,
}

/// Changes to a rule: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct RulePatch {
    pub name: Option<String>,
    pub points: Option<Option<i64>>,
    pub rate: Option<Option<String>>,
    pub cap_max: Option<Option<i64>>,
    pub max_per_lead: Option<Option<i64>>,
    pub budget: Option<Option<i64>>,
    pub starts_at: Option<Option<String>>,
    pub ends_at: Option<Option<String>>,
    pub authorized_key_ids: Option<Vec<String>>,
}

/// A trigger of a rule as the API sends it.
#[derive(Debug, Clone, Default)]
pub struct Trigger {
    pub lead_id: Option<String>,
    pub customer_id: Option<String>,
    pub amount: Option<i64>,
    pub hash: String,
}

/// What a trigger did: its interaction and the wallet transaction it posted.
#[derive(Debug, Clone)]
pub struct Triggered {
    pub interaction: InteractionRow,
    pub transaction: Option<TransactionRow>,
    /// An earlier trigger with the same hash: this is its answer.
    pub replayed: bool,
}

/// A checked rule draft.
struct CheckedRule {
    name: String,
    direction: Direction,
    currency_id: CurrencyId,
    points: Option<i64>,
    rate: Option<Rate>,
    cap_max: Option<i64>,
    max_per_lead: Option<i64>,
    budget: Option<i64>,
    schedule: Schedule,
    keys: Vec<ApiKeyId>,
}

pub(crate) fn positive(field: &str, v: Option<i64>, max: i64) -> Result<Option<i64>, FieldError> {
    match v {
        Some(n) if !(1..=max).contains(&n) => Err(FieldError::new(
            field,
            format!("must be a whole number from 1 to {max}"),
        )),
        other => Ok(other),
    }
}

impl App {
    async fn check_rule(&self, scope: &Scope, d: &RuleDraft) -> Result<CheckedRule, AppError> {
        let mut errors = ValidationErrors::new();
        let name = errors.check(parse_name(&d.name, 100));
        let direction = errors.check(d.direction.parse::<Direction>());
        let currency_id = errors.check(field_id::<CurrencyId>("currency_id", &d.currency_id));
        let points = errors.check(positive("points", d.points, MAX_POINTS));
        let rate = match d.rate.as_deref() {
            Some(r) => errors.check(Rate::parse(r).map(Some)),
            None => Some(None),
        };
        match (d.points, &d.rate) {
            (Some(_), Some(_)) => errors.push(FieldError::new(
                "rate",
                "give either fixed points or a rate, not both",
            )),
            (None, None) => errors.push(FieldError::new(
                "points",
                "give fixed points or a rate per unit of amount",
            )),
            _ => {}
        }
        let cap_max = errors.check(positive("cap_max", d.cap_max, MAX_POINTS));
        if d.cap_max.is_some() && d.rate.is_none() {
            errors.push(FieldError::new("cap_max", "applies to a rate only"));
        }
        let max_per_lead = errors.check(positive("max_per_lead", d.max_per_lead, MAX_POINTS));
        let budget = errors.check(positive("budget", d.budget, MAX_POINTS));
        let starts_at = errors.check(parse_moment(
            "starts_at",
            d.starts_at.as_deref().unwrap_or(""),
        ));
        let ends_at = errors.check(parse_moment("ends_at", d.ends_at.as_deref().unwrap_or("")));
        let schedule = match (starts_at, ends_at) {
            (Some(s), Some(e)) => errors.check(Schedule::new(s, e)),
            _ => None,
        };
        let mut keys: Vec<ApiKeyId> = Vec::new();
        for raw in &d.authorized_key_ids {
            match field_id::<ApiKeyId>("authorized_key_ids", raw) {
                Ok(k) if !keys.contains(&k) => keys.push(k),
                Ok(_) => {}
                Err(_) => errors.push(FieldError::new(
                    "authorized_key_ids",
                    format!("no such API key in {}: {}", scope.env, raw.trim()),
                )),
            }
        }
        let mut conn = self.db.conn().await?;
        if let Some(c) = &currency_id {
            if currencies::find(&mut conn, &scope.merchant_id, c.as_str())
                .await?
                .is_none()
            {
                errors.push(FieldError::new("currency_id", "no such currency"));
            }
        }
        for k in &keys {
            let live = api_keys::find(&mut conn, &scope.merchant_id, scope.env, k)
                .await?
                .is_some_and(|row| row.revoked_at.is_none());
            if !live {
                errors.push(FieldError::new(
                    "authorized_key_ids",
                    format!("no such API key in {}: {k}", scope.env),
                ));
            }
        }
        errors.into_result()?;
        Ok(CheckedRule {
            name: name.expect("checked"),
            direction: direction.expect("checked"),
            currency_id: currency_id.expect("checked"),
            points: points.expect("checked"),
            rate: rate.expect("checked"),
            cap_max: cap_max.expect("checked"),
            max_per_lead: max_per_lead.expect("checked"),
            budget: budget.expect("checked"),
            schedule: schedule.expect("checked"),
            keys,
        })
    }

    /// Creates a rule, switched off: it stays `pending` until it has an authorized key and
    /// is activated.
    pub async fn create_rule(
        &self,
        scope: &Scope,
        draft: &RuleDraft,
    ) -> Result<CampaignView, AppError> {
        let r = self.check_rule(scope, draft).await?;
        let now = Timestamp::now();
        let row = CampaignRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: CampaignId::new(),
            kind: CampaignKind::Rule,
            name: r.name,
            starts_at: r.schedule.starts_at,
            ends_at: r.schedule.ends_at,
            active: false,
            max_per_lead: r.max_per_lead,
            budget: r.budget,
            budget_used: 0,
            direction: Some(r.direction),
            currency_id: Some(r.currency_id),
            points: r.points,
            rate: r.rate,
            cap_max: r.cap_max,
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
        let mut tx = self.db.begin_write().await?;
        catalog::insert(&mut tx, &row).await?;
        campaigns::set_keys(&mut tx, &scope.merchant_id, scope.env, &row.id, &r.keys).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %row.id, "rule created");
        Ok(CampaignView::of(row, Links::keys(r.keys), now))
    }

    async fn view(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        row: CampaignRow,
    ) -> Result<CampaignView, AppError> {
        let mut links = links_of(conn, scope, std::slice::from_ref(&row.id)).await?;
        let links = links.pop().map(|(_, l)| l).unwrap_or_default();
        Ok(CampaignView::of(row, links, Timestamp::now()))
    }

    /// A campaign of `kind`: another kind's id names none.
    async fn find_kind(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        id: &str,
        kind: CampaignKind,
    ) -> Result<CampaignRow, AppError> {
        let what = kind_noun(kind);
        let id: CampaignId = named(id, what)?;
        catalog::find::<CampaignRow>(conn, &scope.merchant_id, scope.env, &id)
            .await?
            .filter(|c| c.kind == kind)
            .ok_or(AppError::NotFound(what))
    }

    pub async fn rule(&self, scope: &Scope, id: &str) -> Result<CampaignView, AppError> {
        let mut conn = self.db.conn().await?;
        let row = self
            .find_kind(&mut conn, scope, id, CampaignKind::Rule)
            .await?;
        self.view(&mut conn, scope, row).await
    }

    /// One page of campaigns in creation order, of every kind unless `kind` is given;
    /// archived ones only when `status` asks for them.
    pub async fn list_campaigns(
        &self,
        scope: &Scope,
        kind: Option<&str>,
        status: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CampaignView>, AppError> {
        let mut errors = ValidationErrors::new();
        let kind = kind
            .filter(|k| !k.trim().is_empty())
            .and_then(|k| errors.check(k.parse::<CampaignKind>()));
        let status = status
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| errors.check(s.parse::<CampaignStatus>()));
        errors.into_result()?;
        let now = Timestamp::now();
        let mut conn = self.db.conn().await?;
        let rows = catalog::list::<CampaignRow>(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            &CampaignFilter { kind, status, now },
            after,
            limit,
        )
        .await?;
        let ids: Vec<CampaignId> = rows.iter().map(|r| r.id.clone()).collect();
        let links = links_of(&mut conn, scope, &ids).await?;
        Ok(rows
            .into_iter()
            .zip(links)
            .map(|(row, (_, links))| CampaignView::of(row, links, now))
            .collect())
    }

    /// Changes a rule's fields; they are checked as a new rule's are.
    pub async fn update_rule(
        &self,
        scope: &Scope,
        id: &str,
        patch: RulePatch,
    ) -> Result<CampaignView, AppError> {
        let current = self.rule(scope, id).await?;
        let c = &current.campaign;
        let pick = |change: Option<Option<i64>>, old: Option<i64>| change.unwrap_or(old);
        let draft = RuleDraft {
            name: patch.name.unwrap_or_else(|| c.name.clone()),
            direction: c
                .direction
                .map(|d| d.as_str().to_string())
                .unwrap_or_default(),
            currency_id: c
                .currency_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            points: pick(patch.points, c.points),
            rate: patch.rate.unwrap_or_else(|| c.rate.map(|r| r.to_string())),
            cap_max: pick(patch.cap_max, c.cap_max),
            max_per_lead: pick(patch.max_per_lead, c.max_per_lead),
            budget: pick(patch.budget, c.budget),
            starts_at: patch
                .starts_at
                .unwrap_or_else(|| c.starts_at.map(|t| t.to_rfc3339())),
            ends_at: patch
                .ends_at
                .unwrap_or_else(|| c.ends_at.map(|t| t.to_rfc3339())),
            authorized_key_ids: patch.authorized_key_ids.clone().unwrap_or_else(|| {
                current
                    .authorized_key_ids
                    .iter()
                    .map(|k| k.to_string())
                    .collect()
            }),
        };
        let r = self.check_rule(scope, &draft).await?;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        // Read under the row's lock, so the budget burned by concurrent awards is kept.
        if !campaigns::lock(&mut tx, &scope.merchant_id, scope.env, &c.id).await? {
            return Err(AppError::NotFound("rule"));
        }
        let latest = self
            .find_kind(&mut tx, scope, id, CampaignKind::Rule)
            .await?;
        let row = CampaignRow {
            name: r.name,
            starts_at: r.schedule.starts_at,
            ends_at: r.schedule.ends_at,
            max_per_lead: r.max_per_lead,
            budget: r.budget,
            points: r.points,
            rate: r.rate,
            cap_max: r.cap_max,
            updated_at: now,
            ..latest
        };
        catalog::update(&mut tx, &row).await?;
        if patch.authorized_key_ids.is_some() {
            campaigns::set_keys(&mut tx, &scope.merchant_id, scope.env, &row.id, &r.keys).await?;
        }
        commit(tx).await?;
        Ok(CampaignView::of(row, Links::keys(r.keys), now))
    }

    /// Writes a new campaign (`before` is `None`) or the changes to one, checking the
    /// active-campaign cap (10 in dev, 100 in prod, every kind together) in the writing
    /// transaction when the write makes it count: switched on and not ended.
    pub(crate) async fn save_campaign(
        &self,
        scope: &Scope,
        row: CampaignRow,
        before: Option<&CampaignRow>,
    ) -> Result<CampaignView, AppError> {
        self.save_campaign_linking(scope, row, before, None).await
    }

    /// [`App::save_campaign`], also making `vaults` (when given) the vaults it draws from, in
    /// the same transaction.
    pub(crate) async fn save_campaign_linking(
        &self,
        scope: &Scope,
        row: CampaignRow,
        before: Option<&CampaignRow>,
        vaults: Option<&[VaultId]>,
    ) -> Result<CampaignView, AppError> {
        let now = Timestamp::now();
        let counts = |c: &CampaignRow| c.active && c.ends_at.is_none_or(|e| e > now);
        let mut tx = self.db.begin_write().await?;
        let row = match before {
            None => {
                if counts(&row) {
                    check_cap(
                        &mut tx,
                        &scope.merchant_id,
                        scope.env,
                        Resource::ActiveCampaigns,
                    )
                    .await?;
                }
                catalog::insert(&mut tx, &row).await?;
                row
            }
            Some(before) => {
                let what = kind_noun(before.kind);
                // Read under the row's lock, so the budget burned by concurrent awards is kept.
                if !campaigns::lock(&mut tx, &scope.merchant_id, scope.env, &before.id).await? {
                    return Err(AppError::NotFound(what));
                }
                let latest = self
                    .find_kind(&mut tx, scope, before.id.as_str(), before.kind)
                    .await?;
                if counts(&row) && !counts(&latest) {
                    check_cap(
                        &mut tx,
                        &scope.merchant_id,
                        scope.env,
                        Resource::ActiveCampaigns,
                    )
                    .await?;
                }
                let row = CampaignRow {
                    budget_used: latest.budget_used,
                    ..row
                };
                catalog::update(&mut tx, &row).await?;
                row
            }
        };
        if let Some(vaults) = vaults {
            punchcard_store::vouchers::set_vaults(
                &mut tx,
                &scope.merchant_id,
                scope.env,
                &row.id,
                vaults,
            )
            .await?;
        }
        commit(tx).await?;
        Ok(CampaignView::of(row, Links::default(), now))
    }

    /// Soft-deletes a campaign of `kind`: it stops awarding and leaves every list.
    pub(crate) async fn delete_campaign(
        &self,
        scope: &Scope,
        id: &str,
        kind: CampaignKind,
    ) -> Result<(), AppError> {
        let what = kind_noun(kind);
        let mut tx = self.db.begin_write().await?;
        let row = self.find_kind(&mut tx, scope, id, kind).await?;
        if !catalog::soft_delete::<CampaignRow>(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &row.id,
            Timestamp::now(),
        )
        .await?
        {
            return Err(AppError::NotFound(what));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %row.id, "campaign deleted");
        Ok(())
    }

    /// A campaign of `kind` with its status.
    pub(crate) async fn campaign_of_kind(
        &self,
        scope: &Scope,
        id: &str,
        kind: CampaignKind,
    ) -> Result<CampaignView, AppError> {
        let mut conn = self.db.conn().await?;
        let row = self.find_kind(&mut conn, scope, id, kind).await?;
        self.view(&mut conn, scope, row).await
    }

    /// Switches a rule on (counted against the active-campaign cap: 10 in dev, 100 in prod)
    /// or off.
    pub async fn set_rule_active(
        &self,
        scope: &Scope,
        id: &str,
        active: bool,
    ) -> Result<CampaignView, AppError> {
        let id: CampaignId = named(id, "rule")?;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        if !campaigns::lock(&mut tx, &scope.merchant_id, scope.env, &id).await? {
            return Err(AppError::NotFound("rule"));
        }
        let current = self
            .find_kind(&mut tx, scope, id.as_str(), CampaignKind::Rule)
            .await?;
        if current.active == active {
            let view = self.view(&mut tx, scope, current).await?;
            return Ok(view);
        }
        if active {
            check_cap(
                &mut tx,
                &scope.merchant_id,
                scope.env,
                Resource::ActiveCampaigns,
            )
            .await?;
        }
        let row = CampaignRow {
            active,
            updated_at: now,
            ..current
        };
        catalog::update(&mut tx, &row).await?;
        let view = self.view(&mut tx, scope, row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %id, active, "rule switched");
        Ok(view)
    }

    /// A campaign's interactions, newest first, of one outcome when asked, and of the leads
    /// whose email, mobile, customer id or name contains `q` (any case).
    pub async fn list_interactions(
        &self,
        scope: &Scope,
        id: &str,
        outcome: Option<&str>,
        q: Option<&str>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InteractionRow>, AppError> {
        let id: CampaignId = named(id, "campaign")?;
        let outcome = match outcome.map(str::trim).filter(|o| !o.is_empty()) {
            None => None,
            Some(o) => Some(o.parse::<Outcome>().map_err(|_| {
                AppError::field(
                    "outcome",
                    "must be `awarded`, `out_of_vouchers`, `error` or `exception`",
                )
            })?),
        };
        let q = crate::catalog::parse_search(q).map_err(AppError::from)?;
        let mut conn = self.db.conn().await?;
        catalog::find::<CampaignRow>(&mut conn, &scope.merchant_id, scope.env, &id)
            .await?
            .ok_or(AppError::NotFound("campaign"))?;
        Ok(campaigns::list_interactions(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            &id,
            outcome,
            q.as_deref(),
            before,
            limit,
        )
        .await?)
    }

    /// Triggers a rule with an API key: the one place where a trigger becomes a reward.
    /// Every trigger of a rule the key can see is recorded as an interaction, whatever its
    /// outcome; an award, its wallet transaction, its budget and quota burn and its
    /// interaction are written in one transaction, after the key's callback approved it.
    pub async fn trigger_rule(
        &self,
        principal: &ApiPrincipal,
        id: &str,
        trigger: &Trigger,
    ) -> Result<Triggered, AppError> {
        let scope = Scope::from(principal);
        let rule = {
            let mut conn = self.db.conn().await?;
            self.find_kind(&mut conn, &scope, id, CampaignKind::Rule)
                .await?
        };
        let mut lead_seen = None;
        let done = unpanicked(self.award(principal, &scope, &rule, trigger, &mut lead_seen)).await;
        if let Err(e) = &done {
            let refused = InteractionRow {
                source_id: Some(principal.key_id.to_string()),
                lead_id: lead_seen,
                amount: trigger.amount,
                ..InteractionRow::new(
                    &scope.merchant_id,
                    scope.env,
                    &rule.id,
                    Outcome::Error,
                    Timestamp::now(),
                )
            };
            self.record_refusal(refused, e).await;
        }
        done
    }

    /// Records a refused trigger (`error`, or `exception` when the server failed) with the
    /// error's code. An interaction that cannot be written now (the failure may be the
    /// database's own) is kept and written again by [`App::record_unrecorded`]; the caller's
    /// answer is the refusal either way.
    pub(crate) async fn record_refusal(&self, row: InteractionRow, e: &AppError) {
        let outcome = match e {
            AppError::Internal(_) | AppError::Unavailable(_) => Outcome::Exception,
            AppError::OutOfVouchers(_) => Outcome::OutOfVouchers,
            _ => Outcome::Error,
        };
        let row = InteractionRow {
            outcome,
            error_code: Some(e.code().to_string()),
            hash: None,
            fingerprint: None,
            ..row
        };
        if let Err(record) = self.record(&row).await {
            tracing::warn!(campaign_id = %row.campaign_id, error = %record, "a refused trigger could not be recorded yet; it is kept to be written again");
            self.unrecorded.keep(row);
        }
    }

    /// Writes the interactions kept because they could not be written when they happened,
    /// oldest first, until one fails again; answers how many were written.
    pub async fn record_unrecorded(&self) -> usize {
        let mut written = 0;
        while let Some(row) = self.unrecorded.next() {
            match self.record(&row).await {
                Ok(()) => written += 1,
                Err(e) => {
                    tracing::warn!(error = %e, waiting = self.unrecorded.len() + 1, "kept interactions still cannot be written");
                    self.unrecorded.put_back(row);
                    break;
                }
            }
        }
        written
    }

    /// How many interactions are waiting to be written again.
    pub fn unrecorded_count(&self) -> usize {
        self.unrecorded.len()
    }

    async fn record(&self, row: &InteractionRow) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        campaigns::insert_interaction(&mut tx, row).await?;
        commit(tx).await?;
        Ok(())
    }

    async fn award(
        &self,
        principal: &ApiPrincipal,
        scope: &Scope,
        rule: &CampaignRow,
        trigger: &Trigger,
        lead_seen: &mut Option<LeadId>,
    ) -> Result<Triggered, AppError> {
        let mut conn = self.db.conn().await?;
        let keys = campaigns::keys_of(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            std::slice::from_ref(&rule.id),
        )
        .await?;
        if !keys.iter().any(|(_, k)| *k == principal.key_id) {
            return Err(AppError::NotAuthorized(
                "this API key is not authorized to trigger this rule".to_string(),
            ));
        }
        // The request, checked.
        let mut errors = ValidationErrors::new();
        let hash = errors.check(parse_hash(&trigger.hash));
        if trigger.amount.is_some_and(|a| a < 0) {
            errors.push(FieldError::new("amount", "must be 0 or more"));
        }
        let lead_ref = match (trigger.lead_id.as_deref(), trigger.customer_id.as_deref()) {
            (Some(l), None) => errors
                .check(field_id::<LeadId>("lead_id", l))
                .map(|l| format!("lead:{l}")),
            (None, Some(c)) => errors
                .check(CustomerId::parse(c).map_err(|e| e.at("customer_id")))
                .map(|c| format!("customer:{}", c.as_str())),
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "customer_id",
                    "give lead_id or customer_id, not both",
                ));
                None
            }
            (None, None) => {
                errors.push(FieldError::new("lead_id", "give lead_id or customer_id"));
                None
            }
        };
        errors.into_result()?;
        let (hash, lead_ref) = (hash.expect("checked"), lead_ref.expect("checked"));
        let amount_text = trigger.amount.map(|a| a.to_string()).unwrap_or_default();
        let fp = fingerprint(&[&lead_ref, &amount_text]);
        if let Some(done) =
            campaigns::find_award_by_hash(&mut conn, &scope.merchant_id, scope.env, &rule.id, &hash)
                .await?
        {
            return self.replay(&mut conn, scope, done, &fp).await;
        }
        let has_keys = !keys.is_empty();
        let now = Timestamp::now();
        let current = status_of(rule, has_keys, now);
        if current != CampaignStatus::Live {
            return Err(not_live(current));
        }
        let lead = find_lead(&mut conn, scope, trigger).await?;
        *lead_seen = Some(lead.id.clone());
        let reward = match (rule.points, rule.rate) {
            (Some(p), _) => RuleReward::Fixed(p),
            (None, Some(rate)) => RuleReward::PerUnit {
                rate,
                cap_max: rule.cap_max,
            },
            (None, None) => return Err(AppError::Conflict("the rule awards nothing".to_string())),
        };
        let points = reward.points(trigger.amount)?;
        if points == 0 {
            return Err(AppError::field(
                "amount",
                "is worth no points at this rule's rate",
            ));
        }
        let direction = rule.direction.unwrap_or(Direction::Earn);
        let currency_id = rule
            .currency_id
            .clone()
            .ok_or_else(|| AppError::Conflict("the rule has no currency".to_string()))?;
        let wallet = wallets::find_for_lead(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            lead.id.as_str(),
            currency_id.as_str(),
        )
        .await?;
        if direction == Direction::Redeem && wallet.is_none() {
            return Err(AppError::InsufficientBalance {
                balance: 0,
                requested: points,
            });
        }
        drop(conn);
        let signed = match direction {
            Direction::Earn => points,
            Direction::Redeem => -points,
        };
        let action = PendingAction {
            lead_id: Some(lead.id.clone()),
            wallet_id: wallet.as_ref().map(|w| w.id.clone()),
            currency_id: Some(currency_id.clone()),
            amount: Some(signed),
            hash: Some(hash.clone()),
            ..PendingAction::new(
                match direction {
                    Direction::Earn => ActionKind::Reward,
                    Direction::Redeem => ActionKind::Redeem,
                },
                principal,
            )
        };
        self.confirm_action(principal, &action).await?;

        // The award goes through the ledger writer, with the wallet's other changes (or,
        // before its first award opens the wallet, the lead's).
        let route = match &wallet {
            Some(w) => w.id.to_string(),
            None => lead.id.to_string(),
        };
        let award = RuleAward {
            app: self.clone(),
            scope: scope.clone(),
            rule: rule.clone(),
            lead,
            currency_id,
            key_id: principal.key_id.to_string(),
            has_keys,
            points,
            signed,
            kind: match direction {
                Direction::Earn => TransactionKind::Reward,
                Direction::Redeem => TransactionKind::Redeem,
            },
            amount: trigger.amount,
            hash,
            fingerprint: fp,
        };
        let triggered = self.write_through_ledger(&route, award).await?;
        if !triggered.replayed {
            // A campaign's points: a reward when credited, a redemption when debited (a
            // redeem rule).
            self.activity.points_moved(signed, signed < 0);
        }
        Ok(triggered)
    }

    /// Writes an award's interaction and commits its transaction. When a concurrent trigger
    /// with the same hash committed first, answers that one's interaction instead.
    pub(crate) async fn finish(
        &self,
        mut tx: punchcard_store::Tx,
        scope: &Scope,
        interaction: InteractionRow,
    ) -> Result<Finished, AppError> {
        let written = match campaigns::insert_interaction(&mut tx, &interaction).await {
            Ok(()) => commit(tx).await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => {
                // A campaign's points: a reward when credited, a redemption when debited
                // (a redeem rule).
                self.activity
                    .points_moved(interaction.points, interaction.points < 0);
                Ok(Finished::Done(interaction))
            }
            Err(e) => {
                let e = AppError::from(e);
                if let (AppError::IdempotencyMismatch(_), Some(hash)) = (&e, &interaction.hash) {
                    let mut conn = self.db.conn().await?;
                    if let Some(done) = campaigns::find_award_by_hash(
                        &mut conn,
                        &scope.merchant_id,
                        scope.env,
                        &interaction.campaign_id,
                        hash,
                    )
                    .await?
                    {
                        return Ok(Finished::Earlier(done));
                    }
                }
                Err(e)
            }
        }
    }

    async fn replay(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        done: InteractionRow,
        fp: &str,
    ) -> Result<Triggered, AppError> {
        let done = same_request(done, fp)?;
        let transaction = match &done.wallet_transaction_id {
            Some(t) => wallets::find_transaction(conn, &scope.merchant_id, scope.env, t).await?,
            None => None,
        };
        Ok(Triggered {
            interaction: done,
            transaction,
            replayed: true,
        })
    }
}

/// A rule's award, checked and confirmed, for the ledger writer to write.
struct RuleAward {
    app: App,
    scope: Scope,
    rule: CampaignRow,
    lead: LeadRow,
    currency_id: CurrencyId,
    key_id: String,
    has_keys: bool,
    points: i64,
    /// The points, signed as the transaction moves them.
    signed: i64,
    kind: TransactionKind,
    /// The trigger's amount, for a rule that awards per unit.
    amount: Option<i64>,
    hash: String,
    fingerprint: String,
}

impl LedgerWork for RuleAward {
    type Output = Triggered;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Triggered, AppError>> {
        Box::pin(self.write(tx))
    }
}

impl RuleAward {
    /// The award's writes in `tx`: the campaign's guard and per-lead limit, the points, the
    /// interaction and the events; an earlier award of the hash is answered as a replay.
    async fn write(&self, tx: &mut Tx) -> Result<Triggered, AppError> {
        let (app, scope, rule, lead) = (&self.app, &self.scope, &self.rule, &self.lead);
        let now = Timestamp::now();
        if let Some(done) =
            campaigns::find_award_by_hash(tx, &scope.merchant_id, scope.env, &rule.id, &self.hash)
                .await?
        {
            return app.replay(tx, scope, done, &self.fingerprint).await;
        }
        // Dates, switch and budget in one guarded UPDATE; it also holds the campaign's row
        // until commit, so the per-lead count below sees every award committed before.
        guard(tx, scope, rule, self.has_keys, self.points, now).await?;
        check_per_lead(tx, scope, rule, &lead.id).await?;
        let posted = give_points(
            tx,
            scope,
            Points {
                campaign: rule,
                lead,
                currency_id: &self.currency_id,
                kind: self.kind,
                amount: self.signed,
                hash: &self.hash,
                fingerprint: &self.fingerprint,
                description: format!("rule: {}", rule.name),
            },
            now,
        )
        .await?;
        let interaction = InteractionRow {
            source_id: Some(self.key_id.clone()),
            lead_id: Some(lead.id.clone()),
            amount: self.amount,
            points: self.signed,
            hash: Some(self.hash.clone()),
            fingerprint: Some(self.fingerprint.clone()),
            wallet_transaction_id: Some(posted.id.to_string()),
            ..InteractionRow::new(
                &scope.merchant_id,
                scope.env,
                &rule.id,
                Outcome::Awarded,
                now,
            )
        };
        app.emit(
            tx,
            scope,
            &[
                Event::new(
                    EventType::RuleTriggered,
                    EventObject::RuleTriggered {
                        interaction: &interaction,
                        transaction: Some(&posted),
                    },
                ),
                Event::new(
                    EventType::WalletTransactionCreated,
                    EventObject::WalletTransaction(&posted),
                ),
            ],
        )
        .await?;
        // A concurrent trigger with the same hash that committed first refuses this row; the
        // writer then runs the award again alone, which answers that trigger's award.
        campaigns::insert_interaction(tx, &interaction).await?;
        Ok(Triggered {
            interaction,
            transaction: Some(posted),
            replayed: false,
        })
    }
}

/// What [`App::finish`] wrote: this award, or the one a concurrent trigger with the same hash
/// committed first.
pub(crate) enum Finished {
    Done(InteractionRow),
    Earlier(InteractionRow),
}

/// The earlier award of this hash, when its request was the same (same fingerprint); a hash
/// reused for another request is `idempotency_mismatch`.
pub(crate) fn same_request(done: InteractionRow, fp: &str) -> Result<InteractionRow, AppError> {
    if done.fingerprint.as_deref() != Some(fp) {
        return Err(AppError::duplicate(
            punchcard_store::UniqueKey::CampaignInteractionHash,
        ));
    }
    Ok(done)
}

/// Burns `cost` of a campaign's budget (points, or awards for a deal) in the award's
/// transaction, if it is switched on and within its dates: one guarded UPDATE that also holds
/// the campaign's row until commit, so counts read after it see every award committed
/// before. Refuses with `campaign_not_live` or `limit_reached`.
pub(crate) async fn guard(
    conn: &mut Conn,
    scope: &Scope,
    campaign: &CampaignRow,
    has_keys: bool,
    cost: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    if campaigns::burn_budget(conn, &scope.merchant_id, scope.env, &campaign.id, cost, now).await? {
        return Ok(());
    }
    let latest = catalog::find::<CampaignRow>(conn, &scope.merchant_id, scope.env, &campaign.id)
        .await?
        .ok_or(AppError::NotFound(kind_noun(campaign.kind)))?;
    let current = status_of(&latest, has_keys, now);
    if current != CampaignStatus::Live {
        return Err(not_live_kind(latest.kind, current));
    }
    Err(AppError::LimitReached(format!(
        "the {}'s budget is spent: {} of {} awarded",
        kind_noun(latest.kind),
        latest.budget_used,
        latest.budget.unwrap_or_default()
    )))
}

/// Refuses with `limit_reached` when the campaign already gave the lead its `max_per_lead`
/// rewards. Call it after [`guard`], which serializes the campaign's awards.
pub(crate) async fn check_per_lead(
    conn: &mut Conn,
    scope: &Scope,
    campaign: &CampaignRow,
    lead_id: &LeadId,
) -> Result<(), AppError> {
    if let Some(max) = campaign.max_per_lead {
        if campaigns::awards_to_lead(conn, &scope.merchant_id, &campaign.id, lead_id).await? >= max
        {
            return Err(AppError::LimitReached(format!(
                "this lead already had the most rewards this {} gives a lead ({max})",
                kind_noun(campaign.kind)
            )));
        }
    }
    Ok(())
}

/// A points reward of a campaign, as a wallet transaction.
pub(crate) struct Points<'a> {
    pub campaign: &'a CampaignRow,
    pub lead: &'a LeadRow,
    pub currency_id: &'a CurrencyId,
    pub kind: TransactionKind,
    /// Signed.
    pub amount: i64,
    /// The client's hash of the trigger.
    pub hash: &'a str,
    pub fingerprint: &'a str,
    pub description: String,
}

/// Posts a campaign's points to the lead's wallet (opened on its first award) with the
/// campaign as the transaction's `reference`, and burns the quota (a credit 1 reward, a debit
/// 1 redeem), in the award's transaction.
pub(crate) async fn give_points(
    conn: &mut Conn,
    scope: &Scope,
    p: Points<'_>,
    now: Timestamp,
) -> Result<TransactionRow, AppError> {
    let wallet = open_wallet(conn, scope, p.lead, p.currency_id, now).await?;
    let posted = post_entry(
        conn,
        scope,
        Entry {
            wallet: &wallet,
            kind: p.kind,
            amount: p.amount,
            // Server-made hashes start with `#`, so they never collide with a client's.
            hash: format!("#{}:{}", p.campaign.id, p.hash),
            fingerprint: p.fingerprint.to_string(),
            description: Some(p.description),
            reference: Some(p.campaign.id.to_string()),
            api_key_id: scope.api_key_id.as_ref().map(|k| k.to_string()),
        },
        now,
    )
    .await?;
    let quota = if p.amount < 0 {
        Quota::Redeems
    } else {
        Quota::Rewards
    };
    burn_quota(conn, &scope.merchant_id, scope.env, &[quota]).await?;
    Ok(posted)
}

/// Issues a coupon of the campaign's deal to the lead in reward mode (1 redeem + 1 reward),
/// in the award's transaction.
pub(crate) async fn give_coupon(
    conn: &mut Conn,
    scope: &Scope,
    campaign: &CampaignRow,
    lead: &LeadRow,
    hash: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<punchcard_store::coupons::CouponRow, AppError> {
    let deal_id = campaign.deal_id.clone().ok_or_else(|| {
        AppError::Conflict(format!("the {} has no deal", kind_noun(campaign.kind)))
    })?;
    let deal = crate::coupons::deal_on_sale(conn, scope, &deal_id, now).await?;
    let ready = crate::coupons::ReadyCoupon {
        deal,
        lead_id: lead.id.clone(),
        mode: punchcard_domain::coupons::CouponMode::Reward,
        wallet: None,
        points: 0,
        hash: format!("#{}:{hash}", campaign.id),
        fingerprint: fingerprint.to_string(),
    };
    crate::coupons::issue_coupon(conn, scope, ready, punchcard_domain::CouponId::new(), now).await
}

/// The links of each of `ids`, in the order of `ids`.
pub(crate) async fn links_of(
    conn: &mut Conn,
    scope: &Scope,
    ids: &[CampaignId],
) -> Result<Vec<(CampaignId, Links)>, AppError> {
    let keys = campaigns::keys_of(&mut *conn, &scope.merchant_id, scope.env, ids).await?;
    let vaults =
        punchcard_store::vouchers::vaults_of(&mut *conn, &scope.merchant_id, scope.env, ids)
            .await?;
    let live = punchcard_store::vouchers::with_live_integration(
        &mut *conn,
        &scope.merchant_id,
        scope.env,
        ids,
    )
    .await?;
    Ok(ids
        .iter()
        .map(|id| {
            let links = Links {
                keys: keys
                    .iter()
                    .filter(|(c, _)| c == id)
                    .map(|(_, k)| k.clone())
                    .collect(),
                vault_ids: vaults
                    .iter()
                    .filter(|(c, _)| c == id)
                    .map(|(_, v)| v.clone())
                    .collect(),
                live_integration: live.contains(id),
            };
            (id.clone(), links)
        })
        .collect())
}

fn kind_noun(kind: CampaignKind) -> &'static str {
    match kind {
        CampaignKind::Task => "task",
        CampaignKind::Surprise => "surprise",
        CampaignKind::Rule => "rule",
        CampaignKind::Voucher => "voucher campaign",
    }
}

fn not_live(status: CampaignStatus) -> AppError {
    not_live_kind(CampaignKind::Rule, status)
}

/// Why a campaign of `kind` in `status` awards nothing.
pub(crate) fn not_live_kind(kind: CampaignKind, status: CampaignStatus) -> AppError {
    let what = kind_noun(kind);
    let why = match (kind, status) {
        (CampaignKind::Rule, CampaignStatus::Pending) => {
            "pending: not activated, without an authorized key, or before its start"
        }
        (CampaignKind::Voucher, CampaignStatus::Pending) => {
            "pending: paused, before its start, or without a linked vault and a live integration"
        }
        (_, CampaignStatus::Pending) => "pending: paused, or before its start",
        (_, CampaignStatus::Completed) => "completed: past its end date",
        (_, CampaignStatus::Archived) => "archived",
        (_, CampaignStatus::Live) => "live",
    };
    AppError::CampaignNotLive(format!("the {what} is {why}"))
}

async fn find_lead(conn: &mut Conn, scope: &Scope, trigger: &Trigger) -> Result<LeadRow, AppError> {
    if let Some(id) = trigger.lead_id.as_deref() {
        return leads::find(conn, &scope.merchant_id, scope.env, id.trim())
            .await?
            .ok_or_else(|| AppError::field("lead_id", "no such lead"));
    }
    let customer_id = trigger.customer_id.clone().unwrap_or_default();
    let filter = LeadFilter {
        customer_id: Some(customer_id.trim().to_string()),
        ..Default::default()
    };
    leads::list(conn, &scope.merchant_id, scope.env, &filter, None, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::field("customer_id", "no lead has this customer id"))
}

/// The lead's wallet in the campaign's currency, opened for its first award (dev caps wallets).
pub(crate) async fn open_wallet(
    conn: &mut Conn,
    scope: &Scope,
    lead: &LeadRow,
    currency_id: &CurrencyId,
    now: Timestamp,
) -> Result<WalletRow, AppError> {
    if let Some(w) = wallets::find_for_lead(
        conn,
        &scope.merchant_id,
        scope.env,
        lead.id.as_str(),
        currency_id.as_str(),
    )
    .await?
    {
        return Ok(w);
    }
    check_cap(conn, &scope.merchant_id, scope.env, Resource::Wallets).await?;
    let row = WalletRow {
        merchant_id: scope.merchant_id.clone(),
        env: scope.env,
        id: WalletId::new(),
        lead_id: lead.id.clone(),
        currency_id: currency_id.clone(),
        balance: 0,
        created_at: now,
        updated_at: now,
    };
    // A concurrent award of another campaign may open it first: then it is that one.
    Ok(wallets::insert_or_find(conn, &row).await?)
}

/// At most this many interactions are kept in memory waiting to be written again; past it the
/// oldest is dropped (and logged), so a long outage cannot exhaust the server's memory.
pub const UNRECORDED_MAX: usize = 10_000;

/// Interactions that could not be written when they happened (the database failed or was out
/// of reach), oldest first, waiting to be written again.
#[derive(Debug, Default)]
pub struct Unrecorded(std::sync::Mutex<std::collections::VecDeque<InteractionRow>>);

impl Unrecorded {
    fn queue(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<InteractionRow>> {
        // A panic while holding the lock leaves a queue that is still whole.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn keep(&self, row: InteractionRow) {
        let mut q = self.queue();
        if q.len() >= UNRECORDED_MAX {
            if let Some(dropped) = q.pop_front() {
                tracing::error!(campaign_id = %dropped.campaign_id, interaction_id = %dropped.id, "too many interactions waiting to be written; the oldest is dropped");
            }
        }
        q.push_back(row);
    }

    fn next(&self) -> Option<InteractionRow> {
        self.queue().pop_front()
    }

    fn put_back(&self, row: InteractionRow) {
        self.queue().push_front(row);
    }

    fn len(&self) -> usize {
        self.queue().len()
    }
}

/// Runs a trigger's work, turning a panic inside it into an internal error: the request is
/// then recorded as an `exception` and answered 500 like any other failure, rather than lost
/// with its task.
pub(crate) async fn unpanicked<T>(
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(AppError::Internal("the request failed unexpectedly".into())))
}
