//! The catalog's values: deal kinds, visibility, prices in coins, promo codes, schedules,
//! store modes and locations.

use crate::error::FieldError;
use crate::time::Timestamp;
use crate::Env;

/// What a deal hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DealKind {
    /// A voucher for the merchant's own products (e.g. 30% off).
    Voucher,
    /// Cash paid out by the merchant.
    Cash,
    /// Goods the merchant hands over.
    Merchandise,
    /// An invitation to an event.
    Meetup,
}

impl DealKind {
    pub const ALL: [DealKind; 4] = [
        DealKind::Voucher,
        DealKind::Cash,
        DealKind::Merchandise,
        DealKind::Meetup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DealKind::Voucher => "voucher",
            DealKind::Cash => "cash",
            DealKind::Merchandise => "merchandise",
            DealKind::Meetup => "meetup",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DealKind::Voucher => "Voucher",
            DealKind::Cash => "Cash",
            DealKind::Merchandise => "Merchandise",
            DealKind::Meetup => "Meetup",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err(FieldError::new("kind", "is required"));
        }
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "must be one of `voucher`, `cash`, `merchandise`, `meetup`",
                )
            })
    }
}

/// Who may see a deal: the merchant's own customers, or partners' customers too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Private,
    Partner,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Partner => "partner",
        }
    }

    /// Parses a visibility; empty means `private`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "private" => Ok(Visibility::Private),
            "partner" => Ok(Visibility::Partner),
            _ => Err(FieldError::new(
                "visibility",
                "must be `private` or `partner`",
            )),
        }
    }

    /// Parses a visibility and checks that `env` allows it: dev holds private deals only.
    pub fn parse_for(env: Env, s: &str) -> Result<Self, FieldError> {
        let v = Self::parse(s)?;
        if env == Env::Dev && v == Visibility::Partner {
            return Err(FieldError::new(
                "visibility",
                "must be `private` in dev: partner deals exist in prod only",
            ));
        }
        Ok(v)
    }
}

/// Whether a store sells online (it may carry a URL) or at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreMode {
    Online,
    Offline,
}

impl StoreMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreMode::Online => "online",
            StoreMode::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "online" => Ok(StoreMode::Online),
            "offline" => Ok(StoreMode::Offline),
            "" => Err(FieldError::new("mode", "is required")),
            _ => Err(FieldError::new("mode", "must be `online` or `offline`")),
        }
    }
}

/// A price in coins: a whole number from 0 up to [`SellPrice::MAX`].
///
/// The bound keeps every conversion to points within a signed 64-bit integer, whatever the
/// currency's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct SellPrice(i64);

impl SellPrice {
    pub const MAX: i64 = 1_000_000_000_000;

    pub fn new(coins: i64) -> Result<Self, FieldError> {
        if !(0..=Self::MAX).contains(&coins) {
            return Err(FieldError::new(
                "sell_price",
                "must be a whole number of coins from 0 to 1000000000000",
            ));
        }
        Ok(Self(coins))
    }

    /// Parses typed text (a form field).
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new("sell_price", "is required"));
        }
        if !s.chars().all(|c| c.is_ascii_digit()) || s.len() > 13 {
            return Err(FieldError::new(
                "sell_price",
                "must be a whole number of coins from 0 to 1000000000000",
            ));
        }
        Self::new(s.parse().map_err(|_| {
            FieldError::new(
                "sell_price",
                "must be a whole number of coins from 0 to 1000000000000",
            )
        })?)
    }

    pub fn coins(self) -> i64 {
        self.0
    }
}

/// The points a price costs in a currency: `ceil(price / coins_per_unit)`, exact.
pub fn points_for(price: SellPrice, rate: crate::currency::CoinsPerUnit) -> i64 {
    // SellPrice::MAX / the smallest rate (0.000001) is 10^18, below i64::MAX.
    i64::try_from(rate.points_for_price(price.0.unsigned_abs())).unwrap_or(i64::MAX)
}

/// A public promo code such as `FIRST100`: 1-32 letters, digits, `-` or `_`, kept upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct PromoCode(String);

impl PromoCode {
    pub const MAX_LEN: usize = 32;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::new("code", "is required"));
        }
        if s.len() > Self::MAX_LEN
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FieldError::new(
                "code",
                "must be 1-32 letters, digits, `-` or `_`, like FIRST100",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// When something is on: an optional start and end, the end after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
}

/// One RFC 3339 moment of a field; empty text is none.
pub fn parse_moment(field: &str, s: &str) -> Result<Option<Timestamp>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Timestamp::parse(s).map(Some).ok_or_else(|| {
        FieldError::new(
            field,
            "must be an RFC 3339 date and time, like 2026-01-31T09:00:00Z",
        )
    })
}

impl Schedule {
    /// Checks the order of two parsed moments.
    pub fn new(
        starts_at: Option<Timestamp>,
        ends_at: Option<Timestamp>,
    ) -> Result<Self, FieldError> {
        if let (Some(s), Some(e)) = (starts_at, ends_at) {
            if e <= s {
                return Err(FieldError::new("ends_at", "must be after starts_at"));
            }
        }
        Ok(Self { starts_at, ends_at })
    }

    /// Whether `now` falls inside the schedule.
    pub fn contains(&self, now: Timestamp) -> bool {
        self.starts_at.is_none_or(|s| s <= now) && self.ends_at.is_none_or(|e| now < e)
    }
}

/// A name a person gives a catalog item: 1-`max` printable characters.
pub fn parse_name(s: &str, max: usize) -> Result<String, FieldError> {
    crate::accounts::parse_label("name", s, max)
}

/// Free text that may span lines (descriptions): at most `max` characters, no control
/// characters other than line breaks and tabs; empty is allowed.
pub fn parse_text(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    crate::text::check_text(field, s)?;
    Ok(s.replace("\r\n", "\n"))
}

/// A point on the map, kept as integer units of 10^-7 degree (about a centimetre).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeoPoint {
    latitude_e7: i64,
    longitude_e7: i64,
}

const E7: i64 = 10_000_000;

/// A decimal degree (`51.5074`, `-0.1278`) as units of 10^-7, rounded half away from zero,
/// without floating-point arithmetic.
fn degrees_e7(field: &str, s: &str, bound: i64) -> Result<i64, FieldError> {
    let err = || {
        FieldError::new(
            field,
            format!("must be a number of degrees from -{bound} to {bound}"),
        )
    };
    let s = s.trim();
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty()
        || int_part.len() > 3
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
        || frac_part.len() > 30
        || (body.contains('.') && frac_part.is_empty())
    {
        return Err(err());
    }
    let int: i64 = int_part.parse().map_err(|_| err())?;
    let mut frac: i64 = 0;
    for (i, c) in frac_part.chars().take(7).enumerate() {
        frac += i64::from(c.to_digit(10).unwrap_or(0)) * 10i64.pow(6 - i as u32);
    }
    let round_up = frac_part
        .chars()
        .nth(7)
        .and_then(|c| c.to_digit(10))
        .is_some_and(|d| d >= 5);
    let magnitude = int * E7 + frac + i64::from(round_up);
    if magnitude > bound * E7 {
        return Err(err());
    }
    Ok(if negative { -magnitude } else { magnitude })
}

fn format_e7(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let m = v.unsigned_abs();
    let e7 = E7.unsigned_abs();
    let frac = format!("{:07}", m % e7);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", m / e7)
    } else {
        format!("{sign}{}.{frac}", m / e7)
    }
}

impl GeoPoint {
    /// Parses typed coordinates; both or neither must be given.
    pub fn parse(latitude: &str, longitude: &str) -> Result<Option<Self>, Vec<FieldError>> {
        let (lat, lng) = (latitude.trim(), longitude.trim());
        match (lat.is_empty(), lng.is_empty()) {
            (true, true) => return Ok(None),
            (false, true) => {
                return Err(vec![FieldError::new(
                    "longitude",
                    "is required with latitude",
                )])
            }
            (true, false) => {
                return Err(vec![FieldError::new(
                    "latitude",
                    "is required with longitude",
                )])
            }
            (false, false) => {}
        }
        let la = degrees_e7("latitude", lat, 90);
        let lo = degrees_e7("longitude", lng, 180);
        match (la, lo) {
            (Ok(latitude_e7), Ok(longitude_e7)) => Ok(Some(Self {
                latitude_e7,
                longitude_e7,
            })),
            (la, lo) => Err([la.err(), lo.err()].into_iter().flatten().collect()),
        }
    }

    /// Reads stored units back.
    pub fn from_e7(latitude_e7: i64, longitude_e7: i64) -> Self {
        Self {
            latitude_e7,
            longitude_e7,
        }
    }

    pub fn latitude_e7(self) -> i64 {
        self.latitude_e7
    }

    pub fn longitude_e7(self) -> i64 {
        self.longitude_e7
    }

    /// Decimal text of the latitude, without trailing zeros.
    pub fn latitude_text(self) -> String {
        format_e7(self.latitude_e7)
    }

    pub fn longitude_text(self) -> String {
        format_e7(self.longitude_e7)
    }

    /// Degrees for JSON answers.
    pub fn latitude(self) -> f64 {
        self.latitude_e7 as f64 / E7 as f64
    }

    pub fn longitude(self) -> f64 {
        self.longitude_e7 as f64 / E7 as f64
    }
}

/// At most this many images per deal, offer or store.
pub const IMAGE_CAP: i64 = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::CoinsPerUnit;
    use proptest::prelude::*;

    #[test]
    fn kinds_visibility_and_modes() {
        assert_eq!(DealKind::parse(" Voucher ").unwrap(), DealKind::Voucher);
        assert_eq!(DealKind::parse("meetup").unwrap(), DealKind::Meetup);
        assert_eq!(DealKind::parse("").unwrap_err().message, "is required");
        assert!(DealKind::parse("gift").is_err());
        assert_eq!(Visibility::parse("").unwrap(), Visibility::Private);
        assert_eq!(
            Visibility::parse_for(Env::Prod, "partner").unwrap(),
            Visibility::Partner
        );
        let e = Visibility::parse_for(Env::Dev, "partner").unwrap_err();
        assert_eq!(e.field, "visibility");
        assert!(e.message.contains("dev"));
        assert_eq!(
            Visibility::parse_for(Env::Dev, "private").unwrap(),
            Visibility::Private
        );
        assert!(Visibility::parse("public").is_err());
        assert_eq!(StoreMode::parse("ONLINE").unwrap(), StoreMode::Online);
        assert!(StoreMode::parse("").is_err());
        assert!(StoreMode::parse("kiosk").is_err());
    }

    #[test]
    fn sell_prices() {
        assert_eq!(SellPrice::parse("0").unwrap().coins(), 0);
        assert_eq!(SellPrice::parse(" 250 ").unwrap().coins(), 250);
        assert_eq!(
            SellPrice::parse("1000000000000").unwrap().coins(),
            SellPrice::MAX
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "1e3",
            "abc",
            "1000000000001",
            "99999999999999999999",
        ] {
            assert!(SellPrice::parse(bad).is_err(), "{bad}");
        }
        assert!(SellPrice::new(-1).is_err());
        assert!(SellPrice::new(SellPrice::MAX + 1).is_err());
    }

    #[test]
    fn promo_codes() {
        assert_eq!(PromoCode::parse(" first100 ").unwrap().as_str(), "FIRST100");
        assert_eq!(PromoCode::parse("a-b_c").unwrap().as_str(), "A-B_C");
        assert!(PromoCode::parse(&"A".repeat(32)).is_ok());
        for bad in ["", "has space", "é", &"A".repeat(33), "50%OFF"] {
            assert!(PromoCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schedules() {
        let a = parse_moment("starts_at", "2026-01-01T00:00:00Z").unwrap();
        let b = parse_moment("ends_at", "2026-02-01T00:00:00+01:00").unwrap();
        assert!(Schedule::new(a, b).is_ok());
        assert_eq!(
            Schedule::new(b, a).unwrap_err().message,
            "must be after starts_at"
        );
        assert!(Schedule::new(a, a).is_err());
        assert!(Schedule::new(None, b).is_ok());
        assert_eq!(parse_moment("starts_at", " ").unwrap(), None);
        assert!(parse_moment("starts_at", "2026-01-01").is_err());
        assert!(parse_moment("starts_at", "tomorrow").is_err());
        let s = Schedule::new(a, b).unwrap();
        assert!(s.contains(a.unwrap()));
        assert!(!s.contains(b.unwrap()));
    }

    #[test]
    fn texts() {
        assert_eq!(parse_text("description", " a\r\nb ", 10).unwrap(), "a\nb");
        assert!(parse_text("description", "a\u{0}b", 10).is_err());
        assert!(parse_text("description", &"x".repeat(11), 10).is_err());
        assert_eq!(parse_text("description", "", 10).unwrap(), "");
    }

    #[test]
    fn coordinates() {
        let p = GeoPoint::parse("51.5074", "-0.1278").unwrap().unwrap();
        assert_eq!(p.latitude_e7(), 515_074_000);
        assert_eq!(p.longitude_e7(), -1_278_000);
        assert_eq!(p.latitude_text(), "51.5074");
        assert_eq!(p.longitude_text(), "-0.1278");
        assert_eq!(p.latitude(), 51.5074);
        assert_eq!(GeoPoint::parse("", "").unwrap(), None);
        let p = GeoPoint::parse("90", "-180").unwrap().unwrap();
        assert_eq!(p.latitude_text(), "90");
        assert_eq!(p.longitude_text(), "-180");
        // Beyond 7 decimals rounds half away from zero.
        let p = GeoPoint::parse("1.00000005", "-1.00000004")
            .unwrap()
            .unwrap();
        assert_eq!(p.latitude_e7(), 10_000_001);
        assert_eq!(p.longitude_e7(), -10_000_000);
        let e = GeoPoint::parse("90.0000001", "181").unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(GeoPoint::parse("10", "").unwrap_err()[0].field, "longitude");
        assert_eq!(GeoPoint::parse("", "10").unwrap_err()[0].field, "latitude");
        for bad in ["abc", "1e5", "--1", "1.", ".5", "NaN", "inf"] {
            assert!(GeoPoint::parse(bad, "0").is_err(), "{bad}");
        }
    }

    proptest! {
        /// Every price the catalog accepts converts to a point count that fits in an i64 and
        /// is exactly the ceiling of price / rate, whatever the currency's rate.
        #[test]
        fn points_fit_and_are_exact(price in 0i64..=SellPrice::MAX, m in 1u64..=1_000_000_000, s in 0u32..=6) {
            let p = 10u64.pow(s);
            let text = if s == 0 { m.to_string() } else { format!("{}.{:0w$}", m / p, m % p, w = s as usize) };
            let rate = CoinsPerUnit::parse(&text).unwrap();
            let points = points_for(SellPrice::new(price).unwrap(), rate);
            prop_assert!(points < i64::MAX);
            let points = i128::from(points);
            let scale = 10i128.pow(s);
            // points * rate >= price > (points - 1) * rate, with rate = m / 10^s.
            prop_assert!(points * i128::from(m) >= i128::from(price) * scale);
            if points > 0 {
                prop_assert!((points - 1) * i128::from(m) < i128::from(price) * scale);
            }
        }

        /// A dearer deal never costs fewer points.
        #[test]
        fn points_grow_with_the_price(a in 0i64..=SellPrice::MAX, b in 0i64..=SellPrice::MAX, m in 1u64..=1_000_000_000, s in 0u32..=6) {
            let p = 10u64.pow(s);
            let text = if s == 0 { m.to_string() } else { format!("{}.{:0w$}", m / p, m % p, w = s as usize) };
            let rate = CoinsPerUnit::parse(&text).unwrap();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(points_for(SellPrice::new(lo).unwrap(), rate) <= points_for(SellPrice::new(hi).unwrap(), rate));
        }

        /// Coordinates written as text with up to 7 decimals come back unchanged.
        #[test]
        fn coordinates_round_trip(lat in -900_000_000i64..=900_000_000, lng in -1_800_000_000i64..=1_800_000_000) {
            let p = GeoPoint::from_e7(lat, lng);
            let back = GeoPoint::parse(&p.latitude_text(), &p.longitude_text()).unwrap().unwrap();
            prop_assert_eq!(back, p);
        }
    }
}
