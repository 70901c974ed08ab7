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
