//! Fuzzes the safety rules with arbitrary operation sequences (and
//! restarts through the persisted encoding): a node never signs two votes
//! in one round, never votes in a round it timed out, never votes below
//! its lock, never proposes twice in a round.
#![no_main]

use aether_consensus::SafetyState;
use aether_types::*;
use libfuzzer_sys::fuzz_target;

fn qc(round: u64) -> QuorumCert {
    let mut qc = QuorumCert::genesis(Epoch(0), BlockHash([round as u8; 32]));
    qc.round = Round(round);
    if round > 0 {
        qc.signers = SignerBitmap::new(4).unwrap();
    }
    qc
}

fn tc(round: u64, max: u64) -> TimeoutCert {
    let mut signers = SignerBitmap::new(4).unwrap();
    signers.set(ValidatorIndex(0));
    TimeoutCert {
        epoch: Epoch(0),
        round: Round(round),
        groups: vec![TimeoutGroup { high_qc_round: Round(max), signers }],
        signature: BlsSignatureBytes([0; 96]),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut s = SafetyState::new(qc(0));
    let mut voted: Vec<u64> = Vec::new();
    let mut timed_out: Vec<u64> = Vec::new();
    let mut proposed: Vec<u64> = Vec::new();
    for chunk in data.chunks(3) {
        let [op, a, b] = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let (a, b) = (u64::from(a % 16), u64::from(b % 16));
        match op % 6 {
            0 if a > 0 => {
                s.observe_qc(&qc(a), Some(Round(b % a)));
            }
            1 if a > 0 => {
                s.observe_tc(&tc(a, b % a));
            }
            2 => {
                let locked = s.locked_round.0;
                let vote = Vote {
                    epoch: Epoch(0),
                    round: Round(a),
                    block: BlockHash([b as u8; 32]),
                    height: a,
                    voter: ValidatorIndex(0),
                    signature: BlsSignatureBytes([0; 96]),
                };
                let t = (op & 0x80 != 0 && a > 1).then(|| tc(a - 1, b % (a - 1)));
                if s.sign_vote(&vote, Round(b), t.as_ref()).is_ok() {
                    assert!(voted.iter().all(|r| *r < a));
                    assert!(!timed_out.contains(&a));
                    assert!(b >= locked);
                    voted.push(a);
                }
            }
            3 => {
                let hqc = s.highest_qc.round;
                if s.sign_timeout(Epoch(0), Round(a), hqc).is_ok() {
                    assert!(voted.iter().all(|r| *r <= a));
                    timed_out.push(a);
                }
            }
            4 => {
                if s.sign_proposal(Epoch(0), Round(a)).is_ok() {
                    assert!(proposed.iter().all(|r| *r < a));
                    proposed.push(a);
                }
            }
            _ => {
                s = SafetyState::decode(&s.encode()).unwrap();
            }
        }
    }
});
