//! The whole verifier against a test DCAP chain: the input is either a raw quote
//! (first byte even) or a list of (offset, byte) edits applied to a validly
//! signed test quote (first byte odd), which reaches the deep checks. Never
//! panics, and an accepted edited quote has the original's claims.
#![no_main]

use std::sync::OnceLock;

use aether_tdx_evidence::test_signer::{TestChain, TestCollateral, TestTdReport};
use aether_tdx_evidence::{Collateral, Policy, VerifiedTdQuote, Verifier};
use libfuzzer_sys::fuzz_target;

const AT: u64 = 1_767_225_600;

struct Fixture {
    verifier: Verifier,
    collateral: Collateral,
    quote: Vec<u8>,
    claims: VerifiedTdQuote,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let chain = TestChain::generate();
        let verifier = Verifier::with_trust_root(chain.root_der()).expect("root");
        let collateral =
            Collateral::from_json(chain.collateral_json(&TestCollateral::default()).as_bytes()).expect("collateral");
        let quote = chain.quote(&TestTdReport::default());
        let claims = verifier.verify(&quote, &collateral, AT, &Policy::default()).expect("verifies");
        Fixture { verifier, collateral, quote, claims }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else { return };
    let quote = if mode.is_multiple_of(2) {
        rest.to_vec()
    } else {
        let mut q = f.quote.clone();
        for edit in rest.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % q.len();
            q[at] = edit[2];
        }
        q
    };
    match f.verifier.verify(&quote, &f.collateral, AT, &Policy::default()) {
        Ok(c) => assert_eq!(c, f.claims, "an edited quote verified with other claims"),
        Err(e) => assert_ne!(e.check(), "internal", "{e}"),
    }
});
