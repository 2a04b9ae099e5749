//! Frames: the messages peers exchange on their QUIC streams.
//!
//! # Format
//! ```text
//! frame = len: u32 LE || version: u8 (= 1) || kind: u8 || body     len = 2 + |body|
//!
//! kind  name            lane       body
//!  1    Consensus       consensus  aether_types::ConsensusMsg, canonical encoding
//!  2    Shred           shred      a shred (crate::shred, fixed layout)
//!  3    TxAnnounce      bulk       Vec<Digest>        1..=1024 digests of transactions held
//!  4    TxRequest       bulk       Vec<Digest>        1..=1024 digests wanted
//!  5    Txs             bulk       Vec<Vec<u8>>       1..=1024 transactions (each <= MAX_TX_LEN)
//!  6    Status          bulk       committed_height: u64 || highest_qc: QuorumCert
//!  7    BlocksRequest   bulk       id: u64 || from_height: u64 || count: u16 (1..=64)
//!  8    BlocksResponse  bulk       id: u64 || Vec<(Proposal, QuorumCert)> (0..=64, ascending heights)
//! ```
//! Bodies other than shreds and consensus messages are Borsh
//! (`aether_types::codec` rules: `u32` counts, strict decoding, no
//! trailing bytes).
//!
//! # Bounds
//! The reader checks the length prefix against the kind's bound
//! ([`FrameLimits`]) **before** reading the body, so a peer can never make
//! a node allocate more than the bound; a length over the bound breaks the
//! stream (the connection is closed). A body that does not decode is
//! dropped and counted against the peer (see [`crate::peer`]). Counts are
//! checked after decoding; Borsh preallocates at most 4 KiB for a vector,
//! so a lying count costs no memory beyond the frame itself.
//!
//! # Versioning
//! Every frame carries the wire version. A node refuses frames of another
//! version (an incompatible peer is treated as misbehaving); a future
//! version negotiates through the TLS ALPN (`aether/1` today) first.

use crate::error::FrameError;
use crate::shred::MAX_SHRED_LEN;
use aether_chain_api::{CommittedBlock, SyncStatus};
use aether_types::{Canonical, ConsensusMsg, Digest, MAX_TX_LEN, Proposal, QuorumCert};
use borsh::{BorshDeserialize, BorshSerialize};
use bytes::{BufMut, Bytes, BytesMut};

/// The wire version of every frame.
pub const FRAME_VERSION: u8 = 1;
/// Bytes before the body: length, version, kind.
pub const FRAME_HEADER_LEN: usize = 6;
/// Most digests in one announcement or request.
pub const MAX_DIGESTS: usize = 1024;
/// Most transactions in one [`Message::Txs`].
pub const MAX_TXS: usize = 1024;
/// Most blocks in one sync request or response.
pub const MAX_SYNC_BLOCKS: u16 = 64;

/// Which per-peer queue (and QUIC stream) a message travels on; lower is
/// more urgent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Lane {
    /// Proposals, votes, timeouts, consensus block fetches.
    Consensus = 0,
    /// Turbine shreds.
    Shred = 1,
    /// Transaction gossip and block sync.
    Bulk = 2,
}

impl Lane {
    /// Every lane, most urgent first.
    pub const ALL: [Lane; 3] = [Lane::Consensus, Lane::Shred, Lane::Bulk];

    /// QUIC stream priority of the lane (higher is sent first).
    pub fn priority(self) -> i32 {
        match self {
            Lane::Consensus => 2,
            Lane::Shred => 1,
            Lane::Bulk => 0,
        }
    }
}

/// A blocks request (sync).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlocksRequest {
    /// Chosen by the requester, echoed in the response.
    pub id: u64,
    /// First height wanted.
    pub from_height: u64,
    /// How many consecutive heights (1..=64).
    pub count: u16,
}

/// Every message of the protocol.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Message {
    /// A consensus message, sent directly (never relayed).
    Consensus(ConsensusMsg),
    /// An encoded shred (decoded and checked by the Turbine receiver).
    Shred(Bytes),
    /// "I hold these transactions."
    TxAnnounce(Vec<Digest>),
    /// "Send me these transactions."
    TxRequest(Vec<Digest>),
    /// Transactions, answering a [`Message::TxRequest`].
    Txs(Vec<Vec<u8>>),
    /// The sender's sync status.
    Status(SyncStatus),
    /// A request for committed blocks by height.
    BlocksRequest(BlocksRequest),
    /// Committed blocks answering request `id`, ascending heights.
    BlocksResponse {
        /// The request's id.
        id: u64,
        /// The blocks.
        blocks: Vec<CommittedBlock>,
    },
}

/// Length bounds per kind (bodies, bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest consensus message body.
    pub max_consensus: usize,
    /// Largest bulk body (transactions, sync).
    pub max_bulk: usize,
}

impl FrameLimits {
    /// The bound of a kind's body; `None` for an unknown kind.
    pub fn max_body(&self, kind: u8) -> Option<usize> {
        match kind {
            1 => Some(self.max_consensus),
            2 => Some(MAX_SHRED_LEN),
            3 | 4 => Some(4 + 32 * MAX_DIGESTS),
            5 | 8 => Some(self.max_bulk),
            6 => Some(8 + QuorumCert::MAX_ENCODED_LEN),
            7 => Some(18),
            _ => None,
        }
    }
}

fn body_err(kind: &'static str, reason: impl ToString) -> FrameError {
    FrameError::Body {
        kind,
        reason: reason.to_string(),
    }
}

/// Strict Borsh decoding of a whole body.
fn borsh_body<T: BorshDeserialize>(kind: &'static str, body: &[u8]) -> Result<T, FrameError> {
    borsh::from_slice(body).map_err(|e| body_err(kind, e))
}

fn check_count(kind: &'static str, n: usize, max: usize) -> Result<(), FrameError> {
    if n == 0 || n > max {
        return Err(body_err(kind, format!("{n} items, bound 1..={max}")));
    }
    Ok(())
}

impl Message {
    /// The frame kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Message::Consensus(_) => 1,
            Message::Shred(_) => 2,
            Message::TxAnnounce(_) => 3,
            Message::TxRequest(_) => 4,
            Message::Txs(_) => 5,
            Message::Status(_) => 6,
            Message::BlocksRequest(_) => 7,
            Message::BlocksResponse { .. } => 8,
        }
    }

    /// The lane the message travels on.
    pub fn lane(&self) -> Lane {
        match self {
            Message::Consensus(_) => Lane::Consensus,
            Message::Shred(_) => Lane::Shred,
            _ => Lane::Bulk,
        }
    }

    /// Encodes the message as one frame.
    pub fn encode(&self) -> Bytes {
        let body: Vec<u8> = match self {
            Message::Consensus(m) => m.encode(),
            Message::Shred(s) => s.to_vec(),
            Message::TxAnnounce(d) | Message::TxRequest(d) => borsh::to_vec(d).unwrap_or_default(),
            Message::Txs(t) => borsh::to_vec(t).unwrap_or_default(),
            Message::Status(s) => {
                borsh::to_vec(&(s.committed_height, &s.highest_qc)).unwrap_or_default()
            }
            Message::BlocksRequest(r) => borsh::to_vec(r).unwrap_or_default(),
            Message::BlocksResponse { id, blocks } => {
                let pairs: Vec<(&Proposal, &QuorumCert)> =
                    blocks.iter().map(|b| (&b.proposal, &b.finality)).collect();
                borsh::to_vec(&(id, pairs)).unwrap_or_default()
            }
        };
        let mut out = BytesMut::with_capacity(FRAME_HEADER_LEN + body.len());
        out.put_u32_le((body.len() + 2) as u32);
        out.put_u8(FRAME_VERSION);
        out.put_u8(self.kind());
        out.put_slice(&body);
        out.freeze()
    }

    /// Decodes a body of kind `kind` (its length already checked).
    pub fn decode_body(kind: u8, body: &[u8]) -> Result<Message, FrameError> {
        Ok(match kind {
            1 => Message::Consensus(
                ConsensusMsg::decode(body).map_err(|e| body_err("consensus", e))?,
            ),
            2 => {
                if body.len() > MAX_SHRED_LEN {
                    return Err(body_err("shred", "too long"));
                }
                Message::Shred(Bytes::copy_from_slice(body))
            }
            3 | 4 => {
                let name = if kind == 3 {
                    "tx-announce"
                } else {
                    "tx-request"
                };
                let d: Vec<Digest> = borsh_body(name, body)?;
                check_count(name, d.len(), MAX_DIGESTS)?;
                if kind == 3 {
                    Message::TxAnnounce(d)
                } else {
                    Message::TxRequest(d)
                }
            }
            5 => {
                let t: Vec<Vec<u8>> = borsh_body("txs", body)?;
                check_count("txs", t.len(), MAX_TXS)?;
                if t.iter().any(|t| t.is_empty() || t.len() > MAX_TX_LEN) {
                    return Err(body_err("txs", "a transaction is empty or too long"));
                }
                Message::Txs(t)
            }
            6 => {
                let (committed_height, highest_qc): (u64, QuorumCert) = borsh_body("status", body)?;
                Message::Status(SyncStatus {
                    committed_height,
                    highest_qc,
                })
            }
            7 => {
                let r: BlocksRequest = borsh_body("blocks-request", body)?;
                if r.count == 0 || r.count > MAX_SYNC_BLOCKS {
                    return Err(body_err("blocks-request", "count out of 1..=64"));
                }
                Message::BlocksRequest(r)
            }
            8 => {
                let (id, pairs): (u64, Vec<(Proposal, QuorumCert)>) =
                    borsh_body("blocks-response", body)?;
                if pairs.len() > usize::from(MAX_SYNC_BLOCKS) {
                    return Err(body_err("blocks-response", "more than 64 blocks"));
                }
                for (p, _) in &pairs {
                    p.check().map_err(|e| body_err("blocks-response", e))?;
                }
                if pairs
                    .windows(2)
                    .any(|w| w[1].0.header.height != w[0].0.header.height.wrapping_add(1))
                {
                    return Err(body_err("blocks-response", "heights not consecutive"));
                }
                Message::BlocksResponse {
                    id,
                    blocks: pairs
                        .into_iter()
                        .map(|(proposal, finality)| CommittedBlock { proposal, finality })
                        .collect(),
                }
            }
            other => return Err(FrameError::Kind(other)),
        })
    }
}

/// Parses a frame header: returns the kind and the body length, checked
/// against `limits`.
pub fn parse_header(
    header: &[u8; FRAME_HEADER_LEN],
    limits: &FrameLimits,
) -> Result<(u8, usize), FrameError> {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len < 2 {
        return Err(FrameError::Truncated);
    }
    if header[4] != FRAME_VERSION {
        return Err(FrameError::Version(header[4]));
    }
    let kind = header[5];
    let max = limits.max_body(kind).ok_or(FrameError::Kind(kind))?;
    let body = len - 2;
    if body > max {
        return Err(FrameError::TooLarge { len: body, max });
    }
    Ok((kind, body))
}

/// Decodes one complete frame from `bytes` (the first frame; returns the
/// message and the bytes it used). The network reads frames from streams
/// with the same two steps ([`parse_header`], [`Message::decode_body`]).
pub fn decode_frame(bytes: &[u8], limits: &FrameLimits) -> Result<(Message, usize), FrameError> {
    let header: &[u8; FRAME_HEADER_LEN] = bytes
        .get(..FRAME_HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(FrameError::Truncated)?;
    let (kind, len) = parse_header(header, limits)?;
    let body = bytes
        .get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len)
        .ok_or(FrameError::Truncated)?;
    Ok((Message::decode_body(kind, body)?, FRAME_HEADER_LEN + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{BlockHash, Epoch, Round, ValidatorIndex, Vote};

    pub(crate) const LIMITS: FrameLimits = FrameLimits {
        max_consensus: 1 << 20,
        max_bulk: 1 << 20,
    };

    fn vote() -> ConsensusMsg {
        ConsensusMsg::Vote(Vote {
            epoch: Epoch(1),
            round: Round(2),
            block: BlockHash([3; 32]),
            height: 4,
            voter: ValidatorIndex(1),
            signature: aether_types::BlsSignatureBytes([5; 96]),
        })
    }

    fn samples() -> Vec<Message> {
        vec![
            Message::Consensus(vote()),
            Message::Shred(Bytes::from_static(&[1, 2, 3])),
            Message::TxAnnounce(vec![Digest([1; 32]), Digest([2; 32])]),
            Message::TxRequest(vec![Digest([1; 32])]),
            Message::Txs(vec![vec![1, 2], vec![3]]),
            Message::Status(SyncStatus {
                committed_height: 9,
                highest_qc: QuorumCert::genesis(Epoch(0), BlockHash([8; 32])),
            }),
            Message::BlocksRequest(BlocksRequest {
                id: 7,
                from_height: 3,
                count: 64,
            }),
            Message::BlocksResponse {
                id: 7,
                blocks: vec![],
            },
        ]
    }

    #[test]
    fn frames_round_trip() {
        for m in samples() {
            let f = m.encode();
            let (d, used) = decode_frame(&f, &LIMITS).unwrap();
            assert_eq!(d, m);
            assert_eq!(used, f.len());
            assert!(Lane::ALL.contains(&m.lane()));
        }
    }

    #[test]
    fn bad_frames_are_refused() {
        let good = Message::Consensus(vote()).encode().to_vec();
        let mut v = good.clone();
        v[4] = 2;
        assert_eq!(decode_frame(&v, &LIMITS), Err(FrameError::Version(2)));
        let mut k = good.clone();
        k[5] = 99;
        assert_eq!(decode_frame(&k, &LIMITS), Err(FrameError::Kind(99)));
        let mut big = good.clone();
        big[..4].copy_from_slice(&(u32::MAX).to_le_bytes());
        assert!(matches!(
            decode_frame(&big, &LIMITS),
            Err(FrameError::TooLarge { .. })
        ));
        assert_eq!(
            decode_frame(&good[..10], &LIMITS),
            Err(FrameError::Truncated)
        );
        let mut trailing = good.clone();
        trailing.push(0);
        trailing[..4].copy_from_slice(&((good.len() - 3) as u32).to_le_bytes());
        assert!(matches!(
            decode_frame(&trailing, &LIMITS),
            Err(FrameError::Body { .. })
        ));
        // Counts out of range.
        for m in [
            Message::TxAnnounce(vec![]),
            Message::Txs(vec![vec![]]),
            Message::BlocksRequest(BlocksRequest {
                id: 1,
                from_height: 1,
                count: 65,
            }),
        ] {
            assert!(matches!(
                decode_frame(&m.encode(), &LIMITS),
                Err(FrameError::Body { .. })
            ));
        }
        let too_many = Message::TxRequest(vec![Digest([0; 32]); MAX_DIGESTS + 1]).encode();
        assert!(decode_frame(&too_many, &LIMITS).is_err());
    }
}
