//! Checked integer helpers, named by rounding direction.

use crate::CoreError;

/// Result of a core operation.
pub type CoreResult<T> = Result<T, CoreError>;

/// `a * b / c` rounded down, with a `u128` intermediate.
pub fn mul_div_floor(a: u64, b: u64, c: u64) -> CoreResult<u64> {
    if c == 0 {
        return Err(CoreError::MathOverflow);
    }
    let q = (a as u128) * (b as u128) / (c as u128);
    u64::try_from(q).map_err(|_| CoreError::MathOverflow)
}

/// `a * b / c` rounded up, with a `u128` intermediate.
pub fn mul_div_ceil(a: u64, b: u64, c: u64) -> CoreResult<u64> {
    if c == 0 {
        return Err(CoreError::MathOverflow);
    }
    let p = (a as u128) * (b as u128);
    let q = p.div_ceil(c as u128);
    u64::try_from(q).map_err(|_| CoreError::MathOverflow)
}

/// Checked arithmetic that maps every failure to [`CoreError::MathOverflow`].
pub trait SafeMath: Sized {
    /// `self + rhs`.
    fn safe_add(self, rhs: Self) -> CoreResult<Self>;
    /// `self - rhs`.
    fn safe_sub(self, rhs: Self) -> CoreResult<Self>;
    /// `self * rhs`.
    fn safe_mul(self, rhs: Self) -> CoreResult<Self>;
}

macro_rules! impl_safe_math {
    ($($t:ty),*) => {$(
        impl SafeMath for $t {
            #[inline]
            fn safe_add(self, rhs: Self) -> CoreResult<Self> {
                self.checked_add(rhs).ok_or(CoreError::MathOverflow)
            }
            #[inline]
            fn safe_sub(self, rhs: Self) -> CoreResult<Self> {
                self.checked_sub(rhs).ok_or(CoreError::MathOverflow)
            }
            #[inline]
            fn safe_mul(self, rhs: Self) -> CoreResult<Self> {
                self.checked_mul(rhs).ok_or(CoreError::MathOverflow)
            }
        }
    )*};
}
impl_safe_math!(u8, u16, u32, u64, u128, i64, i128);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_and_ceil() {
        assert_eq!(mul_div_floor(7, 3, 2), Ok(10));
        assert_eq!(mul_div_ceil(7, 3, 2), Ok(11));
        assert_eq!(mul_div_ceil(6, 3, 2), Ok(9));
        assert_eq!(mul_div_floor(u64::MAX, u64::MAX, u64::MAX), Ok(u64::MAX));
        assert_eq!(mul_div_floor(u64::MAX, 2, 1), Err(CoreError::MathOverflow));
        assert_eq!(mul_div_floor(1, 1, 0), Err(CoreError::MathOverflow));
        assert_eq!(mul_div_ceil(1, 1, 0), Err(CoreError::MathOverflow));
        assert_eq!(u64::MAX.safe_add(1), Err(CoreError::MathOverflow));
        assert_eq!(0u64.safe_sub(1), Err(CoreError::MathOverflow));
    }
}
