//! What each consensus signature covers, and verification with a memo.
//!
//! # Signed messages
//! Every signed byte string starts with the chain's genesis block id, so a
//! signature made for one chain never counts on another, then the
//! canonical encoding of the statement:
//!
//! | signature | domain | bytes |
//! |---|---|---|
//! | proposal | `Domain::Proposal` | `genesis(32) \|\| encode(BlockRef)` |
//! | vote | `Domain::Vote` | `genesis(32) \|\| encode(BlockRef)` |
//! | timeout | `Domain::Timeout` | `genesis(32) \|\| encode(TimeoutData)` |
//! | VRF | `Domain::Vrf` | `vrf_input(epoch, round)` (16 bytes) |
//!
//! # Memo
//! [`VerifyMemo`] remembers verdicts by `H(domain, key, message,
//! signature)`. A node keeps one so it never verifies the same certificate
//! or message twice; the simulator shares one among all its nodes, which
//! changes only how much CPU a run costs (every verdict is still a real
//! BLS verdict, computed once per process).

use aether_crypto::bls::{self, Domain, PublicKey, Signature};
use aether_types::{BlockHash, BlockRef, BlsSignatureBytes, TimeoutData, encode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bytes signed for a proposal or a vote on `block`.
pub fn block_message(genesis: &BlockHash, block: &BlockRef) -> Vec<u8> {
    let mut out = genesis.0.to_vec();
    out.extend_from_slice(&encode(block));
    out
}

/// Bytes signed for a timeout.
pub fn timeout_message(genesis: &BlockHash, data: &TimeoutData) -> Vec<u8> {
    let mut out = genesis.0.to_vec();
    out.extend_from_slice(&encode(data));
    out
}

/// Largest number of verdicts a memo keeps before it starts over.
const MEMO_CAPACITY: usize = 1 << 18;

/// A memo of signature verdicts (see the module docs). Cloning shares it.
#[derive(Clone, Default, Debug)]
pub struct VerifyMemo(Arc<Mutex<HashMap<[u8; 32], bool>>>);

impl VerifyMemo {
    /// A fresh, empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies `signature` by `key` on `message` under `domain`,
    /// remembering the verdict.
    pub fn verify(
        &self,
        key: &PublicKey,
        domain: Domain,
        message: &[u8],
        signature: &BlsSignatureBytes,
    ) -> bool {
        let mut hasher = blake3::Hasher::new();
        hasher.update(domain.dst());
        hasher.update(&[0]);
        hasher.update(&key.to_bytes());
        hasher.update(&signature.0);
        hasher.update(message);
        let id = *hasher.finalize().as_bytes();
        self.verdict(id, || {
            Signature::from_bytes(&signature.0)
                .and_then(|sig| bls::verify(key, domain, message, &sig))
                .is_ok()
        })
    }

    /// The remembered verdict for `id`, or `check()` (then remembered).
    /// `id` must be a collision-resistant hash of everything `check` reads.
    pub fn verdict(&self, id: [u8; 32], check: impl FnOnce() -> bool) -> bool {
        if let Some(verdict) = self.lock().get(&id) {
            return *verdict;
        }
        let verdict = check();
        let mut memo = self.lock();
        if memo.len() >= MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(id, verdict);
        verdict
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        // A poisoned memo only means another thread panicked mid-insert;
        // the map itself is still a valid cache.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
