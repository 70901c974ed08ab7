//! Vaults of coupon codes and coupons: adding codes one by one, generating or uploading them
//! in bulk, issuing a coupon (paid with points or as a reward), using and cancelling it.

use std::collections::{HashMap, HashSet};

use futures_util::future::BoxFuture;
use punchcard_domain::coupons::{
    generate_code, parse_code_csv, CodeKind, CodeOwner, CouponMode, CouponStatus, MAX_BULK_GENERATE,
};
use punchcard_domain::ledger::{parse_hash, TransactionKind};
use punchcard_domain::limits::Quota;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CouponCodeId, CouponId, CurrencyId, DealId, FieldError, LeadId, ValidationErrors, VaultId,
};
use punchcard_store::coupons::{
    self, CodeFilter, CodeRow, CouponFilter, CouponRow, DealTerms, Stock,
};
use punchcard_store::wallets::{self, WalletRow};
use punchcard_store::{commit, currencies, leads, Conn, Tx, UniqueKey};

use crate::input::{can_match, can_match_text, field_id, named};
use crate::ledger::writer::{Batched, LedgerWork};
use crate::ledger::{fingerprint, post_entry, Entry, Scope};
use crate::limits::burn_quota;
use crate::limits::TakenQuotas;
use crate::webhooks::{Event, EventObject, EventType};
use crate::{App, AppError};

/// A coupon request as the client sends it.
#[derive(Debug, Clone, Default)]
pub struct NewCoupon {
    pub deal_id: String,
    pub lead_id: String,
    pub currency_id: Option<String>,
    pub hash: String,
    /// `redeem` (default) or `reward`.
    pub mode: Option<String>,
}

/// A coupon issued now, or the one an earlier request with the same hash got.
#[derive(Debug, Clone)]
pub struct Issued {
    pub coupon: CouponRow,
    pub replayed: bool,
}

/// A prepared coupon for the ledger writer to write.
struct CouponWork {
    app: App,
    scope: Scope,
    ready: ReadyCoupon,
}

/// A coupon the writer wrote (or found written), with the points it cost.
struct Written {
    coupon: CouponRow,
    replayed: bool,
    spent: i64,
}

impl LedgerWork for CouponWork {
    type Output = Written;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Written, AppError>> {
        Box::pin(self.app.write_coupon(tx, &self.scope, &self.ready))
    }

    /// Coupons given as rewards (nothing to pay) from one deal are written together.
    fn batch_key(&self) -> Option<String> {
        self.ready.wallet.is_none().then(|| {
            format!(
                "{}/{}/{}",
                self.scope.merchant_id, self.scope.env, self.ready.deal.id
            )
        })
    }

    fn apply_batch<'t>(works: &'t [&'t Self], tx: &'t mut Tx) -> BoxFuture<'t, Batched<Written>> {
        Box::pin(write_coupons(works, tx))
    }
}

/// Coupons given as rewards from one deal, written together in a handful of statements:
/// the stored hashes read at once, the quotas taken once, the deal's lowest free unique codes
/// claimed in one statement and the coupons inserted in one more. Each answers as it would
/// alone; those a unique code or the quotas could not cover here (and a hash an earlier
/// request of the batch uses) are left to be written on their own, which finds them a generic
/// code or their refusal.
async fn write_coupons(works: &[&CouponWork], tx: &mut Tx) -> Batched<Written> {
    let Some(first) = works.first() else {
        return Ok(Vec::new());
    };
    let (app, scope, deal) = (&first.app, &first.scope, &first.ready.deal);
    let now = Timestamp::now();
    let hashes: Vec<&str> = works.iter().map(|w| w.ready.hash.as_str()).collect();
    let stored: HashMap<String, CouponRow> =
        coupons::find_coupons_by_hashes(tx, &scope.merchant_id, scope.env, &hashes)
            .await?
            .into_iter()
            .map(|c| (c.hash.clone(), c))
            .collect();
    let mut answers: Vec<Option<Result<Written, AppError>>> = works.iter().map(|_| None).collect();
    let mut fresh = Vec::with_capacity(works.len());
    let mut seen = HashSet::new();
    for (i, w) in works.iter().enumerate() {
        if let Some(done) = stored.get(&w.ready.hash) {
            answers[i] = Some(replay_or_mismatch(done.clone(), &w.ready.fingerprint).map(
                |issued| Written {
                    coupon: issued.coupon,
                    replayed: true,
                    spent: 0,
                },
            ));
        } else if seen.insert(w.ready.hash.as_str()) {
            fresh.push(i);
        }
    }
    let mut quotas = TakenQuotas::take(
        tx,
        &scope.merchant_id,
        scope.env,
        &[Quota::Redeems, Quota::Rewards],
        fresh.len() as i64,
    )
    .await?;
    let codes = coupons::claim_unique_many(
        tx,
        &scope.merchant_id,
        scope.env,
        &deal.id,
        quotas.granted,
        now,
    )
    .await?;
    quotas.keep(tx, codes.len() as i64).await?;
    let issued: Vec<(usize, CouponRow)> = fresh
        .iter()
        .zip(codes)
        .map(|(&i, code)| {
            let w = works[i];
            (
                i,
                coupon_row(&w.scope, &w.ready, CouponId::new(), code, now),
            )
        })
        .collect();
    coupons::insert_coupons(tx, &issued.iter().map(|(_, c)| c).collect::<Vec<_>>()).await?;
    let events: Vec<Event> = issued
        .iter()
        .map(|(_, c)| Event::new(EventType::CouponIssued, EventObject::Coupon(c)))
        .collect();
    app.emit(tx, scope, &events).await?;
    drop(events);
    for (i, coupon) in issued {
        answers[i] = Some(Ok(Written {
            coupon,
            replayed: false,
            spent: 0,
        }));
    }
    Ok(answers)
}

/// A checked coupon request, ready to be written.
#[derive(Debug, Clone)]
pub struct ReadyCoupon {
    pub deal: DealTerms,
    pub lead_id: punchcard_domain::LeadId,
    pub mode: CouponMode,
    pub wallet: Option<WalletRow>,
    pub points: i64,
    pub hash: String,
    pub fingerprint: String,
}

#[derive(Debug)]
pub enum PreparedCoupon {
    Done(CouponRow),
    Ready(ReadyCoupon),
}

pub(crate) async fn live_deal(
    conn: &mut Conn,
    scope: &Scope,
    deal_id: &DealId,
) -> Result<DealTerms, AppError> {
    coupons::deal_terms(conn, &scope.merchant_id, scope.env, deal_id.as_str())
        .await?
        .ok_or_else(|| AppError::field("deal_id", "no such deal"))
}

/// A live deal that is on sale now (switched on, within its dates), or why not, as an error
/// on `deal_id`.
pub(crate) async fn deal_on_sale(
    conn: &mut Conn,
    scope: &Scope,
    deal_id: &DealId,
    now: Timestamp,
) -> Result<DealTerms, AppError> {
    let deal = live_deal(conn, scope, deal_id).await?;
    let on_sale = deal.available
        && deal.starts_at.is_none_or(|s| s.unix() <= now.unix())
        && deal.ends_at.is_none_or(|e| now.unix() < e.unix());
    if !on_sale {
        return Err(AppError::field(
            "deal_id",
            "is not available: switched off, not started or ended",
        ));
    }
    Ok(deal)
}

/// Takes a code out of the deal's vault (a unique one first, else a generic one), issues it
/// to the lead as coupon `id` and burns the quotas of its mode (redeem: 1 redeem; reward:
/// 1 redeem + 1 reward), in the caller's write transaction.
pub(crate) async fn issue_coupon(
    conn: &mut Conn,
    scope: &Scope,
    ready: ReadyCoupon,
    id: CouponId,
    now: Timestamp,
) -> Result<CouponRow, AppError> {
    let code = match coupons::claim_unique(
        &mut *conn,
        &scope.merchant_id,
        scope.env,
        &ready.deal.id,
        now,
    )
    .await?
    {
        Some(code) => code,
        None => coupons::generic_code(&mut *conn, &scope.merchant_id, scope.env, &ready.deal.id)
            .await?
            .ok_or_else(|| {
                AppError::OutOfStock(format!(
                    "the deal `{}` has no coupon codes left",
                    ready.deal.name
                ))
            })?,
    };
    let coupon = coupon_row(scope, &ready, id, code, now);
    coupons::insert_coupon(&mut *conn, &coupon).await?;
    let burns: &[Quota] = match ready.mode {
        CouponMode::Redeem => &[Quota::Redeems],
        CouponMode::Reward => &[Quota::Redeems, Quota::Rewards],
    };
    burn_quota(conn, &scope.merchant_id, scope.env, burns).await?;
    Ok(coupon)
}

/// The coupon that gives `code` to the lead of `ready`.
fn coupon_row(
    scope: &Scope,
    ready: &ReadyCoupon,
    id: CouponId,
    code: CodeRow,
    now: Timestamp,
) -> CouponRow {
    CouponRow {
        merchant_id: scope.merchant_id.clone(),
        env: scope.env,
        id,
        deal_id: ready.deal.id.clone(),
        lead_id: ready.lead_id.clone(),
        code_id: code.id,
        code_kind: code.kind,
        code: code.value,
        mode: ready.mode,
        currency_id: ready.wallet.as_ref().map(|w| w.currency_id.to_string()),
        wallet_id: ready.wallet.as_ref().map(|w| w.id.to_string()),
        points: if ready.wallet.is_some() {
            ready.points
        } else {
            0
        },
        status: CouponStatus::Issued,
        hash: ready.hash.clone(),
        fingerprint: ready.fingerprint.clone(),
        api_key_id: scope.api_key_id.as_ref().map(|k| k.to_string()),
        created_at: now,
        updated_at: now,
        used_at: None,
        cancelled_at: None,
    }
}

/// Which vault a code request names: a deal's (`deal_…`) or a standalone vault (`vlt_…`),
/// checked as an id of its kind, its error named after the field the client sent.
fn code_owner_id(owner: &str) -> Result<CodeOwner, FieldError> {
    if owner.trim().starts_with(VaultId::PREFIX) {
        field_id::<VaultId>("vault_id", owner).map(CodeOwner::Vault)
    } else {
        field_id::<DealId>("deal_id", owner).map(CodeOwner::Deal)
    }
}

/// The live deal or vault a code request names, or a field error.
pub(crate) async fn live_owner(
    conn: &mut Conn,
    scope: &Scope,
    owner: CodeOwner,
) -> Result<CodeOwner, AppError> {
    match owner {
        CodeOwner::Deal(deal_id) => Ok(CodeOwner::Deal(live_deal(conn, scope, &deal_id).await?.id)),
        CodeOwner::Vault(vault_id) => {
            punchcard_store::catalog::find::<punchcard_store::vaults::VaultRow>(
                conn,
                &scope.merchant_id,
                scope.env,
                &vault_id,
            )
            .await?
            .ok_or_else(|| AppError::field("vault_id", "no such vault"))?;
            Ok(CodeOwner::Vault(vault_id))
        }
    }
}

fn hash_reused() -> AppError {
    AppError::duplicate(UniqueKey::CouponHash)
}

fn replay_or_mismatch(done: CouponRow, fp: &str) -> Result<Issued, AppError> {
    if done.fingerprint == fp {
        Ok(Issued {
            coupon: done,
            replayed: true,
        })
    } else {
        Err(hash_reused())
    }
}

impl App {
    // ----- the vault -----

    /// Adds one code (or link) to a deal's vault or a standalone vault (`owner` is the deal's
    /// or the vault's id).
    pub async fn create_code(
        &self,
        scope: &Scope,
        owner: &str,
        kind: Option<&str>,
        value: &str,
    ) -> Result<CodeRow, AppError> {
        let mut errors = ValidationErrors::new();
        let owner = errors.check(code_owner_id(owner));
        let kind = errors.check(CodeKind::parse(
            kind.filter(|k| !k.trim().is_empty()).unwrap_or("code"),
        ));
        let value = kind.and_then(|k| errors.check(k.parse_value(value)));
        errors.into_result()?;
        let (owner, kind, value) = (
            owner.expect("checked"),
            kind.expect("checked"),
            value.expect("checked"),
        );
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let owner = live_owner(&mut tx, scope, owner).await?;
        let row = CodeRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: CouponCodeId::new(),
            owner,
            kind,
            value,
            issued: false,
            issued_at: None,
            created_at: now,
        };
        coupons::insert_code(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(row)
    }

    /// Generates `count` (1-1000) new unique codes for a deal or a vault (`owner`) from an
    /// unambiguous alphabet, never colliding with existing codes. Answers how many were
    /// created.
    pub async fn generate_codes(
        &self,
        scope: &Scope,
        owner: &str,
        count: i64,
    ) -> Result<u64, AppError> {
        let mut errors = ValidationErrors::new();
        let owner = errors.check(code_owner_id(owner));
        if !(1..=MAX_BULK_GENERATE).contains(&count) {
            errors.push(FieldError::new("count", "must be between 1 and 1000"));
        }
        errors.into_result()?;
        let owner = owner.expect("checked");
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let owner = live_owner(&mut tx, scope, owner).await?;
        let mut created = 0u64;
        // A clash with an existing code is skipped by the insert and made up in the next round.
        for _ in 0..10 {
            let missing = count as u64 - created;
            if missing == 0 {
                break;
            }
            let mut batch: Vec<String> = (0..missing).map(|_| generate_code()).collect();
            batch.sort();
            batch.dedup();
            created += coupons::insert_codes_skipping_existing(
                &mut tx,
                &scope.merchant_id,
                scope.env,
                &owner,
                CodeKind::Code,
                &batch,
                now,
            )
            .await?;
        }
        if created != count as u64 {
            return Err(AppError::Conflict(
                "could not generate enough distinct codes; try again".to_string(),
            ));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, owner = owner.column_and_id().1, created, "codes generated");
        Ok(created)
    }

    /// Imports a CSV of codes (one per row, optional `code` header, up to 10000 rows): all of
    /// them or, when any row is bad (empty, too long, duplicated in the file or already
    /// existing), none, with every bad row reported.
    pub async fn upload_codes(
        &self,
        scope: &Scope,
        owner: &str,
        kind: Option<&str>,
        data: &[u8],
    ) -> Result<u64, AppError> {
        let owner = code_owner_id(owner)?;
        let kind = CodeKind::parse(kind.filter(|k| !k.trim().is_empty()).unwrap_or("code"))?;
        let rows = parse_code_csv(kind, data).map_err(|rows| {
            AppError::Validation(ValidationErrors(
                rows.into_iter()
                    .map(|r| FieldError::new(format!("row {}", r.row), r.message))
                    .collect(),
            ))
        })?;
        let values: Vec<String> = rows.iter().map(|(_, v)| v.clone()).collect();
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let owner = live_owner(&mut tx, scope, owner).await?;
        let existing =
            coupons::existing_values(&mut tx, &scope.merchant_id, scope.env, &values).await?;
        if !existing.is_empty() {
            let existing: std::collections::HashSet<&str> =
                existing.iter().map(String::as_str).collect();
            let errors = rows
                .iter()
                .filter(|(_, v)| existing.contains(v.as_str()))
                .map(|(row, _)| FieldError::new(format!("row {row}"), "already exists"))
                .collect();
            return Err(AppError::Validation(ValidationErrors(errors)));
        }
        let inserted = coupons::insert_codes_skipping_existing(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &owner,
            kind,
            &values,
            now,
        )
        .await?;
        if inserted != values.len() as u64 {
            // A concurrent upload added some of the same codes: import none.
            return Err(AppError::Conflict(
                "some codes were added meanwhile; upload the file again to see which".to_string(),
            ));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, owner = owner.column_and_id().1, inserted, "codes uploaded");
        Ok(inserted)
    }

    pub async fn list_codes(
        &self,
        scope: &Scope,
        filter: &CodeFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CodeRow>, AppError> {
        if !can_match::<DealId>(filter.deal_id.as_deref())
            || !can_match::<VaultId>(filter.vault_id.as_deref())
        {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(coupons::list_codes(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            filter,
            after,
            limit,
        )
        .await?)
    }

    /// The stock of a deal's vault.
    pub async fn stock(&self, scope: &Scope, deal_id: &str) -> Result<Stock, AppError> {
        let deal_id: DealId = field_id("deal_id", deal_id)?;
        let mut conn = self.db.conn().await?;
        live_deal(&mut conn, scope, &deal_id).await?;
        let owner = CodeOwner::Deal(deal_id);
        Ok(coupons::stock(&mut conn, &scope.merchant_id, scope.env, &owner).await?)
    }

    /// The stock of every deal that has codes, by deal id (deals without codes are absent).
    pub async fn stocks(&self, scope: &Scope) -> Result<Vec<(DealId, Stock)>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(coupons::stock_by_deal(&mut conn, &scope.merchant_id, scope.env).await?)
    }

    // ----- coupons -----

    /// Checks a coupon request: the deal is live and on sale, the lead exists, and for a
    /// redeem the lead's wallet in the currency and the price in points. Answers the earlier
    /// coupon when the hash was already used for the same request.
    pub async fn prepare_coupon(
        &self,
        scope: &Scope,
        new: &NewCoupon,
    ) -> Result<PreparedCoupon, AppError> {
        let mut errors = ValidationErrors::new();
        let mode = errors.check(CouponMode::parse(
            new.mode
                .as_deref()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or("redeem"),
        ));
        let hash = errors.check(parse_hash(&new.hash));
        let deal_id = errors.check(field_id::<DealId>("deal_id", &new.deal_id));
        let lead_id = errors.check(field_id::<LeadId>("lead_id", &new.lead_id));
        let currency_id = match new.currency_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => errors.check(field_id::<CurrencyId>("currency_id", c)),
        };
        if mode == Some(CouponMode::Redeem)
            && currency_id.is_none()
            && new
                .currency_id
                .as_deref()
                .is_none_or(|c| c.trim().is_empty())
        {
            errors.push(FieldError::new(
                "currency_id",
                "is required to redeem: the points are paid from this currency's wallet",
            ));
        }
        errors.into_result()?;
        let (mode, hash, deal_id, lead_id) = (
            mode.expect("checked"),
            hash.expect("checked"),
            deal_id.expect("checked"),
            lead_id.expect("checked"),
        );
        let currency_id = currency_id.as_ref().map(CurrencyId::as_str);
        let fp = fingerprint(&[
            deal_id.as_str(),
            lead_id.as_str(),
            currency_id.unwrap_or(""),
            mode.as_str(),
        ]);
        let mut conn = self.db.conn().await?;
        if let Some(done) =
            coupons::find_coupon_by_hash(&mut conn, &scope.merchant_id, scope.env, &hash).await?
        {
            return if done.fingerprint == fp {
                Ok(PreparedCoupon::Done(done))
            } else {
                Err(hash_reused())
            };
        }
        let deal = deal_on_sale(&mut conn, scope, &deal_id, Timestamp::now()).await?;
        let lead = leads::find(&mut conn, &scope.merchant_id, scope.env, lead_id.as_str())
            .await?
            .ok_or_else(|| AppError::field("lead_id", "no such lead"))?;
        let (wallet, points) = match (mode, currency_id) {
            (CouponMode::Redeem, Some(currency_id)) => {
                let currency = currencies::find(&mut conn, &scope.merchant_id, currency_id)
                    .await?
                    .ok_or_else(|| AppError::field("currency_id", "no such currency"))?;
                let wallet = wallets::find_for_lead(
                    &mut conn,
                    &scope.merchant_id,
                    scope.env,
                    lead.id.as_str(),
                    currency.id.as_str(),
                )
                .await?
                .ok_or_else(|| {
                    AppError::field("currency_id", "the lead has no wallet in this currency")
                })?;
                let rate = currency.coins_per_unit;
                let points = rate.points_for_price(u64::try_from(deal.sell_price).unwrap_or(0));
                (Some(wallet), i64::try_from(points).unwrap_or(i64::MAX))
            }
            _ => (None, 0),
        };
        Ok(PreparedCoupon::Ready(ReadyCoupon {
            deal,
            lead_id: lead.id,
            mode,
            wallet,
            points,
            hash,
            fingerprint: fp,
        }))
    }

    /// Writes a prepared coupon in one transaction, through the ledger writer: the points
    /// debit (redeem), one code out of the vault, the coupon, and the quotas (redeem: 1
    /// redeem; reward: 1 redeem + 1 reward).
    pub async fn commit_coupon(
        &self,
        scope: &Scope,
        ready: ReadyCoupon,
    ) -> Result<Issued, AppError> {
        let hash = ready.hash.clone();
        let fp = ready.fingerprint.clone();
        // A redemption belongs with its wallet's other changes; a reward draws from the deal.
        let route = match &ready.wallet {
            Some(wallet) => wallet.id.to_string(),
            None => ready.deal.id.to_string(),
        };
        let work = CouponWork {
            app: self.clone(),
            scope: scope.clone(),
            ready,
        };
        match self.write_through_ledger(&route, work).await {
            Ok(issued) => {
                if !issued.replayed {
                    self.activity.points_moved(-issued.spent, true);
                    tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, coupon_id = %issued.coupon.id, "coupon issued");
                }
                Ok(Issued {
                    coupon: issued.coupon,
                    replayed: issued.replayed,
                })
            }
            // The hash's unique key refused the coupon (the error layer answers that key with
            // `idempotency_mismatch`; the points entry's hash comes from the new coupon id and
            // cannot clash): a concurrent request with the same hash committed first. Answer
            // as it did.
            Err(AppError::IdempotencyMismatch(_)) => {
                let mut conn = self.db.conn().await?;
                let done =
                    coupons::find_coupon_by_hash(&mut conn, &scope.merchant_id, scope.env, &hash)
                        .await?
                        .ok_or_else(|| AppError::Conflict("retry the request".to_string()))?;
                replay_or_mismatch(done, &fp)
            }
            Err(e) => Err(e),
        }
    }

    /// The writes of a prepared coupon, in `tx`; an earlier coupon with its hash is answered
    /// as a replay.
    async fn write_coupon(
        &self,
        tx: &mut Tx,
        scope: &Scope,
        ready: &ReadyCoupon,
    ) -> Result<Written, AppError> {
        let now = Timestamp::now();
        if let Some(done) =
            coupons::find_coupon_by_hash(tx, &scope.merchant_id, scope.env, &ready.hash).await?
        {
            let issued = replay_or_mismatch(done, &ready.fingerprint)?;
            return Ok(Written {
                coupon: issued.coupon,
                replayed: true,
                spent: 0,
            });
        }
        let id = CouponId::new();
        let mut paid = None;
        if let (Some(wallet), true) = (&ready.wallet, ready.points > 0) {
            paid = Some(
                post_entry(
                    tx,
                    scope,
                    Entry {
                        wallet,
                        kind: TransactionKind::Redeem,
                        amount: -ready.points,
                        hash: format!("#coupon:{id}"),
                        fingerprint: String::new(),
                        description: Some(format!("Redeemed: {}", ready.deal.name)),
                        reference: Some(id.to_string()),
                        api_key_id: scope.api_key_id.as_ref().map(|k| k.to_string()),
                    },
                    now,
                )
                .await?,
            );
        }
        let coupon = issue_coupon(tx, scope, ready.clone(), id, now).await?;
        let mut events = vec![Event::new(
            EventType::CouponIssued,
            EventObject::Coupon(&coupon),
        )];
        if let Some(paid) = &paid {
            events.push(Event::new(
                EventType::WalletTransactionCreated,
                EventObject::WalletTransaction(paid),
            ));
        }
        self.emit(tx, scope, &events).await?;
        Ok(Written {
            coupon,
            replayed: false,
            spent: if ready.wallet.is_some() {
                ready.points
            } else {
                0
            },
        })
    }

    /// An API request for a coupon: checked, confirmed with the key's callback URL (if it has
    /// one) before anything is written, then written. A replay of an earlier hash calls nothing.
    pub async fn create_coupon_for(
        &self,
        principal: &crate::api_keys::ApiPrincipal,
        new: &NewCoupon,
    ) -> Result<Issued, AppError> {
        use crate::callbacks::{ActionKind, PendingAction};
        let scope = Scope::from(principal);
        match self.prepare_coupon(&scope, new).await? {
            PreparedCoupon::Done(coupon) => Ok(Issued {
                coupon,
                replayed: true,
            }),
            PreparedCoupon::Ready(ready) => {
                let action = PendingAction {
                    lead_id: Some(ready.lead_id.clone()),
                    wallet_id: ready.wallet.as_ref().map(|w| w.id.clone()),
                    currency_id: ready.wallet.as_ref().map(|w| w.currency_id.clone()),
                    deal_id: Some(ready.deal.id.clone()),
                    amount: ready.wallet.as_ref().map(|_| -ready.points),
                    hash: Some(ready.hash.clone()),
                    mode: Some(ready.mode.as_str().to_string()),
                    ..PendingAction::new(ActionKind::Coupon, principal)
                };
                self.confirm_action(principal, &action).await?;
                self.commit_coupon(&scope, ready).await
            }
        }
    }

    /// Prepares and writes a coupon in one go (no callback in between).
    pub async fn create_coupon(&self, scope: &Scope, new: &NewCoupon) -> Result<Issued, AppError> {
        match self.prepare_coupon(scope, new).await? {
            PreparedCoupon::Done(coupon) => Ok(Issued {
                coupon,
                replayed: true,
            }),
            PreparedCoupon::Ready(ready) => self.commit_coupon(scope, ready).await,
        }
    }

    pub async fn coupon(&self, scope: &Scope, id: &str) -> Result<CouponRow, AppError> {
        let id: CouponId = named(id, "coupon")?;
        let mut conn = self.db.conn().await?;
        coupons::find_coupon(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("coupon"))
    }

    pub async fn list_coupons(
        &self,
        scope: &Scope,
        filter: &CouponFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CouponRow>, AppError> {
        if !coupon_filter_can_match(filter) {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(coupons::list_coupons(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            filter,
            after,
            limit,
        )
        .await?)
    }

    /// One page of coupons newest first, before the coupon id `before`.
    pub async fn list_coupons_newest(
        &self,
        scope: &Scope,
        filter: &CouponFilter,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CouponRow>, AppError> {
        if !coupon_filter_can_match(filter) {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(coupons::list_coupons_newest(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            filter,
            before,
            limit,
        )
        .await?)
    }

    /// Marks an issued coupon used, exactly once.
    pub async fn use_coupon(&self, scope: &Scope, id: &str) -> Result<CouponRow, AppError> {
        self.use_coupon_at(scope, id, None).await
    }

    /// Marks an issued coupon used, exactly once; at a counter, the use is logged there in the
    /// same transaction.
    pub(crate) async fn use_coupon_at(
        &self,
        scope: &Scope,
        id: &str,
        counter: Option<&crate::counter::Counter>,
    ) -> Result<CouponRow, AppError> {
        let id: CouponId = named(id, "coupon")?;
        let id = id.as_str();
        let mut tx = self.db.begin_write().await?;
        let used = coupons::finish_coupon(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            id,
            CouponStatus::Used,
            Timestamp::now(),
        )
        .await?;
        let Some(coupon) = used else {
            return Err(not_issued(&mut tx, scope, id).await);
        };
        if let Some(counter) = counter {
            counter
                .log(
                    &mut tx,
                    crate::counter::ActionKind::CouponUsed,
                    Some(&coupon.lead_id),
                    0,
                    Some(coupon.id.to_string()),
                    None,
                )
                .await?;
        }
        self.emit(
            &mut tx,
            scope,
            &[Event::new(
                EventType::CouponUsed,
                EventObject::Coupon(&coupon),
            )],
        )
        .await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, coupon_id = %coupon.id, "coupon used");
        Ok(coupon)
    }

    /// Cancels an issued coupon; a redeemed one gets its points back with a `reversal`.
    /// It goes through the ledger writer.
    pub async fn cancel_coupon(&self, scope: &Scope, id: &str) -> Result<CouponRow, AppError> {
        let id: CouponId = named(id, "coupon")?;
        let work = CancelWork {
            app: self.clone(),
            scope: scope.clone(),
            id: id.clone(),
        };
        let coupon = self.write_through_ledger(id.as_str(), work).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, coupon_id = %coupon.id, "coupon cancelled");
        Ok(coupon)
    }

    /// The writes of a coupon's cancellation, in `tx`.
    async fn write_cancellation(
        &self,
        tx: &mut Tx,
        scope: &Scope,
        id: &CouponId,
    ) -> Result<CouponRow, AppError> {
        let id = id.as_str();
        let now = Timestamp::now();
        let cancelled = coupons::finish_coupon(
            tx,
            &scope.merchant_id,
            scope.env,
            id,
            CouponStatus::Cancelled,
            now,
        )
        .await?;
        let Some(coupon) = cancelled else {
            return Err(not_issued(tx, scope, id).await);
        };
        let mut refund = None;
        if let (Some(wallet_id), true) = (&coupon.wallet_id, coupon.points > 0) {
            let wallet = wallets::find(tx, &scope.merchant_id, scope.env, wallet_id)
                .await?
                .ok_or(AppError::NotFound("wallet"))?;
            refund = Some(
                post_entry(
                    tx,
                    scope,
                    Entry {
                        wallet: &wallet,
                        kind: TransactionKind::Reversal,
                        amount: coupon.points,
                        hash: format!("#reversal:{}", coupon.id),
                        fingerprint: String::new(),
                        description: Some("Coupon cancelled: points refunded".to_string()),
                        reference: Some(coupon.id.to_string()),
                        api_key_id: scope.api_key_id.as_ref().map(|k| k.to_string()),
                    },
                    now,
                )
                .await?,
            );
        }
        let mut events = vec![Event::new(
            EventType::CouponCancelled,
            EventObject::Coupon(&coupon),
        )];
        if let Some(refund) = &refund {
            events.push(Event::new(
                EventType::WalletTransactionCreated,
                EventObject::WalletTransaction(refund),
            ));
        }
        self.emit(tx, scope, &events).await?;
        Ok(coupon)
    }
}

/// A coupon's cancellation for the ledger writer to write.
struct CancelWork {
    app: App,
    scope: Scope,
    id: CouponId,
}

impl LedgerWork for CancelWork {
    type Output = CouponRow;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<CouponRow, AppError>> {
        Box::pin(self.app.write_cancellation(tx, &self.scope, &self.id))
    }
}

/// Whether a coupon list filter can match a coupon (ids of their kind, codes without control
/// characters).
fn coupon_filter_can_match(filter: &CouponFilter) -> bool {
    can_match::<LeadId>(filter.lead_id.as_deref())
        && can_match::<DealId>(filter.deal_id.as_deref())
        && can_match_text(filter.code.as_deref())
}

/// Why a coupon could not move on from `issued`: it does not exist, or it already did.
async fn not_issued(conn: &mut Conn, scope: &Scope, id: &str) -> AppError {
    match coupons::find_coupon(conn, &scope.merchant_id, scope.env, id).await {
        Ok(Some(c)) => AppError::Conflict(format!("the coupon is already {}", c.status.as_str())),
        Ok(None) => AppError::NotFound("coupon"),
        Err(e) => e.into(),
    }
}
