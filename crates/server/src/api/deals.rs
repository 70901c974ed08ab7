//! `/api/v1/deals`: the deals leads spend points on, with their stores, prices and images.

use punchcard_app::deals::{DealDraft, DealPatch, DealView, Deals};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::{catalog_routes, image_routes};
use super::catalog::{cleared, moment, nullable, CurrencyPrice, Image, ImageUpload};
use super::pagination::{Page, PageParams};
use crate::problem::Problem;

catalog_routes! {
    Deals: Deal, NewDeal, DealChanges, DealFilters, tag "deals";
    paths "/api/v1/deals", "/api/v1/deals/{id}";
    words "the deal id", "the deal", "a page of deals", "the changed deal",
        "no such deal in this environment";
    refusals "invalid fields (`validation_failed`) or the active-deal cap reached (`limit_reached`: 10 in dev, 100 in prod)",
        "invalid fields or the active-deal cap reached";
    create_deal "Creates a deal.";
    list_deals "Lists the environment's deals in creation order.";
    get_deal "One deal.";
    update_deal "Changes a deal.";
    delete_deal "Deletes a deal. It leaves lists and answers; coupons already issued keep it.";
}

/// Filters of the deal list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DealFilters {
    /// `voucher`, `cash`, `merchandise` or `meetup`.
    #[param(pattern = "^(voucher|cash|merchandise|meetup)$")]
    pub kind: Option<String>,
    /// `true` or `false`.
    #[param(pattern = "^(true|false)$")]
    pub available: Option<String>,
    /// `private` or `partner`.
    #[param(pattern = "^(private|partner)$")]
    pub visibility: Option<String>,
    /// Only deals carried by this store.
    pub store_id: Option<String>,
    /// Part of the name, any case.
    pub q: Option<String>,
}

/// A deal of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deal {
    #[schema(example = "deal_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    #[schema(example = "Free coffee")]
    pub name: String,
    pub description: String,
    /// `voucher`, `cash`, `merchandise` or `meetup`.
    #[schema(example = "voucher")]
    pub kind: String,
    /// The price in coins.
    #[schema(example = 150)]
    pub sell_price: i64,
    /// Whether the deal is live (counts against the active-deal cap).
    pub available: bool,
    /// `private` (the merchant's own customers) or `partner` (prod only).
    #[schema(example = "private")]
    pub visibility: String,
    /// RFC 3339 UTC, or null.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// The stores that carry the deal.
    pub store_ids: Vec<String>,
    /// The price in each of the merchant's currencies.
    pub prices: Vec<CurrencyPrice>,
    /// Up to 3 images.
    pub images: Vec<Image>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<DealView> for Deal {
    fn from(v: DealView) -> Self {
        let d = v.deal;
        Self {
            id: d.id.to_string(),
            name: d.name,
            description: d.description,
            kind: d.kind,
            sell_price: d.sell_price,
            available: d.available,
            visibility: d.visibility,
            starts_at: moment(d.starts_at),
            ends_at: moment(d.ends_at),
            store_ids: v.store_ids.iter().map(ToString::to_string).collect(),
            prices: v.prices.into_iter().map(CurrencyPrice::from).collect(),
            images: v
                .images
                .into_iter()
                .map(|u| Image::of("deals", u))
                .collect(),
            created_at: d.created_at.to_rfc3339(),
            updated_at: d.updated_at.to_rfc3339(),
        }
    }
}

/// A new deal. `available` makes it live at once (default false); in dev only `private`
/// deals exist.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeal {
    /// 1-100 characters.
    #[schema(
        required = true,
        value_type = String,
        example = "Free coffee",
        min_length = 1,
        max_length = 100
    )]
    pub name: Option<String>,
    /// Up to 2000 characters; line breaks and tabs allowed.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `voucher`, `cash`, `merchandise` or `meetup`.
    #[schema(required = true, value_type = String, example = "voucher", pattern = "^(voucher|cash|merchandise|meetup)$")]
    pub kind: Option<String>,
    /// Coins a lead spends (converted to points per currency), 0 to 10^12.
    #[schema(
        required = true,
        value_type = i64,
        example = 150,
        minimum = 0,
        maximum = 1_000_000_000_000i64
    )]
    pub sell_price: Option<i64>,
    /// Live at once; default false.
    pub available: Option<bool>,
    /// `private` (default) or `partner` (prod only).
    #[schema(pattern = "^(private|partner)$")]
    pub visibility: Option<String>,
    /// RFC 3339.
    #[schema(example = "2026-01-01T00:00:00Z", format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339, after `starts_at`.
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// Stores of the same environment that carry the deal.
    pub store_ids: Option<Vec<String>>,
}

impl From<NewDeal> for DealDraft {
    fn from(n: NewDeal) -> Self {
        Self {
            name: n.name.unwrap_or_default(),
            description: n.description.unwrap_or_default(),
            kind: n.kind.unwrap_or_default(),
            sell_price: n.sell_price.map(|p| p.to_string()).unwrap_or_default(),
            available: n.available.unwrap_or(false),
            visibility: n.visibility.unwrap_or_default(),
            starts_at: n.starts_at.unwrap_or_default(),
            ends_at: n.ends_at.unwrap_or_default(),
            store_ids: n.store_ids.unwrap_or_default(),
        }
    }
}

/// Changes to a deal: only the fields sent change; `null` clears a date. `store_ids`
/// replaces the whole set. Making a deal available counts against the active-deal cap.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(pattern = "^(voucher|cash|merchandise|meetup)$")]
    pub kind: Option<String>,
    #[schema(minimum = 0, maximum = 1_000_000_000_000i64)]
    pub sell_price: Option<i64>,
    pub available: Option<bool>,
    #[schema(pattern = "^(private|partner)$")]
    pub visibility: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    pub store_ids: Option<Vec<String>>,
}

impl From<DealChanges> for DealPatch {
    fn from(c: DealChanges) -> Self {
        Self {
            name: c.name,
            description: c.description,
            kind: c.kind,
            sell_price: c.sell_price.map(|p| p.to_string()),
            available: c.available,
            visibility: c.visibility,
            starts_at: cleared(c.starts_at),
            ends_at: cleared(c.ends_at),
            store_ids: c.store_ids,
        }
    }
}

image_routes! {
    Deals, tag "deals"; paths "/api/v1/deals/{id}/images", "/api/v1/deals/{id}/images/{image_id}";
    words "the deal id", "no such deal in this environment", "no such deal or image";
    upload_deal_image "Adds an image to a deal (at most 3).";
    get_deal_image "The bytes of a deal's image.";
    delete_deal_image "Removes a deal's image.";
}
