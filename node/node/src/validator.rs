//! The consensus driver of a multi-validator node: the pure consensus core
//! ([`aether_consensus::Core`]) fed by the QUIC network
//! ([`aether_network::Network`]), the round timers and the application
//! ([`ChainLifecycle`]: the ledger over RocksDB).
//!
//! ```text
//!   network inbox ──► Event::Message ─┐
//!   round timers  ──► Event::RoundTimeout ─► Core::handle ─► actions:
//!   app answers   ──► Event::BlockBuilt/Verified ┘             Persist → safety file (synced)
//!                                                             Broadcast → network
//!                                                             Build/Verify → ChainLifecycle
//!                                                             Commit → ChainLifecycle (RocksDB)
//!                                                             Fetch → BlockRequest to a peer
//! ```
//! One task owns the core and the lifecycle, so events are handled one at
//! a time in arrival order; execution runs inline on that task (through
//! `block_in_place`), which is what makes a proposal's state the state
//! the leader built on.
//!
//! # Persistence and restart
//! The safety state is written to `<data_dir>/consensus-safety` (write to a
//! temporary file, fsync, rename, fsync the directory) before any later
//! action of the same batch leaves the node. On start the core is rebuilt
//! from that file and the committed chain in the store.
//!
//! # Block sync
//! Every status tick the driver compares its committed height with its
//! peers' (carried by the network's status messages). A node more than
//! [`SYNC_LAG`] blocks behind asks the most advanced peer for committed
//! blocks by height, and commits the prefix of a response that
//! [`aether_consensus::check_synced_blocks`] proves final on data alone:
//! blocks that extend each other from the committed head, each with a
//! finality QC that verifies (quorum of the set) and certifies a block
//! above it, up to the highest one whose successor in the response a QC
//! of the response certifies at its round + 1 — the two-chain rule (blocks
//! above it wait for the next response or for consensus). Each block is
//! re-executed and must give its header's roots. Then the core is rebuilt
//! on the new committed head.
//!
//! The core's own fetches (a proposal whose ancestors this node lacks) are
//! for short gaps: the driver drops them while no peer's status has
//! arrived yet, and while the best peer is more than `MAX_SYNC_ANCESTORS`
//! (64) blocks ahead. Those gaps are block sync's, which commits each
//! verified batch at once, where fetching would hold the whole gap pending
//! in memory; the core asks again later for a block it still lacks.
//!
//! # Block broadcast
//! The leader's proposals go by Turbine
//! ([`aether_network::Network::broadcast_block`]): cut into erasure-coded
//! shreds (any half of a batch rebuilds it), each Merkle-proven and
//! batch-signed with the leader's node key, sent down stake-weighted fanout
//! trees (directly to everyone while the set is small). Receivers hand the
//! rebuilt proposal to the core as a message from its origin, after checking
//! that the proposal names that origin as its proposer; the core checks the
//! BLS signature and has the block re-executed before it votes. Votes,
//! timeouts and block requests are direct messages.
//!
//! # Transactions
//! Transactions admitted through RPC are announced to the peers by digest
//! ([`aether_network::Network::announce_txs`]); pulled ones are admitted
//! into the pool like RPC submissions. Whoever leads a round builds from
//! its pool.
//!
//! # Staking and equivocation reports
//! The chain is a staking chain from its genesis (`crate::genesis`): blocks
//! execute with their header's proposer, QC signers and VRF output, so the
//! ledger pays fees to the validators that made each block. When the core
//! finds a validator that signed two different blocks in one round
//! (`Action::Evidence`), the driver submits a `ReportEquivocation`
//! transaction signed by the node key, paying its fee from the node key's
//! coins and naming the node key's address for the reporter's reward; it
//! skips an offender the committed state already tombstoned and one whose
//! report from this node still waits in the pool. The ledger slashes
//! `slash_bps` of the offender's stake and tombstones it (the first report
//! included wins; the others are refused).
//!
//! With `[consensus] fault_injection`, `aether_debugSetFaults {equivocate:
//! true}` makes this node Byzantine for tests: beside each vote it signs a
//! second one in the same round for a made-up block.
//!
//! # Not yet here
//! Epoch changes: consensus keeps the genesis set (epoch 0) for the chain's
//! life, while the ledger closes an epoch every `epoch_length` blocks
//! (3,600); from epoch 1 on the ledger no longer attributes blocks (their
//! headers say epoch 0: fees are burned) and a slashed validator, removed
//! from the ledger's next set, still votes. The simulation covers epoch
//! changes; the driver's switch to the ledger's set at each epoch's last
//! block is the next step.

use crate::chain::NodeChain;
use crate::config::{ConsensusConfig, NodeConfig};
use crate::error::NodeError;
use crate::lifecycle::{ChainLifecycle, ConsensusRecord, encode_payload};
use aether_chain_api::{
    BlockLifecycle, BuildRequest, CommittedBlock, SyncError, SyncSource, SyncStatus,
};
use aether_consensus::{
    Action, Config, Core, Event, Restore, SafetyState, ValidatorInfo, ValidatorSet, VerifyMemo,
};
use aether_network::{Network, NetworkConfig, Peer};
use aether_rpc::backend::TxSubmitter;
use aether_rpc_types::dto::{ConsensusStatusDto, LeaderDto};
use aether_types::*;
use borsh::BorshDeserialize;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Blocks behind the best peer before block sync starts.
pub const SYNC_LAG: u64 = 2;

/// Blocks asked per sync request.
const SYNC_BATCH: u16 = 64;

/// Interval of status updates and sync checks.
const TICK: Duration = Duration::from_millis(100);

/// Longest a transaction admitted here waits before it is announced to the
/// peers (announcements are batched: one frame per peer for many).
const ANNOUNCE_DELAY: Duration = Duration::from_millis(5);

/// Transactions announced at once without waiting for `ANNOUNCE_DELAY`.
const ANNOUNCE_BATCH: usize = 1024;

/// The started driver.
pub struct ValidatorHandle {
    /// The driver task.
    pub task: tokio::task::JoinHandle<Result<(), NodeError>>,
    /// The network (shut down after the driver).
    pub network: Network,
}

fn task_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Task {
        reason: e.to_string(),
    }
}

/// The members of the genesis set, in index order.
fn set_infos(config: &NodeConfig) -> Vec<ValidatorInfo> {
    config
        .genesis
        .validators
        .iter()
        .map(|v| ValidatorInfo {
            public_key: v.bls_key,
            proof_of_possession: v.proof_of_possession,
            stake: v.stake,
        })
        .collect()
}

/// The validator set of the genesis.
pub fn genesis_set(config: &NodeConfig) -> Result<ValidatorSet, NodeError> {
    ValidatorSet::new(Epoch(0), &set_infos(config)).map_err(|e| NodeError::Config {
        reason: format!("genesis.validators: {e}"),
    })
}

/// The proposal a block rebuilt from shreds carries, if it is one signed
/// (at the shred level) by its proposer: Turbine checked every shred's
/// proof and the batch signatures of `origin`'s node key; the proposal's
/// own BLS signature and contents are the core's and the lifecycle's to
/// check before any vote.
fn turbine_proposal(block: &aether_network::ReassembledBlock) -> Option<ConsensusMsg> {
    let proposal = match Proposal::decode(&block.bytes) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(origin = block.origin.0, error = %e, "undecodable block from shreds");
            return None;
        }
    };
    if proposal.fields().map(|f| f.proposer) != Some(block.origin) {
        tracing::warn!(
            origin = block.origin.0,
            "a block from shreds names another proposer"
        );
        return None;
    }
    Some(ConsensusMsg::Proposal(Box::new(proposal)))
}

/// The fault plan of a validator whose config asks for one (a link delay
/// or runtime fault control), or `None`.
pub fn fault_plan(config: &NodeConfig, consensus: &ConsensusConfig) -> Option<Arc<NodeFaults>> {
    if consensus.link_delay_ms == 0 && !consensus.fault_injection {
        return None;
    }
    let key = config.validator_key.public_key().0;
    let seed = u64::from_le_bytes(key[..8].try_into().expect("8 bytes"));
    let faults = NodeFaults {
        plan: Arc::new(aether_network::Faults::new(seed)),
        validators: config.genesis.validators.len(),
        links: Mutex::new(Links {
            delay_ms: consensus.link_delay_ms,
            ..Links::default()
        }),
        partition: Mutex::new(None),
    };
    faults.apply_links();
    Some(Arc::new(faults))
}

/// A validator's fault injection: the network's plan and the settings in
/// force, changed at runtime through `aether_debugSetFaults` when the
/// config enables it.
pub struct NodeFaults {
    plan: Arc<aether_network::Faults>,
    validators: usize,
    links: Mutex<Links>,
    partition: Mutex<Option<Vec<Vec<u16>>>>,
}

/// The faults of every link.
#[derive(Clone, Copy, Debug, Default)]
struct Links {
    delay_ms: u64,
    /// Probability that a frame (any lane) is lost.
    loss: f64,
    /// Fraction of each shred batch lost, exactly (the first shreds of
    /// each batch of 64 sent to a peer).
    shred_loss: f64,
    /// Sign a second, conflicting vote beside each vote.
    equivocate: bool,
}

/// Shreds per batch (the period of `shredLoss`).
const SHREDS_PER_BATCH: u32 = 64;

impl NodeFaults {
    /// The plan to hand to the network.
    pub fn plan(&self) -> Arc<aether_network::Faults> {
        Arc::clone(&self.plan)
    }

    /// Whether this node double-votes (`equivocate`).
    pub fn equivocates(&self) -> bool {
        self.links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .equivocate
    }

    fn apply_links(&self) {
        use aether_network::{Lane, LinkFault, Loss};
        let links = *self.links.lock().unwrap_or_else(|p| p.into_inner());
        let (loss, lossy_lanes) = if links.shred_loss > 0.0 {
            let drop = (links.shred_loss * f64::from(SHREDS_PER_BATCH)).round() as u32;
            (
                Loss::Periodic {
                    drop,
                    every: SHREDS_PER_BATCH,
                },
                vec![Lane::Shred],
            )
        } else if links.loss > 0.0 {
            (Loss::Random(links.loss), Lane::ALL.to_vec())
        } else {
            (Loss::None, Lane::ALL.to_vec())
        };
        self.plan.set_default(LinkFault {
            delay: Duration::from_millis(links.delay_ms),
            loss,
            lossy_lanes,
        });
    }

    fn current(&self) -> aether_rpc_types::dto::FaultsDto {
        let links = *self.links.lock().unwrap_or_else(|p| p.into_inner());
        aether_rpc_types::dto::FaultsDto {
            partition: self
                .partition
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            delay_ms: Some(links.delay_ms),
            loss: Some(links.loss),
            shred_loss: Some(links.shred_loss),
            equivocate: Some(links.equivocate),
        }
    }
}

impl aether_rpc::debug::FaultControl for NodeFaults {
    fn set_faults(
        &self,
        faults: &aether_rpc_types::dto::FaultsDto,
    ) -> Result<aether_rpc_types::dto::FaultsDto, String> {
        for (name, value) in [("loss", faults.loss), ("shredLoss", faults.shred_loss)] {
            if let Some(p) = value
                && !(0.0..=1.0).contains(&p)
            {
                return Err(format!("{name} {p} is not a probability (0 to 1)"));
            }
        }
        let mut links = *self.links.lock().unwrap_or_else(|p| p.into_inner());
        links.delay_ms = faults.delay_ms.unwrap_or(links.delay_ms);
        links.loss = faults.loss.unwrap_or(links.loss);
        links.shred_loss = faults.shred_loss.unwrap_or(links.shred_loss);
        links.equivocate = faults.equivocate.unwrap_or(links.equivocate);
        if links.loss > 0.0 && links.shred_loss > 0.0 {
            return Err("loss and shredLoss cannot both be set (set one to 0)".into());
        }
        if let Some(groups) = &faults.partition {
            let mut seen = std::collections::BTreeSet::new();
            for v in groups.iter().flatten() {
                if usize::from(*v) >= self.validators {
                    return Err(format!(
                        "partition: validator {v} is not one of the {} validators",
                        self.validators
                    ));
                }
                if !seen.insert(*v) {
                    return Err(format!("partition: validator {v} is in two groups"));
                }
            }
        }
        match &faults.partition {
            Some(groups) if groups.is_empty() => {
                self.plan.heal();
                *self.partition.lock().unwrap_or_else(|p| p.into_inner()) = None;
                tracing::warn!("fault injection: no partition");
            }
            Some(groups) => {
                self.plan.partition(
                    groups
                        .iter()
                        .map(|g| g.iter().map(|v| ValidatorIndex(*v)).collect())
                        .collect(),
                );
                *self.partition.lock().unwrap_or_else(|p| p.into_inner()) = Some(groups.clone());
                tracing::warn!(?groups, "fault injection: partitioned");
            }
            None => {}
        }
        *self.links.lock().unwrap_or_else(|p| p.into_inner()) = links;
        self.apply_links();
        tracing::warn!(?links, "fault injection: links");
        Ok(self.current())
    }
}

/// What the network serves to syncing peers.
struct StoreSync {
    chain: Arc<NodeChain>,
    highest_qc: Arc<Mutex<QuorumCert>>,
}

/// The committed block at `height` as proposed, with its finality QC, from
/// the store (block + consensus record).
pub fn committed_block(chain: &NodeChain, height: u64) -> Option<CommittedBlock> {
    let store = chain.store();
    let block = store.block_by_height(height).ok()??;
    let record = store.consensus_record(height).ok()??;
    let record = ConsensusRecord::try_from_slice(&record).ok()?;
    let payload = BoundedBytes::new(encode_payload(&block.transactions)).ok()?;
    Some(CommittedBlock {
        proposal: Proposal {
            header: block.header,
            payload,
            signature: record.signature,
        },
        finality: record.finality,
    })
}

impl SyncSource for StoreSync {
    fn status(&self) -> SyncStatus {
        SyncStatus {
            committed_height: self.chain.height(),
            highest_qc: self
                .highest_qc
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    fn committed_blocks(
        &self,
        from_height: u64,
        max_blocks: usize,
        max_bytes: usize,
    ) -> Result<Vec<CommittedBlock>, SyncError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let top = self.chain.height();
        let mut height = from_height.max(1);
        while height <= top && out.len() < max_blocks {
            let Some(block) = committed_block(&self.chain, height) else {
                break;
            };
            bytes += block.proposal.payload.len() + 1024;
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(block);
            height += 1;
        }
        Ok(out)
    }
}

fn safety_path(data_dir: &Path) -> PathBuf {
    data_dir.join("consensus-safety")
}

/// Writes the safety state durably (temporary file, fsync, rename, fsync
/// of the directory).
fn persist_safety(data_dir: &Path, state: &SafetyState) -> Result<(), NodeError> {
    use std::io::Write;
    let io = |context: &str| {
        let context = context.to_string();
        move |source| NodeError::Io { context, source }
    };
    let path = safety_path(data_dir);
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io("create safety file"))?;
    f.write_all(&state.encode())
        .map_err(io("write safety file"))?;
    f.sync_all().map_err(io("sync safety file"))?;
    std::fs::rename(&tmp, &path).map_err(io("rename safety file"))?;
    std::fs::File::open(data_dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync data dir"))?;
    Ok(())
}

fn read_safety(data_dir: &Path) -> Result<Option<SafetyState>, NodeError> {
    match std::fs::read(safety_path(data_dir)) {
        Ok(bytes) => SafetyState::decode(&bytes)
            .map(Some)
            .map_err(|e| NodeError::Config {
                reason: format!(
                    "{} is damaged ({e}); a validator must not sign without it",
                    safety_path(data_dir).display()
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(NodeError::Io {
            context: "read the safety file".into(),
            source,
        }),
    }
}

/// A committed block as the core replays it on a restart: the header
/// alone (the core reads the parent, height and consensus fields).
fn header_only(header: BlockHeader) -> Proposal {
    Proposal {
        header,
        payload: BoundedBytes::default(),
        signature: BlsSignatureBytes::ZERO,
    }
}

/// Header-only copies of the committed chain after genesis (what the core
/// replays on a restart; payloads are not needed).
fn committed_headers(chain: &NodeChain) -> Result<Vec<Proposal>, NodeError> {
    let mut out = Vec::new();
    for height in 1..=chain.height() {
        let header = chain
            .store()
            .header(height)?
            .ok_or_else(|| NodeError::Task {
                reason: format!("committed header {height} missing"),
            })?;
        out.push(header_only(header));
    }
    Ok(out)
}

struct Driver {
    chain: Arc<NodeChain>,
    app: ChainLifecycle,
    core: Core,
    config: Config,
    me: ValidatorIndex,
    key: aether_crypto::bls::SecretKey,
    set: ValidatorSet,
    memo: VerifyMemo,
    network: Network,
    data_dir: PathBuf,
    timers: BTreeMap<Round, Instant>,
    queue: VecDeque<Event>,
    committed: Vec<Proposal>,
    highest_qc: Arc<Mutex<QuorumCert>>,
    status: Arc<Mutex<ConsensusStatusDto>>,
    fetch_turn: usize,
    synced_blocks: u64,
    /// Longest wait for transactions before an empty block is built.
    block_time: Duration,
    /// A build the leader holds back while its pool is empty.
    delayed_build: Option<(Instant, Round, BuildRequest)>,
    /// The node key: signs equivocation reports and pays their fees.
    node_key: aether_crypto::ed25519::Keypair,
    /// Validator ids by index (the ledger's names of the set's members).
    ids: Vec<ValidatorId>,
    /// The last report submitted per offender.
    reports: BTreeMap<ValidatorIndex, TxId>,
    /// Fault injection in force, if any (`equivocate` is read here).
    faults: Option<Arc<NodeFaults>>,
}

/// Starts the network and the consensus driver of a validator node.
pub fn start(
    chain: Arc<NodeChain>,
    config: &NodeConfig,
    consensus: &ConsensusConfig,
    faults: Option<&Arc<NodeFaults>>,
    stop: watch::Receiver<bool>,
) -> Result<ValidatorHandle, NodeError> {
    let set = genesis_set(config)?;
    let me = config
        .genesis
        .validators
        .iter()
        .position(|v| v.node_key == config.validator_key.public_key())
        .ok_or_else(|| NodeError::Config {
            reason: "the validator key is not one of genesis.validators".into(),
        })?;
    let me = ValidatorIndex(u16::try_from(me).map_err(task_error)?);
    if set.key(me) != Some(&consensus.bls_key.public_key()) {
        return Err(NodeError::Config {
            reason: format!("the BLS key is not validator {}'s key in the genesis", me.0),
        });
    }
    // The ledger's set of epoch 0 (from the genesis state, while the
    // ledger keeps it) is the same set in the same order: the ledger
    // attributes blocks, and checks equivocation evidence, by these indices.
    let ledger_set = aether_ledger::staking::epoch_set(chain.store(), Epoch(0))
        .map_err(|e| task_error(format!("reading the epoch-0 set: {e}")))?;
    if ledger_set
        .as_ref()
        .is_some_and(|s| aether_ledger::staking::validator_infos(s) != set_infos(config))
    {
        return Err(NodeError::Genesis {
            reason: "the state's validator set of epoch 0 is not genesis.validators".into(),
        });
    }
    let genesis_block = chain
        .store()
        .header(0)?
        .ok_or_else(|| task_error("no genesis block"))?
        .hash();
    let mut core_config = Config::new(genesis_block, Epoch(0), config.genesis.epoch_seed());
    core_config.base_timeout_ms = consensus.base_timeout_ms;
    core_config.max_timeout_ms = consensus.max_timeout_ms;
    let committed = committed_headers(&chain)?;
    let memo = VerifyMemo::new();
    let core = Core::new(
        core_config.clone(),
        me,
        consensus.bls_key.clone(),
        set.clone(),
        memo.clone(),
        Restore {
            safety: read_safety(&config.data_dir)?,
            committed: committed.clone(),
        },
    )
    .map_err(|e| task_error(format!("consensus state: {e}")))?;
    let highest_qc = Arc::new(Mutex::new(core.safety().highest_qc.clone()));
    let peers: Vec<Peer> = config
        .genesis
        .validators
        .iter()
        .zip(&consensus.peers)
        .enumerate()
        .map(|(i, (v, addr))| Peer {
            index: ValidatorIndex(i as u16),
            key: v.node_key,
            addr: *addr,
            stake: v.stake,
        })
        .collect();
    let sync = Arc::new(StoreSync {
        chain: Arc::clone(&chain),
        highest_qc: Arc::clone(&highest_qc),
    });
    let mut network_config = NetworkConfig::new(consensus.listen, peers);
    if let Some(faults) = faults {
        network_config.faults = Some(faults.plan());
        tracing::warn!(
            delay_ms = consensus.link_delay_ms,
            runtime_control = consensus.fault_injection,
            "fault injection on: frames this node sends pass through its fault plan"
        );
    }
    let (network, inbox) = Network::start(
        &config.validator_key,
        network_config,
        Some(sync as Arc<dyn SyncSource>),
    )
    .map_err(|e| task_error(format!("network: {e}")))?;
    tracing::info!(validator = me.0, listen = %consensus.listen, validators = set.len(), "consensus network started");
    let (gossip_tx, gossip_rx) = mpsc::channel(65_536);
    chain.set_gossip(gossip_tx);
    let status = Arc::new(Mutex::new(ConsensusStatusDto {
        validator_index: me.0,
        validators: set.len() as u16,
        ..ConsensusStatusDto::default()
    }));
    chain.set_consensus_status(Arc::clone(&status));
    let driver = Driver {
        app: ChainLifecycle::new(
            Arc::clone(&chain),
            config.max_block_txs,
            config.max_block_bytes,
        ),
        chain,
        core,
        config: core_config,
        me,
        key: consensus.bls_key.clone(),
        set,
        memo,
        network: network.clone(),
        data_dir: config.data_dir.clone(),
        timers: BTreeMap::new(),
        queue: VecDeque::new(),
        committed,
        highest_qc,
        status,
        fetch_turn: 0,
        synced_blocks: 0,
        block_time: Duration::from_millis(config.block_time_ms.min(consensus.base_timeout_ms / 2)),
        delayed_build: None,
        node_key: config.validator_key.clone(),
        ids: config
            .genesis
            .validators
            .iter()
            .map(|v| ValidatorId::of(&v.bls_key))
            .collect(),
        reports: BTreeMap::new(),
        faults: faults.cloned(),
    };
    let task = tokio::spawn(driver.run(inbox, gossip_rx, stop));
    Ok(ValidatorHandle { task, network })
}

impl Driver {
    async fn run(
        mut self,
        mut inbox: aether_network::Inbox,
        mut gossip: mpsc::Receiver<Vec<u8>>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), NodeError> {
        self.handle(Event::Start)?;
        let mut announce: Vec<Vec<u8>> = Vec::new();
        let mut announce_at: Option<Instant> = None;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.timers.values().min().copied();
            let build_at = self.delayed_build.as_ref().map(|(at, _, _)| *at);
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                Some(inbound) = inbox.consensus.recv() => {
                    if let ConsensusMsg::BlockRequest(request) = &inbound.message {
                        self.serve(inbound.from, *request);
                    } else {
                        self.handle(Event::Message { from: inbound.from, message: inbound.message })?;
                    }
                }
                Some(tx) = inbox.txs.recv() => {
                    if self.chain.admit(&tx.bytes).is_ok() && self.delayed_build.is_some() {
                        // A leader waiting for transactions has one.
                        self.build_delayed()?;
                    }
                }
                Some(block) = inbox.blocks.recv() => {
                    if let Some(message) = turbine_proposal(&block) {
                        self.handle(Event::Message { from: block.origin, message })?;
                    }
                }
                Some(_) = inbox.events.recv() => {}
                _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await }, if deadline.is_some() => {
                    let now = Instant::now();
                    let due: Vec<Round> = self.timers.iter().filter(|(_, at)| **at <= now).map(|(r, _)| *r).collect();
                    for round in due {
                        self.timers.remove(&round);
                        self.handle(Event::RoundTimeout { round })?;
                    }
                }
                _ = async { tokio::time::sleep_until(build_at.unwrap_or_else(Instant::now)).await }, if build_at.is_some() => {
                    self.build_delayed()?;
                }
                Some(tx) = gossip.recv() => {
                    // Announced within ANNOUNCE_DELAY of the first one
                    // waiting, or at once when ANNOUNCE_BATCH are waiting.
                    if self.delayed_build.is_some() {
                        // Admitted here while this node leads and waits.
                        self.build_delayed()?;
                    }
                    announce.push(tx);
                    while announce.len() < ANNOUNCE_BATCH {
                        let Ok(tx) = gossip.try_recv() else { break };
                        announce.push(tx);
                    }
                    if announce.len() >= ANNOUNCE_BATCH {
                        let _ = self.network.announce_txs(std::mem::take(&mut announce));
                        announce_at = None;
                    } else if announce_at.is_none() {
                        announce_at = Some(Instant::now() + ANNOUNCE_DELAY);
                    }
                }
                _ = async { tokio::time::sleep_until(announce_at.unwrap_or_else(Instant::now)).await }, if announce_at.is_some() => {
                    announce_at = None;
                    let _ = self.network.announce_txs(std::mem::take(&mut announce));
                }
                _ = tick.tick() => {
                    if self.delayed_build.is_some() && self.chain.mempool_len() > 0 {
                        self.build_delayed()?;
                    }
                    self.maybe_sync().await?;
                    self.publish_status();
                }
            }
        }
    }

    /// Feeds one event and every event its actions produce.
    fn handle(&mut self, event: Event) -> Result<(), NodeError> {
        self.queue.push_back(event);
        while let Some(event) = self.queue.pop_front() {
            let actions = self.core.handle(event);
            for action in actions {
                self.execute(action)?;
            }
        }
        *self.highest_qc.lock().unwrap_or_else(|p| p.into_inner()) =
            self.core.safety().highest_qc.clone();
        Ok(())
    }

    fn execute(&mut self, action: Action) -> Result<(), NodeError> {
        match action {
            Action::Persist(state) => {
                let dir = self.data_dir.clone();
                tokio::task::block_in_place(|| persist_safety(&dir, &state))?;
            }
            Action::Broadcast(ConsensusMsg::Proposal(proposal)) => {
                // Blocks go by Turbine (see the module docs): shredded off
                // this task, sent while the driver goes on.
                let network = self.network.clone();
                let bytes = proposal.encode();
                tokio::spawn(async move {
                    if let Err(e) = network.broadcast_block(bytes).await {
                        tracing::warn!(error = %e, "block broadcast failed");
                    }
                });
            }
            Action::Broadcast(message) => {
                let double = match &message {
                    ConsensusMsg::Vote(vote)
                        if self.faults.as_ref().is_some_and(|f| f.equivocates()) =>
                    {
                        Some(self.conflicting_vote(vote))
                    }
                    _ => None,
                };
                if let Err(e) = self.network.broadcast(message) {
                    tracing::debug!(error = %e, "broadcast incomplete");
                }
                if let Some(vote) = double {
                    tracing::warn!(round = vote.round.0, "fault injection: equivocating");
                    let _ = self.network.broadcast(ConsensusMsg::Vote(vote));
                }
            }
            Action::ScheduleTimeout { round, after_ms } => {
                self.timers.retain(|r, _| *r >= round);
                self.timers
                    .insert(round, Instant::now() + Duration::from_millis(after_ms));
            }
            Action::BuildBlock {
                round,
                parent,
                height,
                consensus,
            } => {
                let request = BuildRequest {
                    parent,
                    height,
                    timestamp_ms: crate::service::now_ms(),
                    consensus,
                };
                if self.chain.mempool_len() == 0 && !self.block_time.is_zero() {
                    // Nothing to include: wait for transactions (or the
                    // block time) rather than fill the chain with empty blocks.
                    self.delayed_build = Some((Instant::now() + self.block_time, round, request));
                } else {
                    self.build(round, request)?;
                }
            }
            Action::VerifyBlock { header, payload } => {
                let block = header.hash();
                let result = tokio::task::block_in_place(|| self.app.verify(&header, &payload));
                let valid = match result {
                    Ok(()) => true,
                    Err(aether_chain_api::LifecycleError::Storage(e)) => {
                        return Err(task_error(format!("verifying a block: {e}")));
                    }
                    Err(e) => {
                        tracing::warn!(%block, error = %e, "proposal refused");
                        false
                    }
                };
                self.queue.push_back(Event::BlockVerified { block, valid });
            }
            Action::Commit {
                proposal,
                finality,
                vrf_output: _,
            } => {
                let height = proposal.header.height;
                tokio::task::block_in_place(|| self.app.commit(&proposal, &finality))
                    .map_err(|e| task_error(format!("committing block {height}: {e}")))?;
                self.committed.push(header_only(proposal.header.clone()));
                tracing::debug!(height, block = %proposal.block_id(), "final");
            }
            Action::Evidence(evidence) => {
                tracing::warn!(?evidence, "equivocation observed");
                self.report(evidence);
            }
            Action::Fetch { .. } if self.leave_to_sync() => {
                // Block sync brings what is missing (see the module docs);
                // the core asks again later if it still lacks the block.
            }
            Action::Fetch {
                block,
                ancestors,
                from,
            } => {
                let candidates: Vec<ValidatorIndex> =
                    from.into_iter().filter(|v| *v != self.me).collect();
                if !candidates.is_empty() {
                    self.fetch_turn = self.fetch_turn.wrapping_add(1);
                    let to = candidates[self.fetch_turn % candidates.len()];
                    let _ = self.network.send(
                        to,
                        ConsensusMsg::BlockRequest(BlockRequest { block, ancestors }),
                    );
                }
            }
        }
        Ok(())
    }

    /// A vote of this node in `vote`'s round for a made-up block, validly
    /// signed: what an equivocating validator sends (fault injection only).
    fn conflicting_vote(&self, vote: &Vote) -> Vote {
        let mut other = vote.clone();
        other.block = BlockHash(tagged_hash("aether/fault-fake-block", &[&vote.block.0]).0);
        other.signature = BlsSignatureBytes(
            self.key
                .sign(
                    aether_crypto::bls::Domain::Vote,
                    &aether_consensus::signing::block_message(
                        &self.config.genesis,
                        &other.block_ref(),
                    ),
                )
                .to_bytes(),
        );
        other
    }

    /// Submits `evidence` in a transaction signed by the node key (see
    /// the module docs), unless the offender is already tombstoned or a
    /// report of it still waits in the pool. Failures are logged: another
    /// validator's report slashes as well.
    fn report(&mut self, evidence: EquivocationEvidence) {
        let offender = evidence.offender;
        let Some(id) = self.ids.get(usize::from(offender.0)).copied() else {
            return;
        };
        let store = self.chain.store();
        if let Ok(Some(Object::Validator(v))) = store.object(&ObjectKey::Validator(id))
            && v.tombstoned
        {
            return;
        }
        if let Some(pending) = self.reports.get(&offender)
            && self.chain.pending_transaction(pending).is_some()
        {
            return;
        }
        let me = Address::Key(self.node_key.key_hash());
        let coins: Vec<aether_client::builder::Utxo> = match store.utxos_by_address(&me) {
            Ok(utxos) => utxos
                .iter()
                .map(|(op, out)| aether_client::builder::Utxo::new(*op, out))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the node key's coins to report an equivocation");
                return;
            }
        };
        let action = aether_types::Action::ReportEquivocation(Box::new(ReportEquivocation {
            evidence,
            reporter: me,
        }));
        let tx = aether_client::builder::TxBuilder::new(&self.chain.ledger().params().tx_params())
            .action(action)
            .change_to(me)
            .signer(&self.node_key)
            .fund_from(&coins);
        let submitted = tx
            .map_err(|e| e.to_string())
            .and_then(|tx| self.chain.submit(&tx.encode()).map_err(|e| e.to_string()));
        match submitted {
            Ok(tx) => {
                tracing::warn!(offender = offender.0, %tx, "equivocation reported");
                self.reports.insert(offender, tx);
            }
            Err(e) => {
                tracing::warn!(offender = offender.0, error = %e, "cannot report an equivocation")
            }
        }
    }

    fn build_delayed(&mut self) -> Result<(), NodeError> {
        if let Some((_, round, mut request)) = self.delayed_build.take()
            && round == self.core.round()
        {
            request.timestamp_ms = crate::service::now_ms();
            self.build(round, request)?;
            let queued: Vec<Event> = self.queue.drain(..).collect();
            for event in queued {
                self.handle(event)?;
            }
        }
        Ok(())
    }

    fn build(&mut self, round: Round, request: BuildRequest) -> Result<(), NodeError> {
        match tokio::task::block_in_place(|| self.app.build(&request)) {
            Ok(built) => self.queue.push_back(Event::BlockBuilt {
                round,
                header: built.header,
                payload: built.payload,
            }),
            Err(aether_chain_api::LifecycleError::Storage(e)) => {
                return Err(task_error(format!("building a block: {e}")));
            }
            Err(e) => tracing::warn!(error = %e, "cannot build a block"),
        }
        Ok(())
    }

    /// Answers a peer's block request from the core's pending blocks or the
    /// store: the block, then up to `ancestors` ancestors, newest first.
    fn serve(&mut self, to: ValidatorIndex, request: BlockRequest) {
        let wanted = 1 + usize::from(
            request
                .ancestors
                .min(aether_types::consensus::MAX_SYNC_ANCESTORS),
        );
        let mut blocks: Vec<Proposal> = Vec::new();
        let mut cursor = request.block;
        while blocks.len() < wanted {
            let found = self.core.pending_block(&cursor).cloned().or_else(|| {
                let height = self.app.committed_height(&cursor)?;
                self.app.committed_at(height)
            });
            let Some(p) = found else { break };
            if p.header.height == 0 {
                break;
            }
            cursor = p.header.parent_hash;
            blocks.push(p);
        }
        if !blocks.is_empty() {
            let _ = self.network.send(to, ConsensusMsg::BlockResponse(blocks));
        }
    }

    /// Block sync (see the module docs).
    /// The peer with the highest committed height, and that height, from
    /// the peers' status messages (`None` before any arrived).
    fn best_peer(&self) -> Option<(ValidatorIndex, u64)> {
        self.set
            .indices()
            .filter(|v| *v != self.me)
            .filter_map(|v| Some((v, self.network.peer_status(v)?.committed_height)))
            .max_by_key(|(_, h)| *h)
    }

    /// Whether missing blocks are left to block sync rather than fetched
    /// through consensus: before any peer's status arrived (a restarted
    /// node does not yet know how far behind it is), or when the best
    /// peer's committed height is more than `MAX_SYNC_ANCESTORS` above
    /// ours (block sync commits such a gap in verified batches; fetching
    /// would hold all of it pending).
    fn leave_to_sync(&self) -> bool {
        let limit = u64::from(aether_types::consensus::MAX_SYNC_ANCESTORS);
        self.best_peer()
            .is_none_or(|(_, height)| height > self.chain.height() + limit)
    }

    async fn maybe_sync(&mut self) -> Result<(), NodeError> {
        let mine = self.chain.height();
        let Some((peer, height)) = self.best_peer() else {
            return Ok(());
        };
        if height <= mine + SYNC_LAG {
            return Ok(());
        }
        let blocks = match self
            .network
            .request_blocks(peer, mine + 1, SYNC_BATCH)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(peer = peer.0, error = %e, "block sync request failed");
                return Ok(());
            }
        };
        let Some(head) = self.chain.store().tip().map(|t| t.hash) else {
            return Ok(());
        };
        let pairs: Vec<(&Proposal, &QuorumCert)> =
            blocks.iter().map(|b| (&b.proposal, &b.finality)).collect();
        let core = &mut self.core;
        let proven =
            aether_consensus::check_synced_blocks(head, &pairs, |qc| core.verify_quorum_cert(qc));
        if let Some(refusal) = &proven.refusal {
            tracing::warn!(peer = peer.0, %refusal, "sync: block refused");
        }
        let mut committed = 0u64;
        for b in &blocks[..proven.accepted] {
            let verified = tokio::task::block_in_place(|| {
                self.app
                    .verify(&b.proposal.header, b.proposal.payload.as_slice())
                    .and_then(|()| self.app.commit(&b.proposal, &b.finality))
            });
            match verified {
                Ok(()) => {
                    committed += 1;
                    self.committed.push(header_only(b.proposal.header.clone()));
                }
                Err(aether_chain_api::LifecycleError::Storage(e)) => {
                    return Err(task_error(format!("sync commit: {e}")));
                }
                Err(e) => {
                    tracing::warn!(peer = peer.0, error = %e, "sync: block refused");
                    break;
                }
            }
        }
        if committed > 0 {
            self.synced_blocks += committed;
            tracing::info!(
                peer = peer.0,
                blocks = committed,
                height = self.chain.height(),
                "caught up by block sync"
            );
            self.app.clear_pending();
            self.rebuild_core()?;
        }
        Ok(())
    }

    /// A fresh core on the new committed head, keeping the safety state.
    fn rebuild_core(&mut self) -> Result<(), NodeError> {
        let safety = self.core.safety().clone();
        self.core = Core::new(
            self.config.clone(),
            self.me,
            self.key.clone(),
            self.set.clone(),
            self.memo.clone(),
            Restore {
                safety: Some(safety),
                committed: self.committed.clone(),
            },
        )
        .map_err(|e| task_error(format!("consensus state after sync: {e}")))?;
        self.timers.clear();
        self.handle(Event::Start)
    }

    fn publish_status(&self) {
        let safety = self.core.safety();
        let parent = safety.highest_qc.block;
        let round = self.core.round();
        let leaders = (0..5u64)
            .filter_map(|i| {
                let r = Round(round.0 + i);
                self.core.leader(&parent, r).map(|l| LeaderDto {
                    round: r.0,
                    leader: l.0,
                })
            })
            .collect();
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.round = round.0;
        status.highest_qc_round = safety.highest_qc.round.0;
        status.connected_peers = self.network.connected_peers().iter().map(|v| v.0).collect();
        status.leaders = leaders;
        status.synced_blocks = self.synced_blocks;
        status.blocks_from_shreds = self.network.stats().blocks_rebuilt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_network::faults::Verdict;
    use aether_network::{Faults, Lane};
    use aether_rpc::debug::FaultControl;
    use aether_rpc_types::dto::FaultsDto;

    fn faults() -> NodeFaults {
        NodeFaults {
            plan: Arc::new(Faults::new(7)),
            validators: 4,
            links: Mutex::new(Links::default()),
            partition: Mutex::new(None),
        }
    }

    fn verdict(f: &NodeFaults, from: u16, to: u16) -> Verdict {
        f.plan
            .decide(ValidatorIndex(from), ValidatorIndex(to), Lane::Consensus)
    }

    /// A proposal by `proposer` (contents need not be valid: the core
    /// checks those).
    fn proposal_by(proposer: u16) -> Proposal {
        let genesis = BlockHash([7; 32]);
        Proposal {
            header: BlockHeader {
                version: HEADER_VERSION,
                chain_id: ChainId(1),
                height: 1,
                timestamp_ms: 1,
                parent_hash: genesis,
                tx_root: Digest([0; 32]),
                receipts_root: Digest([0; 32]),
                state_root: Digest([0; 32]),
                data_root: Digest([0; 32]),
                consensus: ConsensusFields::HotStuff(Box::new(ProposalFields {
                    epoch: Epoch(0),
                    round: Round(1),
                    proposer: ValidatorIndex(proposer),
                    justify: QuorumCert::genesis(Epoch(0), genesis),
                    timeout_cert: None,
                    vrf_proof: BlsSignatureBytes::ZERO,
                })),
            },
            payload: BoundedBytes::new(vec![1, 2, 3]).unwrap(),
            signature: BlsSignatureBytes::ZERO,
        }
    }

    fn rebuilt(origin: u16, bytes: Vec<u8>) -> aether_network::ReassembledBlock {
        aether_network::ReassembledBlock {
            origin: ValidatorIndex(origin),
            id: Digest([0; 32]),
            bytes,
        }
    }

    #[test]
    fn a_block_from_shreds_is_its_origins_decodable_proposal() {
        let proposal = proposal_by(2);
        match turbine_proposal(&rebuilt(2, proposal.encode())) {
            Some(ConsensusMsg::Proposal(p)) => assert_eq!(*p, proposal),
            other => panic!("expected the proposal, got {other:?}"),
        }
        // Signed (at the shred level) by another validator than the one
        // it names as proposer: dropped.
        assert!(turbine_proposal(&rebuilt(1, proposal.encode())).is_none());
        // Bytes that are not a proposal, or a truncated one: dropped.
        assert!(turbine_proposal(&rebuilt(2, vec![0xff; 40])).is_none());
        let mut cut = proposal.encode();
        cut.truncate(cut.len() - 1);
        assert!(turbine_proposal(&rebuilt(2, cut)).is_none());
        // A header without HotStuff fields names no proposer.
        let mut dev = proposal;
        dev.header.consensus = ConsensusFields::SingleValidator {
            proposer: PublicKey([2; 32]),
        };
        assert!(turbine_proposal(&rebuilt(2, dev.encode())).is_none());
    }

    #[test]
    fn runtime_faults_are_checked_then_applied() {
        let f = faults();
        let split = FaultsDto {
            partition: Some(vec![vec![0, 1], vec![2, 3]]),
            ..FaultsDto::default()
        };
        let now = f.set_faults(&split).unwrap();
        assert_eq!(now.partition, split.partition);
        assert_eq!(verdict(&f, 0, 1), Verdict::Deliver);
        assert_eq!(verdict(&f, 1, 2), Verdict::Drop);
        // Each refusal leaves the partition in force.
        for (bad, why) in [
            (vec![vec![0, 4]], "not one of the 4 validators"),
            (vec![vec![0, 1], vec![1, 2]], "in two groups"),
        ] {
            let e = f
                .set_faults(&FaultsDto {
                    partition: Some(bad),
                    ..FaultsDto::default()
                })
                .unwrap_err();
            assert!(e.contains(why), "{e}");
            assert_eq!(verdict(&f, 1, 2), Verdict::Drop);
        }
        for loss in [-0.1, 1.5, f64::NAN] {
            let e = f
                .set_faults(&FaultsDto {
                    loss: Some(loss),
                    ..split.clone()
                })
                .unwrap_err();
            assert!(e.contains("not a probability"), "{e}");
        }
        // A delay alone leaves the partition; an empty partition heals; the
        // delay stays when a later call names only a partition.
        let now = f
            .set_faults(&FaultsDto {
                delay_ms: Some(50),
                ..FaultsDto::default()
            })
            .unwrap();
        assert_eq!(
            (now.partition, now.delay_ms),
            (split.partition.clone(), Some(50))
        );
        assert_eq!(verdict(&f, 1, 2), Verdict::Drop);
        let now = f
            .set_faults(&FaultsDto {
                partition: Some(vec![]),
                ..FaultsDto::default()
            })
            .unwrap();
        assert_eq!((now.partition, now.delay_ms), (None, Some(50)));
        assert_eq!(verdict(&f, 1, 2), Verdict::Delay(Duration::from_millis(50)));
        let now = f.set_faults(&split).unwrap();
        assert_eq!(now.delay_ms, Some(50));
        assert_eq!(verdict(&f, 0, 1), Verdict::Delay(Duration::from_millis(50)));
        // Certain loss drops every frame.
        f.set_faults(&FaultsDto {
            loss: Some(1.0),
            ..FaultsDto::default()
        })
        .unwrap();
        assert_eq!(verdict(&f, 0, 1), Verdict::Drop);
        // Shred loss needs random loss off; then exactly half of each batch
        // of shreds to a peer is lost, the first half, and other lanes
        // lose nothing.
        let e = f
            .set_faults(&FaultsDto {
                shred_loss: Some(0.5),
                ..FaultsDto::default()
            })
            .unwrap_err();
        assert!(e.contains("cannot both"), "{e}");
        f.set_faults(&FaultsDto {
            loss: Some(0.0),
            shred_loss: Some(0.5),
            delay_ms: Some(0),
            ..FaultsDto::default()
        })
        .unwrap();
        let shreds: Vec<Verdict> = (0..128)
            .map(|_| {
                f.plan
                    .decide(ValidatorIndex(0), ValidatorIndex(1), Lane::Shred)
            })
            .collect();
        for batch in shreds.chunks(64) {
            assert!(batch[..32].iter().all(|v| *v == Verdict::Drop));
            assert!(batch[32..].iter().all(|v| *v == Verdict::Deliver));
        }
        assert_eq!(verdict(&f, 0, 1), Verdict::Deliver);
        // Equivocation: off by default, on when asked, kept by calls that
        // do not name it, off again when asked.
        assert!(!f.equivocates());
        let now = f
            .set_faults(&FaultsDto {
                equivocate: Some(true),
                ..FaultsDto::default()
            })
            .unwrap();
        assert_eq!(now.equivocate, Some(true));
        assert!(f.equivocates());
        f.set_faults(&FaultsDto {
            delay_ms: Some(0),
            ..FaultsDto::default()
        })
        .unwrap();
        assert!(f.equivocates());
        f.set_faults(&FaultsDto {
            equivocate: Some(false),
            ..FaultsDto::default()
        })
        .unwrap();
        assert!(!f.equivocates());
    }
}
