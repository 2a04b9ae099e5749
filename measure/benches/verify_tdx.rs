//! TDX quote verification throughput on one core: `aether-tdx-evidence` (DCAP
//! checks by dcap-qvl, failure diagnosis, claims, policy) against dcap-qvl's own
//! bare `verify` of the same quote, in the same run.
//!
//! Both sides get their collateral parsed once up front (ours: `Collateral`;
//! dcap-qvl: `QuoteCollateralV3`). The rounds alternate between the two so
//! that load on the machine hits both alike; the median round is reported.
//!
//! `cargo bench -p aether-measure --bench verify_tdx`

use std::hint::black_box;
use std::time::{Duration, Instant};

use aether_tdx_evidence::{Collateral, Policy, Verifier};

/// 2025-07-01T00:00:00Z: the quote verifies UpToDate.
const AT: u64 = 1_751_328_000;
const ROUNDS: usize = 15;
const PER_ROUND: u32 = 100;

fn time_round(f: &mut dyn FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..PER_ROUND {
        f();
    }
    start.elapsed() / PER_ROUND
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let (Some(q), Some(c)) = (
        aether_testkit::vector("tdx/dcapqvl_tdx_quote"),
        aether_testkit::vector("tdx/dcapqvl_tdx_quote_collateral.json"),
    ) else {
        return;
    };
    let quote = std::fs::read(q).expect("quote");
    let json = std::fs::read(c).expect("collateral");

    // Cached, parsed-once collateral on both sides.
    let collateral = Collateral::from_json(&json).expect("collateral parses");
    let dcap_collateral: dcap_qvl::QuoteCollateralV3 =
        serde_json::from_slice(&json).expect("collateral parses");
    let verifier = Verifier::intel();
    let policy = Policy::default();
    assert!(verifier.verify(&quote, &collateral, AT, &policy).is_ok());
    assert!(dcap_qvl::verify::verify(&quote, &dcap_collateral, AT).is_ok());

    let mut ours = || {
        black_box(
            verifier
                .verify(black_box(&quote), &collateral, AT, &policy)
                .is_ok(),
        );
    };
    let mut bare = || {
        black_box(dcap_qvl::verify::verify(black_box(&quote), &dcap_collateral, AT).is_ok());
    };
    // Warm-up.
    time_round(&mut ours);
    time_round(&mut bare);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(time_round(&mut ours));
        b.push(time_round(&mut bare));
    }
    let (ours_t, bare_t) = (median(a), median(b));
    // Collateral parsed on every quote, for reference (what caching saves).
    let uncached = median(
        (0..5)
            .map(|_| {
                time_round(&mut || {
                    let c = Collateral::from_json(black_box(&json)).expect("parses");
                    black_box(verifier.verify(&quote, &c, AT, &policy).is_ok());
                })
            })
            .collect(),
    );
    let per_s = |d: Duration| 1.0 / d.as_secs_f64();
    println!(
        "TDX quote verification, one core, dcap-qvl sample v4 quote, median of {ROUNDS} rounds x {PER_ROUND}:"
    );
    println!(
        "  aether-tdx-evidence Verifier::verify (cached Collateral): {:8.3} ms/quote  {:8.0} quotes/s",
        ours_t.as_secs_f64() * 1e3,
        per_s(ours_t)
    );
    println!(
        "  dcap-qvl 0.7.1 verify::verify (bare, parsed collateral): {:8.3} ms/quote  {:8.0} quotes/s",
        bare_t.as_secs_f64() * 1e3,
        per_s(bare_t)
    );
    println!(
        "  ratio ours/bare: {:.3}   (goal: <= 3 ms/quote and no slower than bare)",
        ours_t.as_secs_f64() / bare_t.as_secs_f64()
    );
    println!(
        "  reference, collateral JSON parsed per quote:               {:8.3} ms/quote",
        uncached.as_secs_f64() * 1e3
    );
}
