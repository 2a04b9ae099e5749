//! Fuzzes the mempool's entry point on attacker bytes: the stateless
//! checks never panic, whatever passes them is canonical and pays at
//! least the minimum fee, and a full submission against an empty chain is
//! always refused and leaves the pool empty.
#![no_main]

use aether_ledger::{Ledger, MemoryUtxoSet, ProtocolParams};
use aether_mempool::{Mempool, MempoolConfig, check_stateless};
use aether_types::Canonical;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn ledger() -> &'static Ledger {
    static LEDGER: OnceLock<Ledger> = OnceLock::new();
    LEDGER.get_or_init(|| Ledger::new(ProtocolParams::dev()))
}

fuzz_target!(|data: &[u8]| {
    let ledger = ledger();
    let params = ledger.params();
    if let Ok(checked) = check_stateless(params, data) {
        assert_eq!(checked.tx().encode(), data, "accepted a non-canonical transaction");
        assert_eq!(checked.size(), data.len());
        let fuel = checked.tx().body.declared_fuel().expect("checked fuel fits");
        let min = params.fees.min_fee(data.len(), fuel).expect("checked fee computes");
        assert!(checked.tx().body.fee >= min, "fee below the minimum passed");
    }
    let mut pool = Mempool::new(MempoolConfig::default());
    assert!(pool.submit(ledger, &MemoryUtxoSet::new(), 1, data).is_err());
    assert!(pool.is_empty());
    pool.check_invariants().expect("invariants hold");
});
