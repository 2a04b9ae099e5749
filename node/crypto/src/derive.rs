//! Deterministic keys for development accounts.
//!
//! Dev account `i` of seed `s` has the ed25519 secret key
//!
//! ```text
//! secret = BLAKE3-derive_key("aether dev-account ed25519 v1", s || u32_le(i))
//! ```
//!
//! BLAKE3's key-derivation mode gives independent, uniformly distributed
//! 32-byte secrets per index. These keys are **public knowledge** for the
//! well-known dev seed ([`DEV_SEED`]) and must never hold real value.

use crate::ed25519::Keypair;

/// Context string of the derivation (a BLAKE3 `derive_key` context).
pub const DEV_ACCOUNT_CONTEXT: &str = "aether dev-account ed25519 v1";

/// The seed of the embedded dev genesis accounts.
pub const DEV_SEED: &[u8] = b"aether dev chain: public test keys, never use for value";

/// The secret key of dev account `index` under `seed`.
pub fn dev_secret_key(seed: &[u8], index: u32) -> [u8; 32] {
    let mut material = Vec::with_capacity(seed.len() + 4);
    material.extend_from_slice(seed);
    material.extend_from_slice(&index.to_le_bytes());
    blake3::derive_key(DEV_ACCOUNT_CONTEXT, &material)
}

/// The key pair of dev account `index` under `seed`.
pub fn dev_keypair(seed: &[u8], index: u32) -> Keypair {
    Keypair::from_secret_bytes(&dev_secret_key(seed, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_deterministic_and_index_separated() {
        assert_eq!(dev_secret_key(DEV_SEED, 0), dev_secret_key(DEV_SEED, 0));
        assert_ne!(dev_secret_key(DEV_SEED, 0), dev_secret_key(DEV_SEED, 1));
        assert_ne!(dev_secret_key(b"a", 0), dev_secret_key(b"b", 0));
        // Pin account 0 so the derivation (and the dev genesis) cannot drift.
        let pk = hex::encode(dev_keypair(DEV_SEED, 0).public_key().0);
        assert_eq!(
            pk,
            "a472d8bd5923a5e6a7f1e235b166246885825da1262be93a84ad31dd851c5c7d"
        );
    }
}
