//! Checks that need a validly signed quote with chosen contents, made with the
//! test DCAP chain (`test-signer`): each test makes exactly one check fail.

use aether_tdx_evidence::test_signer::{
    TEST_PCK_SERIAL, TestChain, TestChainOptions, TestCollateral, TestTdReport,
};
use aether_tdx_evidence::{Collateral, HexBytes, Policy, TcbStatus, TrustRootKind, Verifier};
use std::sync::OnceLock;

/// 2026-01-01T00:00:00Z, inside the test collateral's window.
const AT: u64 = 1_767_225_600;

fn chain() -> &'static TestChain {
    static CHAIN: OnceLock<TestChain> = OnceLock::new();
    CHAIN.get_or_init(TestChain::generate)
}

fn verifier() -> Verifier {
    Verifier::with_trust_root(chain().root_der()).expect("test root loads")
}

fn collateral(opts: &TestCollateral) -> Collateral {
    Collateral::from_json(chain().collateral_json(opts).as_bytes()).expect("test collateral parses")
}

fn quote(report: &TestTdReport) -> Vec<u8> {
    chain().quote(report)
}

fn check(quote: &[u8], coll: &Collateral, policy: &Policy) -> &'static str {
    match verifier().verify(quote, coll, AT, policy) {
        Ok(_) => "verified",
        Err(e) => {
            eprintln!("{}: {e}", e.check());
            e.check()
        }
    }
}

#[test]
fn forged_chain_quote_verifies_with_its_root() {
    let q = quote(&TestTdReport::default());
    let coll = collateral(&TestCollateral::default());
    let c = verifier()
        .verify(&q, &coll, AT, &Policy::default())
        .expect("verified");
    assert_eq!(c.tcb_status, TcbStatus::UpToDate);
    assert_eq!(c.trust_root.kind, TrustRootKind::Custom);
    assert_eq!(c.pck.ca, "platform");
    assert_eq!(c.fmspc.to_hex(), "00a06f000000");
    assert_eq!(c.pck.pce_svn, 13);
    assert_eq!(c.td_report.mrtd.0, [0xa1; 48]);
    // PEM input of the root works the same.
    let pem = Verifier::with_trust_root(chain().root_pem().as_bytes()).unwrap();
    assert!(pem.verify(&q, &coll, AT, &Policy::default()).is_ok());
}

#[test]
fn forged_chain_is_rejected_by_the_intel_root() {
    let q = quote(&TestTdReport::default());
    let coll = collateral(&TestCollateral::default());
    let e = Verifier::intel()
        .verify(&q, &coll, AT, &Policy::default())
        .unwrap_err();
    assert_eq!(e.check(), "trust_root", "{e}");
}

#[test]
fn revoked_pck_is_rejected_by_the_crl() {
    let q = quote(&TestTdReport::default());
    let coll = collateral(&TestCollateral {
        revoke_pck: true,
        ..Default::default()
    });
    let e = verifier()
        .verify(&q, &coll, AT, &Policy::default())
        .unwrap_err();
    assert_eq!(e.check(), "pck_crl", "{e}");
    assert!(e.to_string().contains(&hex::encode(TEST_PCK_SERIAL)), "{e}");
}

#[test]
fn debug_td_is_rejected_unless_the_policy_allows_debug() {
    let mut report = TestTdReport::default();
    report.td_attributes[0] = 0x01;
    let q = quote(&report);
    let coll = collateral(&TestCollateral::default());
    assert_eq!(check(&q, &coll, &Policy::default()), "debug_attribute");
    let dev = Policy {
        allow_debug: true,
        ..Policy::default()
    };
    let c = verifier()
        .verify(&q, &coll, AT, &dev)
        .expect("debug allowed by policy");
    assert!(c.td_report.td_attributes.debug);
    // Any other TUD bit is "under debug" too.
    report.td_attributes[0] = 0x20;
    assert_eq!(
        check(&quote(&report), &coll, &Policy::default()),
        "debug_attribute"
    );
}

#[test]
fn tcb_status_and_advisories_follow_the_policy() {
    let q = quote(&TestTdReport::default());
    let coll = collateral(&TestCollateral {
        tcb_status: TcbStatus::SWHardeningNeeded,
        advisory_ids: vec!["INTEL-SA-00615".into(), "INTEL-SA-00657".into()],
        ..Default::default()
    });
    assert_eq!(check(&q, &coll, &Policy::default()), "tcb_status");
    let lenient = Policy {
        accepted_tcb_statuses: vec![TcbStatus::UpToDate, TcbStatus::SWHardeningNeeded],
        ..Policy::default()
    };
    let c = verifier()
        .verify(&q, &coll, AT, &lenient)
        .expect("accepted status");
    assert_eq!(c.tcb_status, TcbStatus::SWHardeningNeeded);
    assert_eq!(c.advisory_ids, ["INTEL-SA-00615", "INTEL-SA-00657"]);
    let deny = Policy {
        denied_advisory_ids: vec!["intel-sa-00657".into()],
        ..lenient
    };
    assert_eq!(check(&q, &coll, &deny), "advisory");
}

#[test]
fn revoked_tcb_is_rejected_whatever_the_policy() {
    let q = quote(&TestTdReport::default());
    let coll = collateral(&TestCollateral {
        tcb_status: TcbStatus::Revoked,
        ..Default::default()
    });
    let anything = Policy {
        accepted_tcb_statuses: vec![TcbStatus::Revoked, TcbStatus::UpToDate],
        ..Policy::default()
    };
    assert_eq!(check(&q, &coll, &anything), "tcb_revoked");
}

#[test]
fn expired_and_future_collateral_are_rejected() {
    let q = quote(&TestTdReport::default());
    let expired = collateral(&TestCollateral {
        next_update: "2025-12-01T00:00:00Z".into(),
        ..Default::default()
    });
    assert_eq!(
        check(&q, &expired, &Policy::default()),
        "collateral_expired"
    );
    // CRLs past their nextUpdate while the TCB info and QE identity are
    // still current: stale collateral too, not a revoked root.
    let stale_crls = collateral(&TestCollateral {
        crl_next_update: (2025, 12, 1),
        ..Default::default()
    });
    assert_eq!(
        check(&q, &stale_crls, &Policy::default()),
        "collateral_expired"
    );
    let future = collateral(&TestCollateral {
        issue_date: "2026-02-01T00:00:00Z".into(),
        ..Default::default()
    });
    assert_eq!(
        check(&q, &future, &Policy::default()),
        "collateral_not_yet_valid"
    );
}

#[test]
fn collateral_for_another_platform_is_rejected() {
    let q = quote(&TestTdReport::default());
    let other = collateral(&TestCollateral {
        fmspc: [0x90, 0xc0, 0x6f, 0, 0, 0],
        ..Default::default()
    });
    assert_eq!(check(&q, &other, &Policy::default()), "fmspc");
}

#[test]
fn measurement_and_identity_expectations() {
    let report = TestTdReport::default();
    let q = quote(&report);
    let coll = collateral(&TestCollateral::default());
    let exact = Policy {
        expected_mrtd: Some(HexBytes(report.mrtd)),
        expected_rtmr0: Some(HexBytes(report.rtmr[0])),
        expected_rtmr3: Some(HexBytes(report.rtmr[3])),
        expected_report_data: Some(HexBytes(report.report_data)),
        expected_mrseam: Some(HexBytes(report.mrseam)),
        expected_mrsignerseam: Some(HexBytes([0; 48])),
        min_tee_tcb_svn: Some(HexBytes(report.tee_tcb_svn)),
        expected_mrowner: Some(HexBytes([0; 48])),
        ..Policy::default()
    };
    assert_eq!(check(&q, &coll, &exact), "verified");
    let cases: [(&str, Policy); 7] = [
        (
            "mrtd",
            Policy {
                expected_mrtd: Some(HexBytes([0xa2; 48])),
                ..exact.clone()
            },
        ),
        (
            "rtmr",
            Policy {
                expected_rtmr2: Some(HexBytes([0; 48])),
                ..exact.clone()
            },
        ),
        (
            "report_data",
            Policy {
                expected_report_data: Some(HexBytes([0; 64])),
                ..exact.clone()
            },
        ),
        (
            "seam_identity",
            Policy {
                expected_mrseam: Some(HexBytes([0; 48])),
                ..exact.clone()
            },
        ),
        (
            "tee_tcb_svn",
            Policy {
                min_tee_tcb_svn: Some(HexBytes([4; 16])),
                ..exact.clone()
            },
        ),
        (
            "td_config",
            Policy {
                expected_mrconfigid: Some(HexBytes([1; 48])),
                ..exact.clone()
            },
        ),
        (
            "quote_version",
            Policy {
                accepted_quote_versions: vec![5],
                ..exact.clone()
            },
        ),
    ];
    for (name, policy) in cases {
        assert_eq!(check(&q, &coll, &policy), name);
    }
}

#[test]
fn td_attributes_no_policy_accepts_are_rejected() {
    let coll = collateral(&TestCollateral::default());
    let dev = Policy {
        allow_debug: true,
        ..Policy::default()
    };
    let migratable = |r: &mut TestTdReport| r.td_attributes[3] |= 0x20;
    let no_sept_ve_disable = |r: &mut TestTdReport| r.td_attributes[3] = 0;
    let reserved_tud_bit = |r: &mut TestTdReport| r.td_attributes[0] |= 0x02;
    let reserved_bit_40 = |r: &mut TestTdReport| r.td_attributes[5] |= 0x01;
    for edit in [
        migratable,
        no_sept_ve_disable,
        reserved_tud_bit,
        reserved_bit_40,
    ] {
        let mut report = TestTdReport::default();
        edit(&mut report);
        let q = quote(&report);
        assert_eq!(check(&q, &coll, &Policy::default()), "td_attributes");
        // Not even a dev policy accepts these.
        assert_eq!(check(&q, &coll, &dev), "td_attributes");
    }
}

#[test]
fn tdx_module_signer_other_than_the_tcb_infos_is_rejected() {
    let report = TestTdReport {
        mrsignerseam: [0x01; 48],
        ..TestTdReport::default()
    };
    let coll = collateral(&TestCollateral::default());
    assert_eq!(
        check(&quote(&report), &coll, &Policy::default()),
        "tdx_module_identity"
    );
}

#[test]
fn qe_identity_mismatch_and_wrong_tee_collateral_are_rejected() {
    let q = quote(&TestTdReport::default());
    let other_qe = collateral(&TestCollateral {
        qe_isvprodid: 1,
        ..Default::default()
    });
    assert_eq!(check(&q, &other_qe, &Policy::default()), "qe_identity");
    let sgx_qe = collateral(&TestCollateral {
        qe_identity_id: "QE".into(),
        ..Default::default()
    });
    assert_eq!(
        check(&q, &sgx_qe, &Policy::default()),
        "collateral_tee_type"
    );
}

#[test]
fn signing_chains_that_do_not_verify_are_named() {
    let q = quote(&TestTdReport::default());
    let json: serde_json::Value =
        serde_json::from_str(&chain().collateral_json(&TestCollateral::default())).unwrap();
    // The PCK CA chain in place of the TCB signing chain: a CA used as end entity.
    for (field, expected) in [
        ("tcb_info_issuer_chain", "tcb_info_chain"),
        ("qe_identity_issuer_chain", "qe_identity_chain"),
    ] {
        let mut j = json.clone();
        j[field] = j["pck_crl_issuer_chain"].clone();
        let coll = Collateral::from_json(j.to_string().as_bytes()).unwrap();
        assert_eq!(check(&q, &coll, &Policy::default()), expected, "{field}");
    }
}

#[test]
fn expired_pck_certificate_and_missing_sgx_extension_are_rejected() {
    let expired = TestChain::generate_with(&TestChainOptions {
        pck_not_after: (2025, 6, 1),
        ..Default::default()
    });
    let v = Verifier::with_trust_root(expired.root_der()).unwrap();
    let coll = Collateral::from_json(
        expired
            .collateral_json(&TestCollateral::default())
            .as_bytes(),
    )
    .unwrap();
    let e = v
        .verify(
            &expired.quote(&TestTdReport::default()),
            &coll,
            AT,
            &Policy::default(),
        )
        .unwrap_err();
    assert_eq!(e.check(), "certificate_expired", "{e}");
    assert!(e.to_string().contains("PCK Certificate"), "{e}");

    let bare = TestChain::generate_with(&TestChainOptions {
        sgx_extension: false,
        ..Default::default()
    });
    let v = Verifier::with_trust_root(bare.root_der()).unwrap();
    let coll =
        Collateral::from_json(bare.collateral_json(&TestCollateral::default()).as_bytes()).unwrap();
    let e = v
        .verify(
            &bare.quote(&TestTdReport::default()),
            &coll,
            AT,
            &Policy::default(),
        )
        .unwrap_err();
    assert_eq!(e.check(), "pck_extension", "{e}");
}

#[test]
fn header_fields_are_checked_before_any_signature() {
    let q = quote(&TestTdReport::default());
    let coll = collateral(&TestCollateral::default());
    let edit = |offset: usize, bytes: &[u8]| {
        let mut q = q.clone();
        q[offset..offset + bytes.len()].copy_from_slice(bytes);
        q
    };
    assert_eq!(
        check(&edit(0, &3u16.to_le_bytes()), &coll, &Policy::default()),
        "quote_version"
    );
    assert_eq!(
        check(&edit(2, &3u16.to_le_bytes()), &coll, &Policy::default()),
        "attestation_key_type"
    );
    assert_eq!(
        check(&edit(12, &[0; 16]), &coll, &Policy::default()),
        "qe_vendor"
    );
    assert_eq!(
        check(&edit(4, &0u32.to_le_bytes()), &coll, &Policy::default()),
        "tee_type"
    );
}
