//! BLS12-381 validator keys (min_pk), domain-separated signatures, aggregation,
//! proofs of possession and the leader-election VRF.
//!
//! # Scheme
//! **min_pk**: public keys are G1 points (48 bytes compressed), signatures
//! are G2 points (96 bytes compressed), messages are hashed to G2 with
//! `hash_to_curve` (`XMD:SHA-256`, `SSWU`, random oracle). Back end: the
//! `blst` crate with its default features. Never enable `blst/portable`: it
//! replaces the assembly (ADX/MULX) field arithmetic with generic code;
//! `cargo tree -e features -i blst` must not list `portable` (c-kzg, which
//! enables it by default, must be taken without default features).
//!
//! # Domains
//! Every signature is made under one [`Domain`], whose DST (the hash-to-curve
//! domain separation tag) is unique, so a signature made for one purpose
//! never verifies for another (a vote is never a timeout, a VRF proof is
//! never a vote):
//!
//! | domain | DST | message |
//! |---|---|---|
//! | [`Domain::Proposal`] | `AETHER-PROPOSAL-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` | decided by the consensus crate |
//! | [`Domain::Vote`] | `AETHER-VOTE-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` | decided by the consensus crate |
//! | [`Domain::Timeout`] | `AETHER-TIMEOUT-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` | decided by the consensus crate |
//! | [`Domain::Vrf`] | `AETHER-VRF-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` | [`vrf_input`]`(epoch, round)` |
//! | [`Domain::ProofOfPossession`] | `BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_POP_` (IETF draft, §4.2.3) | the 48-byte compressed public key |
//!
//! # Rogue keys and proofs of possession
//! Aggregating public keys over one message ([`fast_aggregate_verify`]) is
//! sound only if every key was registered with a proof of possession
//! ([`SecretKey::proof_of_possession`], checked by
//! [`PublicKey::verify_proof_of_possession`]): otherwise a validator could
//! register `pk_evil = g^x - pk_honest` and forge an aggregate of both. The
//! consensus validator set checks every PoP once, when the set is built.
//!
//! # Subgroup checks (which, where, why)
//! Points that are on the curve but outside the prime-order subgroup break
//! the security proofs (small-subgroup attacks, non-unique signatures):
//! - **Public keys**: [`PublicKey::from_bytes`] decompresses and runs the
//!   full `key_validate` (not the identity, in the G1 subgroup). A
//!   [`PublicKey`] value therefore always holds a checked key, and every
//!   later use (aggregation, verification) skips the check (`pk_validate =
//!   false`). Keys are parsed once per validator set, so the cost (about
//!   0.05 ms) is paid once per epoch, not per vote.
//! - **Signatures**: [`Signature::from_bytes`] only decompresses (on-curve
//!   check). The G2 subgroup check (the expensive one) runs once per
//!   *verification*, on the signature actually verified: on an individual
//!   signature in [`verify`], and on the aggregate in
//!   [`fast_aggregate_verify`] / [`aggregate_verify`]. Individual
//!   signatures summed into an aggregate are not checked one by one
//!   ([`aggregate_signatures`]): the aggregate's check and the pairing
//!   equation decide, and a failed aggregate falls back to verifying each
//!   signature singly (with its own check) to find the bad signer.
//! - **Aggregated public keys** are sums of checked keys, so they are in the
//!   subgroup; the identity is rejected (it would accept the identity
//!   signature for any message).
//!
//! # VRF
//! The VRF proof for input `x` is the BLS signature of `x` under
//! [`Domain::Vrf`]; the output is `BLAKE3("aether/vrf-output/v1" || 0x00 ||
//! proof)`. BLS signatures are unique (one valid signature per key and
//! message), so the output is a deterministic function of the key and the
//! input that anyone holding the public key can check, and nobody without
//! the secret key can predict. The leader-election input is
//! [`vrf_input`]`(epoch, round)`.

use aether_types::hash::tagged_hash;
use blst::BLST_ERROR;
use blst::min_pk;
use rand_core::CryptoRngCore;
use std::fmt;

/// Length of a secret key in bytes (a big-endian scalar).
pub const SECRET_KEY_LEN: usize = 32;
/// Length of a compressed public key (G1) in bytes.
pub const PUBLIC_KEY_LEN: usize = 48;
/// Length of a compressed signature (G2) in bytes.
pub const SIGNATURE_LEN: usize = 96;

/// Domain-separation tag of the VRF output hash.
pub const VRF_OUTPUT_TAG: &str = "aether/vrf-output/v1";

/// What a signature is for; each domain has its own hash-to-curve DST.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Domain {
    /// A leader's signature of its proposal.
    Proposal,
    /// A validator's vote for a block.
    Vote,
    /// A validator's timeout of a round.
    Timeout,
    /// The leader-election VRF.
    Vrf,
    /// A proof of possession of a secret key (signs the public key bytes).
    ProofOfPossession,
}

impl Domain {
    /// The hash-to-curve domain separation tag (see the module docs).
    pub const fn dst(self) -> &'static [u8] {
        match self {
            Domain::Proposal => b"AETHER-PROPOSAL-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            Domain::Vote => b"AETHER-VOTE-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            Domain::Timeout => b"AETHER-TIMEOUT-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            Domain::Vrf => b"AETHER-VRF-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            Domain::ProofOfPossession => b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_POP_",
        }
    }
}

/// Every way a BLS operation can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlsError {
    /// The bytes are not a valid secret key (zero, or not below the group order).
    #[error("invalid BLS secret key")]
    InvalidSecretKey,
    /// The bytes are not a compressed G1 point.
    #[error("public key is not a compressed BLS12-381 G1 point")]
    InvalidPublicKey,
    /// The public key is the identity point.
    #[error("public key is the identity")]
    IdentityPublicKey,
    /// The public key is not in the prime-order subgroup.
    #[error("public key is not in the G1 subgroup")]
    PublicKeyNotInGroup,
    /// The bytes are not a compressed G2 point.
    #[error("signature is not a compressed BLS12-381 G2 point")]
    InvalidSignature,
    /// The signature (or aggregate) does not verify.
    #[error("BLS signature does not verify")]
    BadSignature,
    /// An aggregate of nothing was requested.
    #[error("nothing to aggregate")]
    EmptyAggregate,
    /// The public keys aggregate to the identity.
    #[error("aggregate public key is the identity")]
    IdentityAggregate,
    /// Messages of an aggregate verification over distinct messages repeat.
    #[error("messages of a distinct-message aggregate verification repeat")]
    DuplicateMessage,
    /// Messages and keys of an aggregate verification differ in number.
    #[error("{messages} messages for {keys} public keys")]
    LengthMismatch {
        /// Messages given.
        messages: usize,
        /// Keys given.
        keys: usize,
    },
}

fn public_key_error(e: BLST_ERROR) -> BlsError {
    match e {
        BLST_ERROR::BLST_PK_IS_INFINITY => BlsError::IdentityPublicKey,
        BLST_ERROR::BLST_POINT_NOT_IN_GROUP => BlsError::PublicKeyNotInGroup,
        _ => BlsError::InvalidPublicKey,
    }
}

fn check(result: BLST_ERROR) -> Result<(), BlsError> {
    match result {
        BLST_ERROR::BLST_SUCCESS => Ok(()),
        _ => Err(BlsError::BadSignature),
    }
}

/// A validator's BLS secret key.
#[derive(Clone)]
pub struct SecretKey(min_pk::SecretKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(f, "bls::SecretKey({:?})", self.public_key())
    }
}

impl SecretKey {
    /// Derives a key from 32 bytes of seed material with the IETF
    /// `KeyGen` (HKDF-SHA-256; `key_info` = `"aether/validator-key/v1"`).
    /// The same seed always gives the same key.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        // `key_gen` fails only for seeds shorter than 32 bytes.
        let key = min_pk::SecretKey::key_gen(seed, b"aether/validator-key/v1")
            .expect("a 32-byte seed is long enough for KeyGen");
        SecretKey(key)
    }

    /// Generates a fresh key from a cryptographic RNG.
    pub fn generate<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(&seed)
    }

    /// Parses the 32-byte big-endian scalar (keep it secret).
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_LEN]) -> Result<Self, BlsError> {
        min_pk::SecretKey::from_bytes(bytes)
            .map(SecretKey)
            .map_err(|_| BlsError::InvalidSecretKey)
    }

    /// The 32-byte big-endian scalar (keep it secret).
    pub fn to_bytes(&self) -> [u8; SECRET_KEY_LEN] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.sk_to_pk())
    }

    /// Signs `message` under `domain`.
    pub fn sign(&self, domain: Domain, message: &[u8]) -> Signature {
        Signature(self.0.sign(message, domain.dst(), &[]))
    }

    /// The proof of possession: the signature of the compressed public key
    /// under [`Domain::ProofOfPossession`].
    pub fn proof_of_possession(&self) -> Signature {
        self.sign(Domain::ProofOfPossession, &self.public_key().to_bytes())
    }

    /// Evaluates the VRF on `input`: the proof and its output.
    pub fn vrf_prove(&self, input: &[u8]) -> (VrfProof, VrfOutput) {
        let proof = VrfProof(self.sign(Domain::Vrf, input));
        let output = proof.output();
        (proof, output)
    }
}

/// A checked validator public key: on the curve, in the G1 subgroup, not
/// the identity (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(min_pk::PublicKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bls::PublicKey({})", hex::encode(self.to_bytes()))
    }
}

impl PublicKey {
    /// Parses a compressed key and runs the full key validation.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, BlsError> {
        // `key_validate` = decompress + not identity + subgroup check.
        min_pk::PublicKey::key_validate(bytes)
            .map(PublicKey)
            .map_err(public_key_error)
    }

    /// The compressed 48 bytes.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.to_bytes()
    }

    /// Checks a proof of possession of this key.
    pub fn verify_proof_of_possession(&self, proof: &Signature) -> Result<(), BlsError> {
        verify(self, Domain::ProofOfPossession, &self.to_bytes(), proof)
    }
}

/// A signature (or aggregate signature): a G2 point on the curve. The
/// subgroup check happens when it is verified (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(min_pk::Signature);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bls::Signature({})", hex::encode(self.to_bytes()))
    }
}

impl Signature {
    /// Decompresses 96 bytes (on-curve check only).
    pub fn from_bytes(bytes: &[u8; SIGNATURE_LEN]) -> Result<Self, BlsError> {
        min_pk::Signature::from_bytes(bytes)
            .map(Signature)
            .map_err(|_| BlsError::InvalidSignature)
    }

    /// The compressed 96 bytes.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.0.to_bytes()
    }
}

/// A sum of checked public keys (for verifying an aggregate over one
/// message); never the identity.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AggregatePublicKey(PublicKey);

impl AggregatePublicKey {
    /// Sums `keys` (already checked: no per-key subgroup check here).
    pub fn aggregate<'a>(keys: impl IntoIterator<Item = &'a PublicKey>) -> Result<Self, BlsError> {
        let mut keys = keys.into_iter();
        let first = keys.next().ok_or(BlsError::EmptyAggregate)?;
        let mut sum = min_pk::AggregatePublicKey::from_public_key(&first.0);
        for key in keys {
            // `pk_validate = false`: every `PublicKey` was checked when parsed.
            sum.add_public_key(&key.0, false)
                .map_err(|_| BlsError::InvalidPublicKey)?;
        }
        let key = sum.to_public_key();
        // The identity's compressed form is 0xc0 followed by zeros.
        let bytes = key.to_bytes();
        if bytes[0] == 0xc0 && bytes[1..].iter().all(|b| *b == 0) {
            return Err(BlsError::IdentityAggregate);
        }
        Ok(AggregatePublicKey(PublicKey(key)))
    }

    /// The sum as a public key (to pass to [`aggregate_verify`]).
    pub fn as_public_key(&self) -> &PublicKey {
        &self.0
    }
}

/// Verifies one signature (with the G2 subgroup check of `signature`).
pub fn verify(
    key: &PublicKey,
    domain: Domain,
    message: &[u8],
    signature: &Signature,
) -> Result<(), BlsError> {
    check(
        signature
            .0
            .verify(true, message, domain.dst(), &[], &key.0, false),
    )
}

/// Sums signatures into one aggregate (no per-signature subgroup check; the
/// aggregate is checked when verified).
pub fn aggregate_signatures<'a>(
    signatures: impl IntoIterator<Item = &'a Signature>,
) -> Result<Signature, BlsError> {
    let mut signatures = signatures.into_iter();
    let first = signatures.next().ok_or(BlsError::EmptyAggregate)?;
    let mut sum = min_pk::AggregateSignature::from_signature(&first.0);
    for signature in signatures {
        sum.add_signature(&signature.0, false)
            .map_err(|_| BlsError::InvalidSignature)?;
    }
    Ok(Signature(sum.to_signature()))
}

/// Verifies an aggregate signature of one message by every key in `keys`
/// (sums the keys, then one pairing check). Keys must carry checked proofs
/// of possession.
pub fn fast_aggregate_verify<'a>(
    keys: impl IntoIterator<Item = &'a PublicKey>,
    domain: Domain,
    message: &[u8],
    signature: &Signature,
) -> Result<(), BlsError> {
    let key = AggregatePublicKey::aggregate(keys)?;
    verify(key.as_public_key(), domain, message, signature)
}

/// Verifies an aggregate signature over **distinct** messages: `keys[i]`
/// (a single or aggregated key) signed `messages[i]`. Used for timeout
/// certificates, whose signers sign different high-QC rounds: signers of
/// the same message are summed first, so the cost is one Miller loop per
/// distinct message plus one final exponentiation.
pub fn aggregate_verify(
    keys: &[PublicKey],
    domain: Domain,
    messages: &[&[u8]],
    signature: &Signature,
) -> Result<(), BlsError> {
    if keys.len() != messages.len() {
        return Err(BlsError::LengthMismatch {
            messages: messages.len(),
            keys: keys.len(),
        });
    }
    if keys.is_empty() {
        return Err(BlsError::EmptyAggregate);
    }
    // Distinct messages are required for soundness without PoP and make the
    // verdict independent of how signers were grouped.
    let mut sorted: Vec<&[u8]> = messages.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(BlsError::DuplicateMessage);
    }
    let key_refs: Vec<&min_pk::PublicKey> = keys.iter().map(|k| &k.0).collect();
    check(
        signature
            .0
            .aggregate_verify(true, messages, domain.dst(), &key_refs, false),
    )
}

/// The VRF input of a round: `epoch (u64 LE) || round (u64 LE)`.
pub fn vrf_input(epoch: u64, round: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&epoch.to_le_bytes());
    out[8..].copy_from_slice(&round.to_le_bytes());
    out
}

/// A VRF proof: a BLS signature under [`Domain::Vrf`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VrfProof(pub Signature);

/// A VRF output: `BLAKE3(VRF_OUTPUT_TAG || 0x00 || proof)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct VrfOutput(pub [u8; 32]);

impl VrfProof {
    /// The output this proof commits to (call only after [`vrf_verify`] or
    /// on a proof made locally).
    pub fn output(&self) -> VrfOutput {
        VrfOutput(tagged_hash(VRF_OUTPUT_TAG, &[&self.0.to_bytes()]).0)
    }
}

/// Verifies a VRF proof of `key` on `input` and returns its output.
pub fn vrf_verify(key: &PublicKey, input: &[u8], proof: &VrfProof) -> Result<VrfOutput, BlsError> {
    verify(key, Domain::Vrf, input, &proof.0)?;
    Ok(proof.output())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> SecretKey {
        SecretKey::from_seed(&[i; 32])
    }

    #[test]
    fn sign_verify_and_domain_separation() {
        let sk = key(1);
        let pk = sk.public_key();
        let sig = sk.sign(Domain::Vote, b"block");
        verify(&pk, Domain::Vote, b"block", &sig).unwrap();
        // Wrong message, wrong domain, wrong key: each alone fails.
        assert_eq!(
            verify(&pk, Domain::Vote, b"blocK", &sig),
            Err(BlsError::BadSignature)
        );
        for other in [
            Domain::Proposal,
            Domain::Timeout,
            Domain::Vrf,
            Domain::ProofOfPossession,
        ] {
            assert_eq!(
                verify(&pk, other, b"block", &sig),
                Err(BlsError::BadSignature)
            );
        }
        assert_eq!(
            verify(&key(2).public_key(), Domain::Vote, b"block", &sig),
            Err(BlsError::BadSignature)
        );
    }

    #[test]
    fn dsts_are_distinct_and_pop_dst_is_the_ietf_one() {
        let all = [
            Domain::Proposal,
            Domain::Vote,
            Domain::Timeout,
            Domain::Vrf,
            Domain::ProofOfPossession,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.dst(), b.dst());
            }
        }
        assert_eq!(
            Domain::ProofOfPossession.dst(),
            b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_POP_"
        );
    }

    #[test]
    fn key_serialisation_roundtrips_and_seed_is_deterministic() {
        let sk = key(7);
        assert_eq!(sk.to_bytes(), key(7).to_bytes());
        assert_ne!(sk.to_bytes(), key(8).to_bytes());
        let back = SecretKey::from_bytes(&sk.to_bytes()).unwrap();
        assert_eq!(back.public_key(), sk.public_key());
        let pk = PublicKey::from_bytes(&sk.public_key().to_bytes()).unwrap();
        assert_eq!(pk, sk.public_key());
        let sig = sk.sign(Domain::Vote, b"m");
        assert_eq!(Signature::from_bytes(&sig.to_bytes()).unwrap(), sig);
        assert_eq!(
            SecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
            BlsError::InvalidSecretKey
        );
        assert_eq!(
            SecretKey::from_bytes(&[0xff; 32]).unwrap_err(),
            BlsError::InvalidSecretKey
        );
    }

    #[test]
    fn bad_public_keys_are_rejected() {
        // Not a compressed point (compression flag clear).
        assert_eq!(
            PublicKey::from_bytes(&[0x0a; 48]).unwrap_err(),
            BlsError::InvalidPublicKey
        );
        // Identity (compressed infinity).
        let mut identity = [0u8; 48];
        identity[0] = 0xc0;
        assert_eq!(
            PublicKey::from_bytes(&identity).unwrap_err(),
            BlsError::IdentityPublicKey
        );
        // A point on the curve outside the G1 subgroup: search x until the
        // point decompresses but fails the subgroup check.
        let mut found = false;
        for x in 1u8..=255 {
            let mut bytes = [0u8; 48];
            bytes[0] = 0x80;
            bytes[47] = x;
            if let Ok(point) = min_pk::PublicKey::from_bytes(&bytes)
                && point.validate().is_err()
            {
                assert_eq!(
                    PublicKey::from_bytes(&bytes).unwrap_err(),
                    BlsError::PublicKeyNotInGroup
                );
                found = true;
                break;
            }
        }
        assert!(found, "no off-subgroup G1 point found among small x");
    }

    #[test]
    fn signature_outside_subgroup_is_rejected() {
        // An on-curve G2 point outside the subgroup never verifies.
        let pk = key(1).public_key();
        let mut found = false;
        for x in 1u8..=255 {
            let mut bytes = [0u8; 96];
            bytes[0] = 0x80;
            bytes[95] = x;
            if let Ok(sig) = Signature::from_bytes(&bytes) {
                assert!(!sig.0.subgroup_check());
                assert_eq!(
                    verify(&pk, Domain::Vote, b"m", &sig),
                    Err(BlsError::BadSignature)
                );
                found = true;
                break;
            }
        }
        assert!(found, "no on-curve G2 point found among small x");
        assert_eq!(
            Signature::from_bytes(&[0x11; 96]).unwrap_err(),
            BlsError::InvalidSignature
        );
    }

    #[test]
    fn proof_of_possession() {
        let sk = key(3);
        let pk = sk.public_key();
        pk.verify_proof_of_possession(&sk.proof_of_possession())
            .unwrap();
        // Another key's PoP, or a plain signature of the key bytes under
        // another domain, is not a PoP.
        assert!(
            pk.verify_proof_of_possession(&key(4).proof_of_possession())
                .is_err()
        );
        let wrong_domain = sk.sign(Domain::Vote, &pk.to_bytes());
        assert!(pk.verify_proof_of_possession(&wrong_domain).is_err());
    }

    #[test]
    fn fast_aggregate_verify_one_message() {
        let keys: Vec<SecretKey> = (0..5).map(key).collect();
        let pks: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
        let sigs: Vec<Signature> = keys.iter().map(|k| k.sign(Domain::Vote, b"qc")).collect();
        let agg = aggregate_signatures(&sigs).unwrap();
        fast_aggregate_verify(&pks, Domain::Vote, b"qc", &agg).unwrap();
        // Missing signer, extra key, wrong message: each fails.
        assert!(fast_aggregate_verify(&pks[..4], Domain::Vote, b"qc", &agg).is_err());
        let agg4 = aggregate_signatures(&sigs[..4]).unwrap();
        assert!(fast_aggregate_verify(&pks, Domain::Vote, b"qc", &agg4).is_err());
        assert!(fast_aggregate_verify(&pks, Domain::Vote, b"qd", &agg).is_err());
        // One bad signature spoils the aggregate.
        let mut bad = sigs.clone();
        bad[2] = keys[2].sign(Domain::Vote, b"other");
        let agg_bad = aggregate_signatures(&bad).unwrap();
        assert!(fast_aggregate_verify(&pks, Domain::Vote, b"qc", &agg_bad).is_err());
        assert_eq!(
            aggregate_signatures(&[]).unwrap_err(),
            BlsError::EmptyAggregate
        );
        assert_eq!(
            AggregatePublicKey::aggregate(&[]).unwrap_err(),
            BlsError::EmptyAggregate
        );
    }

    #[test]
    fn aggregate_verify_distinct_messages() {
        let keys: Vec<SecretKey> = (0..4).map(key).collect();
        // Signers 0,1 sign "r5", signers 2,3 sign "r4": group by message.
        let sigs: Vec<Signature> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| k.sign(Domain::Timeout, if i < 2 { b"r5" } else { b"r4" }))
            .collect();
        let agg = aggregate_signatures(&sigs).unwrap();
        let pk = |r: std::ops::Range<usize>| {
            *AggregatePublicKey::aggregate(
                keys[r]
                    .iter()
                    .map(|k| k.public_key())
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .unwrap()
            .as_public_key()
        };
        let group_keys = [pk(0..2), pk(2..4)];
        aggregate_verify(&group_keys, Domain::Timeout, &[b"r5", b"r4"], &agg).unwrap();
        // Swapped messages fail; a repeated message is refused; lengths must match.
        assert!(aggregate_verify(&group_keys, Domain::Timeout, &[b"r4", b"r5"], &agg).is_err());
        assert_eq!(
            aggregate_verify(&group_keys, Domain::Timeout, &[b"r5", b"r5"], &agg).unwrap_err(),
            BlsError::DuplicateMessage
        );
        assert!(matches!(
            aggregate_verify(&group_keys, Domain::Timeout, &[b"r5"], &agg).unwrap_err(),
            BlsError::LengthMismatch { .. }
        ));
    }

    #[test]
    fn identity_aggregate_is_refused() {
        // pk + (-pk) is the identity: flipping the compressed sign bit
        // (0x20) negates a G1 point, and -pk passes key validation.
        let pk = key(1).public_key();
        let mut negated = pk.to_bytes();
        negated[0] ^= 0x20;
        let minus = PublicKey::from_bytes(&negated).unwrap();
        assert_eq!(
            AggregatePublicKey::aggregate([&pk, &minus]).unwrap_err(),
            BlsError::IdentityAggregate
        );
        AggregatePublicKey::aggregate([&pk, &pk]).unwrap();
    }

    #[test]
    fn vrf_is_unique_and_verifiable() {
        let sk = key(9);
        let pk = sk.public_key();
        let input = vrf_input(3, 17);
        let (proof, output) = sk.vrf_prove(&input);
        assert_eq!(vrf_verify(&pk, &input, &proof).unwrap(), output);
        assert_eq!(sk.vrf_prove(&input).1, output, "deterministic");
        assert_ne!(sk.vrf_prove(&vrf_input(3, 18)).1, output);
        assert_ne!(sk.vrf_prove(&vrf_input(4, 17)).1, output);
        assert!(vrf_verify(&pk, &vrf_input(3, 18), &proof).is_err());
        assert!(vrf_verify(&key(10).public_key(), &input, &proof).is_err());
        // A vote signature on the same bytes is not a VRF proof.
        let vote = VrfProof(sk.sign(Domain::Vote, &input));
        assert!(vrf_verify(&pk, &input, &vote).is_err());
        assert_eq!(vrf_input(1, 2)[..8], 1u64.to_le_bytes());
    }
}
