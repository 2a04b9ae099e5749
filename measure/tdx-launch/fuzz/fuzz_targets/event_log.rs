//! TCG2 crypto-agile event-log decoding and replay, and the CCEL table.
#![no_main]
use aether_tdx_launch::eventlog::{TPM_ALG_SHA256, TPM_ALG_SHA384};
use aether_tdx_launch::{CcelTable, EventLog};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = CcelTable::parse(data);
    if let Ok(log) = EventLog::parse(data) {
        let _ = log.replay_rtmrs();
        let _ = log.replay_pcrs(TPM_ALG_SHA256);
        let _ = log.replay_pcrs(TPM_ALG_SHA384);
        for e in &log.events {
            let _ = e.description();
            let _ = e.data_digest_matches(TPM_ALG_SHA384);
        }
    }
});
