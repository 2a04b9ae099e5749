//! Stateless admission checks: everything that needs only the bytes and
//! the protocol parameters, run before the pool is locked.

use crate::{FeeRate, MempoolError};
use aether_crypto::ed25519::{SignedMessage, verify, verify_batch};
use aether_ledger::ProtocolParams;
use aether_types::{Canonical, Transaction, TxId};
use std::sync::Arc;

/// A transaction that passed the stateless checks ([`check_stateless`]).
///
/// Only this module builds it, so holding one proves the checks ran.
#[derive(Clone, Debug)]
pub struct CheckedTx {
    tx: Arc<Transaction>,
    id: TxId,
    size: usize,
    fee_rate: FeeRate,
}

impl CheckedTx {
    /// The transaction.
    pub fn tx(&self) -> &Arc<Transaction> {
        &self.tx
    }

    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// Length of its canonical encoding, in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Its fee rate (fee over size).
    pub fn fee_rate(&self) -> FeeRate {
        self.fee_rate
    }
}

/// Runs the stateless checks on submitted bytes, in this order:
///
/// 1. size ≤ `params.max_tx_size` (before decoding anything);
/// 2. canonical decoding with the structural rules of `aether-types`;
/// 3. chain id;
/// 4. declared fuel ≤ `max_fuel_per_tx`;
/// 5. fee ≥ `base + per_byte × size + per_fuel × declared_fuel`;
/// 6. every output and the collateral return hold ≥ `min_output_coin`;
/// 7. every vkey witness verifies over the transaction id (one batch, then
///    singly to name the first bad witness).
///
/// These are the ledger's stateless rules 1–5 (see `aether_ledger`); the
/// stateful admission ([`crate::Mempool::insert`]) runs the full ledger
/// validation again, so a divergence here could only reject early, never
/// admit an invalid transaction.
pub fn check_stateless(params: &ProtocolParams, bytes: &[u8]) -> Result<CheckedTx, MempoolError> {
    if bytes.len() > params.max_tx_size {
        return Err(MempoolError::TooLarge {
            size: bytes.len(),
            max: params.max_tx_size,
        });
    }
    let tx = Transaction::decode(bytes).map_err(MempoolError::Decode)?;
    check_decoded(params, tx, bytes.len())
}

/// [`check_stateless`] for a transaction already in memory (its size is the
/// length of its canonical encoding).
pub fn check_transaction(
    params: &ProtocolParams,
    tx: Transaction,
) -> Result<CheckedTx, MempoolError> {
    tx.check().map_err(MempoolError::Decode)?;
    let size = tx.encode().len();
    if size > params.max_tx_size {
        return Err(MempoolError::TooLarge {
            size,
            max: params.max_tx_size,
        });
    }
    check_decoded(params, tx, size)
}

fn check_decoded(
    params: &ProtocolParams,
    tx: Transaction,
    size: usize,
) -> Result<CheckedTx, MempoolError> {
    let body = &tx.body;
    if body.chain_id != params.chain_id {
        return Err(MempoolError::WrongChain {
            expected: params.chain_id,
            got: body.chain_id,
        });
    }
    let declared = body.declared_fuel().map_err(MempoolError::Decode)?;
    if declared > params.scripts.max_fuel_per_tx {
        return Err(MempoolError::FuelLimitExceeded {
            declared,
            max: params.scripts.max_fuel_per_tx,
        });
    }
    let min = params
        .fees
        .min_fee(size, declared)
        .map_err(MempoolError::from_ledger)?;
    if body.fee < min {
        return Err(MempoolError::FeeTooLow { fee: body.fee, min });
    }
    for (index, output) in body
        .outputs
        .iter()
        .chain(&body.collateral_return)
        .enumerate()
    {
        if output.value.coin < params.min_output_coin {
            return Err(MempoolError::OutputTooSmall {
                index,
                coin: output.value.coin,
                min: params.min_output_coin,
            });
        }
    }
    let id = tx.id();
    let items: Vec<SignedMessage<'_>> = tx
        .witnesses
        .vkeys
        .iter()
        .map(|w| SignedMessage {
            public_key: &w.public_key,
            message: id.as_bytes(),
            signature: &w.signature,
        })
        .collect();
    if verify_batch(&items).is_err() {
        let index = items
            .iter()
            .position(|m| verify(m.public_key, m.message, m.signature).is_err())
            // The batch equation failed although every member verifies
            // singly: only a signer's own small-order tricks do that; name
            // the first witness rather than accept a disputed batch.
            .unwrap_or(0);
        return Err(MempoolError::InvalidSignature { index });
    }
    drop(items);
    // `size` ≤ max_tx_size ≤ MAX_TX_LEN (256 KiB) fits u32.
    let size_u32 = u32::try_from(size).unwrap_or(u32::MAX);
    Ok(CheckedTx {
        fee_rate: FeeRate::new(tx.body.fee, size_u32),
        tx: Arc::new(tx),
        id,
        size,
    })
}
