//! The serde decoders of the new types never panic: `Evidence`,
//! `EvidencePolicy`, `Claims` and `TrustRoot` from arbitrary JSON, and what
//! decodes re-encodes to an equal value.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run decode -- -max_total_time=60`
#![no_main]

use aether_evidence::{Claims, Evidence, EvidencePolicy, TrustRoot};
use libfuzzer_sys::fuzz_target;

fn round_trip<T>(data: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let again: T =
            serde_json::from_str(&serde_json::to_string(&v).expect("encodes")).expect("re-decodes");
        assert_eq!(again, v);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Evidence>(data);
    round_trip::<EvidencePolicy>(data);
    round_trip::<Claims>(data);
    round_trip::<TrustRoot>(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = s.parse::<TrustRoot>();
    }
});
