//! Real hardware evidence through the unified API with the production
//! policy: the results the CLI (`aether-measure verify`) gets from the same
//! pipelines, with the unified claims on top.

use aether_evidence::snp::{Policy as SnpPolicy, TrustRoots};
use aether_evidence::*;

/// 2025-01-01T00:00:00Z.
const T_2025: u64 = 1_735_689_600;
/// 2026-03-01T00:00:00Z.
const T_2026_03: u64 = 1_772_323_200;
/// 2025-07-01T00:00:00Z: inside the dcap-qvl sample collateral's window.
const T_TDX: u64 = 1_751_328_000;

fn vector(rel: &str) -> Option<Vec<u8>> {
    aether_testkit::vector(rel).map(|p| aether_testkit::read_maybe_hex(&p))
}

fn snp_evidence(report: &str, vcek: &str, chain: Option<&str>) -> Option<Evidence> {
    Some(Evidence::Snp {
        report: vector(report)?,
        vek: vector(vcek)?,
        chain: match chain {
            Some(c) => Some(vector(c)?),
            None => None,
        },
    })
}

fn production(e: &Evidence, at: u64) -> Result<Claims, EvidenceError> {
    let direct = verify(e, &EvidencePolicy::production(), at);
    let verifier = Verifier::new(EvidencePolicy::production());
    assert_eq!(verifier.verify(e, at), direct);
    assert_eq!(verifier.verify(e, at), direct, "cached");
    direct
}

/// What the CLI's SNP pipeline (production AMD roots, default policy) says.
fn cli_snp(e: &Evidence, at: u64) -> Result<snp::VerifiedSnpReport, snp::SnpError> {
    let Evidence::Snp { report, vek, chain } = e else {
        unreachable!()
    };
    snp::appraise(
        report,
        vek,
        chain.as_deref(),
        &TrustRoots::amd(),
        &SnpPolicy::default(),
        at as i64,
    )
    .map_err(|r| r.error)
}

fn assert_same_as_cli(e: &Evidence, at: u64, c: &Claims) {
    let v = cli_snp(e, at).expect("the CLI pipeline accepts it too");
    assert_eq!(c.measurement, LaunchMeasurement::Snp(v.report.measurement));
    assert_eq!(c.report_data, v.report.report_data);
    assert_eq!(c.host_data, v.report.host_data.to_vec());
    assert_eq!(c.root, TrustRoot::AmdArk(v.product));
    assert_eq!(c.evidence_digest, e.digest().unwrap());
}

#[test]
fn virtee_milan_report_verifies_under_amd_milan() {
    let Some(with_chain) = snp_evidence(
        "snp/virtee_report_milan.hex",
        "snp/virtee_vcek_milan.der",
        Some("snp/virtee_cert_chain_milan"),
    ) else {
        return;
    };
    let c = production(&with_chain, T_2025).expect("verifies");
    assert_eq!(c.root, TrustRoot::AmdArk(Product::Milan));
    assert_eq!(c.signer, "vcek");
    assert_eq!(
        hex::encode(match c.measurement {
            LaunchMeasurement::Snp(m) => m,
            _ => unreachable!(),
        }),
        "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
    );
    assert_eq!(c.tcb.to_string(), "bootloader=3 tee=0 snp=8 microcode=115");
    assert_same_as_cli(&with_chain, T_2025, &c);

    // The same claims with the embedded ASK (no chain) and from a KDS-style
    // bundle "VCEK, ASK, ARK" in the VCEK field.
    let Evidence::Snp { report, vek, chain } = with_chain.clone() else {
        unreachable!()
    };
    let bare = Evidence::Snp {
        report: report.clone(),
        vek: vek.clone(),
        chain: None,
    };
    assert_eq!(production(&bare, T_2025).unwrap(), c);
    let mut bundle = pem::encode_config(
        &pem::Pem::new("CERTIFICATE", vek),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
    .into_bytes();
    bundle.extend(chain.unwrap());
    let bundled = Evidence::Snp {
        report,
        vek: bundle,
        chain: None,
    };
    assert_eq!(production(&bundled, T_2025).unwrap(), c);

    // Expired at 2031; untrusted when the policy holds only other roots.
    assert_eq!(
        production(&with_chain, 1_924_992_000).unwrap_err().check(),
        "cert_validity"
    );
    for roots in [
        vec![TrustRoot::Simulated],
        vec![TrustRoot::AmdArk(Product::Genoa), TrustRoot::IntelSgxRootCa],
    ] {
        let policy = EvidencePolicy {
            roots,
            ..EvidencePolicy::production()
        };
        let err = verify(&with_chain, &policy, T_2025).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::RootNotAllowed {
                    root: TrustRoot::AmdArk(Product::Milan),
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(Verifier::new(policy).verify(&with_chain, T_2025), Err(err));
    }
}

#[test]
fn lunal_genoa_v5_report_verifies_under_amd_genoa() {
    let Some(e) = snp_evidence(
        "snp/lunal_live-report-v5-genoa.bin",
        "snp/lunal_live-vcek-genoa.der",
        None,
    ) else {
        return;
    };
    let c = production(&e, T_2026_03).expect("verifies");
    assert_eq!(c.root, TrustRoot::AmdArk(Product::Genoa));
    assert_eq!(&c.report_data[..17], b"hello-attestation");
    assert_same_as_cli(&e, T_2026_03, &c);
    // Before the VCEK was issued (2026-02-17).
    assert_eq!(
        production(&e, 1_771_286_400).unwrap_err().check(),
        "cert_validity"
    );
}

#[test]
fn gosev_debug_guest_fails_debug() {
    let Some(e) = snp_evidence(
        "snp/gosev_attestation.bin",
        "snp/gosev_vcek.testcer",
        Some("snp/gosev_milan.testcer"),
    ) else {
        return;
    };
    let err = production(&e, T_2025).unwrap_err();
    assert_eq!(err.check(), "debug", "{err}");
    assert!(matches!(
        err,
        EvidenceError::Debug {
            tee: TeeKind::Snp,
            ..
        }
    ));
    // Signature and chain are fine: the CLI's pipeline names the same check
    // with its own name.
    assert_eq!(cli_snp(&e, T_2025).unwrap_err().check(), "debug_policy");
}

fn tdx_evidence(quote: &str, collateral: &str) -> Option<Evidence> {
    Some(Evidence::Tdx {
        quote: vector(quote)?,
        collateral: std::fs::read(aether_testkit::vector(collateral)?).ok()?,
    })
}

#[test]
fn dcap_qvl_tdx_quote_verifies_under_intel() {
    let Some(e) = tdx_evidence(
        "tdx/dcapqvl_tdx_quote",
        "tdx/dcapqvl_tdx_quote_collateral.json",
    ) else {
        return;
    };
    let c = production(&e, T_TDX).expect("verifies");
    assert_eq!(c.tee, TeeKind::Tdx);
    assert_eq!(c.root, TrustRoot::IntelSgxRootCa);
    assert_eq!(c.signer, "pck");
    let LaunchMeasurement::Tdx { mrtd, rtmr } = c.measurement else {
        panic!()
    };
    assert_eq!(
        hex::encode(mrtd),
        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"
    );
    assert!(hex::encode(rtmr[0]).starts_with("44c0197b"));
    assert_eq!(rtmr[3], [0; 48]);
    assert!(hex::encode(c.report_data).starts_with("9a9d48e7f6799642"));
    assert!(matches!(
        &c.tcb,
        TcbSummary::Tdx {
            status: TcbStatus::UpToDate,
            ..
        }
    ));
    assert_eq!(c.host_data.len(), 48);
    assert_eq!(c.evidence_digest, e.digest().unwrap());

    // The CLI's pipeline (Intel root, default policy) gives the same claims.
    let Evidence::Tdx { quote, collateral } = &e else {
        unreachable!()
    };
    let cli = tdx::appraise(
        quote,
        collateral,
        &tdx::Verifier::intel(),
        &tdx::Policy::default(),
        T_TDX,
    )
    .into_result()
    .unwrap();
    assert_eq!(cli.td_report.mrtd.0, mrtd);
    assert_eq!(cli.td_report.report_data.0, c.report_data);

    // Collateral expired on 2026-01-01; the Intel root is refused by an
    // AMD-only policy before any signature work.
    assert_eq!(
        production(&e, 1_767_225_600).unwrap_err().check(),
        "collateral_expired"
    );
    let amd_only = EvidencePolicy {
        roots: vec![TrustRoot::AmdArk(Product::Milan)],
        ..EvidencePolicy::production()
    };
    let err = verify(&e, &amd_only, T_TDX).unwrap_err();
    assert!(
        matches!(
            err,
            EvidenceError::RootNotAllowed {
                root: TrustRoot::IntelSgxRootCa,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn v5_tdx_quote_digest_and_tcb_level() {
    let Some(e) = tdx_evidence(
        "tdx/dcapqvl_tdx_quote_outdated",
        "tdx/dcapqvl_tdx_quote_outdated_collateral.json",
    ) else {
        return;
    };
    // 2026-03-01: dcap-qvl finds no matching TCB level (see the vectors' README).
    assert_eq!(production(&e, T_2026_03).unwrap_err().check(), "tcb_level");
    // The replay key of a v5 quote covers header, body descriptor and body.
    let Evidence::Tdx { quote, .. } = &e else {
        unreachable!()
    };
    let parsed = tdx::TdQuote::parse(quote).unwrap();
    assert_eq!(parsed.header.version, 5);
    use sha2::Digest;
    let expected: [u8; 32] = sha2::Sha256::digest(&quote[..parsed.signed_len]).into();
    assert_eq!(e.digest().unwrap(), expected);
}
