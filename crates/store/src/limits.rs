//! Counting capped resources: one query per resource, run under the merchant's lock.

use crate::Conn;
use punchcard_domain::limits::Resource;
use punchcard_domain::{Env, MerchantId};

use crate::StoreError;

/// How many `resource` the merchant holds in `env` (resources that are not per env, like
/// allowed IPs, are counted across both).
pub async fn count(
    conn: &mut Conn,
    resource: Resource,
    merchant_id: &MerchantId,
    env: Env,
) -> Result<i64, StoreError> {
    let (sql, per_env) = match resource {
        Resource::ApiKeys => (
            "SELECT COUNT(*) FROM api_keys WHERE merchant_id = $1 AND env = $2 AND revoked_at IS NULL",
            true,
        ),
        Resource::AllowedIps => ("SELECT COUNT(*) FROM allowed_ips WHERE merchant_id = $1", false),
        Resource::Leads => (
            "SELECT COUNT(*) FROM leads WHERE merchant_id = $1 AND env = $2 AND deleted_at IS NULL",
            true,
        ),
        Resource::Wallets => (
            "SELECT COUNT(*) FROM wallets WHERE merchant_id = $1 AND env = $2",
            true,
        ),
        Resource::ActiveDeals => (
            "SELECT COUNT(*) FROM deals WHERE merchant_id = $1 AND env = $2 AND available = TRUE AND deleted_at IS NULL",
            true,
        ),
        Resource::ActiveOffers => (
            "SELECT COUNT(*) FROM offers WHERE merchant_id = $1 AND env = $2 AND available = TRUE AND deleted_at IS NULL",
            true,
        ),
        Resource::ActiveCampaigns => {
            // Switched on and not ended (ends_at is written as a timestamp, so compare to one).
            return crate::query(
                "SELECT COUNT(*) FROM campaigns WHERE merchant_id = $1 AND env = $2 \
                 AND active = TRUE AND deleted_at IS NULL AND (ends_at IS NULL OR ends_at > $3)",
            )
            .bind(merchant_id.as_str())
            .bind(env.as_str())
            .bind(punchcard_domain::time::Timestamp::now())
            .scalar(conn)
            .await;
        }
        Resource::Stores => (
            "SELECT COUNT(*) FROM stores WHERE merchant_id = $1 AND env = $2 AND deleted_at IS NULL",
            true,
        ),
    };
    let mut query = crate::query(sql).bind(merchant_id.as_str());
    if per_env {
        query = query.bind(env.as_str());
    }
    query.scalar(conn).await
}
