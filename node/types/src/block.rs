//! Blocks, headers and receipts.
//!
//! # Commitments in the header
//! - `tx_root` = [`merkle_root`] over `tx.tx_leaf(id)` of the block's
//!   transactions in block order ([`Block::compute_tx_root`]);
//! - `receipts_root` = [`merkle_root`] over
//!   `H(tag::RECEIPT_LEAF, encode(receipt))` in block order
//!   ([`receipts_root`]);
//! - `state_root` = commitment to the UTxO set after the block (defined by
//!   the ledger / storage layer);
//! - `data_root` = root of the erasure-coded block data (all zero until data
//!   availability sampling exists);
//! - `consensus` = fields of the consensus protocol, an enum so that the
//!   HotStuff fields (view, justify QC) slot in as a new variant.
//!
//! The block hash is `H(tag::BLOCK_HEADER, encode(header))`.

use crate::Error;
use crate::codec::{Canonical, encode};
use crate::context::ScriptPurpose;
use crate::hash::{BlockHash, Digest, TxId, merkle_root, tag, tagged_hash};
use crate::object::{BoundaryReceipt, Event};
use crate::tx::{ChainId, PublicKey, Transaction};
use borsh::{BorshDeserialize, BorshSerialize};

/// Header format version understood by this crate.
pub const HEADER_VERSION: u32 = 1;

/// Largest encoded block [`Canonical::decode`] accepts.
pub const MAX_BLOCK_LEN: usize = 128 * 1024 * 1024;

/// Consensus-specific header fields.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum ConsensusFields {
    /// A single-validator (development) chain: the proposer's key.
    SingleValidator {
        /// ed25519 key of the block producer.
        proposer: PublicKey,
    },
    /// A block of the multi-validator chain (two-chain HotStuff): round,
    /// epoch, proposer, the parent's QC, the previous round's TC if any, and
    /// the proposer's VRF proof (see [`crate::consensus`]).
    HotStuff(Box<crate::consensus::ProposalFields>),
}

/// A block header.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    /// [`HEADER_VERSION`].
    pub version: u32,
    /// Chain the block belongs to.
    pub chain_id: ChainId,
    /// Height (genesis is 0).
    pub height: u64,
    /// Milliseconds since the Unix epoch, as proposed.
    pub timestamp_ms: u64,
    /// Hash of the parent header (all zero for genesis).
    pub parent_hash: BlockHash,
    /// Merkle root of the transactions.
    pub tx_root: Digest,
    /// Merkle root of the receipts.
    pub receipts_root: Digest,
    /// Commitment to the UTxO set after this block.
    pub state_root: Digest,
    /// Root of the erasure-coded block data (zero until used).
    pub data_root: Digest,
    /// Consensus fields.
    pub consensus: ConsensusFields,
}

impl BlockHeader {
    /// The block hash.
    pub fn hash(&self) -> BlockHash {
        BlockHash(tagged_hash(tag::BLOCK_HEADER, &[&encode(self)]).0)
    }
}

impl Canonical for BlockHeader {
    const MAX_ENCODED_LEN: usize = 4096;

    fn check(&self) -> Result<(), Error> {
        if self.version != HEADER_VERSION {
            return Err(Error::UnsupportedVersion(self.version));
        }
        Ok(())
    }
}

/// A block: header and transactions in execution order.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Transactions, executed in this order.
    pub transactions: Vec<Transaction>,
}

impl Block {
    /// The block hash (hash of the header).
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// Merkle root over the transactions (see the module docs).
    pub fn compute_tx_root(&self) -> Digest {
        let leaves: Vec<Digest> = self
            .transactions
            .iter()
            .map(|tx| tx.tx_leaf(&tx.id()))
            .collect();
        merkle_root(&leaves)
    }
}

impl Canonical for Block {
    const MAX_ENCODED_LEN: usize = MAX_BLOCK_LEN;

    fn check(&self) -> Result<(), Error> {
        self.header.check()?;
        for (index, tx) in self.transactions.iter().enumerate() {
            tx.check().map_err(|e| Error::InBlockTransaction {
                index,
                source: Box::new(e),
            })?;
        }
        Ok(())
    }
}

/// Why a script did not accept.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum ScriptFailure {
    /// The script returned a value other than "accept".
    Rejected {
        /// The value returned.
        code: i32,
    },
    /// The script used up its declared fuel.
    OutOfFuel,
    /// The script trapped (unreachable, out-of-bounds access, stack overflow, ...).
    Trapped,
    /// The module is not valid WebAssembly under the ledger's rules
    /// (malformed, has a start function, or uses a feature that is off).
    InvalidModule,
    /// The module uses floating-point types or instructions.
    FloatsUsed,
    /// The module imports something other than the host API, or with a wrong type.
    ForbiddenImport,
    /// The module lacks the `validate: [] -> [i32]` function or the `memory` export.
    BadExports,
    /// The module asks for more memory (or tables) than allowed.
    ResourceLimit,
}

/// Outcome of an included transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum TxStatus {
    /// All scripts accepted: inputs spent, outputs created, assets minted.
    Success,
    /// A script failed: only the collateral was consumed (fee charged,
    /// collateral return created).
    ScriptFailed {
        /// The script run that failed.
        purpose: ScriptPurpose,
        /// How it failed.
        failure: ScriptFailure,
    },
}

/// The receipt of an included transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    /// The transaction.
    pub tx_id: TxId,
    /// What happened.
    pub status: TxStatus,
    /// Fee collected, in AIC base units.
    pub fee_charged: u128,
    /// Fuel consumed by scripts (including instantiation charges).
    pub fuel_used: u64,
    /// What the transaction's actions did (empty without actions or when
    /// a script failed).
    pub events: Vec<Event>,
}

impl Receipt {
    /// Leaf of the receipts tree: `H(tag::RECEIPT_LEAF, encode(self))`.
    pub fn leaf(&self) -> Digest {
        tagged_hash(tag::RECEIPT_LEAF, &[&encode(self)])
    }
}

impl Canonical for Receipt {
    const MAX_ENCODED_LEN: usize = 64 * 1024;
}

/// Merkle root over the receipts in block order, then the boundary
/// receipt (see the module docs).
pub fn receipts_root(receipts: &[Receipt], boundary: &BoundaryReceipt) -> Digest {
    let leaves: Vec<Digest> = receipts
        .iter()
        .map(Receipt::leaf)
        .chain(std::iter::once(boundary.leaf()))
        .collect();
    merkle_root(&leaves)
}
