//! Tampering with the real dcap-qvl v4 quote and its collateral: every change is
//! rejected, each by the check it breaks.

use aether_tdx_evidence::{Collateral, HexBytes, Policy, TcbStatus, TdQuote, Verifier};
use std::collections::BTreeMap;

/// 2025-07-01T00:00:00Z: the real quote verifies UpToDate at this time.
const AT: u64 = 1_751_328_000;

fn inputs() -> Option<(Vec<u8>, Vec<u8>)> {
    let q = aether_testkit::vector("tdx/dcapqvl_tdx_quote")?;
    let c = aether_testkit::vector("tdx/dcapqvl_tdx_quote_collateral.json")?;
    Some((std::fs::read(q).unwrap(), std::fs::read(c).unwrap()))
}

/// Flips every bit of `range` (every bit, or bit `only_bit` of each byte) and
/// returns how often each check rejected; panics if one flip is accepted.
fn flip_all(
    quote: &[u8],
    coll: &Collateral,
    range: std::ops::Range<usize>,
    only_bit: Option<u8>,
) -> BTreeMap<&'static str, usize> {
    let verifier = Verifier::intel();
    let policy = Policy::default();
    let mut seen = BTreeMap::new();
    let mut q = quote.to_vec();
    for i in range {
        for bit in 0..8u8 {
            if only_bit.is_some_and(|b| b != bit) {
                continue;
            }
            q[i] ^= 1 << bit;
            match verifier.verify(&q, coll, AT, &policy) {
                Ok(_) => panic!("flipping bit {bit} of byte {i} was accepted"),
                Err(e) => *seen.entry(e.check()).or_insert(0) += 1,
            }
            q[i] ^= 1 << bit;
        }
    }
    seen
}

/// Offsets in a v4 quote's auth data.
struct Layout {
    signed: usize,
    quote_sig: usize,
    att_key: usize,
    qe_report: usize,
    qe_report_sig: usize,
    qe_auth: usize,
    cert_chain: usize,
}

fn layout(quote: &[u8]) -> Layout {
    let signed = TdQuote::parse(quote).unwrap().signed_len;
    assert_eq!(signed, 48 + 584);
    let quote_sig = signed + 4;
    let att_key = quote_sig + 64;
    let qe_report = att_key + 64 + 2 + 4;
    let qe_report_sig = qe_report + 384;
    let qe_auth = qe_report_sig + 64 + 2;
    let cert_chain = qe_auth + 32 + 2 + 4;
    Layout {
        signed,
        quote_sig,
        att_key,
        qe_report,
        qe_report_sig,
        qe_auth,
        cert_chain,
    }
}

#[test]
fn every_bit_of_the_signed_region_is_covered_by_the_quote_signature() {
    let Some((quote, coll)) = inputs() else {
        return;
    };
    let coll = Collateral::from_json(&coll).unwrap();
    assert!(
        Verifier::intel()
            .verify(&quote, &coll, AT, &Policy::default())
            .is_ok()
    );
    let l = layout(&quote);
    // TD report body: 584 bytes × 8 bits, each a bad quote signature.
    let body = flip_all(&quote, &coll, 48..l.signed, None);
    assert_eq!(
        body.keys().copied().collect::<Vec<_>>(),
        ["quote_signature"],
        "{body:?}"
    );
    // Header: rejected by the header checks, the parser or the signature.
    let header = flip_all(&quote, &coll, 0..48, None);
    let allowed = [
        "parse",
        "quote_version",
        "tee_type",
        "qe_vendor",
        "attestation_key_type",
        "quote_signature",
    ];
    assert!(header.keys().all(|k| allowed.contains(k)), "{header:?}");
    assert!(header["quote_signature"] > 0);
}

#[test]
fn flips_in_signatures_keys_and_qe_report_are_rejected_by_their_check() {
    let Some((quote, coll)) = inputs() else {
        return;
    };
    let coll = Collateral::from_json(&coll).unwrap();
    let l = layout(&quote);
    let only = |seen: BTreeMap<&'static str, usize>, check: &str| {
        assert_eq!(
            seen.keys().copied().collect::<Vec<_>>(),
            [check],
            "{seen:?}"
        );
    };
    only(
        flip_all(&quote, &coll, l.quote_sig..l.att_key, None),
        "quote_signature",
    );
    only(
        flip_all(&quote, &coll, l.att_key..l.att_key + 64, None),
        "attestation_key_binding",
    );
    only(
        flip_all(&quote, &coll, l.qe_report..l.qe_report_sig, None),
        "qe_report_signature",
    );
    only(
        flip_all(&quote, &coll, l.qe_report_sig..l.qe_report_sig + 64, None),
        "qe_report_signature",
    );
    only(
        flip_all(&quote, &coll, l.qe_auth..l.qe_auth + 32, None),
        "attestation_key_binding",
    );
}

#[test]
fn flips_in_length_fields_never_change_what_is_accepted() {
    let Some((quote, coll)) = inputs() else {
        return;
    };
    let coll = Collateral::from_json(&coll).unwrap();
    let l = layout(&quote);
    let v = Verifier::intel();
    let original = v.verify(&quote, &coll, AT, &Policy::default()).unwrap();
    // Auth data length, certification data type and size, QE auth data size,
    // PCK chain type and size. These are not signed: a flip must be rejected, or
    // (when a length grows into the zero padding after the auth data) give the
    // same claims, since the padding is never read.
    let fields = [
        l.signed..l.quote_sig,
        l.att_key + 64..l.qe_report,
        l.qe_auth - 2..l.qe_auth,
        l.cert_chain - 6..l.cert_chain,
    ];
    let (mut rejected, mut same) = (0, 0);
    let mut q = quote.clone();
    for i in fields.into_iter().flatten() {
        for bit in 0..8 {
            q[i] ^= 1 << bit;
            match v.verify(&q, &coll, AT, &Policy::default()) {
                Err(_) => rejected += 1,
                Ok(c) => {
                    assert_eq!(
                        c, original,
                        "flip of bit {bit} of byte {i} changed the claims"
                    );
                    same += 1;
                }
            }
            q[i] ^= 1 << bit;
        }
    }
    assert!(rejected > 0, "rejected {rejected}, same claims {same}");
}

#[test]
fn flips_in_the_pck_chain_never_change_what_is_accepted() {
    let Some((quote, coll)) = inputs() else {
        return;
    };
    let coll = Collateral::from_json(&coll).unwrap();
    let l = layout(&quote);
    let v = Verifier::intel();
    let original = v.verify(&quote, &coll, AT, &Policy::default()).unwrap();
    // The PEM chain: one bit per byte (the low bit changes every base64 digit).
    // The PEM text is not signed (the certificates inside are). A flip that turns
    // whitespace into other whitespace, or breaks the markers of the optional root
    // certificate (the path is built to the trust root anyway), leaves the
    // verified chain, and so the claims, unchanged; anything else is rejected.
    let chain_end = quote.len() - TdQuote::parse(&quote).unwrap().trailing_len;
    let mut q = quote.clone();
    let mut seen = BTreeMap::new();
    for i in l.cert_chain..chain_end {
        q[i] ^= 1;
        match v.verify(&q, &coll, AT, &Policy::default()) {
            Err(e) => *seen.entry(e.check()).or_insert(0) += 1,
            Ok(c) => assert_eq!(c, original, "flip of byte {i} changed the claims"),
        }
        q[i] ^= 1;
    }
    assert!(seen.contains_key("pck_chain"), "{seen:?}");
}

#[test]
fn policy_expectations_on_the_real_quote() {
    let Some((quote, coll)) = inputs() else {
        return;
    };
    let coll = Collateral::from_json(&coll).unwrap();
    let v = Verifier::intel();
    let c = v.verify(&quote, &coll, AT, &Policy::default()).unwrap();
    let exact = Policy {
        expected_mrtd: Some(c.td_report.mrtd),
        expected_rtmr0: Some(c.td_report.rtmr[0]),
        expected_rtmr1: Some(c.td_report.rtmr[1]),
        expected_rtmr2: Some(c.td_report.rtmr[2]),
        expected_rtmr3: Some(c.td_report.rtmr[3]),
        expected_report_data: Some(c.td_report.report_data),
        ..Policy::default()
    };
    assert!(v.verify(&quote, &coll, AT, &exact).is_ok());
    let mut wrong_mrtd = c.td_report.mrtd;
    wrong_mrtd.0[47] ^= 1;
    let mut wrong_rtmr = c.td_report.rtmr[1];
    wrong_rtmr.0[0] ^= 0x80;
    let mut wrong_rd = c.td_report.report_data;
    wrong_rd.0[63] ^= 1;
    let cases = [
        (
            "mrtd",
            Policy {
                expected_mrtd: Some(wrong_mrtd),
                ..exact.clone()
            },
        ),
        (
            "rtmr",
            Policy {
                expected_rtmr1: Some(wrong_rtmr),
                ..exact.clone()
            },
        ),
        (
            "report_data",
            Policy {
                expected_report_data: Some(wrong_rd),
                ..exact.clone()
            },
        ),
        (
            "tcb_status",
            Policy {
                accepted_tcb_statuses: vec![TcbStatus::SWHardeningNeeded, TcbStatus::OutOfDate],
                ..exact.clone()
            },
        ),
        (
            "seam_identity",
            Policy {
                expected_mrsignerseam: Some(HexBytes([1; 48])),
                ..exact.clone()
            },
        ),
    ];
    for (check, policy) in cases {
        let e = v.verify(&quote, &coll, AT, &policy).unwrap_err();
        assert_eq!(e.check(), check, "{e}");
    }
}

#[test]
fn a_different_root_is_rejected() {
    let Some((quote, coll)) = inputs() else {
        return;
    };
    let coll = Collateral::from_json(&coll).unwrap();
    let other = aether_tdx_evidence::test_signer::TestChain::generate();
    let v = Verifier::with_trust_root(other.root_der()).unwrap();
    let e = v.verify(&quote, &coll, AT, &Policy::default()).unwrap_err();
    assert_eq!(e.check(), "trust_root", "{e}");
}

#[test]
fn the_embedded_root_is_the_intel_sgx_root_ca_of_the_vectors() {
    let Some(root) = aether_testkit::vector("tdx/intel_sgx_root_ca.der") else {
        return;
    };
    let root = std::fs::read(root).unwrap();
    let Some((quote, coll)) = inputs() else {
        return;
    };
    let coll = Collateral::from_json(&coll).unwrap();
    // Same fingerprint, and the file as an explicit root gives the same verdict
    // as dcap-qvl's embedded root.
    let explicit = Verifier::with_trust_root(&root).unwrap();
    assert_eq!(explicit.trust_root(), Verifier::intel().trust_root());
    let a = explicit
        .verify(&quote, &coll, AT, &Policy::default())
        .unwrap();
    let b = Verifier::intel()
        .verify(&quote, &coll, AT, &Policy::default())
        .unwrap();
    assert_eq!(a, b);
    // dcap-qvl's own embedded root: its claims name the root key by SHA-384.
    let claims = dcap_qvl::verify::QuoteVerifier::new_prod()
        .verify_with_policy(
            &quote,
            coll.as_dcap().clone(),
            AT,
            &dcap_qvl::QuotePolicy::claims_only(AT),
        )
        .unwrap();
    let explicit_claims = dcap_qvl::verify::QuoteVerifier::new(root)
        .verify_with_policy(
            &quote,
            coll.as_dcap().clone(),
            AT,
            &dcap_qvl::QuotePolicy::claims_only(AT),
        )
        .unwrap();
    assert_eq!(
        claims.platform.root_key_id,
        explicit_claims.platform.root_key_id
    );
}

#[test]
fn tampered_collateral_is_rejected_by_its_check() {
    let Some((quote, coll_json)) = inputs() else {
        return;
    };
    let v = Verifier::intel();
    let base: serde_json::Value = serde_json::from_slice(&coll_json).unwrap();
    let edit = |field: &str, f: &dyn Fn(&str) -> String| {
        let mut j = base.clone();
        let old = j[field].as_str().unwrap().to_string();
        j[field] = serde_json::Value::String(f(&old));
        Collateral::from_json(j.to_string().as_bytes())
    };
    let check = |coll: Result<Collateral, aether_tdx_evidence::VerifyError>| match coll {
        Err(e) => e.check(),
        Ok(c) => v
            .verify(&quote, &c, AT, &Policy::default())
            .unwrap_err()
            .check(),
    };
    // Signed JSON changed by one character (the tcbEvaluationDataNumber).
    let bump = |s: &str| {
        s.replacen(
            "\"tcbEvaluationDataNumber\":1",
            "\"tcbEvaluationDataNumber\":2",
            1,
        )
    };
    assert_eq!(check(edit("tcb_info", &bump)), "tcb_info_signature");
    assert_eq!(check(edit("qe_identity", &bump)), "qe_identity_signature");
    let flip_hex = |s: &str| {
        let mut b = hex::decode(s).unwrap();
        b[10] ^= 1;
        hex::encode(b)
    };
    assert_eq!(
        check(edit("tcb_info_signature", &flip_hex)),
        "tcb_info_signature"
    );
    assert_eq!(
        check(edit("qe_identity_signature", &flip_hex)),
        "qe_identity_signature"
    );
    // A CRL's signature (last bytes of the DER).
    let flip_tail = |s: &str| {
        let mut b = hex::decode(s).unwrap();
        let n = b.len() - 3;
        b[n] ^= 1;
        hex::encode(b)
    };
    assert_eq!(check(edit("root_ca_crl", &flip_tail)), "root_ca_crl");
    assert_eq!(check(edit("pck_crl", &flip_tail)), "pck_chain");
    // Not yet valid (2025-06-01), and FMSPC of another platform.
    let coll = Collateral::from_json(&coll_json).unwrap();
    let e = v
        .verify(&quote, &coll, 1_748_736_000, &Policy::default())
        .unwrap_err();
    assert_eq!(e.check(), "collateral_not_yet_valid", "{e}");
    if let Some(other) = aether_testkit::vector("tdx/dcapqvl_tdx_quote_outdated_collateral.json") {
        let other = Collateral::from_json(&std::fs::read(other).unwrap()).unwrap();
        let e = v
            .verify(&quote, &other, 1_772_323_200, &Policy::default())
            .unwrap_err();
        assert_eq!(e.check(), "fmspc", "{e}");
    }
}
