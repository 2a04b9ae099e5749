//! Any bytes: the report parser returns a result (never panics), and a parsed
//! report's claims serialize. The input is parsed as is (length check), and
//! XORed onto a well-formed unsigned report (v2 Milan, or v5 Turin when the
//! input's length is odd) so that the fuzzer reaches every field decoder
//! without having to guess the exact length and layout.
#![no_main]

use std::sync::OnceLock;

use aether_snp_evidence::test_signer::ReportSpec;
use aether_snp_evidence::{Product, REPORT_LEN, SnpReport};
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    if let Ok(report) = SnpReport::parse(bytes) {
        assert_eq!(bytes.len(), REPORT_LEN);
        let claims = report.claims();
        assert_eq!(claims.version, report.version());
        serde_json::to_vec(&claims).expect("claims serialize");
    }
}

fn templates() -> &'static [[u8; REPORT_LEN]; 2] {
    static T: OnceLock<[[u8; REPORT_LEN]; 2]> = OnceLock::new();
    T.get_or_init(|| {
        let tcb = [3, 0, 8, 0x73, 1];
        [
            ReportSpec::new(Product::Milan, tcb).to_bytes(),
            ReportSpec::new(Product::Turin, tcb).to_bytes(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut report = templates()[data.len() % 2];
    for (r, d) in report.iter_mut().zip(data) {
        *r ^= d;
    }
    check(&report);
});
