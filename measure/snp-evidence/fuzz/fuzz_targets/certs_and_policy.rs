//! Any bytes as a VCEK/VLEK, a CA chain, custom trust roots and a policy
//! document: errors, never panics.
#![no_main]

use std::sync::OnceLock;

use aether_snp_evidence::{Policy, TrustRoots, VerifiedChain};
use libfuzzer_sys::fuzz_target;

fn amd() -> &'static TrustRoots {
    static ROOTS: OnceLock<TrustRoots> = OnceLock::new();
    ROOTS.get_or_init(TrustRoots::amd)
}

fuzz_target!(|data: &[u8]| {
    let amd = amd();
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (vek, chain) = data.split_at(split);
    let _ = VerifiedChain::new(data, None, amd);
    let _ = VerifiedChain::new(vek, Some(chain), amd);
    let _ = TrustRoots::custom(data);
    let _ = Policy::from_bytes(data);
});
