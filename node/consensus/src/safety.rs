//! Safety rules: the only code that decides whether this node may sign a
//! proposal, a vote or a timeout, and the state it must persist first.
//!
//! # Persisted state ([`SafetyState`], canonical Borsh encoding)
//! ```text
//! SafetyState = epoch: u64
//!             || last_proposed_round: u64   highest round this node proposed in
//!             || last_voted_round: u64      highest round this node voted or timed out in
//!             || locked_round: u64          the two-chain lock (see below)
//!             || highest_qc: QuorumCert
//!             || highest_tc: Option<TimeoutCert>
//!             || last_vote: Option<Vote>    re-sent after a restart, never re-signed
//! ```
//! The driver writes and syncs this state (`Action::Persist`) **before**
//! it sends any proposal, vote or timeout produced after it; a node
//! restarts from the last synced copy. Since every rule below only moves
//! rounds forward, a restarted node can never sign something that
//! conflicts with what it sent before the crash.
//!
//! # Rules
//! 1. **Propose** in round `r` only if `r > last_proposed_round` (one
//!    proposal per round, also across restarts).
//! 2. **Vote** for block `B` of round `r` with parent QC `qc` and
//!    optional TC `tc` only if
//!    - `r > last_voted_round` (never twice in a round, never in a round
//!      already timed out);
//!    - `qc.round >= locked_round` (never against the lock);
//!    - `qc.round + 1 == r`, or `tc.round + 1 == r` and
//!      `qc.round >= tc.max_high_qc_round` (Jolteon's voting rule: after a
//!      timeout, extend a QC at least as high as any honest signer of the
//!      TC reported).
//! 3. **Time out** round `r` only if `r >= last_voted_round` (a node may
//!    give up the round it voted in, never an older one), reporting its
//!    actual highest QC, and only if `r` is justified: `r ==
//!    highest_qc.round + 1` or `r == highest_tc.round + 1`. Timing out sets
//!    `last_voted_round = r`, so the node never votes in `r` afterwards.
//!
//! # Lock
//! `locked_round` is the round of the parent QC of the highest certified
//! block this node has seen (`QC(B).block.justify.round`): if that parent
//! `P` is final, `B` is its certified child and every later valid
//! proposal extends `P`. In a run with less than a third of faulty stake,
//! every valid proposal already satisfies `qc.round >= locked_round` (the
//! quorum that certified `B` holds the lock and reports it in every
//! timeout), so the check costs no liveness; it stops a node from being
//! led off a final block by a malformed certificate.

use aether_types::{Canonical, Epoch, QuorumCert, Round, TimeoutCert, Vote};
use borsh::{BorshDeserialize, BorshSerialize};

/// Why the safety rules refuse to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SafetyViolation {
    /// The statement is for another epoch.
    #[error("statement for epoch {got:?}, safety state is at {have:?}")]
    WrongEpoch {
        /// Epoch of the statement.
        got: Epoch,
        /// Epoch of the state.
        have: Epoch,
    },
    /// Already proposed in this round or a later one.
    #[error("already proposed in round {last}")]
    AlreadyProposed {
        /// `last_proposed_round`.
        last: Round,
    },
    /// Already voted or timed out in this round or a later one.
    #[error("already voted or timed out in round {last}")]
    AlreadyVoted {
        /// `last_voted_round`.
        last: Round,
    },
    /// The block's QC is below the lock.
    #[error("QC round {qc} is below the locked round {locked}")]
    BelowLock {
        /// The block's QC round.
        qc: Round,
        /// `locked_round`.
        locked: Round,
    },
    /// Neither a QC of the previous round nor a TC of the previous round
    /// that the QC satisfies.
    #[error("round {round} is not justified by its QC or TC")]
    NotJustified {
        /// The round.
        round: Round,
    },
    /// A timeout for a round below the last voted round.
    #[error("timeout for round {round} after voting in {last}")]
    StaleTimeout {
        /// The round.
        round: Round,
        /// `last_voted_round`.
        last: Round,
    },
    /// The timeout would not report this node's highest QC.
    #[error("timeout must carry the highest QC")]
    NotHighestQc,
}

/// The persisted safety state (see the module docs for the format).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SafetyState {
    /// Epoch the rounds belong to.
    pub epoch: Epoch,
    /// Highest round this node proposed in.
    pub last_proposed_round: Round,
    /// Highest round this node voted or timed out in.
    pub last_voted_round: Round,
    /// The lock (see the module docs).
    pub locked_round: Round,
    /// Highest QC seen.
    pub highest_qc: QuorumCert,
    /// Highest TC seen.
    pub highest_tc: Option<TimeoutCert>,
    /// The last vote sent (re-sent unchanged after a restart).
    pub last_vote: Option<Vote>,
}

impl Canonical for SafetyState {
    const MAX_ENCODED_LEN: usize = 256 * 1024;
}

impl SafetyState {
    /// The state of a fresh node: nothing signed, the genesis QC.
    pub fn new(genesis_qc: QuorumCert) -> Self {
        SafetyState {
            epoch: genesis_qc.epoch,
            last_proposed_round: Round(0),
            last_voted_round: Round(0),
            locked_round: Round(0),
            highest_qc: genesis_qc,
            highest_tc: None,
            last_vote: None,
        }
    }

    /// Round of the highest TC (0 without one).
    pub fn highest_tc_round(&self) -> Round {
        self.highest_tc
            .as_ref()
            .map(|tc| tc.round)
            .unwrap_or_default()
    }

    /// The round this node is in: one past its highest certificate.
    pub fn current_round(&self) -> Round {
        self.highest_qc.round.max(self.highest_tc_round()).next()
    }

    /// Records a verified QC; `certified_parent_round` is the round of the
    /// certified block's own QC (its `justify.round`), when the block is
    /// known. Returns whether the highest QC changed.
    pub fn observe_qc(&mut self, qc: &QuorumCert, certified_parent_round: Option<Round>) -> bool {
        if let Some(parent) = certified_parent_round {
            self.locked_round = self.locked_round.max(parent);
        }
        if qc.round > self.highest_qc.round {
            self.highest_qc = qc.clone();
            true
        } else {
            false
        }
    }

    /// Records a verified TC; returns whether the highest TC changed.
    pub fn observe_tc(&mut self, tc: &TimeoutCert) -> bool {
        if tc.round > self.highest_tc_round() {
            self.highest_tc = Some(tc.clone());
            true
        } else {
            false
        }
    }

    /// Rule 1; on success records the proposal round.
    pub fn sign_proposal(&mut self, epoch: Epoch, round: Round) -> Result<(), SafetyViolation> {
        self.check_epoch(epoch)?;
        if round <= self.last_proposed_round {
            return Err(SafetyViolation::AlreadyProposed {
                last: self.last_proposed_round,
            });
        }
        self.last_proposed_round = round;
        Ok(())
    }

    /// Rule 2 without recording anything.
    pub fn check_vote(
        &self,
        epoch: Epoch,
        round: Round,
        qc_round: Round,
        tc: Option<&TimeoutCert>,
    ) -> Result<(), SafetyViolation> {
        self.check_epoch(epoch)?;
        if round <= self.last_voted_round {
            return Err(SafetyViolation::AlreadyVoted {
                last: self.last_voted_round,
            });
        }
        if qc_round < self.locked_round {
            return Err(SafetyViolation::BelowLock {
                qc: qc_round,
                locked: self.locked_round,
            });
        }
        let direct = qc_round.next() == round;
        let after_timeout = tc.is_some_and(|tc| {
            tc.epoch == epoch && tc.round.next() == round && qc_round >= tc.max_high_qc_round()
        });
        if direct || after_timeout {
            Ok(())
        } else {
            Err(SafetyViolation::NotJustified { round })
        }
    }

    /// Rule 2; on success records the vote (the caller persists before sending it).
    pub fn sign_vote(
        &mut self,
        vote: &Vote,
        qc_round: Round,
        tc: Option<&TimeoutCert>,
    ) -> Result<(), SafetyViolation> {
        self.check_vote(vote.epoch, vote.round, qc_round, tc)?;
        self.last_voted_round = vote.round;
        self.last_vote = Some(vote.clone());
        Ok(())
    }

    /// Rule 3; on success records the timeout round.
    pub fn sign_timeout(
        &mut self,
        epoch: Epoch,
        round: Round,
        high_qc_round: Round,
    ) -> Result<(), SafetyViolation> {
        self.check_epoch(epoch)?;
        if round < self.last_voted_round {
            return Err(SafetyViolation::StaleTimeout {
                round,
                last: self.last_voted_round,
            });
        }
        if high_qc_round != self.highest_qc.round {
            return Err(SafetyViolation::NotHighestQc);
        }
        if round != self.highest_qc.round.next() && round != self.highest_tc_round().next() {
            return Err(SafetyViolation::NotJustified { round });
        }
        self.last_voted_round = round;
        Ok(())
    }

    fn check_epoch(&self, epoch: Epoch) -> Result<(), SafetyViolation> {
        if epoch == self.epoch {
            Ok(())
        } else {
            Err(SafetyViolation::WrongEpoch {
                got: epoch,
                have: self.epoch,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{BlockHash, BlsSignatureBytes, SignerBitmap, TimeoutGroup, ValidatorIndex};

    fn qc(round: u64) -> QuorumCert {
        let mut qc = QuorumCert::genesis(Epoch(0), BlockHash([round as u8; 32]));
        qc.round = Round(round);
        qc.height = round;
        if round > 0 {
            qc.signers = SignerBitmap::new(4).unwrap();
        }
        qc
    }

    fn tc(round: u64, max_hqc: u64) -> TimeoutCert {
        let mut signers = SignerBitmap::new(4).unwrap();
        signers.set(ValidatorIndex(0));
        TimeoutCert {
            epoch: Epoch(0),
            round: Round(round),
            groups: vec![TimeoutGroup {
                high_qc_round: Round(max_hqc),
                signers,
            }],
            signature: BlsSignatureBytes([0; 96]),
        }
    }

    fn vote(round: u64) -> Vote {
        Vote {
            epoch: Epoch(0),
            round: Round(round),
            block: BlockHash([0xaa; 32]),
            height: round,
            voter: ValidatorIndex(0),
            signature: BlsSignatureBytes([0; 96]),
        }
    }

    fn state() -> SafetyState {
        SafetyState::new(qc(0))
    }

    #[test]
    fn never_votes_twice_in_a_round() {
        let mut s = state();
        s.sign_vote(&vote(1), Round(0), None).unwrap();
        assert_eq!(
            s.sign_vote(&vote(1), Round(0), None),
            Err(SafetyViolation::AlreadyVoted { last: Round(1) })
        );
        assert_eq!(s.last_vote, Some(vote(1)));
    }

    #[test]
    fn never_votes_after_timing_out_the_round() {
        let mut s = state();
        s.sign_timeout(Epoch(0), Round(1), Round(0)).unwrap();
        assert!(matches!(
            s.sign_vote(&vote(1), Round(0), None),
            Err(SafetyViolation::AlreadyVoted { .. })
        ));
    }

    #[test]
    fn may_time_out_the_round_it_voted_in_but_not_older_ones() {
        let mut s = state();
        s.observe_qc(&qc(4), None);
        s.sign_vote(&vote(5), Round(4), None).unwrap();
        s.sign_timeout(Epoch(0), Round(5), Round(4)).unwrap();
        let mut s2 = state();
        s2.observe_qc(&qc(4), None);
        s2.sign_vote(&vote(5), Round(4), None).unwrap();
        assert_eq!(
            s2.sign_timeout(Epoch(0), Round(4), Round(4)),
            Err(SafetyViolation::StaleTimeout {
                round: Round(4),
                last: Round(5)
            })
        );
    }

    #[test]
    fn never_votes_against_the_lock() {
        let mut s = state();
        // Certified block of round 6 whose parent QC is of round 5.
        s.observe_qc(&qc(6), Some(Round(5)));
        assert_eq!(s.locked_round, Round(5));
        // A TC of round 7 reporting max 4 would allow qc 4 by Jolteon's
        // rule alone; the lock refuses it.
        assert_eq!(
            s.check_vote(Epoch(0), Round(8), Round(4), Some(&tc(7, 4))),
            Err(SafetyViolation::BelowLock {
                qc: Round(4),
                locked: Round(5)
            })
        );
        s.check_vote(Epoch(0), Round(8), Round(5), Some(&tc(7, 4)))
            .unwrap();
    }

    #[test]
    fn voting_rule_needs_a_qc_or_tc_of_the_previous_round() {
        let s = state();
        s.check_vote(Epoch(0), Round(1), Round(0), None).unwrap();
        assert_eq!(
            s.check_vote(Epoch(0), Round(3), Round(1), None),
            Err(SafetyViolation::NotJustified { round: Round(3) })
        );
        // TC of round 2 with max reported hqc 1: qc 1 is fine, qc 0 is not.
        s.check_vote(Epoch(0), Round(3), Round(1), Some(&tc(2, 1)))
            .unwrap();
        assert_eq!(
            s.check_vote(Epoch(0), Round(3), Round(0), Some(&tc(2, 1))),
            Err(SafetyViolation::NotJustified { round: Round(3) })
        );
        // TC of an older round does not justify.
        assert!(
            s.check_vote(Epoch(0), Round(4), Round(1), Some(&tc(2, 1)))
                .is_err()
        );
        // Wrong epoch.
        assert!(matches!(
            s.check_vote(Epoch(1), Round(1), Round(0), None),
            Err(SafetyViolation::WrongEpoch { .. })
        ));
    }

    #[test]
    fn one_proposal_per_round() {
        let mut s = state();
        s.sign_proposal(Epoch(0), Round(1)).unwrap();
        assert!(s.sign_proposal(Epoch(0), Round(1)).is_err());
        s.sign_proposal(Epoch(0), Round(2)).unwrap();
        assert!(s.sign_proposal(Epoch(0), Round(1)).is_err());
    }

    #[test]
    fn timeout_reports_the_highest_qc_of_a_justified_round() {
        let mut s = state();
        s.observe_qc(&qc(3), None);
        assert_eq!(
            s.sign_timeout(Epoch(0), Round(4), Round(2)),
            Err(SafetyViolation::NotHighestQc)
        );
        assert_eq!(
            s.sign_timeout(Epoch(0), Round(6), Round(3)),
            Err(SafetyViolation::NotJustified { round: Round(6) })
        );
        s.observe_tc(&tc(5, 3));
        s.sign_timeout(Epoch(0), Round(6), Round(3)).unwrap();
        assert_eq!(s.current_round(), Round(6));
    }

    #[test]
    fn certificates_only_move_forward_and_state_roundtrips() {
        let mut s = state();
        assert!(s.observe_qc(&qc(3), Some(Round(2))));
        assert!(!s.observe_qc(&qc(2), Some(Round(1))));
        assert_eq!(s.highest_qc.round, Round(3));
        assert_eq!(s.locked_round, Round(2));
        assert!(s.observe_tc(&tc(5, 3)));
        assert!(!s.observe_tc(&tc(4, 3)));
        s.sign_vote(&vote(6), Round(3), Some(&tc(5, 3))).unwrap();
        let bytes = s.encode();
        assert_eq!(SafetyState::decode(&bytes).unwrap(), s);
        assert!(SafetyState::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
