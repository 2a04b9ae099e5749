//! Aether network: validators on real sockets.
//!
//! QUIC (quinn) with mutual TLS 1.3 where a node's identity is its ed25519
//! node key ([`tls`]); one connection per validator pair, dialled by the
//! lower index ([`network`]); length-prefixed, versioned frames on three
//! prioritised lanes ([`frame`]); consensus messages sent directly and
//! delivered to the driver through [`transport::NetworkTransport`], which
//! implements `aether_chain_api::Transport`; transactions announced by
//! digest and pulled ([`gossip`]); blocks broadcast as erasure-coded,
//! Merkle-proven, signed shreds down stake-weighted per-shred trees
//! ([`shred`], [`fanout`], [`turbine`]); block sync by height range served
//! from `aether_chain_api::SyncSource`; per-peer rate limits and bans
//! ([`ratelimit`]); fault injection for loopback tests ([`faults`]).
//!
//! ```text
//!   node driver ◄── Inbox { consensus, blocks, txs, events } ◄──┐
//!        │                                                       │
//!        └── Network::{send, broadcast, broadcast_block,         │
//!             announce_txs, request_blocks} ──► lanes ──► QUIC ──► peers
//! ```
//! The wire protocol (frames, shreds, handshake, close codes) is written
//! down in `docs/network.md`; each module's docs state its part and its
//! invariants.
//!
//! # Example: two validators on loopback
//! ```no_run
//! # async fn demo() -> Result<(), aether_network::NetworkError> {
//! use aether_crypto::ed25519::Keypair;
//! use aether_network::{Network, NetworkConfig, Peer};
//! use aether_types::ValidatorIndex;
//!
//! let keys = [Keypair::from_secret_bytes(&[1; 32]), Keypair::from_secret_bytes(&[2; 32])];
//! let peers: Vec<Peer> = keys.iter().enumerate().map(|(i, k)| Peer {
//!     index: ValidatorIndex(i as u16),
//!     key: k.public_key(),
//!     addr: format!("127.0.0.1:{}", 9100 + i).parse().unwrap(),
//!     stake: 1,
//! }).collect();
//! let (net0, _inbox0) = Network::start(&keys[0], NetworkConfig::new(peers[0].addr, peers.clone()), None)?;
//! let (net1, mut inbox1) = Network::start(&keys[1], NetworkConfig::new(peers[1].addr, peers.clone()), None)?;
//! let id = net0.broadcast_block(vec![7; 100_000]).await?;
//! let block = inbox1.blocks.recv().await.unwrap();
//! assert_eq!(block.id, id);
//! net0.shutdown().await;
//! net1.shutdown().await;
//! # Ok(()) }
//! ```

pub mod cache;
pub mod config;
pub mod error;
pub mod fanout;
pub mod faults;
pub mod frame;
pub mod gossip;
pub mod network;
pub mod ratelimit;
pub mod shred;
pub mod tls;
pub mod transport;
pub mod turbine;

pub use config::{NetworkConfig, Peer};
pub use error::{FrameError, NetworkError, ShredError};
pub use faults::{Faults, LinkFault, Loss};
pub use frame::{Lane, Message};
pub use gossip::{ReceivedTx, tx_digest};
pub use network::{Inbox, Network, NetworkStats, PeerEvent, PeerId};
pub use ratelimit::RateLimits;
pub use transport::NetworkTransport;
pub use turbine::ReassembledBlock;
