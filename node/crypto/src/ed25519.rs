//! ed25519 account keys, signatures and batch verification.
//!
//! # Verification rules
//! - **Single** ([`verify`]): `ed25519-dalek`'s `verify_strict`: the public
//!   key and `R` must not be of small order, `s` must be canonical, and
//!   `[s]B = R + [k]A` must hold exactly (cofactorless).
//! - **Batch** ([`verify_batch`]): keys of small order are rejected first,
//!   then `ed25519-dalek`'s batch equation with weights derived from a
//!   transcript of the whole batch (deterministic: no system randomness).
//!   A batch of honestly made signatures passes iff each passes singly.
//! - **Batch with fallback** ([`verify_each`]): one batch; if it fails,
//!   every signature is checked singly, which names the bad ones.
//!
//! The cofactorless batch equation can accept a signature that single
//! verification rejects only if its own signer built it with a small-order
//! component on purpose, and then the result depends on which other
//! signatures share the batch. A signer gains nothing from it (it cannot
//! forge anyone else's signature), but consensus must not depend on it:
//! callers that need agreement across nodes (the ledger) fix the batch
//! composition from the block's contents, so every node computes the same
//! verdict.

use crate::Error;
use aether_types::{KeyHash, PublicKey, Signature, TxBody, TxId, VKeyWitness};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;

/// An ed25519 key pair.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "Keypair({:?})", self.public_key())
    }
}

impl Keypair {
    /// Builds a key pair from its 32-byte secret (the RFC 8032 seed).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Keypair {
            signing: SigningKey::from_bytes(secret),
        }
    }

    /// Generates a fresh key pair.
    pub fn generate<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        Keypair {
            signing: SigningKey::generate(rng),
        }
    }

    /// The 32-byte secret (keep it secret).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// The hash addresses and required signers use for this key.
    pub fn key_hash(&self) -> KeyHash {
        self.public_key().key_hash()
    }

    /// Signs arbitrary bytes.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }

    /// Signs a transaction id (what vkey witnesses sign).
    pub fn sign_tx_id(&self, id: &TxId) -> VKeyWitness {
        VKeyWitness {
            public_key: self.public_key(),
            signature: self.sign(id.as_bytes()),
        }
    }

    /// Signs a transaction body (its id).
    pub fn sign_tx(&self, body: &TxBody) -> VKeyWitness {
        self.sign_tx_id(&body.id())
    }
}

/// A public key parsed and checked once, ready for verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedPublicKey(VerifyingKey);

impl ParsedPublicKey {
    /// Decompresses and checks a public key: it must be a valid point not
    /// of small order.
    pub fn parse(key: &PublicKey) -> Result<Self, Error> {
        let vk = VerifyingKey::from_bytes(&key.0).map_err(|_| Error::InvalidPublicKey)?;
        if vk.is_weak() {
            return Err(Error::WeakPublicKey);
        }
        Ok(ParsedPublicKey(vk))
    }
}

/// One signature to check.
#[derive(Clone, Copy, Debug)]
pub struct SignedMessage<'a> {
    /// The signer's key.
    pub public_key: &'a PublicKey,
    /// What was signed.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Verifies one signature (strict rules, see the module docs).
pub fn verify(public_key: &PublicKey, message: &[u8], signature: &Signature) -> Result<(), Error> {
    let key = ParsedPublicKey::parse(public_key)?;
    verify_parsed(&key, message, signature)
}

/// Verifies one signature under an already parsed key.
pub fn verify_parsed(
    key: &ParsedPublicKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), Error> {
    let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
    key.0
        .verify_strict(message, &sig)
        .map_err(|_| Error::BadSignature)
}

/// Verifies all signatures as one batch: `Ok` only if every key parses and
/// the batch equation holds. An empty batch passes.
pub fn verify_batch(items: &[SignedMessage<'_>]) -> Result<(), Error> {
    if items.is_empty() {
        return Ok(());
    }
    let mut keys = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut msgs = Vec::with_capacity(items.len());
    for item in items {
        keys.push(ParsedPublicKey::parse(item.public_key)?.0);
        sigs.push(ed25519_dalek::Signature::from_bytes(&item.signature.0));
        msgs.push(item.message);
    }
    ed25519_dalek::verify_batch(&msgs, &sigs, &keys).map_err(|_| Error::BatchFailed)
}

/// Verifies a batch and, if it fails, each signature singly; returns one
/// verdict per item, in order.
pub fn verify_each(items: &[SignedMessage<'_>]) -> Vec<bool> {
    if verify_batch(items).is_ok() {
        return vec![true; items.len()];
    }
    items
        .iter()
        .map(|i| verify(i.public_key, i.message, i.signature).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> Keypair {
        Keypair::from_secret_bytes(&[i; 32])
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 section 7.1, TEST 1 (empty message).
        let secret: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let kp = Keypair::from_secret_bytes(&secret);
        assert_eq!(
            hex::encode(kp.public_key().0),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = kp.sign(b"");
        assert_eq!(
            hex::encode(sig.0),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(verify(&kp.public_key(), b"", &sig).is_ok());
    }

    #[test]
    fn single_verification_rejects_wrong_message_key_and_bits() {
        let kp = key(1);
        let sig = kp.sign(b"hello");
        assert!(verify(&kp.public_key(), b"hello", &sig).is_ok());
        assert_eq!(
            verify(&kp.public_key(), b"hellO", &sig),
            Err(Error::BadSignature)
        );
        assert_eq!(
            verify(&key(2).public_key(), b"hello", &sig),
            Err(Error::BadSignature)
        );
        let mut bad = sig;
        bad.0[10] ^= 1;
        assert_eq!(
            verify(&kp.public_key(), b"hello", &bad),
            Err(Error::BadSignature)
        );
    }

    #[test]
    fn invalid_and_weak_keys_rejected() {
        // The identity point (small order) compresses to 0x01 followed by zeros.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            ParsedPublicKey::parse(&PublicKey(identity)),
            Err(Error::WeakPublicKey)
        );
        // y = 2 is not on the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(
            ParsedPublicKey::parse(&PublicKey(not_a_point)),
            Err(Error::InvalidPublicKey)
        );
    }

    #[test]
    fn batch_passes_when_all_valid_and_names_bad_ones() {
        let keys: Vec<Keypair> = (1..=8).map(key).collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 5]).collect();
        let pks: Vec<PublicKey> = keys.iter().map(Keypair::public_key).collect();
        let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let items = |sigs: &[Signature]| -> Vec<bool> {
            let v: Vec<SignedMessage<'_>> = (0..8)
                .map(|i| SignedMessage {
                    public_key: &pks[i],
                    message: &msgs[i],
                    signature: &sigs[i],
                })
                .collect();
            assert_eq!(verify_batch(&v).is_ok(), verify_each(&v).iter().all(|b| *b));
            verify_each(&v)
        };
        assert_eq!(items(&sigs), vec![true; 8]);
        sigs[3].0[0] ^= 0x80;
        sigs[6] = keys[0].sign(&msgs[6]);
        let verdicts = items(&sigs);
        assert_eq!(
            verdicts,
            vec![true, true, true, false, true, true, false, true]
        );
        assert!(verify_batch(&[]).is_ok());
    }

    #[test]
    fn tx_signing_signs_the_id() {
        let kp = key(9);
        let id = TxId([5; 32]);
        let w = kp.sign_tx_id(&id);
        assert_eq!(w.public_key, kp.public_key());
        assert!(verify(&w.public_key, id.as_bytes(), &w.signature).is_ok());
        assert_eq!(kp.key_hash(), KeyHash::of_public_key(&kp.public_key().0));
        assert!(!format!("{kp:?}").contains(&hex::encode([9u8; 32])));
    }
}
