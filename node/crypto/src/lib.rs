//! Aether cryptography: the primitives the ledger and node sign and verify
//! with, behind small typed wrappers over well-kept crates.
//!
//! | module | holds | back end |
//! |---|---|---|
//! | [`ed25519`] | account keys, signatures, batch verification | `ed25519-dalek` 2 (`batch`) |
//! | [`derive`](mod@derive) | deterministic dev-account keys from a seed | BLAKE3 `derive_key` |
//! | [`hash`] | BLAKE3 / SHA-256 helpers and the protocol's tagged hash | `blake3`, `sha2` |
//! | [`keyfile`] | account key files (hex or `aether keys` JSON) | `serde_json` |
//! | [`bls`] | validator keys (BLS12-381 min_pk), proofs of possession, aggregation, the VRF | `blst` 0.3 (never `portable`) |
//!
//! KZG commitments for AI outputs come later as the module `kzg`, with the same shape as [`ed25519`]: a secret-key type that
//! signs, a public-key type parsed from bytes, and free verification
//! functions (single and batch) returning this crate's [`Error`].
//!
//! # Invariants
//! - Signatures cover bytes only; what they cover (a transaction id, a
//!   vote) is decided by the caller, which uses domain-separated hashes
//!   (`aether_types::tag`).
//! - Verification never panics on attacker bytes: a key that is not a
//!   valid curve point or is of small order is an error, not a crash.

pub mod bls;
pub mod derive;
pub mod ed25519;
pub mod hash;
pub mod keyfile;
pub mod kzg;

/// Every way a cryptographic check can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The 32 bytes are not a valid compressed Edwards point.
    #[error("public key is not a valid ed25519 point")]
    InvalidPublicKey,
    /// The key is of small order (it would verify forged signatures).
    #[error("public key is of small order")]
    WeakPublicKey,
    /// A signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A batch holds at least one signature that does not verify.
    #[error("batch verification failed")]
    BatchFailed,
}
