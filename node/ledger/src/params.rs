//! Protocol parameters: fees, script limits, size bounds.
//!
//! The fee formula ([`FeeSchedule`]) lives in `aether-types`
//! (`aether_types::fees`), so that clients compute fees with the very code
//! the ledger checks them with; it is re-exported here:
//!
//! ```text
//! min_fee = base + per_byte × size + per_fuel × declared_fuel
//! ```
//!
//! [`ProtocolParams::tx_params`] gives the subset a client needs to build a
//! valid transaction (what the node serves as `aether_getParams`).

use crate::LedgerError;
use aether_types::{ChainId, FeeError, TxParams};

pub use aether_types::FeeSchedule;

impl From<FeeError> for LedgerError {
    fn from(error: FeeError) -> Self {
        match error {
            FeeError::Overflow => LedgerError::FeeOverflow,
            FeeError::Malformed(e) => LedgerError::Malformed(e),
        }
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
    /// The AI market's parameters.
    pub market: crate::market::MarketParams,
    /// Staking's parameters (epochs, bonds, slashing, rewards).
    pub staking: crate::staking::StakingParams,
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
            market: crate::market::MarketParams::dev(),
            staking: crate::staking::StakingParams::dev(),
        }
    }

    /// The parameters a client needs to build a valid transaction.
    pub fn tx_params(&self) -> TxParams {
        TxParams {
            chain_id: self.chain_id,
            fees: self.fees,
            min_output_coin: self.min_output_coin,
            max_tx_size: self.max_tx_size as u64,
            max_fuel_per_tx: self.scripts.max_fuel_per_tx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_errors_keep_their_ledger_meaning() {
        let huge = FeeSchedule {
            base: u128::MAX,
            per_byte: 1,
            per_fuel: 0,
        };
        assert_eq!(
            huge.min_fee(1, 0).map_err(LedgerError::from),
            Err(LedgerError::FeeOverflow)
        );
        assert_eq!(
            LedgerError::from(FeeError::Malformed(aether_types::Error::FuelOverflow)),
            LedgerError::Malformed(aether_types::Error::FuelOverflow)
        );
    }

    #[test]
    fn tx_params_mirror_the_protocol_params() {
        let p = ProtocolParams::dev();
        let t = p.tx_params();
        assert_eq!(t.chain_id, p.chain_id);
        assert_eq!(t.fees, p.fees);
        assert_eq!(t.min_output_coin, p.min_output_coin);
        assert_eq!(t.max_tx_size, p.max_tx_size as u64);
        assert_eq!(t.max_fuel_per_tx, p.scripts.max_fuel_per_tx);
    }
}
