//! SEV-SNP report verification throughput on one core: `aether-snp-evidence`
//! (chain cached, and full) next to the `sev` crate's own bare verification
//! of the same inputs, in the same run.
//!
//! Run: `cargo bench -p aether-measure --bench verify_snp`
//! Inputs: the virtee Milan report, VCEK and ASK/ARK chain from the shared
//! vectors (skipped with a message when absent). Verification time 2025-01-01.
//!
//! | line | what one iteration does |
//! |---|---|
//! | aether cached chain | parse report + all report checks + ECDSA verify (chain verified once, before the loop) |
//! | aether full | parse report, VCEK, ASK/ARK PEM; verify chain (3 RSA-PSS) + all checks + ECDSA |
//! | sev bare, report only | parse report; `(&vcek, &report).verify()` (no chain, no checks) |
//! | sev bare, chain + report | parse report; `(&chain, &report).verify()` (re-verifies ARK, ASK, VCEK each call) |
//! | sev bare, full | as above, also parsing VCEK DER and ASK/ARK PEM each call |

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use aether_snp_evidence::{Policy, TrustRoots, VerifiedChain, verify};
use sev::certs::snp::{Certificate, Chain, Verifiable, ca};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::PerCall;

const BUDGET: Duration = Duration::from_secs(2);

fn time_per_call(f: impl FnMut()) -> PerCall {
    cpu_time::time_per_call(BUDGET, f)
}

fn line(name: &str, t: &PerCall) {
    println!(
        "{name:<28} {:>8.1} µs/report CPU {:>7.0} reports/s/core   (wall {:>8.1} µs)",
        t.core() * 1e6,
        t.per_second(),
        t.wall * 1e6
    );
}

fn main() {
    let (Some(r), Some(v), Some(c)) = (
        aether_testkit::vector("snp/virtee_report_milan.hex"),
        aether_testkit::vector("snp/virtee_vcek_milan.der"),
        aether_testkit::vector("snp/virtee_cert_chain_milan"),
    ) else {
        println!("verify_snp: vectors missing, nothing measured");
        return;
    };
    let report = aether_testkit::read_maybe_hex(&r);
    let vcek = std::fs::read(v).expect("vcek");
    let chain_pem = std::fs::read(c).expect("chain");
    let at = UNIX_EPOCH + Duration::from_secs(1_735_689_600);
    let policy = Policy::default();
    let roots = TrustRoots::amd();
    // The ASK and ARK PEMs of the chain file (ASK first).
    let split = chain_pem
        .windows(b"-----BEGIN".len())
        .skip(1)
        .position(|w| w == b"-----BEGIN")
        .map(|p| p + 1)
        .expect("two PEM blocks");
    let (ask_pem, ark_pem) = chain_pem.split_at(split);

    println!("SEV-SNP verification, virtee Milan report v2, one core, {BUDGET:?} per line");

    let chain = VerifiedChain::new(&vcek, Some(&chain_pem), &roots).expect("chain verifies");
    chain
        .verify_report(&report, &policy, at)
        .expect("report verifies");
    let ours_cached = time_per_call(|| {
        black_box(chain.verify_report(black_box(&report), &policy, at)).expect("verifies");
    });
    line("aether cached chain", &ours_cached);

    let ours_full = time_per_call(|| {
        black_box(verify(
            black_box(&report),
            &vcek,
            Some(&chain_pem),
            &roots,
            &policy,
            at,
        ))
        .expect("verifies");
    });
    line("aether full", &ours_full);

    let sev_vcek = Certificate::from_der(&vcek).expect("vcek");
    let sev_chain = Chain {
        ca: ca::Chain::from_pem(ark_pem, ask_pem).expect("ca"),
        vek: sev_vcek.clone(),
    };
    let sev_report_only = time_per_call(|| {
        let rep = AttestationReport::from_bytes(black_box(&report)).expect("report");
        (&sev_vcek, &rep).verify().expect("verifies");
    });
    line("sev bare, report only", &sev_report_only);

    let sev_chain_report = time_per_call(|| {
        let rep = AttestationReport::from_bytes(black_box(&report)).expect("report");
        (&sev_chain, &rep).verify().expect("verifies");
    });
    line("sev bare, chain + report", &sev_chain_report);

    let sev_full = time_per_call(|| {
        let rep = AttestationReport::from_bytes(black_box(&report)).expect("report");
        let chain = Chain {
            ca: ca::Chain::from_pem(ark_pem, ask_pem).expect("ca"),
            vek: Certificate::from_der(&vcek).expect("vcek"),
        };
        (&chain, &rep).verify().expect("verifies");
    });
    line("sev bare, full", &sev_full);

    println!();
    let cached = ours_cached.core();
    println!(
        "goal <= 1 ms/report on one core (aether, cached chain): {} ({:.3} ms CPU)",
        if cached <= 1e-3 { "met" } else { "NOT met" },
        cached * 1e3
    );
    println!(
        "aether cached / sev chain+report: {:.2}x the speed; aether full / sev full: {:.2}x; \
         aether cached / sev report-only: {:.2}x",
        sev_chain_report.core() / cached,
        sev_full.core() / ours_full.core(),
        sev_report_only.core() / cached
    );
}
