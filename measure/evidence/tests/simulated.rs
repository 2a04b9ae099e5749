//! Simulated evidence through the unified API: it verifies under a policy
//! that trusts the simulated root, fails `root_not_allowed` under the
//! production policy, and every check the unified verifier applies fails
//! alone on evidence that differs from an accepted one in that one property.

use std::sync::OnceLock;

use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions, SnpTcb};
use aether_evidence::*;

/// 2025-01-01T00:00:00Z (inside the simulated validity 2000..2099).
const T: u64 = 1_735_689_600;
const MEASUREMENT: [u8; 48] = [0x4d; 48];
const REPORT_DATA: [u8; 64] = [0x5a; 64];
const MRTD: [u8; 48] = [0xa1; 48];
const RTMR: [[u8; 48]; 4] = [[0xb0; 48], [0xb1; 48], [0xb2; 48], [0; 48]];

fn dev() -> EvidencePolicy {
    EvidencePolicy::production().with_simulated()
}

fn signer() -> SimSigner {
    SimSigner::new()
}

fn snp(opts: &SimSnpOptions) -> Evidence {
    signer().snp(MEASUREMENT, REPORT_DATA, opts)
}

fn tdx(opts: &SimTdxOptions) -> Evidence {
    signer().tdx(MRTD, RTMR, REPORT_DATA, opts)
}

/// One verifier for the dev policy, shared by the tests (its caches too).
fn dev_verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::new(dev()))
}

/// Verifies with `verify` and a fresh and a shared `Verifier`; all agree.
fn check(e: &Evidence, policy: &EvidencePolicy, at: u64) -> Result<Claims, EvidenceError> {
    let direct = verify(e, policy, at);
    let cached = Verifier::new(policy.clone());
    assert_eq!(cached.verify(e, at), direct, "fresh verifier");
    assert_eq!(cached.verify(e, at), direct, "cached verifier, second call");
    if *policy == dev() {
        assert_eq!(dev_verifier().verify(e, at), direct, "shared verifier");
    }
    direct
}

fn rejects(result: Result<Claims, EvidenceError>, check_name: &str) -> EvidenceError {
    let e = result.expect_err("must be rejected");
    assert_eq!(e.check(), check_name, "{e}");
    assert!(CHECK_NAMES.contains(&e.check()));
    e
}

#[test]
fn simulated_snp_vcek_report_verifies_with_exact_claims() {
    let host_data = [0x11; 32];
    let e = snp(&SimSnpOptions {
        host_data,
        ..SimSnpOptions::default()
    });
    let c = check(&e, &dev(), T).expect("verifies");
    assert_eq!(c.tee, TeeKind::Snp);
    assert_eq!(c.measurement, LaunchMeasurement::Snp(MEASUREMENT));
    assert_eq!(c.report_data, REPORT_DATA);
    assert_eq!(c.host_data, host_data.to_vec());
    assert_eq!(c.root, TrustRoot::Simulated);
    assert_eq!(c.signer, "vcek");
    assert!(!c.debug);
    assert_eq!(
        c.tcb,
        TcbSummary::Snp {
            bootloader: 4,
            tee: 0,
            snp: 22,
            microcode: 213,
            fmc: None
        }
    );
    assert_eq!(c.tcb.to_string(), "bootloader=4 tee=0 snp=22 microcode=213");
    assert_eq!(c.evidence_digest, e.digest().unwrap());
    assert_eq!(e.claimed_report_data().unwrap(), REPORT_DATA);
    // Deterministic: the same arguments give the same bytes.
    assert_eq!(
        e,
        snp(&SimSnpOptions {
            host_data,
            ..SimSnpOptions::default()
        })
    );
    if let Evidence::Snp { chain, .. } = &e {
        assert!(chain.is_none(), "the intermediate comes with the roots");
    }
}

#[test]
fn simulated_vlek_report_verifies_with_report_and_vlek_only() {
    let e = snp(&SimSnpOptions {
        vlek: true,
        ..SimSnpOptions::default()
    });
    let Evidence::Snp { chain, .. } = &e else {
        unreachable!()
    };
    assert!(chain.is_none());
    let c = check(&e, &dev(), T).expect("VLEK + report verify with the embedded ASVK");
    assert_eq!(c.signer, "vlek");
    assert_eq!(c.root, TrustRoot::Simulated);
    // The policy can refuse VLEKs.
    let no_vlek = EvidencePolicy {
        snp_allow_vlek: false,
        ..dev()
    };
    rejects(check(&e, &no_vlek, T), "signer_kind");
}

#[test]
fn simulated_tdx_quote_verifies_with_exact_claims() {
    let mrconfigid = [0x22; 48];
    let e = tdx(&SimTdxOptions {
        mrconfigid,
        ..SimTdxOptions::default()
    });
    let c = check(&e, &dev(), T).expect("verifies");
    assert_eq!(c.tee, TeeKind::Tdx);
    assert_eq!(
        c.measurement,
        LaunchMeasurement::Tdx {
            mrtd: MRTD,
            rtmr: RTMR
        }
    );
    assert_eq!(c.report_data, REPORT_DATA);
    assert_eq!(c.host_data, mrconfigid.to_vec());
    assert_eq!(c.root, TrustRoot::Simulated);
    assert_eq!(c.signer, "pck");
    assert!(!c.debug);
    let TcbSummary::Tdx {
        status,
        advisory_ids,
        tee_tcb_svn,
    } = &c.tcb
    else {
        panic!("{:?}", c.tcb)
    };
    assert_eq!(*status, TcbStatus::UpToDate);
    assert!(advisory_ids.is_empty());
    assert_eq!(tee_tcb_svn[0], 3);
    assert_eq!(c.evidence_digest, e.digest().unwrap());
    assert_eq!(e.claimed_report_data().unwrap(), REPORT_DATA);
    if let Evidence::Tdx { collateral, .. } = &e {
        assert_eq!(collateral.as_slice(), sim::TDX_COLLATERAL_JSON.as_bytes());
    }
}

#[test]
fn production_policy_refuses_the_simulated_root() {
    for e in [
        snp(&SimSnpOptions::default()),
        snp(&SimSnpOptions {
            vlek: true,
            ..SimSnpOptions::default()
        }),
        tdx(&SimTdxOptions::default()),
    ] {
        let err = rejects(
            check(&e, &EvidencePolicy::production(), T),
            "root_not_allowed",
        );
        assert!(
            matches!(
                err,
                EvidenceError::RootNotAllowed {
                    root: TrustRoot::Simulated,
                    ..
                }
            ),
            "{err:?}"
        );
        // A policy trusting nothing at all refuses it the same way.
        let nothing = EvidencePolicy {
            roots: Vec::new(),
            ..EvidencePolicy::production()
        };
        rejects(check(&e, &nothing, T), "root_not_allowed");
        // Trusting only the simulated root accepts it.
        let only_sim = EvidencePolicy {
            roots: vec![TrustRoot::Simulated],
            ..EvidencePolicy::production()
        };
        assert_eq!(check(&e, &only_sim, T).unwrap().root, TrustRoot::Simulated);
    }
}

#[test]
fn debug_guests_fail_debug_for_both_tees() {
    let e = snp(&SimSnpOptions {
        debug: true,
        ..SimSnpOptions::default()
    });
    let err = rejects(check(&e, &dev(), T), "debug");
    assert!(
        matches!(
            err,
            EvidenceError::Debug {
                tee: TeeKind::Snp,
                ..
            }
        ),
        "{err:?}"
    );
    let e = tdx(&SimTdxOptions {
        debug: true,
        ..SimTdxOptions::default()
    });
    let err = rejects(check(&e, &dev(), T), "debug");
    assert!(
        matches!(
            err,
            EvidenceError::Debug {
                tee: TeeKind::Tdx,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn snp_tcb_below_the_minimum_fails_min_tcb() {
    let e = snp(&SimSnpOptions::default());
    let policy = EvidencePolicy {
        snp_min_tcb: MinTcb {
            snp: 23,
            ..MinTcb::default()
        },
        ..dev()
    };
    rejects(check(&e, &policy, T), "min_tcb");
    // At the minimum it passes; a report with a higher TCB (another VCEK) too.
    let policy = EvidencePolicy {
        snp_min_tcb: MinTcb {
            snp: 22,
            microcode: 213,
            ..MinTcb::default()
        },
        ..dev()
    };
    check(&e, &policy, T).expect("at the minimum");
    let newer = snp(&SimSnpOptions {
        reported_tcb: SnpTcb {
            snp: 24,
            ..SnpTcb::default()
        },
        ..SimSnpOptions::default()
    });
    let c = check(&newer, &policy, T).expect("newer TCB");
    assert!(matches!(c.tcb, TcbSummary::Snp { snp: 24, .. }));
}

#[test]
fn snp_report_version_and_vmpl_are_policy_checks() {
    let v3 = snp(&SimSnpOptions {
        version: 3,
        ..SimSnpOptions::default()
    });
    check(&v3, &dev(), T).expect("v3 accepted by default");
    let only_v5 = EvidencePolicy {
        snp_allowed_report_versions: vec![5],
        ..dev()
    };
    rejects(check(&v3, &only_v5, T), "report_version");

    let vmpl1 = snp(&SimSnpOptions {
        vmpl: 1,
        ..SimSnpOptions::default()
    });
    rejects(check(&vmpl1, &dev(), T), "vmpl");
    let policy = EvidencePolicy {
        max_vmpl: 1,
        ..dev()
    };
    check(&vmpl1, &policy, T).expect("VMPL 1 allowed");
}

#[test]
fn tdx_tcb_status_and_svn_are_policy_checks() {
    let outdated = tdx(&SimTdxOptions {
        tcb_status: TcbStatus::OutOfDate,
        advisory_ids: vec!["INTEL-SA-00000".into()],
        ..SimTdxOptions::default()
    });
    rejects(check(&outdated, &dev(), T), "tcb_status");
    let lenient = EvidencePolicy {
        tdx_accepted_tcb_statuses: vec![TcbStatus::UpToDate, TcbStatus::OutOfDate],
        ..dev()
    };
    let c = check(&outdated, &lenient, T).expect("OutOfDate accepted");
    assert!(
        matches!(&c.tcb, TcbSummary::Tdx { status: TcbStatus::OutOfDate, advisory_ids, .. } if advisory_ids == &["INTEL-SA-00000"])
    );

    let e = tdx(&SimTdxOptions::default());
    let mut min = [0u8; 16];
    min[0] = 4;
    let policy = EvidencePolicy {
        tdx_min_tee_tcb_svn: Some(tdx_evidence::HexBytes(min)),
        ..dev()
    };
    rejects(check(&e, &policy, T), "tee_tcb_svn");
    min[0] = 3;
    let policy = EvidencePolicy {
        tdx_min_tee_tcb_svn: Some(tdx_evidence::HexBytes(min)),
        ..dev()
    };
    check(&e, &policy, T).expect("at the minimum");
}

#[test]
fn verification_time_is_checked_against_validity() {
    let snp_e = snp(&SimSnpOptions::default());
    let tdx_e = tdx(&SimTdxOptions::default());
    // 1999-12-31 and 2099-01-02: outside 2000..2099.
    for at in [sim::VALID_FROM - 86_400, sim::VALID_UNTIL + 86_400] {
        rejects(check(&snp_e, &dev(), at), "cert_validity");
        let err = check(&tdx_e, &dev(), at).unwrap_err();
        assert!(
            matches!(
                err.check(),
                "collateral_expired" | "collateral_not_yet_valid" | "certificate_expired"
            ),
            "{err}"
        );
    }
    for at in [sim::VALID_FROM, sim::VALID_UNTIL] {
        check(&snp_e, &dev(), at).expect("validity ends are inclusive");
    }
    // Absurd times are rejections, not panics.
    for at in [0, u64::MAX, i64::MAX as u64 + 1] {
        for e in [&snp_e, &tdx_e] {
            let err = check(e, &dev(), at).unwrap_err();
            assert_ne!(err.check(), "internal", "{at}: {err}");
        }
    }
}

#[test]
fn tampered_evidence_fails_its_signature() {
    let Evidence::Snp {
        mut report,
        vek,
        chain,
    } = snp(&SimSnpOptions::default())
    else {
        unreachable!()
    };
    report[0x50] ^= 1; // REPORT_DATA
    let e = Evidence::Snp { report, vek, chain };
    rejects(check(&e, &dev(), T), "signature");

    let Evidence::Tdx {
        mut quote,
        collateral,
    } = tdx(&SimTdxOptions::default())
    else {
        unreachable!()
    };
    quote[48 + 520] ^= 1; // REPORTDATA
    let e = Evidence::Tdx { quote, collateral };
    rejects(check(&e, &dev(), T), "quote_signature");
}

#[test]
fn other_machines_and_tcbs_get_their_own_vcek() {
    let mut chip = sim::SNP_CHIP_ID;
    chip[0] ^= 0xff;
    let a = snp(&SimSnpOptions {
        chip_id: chip,
        ..SimSnpOptions::default()
    });
    let b = snp(&SimSnpOptions::default());
    let (Evidence::Snp { vek: va, .. }, Evidence::Snp { vek: vb, .. }) = (&a, &b) else {
        unreachable!()
    };
    assert_ne!(va, vb);
    check(&a, &dev(), T).expect("another simulated machine verifies");
}

#[test]
fn a_shared_verifier_gives_the_same_results_from_many_threads() {
    let evidence: Vec<Evidence> = vec![
        snp(&SimSnpOptions::default()),
        snp(&SimSnpOptions {
            vlek: true,
            ..SimSnpOptions::default()
        }),
        snp(&SimSnpOptions {
            debug: true,
            ..SimSnpOptions::default()
        }),
        tdx(&SimTdxOptions::default()),
        tdx(&SimTdxOptions {
            tcb_status: TcbStatus::OutOfDate,
            ..SimTdxOptions::default()
        }),
    ];
    let expected: Vec<_> = evidence.iter().map(|e| verify(e, &dev(), T)).collect();
    let shared = Verifier::new(dev());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..2 {
                    for (e, want) in evidence.iter().zip(&expected) {
                        assert_eq!(&shared.verify(e, T), want);
                    }
                }
            });
        }
    });
    assert_eq!(shared.policy(), &dev());
}

#[test]
fn evidence_and_claims_round_trip_through_json() {
    for e in [
        snp(&SimSnpOptions::default()),
        tdx(&SimTdxOptions::default()),
    ] {
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Evidence>(&json).unwrap(), e);
        let claims = verify(&e, &dev(), T).unwrap();
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["root"], "simulated");
        assert_eq!(json["report_data"], hex::encode(REPORT_DATA));
        assert_eq!(serde_json::from_value::<Claims>(json).unwrap(), claims);
    }
    // Missing chain is None; unknown fields and wrong kinds are errors.
    let e: Evidence =
        serde_json::from_str(r#"{"tee": "snp", "report": "00", "vek": "0x01"}"#).unwrap();
    assert_eq!(
        e,
        Evidence::Snp {
            report: vec![0],
            vek: vec![1],
            chain: None
        }
    );
    for bad in [
        r#"{"tee": "sgx", "quote": "00"}"#,
        r#"{"tee": "tdx", "quote": "0g", "collateral": ""}"#,
        r#"{"tee": "tdx", "quote": "00", "collateral": "", "extra": 1}"#,
    ] {
        assert!(serde_json::from_str::<Evidence>(bad).is_err(), "{bad}");
    }
}
