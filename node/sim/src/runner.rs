//! The discrete-event simulator: one seeded RNG, one event queue ordered by
//! (time, sequence number), N nodes each running the real consensus core
//! behind a driver that executes its actions against the simulated
//! network, clock, disk and application, and the invariant checks.

use crate::app::SimApp;
use crate::clock::{NodeClock, SimClock};
use crate::network::{Destination, NetworkModel, Outgoing, SimTransport};
use crate::scenario::{Behaviour, Plan, Role};
use aether_chain_api::{BlockLifecycle, BuildRequest, Clock, Transport};
use aether_consensus::{
    Action, Config, Core, Event, Restore, SafetyState, ValidatorInfo, ValidatorSet, VerifyMemo,
    signing::{block_message, timeout_message},
    verify_evidence,
};
use aether_crypto::bls::{Domain, SecretKey};
use aether_types::consensus::MAX_SYNC_ANCESTORS;
use aether_types::{
    BlockHash, BlockRef, BlockRequest, BlsPublicKeyBytes, BlsSignatureBytes, BoundedBytes,
    Canonical, ConsensusMsg, Epoch, EquivocationEvidence, EquivocationKind, Proposal, Round,
    TimeoutMsg, ValidatorIndex, tagged_hash,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;
use std::sync::Arc;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two different blocks final at one height.
    Safety {
        /// The height.
        height: u64,
        /// One final block.
        first: BlockHash,
        /// The other.
        second: BlockHash,
    },
    /// A node's final height did not grow by one.
    FinalHeightOrder {
        /// The node.
        node: usize,
        /// Its previous final height.
        had: u64,
        /// The height it committed.
        got: u64,
    },
    /// An honest validator signed two different blocks in one round.
    HonestConflict {
        /// The validator.
        validator: ValidatorIndex,
        /// The round.
        round: Round,
        /// Votes or proposals.
        kind: EquivocationKind,
    },
    /// Evidence produced against an honest validator.
    FalseEvidence {
        /// The honest node that produced it.
        node: usize,
        /// The accused (honest) validator.
        offender: ValidatorIndex,
    },
    /// Evidence that does not verify.
    InvalidEvidence {
        /// The node that produced it.
        node: usize,
    },
    /// A Byzantine equivocation that honest nodes could see went unreported.
    MissedEvidence {
        /// The offender.
        offender: ValidatorIndex,
        /// The round.
        round: Round,
        /// Votes or proposals.
        kind: EquivocationKind,
    },
    /// An honest node did not finalize enough blocks after the network
    /// became stable.
    Liveness {
        /// The node.
        node: usize,
        /// Its final height at the stable point.
        from_height: u64,
        /// Its final height at the end.
        to_height: u64,
        /// Rounds it went through after the stable point.
        rounds: u64,
    },
    /// The application refused to commit a block consensus declared final.
    CommitRefused {
        /// The node.
        node: usize,
        /// The block.
        block: BlockHash,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The outcome of one run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Number of validators.
    pub validators: usize,
    /// Highest height final on any honest node.
    pub blocks_finalized: u64,
    /// Broken invariants (empty on a clean run).
    pub violations: Vec<Violation>,
    /// BLAKE3 over the whole trace: same seed, same digest.
    pub digest: [u8; 32],
    /// Simulated time at the end, µs.
    pub sim_time_us: u64,
    /// Highest round any honest node reached.
    pub max_round: u64,
    /// Messages delivered.
    pub messages: u64,
    /// Equivocation evidence produced by honest nodes (distinct).
    pub evidence: usize,
    /// For each block final on every honest node: (time from its
    /// proposal's broadcast to final on the first honest node, to final on
    /// every honest node), µs.
    pub finality_us: Vec<(u64, u64)>,
}

impl RunReport {
    /// Whether the run broke no invariant.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// The trace digest as hex.
    pub fn digest_hex(&self) -> String {
        self.digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug)]
enum SimEvent {
    Deliver {
        to: usize,
        from: ValidatorIndex,
        bytes: Arc<Vec<u8>>,
    },
    Timer {
        node: usize,
        round: Round,
        generation: u64,
    },
    App {
        node: usize,
        incarnation: u64,
        event: Box<Event>,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    Tick {
        node: usize,
    },
    Stable,
}

struct Scheduled {
    at: u64,
    seq: u64,
    event: SimEvent,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Node {
    index: ValidatorIndex,
    role: Role,
    clock: NodeClock,
    core: Option<Core>,
    app: SimApp,
    transport: SimTransport,
    disk: Option<Vec<u8>>,
    timers: BTreeMap<Round, u64>,
    incarnation: u64,
    busy_until: u64,
    final_height: u64,
    stable_mark: Option<(u64, u64)>,
    /// The round this node was in when it reached the target after the
    /// stable point.
    reached_round: Option<u64>,
    replay_log: Vec<ConsensusMsg>,
}

impl Node {
    fn honest(&self) -> bool {
        self.role == Role::Honest
    }
}

/// Conflicting statements of one signer, kind and round delivered to
/// honest nodes: block -> the honest nodes it reached.
type Deliveries =
    BTreeMap<(ValidatorIndex, Round, EquivocationKind), BTreeMap<BlockHash, BTreeSet<usize>>>;

/// One simulation run (see the module docs).
pub struct Simulation {
    plan: Plan,
    seed: u64,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    rng: ChaCha8Rng,
    net: NetworkModel,
    nodes: Vec<Node>,
    keys: Vec<SecretKey>,
    set: ValidatorSet,
    config: Config,
    memo: VerifyMemo,
    trace: blake3::Hasher,
    messages: u64,
    final_by_height: BTreeMap<u64, BlockHash>,
    honest_signed: BTreeMap<(ValidatorIndex, Round, EquivocationKind), BlockHash>,
    byzantine_delivered: Deliveries,
    evidence: BTreeSet<(ValidatorIndex, Round, EquivocationKind)>,
    evidence_count: usize,
    violations: Vec<Violation>,
    proposed_at: BTreeMap<BlockHash, u64>,
    final_at: BTreeMap<BlockHash, (u64, u64, usize)>,
    stable: bool,
    draining: bool,
}

/// Most simulated time a run goes on after every node reached its target,
/// with the Byzantine nodes quiet, until every observable equivocation has
/// its evidence.
const DRAIN_US: u64 = 2_000_000;

/// Hash tag of the simulated epoch seed.
const SEED_TAG: &str = "aether/sim-epoch-seed/v1";

impl Simulation {
    /// Sets up a run of `plan` from `seed` (keys, set, nodes, network).
    pub fn new(plan: Plan, seed: u64, memo: VerifyMemo) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let keys: Vec<SecretKey> = (0..plan.validators)
            .map(|i| {
                let mut ikm = [0u8; 32];
                ikm[..8].copy_from_slice(&(i as u64).to_le_bytes());
                ikm[8..16].copy_from_slice(b"sim-key!");
                SecretKey::from_seed(&ikm)
            })
            .collect();
        let infos: Vec<ValidatorInfo> = keys
            .iter()
            .map(|k| ValidatorInfo {
                public_key: BlsPublicKeyBytes(k.public_key().to_bytes()),
                proof_of_possession: BlsSignatureBytes(k.proof_of_possession().to_bytes()),
                stake: 100,
            })
            .collect();
        let set = ValidatorSet::new(Epoch(0), &infos).expect("simulated keys are valid");
        let genesis = SimApp::new(0).genesis_id();
        let mut config = Config::new(
            genesis,
            Epoch(0),
            tagged_hash(SEED_TAG, &[&seed.to_le_bytes()]),
        );
        config.base_timeout_ms = plan.base_timeout_ms;
        config.max_timeout_ms = plan.max_timeout_ms;
        let net = NetworkModel::new(
            &mut rng,
            plan.nodes.len(),
            plan.link,
            plan.partitions.clone(),
        );
        let nodes = plan
            .nodes
            .iter()
            .enumerate()
            .map(|(id, spec)| Node {
                index: spec.index,
                role: spec.role,
                clock: spec.clock,
                core: None,
                app: SimApp::new(id as u64 + 1),
                transport: SimTransport::new(plan.validators),
                disk: None,
                timers: BTreeMap::new(),
                incarnation: 0,
                busy_until: 0,
                final_height: 0,
                stable_mark: None,
                reached_round: None,
                replay_log: Vec::new(),
            })
            .collect();
        let mut sim = Simulation {
            seed,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            rng,
            net,
            nodes,
            keys,
            set,
            config,
            memo,
            trace: blake3::Hasher::new(),
            messages: 0,
            final_by_height: BTreeMap::new(),
            honest_signed: BTreeMap::new(),
            byzantine_delivered: BTreeMap::new(),
            evidence: BTreeSet::new(),
            evidence_count: 0,
            violations: Vec::new(),
            proposed_at: BTreeMap::new(),
            final_at: BTreeMap::new(),
            stable: false,
            draining: false,
            plan,
        };
        sim.trace.update(b"aether-sim/v1");
        sim.trace.update(&seed.to_le_bytes());
        sim.trace.update(sim.plan.name.as_bytes());
        for crash in sim.plan.crashes.clone() {
            sim.schedule(crash.at_us, SimEvent::Crash { node: crash.node });
            if let Some(at) = crash.restart_us {
                sim.schedule(at, SimEvent::Restart { node: crash.node });
            }
        }
        let stable_at = sim.plan.stable_at_us();
        sim.schedule(stable_at, SimEvent::Stable);
        for node in 0..sim.nodes.len() {
            if matches!(
                sim.nodes[node].role,
                Role::Byzantine(
                    Behaviour::Replayer | Behaviour::TimeoutSpammer | Behaviour::BadSignature
                )
            ) {
                sim.schedule(50_000, SimEvent::Tick { node });
            }
            sim.start_node(node);
        }
        sim
    }

    fn schedule(&mut self, at: u64, event: SimEvent) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            event,
        }));
    }

    fn start_node(&mut self, id: usize) {
        let node = &mut self.nodes[id];
        let safety = node.disk.as_ref().map(|bytes| {
            SafetyState::decode(bytes).expect("the simulator wrote a valid safety state")
        });
        let restore = Restore {
            safety,
            committed: node.app.committed_chain(),
        };
        let core = Core::new(
            self.config.clone(),
            node.index,
            self.keys[usize::from(node.index.0)].clone(),
            self.set.clone(),
            self.memo.clone(),
            restore,
        )
        .expect("a node's own key and state restore");
        node.final_height = node.app.committed_len();
        node.core = Some(core);
        node.incarnation += 1;
        node.busy_until = self.now;
        self.drive(id, Event::Start);
    }

    /// Runs until every honest node finalized the target after the stable
    /// point, or the deadline; then checks the end-of-run invariants.
    pub fn run(mut self) -> RunReport {
        let mut deadline = self.plan.stable_at_us() + self.plan.deadline_us;
        while let Some(Reverse(item)) = self.queue.pop() {
            if item.at > deadline {
                break;
            }
            self.now = item.at;
            self.trace.update(&item.at.to_le_bytes());
            self.dispatch(item.event);
            if !self.draining && self.stable && self.all_reached_target() {
                // Let what is in flight land (evidence fetches), attackers quiet.
                self.draining = true;
                deadline = self.now + DRAIN_US;
            }
            if self.draining && self.missed_evidence().is_empty() {
                break;
            }
        }
        self.finish()
    }

    fn dispatch(&mut self, event: SimEvent) {
        match event {
            SimEvent::Deliver { to, from, bytes } => self.on_deliver(to, from, &bytes),
            SimEvent::Timer {
                node,
                round,
                generation,
            } => {
                if self.nodes[node].timers.get(&round) == Some(&generation) {
                    self.trace.update(b"timer");
                    self.drive(node, Event::RoundTimeout { round });
                }
            }
            SimEvent::App {
                node,
                incarnation,
                event,
            } => {
                if self.nodes[node].incarnation == incarnation && self.nodes[node].core.is_some() {
                    self.trace.update(b"app");
                    self.drive(node, *event);
                }
            }
            SimEvent::Crash { node } => {
                self.trace.update(b"crash");
                let n = &mut self.nodes[node];
                n.core = None;
                n.app.crash();
                n.transport.clear();
                n.timers.clear();
                n.incarnation += 1;
            }
            SimEvent::Restart { node } => {
                self.trace.update(b"restart");
                self.start_node(node);
            }
            SimEvent::Tick { node } => self.on_tick(node),
            SimEvent::Stable => {
                self.stable = true;
                // Rounds are counted from the highest round any honest node
                // was in: a node that was cut off jumps there when it heals.
                let top = self
                    .nodes
                    .iter()
                    .filter(|n| n.honest())
                    .filter_map(|n| n.core.as_ref().map(|c| c.round().0))
                    .max()
                    .unwrap_or(0);
                for n in &mut self.nodes {
                    if n.core.is_some() {
                        n.stable_mark = Some((n.final_height, top));
                    }
                }
            }
        }
    }

    fn all_reached_target(&self) -> bool {
        self.nodes
            .iter()
            .filter(|n| n.honest() && n.core.is_some())
            .all(|n| {
                n.stable_mark
                    .is_some_and(|(h, _)| n.final_height >= h + self.plan.target_blocks)
            })
    }

    fn on_deliver(&mut self, to: usize, from: ValidatorIndex, bytes: &[u8]) {
        if self.nodes[to].core.is_none() {
            return;
        }
        self.messages += 1;
        self.trace.update(&[to as u8]);
        self.trace.update(blake3::hash(bytes).as_bytes());
        let Ok(message) = ConsensusMsg::decode(bytes) else {
            return; // the transport drops undecodable frames
        };
        if self.nodes[to].honest() {
            self.note_delivery(to, from, &message);
        }
        if let ConsensusMsg::BlockRequest(request) = &message {
            self.serve(to, from, *request);
            return;
        }
        if self.nodes[to].role == Role::Byzantine(Behaviour::Replayer)
            && self.nodes[to].replay_log.len() < 512
        {
            self.nodes[to].replay_log.push(message.clone());
        }
        self.nodes[to].transport.deliver(from, message);
        while let Some(inbound) = self.nodes[to].transport.try_recv() {
            self.drive(
                to,
                Event::Message {
                    from: inbound.from,
                    message: inbound.message,
                },
            );
        }
    }

    /// Answers a block request from the core's pending blocks or the store:
    /// the block, then up to `ancestors` of its ancestors, newest first.
    fn serve(&mut self, node: usize, to: ValidatorIndex, request: BlockRequest) {
        let n = &mut self.nodes[node];
        let wanted = 1 + usize::from(request.ancestors.min(MAX_SYNC_ANCESTORS));
        let mut blocks: Vec<Proposal> = Vec::new();
        let mut cursor = request.block;
        while blocks.len() < wanted {
            let found = n
                .core
                .as_ref()
                .and_then(|c| c.pending_block(&cursor).cloned())
                .or_else(|| n.app.committed_by_id(&cursor).cloned());
            let Some(p) = found else {
                break;
            };
            cursor = p.header.parent_hash;
            blocks.push(p);
        }
        if !blocks.is_empty() {
            let _ = n.transport.send(to, ConsensusMsg::BlockResponse(blocks));
            self.flush(node, self.now);
        }
    }

    /// Records what Byzantine validators delivered to honest nodes.
    fn note_delivery(&mut self, to: usize, from: ValidatorIndex, message: &ConsensusMsg) {
        let byzantine = self.nodes.iter().any(|n| n.index == from && !n.honest());
        if !byzantine {
            return;
        }
        let (signer, round, block, kind) = match message {
            ConsensusMsg::Vote(v) => (v.voter, v.round, v.block, EquivocationKind::Vote),
            ConsensusMsg::Proposal(p) => match p.fields() {
                Some(f) => (
                    f.proposer,
                    f.round,
                    p.block_id(),
                    EquivocationKind::Proposal,
                ),
                None => return,
            },
            _ => return,
        };
        if signer != from || !self.signature_valid(message) {
            return;
        }
        self.byzantine_delivered
            .entry((signer, round, kind))
            .or_default()
            .entry(block)
            .or_default()
            .insert(to);
    }

    fn signature_valid(&self, message: &ConsensusMsg) -> bool {
        let genesis = self.config.genesis;
        match message {
            ConsensusMsg::Vote(v) => self.set.key(v.voter).is_some_and(|k| {
                self.memo.verify(
                    k,
                    Domain::Vote,
                    &block_message(&genesis, &v.block_ref()),
                    &v.signature,
                )
            }),
            ConsensusMsg::Proposal(p) => p.fields().is_some_and(|f| {
                let r = BlockRef {
                    epoch: f.epoch,
                    round: f.round,
                    block: p.block_id(),
                    height: p.header.height,
                };
                self.set.key(f.proposer).is_some_and(|k| {
                    self.memo.verify(
                        k,
                        Domain::Proposal,
                        &block_message(&genesis, &r),
                        &p.signature,
                    )
                })
            }),
            _ => false,
        }
    }

    /// Feeds one event to a node's core and executes the actions.
    fn drive(&mut self, id: usize, event: Event) {
        let Some(core) = self.nodes[id].core.as_mut() else {
            return;
        };
        let hqc_before = core.safety().highest_qc.round;
        let is_vote = matches!(
            &event,
            Event::Message {
                message: ConsensusMsg::Vote(_),
                ..
            }
        );
        let actions = core.handle(event);
        let formed_qc = is_vote && core.safety().highest_qc.round > hqc_before;
        let costs = self.plan.costs;
        let mut cursor = self.now.max(self.nodes[id].busy_until);
        if formed_qc {
            cursor += costs.verify_us;
        }
        for action in actions {
            cursor = self.execute(id, action, cursor);
            if self.nodes[id].core.is_none() {
                break;
            }
        }
        self.nodes[id].busy_until = cursor;
    }

    fn execute(&mut self, id: usize, action: Action, mut cursor: u64) -> u64 {
        let costs = self.plan.costs;
        let incarnation = self.nodes[id].incarnation;
        match action {
            Action::Persist(state) => {
                self.trace.update(b"persist");
                self.nodes[id].disk = Some(state.encode());
                cursor += costs.persist_us;
            }
            Action::Broadcast(message) => {
                if matches!(message, ConsensusMsg::Vote(_) | ConsensusMsg::Proposal(_)) {
                    cursor += costs.sign_us;
                }
                self.note_signed(id, &message, cursor);
                self.send_as(id, message, cursor);
            }
            Action::ScheduleTimeout { round, after_ms } => {
                let generation = self.seq + 1;
                self.nodes[id].timers.insert(round, generation);
                self.nodes[id].timers.retain(|r, _| *r >= round);
                let after = self.nodes[id].clock.timer_duration(after_ms * 1000);
                self.schedule(
                    cursor + after,
                    SimEvent::Timer {
                        node: id,
                        round,
                        generation,
                    },
                );
            }
            Action::BuildBlock {
                round,
                parent,
                height,
                consensus,
            } => {
                let clock = SimClock {
                    clock: self.nodes[id].clock,
                    now_us: cursor,
                };
                let request = BuildRequest {
                    parent,
                    height,
                    timestamp_ms: clock.now().as_millis(),
                    consensus,
                };
                cursor += costs.exec_us + costs.sign_us;
                if let Ok(built) = self.nodes[id].app.build(&request) {
                    if self.nodes[id].role == Role::Byzantine(Behaviour::EquivocatingLeader) {
                        self.prepare_equivocation(id, &request);
                    }
                    self.schedule(
                        cursor,
                        SimEvent::App {
                            node: id,
                            incarnation,
                            event: Box::new(Event::BlockBuilt {
                                round,
                                header: built.header,
                                payload: built.payload,
                            }),
                        },
                    );
                }
            }
            Action::VerifyBlock { header, payload } => {
                // Re-execution, plus the proposal signature and the VRF proof (the
                // justify QC is usually the one this node formed, cached).
                cursor += costs.exec_us + 2 * costs.verify_us;
                let valid = self.nodes[id].app.verify(&header, &payload).is_ok();
                self.schedule(
                    cursor,
                    SimEvent::App {
                        node: id,
                        incarnation,
                        event: Box::new(Event::BlockVerified {
                            block: header.hash(),
                            valid,
                        }),
                    },
                );
            }
            Action::Commit {
                proposal,
                finality,
                vrf_output: _,
            } => self.on_commit(id, &proposal, &finality, cursor),
            Action::Evidence(evidence) => self.on_evidence(id, evidence),
            Action::Fetch {
                block,
                ancestors,
                from,
            } => {
                let me = self.nodes[id].index;
                let candidates: Vec<ValidatorIndex> =
                    from.into_iter().filter(|v| *v != me).collect();
                if let Some(to) = candidates.choose(&mut self.rng).copied() {
                    let _ = self.nodes[id].transport.send(
                        to,
                        ConsensusMsg::BlockRequest(BlockRequest { block, ancestors }),
                    );
                    self.flush(id, cursor);
                }
            }
        }
        cursor
    }

    /// Sends a core's broadcast, transformed by the node's behaviour.
    fn send_as(&mut self, id: usize, message: ConsensusMsg, at: u64) {
        let role = if self.draining {
            Role::Honest
        } else {
            self.nodes[id].role
        };
        match (role, &message) {
            (Role::Byzantine(Behaviour::Withholder), ConsensusMsg::Vote(_)) => {}
            (Role::Byzantine(Behaviour::DoubleVoter), ConsensusMsg::Vote(v)) => {
                let mut other = v.clone();
                other.block = BlockHash(tagged_hash("aether/sim-fake-block", &[&v.block.0]).0);
                other.signature = self.sign_block(v.voter, Domain::Vote, &other.block_ref());
                let _ = self.nodes[id].transport.broadcast(message);
                let _ = self.nodes[id]
                    .transport
                    .broadcast(ConsensusMsg::Vote(other));
            }
            (Role::Byzantine(Behaviour::EquivocatingLeader), ConsensusMsg::Proposal(p)) => {
                let me = self.nodes[id].index;
                match self.alternative_proposal(id, p) {
                    Some(alt) => {
                        let others: Vec<ValidatorIndex> =
                            self.set.indices().filter(|v| *v != me).collect();
                        let half = others.len().div_ceil(2);
                        for (k, v) in others.iter().enumerate() {
                            let m = if k < half {
                                message.clone()
                            } else {
                                ConsensusMsg::Proposal(Box::new(alt.clone()))
                            };
                            let _ = self.nodes[id].transport.send(*v, m);
                        }
                    }
                    None => {
                        let _ = self.nodes[id].transport.broadcast(message);
                    }
                }
            }
            (Role::Byzantine(Behaviour::BadSignature), _) => {
                let mut bad = message;
                let junk = BlsSignatureBytes(
                    self.keys[usize::from(self.nodes[id].index.0)]
                        .sign(Domain::Vote, b"not what it claims")
                        .to_bytes(),
                );
                match &mut bad {
                    ConsensusMsg::Vote(v) => v.signature = junk,
                    ConsensusMsg::Proposal(p) => p.signature = junk,
                    ConsensusMsg::Timeout(t) => t.signature = junk,
                    _ => {}
                }
                let _ = self.nodes[id].transport.broadcast(bad);
            }
            (Role::Byzantine(Behaviour::TimeoutSpammer), ConsensusMsg::Timeout(t)) => {
                let spam = self.spam_timeouts(id, t);
                let _ = self.nodes[id].transport.broadcast(message);
                for s in spam {
                    let _ = self.nodes[id].transport.broadcast(s);
                }
            }
            _ => {
                let _ = self.nodes[id].transport.broadcast(message);
            }
        }
        self.flush(id, at);
    }

    fn sign_block(
        &self,
        signer: ValidatorIndex,
        domain: Domain,
        r: &BlockRef,
    ) -> BlsSignatureBytes {
        BlsSignatureBytes(
            self.keys[usize::from(signer.0)]
                .sign(domain, &block_message(&self.config.genesis, r))
                .to_bytes(),
        )
    }

    /// The equivocating leader's app builds its second block right away.
    fn prepare_equivocation(&mut self, id: usize, request: &BuildRequest) {
        let salt = 0xe9u64 << 56 | request.height;
        let _ = self.nodes[id].app.build_salted(request, salt);
    }

    fn alternative_proposal(&mut self, id: usize, p: &Proposal) -> Option<Proposal> {
        let fields = p.fields()?.clone();
        let request = BuildRequest {
            parent: p.header.parent_hash,
            height: p.header.height,
            timestamp_ms: p.header.timestamp_ms,
            consensus: p.header.consensus.clone(),
        };
        let salt = 0xe9u64 << 56 | request.height;
        let alt = self.nodes[id].app.build_salted(&request, salt).ok()?;
        let r = BlockRef {
            epoch: fields.epoch,
            round: fields.round,
            block: alt.header.hash(),
            height: alt.header.height,
        };
        Some(Proposal {
            signature: self.sign_block(fields.proposer, Domain::Proposal, &r),
            header: alt.header,
            payload: BoundedBytes::new(alt.payload).ok()?,
        })
    }

    fn spam_timeouts(&self, id: usize, t: &TimeoutMsg) -> Vec<ConsensusMsg> {
        let key = &self.keys[usize::from(self.nodes[id].index.0)];
        let mut out = Vec::new();
        for ahead in [1u64, 5, 40, 1_000] {
            let mut s = t.clone();
            s.round = Round(t.round.0 + ahead);
            s.signature = BlsSignatureBytes(
                key.sign(
                    Domain::Timeout,
                    &timeout_message(&self.config.genesis, &s.data()),
                )
                .to_bytes(),
            );
            out.push(ConsensusMsg::Timeout(Box::new(s)));
        }
        let mut bad = t.clone();
        bad.round = Round(t.round.0 + 2);
        out.push(ConsensusMsg::Timeout(Box::new(bad)));
        out
    }

    /// Periodic misbehaviour that is not a reaction to the core.
    fn on_tick(&mut self, id: usize) {
        if self.nodes[id].core.is_none() || self.draining {
            return;
        }
        match self.nodes[id].role {
            Role::Byzantine(Behaviour::Replayer) => {
                for _ in 0..3 {
                    let log = &self.nodes[id].replay_log;
                    if log.is_empty() {
                        break;
                    }
                    let pick = self.rng.gen_range(0..log.len());
                    let message = log[pick].clone();
                    let to = ValidatorIndex(self.rng.gen_range(0..self.plan.validators) as u16);
                    let _ = self.nodes[id].transport.send(to, message);
                }
            }
            Role::Byzantine(Behaviour::TimeoutSpammer) => {
                if let Some(core) = &self.nodes[id].core {
                    let round = core.round();
                    let safety = core.safety().clone();
                    let data = aether_types::TimeoutData {
                        epoch: Epoch(0),
                        round: Round(round.0 + 3),
                        high_qc_round: safety.highest_qc.round,
                    };
                    let signature = BlsSignatureBytes(
                        self.keys[usize::from(self.nodes[id].index.0)]
                            .sign(
                                Domain::Timeout,
                                &timeout_message(&self.config.genesis, &data),
                            )
                            .to_bytes(),
                    );
                    let t = TimeoutMsg {
                        epoch: Epoch(0),
                        round: data.round,
                        high_qc: safety.highest_qc,
                        high_tc: None,
                        sender: self.nodes[id].index,
                        signature,
                    };
                    let _ = self.nodes[id]
                        .transport
                        .broadcast(ConsensusMsg::Timeout(Box::new(t)));
                }
            }
            Role::Byzantine(Behaviour::BadSignature) => {
                // Undecodable frames straight onto the wire.
                let garbage: Vec<u8> = (0..self.rng.gen_range(0..64))
                    .map(|_| self.rng.r#gen())
                    .collect();
                let from = self.nodes[id].index;
                for to in 0..self.nodes.len() {
                    if to != id {
                        let at = self.now + 1_000;
                        self.schedule(
                            at,
                            SimEvent::Deliver {
                                to,
                                from,
                                bytes: Arc::new(garbage.clone()),
                            },
                        );
                    }
                }
            }
            _ => return,
        }
        self.flush(id, self.now);
        let next = self.now + 50_000;
        self.schedule(next, SimEvent::Tick { node: id });
    }

    /// Routes what a node's transport holds through the network model.
    fn flush(&mut self, id: usize, at: u64) {
        let outgoing = self.nodes[id].transport.take_outgoing();
        let from = self.nodes[id].index;
        for Outgoing { to, message } in outgoing {
            let bytes = Arc::new(message.encode());
            let targets: Vec<usize> = (0..self.nodes.len())
                .filter(|n| *n != id)
                .filter(|n| match &to {
                    Destination::One(v) => self.nodes[*n].index == *v,
                    Destination::AllOthers => self.nodes[*n].index != from,
                })
                .collect();
            for target in targets {
                for when in self.net.deliveries(&mut self.rng, id, target, at) {
                    self.schedule(
                        when,
                        SimEvent::Deliver {
                            to: target,
                            from,
                            bytes: bytes.clone(),
                        },
                    );
                }
            }
        }
    }

    /// Records what honest validators sign (checked for conflicts).
    fn note_signed(&mut self, id: usize, message: &ConsensusMsg, at: u64) {
        if !self.nodes[id].honest() {
            return;
        }
        let (signer, round, block, kind) = match message {
            ConsensusMsg::Vote(v) => (v.voter, v.round, v.block, EquivocationKind::Vote),
            ConsensusMsg::Proposal(p) => match p.fields() {
                Some(f) => {
                    self.proposed_at.entry(p.block_id()).or_insert(at);
                    (
                        f.proposer,
                        f.round,
                        p.block_id(),
                        EquivocationKind::Proposal,
                    )
                }
                None => return,
            },
            _ => return,
        };
        match self.honest_signed.get(&(signer, round, kind)) {
            Some(first) if *first != block => self.violations.push(Violation::HonestConflict {
                validator: signer,
                round,
                kind,
            }),
            Some(_) => {}
            None => {
                self.honest_signed.insert((signer, round, kind), block);
            }
        }
    }

    fn on_commit(
        &mut self,
        id: usize,
        proposal: &Proposal,
        finality: &aether_types::QuorumCert,
        at: u64,
    ) {
        let block = proposal.block_id();
        let height = proposal.header.height;
        self.trace.update(b"commit");
        self.trace.update(&block.0);
        if self.nodes[id].app.commit(proposal, finality).is_err() {
            self.violations
                .push(Violation::CommitRefused { node: id, block });
            return;
        }
        let node = &mut self.nodes[id];
        if height != node.final_height + 1 {
            self.violations.push(Violation::FinalHeightOrder {
                node: id,
                had: node.final_height,
                got: height,
            });
        }
        node.final_height = height;
        if let (Some((mark, _)), None) = (node.stable_mark, node.reached_round)
            && height >= mark + self.plan.target_blocks
        {
            node.reached_round = node.core.as_ref().map(|c| c.round().0);
        }
        if !node.honest() {
            return;
        }
        match self.final_by_height.get(&height) {
            Some(first) if *first != block => self.violations.push(Violation::Safety {
                height,
                first: *first,
                second: block,
            }),
            Some(_) => {}
            None => {
                self.final_by_height.insert(height, block);
            }
        }
        let entry = self.final_at.entry(block).or_insert((at, at, 0));
        entry.1 = entry.1.max(at);
        entry.2 += 1;
    }

    fn on_evidence(&mut self, id: usize, evidence: EquivocationEvidence) {
        if !self.nodes[id].honest() {
            return;
        }
        self.trace.update(b"evidence");
        if verify_evidence(&self.set, &self.config.genesis, &evidence).is_err() {
            self.violations
                .push(Violation::InvalidEvidence { node: id });
            return;
        }
        let accused_honest = self
            .nodes
            .iter()
            .filter(|n| n.index == evidence.offender)
            .all(Node::honest);
        if accused_honest {
            self.violations.push(Violation::FalseEvidence {
                node: id,
                offender: evidence.offender,
            });
        }
        if self
            .evidence
            .insert((evidence.offender, evidence.first.round, evidence.kind))
        {
            self.evidence_count += 1;
        }
    }

    /// Observable Byzantine equivocations without evidence so far: both
    /// statements reached one honest node, or (on a reliable network) a
    /// leader's two proposals reached honest nodes.
    fn missed_evidence(&self) -> Vec<(ValidatorIndex, Round, EquivocationKind)> {
        let mut missed = Vec::new();
        for ((offender, round, kind), blocks) in &self.byzantine_delivered {
            if blocks.len() < 2 || self.evidence.contains(&(*offender, *round, *kind)) {
                continue;
            }
            let sets: Vec<&BTreeSet<usize>> = blocks.values().collect();
            let same_node = sets.iter().enumerate().any(|(i, a)| {
                sets[i + 1..]
                    .iter()
                    .any(|b| a.intersection(b).next().is_some())
            });
            if same_node || (*kind == EquivocationKind::Proposal && self.plan.reliable) {
                missed.push((*offender, *round, *kind));
            }
        }
        missed
    }

    fn finish(mut self) -> RunReport {
        // Every observable Byzantine equivocation yields evidence.
        for (offender, round, kind) in self.missed_evidence() {
            self.violations.push(Violation::MissedEvidence {
                offender,
                round,
                kind,
            });
        }
        // Liveness after the stable point: every live honest node finalizes
        // the target before the deadline, and the first to do so needs at
        // most `liveness_rounds` rounds past the highest round at the
        // stable point (a node that was cut off catches up by fetching one
        // block per round trip; its time is bounded by the deadline).
        let target = self.plan.target_blocks;
        let mut fastest: Option<(usize, u64)> = None;
        for (id, n) in self.nodes.iter().enumerate() {
            if !n.honest() || n.core.is_none() {
                continue;
            }
            let (from_height, top) = n.stable_mark.unwrap_or((0, 0));
            let rounds = n.reached_round.map(|r| r.saturating_sub(top));
            if let Some(r) = rounds
                && fastest.is_none_or(|(_, best)| r < best)
            {
                fastest = Some((id, r));
            }
            if n.final_height < from_height + target {
                self.violations.push(Violation::Liveness {
                    node: id,
                    from_height,
                    to_height: n.final_height,
                    rounds: rounds.unwrap_or(u64::MAX),
                });
            }
        }
        if let Some((id, rounds)) = fastest
            && rounds > self.plan.liveness_rounds
        {
            let n = &self.nodes[id];
            self.violations.push(Violation::Liveness {
                node: id,
                from_height: n.stable_mark.map(|m| m.0).unwrap_or(0),
                to_height: n.final_height,
                rounds,
            });
        }
        let honest_live = self
            .nodes
            .iter()
            .filter(|n| n.honest() && n.core.is_some())
            .count();
        let finality_us = self
            .final_at
            .iter()
            .filter(|(_, (_, _, count))| *count >= honest_live)
            .filter_map(|(block, (first, all, _))| {
                let proposed = self.proposed_at.get(block)?;
                Some((first - proposed, all - proposed))
            })
            .collect();
        let max_round = self
            .nodes
            .iter()
            .filter(|n| n.honest())
            .filter_map(|n| n.core.as_ref().map(|c| c.round().0))
            .max()
            .unwrap_or(0);
        for v in &self.violations {
            self.trace.update(format!("{v:?}").as_bytes());
        }
        RunReport {
            scenario: self.plan.name.clone(),
            seed: self.seed,
            validators: self.plan.validators,
            blocks_finalized: self
                .final_by_height
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0),
            violations: self.violations,
            digest: *self.trace.finalize().as_bytes(),
            sim_time_us: self.now,
            max_round,
            messages: self.messages,
            evidence: self.evidence_count,
            finality_us,
        }
    }
}
