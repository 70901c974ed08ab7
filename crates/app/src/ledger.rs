//! Leads, wallets and wallet transactions: the points ledger.
//!
//! A balance changes only with the transaction that explains it, in one database transaction:
//! the wallet row is updated with a guard (`balance + amount >= 0`) and the transaction row is
//! inserted with a hash unique per merchant and env. So concurrent debits cannot overdraw,
//! a retried request cannot apply twice, and the balance always equals the sum of the
//! wallet's transactions.

use punchcard_domain::ledger::{
    check_amount, parse_description, parse_hash, CustomerId, LeadInput, LeadProfile,
    TransactionKind, MAX_BALANCE,
};
use punchcard_domain::limits::{Quota, Resource};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    ApiKeyId, CurrencyId, Env, FieldError, LeadId, MerchantId, ValidationErrors, WalletId,
    WalletTransactionId,
};
use punchcard_store::leads::{self, LeadFilter, LeadRow};
use punchcard_store::wallets::{self, TransactionFilter, TransactionRow, WalletRow};
use punchcard_store::{commit, currencies, Conn, UniqueKey};
use sha2::{Digest, Sha256};

use crate::input::{can_match, can_match_text, field_id, named};
use crate::limits::{burn_quota, check_cap};
use crate::webhooks::{Event, EventObject, EventType};
use crate::{App, AppError};

pub mod writer;
pub use writer::{LedgerWriter, Pending, WriterStats, BATCH_LIMIT};

/// Who acts: the merchant, the environment and, for API calls, the key used.
#[derive(Debug, Clone)]
pub struct Scope {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub api_key_id: Option<ApiKeyId>,
}

impl Scope {
    pub fn new(merchant_id: &MerchantId, env: Env) -> Self {
        Self {
            merchant_id: merchant_id.clone(),
            env,
            api_key_id: None,
        }
    }
}

impl From<&crate::api_keys::ApiPrincipal> for Scope {
    fn from(p: &crate::api_keys::ApiPrincipal) -> Self {
        Self {
            merchant_id: p.merchant_id.clone(),
            env: p.env,
            api_key_id: Some(p.key_id.clone()),
        }
    }
}

/// A new lead as the client sends it.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub customer_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub country: Option<String>,
    pub dob: Option<String>,
}

/// Changes to a lead: `None` keeps a field, `Some(None)` clears it, `Some(Some(v))` sets it.
#[derive(Debug, Clone, Default)]
pub struct LeadPatch {
    pub customer_id: Option<String>,
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub mobile: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub dob: Option<Option<String>>,
}

/// A transaction the merchant asks for (API or dashboard).
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub wallet_id: String,
    pub kind: String,
    pub amount: i64,
    pub hash: String,
    pub description: Option<String>,
}

/// A transaction written now, or the one an earlier request with the same hash wrote.
#[derive(Debug, Clone)]
pub struct Posted {
    pub transaction: TransactionRow,
    pub replayed: bool,
}

/// A ledger entry to post inside an open write transaction (rewards, adjustments, coupon
/// redeems and refunds all go through [`post_entry`]).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub wallet: &'a WalletRow,
    pub kind: TransactionKind,
    pub amount: i64,
    pub hash: String,
    pub fingerprint: String,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub api_key_id: Option<String>,
}

/// Applies an entry to its wallet and records it, in the caller's write transaction. Refuses
/// with `insufficient_balance` when a debit would take the balance below zero; the caller's
/// transaction is then to be dropped (nothing was written).
pub async fn post_entry(
    conn: &mut Conn,
    scope: &Scope,
    entry: Entry<'_>,
    now: Timestamp,
) -> Result<TransactionRow, AppError> {
    let wallet = entry.wallet;
    let Some(balance_after) = wallets::apply(
        conn,
        &scope.merchant_id,
        scope.env,
        &wallet.id,
        entry.amount,
        now,
    )
    .await?
    else {
        let current = wallets::find(conn, &scope.merchant_id, scope.env, wallet.id.as_str())
            .await?
            .ok_or(AppError::NotFound("wallet"))?;
        return Err(out_of_range(current.balance, entry.amount));
    };
    let row = TransactionRow {
        merchant_id: scope.merchant_id.clone(),
        env: scope.env,
        id: WalletTransactionId::new(),
        wallet_id: wallet.id.clone(),
        lead_id: wallet.lead_id.clone(),
        kind: entry.kind,
        amount: entry.amount,
        balance_after,
        hash: entry.hash,
        fingerprint: entry.fingerprint,
        description: entry.description,
        reference: entry.reference,
        api_key_id: entry.api_key_id,
        created_at: now,
    };
    wallets::insert_transaction(conn, &row).await?;
    Ok(row)
}

/// Adds a new lead in the caller's write transaction: within the environment's cap, burning
/// one lead quota.
pub(crate) async fn insert_lead(
    conn: &mut Conn,
    scope: &Scope,
    row: &LeadRow,
) -> Result<(), AppError> {
    check_cap(conn, &scope.merchant_id, scope.env, Resource::Leads).await?;
    leads::insert(conn, row).await?;
    burn_quota(conn, &scope.merchant_id, scope.env, &[Quota::Leads]).await?;
    Ok(())
}

/// The balance after `amount`, if it stays within 0..=MAX_BALANCE.
pub(crate) fn balance_after(balance: i64, amount: i64) -> Result<i64, AppError> {
    match balance.checked_add(amount) {
        Some(after) if (0..=MAX_BALANCE).contains(&after) => Ok(after),
        _ => Err(out_of_range(balance, amount)),
    }
}

/// Why `amount` cannot be applied to a wallet holding `balance`.
fn out_of_range(balance: i64, amount: i64) -> AppError {
    if amount < 0 {
        return AppError::InsufficientBalance {
            balance,
            requested: -amount,
        };
    }
    AppError::field(
        "amount",
        "would take the balance past the largest a wallet may hold",
    )
}

/// What a request asked for, to tell a replay from another request reusing a hash.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

fn hash_reused() -> AppError {
    AppError::duplicate(UniqueKey::WalletTransactionHash)
}

/// What a checked transaction's wallet and hash are.
pub(crate) enum Found {
    /// The hash was used before for the same request: this is its transaction.
    Done(TransactionRow),
    Wallet(WalletRow),
}

/// Reads the wallet a checked transaction names, in one statement on the common path with
/// whether its lead is open and its hash stored: the stored transaction of the same request,
/// or the wallet; a hash used by another request, a missing wallet or a closed one is refused.
pub(crate) async fn find_wallet(
    conn: &mut Conn,
    scope: &Scope,
    ready: &ReadyTransaction,
) -> Result<Found, AppError> {
    let found = wallets::find_for_transaction(
        conn,
        &scope.merchant_id,
        scope.env,
        ready.wallet_id.as_str(),
        &ready.hash,
    )
    .await?;
    if found.as_ref().is_none_or(|f| f.hash_taken) {
        if let Some(done) =
            wallets::find_by_hash(conn, &scope.merchant_id, scope.env, &ready.hash).await?
        {
            return if done.fingerprint == ready.fingerprint {
                Ok(Found::Done(done))
            } else {
                Err(hash_reused())
            };
        }
    }
    let found = found.ok_or(AppError::NotFound("wallet"))?;
    if !found.lead_open {
        return Err(lead_closed());
    }
    Ok(Found::Wallet(found.wallet))
}

/// The answer to a transaction on a wallet whose lead was deleted.
pub(crate) fn lead_closed() -> AppError {
    AppError::Conflict("the lead of this wallet was deleted; its wallet is closed".to_string())
}

impl App {
    // ----- leads -----

    pub async fn create_lead(&self, scope: &Scope, new: NewLead) -> Result<LeadRow, AppError> {
        let now = Timestamp::now();
        let mut errors = ValidationErrors::new();
        let customer_id = errors.check(CustomerId::parse(&new.customer_id));
        let profile = match LeadProfile::parse(
            &LeadInput {
                name: new.name.as_deref(),
                email: new.email.as_deref(),
                mobile: new.mobile.as_deref(),
                country: new.country.as_deref(),
                dob: new.dob.as_deref(),
            },
            now,
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        errors.into_result()?;
        let (customer_id, profile) = (customer_id.expect("checked"), profile.expect("checked"));
        let row = LeadRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: LeadId::new(),
            customer_id: customer_id.as_str().to_string(),
            name: profile.name,
            email: profile.email.map(|e| e.as_str().to_string()),
            mobile: profile.mobile.map(|m| m.as_str().to_string()),
            country: profile.country.map(|c| c.as_str().to_string()),
            dob: profile.dob.map(|d| d.to_iso()),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        insert_lead(&mut tx, scope, &row).await?;
        self.emit(
            &mut tx,
            scope,
            &[Event::new(EventType::LeadCreated, EventObject::Lead(&row))],
        )
        .await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, lead_id = %row.id, "lead created");
        Ok(row)
    }

    pub async fn lead(&self, scope: &Scope, id: &str) -> Result<LeadRow, AppError> {
        let id: LeadId = named(id, "lead")?;
        let mut conn = self.db.conn().await?;
        leads::find(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("lead"))
    }

    pub async fn list_leads(
        &self,
        scope: &Scope,
        filter: &LeadFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LeadRow>, AppError> {
        // A customer id no lead can have, or text with control characters, matches none.
        let customer_id_can_match = filter
            .customer_id
            .as_deref()
            .is_none_or(|c| CustomerId::parse(c).is_ok());
        let texts = [&filter.email, &filter.mobile, &filter.query];
        if !customer_id_can_match || !texts.iter().all(|t| can_match_text(t.as_deref())) {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(leads::list(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            filter,
            after,
            limit,
        )
        .await?)
    }

    pub async fn update_lead(
        &self,
        scope: &Scope,
        id: &str,
        patch: LeadPatch,
    ) -> Result<LeadRow, AppError> {
        let id: LeadId = named(id, "lead")?;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let current = leads::find(&mut tx, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("lead"))?;
        let merged = |change: &Option<Option<String>>, old: &Option<String>| match change {
            None => old.clone(),
            Some(v) => v.clone(),
        };
        let name = merged(&patch.name, &current.name);
        let email = merged(&patch.email, &current.email);
        let mobile = merged(&patch.mobile, &current.mobile);
        let country = merged(&patch.country, &current.country);
        let dob = merged(&patch.dob, &current.dob);
        let mut errors = ValidationErrors::new();
        let customer_id = match &patch.customer_id {
            Some(c) => errors.check(CustomerId::parse(c)),
            None => Some(CustomerId::parse(&current.customer_id).map_err(AppError::from)?),
        };
        let profile = match LeadProfile::parse(
            &LeadInput {
                name: name.as_deref(),
                email: email.as_deref(),
                mobile: mobile.as_deref(),
                country: country.as_deref(),
                dob: dob.as_deref(),
            },
            now,
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        errors.into_result()?;
        let (customer_id, profile) = (customer_id.expect("checked"), profile.expect("checked"));
        let row = LeadRow {
            customer_id: customer_id.as_str().to_string(),
            name: profile.name,
            email: profile.email.map(|e| e.as_str().to_string()),
            mobile: profile.mobile.map(|m| m.as_str().to_string()),
            country: profile.country.map(|c| c.as_str().to_string()),
            dob: profile.dob.map(|d| d.to_iso()),
            updated_at: now,
            ..current
        };
        let updated = leads::update(&mut tx, &row).await?;
        if !updated {
            return Err(AppError::NotFound("lead"));
        }
        commit(tx).await?;
        Ok(row)
    }

    /// Erases the lead's personal data; its wallets and transactions stay (read-only).
    pub async fn delete_lead(&self, scope: &Scope, id: &str) -> Result<(), AppError> {
        let id: LeadId = named(id, "lead")?;
        let mut tx = self.db.begin_write().await?;
        if !leads::erase(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &id,
            Timestamp::now(),
        )
        .await?
        {
            return Err(AppError::NotFound("lead"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, lead_id = %id, "lead erased");
        Ok(())
    }

    // ----- wallets -----

    pub async fn create_wallet(
        &self,
        scope: &Scope,
        lead_id: &str,
        currency_id: &str,
    ) -> Result<WalletRow, AppError> {
        let mut errors = ValidationErrors::new();
        let lead_id = errors.check(field_id::<LeadId>("lead_id", lead_id));
        let currency_id = errors.check(field_id::<CurrencyId>("currency_id", currency_id));
        errors.into_result()?;
        let (lead_id, currency_id) = (lead_id.expect("checked"), currency_id.expect("checked"));
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let lead = leads::find(&mut tx, &scope.merchant_id, scope.env, lead_id.as_str())
            .await?
            .ok_or_else(|| AppError::field("lead_id", "no such lead"))?;
        let currency = currencies::find(&mut tx, &scope.merchant_id, currency_id.as_str())
            .await?
            .ok_or_else(|| AppError::field("currency_id", "no such currency"))?;
        if wallets::find_for_lead(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            lead.id.as_str(),
            currency.id.as_str(),
        )
        .await?
        .is_some()
        {
            return Err(AppError::duplicate(UniqueKey::WalletLeadCurrency));
        }
        check_cap(&mut tx, &scope.merchant_id, scope.env, Resource::Wallets).await?;
        let row = WalletRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: WalletId::new(),
            lead_id: lead.id,
            currency_id: currency.id,
            balance: 0,
            created_at: now,
            updated_at: now,
        };
        wallets::insert(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(row)
    }

    pub async fn wallet(&self, scope: &Scope, id: &str) -> Result<WalletRow, AppError> {
        let id: WalletId = named(id, "wallet")?;
        let mut conn = self.db.conn().await?;
        wallets::find(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("wallet"))
    }

    pub async fn list_wallets(
        &self,
        scope: &Scope,
        lead_id: Option<&str>,
        currency_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WalletRow>, AppError> {
        if !can_match::<LeadId>(lead_id) || !can_match::<CurrencyId>(currency_id) {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(wallets::list(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            lead_id,
            currency_id,
            after,
            limit,
        )
        .await?)
    }

    /// [`App::list_wallets`], each wallet with its lead's customer id and name.
    pub async fn list_wallets_with_leads(
        &self,
        scope: &Scope,
        lead_id: Option<&str>,
        currency_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<wallets::WalletWithLead>, AppError> {
        if !can_match::<LeadId>(lead_id) || !can_match::<CurrencyId>(currency_id) {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(wallets::list_with_leads(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            lead_id,
            currency_id,
            after,
            limit,
        )
        .await?)
    }

    // ----- transactions -----

    /// Checks a merchant's transaction request, without reading anything: the writer reads
    /// the wallet, its lead and the hash with the group the transaction goes in.
    pub fn check_transaction(new: &NewTransaction) -> Result<ReadyTransaction, AppError> {
        let mut errors = ValidationErrors::new();
        let kind = errors.check(TransactionKind::parse_for_api(&new.kind));
        let amount = kind.and_then(|k| errors.check(check_amount(k, new.amount)));
        let hash = errors.check(parse_hash(&new.hash));
        let description = errors.check(parse_description(new.description.as_deref()));
        if new.wallet_id.trim().is_empty() {
            errors.push(FieldError::new("wallet_id", "is required"));
        }
        errors.into_result()?;
        let (kind, amount, hash, description) = (
            kind.expect("checked"),
            amount.expect("checked"),
            hash.expect("checked"),
            description.expect("checked"),
        );
        // Text that cannot be a wallet id names no wallet: 404, as an unknown wallet does.
        let wallet_id: WalletId = named(new.wallet_id.trim(), "wallet")?;
        let fp = fingerprint(&[
            wallet_id.as_str(),
            kind.as_str(),
            &amount.to_string(),
            description.as_deref().unwrap_or(""),
        ]);
        Ok(ReadyTransaction {
            wallet_id,
            kind,
            amount,
            hash,
            fingerprint: fp,
            description,
        })
    }

    /// Checks a merchant's transaction request and finds its wallet (for a callback, which
    /// names the wallet's lead and currency); answers the earlier transaction when the hash
    /// was already used for the same request.
    pub async fn prepare_transaction(
        &self,
        scope: &Scope,
        new: &NewTransaction,
    ) -> Result<PreparedTransaction, AppError> {
        let ready = Self::check_transaction(new)?;
        let mut conn = self.db.conn().await?;
        Ok(match find_wallet(&mut conn, scope, &ready).await? {
            Found::Done(done) => PreparedTransaction::Done(done),
            Found::Wallet(wallet) => PreparedTransaction::Ready(ready, wallet),
        })
    }

    /// Writes a prepared transaction: the balance, the transaction row and (for a prod reward)
    /// one reward quota, in one database transaction. It goes through this server's ledger
    /// writer (see [`writer`]), which groups concurrent transactions into one commit; the
    /// answer comes once it is committed.
    pub async fn commit_transaction(
        &self,
        scope: &Scope,
        ready: ReadyTransaction,
    ) -> Result<Posted, AppError> {
        // The writer runs in its own task, so the request's fence goes with the item.
        let fence = punchcard_store::idempotency::FENCE
            .try_with(Clone::clone)
            .ok();
        let posted = match &self.ledger_writer {
            Some(w) => w.submit(&self.db, scope.clone(), ready, fence).await,
            None => writer::apply_alone(&self.db, &self.outbox, scope, ready, fence.as_ref()).await,
        }?;
        if !posted.replayed && posted.transaction.kind == TransactionKind::Reward {
            self.activity.points_moved(posted.transaction.amount, false);
        }
        Ok(posted)
    }

    /// Applies `work` (a change of wallets that is more than one plain transaction) through
    /// this server's ledger writer, so it shares a group's commit; `route` is the id of a
    /// wallet it changes (or of what it draws from), which picks the group writer. The answer
    /// comes once it is committed. Without a writer it commits alone.
    pub(crate) async fn write_through_ledger<W: writer::LedgerWork>(
        &self,
        route: &str,
        work: W,
    ) -> Result<W::Output, AppError> {
        match &self.ledger_writer {
            Some(w) => {
                // The writer runs in its own task, so the request's fence goes with the work.
                let fence = punchcard_store::idempotency::FENCE
                    .try_with(Clone::clone)
                    .ok();
                w.submit_work(&self.db, route, work, fence).await
            }
            None => writer::apply_work_here(&self.db, work).await,
        }
    }

    /// What this server's ledger writer has done since it started, if it runs.
    pub fn ledger_writer_stats(&self) -> Option<WriterStats> {
        self.ledger_writer.as_ref().map(LedgerWriter::stats)
    }

    /// An API request for a transaction: checked, confirmed with the key's callback URL (if it
    /// has one) before anything is written, then written. A replay of an earlier hash calls
    /// nothing.
    pub async fn create_transaction_for(
        &self,
        principal: &crate::api_keys::ApiPrincipal,
        new: &NewTransaction,
    ) -> Result<Posted, AppError> {
        use crate::callbacks::{ActionKind, PendingAction};
        let scope = Scope::from(principal);
        if principal.callback_url.is_none() {
            // Nothing to confirm: the writer reads the wallet with its group.
            let ready = Self::check_transaction(new)?;
            return self.commit_transaction(&scope, ready).await;
        }
        match self.prepare_transaction(&scope, new).await? {
            PreparedTransaction::Done(t) => Ok(Posted {
                transaction: t,
                replayed: true,
            }),
            PreparedTransaction::Ready(ready, wallet) => {
                let kind = match ready.kind {
                    TransactionKind::Reward => ActionKind::Reward,
                    _ => ActionKind::Adjust,
                };
                let action = PendingAction {
                    lead_id: Some(wallet.lead_id.clone()),
                    wallet_id: Some(wallet.id.clone()),
                    currency_id: Some(wallet.currency_id.clone()),
                    amount: Some(ready.amount),
                    hash: Some(ready.hash.clone()),
                    ..PendingAction::new(kind, principal)
                };
                self.confirm_action(principal, &action).await?;
                self.commit_transaction(&scope, ready).await
            }
        }
    }
    pub async fn create_transaction(
        &self,
        scope: &Scope,
        new: &NewTransaction,
    ) -> Result<Posted, AppError> {
        let ready = Self::check_transaction(new)?;
        self.commit_transaction(scope, ready).await
    }

    pub async fn transaction(&self, scope: &Scope, id: &str) -> Result<TransactionRow, AppError> {
        let id: WalletTransactionId = named(id, "wallet transaction")?;
        let mut conn = self.db.conn().await?;
        wallets::find_transaction(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("wallet transaction"))
    }

    /// [`App::list_transactions`], each with its wallet's currency and its lead.
    pub async fn list_transactions_with_leads(
        &self,
        scope: &Scope,
        filter: &TransactionFilter,
        after: Option<&str>,
        limit: i64,
        newest_first: bool,
    ) -> Result<Vec<wallets::TransactionWithLead>, AppError> {
        if !can_match::<WalletId>(filter.wallet_id.as_deref())
            || !can_match::<LeadId>(filter.lead_id.as_deref())
        {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(wallets::list_transactions_with_leads(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            filter,
            after,
            limit,
            newest_first,
        )
        .await?)
    }

    pub async fn list_transactions(
        &self,
        scope: &Scope,
        filter: &TransactionFilter,
        after: Option<&str>,
        limit: i64,
        newest_first: bool,
    ) -> Result<Vec<TransactionRow>, AppError> {
        if !can_match::<WalletId>(filter.wallet_id.as_deref())
            || !can_match::<LeadId>(filter.lead_id.as_deref())
        {
            return Ok(Vec::new());
        }
        let mut conn = self.db.conn().await?;
        Ok(wallets::list_transactions(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            filter,
            after,
            limit,
            newest_first,
        )
        .await?)
    }

    /// Wallets whose balance differs from the sum of their transactions (empty when sound).
    pub async fn audit_ledger(
        &self,
        merchant_id: Option<&MerchantId>,
    ) -> Result<Vec<(String, i64, i64)>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(wallets::audit(&mut conn, merchant_id).await?)
    }
}

/// A checked transaction request.
#[derive(Debug)]
pub enum PreparedTransaction {
    /// The hash was used before for the same request: this is its transaction.
    Done(TransactionRow),
    /// Checked, with its wallet as read then.
    Ready(ReadyTransaction, WalletRow),
}

/// A transaction request that passed validation.
#[derive(Debug, Clone)]
pub struct ReadyTransaction {
    pub wallet_id: WalletId,
    pub kind: TransactionKind,
    pub amount: i64,
    pub hash: String,
    pub fingerprint: String,
    pub description: Option<String>,
}

fn replay_or_mismatch(done: TransactionRow, fingerprint: &str) -> Result<Posted, AppError> {
    if done.fingerprint == fingerprint {
        Ok(Posted {
            transaction: done,
            replayed: true,
        })
    } else {
        Err(hash_reused())
    }
}
