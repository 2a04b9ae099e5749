//! Fuzzes the consensus message decoders: never panics, and whatever is
//! accepted is canonical (re-encodes to the same bytes).
#![no_main]

use aether_consensus::SafetyState;
use aether_types::{Canonical, ConsensusMsg, EquivocationEvidence, QuorumCert, TimeoutCert};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = ConsensusMsg::decode(data) {
        assert_eq!(msg.encode(), data, "accepted a non-canonical message");
    }
    if let Ok(qc) = QuorumCert::decode(data) {
        assert_eq!(qc.encode(), data);
    }
    if let Ok(tc) = TimeoutCert::decode(data) {
        assert_eq!(tc.encode(), data);
        let _ = tc.max_high_qc_round();
    }
    if let Ok(e) = EquivocationEvidence::decode(data) {
        assert_eq!(e.encode(), data);
    }
    if let Ok(s) = SafetyState::decode(data) {
        assert_eq!(s.encode(), data);
    }
});
