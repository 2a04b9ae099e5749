//! Real AMD-signed vectors: exact verdicts and claims of the vectors README,
//! and single-check failures that real data can isolate.

use super::{T_2025, T_2026_03, at, vector};
use crate::*;

struct Case {
    report: Vec<u8>,
    vcek: Vec<u8>,
    chain: Option<Vec<u8>>,
}

fn virtee() -> Option<Case> {
    Some(Case {
        report: vector("snp/virtee_report_milan.hex")?,
        vcek: vector("snp/virtee_vcek_milan.der")?,
        chain: Some(vector("snp/virtee_cert_chain_milan")?),
    })
}

fn gosev() -> Option<Case> {
    Some(Case {
        report: vector("snp/gosev_attestation.bin")?,
        vcek: vector("snp/gosev_vcek.testcer")?,
        chain: Some(vector("snp/gosev_milan.testcer")?),
    })
}

fn lunal() -> Option<Case> {
    Some(Case {
        report: vector("snp/lunal_live-report-v5-genoa.bin")?,
        vcek: vector("snp/lunal_live-vcek-genoa.der")?,
        chain: None,
    })
}

impl Case {
    fn verify(&self, policy: &Policy, t: u64) -> Result<VerifiedSnpReport, SnpError> {
        verify(
            &self.report,
            &self.vcek,
            self.chain.as_deref(),
            &TrustRoots::amd(),
            policy,
            at(t),
        )
    }
}

#[test]
fn virtee_milan_report_is_valid_with_exact_claims() {
    let Some(c) = virtee() else { return };
    let v = c
        .verify(&Policy::default(), T_2025)
        .expect("virtee report verifies");
    assert_eq!(v.product, Product::Milan);
    assert_eq!(v.signer, SignerKind::Vcek);
    assert_eq!(v.trust_root, TrustRootKind::Amd);
    let r = &v.report;
    assert_eq!(r.version, 2);
    assert_eq!(r.policy.raw, 0x30000);
    assert!(r.policy.smt_allowed && !r.policy.debug_allowed && !r.policy.migrate_ma_allowed);
    assert_eq!(r.vmpl, 0);
    assert_eq!(r.signature_algorithm, 1);
    assert_eq!(
        hex::encode(r.measurement),
        "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
    );
    assert_eq!(
        hex::encode(r.report_data),
        "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd"
    );
    assert_eq!(r.host_data, [0u8; 32]);
    assert_eq!(hex::encode(r.reported_tcb.raw), "0300000000000873");
    assert_eq!(
        (
            r.reported_tcb.bootloader,
            r.reported_tcb.tee,
            r.reported_tcb.snp,
            r.reported_tcb.microcode
        ),
        (3, 0, 8, 0x73)
    );
    assert_eq!(r.reported_tcb.fmc, None);
    assert_eq!(
        hex::encode(r.chip_id),
        "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6"
    );
    assert_eq!(v.certificates.vek.hw_id.as_deref(), Some(&r.chip_id[..]));
    assert_eq!(
        v.certificates.validity[0].not_before,
        "2023-04-03T19:23:43Z"
    );
    assert_eq!(v.certificates.validity[0].not_after, "2030-04-03T19:23:43Z");
    assert_eq!(v.certificates.vek.product_name.as_deref(), Some("Milan-B0"));
    assert_eq!(r.cpuid, None);
    assert_eq!(r.tcb_layout, TcbLayout::MilanGenoa);
    // The same verdict with the embedded ASK (no chain supplied).
    let no_chain = verify(
        &c.report,
        &c.vcek,
        None,
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2025),
    )
    .expect("embedded ASK");
    assert_eq!(no_chain.certificates.intermediate_source, "embedded");
    assert_eq!(no_chain.report, v.report);
}

#[test]
fn virtee_claims_serialize_to_json() {
    let Some(c) = virtee() else { return };
    let v = c.verify(&Policy::default(), T_2025).unwrap();
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["product"], "Milan");
    assert_eq!(json["signer"], "VCEK");
    assert_eq!(json["trust_root"], "amd (embedded)");
    assert_eq!(json["policy"]["raw"], "0x0000000000030000");
    assert_eq!(json["reported_tcb"]["snp"], 8);
    assert_eq!(json["measurement"].as_str().unwrap().len(), 96);
    assert_eq!(json["certificates"]["vek"]["kind"], "VCEK");
}

#[test]
fn gosev_debug_guest_rejected_by_production_policy_and_valid_with_allow_debug() {
    let Some(c) = gosev() else { return };
    let err = c.verify(&Policy::default(), T_2025).unwrap_err();
    assert_eq!(err, SnpError::DebugNotAllowed { policy: 0xb0000 });
    assert_eq!(err.check(), "debug_policy");

    let dev = Policy {
        allow_debug: true,
        ..Policy::default()
    };
    let v = c.verify(&dev, T_2025).expect("valid with allow_debug");
    let r = &v.report;
    assert_eq!(r.version, 2);
    assert_eq!(r.policy.raw, 0xb0000);
    assert!(r.policy.debug_allowed);
    assert_eq!(hex::encode(r.reported_tcb.raw), "0200000000000544");
    let mut rd = [0u8; 64];
    rd[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
    assert_eq!(r.report_data, rd);
    assert_eq!(
        hex::encode(r.measurement),
        "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
    );
    assert_eq!(
        hex::encode(r.chip_id),
        "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"
    );
}

#[test]
fn lunal_v5_genoa_report_is_valid_with_exact_claims() {
    let Some(c) = lunal() else { return };
    let v = c
        .verify(&Policy::default(), T_2026_03)
        .expect("lunal v5 verifies");
    assert_eq!(v.product, Product::Genoa);
    let r = &v.report;
    assert_eq!(r.version, 5);
    assert_eq!(r.policy.raw, 0x30000);
    assert_eq!(
        r.cpuid,
        Some(CpuidClaims {
            family: 0x19,
            model: 0xa0,
            stepping: 0x02
        })
    );
    assert_eq!(hex::encode(r.reported_tcb.raw), "0a00000000001b1b");
    assert_eq!(
        (
            r.reported_tcb.bootloader,
            r.reported_tcb.snp,
            r.reported_tcb.microcode
        ),
        (0x0a, 0x1b, 0x1b)
    );
    let mut rd = [0u8; 64];
    rd[..17].copy_from_slice(b"hello-attestation");
    assert_eq!(r.report_data, rd);
    assert_eq!(
        hex::encode(r.measurement),
        "d9912ba396ce409c2947841d93a5076b6839b898c22b4aae05edb3b2b058a99927f8cf9a4f8617ee695deb14795496c8"
    );
    assert_eq!(
        hex::encode(r.chip_id),
        "b5f9a4c8280e63c97d288db6648577dc2b848884aa682d7a227ba40e50deb2b0d112b599d87aaccda78d06f4254b1e81c4d953ef3c699db39d4e06013e9fa4ce"
    );
    assert!(r.launch_mit_vector.is_some() && r.current_mit_vector.is_some());
    assert_eq!(
        v.certificates.validity[0].not_before,
        "2026-02-17T23:01:36Z"
    );
    // With the Genoa chain given explicitly from the embedded PEMs.
    let chain = [
        sev::certs::snp::builtin::genoa::ASK,
        sev::certs::snp::builtin::genoa::ARK,
    ]
    .concat();
    verify(
        &c.report,
        &c.vcek,
        Some(&chain),
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2026_03),
    )
    .expect("explicit Genoa chain");
}

#[test]
fn lunal_before_vcek_not_before_is_not_yet_valid() {
    let Some(c) = lunal() else { return };
    // 2026-02-17T00:00:00Z, before the VCEK's notBefore 23:01:36.
    let err = c.verify(&Policy::default(), 1_771_286_400).unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::CertificateNotYetValid {
                role: CertRole::Vcek,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.check(), "cert_validity");
}

#[test]
fn wrong_product_root_is_a_chain_error() {
    let Some(c) = virtee() else { return };
    let genoa = [
        sev::certs::snp::builtin::genoa::ASK,
        sev::certs::snp::builtin::genoa::ARK,
    ]
    .concat();
    let err = verify(
        &c.report,
        &c.vcek,
        Some(&genoa),
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::ChainProductMismatch {
                vek_product: Product::Milan,
                ca_product: Product::Genoa,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.check(), "chain");
    // The Genoa VCEK with the Milan chain, likewise.
    let Some(g) = lunal() else { return };
    let err = verify(
        &g.report,
        &g.vcek,
        c.chain.as_deref(),
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2026_03),
    )
    .unwrap_err();
    assert!(
        matches!(err, SnpError::ChainProductMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn trust_roots_without_the_product_reject_the_chain() {
    let Some(c) = virtee() else { return };
    let genoa_only = TrustRoots::custom(sev::certs::snp::builtin::genoa::ARK).unwrap();
    let err = verify(
        &c.report,
        &c.vcek,
        c.chain.as_deref(),
        &genoa_only,
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
    // A custom root that is AMD's own Milan ARK verifies, and says it is custom.
    let milan = TrustRoots::custom(sev::certs::snp::builtin::milan::ARK).unwrap();
    let v = verify(
        &c.report,
        &c.vcek,
        c.chain.as_deref(),
        &milan,
        &Policy::default(),
        at(T_2025),
    )
    .unwrap();
    assert_eq!(v.trust_root, TrustRootKind::Custom);
    // ...but without an ASK in the custom roots a chain-less VCEK cannot be verified.
    let err = verify(
        &c.report,
        &c.vcek,
        None,
        &milan,
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::MissingCaCertificate {
                role: CertRole::Ask,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn expired_vcek_is_rejected() {
    let Some(c) = virtee() else { return };
    // 2031-01-01, after the VCEK's notAfter 2030-04-03.
    let err = c.verify(&Policy::default(), 1_924_992_000).unwrap_err();
    assert!(
        matches!(err, SnpError::CertificateExpired { role: CertRole::Vcek, ref not_after, .. } if not_after == "2030-04-03T19:23:43Z"),
        "{err:?}"
    );
    assert_eq!(err.check(), "cert_validity");
}

#[test]
fn not_yet_valid_vcek_is_rejected() {
    let Some(c) = virtee() else { return };
    // 2023-01-01: ARK/ASK valid (2020..), VCEK not before 2023-04-03.
    let err = c.verify(&Policy::default(), 1_672_531_200).unwrap_err();
    assert!(
        matches!(
            err,
            SnpError::CertificateNotYetValid {
                role: CertRole::Vcek,
                ..
            }
        ),
        "{err:?}"
    );
    // 2019: the ARK itself is not yet valid; the VCEK is reported first.
    let err = c.verify(&Policy::default(), 1_546_300_800).unwrap_err();
    assert_eq!(err.check(), "cert_validity");
}

#[test]
fn tcb_below_minimum_is_rejected_per_component() {
    let Some(c) = virtee() else { return };
    let at_min = Policy {
        min_tcb: MinTcb {
            bootloader: 3,
            tee: 0,
            snp: 8,
            microcode: 0x73,
            fmc: 0,
        },
        ..Policy::default()
    };
    c.verify(&at_min, T_2025)
        .expect("equal to the minimum passes");
    for (min, component, actual) in [
        (
            MinTcb {
                snp: 9,
                ..MinTcb::default()
            },
            TcbComponent::Snp,
            8,
        ),
        (
            MinTcb {
                bootloader: 4,
                ..MinTcb::default()
            },
            TcbComponent::Bootloader,
            3,
        ),
        (
            MinTcb {
                tee: 1,
                ..MinTcb::default()
            },
            TcbComponent::Tee,
            0,
        ),
        (
            MinTcb {
                microcode: 0x74,
                ..MinTcb::default()
            },
            TcbComponent::Microcode,
            0x73,
        ),
    ] {
        let p = Policy {
            min_tcb: min,
            ..Policy::default()
        };
        let err = c.verify(&p, T_2025).unwrap_err();
        assert_eq!(
            err,
            SnpError::TcbBelowMinimum {
                component,
                actual,
                minimum: min_of(&min, component)
            }
        );
        assert_eq!(err.check(), "min_tcb");
    }
    // FMC applies to Turin only: ignored for Milan.
    let p = Policy {
        min_tcb: MinTcb {
            fmc: 9,
            ..MinTcb::default()
        },
        ..Policy::default()
    };
    c.verify(&p, T_2025)
        .expect("fmc minimum does not apply to Milan");
}

fn min_of(m: &MinTcb, c: TcbComponent) -> u8 {
    match c {
        TcbComponent::Bootloader => m.bootloader,
        TcbComponent::Tee => m.tee,
        TcbComponent::Snp => m.snp,
        TcbComponent::Microcode => m.microcode,
        TcbComponent::Fmc => m.fmc,
    }
}

#[test]
fn wrong_expected_values_are_rejected_each_with_its_check() {
    let Some(c) = virtee() else { return };
    let good = c.verify(&Policy::default(), T_2025).unwrap().report;
    let expect_ok = Policy {
        measurements: vec![[0u8; 48], good.measurement],
        report_data: Some(good.report_data),
        host_data: Some(good.host_data),
        ..Policy::default()
    };
    c.verify(&expect_ok, T_2025)
        .expect("matching expectations pass");

    let mut m = good.measurement;
    m[47] ^= 1;
    let err = c
        .verify(
            &Policy {
                measurements: vec![m],
                ..Policy::default()
            },
            T_2025,
        )
        .unwrap_err();
    assert!(matches!(err, SnpError::MeasurementMismatch { .. }));
    assert_eq!(err.check(), "measurement");

    let mut rd = good.report_data;
    rd[0] ^= 0x80;
    let err = c
        .verify(
            &Policy {
                report_data: Some(rd),
                ..Policy::default()
            },
            T_2025,
        )
        .unwrap_err();
    assert!(matches!(err, SnpError::ReportDataMismatch { .. }));
    assert_eq!(err.check(), "report_data");

    let err = c
        .verify(
            &Policy {
                host_data: Some([1u8; 32]),
                ..Policy::default()
            },
            T_2025,
        )
        .unwrap_err();
    assert!(matches!(err, SnpError::HostDataMismatch { .. }));
    assert_eq!(err.check(), "host_data");
}

#[test]
fn guest_policy_and_platform_checks_with_real_data() {
    let Some(c) = virtee() else { return };
    let cases: [(Policy, &str); 5] = [
        (
            Policy {
                allow_smt: false,
                ..Policy::default()
            },
            "smt_policy",
        ),
        (
            Policy {
                require_single_socket: true,
                ..Policy::default()
            },
            "single_socket_policy",
        ),
        (
            Policy {
                min_abi_major: 1,
                ..Policy::default()
            },
            "abi_version",
        ),
        (
            Policy {
                allowed_report_versions: vec![3, 5],
                ..Policy::default()
            },
            "report_version",
        ),
        (
            Policy {
                allowed_products: vec![Product::Genoa],
                ..Policy::default()
            },
            "product",
        ),
    ];
    for (policy, check) in cases {
        let err = c.verify(&policy, T_2025).unwrap_err();
        assert_eq!(err.check(), check, "{err}");
    }
}

#[test]
fn flipping_any_bit_of_the_signed_region_is_rejected() {
    for (name, case, t) in [("virtee", virtee(), T_2025), ("lunal", lunal(), T_2026_03)] {
        let Some(c) = case else { return };
        let chain = VerifiedChain::new(&c.vcek, c.chain.as_deref(), &TrustRoots::amd()).unwrap();
        let dev = Policy {
            allow_debug: true,
            ..Policy::default()
        };
        chain
            .verify_report(&c.report, &dev, at(t))
            .expect("untampered verifies");
        let mut checks = std::collections::BTreeMap::<&str, usize>::new();
        for offset in 0..SIGNED_LEN {
            for bit in 0..8 {
                let mut r = c.report.clone();
                r[offset] ^= 1 << bit;
                match chain.verify_report(&r, &dev, at(t)) {
                    Ok(_) => {
                        panic!("{name}: flipping bit {bit} of byte 0x{offset:03x} was accepted")
                    }
                    Err(e) => {
                        assert!(
                            matches!(e.check(), "signature" | "parse"),
                            "{name}: byte 0x{offset:03x} bit {bit}: {e}"
                        );
                        *checks.entry(e.check()).or_default() += 1;
                    }
                }
            }
        }
        // Only the reserved (must-be-zero) ranges and the version may fail parsing.
        assert!(checks["signature"] > 3500, "{name}: {checks:?}");
        assert!(
            checks.get("parse").copied().unwrap_or(0) < 1700,
            "{name}: {checks:?}"
        );
        // The signature itself and the unsigned tail: also never accepted.
        for offset in (SIGNED_LEN..REPORT_LEN).step_by(7) {
            let mut r = c.report.clone();
            r[offset] ^= 0x01;
            assert!(
                chain.verify_report(&r, &dev, at(t)).is_err(),
                "{name}: 0x{offset:03x}"
            );
        }
    }
}

#[test]
fn report_data_bit_flip_is_a_signature_failure() {
    let Some(c) = virtee() else { return };
    let mut r = c.report.clone();
    r[0x50] ^= 0x01;
    let err = verify(
        &r,
        &c.vcek,
        c.chain.as_deref(),
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert_eq!(
        err,
        SnpError::SignatureInvalid {
            role: CertRole::Vcek
        }
    );
}

#[test]
fn another_chips_vcek_does_not_verify_the_report() {
    let (Some(v), Some(g)) = (virtee(), gosev()) else {
        return;
    };
    let err = verify(
        &v.report,
        &g.vcek,
        None,
        &TrustRoots::amd(),
        &Policy::default(),
        at(T_2025),
    )
    .unwrap_err();
    assert_eq!(err.check(), "signature");
}

#[test]
fn embedded_roots_parse_and_match_vectors() {
    let roots = TrustRoots::amd();
    roots
        .verify_all()
        .expect("embedded ARKs are self-signed and sign their ASKs");
    assert_eq!(roots.products(), Product::ALL.to_vec());
    assert_eq!(roots.kind(), TrustRootKind::Amd);
    use sev::certs::snp::builtin::{genoa, milan, turin};
    for (file, embedded) in [
        ("snp/amd_ca/milan_ark.pem", milan::ARK),
        ("snp/amd_ca/milan_ask.pem", milan::ASK),
        ("snp/amd_ca/genoa_ark.pem", genoa::ARK),
        ("snp/amd_ca/genoa_ask.pem", genoa::ASK),
        ("snp/amd_ca/turin_ark.pem", turin::ARK),
        ("snp/amd_ca/turin_ask.pem", turin::ASK),
    ] {
        let Some(v) = vector(file) else { return };
        let a = crate::certs::decode_cert(&v, CertRole::Ca).unwrap();
        let b = crate::certs::decode_cert(embedded, CertRole::Ca).unwrap();
        assert!(
            a.same_der(&b),
            "{file} differs from the embedded certificate"
        );
    }
}

#[test]
fn real_turin_vcek_chains_to_the_embedded_turin_root() {
    let (Some(vcek), Some(chain)) = (
        vector("snp/virtee_vcek_turin.der"),
        vector("snp/virtee_cert_chain_turin"),
    ) else {
        return;
    };
    for ca in [Some(chain.as_slice()), None] {
        let c = VerifiedChain::new(&vcek, ca, &TrustRoots::amd()).expect("Turin chain");
        assert_eq!(c.product(), Product::Turin);
        assert_eq!(c.claims().vek.hw_id.as_ref().map(Vec::len), Some(8));
        assert_eq!(c.claims().vek.tcb.fmc, Some(0));
        assert_eq!(c.claims().vek.tcb.microcode, Some(9));
    }
}

#[test]
fn vlek_needs_its_asvk_and_a_real_asvk_is_recognised() {
    // The real ASVK (SEV-VLEK-Milan) next to a Milan VCEK is not part of the
    // VCEK's chain: it is ignored and the embedded ASK is used.
    let (Some(c), Some(asvk_chain)) = (virtee(), vector("snp/gosev_milanvlek.testcer")) else {
        return;
    };
    let chain = VerifiedChain::new(&c.vcek, Some(&asvk_chain), &TrustRoots::amd()).unwrap();
    assert_eq!(chain.claims().intermediate_source, "embedded");
}

#[test]
fn cached_chain_and_full_verification_agree() {
    let Some(c) = virtee() else { return };
    let chain = VerifiedChain::new(&c.vcek, c.chain.as_deref(), &TrustRoots::amd()).unwrap();
    let a = chain
        .verify_report(&c.report, &Policy::default(), at(T_2025))
        .unwrap();
    let b = c.verify(&Policy::default(), T_2025).unwrap();
    assert_eq!(a, b);
    // The cached chain still checks validity at each time.
    assert_eq!(
        chain
            .verify_report(&c.report, &Policy::default(), at(1_924_992_000))
            .unwrap_err()
            .check(),
        "cert_validity"
    );
}

#[test]
fn sev_crate_bare_verification_agrees_on_the_vectors() {
    // Cross-check: the sev crate's own Verifiable accepts the same inputs.
    use sev::certs::snp::{Certificate, Chain, Verifiable, ca};
    use sev::parser::ByteParser;
    let Some(c) = virtee() else { return };
    let report = sev::firmware::guest::AttestationReport::from_bytes(&c.report).unwrap();
    let chain = Chain {
        ca: ca::Chain {
            ark: sev::certs::snp::builtin::milan::ark().unwrap(),
            ask: sev::certs::snp::builtin::milan::ask().unwrap(),
        },
        vek: Certificate::from_der(&c.vcek).unwrap(),
    };
    (&chain, &report).verify().expect("sev verifies");
}
