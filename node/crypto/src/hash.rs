//! Hashing helpers.
//!
//! Protocol identifiers use [`tagged_hash`] (BLAKE3 with a domain tag; see
//! `aether_types::hash`). Plain digests are here for formats that need
//! them: [`blake3_256`] for internal commitments, [`sha256`] where a foreign
//! format (TEE report data, X.509) requires SHA-256.

pub use aether_types::hash::{Digest, tag, tagged_hash};
use sha2::Digest as _;

/// BLAKE3 with a 32-byte output.
pub fn blake3_256(data: &[u8]) -> [u8; 32] {
    *blake3::hash(data).as_bytes()
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-2 "abc" and the BLAKE3 reference vector for the empty input.
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(blake3_256(b"")),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}
