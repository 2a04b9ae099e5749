//! Typed results of chain reads: what a node's chain reader returns and
//! what the wire forms of [`crate::dto`] are built from. Protocol types
//! only, no JSON.

use aether_types::{BlockHash, ChainId, Digest, OutPoint, TxOutput, Value};

/// The chain's tip and finality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainStatus {
    /// The chain id.
    pub chain_id: ChainId,
    /// Height of the latest committed block.
    pub height: u64,
    /// Hash of the latest committed block.
    pub head_hash: BlockHash,
    /// State root after the latest committed block.
    pub state_root: Digest,
    /// Height of the latest finalized block (≤ `height`).
    pub finalized_height: u64,
    /// Hash of the latest finalized block.
    pub finalized_hash: BlockHash,
    /// Consensus state (multi-validator nodes only).
    pub consensus: Option<crate::dto::ConsensusStatusDto>,
}

/// Where an included transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Hash of the including block.
    pub block_hash: BlockHash,
    /// Height of the including block.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// Unspent outputs of an address at one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressUtxos {
    /// Height the set was read at.
    pub height: u64,
    /// Outputs, in ascending out-point order, at most the requested limit.
    pub utxos: Vec<(OutPoint, TxOutput)>,
    /// Whether more outputs exist beyond the limit.
    pub truncated: bool,
}

/// Everything an address holds at one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressBalance {
    /// Height the balance was read at.
    pub height: u64,
    /// Sum of the values of its unspent outputs.
    pub value: Value,
    /// Number of unspent outputs.
    pub utxo_count: u64,
}

/// A proof that an out-point is (or is not) in the UTxO set committed to
/// by `state_root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateProof {
    /// Height of the state.
    pub height: u64,
    /// The state root the proof verifies against.
    pub state_root: Digest,
    /// The out-point asked about.
    pub out_point: OutPoint,
    /// The unspent output, or `None` for an exclusion proof.
    pub output: Option<TxOutput>,
    /// Name of the proof format (defined by the state tree's implementation).
    pub scheme: String,
    /// The proof in that format.
    pub proof: Vec<u8>,
}

/// Size of the pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Pooled transactions.
    pub txs: u64,
    /// Their encoded bytes.
    pub bytes: u64,
}
