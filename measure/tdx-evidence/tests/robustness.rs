//! Truncated, oversized, random and mutated inputs never panic the quote parser,
//! the collateral parser or the verifier, and never yield different accepted
//! claims. (A contained panic would surface as the `internal` check: also a
//! failure here.)

use aether_tdx_evidence::{Collateral, Policy, TdQuote, Verifier};
use proptest::prelude::*;
use std::sync::OnceLock;

const AT: u64 = 1_751_328_000;

struct Real {
    quote: Vec<u8>,
    coll_json: Vec<u8>,
    coll: Collateral,
}

fn real() -> Option<&'static Real> {
    static REAL: OnceLock<Option<Real>> = OnceLock::new();
    REAL.get_or_init(|| {
        let q = aether_testkit::vector("tdx/dcapqvl_tdx_quote")?;
        let c = aether_testkit::vector("tdx/dcapqvl_tdx_quote_collateral.json")?;
        let coll_json = std::fs::read(c).ok()?;
        Some(Real {
            quote: std::fs::read(q).ok()?,
            coll: Collateral::from_json(&coll_json).ok()?,
            coll_json,
        })
    })
    .as_ref()
}

fn assert_no_internal(r: &Result<impl Sized, aether_tdx_evidence::VerifyError>) {
    if let Err(e) = r {
        assert_ne!(e.check(), "internal", "{e}");
    }
}

#[test]
fn every_truncation_of_the_real_quote_is_rejected_without_panic() {
    let Some(r) = real() else { return };
    let v = Verifier::intel();
    let end = r.quote.len() - TdQuote::parse(&r.quote).unwrap().trailing_len;
    for len in 0..end {
        let q = &r.quote[..len];
        assert_no_internal(&TdQuote::parse(q));
        let res = v.verify(q, &r.coll, AT, &Policy::default());
        assert_no_internal(&res);
        assert!(res.is_err(), "truncation to {len} bytes accepted");
    }
}

#[test]
fn every_truncation_of_the_collateral_json_is_a_parse_error() {
    let Some(r) = real() else { return };
    for len in (0..r.coll_json.len()).step_by(7) {
        let e = Collateral::from_json(&r.coll_json[..len]).unwrap_err();
        assert_eq!(e.check(), "collateral_parse");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..8192)) {
        assert_no_internal(&TdQuote::parse(&bytes));
        let _ = Collateral::from_json(&bytes);
        if let Some(r) = real() {
            let res = Verifier::intel().verify(&bytes, &r.coll, AT, &Policy::default());
            assert_no_internal(&res);
            prop_assert!(res.is_err());
        }
    }

    #[test]
    fn random_header_on_a_real_body_never_panics(header in proptest::collection::vec(any::<u8>(), 48)) {
        let Some(r) = real() else { return Ok(()) };
        let mut q = r.quote.clone();
        q[..48].copy_from_slice(&header);
        let res = Verifier::intel().verify(&q, &r.coll, AT, &Policy::default());
        assert_no_internal(&res);
        prop_assert!(res.is_err() || header == r.quote[..48]);
    }

    #[test]
    fn mutated_real_quotes_never_change_accepted_claims(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let Some(r) = real() else { return Ok(()) };
        let v = Verifier::intel();
        let original = v.verify(&r.quote, &r.coll, AT, &Policy::default()).unwrap();
        let mut q = r.quote.clone();
        for (at, value) in &edits {
            let i = at.index(q.len());
            q[i] = *value;
        }
        q.extend(&tail);
        let res = v.verify(&q, &r.coll, AT, &Policy::default());
        assert_no_internal(&res);
        if let Ok(c) = res {
            // Only unsigned padding or PEM formatting may differ.
            prop_assert_eq!(c, original);
        }
    }

    #[test]
    fn mutated_collateral_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let Some(r) = real() else { return Ok(()) };
        let mut j = r.coll_json.clone();
        for (at, value) in &edits {
            let i = at.index(j.len());
            j[i] = *value;
        }
        if let Ok(c) = Collateral::from_json(&j) {
            let res = Verifier::intel().verify(&r.quote, &c, AT, &Policy::default());
            assert_no_internal(&res);
        }
    }

    #[test]
    fn random_times_never_panic(at in any::<u64>()) {
        let Some(r) = real() else { return Ok(()) };
        let res = Verifier::intel().verify(&r.quote, &r.coll, at, &Policy::default());
        assert_no_internal(&res);
    }
}
