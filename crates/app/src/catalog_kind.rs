//! One mechanism for every kind of catalog item: a kind (deals, offers, stores) names its row,
//! draft, filter, cap, links and store calls, and the use cases here create, read, list, change
//! and delete items of any kind.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::str::FromStr;

use punchcard_domain::catalog::{parse_moment, Schedule};
use punchcard_domain::limits::Resource;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{DealId, Env, FieldError, MerchantId, OfferId, StoreId, ValidationErrors};
use punchcard_store::uploads::UploadRow;
use punchcard_store::{accounts, commit, Conn, StoreError};

use crate::catalog::{check_stores_exist, images_of, parse_store_ids, CatalogItem, Rates};
use crate::limits::check_cap;
use crate::{App, AppError};

/// The id of a catalog item.
pub trait ItemId:
    Clone
    + Eq
    + Hash
    + Display
    + FromStr<Err = FieldError>
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    fn as_str(&self) -> &str;
}

macro_rules! item_ids {
    ($($id:ty),*) => {$(
        impl ItemId for $id {
            fn as_str(&self) -> &str {
                <$id>::as_str(self)
            }
        }
    )*};
}
item_ids!(DealId, OfferId, StoreId);

/// A draft (every field as typed, so the API and the dashboard share one parser) and the
/// change to it that names only some fields.
pub trait Draft: Clone + Default + Send + Sync {
    type Patch: Default + Send + From<Self>;
    /// Takes the fields the patch gives.
    fn apply(&mut self, patch: Self::Patch);
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
pub trait CatalogKind: Send + Sync + 'static {
    /// What one item is called in answers and logs; also the parent type of its images.
    const NAME: &'static str;
    const CAP: Cap;
    /// Whether answers show its price in each of the merchant's currencies.
    const PRICED: bool = false;
    /// Whether stores carry it: its draft lists `store_ids`.
    const CARRIED: bool = false;

    type Id: ItemId;
    type Row: Send + Sync;
    type Draft: Draft;
    type Filter: Send + Sync;
    /// List filters as typed (query parameters or a filter form).
    type Query: serde::de::DeserializeOwned + Default + Send;
    /// The fields of a draft once valid.
    type Parsed: Send + Sync;
    /// What answers show about an item besides its row: a deal's stores, a store's deals.
    type Links: Default + Send;
    type View: Send + Sync;

    fn id(row: &Self::Row) -> &Self::Id;
    fn filter(query: &Self::Query) -> Result<Self::Filter, ValidationErrors>;
    /// The image parent an id names.
    fn parent(id: Self::Id) -> CatalogItem;
    /// Whether it counts against a `WhileAvailable` cap; a kind without a switch always is.
    fn available(_row: &Self::Row) -> bool {
        true
    }
    /// Parses every field but the stores, recording each error.
    fn parse(env: Env, draft: &Self::Draft, e: &mut ValidationErrors) -> Option<Self::Parsed>;
    fn new_row(merchant_id: &MerchantId, env: Env, p: Self::Parsed, now: Timestamp) -> Self::Row;
    fn changed_row(current: Self::Row, p: Self::Parsed, now: Timestamp) -> Self::Row;
    /// The draft of a saved item, to edit it.
    fn draft(row: &Self::Row, links: &Self::Links) -> Self::Draft;
    /// The stores a draft names (kinds stores carry).
    fn draft_stores(_draft: &Self::Draft) -> &[String] {
        &[]
    }
    /// Whether a change replaces the stores.
    fn patch_names_stores(_patch: &<Self::Draft as Draft>::Patch) -> bool {
        false
    }
    /// The change that only switches an item on or off (kinds counted while available).
    fn switch(_on: bool) -> <Self::Draft as Draft>::Patch {
        Default::default()
    }
    fn view(
        row: Self::Row,
        links: Self::Links,
        rates: &Rates,
        images: Vec<UploadRow>,
    ) -> Self::View;
    fn row_of(view: &Self::View) -> &Self::Row;
    fn images_of(view: &Self::View) -> &[UploadRow];
    /// The draft of an item answered before, to edit it.
    fn edit_draft(view: &Self::View) -> Self::Draft;

    fn find(
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        id: &Self::Id,
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> + Send;
    fn list(
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        filter: &Self::Filter,
        after: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;
    fn insert(
        conn: &mut Conn,
        row: &Self::Row,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn update(
        conn: &mut Conn,
        row: &Self::Row,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn soft_delete(
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        id: &Self::Id,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The links of each of `ids`.
    fn links(
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        ids: &[Self::Id],
    ) -> impl Future<Output = Result<HashMap<Self::Id, Self::Links>, StoreError>> + Send;

    /// Kinds stores carry: makes `store_ids` (live, checked) the stores that carry the item.
    fn set_stores(
        _conn: &mut Conn,
        _merchant_id: &MerchantId,
        _env: Env,
        _id: &Self::Id,
        _store_ids: &[StoreId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }

    /// Checks of a parsed item against the other live items (a code they must not share);
    /// `current` is the saved item a change applies to.
    fn check_unique(
        _conn: &mut Conn,
        _merchant_id: &MerchantId,
        _env: Env,
        _p: &Self::Parsed,
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

/// Adds links, prices and images to items read in one go.
async fn views<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    rows: Vec<K::Row>,
) -> Result<Vec<K::View>, AppError> {
    let ids: Vec<K::Id> = rows.iter().map(|r| K::id(r).clone()).collect();
    let mut links = K::links(conn, merchant_id, env, &ids).await?;
    let id_strs: Vec<&str> = ids.iter().map(ItemId::as_str).collect();
    let mut images = images_of(conn, merchant_id, K::NAME, &id_strs).await?;
    let rates = if K::PRICED {
        Rates::load(conn, merchant_id).await?
    } else {
        Rates::default()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = K::id(&row);
            let l = links.remove(id).unwrap_or_default();
            let i = images.remove(id.as_str()).unwrap_or_default();
            K::view(row, l, &rates, i)
        })
        .collect())
}

async fn view<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    row: K::Row,
) -> Result<K::View, AppError> {
    views::<K>(conn, merchant_id, env, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound(K::NAME))
}

/// Parses the stores a draft names and records those that are not live stores here.
async fn checked_stores<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    draft: &K::Draft,
    e: &mut ValidationErrors,
) -> Result<Option<Vec<StoreId>>, AppError> {
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
    ) -> Result<K::View, AppError> {
        let mut errors = ValidationErrors::new();
        let parsed = K::parse(env, draft, &mut errors);
        let mut tx = self.db.begin_write().await?;
        let store_ids = if K::CARRIED {
            checked_stores::<K>(&mut tx, merchant_id, env, draft, &mut errors).await?
        } else {
            None
        };
        if let Some(p) = &parsed {
            K::check_unique(&mut tx, merchant_id, env, p, None, &mut errors).await?;
        }
        errors.into_result()?;
        let row = K::new_row(merchant_id, env, parsed.expect("checked"), Timestamp::now());
        let counted = match K::CAP {
            Cap::WhileAvailable(r) => K::available(&row).then_some(r),
            Cap::FromCreation(r) => Some(r),
        };
        if let Some(r) = counted {
            check_cap(&mut tx, merchant_id, env, r).await?;
        }
        K::insert(&mut tx, &row).await?;
        let id = K::id(&row).clone();
        if let Some(ids) = store_ids {
            K::set_stores(&mut tx, merchant_id, env, &id, &ids).await?;
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
    ) -> Result<K::View, AppError> {
        let mut conn = self.db.conn().await?;
        let row = K::find(&mut conn, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound(K::NAME))?;
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
    ) -> Result<Vec<K::View>, AppError> {
        let mut conn = self.db.conn().await?;
        let rows = K::list(&mut conn, merchant_id, env, filter, after, limit).await?;
        views::<K>(&mut conn, merchant_id, env, rows).await
    }

    /// Changes the fields a patch gives. Making an item available counts against its cap.
    pub async fn update_item<K: CatalogKind>(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &K::Id,
        patch: <K::Draft as Draft>::Patch,
    ) -> Result<K::View, AppError> {
        let mut tx = self.db.begin_write().await?;
        let toggles = matches!(K::CAP, Cap::WhileAvailable(_));
        // Reads below happen under the merchant's lock, so a concurrent toggle cannot slip by.
        if toggles && !accounts::lock_merchant(&mut tx, merchant_id).await? {
            return Err(AppError::NotFound("merchant"));
        }
        let current = K::find(&mut tx, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound(K::NAME))?;
        let links = if K::CARRIED {
            K::links(&mut tx, merchant_id, env, std::slice::from_ref(id))
                .await?
                .remove(id)
                .unwrap_or_default()
        } else {
            K::Links::default()
        };
        let stores_change = K::patch_names_stores(&patch);
        let mut draft = K::draft(&current, &links);
        draft.apply(patch);
        let mut errors = ValidationErrors::new();
        let parsed = K::parse(env, &draft, &mut errors);
        let store_ids = if stores_change {
            checked_stores::<K>(&mut tx, merchant_id, env, &draft, &mut errors).await?
        } else {
            None
        };
        if let Some(p) = &parsed {
            K::check_unique(&mut tx, merchant_id, env, p, Some(&current), &mut errors).await?;
        }
        errors.into_result()?;
        let was_available = K::available(&current);
        let row = K::changed_row(current, parsed.expect("checked"), Timestamp::now());
        if let Cap::WhileAvailable(r) = K::CAP {
            if K::available(&row) && !was_available {
                check_cap(&mut tx, merchant_id, env, r).await?;
            }
        }
        if !K::update(&mut tx, &row).await? {
            return Err(AppError::NotFound(K::NAME));
        }
        if let Some(ids) = store_ids {
            K::set_stores(&mut tx, merchant_id, env, id, &ids).await?;
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
        if !K::soft_delete(&mut tx, merchant_id, env, id, Timestamp::now()).await? {
            return Err(AppError::NotFound(K::NAME));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, id = %id, "{} deleted", K::NAME);
        Ok(())
    }
}

/// A kind's reads and creation under their own names (`create_deal`, `deal`, `list_deals`),
/// as other pages and the demo data call them.
macro_rules! named_use_cases {
    ($kind:ty: $create:ident, $get:ident, $list:ident) => {
        impl $crate::App {
            pub async fn $create(
                &self,
                m: &::punchcard_domain::MerchantId,
                env: ::punchcard_domain::Env,
                draft: &$crate::catalog_kind::DraftOf<$kind>,
            ) -> Result<$crate::catalog_kind::ViewOf<$kind>, $crate::AppError> {
                self.create_item::<$kind>(m, env, draft).await
            }

            pub async fn $get(
                &self,
                m: &::punchcard_domain::MerchantId,
                env: ::punchcard_domain::Env,
                id: &$crate::catalog_kind::IdOf<$kind>,
            ) -> Result<$crate::catalog_kind::ViewOf<$kind>, $crate::AppError> {
                self.item::<$kind>(m, env, id).await
            }

            pub async fn $list(
                &self,
                m: &::punchcard_domain::MerchantId,
                env: ::punchcard_domain::Env,
                filter: &$crate::catalog_kind::FilterOf<$kind>,
                after: Option<&str>,
                limit: i64,
            ) -> Result<Vec<$crate::catalog_kind::ViewOf<$kind>>, $crate::AppError> {
                self.list_items::<$kind>(m, env, filter, after, limit).await
            }
        }
    };
}
pub(crate) use named_use_cases;

/// The items of a kind's `CatalogKind` implementation that follow from its names alone: the
/// row's `id`, the view's field holding the row (`deal`), and its store module (`deals`, whose
/// functions every catalog store module has under the same names).
macro_rules! kind_items {
    ($store:ident, $row:ident) => {
        fn id(row: &Self::Row) -> &Self::Id {
            &row.id
        }

        fn row_of(v: &Self::View) -> &Self::Row {
            &v.$row
        }

        fn images_of(v: &Self::View) -> &[::punchcard_store::uploads::UploadRow] {
            &v.images
        }

        async fn find(
            c: &mut ::punchcard_store::Conn,
            m: &::punchcard_domain::MerchantId,
            env: ::punchcard_domain::Env,
            id: &Self::Id,
        ) -> Result<Option<Self::Row>, ::punchcard_store::StoreError> {
            $store::find(c, m, env, id).await
        }

        async fn list(
            c: &mut ::punchcard_store::Conn,
            m: &::punchcard_domain::MerchantId,
            env: ::punchcard_domain::Env,
            filter: &Self::Filter,
            after: Option<&str>,
            limit: i64,
        ) -> Result<Vec<Self::Row>, ::punchcard_store::StoreError> {
            $store::list(c, m, env, filter, after, limit).await
        }

        async fn insert(
            c: &mut ::punchcard_store::Conn,
            row: &Self::Row,
        ) -> Result<(), ::punchcard_store::StoreError> {
            $store::insert(c, row).await
        }

        async fn update(
            c: &mut ::punchcard_store::Conn,
            row: &Self::Row,
        ) -> Result<bool, ::punchcard_store::StoreError> {
            $store::update(c, row).await
        }

        async fn soft_delete(
            c: &mut ::punchcard_store::Conn,
            m: &::punchcard_domain::MerchantId,
            env: ::punchcard_domain::Env,
            id: &Self::Id,
            now: ::punchcard_domain::time::Timestamp,
        ) -> Result<bool, ::punchcard_store::StoreError> {
            $store::soft_delete(c, m, env, id, now).await
        }
    };
    // Priced items that stores carry and that count while available (deals, offers): their
    // links are their stores, and their drafts and views name them.
    ($store:ident, $row:ident, carried: $view:ident) => {
        $crate::catalog_kind::kind_items!($store, $row);

        const PRICED: bool = true;
        const CARRIED: bool = true;
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

        fn view(
            row: Self::Row,
            store_ids: Vec<::punchcard_domain::StoreId>,
            rates: &$crate::catalog::Rates,
            images: Vec<::punchcard_store::uploads::UploadRow>,
        ) -> Self::View {
            $view {
                prices: rates.prices(row.sell_price),
                $row: row,
                store_ids,
                images,
            }
        }

        fn edit_draft(v: &Self::View) -> Self::Draft {
            Self::draft(&v.$row, &v.store_ids)
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
            Ok($crate::catalog::group(
                $store::store_links(c, m, env, ids).await?,
            ))
        }

        async fn set_stores(
            c: &mut ::punchcard_store::Conn,
            m: &::punchcard_domain::MerchantId,
            env: ::punchcard_domain::Env,
            id: &Self::Id,
            ids: &[::punchcard_domain::StoreId],
        ) -> Result<(), ::punchcard_store::StoreError> {
            $store::set_stores(c, m, env, id, ids).await
        }
    };
}
pub(crate) use kind_items;

pub type IdOf<K> = <K as CatalogKind>::Id;
pub type DraftOf<K> = <K as CatalogKind>::Draft;
pub type PatchOf<K> = <<K as CatalogKind>::Draft as Draft>::Patch;
pub type FilterOf<K> = <K as CatalogKind>::Filter;
pub type ViewOf<K> = <K as CatalogKind>::View;
