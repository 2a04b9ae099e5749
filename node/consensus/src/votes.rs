//! Collecting votes and timeouts per round: first statement per signer,
//! equivocation detection, and stake totals towards a certificate.
//!
//! Votes are **not** verified when collected: the collector keeps the
//! first vote of each validator per round, and the core verifies the
//! aggregate once when a block reaches quorum stake, falling back to
//! single verification only when the aggregate fails (see `core`).
//! A second vote from the same validator in the same round is never
//! counted: for the same block it is a duplicate (a replay), for another
//! block it is a possible equivocation that the core checks.

use aether_types::{BlockHash, BlockRef, BlsSignatureBytes, Round, ValidatorIndex, Vote};
use std::collections::{BTreeMap, HashMap};

/// What happened to a vote offered to the collector.
#[derive(Debug)]
pub(crate) enum VoteOutcome {
    /// Same vote (or same block) already held.
    Duplicate,
    /// The voter already voted for another block in this round.
    Conflict(Vote),
    /// Counted; the block's vote stake is now this.
    Added(u128),
}

/// Votes for one block.
#[derive(Debug)]
pub(crate) struct BlockVotes {
    pub signatures: BTreeMap<ValidatorIndex, BlsSignatureBytes>,
    pub stake: u128,
    pub certified: bool,
}

#[derive(Debug, Default)]
struct RoundVotes {
    by_voter: HashMap<ValidatorIndex, Vote>,
    by_block: HashMap<BlockRef, BlockVotes>,
}

/// Votes of the recent rounds.
#[derive(Debug, Default)]
pub(crate) struct VoteCollector {
    rounds: BTreeMap<Round, RoundVotes>,
}

impl VoteCollector {
    /// Offers a vote with its voter's stake.
    pub fn insert(&mut self, vote: &Vote, stake: u64) -> VoteOutcome {
        let round = self.rounds.entry(vote.round).or_default();
        if let Some(first) = round.by_voter.get(&vote.voter) {
            return if first.block == vote.block {
                VoteOutcome::Duplicate
            } else {
                VoteOutcome::Conflict(first.clone())
            };
        }
        round.by_voter.insert(vote.voter, vote.clone());
        // Keyed by the whole signed statement: a vote naming the right block
        // with a wrong height signs something else and cannot block the
        // honest votes from adding up.
        let entry = round
            .by_block
            .entry(vote.block_ref())
            .or_insert_with(|| BlockVotes {
                signatures: BTreeMap::new(),
                stake: 0,
                certified: false,
            });
        entry.signatures.insert(vote.voter, vote.signature);
        entry.stake += u128::from(stake);
        VoteOutcome::Added(entry.stake)
    }

    /// The votes for a block in a round.
    pub fn block_votes(&mut self, block: &BlockRef) -> Option<&mut BlockVotes> {
        self.rounds.get_mut(&block.round)?.by_block.get_mut(block)
    }

    /// Removes a vote whose signature turned out bad (the voter's slot
    /// stays taken: a validator that sent a bad signature in a round gets
    /// no second chance in that round).
    pub fn discard(&mut self, block: &BlockRef, voter: ValidatorIndex, stake: u64) {
        if let Some(votes) = self.block_votes(block)
            && votes.signatures.remove(&voter).is_some()
        {
            votes.stake -= u128::from(stake);
        }
    }

    /// The blocks of `round` other than `block` that got votes, each with
    /// one of its voters.
    pub fn other_blocks(&self, round: Round, block: &BlockHash) -> Vec<(BlockRef, ValidatorIndex)> {
        let Some(votes) = self.rounds.get(&round) else {
            return Vec::new();
        };
        let mut out: Vec<(BlockRef, ValidatorIndex)> = votes
            .by_block
            .iter()
            .filter(|(r, _)| r.block != *block)
            .filter_map(|(r, v)| v.signatures.keys().next().map(|voter| (*r, *voter)))
            .collect();
        out.sort_by_key(|(r, v)| (r.block, *v));
        out
    }

    /// Forgets rounds below `round`.
    pub fn prune_below(&mut self, round: Round) {
        self.rounds = self.rounds.split_off(&round);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::Epoch;

    fn vote(round: u64, block: u8, voter: u16) -> Vote {
        Vote {
            epoch: Epoch(0),
            round: Round(round),
            block: BlockHash([block; 32]),
            height: 1,
            voter: ValidatorIndex(voter),
            signature: BlsSignatureBytes([voter as u8; 96]),
        }
    }

    #[test]
    fn first_vote_counts_duplicates_and_conflicts_do_not() {
        let mut c = VoteCollector::default();
        assert!(matches!(c.insert(&vote(1, 1, 0), 5), VoteOutcome::Added(5)));
        assert!(matches!(
            c.insert(&vote(1, 1, 1), 5),
            VoteOutcome::Added(10)
        ));
        assert!(matches!(
            c.insert(&vote(1, 1, 0), 5),
            VoteOutcome::Duplicate
        ));
        match c.insert(&vote(1, 2, 0), 5) {
            VoteOutcome::Conflict(first) => assert_eq!(first.block, BlockHash([1; 32])),
            other => panic!("{other:?}"),
        }
        let r = vote(1, 1, 0).block_ref();
        assert_eq!(c.block_votes(&r).unwrap().stake, 10);
        c.discard(&r, ValidatorIndex(1), 5);
        assert_eq!(c.block_votes(&r).unwrap().stake, 5);
        // The slot stays taken.
        assert!(matches!(
            c.insert(&vote(1, 1, 1), 5),
            VoteOutcome::Duplicate
        ));
        assert_eq!(c.other_blocks(Round(1), &BlockHash([2; 32])).len(), 1);
        assert!(c.other_blocks(Round(1), &BlockHash([1; 32])).is_empty());
        c.prune_below(Round(2));
        assert!(c.block_votes(&r).is_none());
        assert!(matches!(c.insert(&vote(1, 1, 1), 5), VoteOutcome::Added(5)));
    }
}
