//! The fee formula and the chain parameters a client needs to build a
//! valid transaction ([`TxParams`]).
//!
//! # Fee formula
//! The minimum fee of a transaction is
//!
//! ```text
//! min_fee = base + per_byte × size + per_fuel × declared_fuel
//! ```
//!
//! - `size` is the length of the transaction's canonical encoding, body and
//!   witnesses. Every integer is fixed-width (the fee is a `u128`, a
//!   signature 64 bytes), so the size does not depend on the fee's value: a
//!   client encodes the transaction with its final witness count (any 64
//!   bytes as signatures), computes the fee, writes it into the body, then
//!   signs. [`FeeSchedule::min_fee_for`] does the computation.
//! - `declared_fuel` is the sum of the fuel budgets of all redeemers
//!   ([`TxBody::declared_fuel`](crate::TxBody::declared_fuel)), declared in
//!   the transaction, not measured, so the fee is known before submission;
//!   unused fuel is not refunded.
//!
//! All arithmetic is checked: an overflowing fee is an error, not a wrap.
//!
//! The ledger (`aether-ledger`) enforces the formula with the same type;
//! clients (`aether-client`) use it to pay exactly the minimum.

use crate::{Canonical, ChainId, Error, Transaction};

/// Why a minimum fee could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// The formula overflowed `u128`.
    #[error("fee computation overflows")]
    Overflow,
    /// The transaction's declared fuel could not be summed.
    #[error("malformed transaction: {0}")]
    Malformed(Error),
}

/// Parameters of the fee formula, in AIC base units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeSchedule {
    /// Fee of any transaction.
    pub base: u128,
    /// Fee per byte of encoded transaction.
    pub per_byte: u128,
    /// Fee per unit of declared script fuel.
    pub per_fuel: u128,
}

impl FeeSchedule {
    /// `base + per_byte × size + per_fuel × declared_fuel`, checked.
    pub fn min_fee(&self, size: usize, declared_fuel: u64) -> Result<u128, FeeError> {
        let size = u128::try_from(size).map_err(|_| FeeError::Overflow)?;
        self.per_byte
            .checked_mul(size)
            .and_then(|bytes| bytes.checked_add(self.base))
            .and_then(|fee| {
                self.per_fuel
                    .checked_mul(u128::from(declared_fuel))
                    .and_then(|fuel| fee.checked_add(fuel))
            })
            .ok_or(FeeError::Overflow)
    }

    /// The minimum fee of `tx` as encoded now (see the module docs: the
    /// result does not depend on the fee or signature values already in it).
    pub fn min_fee_for(&self, tx: &Transaction) -> Result<u128, FeeError> {
        let fuel = tx.body.declared_fuel().map_err(FeeError::Malformed)?;
        self.min_fee(tx.encode().len(), fuel)
    }
}

/// The chain parameters that decide whether a transaction is admissible,
/// as a client needs them to build one (served by the node's
/// `aether_getParams`). The ledger's full parameter set holds more (script
/// memory limits, batch sizes); these are the ones a transaction's author
/// must respect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxParams {
    /// The chain's id (written into every transaction body).
    pub chain_id: ChainId,
    /// The fee formula.
    pub fees: FeeSchedule,
    /// Smallest AIC amount of an output (and of a collateral return).
    pub min_output_coin: u128,
    /// Largest encoded transaction, in bytes.
    pub max_tx_size: u64,
    /// Largest total script fuel a transaction may declare.
    pub max_fuel_per_tx: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_formula() {
        let f = FeeSchedule {
            base: 10,
            per_byte: 2,
            per_fuel: 3,
        };
        assert_eq!(f.min_fee(100, 1000).unwrap(), 10 + 200 + 3000);
        assert_eq!(f.min_fee(0, 0).unwrap(), 10);
        let huge = FeeSchedule {
            base: u128::MAX,
            per_byte: 1,
            per_fuel: 0,
        };
        assert_eq!(huge.min_fee(1, 0), Err(FeeError::Overflow));
        let fuel = FeeSchedule {
            base: 0,
            per_byte: 0,
            per_fuel: u128::MAX,
        };
        assert_eq!(fuel.min_fee(0, 2), Err(FeeError::Overflow));
        assert_eq!(fuel.min_fee(0, 1), Ok(u128::MAX));
    }
}
