//! The consensus state machine: [`Core::handle`] takes one [`Event`] and
//! returns the [`Action`]s the driver must execute, in order.
//!
//! See the crate docs for the protocol; this module is its direct
//! transcription. Nothing here does I/O, reads a clock or draws randomness:
//! the same events give the same actions on every machine.

use crate::leader::LeaderFailures;
use crate::safety::SafetyState;
use crate::signing::{VerifyMemo, block_message, timeout_message};
use crate::tree::{BlockTree, Entry, Root};
use crate::votes::{VoteCollector, VoteOutcome};
use crate::{ConsensusError, ValidatorSet};
use aether_crypto::bls::{self, Domain, SecretKey, Signature, aggregate_signatures, vrf_input};
use aether_types::{
    BlockHash, BlockHeader, BlockRef, BlsSignatureBytes, BoundedBytes, ConsensusFields,
    ConsensusMsg, Digest, Epoch, EquivocationEvidence, EquivocationKind, Proposal, ProposalFields,
    QuorumCert, Round, SignerBitmap, TimeoutCert, TimeoutData, TimeoutGroup, TimeoutMsg,
    ValidatorIndex, Vote, tagged_hash,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Rounds behind and ahead of the current one for which votes and
/// timeouts are collected (older ones are dropped, newer ones ignored
/// until a certificate brings the node there).
pub const ROUND_WINDOW: u64 = 64;

/// Most proposals kept while they wait for their parent.
const MAX_WAITING: usize = 256;

/// The committed block an epoch builds on: the genesis for epoch 0, the
/// last block of the previous epoch afterwards. It plays the genesis
/// block's part within the epoch (the root of the block tree, certified by
/// a signature-less QC of round 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochStart {
    /// Its id.
    pub block: BlockHash,
    /// Its height.
    pub height: u64,
}

/// Static parameters of a node's consensus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Id of the genesis block. Every signature is made over it (see
    /// [`crate::signing`]), in every epoch.
    pub genesis: BlockHash,
    /// The epoch.
    pub epoch: Epoch,
    /// The block the epoch starts from (the genesis at height 0 unless
    /// set with [`Config::starting_at`]).
    pub start: EpochStart,
    /// The epoch's leader seed.
    pub epoch_seed: Digest,
    /// First round timeout, in milliseconds (from measured latency: a few
    /// round trips plus execution).
    pub base_timeout_ms: u64,
    /// Cap of the backed-off timeout, in milliseconds.
    pub max_timeout_ms: u64,
    /// Failed rounds after which a leader is skipped for the rest of the epoch.
    pub leader_failure_limit: u32,
}

impl Config {
    /// Defaults: 1 s first timeout, 30 s cap, skip after 3 failed rounds;
    /// the epoch starts from the genesis block.
    pub fn new(genesis: BlockHash, epoch: Epoch, epoch_seed: Digest) -> Self {
        Config {
            genesis,
            epoch,
            start: EpochStart {
                block: genesis,
                height: 0,
            },
            epoch_seed,
            base_timeout_ms: 1_000,
            max_timeout_ms: 30_000,
            leader_failure_limit: 3,
        }
    }

    /// The same configuration for an epoch that starts from the committed
    /// block `block` at `height` (the last block of the previous epoch):
    /// rounds start again at 1 above it, with a fresh safety state.
    pub fn starting_at(mut self, block: BlockHash, height: u64) -> Self {
        self.start = EpochStart { block, height };
        self
    }

    /// The signature-less QC of round 0 that certifies the epoch's start
    /// block (the genesis QC in epoch 0).
    pub fn start_qc(&self) -> QuorumCert {
        QuorumCert {
            height: self.start.height,
            ..QuorumCert::genesis(self.epoch, self.start.block)
        }
    }

    /// The timeout after `k` consecutive rounds that ended without a QC:
    /// `base * 1.2^k`, capped.
    pub fn timeout_ms(&self, k: u32) -> u64 {
        let mut t = self.base_timeout_ms;
        for _ in 0..k {
            t = t.saturating_mul(6) / 5;
            if t >= self.max_timeout_ms {
                break;
            }
        }
        t.min(self.max_timeout_ms)
    }
}

/// What the driver feeds the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Enter the current round (once, after construction or a restart).
    Start,
    /// A message from a peer (already decoded by the transport).
    Message {
        /// The peer it came from.
        from: ValidatorIndex,
        /// The message.
        message: ConsensusMsg,
    },
    /// The timer of `ScheduleTimeout { round }` fired.
    RoundTimeout {
        /// The round the timer was set for.
        round: Round,
    },
    /// The application built the block asked for by `BuildBlock`.
    BlockBuilt {
        /// The round of the request.
        round: Round,
        /// The header (consensus fields and parent as requested).
        header: BlockHeader,
        /// The body.
        payload: Vec<u8>,
    },
    /// The application re-executed a block asked for by `VerifyBlock`.
    BlockVerified {
        /// The block.
        block: BlockHash,
        /// Whether it is valid (the app keeps valid blocks pending).
        valid: bool,
    },
}

/// What the core asks the driver to do. Actions are executed **in order**;
/// `Persist` is a barrier: it must be written and synced before any later
/// action of the same batch (a proposal, vote or timeout leaves only after
/// the state that allows it is durable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write and sync the safety state.
    Persist(SafetyState),
    /// Send to every other validator.
    Broadcast(ConsensusMsg),
    /// Fire `Event::RoundTimeout { round }` after `after_ms` milliseconds
    /// (a later schedule for the same round replaces an earlier one).
    ScheduleTimeout {
        /// The round.
        round: Round,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// Ask the application to build a block; answer with `Event::BlockBuilt`.
    BuildBlock {
        /// The round.
        round: Round,
        /// The parent block.
        parent: BlockHash,
        /// Height of the new block.
        height: u64,
        /// The header's consensus fields.
        consensus: ConsensusFields,
    },
    /// Ask the application to re-execute a block against its parent (already
    /// verified or committed); answer with `Event::BlockVerified`.
    VerifyBlock {
        /// The header.
        header: BlockHeader,
        /// The body.
        payload: Vec<u8>,
    },
    /// The block is final: commit it (emitted in height order).
    Commit {
        /// The block as proposed.
        proposal: Proposal,
        /// The QC of its certified child of the next round.
        finality: QuorumCert,
        /// The proposer's VRF output (mixed into the next epoch's seed).
        vrf_output: [u8; 32],
    },
    /// A validator signed two different blocks in one round.
    Evidence(EquivocationEvidence),
    /// Fetch a block this node is missing (send `BlockRequest { block,
    /// ancestors }` to some of `from`, feed the `BlockResponse` back as a
    /// message).
    Fetch {
        /// The block.
        block: BlockHash,
        /// How many of its ancestors this node is also missing (at most
        /// `MAX_SYNC_ANCESTORS`).
        ancestors: u16,
        /// Validators that should have it.
        from: Vec<ValidatorIndex>,
    },
}

/// Why an incoming message was dropped (counted in [`Core::rejections`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rejection {
    /// For another epoch.
    WrongEpoch,
    /// From or naming a validator outside the set.
    UnknownValidator,
    /// A header without HotStuff fields, or fields that do not match it.
    Malformed,
    /// A signature (or aggregate) that does not verify.
    BadSignature,
    /// A QC that does not verify or lacks quorum stake.
    BadQuorumCert,
    /// A TC that does not verify or lacks quorum stake.
    BadTimeoutCert,
    /// A proposal from a validator that is not the round's leader.
    NotLeader,
    /// A VRF proof that does not verify.
    BadVrf,
    /// A block the application found invalid.
    InvalidBlock,
    /// A round outside the collection window.
    OutOfWindow,
    /// A block response nobody asked for.
    Unsolicited,
}

#[derive(Clone, Debug)]
struct Want {
    height: u64,
    round: Round,
    certified: bool,
    /// The round of this node when it last asked.
    asked: Round,
}

/// Restart data: what the node had persisted.
#[derive(Clone, Debug, Default)]
pub struct Restore {
    /// The last synced safety state (`None` for a fresh node).
    pub safety: Option<SafetyState>,
    /// The epoch's committed blocks after its start block, in height order
    /// (the leader-failure counts are recomputed from them).
    pub committed: Vec<Proposal>,
}

/// The consensus state machine of one validator.
pub struct Core {
    config: Config,
    me: ValidatorIndex,
    key: SecretKey,
    set: ValidatorSet,
    memo: VerifyMemo,
    safety: SafetyState,
    round: Round,
    consecutive_timeouts: u32,
    timeout_sent: Option<TimeoutMsg>,
    timeout_retries: u32,
    tree: BlockTree,
    waiting: HashMap<BlockHash, Vec<(BlockHash, Proposal, bool)>>,
    waiting_count: usize,
    wanted: HashMap<BlockHash, Want>,
    certified: HashMap<BlockHash, QuorumCert>,
    verified_qcs: HashMap<Digest, Round>,
    verified_tcs: HashMap<Digest, Round>,
    votes: VoteCollector,
    timeouts: BTreeMap<Round, BTreeMap<ValidatorIndex, TimeoutMsg>>,
    tc_formed: BTreeSet<Round>,
    proposals_seen: BTreeMap<Round, BTreeMap<ValidatorIndex, (BlockRef, BlsSignatureBytes)>>,
    evidence_sent: HashSet<(EquivocationKind, ValidatorIndex, Round)>,
    bad_signers: BTreeSet<ValidatorIndex>,
    building: Option<(Round, BlockHash, ProposalFields)>,
    rejections: BTreeMap<Rejection, u64>,
    out: Vec<Action>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("me", &self.me)
            .field("round", &self.round)
            .field("committed_height", &self.tree.root.height)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Builds the state machine of validator `me` (whose secret key is
    /// `key`) from what it persisted. Send `Event::Start` next.
    pub fn new(
        config: Config,
        me: ValidatorIndex,
        key: SecretKey,
        set: ValidatorSet,
        memo: VerifyMemo,
        restore: Restore,
    ) -> Result<Self, ConsensusError> {
        if set.epoch() != config.epoch {
            return Err(ConsensusError::EpochMismatch);
        }
        if set.key(me) != Some(&key.public_key()) {
            return Err(ConsensusError::NotInSet(me));
        }
        let safety = match restore.safety {
            Some(s) if s.epoch != config.epoch => return Err(ConsensusError::EpochMismatch),
            Some(s) => s,
            None => SafetyState::new(config.start_qc()),
        };
        // Replay the epoch's committed chain for the leader-failure counts.
        let mut root = Root {
            id: config.start.block,
            height: config.start.height,
            round: Round(0),
            failures: LeaderFailures::default(),
        };
        for proposal in &restore.committed {
            let fields = proposal.fields().ok_or(ConsensusError::BadRestore)?;
            if proposal.header.parent_hash != root.id || proposal.header.height != root.height + 1 {
                return Err(ConsensusError::BadRestore);
            }
            root = Root {
                id: proposal.block_id(),
                height: proposal.header.height,
                round: fields.round,
                failures: root.failures.after_gap(
                    &set,
                    &config.epoch_seed,
                    config.leader_failure_limit,
                    root.round,
                    fields.round,
                ),
            };
        }
        Ok(Core {
            round: Round(0),
            me,
            key,
            set,
            memo,
            safety,
            consecutive_timeouts: 0,
            timeout_sent: None,
            timeout_retries: 0,
            tree: BlockTree::new(root),
            waiting: HashMap::new(),
            waiting_count: 0,
            wanted: HashMap::new(),
            certified: HashMap::new(),
            verified_qcs: HashMap::new(),
            verified_tcs: HashMap::new(),
            votes: VoteCollector::default(),
            timeouts: BTreeMap::new(),
            tc_formed: BTreeSet::new(),
            proposals_seen: BTreeMap::new(),
            evidence_sent: HashSet::new(),
            bad_signers: BTreeSet::new(),
            building: None,
            rejections: BTreeMap::new(),
            out: Vec::new(),
            config,
        })
    }

    /// Handles one event; returns the actions to execute in order.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Start => self.on_start(),
            Event::Message { from, message } => self.on_message(from, message),
            Event::RoundTimeout { round } => self.on_round_timeout(round),
            Event::BlockBuilt {
                round,
                header,
                payload,
            } => self.on_built(round, header, payload),
            Event::BlockVerified { block, valid } => self.on_verified(block, valid),
        }
        std::mem::take(&mut self.out)
    }

    /// The current round.
    pub fn round(&self) -> Round {
        self.round
    }

    /// This validator's index.
    pub fn me(&self) -> ValidatorIndex {
        self.me
    }

    /// The safety state (as last changed; the driver persists it on `Persist`).
    pub fn safety(&self) -> &SafetyState {
        &self.safety
    }

    /// Whether `qc` is a valid quorum certificate of this epoch's set
    /// (signatures aggregated over more than 2/3 of the stake; memoised).
    /// Block sync uses it to check the finality certificates peers serve.
    pub fn verify_quorum_cert(&mut self, qc: &QuorumCert) -> bool {
        self.verify_qc(qc)
    }

    /// Id and height of the last committed block.
    pub fn committed(&self) -> (BlockHash, u64) {
        (self.tree.root.id, self.tree.root.height)
    }

    /// A block above the committed one that this node holds (to answer a
    /// peer's `BlockRequest`; committed blocks come from the store).
    pub fn pending_block(&self, id: &BlockHash) -> Option<&Proposal> {
        self.tree.get(id).map(|e| &e.proposal)
    }

    /// Number of blocks above the committed one.
    pub fn pending_len(&self) -> usize {
        self.tree.len()
    }

    /// Counts of dropped messages by reason.
    pub fn rejections(&self) -> &BTreeMap<Rejection, u64> {
        &self.rejections
    }

    /// Validators caught sending bad signatures (their votes are verified
    /// one by one from then on).
    pub fn bad_signers(&self) -> &BTreeSet<ValidatorIndex> {
        &self.bad_signers
    }

    /// The validator set.
    pub fn validators(&self) -> &ValidatorSet {
        &self.set
    }

    /// The leader of `round` on the chain ending at `parent` (the root or a
    /// verified block), if this node knows that block.
    pub fn leader(&self, parent: &BlockHash, round: Round) -> Option<ValidatorIndex> {
        let (parent_round, failures) = self.tree.parent_info(parent)?;
        Some(failures.leader(
            &self.set,
            &self.config.epoch_seed,
            self.config.leader_failure_limit,
            parent_round,
            round,
        ))
    }

    fn reject(&mut self, why: Rejection) {
        *self.rejections.entry(why).or_insert(0) += 1;
    }

    // ----- entering rounds --------------------------------------------

    fn on_start(&mut self) {
        self.round = self.safety.current_round();
        self.schedule_timeout();
        if let Some(vote) = self.safety.last_vote.clone()
            && vote.round == self.round
        {
            // Re-send the vote made before the restart; never re-sign.
            self.out
                .push(Action::Broadcast(ConsensusMsg::Vote(vote.clone())));
            self.collect_vote(&vote, true);
        }
        let hqc = self.safety.highest_qc.clone();
        self.want(
            hqc.block,
            hqc.height,
            hqc.round,
            true,
            hqc.signers.iter().collect(),
        );
        self.try_propose();
    }

    fn advance_round(&mut self) {
        let next = self.safety.current_round();
        if next <= self.round {
            return;
        }
        let by_qc = self.safety.highest_qc.round.next() == next;
        self.round = next;
        self.consecutive_timeouts = if by_qc {
            0
        } else {
            self.consecutive_timeouts + 1
        };
        self.timeout_sent = None;
        self.timeout_retries = 0;
        self.building = None;
        let floor = Round(next.0.saturating_sub(ROUND_WINDOW));
        self.votes.prune_below(floor);
        self.verified_qcs.retain(|_, r| *r >= floor);
        self.verified_tcs.retain(|_, r| *r >= floor);
        self.evidence_sent.retain(|(_, _, r)| *r >= floor);
        self.timeouts = self.timeouts.split_off(&floor);
        self.tc_formed = self.tc_formed.split_off(&floor);
        self.proposals_seen = self.proposals_seen.split_off(&floor);
        self.schedule_timeout();
        self.refetch(3);
        self.try_propose();
    }

    fn schedule_timeout(&mut self) {
        let after_ms = self
            .config
            .timeout_ms(self.consecutive_timeouts + self.timeout_retries);
        self.out.push(Action::ScheduleTimeout {
            round: self.round,
            after_ms,
        });
    }

    // ----- certificates -----------------------------------------------

    fn verify_qc(&mut self, qc: &QuorumCert) -> bool {
        if qc.epoch != self.config.epoch {
            return false;
        }
        if qc.is_genesis() {
            return qc.block == self.config.start.block
                && qc.height == self.config.start.height
                && qc.signature == BlsSignatureBytes::ZERO;
        }
        let digest = qc.digest();
        if self.verified_qcs.contains_key(&digest) {
            return true;
        }
        let ok = match self.set.bitmap_stake(&qc.signers) {
            Some(stake) if self.set.is_quorum(stake) => match self.set.aggregate_key(&qc.signers) {
                Ok(key) => self.memo.verify(
                    key.as_public_key(),
                    Domain::Vote,
                    &block_message(&self.config.genesis, &qc.block_ref()),
                    &qc.signature,
                ),
                Err(_) => false,
            },
            _ => false,
        };
        if ok {
            self.verified_qcs.insert(digest, qc.round);
        }
        ok
    }

    fn verify_tc(&mut self, tc: &TimeoutCert) -> bool {
        if tc.epoch != self.config.epoch || tc.check_structure().is_err() {
            return false;
        }
        let digest = tc.digest();
        if self.verified_tcs.contains_key(&digest) {
            return true;
        }
        let mut stake = 0u128;
        let mut keys = Vec::with_capacity(tc.groups.len());
        let mut messages = Vec::with_capacity(tc.groups.len());
        for group in &tc.groups {
            let Some(s) = self.set.bitmap_stake(&group.signers) else {
                return false;
            };
            stake += s;
            let Ok(key) = self.set.aggregate_key(&group.signers) else {
                return false;
            };
            keys.push(*key.as_public_key());
            messages.push(timeout_message(
                &self.config.genesis,
                &TimeoutData {
                    epoch: tc.epoch,
                    round: tc.round,
                    high_qc_round: group.high_qc_round,
                },
            ));
        }
        if !self.set.is_quorum(stake) {
            return false;
        }
        let memo_key = tagged_hash("aether/tc-verdict/v1", &[&self.config.genesis.0, &digest.0]);
        let signature = tc.signature;
        let ok = self.memo.verdict(memo_key.0, || {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            Signature::from_bytes(&signature.0)
                .and_then(|sig| bls::aggregate_verify(&keys, Domain::Timeout, &refs, &sig))
                .is_ok()
        });
        if ok {
            self.verified_tcs.insert(digest, tc.round);
        }
        ok
    }

    /// Takes in a verified QC.
    fn process_qc(&mut self, qc: &QuorumCert) {
        let parent_round = self.tree.get(&qc.block).map(|e| e.fields.justify.round);
        self.safety.observe_qc(qc, parent_round);
        if qc.height > self.tree.root.height && !self.certified.contains_key(&qc.block) {
            self.certified.insert(qc.block, qc.clone());
            if self.tree.get(&qc.block).is_some_and(|e| e.verified) {
                self.on_certified(qc.block);
            } else {
                self.want(
                    qc.block,
                    qc.height,
                    qc.round,
                    true,
                    qc.signers.iter().collect(),
                );
            }
        }
        self.advance_round();
    }

    /// Takes in a verified TC.
    fn process_tc(&mut self, tc: &TimeoutCert) {
        self.safety.observe_tc(tc);
        self.advance_round();
    }

    /// A verified block in the tree now has a QC: lock and commit rules.
    fn on_certified(&mut self, block: BlockHash) {
        let Some(entry) = self.tree.get(&block) else {
            return;
        };
        let qc = match self.certified.get(&block) {
            Some(qc) => qc.clone(),
            None => return,
        };
        let justify_round = entry.fields.justify.round;
        let parent = entry.parent;
        let round = entry.fields.round;
        self.safety.observe_qc(&qc, Some(justify_round));
        // Two-chain rule: the parent is final if this block is of the next round.
        if parent != self.tree.root.id
            && self
                .tree
                .get(&parent)
                .is_some_and(|p| p.fields.round.next() == round)
        {
            self.commit(parent, qc);
        }
    }

    fn commit(&mut self, block: BlockHash, finality: QuorumCert) {
        let Some(path) = self.tree.path_from_root(&block) else {
            return;
        };
        for id in &path {
            if let Some(e) = self.tree.get(id) {
                self.out.push(Action::Commit {
                    proposal: e.proposal.clone(),
                    finality: finality.clone(),
                    vrf_output: e.vrf_output,
                });
            }
        }
        self.tree.advance_root(&block);
        let root_height = self.tree.root.height;
        self.certified.retain(|_, qc| qc.height > root_height);
        self.wanted.retain(|_, w| w.height > root_height);
        let mut dropped = 0;
        self.waiting.retain(|_, children| {
            let before = children.len();
            children.retain(|(_, p, _)| p.header.height > root_height);
            dropped += before - children.len();
            !children.is_empty()
        });
        self.waiting_count -= dropped;
    }

    // ----- fetching -----------------------------------------------------

    fn want(
        &mut self,
        block: BlockHash,
        height: u64,
        round: Round,
        certified: bool,
        from: Vec<ValidatorIndex>,
    ) {
        if height <= self.tree.root.height || self.tree.contains(&block) {
            return;
        }
        if self.is_waiting(&block) {
            return;
        }
        let now = self.round;
        let ancestors = self.missing_below(height);
        match self.wanted.get_mut(&block) {
            Some(w) => {
                w.certified |= certified;
                // Asked in an earlier round and still missing: the request
                // or its answer was lost; ask again (at most once a round).
                if w.asked < now {
                    w.asked = now;
                    self.out.push(Action::Fetch {
                        block,
                        ancestors,
                        from,
                    });
                }
            }
            None => {
                self.wanted.insert(
                    block,
                    Want {
                        height,
                        round,
                        certified,
                        asked: now,
                    },
                );
                self.out.push(Action::Fetch {
                    block,
                    ancestors,
                    from,
                });
            }
        }
    }

    /// How many blocks below `height` this node lacks (above its committed
    /// block), capped at what one request may ask for.
    fn missing_below(&self, height: u64) -> u16 {
        let gap = height.saturating_sub(self.tree.root.height + 1);
        gap.min(u64::from(aether_types::consensus::MAX_SYNC_ANCESTORS)) as u16
    }

    fn is_waiting(&self, block: &BlockHash) -> bool {
        self.waiting
            .values()
            .flatten()
            .any(|(id, _, _)| id == block)
    }

    /// Asks again for every missing block last asked for `age` or more
    /// rounds ago (a lagging node advances on others' certificates and may
    /// never see its own timer fire, so this also runs on round changes).
    fn refetch(&mut self, age: u64) {
        let all: Vec<ValidatorIndex> = self.set.indices().filter(|v| *v != self.me).collect();
        let now = self.round;
        let mut stale: Vec<(Round, BlockHash, u64)> = self
            .wanted
            .iter()
            .filter(|(_, w)| w.asked.0 + age <= now.0)
            .map(|(b, w)| (w.round, *b, w.height))
            .collect();
        stale.sort();
        for (_, block, height) in stale {
            if let Some(w) = self.wanted.get_mut(&block) {
                w.asked = now;
            }
            let ancestors = self.missing_below(height);
            self.out.push(Action::Fetch {
                block,
                ancestors,
                from: all.clone(),
            });
        }
    }

    // ----- messages -----------------------------------------------------

    fn on_message(&mut self, from: ValidatorIndex, message: ConsensusMsg) {
        match message {
            ConsensusMsg::Proposal(p) => self.on_proposal(from, *p, false),
            ConsensusMsg::BlockResponse(blocks) => {
                // Newest first: each block's parent becomes wanted while the
                // block is handled, so the next one is expected.
                for p in blocks {
                    self.on_proposal(from, p, true);
                }
            }
            ConsensusMsg::Vote(v) => self.on_vote(v),
            ConsensusMsg::Timeout(t) => self.on_timeout_msg(*t),
            // Served by the driver (committed blocks live in its store; it
            // asks `pending_block` for the rest).
            ConsensusMsg::BlockRequest(_) => {}
        }
    }

    fn on_proposal(&mut self, from: ValidatorIndex, p: Proposal, fetched: bool) {
        let Some(fields) = p.fields().cloned() else {
            return self.reject(Rejection::Malformed);
        };
        if fields.epoch != self.config.epoch {
            return self.reject(Rejection::WrongEpoch);
        }
        let id = p.block_id();
        if self.tree.contains(&id) || self.is_waiting(&id) {
            return;
        }
        let justified_by_tc = fields.justify.round.next() != fields.round;
        let tc_ok = match &fields.timeout_cert {
            Some(tc) => justified_by_tc && tc.round.next() == fields.round,
            None => !justified_by_tc,
        };
        if p.header.parent_hash != fields.justify.block
            || p.header.height != fields.justify.height.saturating_add(1)
            || fields.round <= fields.justify.round
            || !tc_ok
        {
            return self.reject(Rejection::Malformed);
        }
        let Some(proposer_key) = self.set.key(fields.proposer).copied() else {
            return self.reject(Rejection::UnknownValidator);
        };
        let block_ref = BlockRef {
            epoch: fields.epoch,
            round: fields.round,
            block: id,
            height: p.header.height,
        };
        if !self.memo.verify(
            &proposer_key,
            Domain::Proposal,
            &block_message(&self.config.genesis, &block_ref),
            &p.signature,
        ) {
            return self.reject(Rejection::BadSignature);
        }
        self.note_proposal(fields.proposer, block_ref, p.signature);
        // Votes already here for another block of this round: the proposer
        // may have signed that one too; fetch it from a voter to find out.
        for (other, voter) in self.votes.other_blocks(fields.round, &id) {
            if !self.tree.contains(&other.block) && !self.wanted.contains_key(&other.block) {
                self.want(other.block, other.height, other.round, false, vec![voter]);
            }
        }
        let want = self.wanted.remove(&id);
        if fetched && want.is_none() {
            return self.reject(Rejection::Unsolicited);
        }
        if !self.verify_qc(&fields.justify) {
            return self.reject(Rejection::BadQuorumCert);
        }
        if let Some(tc) = &fields.timeout_cert
            && !self.verify_tc(tc)
        {
            return self.reject(Rejection::BadTimeoutCert);
        }
        self.process_qc(&fields.justify);
        if let Some(tc) = &fields.timeout_cert {
            self.process_tc(tc);
        }
        if p.header.height <= self.tree.root.height {
            return;
        }
        let live = !fetched && fields.round == self.round;
        let certified = self.certified.contains_key(&id) || want.is_some_and(|w| w.certified);
        if !live && !certified {
            return;
        }
        let parent = p.header.parent_hash;
        if self.tree.is_ready(&parent) {
            self.admit(p, fields, live);
        } else {
            if self.waiting_count >= MAX_WAITING {
                return;
            }
            let mut hint: Vec<ValidatorIndex> = fields.justify.signers.iter().collect();
            hint.insert(0, from);
            self.want(
                parent,
                fields.justify.height,
                fields.justify.round,
                true,
                hint,
            );
            self.waiting.entry(parent).or_default().push((id, p, live));
            self.waiting_count += 1;
        }
    }

    /// Admits a proposal whose parent is ready: leader and VRF checks, then
    /// asks the application to verify it.
    fn admit(&mut self, p: Proposal, fields: ProposalFields, votable: bool) {
        let id = p.block_id();
        if self.tree.contains(&id) {
            return;
        }
        let Some((parent_round, parent_failures)) = self.tree.parent_info(&p.header.parent_hash)
        else {
            return;
        };
        if fields.justify.round != parent_round {
            return self.reject(Rejection::Malformed);
        }
        let parent_failures = parent_failures.clone();
        let limit = self.config.leader_failure_limit;
        let seed = self.config.epoch_seed;
        let leader = parent_failures.leader(&self.set, &seed, limit, parent_round, fields.round);
        if fields.proposer != leader {
            return self.reject(Rejection::NotLeader);
        }
        let Some(key) = self.set.key(fields.proposer).copied() else {
            return self.reject(Rejection::UnknownValidator);
        };
        let input = vrf_input(fields.epoch.0, fields.round.0);
        if !self
            .memo
            .verify(&key, Domain::Vrf, &input, &fields.vrf_proof)
        {
            return self.reject(Rejection::BadVrf);
        }
        let vrf_output = match Signature::from_bytes(&fields.vrf_proof.0) {
            Ok(sig) => bls::VrfProof(sig).output().0,
            Err(_) => return self.reject(Rejection::BadVrf),
        };
        let failures =
            parent_failures.after_gap(&self.set, &seed, limit, parent_round, fields.round);
        let header = p.header.clone();
        let payload = p.payload.as_slice().to_vec();
        self.tree.insert(Entry {
            id,
            parent: p.header.parent_hash,
            height: p.header.height,
            proposal: p,
            fields,
            verified: false,
            votable,
            failures,
            vrf_output,
        });
        self.out.push(Action::VerifyBlock { header, payload });
    }

    fn on_verified(&mut self, block: BlockHash, valid: bool) {
        let Some(entry) = self.tree.get_mut(&block) else {
            return;
        };
        if entry.verified {
            return;
        }
        if !valid {
            self.tree.remove(&block);
            if let Some(children) = self.waiting.remove(&block) {
                self.waiting_count -= children.len();
            }
            return self.reject(Rejection::InvalidBlock);
        }
        entry.verified = true;
        let votable = entry.votable && entry.fields.round == self.round;
        if self.certified.contains_key(&block) {
            self.on_certified(block);
        }
        if votable {
            self.try_vote(block);
        }
        if let Some(children) = self.waiting.remove(&block) {
            self.waiting_count -= children.len();
            for (_, child, live) in children {
                if let Some(fields) = child.fields().cloned() {
                    let live = live && fields.round == self.round;
                    self.admit(child, fields, live);
                }
            }
        }
        self.try_propose();
    }

    // ----- proposing and voting -----------------------------------------

    fn try_propose(&mut self) {
        let round = self.round;
        if self.building.as_ref().is_some_and(|b| b.0 == round)
            || self.safety.last_proposed_round >= round
        {
            return;
        }
        let hqc = self.safety.highest_qc.clone();
        let Some(leader) = self.leader(&hqc.block, round) else {
            return; // parent not here yet: retried when it is verified
        };
        if leader != self.me {
            return;
        }
        let timeout_cert = if hqc.round.next() == round {
            None
        } else {
            match &self.safety.highest_tc {
                Some(tc) if tc.round.next() == round => Some(tc.clone()),
                _ => return,
            }
        };
        let (vrf_proof, _) = self.key.vrf_prove(&vrf_input(self.config.epoch.0, round.0));
        let fields = ProposalFields {
            epoch: self.config.epoch,
            round,
            proposer: self.me,
            justify: hqc.clone(),
            timeout_cert,
            vrf_proof: BlsSignatureBytes(vrf_proof.0.to_bytes()),
        };
        self.building = Some((round, hqc.block, fields.clone()));
        self.out.push(Action::BuildBlock {
            round,
            parent: hqc.block,
            height: hqc.height + 1,
            consensus: ConsensusFields::HotStuff(Box::new(fields)),
        });
    }

    fn on_built(&mut self, round: Round, header: BlockHeader, payload: Vec<u8>) {
        let Some((want_round, parent, fields)) = self.building.clone() else {
            return;
        };
        if round != want_round || round != self.round {
            return;
        }
        if header.parent_hash != parent
            || header.consensus != ConsensusFields::HotStuff(Box::new(fields.clone()))
            || header.height != fields.justify.height + 1
        {
            return;
        }
        let Ok(payload_bytes) = BoundedBytes::new(payload) else {
            return;
        };
        if self.safety.sign_proposal(fields.epoch, round).is_err() {
            return;
        }
        let id = header.hash();
        let block_ref = BlockRef {
            epoch: fields.epoch,
            round,
            block: id,
            height: header.height,
        };
        let signature = BlsSignatureBytes(
            self.key
                .sign(
                    Domain::Proposal,
                    &block_message(&self.config.genesis, &block_ref),
                )
                .to_bytes(),
        );
        let proposal = Proposal {
            header,
            payload: payload_bytes,
            signature,
        };
        self.note_proposal(self.me, block_ref, signature);
        let Some((parent_round, parent_failures)) = self.tree.parent_info(&parent) else {
            return;
        };
        let failures = parent_failures.after_gap(
            &self.set,
            &self.config.epoch_seed,
            self.config.leader_failure_limit,
            parent_round,
            round,
        );
        let vrf_output = match Signature::from_bytes(&fields.vrf_proof.0) {
            Ok(sig) => bls::VrfProof(sig).output().0,
            Err(_) => return,
        };
        self.tree.insert(Entry {
            id,
            parent,
            height: proposal.header.height,
            proposal: proposal.clone(),
            fields,
            verified: true,
            votable: true,
            failures,
            vrf_output,
        });
        // One persist covers the proposal and the leader's own vote.
        let vote = self.sign_vote(id);
        self.out.push(Action::Persist(self.safety.clone()));
        self.out
            .push(Action::Broadcast(ConsensusMsg::Proposal(Box::new(
                proposal,
            ))));
        if let Some(vote) = vote {
            self.out
                .push(Action::Broadcast(ConsensusMsg::Vote(vote.clone())));
            self.collect_vote(&vote, true);
        }
        if self.certified.contains_key(&id) {
            self.on_certified(id);
        }
    }

    /// Signs a vote for a verified block if the safety rules allow it.
    fn sign_vote(&mut self, block: BlockHash) -> Option<Vote> {
        let entry = self.tree.get(&block)?;
        let fields = &entry.fields;
        let block_ref = BlockRef {
            epoch: fields.epoch,
            round: fields.round,
            block,
            height: entry.height,
        };
        let qc_round = fields.justify.round;
        let tc = fields.timeout_cert.clone();
        self.safety
            .check_vote(block_ref.epoch, block_ref.round, qc_round, tc.as_ref())
            .ok()?;
        let signature = self.key.sign(
            Domain::Vote,
            &block_message(&self.config.genesis, &block_ref),
        );
        let vote = Vote {
            epoch: block_ref.epoch,
            round: block_ref.round,
            block,
            height: block_ref.height,
            voter: self.me,
            signature: BlsSignatureBytes(signature.to_bytes()),
        };
        self.safety.sign_vote(&vote, qc_round, tc.as_ref()).ok()?;
        Some(vote)
    }

    fn try_vote(&mut self, block: BlockHash) {
        if let Some(vote) = self.sign_vote(block) {
            self.out.push(Action::Persist(self.safety.clone()));
            self.out
                .push(Action::Broadcast(ConsensusMsg::Vote(vote.clone())));
            self.collect_vote(&vote, true);
        }
    }

    fn on_vote(&mut self, vote: Vote) {
        if vote.epoch != self.config.epoch {
            return self.reject(Rejection::WrongEpoch);
        }
        if self.set.key(vote.voter).is_none() {
            return self.reject(Rejection::UnknownValidator);
        }
        if vote.round.0 + ROUND_WINDOW < self.round.0 || vote.round.0 > self.round.0 + ROUND_WINDOW
        {
            return self.reject(Rejection::OutOfWindow);
        }
        if vote.voter == self.me {
            // Our own votes are collected when signed; a copy from the
            // network is a replay.
            return;
        }
        self.collect_vote(&vote, false);
    }

    fn vote_ok(&self, vote: &Vote) -> bool {
        self.set.key(vote.voter).is_some_and(|key| {
            self.memo.verify(
                key,
                Domain::Vote,
                &block_message(&self.config.genesis, &vote.block_ref()),
                &vote.signature,
            )
        })
    }

    fn collect_vote(&mut self, vote: &Vote, own: bool) {
        let stake = self.set.stake(vote.voter);
        if !own && self.bad_signers.contains(&vote.voter) && !self.vote_ok(vote) {
            return self.reject(Rejection::BadSignature);
        }
        match self.votes.insert(vote, stake) {
            VoteOutcome::Duplicate => (),
            VoteOutcome::Conflict(first) => {
                if self.vote_ok(&first) && self.vote_ok(vote) {
                    self.emit_evidence(
                        EquivocationKind::Vote,
                        vote.voter,
                        (first.block_ref(), first.signature),
                        (vote.block_ref(), vote.signature),
                    );
                } else if !self.vote_ok(vote) {
                    self.reject(Rejection::BadSignature);
                }
            }
            VoteOutcome::Added(total) => {
                self.probe_leader_equivocation(vote);
                if self.set.is_quorum(total) {
                    self.try_form_qc(vote.block_ref());
                }
            }
        }
    }

    /// A vote for a block other than the leader's proposal we hold: fetch it
    /// from the voter to see whether the leader signed two blocks.
    fn probe_leader_equivocation(&mut self, vote: &Vote) {
        let Some(seen) = self.proposals_seen.get(&vote.round) else {
            return;
        };
        let conflicting = seen.values().any(|(r, _)| r.block != vote.block);
        if conflicting && !self.tree.contains(&vote.block) && !self.wanted.contains_key(&vote.block)
        {
            self.want(vote.block, vote.height, vote.round, false, vec![vote.voter]);
        }
    }

    fn try_form_qc(&mut self, block_ref: BlockRef) {
        loop {
            let Some(votes) = self.votes.block_votes(&block_ref) else {
                return;
            };
            if votes.certified || !self.set.is_quorum(votes.stake) {
                return;
            }
            let signatures: Vec<(ValidatorIndex, BlsSignatureBytes)> =
                votes.signatures.iter().map(|(v, s)| (*v, *s)).collect();
            let Ok(mut signers) = SignerBitmap::new(self.set.len()) else {
                return;
            };
            let mut parsed = Vec::with_capacity(signatures.len());
            let mut unparsable = Vec::new();
            for (v, s) in &signatures {
                match Signature::from_bytes(&s.0) {
                    Ok(sig) => {
                        signers.set(*v);
                        parsed.push(sig);
                    }
                    Err(_) => unparsable.push(*v),
                }
            }
            if !unparsable.is_empty() {
                for v in unparsable {
                    self.mark_bad_vote(&block_ref, v);
                }
                continue;
            }
            let Ok(aggregate) = aggregate_signatures(&parsed) else {
                return;
            };
            let qc = QuorumCert {
                epoch: block_ref.epoch,
                round: block_ref.round,
                block: block_ref.block,
                height: block_ref.height,
                signers,
                signature: BlsSignatureBytes(aggregate.to_bytes()),
            };
            if self.verify_qc(&qc) {
                if let Some(votes) = self.votes.block_votes(&block_ref) {
                    votes.certified = true;
                }
                self.process_qc(&qc);
                return;
            }
            // The aggregate failed: find the bad signers one by one.
            let mut found = false;
            for (v, s) in &signatures {
                let vote = Vote {
                    epoch: block_ref.epoch,
                    round: block_ref.round,
                    block: block_ref.block,
                    height: block_ref.height,
                    voter: *v,
                    signature: *s,
                };
                if !self.vote_ok(&vote) {
                    self.mark_bad_vote(&block_ref, *v);
                    found = true;
                }
            }
            if !found {
                return;
            }
        }
    }

    fn mark_bad_vote(&mut self, block_ref: &BlockRef, voter: ValidatorIndex) {
        let stake = self.set.stake(voter);
        self.votes.discard(block_ref, voter, stake);
        self.bad_signers.insert(voter);
        self.reject(Rejection::BadSignature);
    }

    fn note_proposal(
        &mut self,
        proposer: ValidatorIndex,
        block_ref: BlockRef,
        signature: BlsSignatureBytes,
    ) {
        let round_map = self.proposals_seen.entry(block_ref.round).or_default();
        match round_map.get(&proposer) {
            None => {
                round_map.insert(proposer, (block_ref, signature));
            }
            Some((first, first_sig)) if first.block != block_ref.block => {
                // Both signatures were verified before they were noted.
                let first = (*first, *first_sig);
                self.emit_evidence(
                    EquivocationKind::Proposal,
                    proposer,
                    first,
                    (block_ref, signature),
                );
            }
            Some(_) => {}
        }
    }

    fn emit_evidence(
        &mut self,
        kind: EquivocationKind,
        offender: ValidatorIndex,
        a: (BlockRef, BlsSignatureBytes),
        b: (BlockRef, BlsSignatureBytes),
    ) {
        let round = a.0.round;
        if let Some(evidence) = EquivocationEvidence::new(kind, offender, a, b)
            && self.evidence_sent.insert((kind, offender, round))
        {
            self.out.push(Action::Evidence(evidence));
        }
    }

    // ----- timeouts -----------------------------------------------------

    fn on_round_timeout(&mut self, round: Round) {
        if round != self.round {
            return;
        }
        self.local_timeout();
        // Retransmit: the vote of this round (if any) and the fetches.
        if let Some(vote) = self.safety.last_vote.clone()
            && vote.round == self.round
        {
            self.out.push(Action::Broadcast(ConsensusMsg::Vote(vote)));
        }
        self.refetch(0);
        self.timeout_retries += 1;
        self.schedule_timeout();
    }

    /// Gives up the current round (or re-sends the timeout already signed).
    fn local_timeout(&mut self) {
        let message = match &self.timeout_sent {
            Some(t) => t.clone(),
            None => {
                let hqc = self.safety.highest_qc.clone();
                if self
                    .safety
                    .sign_timeout(self.config.epoch, self.round, hqc.round)
                    .is_err()
                {
                    return;
                }
                let data = TimeoutData {
                    epoch: self.config.epoch,
                    round: self.round,
                    high_qc_round: hqc.round,
                };
                let signature = self.key.sign(
                    Domain::Timeout,
                    &timeout_message(&self.config.genesis, &data),
                );
                let high_tc = self
                    .safety
                    .highest_tc
                    .clone()
                    .filter(|tc| tc.round > hqc.round);
                let t = TimeoutMsg {
                    epoch: self.config.epoch,
                    round: self.round,
                    high_qc: hqc,
                    high_tc,
                    sender: self.me,
                    signature: BlsSignatureBytes(signature.to_bytes()),
                };
                self.out.push(Action::Persist(self.safety.clone()));
                self.timeout_sent = Some(t.clone());
                self.collect_timeout(t.clone());
                t
            }
        };
        self.out
            .push(Action::Broadcast(ConsensusMsg::Timeout(Box::new(message))));
    }

    fn on_timeout_msg(&mut self, t: TimeoutMsg) {
        if t.epoch != self.config.epoch {
            return self.reject(Rejection::WrongEpoch);
        }
        let Some(key) = self.set.key(t.sender).copied() else {
            return self.reject(Rejection::UnknownValidator);
        };
        if self.verify_qc(&t.high_qc) {
            self.process_qc(&t.high_qc);
        } else {
            return self.reject(Rejection::BadQuorumCert);
        }
        if let Some(tc) = &t.high_tc {
            if self.verify_tc(tc) {
                self.process_tc(tc);
            } else {
                return self.reject(Rejection::BadTimeoutCert);
            }
        }
        if t.round < self.round || t.sender == self.me {
            return;
        }
        if t.round.0 > self.round.0 + ROUND_WINDOW {
            return self.reject(Rejection::OutOfWindow);
        }
        if self
            .timeouts
            .get(&t.round)
            .is_some_and(|m| m.contains_key(&t.sender))
        {
            return;
        }
        if !self.memo.verify(
            &key,
            Domain::Timeout,
            &timeout_message(&self.config.genesis, &t.data()),
            &t.signature,
        ) {
            self.bad_signers.insert(t.sender);
            return self.reject(Rejection::BadSignature);
        }
        self.collect_timeout(t);
    }

    /// Counts a verified timeout; joins the round's timeout when a blocking
    /// set gave up (so one slow timer never holds the round), forms a TC at
    /// quorum.
    fn collect_timeout(&mut self, t: TimeoutMsg) {
        let round = t.round;
        let map = self.timeouts.entry(round).or_default();
        map.entry(t.sender).or_insert(t);
        let stake: u128 = map.keys().map(|v| u128::from(self.set.stake(*v))).sum();
        if round == self.round && self.timeout_sent.is_none() && self.set.is_blocking(stake) {
            self.local_timeout();
        }
        if self.set.is_quorum(stake)
            && !self.tc_formed.contains(&round)
            && let Some(tc) = self.form_tc(round)
        {
            self.tc_formed.insert(round);
            self.verified_tcs.insert(tc.digest(), tc.round);
            self.process_tc(&tc);
        }
    }

    fn form_tc(&self, round: Round) -> Option<TimeoutCert> {
        let map = self.timeouts.get(&round)?;
        let mut groups: BTreeMap<Round, SignerBitmap> = BTreeMap::new();
        let mut signatures = Vec::with_capacity(map.len());
        for (v, t) in map {
            let bitmap = match groups.entry(t.high_qc.round) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(SignerBitmap::new(self.set.len()).ok()?)
                }
            };
            bitmap.set(*v);
            signatures.push(Signature::from_bytes(&t.signature.0).ok()?);
        }
        let aggregate = aggregate_signatures(&signatures).ok()?;
        Some(TimeoutCert {
            epoch: self.config.epoch,
            round,
            groups: groups
                .into_iter()
                .map(|(high_qc_round, signers)| TimeoutGroup {
                    high_qc_round,
                    signers,
                })
                .collect(),
            signature: BlsSignatureBytes(aggregate.to_bytes()),
        })
    }
}
