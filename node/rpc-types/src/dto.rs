//! The JSON shapes of results (serde, plus JSON Schema with the feature
//! `schema`), built from the protocol types, and their decoding back into
//! protocol types for clients (`parse*` methods). `aether-types` stays
//! serde-free: JSON lives only here, at the edge.
//!
//! Conventions: field names are camelCase; hashes, ids, keys and byte
//! strings are lowercase hex without `0x`; **amounts** (AIC base units,
//! asset quantities, fees) are **decimal strings**, because they are
//! 128-bit and JSON numbers lose precision above 2^53; counters (heights,
//! indices, sizes, fuel, timestamps) are JSON numbers (u64).

use crate::chain::{AddressBalance, AddressUtxos, ChainStatus, PoolStatus, StateProof, TxLocation};
use crate::params::{
    ParamError, format_address, parse_address, parse_amount, parse_hash32, parse_hex_bytes,
};
use aether_types::{
    Address, AssetName, Block, BlockHash, BlockHeader, Canonical, ChainId, ConsensusFields, Digest,
    FeeSchedule, MAX_ASSET_NAME_LEN, MultiAsset, OutPoint, PolicyId, Receipt, Script,
    ScriptFailure, ScriptHash, ScriptPurpose, Transaction, TxId, TxOutput, TxParams, TxStatus,
    Value,
};
use serde::{Deserialize, Serialize};

/// Node status (`aether_status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusDto {
    /// Chain id.
    pub chain_id: u32,
    /// Height of the latest committed block.
    pub height: u64,
    /// Hash of the latest committed block.
    pub head_hash: String,
    /// State root after the latest committed block.
    pub state_root: String,
    /// Height of the latest finalized block.
    pub finalized_height: u64,
    /// Hash of the latest finalized block.
    pub finalized_hash: String,
    /// Node software, `aether/<version>`.
    pub version: String,
    /// Mempool size.
    pub mempool: MempoolStatusDto,
    /// Consensus state of a multi-validator node (absent on a
    /// single-validator chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus: Option<ConsensusStatusDto>,
}

/// Consensus state of a validator (`aether_status`'s `consensus`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsensusStatusDto {
    /// This node's validator index.
    pub validator_index: u16,
    /// Number of validators.
    pub validators: u16,
    /// Current round.
    pub round: u64,
    /// Round of the highest quorum certificate.
    pub highest_qc_round: u64,
    /// Validators this node is connected to.
    pub connected_peers: Vec<u16>,
    /// Leaders of the next rounds (on top of the highest certified block).
    pub leaders: Vec<LeaderDto>,
    /// Blocks committed through block sync (caught up from peers).
    pub synced_blocks: u64,
    /// Proposals this node rebuilt from Turbine shreds.
    #[serde(default)]
    pub blocks_from_shreds: u64,
}

/// The fault injection a validator applies to the frames it sends
/// (`aether_debugSetFaults`'s parameter and answer). Every field is
/// optional in the request, and an absent one leaves its setting as it
/// was; `partition: []` heals a partition. In the answer, `partition` is
/// absent or `null` when there is none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultsDto {
    /// Groups of validator indices that cannot reach each other (a
    /// validator in no group reaches nobody); `[]`: no partition.
    #[serde(default)]
    pub partition: Option<Vec<Vec<u16>>>,
    /// Delay of every frame, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Probability that a frame (any lane) is lost, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Fraction of each batch of 64 block shreds sent to a peer that is
    /// lost, exactly (the first ones of the batch); other frames are not
    /// touched. Turbine rebuilds a batch from any half, so up to 0.5 every
    /// block still arrives. Not combined with `loss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shred_loss: Option<f64>,
    /// Beside every vote it casts, the node signs and sends a second vote
    /// in the same round for a made-up block: a Byzantine validator for
    /// tests (the others submit the evidence and it is slashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivocate: Option<bool>,
}

/// One round's leader.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LeaderDto {
    /// The round.
    pub round: u64,
    /// Its leader's validator index.
    pub leader: u16,
}

impl StatusDto {
    /// Builds the status from the chain and pool; `version` is the node
    /// software's, `aether/<version>`.
    pub fn new(chain: &ChainStatus, pool: PoolStatus, version: &str) -> Self {
        StatusDto {
            chain_id: chain.chain_id.0,
            height: chain.height,
            head_hash: chain.head_hash.to_string(),
            state_root: chain.state_root.to_string(),
            finalized_height: chain.finalized_height,
            finalized_hash: chain.finalized_hash.to_string(),
            version: version.to_string(),
            mempool: MempoolStatusDto {
                txs: pool.txs,
                bytes: pool.bytes,
            },
            consensus: chain.consensus.clone(),
        }
    }
}

/// Mempool size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MempoolStatusDto {
    /// Pooled transactions.
    pub txs: u64,
    /// Their encoded bytes.
    pub bytes: u64,
}

/// Consensus fields of a header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ConsensusDto {
    /// A single-validator (development) chain.
    #[serde(rename_all = "camelCase")]
    SingleValidator {
        /// ed25519 key of the proposer, hex.
        proposer: String,
    },
    /// A block of the multi-validator chain (two-chain HotStuff).
    #[serde(rename_all = "camelCase")]
    HotStuff {
        /// Epoch of the round.
        epoch: u64,
        /// Round in which the block was proposed.
        round: u64,
        /// Index of the proposer in the epoch's validator set.
        proposer: u16,
        /// Round of the parent's quorum certificate.
        justify_round: u64,
        /// The certified parent's hash.
        justify_block: String,
        /// Round given up by the timeout certificate carried, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_round: Option<u64>,
    },
}

/// A block header (also the item of head subscriptions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HeaderDto {
    /// Block hash.
    pub hash: String,
    /// Header format version.
    pub version: u32,
    /// Chain id.
    pub chain_id: u32,
    /// Height.
    pub height: u64,
    /// Proposal time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Parent block hash.
    pub parent_hash: String,
    /// Merkle root of the transactions.
    pub tx_root: String,
    /// Merkle root of the receipts.
    pub receipts_root: String,
    /// State root after the block.
    pub state_root: String,
    /// Root of the erasure-coded block data.
    pub data_root: String,
    /// Consensus fields.
    pub consensus: ConsensusDto,
}

impl From<&BlockHeader> for HeaderDto {
    fn from(h: &BlockHeader) -> Self {
        HeaderDto {
            hash: h.hash().to_string(),
            version: h.version,
            chain_id: h.chain_id.0,
            height: h.height,
            timestamp_ms: h.timestamp_ms,
            parent_hash: h.parent_hash.to_string(),
            tx_root: h.tx_root.to_string(),
            receipts_root: h.receipts_root.to_string(),
            state_root: h.state_root.to_string(),
            data_root: h.data_root.to_string(),
            consensus: match &h.consensus {
                ConsensusFields::SingleValidator { proposer } => ConsensusDto::SingleValidator {
                    proposer: hex::encode(proposer.0),
                },
                ConsensusFields::HotStuff(f) => ConsensusDto::HotStuff {
                    epoch: f.epoch.0,
                    round: f.round.0,
                    proposer: f.proposer.0,
                    justify_round: f.justify.round.0,
                    justify_block: f.justify.block.to_string(),
                    timeout_round: f.timeout_cert.as_ref().map(|t| t.round.0),
                },
            },
        }
    }
}

/// A block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlockDto {
    /// The header.
    pub header: HeaderDto,
    /// Encoded size of the block, in bytes.
    pub size: u64,
    /// Transaction ids in block order.
    pub transactions: Vec<String>,
    /// The transactions in full, when asked for (`full = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_details: Option<Vec<TransactionDto>>,
}

impl BlockDto {
    /// Builds the block result; `full` adds the transaction objects.
    pub fn new(block: &Block, full: bool) -> Self {
        let hash = block.hash();
        BlockDto {
            header: HeaderDto::from(&block.header),
            size: block.encode().len() as u64,
            transactions: block
                .transactions
                .iter()
                .map(|t| t.id().to_string())
                .collect(),
            transaction_details: full.then(|| {
                block
                    .transactions
                    .iter()
                    .enumerate()
                    .map(|(i, tx)| {
                        TransactionDto::new(
                            tx,
                            Some(&TxLocation {
                                block_hash: hash,
                                height: block.header.height,
                                index: u32::try_from(i).unwrap_or(u32::MAX),
                            }),
                        )
                    })
                    .collect()
            }),
        }
    }
}

/// A reference to an output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OutPointDto {
    /// Creating transaction.
    pub tx_id: String,
    /// Output index.
    pub index: u32,
}

impl From<&OutPoint> for OutPointDto {
    fn from(op: &OutPoint) -> Self {
        OutPointDto {
            tx_id: op.tx_id.to_string(),
            index: op.index,
        }
    }
}

/// An amount of one user-defined asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssetDto {
    /// Minting policy (script hash).
    pub policy_id: String,
    /// Asset name, hex.
    pub name: String,
    /// Quantity, decimal string (negative for burns in `mint`).
    pub quantity: String,
}

fn assets(multi: &MultiAsset) -> Vec<AssetDto> {
    multi
        .iter()
        .map(|(policy, name, quantity)| AssetDto {
            policy_id: policy.to_string(),
            name: hex::encode(name.as_slice()),
            quantity: quantity.to_string(),
        })
        .collect()
}

/// A transaction output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OutputDto {
    /// `key:<hex>` or `script:<hex>`.
    pub address: String,
    /// AIC in base units (10^-9 AIC), decimal string.
    pub coin: String,
    /// Other assets.
    pub assets: Vec<AssetDto>,
    /// Inline datum, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datum: Option<String>,
    /// Hash of the reference script carried by the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_script_hash: Option<String>,
}

impl From<&TxOutput> for OutputDto {
    fn from(o: &TxOutput) -> Self {
        OutputDto {
            address: format_address(&o.address),
            coin: o.value.coin.to_string(),
            assets: assets(&o.value.assets),
            datum: o.datum.as_ref().map(|d| hex::encode(d.as_slice())),
            reference_script_hash: o.reference_script.as_ref().map(|s| s.hash().to_string()),
        }
    }
}

/// An unspent output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UtxoDto {
    /// Where it is.
    pub out_point: OutPointDto,
    /// What it holds.
    pub output: OutputDto,
}

/// A redeemer of a script-locked input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SpendRedeemerDto {
    /// The input it unlocks.
    pub out_point: OutPointDto,
    /// Redeemer bytes, hex.
    pub data: String,
    /// Fuel budget.
    pub fuel: u64,
}

/// Assets minted or burned under one policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MintDto {
    /// Policy id.
    pub policy_id: String,
    /// `(name hex, signed decimal quantity)` pairs.
    pub amounts: Vec<AssetDto>,
    /// Redeemer bytes of the policy script, hex.
    pub redeemer: String,
    /// Fuel budget of the policy script.
    pub fuel: u64,
}

/// Validity interval (block heights).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidityDto {
    /// First valid height (inclusive).
    pub invalid_before: Option<u64>,
    /// First invalid height (exclusive end).
    pub invalid_hereafter: Option<u64>,
}

/// Where a transaction is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TxLocationDto {
    /// Including block.
    pub block_hash: String,
    /// Its height.
    pub block_height: u64,
    /// Position in the block.
    pub index: u32,
}

impl From<&TxLocation> for TxLocationDto {
    fn from(l: &TxLocation) -> Self {
        TxLocationDto {
            block_hash: l.block_hash.to_string(),
            block_height: l.height,
            index: l.index,
        }
    }
}

/// Inclusion state of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum TxInclusion {
    /// In the mempool.
    Pending,
    /// In a committed block.
    Included,
}

/// A transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionDto {
    /// Transaction id.
    pub id: String,
    /// `pending` or `included`.
    pub status: TxInclusion,
    /// Where it is included (absent while pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<TxLocationDto>,
    /// The canonical encoding, hex (what `aether_sendTransaction` takes).
    pub raw: String,
    /// Encoded size in bytes.
    pub size: u64,
    /// Chain id.
    pub chain_id: u32,
    /// Fee, base units, decimal string.
    pub fee: String,
    /// Inputs consumed.
    pub inputs: Vec<OutPointDto>,
    /// Inputs read.
    pub reference_inputs: Vec<OutPointDto>,
    /// Collateral inputs.
    pub collateral: Vec<OutPointDto>,
    /// Collateral return output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collateral_return: Option<OutputDto>,
    /// Outputs created.
    pub outputs: Vec<OutputDto>,
    /// Validity interval.
    pub validity: ValidityDto,
    /// Minting per policy.
    pub mint: Vec<MintDto>,
    /// Redeemers of script-locked inputs.
    pub spend_redeemers: Vec<SpendRedeemerDto>,
    /// Required signer key hashes.
    pub required_signers: Vec<String>,
    /// Public keys of the vkey witnesses.
    pub signers: Vec<String>,
    /// Hashes of the witness scripts.
    pub scripts: Vec<String>,
}

impl TransactionDto {
    /// Builds the transaction result; `location` is `None` while pending.
    pub fn new(tx: &Transaction, location: Option<&TxLocation>) -> Self {
        let raw = tx.encode();
        let b = &tx.body;
        TransactionDto {
            id: tx.id().to_string(),
            status: if location.is_some() {
                TxInclusion::Included
            } else {
                TxInclusion::Pending
            },
            location: location.map(TxLocationDto::from),
            size: raw.len() as u64,
            raw: hex::encode(&raw),
            chain_id: b.chain_id.0,
            fee: b.fee.to_string(),
            inputs: b.inputs.iter().map(OutPointDto::from).collect(),
            reference_inputs: b.reference_inputs.iter().map(OutPointDto::from).collect(),
            collateral: b.collateral.iter().map(OutPointDto::from).collect(),
            collateral_return: b.collateral_return.as_ref().map(OutputDto::from),
            outputs: b.outputs.iter().map(OutputDto::from).collect(),
            validity: ValidityDto {
                invalid_before: b.validity.invalid_before,
                invalid_hereafter: b.validity.invalid_hereafter,
            },
            mint: b
                .mint
                .iter()
                .map(|(policy, m)| MintDto {
                    policy_id: policy.to_string(),
                    amounts: m
                        .amounts
                        .iter()
                        .map(|(name, q)| AssetDto {
                            policy_id: policy.to_string(),
                            name: hex::encode(name.as_slice()),
                            quantity: q.to_string(),
                        })
                        .collect(),
                    redeemer: hex::encode(m.redeemer.data.as_slice()),
                    fuel: m.redeemer.fuel,
                })
                .collect(),
            spend_redeemers: b
                .spend_redeemers
                .iter()
                .map(|(op, r)| SpendRedeemerDto {
                    out_point: OutPointDto::from(op),
                    data: hex::encode(r.data.as_slice()),
                    fuel: r.fuel,
                })
                .collect(),
            required_signers: b.required_signers.iter().map(|k| k.to_string()).collect(),
            signers: tx
                .witnesses
                .vkeys
                .iter()
                .map(|w| hex::encode(w.public_key.0))
                .collect(),
            scripts: tx
                .witnesses
                .scripts
                .iter()
                .map(|s| Script::hash(s).to_string())
                .collect(),
        }
    }
}

/// Why a script run happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PurposeDto {
    /// Spending a script-locked output.
    #[serde(rename_all = "camelCase")]
    Spend {
        /// The spent output.
        out_point: OutPointDto,
    },
    /// Minting under a policy.
    #[serde(rename_all = "camelCase")]
    Mint {
        /// The policy.
        policy_id: String,
    },
}

impl From<&ScriptPurpose> for PurposeDto {
    fn from(p: &ScriptPurpose) -> Self {
        match p {
            ScriptPurpose::Spend(op) => PurposeDto::Spend {
                out_point: OutPointDto::from(op),
            },
            ScriptPurpose::Mint(policy) => PurposeDto::Mint {
                policy_id: policy.to_string(),
            },
        }
    }
}

/// How a script failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScriptFailureDto {
    /// `rejected`, `outOfFuel`, `trapped`, `invalidModule`, `floatsUsed`,
    /// `forbiddenImport`, `badExports` or `resourceLimit`.
    pub kind: String,
    /// The value returned, for `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
}

impl From<&ScriptFailure> for ScriptFailureDto {
    fn from(f: &ScriptFailure) -> Self {
        let (kind, code) = match f {
            ScriptFailure::Rejected { code } => ("rejected", Some(*code)),
            ScriptFailure::OutOfFuel => ("outOfFuel", None),
            ScriptFailure::Trapped => ("trapped", None),
            ScriptFailure::InvalidModule => ("invalidModule", None),
            ScriptFailure::FloatsUsed => ("floatsUsed", None),
            ScriptFailure::ForbiddenImport => ("forbiddenImport", None),
            ScriptFailure::BadExports => ("badExports", None),
            ScriptFailure::ResourceLimit => ("resourceLimit", None),
        };
        ScriptFailureDto {
            kind: kind.to_string(),
            code,
        }
    }
}

/// Outcome of an included transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ReceiptStatusDto {
    /// All scripts accepted.
    Success,
    /// A script failed: only the collateral was taken.
    ScriptFailed,
}

/// A receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReceiptDto {
    /// The transaction.
    pub tx_id: String,
    /// Where it is included.
    pub location: TxLocationDto,
    /// `success` or `scriptFailed`.
    pub status: ReceiptStatusDto,
    /// The failing script run, for `scriptFailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_purpose: Option<PurposeDto>,
    /// How it failed, for `scriptFailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ScriptFailureDto>,
    /// Fee collected, base units, decimal string.
    pub fee_charged: String,
    /// Script fuel consumed.
    pub fuel_used: u64,
}

impl ReceiptDto {
    /// Builds the receipt result.
    pub fn new(r: &Receipt, location: &TxLocation) -> Self {
        let (status, failed_purpose, failure) = match &r.status {
            TxStatus::Success => (ReceiptStatusDto::Success, None, None),
            TxStatus::ScriptFailed { purpose, failure } => (
                ReceiptStatusDto::ScriptFailed,
                Some(PurposeDto::from(purpose)),
                Some(ScriptFailureDto::from(failure)),
            ),
        };
        ReceiptDto {
            tx_id: r.tx_id.to_string(),
            location: TxLocationDto::from(location),
            status,
            failed_purpose,
            failure,
            fee_charged: r.fee_charged.to_string(),
            fuel_used: r.fuel_used,
        }
    }
}

/// Unspent outputs of an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UtxosDto {
    /// The address asked about.
    pub address: String,
    /// Height the set was read at.
    pub height: u64,
    /// Outputs in ascending out-point order.
    pub utxos: Vec<UtxoDto>,
    /// Whether more outputs exist beyond the limit.
    pub truncated: bool,
}

impl UtxosDto {
    /// Builds the result.
    pub fn new(address: String, u: &AddressUtxos) -> Self {
        UtxosDto {
            address,
            height: u.height,
            utxos: u
                .utxos
                .iter()
                .map(|(op, o)| UtxoDto {
                    out_point: OutPointDto::from(op),
                    output: OutputDto::from(o),
                })
                .collect(),
            truncated: u.truncated,
        }
    }
}

/// The balance of an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BalanceDto {
    /// The address asked about.
    pub address: String,
    /// Height the balance was read at.
    pub height: u64,
    /// AIC in base units, decimal string.
    pub coin: String,
    /// Other assets.
    pub assets: Vec<AssetDto>,
    /// Number of unspent outputs.
    pub utxo_count: u64,
}

impl BalanceDto {
    /// Builds the result.
    pub fn new(address: String, b: &AddressBalance) -> Self {
        BalanceDto {
            address,
            height: b.height,
            coin: b.value.coin.to_string(),
            assets: assets(&b.value.assets),
            utxo_count: b.utxo_count,
        }
    }
}

/// A proof blob and its format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProofDto {
    /// Proof format name.
    pub scheme: String,
    /// The proof, hex.
    pub data: String,
}

/// An inclusion or exclusion proof for an out-point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StateProofDto {
    /// The out-point asked about.
    pub out_point: OutPointDto,
    /// Height of the proven state.
    pub height: u64,
    /// State root the proof verifies against.
    pub state_root: String,
    /// Whether the out-point is unspent.
    pub exists: bool,
    /// The unspent output (when `exists`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputDto>,
    /// The proof.
    pub proof: ProofDto,
}

impl From<&StateProof> for StateProofDto {
    fn from(p: &StateProof) -> Self {
        StateProofDto {
            out_point: OutPointDto::from(&p.out_point),
            height: p.height,
            state_root: p.state_root.to_string(),
            exists: p.output.is_some(),
            output: p.output.as_ref().map(OutputDto::from),
            proof: ProofDto {
                scheme: p.scheme.clone(),
                data: hex::encode(&p.proof),
            },
        }
    }
}

/// The fee formula's parameters, base units as decimal strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FeeScheduleDto {
    /// Fee of any transaction.
    pub base: String,
    /// Fee per byte of the encoded transaction.
    pub per_byte: String,
    /// Fee per unit of declared script fuel.
    pub per_fuel: String,
}

/// The chain parameters a client needs to build a valid transaction
/// (`aether_getParams`): `minFee = base + perByte × size + perFuel × fuel`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ParamsDto {
    /// Chain id (every transaction body carries it).
    pub chain_id: u32,
    /// The fee formula.
    pub fees: FeeScheduleDto,
    /// Smallest AIC amount of an output or collateral return, base units,
    /// decimal string.
    pub min_output_coin: String,
    /// Largest encoded transaction, in bytes.
    pub max_tx_size: u64,
    /// Largest total script fuel a transaction may declare.
    pub max_fuel_per_tx: u64,
}

impl From<&TxParams> for ParamsDto {
    fn from(p: &TxParams) -> Self {
        ParamsDto {
            chain_id: p.chain_id.0,
            fees: FeeScheduleDto {
                base: p.fees.base.to_string(),
                per_byte: p.fees.per_byte.to_string(),
                per_fuel: p.fees.per_fuel.to_string(),
            },
            min_output_coin: p.min_output_coin.to_string(),
            max_tx_size: p.max_tx_size,
            max_fuel_per_tx: p.max_fuel_per_tx,
        }
    }
}

impl ParamsDto {
    /// The typed parameters.
    pub fn parse(&self) -> Result<TxParams, ParamError> {
        Ok(TxParams {
            chain_id: ChainId(self.chain_id),
            fees: FeeSchedule {
                base: parse_amount("fees.base", &self.fees.base)?,
                per_byte: parse_amount("fees.perByte", &self.fees.per_byte)?,
                per_fuel: parse_amount("fees.perFuel", &self.fees.per_fuel)?,
            },
            min_output_coin: parse_amount("minOutputCoin", &self.min_output_coin)?,
            max_tx_size: self.max_tx_size,
            max_fuel_per_tx: self.max_fuel_per_tx,
        })
    }
}

// Decoding of result fields (what a client does with a result).

impl OutPointDto {
    /// The out-point.
    pub fn parse(&self) -> Result<OutPoint, ParamError> {
        Ok(OutPoint::new(
            TxId(parse_hash32("out-point", &self.tx_id)?),
            self.index,
        ))
    }
}

impl AssetDto {
    /// `(policy, name, quantity)` of an asset held (unsigned quantity).
    pub fn parse_held(&self) -> Result<(PolicyId, AssetName, u128), ParamError> {
        let policy = ScriptHash(parse_hash32("asset policy id", &self.policy_id)?);
        let name = parse_hex_bytes("asset name", &self.name, MAX_ASSET_NAME_LEN)?;
        let name =
            AssetName::new(name).map_err(|e| ParamError::new("asset name", e.to_string()))?;
        let quantity = parse_amount("asset quantity", &self.quantity)?;
        Ok((policy, name, quantity))
    }
}

impl OutputDto {
    /// The output's address.
    pub fn parse_address(&self) -> Result<Address, ParamError> {
        parse_address(&self.address)
    }

    /// The output's value: its coin and assets.
    pub fn parse_value(&self) -> Result<Value, ParamError> {
        let mut value = Value::from_coin(parse_amount("coin", &self.coin)?);
        for asset in &self.assets {
            let (policy, name, quantity) = asset.parse_held()?;
            value
                .assets
                .checked_add_asset(policy, name, quantity)
                .map_err(|e| ParamError::new("assets", e.to_string()))?;
        }
        Ok(value)
    }
}

impl TransactionDto {
    /// The transaction, decoded from `raw` (canonical encoding) and checked
    /// against `id`.
    pub fn parse_raw(&self) -> Result<Transaction, ParamError> {
        let bytes = parse_hex_bytes("raw transaction", &self.raw, aether_types::MAX_TX_LEN)?;
        let tx = Transaction::decode(&bytes)
            .map_err(|e| ParamError::new("raw transaction", e.to_string()))?;
        if tx.id().to_string() != self.id.to_ascii_lowercase() {
            return Err(ParamError::new(
                "raw transaction",
                "its id differs from the id of the result",
            ));
        }
        Ok(tx)
    }
}

impl ReceiptDto {
    /// The transaction id.
    pub fn parse_tx_id(&self) -> Result<TxId, ParamError> {
        parse_hash32("receipt transaction id", &self.tx_id).map(TxId)
    }

    /// Whether every script accepted (`status` is `success`).
    pub fn succeeded(&self) -> bool {
        self.status == ReceiptStatusDto::Success
    }
}

impl HeaderDto {
    /// The state root the header commits to.
    pub fn parse_state_root(&self) -> Result<Digest, ParamError> {
        parse_hash32("state root", &self.state_root).map(Digest)
    }

    /// The block hash.
    pub fn parse_hash(&self) -> Result<BlockHash, ParamError> {
        parse_hash32("block hash", &self.hash).map(BlockHash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{KeyHash, MultiAsset};

    fn output_with_assets() -> TxOutput {
        let mut assets = MultiAsset::new();
        assets
            .checked_add_asset(
                ScriptHash([4; 32]),
                AssetName::new(b"gold".to_vec()).unwrap(),
                u128::MAX,
            )
            .unwrap();
        assets
            .checked_add_asset(ScriptHash([5; 32]), AssetName::new(vec![]).unwrap(), 3)
            .unwrap();
        TxOutput {
            address: Address::Script(ScriptHash([9; 32])),
            value: Value {
                coin: 12_345,
                assets,
            },
            datum: None,
            reference_script: None,
        }
    }

    #[test]
    fn outputs_and_out_points_decode_to_what_they_were_built_from() {
        let o = output_with_assets();
        let dto = OutputDto::from(&o);
        assert_eq!(dto.parse_address().unwrap(), o.address);
        assert_eq!(dto.parse_value().unwrap(), o.value);
        let op = OutPoint::new(TxId([7; 32]), 3);
        assert_eq!(OutPointDto::from(&op).parse().unwrap(), op);
        let json = serde_json::to_value(&dto).unwrap();
        let back: OutputDto = serde_json::from_value(json).unwrap();
        assert_eq!(back, dto);
    }

    #[test]
    fn bad_result_fields_are_errors() {
        let mut dto = OutputDto::from(&TxOutput::coin(Address::Key(KeyHash([1; 32])), 5));
        dto.coin = "-5".into();
        assert!(dto.parse_value().is_err());
        dto.coin = "5".into();
        dto.assets.push(AssetDto {
            policy_id: "00".into(),
            name: String::new(),
            quantity: "1".into(),
        });
        assert!(dto.parse_value().is_err());
        dto.assets[0].policy_id = "11".repeat(32);
        dto.assets[0].name = "ab".repeat(33);
        assert!(dto.parse_value().is_err());
        dto.address = "nowhere".into();
        assert!(dto.parse_address().is_err());
        let op = OutPointDto {
            tx_id: "zz".into(),
            index: 0,
        };
        assert!(op.parse().is_err());
    }

    #[test]
    fn params_roundtrip_through_the_wire_form() {
        let p = TxParams {
            chain_id: ChainId(0xae7e),
            fees: FeeSchedule {
                base: 100_000,
                per_byte: 1_000,
                per_fuel: u128::MAX,
            },
            min_output_coin: 1_000,
            max_tx_size: 131_072,
            max_fuel_per_tx: 50_000_000,
        };
        let dto = ParamsDto::from(&p);
        let json = serde_json::to_value(&dto).unwrap();
        assert_eq!(json["fees"]["perFuel"], u128::MAX.to_string());
        assert_eq!(json["minOutputCoin"], "1000");
        assert_eq!(json["chainId"], 0xae7e);
        let back: ParamsDto = serde_json::from_value(json).unwrap();
        assert_eq!(back.parse().unwrap(), p);
        let mut bad = dto.clone();
        bad.fees.per_byte = "1e3".into();
        assert!(bad.parse().is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic_and_roundtrip(
            coin in ".{0,45}",
            policy in "[0-9a-fA-Fx]{0,70}",
            name in "[0-9a-f]{0,70}",
            quantity in "-?[0-9]{0,42}",
            address in ".{0,80}",
            raw in "[0-9a-f]{0,300}",
            amounts in proptest::collection::vec((proptest::prelude::any::<[u8; 32]>(), 1u128..), 0..4),
        ) {
            let dto = OutputDto {
                address,
                coin,
                assets: vec![AssetDto { policy_id: policy, name, quantity }],
                datum: None,
                reference_script_hash: None,
            };
            let _ = dto.parse_value();
            let _ = dto.parse_address();
            let mut tx = TransactionDto::new(&tx_with(output_with_assets()), None);
            tx.raw = raw;
            let _ = tx.parse_raw();
            // Any value decodes back from its wire form.
            let mut value = Value::from_coin(amounts.len() as u128);
            for (policy, q) in &amounts {
                value
                    .assets
                    .checked_add_asset(ScriptHash(*policy), AssetName::new(policy[..4].to_vec()).unwrap(), *q)
                    .unwrap();
            }
            let out = TxOutput { value: value.clone(), ..TxOutput::coin(Address::Key(KeyHash([1; 32])), 0) };
            proptest::prop_assert_eq!(OutputDto::from(&out).parse_value().unwrap(), value);
        }
    }

    fn tx_with(output: TxOutput) -> Transaction {
        let body = aether_types::TxBody {
            chain_id: ChainId(7),
            inputs: [OutPoint::new(TxId([1; 32]), 0)].into(),
            reference_inputs: Default::default(),
            collateral: Default::default(),
            collateral_return: None,
            outputs: vec![output],
            fee: 10,
            validity: Default::default(),
            mint: Default::default(),
            spend_redeemers: Default::default(),
            required_signers: Default::default(),
            actions: vec![],
        };
        Transaction {
            body,
            witnesses: Default::default(),
        }
    }

    #[test]
    fn transactions_decode_from_raw_and_match_their_id() {
        let tx = tx_with(output_with_assets());
        let dto = TransactionDto::new(&tx, None);
        assert_eq!(dto.parse_raw().unwrap(), tx);
        let mut wrong = dto.clone();
        wrong.id = "00".repeat(32);
        assert!(wrong.parse_raw().is_err());
        let mut truncated = dto;
        truncated.raw.truncate(truncated.raw.len() - 2);
        assert!(truncated.parse_raw().is_err());
    }
}
