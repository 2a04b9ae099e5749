//! What the ledger reads from a block header's consensus fields: who
//! proposed the block, who signed the QC it carries (its `justify`, the
//! certificate of its parent), and the proposer's VRF output.
//!
//! # Where the data comes from
//! A HotStuff header ([`ConsensusFields::HotStuff`]) carries `epoch`,
//! `proposer` (an index into that epoch's set), `justify` (a QC with its
//! signer bitmap over the same set) and `vrf_proof` (the proposer's BLS
//! signature over `(epoch, round)` under the VRF domain). The VRF output is
//! `H("aether/vrf-output/v1", proof)`, exactly as the consensus core
//! computes it ([`aether_crypto::bls::VrfProof::output`]). The ledger does
//! not verify these fields again: consensus verified the proposer, the
//! QC's aggregate signature and the VRF proof before the block was voted
//! for, and only final blocks reach the committed state. A dev header
//! ([`ConsensusFields::SingleValidator`]) names its proposer by its ed25519
//! key, which the ledger matches against the members' network keys; it has
//! neither a QC nor a VRF output.

use aether_types::{
    BlockHeader, ConsensusFields, Epoch, PublicKey, QuorumCert, SignerBitmap, ValidatorIndex,
};

/// The block's proposer, as its header names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Proposer {
    /// Not known (blocks executed without their header's fields).
    #[default]
    Unknown,
    /// An index into the set of the header's epoch.
    Index(ValidatorIndex),
    /// A dev header's proposer key (matched against network keys).
    NetworkKey(PublicKey),
}

/// The consensus facts of one block (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockConsensus {
    /// The header's epoch (`None` for dev headers).
    pub epoch: Option<Epoch>,
    /// The proposer.
    pub proposer: Proposer,
    /// The epoch and signers of the QC the header carries.
    pub justify: Option<(Epoch, SignerBitmap)>,
    /// The proposer's VRF output.
    pub vrf_output: Option<[u8; 32]>,
}

impl BlockConsensus {
    /// The facts of a header's consensus fields.
    pub fn from_fields(fields: &ConsensusFields) -> Self {
        match fields {
            ConsensusFields::SingleValidator { proposer } => BlockConsensus {
                epoch: None,
                proposer: Proposer::NetworkKey(*proposer),
                justify: None,
                vrf_output: None,
            },
            ConsensusFields::HotStuff(f) => BlockConsensus {
                epoch: Some(f.epoch),
                proposer: Proposer::Index(f.proposer),
                justify: Some(justify(&f.justify)),
                vrf_output: aether_crypto::bls::Signature::from_bytes(&f.vrf_proof.0)
                    .ok()
                    .map(|sig| aether_crypto::bls::VrfProof(sig).output().0),
            },
        }
    }

    /// The facts of a header.
    pub fn from_header(header: &BlockHeader) -> Self {
        Self::from_fields(&header.consensus)
    }
}

fn justify(qc: &QuorumCert) -> (Epoch, SignerBitmap) {
    (qc.epoch, qc.signers.clone())
}
