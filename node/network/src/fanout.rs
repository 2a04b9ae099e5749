//! The Turbine fanout tree: who sends a shred to whom.
//!
//! # Tree
//! For each shred, the validators other than the leader are put in a
//! **stake-weighted random order** seeded by the shred's
//! `(block, batch, index)`, so every node computes the same order without
//! talking, each shred gets a fresh tree (a crashed or slow node costs a
//! few shreds of each batch, never a whole subtree of every shred), and
//! heavier validators tend to sit near the root (their bandwidth serves
//! more nodes and they are more likely up). With fanout `F` the leader is
//! the root and sends to positions `0..F`; position `p` forwards to
//! positions `F*(p+1) .. F*(p+2)`:
//!
//! ```text
//!                      leader
//!          ┌─────────────┼──────────────┐
//!          0             1     ...     F-1
//!     F .. 2F-1     2F .. 3F-1   ...
//! ```
//! When the set has at most `F` other validators the leader sends every
//! shred **directly** to each and nobody forwards.
//!
//! # Weighted shuffle
//! Sampling without replacement: each next position is drawn with
//! probability proportional to stake among the validators not yet placed
//! (a Fenwick tree makes each draw `O(log n)`); validators of zero stake
//! follow in uniformly random order. The random stream is ChaCha20 keyed
//! by `H("aether/turbine-seed/v1", block || batch || index)`; `gen_range`
//! of `rand` 0.8 draws uniformly without bias.

use aether_types::{Digest, ValidatorIndex, tagged_hash};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// Hash tag of a shred's tree seed.
pub const SEED_TAG: &str = "aether/turbine-seed/v1";

/// The seed of the tree of one shred.
pub fn seed(block: &Digest, batch: u32, index: u8) -> [u8; 32] {
    tagged_hash(SEED_TAG, &[&block.0, &batch.to_le_bytes(), &[index]]).0
}

/// Fenwick (binary indexed) tree over `u128` weights.
struct Fenwick {
    tree: Vec<u128>,
}

impl Fenwick {
    fn new(weights: &[u128]) -> Self {
        let n = weights.len();
        let mut tree = vec![0u128; n + 1];
        for (i, w) in weights.iter().enumerate() {
            let mut k = i + 1;
            while k <= n {
                tree[k] += w;
                k += k & k.wrapping_neg();
            }
        }
        Fenwick { tree }
    }

    fn sub(&mut self, i: usize, w: u128) {
        let n = self.tree.len() - 1;
        let mut k = i + 1;
        while k <= n {
            self.tree[k] -= w;
            k += k & k.wrapping_neg();
        }
    }

    /// The smallest index whose prefix sum exceeds `target`.
    fn find(&self, mut target: u128) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= target {
                pos = next;
                target -= self.tree[next];
            }
            step /= 2;
        }
        pos
    }
}

/// Orders `nodes` (validator, stake) by a stake-weighted shuffle drawn from
/// `seed` (see the module docs).
pub fn weighted_shuffle(nodes: &[(ValidatorIndex, u64)], seed: [u8; 32]) -> Vec<ValidatorIndex> {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let weights: Vec<u128> = nodes.iter().map(|(_, s)| u128::from(*s)).collect();
    let mut total: u128 = weights.iter().sum();
    let mut fenwick = Fenwick::new(&weights);
    let mut out = Vec::with_capacity(nodes.len());
    while total > 0 {
        let i = fenwick.find(rng.gen_range(0..total));
        out.push(nodes[i].0);
        fenwick.sub(i, weights[i]);
        total -= weights[i];
    }
    let mut zero: Vec<ValidatorIndex> = nodes
        .iter()
        .filter(|(_, s)| *s == 0)
        .map(|(v, _)| *v)
        .collect();
    zero.shuffle(&mut rng);
    out.extend(zero);
    out
}

/// The validators and stakes a tree is built over.
#[derive(Clone, Debug)]
pub struct FanoutSet {
    nodes: Vec<(ValidatorIndex, u64)>,
    fanout: usize,
}

impl FanoutSet {
    /// A set of validators with stakes and a fanout (at least 1).
    pub fn new(nodes: Vec<(ValidatorIndex, u64)>, fanout: usize) -> Self {
        FanoutSet {
            nodes,
            fanout: fanout.max(1),
        }
    }

    /// The tree order of one shred: every validator except `origin`.
    pub fn order(
        &self,
        origin: ValidatorIndex,
        block: &Digest,
        batch: u32,
        index: u8,
    ) -> Vec<ValidatorIndex> {
        let others: Vec<(ValidatorIndex, u64)> = self
            .nodes
            .iter()
            .filter(|(v, _)| *v != origin)
            .copied()
            .collect();
        weighted_shuffle(&others, seed(block, batch, index))
    }

    /// Whom `me` sends this shred to: the first level if `me` is the
    /// origin, else its children in the shred's tree (empty for leaves and
    /// for nodes not in the set).
    pub fn targets(
        &self,
        me: ValidatorIndex,
        origin: ValidatorIndex,
        block: &Digest,
        batch: u32,
        index: u8,
    ) -> Vec<ValidatorIndex> {
        let order = self.order(origin, block, batch, index);
        let f = self.fanout;
        let range = if me == origin {
            0..f
        } else {
            match order.iter().position(|v| *v == me) {
                Some(p) => f * (p + 1)..f * (p + 2),
                None => return Vec::new(),
            }
        };
        order
            .get(range.start.min(order.len())..range.end.min(order.len()))
            .unwrap_or_default()
            .to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    fn set(stakes: &[u64], fanout: usize) -> FanoutSet {
        FanoutSet::new(
            stakes
                .iter()
                .enumerate()
                .map(|(i, s)| (ValidatorIndex(i as u16), *s))
                .collect(),
            fanout,
        )
    }

    #[test]
    fn every_node_is_reached_exactly_once() {
        let s = set(&[5, 1, 1, 3, 0, 9, 2, 2, 7, 1, 1, 4, 6], 3);
        let block = Digest([4; 32]);
        for index in 0..64u8 {
            let origin = ValidatorIndex(u16::from(index) % 13);
            let mut reached = Vec::new();
            let mut frontier = vec![origin];
            while let Some(n) = frontier.pop() {
                let t = s.targets(n, origin, &block, 2, index);
                reached.extend(t.iter().copied());
                frontier.extend(t);
            }
            let unique: BTreeSet<_> = reached.iter().copied().collect();
            assert_eq!(unique.len(), reached.len(), "a node reached twice");
            assert_eq!(unique.len(), 12);
            assert!(!unique.contains(&origin));
        }
    }

    #[test]
    fn small_sets_are_direct() {
        let s = set(&[1, 1, 1, 1], 3);
        let b = Digest([1; 32]);
        assert_eq!(
            s.targets(ValidatorIndex(2), ValidatorIndex(2), &b, 0, 0)
                .len(),
            3
        );
        for v in [0u16, 1, 3] {
            assert!(
                s.targets(ValidatorIndex(v), ValidatorIndex(2), &b, 0, 0)
                    .is_empty()
            );
        }
    }

    #[test]
    fn trees_are_deterministic_and_fresh_per_shred() {
        let s = set(&[1; 20], 2);
        let b = Digest([9; 32]);
        let a = s.order(ValidatorIndex(0), &b, 0, 0);
        assert_eq!(a, s.order(ValidatorIndex(0), &b, 0, 0));
        let distinct: BTreeSet<Vec<ValidatorIndex>> = (0..16u8)
            .map(|i| s.order(ValidatorIndex(0), &b, 0, i))
            .collect();
        assert!(distinct.len() > 12);
    }

    #[test]
    fn heavy_validators_come_first() {
        // Validator 0 holds 90% of the stake: it is first in most trees.
        let mut stakes = vec![1u64; 10];
        stakes[0] = 81;
        let s = set(&stakes, 2);
        let mut first: HashMap<ValidatorIndex, usize> = HashMap::new();
        for i in 0..200u32 {
            let o = s.order(ValidatorIndex(9), &Digest([0; 32]), i, 0);
            *first.entry(o[0]).or_default() += 1;
        }
        assert!(first[&ValidatorIndex(0)] > 150, "{first:?}");
        // Zero stake goes last.
        let s = set(&[0, 1, 1], 1);
        for i in 0..20u8 {
            assert_eq!(
                *s.order(ValidatorIndex(2), &Digest([i; 32]), 0, 0)
                    .last()
                    .unwrap(),
                ValidatorIndex(0)
            );
        }
    }
}
