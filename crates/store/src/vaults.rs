//! Standalone vaults (a kind of the catalog skeleton): one vendor's vouchers of one amount,
//! test or live. Their codes are coupon codes ([`crate::coupons`]) owned by the vault.

use punchcard_domain::{Env, MerchantId, VaultId};
use sea_query::Cond;

use crate::catalog::{catalog_row, Kind};
use crate::coupons::Stock;
use crate::{Conn, StoreError};

catalog_row! {
    /// A vault as stored.
    pub struct VaultRow(VaultId) in "vaults" {
        name: String,
        /// The brand whose vouchers it holds.
        vendor: String,
        /// The voucher's face value in the smallest unit of money.
        amount: i64,
        /// Test vouchers, awarded to test integrations only.
        test: bool,
    }
}

/// Vaults are listed unfiltered.
#[derive(Debug, Clone, Copy, Default)]
pub struct VaultFilter;

impl Kind for VaultRow {
    type Filter = VaultFilter;

    fn condition(_: &VaultFilter, _: &MerchantId) -> Cond {
        Cond::all()
    }
}

/// The stock of each of `ids` that has codes, by vault id.
pub async fn stock_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[VaultId],
) -> Result<Vec<(VaultId, Stock)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let mut q = crate::query(format!(
        "SELECT vault_id, \
           CAST(SUM(CASE WHEN kind IN ('code', 'link') AND issued = FALSE THEN 1 ELSE 0 END) AS BIGINT) AS available, \
           CAST(SUM(CASE WHEN kind IN ('code', 'link') AND issued = TRUE THEN 1 ELSE 0 END) AS BIGINT) AS issued, \
           CAST(SUM(CASE WHEN kind IN ('generic_code', 'generic_link') THEN 1 ELSE 0 END) AS BIGINT) AS generic \
         FROM coupon_codes WHERE merchant_id = $1 AND env = $2 AND vault_id IN ({}) \
         GROUP BY vault_id ORDER BY vault_id",
        list.join(", ")
    ))
    .bind(merchant_id.as_str())
    .bind(env.as_str());
    for id in ids {
        q = q.bind(id.as_str());
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok((
                crate::db::parsed::<VaultId>(r, "vault_id")?,
                Stock {
                    unique_available: r.try_get("available")?,
                    unique_issued: r.try_get("issued")?,
                    generic: r.try_get("generic")?,
                },
            ))
        })
        .collect()
}

/// The vaults of `ids`, deleted ones too (a report names the vouchers a campaign gave from a
/// vault deleted since), in id order.
pub async fn vaults_by_ids(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    ids: &[VaultId],
) -> Result<Vec<VaultRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let mut q = crate::query(format!(
        "SELECT merchant_id, env, id, name, vendor, amount, test, created_at, updated_at, deleted_at \
         FROM vaults WHERE merchant_id = $1 AND id IN ({}) ORDER BY id",
        list.join(", ")
    ))
    .bind(merchant_id.as_str());
    for id in ids {
        q = q.bind(id.as_str());
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(<VaultRow as crate::catalog::Columns>::decode)
        .collect()
}
