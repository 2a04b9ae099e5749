//! Leader election: a stake-weighted draw per round from the epoch seed,
//! skipping leaders that keep failing, and the next epoch's seed.
//!
//! # The draw
//! ```text
//! h      = BLAKE3("aether/leader/v1" || 0x00 || seed(32) || round (u64 LE))
//! x      = u128 from h[0..16] (LE) mod S'        S' = stake of the eligible validators
//! leader = the eligible validator whose cumulative-stake interval
//!          (in index order) contains x
//! ```
//! Everybody computes the leader of every round from public data, so a
//! node knows whom to expect before a proposal arrives. The modulo bias is
//! below `S' / 2^128`, negligible for any real stake.
//!
//! # VRF and the next seed
//! A proposal carries the leader's VRF proof over `(epoch, round)`; the
//! validators check it. Its output cannot be chosen by the leader (BLS
//! signatures are unique), so the seed of epoch `e+1` is
//! ```text
//! seed(e+1) = BLAKE3("aether/epoch-seed/v1" || 0x00 || seed(e) || out_1 || ... || out_k)
//! ```
//! over the VRF outputs of epoch `e`'s final blocks in height order
//! ([`next_epoch_seed`]). A leader can at most withhold its block (one bit
//! of bias), never pick an output; QC aggregates are never used as
//! randomness because the aggregator chooses their signer sets.
//!
//! # Skipping failing leaders
//! A round **failed** on a chain when no block of that round is on it: for
//! a block `B` with parent `P`, the rounds strictly between `P.round` and
//! `B.round` failed, and each counts against its leader. The failure count
//! of a chain is the sum over its blocks in the epoch
//! ([`LeaderFailures`]). The leader of round `r` extending block `P` is
//! drawn with the validators whose count, including the failures of the
//! rounds between `P.round` and `r` (whose leaders are drawn with `P`'s
//! counts), is at least `limit` removed, for the rest of the epoch. This
//! is a function of chain data only, so every node that knows `P` agrees.
//! At most the stake that keeps the eligible stake above two thirds is
//! skipped, the worst first (then by index), so the set never shrinks to
//! where honest leaders could be missing.

use crate::ValidatorSet;
use aether_types::{Digest, Round, ValidatorIndex, tagged_hash};
use std::collections::{BTreeMap, BTreeSet};

/// Hash tag of the leader draw.
pub const LEADER_TAG: &str = "aether/leader/v1";
/// Hash tag of the epoch seed chain.
pub const EPOCH_SEED_TAG: &str = "aether/epoch-seed/v1";

/// Most gap rounds counted between two blocks (a longer gap counts only
/// its last rounds; still deterministic).
const MAX_GAP_COUNTED: u64 = 1024;

/// The stake-weighted draw of `round`'s leader among the validators not in
/// `skip` (see the module docs).
pub fn draw(
    set: &ValidatorSet,
    seed: &Digest,
    round: Round,
    skip: &BTreeSet<ValidatorIndex>,
) -> ValidatorIndex {
    let h = tagged_hash(LEADER_TAG, &[&seed.0, &round.0.to_le_bytes()]);
    let mut x_bytes = [0u8; 16];
    x_bytes.copy_from_slice(&h.0[..16]);
    let x = u128::from_le_bytes(x_bytes);
    let eligible = |v: &ValidatorIndex| !skip.contains(v);
    let total: u128 = set
        .indices()
        .filter(eligible)
        .map(|v| u128::from(set.stake(v)))
        .sum();
    if total == 0 {
        // Everyone skipped (cannot happen with the cap): fall back to all.
        return draw(set, seed, round, &BTreeSet::new());
    }
    let mut target = x % total;
    for v in set.indices().filter(eligible) {
        let stake = u128::from(set.stake(v));
        if target < stake {
            return v;
        }
        target -= stake;
    }
    unreachable_leader()
}

#[cold]
fn unreachable_leader() -> ValidatorIndex {
    // `target < total` = the sum of the eligible stakes, so the loop returns.
    ValidatorIndex(0)
}

/// Failed rounds per leader on a chain within the epoch (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderFailures(BTreeMap<ValidatorIndex, u32>);

impl LeaderFailures {
    /// The count of `v`.
    pub fn count(&self, v: ValidatorIndex) -> u32 {
        self.0.get(&v).copied().unwrap_or(0)
    }

    /// The validators to skip: count `>= limit`, worst first then by
    /// index, while the eligible stake stays a quorum.
    pub fn skip_set(&self, set: &ValidatorSet, limit: u32) -> BTreeSet<ValidatorIndex> {
        let mut failing: Vec<(u32, ValidatorIndex)> = self
            .0
            .iter()
            .filter(|(_, c)| **c >= limit)
            .map(|(v, c)| (*c, *v))
            .collect();
        failing.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut skipped = BTreeSet::new();
        let mut remaining = set.total_stake();
        for (_, v) in failing {
            let after = remaining - u128::from(set.stake(v));
            if !set.is_quorum(after) {
                continue;
            }
            remaining = after;
            skipped.insert(v);
        }
        skipped
    }

    /// The counts after the rounds strictly between `parent_round` and
    /// `round` failed, their leaders drawn with this chain's skip set.
    pub fn after_gap(
        &self,
        set: &ValidatorSet,
        seed: &Digest,
        limit: u32,
        parent_round: Round,
        round: Round,
    ) -> LeaderFailures {
        let mut out = self.clone();
        if round.0 <= parent_round.0.saturating_add(1) {
            return out;
        }
        let skip = self.skip_set(set, limit);
        let first = (parent_round.0 + 1).max(round.0.saturating_sub(MAX_GAP_COUNTED));
        for r in first..round.0 {
            let leader = draw(set, seed, Round(r), &skip);
            *out.0.entry(leader).or_insert(0) += 1;
        }
        out
    }

    /// The leader of `round` on a chain whose last block (of `parent_round`)
    /// has these counts.
    pub fn leader(
        &self,
        set: &ValidatorSet,
        seed: &Digest,
        limit: u32,
        parent_round: Round,
        round: Round,
    ) -> ValidatorIndex {
        let counts = self.after_gap(set, seed, limit, parent_round, round);
        draw(set, seed, round, &counts.skip_set(set, limit))
    }
}

/// The seed of the next epoch from this epoch's seed and the VRF outputs of
/// its final blocks in height order (see the module docs).
pub fn next_epoch_seed<'a>(
    seed: &Digest,
    vrf_outputs: impl IntoIterator<Item = &'a [u8; 32]>,
) -> Digest {
    let mut hasher = blake3::Hasher::new();
    hasher.update(EPOCH_SEED_TAG.as_bytes());
    hasher.update(&[0]);
    hasher.update(&seed.0);
    for out in vrf_outputs {
        hasher.update(out);
    }
    Digest(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValidatorInfo;
    use aether_crypto::bls::SecretKey;
    use aether_types::{BlsPublicKeyBytes, BlsSignatureBytes, Epoch};

    fn set(stakes: &[u64]) -> ValidatorSet {
        let infos: Vec<ValidatorInfo> = stakes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let sk = SecretKey::from_seed(&[i as u8 + 1; 32]);
                ValidatorInfo {
                    public_key: BlsPublicKeyBytes(sk.public_key().to_bytes()),
                    proof_of_possession: BlsSignatureBytes(sk.proof_of_possession().to_bytes()),
                    stake: *s,
                }
            })
            .collect();
        ValidatorSet::new(Epoch(0), &infos).unwrap()
    }

    #[test]
    fn draw_follows_stake() {
        let set = set(&[1, 1, 8]);
        let seed = Digest([5; 32]);
        let mut counts = [0u32; 3];
        for r in 0..4000 {
            counts[usize::from(draw(&set, &seed, Round(r), &BTreeSet::new()).0)] += 1;
        }
        // Expected 400 / 400 / 3200.
        assert!((300..500).contains(&counts[0]), "{counts:?}");
        assert!((300..500).contains(&counts[1]), "{counts:?}");
        assert!((3000..3400).contains(&counts[2]), "{counts:?}");
        // Deterministic, and seed-dependent.
        assert_eq!(
            draw(&set, &seed, Round(7), &BTreeSet::new()),
            draw(&set, &seed, Round(7), &BTreeSet::new())
        );
        let other: Vec<_> = (0..64)
            .map(|r| draw(&set, &Digest([6; 32]), Round(r), &BTreeSet::new()))
            .collect();
        let same: Vec<_> = (0..64)
            .map(|r| draw(&set, &seed, Round(r), &BTreeSet::new()))
            .collect();
        assert_ne!(other, same);
    }

    #[test]
    fn skipped_validators_are_never_drawn() {
        let set = set(&[1, 1, 1, 1]);
        let seed = Digest([1; 32]);
        let skip: BTreeSet<_> = [ValidatorIndex(2)].into();
        for r in 0..500 {
            assert_ne!(draw(&set, &seed, Round(r), &skip), ValidatorIndex(2));
        }
    }

    #[test]
    fn failures_are_counted_from_gaps_and_skipping_is_capped() {
        let set = set(&[1, 1, 1, 1]);
        let seed = Digest([3; 32]);
        let none = LeaderFailures::default();
        // Rounds 2..=9 failed between a block of round 1 and one of round 10.
        let counts = none.after_gap(&set, &seed, 2, Round(1), Round(10));
        let total: u32 = set.indices().map(|v| counts.count(v)).sum();
        assert_eq!(total, 8);
        for r in 2..10 {
            let l = draw(&set, &seed, Round(r), &BTreeSet::new());
            assert!(counts.count(l) >= 1);
        }
        // No gap: nothing changes.
        assert_eq!(none.after_gap(&set, &seed, 2, Round(4), Round(5)), none);
        // With 4 equal validators only one may be skipped (3 of 4 is still a
        // quorum, 2 of 4 is not).
        let mut all_failing = LeaderFailures::default();
        for v in set.indices() {
            all_failing.0.insert(v, 5 + u32::from(v.0));
        }
        let skip = all_failing.skip_set(&set, 2);
        assert_eq!(skip, [ValidatorIndex(3)].into());
        // Below the limit nobody is skipped.
        assert!(all_failing.skip_set(&set, 100).is_empty());
    }

    #[test]
    fn epoch_seed_mixes_every_output_in_order() {
        let seed = Digest([9; 32]);
        let a = [1u8; 32];
        let b = [2u8; 32];
        let s_ab = next_epoch_seed(&seed, [&a, &b]);
        assert_ne!(s_ab, next_epoch_seed(&seed, [&b, &a]));
        assert_ne!(s_ab, next_epoch_seed(&seed, [&a]));
        assert_ne!(s_ab, next_epoch_seed(&Digest([8; 32]), [&a, &b]));
        assert_eq!(s_ab, next_epoch_seed(&seed, [&a, &b]));
    }
}
