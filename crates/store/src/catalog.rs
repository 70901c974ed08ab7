//! One storage skeleton for every kind of catalog item (deals, offers, stores, and the kinds
//! to come): each lives in its own table keyed by `(merchant_id, id)`, belongs to an
//! environment, is created, listed in id order, updated and marked deleted the same way. A
//! kind says only what is its own ([`Kind`]): its table, its columns and their values, how
//! its row decodes and how its filter reads. Queries are built with sea-query; deleted items
//! are invisible to every query here.
//!
//! The link tables that attach stores to deals and offers are [`Links`].

use std::str::FromStr;

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId, StoreId};
use sea_query::{Alias, Cond, Expr, Func, LikeExpr, Order, SelectStatement, SimpleExpr, Value};

use crate::db::{parsed, Arg};
use crate::{Conn, DbRow, StoreError};

/// A catalog table's columns, as [`catalog_row!`] declares them.
pub trait Columns: Sized {
    type Id: FromStr;
    /// Its table.
    const TABLE: &'static str;
    /// Its own columns, in the order of [`Columns::values`]; the shared ones (`merchant_id`,
    /// `env`, `id`, `created_at`, `updated_at`, `deleted_at`) come from the skeleton.
    const FIELDS: &'static [&'static str];
    /// Those of [`Columns::FIELDS`] that hold an exact decimal: `numeric` on PostgreSQL, its
    /// decimal text on SQLite; they are read as text and written as text cast to `numeric`.
    const EXACT: &'static [&'static str];

    fn id(&self) -> &Self::Id;
    fn id_text(id: &Self::Id) -> &str;
    fn keys(&self) -> Keys<'_>;
    /// The values of [`Columns::FIELDS`], in order.
    fn values(&self) -> Vec<Value>;
    /// A row of [`Columns::TABLE`] with every column.
    fn decode(row: &DbRow) -> Result<Self, StoreError>;
}

/// A kind of catalog item, as stored: its columns, and what its list and deletion do.
pub trait Kind: Columns {
    /// Its optional list conditions.
    type Filter;
    /// What a deletion sets beside `deleted_at` (e.g. `available = false`).
    const ON_DELETE: &'static [(&'static str, bool)] = &[];
    /// The links a deletion detaches: each link table with the column naming this item.
    const DETACH: &'static [(Links, &'static str)] = &[];
    /// The link table through which stores carry it (deals, offers).
    const STORES: Option<Links> = None;

    /// The filter as a condition on the table's columns.
    fn condition(filter: &Self::Filter, merchant_id: &MerchantId) -> Cond;
}

/// A row whose own fields a draft fills: a blank one for a new item (its keys, every own field
/// at its default), or a saved one changed now.
pub trait Blank: Columns + Clone {
    fn blank(merchant_id: &MerchantId, env: Env, now: Timestamp) -> Self;
    fn touch(&mut self, now: Timestamp);
}

/// The columns every kind shares.
pub struct Keys<'a> {
    pub merchant_id: &'a MerchantId,
    pub env: Env,
    pub id: &'a str,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Declares a kind's row: the shared columns around its own `fields`, with its [`Columns`];
/// with `blank` in front, also its [`Blank`].
macro_rules! catalog_row {
    (
        blank $(#[$meta:meta])* pub struct $row:ident($id:ty) in $table:literal {
            $( $(#[$field_meta:meta])* $field:ident: $ty:ty, )*
        }
    ) => {
        $crate::catalog::catalog_row! {
            $(#[$meta])* pub struct $row($id) in $table { $( $(#[$field_meta])* $field: $ty, )* }
        }

        impl $crate::catalog::Blank for $row {
            fn blank(
                merchant_id: &punchcard_domain::MerchantId,
                env: punchcard_domain::Env,
                now: punchcard_domain::time::Timestamp,
            ) -> Self {
                Self {
                    merchant_id: merchant_id.clone(),
                    env,
                    id: <$id>::new(),
                    $( $field: Default::default(), )*
                    created_at: now,
                    updated_at: now,
                    deleted_at: None,
                }
            }

            fn touch(&mut self, now: punchcard_domain::time::Timestamp) {
                self.updated_at = now;
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $row:ident($id:ty) in $table:literal $(exact [$($exact:literal),*])? {
            $( $(#[$field_meta:meta])* $field:ident: $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $row {
            pub merchant_id: punchcard_domain::MerchantId,
            pub env: punchcard_domain::Env,
            pub id: $id,
            $( $(#[$field_meta])* pub $field: $ty, )*
            pub created_at: punchcard_domain::time::Timestamp,
            pub updated_at: punchcard_domain::time::Timestamp,
            pub deleted_at: Option<punchcard_domain::time::Timestamp>,
        }

        impl $crate::catalog::Columns for $row {
            type Id = $id;
            const TABLE: &'static str = $table;
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
            const EXACT: &'static [&'static str] = &[$($($exact),*)?];

            fn id(&self) -> &$id {
                &self.id
            }

            fn id_text(id: &$id) -> &str {
                id.as_str()
            }

            fn keys(&self) -> $crate::catalog::Keys<'_> {
                $crate::catalog::Keys {
                    merchant_id: &self.merchant_id,
                    env: self.env,
                    id: self.id.as_str(),
                    created_at: self.created_at,
                    updated_at: self.updated_at,
                }
            }

            fn values(&self) -> Vec<sea_query::Value> {
                vec![$( $crate::db::Arg::value(self.$field.clone()) ),*]
            }

            fn decode(row: &$crate::DbRow) -> Result<Self, $crate::StoreError> {
                Ok(Self {
                    merchant_id: $crate::db::parsed(row, "merchant_id")?,
                    env: $crate::db::parsed(row, "env")?,
                    id: $crate::db::parsed(row, "id")?,
                    $( $field: row.try_get(stringify!($field))?, )*
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    deleted_at: row.try_get("deleted_at")?,
                })
            }
        }
    };
}
pub(crate) use catalog_row;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// `column = value`.
pub(crate) fn is(column: &str, value: impl Arg) -> SimpleExpr {
    Expr::col(col(column)).eq(value.value())
}

/// Some of `columns` contains `needle`, any case.
pub(crate) fn contains(columns: &[&str], needle: &str) -> Cond {
    let pattern = contains_pattern(needle);
    columns.iter().fold(Cond::any(), |any, c| {
        any.add(
            Expr::expr(Func::lower(Expr::col(col(c))))
                .like(LikeExpr::new(pattern.clone()).escape('\\')),
        )
    })
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

/// The live items of `K` of a merchant and environment.
fn live<K: Columns>(merchant_id: &MerchantId, env: Env) -> SelectStatement {
    let mut columns = vec!["merchant_id", "env", "id"];
    columns.extend(K::FIELDS);
    columns.extend(["created_at", "updated_at", "deleted_at"]);
    let mut select = sea_query::Query::select();
    for c in columns {
        if K::EXACT.contains(&c) {
            select.expr_as(Expr::col(col(c)).cast_as(col("TEXT")), col(c));
        } else {
            select.column(col(c));
        }
    }
    select
        .from(col(K::TABLE))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(Expr::col(col("deleted_at")).is_null())
        .to_owned()
}

/// The values of an item's own fields as written: an exact decimal is cast to `numeric` on
/// PostgreSQL (SQLite keeps its text as it is).
fn written<K: Columns>(conn: &Conn, item: &K) -> Vec<SimpleExpr> {
    let cast = conn.backend() == crate::Backend::Postgres;
    K::FIELDS
        .iter()
        .zip(item.values())
        .map(|(c, v)| {
            if cast && K::EXACT.contains(c) {
                SimpleExpr::Value(v).cast_as(col("NUMERIC"))
            } else {
                SimpleExpr::Value(v)
            }
        })
        .collect()
}

pub async fn insert<K: Columns>(conn: &mut Conn, item: &K) -> Result<(), StoreError> {
    let mut columns = vec!["merchant_id", "env", "id"];
    columns.extend(K::FIELDS);
    columns.extend(["created_at", "updated_at"]);
    let keys = item.keys();
    let mut values: Vec<SimpleExpr> = vec![
        keys.merchant_id.as_str().into(),
        keys.env.as_str().into(),
        keys.id.into(),
    ];
    values.extend(written::<K>(conn, item));
    values.push(SimpleExpr::Value(keys.created_at.value()));
    values.push(SimpleExpr::Value(keys.updated_at.value()));
    let insert = sea_query::Query::insert()
        .into_table(col(K::TABLE))
        .columns(columns.into_iter().map(col))
        .values_panic(values)
        .to_owned();
    crate::statement(&insert).execute(conn).await?;
    Ok(())
}

/// A live item of this merchant and environment.
pub async fn find<K: Columns>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &K::Id,
) -> Result<Option<K>, StoreError> {
    let select = live::<K>(merchant_id, env)
        .and_where(is("id", K::id_text(id)))
        .to_owned();
    crate::statement(&select)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(K::decode)
        .transpose()
}

/// One page of live items in id (creation) order, after `after`, matching `filter`.
pub async fn list<K: Kind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &K::Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<K>, StoreError> {
    let select = live::<K>(merchant_id, env)
        .and_where(Expr::col(col("id")).gt(after.unwrap_or("")))
        .cond_where(K::condition(filter, merchant_id))
        .order_by(col("id"), Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .to_owned();
    let rows = crate::statement(&select).fetch_all(conn).await?;
    rows.iter().map(K::decode).collect()
}

/// Which of `ids` are live items of this merchant and environment.
pub async fn live_ids<K: Columns>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[K::Id],
) -> Result<Vec<K::Id>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(K::id_text).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = sea_query::Query::select()
        .column(col("id"))
        .from(col(K::TABLE))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(Expr::col(col("deleted_at")).is_null())
        .and_where(Expr::col(col("id")).is_in(ids))
        .to_owned();
    crate::statement(&select)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| parsed(r, "id"))
        .collect()
}

/// Whether a live item other than `except` has `value` in `column` (a code they must not
/// share).
pub async fn taken<K: Columns>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    column: &str,
    value: &str,
    except: Option<&K::Id>,
) -> Result<bool, StoreError> {
    let select = sea_query::Query::select()
        .expr(Expr::col(col("id")).count())
        .from(col(K::TABLE))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(Expr::col(col("deleted_at")).is_null())
        .and_where(is(column, value))
        .and_where(Expr::col(col("id")).ne(except.map_or("", K::id_text)))
        .to_owned();
    let n: i64 = crate::statement(&select).scalar(conn).await?;
    Ok(n > 0)
}

/// The update of the live item `(merchant_id, env, id)`.
fn update_of<K: Columns>(
    merchant_id: &MerchantId,
    env: Env,
    id: &str,
) -> sea_query::UpdateStatement {
    sea_query::Query::update()
        .table(col(K::TABLE))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(is("id", id))
        .and_where(Expr::col(col("deleted_at")).is_null())
        .to_owned()
}

/// Writes every field of a live item; answers whether it was found.
pub async fn update<K: Columns>(conn: &mut Conn, item: &K) -> Result<bool, StoreError> {
    let mut sets: Vec<(Alias, SimpleExpr)> = K::FIELDS
        .iter()
        .map(|c| col(c))
        .zip(written::<K>(conn, item))
        .collect();
    let keys = item.keys();
    sets.push((
        col("updated_at"),
        SimpleExpr::Value(keys.updated_at.value()),
    ));
    let update = update_of::<K>(keys.merchant_id, keys.env, keys.id)
        .values(sets)
        .to_owned();
    Ok(crate::statement(&update)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// Marks a live item deleted (with the kind's [`Kind::ON_DELETE`]) and detaches its
/// [`Kind::DETACH`] links; answers whether one was.
pub async fn soft_delete<K: Kind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &K::Id,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let id = K::id_text(id);
    let mut sets: Vec<(Alias, SimpleExpr)> = vec![
        (col("deleted_at"), SimpleExpr::Value(now.value())),
        (col("updated_at"), SimpleExpr::Value(now.value())),
    ];
    sets.extend(K::ON_DELETE.iter().map(|(c, v)| (col(c), (*v).into())));
    let update = update_of::<K>(merchant_id, env, id).values(sets).to_owned();
    if crate::statement(&update)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        != 1
    {
        return Ok(false);
    }
    for (links, column) in K::DETACH {
        links.remove(&mut *conn, merchant_id, column, id).await?;
    }
    Ok(true)
}

/// Makes `store_ids` (live stores of the same environment, checked by the caller) the stores
/// that carry an item of a kind stores carry.
pub async fn set_stores<K: Kind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &K::Id,
    store_ids: &[StoreId],
) -> Result<(), StoreError> {
    let id = K::id_text(id);
    match K::STORES {
        Some(links) => links.replace(conn, merchant_id, env, id, store_ids).await,
        None => Ok(()),
    }
}

/// The links of a kind stores carry as `(from, to)` pairs: the live stores carrying each of
/// the items `ids`, or with `from_stores` the live items each of the stores `ids` carries.
pub async fn links<K: Kind, F: FromStr, T: FromStr>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    from_stores: bool,
    ids: &[&str],
) -> Result<Vec<(F, T)>, StoreError> {
    match K::STORES {
        Some(links) => links.pairs(conn, merchant_id, env, from_stores, ids).await,
        None => Ok(Vec::new()),
    }
}

/// A table linking stores to the deals or offers they carry.
#[derive(Debug, Clone, Copy)]
pub struct Links {
    pub(crate) table: &'static str,
    /// The column naming the deal or offer, and that item's table.
    pub(crate) owner_column: &'static str,
    pub(crate) owner_table: &'static str,
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
        store_ids: &[StoreId],
    ) -> Result<(), StoreError> {
        self.remove(&mut *conn, merchant_id, self.owner_column, owner_id)
            .await?;
        if store_ids.is_empty() {
            return Ok(());
        }
        let mut insert = sea_query::Query::insert();
        insert
            .into_table(col(self.table))
            .columns(["merchant_id", "env", self.owner_column, "store_id"].map(col));
        for store_id in store_ids {
            insert.values_panic([
                merchant_id.as_str().into(),
                env.as_str().into(),
                owner_id.into(),
                store_id.as_str().into(),
            ]);
        }
        crate::statement(&insert).execute(conn).await?;
        Ok(())
    }

    /// Detaches every link whose `column` (the owner's or `store_id`) is `id`.
    pub(crate) async fn remove(
        self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        column: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let delete = sea_query::Query::delete()
            .from_table(col(self.table))
            .and_where(is("merchant_id", merchant_id.as_str()))
            .and_where(is(column, id))
            .to_owned();
        crate::statement(&delete).execute(conn).await?;
        Ok(())
    }

    /// `(from, to)` pairs of the links whose `from` column is one of `ids` and whose `to`
    /// side is live: the stores of deals or offers (`from` = the owner column), or the deals
    /// or offers of stores (`from` = `store_id`).
    pub(crate) async fn pairs<F: FromStr, T: FromStr>(
        self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        from_stores: bool,
        ids: &[&str],
    ) -> Result<Vec<(F, T)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (from, to, to_table) = if from_stores {
            ("store_id", self.owner_column, self.owner_table)
        } else {
            (self.owner_column, "store_id", "stores")
        };
        let l = |c: &str| (col("l"), col(c));
        let t = |c: &str| (col("t"), col(c));
        let select = sea_query::Query::select()
            .expr_as(Expr::col(l(from)), col("from_id"))
            .expr_as(Expr::col(l(to)), col("to_id"))
            .from_as(col(self.table), col("l"))
            .inner_join(
                sea_query::TableRef::TableAlias(
                    sea_query::SeaRc::new(col(to_table)),
                    sea_query::SeaRc::new(col("t")),
                ),
                Cond::all()
                    .add(Expr::col(t("merchant_id")).equals(l("merchant_id")))
                    .add(Expr::col(t("id")).equals(l(to)))
                    .add(Expr::col(t("deleted_at")).is_null()),
            )
            .and_where(Expr::col(l("merchant_id")).eq(merchant_id.as_str()))
            .and_where(Expr::col(l("env")).eq(env.as_str()))
            .and_where(Expr::col(l(from)).is_in(ids.iter().copied()))
            .order_by(l(to), Order::Asc)
            .to_owned();
        crate::statement(&select)
            .fetch_all(conn)
            .await?
            .iter()
            .map(|r| Ok((parsed(r, "from_id")?, parsed(r, "to_id")?)))
            .collect()
    }

    /// The condition "the item is attached to `store_id`".
    pub(crate) fn carried_by(self, merchant_id: &MerchantId, store_id: &str) -> SimpleExpr {
        Expr::col(col("id")).in_subquery(
            sea_query::Query::select()
                .column(col(self.owner_column))
                .from(col(self.table))
                .and_where(is("merchant_id", merchant_id.as_str()))
                .and_where(is("store_id", store_id))
                .to_owned(),
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
