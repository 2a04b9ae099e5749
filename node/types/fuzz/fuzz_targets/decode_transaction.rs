//! Fuzzes transaction decoding: never panics, and whatever is accepted is
//! canonical (re-encodes to the same bytes) and hashes without panicking.
#![no_main]

use aether_types::{Canonical, Transaction, TxBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Transaction::decode(data) {
        assert_eq!(tx.encode(), data, "accepted a non-canonical transaction");
        let id = tx.id();
        let _ = tx.tx_leaf(&id);
        let _ = tx.body.declared_fuel();
    }
    if let Ok(body) = TxBody::decode(data) {
        assert_eq!(body.encode(), data, "accepted a non-canonical body");
    }
});
