//! A validly signed report (test key chain) with the fuzz input XORed onto
//! its first bytes, and the input itself as a report: the
//! verifier never panics and accepts only the untouched report (ECDSA's
//! (r, n - s) twin signature would also verify, but reaching it needs the
//! exact 48 bytes of n - 2s: not a fuzzer finding).
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use aether_snp_evidence::test_signer::{ReportSpec, TestCa, VekSpec};
use aether_snp_evidence::{MinTcb, Policy, Product, REPORT_LEN, SignerKind, VerifiedChain};
use libfuzzer_sys::fuzz_target;

struct Setup {
    chain: VerifiedChain,
    report: [u8; REPORT_LEN],
    policy: Policy,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let tcb = [3, 0, 8, 0x73, 0];
        let ca = TestCa::new(Product::Milan, SignerKind::Vcek, 1);
        let spec = ReportSpec::new(Product::Milan, tcb);
        let vek = ca.issue(&VekSpec::vcek(Product::Milan, &spec.chip_id, tcb));
        let chain = VerifiedChain::new(
            &vek.cert_der,
            Some(ca.chain_pem().as_bytes()),
            &ca.trust_roots(),
        )
        .expect("test chain verifies");
        // Permissive, so that only the signature and parsing can reject.
        let policy = Policy {
            allow_debug: true,
            allow_migration_agent: true,
            max_vmpl: u32::MAX,
            allowed_report_versions: vec![2, 3, 4, 5],
            min_tcb: MinTcb::default(),
            ..Policy::default()
        };
        Setup {
            chain,
            report: spec.signed_by(&vek),
            policy,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let at = UNIX_EPOCH + Duration::from_secs(1_735_689_600);
    // The input itself as a report (length checks, random reports).
    if data != &s.report[..] {
        assert!(s.chain.verify_report(data, &s.policy, at).is_err());
    }
    // The signed report with the input XORed onto its first bytes.
    let mut report = s.report;
    for (r, d) in report.iter_mut().zip(data) {
        *r ^= d;
    }
    let result = s.chain.verify_report(&report, &s.policy, at);
    if report != s.report {
        assert!(result.is_err(), "a modified report was accepted");
    } else {
        assert!(result.is_ok(), "the signed report was rejected: {result:?}");
    }
});
