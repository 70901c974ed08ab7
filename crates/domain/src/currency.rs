//! Currencies and the exact conversion between coins (deal prices) and points.

use crate::error::FieldError;

/// A currency code such as `PTS`: 2-10 upper-case letters or digits, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_uppercase();
        let ok = (2..=10).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !ok {
            return Err(FieldError::new(
                "code",
                "must be 2-10 letters or digits, starting with a letter",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many coins one point is worth, as an exact decimal (`1`, `0.5`, `12.345`).
///
/// Kept as `mantissa / 10^scale` so conversions are integer arithmetic, never floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoinsPerUnit {
    mantissa: u64,
    scale: u32,
}

impl CoinsPerUnit {
    pub const MAX_SCALE: u32 = 6;
    const MAX_VALUE: u64 = 1_000_000_000;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let (mantissa, scale) =
            parse_exact(s, Self::MAX_SCALE, Self::MAX_VALUE).ok_or_else(|| {
                FieldError::new(
                    "coins_per_unit",
                    "must be a positive decimal with at most 6 decimal places, up to 1000000000",
                )
            })?;
        Ok(Self { mantissa, scale })
    }

    /// The points a price in coins costs: `ceil(price / coins_per_unit)`, in integers.
    pub fn points_for_price(self, price_coins: u64) -> u64 {
        // price / (m / 10^s) = price * 10^s / m
        let num = u128::from(price_coins) * 10u128.pow(self.scale);
        let den = u128::from(self.mantissa);
        let q = num.div_ceil(den);
        u64::try_from(q).unwrap_or(u64::MAX)
    }
}

impl std::fmt::Display for CoinsPerUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_exact(f, self.mantissa, self.scale)
    }
}

/// A positive decimal written in plain digits (`12`, `0.5`), at most `max_scale` decimal
/// places and at most `max_value`, as `(mantissa, scale)` with `value = mantissa / 10^scale`
/// and no trailing zero in the fraction: exact, never a float.
pub(crate) fn parse_exact(s: &str, max_scale: u32, max_value: u64) -> Option<(u64, u32)> {
    let s = s.trim();
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int_part.is_empty()
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
        || (s.contains('.') && frac_part.is_empty())
        || int_part.len() > 10
    {
        return None;
    }
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > max_scale as usize {
        return None;
    }
    let scale = frac_trimmed.len() as u32;
    let int: u64 = int_part.parse().ok()?;
    if int > max_value {
        return None;
    }
    let frac: u64 = if frac_trimmed.is_empty() {
        0
    } else {
        frac_trimmed.parse().ok()?
    };
    let mantissa = int.checked_mul(10u64.pow(scale))?.checked_add(frac)?;
    if mantissa == 0 || (int == max_value && frac > 0) {
        return None;
    }
    Some((mantissa, scale))
}

/// Writes `mantissa / 10^scale` in plain digits.
pub(crate) fn write_exact(
    f: &mut std::fmt::Formatter<'_>,
    mantissa: u64,
    scale: u32,
) -> std::fmt::Result {
    if scale == 0 {
        return write!(f, "{mantissa}");
    }
    let p = 10u64.pow(scale);
    write!(
        f,
        "{}.{:0width$}",
        mantissa / p,
        mantissa % p,
        width = scale as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(CoinsPerUnit::parse("1").unwrap().to_string(), "1");
        assert_eq!(CoinsPerUnit::parse("0.50").unwrap().to_string(), "0.5");
        assert_eq!(CoinsPerUnit::parse("12.345").unwrap().to_string(), "12.345");
        for bad in [
            "",
            "0",
            "0.0",
            "-1",
            "1.",
            ".5",
            "1e3",
            "abc",
            "0.0000001",
            "1000000000.5",
            "1 0",
        ] {
            assert!(CoinsPerUnit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn points_round_up() {
        let half = CoinsPerUnit::parse("0.5").unwrap();
        assert_eq!(half.points_for_price(3), 6);
        let ten = CoinsPerUnit::parse("10").unwrap();
        assert_eq!(ten.points_for_price(25), 3);
        assert_eq!(ten.points_for_price(30), 3);
        assert_eq!(ten.points_for_price(0), 0);
        let third = CoinsPerUnit::parse("0.3").unwrap();
        assert_eq!(third.points_for_price(1), 4);
    }

    proptest! {
        #[test]
        fn points_are_the_least_that_cover_the_price(m in 1u64..10_000_000, s in 0u32..=6, price in 0u64..1_000_000_000) {
            let text = {
                let p = 10u64.pow(s);
                if s == 0 { m.to_string() } else { format!("{}.{:0w$}", m / p, m % p, w = s as usize) }
            };
            prop_assume!(m > 0);
            let cpu = CoinsPerUnit::parse(&text).unwrap();
            let pts = u128::from(cpu.points_for_price(price));
            let scale = 10u128.pow(s);
            // pts * m / 10^s >= price, and (pts - 1) * m / 10^s < price
            prop_assert!(pts * u128::from(m) >= u128::from(price) * scale);
            if pts > 0 {
                prop_assert!((pts - 1) * u128::from(m) < u128::from(price) * scale);
            }
        }

        #[test]
        fn display_round_trips(m in 1u64..1_000_000_000, s in 0u32..=6) {
            let p = 10u64.pow(s);
            let text = if s == 0 { m.to_string() } else { format!("{}.{:0w$}", m / p, m % p, w = s as usize) };
            let cpu = CoinsPerUnit::parse(&text).unwrap();
            prop_assert_eq!(CoinsPerUnit::parse(&cpu.to_string()).unwrap(), cpu);
        }
    }
}
