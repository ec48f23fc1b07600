//! Deposits: what a booking asks the customer to pay before its hold becomes an
//! appointment, and the payments that confirm them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How much a booking's deposit is. A service follows the organization's policy unless
/// it has its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DepositPolicy {
    /// Confirmed without paying anything first.
    #[default]
    None,
    /// This much, in minor units of the organization's currency.
    Fixed { amount_minor: i64 },
    /// This share of the service's price, 1 to 100, rounded up to a whole unit.
    Percent { percent: u8 },
}

impl DepositPolicy {
    /// As stored: `(deposit_kind, deposit_value)`.
    pub fn from_columns(kind: &str, value: i64) -> Option<Self> {
        match kind {
            "none" => Some(DepositPolicy::None),
            "fixed" if value > 0 => Some(DepositPolicy::Fixed {
                amount_minor: value,
            }),
            "percent" => u8::try_from(value)
                .ok()
                .filter(|p| (1..=100).contains(p))
                .map(|percent| DepositPolicy::Percent { percent }),
            _ => None,
        }
    }

    pub fn columns(self) -> (&'static str, i64) {
        match self {
            DepositPolicy::None => ("none", 0),
            DepositPolicy::Fixed { amount_minor } => ("fixed", amount_minor),
            DepositPolicy::Percent { percent } => ("percent", i64::from(percent)),
        }
    }

    /// The deposit for a service of `price_minor`, if any. A percentage is rounded up to
    /// a whole unit of the currency (100 minor units), and never exceeds the price.
    pub fn amount(self, price_minor: i64) -> Option<i64> {
        let amount = match self {
            DepositPolicy::None => return None,
            DepositPolicy::Fixed { amount_minor } => amount_minor,
            DepositPolicy::Percent { percent } => {
                let share = price_minor.saturating_mul(i64::from(percent));
                let units = share.div_euclid(100 * 100) + i64::from(share % (100 * 100) != 0);
                (units * 100).min(price_minor)
            }
        };
        (amount > 0).then_some(amount)
    }
}

/// A deposit a hold waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    pub id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_rounds_up_to_a_whole_unit_and_never_passes_the_price() {
        let percent = |percent| DepositPolicy::Percent { percent };
        assert_eq!(percent(30).amount(25_000), Some(7_500));
        assert_eq!(percent(33).amount(25_050), Some(8_300));
        assert_eq!(percent(100).amount(25_050), Some(25_050));
        assert_eq!(percent(10).amount(0), None);
        assert_eq!(DepositPolicy::None.amount(25_000), None);
        assert_eq!(
            DepositPolicy::Fixed {
                amount_minor: 10_000
            }
            .amount(5_000),
            Some(10_000)
        );
        for policy in [
            percent(30),
            DepositPolicy::Fixed { amount_minor: 5 },
            DepositPolicy::None,
        ] {
            let (kind, value) = policy.columns();
            assert_eq!(DepositPolicy::from_columns(kind, value), Some(policy));
        }
        assert_eq!(DepositPolicy::from_columns("percent", 101), None);
    }
}
