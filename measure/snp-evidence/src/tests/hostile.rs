//! Hostile inputs: truncated, oversized, random and bit-flipped bytes to the
//! parsers and the whole verification never panic and are never accepted.

use proptest::prelude::*;

use super::{T_2025, at, vector};
use crate::*;

fn milan() -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    Some((
        vector("snp/virtee_report_milan.hex")?,
        vector("snp/virtee_vcek_milan.der")?,
        vector("snp/virtee_cert_chain_milan")?,
    ))
}

#[test]
fn every_truncation_and_extension_of_a_real_report_is_a_parse_error() {
    let Some((report, vcek, chain)) = milan() else {
        return;
    };
    let chain = VerifiedChain::new(&vcek, Some(&chain), &TrustRoots::amd()).unwrap();
    for len in 0..report.len() {
        let err = chain
            .verify_report(&report[..len], &Policy::default(), at(T_2025))
            .unwrap_err();
        assert_eq!(err.check(), "parse");
    }
    for extra in [1usize, 2, 16, 1184, 100_000] {
        let mut r = report.clone();
        r.extend(std::iter::repeat_n(0u8, extra));
        assert_eq!(SnpReport::parse(&r).unwrap_err().check(), "parse");
    }
}

#[test]
fn every_truncation_of_real_certificates_is_rejected() {
    let Some((_, vcek, chain)) = milan() else {
        return;
    };
    for len in 0..vcek.len() {
        assert!(VerifiedChain::new(&vcek[..len], None, &TrustRoots::amd()).is_err());
    }
    for len in (0..chain.len()).step_by(3) {
        // A truncated chain may still hold a complete ASK (and the embedded
        // ARK is used); it must never produce a chain for a different key.
        if let Ok(c) = VerifiedChain::new(&vcek, Some(&chain[..len]), &TrustRoots::amd()) {
            assert_eq!(c.product(), Product::Milan);
        }
    }
}

#[test]
fn hostile_pem_does_not_panic() {
    for input in [
        &b""[..],
        b"\n",
        b"\r\n\r\n",
        b"-----BEGIN",
        b"-----BEGIN CERTIFICATE-----",
        b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----",
        b"   -----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----",
    ] {
        assert!(VerifiedChain::new(input, None, &TrustRoots::amd()).is_err());
        assert!(TrustRoots::custom(input).is_err());
        let _ = crate::certs::decode_cert_stack(input, CertRole::Ca);
    }
}

#[test]
fn hostile_policies_are_errors_not_panics() {
    for text in [
        "",
        "allow_debug = true",
        "{\"allow_debug\": true}",
        "max_vmpl = -1",
        "measurements = [\"zz\"]",
        "measurements = [\"00\"]",
        "report_data = \"00\"",
        "allow_debugg = true",
        "{",
        "[min_tcb]\nsnp = 300",
        "allowed_products = [\"Venice\"]",
    ] {
        let _ = Policy::from_bytes(text.as_bytes());
    }
    assert_eq!(Policy::from_bytes(b"").unwrap(), Policy::default());
    assert!(
        Policy::from_bytes(b"allow_debug = true")
            .unwrap()
            .allow_debug
    );
    assert!(
        Policy::from_bytes(b"{\"allow_debug\": true}")
            .unwrap()
            .allow_debug
    );
    assert_eq!(
        Policy::from_bytes(b"allow_debugg = true")
            .unwrap_err()
            .check(),
        "policy_file"
    );
    assert!(Policy::from_bytes(b"measurements = [\"00\"]").is_err());
    assert!(Policy::from_bytes(b"[min_tcb]\nsnp = 300").is_err());
    assert!(Policy::from_bytes(&[0xff, 0xfe]).is_err());
}

#[test]
fn policy_schema_round_trip() {
    let m = "ab".repeat(48);
    let rd = "0x".to_owned() + &"cd".repeat(64);
    let toml = format!(
        "allow_debug = true\nallow_smt = false\nallow_migration_agent = true\nrequire_single_socket = true\n\
         min_abi_major = 1\nmin_abi_minor = 51\nmax_vmpl = 2\nallow_vlek = false\n\
         allowed_report_versions = [3, 5]\nallowed_products = [\"genoa\", \"Turin\"]\n\
         measurements = [\"{m}\"]\nreport_data = \"{rd}\"\nhost_data = \"{}\"\n\
         [min_tcb]\nbootloader = 1\ntee = 2\nsnp = 3\nmicrocode = 4\nfmc = 5\n",
        "ef".repeat(32)
    );
    let p = Policy::from_toml_str(&toml).unwrap();
    assert!(p.allow_debug && !p.allow_smt && p.allow_migration_agent && p.require_single_socket);
    assert_eq!((p.min_abi_major, p.min_abi_minor, p.max_vmpl), (1, 51, 2));
    assert!(!p.allow_vlek);
    assert_eq!(p.allowed_report_versions, vec![3, 5]);
    assert_eq!(p.allowed_products, vec![Product::Genoa, Product::Turin]);
    assert_eq!(p.measurements, vec![[0xab; 48]]);
    assert_eq!(p.report_data, Some([0xcd; 64]));
    assert_eq!(p.host_data, Some([0xef; 32]));
    assert_eq!(
        p.min_tcb,
        MinTcb {
            bootloader: 1,
            tee: 2,
            snp: 3,
            microcode: 4,
            fmc: 5
        }
    );
    let json = format!("{{\"measurements\": [\"{m}\"], \"min_tcb\": {{\"snp\": 8}}}}");
    let j = Policy::from_json_str(&json).unwrap();
    assert_eq!(j.measurements, vec![[0xab; 48]]);
    assert_eq!(j.min_tcb.snp, 8);
    assert!(!j.allow_debug && j.allow_smt && j.allow_vlek);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_report_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2500)) {
        let _ = SnpReport::parse(&bytes);
    }

    #[test]
    fn random_reports_of_the_right_length_never_verify(
        mut bytes in proptest::collection::vec(any::<u8>(), REPORT_LEN..=REPORT_LEN),
        version in 2u32..=5,
        cpuid in any::<(u8, u8)>(),
    ) {
        // Make a fair share of them parse: plausible version, zero reserved ranges.
        bytes[..4].copy_from_slice(&version.to_le_bytes());
        bytes[0x188] = [0x19, 0x1A][usize::from(cpuid.0 & 1)];
        bytes[0x189] = cpuid.1 & 0x1f;
        for range in [0x4C..0x50, 0x18B..0x1A0, 0x1EB..0x1EC, 0x1EF..0x1F0, 0x208..0x2A0, 0x330..0x4A0] {
            bytes[range].fill(0);
        }
        if let Ok(report) = SnpReport::parse(&bytes) {
            let _ = serde_json::to_string(&report.claims()).unwrap();
        }
        if let Some((_, vcek, chain)) = milan() {
            let r = verify(&bytes, &vcek, Some(&chain), &TrustRoots::amd(), &Policy { allow_debug: true, ..Policy::default() }, at(T_2025));
            prop_assert!(r.is_err());
        }
    }

    #[test]
    fn random_certificates_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        prop_assert!(VerifiedChain::new(&bytes, None, &TrustRoots::amd()).is_err());
        let _ = TrustRoots::custom(&bytes);
        if let Some((_, vcek, _)) = milan() {
            let _ = VerifiedChain::new(&vcek, Some(&bytes), &TrustRoots::amd());
        }
    }

    #[test]
    fn bit_flipped_vcek_is_never_accepted_with_a_different_key(offset in 0usize..1400, bit in 0u8..8) {
        let Some((report, vcek, chain)) = milan() else { return Ok(()) };
        let mut v = vcek.clone();
        let i = offset % v.len();
        v[i] ^= 1 << bit;
        // Either the chain fails, or (a flip in a field the signature does
        // not cover, i.e. the outer signature encoding) the key is unchanged.
        if let Ok(r) = verify(&report, &v, Some(&chain), &TrustRoots::amd(), &Policy::default(), at(T_2025)) {
            let good = verify(&report, &vcek, Some(&chain), &TrustRoots::amd(), &Policy::default(), at(T_2025)).unwrap();
            prop_assert_eq!(r.report, good.report);
        }
    }

    #[test]
    fn random_policy_text_never_panics(text in "\\PC{0,200}") {
        let _ = Policy::from_bytes(text.as_bytes());
    }
}
