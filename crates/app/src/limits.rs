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
