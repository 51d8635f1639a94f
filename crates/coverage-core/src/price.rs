//! The pool's one fixed-point price unit and the exact conversion from Pyth's
//! `(price, conf, exponent)`.
//!
//! Every price the program stores (strike, recovery, floor, observations,
//! lowest price of a streak) is an unsigned integer in **price units** of
//! 10^[`PRICE_EXPONENT`] USD: `100_000_000` is $1.00. This is the exponent Pyth
//! uses for its USD stablecoin feeds, so those convert without any scaling.
//! Other exponents convert only when exact: an exponent in
//! `PRICE_EXPONENT..=MAX_EXPONENT` scales up by a power of ten (checked); a
//! finer exponent would need rounding and is refused.

use crate::math::CoreResult;
use crate::CoreError;

/// Decimal exponent of the price unit: one unit is 10^-8 USD.
pub const PRICE_EXPONENT: i32 = -8;
/// One US dollar in price units.
pub const PRICE_ONE: u64 = 100_000_000;
/// Largest oracle exponent accepted (scales up by at most 10^16).
pub const MAX_EXPONENT: i32 = 8;

/// A positive oracle price and its confidence, in price units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitPrice {
    /// The aggregate price.
    pub price: u64,
    /// Half-width of the confidence interval.
    pub conf: u64,
}

/// Converts an oracle value with decimal `exponent` to price units, exactly.
pub fn to_price_units(value: u64, exponent: i32) -> CoreResult<u64> {
    if !(PRICE_EXPONENT..=MAX_EXPONENT).contains(&exponent) {
        return Err(CoreError::UnsupportedPriceExponent);
    }
    let scale = 10u64.pow((exponent - PRICE_EXPONENT) as u32);
    value.checked_mul(scale).ok_or(CoreError::PriceNotRepresentable)
}

/// Converts Pyth's `(price, conf, exponent)` to price units: the price must be
/// positive, and both values must be exactly representable.
pub fn from_oracle(price: i64, conf: u64, exponent: i32) -> CoreResult<UnitPrice> {
    if price <= 0 {
        return Err(CoreError::NonPositivePrice);
    }
    Ok(UnitPrice {
        price: to_price_units(price as u64, exponent)?,
        conf: to_price_units(conf, exponent)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(
            from_oracle(99_950_000, 20_000, -8),
            Ok(UnitPrice {
                price: 99_950_000,
                conf: 20_000
            })
        );
        assert_eq!(
            from_oracle(99_950, 20, -5),
            Ok(UnitPrice {
                price: 99_950_000,
                conf: 20_000
            })
        );
        assert_eq!(
            from_oracle(1, 0, 0),
            Ok(UnitPrice {
                price: PRICE_ONE,
                conf: 0
            })
        );
        assert_eq!(from_oracle(0, 0, -8), Err(CoreError::NonPositivePrice));
        assert_eq!(from_oracle(-5, 0, -8), Err(CoreError::NonPositivePrice));
        assert_eq!(from_oracle(1, 0, -9), Err(CoreError::UnsupportedPriceExponent));
        assert_eq!(from_oracle(1, 0, 9), Err(CoreError::UnsupportedPriceExponent));
        assert_eq!(from_oracle(i64::MAX, 0, 0), Err(CoreError::PriceNotRepresentable));
        assert_eq!(from_oracle(1, u64::MAX, -7), Err(CoreError::PriceNotRepresentable));
    }
}
