//! The context a script sees: what it guards, its redeemer, and a view of the
//! transaction.
//!
//! A script reads `encode(ScriptContext)` through the host API (see the
//! ledger's `script` module and `docs/ledger.md`). The layout is the Borsh
//! encoding of [`ScriptContext`], field by field:
//!
//! ```text
//! purpose   : u8 tag (0 = Spend, 1 = Mint) + OutPoint (32 + 4 bytes) | PolicyId (32 bytes)
//! datum     : u8 (0 = none, 1 = some) [+ u32 length + bytes]
//! redeemer  : u32 length + bytes
//! tx        : TxInfo
//! ```
//!
//! The context holds nothing about the block (height, time): a script's
//! verdict depends only on the transaction and the outputs it names, so a
//! node can evaluate it once at submission and get the same answer in any
//! block within the validity interval.

use crate::codec::{Canonical, encode};
use crate::hash::{KeyHash, PolicyId, TxId};
use crate::tx::{Datum, MAX_TX_LEN, OutPoint, RedeemerData, TxOutput, ValidityInterval};
use crate::value::MintAmounts;
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why a script runs.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub enum ScriptPurpose {
    /// Spending the script-locked output at this out-point.
    Spend(OutPoint),
    /// Minting or burning under this policy.
    Mint(PolicyId),
}

/// An input together with the output it refers to.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ResolvedInput {
    /// The reference.
    pub out_point: OutPoint,
    /// The output it names.
    pub output: TxOutput,
}

/// The transaction as scripts see it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct TxInfo {
    /// Transaction id.
    pub id: TxId,
    /// Spent inputs, resolved, in ascending out-point order.
    pub inputs: Vec<ResolvedInput>,
    /// Reference inputs, resolved, in ascending out-point order.
    pub reference_inputs: Vec<ResolvedInput>,
    /// Outputs created on success.
    pub outputs: Vec<TxOutput>,
    /// Declared fee.
    pub fee: u128,
    /// Minted (positive) and burned (negative) assets per policy.
    pub mint: BTreeMap<PolicyId, MintAmounts>,
    /// Validity interval.
    pub validity: ValidityInterval,
    /// Required signers (their signatures have been verified).
    pub required_signers: BTreeSet<KeyHash>,
}

/// Everything given to one script run.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ScriptContext {
    /// What the script guards.
    pub purpose: ScriptPurpose,
    /// Datum of the spent output (spends only).
    pub datum: Option<Datum>,
    /// The redeemer's payload.
    pub redeemer: RedeemerData,
    /// The transaction.
    pub tx: TxInfo,
}

impl ScriptContext {
    /// Encodes a context from its parts with `tx` already encoded, so that
    /// a transaction running several scripts encodes its [`TxInfo`] once.
    /// Equal to `encode(ScriptContext { .. })` (Borsh encodes a struct as
    /// the concatenation of its fields).
    pub fn encode_parts(
        purpose: &ScriptPurpose,
        datum: Option<&Datum>,
        redeemer: &RedeemerData,
        encoded_tx_info: &[u8],
    ) -> Vec<u8> {
        let mut out = encode(purpose);
        out.extend_from_slice(&encode(&datum));
        out.extend_from_slice(&encode(redeemer));
        out.extend_from_slice(encoded_tx_info);
        out
    }
}

impl Canonical for ScriptContext {
    // A context holds every output a transaction names; outputs themselves
    // are bounded by transactions, and a transaction names at most as many
    // outputs as fit in it (36 bytes per input).
    const MAX_ENCODED_LEN: usize = 64 * MAX_TX_LEN;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::Address;

    #[test]
    fn encode_parts_matches_struct_encoding() {
        let ctx = ScriptContext {
            purpose: ScriptPurpose::Spend(OutPoint::new(TxId([1; 32]), 3)),
            datum: Some(Datum::new(vec![1, 2, 3]).unwrap()),
            redeemer: RedeemerData::new(vec![9]).unwrap(),
            tx: TxInfo {
                id: TxId([4; 32]),
                inputs: vec![ResolvedInput {
                    out_point: OutPoint::new(TxId([1; 32]), 3),
                    output: TxOutput::coin(Address::Key(KeyHash([5; 32])), 77),
                }],
                reference_inputs: vec![],
                outputs: vec![TxOutput::coin(Address::Key(KeyHash([6; 32])), 70)],
                fee: 7,
                mint: BTreeMap::new(),
                validity: ValidityInterval::default(),
                required_signers: BTreeSet::new(),
            },
        };
        let parts = ScriptContext::encode_parts(
            &ctx.purpose,
            ctx.datum.as_ref(),
            &ctx.redeemer,
            &encode(&ctx.tx),
        );
        assert_eq!(parts, ctx.encode());
        assert_eq!(ScriptContext::decode(&parts).unwrap(), ctx);
    }
}
