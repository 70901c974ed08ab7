//! Counted limits per environment and the default plan.

use crate::Env;

/// How many live API keys an environment may hold.
pub fn api_key_cap(env: Env) -> i64 {
    match env {
        Env::Dev => 5,
        Env::Prod => 10,
    }
}

/// At most this many allowed-IP entries per merchant.
pub const ALLOWED_IP_CAP: i64 = 10;

/// At most this many KYC documents per merchant.
pub const KYC_DOCUMENT_CAP: i64 = 3;

/// API calls per 60 seconds when the plan says nothing else.
pub fn default_rate_limit(env: Env) -> i64 {
    match env {
        Env::Dev => 100,
        Env::Prod => 1000,
    }
}

/// The highest rate a plan may grant: 5000 calls a second.
pub const MAX_RATE_LIMIT_PER_MINUTE: i64 = 5000 * 60;

/// A merchant's quotas (prod only) and rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PlanLimits {
    pub leads: i64,
    pub rewards: i64,
    pub redeems: i64,
    pub swaps: i64,
    pub rate_limit_per_minute: i64,
}

impl Default for PlanLimits {
    fn default() -> Self {
        Self {
            leads: 1000,
            rewards: 10000,
            redeems: 10000,
            swaps: 1000,
            rate_limit_per_minute: 1000,
        }
    }
}

/// Resources whose number per environment is capped. The cap is checked inside the
/// transaction that creates (or activates) one, under the merchant's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    ApiKeys,
    AllowedIps,
    /// Leads: capped in dev; in prod the plan's lead quota applies instead.
    Leads,
    /// Wallets: capped in dev only.
    Wallets,
    /// Deals that are available (live).
    ActiveDeals,
    /// Offers that are available (live).
    ActiveOffers,
    Stores,
    /// Campaigns of every kind that are switched on and not ended.
    ActiveCampaigns,
}

impl Resource {
    /// The most a merchant may hold in `env`, or `None` when only the plan's quota applies.
    pub fn cap(self, env: Env) -> Option<i64> {
        match self {
            Resource::ApiKeys => Some(api_key_cap(env)),
            Resource::AllowedIps => Some(ALLOWED_IP_CAP),
            Resource::Leads | Resource::Wallets => match env {
                Env::Dev => Some(10),
                Env::Prod => None,
            },
            Resource::ActiveDeals | Resource::ActiveOffers | Resource::ActiveCampaigns => match env
            {
                Env::Dev => Some(10),
                Env::Prod => Some(100),
            },
            Resource::Stores => Some(100),
        }
    }

    /// How the resource is named in messages.
    pub fn label(self) -> &'static str {
        match self {
            Resource::ApiKeys => "API keys",
            Resource::AllowedIps => "allowed IPs",
            Resource::Leads => "leads",
            Resource::Wallets => "wallets",
            Resource::ActiveDeals => "active deals",
            Resource::ActiveOffers => "active offers",
            Resource::Stores => "stores",
            Resource::ActiveCampaigns => "active campaigns",
        }
    }
}

/// Plan quotas, burned in prod only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    Leads,
    Rewards,
    Redeems,
    Swaps,
}

impl Quota {
    pub const ALL: [Quota; 4] = [Quota::Leads, Quota::Rewards, Quota::Redeems, Quota::Swaps];

    pub fn as_str(self) -> &'static str {
        match self {
            Quota::Leads => "leads",
            Quota::Rewards => "rewards",
            Quota::Redeems => "redeems",
            Quota::Swaps => "swaps",
        }
    }

    pub fn parse(s: &str) -> Option<Quota> {
        Quota::ALL.into_iter().find(|q| q.as_str() == s)
    }

    /// This quota's total in a plan.
    pub fn of(self, plan: &PlanLimits) -> i64 {
        match self {
            Quota::Leads => plan.leads,
            Quota::Rewards => plan.rewards,
            Quota::Redeems => plan.redeems,
            Quota::Swaps => plan.swaps,
        }
    }
}

/// Quota counters are spread over this many rows per merchant and quota, so concurrent
/// rewards lock different rows instead of queueing on one.
pub const QUOTA_SHARDS: i64 = 16;

/// Splits `remaining` units over shards: how many more each of `QUOTA_SHARDS` shards may burn.
pub fn split_allotment(remaining: i64) -> Vec<i64> {
    let remaining = remaining.max(0);
    let base = remaining / QUOTA_SHARDS;
    let extra = remaining % QUOTA_SHARDS;
    (0..QUOTA_SHARDS)
        .map(|i| base + i64::from(i < extra))
        .collect()
}

#[cfg(test)]
mod quota_tests {
    use super::*;

    #[test]
    fn allotment_sums_to_remaining() {
        for n in [0, 1, 15, 16, 17, 1000, 10001] {
            let parts = split_allotment(n);
            assert_eq!(parts.len() as i64, QUOTA_SHARDS);
            assert_eq!(parts.iter().sum::<i64>(), n);
            assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
        }
        assert_eq!(split_allotment(-5).iter().sum::<i64>(), 0);
    }
}
