//! The real TDX vectors of `../shared/vectors/tdx` give exactly the verdicts and
//! claims listed in its README.

use aether_tdx_evidence::{Collateral, Policy, TcbStatus, TdQuote, TdReportKind, Verifier};

fn read(rel: &str) -> Option<Vec<u8>> {
    let path = aether_testkit::vector(rel)?;
    Some(std::fs::read(path).expect("readable vector"))
}

fn collateral(rel: &str) -> Option<Collateral> {
    Some(Collateral::from_json(&read(rel)?).expect("collateral parses"))
}

const DCAP_MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const DCAP_REPORT_DATA: &str = "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20";

#[test]
fn dcapqvl_quote_is_up_to_date_on_2025_07_01() {
    let (Some(quote), Some(coll)) = (
        read("tdx/dcapqvl_tdx_quote"),
        collateral("tdx/dcapqvl_tdx_quote_collateral.json"),
    ) else {
        return;
    };
    let c = Verifier::intel()
        .verify(&quote, &coll, 1_751_328_000, &Policy::default())
        .expect("verified");
    assert_eq!(c.tee, "tdx");
    assert_eq!(c.quote_version, 4);
    assert_eq!(c.td_report.kind, TdReportKind::Tdx10);
    assert_eq!(c.tcb_status, TcbStatus::UpToDate);
    assert_eq!(c.platform_tcb_status, TcbStatus::UpToDate);
    assert_eq!(c.qe_tcb_status, TcbStatus::UpToDate);
    assert!(c.advisory_ids.is_empty());
    assert_eq!(c.fmspc.to_hex(), "b0c06f000000");
    assert_eq!(c.pck.fmspc.to_hex(), "b0c06f000000");
    assert_eq!(c.td_report.mrtd.to_hex(), DCAP_MRTD);
    assert_eq!(c.td_report.report_data.to_hex(), DCAP_REPORT_DATA);
    assert!(c.td_report.tee_tcb_svn.to_hex().starts_with("06010300"));
    assert_eq!(c.td_report.td_attributes.raw.to_hex(), "0000001000000000");
    assert!(c.td_report.td_attributes.sept_ve_disable && !c.td_report.td_attributes.debug);
    let rtmr: Vec<String> = c.td_report.rtmr.iter().map(|r| r.to_hex()).collect();
    assert!(
        rtmr[0].starts_with("44c0197b") && rtmr[0].ends_with("c9c0"),
        "{}",
        rtmr[0]
    );
    assert!(
        rtmr[1].starts_with("0084452c") && rtmr[1].ends_with("9378"),
        "{}",
        rtmr[1]
    );
    assert!(
        rtmr[2].starts_with("d833feef") && rtmr[2].ends_with("3132"),
        "{}",
        rtmr[2]
    );
    assert_eq!(rtmr[3], "00".repeat(48));
    assert_eq!(c.collateral.tcb_info_issue_date, "2025-06-19T10:16:03Z");
    assert_eq!(c.collateral.tcb_info_next_update, "2025-07-19T10:16:03Z");
    assert_eq!(c.collateral.qe_identity_issue_date, "2025-06-19T10:32:27Z");
    assert_eq!(c.collateral.qe_identity_next_update, "2025-07-19T10:32:27Z");
    assert_eq!(c.verified_at, 1_751_328_000);
    // Claims serialize to JSON with hex measurements.
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["td_report"]["mrtd"], DCAP_MRTD);
    assert_eq!(json["tcb_status"], "UpToDate");
    assert_eq!(json["td_report"]["kind"], "TDX 1.0");
}

#[test]
fn dcapqvl_quote_collateral_expired_on_2026_01_01() {
    let (Some(quote), Some(coll)) = (
        read("tdx/dcapqvl_tdx_quote"),
        collateral("tdx/dcapqvl_tdx_quote_collateral.json"),
    ) else {
        return;
    };
    let e = Verifier::intel()
        .verify(&quote, &coll, 1_767_225_600, &Policy::default())
        .unwrap_err();
    assert_eq!(e.check(), "collateral_expired", "{e}");
    assert!(e.to_string().contains("TCBInfo expired"), "{e}");
}

#[test]
fn dcapqvl_outdated_v5_quote_has_no_matching_tcb_level() {
    let (Some(quote), Some(coll)) = (
        read("tdx/dcapqvl_tdx_quote_outdated"),
        collateral("tdx/dcapqvl_tdx_quote_outdated_collateral.json"),
    ) else {
        return;
    };
    let parsed = TdQuote::parse(&quote).unwrap();
    assert_eq!(parsed.header.version, 5);
    assert_eq!(parsed.body.kind, TdReportKind::Tdx15);
    assert!(parsed.body.mrtd.to_hex().starts_with("273828c4"));
    assert!(parsed.body.mrtd.to_hex().ends_with("3dbd"));
    assert!(parsed.body.rtmr.iter().all(|r| r.0 == [0; 48]));
    assert_eq!(
        parsed.body.report_data.to_hex(),
        format!(
            "d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728{}",
            "00".repeat(32)
        )
    );
    // 2026-03-01T00:00:00Z
    let e = Verifier::intel()
        .verify(&quote, &coll, 1_772_323_200, &Policy::default())
        .unwrap_err();
    assert_eq!(e.check(), "tcb_level", "{e}");
    assert!(e.to_string().contains("No matching TCB level found"), "{e}");
    assert_eq!(coll.info().fmspc, "90c06f000000");
}

#[test]
fn gotdx_spr_e4_quote_fails_tcb_level_match() {
    let (Some(quote), Some(coll)) = (
        read("tdx/gotdx/tdx_prod_quote_SPR_E4.dat"),
        collateral("tdx/gotdx_SPR_E4_collateral_assembled.json"),
    ) else {
        return;
    };
    let parsed = TdQuote::parse(&quote).unwrap();
    assert_eq!(parsed.header.version, 4);
    assert!(parsed.body.mrtd.to_hex().starts_with("6363b804"));
    assert!(parsed.body.rtmr[0].to_hex().starts_with("2927da70"));
    assert!(parsed.body.report_data.to_hex().starts_with("6c62dec1"));
    let e = Verifier::intel()
        .verify(&quote, &coll, 1_688_173_200, &Policy::default())
        .unwrap_err();
    assert_eq!(e.check(), "tcb_level", "{e}");
    assert!(e.to_string().contains("No matching TCB level found"), "{e}");
}

#[test]
fn gotdx_v5_sample_and_cos_quote_parse() {
    let (Some(v5), Some(cos)) = (
        read("tdx/gotdx/quote_v5_sample.dat"),
        read("tdx/gotdx/ccel/cos-113-tdx-quote.dat"),
    ) else {
        return;
    };
    let q = TdQuote::parse(&v5).unwrap();
    assert_eq!(q.header.version, 5);
    assert!(q.body.mrtd.to_hex().starts_with("7348651a") && q.body.mrtd.to_hex().ends_with("f876"));
    let q = TdQuote::parse(&cos).unwrap();
    assert_eq!(q.header.version, 4);
    assert!(q.body.mrtd.to_hex().starts_with("dae67181") && q.body.mrtd.to_hex().ends_with("f94a"));
    assert_eq!(q.body.report_data.0, [0; 64]);
    assert_eq!(
        q.body.rtmr[0].to_hex(),
        "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6"
    );
    assert_eq!(
        q.body.rtmr[1].to_hex(),
        "f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1"
    );
    assert_eq!(
        q.body.rtmr[2].to_hex(),
        "4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1"
    );
    assert_eq!(q.body.rtmr[3].0, [0; 48]);
}
