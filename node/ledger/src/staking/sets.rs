//! The consensus view of the ledger's epoch sets: conversion of an
//! [`EpochSet`] to the consensus crate's validator list, and a cache of
//! built [`ValidatorSet`]s and evidence verdicts.
//!
//! Building a `ValidatorSet` checks every key and proof of possession (one
//! pairing each), which a block must not pay per equivocation report; the
//! cache keys each set by the hash of its encoding and each verdict by the
//! hash of everything it depends on, so a cached answer is always the
//! answer `verify_evidence` gives (the cache changes only the cost).

use aether_consensus::{EvidenceError, ValidatorInfo, ValidatorSet, verify_evidence};
use aether_types::{BlockHash, Digest, EpochSet, EquivocationEvidence, encode, tagged_hash};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Sets and verdicts kept before the cache starts over.
const CAPACITY: usize = 64;

/// The consensus validators of `set`, in index order (what the consensus
/// driver builds the epoch's `ValidatorSet` from).
pub fn validator_infos(set: &EpochSet) -> Vec<ValidatorInfo> {
    set.members
        .iter()
        .map(|m| ValidatorInfo {
            public_key: m.bls_key,
            proof_of_possession: m.proof_of_possession,
            stake: m.stake,
        })
        .collect()
}

/// Built validator sets and evidence verdicts (see the module docs).
#[derive(Debug, Default)]
pub struct ValidatorSets {
    sets: Mutex<HashMap<Digest, Arc<ValidatorSet>>>,
    verdicts: Mutex<HashMap<Digest, Result<(), EvidenceError>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned cache only means another thread panicked mid-insert; the
    // map is still a valid cache.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ValidatorSets {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The consensus set of `set` (built and checked once).
    pub fn get(
        &self,
        set: &EpochSet,
    ) -> Result<Arc<ValidatorSet>, aether_consensus::ConsensusError> {
        let key = tagged_hash("aether/ledger-set-cache/v1", &[&encode(set)]);
        if let Some(built) = lock(&self.sets).get(&key) {
            return Ok(built.clone());
        }
        let built = Arc::new(ValidatorSet::new(set.epoch, &validator_infos(set))?);
        let mut sets = lock(&self.sets);
        if sets.len() >= CAPACITY {
            sets.clear();
        }
        sets.insert(key, built.clone());
        Ok(built)
    }

    /// `verify_evidence` of `evidence` against `set` on the chain whose
    /// genesis is `genesis`.
    pub fn verify(
        &self,
        set: &EpochSet,
        genesis: &BlockHash,
        evidence: &EquivocationEvidence,
    ) -> Result<Result<(), EvidenceError>, aether_consensus::ConsensusError> {
        let key = tagged_hash(
            "aether/ledger-evidence-verdict/v1",
            &[&encode(set), &genesis.0, &encode(evidence)],
        );
        if let Some(verdict) = lock(&self.verdicts).get(&key) {
            return Ok(verdict.clone());
        }
        let built = self.get(set)?;
        let verdict = verify_evidence(&built, genesis, evidence);
        let mut verdicts = lock(&self.verdicts);
        if verdicts.len() >= CAPACITY * 16 {
            verdicts.clear();
        }
        verdicts.insert(key, verdict.clone());
        Ok(verdict)
    }
}
