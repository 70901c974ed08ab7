//! The counter: what store staff do in the partner app. Staff give a scanned lead a point
//! grant the merchant configured or a deal, mark coupons used, display a short-lived code a
//! lead claims once from the member page, and show a store's *join* code that turns a new
//! customer into a lead. Every such action is logged with its store and staff member, in the
//! transaction that does it, for the counter's analytics.

use futures_util::future::BoxFuture;
use punchcard_domain::coupons::CouponMode;
use punchcard_domain::ledger::{parse_hash, CustomerId, LeadInput, LeadProfile, TransactionKind};
use punchcard_domain::limits::Quota;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CounterActionId, CounterClaimId, CouponId, CurrencyId, DealId, FieldError, LeadId, MemberId,
    MerchantId, PointGrantId, StoreId, ValidationErrors,
};
use punchcard_store::catalog;
use punchcard_store::counter::{self, ActionRow, ClaimRow, CounterDay, PointGrantRow};
use punchcard_store::coupons::{CouponRow, DealTerms};
use punchcard_store::deals::DealRow;
use punchcard_store::leads::{self, LeadFilter, LeadRow};
use punchcard_store::stores::StoreRow;
use punchcard_store::wallets::TransactionRow;
use punchcard_store::{commit, currencies, Conn, Tx};
use time::Duration;

pub use punchcard_store::counter::ActionKind;

use crate::input::{field_id, named};
use crate::ledger::writer::LedgerWork;
use crate::ledger::{post_entry, Entry, Scope};
use crate::limits::burn_quota;
use crate::stats::DayRange;
use crate::tokens::{Token, TokenKind};
use crate::webhooks::{Event, EventObject, EventType};
use crate::{secrets, App, AppError};

/// How long a displayed code can be claimed.
pub const CLAIM_LIFETIME: Duration = Duration::minutes(2);

/// The most point grants an environment keeps in use.
pub const MAX_GRANTS: usize = 50;

/// The largest grant, in points.
pub const MAX_GRANT_POINTS: i64 = 1_000_000;

/// Who acts at the counter: the merchant and env, the staff member and the store they are at.
#[derive(Debug, Clone)]
pub struct Counter {
    pub scope: Scope,
    pub member_id: MemberId,
    pub store_id: Option<StoreId>,
}

impl Counter {
    /// Logs an action in the caller's write transaction.
    pub(crate) async fn log(
        &self,
        conn: &mut Conn,
        kind: ActionKind,
        lead_id: Option<&LeadId>,
        points: i64,
        reference: Option<String>,
        hash: Option<String>,
    ) -> Result<(), AppError> {
        counter::insert_action(
            conn,
            &ActionRow {
                merchant_id: self.scope.merchant_id.clone(),
                env: self.scope.env,
                id: CounterActionId::new(),
                kind,
                store_id: self.store_id.clone(),
                member_id: Some(self.member_id.clone()),
                lead_id: lead_id.cloned(),
                points,
                reference,
                hash,
                created_at: Timestamp::now(),
            },
        )
        .await?;
        Ok(())
    }
}

/// What staff can give: a point grant or a deal (a coupon in reward mode).
#[derive(Debug, Clone)]
pub enum Gift {
    Grant(PointGrantRow),
    Deal(DealTerms),
}

impl Gift {
    /// In words, for the confirmation.
    pub fn label(&self) -> String {
        match self {
            Gift::Grant(g) => format!("{} points ({})", g.points, g.name),
            Gift::Deal(d) => d.name.clone(),
        }
    }
}

/// What a give did.
#[derive(Debug, Clone)]
pub struct Given {
    /// In words: "50 points (Coffee stamp)" or the deal's name.
    pub label: String,
    pub transaction: Option<TransactionRow>,
    pub coupon: Option<CouponRow>,
    /// The same form was sent before: nothing more was given.
    pub replayed: bool,
}

/// A displayed code and what it gives.
#[derive(Debug, Clone)]
pub struct ClaimView {
    pub claim: ClaimRow,
    pub label: String,
}

impl ClaimView {
    pub fn status(&self, now: Timestamp) -> &'static str {
        if self.claim.claimed_at.is_some() {
            "claimed"
        } else if self.claim.expires_at.unix() <= now.unix() {
            "expired"
        } else {
            "open"
        }
    }
}

/// A new customer's answers on a store's join form.
#[derive(Debug, Clone, Default)]
pub struct JoinForm {
    pub name: String,
    pub email: String,
    pub mobile: String,
    pub consent: bool,
}

/// The counter's figures of a range of days.
#[derive(Debug, Clone)]
pub struct CounterStats {
    pub range: DayRange,
    pub totals: CounterDay,
    pub by_day: Vec<(punchcard_domain::campaigns::CalendarDate, CounterDay)>,
}

/// The form value of a gift: a grant's id or a deal's.
enum GiftId {
    Grant(PointGrantId),
    Deal(DealId),
}

fn gift_id(s: &str) -> Result<GiftId, AppError> {
    let s = s.trim();
    if s.starts_with(PointGrantId::PREFIX) {
        Ok(GiftId::Grant(field_id("gift", s)?))
    } else if s.starts_with(DealId::PREFIX) {
        Ok(GiftId::Deal(field_id("gift", s)?))
    } else {
        Err(AppError::field("gift", "choose a point grant or a deal"))
    }
}

/// The gift of `id`, as it stands now.
async fn find_gift(
    conn: &mut Conn,
    scope: &Scope,
    id: &GiftId,
    now: Timestamp,
) -> Result<Gift, AppError> {
    match id {
        GiftId::Grant(g) => counter::find_grant(conn, &scope.merchant_id, scope.env, g.as_str())
            .await?
            .map(Gift::Grant)
            .ok_or_else(|| AppError::field("gift", "this point grant is no longer offered")),
        GiftId::Deal(d) => Ok(Gift::Deal(
            crate::coupons::deal_on_sale(conn, scope, d, now)
                .await
                .map_err(|e| match e {
                    AppError::Validation(_) | AppError::NotFound(_) => {
                        AppError::field("gift", "this deal is not on offer now")
                    }
                    other => other,
                })?,
        )),
    }
}

/// Gives `gift` to `lead` in the caller's write transaction: points through the ledger (one
/// reward quota), or a coupon of the deal in reward mode. `hash` is the server-made retry key.
async fn give_in(
    conn: &mut Conn,
    scope: &Scope,
    lead: &LeadRow,
    gift: &Gift,
    hash: &str,
    now: Timestamp,
) -> Result<(Option<TransactionRow>, Option<CouponRow>), AppError> {
    match gift {
        Gift::Grant(g) => {
            let wallet =
                crate::campaigns::open_wallet(conn, scope, lead, &g.currency_id, now).await?;
            let posted = post_entry(
                conn,
                scope,
                Entry {
                    wallet: &wallet,
                    kind: TransactionKind::Reward,
                    amount: g.points,
                    hash: hash.to_string(),
                    fingerprint: String::new(),
                    description: Some(format!("At the counter: {}", g.name)),
                    reference: Some(g.id.to_string()),
                    api_key_id: None,
                },
                now,
            )
            .await?;
            burn_quota(conn, &scope.merchant_id, scope.env, &[Quota::Rewards]).await?;
            Ok((Some(posted), None))
        }
        Gift::Deal(d) => {
            let ready = crate::coupons::ReadyCoupon {
                deal: d.clone(),
                lead_id: lead.id.clone(),
                mode: CouponMode::Reward,
                wallet: None,
                points: 0,
                hash: hash.to_string(),
                fingerprint: String::new(),
            };
            let coupon =
                crate::coupons::issue_coupon(conn, scope, ready, CouponId::new(), now).await?;
            Ok((None, Some(coupon)))
        }
    }
}

/// The events of a give: the transaction written, or the coupon issued.
fn given_events<'a>(
    transaction: &'a Option<TransactionRow>,
    coupon: &'a Option<CouponRow>,
) -> Vec<Event<'a>> {
    let mut events = Vec::new();
    if let Some(t) = transaction {
        events.push(Event::new(
            EventType::WalletTransactionCreated,
            EventObject::WalletTransaction(t),
        ));
    }
    if let Some(c) = coupon {
        events.push(Event::new(EventType::CouponIssued, EventObject::Coupon(c)));
    }
    events
}

fn present(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// A give at the counter, checked, for the ledger writer to write.
struct CounterGive {
    app: App,
    at: Counter,
    lead: LeadRow,
    gift: GiftId,
    /// The server-made retry key of the give.
    key: String,
}

impl LedgerWork for CounterGive {
    type Output = Given;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Given, AppError>> {
        Box::pin(self.write(tx))
    }
}

impl CounterGive {
    /// The give's writes in `tx`: the gift as it stands now given (points or a coupon), the
    /// counter's log and the events; an earlier give of the key is answered as a replay.
    async fn write(&self, tx: &mut Tx) -> Result<Given, AppError> {
        let (app, at, lead, gift, key) = (&self.app, &self.at, &self.lead, &self.gift, &self.key);
        let scope = &at.scope;
        let now = Timestamp::now();
        if let Some(done) =
            counter::find_action_by_hash(tx, &scope.merchant_id, scope.env, key).await?
        {
            return Ok(Given {
                label: if done.points > 0 {
                    format!("{} points", done.points)
                } else {
                    "the deal".to_string()
                },
                transaction: None,
                coupon: None,
                replayed: true,
            });
        }
        let found = find_gift(tx, scope, gift, now).await?;
        let (transaction, coupon) = give_in(tx, scope, lead, &found, key, now).await?;
        let (kind, points, reference) = match (&transaction, &coupon) {
            (Some(t), _) => (ActionKind::PointsGiven, t.amount, t.id.to_string()),
            (_, Some(c)) => (ActionKind::DealGiven, 0, c.id.to_string()),
            _ => unreachable!("a give gives something"),
        };
        at.log(
            tx,
            kind,
            Some(&lead.id),
            points,
            Some(reference),
            Some(key.clone()),
        )
        .await?;
        app.emit(tx, scope, &given_events(&transaction, &coupon))
            .await?;
        Ok(Given {
            label: found.label(),
            transaction,
            coupon,
            replayed: false,
        })
    }
}

/// A displayed code claimed by a lead, for the ledger writer to write.
struct DisplayedClaim {
    app: App,
    lead: LeadRow,
    claim: ClaimRow,
}

impl LedgerWork for DisplayedClaim {
    type Output = Given;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Given, AppError>> {
        Box::pin(self.write(tx))
    }
}

impl DisplayedClaim {
    /// The claim's writes in `tx`: the code taken (once), the gift given, the counter's log
    /// and the events.
    async fn write(&self, tx: &mut Tx) -> Result<Given, AppError> {
        let (app, lead, claim) = (&self.app, &self.lead, &self.claim);
        let scope = Scope::new(&lead.merchant_id, lead.env);
        let now = Timestamp::now();
        if !counter::take_claim(tx, &scope.merchant_id, scope.env, &claim.id, &lead.id, now).await?
        {
            return Err(AppError::Conflict(
                "this code was already claimed or has expired; ask for a new one".to_string(),
            ));
        }
        let gift = match (&claim.grant_id, &claim.deal_id) {
            (Some(g), _) => find_gift(tx, &scope, &GiftId::Grant(g.clone()), now).await?,
            (_, Some(d)) => find_gift(tx, &scope, &GiftId::Deal(d.clone()), now).await?,
            _ => return Err(AppError::NotFound("code")),
        };
        let key = format!("#claim:{}", claim.id);
        let (transaction, coupon) = give_in(tx, &scope, lead, &gift, &key, now).await?;
        let wallet_tx = transaction.as_ref().map(|t| t.id.to_string());
        let coupon_id = coupon.as_ref().map(|c| c.id.to_string());
        counter::set_claim_result(
            tx,
            &scope.merchant_id,
            &claim.id,
            wallet_tx.as_deref(),
            coupon_id.as_deref(),
        )
        .await?;
        let at = Counter {
            scope: scope.clone(),
            member_id: claim.member_id.clone(),
            store_id: claim.store_id.clone(),
        };
        at.log(
            tx,
            ActionKind::Claimed,
            Some(&lead.id),
            transaction.as_ref().map_or(0, |t| t.amount),
            Some(claim.id.to_string()),
            None,
        )
        .await?;
        app.emit(tx, &scope, &given_events(&transaction, &coupon))
            .await?;
        Ok(Given {
            label: gift.label(),
            transaction,
            coupon,
            replayed: false,
        })
    }
}

impl App {
    // ----- point grants -----

    /// The point grants staff may give, oldest first.
    pub async fn point_grants(&self, scope: &Scope) -> Result<Vec<PointGrantRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(counter::list_grants(&mut conn, &scope.merchant_id, scope.env).await?)
    }

    /// Adds a point grant: a name, a currency and a number of points.
    pub async fn create_point_grant(
        &self,
        scope: &Scope,
        name: &str,
        currency_id: &str,
        points: &str,
    ) -> Result<PointGrantRow, AppError> {
        let mut errors = ValidationErrors::new();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            errors.push(FieldError::new("name", "must be 1 to 80 characters"));
        }
        let currency = errors.check(field_id::<CurrencyId>("currency_id", currency_id));
        let points = match points.trim().parse::<i64>() {
            Ok(p) if (1..=MAX_GRANT_POINTS).contains(&p) => Some(p),
            _ => {
                errors.push(FieldError::new(
                    "points",
                    format!("must be a whole number from 1 to {MAX_GRANT_POINTS}"),
                ));
                None
            }
        };
        errors.into_result()?;
        let (currency, points) = (currency.expect("checked"), points.expect("checked"));
        let mut tx = self.db.begin_write().await?;
        if currencies::find(&mut tx, &scope.merchant_id, currency.as_str())
            .await?
            .is_none()
        {
            return Err(AppError::field("currency_id", "no such currency"));
        }
        let existing = counter::list_grants(&mut tx, &scope.merchant_id, scope.env).await?;
        if existing.len() >= MAX_GRANTS {
            return Err(AppError::LimitReached(format!(
                "an environment offers at most {MAX_GRANTS} point grants; remove one first"
            )));
        }
        let row = PointGrantRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: PointGrantId::new(),
            name: name.to_string(),
            currency_id: currency,
            points,
            created_at: Timestamp::now(),
        };
        counter::insert_grant(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(row)
    }

    /// Stops offering a point grant.
    pub async fn archive_point_grant(&self, scope: &Scope, id: &str) -> Result<(), AppError> {
        let id: PointGrantId = named(id, "point grant")?;
        let mut tx = self.db.begin_write().await?;
        if !counter::archive_grant(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            id.as_str(),
            Timestamp::now(),
        )
        .await?
        {
            return Err(AppError::NotFound("point grant"));
        }
        commit(tx).await?;
        Ok(())
    }

    // ----- the stores staff work at -----

    /// Every member's stores, as `(member, store)` pairs.
    pub async fn member_stores(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<(MemberId, StoreId)>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(counter::member_stores(&mut conn, merchant_id).await?)
    }

    /// Ties a member to stores (none: any store). Every store must be the merchant's.
    pub async fn set_member_stores(
        &self,
        merchant_id: &MerchantId,
        member_id: &str,
        store_ids: &[String],
    ) -> Result<(), AppError> {
        let member_id: MemberId = named(member_id, "member")?;
        let mut stores = Vec::new();
        for s in store_ids.iter().filter(|s| !s.trim().is_empty()) {
            let id: StoreId = field_id("store_ids", s)?;
            if !stores.contains(&id) {
                stores.push(id);
            }
        }
        if stores.len() > 100 {
            return Err(AppError::field("store_ids", "at most 100 stores"));
        }
        let mut tx = self.db.begin_write().await?;
        let members = punchcard_store::accounts::list_members(&mut tx, merchant_id).await?;
        if !members.iter().any(|m| m.id == member_id) {
            return Err(AppError::NotFound("member"));
        }
        let mut known = Vec::new();
        for env in [punchcard_domain::Env::Prod, punchcard_domain::Env::Dev] {
            known.extend(catalog::live_ids::<StoreRow>(&mut tx, merchant_id, env, &stores).await?);
        }
        if stores.iter().any(|s| !known.contains(s)) {
            return Err(AppError::field("store_ids", "no such store"));
        }
        counter::set_member_stores(&mut tx, merchant_id, &member_id, &stores).await?;
        commit(tx).await?;
        Ok(())
    }

    // ----- giving -----

    /// What the counter can give now: the grants and the deals on offer.
    pub async fn gifts(&self, scope: &Scope) -> Result<Vec<(String, Gift)>, AppError> {
        let now = Timestamp::now();
        let mut conn = self.db.conn().await?;
        let mut out: Vec<(String, Gift)> =
            counter::list_grants(&mut conn, &scope.merchant_id, scope.env)
                .await?
                .into_iter()
                .map(|g| (g.id.to_string(), Gift::Grant(g)))
                .collect();
        for d in punchcard_store::coupons::deals_on_offer(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            now,
            200,
        )
        .await?
        {
            out.push((d.id.to_string(), Gift::Deal(d)));
        }
        Ok(out)
    }

    /// Gives a scanned lead a grant or a deal. A second submission with the same `hash` (the
    /// page's retry key) answers the first and gives nothing more.
    pub async fn give_at_counter(
        &self,
        at: &Counter,
        lead_id: &str,
        gift: &str,
        hash: &str,
    ) -> Result<Given, AppError> {
        let scope = &at.scope;
        let mut errors = ValidationErrors::new();
        let hash = errors.check(parse_hash(hash));
        let gift = match gift_id(gift) {
            Ok(g) => Some(g),
            Err(AppError::Validation(e)) => {
                errors.0.extend(e.0);
                None
            }
            Err(e) => return Err(e),
        };
        errors.into_result()?;
        let (hash, gift) = (hash.expect("checked"), gift.expect("checked"));
        let lead = self.lead(scope, lead_id).await?;
        let key = format!("#counter:{hash}");
        let route = lead.id.to_string();
        let work = CounterGive {
            app: self.clone(),
            at: at.clone(),
            lead,
            gift,
            key,
        };
        // Through the ledger writer, with the lead's other changes.
        let given = self.write_through_ledger(&route, work).await?;
        if !given.replayed {
            tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, lead_id = %lead_id, member_id = %at.member_id, "given at the counter");
        }
        Ok(given)
    }

    /// Marks a coupon used at the counter.
    pub async fn use_coupon_at_counter(
        &self,
        at: &Counter,
        coupon_id: &str,
    ) -> Result<CouponRow, AppError> {
        self.use_coupon_at(&at.scope, coupon_id, Some(at)).await
    }

    // ----- displayed codes -----

    /// A code to display for [`CLAIM_LIFETIME`]: the first lead to claim it from the member
    /// page gets the gift. Answers the claim and its token.
    pub async fn display_code(
        &self,
        at: &Counter,
        gift: &str,
    ) -> Result<(ClaimView, String), AppError> {
        let scope = &at.scope;
        let gift = gift_id(gift)?;
        let now = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let gift = find_gift(&mut tx, scope, &gift, now).await?;
        let row = ClaimRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: CounterClaimId::new(),
            store_id: at.store_id.clone(),
            member_id: at.member_id.clone(),
            grant_id: match &gift {
                Gift::Grant(g) => Some(g.id.clone()),
                Gift::Deal(_) => None,
            },
            deal_id: match &gift {
                Gift::Deal(d) => Some(d.id.clone()),
                Gift::Grant(_) => None,
            },
            created_at: now,
            expires_at: now.plus(CLAIM_LIFETIME),
            claimed_at: None,
            lead_id: None,
            wallet_transaction_id: None,
            coupon_id: None,
        };
        counter::insert_claim(&mut tx, &row).await?;
        commit(tx).await?;
        let token = self
            .sign_token(&Token {
                kind: TokenKind::Claim,
                merchant_id: scope.merchant_id.clone(),
                env: scope.env,
                subject: row.id.to_string(),
                expires_at: Some(row.expires_at.unix()),
            })
            .await?;
        Ok((
            ClaimView {
                claim: row,
                label: gift.label(),
            },
            token,
        ))
    }

    /// A displayed code, with what it gives.
    pub async fn claim_view(&self, scope: &Scope, id: &str) -> Result<ClaimView, AppError> {
        let id: CounterClaimId = named(id, "code")?;
        let mut conn = self.db.conn().await?;
        let claim = counter::find_claim(&mut conn, &scope.merchant_id, scope.env, id.as_str())
            .await?
            .ok_or(AppError::NotFound("code"))?;
        let label = match (&claim.grant_id, &claim.deal_id) {
            (Some(g), _) => {
                match counter::find_grant(&mut conn, &scope.merchant_id, scope.env, g.as_str())
                    .await?
                {
                    Some(g) => Gift::Grant(g).label(),
                    None => "a point grant no longer offered".to_string(),
                }
            }
            (_, Some(d)) => {
                let (m, env) = (&scope.merchant_id, scope.env);
                match catalog::find::<DealRow>(&mut conn, m, env, d).await? {
                    Some(d) => d.name,
                    None => "a deal".to_string(),
                }
            }
            _ => String::new(),
        };
        Ok(ClaimView { claim, label })
    }

    /// A lead claims a displayed code from its member page: exactly once, before it expires,
    /// whoever else scans it.
    pub async fn claim_displayed(&self, lead: &LeadRow, token: &str) -> Result<Given, AppError> {
        let scope = Scope::new(&lead.merchant_id, lead.env);
        let t = self.verify_token(&scope, token).await?;
        if t.kind != TokenKind::Claim {
            return Err(AppError::InvalidToken(
                "this is not a code to claim: show it at the counter instead".into(),
            ));
        }
        let view = self.claim_view(&scope, &t.subject).await?;
        let claim_id = view.claim.id.clone();
        let route = lead.id.to_string();
        let work = DisplayedClaim {
            app: self.clone(),
            lead: lead.clone(),
            claim: view.claim,
        };
        // Through the ledger writer, with the lead's other changes.
        let given = self.write_through_ledger(&route, work).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, lead_id = %lead.id, claim_id = %claim_id, "displayed code claimed");
        Ok(given)
    }

    // ----- joining -----

    /// The token of a store's join code (or the merchant's, without a store).
    pub async fn join_token(
        &self,
        scope: &Scope,
        store_id: Option<&StoreId>,
    ) -> Result<String, AppError> {
        self.sign_token(&Token {
            kind: TokenKind::Join,
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            subject: store_id.map_or_else(|| "-".to_string(), ToString::to_string),
            expires_at: None,
        })
        .await
    }

    /// Whose join code this is: the merchant's scope and the store.
    pub async fn join_target(&self, token: &str) -> Result<(Scope, Option<StoreId>), AppError> {
        let t = self.verify_signature(token).await?;
        if t.kind != TokenKind::Join {
            return Err(AppError::InvalidToken("this is not a join code".into()));
        }
        Ok((Scope::new(&t.merchant_id, t.env), t.subject.parse().ok()))
    }

    /// A new customer follows the merchant from a join code: a known email or mobile finds
    /// the lead it already is; otherwise a new lead is made (one lead quota, within the cap).
    /// Answers the lead and a new member-page token for it.
    pub async fn join(&self, token: &str, form: &JoinForm) -> Result<(LeadRow, String), AppError> {
        let (scope, store_id) = self.join_target(token).await?;
        let now = Timestamp::now();
        let profile = LeadProfile::parse(
            &LeadInput {
                name: present(&form.name),
                email: present(&form.email),
                mobile: present(&form.mobile),
                country: None,
                dob: None,
            },
            now,
        );
        let mut errors = match &profile {
            Ok(_) => ValidationErrors::new(),
            Err(e) => e.clone(),
        };
        if present(&form.name).is_none() {
            errors.push(FieldError::new("name", "is required"));
        }
        if !form.consent {
            errors.push(FieldError::new(
                "consent",
                "tick the box to agree to hear from the shop",
            ));
        }
        errors.into_result()?;
        let profile = profile.expect("checked");
        let email = profile.email.as_ref().map(|e| e.as_str().to_string());
        let mobile = profile.mobile.as_ref().map(|m| m.as_str().to_string());
        let mut conn = self.db.conn().await?;
        let mut known = None;
        for filter in [
            email.clone().map(|e| LeadFilter {
                email: Some(e),
                ..Default::default()
            }),
            mobile.clone().map(|m| LeadFilter {
                mobile: Some(m),
                ..Default::default()
            }),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(l) = leads::list(&mut conn, &scope.merchant_id, scope.env, &filter, None, 1)
                .await?
                .pop()
            {
                known = Some(l);
                break;
            }
        }
        drop(conn);
        let lead = match known {
            Some(l) => l,
            None => {
                let customer_id =
                    CustomerId::parse(&format!("join-{}", &secrets::random_token("")[..16]))?;
                let row = LeadRow {
                    merchant_id: scope.merchant_id.clone(),
                    env: scope.env,
                    id: LeadId::new(),
                    customer_id: customer_id.as_str().to_string(),
                    name: profile.name,
                    email,
                    mobile,
                    country: None,
                    dob: None,
                    created_at: now,
                    updated_at: now,
                };
                let mut tx = self.db.begin_write().await?;
                crate::ledger::insert_lead(&mut tx, &scope, &row).await?;
                self.emit(
                    &mut tx,
                    &scope,
                    &[Event::new(EventType::LeadCreated, EventObject::Lead(&row))],
                )
                .await?;
                counter::insert_action(
                    &mut tx,
                    &ActionRow {
                        merchant_id: scope.merchant_id.clone(),
                        env: scope.env,
                        id: CounterActionId::new(),
                        kind: ActionKind::Joined,
                        store_id: store_id.clone(),
                        member_id: None,
                        lead_id: Some(row.id.clone()),
                        points: 0,
                        reference: None,
                        hash: None,
                        created_at: now,
                    },
                )
                .await?;
                commit(tx).await?;
                tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, lead_id = %row.id, "lead joined from a join code");
                row
            }
        };
        let member = self.new_member_link(&scope, lead.id.as_str()).await?;
        Ok((lead, member))
    }

    // ----- analytics -----

    /// The counter's figures by day (`from`, `to` as for [`App::stats`]), of one store when
    /// asked.
    pub async fn counter_stats(
        &self,
        scope: &Scope,
        store_id: Option<&str>,
        range: DayRange,
    ) -> Result<CounterStats, AppError> {
        let store: Option<StoreId> = match store_id.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(field_id("store_id", s)?),
            None => None,
        };
        let mut conn = self.db.conn().await?;
        let counted = counter::daily(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            store.as_ref(),
            range.start(),
            range.end(),
        )
        .await?;
        let reach = punchcard_store::messages::reach_by_day(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            store.as_ref(),
            range.start(),
            range.end(),
        )
        .await?;
        let mut counted = counted;
        for (day, n) in reach {
            counted.entry(day).or_default().message_reach += n;
        }
        let mut totals = CounterDay::default();
        let mut by_day = Vec::with_capacity(range.days() as usize);
        for date in range.each_day() {
            let d = counted.get(&date.to_string()).copied().unwrap_or_default();
            totals.coupons_used += d.coupons_used;
            totals.points_given += d.points_given;
            totals.deals_given += d.deals_given;
            totals.claims += d.claims;
            totals.new_leads += d.new_leads;
            totals.message_reach += d.message_reach;
            by_day.push((date, d));
        }
        Ok(CounterStats {
            range,
            totals,
            by_day,
        })
    }
}
