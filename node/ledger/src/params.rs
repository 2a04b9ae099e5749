//! Protocol parameters: fees, script limits, size bounds.
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
//!   (`TxBody::declared_fuel`), declared in the transaction, not measured,
//!   so the fee is known before submission; unused fuel is not refunded.
//!
//! All arithmetic is checked: an overflowing fee is an error, not a wrap.

use crate::LedgerError;
use aether_types::{ChainId, Transaction};

/// Parameters of the fee formula, in AIC base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    pub fn min_fee(&self, size: usize, declared_fuel: u64) -> Result<u128, LedgerError> {
        let size = u128::try_from(size).map_err(|_| LedgerError::FeeOverflow)?;
        self.per_byte
            .checked_mul(size)
            .and_then(|bytes| bytes.checked_add(self.base))
            .and_then(|fee| {
                self.per_fuel
                    .checked_mul(u128::from(declared_fuel))
                    .and_then(|fuel| fee.checked_add(fuel))
            })
            .ok_or(LedgerError::FeeOverflow)
    }

    /// The minimum fee of `tx` as encoded now (see the module docs: the
    /// result does not depend on the fee or signature values already in it).
    pub fn min_fee_for(&self, tx: &Transaction) -> Result<u128, LedgerError> {
        use aether_types::Canonical;
        let fuel = tx.body.declared_fuel().map_err(LedgerError::Malformed)?;
        self.min_fee(tx.encode().len(), fuel)
    }
}

/// Limits on script execution. Changing any of them changes which
/// transactions are valid: they are consensus parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Largest linear memory of a script, in 64 KiB pages (declared or grown).
    pub max_memory_pages: u32,
    /// Largest table of a script, in elements.
    pub max_table_elements: u32,
    /// Largest total fuel a transaction may declare.
    pub max_fuel_per_tx: u64,
    /// Fuel charged before a script starts, for loading it.
    pub instantiate_fuel_base: u64,
    /// Fuel charged per byte of script code, for loading it.
    pub instantiate_fuel_per_byte: u64,
}

/// All protocol parameters the ledger needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolParams {
    /// The chain's id; transactions for other chains are rejected.
    pub chain_id: ChainId,
    /// Fee formula.
    pub fees: FeeSchedule,
    /// Script limits.
    pub scripts: ScriptLimits,
    /// Largest encoded transaction, in bytes.
    pub max_tx_size: usize,
    /// Smallest AIC amount of an output (no dust outputs).
    pub min_output_coin: u128,
    /// Signatures per batch when a block's signatures are verified.
    /// Consensus-relevant: see `aether_crypto::ed25519`.
    pub signature_batch_size: usize,
}

impl ProtocolParams {
    /// The development chain's parameters (chain id 0xae7e).
    ///
    /// Fees: 0.0001 AIC per transaction, 0.000001 AIC per byte, one base
    /// unit per fuel. A 300-byte transfer costs 400 000 base units.
    pub fn dev() -> Self {
        ProtocolParams {
            chain_id: ChainId(0xae7e),
            fees: FeeSchedule {
                base: 100_000,
                per_byte: 1_000,
                per_fuel: 1,
            },
            scripts: ScriptLimits {
                max_memory_pages: 16,
                max_table_elements: 10_000,
                max_fuel_per_tx: 50_000_000,
                instantiate_fuel_base: 1_000,
                instantiate_fuel_per_byte: 1,
            },
            max_tx_size: 128 * 1024,
            min_output_coin: 1_000,
            signature_batch_size: 64,
        }
    }
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
        let huge = FeeSchedule {
            base: u128::MAX,
            per_byte: 1,
            per_fuel: 0,
        };
        assert_eq!(huge.min_fee(1, 0), Err(LedgerError::FeeOverflow));
    }
}
