//! Aether protocol types and their canonical binary encoding.
//!
//! This crate is small and I/O-free: the node, the worker and tools depend
//! on it to build, hash, sign and decode transactions and blocks without
//! pulling in storage, networking or crypto back ends.
//!
//! | module | holds |
//! |---|---|
//! | [`codec`] | the one canonical encoding (Borsh, strict) and its decoding rules |
//! | [`hash`] | domain-separated BLAKE3 digests, typed ids, the Merkle tree |
//! | [`value`] | AIC and multi-asset values, mint amounts |
//! | [`tx`] | out-points, outputs, scripts, redeemers, transactions |
//! | [`block`] | headers, blocks, receipts |
//! | [`consensus`] | consensus wire types: rounds, votes, quorum and timeout certificates, proposals, evidence |
//! | [`context`] | the context given to scripts |
//! | [`market`] | AI market ids, TEE evidence, job data, verifiable compute receipts |
//! | [`action`] | typed actions a transaction carries, their declared access and deposits |
//! | [`object`] | protocol objects (registry, models, providers, jobs, validators), events, boundary receipts |
//! | [`staking`] | validators, delegations, epoch sets, slashes, the validator attestation binding |
//! | [`fees`] | the fee formula and the parameters a client needs ([`TxParams`]) |
//!
//! # Invariants
//! - Everything hashed or signed is hashed over its [`Canonical::encode`]
//!   bytes, and [`Canonical::decode`] accepts only canonical bytes: for any
//!   accepted `b`, `decode(b).encode() == b`.
//! - Decoding never panics and never allocates more than a small multiple
//!   of its input.
//! - The wire format is pinned by `tests/conformance.rs`: any change to an
//!   encoding or a hash tag fails that test and is a hard fork.
//!
//! # Example
//! ```
//! use aether_types::*;
//! let body = TxBody {
//!     chain_id: ChainId(7),
//!     inputs: [OutPoint::new(TxId([1; 32]), 0)].into(),
//!     reference_inputs: Default::default(),
//!     collateral: Default::default(),
//!     collateral_return: None,
//!     outputs: vec![TxOutput::coin(Address::Key(KeyHash([2; 32])), 1_000)],
//!     fee: 10,
//!     validity: ValidityInterval::default(),
//!     mint: Default::default(),
//!     spend_redeemers: Default::default(),
//!     required_signers: Default::default(),
//!     actions: vec![],
//! };
//! let tx = Transaction { body, witnesses: TxWitnesses::default() };
//! let bytes = tx.encode();
//! assert_eq!(Transaction::decode(&bytes).unwrap(), tx);
//! assert!(Transaction::decode(&bytes[..bytes.len() - 1]).is_err());
//! ```

pub mod action;
pub mod block;
pub mod codec;
pub mod consensus;
pub mod context;
mod error;
pub mod fees;
pub mod hash;
pub mod market;
pub mod object;
pub mod staking;
pub mod tx;
pub mod value;

pub use action::{
    Access, AccessKey, Action, ActionError, Challenge, ChallengeClaim, Lane, ModelFile, PostJob,
    ProviderOffer, RegisterMeasurement, RegisterModel, RegisterProvider, RevokeMeasurement,
    UnbondProvider, UpdateProvider,
};
pub use block::{
    Block, BlockHeader, ConsensusFields, HEADER_VERSION, MAX_BLOCK_LEN, Receipt, ScriptFailure,
    TxStatus, receipts_root,
};
pub use codec::{BoundedBytes, BoundedString, Canonical, encode};
pub use consensus::{
    BlockRef, BlockRequest, BlsPublicKeyBytes, BlsSignatureBytes, ConsensusMsg, Epoch,
    EquivocationEvidence, EquivocationKind, MAX_VALIDATORS, Proposal, ProposalFields, QuorumCert,
    Round, SignerBitmap, TimeoutCert, TimeoutData, TimeoutGroup, TimeoutMsg, ValidatorIndex, Vote,
};
pub use context::{ResolvedInput, ScriptContext, ScriptPurpose, TxInfo};
pub use error::Error;
pub use fees::{FeeError, FeeSchedule, TxParams};
pub use hash::{
    BlockHash, Digest, KeyHash, PolicyId, ScriptHash, TxId, merkle_proof, merkle_root, tag,
    tagged_hash, verify_merkle_proof,
};
pub use market::*;
pub use object::{
    BoundaryReceipt, ChallengeRecord, ComputeReceiptRecord, Event, EvidenceRecord,
    INITIAL_REPUTATION, ImageRecord, JobRecord, JobStatus, MAX_REPUTATION, MAX_UNBONDING,
    MeasurementRecord, ModelRecord, OBJECT_KEY_TAG, Object, ObjectKey, ProviderRecord,
    RefundReason, Unbonding, VerifiedClaims, boundary_tx_id,
};
pub use staking::{
    Delegate, DelegationId, DelegationRecord, EpochActivity, EpochMember, EpochSet,
    MAX_COMMISSION_BPS, MAX_STAKE_UNBONDING, RegisterValidator, ReportEquivocation, SlashId,
    SlashRecord, StakeUnbonding, UnbondingPool, Undelegate, VALIDATOR_BINDING_DOMAIN, ValidatorId,
    ValidatorRecord, mul_div, validator_report_data,
};
pub use tx::{
    Address, ChainId, Datum, MAX_DATUM_LEN, MAX_REDEEMER_LEN, MAX_SCRIPT_LEN, MAX_TX_LEN, OutPoint,
    PolicyMint, PublicKey, Redeemer, RedeemerData, Script, Signature, Transaction, TxBody,
    TxOutput, TxWitnesses, VKeyWitness, ValidityInterval, WasmCode,
};
pub use value::{
    AssetName, BASE_UNITS_PER_AIC, MAX_ASSET_NAME_LEN, MintAmounts, MultiAsset, Value,
};
