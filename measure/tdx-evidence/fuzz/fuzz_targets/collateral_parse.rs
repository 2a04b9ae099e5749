//! The collateral and policy parsers on arbitrary bytes: never panic.
#![no_main]

use aether_tdx_evidence::{Collateral, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Collateral::from_json(data) {
        let _ = c.check_dates(1_751_328_000);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Policy::from_text(text);
    }
});
