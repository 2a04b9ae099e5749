//! Fee rates (fee per byte) compared exactly.

use std::cmp::Ordering;
use std::fmt;

/// A fee rate: `fee / size` in AIC base units per byte, kept as the exact
/// fraction so that comparisons never round.
///
/// Ordering compares `fee_a × size_b` with `fee_b × size_a` in 256-bit
/// arithmetic, so it is exact for every `u128` fee; two rates are equal iff
/// the fractions are equal (`2/200 == 1/100`).
#[derive(Clone, Copy, Debug)]
pub struct FeeRate {
    fee: u128,
    size: u32,
}

impl FeeRate {
    /// The rate of `fee` base units over `size` bytes (`size` 0 is read as 1).
    pub fn new(fee: u128, size: u32) -> Self {
        FeeRate {
            fee,
            size: size.max(1),
        }
    }

    /// The zero rate.
    pub const ZERO: FeeRate = FeeRate { fee: 0, size: 1 };

    /// The fee.
    pub fn fee(&self) -> u128 {
        self.fee
    }

    /// The size in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The rate rounded down to whole base units per byte.
    pub fn per_byte_floor(&self) -> u128 {
        self.fee / u128::from(self.size)
    }
}

/// `a × b` as a 256-bit number `(high, low)`, for `b < 2^32`.
///
/// Hand-written (a dozen lines) rather than pulling in a big-integer crate
/// for one multiplication: split `a` into 64-bit halves, each partial
/// product fits in 96 bits.
fn mul_u128_u32(a: u128, b: u32) -> (u128, u128) {
    let b = u128::from(b);
    let lo = (a & u128::from(u64::MAX)) * b; // < 2^96
    let hi = (a >> 64) * b; // < 2^96
    // value = hi × 2^64 + lo
    let (low, carry) = (hi << 64).overflowing_add(lo);
    let high = (hi >> 64) + u128::from(carry);
    (high, low)
}

impl Ord for FeeRate {
    fn cmp(&self, other: &Self) -> Ordering {
        mul_u128_u32(self.fee, other.size).cmp(&mul_u128_u32(other.fee, self.size))
    }
}

impl PartialOrd for FeeRate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for FeeRate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for FeeRate {}

impl fmt::Display for FeeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} B", self.fee, self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_comparison() {
        assert_eq!(FeeRate::new(2, 200), FeeRate::new(1, 100));
        assert!(FeeRate::new(101, 100) > FeeRate::new(1, 1));
        assert!(FeeRate::new(99, 100) < FeeRate::new(1, 1));
        // Near the top of u128: a naive u128 product would overflow.
        let big = FeeRate::new(u128::MAX, 3);
        let bigger = FeeRate::new(u128::MAX, 2);
        assert!(bigger > big);
        assert!(FeeRate::new(u128::MAX - 1, 1) < FeeRate::new(u128::MAX, 1));
        assert_eq!(FeeRate::new(5, 0), FeeRate::new(5, 1));
    }

    proptest! {
        #[test]
        fn matches_rational_comparison(a in any::<u64>(), b in 1u32.., c in any::<u64>(), d in 1u32..) {
            // With 64-bit fees the products fit in u128: compare with the plain formula.
            let x = FeeRate::new(u128::from(a), b);
            let y = FeeRate::new(u128::from(c), d);
            let expected = (u128::from(a) * u128::from(d)).cmp(&(u128::from(c) * u128::from(b)));
            prop_assert_eq!(x.cmp(&y), expected);
        }

        #[test]
        fn wide_product_is_exact(a in any::<u128>(), b in any::<u32>()) {
            let (high, low) = mul_u128_u32(a, b);
            // Check against schoolbook multiplication in 32-bit limbs.
            let limbs = [a as u32, (a >> 32) as u32, (a >> 64) as u32, (a >> 96) as u32];
            let mut out = [0u64; 5];
            let mut carry = 0u64;
            for (i, limb) in limbs.iter().enumerate() {
                let p = u64::from(*limb) * u64::from(b) + carry;
                out[i] = p & 0xffff_ffff;
                carry = p >> 32;
            }
            out[4] = carry;
            let expected_low = out[..4].iter().enumerate().fold(0u128, |acc, (i, l)| acc | (u128::from(*l) << (32 * i)));
            prop_assert_eq!(low, expected_low);
            prop_assert_eq!(high, u128::from(out[4]));
        }
    }
}
