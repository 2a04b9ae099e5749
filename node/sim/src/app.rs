//! A small deterministic application behind [`BlockLifecycle`]: a block's
//! payload is a few bytes, and "execution" hashes the parent's state root
//! with the payload.
//!
//! ```text
//! tx_root    = H("aether/sim-payload/v1", payload)
//! state_root = H("aether/sim-state/v1",  parent.state_root || payload)
//! ```
//! It keeps the same shape the ledger will have behind the same trait:
//! pending blocks (verified, not final) as entries over their parent's
//! state, several forks at once, commit in height order that drops forks,
//! and a committed part that survives a crash ([`SimApp::crash`] drops
//! only what was pending).

use aether_chain_api::{
    BlockLifecycle, BuildRequest, BuiltBlock, CommittedHead, LifecycleError, RejectReason,
};
use aether_types::{
    BlockHash, BlockHeader, ChainId, ConsensusFields, Digest, HEADER_VERSION, Proposal, PublicKey,
    QuorumCert, tagged_hash,
};
use std::collections::BTreeMap;

/// Hash tag of the payload commitment.
pub const PAYLOAD_TAG: &str = "aether/sim-payload/v1";
/// Hash tag of the simulated state transition.
pub const STATE_TAG: &str = "aether/sim-state/v1";

/// The chain id of simulated chains.
pub const SIM_CHAIN: ChainId = ChainId(0x5157);

#[derive(Clone, Debug)]
struct Pending {
    header: BlockHeader,
    state_root: Digest,
}

/// The simulated application of one node.
#[derive(Clone, Debug)]
pub struct SimApp {
    genesis: BlockHeader,
    genesis_id: BlockHash,
    /// Committed blocks after genesis, by height - 1.
    committed: Vec<(Proposal, QuorumCert, Digest)>,
    committed_ids: BTreeMap<BlockHash, u64>,
    pending: BTreeMap<BlockHash, Pending>,
    /// Bytes mixed into every payload this node builds (so two builders
    /// never produce the same block by accident).
    salt: u64,
}

/// The genesis header of simulated chains.
pub fn genesis_header() -> BlockHeader {
    BlockHeader {
        version: HEADER_VERSION,
        chain_id: SIM_CHAIN,
        height: 0,
        timestamp_ms: 1_700_000_000_000,
        parent_hash: BlockHash::default(),
        tx_root: Digest::default(),
        receipts_root: Digest::default(),
        state_root: tagged_hash(STATE_TAG, &[b"genesis"]),
        data_root: Digest::default(),
        consensus: ConsensusFields::SingleValidator {
            proposer: PublicKey([0; 32]),
        },
    }
}

impl SimApp {
    /// A fresh app at genesis; `salt` makes this node's payloads its own.
    pub fn new(salt: u64) -> Self {
        let genesis = genesis_header();
        SimApp {
            genesis_id: genesis.hash(),
            genesis,
            committed: Vec::new(),
            committed_ids: BTreeMap::new(),
            pending: BTreeMap::new(),
            salt,
        }
    }

    /// Id of the genesis block.
    pub fn genesis_id(&self) -> BlockHash {
        self.genesis_id
    }

    /// A crash: pending blocks are lost, committed ones stay.
    pub fn crash(&mut self) {
        self.pending.clear();
    }

    /// Committed blocks after genesis, in height order.
    pub fn committed_chain(&self) -> Vec<Proposal> {
        self.committed.iter().map(|(p, _, _)| p.clone()).collect()
    }

    /// Height of the committed head.
    pub fn committed_len(&self) -> u64 {
        self.committed.len() as u64
    }

    /// A committed block by id.
    pub fn committed_by_id(&self, id: &BlockHash) -> Option<&Proposal> {
        let height = *self.committed_ids.get(id)?;
        self.committed.get((height - 1) as usize).map(|(p, _, _)| p)
    }

    /// Builds an alternative block for the same request with another salt
    /// (used by the equivocating leader).
    pub fn build_salted(
        &mut self,
        request: &BuildRequest,
        salt: u64,
    ) -> Result<BuiltBlock, LifecycleError> {
        let saved = self.salt;
        self.salt = salt;
        let built = self.build(request);
        self.salt = saved;
        built
    }

    fn head(&self) -> (BlockHash, &BlockHeader, Digest) {
        match self.committed.last() {
            Some((p, _, root)) => (p.header.hash(), &p.header, *root),
            None => (self.genesis_id, &self.genesis, self.genesis.state_root),
        }
    }

    /// Header and state root of a pending block or the committed head.
    fn parent(&self, id: &BlockHash) -> Option<(BlockHeader, Digest)> {
        if let Some(p) = self.pending.get(id) {
            return Some((p.header.clone(), p.state_root));
        }
        let (head_id, header, root) = self.head();
        (head_id == *id).then(|| (header.clone(), root))
    }

    fn execute(parent_root: &Digest, payload: &[u8]) -> (Digest, Digest) {
        (
            tagged_hash(PAYLOAD_TAG, &[payload]),
            tagged_hash(STATE_TAG, &[&parent_root.0, payload]),
        )
    }
}

impl BlockLifecycle for SimApp {
    fn build(&mut self, request: &BuildRequest) -> Result<BuiltBlock, LifecycleError> {
        let (parent, parent_root) = self
            .parent(&request.parent)
            .ok_or(LifecycleError::UnknownParent(request.parent))?;
        let mut payload = Vec::with_capacity(48);
        payload.extend_from_slice(b"sim-block");
        payload.extend_from_slice(&request.height.to_le_bytes());
        payload.extend_from_slice(&self.salt.to_le_bytes());
        payload.extend_from_slice(&request.parent.0[..8]);
        let (tx_root, state_root) = Self::execute(&parent_root, &payload);
        let header = BlockHeader {
            version: HEADER_VERSION,
            chain_id: SIM_CHAIN,
            height: request.height,
            timestamp_ms: request.timestamp_ms.max(parent.timestamp_ms),
            parent_hash: request.parent,
            tx_root,
            receipts_root: Digest::default(),
            state_root,
            data_root: Digest::default(),
            consensus: request.consensus.clone(),
        };
        self.pending.insert(
            header.hash(),
            Pending {
                header: header.clone(),
                state_root,
            },
        );
        Ok(BuiltBlock { header, payload })
    }

    fn verify(&mut self, header: &BlockHeader, payload: &[u8]) -> Result<(), LifecycleError> {
        let id = header.hash();
        let reject = |reason| LifecycleError::Rejected { block: id, reason };
        let (parent, parent_root) = self
            .parent(&header.parent_hash)
            .ok_or(LifecycleError::UnknownParent(header.parent_hash))?;
        if header.version != HEADER_VERSION || header.chain_id != SIM_CHAIN {
            return Err(reject(RejectReason::Header));
        }
        if header.height != parent.height + 1 {
            return Err(reject(RejectReason::Height));
        }
        if header.timestamp_ms < parent.timestamp_ms {
            return Err(reject(RejectReason::Timestamp));
        }
        let (tx_root, state_root) = Self::execute(&parent_root, payload);
        if header.tx_root != tx_root {
            return Err(reject(RejectReason::Payload));
        }
        if header.state_root != state_root {
            return Err(reject(RejectReason::StateRoot));
        }
        self.pending.insert(
            id,
            Pending {
                header: header.clone(),
                state_root,
            },
        );
        Ok(())
    }

    fn commit(&mut self, proposal: &Proposal, finality: &QuorumCert) -> Result<(), LifecycleError> {
        let id = proposal.header.hash();
        let (head_id, head, _) = self.head();
        if proposal.header.parent_hash != head_id || proposal.header.height != head.height + 1 {
            return Err(LifecycleError::NotCommittable(id));
        }
        let pending = self
            .pending
            .remove(&id)
            .ok_or(LifecycleError::NotCommittable(id))?;
        let height = proposal.header.height;
        self.committed
            .push((proposal.clone(), finality.clone(), pending.state_root));
        self.committed_ids.insert(id, height);
        self.pending.retain(|_, p| p.header.height > height);
        Ok(())
    }

    fn state_root(&self, block: &BlockHash) -> Option<Digest> {
        if let Some(p) = self.pending.get(block) {
            return Some(p.state_root);
        }
        if *block == self.genesis_id {
            return Some(self.genesis.state_root);
        }
        let height = *self.committed_ids.get(block)?;
        self.committed
            .get((height - 1) as usize)
            .map(|(_, _, r)| *r)
    }

    fn committed_head(&self) -> Option<CommittedHead> {
        self.committed.last().map(|(p, qc, _)| CommittedHead {
            proposal: p.clone(),
            finality: qc.clone(),
        })
    }

    fn committed_at(&self, height: u64) -> Option<Proposal> {
        let index = usize::try_from(height.checked_sub(1)?).ok()?;
        self.committed.get(index).map(|(p, _, _)| p.clone())
    }

    fn committed_height(&self, block: &BlockHash) -> Option<u64> {
        if *block == self.genesis_id {
            return Some(0);
        }
        self.committed_ids.get(block).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{BlsSignatureBytes, BoundedBytes, Epoch};

    fn request(app: &SimApp, parent: BlockHash, height: u64) -> BuildRequest {
        let _ = app;
        BuildRequest {
            parent,
            height,
            timestamp_ms: 1_700_000_000_100,
            consensus: genesis_header().consensus,
        }
    }

    fn proposal(b: &BuiltBlock) -> Proposal {
        Proposal {
            header: b.header.clone(),
            payload: BoundedBytes::new(b.payload.clone()).unwrap(),
            signature: BlsSignatureBytes([0; 96]),
        }
    }

    #[test]
    fn build_verify_commit_and_forks() {
        let mut a = SimApp::new(1);
        let mut b = SimApp::new(2);
        let g = a.genesis_id();
        let built = a.build(&request(&a, g, 1)).unwrap();
        // Another node re-executes it to the same state root.
        b.verify(&built.header, &built.payload).unwrap();
        assert_eq!(
            b.state_root(&built.header.hash()),
            a.state_root(&built.header.hash())
        );
        // Each check alone fails.
        let mut bad = built.header.clone();
        bad.state_root = Digest([1; 32]);
        assert!(matches!(
            b.verify(&bad, &built.payload),
            Err(LifecycleError::Rejected {
                reason: RejectReason::StateRoot,
                ..
            })
        ));
        assert!(matches!(
            b.verify(&built.header, b"other"),
            Err(LifecycleError::Rejected {
                reason: RejectReason::Payload,
                ..
            })
        ));
        let mut bad = built.header.clone();
        bad.height = 2;
        assert!(matches!(
            b.verify(&bad, &built.payload),
            Err(LifecycleError::Rejected {
                reason: RejectReason::Height,
                ..
            })
        ));
        let mut bad = built.header.clone();
        bad.timestamp_ms = 1;
        assert!(matches!(
            b.verify(&bad, &built.payload),
            Err(LifecycleError::Rejected {
                reason: RejectReason::Timestamp,
                ..
            })
        ));
        let mut orphan = built.header.clone();
        orphan.parent_hash = BlockHash([9; 32]);
        assert!(matches!(
            b.verify(&orphan, &built.payload),
            Err(LifecycleError::UnknownParent(_))
        ));
        // A fork at height 1 from b, then commit a's block: the fork is dropped.
        let fork = b.build(&request(&b, g, 1)).unwrap();
        assert_ne!(fork.header.hash(), built.header.hash());
        let qc = QuorumCert::genesis(Epoch(0), g);
        b.commit(&proposal(&built), &qc).unwrap();
        assert!(b.state_root(&fork.header.hash()).is_none());
        assert_eq!(b.committed_height(&built.header.hash()), Some(1));
        assert_eq!(b.committed_at(1).unwrap().header, built.header);
        // Committing a non-child is refused.
        assert!(matches!(
            b.commit(&proposal(&fork), &qc),
            Err(LifecycleError::NotCommittable(_))
        ));
        // Crash keeps the committed part.
        b.crash();
        assert_eq!(b.committed_len(), 1);
        assert!(b.committed_head().is_some());
    }
}
