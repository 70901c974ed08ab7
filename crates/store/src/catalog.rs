//! What the catalog tables share: queries with optional filters, name search, and the link
//! tables that attach stores to deals and offers.

use punchcard_domain::{Env, MerchantId};
use sea_query::Value;

use crate::{Conn, Query, StoreError};

/// Arguments of a query assembled from optional parts: each value added answers its `$N`.
#[derive(Default)]
pub(crate) struct Args(Vec<Value>);

impl Args {
    fn push(&mut self, v: Value) -> String {
        self.0.push(v);
        format!("${}", self.0.len())
    }

    pub(crate) fn text(&mut self, v: impl Into<String>) -> String {
        self.push(Value::from(v.into()))
    }

    pub(crate) fn int(&mut self, v: i64) -> String {
        self.push(Value::from(v))
    }

    pub(crate) fn flag(&mut self, v: bool) -> String {
        self.push(Value::from(v))
    }

    /// Placeholders for a list of texts, for `IN (…)`; `NULL` for an empty list (matches nothing).
    pub(crate) fn texts<'a>(&mut self, vs: impl IntoIterator<Item = &'a str>) -> String {
        let parts: Vec<String> = vs.into_iter().map(|v| self.text(v)).collect();
        if parts.is_empty() {
            "NULL".to_string()
        } else {
            parts.join(", ")
        }
    }

    pub(crate) fn bind(self, mut q: Query) -> Query {
        for v in self.0 {
            q = q.bind(v);
        }
        q
    }
}

/// A `LIKE` pattern that finds `needle` anywhere in a lower-cased column (with `ESCAPE '\'`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut p = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A table linking stores to the deals or offers they carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Links {
    pub table: &'static str,
    /// The column naming the deal or offer, and that item's table.
    pub owner_column: &'static str,
    pub owner_table: &'static str,
}

pub(crate) const DEAL_STORES: Links = Links {
    table: "deal_stores",
    owner_column: "deal_id",
    owner_table: "deals",
};

pub(crate) const OFFER_STORES: Links = Links {
    table: "offer_stores",
    owner_column: "offer_id",
    owner_table: "offers",
};

impl Links {
    /// Makes `store_ids` the exact set of stores attached to one deal or offer.
    pub(crate) async fn replace(
        self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        owner_id: &str,
        store_ids: &[&str],
    ) -> Result<(), StoreError> {
        self.remove_owner(&mut *conn, merchant_id, owner_id).await?;
        let sql = format!(
            "INSERT INTO {} (merchant_id, env, {}, store_id) VALUES ($1, $2, $3, $4)",
            self.table, self.owner_column
        );
        for store_id in store_ids {
            crate::query(&sql)
                .bind(merchant_id.as_str())
                .bind(env.as_str())
                .bind(owner_id)
                .bind(*store_id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn remove_owner(
        self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        owner_id: &str,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE merchant_id = $1 AND {} = $2",
            self.table, self.owner_column
        );
        crate::query(&sql)
            .bind(merchant_id.as_str())
            .bind(owner_id)
            .execute(conn)
            .await?;
        Ok(())
    }

    pub(crate) async fn remove_store(
        self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        store_id: &str,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE merchant_id = $1 AND store_id = $2",
            self.table
        );
        crate::query(&sql)
            .bind(merchant_id.as_str())
            .bind(store_id)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// `(owner id, store id)` of the live stores attached to each of `owner_ids`, in store order.
    pub(crate) async fn stores_of(
        self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        owner_ids: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        if owner_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = Args::default();
        let m = args.text(merchant_id.as_str());
        let e = args.text(env.as_str());
        let ids = args.texts(owner_ids.iter().copied());
        let sql = format!(
            "SELECT l.{owner} AS owner_id, l.store_id AS store_id FROM {table} l \
             JOIN stores s ON s.merchant_id = l.merchant_id AND s.id = l.store_id AND s.deleted_at IS NULL \
             WHERE l.merchant_id = {m} AND l.env = {e} AND l.{owner} IN ({ids}) ORDER BY l.store_id",
            owner = self.owner_column,
            table = self.table,
        );
        let rows = args.bind(crate::query(&sql)).fetch_all(conn).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("owner_id")?, r.try_get("store_id")?)))
            .collect()
    }

    /// `(store id, owner id)` of the live deals or offers each of `store_ids` carries.
    pub(crate) async fn owners_of(
        self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        store_ids: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        if store_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = Args::default();
        let m = args.text(merchant_id.as_str());
        let e = args.text(env.as_str());
        let ids = args.texts(store_ids.iter().copied());
        let sql = format!(
            "SELECT l.store_id AS store_id, l.{owner} AS owner_id FROM {table} l \
             JOIN {owners} o ON o.merchant_id = l.merchant_id AND o.id = l.{owner} AND o.deleted_at IS NULL \
             WHERE l.merchant_id = {m} AND l.env = {e} AND l.store_id IN ({ids}) ORDER BY l.{owner}",
            owner = self.owner_column,
            table = self.table,
            owners = self.owner_table,
        );
        let rows = args.bind(crate::query(&sql)).fetch_all(conn).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("store_id")?, r.try_get("owner_id")?)))
            .collect()
    }

    /// The `EXISTS` condition "the item in `alias` is attached to the store bound as `store`".
    pub(crate) fn carried_by(self, alias: &str, store: &str) -> String {
        format!(
            "EXISTS (SELECT 1 FROM {table} l WHERE l.merchant_id = {alias}.merchant_id \
             AND l.{owner} = {alias}.id AND l.store_id = {store})",
            table = self.table,
            owner = self.owner_column,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Caf"), "%caf%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
