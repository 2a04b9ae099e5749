//! Keys and the validator set shared by the consensus integration tests.

use aether_consensus::{ValidatorInfo, ValidatorSet};
use aether_crypto::bls::SecretKey;
use aether_types::{BlsPublicKeyBytes, BlsSignatureBytes, Epoch};

/// Validators in the tests' set.
pub const N: usize = 4;

/// Validator `i`'s BLS key (deterministic).
pub fn key(i: usize) -> SecretKey {
    SecretKey::from_seed(&[i as u8 + 1; 32])
}

/// The `N` validators of epoch 0, stake 10 each.
pub fn set() -> ValidatorSet {
    let infos: Vec<ValidatorInfo> = (0..N)
        .map(|i| ValidatorInfo {
            public_key: BlsPublicKeyBytes(key(i).public_key().to_bytes()),
            proof_of_possession: BlsSignatureBytes(key(i).proof_of_possession().to_bytes()),
            stake: 10,
        })
        .collect();
    ValidatorSet::new(Epoch(0), &infos).unwrap()
}
