//! `aether-measure verify snp` driven as a binary with the real vectors:
//! verdicts, exit codes and the JSON object on stdout.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_aether-measure");

fn snp(rel: &str) -> Option<PathBuf> {
    aether_testkit::vector(&format!("snp/{rel}"))
}

/// Runs `verify snp` with `args`; returns (exit code, parsed stdout or Null, stderr).
fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(BIN)
        .args(["verify", "snp"])
        .args(args)
        .output()
        .expect("run aether-measure");
    let json = if out.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
    };
    (
        out.status.code().expect("exit code"),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

struct Milan {
    report: PathBuf,
    vcek: PathBuf,
    chain: PathBuf,
}

fn milan() -> Option<Milan> {
    Some(Milan {
        report: snp("virtee_report_milan.hex")?,
        vcek: snp("virtee_vcek_milan.der")?,
        chain: snp("virtee_cert_chain_milan")?,
    })
}

fn assert_rejected(code: i32, json: &Value, check: &str) {
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["verdict"], "rejected", "{json}");
    assert_eq!(json["tee"], "sev-snp");
    assert_eq!(json["failed_check"], check, "{json}");
    assert!(json["claims"].is_null());
    assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()));
}

#[test]
fn virtee_milan_report_verifies() {
    let Some(m) = milan() else { return };
    let (code, json, _) = run(&[
        "--report",
        s(&m.report),
        "--vcek",
        s(&m.vcek),
        "--cert-chain",
        s(&m.chain),
        "--at",
        "2025-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["verdict"], "verified");
    assert_eq!(json["tee"], "sev-snp");
    assert_eq!(json["trust_root"], "amd (embedded)");
    let c = &json["claims"];
    assert_eq!(c["product"], "Milan");
    assert_eq!(c["signer"], "VCEK");
    assert_eq!(c["version"], 2);
    assert_eq!(c["vmpl"], 0);
    assert_eq!(c["policy"]["raw"], "0x0000000000030000");
    assert_eq!(c["policy"]["debug_allowed"], false);
    assert_eq!(
        c["measurement"],
        "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
    );
    assert_eq!(c["reported_tcb"]["raw"], "0300000000000873");
    assert_eq!(c["reported_tcb"]["microcode"], 0x73);
    assert_eq!(c["host_data"], "00".repeat(32));
    assert!(
        c["chip_id"]
            .as_str()
            .unwrap()
            .starts_with("d49554ec717f4e5b")
    );
    assert!(json.get("failed_check").is_none());

    // Same verdict with the embedded ASK/ARK, Unix-seconds time, and the expected values.
    let (code, json, _) = run(&[
        "--report",
        s(&m.report),
        "--vcek",
        s(&m.vcek),
        "--at",
        "1735689600",
        "--expect-measurement",
        "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f",
        "--expect-report-data",
        "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
    ]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn gosev_debug_guest_rejected_unless_debug_allowed() {
    let (Some(r), Some(v), Some(ch)) = (
        snp("gosev_attestation.bin"),
        snp("gosev_vcek.testcer"),
        snp("gosev_milan.testcer"),
    ) else {
        return;
    };
    let base = [
        "--report",
        s(&r),
        "--vcek",
        s(&v),
        "--cert-chain",
        s(&ch),
        "--at",
        "2025-01-01T00:00:00Z",
    ];
    let (code, json, _) = run(&base);
    assert_rejected(code, &json, "debug_policy");
    // What the report says is shown, marked unverified.
    assert_eq!(
        json["unverified_report"]["policy"]["raw"],
        "0x00000000000b0000"
    );

    let mut args = base.to_vec();
    args.extend(["--allow-debug", "--expect-report-data", "0102030405"]);
    let (code, json, _) = run(&args);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["claims"]["policy"]["debug_allowed"], true);

    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("dev.toml");
    std::fs::write(&policy, "allow_debug = true\n").unwrap();
    let mut args = base.to_vec();
    args.extend(["--policy", s(&policy)]);
    assert_eq!(run(&args).0, 0);
    let json_policy = dir.path().join("dev.json");
    std::fs::write(&json_policy, "{\"allow_debug\": true, \"max_vmpl\": 0}").unwrap();
    let mut args = base.to_vec();
    args.extend(["--policy", s(&json_policy)]);
    assert_eq!(run(&args).0, 0);
}

#[test]
fn lunal_v5_genoa_report_verifies_after_vcek_issue() {
    let (Some(r), Some(v)) = (
        snp("lunal_live-report-v5-genoa.bin"),
        snp("lunal_live-vcek-genoa.der"),
    ) else {
        return;
    };
    let (code, json, _) = run(&[
        "--report",
        s(&r),
        "--vcek",
        s(&v),
        "--at",
        "2026-03-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["claims"]["product"], "Genoa");
    assert_eq!(json["claims"]["version"], 5);
    assert_eq!(json["claims"]["cpuid"]["model"], 0xa0);
    let (code, json, _) = run(&[
        "--report",
        s(&r),
        "--vcek",
        s(&v),
        "--at",
        "2026-02-17T00:00:00Z",
    ]);
    assert_rejected(code, &json, "cert_validity");
}

#[test]
fn single_check_failures_each_name_their_check() {
    let Some(m) = milan() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "--report",
        s(&m.report),
        "--vcek",
        s(&m.vcek),
        "--at",
        "2025-01-01T00:00:00Z",
    ];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        run(&a)
    };

    // Wrong product root: the Genoa ASK+ARK for a Milan VCEK.
    if let (Some(ask), Some(ark)) = (snp("amd_ca/genoa_ask.pem"), snp("amd_ca/genoa_ark.pem")) {
        let genoa = dir.path().join("genoa_chain.pem");
        let mut bytes = std::fs::read(ask).unwrap();
        bytes.extend(std::fs::read(ark).unwrap());
        std::fs::write(&genoa, bytes).unwrap();
        let (code, json, _) = with(&["--cert-chain", s(&genoa)]);
        assert_rejected(code, &json, "chain");
        assert!(json["error"].as_str().unwrap().contains("Genoa"), "{json}");
    }

    // Expired VCEK (2031 > notAfter 2030-04-03).
    let (code, json, _) = run(&[
        "--report",
        s(&m.report),
        "--vcek",
        s(&m.vcek),
        "--at",
        "2031-01-01T00:00:00Z",
    ]);
    assert_rejected(code, &json, "cert_validity");

    // TCB below minimum via a policy file.
    let policy = dir.path().join("tcb.toml");
    std::fs::write(&policy, "[min_tcb]\nsnp = 9\n").unwrap();
    let (code, json, _) = with(&["--policy", s(&policy)]);
    assert_rejected(code, &json, "min_tcb");

    // Wrong expected measurement and report data.
    let (code, json, _) = with(&["--expect-measurement", &"00".repeat(48)]);
    assert_rejected(code, &json, "measurement");
    let (code, json, _) = with(&["--expect-report-data", "00"]);
    assert_rejected(code, &json, "report_data");
    let (code, json, _) = with(&["--expect-host-data", &"11".repeat(32)]);
    assert_rejected(code, &json, "host_data");

    // A flipped bit in REPORT_DATA: signature.
    let mut report = aether_testkit::read_maybe_hex(&m.report);
    report[0x50] ^= 1;
    let tampered = dir.path().join("tampered.bin");
    std::fs::write(&tampered, &report).unwrap();
    let (code, json, _) = run(&[
        "--report",
        s(&tampered),
        "--vcek",
        s(&m.vcek),
        "--at",
        "1735689600",
    ]);
    assert_rejected(code, &json, "signature");

    // A truncated report: parse.
    std::fs::write(&tampered, &report[..1000]).unwrap();
    let (code, json, _) = run(&[
        "--report",
        s(&tampered),
        "--vcek",
        s(&m.vcek),
        "--at",
        "1735689600",
    ]);
    assert_rejected(code, &json, "parse");
    assert!(json["unverified_report"].is_null());
}

#[test]
fn custom_trust_root_says_so() {
    let (Some(m), Some(ark), Some(ask)) = (
        milan(),
        snp("amd_ca/milan_ark.pem"),
        snp("amd_ca/milan_ask.pem"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    let mut bytes = std::fs::read(&ark).unwrap();
    bytes.extend(std::fs::read(&ask).unwrap());
    std::fs::write(&roots, bytes).unwrap();
    let (code, json, _) = run(&[
        "--report",
        s(&m.report),
        "--vcek",
        s(&m.vcek),
        "--trust-root",
        s(&roots),
        "--at",
        "1735689600",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["trust_root"], "custom (test only)");
    assert_eq!(json["claims"]["trust_root"], "custom (test only)");
    // A Genoa-only custom root cannot verify a Milan chain.
    if let Some(genoa) = snp("amd_ca/genoa_ark.pem") {
        let (code, json, _) = run(&[
            "--report",
            s(&m.report),
            "--vcek",
            s(&m.vcek),
            "--cert-chain",
            s(&m.chain),
            "--trust-root",
            s(&genoa),
            "--at",
            "1735689600",
        ]);
        assert_rejected(code, &json, "chain");
        assert_eq!(json["trust_root"], "custom (test only)");
    }
}

#[test]
fn usage_and_io_errors_exit_2_with_nothing_on_stdout() {
    let Some(m) = milan() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bad_policy = dir.path().join("bad.toml");
    std::fs::write(&bad_policy, "allow_debugg = true\n").unwrap();
    let long_rd = "00".repeat(65);
    let cases: Vec<Vec<&str>> = vec![
        vec!["--report", s(&m.report)],
        vec!["--report", "/nonexistent/report", "--vcek", s(&m.vcek)],
        vec!["--report", s(&m.report), "--vcek", "/nonexistent/vcek"],
        vec![
            "--report",
            s(&m.report),
            "--vcek",
            s(&m.vcek),
            "--at",
            "yesterday",
        ],
        vec![
            "--report",
            s(&m.report),
            "--vcek",
            s(&m.vcek),
            "--policy",
            s(&bad_policy),
        ],
        vec![
            "--report",
            s(&m.report),
            "--vcek",
            s(&m.vcek),
            "--expect-measurement",
            "abcd",
        ],
        vec![
            "--report",
            s(&m.report),
            "--vcek",
            s(&m.vcek),
            "--expect-report-data",
            &long_rd,
        ],
        vec![
            "--report",
            s(&m.report),
            "--vcek",
            s(&m.vcek),
            "--trust-root",
            s(&bad_policy),
        ],
        vec!["--vcek", s(&m.vcek)],
    ];
    for args in cases {
        let (code, json, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}: {json} {stderr}");
        assert!(json.is_null(), "{args:?}");
        assert!(!stderr.is_empty(), "{args:?}");
    }
}

/// PEM of one DER certificate.
fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

#[test]
fn vcek_bundle_from_the_key_server_replaces_the_chain_file() {
    let Some(m) = milan() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("vcek_bundle.pem");
    let mut bytes = pem_of(&std::fs::read(&m.vcek).unwrap()).into_bytes();
    bytes.extend(std::fs::read(&m.chain).unwrap());
    std::fs::write(&bundle, bytes).unwrap();
    let (code, json, err) = run(&[
        "--report",
        s(&m.report),
        "--vcek",
        s(&bundle),
        "--at",
        "2025-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{json} {err}");
    assert_eq!(
        json["claims"]["certificates"]["intermediate_source"],
        "supplied"
    );
    assert_eq!(json["claims"]["product"], "Milan");
    // With the chain file as well (the same certificates twice) it still verifies.
    let (code, json, _) = run(&[
        "--report",
        s(&m.report),
        "--vcek",
        s(&bundle),
        "--cert-chain",
        s(&m.chain),
        "--at",
        "2025-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn simulated_vlek_report_verifies_from_report_and_vlek_alone() {
    use aether_evidence::Evidence;
    use aether_evidence::sim::{SimSigner, SimSnpOptions};
    let Evidence::Snp { report, vek, chain } = SimSigner::new().snp(
        [0x4d; 48],
        [0x5a; 64],
        &SimSnpOptions {
            vlek: true,
            ..SimSnpOptions::default()
        },
    ) else {
        unreachable!()
    };
    assert!(chain.is_none());
    let dir = tempfile::tempdir().unwrap();
    let (r, v) = (dir.path().join("report.bin"), dir.path().join("vlek.der"));
    std::fs::write(&r, report).unwrap();
    std::fs::write(&v, vek).unwrap();
    let base = [
        "--report",
        s(&r),
        "--vcek",
        s(&v),
        "--at",
        "2025-01-01T00:00:00Z",
    ];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        run(&a)
    };
    let (code, json, err) = with(&["--simulated-root"]);
    assert_eq!(code, 0, "{json} {err}");
    assert_eq!(json["claims"]["signer"], "VLEK");
    assert_eq!(
        json["claims"]["certificates"]["intermediate_source"],
        "embedded"
    );
    assert_eq!(json["trust_root"], "custom (test only)");
    // The simulated root's public certificates as a --trust-root file work the same.
    let roots = dir.path().join("sim_roots.pem");
    std::fs::write(
        &roots,
        [
            aether_evidence::sim::SNP_ARK_PEM,
            aether_evidence::sim::SNP_ASVK_PEM,
        ]
        .concat(),
    )
    .unwrap();
    assert_eq!(with(&["--trust-root", s(&roots)]).0, 0);
    // AMD's roots do not verify a simulated chain.
    let (code, json, _) = run(&base);
    assert_rejected(code, &json, "chain");
    // The two root options exclude each other.
    let (code, json, _) = with(&["--simulated-root", "--trust-root", s(&roots)]);
    assert_eq!(code, 2);
    assert!(json.is_null());
}
