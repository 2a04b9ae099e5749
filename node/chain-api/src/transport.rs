//! Moving messages between validators.
//!
//! # Shape
//! [`Transport`] is a message-passing handle used by a node's *driver* (the
//! loop that feeds the pure consensus core and executes its actions), never
//! by the core itself. It is deliberately non-blocking on both sides so one
//! trait serves two very different runtimes:
//! - **an async event loop** (QUIC, `aether-network`): `send` and
//!   `broadcast` enqueue into bounded per-peer queues and return at once
//!   (`QueueFull` when a peer is too slow: the caller decides what to drop);
//!   receiving is `try_recv` after the loop is woken by the network task
//!   (the implementation adds its own async notification, e.g. a
//!   `tokio::sync::Notify` or a channel the loop selects on);
//! - **a deterministic simulator** (`aether-sim`): `send` and `broadcast`
//!   record the message; the simulator's scheduler takes it from there
//!   (latency, loss, partitions) and later places it in the receiver's
//!   inbox, which the receiver's driver drains with `try_recv`.
//!
//! Messages are typed (`M`, e.g. `aether_types::ConsensusMsg`); framing,
//! encoding and decoding belong to the implementation, which delivers only
//! messages that decoded (a peer's undecodable bytes never reach the
//! driver).
//!
//! # Guarantees (none beyond best effort)
//! A message may be lost, duplicated, delayed or reordered; the protocol
//! above tolerates all four. `broadcast` sends to every *other* validator:
//! the sender handles its own copy directly.

use aether_types::ValidatorIndex;

/// A message received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound<M> {
    /// The validator it came from (authenticated by the transport: the
    /// QUIC connection's key, or the simulator's routing).
    pub from: ValidatorIndex,
    /// The message.
    pub message: M,
}

/// Why a message could not be handed to the transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The recipient is not a validator of the current set.
    #[error("unknown peer {0:?}")]
    UnknownPeer(ValidatorIndex),
    /// The recipient's queue is full (it is too slow or unreachable).
    #[error("queue to {0:?} is full")]
    QueueFull(ValidatorIndex),
    /// The transport has shut down.
    #[error("transport closed")]
    Closed,
}

/// A node's handle on the network (see the module docs).
pub trait Transport<M> {
    /// Queues `message` for one validator.
    fn send(&mut self, to: ValidatorIndex, message: M) -> Result<(), TransportError>;

    /// Queues `message` for every other validator.
    fn broadcast(&mut self, message: M) -> Result<(), TransportError>;

    /// The next received message, if any (never blocks).
    fn try_recv(&mut self) -> Option<Inbound<M>>;
}
