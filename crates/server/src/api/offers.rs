//! `/api/v1/offers`: public promo codes with a price in coins, their stores and images.

use punchcard_app::offers::{OfferDraft, OfferPatch, OfferView, Offers};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::{catalog_routes, image_routes};
use super::catalog::{cleared, moment, nullable, CurrencyPrice, Image, ImageUpload};
use super::pagination::{Page, PageParams};
use crate::problem::Problem;

catalog_routes! {
    Offers: Offer, NewOffer, OfferChanges, OfferFilters, tag "offers";
    paths "/api/v1/offers", "/api/v1/offers/{id}";
    words "the offer id", "the offer", "a page of offers", "the changed offer",
        "no such offer in this environment";
    refusals "invalid fields or a code another offer uses (`validation_failed`), or the active-offer cap reached (`limit_reached`: 10 in dev, 100 in prod)",
        "invalid fields or the active-offer cap reached";
    create_offer "Creates an offer.";
    list_offers "Lists the environment's offers in creation order.";
    get_offer "One offer.";
    update_offer "Changes an offer.";
    delete_offer "Deletes an offer; its code becomes free for another offer.";
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

/// An offer: a public promo code with a price in coins and no codes to hand out.
#[derive(Debug, Serialize, ToSchema)]
pub struct Offer {
    #[schema(example = "offer_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// The public promo code, upper-case, unique among the environment's offers.
    #[schema(example = "FIRST100")]
    pub code: String,
    #[schema(example = "100 off your first order")]
    pub name: String,
    pub description: String,
    /// The price in coins.
    #[schema(example = 0)]
    pub sell_price: i64,
    /// Whether the offer is live (counts against the active-offer cap).
    pub available: bool,
    /// RFC 3339 UTC, or null.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// The stores where the code works.
    pub store_ids: Vec<String>,
    /// The price in each of the merchant's currencies.
    pub prices: Vec<CurrencyPrice>,
    /// Up to 3 images.
    pub images: Vec<Image>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<OfferView> for Offer {
    fn from(v: OfferView) -> Self {
        let o = v.offer;
        Self {
            id: o.id.to_string(),
            code: o.code,
            name: o.name,
            description: o.description,
            sell_price: o.sell_price,
            available: o.available,
            starts_at: moment(o.starts_at),
            ends_at: moment(o.ends_at),
            store_ids: v.store_ids.iter().map(ToString::to_string).collect(),
            prices: v.prices.into_iter().map(CurrencyPrice::from).collect(),
            images: v
                .images
                .into_iter()
                .map(|u| Image::of("offers", u))
                .collect(),
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

/// A new offer. `available` makes it live at once (default false).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOffer {
    /// 1-32 letters, digits, `-` or `_` (stored upper-case).
    #[schema(required = true, value_type = String, example = "FIRST100", pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub code: Option<String>,
    /// 1-100 characters.
    #[schema(
        required = true,
        value_type = String,
        example = "100 off your first order",
        min_length = 1,
        max_length = 100
    )]
    pub name: Option<String>,
    /// Up to 2000 characters; line breaks and tabs allowed.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Coins a lead spends, 0 to 10^12.
    #[schema(
        required = true,
        value_type = i64,
        example = 0,
        minimum = 0,
        maximum = 1_000_000_000_000i64
    )]
    pub sell_price: Option<i64>,
    /// Live at once; default false.
    pub available: Option<bool>,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339, after `starts_at`.
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// Stores of the same environment where the code works.
    pub store_ids: Option<Vec<String>>,
}

impl From<NewOffer> for OfferDraft {
    fn from(n: NewOffer) -> Self {
        Self {
            code: n.code.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            description: n.description.unwrap_or_default(),
            sell_price: n.sell_price.map(|p| p.to_string()).unwrap_or_default(),
            available: n.available.unwrap_or(false),
            starts_at: n.starts_at.unwrap_or_default(),
            ends_at: n.ends_at.unwrap_or_default(),
            store_ids: n.store_ids.unwrap_or_default(),
        }
    }
}

/// Changes to an offer: only the fields sent change; `null` clears a date. `store_ids`
/// replaces the whole set. Making an offer available counts against the active-offer cap.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferChanges {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 0, maximum = 1_000_000_000_000i64)]
    pub sell_price: Option<i64>,
    pub available: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    pub store_ids: Option<Vec<String>>,
}

impl From<OfferChanges> for OfferPatch {
    fn from(c: OfferChanges) -> Self {
        Self {
            code: c.code,
            name: c.name,
            description: c.description,
            sell_price: c.sell_price.map(|p| p.to_string()),
            available: c.available,
            starts_at: cleared(c.starts_at),
            ends_at: cleared(c.ends_at),
            store_ids: c.store_ids,
        }
    }
}

image_routes! {
    Offers, tag "offers"; paths "/api/v1/offers/{id}/images", "/api/v1/offers/{id}/images/{image_id}";
    words "the offer id", "no such offer in this environment", "no such offer or image";
    upload_offer_image "Adds an image to an offer (at most 3).";
    get_offer_image "The bytes of an offer's image.";
    delete_offer_image "Removes an offer's image.";
}
