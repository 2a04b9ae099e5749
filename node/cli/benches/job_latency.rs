//! Job latency: from `aether job post` submitting a job to the worker's
//! receipt accepted on chain, with a real `aether node --dev` (500 ms
//! blocks by default) and a real `aether-worker run` process (evidence from
//! a simulated PSP served here). WASM jobs (the FNV fold of the tests) and,
//! when the pinned model is present, all-MiniLM-L6-v2 jobs of 12 tokens.
//!
//! Prints p50/max of post-to-receipt latency and, as the reference, the
//! floor the chain imposes: the job is assigned in block h and the receipt
//! can be included at the earliest in block h + 1, so two block intervals
//! from a submission made just after a block.
//!
//! `cargo bench -p aether-cli --bench job_latency` (release; needs the
//! workspace built: `aether-worker` is taken from beside `aether`).
//! Environment: `AETHER_JOBS` (default 10 per kind), `AETHER_BLOCK_MS`
//! (default 500).

#[path = "../tests/common/mod.rs"]
mod common;

use common::market::*;
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Posts `n` jobs one after the other with `post` and times each to
/// `receipted`.
fn measure(node: &NodeProcess, n: u64, post: &dyn Fn() -> String, log: &Path) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let job = post();
        loop {
            if node.cli_json(&["job", "status", &job])["status"] == "receipted" {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "job {job} never receipted; worker log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        times.push(t.elapsed());
    }
    times.sort();
    times
}

fn report(what: &str, times: &[Duration]) {
    println!(
        "{what}: {} jobs, post to receipt accepted p50 {:.0} ms, max {:.0} ms",
        times.len(),
        percentile(times, 0.5).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3
    );
}

fn main() {
    let n = env("AETHER_JOBS", 10);
    let block_ms = env("AETHER_BLOCK_MS", 500);
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(
        &dir.path().join("data"),
        &NodeOptions {
            block_time_ms: block_ms,
            ..NodeOptions::default()
        },
    );
    let manifest = dir.path().join("manifest.json");
    write_manifest(&manifest);
    register_worker_image(&node, &manifest);
    let worker = dev_account_key(2);
    let (provider, _) = register_provider(&node, &worker, "64");
    let key = dir.path().join("worker.key");
    std::fs::write(&key, hex::encode(worker.secret_bytes())).unwrap();
    let _psp = aether_sim_psp::server::Server::start(
        aether_sim_psp::server::SimPsp::new(
            aether_evidence::LaunchMeasurement::Snp(WORKER_MEASUREMENT),
            "latency bench",
        ),
        &aether_sim_psp::server::ListenAddr::Unix(dir.path().join("psp.sock")),
        Arc::new(|_: &str| {}),
    )
    .unwrap();
    let model = aether_testkit::minilm_model_dir();
    let model_id = model
        .as_ref()
        .map(|m| register_model(&node, m, &provider, false));
    let worker_bin = Path::new(env!("CARGO_BIN_EXE_aether")).with_file_name("aether-worker");
    let data = dir.path().join("worker");
    let log = dir.path().join("worker.log");
    let mut cmd = Command::new(&worker_bin);
    cmd.args(["run", "--rpc", &node.rpc_url, "--provider-id", &provider])
        .arg("--worker-key")
        .arg(&key)
        .arg("--data-dir")
        .arg(&data)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--poll-ms",
            "20",
            "--provider",
            "sim",
        ])
        .arg("--sim-psp")
        .arg(format!("unix:{}", dir.path().join("psp.sock").display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    if let Some(m) = &model {
        cmd.arg("--model-dir").arg(m);
    }
    let mut child = cmd
        .spawn()
        .expect("aether-worker (build the workspace first)");
    while !data.join("http.addr").exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ready once its first round is reported (models and the KZG setup loaded).
    let status = format!(
        "http://{}/status",
        std::fs::read_to_string(data.join("http.addr")).unwrap()
    );
    while !http_get(&status).unwrap_or_default().contains("nextHeight") {
        std::thread::sleep(Duration::from_millis(50));
    }

    let module = dir.path().join("fold.wasm");
    std::fs::write(
        &module,
        wat::parse_str(aether_testkit::WASM_FOLD_JOB).unwrap(),
    )
    .unwrap();
    let input = dir.path().join("input.bin");
    std::fs::write(&input, b"forty bytes of input for three steps...").unwrap();
    let wasm = measure(
        &node,
        n,
        &|| post_wasm(&node, &module, &input, "200").1,
        &log,
    );
    println!(
        "block interval {block_ms} ms: floor (assignment block + receipt block) about {} ms",
        2 * block_ms
    );
    report("WASM (FNV fold, 3 segments)", &wasm);
    if let Some(id) = &model_id {
        let tokens = dir.path().join("tokens.json");
        std::fs::write(
            &tokens,
            "[101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102]",
        )
        .unwrap();
        let post = || post_model(&node, id, &tokens);
        report(
            "all-MiniLM-L6-v2 (12 tokens, 7 segments)",
            &measure(&node, n, &post, &log),
        );
    } else {
        println!("all-MiniLM-L6-v2: model not present (scripts/setup fetches it): skipped");
    }
    let _ = child.kill();
    let _ = child.wait();
}
