//! Voucher campaigns' own storage: the vaults a campaign draws from, its integrations (the
//! credentials other applications award with), and the available-vouchers figures of its
//! report. Campaign rows and interactions are [`crate::campaigns`]'; codes are coupon codes.

use punchcard_domain::time::Timestamp;
use punchcard_domain::vouchers::IntegrationStatus;
use punchcard_domain::{CampaignId, Env, IntegrationId, MerchantId, VaultId};
use sea_query::{Alias, Expr, Order};

use crate::catalog::is;
use crate::db::parsed;
use crate::vaults::VaultRow;
use crate::{Conn, StoreError};

// ----- linked vaults -----

/// Makes `vaults` (live vaults of the same environment, checked by the caller) the exact set
/// a campaign draws from.
pub async fn set_vaults(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
    vaults: &[VaultId],
) -> Result<(), StoreError> {
    let delete = sea_query::Query::delete()
        .from_table(Alias::new("campaign_vaults"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("campaign_id", campaign_id.as_str()))
        .to_owned();
    crate::statement(&delete).execute(&mut *conn).await?;
    if vaults.is_empty() {
        return Ok(());
    }
    let mut insert = sea_query::Query::insert();
    insert
        .into_table(Alias::new("campaign_vaults"))
        .columns(["merchant_id", "env", "campaign_id", "vault_id"].map(Alias::new));
    for v in vaults {
        insert.values_panic([
            merchant_id.as_str().into(),
            env.as_str().into(),
            campaign_id.as_str().into(),
            v.as_str().into(),
        ]);
    }
    crate::statement(&insert).execute(conn).await?;
    Ok(())
}

/// The linked vaults of each of `ids`, as `(campaign, vault)` pairs in vault order.
pub async fn vaults_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[CampaignId],
) -> Result<Vec<(CampaignId, VaultId)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = sea_query::Query::select()
        .columns(["campaign_id", "vault_id"].map(Alias::new))
        .from(Alias::new("campaign_vaults"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(Expr::col(Alias::new("campaign_id")).is_in(ids.iter().map(|i| i.as_str())))
        .order_by(Alias::new("vault_id"), Order::Asc)
        .to_owned();
    crate::statement(&select)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((parsed(r, "campaign_id")?, parsed(r, "vault_id")?)))
        .collect()
}

/// The live vaults a campaign draws from, in id order.
pub async fn linked_vaults(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
) -> Result<Vec<VaultRow>, StoreError> {
    let rows = crate::query(
        "SELECT v.merchant_id, v.env, v.id, v.name, v.vendor, v.amount, v.test, v.created_at, v.updated_at, v.deleted_at \
         FROM campaign_vaults l JOIN vaults v ON v.merchant_id = l.merchant_id AND v.id = l.vault_id \
         WHERE l.merchant_id = $1 AND l.env = $2 AND l.campaign_id = $3 AND v.deleted_at IS NULL \
         ORDER BY v.id",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(campaign_id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(<VaultRow as crate::catalog::Columns>::decode)
        .collect()
}

// ----- integrations -----

/// An integration as stored: its secret only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: IntegrationId,
    pub campaign_id: CampaignId,
    pub name: String,
    pub status: IntegrationStatus,
    pub secret_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const INTEGRATION_COLUMNS: &str =
    "i.merchant_id, i.env, i.id, i.campaign_id, i.name, i.status, i.secret_hash, i.created_at, i.updated_at";

fn integration(row: &crate::DbRow) -> Result<IntegrationRow, StoreError> {
    Ok(IntegrationRow {
        merchant_id: parsed(row, "merchant_id")?,
        env: parsed(row, "env")?,
        id: parsed(row, "id")?,
        campaign_id: parsed(row, "campaign_id")?,
        name: row.try_get("name")?,
        status: parsed(row, "status")?,
        secret_hash: row.try_get("secret_hash")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn insert_integration(conn: &mut Conn, i: &IntegrationRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO campaign_integrations (merchant_id, env, id, campaign_id, name, status, secret_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(i.merchant_id.as_str())
    .bind(i.env.as_str())
    .bind(i.id.as_str())
    .bind(i.campaign_id.as_str())
    .bind(&i.name)
    .bind(i.status.as_str())
    .bind(&i.secret_hash)
    .bind(i.created_at)
    .bind(i.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes an integration's name and status; answers whether it exists.
pub async fn update_integration(conn: &mut Conn, i: &IntegrationRow) -> Result<bool, StoreError> {
    Ok(crate::query(
        "UPDATE campaign_integrations SET name = $1, status = $2, updated_at = $3 \
         WHERE merchant_id = $4 AND env = $5 AND campaign_id = $6 AND id = $7",
    )
    .bind(&i.name)
    .bind(i.status.as_str())
    .bind(i.updated_at)
    .bind(i.merchant_id.as_str())
    .bind(i.env.as_str())
    .bind(i.campaign_id.as_str())
    .bind(i.id.as_str())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// A campaign's integrations in creation order.
pub async fn integrations_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
) -> Result<Vec<IntegrationRow>, StoreError> {
    let rows = crate::query(format!(
        "SELECT {INTEGRATION_COLUMNS} FROM campaign_integrations i \
         WHERE i.merchant_id = $1 AND i.env = $2 AND i.campaign_id = $3 ORDER BY i.id"
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(campaign_id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(integration).collect()
}

/// Which of `ids` have at least one integration with status `live`.
pub async fn with_live_integration(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[CampaignId],
) -> Result<Vec<CampaignId>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = sea_query::Query::select()
        .distinct()
        .column(Alias::new("campaign_id"))
        .from(Alias::new("campaign_integrations"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(is("status", IntegrationStatus::Live.as_str()))
        .and_where(Expr::col(Alias::new("campaign_id")).is_in(ids.iter().map(|i| i.as_str())))
        .to_owned();
    crate::statement(&select)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| parsed(r, "campaign_id"))
        .collect()
}

/// An integration as authentication reads it, with its merchant's status and plan rate.
#[derive(Debug, Clone)]
pub struct IntegrationWithMerchant {
    pub integration: IntegrationRow,
    pub merchant_status: String,
    pub plan_rate_limit: Option<i64>,
}

/// An integration by its id alone (the Basic-auth username), with its merchant.
pub async fn find_integration_for_auth(
    conn: &mut Conn,
    id: &IntegrationId,
) -> Result<Option<IntegrationWithMerchant>, StoreError> {
    let row = crate::query(format!(
        "SELECT {INTEGRATION_COLUMNS}, m.status AS merchant_status, p.rate_limit_per_minute AS plan_rate_limit \
         FROM campaign_integrations i JOIN merchants m ON m.id = i.merchant_id \
         LEFT JOIN plans p ON p.merchant_id = i.merchant_id WHERE i.id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(IntegrationWithMerchant {
            integration: integration(&r)?,
            merchant_status: r.try_get("merchant_status")?,
            plan_rate_limit: r.try_get("plan_rate_limit")?,
        })
    })
    .transpose()
}

/// How many vouchers a campaign awarded to the redeemer with any of these details (email,
/// mobile, customer id; the name only when none of them is given).
pub async fn awards_to_redeemer(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    campaign_id: &CampaignId,
    redeemer: &punchcard_domain::vouchers::Redeemer,
) -> Result<i64, StoreError> {
    let mut any = sea_query::Cond::any();
    if let Some(e) = &redeemer.email {
        any = any.add(is("redeemer_email", e.as_str()));
    }
    if let Some(m) = &redeemer.mobile {
        any = any.add(is("redeemer_mobile", m.as_str()));
    }
    if let Some(c) = &redeemer.customer_id {
        any = any.add(is("redeemer_customer_id", c.as_str()));
    }
    if redeemer.email.is_none() && redeemer.mobile.is_none() && redeemer.customer_id.is_none() {
        if let Some(n) = &redeemer.name {
            any = any.add(is("redeemer_name", n.as_str()));
        }
    }
    let select = sea_query::Query::select()
        .expr(Expr::col(Alias::new("id")).count())
        .from(Alias::new("campaign_interactions"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("campaign_id", campaign_id.as_str()))
        .and_where(is("outcome", "awarded"))
        .cond_where(any)
        .to_owned();
    crate::statement(&select).scalar(conn).await
}
