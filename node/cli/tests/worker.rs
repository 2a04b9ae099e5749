//! The worker process against a real `aether node --dev`: `aether-worker
//! run` takes the jobs the chain assigns to its provider, runs them, gets
//! simulated SNP evidence from a simulated PSP (this test serves it) and
//! submits receipts the chain accepts and settles; a worker killed with
//! SIGKILL mid-job resumes from its data directory and delivers; a job it
//! cannot run gets no receipt and is refunded; and `aether-worker watch`
//! catches a cheating worker (`--cheat`, test builds) and has it slashed.
//!
//! The `aether-worker` binary is the one built next to `aether` (a
//! workspace build: `cargo build --release --workspace --all-targets`).

mod common;

use aether_crypto::ed25519::Keypair;
use aether_sim_psp::server::{ListenAddr, Server, SimPsp};
use common::market::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn worker_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_aether")).with_file_name("aether-worker");
    assert!(
        bin.is_file(),
        "{} is missing: build the workspace (cargo build --release --workspace --all-targets)",
        bin.display()
    );
    bin
}

/// A simulated PSP reporting the registered worker measurement, on a
/// unix socket in `dir`.
fn psp(dir: &Path) -> Server {
    Server::start(
        SimPsp::new(
            aether_evidence::LaunchMeasurement::Snp(WORKER_MEASUREMENT),
            "worker test",
        ),
        &ListenAddr::Unix(dir.join("psp.sock")),
        Arc::new(|_: &str| {}),
    )
    .unwrap()
}

struct WorkerProcess {
    child: Child,
    data_dir: PathBuf,
    log: PathBuf,
    url: String,
}

impl WorkerProcess {
    fn spawn(args: &[&str], data_dir: &Path) -> WorkerProcess {
        let log = data_dir.with_extension("log");
        let _ = std::fs::remove_file(data_dir.join("http.addr"));
        let child = Command::new(worker_bin())
            .args(args)
            .args(["--data-dir", data_dir.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0", "--poll-ms", "50"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut w = WorkerProcess {
            child,
            data_dir: data_dir.to_path_buf(),
            log,
            url: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(addr) = std::fs::read_to_string(data_dir.join("http.addr")) {
                w.url = format!("http://{addr}");
                return w;
            }
            if let Ok(Some(status)) = w.child.try_wait() {
                panic!("aether-worker exited ({status}):\n{}", w.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "worker never served:\n{}",
                w.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn state(&self) -> Value {
        std::fs::read(self.data_dir.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    }

    fn get(&self, path: &str) -> String {
        http_get(&format!("{}{path}", self.url)).unwrap()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The worker's command line for `provider` with `key_file`, evidence
/// from the simulated PSP in `psp_dir`.
fn run_args<'a>(
    node: &'a NodeProcess,
    provider: &'a str,
    key_file: &'a str,
    psp_addr: &'a str,
) -> Vec<&'a str> {
    vec![
        "run",
        "--rpc",
        &node.rpc_url,
        "--provider-id",
        provider,
        "--worker-key",
        key_file,
        "--provider",
        "sim",
        "--sim-psp",
        psp_addr,
    ]
}

/// `aether-worker watch` from height 0 against `worker_url`, its log in `log`.
fn watchtower(
    node: &NodeProcess,
    key_file: &str,
    worker_url: &str,
    extra: &[&str],
    log: &Path,
) -> Child {
    Command::new(worker_bin())
        .args(["watch", "--rpc", &node.rpc_url, "--key", key_file])
        .args([
            "--worker-url",
            worker_url,
            "--from-height",
            "0",
            "--poll-ms",
            "50",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn write_key(path: &Path, key: &Keypair) -> String {
    std::fs::write(path, hex::encode(key.secret_bytes())).unwrap();
    path.to_str().unwrap().to_string()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool, log: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "{what} never happened:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Setup {
    dir: tempfile::TempDir,
    node: NodeProcess,
    provider: String,
    key_file: String,
    psp_addr: String,
    module: PathBuf,
    input: PathBuf,
}

/// A dev node with the worker image registered and dev account 1 a
/// provider whose worker key is dev account 2's.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("data"), &NodeOptions::default());
    let manifest = dir.path().join("manifest.json");
    write_manifest(&manifest);
    register_worker_image(&node, &manifest);
    let worker = dev_account_key(2);
    let (provider, _) = register_provider(&node, &worker, "4");
    let key_file = write_key(&dir.path().join("worker.key"), &worker);
    let module = dir.path().join("fold.wasm");
    std::fs::write(
        &module,
        wat::parse_str(aether_testkit::WASM_FOLD_JOB).unwrap(),
    )
    .unwrap();
    let input = dir.path().join("input.bin");
    std::fs::write(&input, b"forty bytes of input for three steps...").unwrap();
    let psp_addr = format!("unix:{}", dir.path().join("psp.sock").display());
    Setup {
        dir,
        node,
        provider,
        key_file,
        psp_addr,
        module,
        input,
    }
}

#[test]
fn the_worker_runs_assigned_jobs_and_its_receipts_are_accepted_and_settled() {
    let s = setup();
    let _psp = psp(s.dir.path());
    let args = run_args(&s.node, &s.provider, &s.key_file, &s.psp_addr);
    let w = WorkerProcess::spawn(&args, &s.dir.path().join("worker"));

    let payout_before = balance(&s.node, &dev_account_key(1));
    let (job, text) = post_wasm(&s.node, &s.module, &s.input, "200");
    let client_after_post = balance(&s.node, &dev_account_key(3));
    let receipted = wait_status(&s.node, &text, "receipted");
    assert_eq!(receipted["provider"], s.provider);
    let r = s.node.cli_json(&["job", "receipt", &text]);
    assert_eq!(
        r["claims"]["measurement"]["measurement"]
            .as_str()
            .map(str::to_string),
        Some(hex::encode(WORKER_MEASUREMENT)),
        "{r}"
    );
    assert_eq!(
        r["workerKey"],
        hex::encode(dev_account_key(2).public_key().0)
    );

    // The checkpoints the worker serves are the receipt's trace, and
    // `aether job challenge` with them finds nothing to challenge.
    let served = w.get(&format!("/jobs/{text}/checkpoints"));
    let file = s.dir.path().join("served.json");
    std::fs::write(&file, &served).unwrap();
    let out = s.node.cli(&[
        "job",
        "challenge",
        &text,
        "--checkpoints",
        file.to_str().unwrap(),
        "--from-dev",
        "5",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing to challenge"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Settlement after the window: the client gets max fee − price back,
    // the provider's payout the price less the 10 % burn.
    wait_status(&s.node, &text, "settled");
    assert_eq!(
        balance(&s.node, &dev_account_key(3)),
        client_after_post + 2 * AIC
    );
    assert_eq!(
        balance(&s.node, &dev_account_key(1)),
        payout_before + AIC - AIC / 10
    );
    let _ = job;

    // An output above the receipt's inline limit: the worker publishes it
    // on its endpoint, the receipt carries its hash, size and location,
    // and `aether job result --out` fetches it and checks the hash.
    let big = s.dir.path().join("big.wasm");
    let big_module = wat::parse_str(BIG_OUTPUT_JOB).unwrap();
    std::fs::write(&big, &big_module).unwrap();
    let (_, big_text) = post_wasm(&s.node, &big, &s.input, "200");
    wait_status(&s.node, &big_text, "receipted");
    let result = s.node.cli_json(&["job", "result", &big_text]);
    assert_eq!(result["output"]["inline"], Value::Null, "{result}");
    assert_eq!(
        result["output"]["location"],
        format!("{}/jobs/{big_text}/output", w.url),
        "{result}"
    );
    let expected = aether_infer::WasmJob::new(&big_module, aether_infer::WasmLimits::default())
        .unwrap()
        .run(&std::fs::read(&s.input).unwrap())
        .unwrap()
        .checkpoints
        .pop()
        .unwrap();
    assert!(expected.len() > aether_types::MAX_INLINE_DATA);
    assert_eq!(result["output"]["size"], expected.len());
    let out_file = s.dir.path().join("big.out");
    let out = s.node.cli(&[
        "job",
        "result",
        &big_text,
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&out_file).unwrap(), expected);

    // A job the worker cannot run (a module whose step never returns runs
    // out of fuel) gets no receipt: the worker says why, the chain refunds
    // the client at the deadline. Never a hang.
    let spin = s.dir.path().join("spin.wasm");
    std::fs::write(&spin, wat::parse_str(SPIN_JOB).unwrap()).unwrap();
    let (_, bad) = post_wasm(&s.node, &spin, &s.input, "30");
    wait_for(
        "the unrunnable job marked failed",
        || w.state()["jobs"][&bad]["state"] == "failed",
        &|| w.log_text(),
    );
    let detail = w.state()["jobs"][&bad]["detail"].to_string();
    assert!(detail.contains("fuel"), "{detail}");
    let refunded = wait_status(&s.node, &bad, "refunded");
    assert_eq!(refunded["refundReason"], "expired", "{refunded}");

    let metrics = w.get("/metrics");
    assert!(
        metrics.contains("aether_worker_jobs_done_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aether_worker_jobs_failed_total 1"),
        "{metrics}"
    );
    let status: Value = serde_json::from_str(&w.get("/status")).unwrap();
    assert_eq!(status["submitted"], 2, "{status}");
    assert_eq!(status["failed"], 1, "{status}");

    // `aether-worker status` reads the same from the data directory.
    let out = Command::new(worker_bin())
        .args(["status", "--json", "--data-dir"])
        .arg(&w.data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["jobs"][&text]["state"], "submitted", "{st}");
    assert_eq!(st["jobs"][&bad]["state"], "failed", "{st}");
    assert_eq!(st["endpoint"], w.url.as_str());
    let out = Command::new(worker_bin())
        .args(["status", "--data-dir"])
        .arg(s.dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no worker state here"));
}

/// A step-ABI module whose one step writes a 100,000-byte output (above
/// the 64 KiB a receipt carries inline).
const BIG_OUTPUT_JOB: &str = r#"(module
  (memory (export "memory") 2)
  (global (export "io") i32 (i32.const 0))
  (func (export "step") (result i32)
    (local $i i32)
    (i32.store (i32.const 0) (i32.const 100000))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.const 100000)))
        (i32.store (i32.add (i32.const 4) (local.get $i))
                   (i32.mul (local.get $i) (i32.const 0x9e3779b1)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l)))
    (i32.const 1)))"#;

/// A step-ABI module whose `step` loops forever: every run ends out of fuel.
const SPIN_JOB: &str = r#"(module
  (memory (export "memory") 1)
  (global (export "io") i32 (i32.const 1024))
  (func (export "step") (result i32) (loop $l (br $l)) (i32.const 0)))"#;

/// Model jobs: the worker serves all-MiniLM-L6-v2; its receipt's output is
/// the embedding checkpoint `aether-worker infer` computes for the same
/// tokens. A worker cheating from layer 3 on is challenged by the
/// watchtower; the node (the model in its store) re-executes layer 3 and
/// slashes it.
#[test]
fn model_jobs_are_served_and_a_wrong_layer_is_caught() {
    let Some(model_dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let s = setup();
    let _psp = psp(s.dir.path());
    let model = register_model(&s.node, &model_dir, &s.provider, true);
    let model_dir = model_dir.to_str().unwrap();
    let tokens_file = s.dir.path().join("tokens.json");
    std::fs::write(&tokens_file, "[101, 7592, 2088, 102]").unwrap();
    let tokens = tokens_file.to_str().unwrap();
    let post = || post_model(&s.node, &model, &tokens_file);

    // Honest: the receipt's output is the embedding checkpoint.
    let mut args = run_args(&s.node, &s.provider, &s.key_file, &s.psp_addr);
    args.extend(["--model-dir", model_dir]);
    let honest = WorkerProcess::spawn(&args, &s.dir.path().join("honest"));
    let job = post();
    wait_status(&s.node, &job, "receipted");
    let r = s.node.cli_json(&["job", "receipt", &job]);
    let local = Command::new(worker_bin())
        .args([
            "infer",
            "--model-dir",
            model_dir,
            "--tokens",
            tokens,
            "--json",
        ])
        .output()
        .unwrap();
    let local: Value = serde_json::from_slice(&local.stdout).unwrap();
    let checkpoints = local["checkpoints"].as_array().unwrap();
    assert_eq!(
        r["segments"].as_u64().unwrap() as usize,
        checkpoints.len() - 1
    );
    assert_eq!(r["traceRoot"], local["trace_root"], "{r}");
    let output = hex::decode(r["output"]["inline"].as_str().unwrap()).unwrap();
    assert_eq!(
        hex::encode(aether_infer::checkpoint_hash(&output)),
        checkpoints.last().unwrap()["hash"].as_str().unwrap()
    );
    drop(honest);

    // Cheating from layer 3 on, watched.
    args.extend(["--cheat", "3"]);
    let cheat = WorkerProcess::spawn(&args, &s.dir.path().join("cheat"));
    let watcher_key = write_key(&s.dir.path().join("watcher.key"), &dev_account_key(5));
    let watch_log = s.dir.path().join("watch.log");
    let mut tower = watchtower(
        &s.node,
        &watcher_key,
        &cheat.url,
        &["--model-dir", model_dir],
        &watch_log,
    );
    let job = post();
    wait_for(
        "the cheating model receipt refunded by a challenge",
        || s.node.cli_json(&["job", "status", &job])["status"] == "refunded",
        &|| {
            format!(
                "worker:\n{}\nwatchtower:\n{}",
                cheat.log_text(),
                std::fs::read_to_string(&watch_log).unwrap_or_default()
            )
        },
    );
    let _ = tower.kill();
    let _ = tower.wait();
    let r = s.node.cli_json(&["job", "receipt", &job]);
    assert_eq!(r["challenges"][0]["segment"], 3, "{r}");
    assert_eq!(r["challenges"][0]["upheld"], true, "{r}");
}

#[test]
fn a_worker_killed_mid_job_resumes_from_its_data_directory() {
    let s = setup();
    let psp_server = psp(s.dir.path());
    let args = run_args(&s.node, &s.provider, &s.key_file, &s.psp_addr);
    let data = s.dir.path().join("worker");
    let first = WorkerProcess::spawn(&args, &data);
    // The TEE stops answering: the worker takes the job, runs it, saves
    // its checkpoints, and cannot get evidence; it is killed right there.
    drop(psp_server);
    let (_, text) = post_wasm(&s.node, &s.module, &s.input, "400");
    wait_for(
        "the job taken with its checkpoints saved",
        || {
            first.state()["jobs"][&text]["state"] == "taken"
                && data
                    .join("jobs")
                    .join(&text)
                    .join("checkpoints.json")
                    .is_file()
        },
        &|| first.log_text(),
    );
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert_eq!(
        s.node.cli_json(&["job", "status", &text])["status"],
        "assigned"
    );

    let _psp = psp(s.dir.path());
    let second = WorkerProcess::spawn(&args, &data);
    let j = wait_status(&s.node, &text, "receipted");
    assert!(j["receiptAt"].as_u64().unwrap() <= j["deadline"].as_u64().unwrap());
    wait_for(
        "the job recorded as submitted",
        || second.state()["jobs"][&text]["state"] == "submitted",
        &|| second.log_text(),
    );
}

#[test]
fn the_watchtower_catches_a_cheating_worker_and_it_is_slashed() {
    let s = setup();
    let _psp = psp(s.dir.path());
    let mut args = run_args(&s.node, &s.provider, &s.key_file, &s.psp_addr);
    args.extend(["--cheat", "2"]);
    let w = WorkerProcess::spawn(&args, &s.dir.path().join("worker"));
    let watcher = dev_account_key(5);
    let watcher_key = write_key(&s.dir.path().join("watcher.key"), &watcher);
    let watch_log = s.dir.path().join("watch.log");
    let mut tower = watchtower(&s.node, &watcher_key, &w.url, &[], &watch_log);
    let watcher_before = balance(&s.node, &watcher);
    let (_, text) = post_wasm(&s.node, &s.module, &s.input, "200");
    let log = || {
        format!(
            "worker:\n{}\nwatchtower:\n{}",
            w.log_text(),
            std::fs::read_to_string(&watch_log).unwrap_or_default()
        )
    };
    wait_for(
        "the cheating receipt refunded by a challenge",
        || s.node.cli_json(&["job", "status", &text])["status"] == "refunded",
        &log,
    );
    let _ = tower.kill();
    let _ = tower.wait();
    let p = s.node.cli_json(&["provider", "status", &s.provider]);
    assert_ne!(p["slashed"], "0", "{p}");
    let r = s.node.cli_json(&["job", "receipt", &text]);
    assert_eq!(r["challenges"][0]["upheld"], true, "{r}");
    assert!(
        balance(&s.node, &watcher) > watcher_before,
        "the watchtower earns its reward: {}",
        log()
    );
}
