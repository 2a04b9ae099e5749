//! `aether-measure verify tdx` driven as a binary with the real TDX vectors.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_aether-measure");
const DCAP_MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";

fn vector(rel: &str) -> Option<PathBuf> {
    aether_testkit::vector(rel)
}

/// Runs `verify tdx` with `args`; returns the exit code and the parsed stdout
/// (Null when stdout is not JSON).
fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(BIN)
        .args(["verify", "tdx"])
        .args(args)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn dcap() -> Option<(PathBuf, PathBuf)> {
    Some((
        vector("tdx/dcapqvl_tdx_quote")?,
        vector("tdx/dcapqvl_tdx_quote_collateral.json")?,
    ))
}

#[test]
fn real_quote_is_verified_up_to_date() {
    let Some((q, c)) = dcap() else { return };
    let (code, out, err) = run(&[
        "--quote",
        s(&q),
        "--collateral",
        s(&c),
        "--at",
        "1751328000",
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(out["verdict"], "verified");
    assert_eq!(out["tee"], "tdx");
    assert_eq!(out["tcb_status"], "UpToDate");
    assert_eq!(out["advisory_ids"], serde_json::json!([]));
    assert_eq!(out["failed_check"], Value::Null);
    assert_eq!(out["claims"]["td_report"]["mrtd"], DCAP_MRTD);
    assert_eq!(out["claims"]["fmspc"], "b0c06f000000");
    assert_eq!(out["claims_authenticated"], true);
    assert_eq!(out["trust_root"]["kind"], "intel_sgx_root_ca");
}

#[test]
fn expired_collateral_and_tcb_level_failures_are_rejected() {
    let Some((q, c)) = dcap() else { return };
    let (code, out, _) = run(&[
        "--quote",
        s(&q),
        "--collateral",
        s(&c),
        "--at",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 1);
    assert_eq!(out["verdict"], "rejected");
    assert_eq!(out["failed_check"], "collateral_expired");
    assert!(
        out["error"].as_str().unwrap().contains("TCBInfo expired"),
        "{out}"
    );
    // Unauthenticated fields are still shown, and marked so.
    assert_eq!(out["claims_authenticated"], false);
    assert_eq!(out["claims"]["td_report"]["mrtd"], DCAP_MRTD);

    let cases = [
        (
            "tdx/dcapqvl_tdx_quote_outdated",
            "tdx/dcapqvl_tdx_quote_outdated_collateral.json",
            "2026-03-01T00:00:00Z",
        ),
        (
            "tdx/gotdx/tdx_prod_quote_SPR_E4.dat",
            "tdx/gotdx_SPR_E4_collateral_assembled.json",
            "1688173200",
        ),
    ];
    for (q, c, at) in cases {
        let (Some(q), Some(c)) = (vector(q), vector(c)) else {
            return;
        };
        let (code, out, _) = run(&["--quote", s(&q), "--collateral", s(&c), "--at", at]);
        assert_eq!(code, 1, "{out}");
        assert_eq!(out["failed_check"], "tcb_level");
        assert!(
            out["error"]
                .as_str()
                .unwrap()
                .contains("No matching TCB level found")
        );
    }
}

#[test]
fn expectations_and_accepted_statuses_from_flags() {
    let Some((q, c)) = dcap() else { return };
    let base = [
        "--quote",
        s(&q),
        "--collateral",
        s(&c),
        "--at",
        "1751328000",
    ];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        run(&a)
    };
    let (code, _, _) = with(&[
        "--expect-mrtd",
        DCAP_MRTD,
        "--expect-rtmr",
        &format!("3={}", "00".repeat(48)),
    ]);
    assert_eq!(code, 0);
    let wrong = format!("{}00", &DCAP_MRTD[..94]);
    for (extra, check) in [
        (vec!["--expect-mrtd".to_string(), wrong.clone()], "mrtd"),
        (
            vec!["--expect-rtmr".to_string(), format!("1={wrong}")],
            "rtmr",
        ),
        (
            vec!["--expect-report-data".to_string(), "00".repeat(64)],
            "report_data",
        ),
        (
            vec![
                "--accept-tcb".to_string(),
                "SWHardeningNeeded,OutOfDate".to_string(),
            ],
            "tcb_status",
        ),
    ] {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let (code, out, _) = with(&extra);
        assert_eq!(code, 1, "{out}");
        assert_eq!(out["failed_check"], check);
        // Policy rejections keep the authenticated claims.
        assert_eq!(out["claims_authenticated"], true);
        assert_eq!(out["tcb_status"], "UpToDate");
    }
}

#[test]
fn hex_quote_and_policy_files() {
    let Some((q, c)) = dcap() else { return };
    let dir = tempfile::tempdir().unwrap();
    let hex_quote = dir.path().join("quote.hex");
    std::fs::write(&hex_quote, hex::encode(std::fs::read(&q).unwrap())).unwrap();
    let toml = dir.path().join("policy.toml");
    std::fs::write(
        &toml,
        format!("accepted_tcb_statuses = [\"UpToDate\"]\nexpected_mrtd = \"{DCAP_MRTD}\"\n"),
    )
    .unwrap();
    let (code, out, _) = run(&[
        "--quote",
        s(&hex_quote),
        "--collateral",
        s(&c),
        "--at",
        "1751328000",
        "--policy",
        s(&toml),
    ]);
    assert_eq!(code, 0, "{out}");
    let json = dir.path().join("policy.json");
    std::fs::write(
        &json,
        format!("{{\"expected_rtmr3\": \"{}\"}}", "11".repeat(48)),
    )
    .unwrap();
    let (code, out, _) = run(&[
        "--quote",
        s(&q),
        "--collateral",
        s(&c),
        "--at",
        "1751328000",
        "--policy",
        s(&json),
    ]);
    assert_eq!((code, out["failed_check"].as_str()), (1, Some("rtmr")));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "expect_mrtd = \"00\"\n").unwrap();
    let (code, _, err) = run(&["--quote", s(&q), "--collateral", s(&c), "--policy", s(&bad)]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn trust_root_replacement_is_reported() {
    let Some((q, c)) = dcap() else { return };
    let Some(intel) = vector("tdx/intel_sgx_root_ca.der") else {
        return;
    };
    let (code, out, _) = run(&[
        "--quote",
        s(&q),
        "--collateral",
        s(&c),
        "--at",
        "1751328000",
        "--trust-root",
        s(&intel),
    ]);
    assert_eq!(code, 0);
    assert_eq!(out["trust_root"]["kind"], "intel_sgx_root_ca");
    // Another CA as root: the PCK Platform CA carried in the quote (PEM).
    let quote = std::fs::read(&q).unwrap();
    let text = String::from_utf8_lossy(&quote);
    let begin = text
        .match_indices("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .0;
    let end = text[begin..].find("-----END CERTIFICATE-----").unwrap() + begin + 25;
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    std::fs::write(&other, &text[begin..end]).unwrap();
    let (code, out, _) = run(&[
        "--quote",
        s(&q),
        "--collateral",
        s(&c),
        "--at",
        "1751328000",
        "--trust-root",
        s(&other),
    ]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["failed_check"], "trust_root");
    assert_eq!(out["trust_root"]["kind"], "custom");
    assert!(
        out["trust_root"]["note"]
            .as_str()
            .unwrap()
            .contains("test chain")
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let Some((q, c)) = dcap() else { return };
    let cases: [&[&str]; 5] = [
        &["--quote", "/nonexistent/quote", "--collateral", s(&c)],
        &["--quote", s(&q), "--collateral", s(&c), "--at", "yesterday"],
        &[
            "--quote",
            s(&q),
            "--collateral",
            s(&c),
            "--expect-rtmr",
            "4=00",
        ],
        &[
            "--quote",
            s(&q),
            "--collateral",
            s(&c),
            "--expect-mrtd",
            "abcd",
        ],
        &[
            "--quote",
            s(&q),
            "--collateral",
            s(&c),
            "--accept-tcb",
            "Fine",
        ],
    ];
    for args in cases {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {out} {err}");
        assert!(err.starts_with("Error: "), "{err}");
    }
    let (code, _, _) = run(&["--quote", s(&q)]);
    assert_eq!(code, 2);
}

#[test]
fn garbage_quote_or_collateral_is_a_rejection() {
    let Some((q, c)) = dcap() else { return };
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"not a quote").unwrap();
    let (code, out, _) = run(&["--quote", s(&junk), "--collateral", s(&c)]);
    assert_eq!((code, out["failed_check"].as_str()), (1, Some("parse")));
    let (code, out, _) = run(&["--quote", s(&q), "--collateral", s(&junk)]);
    assert_eq!(
        (code, out["failed_check"].as_str()),
        (1, Some("collateral_parse"))
    );
    assert_eq!(out["claims"]["td_report"]["mrtd"], DCAP_MRTD);
}

#[test]
fn simulated_quote_verifies_only_with_the_simulated_root() {
    use aether_evidence::Evidence;
    use aether_evidence::sim::{SimSigner, SimTdxOptions};
    let Evidence::Tdx { quote, collateral } = SimSigner::new().tdx(
        [0xa1; 48],
        [[0xb0; 48]; 4],
        [0xdd; 64],
        &SimTdxOptions::default(),
    ) else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let (q, c) = (dir.path().join("quote"), dir.path().join("collateral.json"));
    std::fs::write(&q, quote).unwrap();
    std::fs::write(&c, collateral).unwrap();
    let base = [
        "--quote",
        s(&q),
        "--collateral",
        s(&c),
        "--at",
        "1751328000",
    ];
    let mut args = base.to_vec();
    args.push("--simulated-root");
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(out["trust_root"]["kind"], "custom");
    assert_eq!(out["claims"]["td_report"]["mrtd"], "a1".repeat(48));
    let (code, out, _) = run(&base);
    assert_eq!(code, 1);
    assert_eq!(out["failed_check"], "trust_root", "{out}");
}
