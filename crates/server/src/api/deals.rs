//! `/api/v1/deals`: the deals leads spend points on, with their stores, prices and images.

use punchcard_app::deals::{DealDraft, DealPatch, DealView, Deals};
use utoipa::IntoParams;

use super::catalog::{answer, bodies, catalog_routes, cleared, moment, texts};
use super::catalog::{CurrencyPrice, Image, ImageUpload};
use super::pagination::{Page, PageParams};
use crate::problem::Problem;

catalog_routes! {
    Deals: Deal, NewDeal, DealChanges, DealFilters;
    names "deal", "deals";
    refusals "invalid fields (`validation_failed`) or the active-deal cap reached (`limit_reached`: 10 in dev, 100 in prod)",
        "invalid fields or the active-deal cap reached";
    create_deal "Creates a deal.";
    list_deals "Lists the environment's deals in creation order.";
    get_deal "One deal.";
    update_deal "Changes a deal.";
    delete_deal "Deletes a deal. It leaves lists and answers; coupons already issued keep it.";
    upload_deal_image "Adds an image to a deal (at most 3).";
    get_deal_image "The bytes of a deal's image.";
    delete_deal_image "Removes a deal's image.";
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

answer! {
    /// A deal of the catalog.
    pub struct Deal from DealView as v; {
        #[schema(example = "deal_01jd3x1m2n3p4q5r6s7t8v9w0x")]
        id: String = v.row.id.to_string(),
        #[schema(example = "Free coffee")]
        name: String = v.row.name,
        description: String = v.row.description,
        /// `voucher`, `cash`, `merchandise` or `meetup`.
        #[schema(example = "voucher")]
        kind: String = v.row.kind,
        /// The price in coins.
        #[schema(example = 150)]
        sell_price: i64 = v.row.sell_price,
        /// Whether the deal is live (counts against the active-deal cap).
        available: bool = v.row.available,
        /// `private` (the merchant's own customers) or `partner` (prod only).
        #[schema(example = "private")]
        visibility: String = v.row.visibility,
        /// RFC 3339 UTC, or null.
        starts_at: Option<String> = moment(v.row.starts_at),
        ends_at: Option<String> = moment(v.row.ends_at),
        /// The stores that carry the deal.
        store_ids: Vec<String> = texts(&v.links),
        /// The price in each of the merchant's currencies.
        prices: Vec<CurrencyPrice> = CurrencyPrice::all(v.prices),
        /// Up to 3 images.
        images: Vec<Image> = Image::all("deals", v.images),
        created_at: String = v.row.created_at.to_rfc3339(),
        updated_at: String = v.row.updated_at.to_rfc3339(),
    }
}

bodies! {
    /// A new deal. `available` makes it live at once (default false); in dev only `private`
    /// deals exist.
    pub struct NewDeal => DealDraft;
    /// Changes to a deal: only the fields sent change; `null` clears a date. `store_ids`
    /// replaces the whole set. Making a deal available counts against the active-deal cap.
    pub struct DealChanges => DealPatch;
    {
        /// 1-100 characters.
        #[new(required = true, value_type = String, example = "Free coffee")]
        #[both(min_length = 1, max_length = 100)]
        name: String,
        /// Up to 2000 characters; line breaks and tabs allowed.
        #[both(max_length = 2000)]
        description: String,
        /// `voucher`, `cash`, `merchandise` or `meetup`.
        #[new(required = true, value_type = String, example = "voucher")]
        #[both(pattern = "^(voucher|cash|merchandise|meetup)$")]
        kind: String,
        /// Coins a lead spends (converted to points per currency), 0 to 10^12.
        #[new(required = true, value_type = i64, example = 150)]
        #[both(minimum = 0, maximum = 1_000_000_000_000i64)]
        sell_price: i64,
        /// Live at once; default false.
        available: bool,
        /// `private` (default) or `partner` (prod only).
        #[both(pattern = "^(private|partner)$")]
        visibility: String,
        /// RFC 3339.
        #[new(example = "2026-01-01T00:00:00Z")]
        #[both(format = DateTime)]
        starts_at ["cleared"]: String,
        /// RFC 3339, after `starts_at`.
        #[both(format = DateTime)]
        ends_at ["cleared"]: String,
        /// Stores of the same environment that carry the deal.
        store_ids: Vec<String>,
    }
}
