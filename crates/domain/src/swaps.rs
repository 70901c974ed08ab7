//! Swaps: the states of a swap contract, its terms, and the points a swap credits.

use crate::campaigns::Rate;
use crate::error::FieldError;
use crate::ledger::MAX_AMOUNT;

/// Where a swap contract stands. Only the partner accepts; only the operator activates;
/// either merchant or the operator suspends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractStatus {
    Proposed,
    Accepted,
    Active,
    Suspended,
}

impl ContractStatus {
    pub const ALL: [ContractStatus; 4] = [
        ContractStatus::Proposed,
        ContractStatus::Accepted,
        ContractStatus::Active,
        ContractStatus::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Proposed => "proposed",
            ContractStatus::Accepted => "accepted",
            ContractStatus::Active => "active",
            ContractStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Who suspended a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspendedBy {
    Proposer,
    Partner,
    Operator,
}

impl SuspendedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SuspendedBy::Proposer => "proposer",
            SuspendedBy::Partner => "partner",
            SuspendedBy::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SuspendedBy::Proposer,
            SuspendedBy::Partner,
            SuspendedBy::Operator,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A contract's limits, in the sender's points: at most `per_swap_max` in one swap and
/// `daily_max` per sending lead and UTC day (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractLimits {
    pub per_swap_max: i64,
    pub daily_max: i64,
}

impl ContractLimits {
    pub fn parse(
        per_swap_max: Option<i64>,
        daily_max: Option<i64>,
    ) -> Result<Self, Vec<FieldError>> {
        let check = |field: &str, v: Option<i64>| match v {
            None => Err(FieldError::new(field, "is required")),
            Some(n) if !(1..=MAX_AMOUNT).contains(&n) => Err(FieldError::new(
                field,
                "must be a whole number of points from 1 to 1000000000000",
            )),
            Some(n) => Ok(n),
        };
        match (
            check("per_swap_max", per_swap_max),
            check("daily_max", daily_max),
        ) {
            (Ok(per_swap_max), Ok(daily_max)) => Ok(Self {
                per_swap_max,
                daily_max,
            }),
            (a, b) => Err([a.err(), b.err()].into_iter().flatten().collect()),
        }
    }
}

/// The side of a contract a swap leaves from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the proposer's lead to the partner's: `floor(amount × rate)`.
    FromProposer,
    /// From the partner's lead to the proposer's: `floor(amount ÷ rate)`.
    FromPartner,
}

/// The points a swap of `amount` credits, computed exactly in integers and rounded down.
pub fn amount_in(rate: Rate, direction: Direction, amount: i64) -> i64 {
    let amount = u64::try_from(amount).unwrap_or(0);
    let points = match direction {
        Direction::FromProposer => rate.points_for(amount),
        Direction::FromPartner => rate.points_for_inverse(amount),
    };
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// A swap's amount: a positive number of the sender's points.
pub fn check_swap_amount(amount: Option<i64>) -> Result<i64, FieldError> {
    match amount {
        None => Err(FieldError::new("amount", "is required")),
        Some(n) if !(1..=MAX_AMOUNT).contains(&n) => Err(FieldError::new(
            "amount",
            "must be a whole number of points from 1 to 1000000000000",
        )),
        Some(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rates_apply_exactly_and_round_down() {
        let r = Rate::parse("1.5").unwrap();
        assert_eq!(amount_in(r, Direction::FromProposer, 3), 4);
        assert_eq!(amount_in(r, Direction::FromPartner, 3), 2);
        let r = Rate::parse("0.1").unwrap();
        assert_eq!(amount_in(r, Direction::FromProposer, 19), 1);
        assert_eq!(amount_in(r, Direction::FromPartner, 3), 30);
        assert_eq!(
            amount_in(Rate::parse("2").unwrap(), Direction::FromPartner, 3),
            1
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in ContractStatus::ALL {
            assert_eq!(ContractStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ContractStatus::parse("live"), None);
    }

    #[test]
    fn limits_are_checked() {
        assert!(ContractLimits::parse(Some(10), Some(100)).is_ok());
        let e = ContractLimits::parse(Some(0), None).unwrap_err();
        assert_eq!(e.len(), 2);
    }

    proptest! {
        #[test]
        fn a_swap_never_credits_more_than_the_exact_value(amount in 1i64..1_000_000_000, m in 1u32..10_000_000, scale in 0u32..=6) {
            let text = format!("{}", f64::from(m) / 10f64.powi(scale as i32));
            prop_assume!(Rate::parse(&text).is_ok());
            let rate = Rate::parse(&text).unwrap();
            let s: String = rate.to_string();
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            let mantissa: u128 = format!("{int}{frac}").parse().unwrap();
            let den = 10u128.pow(frac.len() as u32);
            let out = amount_in(rate, Direction::FromProposer, amount) as u128;
            prop_assert!(out * den <= amount as u128 * mantissa);
            prop_assert!((out + 1) * den > amount as u128 * mantissa);
            let back = amount_in(rate, Direction::FromPartner, amount) as u128;
            prop_assert!(back * mantissa <= amount as u128 * den);
            prop_assert!((back + 1) * mantissa > amount as u128 * den);
        }
    }
}
