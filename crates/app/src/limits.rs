//! Counted limits per environment and plan quotas, checked and burned inside the transaction
//! of the action they guard, so no concurrency can overshoot them.

use punchcard_domain::limits::{PlanLimits, Quota, Resource};
use punchcard_domain::{Env, MerchantId};
use punchcard_store::quotas::{self, QuotaUsage};
use punchcard_store::{accounts, limits, plans, Conn};

use crate::{App, AppError};

/// Takes the merchant's lock and refuses with `limit_reached` when `env` already holds as many
/// `resource` as its cap allows. Call it in the write transaction that creates one; the lock
/// holds until that transaction ends, so concurrent creates queue and recount.
pub async fn check_cap(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    resource: Resource,
) -> Result<(), AppError> {
    let Some(cap) = resource.cap(env) else {
        return Ok(());
    };
    if !accounts::lock_merchant(conn, merchant_id).await? {
        return Err(AppError::NotFound("merchant"));
    }
    if limits::count(conn, resource, merchant_id, env).await? >= cap {
        let hint = match resource {
            Resource::Wallets => "dev is for testing; prod has no wallet cap",
            Resource::ActiveDeals | Resource::ActiveOffers => {
                "switch one off or delete it before adding another"
            }
            _ => "remove one before adding another",
        };
        return Err(AppError::LimitReached(format!(
            "at most {cap} {} in {env}; {hint}",
            resource.label()
        )));
    }
    Ok(())
}

/// Units of several quotas taken together for a batch of actions, each action burning one of
/// each: as many as every quota could give (the rest went back).
pub(crate) struct TakenQuotas {
    merchant_id: MerchantId,
    /// Per quota, the units taken from each shard.
    taken: Vec<(Quota, Vec<(i64, i64)>)>,
    /// Actions the units cover.
    pub granted: i64,
}

impl TakenQuotas {
    /// Takes up to `want` units of each of `burns` (prod only; dev burns none and grants all),
    /// in the caller's write transaction, one statement per quota on the common path.
    pub(crate) async fn take(
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        burns: &[Quota],
        want: i64,
    ) -> Result<Self, AppError> {
        let mut this = Self {
            merchant_id: merchant_id.clone(),
            taken: Vec::new(),
            granted: want.max(0),
        };
        if env == Env::Dev || want <= 0 {
            return Ok(this);
        }
        let mut burns = burns.to_vec();
        // The same order as single burns, so neither waits on the other in a cycle.
        burns.sort();
        for quota in burns {
            let taken =
                quotas::take(conn, merchant_id, quota, this.granted, rand::random()).await?;
            this.granted = this.granted.min(taken.iter().map(|(_, n)| n).sum());
            this.taken.push((quota, taken));
        }
        // A quota that gave more than the smallest gives the difference back.
        let granted = this.granted;
        this.keep(conn, granted).await?;
        Ok(this)
    }

    /// Keeps units for `used` actions only and gives the rest back.
    pub(crate) async fn keep(&mut self, conn: &mut Conn, used: i64) -> Result<(), AppError> {
        for (quota, taken) in &mut self.taken {
            let held: i64 = taken.iter().map(|(_, n)| n).sum();
            let mut extra = held - used;
            while extra > 0 {
                let Some((shard, n)) = taken.last_mut() else {
                    break;
                };
                let back = extra.min(*n);
                quotas::give_back(conn, &self.merchant_id, *quota, *shard, back).await?;
                *n -= back;
                extra -= back;
                if *n == 0 {
                    taken.pop();
                }
            }
        }
        self.granted = self.granted.min(used);
        Ok(())
    }
}

/// Burns one unit of each quota (prod only; dev burns none), or refuses with
/// `quota_exhausted`. Call it last in the action's write transaction: a refusal rolls the
/// whole action back, and a rollback gives the units back.
pub async fn burn_quota(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    burns: &[Quota],
) -> Result<(), AppError> {
    if env == Env::Dev {
        return Ok(());
    }
    let mut burns = burns.to_vec();
    // A fixed order keeps two actions that burn several quotas from waiting on each other.
    burns.sort();
    for quota in burns {
        if !quotas::burn(conn, merchant_id, quota, rand::random()).await? {
            return Err(AppError::QuotaExhausted(quota));
        }
    }
    Ok(())
}

/// Used units of every quota, with the totals of `plan` (the merchant's).
pub(crate) async fn usage_under_plan(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    plan: &PlanLimits,
) -> Result<Vec<QuotaUsage>, AppError> {
    let mut usage = quotas::usage(conn, merchant_id).await?;
    for u in &mut usage {
        u.total = u.quota.of(plan);
    }
    Ok(usage)
}

impl App {
    /// Used and total of every quota of the merchant (they are burned in prod only). The
    /// total is the plan's: after the operator lowers a plan below what was already used, the
    /// shards' allotments still add up to the used units, but the merchant's total is the new one.
    pub async fn quota_usage(&self, merchant_id: &MerchantId) -> Result<Vec<QuotaUsage>, AppError> {
        let mut conn = self.db.conn().await?;
        let plan = plans::find(&mut conn, merchant_id)
            .await?
            .unwrap_or_default();
        usage_under_plan(&mut conn, merchant_id, &plan).await
    }
}
