//! The embedded AMD ASVKs (VLEK chains with no chain file) and VCEK/VLEK
//! bundles ("VCEK then ASK then ARK", as AMD's key server hands them out).

use std::sync::OnceLock;

use sha2::Digest;

use super::{T_2025, at, vector};
use crate::test_signer::{ReportSpec, TestCa, TestVek, VekSpec};
use crate::*;

#[test]
fn embedded_asvks_are_pinned_and_signed_by_their_ark() {
    use sev::certs::snp::builtin::{genoa, milan, turin};
    for ((product, pem, pin), ark) in AMD_ASVKS.iter().zip([milan::ARK, genoa::ARK, turin::ARK]) {
        let digest: [u8; 32] = sha2::Sha256::digest(pem.as_bytes()).into();
        assert_eq!(digest, *pin, "{product} ASVK differs from its pin");
        let asvk = crate::certs::decode_cert(pem.as_bytes(), CertRole::Asvk).unwrap();
        assert_eq!(asvk.subject_cn(), format!("SEV-VLEK-{product}"));
        // sev's RSASSA-PSS check of the ARK's signature, independently of TrustRoots.
        use sev::certs::snp::{Certificate, Verifiable};
        let ark = Certificate::from_pem(ark).unwrap();
        let asvk = Certificate::from_pem(pem.as_bytes()).unwrap();
        (&ark, &asvk)
            .verify()
            .unwrap_or_else(|e| panic!("ARK-{product} does not sign its ASVK: {e}"));
    }
    // The same through the trust roots (ARK self-signature, ARK -> ASK, ARK -> ASVK).
    TrustRoots::amd().verify_all().unwrap();
}

#[test]
fn milan_asvk_is_byte_identical_to_go_sev_guests_copy() {
    let Some(vlek_chain) = vector("snp/gosev_milanvlek.testcer") else {
        return;
    };
    let ours = AMD_ASVKS[0].1.as_bytes();
    assert_eq!(AMD_ASVKS[0].0, Product::Milan);
    // The vector is "ASVK then ARK": its first PEM block is the ASVK.
    assert_eq!(&vlek_chain[..ours.len()], ours);
    let stack = crate::certs::decode_cert_stack(&vlek_chain, CertRole::Ca).unwrap();
    let embedded = crate::certs::decode_cert(ours, CertRole::Asvk).unwrap();
    assert!(stack[0].same_der(&embedded));
}

/// A Genoa VLEK chain minted by the test signer: its ARK and ASVK as custom
/// roots, the VLEK and a VLEK-signed report.
struct VlekFixture {
    ca: TestCa,
    vlek: TestVek,
    report: [u8; REPORT_LEN],
}

fn vlek_fixture() -> &'static VlekFixture {
    static CELL: OnceLock<VlekFixture> = OnceLock::new();
    CELL.get_or_init(|| {
        let tcb = [3, 0, 8, 0x73, 0];
        let ca = TestCa::new(Product::Genoa, SignerKind::Vlek, 310);
        let mut spec = ReportSpec::new(Product::Genoa, tcb);
        spec.key_info = 1 << 2;
        let mut vspec = VekSpec::vcek(Product::Genoa, &spec.chip_id, tcb);
        vspec.hw_id = None;
        let vlek = ca.issue(&vspec);
        let report = spec.signed_by(&vlek);
        VlekFixture { ca, vlek, report }
    })
}

#[test]
fn vlek_verifies_with_the_asvk_held_by_the_roots() {
    let f = vlek_fixture();
    let roots = format!("{}{}", f.ca.ark_pem(), f.ca.intermediate_pem());
    let roots = TrustRoots::custom(roots.as_bytes()).unwrap();
    let v = verify(
        &f.report,
        &f.vlek.cert_der,
        None,
        &roots,
        &Policy::default(),
        at(T_2025),
    )
    .expect("VLEK + report alone verify");
    assert_eq!(v.signer, SignerKind::Vlek);
    assert_eq!(v.certificates.intermediate_source, "embedded");
}

#[test]
fn custom_roots_check_the_asvk_signature_and_refuse_duplicates() {
    let f = vlek_fixture();
    let other = TestCa::new(Product::Genoa, SignerKind::Vlek, 311);
    let mixed = format!("{}{}", f.ca.ark_pem(), other.intermediate_pem());
    let err = TrustRoots::custom(mixed.as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::ChainSignature {
                signer: CertRole::Ark,
                signee: CertRole::Asvk,
                ..
            }
        ),
        "{err:?}"
    );
    let twice = format!(
        "{}{}{}",
        f.ca.ark_pem(),
        f.ca.intermediate_pem(),
        f.ca.intermediate_pem()
    );
    assert_eq!(
        TrustRoots::custom(twice.as_bytes()).unwrap_err().check(),
        "parse"
    );
    // An ASVK without its ARK is not a root.
    let err = TrustRoots::custom(f.ca.intermediate_pem().as_bytes()).unwrap_err();
    assert!(
        matches!(err, SnpError::MissingCaCertificate { .. }),
        "{err:?}"
    );
}

fn pem(der: &[u8]) -> String {
    use der::EncodePem;
    x509_cert::Certificate::from_der(der)
        .unwrap()
        .to_pem(der::pem::LineEnding::LF)
        .unwrap()
}

use der::Decode;

#[test]
fn vlek_bundle_from_the_key_server_verifies_alone_and_with_a_chain() {
    let f = vlek_fixture();
    // What the KDS hands out: VLEK, then ASVK, then ARK.
    let bundle = format!("{}{}", pem(&f.vlek.cert_der), f.ca.chain_pem());
    let roots = f.ca.trust_roots(); // ARK only: the ASVK must come from the bundle
    for chain in [None, Some(f.ca.chain_pem())] {
        let v = verify(
            &f.report,
            bundle.as_bytes(),
            chain.as_deref().map(str::as_bytes),
            &roots,
            &Policy::default(),
            at(T_2025),
        )
        .expect("bundle verifies");
        assert_eq!(v.certificates.intermediate_source, "supplied");
    }
    // A bundle whose intermediate differs from the chain file's is refused.
    let other = TestCa::new(Product::Genoa, SignerKind::Vlek, 312);
    let err = verify(
        &f.report,
        bundle.as_bytes(),
        Some(other.intermediate_pem().as_bytes()),
        &roots,
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(err, SnpError::UnrecognisedCaCertificate { .. }),
        "{err:?}"
    );
}

#[test]
fn real_vcek_bundle_verifies_like_vcek_plus_chain() {
    let (Some(report), Some(vcek), Some(chain)) = (
        vector("snp/virtee_report_milan.hex"),
        vector("snp/virtee_vcek_milan.der"),
        vector("snp/virtee_cert_chain_milan"),
    ) else {
        return;
    };
    let roots = TrustRoots::amd();
    let expected = verify(
        &report,
        &vcek,
        Some(&chain),
        &roots,
        &Policy::default(),
        at(T_2025),
    )
    .unwrap();
    // PEM bundle and concatenated DER bundle.
    let mut pem_bundle = pem(&vcek).into_bytes();
    pem_bundle.extend_from_slice(&chain);
    let mut der_bundle = vcek.clone();
    for c in crate::certs::decode_cert_stack(&chain, CertRole::Ca).unwrap() {
        der_bundle.extend(c.der_for_test());
    }
    for bundle in [pem_bundle, der_bundle] {
        for ca in [None, Some(chain.as_slice())] {
            let got = verify(&report, &bundle, ca, &roots, &Policy::default(), at(T_2025))
                .expect("bundle verifies");
            assert_eq!(got, expected);
        }
    }
    // A bundle whose first certificate is not a VCEK/VLEK names the product check.
    let mut wrong = chain.clone();
    wrong.extend(pem(&vcek).into_bytes());
    let err = verify(
        &report,
        &wrong,
        None,
        &roots,
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert_eq!(err.check(), "product", "{err}");
}
