//! `aether-worker attest` and `aether-worker appliance` as a user runs them,
//! against a simulated PSP served by this test (the same service
//! `aether-image sim-psp` runs).

use aether_evidence::{Evidence, EvidencePolicy, LaunchMeasurement, TeeKind, verify};
use aether_sim_psp::server::{ListenAddr, Server, SimPsp};
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKER: &str = env!("CARGO_BIN_EXE_aether-worker");

fn worker(args: &[&str]) -> Output {
    Command::new(WORKER)
        .args(args)
        .output()
        .expect("run aether-worker")
}

fn psp(m: LaunchMeasurement) -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("psp.sock");
    let server = Server::start(
        SimPsp::new(m, "test launch"),
        &ListenAddr::Unix(sock),
        Arc::new(|_: &str| {}),
    )
    .unwrap();
    let addr = server.addr().to_string();
    (dir, server, addr)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn attest_with_the_simulated_psp_prints_verifiable_evidence() {
    let m = [0x33; 48];
    let (_dir, _server, addr) = psp(LaunchMeasurement::Snp(m));
    let rd = "5a".repeat(64);
    let out_dir = tempfile::tempdir().unwrap();
    let out_file = out_dir.path().join("evidence.json");
    // auto: no configfs-tsm or TEE device on the host, so the simulated PSP.
    let o = worker(&[
        "attest",
        "--report-data",
        &rd,
        "--sim-psp",
        &addr,
        "--configfs-root",
        "/nonexistent/tsm/report",
        "--verify",
        "dev",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("evidence provider sim (snp)"), "{stderr}");
    assert!(
        stderr.contains("configfs-tsm: skipped: no /nonexistent/tsm/report"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sim: used: simulated PSP at unix:"),
        "{stderr}"
    );
    assert!(stderr.contains("verified: root simulated"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(v["provider"], "sim");
    assert_eq!(v["tee"], "snp");
    assert_eq!(v["report_data"], rd);
    assert_eq!(v["claims"]["measurement"]["snp"], hex::encode(m));
    // The evidence is aether-evidence's serde form and verifies on its own.
    let e: Evidence = serde_json::from_value(v["evidence"].clone()).unwrap();
    let claims = verify(&e, &EvidencePolicy::production().with_simulated(), now()).unwrap();
    assert_eq!(claims.report_data, [0x5a; 64]);
    assert_eq!(claims.measurement, LaunchMeasurement::Snp(m));

    // --verify production refuses the simulated root, and says which check.
    let o = worker(&[
        "attest",
        "--report-data",
        &rd,
        "--provider",
        "sim",
        "--sim-psp",
        &addr,
        "--verify",
        "production",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("does not verify (root_not_allowed)"),
        "{stderr}"
    );
}

#[test]
fn attest_tdx_to_stdout() {
    let (mrtd, rtmr) = ([1; 48], [[2; 48], [3; 48], [4; 48], [0; 48]]);
    let (_dir, _server, addr) = psp(LaunchMeasurement::Tdx { mrtd, rtmr });
    let o = worker(&[
        "attest",
        "--report-data",
        &"00".repeat(64),
        "--provider",
        "sim",
        "--sim-psp",
        &addr,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tee"], "tdx");
    assert!(v["claims"].is_null());
    let e: Evidence = serde_json::from_value(v["evidence"].clone()).unwrap();
    assert_eq!(e.tee(), TeeKind::Tdx);
    let claims = verify(&e, &EvidencePolicy::production().with_simulated(), now()).unwrap();
    assert_eq!(claims.measurement, LaunchMeasurement::Tdx { mrtd, rtmr });
}

/// Runs `aether-worker attest --report-data 00.. ARGS`, expects exit `code`
/// and `needle` in stderr.
fn attest_fails(args: &[&str], code: i32, needle: &str) {
    let rd = "00".repeat(64);
    let mut all = vec!["attest", "--report-data", rd.as_str()];
    all.extend_from_slice(args);
    let o = worker(&all);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn attest_failures_are_clear() {
    // No provider at all: every reason listed.
    attest_fails(
        &["--configfs-root", "/nonexistent"],
        1,
        "no usable evidence provider",
    );
    attest_fails(
        &["--configfs-root", "/nonexistent"],
        1,
        "sim: skipped: no simulated PSP",
    );
    // A PSP that is not there.
    attest_fails(
        &[
            "--provider",
            "sim",
            "--sim-psp",
            "unix:/nonexistent/psp.sock",
        ],
        1,
        "connecting to the simulated PSP at unix:/nonexistent/psp.sock",
    );
    // An explicit provider that is not usable here.
    attest_fails(
        &["--provider", "sev-guest"],
        1,
        "sev-guest: skipped: no /dev/sev-guest",
    );
    // Bad report data: a usage error.
    let o = worker(&["attest", "--report-data", "abcd"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("64 bytes"));
}

#[test]
fn appliance_self_check_binds_the_configured_challenge() {
    let m = [0x44; 48];
    let (_dir, _server, addr) = psp(LaunchMeasurement::Snp(m));
    let data = tempfile::tempdir().unwrap();
    let rd = "c3".repeat(64);
    std::fs::write(
        data.path().join("worker.toml"),
        format!("[evidence]\nprovider = \"sim\"\nsim_psp = \"{addr}\"\n[self_check]\nreport_data = \"{rd}\"\n"),
    )
    .unwrap();
    let mut child = Command::new(WORKER)
        .args(["appliance", "--data-dir", data.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("an evidence line");
    let json = line.strip_prefix("AETHER-EVIDENCE ").expect("the marker");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let e: Evidence = serde_json::from_value(v["evidence"].clone()).unwrap();
    let claims = verify(&e, &EvidencePolicy::production().with_simulated(), now()).unwrap();
    assert_eq!(hex::encode(claims.report_data), rd);
    // It stays up after the check (the init would restart it otherwise).
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited after {:?}",
        start.elapsed()
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // A bad worker.toml stops it with the file named.
    std::fs::write(
        data.path().join("worker.toml"),
        "[evidence]\nprovider = \"tpm\"\n",
    )
    .unwrap();
    let o = worker(&["appliance", "--data-dir", data.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("worker.toml: unknown evidence provider"),
        "{stderr}"
    );
}
