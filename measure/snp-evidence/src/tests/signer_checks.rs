//! Single-check failures that real AMD-signed data cannot isolate, with the
//! test key chain (`crate::test_signer`): each report is validly signed and
//! differs from an accepted one in exactly the property under test.

use std::sync::OnceLock;

use super::{T_2025, at};
use crate::test_signer::{ReportSpec, TestCa, TestVek, VekSpec, Y2000, Y2099};
use crate::*;

const TCB: [u8; 5] = [3, 0, 8, 0x73, 0];

struct Fixture {
    ca: TestCa,
    vek: TestVek,
    spec: ReportSpec,
}

fn fixture(product: Product, kind: SignerKind) -> &'static Fixture {
    static CELLS: OnceLock<Vec<(Product, SignerKind, Fixture)>> = OnceLock::new();
    let all = CELLS.get_or_init(|| {
        let mut v = Vec::new();
        for (i, (p, k)) in [
            (Product::Milan, SignerKind::Vcek),
            (Product::Turin, SignerKind::Vcek),
            (Product::Genoa, SignerKind::Vlek),
        ]
        .into_iter()
        .enumerate()
        {
            let ca = TestCa::new(p, k, 100 + i as u64);
            let mut spec = ReportSpec::new(p, TCB);
            let mut vspec = VekSpec::vcek(p, &spec.chip_id, TCB);
            if k == SignerKind::Vlek {
                vspec.hw_id = None;
                spec.key_info = 1 << 2;
            }
            let vek = ca.issue(&vspec);
            v.push((p, k, Fixture { ca, vek, spec }));
        }
        v
    });
    &all.iter()
        .find(|(p, k, _)| *p == product && *k == kind)
        .expect("fixture exists")
        .2
}

fn milan() -> &'static Fixture {
    fixture(Product::Milan, SignerKind::Vcek)
}

impl Fixture {
    fn check(&self, spec: &ReportSpec, policy: &Policy) -> Result<VerifiedSnpReport, SnpError> {
        self.check_with(spec, &self.vek, policy)
    }

    fn check_with(
        &self,
        spec: &ReportSpec,
        vek: &TestVek,
        policy: &Policy,
    ) -> Result<VerifiedSnpReport, SnpError> {
        let report = spec.signed_by(vek);
        let chain = self.ca.chain_pem();
        verify(
            &report,
            &vek.cert_der,
            Some(chain.as_bytes()),
            &self.ca.trust_roots(),
            policy,
            at(T_2025),
        )
    }
}

fn rejects(result: Result<VerifiedSnpReport, SnpError>, check: &str) -> SnpError {
    let err = result.expect_err("must be rejected");
    assert_eq!(err.check(), check, "{err}");
    err
}

#[test]
fn test_chains_verify_for_each_product_and_kind() {
    for (p, k) in [
        (Product::Milan, SignerKind::Vcek),
        (Product::Turin, SignerKind::Vcek),
        (Product::Genoa, SignerKind::Vlek),
    ] {
        let f = fixture(p, k);
        let v = f
            .check(&f.spec, &Policy::default())
            .unwrap_or_else(|e| panic!("{p} {k:?}: {e}"));
        assert_eq!(
            (v.product, v.signer, v.trust_root),
            (p, k, TrustRootKind::Custom)
        );
        assert_eq!(v.report.measurement, f.spec.measurement);
    }
    let turin = fixture(Product::Turin, SignerKind::Vcek);
    let v = turin.check(&turin.spec, &Policy::default()).unwrap();
    assert_eq!(v.report.reported_tcb.fmc, Some(0));
    assert_eq!(v.report.tcb_layout, TcbLayout::Turin);
}

#[test]
fn test_chain_is_not_trusted_by_the_amd_roots() {
    let f = milan();
    let report = f.spec.signed_by(&f.vek);
    let chain = f.ca.chain_pem();
    let err = verify(
        &report,
        &f.vek.cert_der,
        Some(chain.as_bytes()),
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::UntrustedRoot {
                product: Product::Milan,
                ..
            }
        ),
        "{err:?}"
    );
    // Without a chain, the embedded AMD ASK is not the test VCEK's issuer.
    let err = verify(
        &report,
        &f.vek.cert_der,
        None,
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert_eq!(err.check(), "chain", "{err}");
}

#[test]
fn chip_id_mismatch() {
    let f = milan();
    let mut spec = f.spec.clone();
    spec.chip_id[63] ^= 1;
    let err = rejects(f.check(&spec, &Policy::default()), "chip_id");
    assert!(matches!(err, SnpError::ChipIdMismatch { .. }));
    // Turin compares the first 8 bytes (the VCEK's 8-byte hwID).
    let t = fixture(Product::Turin, SignerKind::Vcek);
    let mut spec = t.spec.clone();
    spec.chip_id[7] ^= 1;
    spec.chip_id[8] = 0;
    rejects(t.check(&spec, &Policy::default()), "chip_id");
}

#[test]
fn missing_hwid_extension_fails_chip_id() {
    let f = milan();
    let mut vspec = VekSpec::vcek(Product::Milan, &f.spec.chip_id, TCB);
    vspec.hw_id = None;
    let vek = f.ca.issue(&vspec);
    let err = rejects(f.check_with(&f.spec, &vek, &Policy::default()), "chip_id");
    assert!(matches!(
        err,
        SnpError::CertificateExtension { name: "hwID", .. }
    ));
}

#[test]
fn reported_tcb_differs_from_cert_tcb() {
    let f = milan();
    for (i, component) in [
        TcbComponent::Bootloader,
        TcbComponent::Tee,
        TcbComponent::Snp,
        TcbComponent::Microcode,
    ]
    .into_iter()
    .enumerate()
    {
        let mut tcb = TCB;
        tcb[i] = tcb[i].wrapping_add(1);
        let vek =
            f.ca.issue(&VekSpec::vcek(Product::Milan, &f.spec.chip_id, tcb));
        let err = rejects(
            f.check_with(&f.spec, &vek, &Policy::default()),
            "reported_tcb_matches_cert",
        );
        assert!(
            matches!(err, SnpError::ReportedTcbMismatch { component: c, .. } if c == component),
            "{err:?}"
        );
    }
    // Turin: the FMC component too.
    let t = fixture(Product::Turin, SignerKind::Vcek);
    let mut tcb = TCB;
    tcb[4] = 1;
    let vek =
        t.ca.issue(&VekSpec::vcek(Product::Turin, &t.spec.chip_id, tcb));
    let err = rejects(
        t.check_with(&t.spec, &vek, &Policy::default()),
        "reported_tcb_matches_cert",
    );
    assert!(matches!(
        err,
        SnpError::ReportedTcbMismatch {
            component: TcbComponent::Fmc,
            ..
        }
    ));
    // A missing TCB extension is also this check's failure.
    let mut vspec = VekSpec::vcek(Product::Milan, &f.spec.chip_id, TCB);
    vspec.tcb[2] = None;
    let vek = f.ca.issue(&vspec);
    let err = rejects(
        f.check_with(&f.spec, &vek, &Policy::default()),
        "reported_tcb_matches_cert",
    );
    assert!(matches!(
        err,
        SnpError::CertificateExtension { name: "snpSPL", .. }
    ));
}

#[test]
fn turin_min_fmc() {
    let t = fixture(Product::Turin, SignerKind::Vcek);
    let p = Policy {
        min_tcb: MinTcb {
            fmc: 1,
            ..MinTcb::default()
        },
        ..Policy::default()
    };
    let err = rejects(t.check(&t.spec, &p), "min_tcb");
    assert!(matches!(
        err,
        SnpError::TcbBelowMinimum {
            component: TcbComponent::Fmc,
            ..
        }
    ));
}

#[test]
fn vmpl_above_maximum() {
    let f = milan();
    let mut spec = f.spec.clone();
    spec.vmpl = 1;
    let err = rejects(f.check(&spec, &Policy::default()), "vmpl");
    assert_eq!(err, SnpError::VmplTooHigh { vmpl: 1, max: 0 });
    f.check(
        &spec,
        &Policy {
            max_vmpl: 1,
            ..Policy::default()
        },
    )
    .expect("allowed at max_vmpl 1");
}

#[test]
fn smt_migration_agent_debug_and_abi() {
    let f = milan();
    let mut spec = f.spec.clone();
    spec.policy = 0x20000; // SMT off
    f.check(
        &spec,
        &Policy {
            allow_smt: false,
            ..Policy::default()
        },
    )
    .expect("SMT off passes");
    spec.policy = 0x30000;
    rejects(
        f.check(
            &spec,
            &Policy {
                allow_smt: false,
                ..Policy::default()
            },
        ),
        "smt_policy",
    );

    spec.policy = 0x30000 | 1 << 18;
    let err = rejects(f.check(&spec, &Policy::default()), "migration_agent_policy");
    assert!(matches!(err, SnpError::MigrationAgentNotAllowed { .. }));
    f.check(
        &spec,
        &Policy {
            allow_migration_agent: true,
            ..Policy::default()
        },
    )
    .expect("allowed");

    spec.policy = 0x30000 | 1 << 19;
    rejects(f.check(&spec, &Policy::default()), "debug_policy");

    spec.policy = 0x30000 | 0x0137; // ABI 1.55
    f.check(
        &spec,
        &Policy {
            min_abi_major: 1,
            min_abi_minor: 55,
            ..Policy::default()
        },
    )
    .expect("1.55 >= 1.55");
    let err = rejects(
        f.check(
            &spec,
            &Policy {
                min_abi_major: 1,
                min_abi_minor: 56,
                ..Policy::default()
            },
        ),
        "abi_version",
    );
    assert_eq!(
        err,
        SnpError::AbiVersionTooLow {
            major: 1,
            minor: 55,
            min_major: 1,
            min_minor: 56
        }
    );

    spec.policy = 0x30000 | 1 << 20;
    f.check(
        &spec,
        &Policy {
            require_single_socket: true,
            ..Policy::default()
        },
    )
    .expect("single socket");
}

#[test]
fn signer_kind_and_vlek_policy() {
    let f = milan();
    let mut spec = f.spec.clone();
    spec.key_info = 1 << 2; // says VLEK, signed by a VCEK
    let err = rejects(f.check(&spec, &Policy::default()), "signer_kind");
    assert!(matches!(
        err,
        SnpError::SignerKindMismatch {
            cert: CertRole::Vcek,
            ..
        }
    ));

    let v = fixture(Product::Genoa, SignerKind::Vlek);
    let err = rejects(
        v.check(
            &v.spec,
            &Policy {
                allow_vlek: false,
                ..Policy::default()
            },
        ),
        "signer_kind",
    );
    assert_eq!(err, SnpError::VlekNotAllowed);
    // A VLEK chain without its ASVK cannot be verified.
    let report = v.spec.signed_by(&v.vek);
    let err = verify(
        &report,
        &v.vek.cert_der,
        Some(v.ca.ark_pem().as_bytes()),
        &v.ca.trust_roots(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::MissingCaCertificate {
                role: CertRole::Asvk,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn report_product_must_match_certificate_product() {
    // A Genoa-CPUID v3 report signed by a Milan VCEK.
    let f = milan();
    let mut spec = f.spec.clone();
    spec.version = 3;
    spec.cpuid = (0x19, 0x11, 1);
    let err = rejects(f.check(&spec, &Policy::default()), "product");
    assert!(
        matches!(
            err,
            SnpError::ReportProductMismatch {
                cert: Product::Milan,
                ..
            }
        ),
        "{err:?}"
    );
    spec.cpuid = (0x19, 0x01, 1);
    f.check(&spec, &Policy::default())
        .expect("v3 Milan CPUID passes");
}

#[test]
fn signature_algorithm_and_malformed_signatures() {
    let f = milan();
    let mut spec = f.spec.clone();
    spec.sig_algo = 2;
    let err = rejects(f.check(&spec, &Policy::default()), "signature");
    assert_eq!(err, SnpError::SignatureAlgorithm(2));

    let chain = VerifiedChain::new(
        &f.vek.cert_der,
        Some(f.ca.chain_pem().as_bytes()),
        &f.ca.trust_roots(),
    )
    .unwrap();
    let good = f.spec.signed_by(&f.vek);
    // Non-zero byte above the 48 used bytes of R.
    let mut r = good;
    r[0x2A0 + 50] = 1;
    assert!(matches!(
        chain.verify_report(&r, &Policy::default(), at(T_2025)),
        Err(SnpError::SignatureMalformed(_))
    ));
    // Zero R.
    let mut r = good;
    r[0x2A0..0x2E8].fill(0);
    assert!(matches!(
        chain.verify_report(&r, &Policy::default(), at(T_2025)),
        Err(SnpError::SignatureMalformed(_))
    ));
    // Masked (all-zero) signature.
    let mut r = good;
    r[0x2A0..0x330].fill(0);
    assert_eq!(
        chain
            .verify_report(&r, &Policy::default(), at(T_2025))
            .unwrap_err()
            .check(),
        "signature"
    );
}

#[test]
fn chain_signature_and_intermediate_validity() {
    let f = milan();
    // Same names, other keys: the other CA's ASK does not sign our VCEK.
    let other = TestCa::new(Product::Milan, SignerKind::Vcek, 999);
    let report = f.spec.signed_by(&f.vek);
    let err = verify(
        &report,
        &f.vek.cert_der,
        Some(other.chain_pem().as_bytes()),
        &other.trust_roots(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::ChainSignature {
                signer: CertRole::Ask,
                signee: CertRole::Vcek,
                ..
            }
        ),
        "{err:?}"
    );
    // Our ASK with the other ARK pinned: untrusted root.
    let mixed = format!("{}{}", f.ca.intermediate_pem(), other.ark_pem());
    let err = verify(
        &report,
        &f.vek.cert_der,
        Some(mixed.as_bytes()),
        &f.ca.trust_roots(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(matches!(err, SnpError::UntrustedRoot { .. }), "{err:?}");
    // Our ASK given, the other ARK trusted (not supplied): ARK does not sign ASK.
    let err = verify(
        &report,
        &f.vek.cert_der,
        Some(f.ca.intermediate_pem().as_bytes()),
        &other.trust_roots(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::ChainSignature {
                signer: CertRole::Ark,
                signee: CertRole::Ask,
                ..
            }
        ),
        "{err:?}"
    );
    // An expired ASK (re-issued by the same ARK).
    let expired_ask = f.ca.intermediate_pem_with_validity(Y2000, T_2025 - 1);
    let chain = format!("{}{}", expired_ask, f.ca.ark_pem());
    let err = verify(
        &report,
        &f.vek.cert_der,
        Some(chain.as_bytes()),
        &f.ca.trust_roots(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::CertificateExpired {
                role: CertRole::Ask,
                ..
            }
        ),
        "{err:?}"
    );
    // A VCEK valid only from 2099 on.
    let mut vspec = VekSpec::vcek(Product::Milan, &f.spec.chip_id, TCB);
    vspec.not_before = Y2099 - 10;
    let vek = f.ca.issue(&vspec);
    let err = rejects(
        f.check_with(&f.spec, &vek, &Policy::default()),
        "cert_validity",
    );
    assert!(matches!(
        err,
        SnpError::CertificateNotYetValid {
            role: CertRole::Vcek,
            ..
        }
    ));
}

#[test]
fn custom_roots_reject_bad_input() {
    assert_eq!(TrustRoots::custom(b"").unwrap_err().check(), "parse");
    assert_eq!(TrustRoots::custom(b"\n\n").unwrap_err().check(), "parse");
    let f = milan();
    // An ARK that is not self-signed (its signature corrupted).
    let other = TestCa::new(Product::Milan, SignerKind::Vcek, 999);
    let mut ark = crate::certs::decode_cert_stack(f.ca.ark_pem().as_bytes(), CertRole::Ark)
        .unwrap()[0]
        .der_for_test();
    let last = ark.len() - 1;
    ark[last] ^= 1;
    let err = TrustRoots::custom(&ark).unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::ChainSignature {
                signer: CertRole::Ark,
                signee: CertRole::Ark,
                ..
            }
        ),
        "{err:?}"
    );
    // An ASK that this ARK did not sign.
    let mixed = format!("{}{}", f.ca.ark_pem(), other.intermediate_pem());
    let err = TrustRoots::custom(mixed.as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::ChainSignature {
                signer: CertRole::Ark,
                signee: CertRole::Ask,
                ..
            }
        ),
        "{err:?}"
    );
    // An ASK alone is not a root.
    let err = TrustRoots::custom(f.ca.intermediate_pem().as_bytes()).unwrap_err();
    assert!(
        matches!(err, SnpError::MissingCaCertificate { .. }),
        "{err:?}"
    );
}
