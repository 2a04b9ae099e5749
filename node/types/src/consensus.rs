//! Wire types of the consensus protocol (two-chain HotStuff, Jolteon
//! style; the protocol itself is in `aether-consensus`).
//!
//! Every type here has the canonical encoding of [`crate::codec`] (Borsh,
//! strict). Types that appear inside other values (bitmaps, certificates)
//! check their own invariants while decoding, so a header or message that
//! embeds them cannot smuggle in a non-canonical form. Signatures and keys
//! are opaque fixed-size byte strings here; `aether-crypto::bls` parses and
//! checks them, `aether-consensus` verifies them.
//!
//! # Formats
//! ```text
//! ValidatorIndex = u16                    position in the epoch's validator set
//! Round, Epoch   = u64
//! SignerBitmap   = len: u16 (<= MAX_VALIDATORS) || ceil(len/8) bytes,
//!                  bit i = byte i/8, bit (i mod 8) (LSB first); unused high
//!                  bits of the last byte are zero
//! BlockRef       = epoch || round || block: BlockHash(32) || height: u64     (56 bytes)
//! QuorumCert     = epoch || round || block || height || signers: SignerBitmap
//!                  || signature: [u8; 96]        (aggregate of the signers' votes)
//! Vote           = epoch || round || block || height || voter || signature: [u8; 96]
//! TimeoutData    = epoch || round || high_qc_round                          (what a timeout signs)
//! TimeoutMsg     = epoch || round || high_qc: QuorumCert || high_tc: Option<TimeoutCert>
//!                  || sender || signature
//! TimeoutCert    = epoch || round || groups: Vec<TimeoutGroup> || signature (aggregate)
//! TimeoutGroup   = high_qc_round || signers: SignerBitmap
//! ProposalFields = epoch || round || proposer || justify: QuorumCert
//!                  || timeout_cert: Option<TimeoutCert> || vrf_proof: [u8; 96]
//!                  (the header's `ConsensusFields::HotStuff`)
//! Proposal       = header: BlockHeader || payload: bytes || signature: [u8; 96]
//! BlockRequest   = block: BlockHash || ancestors: u16
//! ConsensusMsg   = u8 tag || Proposal | Vote | TimeoutMsg | BlockRequest
//!                  | BlockResponse (Vec<Proposal>, 1..=65, newest first)
//! EquivocationEvidence = kind: u8 || offender || first: BlockRef || first_signature
//!                  || second: BlockRef || second_signature
//! ```
//! A QC of `n` validators costs `154 + ceil(n/8)` bytes (4 validators: 155
//! bytes; 1,000: 279 bytes), 96 of them the aggregate signature; the header
//! embeds one.
//!
//! # Invariants checked while decoding
//! - bitmaps: length bound, zero padding;
//! - timeout certificates: at least one group; groups in strictly ascending
//!   `high_qc_round`, each below the certificate's round; bitmaps of one
//!   length, non-empty and pairwise disjoint (so a signer has exactly one
//!   high-QC round and the encoding is unique);
//! - timeout messages: `high_qc.round < round`, `high_tc.round < round`;
//! - evidence: both statements in the same epoch and round, for different
//!   blocks, the smaller block hash first (one encoding per pair).
//!
//! The genesis QC ([`QuorumCert::genesis`]) is the one QC without
//! signatures: round 0, height 0, an empty bitmap, a zero signature, for
//! the genesis block; the consensus crate accepts it only for the chain's
//! genesis block.

use crate::block::{BlockHeader, MAX_BLOCK_LEN};
use crate::codec::{BoundedBytes, Canonical, encode};
use crate::error::Error;
use crate::hash::{BlockHash, Digest, tagged_hash};
use borsh::io::{Error as IoError, ErrorKind, Read, Write};
use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// Largest validator set (bitmap length).
pub const MAX_VALIDATORS: usize = 2048;

/// Largest block payload a proposal carries (the application's encoding of
/// the block body).
pub const MAX_PAYLOAD_LEN: usize = MAX_BLOCK_LEN;

/// Length of a BLS12-381 compressed public key (G1).
pub const BLS_PUBLIC_KEY_LEN: usize = 48;
/// Length of a BLS12-381 compressed signature (G2).
pub const BLS_SIGNATURE_LEN: usize = 96;

/// Hash tag of a quorum certificate's cache key ([`QuorumCert::digest`]).
pub const QC_TAG: &str = "aether/quorum-cert/v1";
/// Hash tag of a timeout certificate's cache key ([`TimeoutCert::digest`]).
pub const TC_TAG: &str = "aether/timeout-cert/v1";

/// Position of a validator in its epoch's validator set.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct ValidatorIndex(pub u16);

/// A consensus round (view). Round 0 belongs to the genesis block.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Round(pub u64);

impl Round {
    /// The next round (saturating).
    pub fn next(self) -> Round {
        Round(self.0.saturating_add(1))
    }
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An epoch: a span of rounds with one validator set and one seed.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Epoch(pub u64);

/// A compressed BLS12-381 public key (parsed and checked by `aether-crypto`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct BlsPublicKeyBytes(pub [u8; BLS_PUBLIC_KEY_LEN]);

/// A compressed BLS12-381 signature (parsed and checked by `aether-crypto`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct BlsSignatureBytes(pub [u8; BLS_SIGNATURE_LEN]);

impl BlsSignatureBytes {
    /// All zero (the genesis QC's placeholder; never a valid signature).
    pub const ZERO: BlsSignatureBytes = BlsSignatureBytes([0; BLS_SIGNATURE_LEN]);
}

impl fmt::Debug for BlsPublicKeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlsPublicKey({})", hex::encode(&self.0[..8]))
    }
}

impl fmt::Debug for BlsSignatureBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlsSignature({}..)", hex::encode(&self.0[..8]))
    }
}

/// Which validators signed, as a bitmap over validator indices.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SignerBitmap {
    len: u16,
    bits: Vec<u8>,
}

impl fmt::Debug for SignerBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set: Vec<u16> = self.iter().map(|v| v.0).collect();
        write!(f, "SignerBitmap({}/{}: {set:?})", set.len(), self.len)
    }
}

impl SignerBitmap {
    /// An empty bitmap over `len` validators (`len <= MAX_VALIDATORS`).
    pub fn new(len: usize) -> Result<Self, Error> {
        if len > MAX_VALIDATORS {
            return Err(Error::Malformed {
                reason: format!("bitmap of {len} validators exceeds {MAX_VALIDATORS}"),
            });
        }
        Ok(SignerBitmap {
            len: len as u16,
            bits: vec![0; len.div_ceil(8)],
        })
    }

    /// Number of validators the bitmap covers.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the bitmap covers no validator.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Marks `index` as a signer; `false` if it is out of range.
    pub fn set(&mut self, index: ValidatorIndex) -> bool {
        let i = usize::from(index.0);
        if i >= self.len() {
            return false;
        }
        self.bits[i / 8] |= 1 << (i % 8);
        true
    }

    /// Whether `index` signed.
    pub fn contains(&self, index: ValidatorIndex) -> bool {
        let i = usize::from(index.0);
        i < self.len() && self.bits[i / 8] & (1 << (i % 8)) != 0
    }

    /// Number of signers.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The signers in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = ValidatorIndex> + '_ {
        (0..self.len)
            .map(ValidatorIndex)
            .filter(|v| self.contains(*v))
    }

    /// Whether two bitmaps share a signer.
    pub fn intersects(&self, other: &SignerBitmap) -> bool {
        self.bits.iter().zip(&other.bits).any(|(a, b)| a & b != 0)
    }
}

impl BorshSerialize for SignerBitmap {
    fn serialize<W: Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        self.len.serialize(writer)?;
        writer.write_all(&self.bits)
    }
}

impl BorshDeserialize for SignerBitmap {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let len = u16::deserialize_reader(reader)?;
        if usize::from(len) > MAX_VALIDATORS {
            return Err(IoError::new(
                ErrorKind::InvalidData,
                format!("bitmap of {len} validators exceeds {MAX_VALIDATORS}"),
            ));
        }
        let mut bits = vec![0u8; usize::from(len).div_ceil(8)];
        reader.read_exact(&mut bits)?;
        let used = usize::from(len) % 8;
        if used != 0 && bits.last().is_some_and(|last| last >> used != 0) {
            return Err(IoError::new(
                ErrorKind::InvalidData,
                "bitmap padding bits are not zero",
            ));
        }
        Ok(SignerBitmap { len, bits })
    }
}

/// What votes and proposals sign: a block at a round.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlockRef {
    /// Epoch of the round.
    pub epoch: Epoch,
    /// Round in which the block was proposed.
    pub round: Round,
    /// The block id (`BlockHeader::hash`).
    pub block: BlockHash,
    /// Height of the block.
    pub height: u64,
}

/// A quorum certificate: validators holding more than 2/3 of the stake
/// voted for `block` in `round`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct QuorumCert {
    /// Epoch of the round.
    pub epoch: Epoch,
    /// Round of the certified block.
    pub round: Round,
    /// The certified block's id.
    pub block: BlockHash,
    /// The certified block's height.
    pub height: u64,
    /// Who signed.
    pub signers: SignerBitmap,
    /// Aggregate of the signers' vote signatures over [`BlockRef`].
    pub signature: BlsSignatureBytes,
}

impl QuorumCert {
    /// The genesis QC (see the module docs).
    pub fn genesis(epoch: Epoch, genesis: BlockHash) -> Self {
        QuorumCert {
            epoch,
            round: Round(0),
            block: genesis,
            height: 0,
            signers: SignerBitmap::default(),
            signature: BlsSignatureBytes::ZERO,
        }
    }

    /// Whether this is shaped like the genesis QC (round 0, no signers).
    pub fn is_genesis(&self) -> bool {
        self.round == Round(0) && self.signers.is_empty()
    }

    /// The statement the signers signed.
    pub fn block_ref(&self) -> BlockRef {
        BlockRef {
            epoch: self.epoch,
            round: self.round,
            block: self.block,
            height: self.height,
        }
    }

    /// Cache key: `H(QC_TAG, encode(self))`.
    pub fn digest(&self) -> Digest {
        tagged_hash(QC_TAG, &[&encode(self)])
    }
}

impl Canonical for QuorumCert {
    const MAX_ENCODED_LEN: usize = 128 + MAX_VALIDATORS / 8;
}

/// A vote for a block.
#[derive(Clone, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Epoch of the round.
    pub epoch: Epoch,
    /// Round of the block.
    pub round: Round,
    /// The block id.
    pub block: BlockHash,
    /// The block's height.
    pub height: u64,
    /// Who votes.
    pub voter: ValidatorIndex,
    /// Signature over the [`BlockRef`] (vote domain).
    pub signature: BlsSignatureBytes,
}

impl Vote {
    /// The statement the voter signed.
    pub fn block_ref(&self) -> BlockRef {
        BlockRef {
            epoch: self.epoch,
            round: self.round,
            block: self.block,
            height: self.height,
        }
    }
}

impl Canonical for Vote {
    const MAX_ENCODED_LEN: usize = 160;
}

/// What a timeout signs: the round given up and the signer's highest QC round.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct TimeoutData {
    /// Epoch of the round.
    pub epoch: Epoch,
    /// The round timed out.
    pub round: Round,
    /// Round of the signer's highest QC.
    pub high_qc_round: Round,
}

/// Signers of a timeout certificate who reported the same highest QC round.
#[derive(Clone, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct TimeoutGroup {
    /// The highest QC round these signers reported.
    pub high_qc_round: Round,
    /// The signers.
    pub signers: SignerBitmap,
}

/// A timeout certificate: validators holding more than 2/3 of the stake
/// gave up `round`; each reported its highest QC round.
#[derive(Clone, PartialEq, Eq, Hash, Debug, BorshSerialize)]
pub struct TimeoutCert {
    /// Epoch of the round.
    pub epoch: Epoch,
    /// The round given up.
    pub round: Round,
    /// Signers grouped by reported highest QC round (see the module docs).
    pub groups: Vec<TimeoutGroup>,
    /// Aggregate of the signers' timeout signatures over [`TimeoutData`].
    pub signature: BlsSignatureBytes,
}

impl TimeoutCert {
    /// Checks the structural invariants (see the module docs).
    pub fn check_structure(&self) -> Result<(), String> {
        let first = self
            .groups
            .first()
            .ok_or("timeout certificate without signers")?;
        let len = first.signers.len();
        for (i, group) in self.groups.iter().enumerate() {
            if group.high_qc_round >= self.round {
                return Err("a reported high-QC round is not below the certificate's round".into());
            }
            if group.signers.len() != len {
                return Err("bitmaps of different lengths".into());
            }
            if group.signers.count() == 0 {
                return Err("empty timeout group".into());
            }
            if i > 0 {
                if self.groups[i - 1].high_qc_round >= group.high_qc_round {
                    return Err("groups not in strictly ascending high-QC round".into());
                }
                if self.groups[..i]
                    .iter()
                    .any(|g| g.signers.intersects(&group.signers))
                {
                    return Err("a signer appears in two groups".into());
                }
            }
        }
        Ok(())
    }

    /// The highest QC round any signer reported (the bound a proposal
    /// justified by this certificate must meet).
    pub fn max_high_qc_round(&self) -> Round {
        self.groups
            .last()
            .map(|g| g.high_qc_round)
            .unwrap_or_default()
    }

    /// Every signer, with its reported high-QC round.
    pub fn signers(&self) -> impl Iterator<Item = (ValidatorIndex, Round)> + '_ {
        self.groups
            .iter()
            .flat_map(|g| g.signers.iter().map(move |v| (v, g.high_qc_round)))
    }

    /// Cache key: `H(TC_TAG, encode(self))`.
    pub fn digest(&self) -> Digest {
        tagged_hash(TC_TAG, &[&encode(self)])
    }
}

impl BorshDeserialize for TimeoutCert {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let tc = TimeoutCert {
            epoch: Epoch::deserialize_reader(reader)?,
            round: Round::deserialize_reader(reader)?,
            groups: bounded_vec(reader, MAX_VALIDATORS)?,
            signature: BlsSignatureBytes::deserialize_reader(reader)?,
        };
        tc.check_structure()
            .map_err(|reason| IoError::new(ErrorKind::InvalidData, reason))?;
        Ok(tc)
    }
}

impl Canonical for TimeoutCert {
    const MAX_ENCODED_LEN: usize = 64 * 1024;
}

/// Reads a Borsh vector with at most `max` elements.
fn bounded_vec<T: BorshDeserialize, R: Read>(
    reader: &mut R,
    max: usize,
) -> borsh::io::Result<Vec<T>> {
    let len = u32::deserialize_reader(reader)? as usize;
    if len > max {
        return Err(IoError::new(
            ErrorKind::InvalidData,
            format!("{len} elements exceed the bound of {max}"),
        ));
    }
    let mut out = Vec::with_capacity(len.min(64));
    for _ in 0..len {
        out.push(T::deserialize_reader(reader)?);
    }
    Ok(out)
}

/// A validator gives up a round; carries its highest QC (and highest TC)
/// so that lagging receivers catch up from the message alone.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize)]
pub struct TimeoutMsg {
    /// Epoch of the round.
    pub epoch: Epoch,
    /// The round given up.
    pub round: Round,
    /// The sender's highest QC.
    pub high_qc: QuorumCert,
    /// The sender's highest TC, if it is newer than its highest QC.
    pub high_tc: Option<TimeoutCert>,
    /// Who gives up.
    pub sender: ValidatorIndex,
    /// Signature over [`TimeoutData`] `{ epoch, round, high_qc.round }`.
    pub signature: BlsSignatureBytes,
}

impl TimeoutMsg {
    /// What the sender signed.
    pub fn data(&self) -> TimeoutData {
        TimeoutData {
            epoch: self.epoch,
            round: self.round,
            high_qc_round: self.high_qc.round,
        }
    }
}

impl BorshDeserialize for TimeoutMsg {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let msg = TimeoutMsg {
            epoch: Epoch::deserialize_reader(reader)?,
            round: Round::deserialize_reader(reader)?,
            high_qc: QuorumCert::deserialize_reader(reader)?,
            high_tc: Option::<TimeoutCert>::deserialize_reader(reader)?,
            sender: ValidatorIndex::deserialize_reader(reader)?,
            signature: BlsSignatureBytes::deserialize_reader(reader)?,
        };
        if msg.high_qc.round >= msg.round {
            return Err(IoError::new(
                ErrorKind::InvalidData,
                "timeout's high QC is not below its round",
            ));
        }
        if msg.high_tc.as_ref().is_some_and(|tc| tc.round >= msg.round) {
            return Err(IoError::new(
                ErrorKind::InvalidData,
                "timeout's high TC is not below its round",
            ));
        }
        Ok(msg)
    }
}

impl Canonical for TimeoutMsg {
    const MAX_ENCODED_LEN: usize = 128 * 1024;
}

/// The consensus fields of a proposed block's header
/// (`ConsensusFields::HotStuff`).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProposalFields {
    /// Epoch of the round.
    pub epoch: Epoch,
    /// Round in which the block is proposed.
    pub round: Round,
    /// The proposer (the round's leader).
    pub proposer: ValidatorIndex,
    /// QC of the parent block (`header.parent_hash == justify.block`).
    pub justify: QuorumCert,
    /// TC of the previous round, when `justify.round + 1 != round`.
    pub timeout_cert: Option<TimeoutCert>,
    /// The proposer's VRF proof over `(epoch, round)`.
    pub vrf_proof: BlsSignatureBytes,
}

/// A proposal: a block header, the block body as the application encodes
/// it, and the proposer's signature over the block's [`BlockRef`].
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// The header; its consensus field is `ConsensusFields::HotStuff`.
    pub header: BlockHeader,
    /// The block body (opaque to consensus).
    pub payload: BoundedBytes<MAX_PAYLOAD_LEN>,
    /// Proposer's signature over the [`BlockRef`] (proposal domain).
    pub signature: BlsSignatureBytes,
}

impl Proposal {
    /// The header's consensus fields, if they are HotStuff fields.
    pub fn fields(&self) -> Option<&ProposalFields> {
        match &self.header.consensus {
            crate::block::ConsensusFields::HotStuff(fields) => Some(fields),
            _ => None,
        }
    }

    /// The block id.
    pub fn block_id(&self) -> BlockHash {
        self.header.hash()
    }
}

impl Canonical for Proposal {
    const MAX_ENCODED_LEN: usize = MAX_PAYLOAD_LEN + 128 * 1024;

    fn check(&self) -> Result<(), Error> {
        self.header.check()
    }
}

/// Most ancestors a [`BlockRequest`] may ask for (a response holds at most
/// `1 + MAX_SYNC_ANCESTORS` blocks).
pub const MAX_SYNC_ANCESTORS: u16 = 64;

/// Asks a peer for a block (and its payload) by id, and for up to
/// `ancestors` of its ancestors (so a node that fell behind fetches a run
/// of blocks per round trip instead of one).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlockRequest {
    /// The block wanted.
    pub block: BlockHash,
    /// How many of its ancestors to send along (capped at
    /// [`MAX_SYNC_ANCESTORS`] by the responder).
    pub ancestors: u16,
}

/// Every consensus message on the wire.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum ConsensusMsg {
    /// A leader's proposal.
    Proposal(Box<Proposal>),
    /// A vote (sent to every validator).
    Vote(Vote),
    /// A timeout (sent to every validator).
    Timeout(Box<TimeoutMsg>),
    /// A request for a block the sender is missing.
    BlockRequest(BlockRequest),
    /// The answer to a [`BlockRequest`]: the block as it was proposed, then
    /// its ancestors, newest first (each the parent of the one before).
    BlockResponse(Vec<Proposal>),
}

impl Canonical for ConsensusMsg {
    const MAX_ENCODED_LEN: usize = MAX_PAYLOAD_LEN + 256 * 1024;

    fn check(&self) -> Result<(), Error> {
        match self {
            ConsensusMsg::Proposal(p) => p.header.check(),
            ConsensusMsg::BlockResponse(blocks) => {
                if blocks.is_empty() || blocks.len() > 1 + usize::from(MAX_SYNC_ANCESTORS) {
                    return Err(Error::Malformed {
                        reason: format!("block response of {} blocks", blocks.len()),
                    });
                }
                blocks.iter().try_for_each(|p| p.header.check())
            }
            _ => Ok(()),
        }
    }
}

/// Which kind of signed statement was doubled.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub enum EquivocationKind {
    /// Two votes in one round.
    Vote,
    /// Two proposals in one round.
    Proposal,
}

/// Proof that a validator signed two different blocks in the same round:
/// both signed statements. Submitted in a transaction for slashing.
#[derive(Clone, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct EquivocationEvidence {
    /// Votes or proposals.
    pub kind: EquivocationKind,
    /// The validator that signed both.
    pub offender: ValidatorIndex,
    /// The statement with the smaller block hash.
    pub first: BlockRef,
    /// Its signature.
    pub first_signature: BlsSignatureBytes,
    /// The statement with the larger block hash.
    pub second: BlockRef,
    /// Its signature.
    pub second_signature: BlsSignatureBytes,
}

impl EquivocationEvidence {
    /// Builds evidence from two conflicting statements in either order;
    /// `None` unless they share epoch and round and name different blocks.
    pub fn new(
        kind: EquivocationKind,
        offender: ValidatorIndex,
        a: (BlockRef, BlsSignatureBytes),
        b: (BlockRef, BlsSignatureBytes),
    ) -> Option<Self> {
        let (first, second) = if a.0.block < b.0.block {
            (a, b)
        } else {
            (b, a)
        };
        let evidence = EquivocationEvidence {
            kind,
            offender,
            first: first.0,
            first_signature: first.1,
            second: second.0,
            second_signature: second.1,
        };
        evidence.check().ok()?;
        Some(evidence)
    }
}

impl Canonical for EquivocationEvidence {
    const MAX_ENCODED_LEN: usize = 512;

    fn check(&self) -> Result<(), Error> {
        if self.first.epoch != self.second.epoch || self.first.round != self.second.round {
            return Err(Error::Malformed {
                reason: "evidence statements are from different rounds".into(),
            });
        }
        if self.first.block >= self.second.block {
            return Err(Error::Malformed {
                reason: "evidence blocks are equal or not in ascending order".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_encoding_and_padding() {
        let mut bitmap = SignerBitmap::new(10).unwrap();
        assert!(bitmap.set(ValidatorIndex(0)));
        assert!(bitmap.set(ValidatorIndex(9)));
        assert!(!bitmap.set(ValidatorIndex(10)));
        assert_eq!(encode(&bitmap), vec![10, 0, 0b0000_0001, 0b0000_0010]);
        assert_eq!(bitmap.count(), 2);
        assert_eq!(
            bitmap.iter().collect::<Vec<_>>(),
            vec![ValidatorIndex(0), ValidatorIndex(9)]
        );
        // A padding bit set (bit 10 of a 10-bit map) is refused.
        assert!(borsh::from_slice::<SignerBitmap>(&[10, 0, 1, 0b0000_0110]).is_err());
        // Too long.
        assert!(borsh::from_slice::<SignerBitmap>(&[0xff, 0xff]).is_err());
        assert!(SignerBitmap::new(MAX_VALIDATORS + 1).is_err());
    }

    fn bitmap(len: usize, set: &[u16]) -> SignerBitmap {
        let mut b = SignerBitmap::new(len).unwrap();
        for i in set {
            b.set(ValidatorIndex(*i));
        }
        b
    }

    fn tc(groups: Vec<TimeoutGroup>) -> TimeoutCert {
        TimeoutCert {
            epoch: Epoch(1),
            round: Round(9),
            groups,
            signature: BlsSignatureBytes([1; 96]),
        }
    }

    #[test]
    fn timeout_cert_structure() {
        let g = |r: u64, s: &[u16]| TimeoutGroup {
            high_qc_round: Round(r),
            signers: bitmap(4, s),
        };
        let good = tc(vec![g(5, &[0, 1]), g(7, &[2])]);
        assert_eq!(TimeoutCert::decode(&good.encode()).unwrap(), good);
        assert_eq!(good.max_high_qc_round(), Round(7));
        assert_eq!(good.signers().count(), 3);
        for bad in [
            tc(vec![]),
            tc(vec![g(7, &[0]), g(5, &[1])]),
            tc(vec![g(5, &[0]), g(5, &[1])]),
            tc(vec![g(5, &[0, 1]), g(7, &[1])]),
            tc(vec![g(9, &[0])]),
            tc(vec![g(5, &[])]),
            tc(vec![
                g(5, &[0]),
                TimeoutGroup {
                    high_qc_round: Round(6),
                    signers: bitmap(5, &[1]),
                },
            ]),
        ] {
            assert!(bad.check_structure().is_err());
            assert!(TimeoutCert::decode(&bad.encode()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn evidence_is_ordered_and_needs_a_conflict() {
        let r = |b: u8| BlockRef {
            epoch: Epoch(1),
            round: Round(3),
            block: BlockHash([b; 32]),
            height: 4,
        };
        let s = BlsSignatureBytes([2; 96]);
        let e1 = EquivocationEvidence::new(
            EquivocationKind::Vote,
            ValidatorIndex(1),
            (r(9), s),
            (r(3), s),
        )
        .unwrap();
        let e2 = EquivocationEvidence::new(
            EquivocationKind::Vote,
            ValidatorIndex(1),
            (r(3), s),
            (r(9), s),
        )
        .unwrap();
        assert_eq!(e1, e2);
        assert_eq!(e1.first.block, BlockHash([3; 32]));
        assert!(
            EquivocationEvidence::new(
                EquivocationKind::Vote,
                ValidatorIndex(1),
                (r(3), s),
                (r(3), s)
            )
            .is_none()
        );
        let mut other_round = r(9);
        other_round.round = Round(4);
        assert!(
            EquivocationEvidence::new(
                EquivocationKind::Vote,
                ValidatorIndex(1),
                (r(3), s),
                (other_round, s)
            )
            .is_none()
        );
        let mut swapped = e1.clone();
        std::mem::swap(&mut swapped.first, &mut swapped.second);
        assert!(EquivocationEvidence::decode(&swapped.encode()).is_err());
        assert_eq!(EquivocationEvidence::decode(&e1.encode()).unwrap(), e1);
    }

    #[test]
    fn qc_size_is_compact() {
        let mut qc = QuorumCert::genesis(Epoch(0), BlockHash([1; 32]));
        qc.signers = SignerBitmap::new(4).unwrap();
        assert_eq!(qc.encode().len(), 155);
        qc.signers = SignerBitmap::new(1000).unwrap();
        assert_eq!(qc.encode().len(), 279);
    }
}
