//! `/api/v1/stores`: where deals and offers are honoured, online or at an address.

use punchcard_app::stores::{StoreDraft, StorePatch, StoreView, Stores};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::{catalog_routes, image_routes};
use super::catalog::{cleared, nullable, Image, ImageUpload};
use super::pagination::{Page, PageParams};
use crate::problem::Problem;

catalog_routes! {
    Stores: Store, NewStore, StoreChanges, StoreFilters, tag "stores";
    paths "/api/v1/stores", "/api/v1/stores/{id}";
    words "the store id", "the store", "a page of stores", "the changed store",
        "no such store in this environment";
    refusals "invalid fields (`validation_failed`) or 100 stores already (`limit_reached`)",
        "invalid fields";
    create_store "Creates a store.";
    list_stores "Lists the environment's stores in creation order.";
    get_store "One store.";
    update_store "Changes a store.";
    delete_store "Deletes a store and detaches it from its stores and offers.";
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

/// A store of the merchant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Store {
    #[schema(example = "store_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    #[schema(example = "High Street")]
    pub name: String,
    /// `online` or `offline`.
    #[schema(example = "offline")]
    pub mode: String,
    /// The web shop of an online store.
    pub url: Option<String>,
    #[schema(example = "12 Mill Lane")]
    pub address_line: Option<String>,
    #[schema(example = "Leeds")]
    pub city: Option<String>,
    #[schema(example = "LS1 4AB")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "GB")]
    pub country: Option<String>,
    /// Decimal degrees (7 decimals at most), or null.
    #[schema(example = 53.7997)]
    pub latitude: Option<f64>,
    #[schema(example = -1.5492)]
    pub longitude: Option<f64>,
    /// The live deals the store carries.
    pub deal_ids: Vec<String>,
    /// The live offers the store carries.
    pub offer_ids: Vec<String>,
    /// Up to 3 images.
    pub images: Vec<Image>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<StoreView> for Store {
    fn from(v: StoreView) -> Self {
        let location = v.location();
        let s = v.store;
        Self {
            id: s.id.to_string(),
            name: s.name,
            mode: s.mode,
            url: s.url,
            address_line: s.address_line,
            city: s.city,
            postal_code: s.postal_code,
            country: s.country,
            latitude: location.map(|p| p.latitude()),
            longitude: location.map(|p| p.longitude()),
            deal_ids: v.deal_ids.iter().map(ToString::to_string).collect(),
            offer_ids: v.offer_ids.iter().map(ToString::to_string).collect(),
            images: v
                .images
                .into_iter()
                .map(|u| Image::of("stores", u))
                .collect(),
            created_at: s.created_at.to_rfc3339(),
            updated_at: s.updated_at.to_rfc3339(),
        }
    }
}

/// A new store. Offline stores need `address_line`, `city` and `country`; only online
/// stores carry a `url`. Attach deals and offers from their side (`store_ids`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStore {
    /// 1-100 characters.
    #[schema(
        required = true,
        value_type = String,
        example = "High Street",
        min_length = 1,
        max_length = 100
    )]
    pub name: Option<String>,
    /// `online` or `offline`.
    #[schema(required = true, value_type = String, example = "offline", pattern = "^(online|offline)$")]
    pub mode: Option<String>,
    /// http(s) URL of an online store.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub address_line: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// -90 to 90; with `longitude`.
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    /// -180 to 180; with `latitude`.
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
}

fn degrees(v: Option<f64>) -> String {
    // Display never uses an exponent, so the domain's exact decimal parser reads it.
    v.map(|d| d.to_string()).unwrap_or_default()
}

impl From<NewStore> for StoreDraft {
    fn from(n: NewStore) -> Self {
        Self {
            name: n.name.unwrap_or_default(),
            mode: n.mode.unwrap_or_default(),
            url: n.url.unwrap_or_default(),
            address_line: n.address_line.unwrap_or_default(),
            city: n.city.unwrap_or_default(),
            postal_code: n.postal_code.unwrap_or_default(),
            country: n.country.unwrap_or_default(),
            latitude: degrees(n.latitude),
            longitude: degrees(n.longitude),
        }
    }
}

/// Changes to a store: only the fields sent change; `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(pattern = "^(online|offline)$")]
    pub mode: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub address_line: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub longitude: Option<Option<f64>>,
}

impl From<StoreChanges> for StorePatch {
    fn from(c: StoreChanges) -> Self {
        Self {
            name: c.name,
            mode: c.mode,
            url: cleared(c.url),
            address_line: cleared(c.address_line),
            city: cleared(c.city),
            postal_code: cleared(c.postal_code),
            country: cleared(c.country),
            latitude: c.latitude.map(degrees),
            longitude: c.longitude.map(degrees),
        }
    }
}

image_routes! {
    Stores, tag "stores"; paths "/api/v1/stores/{id}/images", "/api/v1/stores/{id}/images/{image_id}";
    words "the store id", "no such store in this environment", "no such store or image";
    upload_store_image "Adds an image to a store (at most 3).";
    get_store_image "The bytes of a store's image.";
    delete_store_image "Removes a store's image.";
}
