//! Evidence verifications per second per core through the unified API:
//! `Verifier::verify` (chains and collateral cached by content) and the
//! uncached `verify`, on real SEV-SNP reports and a real TDX quote from the
//! shared vectors and on simulated evidence, next to the bare verification of
//! the same real inputs by the `sev` crate and by dcap-qvl, in the same run.
//!
//! Run: `cargo bench -p aether-evidence --bench verify`
//! (`AETHER_BENCH_SECS=N` per line, default 2). The goal of issue 10 for the
//! whole receipt check is >= 500 receipts/s per core.
//!
//! | line | one iteration |
//! |---|---|
//! | cached | `Verifier::verify`: report/quote parse, chain or collateral from the cache, all checks, claims |
//! | uncached | `verify`: the same with certificates, chain (RSA-PSS) or collateral JSON decoded and verified every time |
//! | sev bare, report | `sev`: parse report, `(&vcek, &report).verify()` (signature only, no chain, no checks) |
//! | sev bare, chain+report | `sev`: parse report, `(&chain, &report).verify()` (chain re-verified) |
//! | dcap-qvl bare | `dcap_qvl::verify::verify` with collateral parsed once (no policy, no claims) |

use std::hint::black_box;
use std::time::Duration;

use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions};
use aether_evidence::{Evidence, EvidencePolicy, Verifier, verify};

#[path = "../../benches/support/cpu_time.rs"]
mod cpu_time;
use cpu_time::{PerCall, time_per_call};

fn budget() -> Duration {
    let secs = std::env::var("AETHER_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

fn line(name: &str, t: &PerCall) {
    println!(
        "  {name:<34} {:>8.1} µs CPU  {:>7.0} /s/core   (wall {:>8.1} µs)",
        t.core() * 1e6,
        t.per_second(),
        t.wall * 1e6
    );
}

/// Times the cached and uncached paths for `e`; returns the cached figure.
fn ours(name: &str, e: &Evidence, policy: &EvidencePolicy, at: u64) -> PerCall {
    let verifier = Verifier::new(policy.clone());
    let expected = verify(e, policy, at).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(verifier.verify(e, at), Ok(expected));
    println!("{name}");
    let cached = time_per_call(budget(), || {
        black_box(verifier.verify(black_box(e), at)).expect("verifies");
    });
    line("aether-evidence Verifier (cached)", &cached);
    let uncached = time_per_call(budget(), || {
        black_box(verify(black_box(e), policy, at)).expect("verifies");
    });
    line("aether-evidence verify (uncached)", &uncached);
    cached
}

fn vector(rel: &str) -> Option<Vec<u8>> {
    aether_testkit::vector(rel).map(|p| aether_testkit::read_maybe_hex(&p))
}

/// The `sev` crate's bare verification of a Milan report with its VCEK and
/// the ASK/ARK (sev's embedded Milan ones: byte-identical to the vector's
/// chain file, which this crate's tests check).
fn sev_peer(report: &[u8], vcek: &[u8]) {
    use sev::certs::snp::{Certificate, Chain, Verifiable, builtin, ca};
    use sev::firmware::guest::AttestationReport;
    use sev::parser::ByteParser;
    let vek = Certificate::from_der(vcek).expect("vcek");
    let chain = Chain {
        ca: ca::Chain {
            ark: builtin::milan::ark().expect("ark"),
            ask: builtin::milan::ask().expect("ask"),
        },
        vek: vek.clone(),
    };
    let t = time_per_call(budget(), || {
        let r = AttestationReport::from_bytes(black_box(report)).expect("report");
        (&vek, &r).verify().expect("verifies");
    });
    line("peer: sev bare, report", &t);
    let t = time_per_call(budget(), || {
        let r = AttestationReport::from_bytes(black_box(report)).expect("report");
        (&chain, &r).verify().expect("verifies");
    });
    line("peer: sev bare, chain+report", &t);
}

fn main() {
    let production = EvidencePolicy::production();
    let dev = EvidencePolicy::production().with_simulated();
    let mut cached = Vec::new();
    println!(
        "aether-evidence verification, one core, {:?} per line (CPU time per call; wall beside)",
        budget()
    );

    // Real SEV-SNP: virtee Milan v2 (with its ASK/ARK file), lunal Genoa v5 (VCEK only).
    if let (Some(report), Some(vcek), Some(chain)) = (
        vector("snp/virtee_report_milan.hex"),
        vector("snp/virtee_vcek_milan.der"),
        vector("snp/virtee_cert_chain_milan"),
    ) {
        let e = Evidence::Snp {
            report: report.clone(),
            vek: vcek.clone(),
            chain: Some(chain.clone()),
        };
        cached.push((
            "SNP real",
            ours(
                "SEV-SNP, real: virtee Milan report v2 + VCEK + ASK/ARK",
                &e,
                &production,
                1_735_689_600,
            ),
        ));
        sev_peer(&report, &vcek);
    } else {
        println!("SEV-SNP real vectors missing: skipped");
    }
    if let (Some(report), Some(vcek)) = (
        vector("snp/lunal_live-report-v5-genoa.bin"),
        vector("snp/lunal_live-vcek-genoa.der"),
    ) {
        let e = Evidence::Snp {
            report,
            vek: vcek,
            chain: None,
        };
        ours(
            "SEV-SNP, real: lunal Genoa report v5 + VCEK",
            &e,
            &production,
            1_772_323_200,
        );
    }

    // Simulated SEV-SNP (VCEK and VLEK).
    let signer = SimSigner::new();
    let at = 1_735_689_600;
    let e = signer.snp([1; 48], [2; 64], &SimSnpOptions::default());
    cached.push((
        "SNP simulated",
        ours("SEV-SNP, simulated: VCEK", &e, &dev, at),
    ));
    let e = signer.snp(
        [1; 48],
        [2; 64],
        &SimSnpOptions {
            vlek: true,
            ..SimSnpOptions::default()
        },
    );
    ours("SEV-SNP, simulated: VLEK (embedded ASVK)", &e, &dev, at);

    // Real TDX: the dcap-qvl sample quote v4 and its collateral.
    if let (Some(quote), Some(json)) = (
        vector("tdx/dcapqvl_tdx_quote"),
        aether_testkit::vector("tdx/dcapqvl_tdx_quote_collateral.json")
            .and_then(|p| std::fs::read(p).ok()),
    ) {
        let at = 1_751_328_000;
        let e = Evidence::Tdx {
            quote: quote.clone(),
            collateral: json.clone(),
        };
        cached.push((
            "TDX real",
            ours("TDX, real: dcap-qvl sample quote v4", &e, &production, at),
        ));
        let dcap: dcap_qvl::QuoteCollateralV3 = serde_json::from_slice(&json).expect("collateral");
        let t = time_per_call(budget(), || {
            black_box(dcap_qvl::verify::verify(black_box(&quote), &dcap, at)).expect("verifies");
        });
        line("peer: dcap-qvl bare verify", &t);
    } else {
        println!("TDX real vectors missing: skipped");
    }

    // Simulated TDX.
    let e = signer.tdx([3; 48], [[4; 48]; 4], [5; 64], &SimTdxOptions::default());
    cached.push((
        "TDX simulated",
        ours("TDX, simulated quote v4", &e, &dev, at),
    ));

    println!();
    println!(
        "goal (issue 10): >= 500 receipt checks/s per core; evidence verification (cached) alone:"
    );
    for (what, t) in &cached {
        println!(
            "  {what:<14} {:>7.0} /s/core  {}",
            t.per_second(),
            if t.per_second() >= 500.0 {
                "meets 500/s"
            } else {
                "BELOW 500/s"
            }
        );
    }
}
