//! The crate's error types.

use aether_types::ValidatorIndex;
use std::net::SocketAddr;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix exceeds the bound of the stream.
    #[error("frame of {len} bytes exceeds the bound of {max}")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// Bound.
        max: usize,
    },
    /// The frame is shorter than its version and kind bytes.
    #[error("frame shorter than its header")]
    Truncated,
    /// Unknown wire version.
    #[error("unknown frame version {0}")]
    Version(u8),
    /// Unknown message kind.
    #[error("unknown frame kind {0}")]
    Kind(u8),
    /// The body does not decode as its kind.
    #[error("undecodable {kind} body: {reason}")]
    Body {
        /// The frame kind.
        kind: &'static str,
        /// Why.
        reason: String,
    },
}

/// Why a shred was refused (or a block could not be shredded).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShredError {
    /// The bytes are not a well-formed shred.
    #[error("malformed shred: {0}")]
    Malformed(&'static str),
    /// The Merkle proof does not lead to the shred's root.
    #[error("shred proof does not match its root")]
    BadProof,
    /// The leader's signature over the batch root does not verify.
    #[error("batch root signature does not verify")]
    BadSignature,
    /// The origin is not a validator (or is this node).
    #[error("shred from unknown origin {0:?}")]
    UnknownOrigin(ValidatorIndex),
    /// The block is larger than this node accepts.
    #[error("block of {len} bytes exceeds {max}")]
    BlockTooLarge {
        /// Announced length.
        len: u64,
        /// Bound.
        max: u64,
    },
    /// A block must have at least one byte.
    #[error("empty block")]
    EmptyBlock,
    /// A validly signed batch root that differs from the one already held
    /// for the same block and batch (a leader signing two encodings).
    #[error("conflicting root for a batch")]
    ConflictingRoot,
    /// The rebuilt bytes do not hash to the block id (a leader that signed
    /// inconsistent coding shards).
    #[error("rebuilt block does not match its id")]
    BlockMismatch,
    /// Reed-Solomon coding failed.
    #[error("erasure coding: {0}")]
    Coding(#[from] reed_solomon_simd::Error),
}

/// Errors of the running network.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The configuration is inconsistent.
    #[error("bad configuration: {0}")]
    Config(String),
    /// Binding or using the UDP socket failed.
    #[error("socket {addr}: {source}")]
    Socket {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Building the TLS configuration failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The peer is not known (or is this node).
    #[error("unknown peer {0:?}")]
    UnknownPeer(ValidatorIndex),
    /// The peer's queue is full.
    #[error("queue to {0:?} is full")]
    QueueFull(ValidatorIndex),
    /// The peer is not connected.
    #[error("peer {0:?} is not connected")]
    NotConnected(ValidatorIndex),
    /// A request got no answer in time.
    #[error("request timed out")]
    Timeout,
    /// The network has shut down.
    #[error("network closed")]
    Closed,
    /// This node is not a validator (a full node cannot broadcast).
    #[error("a full node cannot do this")]
    ReadOnly,
    /// Shredding failed.
    #[error(transparent)]
    Shred(#[from] ShredError),
}
