//! `/api/v1/stores`: where deals and offers are honoured, online or at an address.

use punchcard_app::stores::{location, StoreDraft, StorePatch, StoreView, Stores};
use utoipa::IntoParams;

use super::catalog::{answer, bodies, catalog_routes, cleared, texts, Degrees, Image, ImageUpload};
use super::pagination::{Page, PageParams};
use crate::problem::Problem;

catalog_routes! {
    Stores: Store, NewStore, StoreChanges, StoreFilters;
    names "store", "stores";
    refusals "invalid fields (`validation_failed`) or 100 stores already (`limit_reached`)",
        "invalid fields";
    create_store "Creates a store.";
    list_stores "Lists the environment's stores in creation order.";
    get_store "One store.";
    update_store "Changes a store.";
    delete_store "Deletes a store and detaches it from its stores and offers.";
    upload_store_image "Adds an image to a store (at most 3).";
    get_store_image "The bytes of a store's image.";
    delete_store_image "Removes a store's image.";
}

/// Filters of the store list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreFilters {
    /// `online` or `offline`.
    #[param(pattern = "^(online|offline)$")]
    pub mode: Option<String>,
    /// The city, any case.
    pub city: Option<String>,
    /// Part of the name, any case.
    pub q: Option<String>,
}

answer! {
    /// A store of the merchant.
    pub struct Store from StoreView as v, let location = location(&v.row); {
        #[schema(example = "store_01jd3x1m2n3p4q5r6s7t8v9w0x")]
        id: String = v.row.id.to_string(),
        #[schema(example = "High Street")]
        name: String = v.row.name,
        /// `online` or `offline`.
        #[schema(example = "offline")]
        mode: String = v.row.mode,
        /// The web shop of an online store.
        url: Option<String> = v.row.url,
        #[schema(example = "12 Mill Lane")]
        address_line: Option<String> = v.row.address_line,
        #[schema(example = "Leeds")]
        city: Option<String> = v.row.city,
        #[schema(example = "LS1 4AB")]
        postal_code: Option<String> = v.row.postal_code,
        /// ISO 3166-1 alpha-2.
        #[schema(example = "GB")]
        country: Option<String> = v.row.country,
        /// Decimal degrees (7 decimals at most), or null.
        #[schema(example = 53.7997)]
        latitude: Option<f64> = location.map(|p| p.latitude()),
        #[schema(example = -1.5492)]
        longitude: Option<f64> = location.map(|p| p.longitude()),
        /// The live deals the store carries.
        deal_ids: Vec<String> = texts(&v.links.deal_ids),
        /// The live offers the store carries.
        offer_ids: Vec<String> = texts(&v.links.offer_ids),
        /// Up to 3 images.
        images: Vec<Image> = Image::all("stores", v.images),
        created_at: String = v.row.created_at.to_rfc3339(),
        updated_at: String = v.row.updated_at.to_rfc3339(),
    }
}

bodies! {
    /// A new store. Offline stores need `address_line`, `city` and `country`; only online
    /// stores carry a `url`. Attach deals and offers from their side (`store_ids`).
    pub struct NewStore => StoreDraft;
    /// Changes to a store: only the fields sent change; `null` clears an optional field.
    pub struct StoreChanges => StorePatch;
    {
        /// 1-100 characters.
        #[new(required = true, value_type = String, example = "High Street")]
        #[both(min_length = 1, max_length = 100)]
        name: String,
        /// `online` or `offline`.
        #[new(required = true, value_type = String, example = "offline")]
        #[both(pattern = "^(online|offline)$")]
        mode: String,
        /// http(s) URL of an online store.
        #[new(max_length = 2048)]
        url ["cleared"]: String,
        address_line ["cleared"]: String,
        city ["cleared"]: String,
        postal_code ["cleared"]: String,
        /// ISO 3166-1 alpha-2.
        #[new(pattern = "^[A-Za-z]{2}$")]
        country ["cleared"]: String,
        /// -90 to 90; with `longitude`.
        #[new(minimum = -90, maximum = 90)]
        #[both(value_type = Option<f64>)]
        latitude ["cleared"]: Degrees,
        /// -180 to 180; with `latitude`.
        #[new(minimum = -180, maximum = 180)]
        #[both(value_type = Option<f64>)]
        longitude ["cleared"]: Degrees,
    }
}
