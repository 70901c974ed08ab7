//! Plans: the operator sets quotas and the rate limit.

use punchcard_domain::limits::{PlanLimits, Quota, MAX_RATE_LIMIT_PER_MINUTE};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, MerchantId, ValidationErrors};
use punchcard_store::changes::{self, Topic};
use punchcard_store::{accounts, commit, plans, quotas};

use crate::{App, AppError};

/// Changes to a plan; unset fields keep their value.
#[derive(Debug, Default, Clone)]
pub struct PlanChange {
    pub leads: Option<i64>,
    pub rewards: Option<i64>,
    pub redeems: Option<i64>,
    pub swaps: Option<i64>,
    pub rate_limit_per_minute: Option<i64>,
}

impl App {
    pub async fn set_plan(
        &self,
        merchant_id: &MerchantId,
        change: PlanChange,
    ) -> Result<PlanLimits, AppError> {
        let mut errors = ValidationErrors::new();
        for (field, v) in [
            ("leads", change.leads),
            ("rewards", change.rewards),
            ("redeems", change.redeems),
            ("swaps", change.swaps),
        ] {
            if matches!(v, Some(n) if n < 0) {
                errors.push(FieldError::new(field, "must be zero or more"));
            }
        }
        if let Some(r) = change.rate_limit_per_minute {
            if !(1..=MAX_RATE_LIMIT_PER_MINUTE).contains(&r) {
                errors.push(FieldError::new(
                    "rate_limit",
                    format!("must be between 1 and {MAX_RATE_LIMIT_PER_MINUTE} calls a minute"),
                ));
            }
        }
        errors.into_result()?;
        let mut tx = self.db.begin_write().await?;
        accounts::find_merchant(&mut tx, merchant_id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        let mut plan = plans::find(&mut tx, merchant_id).await?.unwrap_or_default();
        plan.leads = change.leads.unwrap_or(plan.leads);
        plan.rewards = change.rewards.unwrap_or(plan.rewards);
        plan.redeems = change.redeems.unwrap_or(plan.redeems);
        plan.swaps = change.swaps.unwrap_or(plan.swaps);
        plan.rate_limit_per_minute = change
            .rate_limit_per_minute
            .unwrap_or(plan.rate_limit_per_minute);
        plans::upsert(&mut tx, merchant_id, &plan, Timestamp::now()).await?;
        for quota in Quota::ALL {
            quotas::set_total(&mut tx, merchant_id, quota, quota.of(&plan)).await?;
        }
        changes::publish(&mut tx, Topic::Plan(merchant_id.clone())).await?;
        commit(tx).await?;
        Ok(plan)
    }

    pub async fn plan(&self, merchant_id: &MerchantId) -> Result<PlanLimits, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(plans::find(&mut conn, merchant_id)
            .await?
            .unwrap_or_default())
    }
}
