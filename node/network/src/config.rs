//! Configuration of a node's network: peers, timeouts, bounds.

use crate::faults::Faults;
use crate::ratelimit::RateLimits;
use aether_types::{PublicKey, ValidatorIndex};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A validator as the network knows it (from the genesis or a bootstrap
/// list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its index in the validator set.
    pub index: ValidatorIndex,
    /// Its ed25519 node key (its TLS identity).
    pub key: PublicKey,
    /// Where it listens (UDP).
    pub addr: SocketAddr,
    /// Its stake (weights the Turbine trees; 0 puts it last).
    pub stake: u64,
}

/// The network's configuration. [`NetworkConfig::new`] gives the defaults
/// below; every field is public so tests and operators can tune it.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Address to listen on (UDP). Port 0 picks a free one.
    pub listen: SocketAddr,
    /// The validator set: every validator, this node included if it is
    /// one (a node whose key is not in the set runs as a read-only full
    /// node: it dials validators, sends nothing but sync requests).
    pub peers: Vec<Peer>,
    /// Accept connections from keys outside the validator set (full
    /// nodes, read-only).
    pub accept_full_nodes: bool,
    /// Most full-node connections at once.
    pub max_full_nodes: usize,
    /// QUIC keep-alive interval (also how soon a restarted peer's stale
    /// connection is reset). Default 300 ms.
    pub keep_alive: Duration,
    /// QUIC idle timeout. Default 10 s.
    pub idle_timeout: Duration,
    /// When a dialled connection has received nothing for this long, dial
    /// a fresh one beside it (it replaces the old one if it comes up).
    /// A peer that restarted resets its stale connections on their next
    /// packet, but while it was down our probes backed off exponentially
    /// (QUIC's PTO), so that next packet may come minutes later; a fresh
    /// dial does not wait for it. `None` leaves it to the reset and the
    /// idle timeout. Default 1.5 s (five keep-alive intervals).
    pub silence_redial: Option<Duration>,
    /// Initial RTT estimate (sets the first handshake retransmission).
    /// Default 50 ms.
    pub initial_rtt: Duration,
    /// Longest a dial attempt may take. Default 2 s.
    pub dial_timeout: Duration,
    /// First redial delay after a failed dial; doubles per failure up to
    /// `redial_max`; a connection that closes is redialled at once.
    pub redial_min: Duration,
    /// Largest redial delay. Default 5 s.
    pub redial_max: Duration,
    /// Frames queued per peer on the consensus lane.
    pub consensus_queue: usize,
    /// Frames queued per peer on the shred lane.
    pub shred_queue: usize,
    /// Frames queued per peer on the bulk lane (transactions, sync).
    pub bulk_queue: usize,
    /// Messages waiting for the node in each inbox.
    pub inbox: usize,
    /// Largest consensus message (and sync response) body, bytes.
    pub max_message_len: usize,
    /// Largest block broadcast by Turbine, bytes.
    pub max_block_len: u64,
    /// Blocks Turbine tracks at once.
    pub max_blocks_in_flight: usize,
    /// Turbine fanout (direct sends when the set has at most this many
    /// other validators).
    pub fanout: usize,
    /// Per-peer rate limits and misbehaviour score.
    pub rate: RateLimits,
    /// Transaction digests remembered (dedup).
    pub tx_seen: usize,
    /// Transactions offered to peers (count).
    pub tx_store: usize,
    /// Transactions offered to peers (bytes).
    pub tx_store_bytes: usize,
    /// After this, an unanswered transaction pull may go to another peer.
    pub tx_pull_timeout: Duration,
    /// How often the node sends its sync status to every peer.
    pub status_interval: Duration,
    /// How long [`crate::Network::request_blocks`] waits.
    pub request_timeout: Duration,
    /// Fault injection for tests (`None` in production).
    pub faults: Option<Arc<Faults>>,
}

impl NetworkConfig {
    /// Defaults for a node listening on `listen` with validator set `peers`.
    pub fn new(listen: SocketAddr, peers: Vec<Peer>) -> Self {
        NetworkConfig {
            listen,
            peers,
            accept_full_nodes: false,
            max_full_nodes: 16,
            keep_alive: Duration::from_millis(300),
            idle_timeout: Duration::from_secs(10),
            silence_redial: Some(Duration::from_millis(1500)),
            initial_rtt: Duration::from_millis(50),
            dial_timeout: Duration::from_secs(2),
            redial_min: Duration::from_millis(100),
            redial_max: Duration::from_secs(5),
            consensus_queue: 1024,
            shred_queue: 8192,
            bulk_queue: 1024,
            inbox: 8192,
            max_message_len: 32 * 1024 * 1024,
            max_block_len: 32 * 1024 * 1024,
            max_blocks_in_flight: 32,
            fanout: 32,
            rate: RateLimits::default(),
            tx_seen: 200_000,
            tx_store: 50_000,
            tx_store_bytes: 64 * 1024 * 1024,
            tx_pull_timeout: Duration::from_secs(2),
            status_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            faults: None,
        }
    }
}
