//! Property tests of signing and (batch) verification.

use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::{Keypair, SignedMessage, verify, verify_batch, verify_each};
use aether_types::{PublicKey, Signature};
use proptest::prelude::*;
use std::collections::HashSet;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_verify_roundtrip(secret in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..256)) {
        let kp = Keypair::from_secret_bytes(&secret);
        let sig = kp.sign(&msg);
        prop_assert!(verify(&kp.public_key(), &msg, &sig).is_ok());
        let mut other = msg.clone();
        other.push(0);
        prop_assert!(verify(&kp.public_key(), &other, &sig).is_err());
    }

    /// Batch-with-fallback verdicts equal single verification verdicts, for
    /// any pattern of corrupted signatures.
    #[test]
    fn batch_verdicts_match_single(corrupt in proptest::collection::vec(any::<bool>(), 1..24), bit in 0usize..512) {
        let keys: Vec<Keypair> = (0..corrupt.len() as u32).map(|i| dev_keypair(b"batch", i)).collect();
        let msgs: Vec<Vec<u8>> = (0..corrupt.len()).map(|i| format!("message {i}").into_bytes()).collect();
        let pks: Vec<PublicKey> = keys.iter().map(Keypair::public_key).collect();
        let sigs: Vec<Signature> = keys.iter().zip(&msgs).zip(&corrupt).map(|((k, m), c)| {
            let mut s = k.sign(m);
            if *c { s.0[bit / 8] ^= 1 << (bit % 8); }
            s
        }).collect();
        let items: Vec<SignedMessage<'_>> = (0..keys.len()).map(|i| SignedMessage {
            public_key: &pks[i], message: &msgs[i], signature: &sigs[i],
        }).collect();
        let single: Vec<bool> = items.iter().map(|i| verify(i.public_key, i.message, i.signature).is_ok()).collect();
        prop_assert_eq!(verify_each(&items), single.clone());
        prop_assert_eq!(verify_batch(&items).is_ok(), single.iter().all(|v| *v));
        for (v, c) in single.iter().zip(&corrupt) {
            prop_assert_eq!(*v, !*c);
        }
    }

    /// Arbitrary bytes as keys and signatures never panic.
    #[test]
    fn hostile_keys_and_signatures_never_panic(pk in any::<[u8; 32]>(), sig in proptest::collection::vec(any::<u8>(), 64)) {
        let sig = Signature(sig.try_into().unwrap());
        let pk = PublicKey(pk);
        let _ = verify(&pk, b"m", &sig);
        let item = SignedMessage { public_key: &pk, message: b"m", signature: &sig };
        prop_assert_eq!(verify_each(&[item]), vec![false]);
    }
}

#[test]
fn dev_accounts_are_distinct() {
    let keys: HashSet<[u8; 32]> = (0..200)
        .map(|i| dev_keypair(DEV_SEED, i).public_key().0)
        .collect();
    assert_eq!(keys.len(), 200);
}
