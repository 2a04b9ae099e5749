//! The safety rules, exhaustively on a small domain and as a property over
//! random operation sequences with restarts (encode, decode, continue).

use aether_consensus::SafetyState;
use aether_types::*;
use proptest::prelude::*;

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
    signers.set(ValidatorIndex(1));
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

fn vote(round: u64, block: u8) -> Vote {
    Vote {
        epoch: Epoch(0),
        round: Round(round),
        block: BlockHash([block; 32]),
        height: round,
        voter: ValidatorIndex(0),
        signature: BlsSignatureBytes([0; 96]),
    }
}

/// The voting rule, written independently of the implementation.
fn reference_may_vote(
    last_voted: u64,
    locked: u64,
    round: u64,
    qc_round: u64,
    tc: Option<(u64, u64)>,
) -> bool {
    round > last_voted
        && qc_round >= locked
        && (qc_round + 1 == round || tc.is_some_and(|(t, max)| t + 1 == round && qc_round >= max))
}

#[test]
fn voting_rule_matches_the_reference_on_every_small_case() {
    let mut cases = 0;
    for last_voted in 0..4u64 {
        for locked in 0..4u64 {
            for round in 0..7u64 {
                for qc_round in 0..7u64 {
                    let tcs = std::iter::once(None)
                        .chain((0..6u64).flat_map(|t| (0..t.max(1)).map(move |m| Some((t, m)))));
                    for t in tcs {
                        let mut s = SafetyState::new(qc(0));
                        s.last_voted_round = Round(last_voted);
                        s.locked_round = Round(locked);
                        let tc_value = t.map(|(r, m)| tc(r, m));
                        let got = s
                            .check_vote(Epoch(0), Round(round), Round(qc_round), tc_value.as_ref())
                            .is_ok();
                        assert_eq!(
                            got,
                            reference_may_vote(last_voted, locked, round, qc_round, t),
                            "last_voted {last_voted} locked {locked} round {round} qc {qc_round} tc {t:?}"
                        );
                        cases += 1;
                    }
                }
            }
        }
    }
    assert!(cases > 5_000);
}

#[derive(Clone, Debug)]
enum Op {
    ObserveQc {
        round: u64,
        parent: u64,
    },
    ObserveTc {
        round: u64,
        max_hqc: u64,
    },
    Vote {
        round: u64,
        qc_round: u64,
        tc: Option<(u64, u64)>,
        block: u8,
    },
    Timeout {
        round: u64,
    },
    Propose {
        round: u64,
    },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u64..12, 0u64..12).prop_map(|(round, p)| Op::ObserveQc {
            round,
            parent: p % round
        }),
        (1u64..12, 0u64..12).prop_map(|(round, m)| Op::ObserveTc {
            round,
            max_hqc: m % round
        }),
        (
            1u64..12,
            0u64..12,
            proptest::option::of((0u64..12, 0u64..12)),
            0u8..3
        )
            .prop_map(|(round, qc_round, tc, block)| Op::Vote {
                round,
                qc_round,
                tc: tc.map(|(t, m)| (t.max(1), m % t.max(1))),
                block
            }),
        (1u64..12).prop_map(|round| Op::Timeout { round }),
        (1u64..12).prop_map(|round| Op::Propose { round }),
        Just(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn no_sequence_with_restarts_signs_conflicting_statements(ops in proptest::collection::vec(op(), 1..40)) {
        let mut s = SafetyState::new(qc(0));
        let mut votes: Vec<(u64, u8)> = Vec::new();
        let mut timeouts: Vec<u64> = Vec::new();
        let mut proposals: Vec<u64> = Vec::new();
        for op in ops {
            match op {
                Op::ObserveQc { round, parent } => { s.observe_qc(&qc(round), Some(Round(parent))); }
                Op::ObserveTc { round, max_hqc } => { s.observe_tc(&tc(round, max_hqc)); }
                Op::Vote { round, qc_round, tc: t, block } => {
                    let locked = s.locked_round.0;
                    let tc_value = t.map(|(r, m)| tc(r, m));
                    if s.sign_vote(&vote(round, block), Round(qc_round), tc_value.as_ref()).is_ok() {
                        // Never twice in a round, never after timing the round out,
                        // never against the lock, always justified.
                        prop_assert!(votes.iter().all(|(r, _)| *r < round));
                        prop_assert!(!timeouts.contains(&round));
                        prop_assert!(qc_round >= locked);
                        prop_assert!(reference_may_vote(0, locked, round, qc_round, t));
                        votes.push((round, block));
                    }
                }
                Op::Timeout { round } => {
                    let hqc = s.highest_qc.round;
                    if s.sign_timeout(Epoch(0), Round(round), hqc).is_ok() {
                        prop_assert!(votes.iter().all(|(r, _)| *r <= round));
                        prop_assert!(round == hqc.0 + 1 || round == s.highest_tc_round().0 + 1);
                        timeouts.push(round);
                    }
                }
                Op::Propose { round } => {
                    if s.sign_proposal(Epoch(0), Round(round)).is_ok() {
                        prop_assert!(proposals.iter().all(|r| *r < round));
                        proposals.push(round);
                    }
                }
                Op::Restart => {
                    let bytes = s.encode();
                    s = SafetyState::decode(&bytes).unwrap();
                }
            }
            // Certificates and the lock never move back.
            prop_assert!(s.locked_round <= Round(12));
        }
    }

    #[test]
    fn decoding_hostile_state_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(s) = SafetyState::decode(&bytes) {
            prop_assert_eq!(s.encode(), bytes);
        }
    }
}
