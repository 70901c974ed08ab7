//! One mechanism for every kind of catalog item: a kind (deals, offers, stores) names its row,
//! draft, filters, cap and links, and the use cases here create, read, list, change and delete
//! items of any kind through the store's catalog skeleton.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::str::FromStr;

use punchcard_domain::catalog::{parse_moment, Schedule};
use punchcard_domain::limits::Resource;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, FieldError, MerchantId, StoreId, ValidationErrors};
use punchcard_store::catalog::{self, Blank, Columns, Kind};
use punchcard_store::uploads::UploadRow;
use punchcard_store::{accounts, commit, Conn, StoreError};

use crate::catalog::{check_stores_exist, images_of, parse_store_ids, Price, Rates};
use crate::limits::check_cap;
use crate::{App, AppError};

/// A draft (every field as typed, so the API and the dashboard share one parser) and the
/// change to it that names only some fields.
pub trait Draft: Clone + Default + Send + Sync {
    type Patch: Default + Send + From<Self>;
    /// Takes the fields the patch gives.
    fn apply(&mut self, patch: Self::Patch);
    /// Reads every field of a submitted form by its name.
    fn read(form: &impl DraftSource) -> Self;
}

/// A submitted form, as drafts read it field by field.
pub trait DraftSource {
    fn text(&self, field: &str) -> String;
    /// A checkbox.
    fn ticked(&self, field: &str) -> bool;
    /// A field sent once per choice.
    fn all(&self, field: &str) -> Vec<String>;
}

/// A field of a draft, as read from a submitted form.
pub trait DraftField {
    fn read(form: &impl DraftSource, field: &str) -> Self;
}

impl DraftField for String {
    fn read(form: &impl DraftSource, field: &str) -> Self {
        form.text(field)
    }
}

impl DraftField for bool {
    fn read(form: &impl DraftSource, field: &str) -> Self {
        form.ticked(field)
    }
}

impl DraftField for Vec<String> {
    fn read(form: &impl DraftSource, field: &str) -> Self {
        form.all(field)
    }
}

/// Declares a kind's draft and its patch (the same fields, each optional) from one field list.
macro_rules! drafts {
    ($(#[$dm:meta])* pub struct $draft:ident; $(#[$pm:meta])* pub struct $patch:ident;
     { $($(#[$fm:meta])* pub $f:ident: $t:ty,)* }) => {
        $(#[$dm])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $draft {
            $($(#[$fm])* pub $f: $t,)*
        }

        $(#[$pm])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $patch {
            $(pub $f: Option<$t>,)*
        }

        impl $crate::catalog_kind::Draft for $draft {
            type Patch = $patch;
            fn apply(&mut self, p: $patch) {
                $(if let Some(v) = p.$f {
                    self.$f = v;
                })*
            }

            fn read(form: &impl $crate::catalog_kind::DraftSource) -> Self {
                use $crate::catalog_kind::DraftField;
                Self { $($f: DraftField::read(form, stringify!($f)),)* }
            }
        }

        /// Every field given, as a whole form sends them.
        impl From<$draft> for $patch {
            fn from(d: $draft) -> Self {
                Self { $($f: Some(d.$f),)* }
            }
        }
    };
}
pub(crate) use drafts;

/// A kind's list filters as typed (query parameters or a filter form); an empty one is no
/// filter.
pub trait Query: serde::de::DeserializeOwned + Default + Send + Sync {
    /// The filters by name, in the form's order.
    fn pairs(&self) -> Vec<(&'static str, &str)>;
}

/// Declares a kind's list filters, each a text.
macro_rules! query {
    ($(#[$meta:meta])* pub struct $query:ident { $($f:ident,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
        #[serde(default)]
        pub struct $query {
            $(pub $f: String,)*
        }

        impl $crate::catalog_kind::Query for $query {
            fn pairs(&self) -> Vec<(&'static str, &str)> {
                vec![$((stringify!($f), self.$f.as_str()),)*]
            }
        }
    };
}
pub(crate) use query;

/// When items of a kind count against their cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// While available: checked when one is created available or switched on.
    WhileAvailable(Resource),
    /// From creation on.
    FromCreation(Resource),
}

/// A kind of catalog item: its own fields and store calls. The use cases below, the API routes
/// and the dashboard pages serve every kind from this.
pub trait CatalogKind: Sized + Send + Sync + 'static {
    /// What one item is called in answers and logs; also the parent type of its images.
    const NAME: &'static str;
    const CAP: Cap;
    /// Whether stores carry it: its draft lists `store_ids`.
    const CARRIED: bool = <Self::Row as Kind>::STORES.is_some();

    type Id: Clone
        + Eq
        + Hash
        + Display
        + FromStr<Err = FieldError>
        + serde::de::DeserializeOwned
        + Send
        + Sync;
    type Row: Kind<Id = Self::Id, Filter = Self::Filter> + Blank + std::fmt::Debug + Send + Sync;
    type Draft: Draft;
    type Filter: Send + Sync;
    type Query: Query;
    /// What answers show about an item besides its row: a deal's stores, a store's deals.
    type Links: Clone + std::fmt::Debug + Default + Send + Sync;

    fn id(row: &Self::Row) -> &Self::Id {
        row.id()
    }
    fn filter(query: &Self::Query) -> Result<Self::Filter, ValidationErrors>;
    /// Whether it counts against a `WhileAvailable` cap; a kind without a switch always is.
    fn available(_row: &Self::Row) -> bool {
        true
    }
    /// Parses every field but the stores into `row`, recording each error.
    fn parse(
        env: Env,
        draft: &Self::Draft,
        e: &mut ValidationErrors,
        row: Self::Row,
    ) -> Option<Self::Row>;
    /// The draft of a saved item, to edit it.
    fn draft(row: &Self::Row, links: &Self::Links) -> Self::Draft;
    /// The stores a draft names (kinds stores carry).
    fn draft_stores(_draft: &Self::Draft) -> &[String] {
        &[]
    }
    /// Whether a change replaces the stores.
    fn patch_names_stores(_patch: &PatchOf<Self>) -> bool {
        false
    }
    /// The change that only switches an item on or off (kinds counted while available).
    fn switch(_on: bool) -> PatchOf<Self> {
        Default::default()
    }
    /// The price in coins of a priced kind, which answers show in each of the merchant's
    /// currencies.
    fn sell_price(_row: &Self::Row) -> Option<i64> {
        None
    }
    /// The draft of an item answered before, to edit it.
    fn edit_draft(view: &View<Self>) -> Self::Draft {
        Self::draft(&view.row, &view.links)
    }

    /// The links of each of `ids`.
    fn links(
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        ids: &[Self::Id],
    ) -> impl Future<Output = Result<HashMap<Self::Id, Self::Links>, StoreError>> + Send;

    /// Checks of a parsed item against the other live items (a code they must not share);
    /// `current` is the saved item a change applies to.
    fn check_unique(
        _conn: &mut Conn,
        _merchant_id: &MerchantId,
        _env: Env,
        _row: &Self::Row,
        _current: Option<&Self::Row>,
        _e: &mut ValidationErrors,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
}

/// The optional start and end of an item's schedule, each error recorded.
pub(crate) fn parse_schedule(
    starts_at: &str,
    ends_at: &str,
    e: &mut ValidationErrors,
) -> Option<Schedule> {
    let starts_at = e.check(parse_moment("starts_at", starts_at));
    let ends_at = e.check(parse_moment("ends_at", ends_at));
    match (starts_at, ends_at) {
        (Some(s), Some(t)) => e.check(Schedule::new(s, t)),
        _ => None,
    }
}

/// An item with what answers show about it: its links, its price in each of the merchant's
/// currencies (priced kinds) and its images.
#[derive(Debug, Clone)]
pub struct View<K: CatalogKind> {
    pub row: K::Row,
    pub links: K::Links,
    pub prices: Vec<Price>,
    pub images: Vec<UploadRow>,
}

/// Adds links, prices and images to items read in one go.
async fn views<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    rows: Vec<K::Row>,
) -> Result<Vec<View<K>>, AppError> {
    let ids: Vec<K::Id> = rows.iter().map(|r| K::id(r).clone()).collect();
    let mut links = K::links(conn, merchant_id, env, &ids).await?;
    let id_strs: Vec<&str> = ids.iter().map(K::Row::id_text).collect();
    let mut images = images_of(conn, merchant_id, K::NAME, &id_strs).await?;
    let rates = if rows.iter().any(|r| K::sell_price(r).is_some()) {
        Rates::load(conn, merchant_id).await?
    } else {
        Rates::default()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = K::id(&row);
            View {
                links: links.remove(id).unwrap_or_default(),
                images: images.remove(K::Row::id_text(id)).unwrap_or_default(),
                prices: K::sell_price(&row).map_or(Vec::new(), |p| rates.prices(p)),
                row,
            }
        })
        .collect())
}

async fn view<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    row: K::Row,
) -> Result<View<K>, AppError> {
    views::<K>(conn, merchant_id, env, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound(K::NAME))
}

/// A live item of this merchant and environment, or `NotFound`.
pub(crate) async fn live_row<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &K::Id,
) -> Result<K::Row, AppError> {
    let row = catalog::find::<K::Row>(conn, merchant_id, env, id).await?;
    row.ok_or(AppError::NotFound(K::NAME))
}

/// When `wanted`, parses the stores a draft names and records those that are not live stores
/// here.
async fn checked_stores<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    draft: &K::Draft,
    wanted: bool,
    e: &mut ValidationErrors,
) -> Result<Option<Vec<StoreId>>, AppError> {
    if !wanted {
        return Ok(None);
    }
    let ids = e.check(parse_store_ids(K::draft_stores(draft)));
    if let Some(ids) = &ids {
        check_stores_exist(conn, merchant_id, env, ids, e).await?;
    }
    Ok(ids)
}

impl App {
    /// Creates an item; one that counts against its cap is checked against it at once.
    pub async fn create_item<K: CatalogKind>(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        draft: &K::Draft,
    ) -> Result<View<K>, AppError> {
        let mut errors = ValidationErrors::new();
        let blank = K::Row::blank(merchant_id, env, Timestamp::now());
        let parsed = K::parse(env, draft, &mut errors, blank);
        let mut tx = self.db.begin_write().await?;
        let stores = checked_stores::<K>(&mut tx, merchant_id, env, draft, K::CARRIED, &mut errors);
        let store_ids = stores.await?;
        if let Some(p) = &parsed {
            K::check_unique(&mut tx, merchant_id, env, p, None, &mut errors).await?;
        }
        errors.into_result()?;
        let row = parsed.expect("checked");
        let counted = match K::CAP {
            Cap::WhileAvailable(r) => K::available(&row).then_some(r),
            Cap::FromCreation(r) => Some(r),
        };
        if let Some(r) = counted {
            check_cap(&mut tx, merchant_id, env, r).await?;
        }
        catalog::insert(&mut tx, &row).await?;
        let id = K::id(&row).clone();
        if let Some(ids) = store_ids {
            catalog::set_stores::<K::Row>(&mut tx, merchant_id, env, &id, &ids).await?;
        }
        let answer = view::<K>(&mut tx, merchant_id, env, row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, id = %id, "{} created", K::NAME);
        Ok(answer)
    }

    /// A live item of this merchant and environment.
    pub async fn item<K: CatalogKind>(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &K::Id,
    ) -> Result<View<K>, AppError> {
        let mut conn = self.db.conn().await?;
        let row = live_row::<K>(&mut conn, merchant_id, env, id).await?;
        view::<K>(&mut conn, merchant_id, env, row).await
    }

    /// One page of live items, in creation order.
    pub async fn list_items<K: CatalogKind>(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        filter: &K::Filter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<View<K>>, AppError> {
        let mut conn = self.db.conn().await?;
        let rows =
            catalog::list::<K::Row>(&mut conn, merchant_id, env, filter, after, limit).await?;
        views::<K>(&mut conn, merchant_id, env, rows).await
    }

    /// Changes the fields a patch gives. Making an item available counts against its cap.
    pub async fn update_item<K: CatalogKind>(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &K::Id,
        patch: PatchOf<K>,
    ) -> Result<View<K>, AppError> {
        let mut tx = self.db.begin_write().await?;
        let toggles = matches!(K::CAP, Cap::WhileAvailable(_));
        // Reads below happen under the merchant's lock, so a concurrent toggle cannot slip by.
        if toggles && !accounts::lock_merchant(&mut tx, merchant_id).await? {
            return Err(AppError::NotFound("merchant"));
        }
        let current = live_row::<K>(&mut tx, merchant_id, env, id).await?;
        let links = K::links(&mut tx, merchant_id, env, std::slice::from_ref(id)).await?;
        let links = links.get(id).cloned().unwrap_or_default();
        let replaces = K::patch_names_stores(&patch);
        let mut draft = K::draft(&current, &links);
        draft.apply(patch);
        let mut errors = ValidationErrors::new();
        let mut changed = current.clone();
        changed.touch(Timestamp::now());
        let parsed = K::parse(env, &draft, &mut errors, changed);
        let stores = checked_stores::<K>(&mut tx, merchant_id, env, &draft, replaces, &mut errors);
        let store_ids = stores.await?;
        if let Some(p) = &parsed {
            K::check_unique(&mut tx, merchant_id, env, p, Some(&current), &mut errors).await?;
        }
        errors.into_result()?;
        let row = parsed.expect("checked");
        if let Cap::WhileAvailable(r) = K::CAP {
            if K::available(&row) && !K::available(&current) {
                check_cap(&mut tx, merchant_id, env, r).await?;
            }
        }
        if !catalog::update(&mut tx, &row).await? {
            return Err(AppError::NotFound(K::NAME));
        }
        if let Some(ids) = store_ids {
            catalog::set_stores::<K::Row>(&mut tx, merchant_id, env, id, &ids).await?;
        }
        let answer = view::<K>(&mut tx, merchant_id, env, row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, id = %id, "{} updated", K::NAME);
        Ok(answer)
    }

    /// Deletes an item: it leaves lists and answers (what points at it keeps it).
    pub async fn delete_item<K: CatalogKind>(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &K::Id,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        let now = Timestamp::now();
        if !catalog::soft_delete::<K::Row>(&mut tx, merchant_id, env, id, now).await? {
            return Err(AppError::NotFound(K::NAME));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, id = %id, "{} deleted", K::NAME);
        Ok(())
    }
}

/// The items of the `CatalogKind` implementation of priced kinds that stores carry and that
/// count while available (deals, offers): their links are their stores, and their drafts name
/// them.
macro_rules! carried_items {
    () => {
        type Links = Vec<::punchcard_domain::StoreId>;

        fn available(row: &Self::Row) -> bool {
            row.available
        }

        fn draft_stores(d: &Self::Draft) -> &[String] {
            &d.store_ids
        }

        fn patch_names_stores(p: &$crate::catalog_kind::PatchOf<Self>) -> bool {
            p.store_ids.is_some()
        }

        fn switch(on: bool) -> $crate::catalog_kind::PatchOf<Self> {
            let mut patch = $crate::catalog_kind::PatchOf::<Self>::default();
            patch.available = Some(on);
            patch
        }

        fn sell_price(row: &Self::Row) -> Option<i64> {
            Some(row.sell_price)
        }

        async fn links(
            c: &mut ::punchcard_store::Conn,
            m: &::punchcard_domain::MerchantId,
            env: ::punchcard_domain::Env,
            ids: &[Self::Id],
        ) -> Result<
            ::std::collections::HashMap<Self::Id, Vec<::punchcard_domain::StoreId>>,
            ::punchcard_store::StoreError,
        > {
            let ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
            let pairs =
                ::punchcard_store::catalog::links::<Self::Row, _, _>(c, m, env, false, &ids);
            Ok($crate::catalog::group(pairs.await?))
        }
    };
}
pub(crate) use carried_items;

pub type PatchOf<K> = <<K as CatalogKind>::Draft as Draft>::Patch;
