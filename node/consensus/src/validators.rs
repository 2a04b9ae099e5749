//! The validator set of an epoch: BLS keys checked once (with their proofs
//! of possession), stakes, and the quorum arithmetic.
//!
//! # Thresholds (by stake, never by head count)
//! With total stake `S`:
//! - a **quorum** is stake `q` with `3q > 2S` (more than two thirds);
//! - a **blocking** set is stake `b` with `3b > S` (more than one third:
//!   it contains at least one honest validator when the faulty stake is
//!   below one third).
//!
//! Two quorums intersect in more than `S/3` of stake, hence in at least
//! one honest validator; that is the whole safety argument's arithmetic.

use crate::ConsensusError;
use aether_crypto::bls::{AggregatePublicKey, BlsError, PublicKey, Signature};
use aether_types::{
    BlsPublicKeyBytes, BlsSignatureBytes, Epoch, MAX_VALIDATORS, SignerBitmap, ValidatorIndex,
};

/// A validator as registered: its BLS key, the proof of possession of
/// that key, and its stake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorInfo {
    /// Compressed BLS public key.
    pub public_key: BlsPublicKeyBytes,
    /// Proof of possession of the key (PoP domain, over the key bytes).
    pub proof_of_possession: BlsSignatureBytes,
    /// Stake (any unit; only ratios matter). Must be positive.
    pub stake: u64,
}

/// A checked validator set (see the module docs).
#[derive(Clone, Debug)]
pub struct ValidatorSet {
    epoch: Epoch,
    keys: Vec<PublicKey>,
    stakes: Vec<u64>,
    total: u128,
}

impl ValidatorSet {
    /// Checks every key and proof of possession once and builds the set.
    pub fn new(epoch: Epoch, validators: &[ValidatorInfo]) -> Result<Self, ConsensusError> {
        if validators.is_empty() || validators.len() > MAX_VALIDATORS {
            return Err(ConsensusError::SetSize(validators.len()));
        }
        let mut keys = Vec::with_capacity(validators.len());
        let mut stakes = Vec::with_capacity(validators.len());
        let mut seen = std::collections::BTreeSet::new();
        for (i, v) in validators.iter().enumerate() {
            let index = ValidatorIndex(i as u16);
            if v.stake == 0 {
                return Err(ConsensusError::ZeroStake(index));
            }
            if !seen.insert(v.public_key) {
                return Err(ConsensusError::DuplicateKey(index));
            }
            let key = PublicKey::from_bytes(&v.public_key.0)
                .map_err(|source| ConsensusError::BadKey { index, source })?;
            let pop = Signature::from_bytes(&v.proof_of_possession.0)
                .map_err(|source| ConsensusError::BadProofOfPossession { index, source })?;
            key.verify_proof_of_possession(&pop)
                .map_err(|source| ConsensusError::BadProofOfPossession { index, source })?;
            keys.push(key);
            stakes.push(v.stake);
        }
        let total = stakes.iter().map(|s| u128::from(*s)).sum();
        Ok(ValidatorSet {
            epoch,
            keys,
            stakes,
            total,
        })
    }

    /// The epoch this set serves.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty (never, once built).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A validator's key.
    pub fn key(&self, index: ValidatorIndex) -> Option<&PublicKey> {
        self.keys.get(usize::from(index.0))
    }

    /// A validator's stake (0 for an unknown index).
    pub fn stake(&self, index: ValidatorIndex) -> u64 {
        self.stakes.get(usize::from(index.0)).copied().unwrap_or(0)
    }

    /// Total stake.
    pub fn total_stake(&self) -> u128 {
        self.total
    }

    /// Whether `stake` is a quorum (more than 2/3 of the total).
    pub fn is_quorum(&self, stake: u128) -> bool {
        stake.saturating_mul(3) > self.total.saturating_mul(2)
    }

    /// Whether `stake` is blocking (more than 1/3 of the total).
    pub fn is_blocking(&self, stake: u128) -> bool {
        stake.saturating_mul(3) > self.total
    }

    /// Stake of the signers of `bitmap`; `None` if the bitmap is not over
    /// this set.
    pub fn bitmap_stake(&self, bitmap: &SignerBitmap) -> Option<u128> {
        if bitmap.len() != self.len() {
            return None;
        }
        Some(bitmap.iter().map(|v| u128::from(self.stake(v))).sum())
    }

    /// Sum of the keys of `bitmap`'s signers.
    pub fn aggregate_key(&self, bitmap: &SignerBitmap) -> Result<AggregatePublicKey, BlsError> {
        AggregatePublicKey::aggregate(bitmap.iter().filter_map(|v| self.key(v)))
    }

    /// All validator indices.
    pub fn indices(&self) -> impl Iterator<Item = ValidatorIndex> + '_ {
        (0..self.len() as u16).map(ValidatorIndex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_crypto::bls::SecretKey;

    pub(crate) fn info(i: u8, stake: u64) -> ValidatorInfo {
        let sk = SecretKey::from_seed(&[i; 32]);
        ValidatorInfo {
            public_key: BlsPublicKeyBytes(sk.public_key().to_bytes()),
            proof_of_possession: BlsSignatureBytes(sk.proof_of_possession().to_bytes()),
            stake,
        }
    }

    #[test]
    fn thresholds_are_by_stake() {
        let set = ValidatorSet::new(
            Epoch(0),
            &[info(1, 10), info(2, 10), info(3, 10), info(4, 70)],
        )
        .unwrap();
        assert_eq!(set.total_stake(), 100);
        assert!(!set.is_quorum(66));
        assert!(set.is_quorum(67));
        assert!(!set.is_blocking(33));
        assert!(set.is_blocking(34));
        let mut bitmap = SignerBitmap::new(4).unwrap();
        bitmap.set(ValidatorIndex(3));
        assert_eq!(set.bitmap_stake(&bitmap), Some(70));
        assert_eq!(set.bitmap_stake(&SignerBitmap::new(3).unwrap()), None);
    }

    #[test]
    fn every_registration_check_fails_alone() {
        assert!(matches!(
            ValidatorSet::new(Epoch(0), &[]),
            Err(ConsensusError::SetSize(0))
        ));
        assert!(matches!(
            ValidatorSet::new(Epoch(0), &[info(1, 1), info(2, 0)]),
            Err(ConsensusError::ZeroStake(ValidatorIndex(1)))
        ));
        assert!(matches!(
            ValidatorSet::new(Epoch(0), &[info(1, 1), info(1, 1)]),
            Err(ConsensusError::DuplicateKey(ValidatorIndex(1)))
        ));
        let mut wrong_pop = info(1, 1);
        wrong_pop.proof_of_possession = info(2, 1).proof_of_possession;
        assert!(matches!(
            ValidatorSet::new(Epoch(0), &[wrong_pop]),
            Err(ConsensusError::BadProofOfPossession { .. })
        ));
        let mut bad_key = info(1, 1);
        bad_key.public_key = BlsPublicKeyBytes([0x8a; 48]);
        assert!(matches!(
            ValidatorSet::new(Epoch(0), &[bad_key]),
            Err(ConsensusError::BadKey { .. })
        ));
    }
}
