//! `/api/v1/offers`: public promo codes with a price in coins, their stores and images.

use punchcard_app::offers::{OfferDraft, OfferPatch, OfferView, Offers};
use utoipa::IntoParams;

use super::catalog::{answer, bodies, catalog_routes, cleared, moment, texts};
use super::catalog::{CurrencyPrice, Image, ImageUpload};
use super::pagination::{Page, PageParams};
use crate::problem::Problem;

catalog_routes! {
    Offers: Offer, NewOffer, OfferChanges, OfferFilters;
    names "offer", "offers";
    refusals "invalid fields or a code another offer uses (`validation_failed`), or the active-offer cap reached (`limit_reached`: 10 in dev, 100 in prod)",
        "invalid fields or the active-offer cap reached";
    create_offer "Creates an offer.";
    list_offers "Lists the environment's offers in creation order.";
    get_offer "One offer.";
    update_offer "Changes an offer.";
    delete_offer "Deletes an offer; its code becomes free for another offer.";
    upload_offer_image "Adds an image to an offer (at most 3).";
    get_offer_image "The bytes of an offer's image.";
    delete_offer_image "Removes an offer's image.";
}

/// Filters of the offer list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfferFilters {
    /// `true` or `false`.
    #[param(pattern = "^(true|false)$")]
    pub available: Option<String>,
    /// Exactly this promo code (any case).
    #[param(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub code: Option<String>,
    /// Only offers of this store.
    pub store_id: Option<String>,
    /// Part of the name or code, any case.
    pub q: Option<String>,
}

answer! {
    /// An offer: a public promo code with a price in coins and no codes to hand out.
    pub struct Offer from OfferView as v; {
        #[schema(example = "offer_01jd3x1m2n3p4q5r6s7t8v9w0x")]
        id: String = v.row.id.to_string(),
        /// The public promo code, upper-case, unique among the environment's offers.
        #[schema(example = "FIRST100")]
        code: String = v.row.code,
        #[schema(example = "100 off your first order")]
        name: String = v.row.name,
        description: String = v.row.description,
        /// The price in coins.
        #[schema(example = 0)]
        sell_price: i64 = v.row.sell_price,
        /// Whether the offer is live (counts against the active-offer cap).
        available: bool = v.row.available,
        /// RFC 3339 UTC, or null.
        starts_at: Option<String> = moment(v.row.starts_at),
        ends_at: Option<String> = moment(v.row.ends_at),
        /// The stores where the code works.
        store_ids: Vec<String> = texts(&v.links),
        /// The price in each of the merchant's currencies.
        prices: Vec<CurrencyPrice> = CurrencyPrice::all(v.prices),
        /// Up to 3 images.
        images: Vec<Image> = Image::all("offers", v.images),
        created_at: String = v.row.created_at.to_rfc3339(),
        updated_at: String = v.row.updated_at.to_rfc3339(),
    }
}

bodies! {
    /// A new offer. `available` makes it live at once (default false).
    pub struct NewOffer => OfferDraft;
    /// Changes to an offer: only the fields sent change; `null` clears a date. `store_ids`
    /// replaces the whole set. Making an offer available counts against the active-offer cap.
    pub struct OfferChanges => OfferPatch;
    {
        /// 1-32 letters, digits, `-` or `_` (stored upper-case).
        #[new(required = true, value_type = String, example = "FIRST100")]
        #[both(pattern = "^[A-Za-z0-9_-]{1,32}$")]
        code: String,
        /// 1-100 characters.
        #[new(required = true, value_type = String, example = "100 off your first order")]
        #[both(min_length = 1, max_length = 100)]
        name: String,
        /// Up to 2000 characters; line breaks and tabs allowed.
        #[both(max_length = 2000)]
        description: String,
        /// Coins a lead spends, 0 to 10^12.
        #[new(required = true, value_type = i64, example = 0)]
        #[both(minimum = 0, maximum = 1_000_000_000_000i64)]
        sell_price: i64,
        /// Live at once; default false.
        available: bool,
        /// RFC 3339.
        #[both(format = DateTime)]
        starts_at ["cleared"]: String,
        /// RFC 3339, after `starts_at`.
        #[both(format = DateTime)]
        ends_at ["cleared"]: String,
        /// Stores of the same environment where the code works.
        store_ids: Vec<String>,
    }
}
