//! The running network: a QUIC endpoint, one connection per validator pair,
//! per-peer lanes, and the handlers of every message kind.
//!
//! # Tasks
//! ```text
//!  accept loop ──► handshake ──► serve_connection ◄── dialer (one per higher-index peer;
//!                                 │                     redial with back-off)
//!                                 ├── 3 lane writers: bounded queue ──► one QUIC uni stream each
//!                                 │   (priority consensus > shred > bulk)
//!                                 └── stream readers: frame ──► rate limit ──► dispatch
//!  status ticker: SyncSource::status() ──► every peer, every `status_interval`
//! ```
//! Every task is tracked and ends on [`Network::shutdown`] (which closes
//! the endpoint and waits for them).
//!
//! # Connections
//! Validators `i < j`: `i` dials `j`, `j` accepts only from lower indices,
//! so no two connections race for one pair. A new connection from the
//! rightful dialler **replaces** the old one (the dialler only dials when
//! it has no connection, so a new one means the old one is dead on its
//! side, e.g. after a restart); a connection from a higher index is closed
//! (`WRONG_DIALER`). A node whose key is not in the validator set is a
//! read-only full node: it dials every validator, and validators accept it
//! only with `accept_full_nodes`.
//!
//! A peer that restarts (same key, hence same stateless-reset key) resets
//! the old connection on the next packet it receives for it. While it was
//! down, though, the dialler's probes back off exponentially, so that
//! packet may be minutes away on a loaded machine. The dialler therefore
//! also watches its connection: after `silence_redial` with no datagram
//! received (keep-alives make a live peer answer every `keep_alive`), it
//! dials a fresh connection beside the silent one, at most once per
//! keep-alive interval; the first that comes up replaces it. A spurious
//! redial (a live but stalled peer) only costs the frames in flight.
//!
//! # Queues
//! Each peer has three bounded queues (consensus, shred, bulk), kept
//! across reconnects, each drained by its own writer onto its own QUIC
//! stream with a stream priority, so votes never wait behind transactions
//! or shreds, and a full transaction queue never blocks a vote. A full
//! queue refuses (`QueueFull`) rather than waits, except for the
//! leader's own shreds, which wait (bounded by `dial_timeout`) for space on
//! connected peers.

use crate::config::{NetworkConfig, Peer};
use crate::error::{FrameError, NetworkError, ShredError};
use crate::fanout::FanoutSet;
use crate::faults::Verdict;
use crate::frame::{
    BlocksRequest, FRAME_HEADER_LEN, FrameLimits, Lane, MAX_DIGESTS, MAX_SYNC_BLOCKS, Message,
    parse_header,
};
use crate::gossip::{GossipLimits, ReceivedTx, TxGossip};
use crate::ratelimit::{Admission, Offence, PeerLimiter};
use crate::shred::make_shreds;
use crate::tls::{KnownClients, NodeIdentity, SERVER_NAME, certificate_key};
use crate::turbine::{ReassembledBlock, TurbineLimits, TurbineReceiver};
use aether_chain_api::{CommittedBlock, Inbound, SyncSource, SyncStatus};
use aether_crypto::ed25519::{Keypair, ParsedPublicKey};
use aether_types::{ConsensusMsg, Digest, PublicKey, ValidatorIndex};
use bytes::Bytes;
use quinn::{Connection, Endpoint, VarInt};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// QUIC application close codes.
pub mod close {
    /// The node shut down.
    pub const SHUTDOWN: u32 = 0;
    /// A newer connection of the same pair replaced this one.
    pub const REPLACED: u32 = 1;
    /// The connection came from the peer that should have been dialled.
    pub const WRONG_DIALER: u32 = 2;
    /// The peer misbehaved (or is banned).
    pub const MISBEHAVIOUR: u32 = 3;
    /// The peer broke the framing of a stream.
    pub const FRAMING: u32 = 4;
    /// No room for another full node.
    pub const FULL: u32 = 5;
}

/// Who is at the other end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerId {
    /// A validator.
    Validator(ValidatorIndex),
    /// A read-only full node, by key.
    FullNode(PublicKey),
}

/// Connection events and peers' statuses, for the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// A connection came up.
    Connected(PeerId),
    /// The peer's connection went down and no other replaced it (a
    /// replaced connection ends without this event).
    Disconnected(PeerId),
    /// A peer's sync status.
    Status {
        /// Who.
        from: PeerId,
        /// Its status.
        status: SyncStatus,
    },
}

/// What the network hands to the node: one bounded channel per kind, so a
/// flood of one kind never delays another (a full channel drops, counted
/// in [`NetworkStats::inbox_dropped`]).
#[derive(Debug)]
pub struct Inbox {
    /// Consensus messages from validators, already decoded and checked to
    /// come from their signer (see [`crate::transport`]).
    pub consensus: mpsc::Receiver<Inbound<ConsensusMsg>>,
    /// Blocks rebuilt from shreds (verify before voting).
    pub blocks: mpsc::Receiver<ReassembledBlock>,
    /// New transactions pulled from peers (verify before use).
    pub txs: mpsc::Receiver<ReceivedTx>,
    /// Connections and statuses.
    pub events: mpsc::Receiver<PeerEvent>,
}

/// Counters of the network (a snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkStats {
    /// Frames received and admitted.
    pub frames_in: u64,
    /// Frames dropped by the rate limiter.
    pub rate_limited: u64,
    /// Offences recorded (undecodable frames, forged shreds, ...).
    pub offences: u64,
    /// Peers disconnected and banned for misbehaviour.
    pub peers_dropped: u64,
    /// Connections refused after the handshake (wrong dialler, banned, full).
    pub connections_refused: u64,
    /// Connections established.
    pub connections: u64,
    /// Shreds accepted (first copy, checked).
    pub shreds_accepted: u64,
    /// Shreds refused (bad proof, signature, origin, ...).
    pub shreds_rejected: u64,
    /// Shreds forwarded down a tree.
    pub shreds_forwarded: u64,
    /// Blocks rebuilt from shreds.
    pub blocks_rebuilt: u64,
    /// Transaction pulls sent (digests requested).
    pub tx_pulled: u64,
    /// Transactions delivered to the node.
    pub txs_delivered: u64,
    /// Messages dropped because an inbox or a peer queue was full.
    pub inbox_dropped: u64,
    /// Fresh dials beside a connection silent for `silence_redial`.
    pub silence_redials: u64,
}

#[derive(Default)]
struct Stats {
    frames_in: AtomicU64,
    rate_limited: AtomicU64,
    offences: AtomicU64,
    peers_dropped: AtomicU64,
    connections_refused: AtomicU64,
    connections: AtomicU64,
    shreds_accepted: AtomicU64,
    shreds_rejected: AtomicU64,
    shreds_forwarded: AtomicU64,
    blocks_rebuilt: AtomicU64,
    tx_pulled: AtomicU64,
    txs_delivered: AtomicU64,
    inbox_dropped: AtomicU64,
    silence_redials: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One peer: its queues (kept across reconnects) and its connection.
struct PeerSlot {
    id: PeerId,
    key: PublicKey,
    addr: Option<SocketAddr>,
    lanes: [mpsc::Sender<Bytes>; 3],
    receivers: [Arc<tokio::sync::Mutex<mpsc::Receiver<Bytes>>>; 3],
    conn: Mutex<Option<Connection>>,
    status: Mutex<Option<SyncStatus>>,
    banned_until: Mutex<Option<Instant>>,
    serving: AtomicUsize,
}

impl PeerSlot {
    fn new(id: PeerId, key: PublicKey, addr: Option<SocketAddr>, caps: [usize; 3]) -> Self {
        let (a, ra) = mpsc::channel(caps[0].max(1));
        let (b, rb) = mpsc::channel(caps[1].max(1));
        let (c, rc) = mpsc::channel(caps[2].max(1));
        PeerSlot {
            id,
            key,
            addr,
            lanes: [a, b, c],
            receivers: [ra, rb, rc].map(|r| Arc::new(tokio::sync::Mutex::new(r))),
            conn: Mutex::new(None),
            status: Mutex::new(None),
            banned_until: Mutex::new(None),
            serving: AtomicUsize::new(0),
        }
    }

    fn connected(&self) -> bool {
        lock(&self.conn)
            .as_ref()
            .is_some_and(|c| c.close_reason().is_none())
    }

    fn banned(&self, now: Instant) -> Option<Duration> {
        lock(&self.banned_until)
            .filter(|t| *t > now)
            .map(|t| t - now)
    }
}

struct Outboxes {
    consensus: mpsc::Sender<Inbound<ConsensusMsg>>,
    blocks: mpsc::Sender<ReassembledBlock>,
    txs: mpsc::Sender<ReceivedTx>,
    events: mpsc::Sender<PeerEvent>,
}

/// A sync request waiting for its response.
type PendingSync = oneshot::Sender<Vec<CommittedBlock>>;

struct Shared {
    config: NetworkConfig,
    identity: NodeIdentity,
    me: Option<ValidatorIndex>,
    endpoint: Endpoint,
    transport: Arc<quinn::TransportConfig>,
    slots: HashMap<ValidatorIndex, Arc<PeerSlot>>,
    by_key: HashMap<PublicKey, ValidatorIndex>,
    full_nodes: Mutex<HashMap<PublicKey, Arc<PeerSlot>>>,
    turbine: Mutex<TurbineReceiver>,
    fanout: FanoutSet,
    gossip: Mutex<TxGossip>,
    pending: Mutex<HashMap<(PeerId, u64), PendingSync>>,
    next_request: AtomicU64,
    sync: Option<Arc<dyn SyncSource>>,
    out: Outboxes,
    stats: Stats,
    limits: FrameLimits,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

/// A handle on the running network (cheap to clone; see the module docs).
#[derive(Clone)]
pub struct Network {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Network({:?} at {:?})",
            self.shared.me,
            self.local_addr()
        )
    }
}

fn transport_config(config: &NetworkConfig) -> Result<quinn::TransportConfig, NetworkError> {
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(config.keep_alive));
    t.max_idle_timeout(Some(
        config
            .idle_timeout
            .try_into()
            .map_err(|_| NetworkError::Config("idle timeout too long".into()))?,
    ));
    t.initial_rtt(config.initial_rtt);
    // Three lanes per direction, one spare; no bidirectional streams.
    t.max_concurrent_uni_streams(VarInt::from_u32(4));
    t.max_concurrent_bidi_streams(VarInt::from_u32(0));
    t.datagram_receive_buffer_size(None);
    t.stream_receive_window(VarInt::from_u32(8 * 1024 * 1024));
    t.receive_window(VarInt::from_u32(32 * 1024 * 1024));
    t.send_window(32 * 1024 * 1024);
    Ok(t)
}

impl Network {
    /// Starts the network of the node whose key is `key`: binds
    /// `config.listen`, accepts and dials the validators of `config.peers`,
    /// and serves block sync from `sync` (if given). Must be called inside
    /// a Tokio runtime. Returns the handle and the node's inbox.
    pub fn start(
        key: &Keypair,
        config: NetworkConfig,
        sync: Option<Arc<dyn SyncSource>>,
    ) -> Result<(Network, Inbox), NetworkError> {
        let identity = NodeIdentity::new(key)?;
        let my_key = identity.public_key();
        let mut by_key = HashMap::new();
        let mut parsed = HashMap::new();
        for p in &config.peers {
            if by_key.insert(p.key, p.index).is_some() {
                return Err(NetworkError::Config(format!(
                    "key of {:?} listed twice",
                    p.index
                )));
            }
            let k = ParsedPublicKey::parse(&p.key)
                .map_err(|e| NetworkError::Config(format!("key of {:?}: {e}", p.index)))?;
            if parsed.insert(p.index, k).is_some() {
                return Err(NetworkError::Config(format!("{:?} listed twice", p.index)));
            }
        }
        let me = by_key.get(&my_key).copied();
        let caps = [
            config.consensus_queue,
            config.shred_queue,
            config.bulk_queue,
        ];
        let slots: HashMap<ValidatorIndex, Arc<PeerSlot>> = config
            .peers
            .iter()
            .filter(|p| Some(p.index) != me)
            .map(|p: &Peer| {
                (
                    p.index,
                    Arc::new(PeerSlot::new(
                        PeerId::Validator(p.index),
                        p.key,
                        Some(p.addr),
                        caps,
                    )),
                )
            })
            .collect();
        let transport = Arc::new(transport_config(&config)?);
        let clients = Arc::new(KnownClients::new(
            config.peers.iter().map(|p| p.key),
            config.accept_full_nodes,
        ));
        let server_tls = identity.server_config(clients)?;
        let quic_server = quinn::crypto::rustls::QuicServerConfig::try_from(server_tls)
            .map_err(|e| NetworkError::Tls(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic_server));
        server.transport_config(transport.clone());
        server.migration(false);
        let socket =
            std::net::UdpSocket::bind(config.listen).map_err(|source| NetworkError::Socket {
                addr: config.listen,
                source,
            })?;
        let endpoint = Endpoint::new(
            identity.endpoint_config(),
            // A full node accepts nobody.
            me.is_some().then_some(server),
            socket,
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(|source| NetworkError::Socket {
            addr: config.listen,
            source,
        })?;
        let fanout = FanoutSet::new(
            config.peers.iter().map(|p| (p.index, p.stake)).collect(),
            config.fanout,
        );
        let turbine = TurbineReceiver::new(
            me,
            parsed,
            fanout.clone(),
            TurbineLimits {
                max_block_len: config.max_block_len,
                max_blocks: config.max_blocks_in_flight,
            },
        );
        let gossip = TxGossip::new(GossipLimits {
            seen: config.tx_seen,
            store: config.tx_store,
            store_bytes: config.tx_store_bytes,
            pull_timeout: config.tx_pull_timeout,
        });
        let (consensus_tx, consensus) = mpsc::channel(config.inbox.max(1));
        let (blocks_tx, blocks) = mpsc::channel(64);
        let (txs_tx, txs) = mpsc::channel(config.inbox.max(1));
        let (events_tx, events) = mpsc::channel(1024);
        let limits = FrameLimits {
            max_consensus: config.max_message_len,
            max_bulk: config.max_message_len,
        };
        let shared = Arc::new(Shared {
            identity,
            me,
            endpoint,
            transport,
            slots,
            by_key,
            full_nodes: Mutex::new(HashMap::new()),
            turbine: Mutex::new(turbine),
            fanout,
            gossip: Mutex::new(gossip),
            pending: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(1),
            sync,
            out: Outboxes {
                consensus: consensus_tx,
                blocks: blocks_tx,
                txs: txs_tx,
                events: events_tx,
            },
            stats: Stats::default(),
            limits,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            config,
        });
        let s = shared.clone();
        shared.tasks.spawn(accept_loop(s));
        for slot in shared.slots.values() {
            let dial = match (me, slot.id) {
                (None, _) => true,
                (Some(me), PeerId::Validator(v)) => me < v,
                _ => false,
            };
            if dial {
                shared.tasks.spawn(dial_loop(shared.clone(), slot.clone()));
            }
        }
        if shared.sync.is_some() {
            shared.tasks.spawn(status_loop(shared.clone()));
        }
        Ok((
            Network { shared },
            Inbox {
                consensus,
                blocks,
                txs,
                events,
            },
        ))
    }

    /// This node's validator index (`None` for a full node).
    pub fn me(&self) -> Option<ValidatorIndex> {
        self.shared.me
    }

    /// This node's key.
    pub fn public_key(&self) -> PublicKey {
        self.shared.identity.public_key()
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.endpoint.local_addr().ok()
    }

    /// Validators with a live connection.
    pub fn connected_peers(&self) -> Vec<ValidatorIndex> {
        let mut v: Vec<ValidatorIndex> = self
            .shared
            .slots
            .iter()
            .filter(|(_, s)| s.connected())
            .map(|(i, _)| *i)
            .collect();
        v.sort();
        v
    }

    /// Full nodes with a live connection.
    pub fn connected_full_nodes(&self) -> Vec<PublicKey> {
        lock(&self.shared.full_nodes)
            .values()
            .filter(|s| s.connected())
            .map(|s| s.key)
            .collect()
    }

    /// The QUIC connection to a validator (for diagnostics and tests).
    pub fn connection(&self, peer: ValidatorIndex) -> Option<Connection> {
        self.shared
            .slots
            .get(&peer)
            .and_then(|s| lock(&s.conn).clone())
    }

    /// The last status a validator sent.
    pub fn peer_status(&self, peer: ValidatorIndex) -> Option<SyncStatus> {
        self.shared
            .slots
            .get(&peer)
            .and_then(|s| lock(&s.status).clone())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> NetworkStats {
        let s = &self.shared.stats;
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NetworkStats {
            frames_in: g(&s.frames_in),
            rate_limited: g(&s.rate_limited),
            offences: g(&s.offences),
            peers_dropped: g(&s.peers_dropped),
            connections_refused: g(&s.connections_refused),
            connections: g(&s.connections),
            shreds_accepted: g(&s.shreds_accepted),
            shreds_rejected: g(&s.shreds_rejected),
            shreds_forwarded: g(&s.shreds_forwarded),
            blocks_rebuilt: g(&s.blocks_rebuilt),
            tx_pulled: g(&s.tx_pulled),
            txs_delivered: g(&s.txs_delivered),
            inbox_dropped: g(&s.inbox_dropped),
            silence_redials: g(&s.silence_redials),
        }
    }

    /// Queues a consensus message for one validator (sent directly).
    pub fn send(&self, to: ValidatorIndex, message: ConsensusMsg) -> Result<(), NetworkError> {
        self.shared.me.ok_or(NetworkError::ReadOnly)?;
        let slot = self
            .shared
            .slots
            .get(&to)
            .ok_or(NetworkError::UnknownPeer(to))?;
        let frame = Message::Consensus(message).encode();
        self.shared.enqueue(slot, Lane::Consensus, frame)
    }

    /// Queues a consensus message for every other validator (each sent
    /// directly). Every peer is tried; the first error is returned.
    pub fn broadcast(&self, message: ConsensusMsg) -> Result<(), NetworkError> {
        self.shared.me.ok_or(NetworkError::ReadOnly)?;
        let frame = Message::Consensus(message).encode();
        let mut result = Ok(());
        for slot in self.shared.slots.values() {
            if let Err(e) = self.shared.enqueue(slot, Lane::Consensus, frame.clone())
                && result.is_ok()
            {
                result = Err(e);
            }
        }
        result
    }

    /// Broadcasts a block by Turbine: shreds it (off the event loop),
    /// signs each batch root with the node key, and sends each shred to
    /// the first level of its tree. Waits for queue space on connected
    /// peers (a peer whose queue stays full for `dial_timeout` is skipped
    /// for the rest of the block). Returns the block id receivers report.
    pub async fn broadcast_block(&self, bytes: Vec<u8>) -> Result<Digest, NetworkError> {
        let me = self.shared.me.ok_or(NetworkError::ReadOnly)?;
        if bytes.len() as u64 > self.shared.config.max_block_len {
            return Err(NetworkError::Shred(ShredError::BlockTooLarge {
                len: bytes.len() as u64,
                max: self.shared.config.max_block_len,
            }));
        }
        let key = self.shared.identity.keypair().clone();
        let (id, shreds) = tokio::task::spawn_blocking(move || make_shreds(me, &key, &bytes))
            .await
            .map_err(|_| NetworkError::Closed)??;
        let mut skipped: Vec<ValidatorIndex> = Vec::new();
        for shred in shreds {
            let frame = Message::Shred(shred.encode()).encode();
            for to in self
                .shared
                .fanout
                .targets(me, me, &shred.block, shred.batch, shred.index)
            {
                let Some(slot) = self.shared.slots.get(&to) else {
                    continue;
                };
                if skipped.contains(&to) || !slot.connected() {
                    continue;
                }
                if !self
                    .shared
                    .enqueue_wait(slot, Lane::Shred, frame.clone())
                    .await
                {
                    skipped.push(to);
                }
            }
            if self.shared.cancel.is_cancelled() {
                return Err(NetworkError::Closed);
            }
        }
        Ok(id)
    }

    /// Offers transactions to the validators: each new one (by gossip
    /// digest) is stored for pulls and announced. Returns the digests of
    /// all of them.
    pub fn announce_txs(&self, txs: Vec<Vec<u8>>) -> Result<Vec<Digest>, NetworkError> {
        self.shared.me.ok_or(NetworkError::ReadOnly)?;
        let mut all = Vec::with_capacity(txs.len());
        let mut new = Vec::new();
        {
            let mut g = lock(&self.shared.gossip);
            for tx in txs {
                let (d, fresh) = g.add_local(tx);
                all.push(d);
                if fresh {
                    new.push(d);
                }
            }
        }
        for chunk in new.chunks(MAX_DIGESTS) {
            let frame = Message::TxAnnounce(chunk.to_vec()).encode();
            for slot in self.shared.slots.values() {
                let _ = self.shared.enqueue(slot, Lane::Bulk, frame.clone());
            }
        }
        Ok(all)
    }

    /// Asks a validator for up to `count` (1..=64) committed blocks from
    /// `from_height`, and waits for the answer (`request_timeout`). The
    /// blocks are not verified: see `aether_chain_api::sync`.
    pub async fn request_blocks(
        &self,
        peer: ValidatorIndex,
        from_height: u64,
        count: u16,
    ) -> Result<Vec<CommittedBlock>, NetworkError> {
        let slot = self
            .shared
            .slots
            .get(&peer)
            .ok_or(NetworkError::UnknownPeer(peer))?;
        if !slot.connected() {
            return Err(NetworkError::NotConnected(peer));
        }
        let id = self.shared.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert((slot.id, id), tx);
        let frame = Message::BlocksRequest(BlocksRequest {
            id,
            from_height,
            count: count.clamp(1, MAX_SYNC_BLOCKS),
        })
        .encode();
        let sent = self.shared.enqueue(slot, Lane::Bulk, frame);
        let result = match sent {
            Ok(()) => match tokio::time::timeout(self.shared.config.request_timeout, rx).await {
                Ok(Ok(blocks)) => Ok(blocks),
                Ok(Err(_)) => Err(NetworkError::Closed),
                Err(_) => Err(NetworkError::Timeout),
            },
            Err(e) => Err(e),
        };
        lock(&self.shared.pending).remove(&(slot.id, id));
        result
    }

    /// Stops every task, closes every connection and the endpoint, and
    /// waits until all of them are gone (the UDP port is free afterwards).
    pub async fn shutdown(&self) {
        let s = &self.shared;
        s.cancel.cancel();
        s.endpoint
            .close(VarInt::from_u32(close::SHUTDOWN), b"shutdown");
        s.tasks.close();
        s.tasks.wait().await;
        for slot in s.slots.values() {
            lock(&slot.conn).take();
        }
        lock(&s.full_nodes).clear();
        let _ = tokio::time::timeout(Duration::from_secs(2), s.endpoint.wait_idle()).await;
    }
}

impl Shared {
    /// Queues a frame for a peer, through the fault plan if there is one.
    fn enqueue(&self, slot: &PeerSlot, lane: Lane, frame: Bytes) -> Result<(), NetworkError> {
        let Some(frame) = self.apply_faults(slot, lane, frame, false) else {
            return Ok(());
        };
        slot.lanes[lane as usize]
            .try_send(frame)
            .map_err(|e| match (e, slot.id) {
                (mpsc::error::TrySendError::Full(_), PeerId::Validator(v)) => {
                    NetworkError::QueueFull(v)
                }
                _ => NetworkError::Closed,
            })
    }

    /// Like [`Shared::enqueue`] but waits (up to `dial_timeout`) for queue
    /// space; `false` if it gave up.
    async fn enqueue_wait(&self, slot: &PeerSlot, lane: Lane, frame: Bytes) -> bool {
        let Some(frame) = self.apply_faults(slot, lane, frame, true) else {
            return true;
        };
        let send = slot.lanes[lane as usize].send(frame);
        matches!(
            tokio::time::timeout(self.config.dial_timeout, send).await,
            Ok(Ok(()))
        )
    }

    /// The fault plan's verdict on a frame to a validator: `Some(frame)`
    /// to send it now; `None` when it was dropped, or handed to a task that
    /// queues it after the link's delay (its own task per frame, so a
    /// delay is the link's latency, not a wait of the sender per frame: a
    /// block's shreds would otherwise leave one delay apart). A delayed
    /// frame of a `waiting` sender waits up to `dial_timeout` for queue
    /// space, as the sender would have.
    fn apply_faults(
        &self,
        slot: &PeerSlot,
        lane: Lane,
        frame: Bytes,
        waiting: bool,
    ) -> Option<Bytes> {
        let (Some(faults), Some(me), PeerId::Validator(to)) =
            (&self.config.faults, self.me, slot.id)
        else {
            return Some(frame);
        };
        match faults.decide(me, to, lane) {
            Verdict::Deliver => Some(frame),
            Verdict::Drop => None,
            Verdict::Delay(d) => {
                let tx = slot.lanes[lane as usize].clone();
                let cancel = self.cancel.clone();
                let limit = self.config.dial_timeout;
                self.tasks.spawn(async move {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {
                            if waiting {
                                let _ = tokio::time::timeout(limit, tx.send(frame)).await;
                            } else {
                                let _ = tx.try_send(frame);
                            }
                        }
                        _ = cancel.cancelled() => {}
                    }
                });
                None
            }
        }
    }

    fn event(&self, e: PeerEvent) {
        if self.out.events.try_send(e).is_err() {
            bump(&self.stats.inbox_dropped);
        }
    }

    fn status_frame(&self) -> Option<Bytes> {
        self.sync
            .as_ref()
            .map(|s| Message::Status(s.status()).encode())
    }

    fn refuse(&self, conn: &Connection, code: u32, reason: &[u8]) {
        bump(&self.stats.connections_refused);
        conn.close(VarInt::from_u32(code), reason);
    }

    fn ban(&self, slot: &PeerSlot, conn: &Connection) {
        *lock(&slot.banned_until) = Some(Instant::now() + self.config.rate.ban);
        bump(&self.stats.peers_dropped);
        conn.close(VarInt::from_u32(close::MISBEHAVIOUR), b"misbehaviour");
    }
}

async fn accept_loop(shared: Arc<Shared>) {
    loop {
        let incoming = tokio::select! {
            i = shared.endpoint.accept() => i,
            _ = shared.cancel.cancelled() => None,
        };
        let Some(incoming) = incoming else {
            break;
        };
        let s = shared.clone();
        shared.tasks.spawn(async move {
            let handshake = tokio::time::timeout(s.config.dial_timeout, incoming);
            let conn = tokio::select! {
                c = handshake => c,
                _ = s.cancel.cancelled() => return,
            };
            if let Ok(Ok(conn)) = conn {
                accepted(s, conn).await;
            }
        });
    }
}

fn peer_key(conn: &Connection) -> Option<PublicKey> {
    let certs = conn
        .peer_identity()?
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .ok()?;
    certificate_key(certs.first()?).ok()
}

async fn accepted(shared: Arc<Shared>, conn: Connection) {
    let Some(key) = peer_key(&conn) else {
        return shared.refuse(&conn, close::MISBEHAVIOUR, b"no key");
    };
    if key == shared.identity.public_key() {
        return shared.refuse(&conn, close::MISBEHAVIOUR, b"own key");
    }
    match shared.by_key.get(&key) {
        Some(index) => {
            let Some(slot) = shared.slots.get(index).cloned() else {
                return;
            };
            let rightful = shared.me.is_some_and(|me| *index < me);
            if !rightful {
                return shared.refuse(&conn, close::WRONG_DIALER, b"the lower index dials");
            }
            if slot.banned(Instant::now()).is_some() {
                return shared.refuse(&conn, close::MISBEHAVIOUR, b"banned");
            }
            serve_connection(shared, slot, conn).await;
        }
        None => {
            if !shared.config.accept_full_nodes {
                return shared.refuse(&conn, close::MISBEHAVIOUR, b"unknown key");
            }
            let slot = {
                let mut full = lock(&shared.full_nodes);
                full.retain(|_, s| s.connected());
                if full
                    .get(&key)
                    .is_some_and(|s| s.banned(Instant::now()).is_some())
                {
                    drop(full);
                    return shared.refuse(&conn, close::MISBEHAVIOUR, b"banned");
                }
                if full.len() >= shared.config.max_full_nodes && !full.contains_key(&key) {
                    drop(full);
                    return shared.refuse(&conn, close::FULL, b"no room for full nodes");
                }
                full.entry(key)
                    .or_insert_with(|| {
                        Arc::new(PeerSlot::new(PeerId::FullNode(key), key, None, [1, 1, 64]))
                    })
                    .clone()
            };
            serve_connection(shared, slot, conn).await;
        }
    }
}

async fn dial_loop(shared: Arc<Shared>, slot: Arc<PeerSlot>) {
    let Some(addr) = slot.addr else {
        return;
    };
    let mut delay = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shared.cancel.cancelled() => return,
        }
        if let Some(left) = slot.banned(Instant::now()) {
            delay = left;
            continue;
        }
        let started = Instant::now();
        match dial(&shared, &slot, addr).await {
            Some(conn) => {
                serve_dialled(&shared, &slot, addr, conn).await;
                // A connection that lived a while is redialled at once (the
                // peer restarted); one that died at birth backs off.
                delay = if started.elapsed() > Duration::from_secs(1) {
                    Duration::ZERO
                } else {
                    shared.config.redial_min
                };
            }
            None => {
                delay = (delay * 2)
                    .max(shared.config.redial_min)
                    .min(shared.config.redial_max);
            }
        }
        if shared.cancel.is_cancelled() {
            return;
        }
    }
}

async fn dial(shared: &Shared, slot: &PeerSlot, addr: SocketAddr) -> Option<Connection> {
    let tls = shared.identity.client_config(slot.key).ok()?;
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).ok()?;
    let mut client = quinn::ClientConfig::new(Arc::new(quic));
    client.transport_config(shared.transport.clone());
    let connecting = shared
        .endpoint
        .connect_with(client, addr, SERVER_NAME)
        .ok()?;
    let confirmed = async {
        let conn = connecting.await.ok()?;
        confirm(&conn).await.then_some(conn)
    };
    tokio::select! {
        c = tokio::time::timeout(shared.config.dial_timeout, confirmed) => c.ok()?,
        _ = shared.cancel.cancelled() => None,
    }
}

/// How often a dialled connection is looked at until its handshake is
/// confirmed.
const CONFIRM_POLL: Duration = Duration::from_millis(1);

/// Waits until the server confirmed a dialled connection's handshake (its
/// HANDSHAKE_DONE frame arrived, RFC 9001 section 4.1.2); `false` if the
/// connection closed first. A client's handshake completes before the
/// server has checked the client's certificate: until confirmation, a
/// server that refuses our key (we are not in its set) may still close the
/// connection, so it does not count as a peer before. quinn 0.11 exposes
/// confirmation only through the frame counters, hence the poll.
async fn confirm(conn: &Connection) -> bool {
    loop {
        if conn.stats().frame_rx.handshake_done > 0 {
            return true;
        }
        if conn.close_reason().is_some() {
            return false;
        }
        tokio::select! {
            _ = conn.closed() => return false,
            _ = tokio::time::sleep(CONFIRM_POLL) => {}
        }
    }
}

/// Serves a connection this node dialled until it closes, dialling a
/// fresh one beside it while it is silent (see the module docs); a fresh
/// one that comes up replaces it and is served the same way.
async fn serve_dialled(
    shared: &Arc<Shared>,
    slot: &Arc<PeerSlot>,
    addr: SocketAddr,
    conn: Connection,
) {
    let Some(threshold) = shared.config.silence_redial else {
        return serve_connection(shared.clone(), slot.clone(), conn).await;
    };
    let mut conn = conn;
    loop {
        let serve = serve_connection(shared.clone(), slot.clone(), conn.clone());
        tokio::pin!(serve);
        let mut watch = SilenceWatch::new(received(&conn), Instant::now(), threshold);
        let mut tick = tokio::time::interval(shared.config.keep_alive);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let fresh = loop {
            tokio::select! {
                _ = &mut serve => return,
                _ = tick.tick() => {}
            }
            if !watch.silent(received(&conn), Instant::now()) {
                continue;
            }
            bump(&shared.stats.silence_redials);
            let dialled = tokio::select! {
                d = dial(shared, slot, addr) => d,
                _ = &mut serve => return,
            };
            if let Some(fresh) = dialled {
                break fresh;
            }
        };
        // The old connection's server is dropped (its stream readers are
        // tasks of their own and end when it closes); serving the fresh one
        // closes it as replaced.
        conn = fresh;
    }
}

/// UDP datagrams received on a connection so far.
fn received(conn: &Connection) -> u64 {
    conn.stats().udp_rx.datagrams
}

/// Whether a connection has been silent: fed the count of datagrams
/// received at each sample, it says when that count has not moved for the
/// threshold. Pure, so it is tested without sockets.
#[derive(Debug)]
struct SilenceWatch {
    count: u64,
    since: Instant,
    threshold: Duration,
}

impl SilenceWatch {
    fn new(count: u64, now: Instant, threshold: Duration) -> Self {
        SilenceWatch {
            count,
            since: now,
            threshold,
        }
    }

    /// Records a sample; true when nothing arrived for the threshold.
    fn silent(&mut self, count: u64, now: Instant) -> bool {
        if count != self.count {
            self.count = count;
            self.since = now;
            return false;
        }
        now.saturating_duration_since(self.since) >= self.threshold
    }
}

/// Runs one connection until it closes: installs it in the slot (closing
/// the one it replaces), starts the lane writers, reads streams.
async fn serve_connection(shared: Arc<Shared>, slot: Arc<PeerSlot>, conn: Connection) {
    if let Some(old) = lock(&slot.conn).replace(conn.clone()) {
        old.close(VarInt::from_u32(close::REPLACED), b"replaced");
    }
    bump(&shared.stats.connections);
    shared.event(PeerEvent::Connected(slot.id));
    for lane in Lane::ALL {
        shared
            .tasks
            .spawn(write_lane(shared.clone(), slot.clone(), conn.clone(), lane));
    }
    if let Some(frame) = shared.status_frame() {
        let _ = shared.enqueue(&slot, Lane::Bulk, frame);
    }
    let limiter = Arc::new(Mutex::new(PeerLimiter::new(
        shared.config.rate,
        Instant::now(),
    )));
    loop {
        let stream = tokio::select! {
            s = conn.accept_uni() => s,
            _ = shared.cancel.cancelled() => break,
        };
        match stream {
            Ok(stream) => {
                shared.tasks.spawn(read_stream(
                    shared.clone(),
                    slot.clone(),
                    conn.clone(),
                    limiter.clone(),
                    stream,
                ));
            }
            Err(_) => break,
        }
    }
    let was_current = {
        let mut current = lock(&slot.conn);
        let was = current
            .as_ref()
            .is_some_and(|c| c.stable_id() == conn.stable_id());
        if was {
            *current = None;
        }
        was
    };
    // A replaced connection's end is not the peer's: its replacement
    // already announced it connected.
    if was_current {
        shared.event(PeerEvent::Disconnected(slot.id));
    }
}

async fn write_lane(shared: Arc<Shared>, slot: Arc<PeerSlot>, conn: Connection, lane: Lane) {
    // One writer per lane at a time: a replaced connection's writer lets
    // go when its connection closes.
    let receiver = slot.receivers[lane as usize].clone();
    let mut queue = tokio::select! {
        q = receiver.lock() => q,
        _ = conn.closed() => return,
        _ = shared.cancel.cancelled() => return,
    };
    let mut stream = match conn.open_uni().await {
        Ok(s) => s,
        Err(_) => return,
    };
    let _ = stream.set_priority(lane.priority());
    loop {
        let frame = tokio::select! {
            f = queue.recv() => f,
            _ = conn.closed() => None,
            _ = shared.cancel.cancelled() => None,
        };
        let Some(frame) = frame else {
            break;
        };
        if stream.write_chunk(frame).await.is_err() {
            break;
        }
    }
}

async fn read_stream(
    shared: Arc<Shared>,
    slot: Arc<PeerSlot>,
    conn: Connection,
    limiter: Arc<Mutex<PeerLimiter>>,
    mut stream: quinn::RecvStream,
) {
    loop {
        let mut header = [0u8; FRAME_HEADER_LEN];
        let read = tokio::select! {
            r = stream.read_exact(&mut header) => r,
            _ = shared.cancel.cancelled() => return,
        };
        if read.is_err() {
            return;
        }
        let (kind, len) = match parse_header(&header, &shared.limits) {
            Ok(h) => h,
            Err(_) => {
                // The stream cannot be resynchronised: drop the peer.
                bump(&shared.stats.offences);
                *lock(&slot.banned_until) = Some(Instant::now() + shared.config.rate.ban);
                bump(&shared.stats.peers_dropped);
                conn.close(VarInt::from_u32(close::FRAMING), b"framing");
                return;
            }
        };
        let mut body = vec![0u8; len];
        let read = tokio::select! {
            r = stream.read_exact(&mut body) => r,
            _ = shared.cancel.cancelled() => return,
        };
        if read.is_err() {
            return;
        }
        let admission = lock(&limiter).admit(FRAME_HEADER_LEN + len, Instant::now());
        match admission {
            Admission::Admit => {}
            Admission::Drop => {
                bump(&shared.stats.rate_limited);
                continue;
            }
            Admission::Disconnect => {
                bump(&shared.stats.rate_limited);
                shared.ban(&slot, &conn);
                return;
            }
        }
        bump(&shared.stats.frames_in);
        let outcome = match Message::decode_body(kind, &body) {
            Ok(message) => dispatch(&shared, &slot, message),
            Err(FrameError::Body { .. }) | Err(_) => Err(Offence::Undecodable),
        };
        if let Err(offence) = outcome {
            bump(&shared.stats.offences);
            if lock(&limiter).offend(offence, Instant::now()) == Admission::Disconnect {
                shared.ban(&slot, &conn);
                return;
            }
        }
    }
}

/// Whether a consensus message names its sender as its signer (messages
/// are sent directly, never relayed).
fn signed_by_sender(message: &ConsensusMsg, from: ValidatorIndex) -> bool {
    match message {
        ConsensusMsg::Vote(v) => v.voter == from,
        ConsensusMsg::Timeout(t) => t.sender == from,
        ConsensusMsg::Proposal(p) => p.fields().is_some_and(|f| f.proposer == from),
        ConsensusMsg::BlockRequest(_) | ConsensusMsg::BlockResponse(_) => true,
    }
}

fn dispatch(shared: &Arc<Shared>, slot: &Arc<PeerSlot>, message: Message) -> Result<(), Offence> {
    let from = match slot.id {
        PeerId::Validator(v) => Some(v),
        PeerId::FullNode(_) => None,
    };
    match message {
        Message::Status(status) => {
            *lock(&slot.status) = Some(status.clone());
            shared.event(PeerEvent::Status {
                from: slot.id,
                status,
            });
            Ok(())
        }
        Message::BlocksRequest(request) => {
            serve_blocks(shared, slot, request);
            Ok(())
        }
        Message::BlocksResponse { id, blocks } => {
            match lock(&shared.pending).remove(&(slot.id, id)) {
                Some(tx) => {
                    let _ = tx.send(blocks);
                    Ok(())
                }
                None => Err(Offence::Unsolicited),
            }
        }
        // Everything below comes from validators only.
        _ if from.is_none() => Err(Offence::NotAllowed),
        Message::Consensus(message) => {
            let from = from.ok_or(Offence::NotAllowed)?;
            if !signed_by_sender(&message, from) {
                return Err(Offence::NotAllowed);
            }
            if shared
                .out
                .consensus
                .try_send(Inbound { from, message })
                .is_err()
            {
                bump(&shared.stats.inbox_dropped);
            }
            Ok(())
        }
        Message::Shred(bytes) => {
            let result = lock(&shared.turbine).on_shred(&bytes);
            match result {
                Ok(None) => Ok(()),
                Ok(Some(outcome)) => {
                    bump(&shared.stats.shreds_accepted);
                    if !outcome.forward.is_empty() {
                        let frame = Message::Shred(bytes).encode();
                        for to in outcome.forward {
                            if let Some(s) = shared.slots.get(&to) {
                                match shared.enqueue(s, Lane::Shred, frame.clone()) {
                                    Ok(()) => bump(&shared.stats.shreds_forwarded),
                                    Err(_) => bump(&shared.stats.inbox_dropped),
                                }
                            }
                        }
                    }
                    if let Some(block) = outcome.complete {
                        bump(&shared.stats.blocks_rebuilt);
                        if shared.out.blocks.try_send(block).is_err() {
                            bump(&shared.stats.inbox_dropped);
                        }
                    }
                    Ok(())
                }
                Err(e) => {
                    bump(&shared.stats.shreds_rejected);
                    match e {
                        // The leader's fault (two encodings of a batch, or
                        // coding shards that do not rebuild the block): an
                        // honest forwarder cannot tell, so it is not blamed.
                        ShredError::ConflictingRoot
                        | ShredError::BlockMismatch
                        | ShredError::Coding(_) => Ok(()),
                        _ => Err(Offence::BadShred),
                    }
                }
            }
        }
        Message::TxAnnounce(digests) => {
            let wanted = lock(&shared.gossip).on_announce(&digests, Instant::now());
            if !wanted.is_empty() {
                shared
                    .stats
                    .tx_pulled
                    .fetch_add(wanted.len() as u64, Ordering::Relaxed);
                let _ = shared.enqueue(slot, Lane::Bulk, Message::TxRequest(wanted).encode());
            }
            Ok(())
        }
        Message::TxRequest(digests) => {
            let max = shared.config.max_message_len.saturating_sub(64 * 1024);
            let txs = lock(&shared.gossip).on_request(&digests, max);
            if !txs.is_empty() {
                let _ = shared.enqueue(slot, Lane::Bulk, Message::Txs(txs).encode());
            }
            Ok(())
        }
        Message::Txs(txs) => {
            let from = from.ok_or(Offence::NotAllowed)?;
            let (new, unsolicited) = lock(&shared.gossip).on_txs(from, txs);
            for tx in new {
                if shared.out.txs.try_send(tx).is_ok() {
                    bump(&shared.stats.txs_delivered);
                } else {
                    bump(&shared.stats.inbox_dropped);
                }
            }
            if unsolicited > 0 {
                Err(Offence::Unsolicited)
            } else {
                Ok(())
            }
        }
    }
}

/// Most sync requests a peer may have in service at once.
const MAX_SERVING: usize = 2;

fn serve_blocks(shared: &Arc<Shared>, slot: &Arc<PeerSlot>, request: BlocksRequest) {
    let Some(source) = shared.sync.clone() else {
        return;
    };
    if slot.serving.fetch_add(1, Ordering::AcqRel) >= MAX_SERVING {
        slot.serving.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let shared2 = shared.clone();
    let slot2 = slot.clone();
    shared.tasks.spawn(async move {
        let max = shared2.config.max_message_len.saturating_sub(64 * 1024);
        let count = usize::from(request.count.min(MAX_SYNC_BLOCKS));
        let blocks = tokio::task::spawn_blocking(move || {
            source.committed_blocks(request.from_height, count, max)
        })
        .await;
        if let Ok(Ok(mut blocks)) = blocks {
            blocks.truncate(count);
            // Keep only consecutive heights from the one asked for, within
            // the frame bound.
            let mut expected = request.from_height;
            blocks.retain(|b| {
                let ok = b.proposal.header.height == expected;
                expected = expected.wrapping_add(1);
                ok
            });
            let mut frame = Message::BlocksResponse {
                id: request.id,
                blocks: blocks.clone(),
            }
            .encode();
            while frame.len() > shared2.limits.max_bulk && !blocks.is_empty() {
                blocks.pop();
                frame = Message::BlocksResponse {
                    id: request.id,
                    blocks: blocks.clone(),
                }
                .encode();
            }
            let _ = shared2.enqueue(&slot2, Lane::Bulk, frame);
        }
        slot2.serving.fetch_sub(1, Ordering::AcqRel);
    });
}

async fn status_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(shared.config.status_interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shared.cancel.cancelled() => return,
        }
        let s = shared.clone();
        let frame = tokio::task::spawn_blocking(move || s.status_frame()).await;
        let Ok(Some(frame)) = frame else {
            continue;
        };
        let full: Vec<Arc<PeerSlot>> = lock(&shared.full_nodes).values().cloned().collect();
        for slot in shared.slots.values().chain(full.iter()) {
            if slot.connected() {
                let _ = shared.enqueue(slot, Lane::Bulk, frame.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SilenceWatch;
    use std::time::{Duration, Instant};

    #[test]
    fn silence_is_time_without_a_new_datagram() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = SilenceWatch::new(10, t0, ms(1500));
        assert!(!w.silent(10, t0 + ms(300)));
        assert!(!w.silent(10, t0 + ms(1499)));
        assert!(w.silent(10, t0 + ms(1500)), "the threshold reached");
        // One datagram restarts the clock from the sample that saw it.
        assert!(!w.silent(11, t0 + ms(1800)));
        assert!(!w.silent(11, t0 + ms(3000)));
        assert!(w.silent(11, t0 + ms(3300)));
        assert!(w.silent(11, t0 + ms(9000)), "stays silent until data comes");
        assert!(!w.silent(12, t0 + ms(9300)));
        // A clock sample from before the last change never counts as silence.
        assert!(!w.silent(12, t0 + ms(100)));
    }
}
