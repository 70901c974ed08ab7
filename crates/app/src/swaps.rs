//! Swaps: contracts between two merchants' currencies (proposed by one, accepted by the
//! partner, activated by the operator, suspended by either side or the operator), and swaps of
//! a lead's points to another lead, of the same merchant or of a partner under an active
//! contract.
//!
//! A swap is written through the ledger's entry path ([`post_entry`]) in one database
//! transaction: `swap_out` on the sender's wallet (the balance guard refuses an overdraft) and
//! `swap_in` on the receiver's (created if missing), the sending lead's points for the day
//! under the contract (a guarded upsert refuses to pass the daily maximum), one swap quota of
//! the sender's merchant, and the swap itself. The `swap_out` entry carries the request's
//! hash, so a retried swap is answered, not applied again, exactly as a wallet transaction is.

use crate::webhooks::{Event, EventObject, EventType};
use futures_util::future::BoxFuture;
use punchcard_domain::campaigns::Rate;
use punchcard_domain::ledger::{parse_hash, TransactionKind};
use punchcard_domain::limits::{Quota, Resource};
use punchcard_domain::swaps::{
    amount_in, check_swap_amount, ContractLimits, ContractStatus, Direction, SuspendedBy,
};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CurrencyId, FieldError, LeadId, MerchantId, SwapContractId, SwapId, ValidationErrors, WalletId,
};
use punchcard_store::accounts;
use punchcard_store::leads::{self, LeadFilter, LeadRow};
use punchcard_store::swaps::{self, ContractRow, SwapRow};
use punchcard_store::wallets::{self, TransactionRow, WalletRow};
use punchcard_store::{api_keys, commit, currencies, Conn, Tx};

use crate::api_keys::ApiPrincipal;
use crate::callbacks::{ActionKind, PendingAction};
use crate::input::{field_id, named};
use crate::ledger::writer::LedgerWork;
use crate::ledger::{fingerprint, post_entry, Entry, Scope};
use crate::limits::{burn_quota, check_cap};
use crate::{App, AppError};

/// A contract as a merchant proposes it.
#[derive(Debug, Clone, Default)]
pub struct NewContract {
    pub partner_merchant_id: String,
    pub currency_id: String,
    pub partner_currency_id: String,
    /// Partner points one of the proposer's points buys, an exact decimal.
    pub rate: Option<String>,
    pub per_swap_max: Option<i64>,
    pub daily_max: Option<i64>,
}

/// A swap as the sender's merchant asks for it: to a lead of its own (`to_lead_id`), or to a
/// partner's lead (`contract_id` and the partner's `to_customer_id`).
#[derive(Debug, Clone, Default)]
pub struct NewSwap {
    pub from_wallet_id: String,
    pub amount: Option<i64>,
    pub hash: String,
    pub to_lead_id: Option<String>,
    pub contract_id: Option<String>,
    pub to_customer_id: Option<String>,
}

/// A swap with the ledger entries the viewing merchant may see (the other merchant's entry
/// is left out: its balance is none of the viewer's business).
#[derive(Debug, Clone)]
pub struct SwapView {
    pub swap: SwapRow,
    pub out_transaction: Option<TransactionRow>,
    pub in_transaction: Option<TransactionRow>,
    /// An earlier request with the same hash made it.
    pub replayed: bool,
}

/// A checked swap, ready to be written.
#[derive(Debug, Clone)]
struct ReadySwap {
    from: WalletRow,
    amount_out: i64,
    amount_in: i64,
    hash: String,
    fingerprint: String,
    /// `None` for a swap between two leads of one merchant.
    contract: Option<ContractRow>,
    to_merchant_id: MerchantId,
    to_lead: LeadRow,
    to_currency_id: CurrencyId,
}

/// A checked swap for the ledger writer to write.
struct SwapWork {
    app: App,
    scope: Scope,
    ready: ReadySwap,
}

impl LedgerWork for SwapWork {
    type Output = SwapView;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<SwapView, AppError>> {
        Box::pin(self.app.write_swap(tx, &self.scope, &self.ready))
    }
}

enum Prepared {
    Done(Box<SwapView>),
    Ready(Box<ReadySwap>),
}

fn hash_reused() -> AppError {
    AppError::duplicate(punchcard_store::UniqueKey::WalletTransactionHash)
}

/// The UTC day of `now`, as the daily limits count it.
fn utc_day(now: Timestamp) -> String {
    now.datetime().date().to_string()
}

impl App {
    // ----- contracts -----

    /// Proposes a contract to another merchant: `status: proposed` until the partner accepts.
    pub async fn propose_contract(
        &self,
        scope: &Scope,
        new: &NewContract,
    ) -> Result<ContractRow, AppError> {
        let mut errors = ValidationErrors::new();
        let partner: Option<MerchantId> =
            errors.check(field_id("partner_merchant_id", &new.partner_merchant_id));
        let currency: Option<CurrencyId> = errors.check(field_id("currency_id", &new.currency_id));
        let partner_currency: Option<CurrencyId> =
            errors.check(field_id("partner_currency_id", &new.partner_currency_id));
        let rate = match new.rate.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new("rate", "is required"));
                None
            }
            Some(r) => errors.check(Rate::parse(r)),
        };
        let limits = match ContractLimits::parse(new.per_swap_max, new.daily_max) {
            Ok(l) => Some(l),
            Err(e) => {
                e.into_iter().for_each(|f| errors.push(f));
                None
            }
        };
        if partner.as_ref() == Some(&scope.merchant_id) {
            errors.push(FieldError::new(
                "partner_merchant_id",
                "must be another merchant; swaps between your own leads need no contract",
            ));
        }
        errors.into_result()?;
        let (partner, currency, partner_currency, rate, limits) = (
            partner.expect("checked"),
            currency.expect("checked"),
            partner_currency.expect("checked"),
            rate.expect("checked"),
            limits.expect("checked"),
        );
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let mut errors = ValidationErrors::new();
        let partner_row = accounts::find_merchant(&mut tx, &partner).await?;
        if partner_row.is_none() {
            errors.push(FieldError::new("partner_merchant_id", "no such merchant"));
        }
        if currencies::find(&mut tx, &scope.merchant_id, currency.as_str())
            .await?
            .is_none()
        {
            errors.push(FieldError::new("currency_id", "no such currency"));
        }
        if partner_row.is_some()
            && currencies::find(&mut tx, &partner, partner_currency.as_str())
                .await?
                .is_none()
        {
            errors.push(FieldError::new(
                "partner_currency_id",
                "no such currency of the partner merchant",
            ));
        }
        errors.into_result()?;
        let row = ContractRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: SwapContractId::new(),
            partner_merchant_id: partner,
            currency_id: currency,
            partner_currency_id: partner_currency,
            rate,
            per_swap_max: limits.per_swap_max,
            daily_max: limits.daily_max,
            status: ContractStatus::Proposed,
            suspended_by: None,
            created_at: now,
            updated_at: now,
        };
        swaps::insert_contract(&mut tx, &row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, contract_id = %row.id,
            partner_merchant_id = %row.partner_merchant_id, "swap contract proposed");
        Ok(row)
    }

    /// A contract the merchant is a party to, in its env.
    pub async fn contract(&self, scope: &Scope, id: &str) -> Result<ContractRow, AppError> {
        let id: SwapContractId = named(id, "swap contract")?;
        let mut conn = self.db.conn().await?;
        swaps::find_contract(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("swap contract"))
    }

    /// The contracts the merchant proposed or was proposed, in its env, in id order.
    pub async fn list_contracts(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ContractRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(swaps::list_contracts(
            &mut conn,
            Some((&scope.merchant_id, scope.env)),
            after,
            limit,
        )
        .await?)
    }

    /// The partner accepts a proposed contract; it then waits for the operator's approval.
    pub async fn accept_contract(&self, scope: &Scope, id: &str) -> Result<ContractRow, AppError> {
        let contract = self.contract(scope, id).await?;
        if contract.partner_merchant_id != scope.merchant_id {
            return Err(AppError::Forbidden(
                "only the partner merchant accepts a swap contract".to_string(),
            ));
        }
        self.move_contract(
            &contract.id,
            &[ContractStatus::Proposed],
            ContractStatus::Accepted,
            None,
        )
        .await
    }

    /// Either merchant suspends a contract: no swap goes through it, in either direction,
    /// until the operator approves it again.
    pub async fn suspend_contract(&self, scope: &Scope, id: &str) -> Result<ContractRow, AppError> {
        let contract = self.contract(scope, id).await?;
        let by = if contract.merchant_id == scope.merchant_id {
            SuspendedBy::Proposer
        } else {
            SuspendedBy::Partner
        };
        if contract.status == ContractStatus::Suspended {
            return Ok(contract);
        }
        self.move_contract(
            &contract.id,
            &[
                ContractStatus::Proposed,
                ContractStatus::Accepted,
                ContractStatus::Active,
            ],
            ContractStatus::Suspended,
            Some(by),
        )
        .await
    }

    /// Every contract of every merchant and env (the operator's list).
    pub async fn all_contracts(&self) -> Result<Vec<ContractRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(swaps::list_contracts(&mut conn, None, None, i64::MAX).await?)
    }

    /// The operator activates an accepted (or suspended) contract.
    pub async fn approve_contract(&self, id: &str) -> Result<ContractRow, AppError> {
        let id: SwapContractId = named(id, "swap contract")?;
        let current = self.contract_by_id(&id).await?;
        if current.status == ContractStatus::Proposed {
            return Err(AppError::Conflict(
                "the partner merchant has not accepted this contract yet".to_string(),
            ));
        }
        if current.status == ContractStatus::Active {
            return Ok(current);
        }
        self.move_contract(
            &id,
            &[ContractStatus::Accepted, ContractStatus::Suspended],
            ContractStatus::Active,
            None,
        )
        .await
    }

    /// The operator suspends a contract, whatever its state.
    pub async fn operator_suspend_contract(&self, id: &str) -> Result<ContractRow, AppError> {
        let id: SwapContractId = named(id, "swap contract")?;
        let current = self.contract_by_id(&id).await?;
        if current.status == ContractStatus::Suspended {
            return Ok(current);
        }
        self.move_contract(
            &id,
            &[
                ContractStatus::Proposed,
                ContractStatus::Accepted,
                ContractStatus::Active,
            ],
            ContractStatus::Suspended,
            Some(SuspendedBy::Operator),
        )
        .await
    }

    async fn contract_by_id(&self, id: &SwapContractId) -> Result<ContractRow, AppError> {
        let mut conn = self.db.conn().await?;
        swaps::find_contract_by_id(&mut conn, id.as_str())
            .await?
            .ok_or(AppError::NotFound("swap contract"))
    }

    async fn move_contract(
        &self,
        id: &SwapContractId,
        from: &[ContractStatus],
        to: ContractStatus,
        by: Option<SuspendedBy>,
    ) -> Result<ContractRow, AppError> {
        let mut tx = self.db.begin_write().await?;
        let moved = swaps::set_contract_status(&mut tx, id, from, to, by, Timestamp::now()).await?;
        let row = swaps::find_contract_by_id(&mut tx, id.as_str())
            .await?
            .ok_or(AppError::NotFound("swap contract"))?;
        if !moved {
            return Err(AppError::Conflict(format!(
                "the contract is {}; it cannot become {} from there",
                row.status.as_str(),
                to.as_str()
            )));
        }
        commit(tx).await?;
        tracing::info!(contract_id = %id, status = to.as_str(), "swap contract changed");
        Ok(row)
    }

    // ----- lead-to-lead swaps switch -----

    /// Whether the merchant's leads may swap points with each other.
    pub async fn lead_swaps(&self, merchant_id: &MerchantId) -> Result<bool, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(swaps::lead_swaps(&mut conn, merchant_id).await?)
    }

    /// Switches lead-to-lead swaps on or off (the merchant's dashboard, or the operator).
    pub async fn set_lead_swaps(&self, merchant_id: &MerchantId, on: bool) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        if !swaps::set_lead_swaps(&mut tx, merchant_id, on).await? {
            return Err(AppError::NotFound("merchant"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, on, "lead-to-lead swaps switched");
        Ok(())
    }

    // ----- swaps -----

    /// An API request for a swap: checked, confirmed with the callback URLs of both merchants
    /// (the asking key's, and the receiving merchant's keys' in this env) before anything is
    /// written, then written. A replay of an earlier hash calls nothing.
    pub async fn create_swap_for(
        &self,
        principal: &ApiPrincipal,
        new: &NewSwap,
    ) -> Result<SwapView, AppError> {
        let scope = Scope::from(principal);
        let ready = match self.prepare_swap(&scope, new).await? {
            Prepared::Done(view) => return Ok(*view),
            Prepared::Ready(ready) => ready,
        };
        let out = PendingAction {
            lead_id: Some(ready.from.lead_id.clone()),
            wallet_id: Some(ready.from.id.clone()),
            currency_id: Some(ready.from.currency_id.clone()),
            amount: Some(-ready.amount_out),
            hash: Some(ready.hash.clone()),
            ..PendingAction::new(ActionKind::Swap, principal)
        };
        self.confirm_action(principal, &out).await?;
        if ready.to_merchant_id != scope.merchant_id {
            self.confirm_with_receiver(&scope, &ready).await?;
        }
        self.commit_swap(&scope, *ready).await
    }

    /// Checks and writes a swap in one go (no callback in between).
    pub async fn create_swap(&self, scope: &Scope, new: &NewSwap) -> Result<SwapView, AppError> {
        match self.prepare_swap(scope, new).await? {
            Prepared::Done(view) => Ok(*view),
            Prepared::Ready(ready) => self.commit_swap(scope, *ready).await,
        }
    }

    /// Asks every callback URL of the receiving merchant's live keys in this env (each once)
    /// to approve the incoming points.
    async fn confirm_with_receiver(
        &self,
        scope: &Scope,
        ready: &ReadySwap,
    ) -> Result<(), AppError> {
        let keys = {
            let mut conn = self.db.conn().await?;
            api_keys::list(&mut conn, &ready.to_merchant_id, scope.env).await?
        };
        let mut asked: Vec<String> = Vec::new();
        for key in keys {
            let Some(url) = key.callback_url.clone() else {
                continue;
            };
            if key.revoked_at.is_some() || asked.contains(&url) {
                continue;
            }
            asked.push(url.clone());
            let principal = ApiPrincipal {
                merchant_id: key.merchant_id.clone(),
                env: key.env,
                key_id: key.id.clone(),
                callback_url: Some(url),
                signing_secret: key.signing_secret.clone(),
                rate_limit_per_minute: 0,
            };
            let incoming = PendingAction {
                lead_id: Some(ready.to_lead.id.clone()),
                currency_id: Some(ready.to_currency_id.clone()),
                amount: Some(ready.amount_in),
                hash: Some(ready.hash.clone()),
                ..PendingAction::new(ActionKind::Swap, &principal)
            };
            self.confirm_action(&principal, &incoming).await?;
        }
        Ok(())
    }

    async fn prepare_swap(&self, scope: &Scope, new: &NewSwap) -> Result<Prepared, AppError> {
        let mut errors = ValidationErrors::new();
        let amount = errors.check(check_swap_amount(new.amount));
        let hash = errors.check(parse_hash(&new.hash));
        let from: Option<WalletId> = errors.check(field_id("from_wallet_id", &new.from_wallet_id));
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (to_lead_id, contract_id, to_customer_id) = (
            text(&new.to_lead_id),
            text(&new.contract_id),
            text(&new.to_customer_id),
        );
        enum Target {
            Own(LeadId),
            Partner(SwapContractId, String),
        }
        let target = match (&to_lead_id, &contract_id, &to_customer_id) {
            (Some(lead), None, None) => errors
                .check(field_id::<LeadId>("to_lead_id", lead))
                .map(Target::Own),
            (None, Some(contract), Some(customer)) => errors
                .check(field_id::<SwapContractId>("contract_id", contract))
                .map(|c| Target::Partner(c, customer.clone())),
            (None, Some(_), None) => {
                errors.push(FieldError::new(
                    "to_customer_id",
                    "is required with contract_id: the partner's customer id of the receiving lead",
                ));
                None
            }
            (None, None, Some(_)) => {
                errors.push(FieldError::new(
                    "contract_id",
                    "is required with to_customer_id",
                ));
                None
            }
            (None, None, None) => {
                errors.push(FieldError::new(
                    "to_lead_id",
                    "is required: give to_lead_id (your own lead), or contract_id and to_customer_id (a partner's lead)",
                ));
                None
            }
            _ => {
                errors.push(FieldError::new(
                    "to_lead_id",
                    "give either to_lead_id, or contract_id and to_customer_id, not both",
                ));
                None
            }
        };
        errors.into_result()?;
        let (amount, hash, from, target) = (
            amount.expect("checked"),
            hash.expect("checked"),
            from.expect("checked"),
            target.expect("checked"),
        );
        let fp = fingerprint(&[
            "swap",
            from.as_str(),
            &amount.to_string(),
            to_lead_id.as_deref().unwrap_or(""),
            contract_id.as_deref().unwrap_or(""),
            to_customer_id.as_deref().unwrap_or(""),
        ]);
        let mut conn = self.db.conn().await?;
        if let Some(view) = self.swap_replayed(&mut conn, scope, &hash, &fp).await? {
            return Ok(Prepared::Done(Box::new(view)));
        }
        let found = wallets::find_for_transaction(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            from.as_str(),
            &hash,
        )
        .await?
        .ok_or_else(|| AppError::field("from_wallet_id", "no such wallet"))?;
        if !found.lead_open {
            return Err(AppError::Conflict(
                "the lead of this wallet was deleted; its wallet is closed".to_string(),
            ));
        }
        let from = found.wallet;
        let ready = match target {
            Target::Own(lead_id) => {
                if !swaps::lead_swaps(&mut conn, &scope.merchant_id).await? {
                    return Err(AppError::Forbidden(
                        "swaps between your own leads are switched off; switch them on in the dashboard's Swaps page".to_string(),
                    ));
                }
                let to_lead =
                    leads::find(&mut conn, &scope.merchant_id, scope.env, lead_id.as_str())
                        .await?
                        .ok_or_else(|| AppError::field("to_lead_id", "no such lead"))?;
                if to_lead.id == from.lead_id {
                    return Err(AppError::field(
                        "to_lead_id",
                        "must be another lead than the wallet's",
                    ));
                }
                ReadySwap {
                    amount_out: amount,
                    amount_in: amount,
                    hash,
                    fingerprint: fp,
                    contract: None,
                    to_merchant_id: scope.merchant_id.clone(),
                    to_lead,
                    to_currency_id: from.currency_id.clone(),
                    from,
                }
            }
            Target::Partner(contract_id, customer_id) => {
                let contract = swaps::find_contract(
                    &mut conn,
                    &scope.merchant_id,
                    scope.env,
                    contract_id.as_str(),
                )
                .await?
                .ok_or_else(|| AppError::field("contract_id", "no such swap contract"))?;
                let ready = self
                    .partner_swap(&mut conn, scope, contract, from, amount, customer_id)
                    .await?;
                ReadySwap {
                    hash,
                    fingerprint: fp,
                    ..ready
                }
            }
        };
        Ok(Prepared::Ready(Box::new(ready)))
    }

    /// The swap of `amount` from `from` to the partner's lead `customer_id` under `contract`.
    async fn partner_swap(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        contract: ContractRow,
        from: WalletRow,
        amount: i64,
        customer_id: String,
    ) -> Result<ReadySwap, AppError> {
        if contract.status != ContractStatus::Active {
            return Err(AppError::Conflict(format!(
                "the swap contract is {}; swaps need an active contract",
                contract.status.as_str()
            )));
        }
        let (direction, currency, to_merchant, to_currency) =
            if contract.merchant_id == scope.merchant_id {
                (
                    Direction::FromProposer,
                    &contract.currency_id,
                    contract.partner_merchant_id.clone(),
                    contract.partner_currency_id.clone(),
                )
            } else {
                (
                    Direction::FromPartner,
                    &contract.partner_currency_id,
                    contract.merchant_id.clone(),
                    contract.currency_id.clone(),
                )
            };
        if &from.currency_id != currency {
            return Err(AppError::field(
                "from_wallet_id",
                "is not in the currency this contract swaps from",
            ));
        }
        if amount > contract.per_swap_max {
            return Err(AppError::LimitReached(format!(
                "at most {} points in one swap under this contract",
                contract.per_swap_max
            )));
        }
        if amount > contract.daily_max {
            return Err(AppError::LimitReached(format!(
                "at most {} points a day per lead under this contract",
                contract.daily_max
            )));
        }
        let credited = amount_in(contract.rate, direction, amount);
        if credited == 0 {
            return Err(AppError::field(
                "amount",
                "is too small to buy one point at this contract's rate",
            ));
        }
        match accounts::find_merchant(conn, &to_merchant).await? {
            Some(m) if m.status.as_str() == "active" => {}
            _ => {
                return Err(AppError::Forbidden(
                    "the partner merchant cannot take swaps now".to_string(),
                ))
            }
        }
        let found = leads::list(
            conn,
            &to_merchant,
            scope.env,
            &LeadFilter {
                customer_id: Some(customer_id),
                ..LeadFilter::default()
            },
            None,
            1,
        )
        .await?;
        let to_lead = found.into_iter().next().ok_or_else(|| {
            AppError::field(
                "to_customer_id",
                "no lead of the partner merchant has this customer id",
            )
        })?;
        Ok(ReadySwap {
            from,
            amount_out: amount,
            amount_in: credited,
            hash: String::new(),
            fingerprint: String::new(),
            contract: Some(contract),
            to_merchant_id: to_merchant,
            to_lead,
            to_currency_id: to_currency,
        })
    }

    /// The swap an earlier request with `hash` made, if it was the same request; an
    /// `idempotency_mismatch` if the hash was used for anything else.
    async fn swap_replayed(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        hash: &str,
        fp: &str,
    ) -> Result<Option<SwapView>, AppError> {
        let Some(done) = wallets::find_by_hash(conn, &scope.merchant_id, scope.env, hash).await?
        else {
            return Ok(None);
        };
        if done.kind != TransactionKind::SwapOut || done.fingerprint != fp {
            return Err(hash_reused());
        }
        let swap = swaps::find_swap_by_hash(conn, &scope.merchant_id, scope.env, hash)
            .await?
            .ok_or_else(|| AppError::Conflict("retry the request".to_string()))?;
        let mut view = self.swap_view(conn, &scope.merchant_id, swap).await?;
        view.replayed = true;
        Ok(Some(view))
    }

    /// Writes a checked swap through the ledger writer: both entries, the contract's daily
    /// usage, the swap quota and the swap itself, in one database transaction.
    async fn commit_swap(&self, scope: &Scope, ready: ReadySwap) -> Result<SwapView, AppError> {
        let from = ready.from.id.clone();
        let (hash, fp) = (ready.hash.clone(), ready.fingerprint.clone());
        let work = SwapWork {
            app: self.clone(),
            scope: scope.clone(),
            ready,
        };
        let result = self.write_through_ledger(from.as_str(), work).await;
        match result {
            Ok(view) => {
                if !view.replayed {
                    tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env,
                        swap_id = %view.swap.id, to_merchant_id = %view.swap.to_merchant_id, "swap made");
                }
                Ok(view)
            }
            // The hash's unique key refused the `swap_out` entry: a concurrent request with
            // the same hash committed first. Answer as it did.
            Err(AppError::IdempotencyMismatch(_)) => {
                let mut conn = self.db.conn().await?;
                self.swap_replayed(&mut conn, scope, &hash, &fp)
                    .await?
                    .ok_or_else(|| AppError::Conflict("retry the request".to_string()))
            }
            Err(e) => Err(e),
        }
    }

    /// The writes of a checked swap, in `tx`; an earlier swap with its hash is answered as a
    /// replay.
    async fn write_swap(
        &self,
        tx: &mut Tx,
        scope: &Scope,
        ready: &ReadySwap,
    ) -> Result<SwapView, AppError> {
        let now = Timestamp::now();
        if let Some(view) = self
            .swap_replayed(tx, scope, &ready.hash, &ready.fingerprint)
            .await?
        {
            return Ok(view);
        }
        // The contract as it is now: a suspension that committed since the check stops it.
        if let Some(c) = &ready.contract {
            let now_status = swaps::find_contract_by_id(tx, c.id.as_str())
                .await?
                .map(|c| c.status);
            if now_status != Some(ContractStatus::Active) {
                return Err(AppError::Conflict(
                    "the swap contract is no longer active".to_string(),
                ));
            }
        }
        let to_scope = Scope::new(&ready.to_merchant_id, scope.env);
        let to_wallet = match wallets::find_for_lead(
            tx,
            &ready.to_merchant_id,
            scope.env,
            ready.to_lead.id.as_str(),
            ready.to_currency_id.as_str(),
        )
        .await?
        {
            Some(w) => w,
            None => {
                check_cap(tx, &ready.to_merchant_id, scope.env, Resource::Wallets).await?;
                wallets::insert_or_find(
                    tx,
                    &WalletRow {
                        merchant_id: ready.to_merchant_id.clone(),
                        env: scope.env,
                        id: WalletId::new(),
                        lead_id: ready.to_lead.id.clone(),
                        currency_id: ready.to_currency_id.clone(),
                        balance: 0,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .await?
            }
        };
        // Both wallets locked in the ledger's global order (merchant, env, wallet id), so
        // swaps in opposite directions and the ledger writer never wait on each other in a
        // cycle.
        let mut order = [
            (&ready.from.merchant_id, &ready.from.id),
            (&to_wallet.merchant_id, &to_wallet.id),
        ];
        order.sort_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));
        for (merchant, wallet) in order {
            wallets::lock_for_group(tx, merchant, scope.env, &[wallet], &[]).await?;
        }
        let id = SwapId::new();
        let api_key_id = scope.api_key_id.as_ref().map(|k| k.to_string());
        let out = post_entry(
            tx,
            scope,
            Entry {
                wallet: &ready.from,
                kind: TransactionKind::SwapOut,
                amount: -ready.amount_out,
                hash: ready.hash.clone(),
                fingerprint: ready.fingerprint.clone(),
                description: Some(format!("Swap to {}", ready.to_lead.customer_id)),
                reference: Some(id.to_string()),
                api_key_id: api_key_id.clone(),
            },
            now,
        )
        .await?;
        let from_customer = leads::find(
            tx,
            &scope.merchant_id,
            scope.env,
            ready.from.lead_id.as_str(),
        )
        .await?
        .map(|l| l.customer_id)
        .unwrap_or_default();
        let incoming = post_entry(
            tx,
            &to_scope,
            Entry {
                wallet: &to_wallet,
                kind: TransactionKind::SwapIn,
                amount: ready.amount_in,
                hash: format!("#swap:{id}"),
                fingerprint: String::new(),
                description: Some(if ready.contract.is_some() {
                    "Swap from a partner".to_string()
                } else {
                    format!("Swap from {from_customer}")
                }),
                reference: Some(id.to_string()),
                api_key_id: None,
            },
            now,
        )
        .await?;
        if let Some(c) = &ready.contract {
            if !swaps::add_usage(
                tx,
                &scope.merchant_id,
                scope.env,
                &c.id,
                &ready.from.lead_id,
                &utc_day(now),
                ready.amount_out,
                c.daily_max,
            )
            .await?
            {
                return Err(AppError::LimitReached(format!(
                    "at most {} points a day per lead under this contract; this lead's swaps today would pass it",
                    c.daily_max
                )));
            }
        }
        burn_quota(tx, &scope.merchant_id, scope.env, &[Quota::Swaps]).await?;
        let swap = SwapRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id,
            hash: ready.hash.clone(),
            contract_id: ready.contract.as_ref().map(|c| c.id.clone()),
            from_wallet_id: ready.from.id.clone(),
            from_lead_id: ready.from.lead_id.clone(),
            to_merchant_id: ready.to_merchant_id.clone(),
            to_wallet_id: to_wallet.id.clone(),
            to_lead_id: ready.to_lead.id.clone(),
            amount_out: ready.amount_out,
            amount_in: ready.amount_in,
            out_transaction_id: out.id.clone(),
            in_transaction_id: incoming.id.clone(),
            api_key_id,
            created_at: now,
        };
        swaps::insert_swap(tx, &swap).await?;
        let same_merchant = swap.to_merchant_id == scope.merchant_id;
        let view = SwapView {
            swap,
            out_transaction: Some(out),
            in_transaction: same_merchant.then_some(incoming.clone()),
            replayed: false,
        };
        let mut events = vec![Event::new(
            EventType::SwapCompleted,
            EventObject::Swap(&view),
        )];
        if let Some(out) = &view.out_transaction {
            events.push(Event::new(
                EventType::WalletTransactionCreated,
                EventObject::WalletTransaction(out),
            ));
        }
        if same_merchant {
            events.push(Event::new(
                EventType::WalletTransactionCreated,
                EventObject::WalletTransaction(&incoming),
            ));
        }
        self.emit(tx, scope, &events).await?;
        if !same_merchant {
            // The partner hears of the points its lead received.
            self.emit(
                tx,
                &to_scope,
                &[Event::new(
                    EventType::WalletTransactionCreated,
                    EventObject::WalletTransaction(&incoming),
                )],
            )
            .await?;
        }
        Ok(view)
    }

    /// A swap with the entries `viewer` may see.
    async fn swap_view(
        &self,
        conn: &mut Conn,
        viewer: &MerchantId,
        swap: SwapRow,
    ) -> Result<SwapView, AppError> {
        let out_transaction = if &swap.merchant_id == viewer {
            wallets::find_transaction(
                conn,
                &swap.merchant_id,
                swap.env,
                swap.out_transaction_id.as_str(),
            )
            .await?
        } else {
            None
        };
        let in_transaction = if &swap.to_merchant_id == viewer {
            wallets::find_transaction(
                conn,
                &swap.to_merchant_id,
                swap.env,
                swap.in_transaction_id.as_str(),
            )
            .await?
        } else {
            None
        };
        Ok(SwapView {
            swap,
            out_transaction,
            in_transaction,
            replayed: false,
        })
    }

    /// A swap the merchant sent or received, in its env.
    pub async fn swap(&self, scope: &Scope, id: &str) -> Result<SwapView, AppError> {
        let id: SwapId = named(id, "swap")?;
        let mut conn = self.db.conn().await?;
        let swap = swaps::find_swap(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("swap"))?;
        self.swap_view(&mut conn, &scope.merchant_id, swap).await
    }

    /// The swaps the merchant sent or received in its env: in id order after `after`, or
    /// newest first below it.
    pub async fn list_swaps(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: i64,
        newest_first: bool,
    ) -> Result<Vec<SwapView>, AppError> {
        let mut conn = self.db.conn().await?;
        let rows = swaps::list_swaps(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            after,
            limit,
            newest_first,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for swap in rows {
            out.push(self.swap_view(&mut conn, &scope.merchant_id, swap).await?);
        }
        Ok(out)
    }

    /// Points `lead_id` swapped today (UTC) under `contract_id`.
    pub async fn swapped_today(
        &self,
        scope: &Scope,
        contract_id: &SwapContractId,
        lead_id: &LeadId,
    ) -> Result<i64, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(swaps::usage(
            &mut conn,
            &scope.merchant_id,
            contract_id,
            lead_id,
            &utc_day(Timestamp::now()),
        )
        .await?)
    }
}

impl App {
    /// The codes of the currencies some contracts of this merchant name (its own and its
    /// partners'), by currency id, so each side reads the other's currency by its code.
    pub async fn contract_currency_codes(
        &self,
        scope: &Scope,
        contracts: &[ContractRow],
    ) -> Result<std::collections::HashMap<String, String>, AppError> {
        let ids: Vec<&str> = contracts
            .iter()
            .filter(|c| {
                c.merchant_id == scope.merchant_id || c.partner_merchant_id == scope.merchant_id
            })
            .flat_map(|c| [c.currency_id.as_str(), c.partner_currency_id.as_str()])
            .collect();
        let mut conn = self.db.conn().await?;
        Ok(currencies::codes_of(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|(id, code)| (id.to_string(), code))
            .collect())
    }

    /// The customer ids and names of some of this merchant's leads, by lead id; ids of other
    /// merchants' leads find nothing.
    pub async fn lead_labels(
        &self,
        scope: &Scope,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, leads::LeadLabel>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(leads::labels(&mut conn, &scope.merchant_id, scope.env, ids)
            .await?
            .into_iter()
            .map(|(id, label)| (id.to_string(), label))
            .collect())
    }
}
