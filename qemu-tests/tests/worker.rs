//! The worker appliance under QEMU TCG with the simulated TEE
//! (`aether-image boot --sim-tee`'s pieces: the launch measurement computed
//! on the host from exactly what QEMU is given, the simulated PSP on a Unix
//! socket, its virtio-serial port in the guest).
//!
//! The guest's `aether-worker appliance` self-check selects the `sim`
//! provider by itself (no TEE device, the PSP's port present), binds the
//! challenge the host put in `worker.toml` on the data disk, and prints the
//! evidence on the console. The host verifies it with `aether-evidence`
//! against a policy trusting the simulated root and compares the launch
//! measurement inside with the manifest's for that VM shape and with
//! `sev-snp-measure` on the same artifacts; a changed command line gives
//! another measurement, which the manifest does not list.

use aether_evidence::{Evidence, EvidencePolicy, LaunchMeasurement, TrustRoot, verify};
use aether_image::build::fetch_input;
use aether_image::qemu::{BootOptions, plain};
use aether_image::sim_tee::{self, SimLaunch};
use aether_qemu_tests::{
    Vm, build_or_skip, free_port, have_qemu, json_rpc, project_kernel, root, sev_snp_measure,
    static_binaries,
};
use aether_sim_psp::server::{ListenAddr, Server};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(240);
const VCPUS: u32 = 1;
const SNP_CPU: &str = "EPYC-v4";
const MEMORY_MIB: u64 = 2048;

/// The worker image for `tee`, built into the target's temporary
/// directory under a key of its inputs (the static payload and init, the
/// kernel): each test runs in a process of its own, and the first to need
/// an image builds it (under a lock) while the others reuse it (a build
/// compresses the ~20 MB initrd at zstd-19).
fn worker_image(tee: &'static str) -> Option<PathBuf> {
    /// Per TEE: the image directory, or `None` when a prerequisite was missing.
    type Built = Vec<(&'static str, Option<PathBuf>)>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let mut built = BUILT.get_or_init(|| Mutex::new(Vec::new())).lock().unwrap();
    if let Some((_, dir)) = built.iter().find(|(t, _)| *t == tee) {
        return dir.clone();
    }
    let dir = (|| {
        if !have_qemu() {
            return None;
        }
        let kernel = project_kernel()?;
        let bins = static_binaries(&[
            "aether-worker:aether-worker",
            "aether-appliance:aether-init",
        ])?;
        let payload = bins[0].clone();
        let mut key = Sha256::new();
        for file in [&bins[0], &bins[1], &kernel] {
            key.update(std::fs::read(file).unwrap());
        }
        let key = hex::encode(&key.finalize()[..8]);
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("worker-images")
            .join(key);
        std::fs::create_dir_all(&out).unwrap();
        let lock = std::fs::File::create(out.join(format!(".{tee}.lock"))).unwrap();
        lock.lock().unwrap();
        let built = out.join(format!("worker-{tee}"));
        if built.join("manifest.json").is_file() {
            return Some(built);
        }
        build_or_skip("worker", tee, &out, &kernel, Some(&payload), None)
    })();
    built.push((tee, dir.clone()));
    dir
}

fn generic_ovmf() -> Option<PathBuf> {
    match fetch_input(&root(), "ovmf-trixie.fd") {
        Ok(p) => Some(p),
        Err(e) => {
            aether_testkit::missing("ovmf-trixie.fd", &e.to_string());
            None
        }
    }
}

/// An ext4 data disk holding `worker.toml` with the self-check's challenge
/// (and `extra` TOML after it), and `files` (name, bytes).
fn data_disk(
    dir: &Path,
    report_data: &[u8; 64],
    extra: &str,
    files: &[(&str, &[u8])],
) -> Option<PathBuf> {
    let staging = dir.join("data");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(
        staging.join("worker.toml"),
        format!(
            "[self_check]\nreport_data = \"{}\"\n{extra}",
            hex::encode(report_data)
        ),
    )
    .unwrap();
    let mut size: u64 = 64 << 20;
    for (name, bytes) in files {
        let path = staging.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        size += bytes.len() as u64 * 5 / 4;
    }
    let disk = dir.join("data.raw");
    std::fs::File::create(&disk)
        .and_then(|f| f.set_len(size))
        .unwrap();
    let mkfs = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&staging)
        .arg(&disk)
        .output();
    match mkfs {
        Ok(o) if o.status.success() => Some(disk),
        other => {
            aether_testkit::missing(
                "mkfs.ext4 -d",
                &format!("apt-get install e2fsprogs ({other:?})"),
            );
            None
        }
    }
}

/// What one boot gave: the evidence line's JSON, the evidence, and the
/// simulated PSP's log.
struct Attested {
    json: serde_json::Value,
    evidence: Evidence,
    psp_log: Vec<String>,
    boot_to_evidence: Duration,
}

/// Boots `image` with `cmdline` and the simulated PSP of exactly that
/// launch; returns the evidence the guest printed.
fn boot_and_attest(image: &Path, cmdline: &str, report_data: &[u8; 64]) -> Option<Attested> {
    let tmp = tempfile::tempdir().unwrap();
    let disk = data_disk(tmp.path(), report_data, "", &[])?;
    boot_with_disk(image, cmdline, disk, tmp.path()).map(|(a, _vm, _psp)| a)
}

/// Boots `image` with `cmdline`, the data disk `disk` and the simulated PSP
/// of exactly that launch (its socket in `tmp`); returns the evidence the
/// guest printed, the running VM and the PSP server.
fn boot_with_disk(
    image: &Path,
    cmdline: &str,
    disk: PathBuf,
    tmp: &Path,
) -> Option<(Attested, Vm, Server)> {
    let fw = generic_ovmf()?;
    let launch = SimLaunch {
        dir: image.to_path_buf(),
        cmdline: cmdline.to_string(),
        vcpus: VCPUS,
        snp_cpu: SNP_CPU.into(),
        memory_mib: MEMORY_MIB,
        snp_report_version: 5,
    };
    let psp = sim_tee::psp(&launch).unwrap();
    let socket = tmp.join("psp.sock");
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = Arc::clone(&log);
    let server = Server::start(
        psp,
        &ListenAddr::Unix(socket.clone()),
        Arc::new(move |l: &str| log2.lock().unwrap().push(l.to_string())),
    )
    .unwrap();
    let opts = BootOptions {
        vcpus: VCPUS,
        memory_mib: MEMORY_MIB,
        data_disk: Some(disk),
        ..BootOptions::default()
    };
    let mut args = plain(image, cmdline, &fw, &opts);
    args.extend(sim_tee::qemu_args(&socket));
    let start = Instant::now();
    let mut vm = Vm::start(&args);
    vm.wait_for("data: /dev/vda (ext4) on /var/lib/aether", BOOT);
    let line = vm.wait_for("AETHER-EVIDENCE ", BOOT);
    let boot_to_evidence = start.elapsed();
    let json_text = line.split_once("AETHER-EVIDENCE ").unwrap().1;
    let json: serde_json::Value = serde_json::from_str(json_text)
        .unwrap_or_else(|e| vm.fail(&format!("evidence line is not JSON: {e}")));
    let console = vm.console();
    for needle in [
        "self-check: evidence provider sim",
        "configfs-tsm: skipped",
        "sim: used: simulated PSP at virtio:org.aether.sim-psp.0",
    ] {
        assert!(
            console.contains(needle),
            "no {needle:?} on the console:\n{console}"
        );
    }
    let evidence: Evidence = serde_json::from_value(json["evidence"].clone()).unwrap();
    let psp_log = log.lock().unwrap().clone();
    Some((
        Attested {
            json,
            evidence,
            psp_log,
            boot_to_evidence,
        },
        vm,
        server,
    ))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The manifest's SNP launch digest for the booted shape.
fn manifest_snp_digest(m: &serde_json::Value) -> (String, String) {
    let shape = m["measurements"]["snp"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["vcpus"] == VCPUS && s["cpu"] == SNP_CPU && s["vmm"] == "QEMU")
        .expect("the manifest lists the booted shape");
    (
        shape["launch_digest"].as_str().unwrap().to_string(),
        shape["guest_features"].as_str().unwrap().to_string(),
    )
}

fn snp_measurement(e: &Evidence, report_data: &[u8; 64]) -> String {
    let claims = verify(e, &EvidencePolicy::production().with_simulated(), now())
        .expect("simulated evidence verifies under a policy trusting the simulated root");
    assert_eq!(
        &claims.report_data, report_data,
        "the evidence binds the host's challenge"
    );
    assert_eq!(claims.root, TrustRoot::Simulated);
    // A production policy refuses it.
    assert_eq!(
        verify(e, &EvidencePolicy::production(), now())
            .unwrap_err()
            .check(),
        "root_not_allowed"
    );
    match claims.measurement {
        LaunchMeasurement::Snp(d) => hex::encode(d),
        other => panic!("not SNP: {other:?}"),
    }
}

#[test]
fn worker_snp_evidence_matches_the_manifest_and_sev_snp_measure() {
    let Some(dir) = worker_image("snp") else {
        return;
    };
    let m = manifest(&dir);
    let rd: [u8; 64] = std::array::from_fn(|i| i as u8 ^ 0xA5);
    let Some(a) = boot_and_attest(&dir, m["cmdline"].as_str().unwrap(), &rd) else {
        return;
    };
    eprintln!(
        "worker-snp: evidence on the console {:.1?} after QEMU start; the guest's evidence call took {} ms",
        a.boot_to_evidence, a.json["elapsed_ms"]
    );
    assert_eq!(a.json["provider"], "sim");
    assert_eq!(a.json["tee"], "snp");
    assert_eq!(a.json["report_data"], hex::encode(rd));
    let ours = snp_measurement(&a.evidence, &rd);
    let (want, features) = manifest_snp_digest(&m);
    assert_eq!(
        ours, want,
        "the evidence carries the manifest's launch digest"
    );
    let Some(theirs) = sev_snp_measure(
        &dir,
        u64::from(VCPUS),
        SNP_CPU,
        "QEMU",
        &features,
        m["cmdline"].as_str().unwrap(),
    ) else {
        return;
    };
    assert_eq!(ours, theirs, "and sev-snp-measure's on the same artifacts");
    // Report version 5 by default.
    let Evidence::Snp { report, .. } = &a.evidence else {
        unreachable!()
    };
    assert_eq!(u32::from_le_bytes(report[..4].try_into().unwrap()), 5);
    assert!(
        a.psp_log
            .iter()
            .any(|l| l.contains("snp evidence for report data")),
        "{:?}",
        a.psp_log
    );
}

#[test]
fn worker_with_a_changed_cmdline_has_another_measurement() {
    let Some(dir) = worker_image("snp") else {
        return;
    };
    let m = manifest(&dir);
    let changed = format!("{} aether.debug=1", m["cmdline"].as_str().unwrap());
    let rd = [0x5c; 64];
    let Some(a) = boot_and_attest(&dir, &changed, &rd) else {
        return;
    };
    let ours = snp_measurement(&a.evidence, &rd);
    let listed: Vec<&str> = m["measurements"]["snp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["launch_digest"].as_str().unwrap())
        .collect();
    assert!(
        !listed.contains(&ours.as_str()),
        "a changed command line must not measure to any digest the manifest lists"
    );
    // It is what the hardware would measure for that command line.
    let (_, features) = manifest_snp_digest(&m);
    if let Some(theirs) =
        sev_snp_measure(&dir, u64::from(VCPUS), SNP_CPU, "QEMU", &features, &changed)
    {
        assert_eq!(ours, theirs);
    }
}

#[test]
fn worker_tdx_evidence_matches_the_manifest() {
    let Some(dir) = worker_image("tdx") else {
        return;
    };
    let m = manifest(&dir);
    let rd = [0x7d; 64];
    let Some(a) = boot_and_attest(&dir, m["cmdline"].as_str().unwrap(), &rd) else {
        return;
    };
    eprintln!(
        "worker-tdx: evidence on the console {:.1?} after QEMU start; the guest's evidence call took {} ms",
        a.boot_to_evidence, a.json["elapsed_ms"]
    );
    assert_eq!(a.json["tee"], "tdx");
    let claims = verify(
        &a.evidence,
        &EvidencePolicy::production().with_simulated(),
        now(),
    )
    .unwrap();
    assert_eq!(claims.report_data, rd);
    let LaunchMeasurement::Tdx { mrtd, rtmr } = claims.measurement else {
        panic!("not TDX: {:?}", claims.measurement)
    };
    let tdx = &m["measurements"]["tdx"];
    assert_eq!(hex::encode(mrtd), tdx["mrtd"].as_str().unwrap());
    let shape = tdx["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["memory_mib"] == MEMORY_MIB)
        .unwrap();
    assert_eq!(hex::encode(rtmr[1]), shape["rtmr1"].as_str().unwrap());
    assert_eq!(hex::encode(rtmr[2]), shape["rtmr2"].as_str().unwrap());
}

/// A dev node on the host (the static `aether`), which the guest reaches
/// at 10.0.2.2 through QEMU's user network.
struct HostNode {
    aether: PathBuf,
    child: std::process::Child,
    url: String,
    port: u16,
    log: PathBuf,
}

impl HostNode {
    fn start(aether: &Path, dir: &Path) -> HostNode {
        let port = free_port();
        let log = dir.join("node.log");
        let child = std::process::Command::new(aether)
            .args(["node", "--dev", "--data-dir"])
            .arg(dir.join("node"))
            .args(["--rpc-addr", &format!("127.0.0.1:{port}")])
            .args(["--block-time", "200", "--metrics-addr", "off"])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let node = HostNode {
            aether: aether.to_path_buf(),
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while json_rpc(port, "aether_status", serde_json::json!([])).is_err() {
            assert!(
                Instant::now() < deadline,
                "the host node never answered:\n{}",
                std::fs::read_to_string(&node.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        node
    }

    /// `aether --rpc URL --json ARGS`, which must succeed.
    fn cli(&self, args: &[&str]) -> serde_json::Value {
        let out = std::process::Command::new(&self.aether)
            .args(["--rpc", &self.url, "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aether {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// Dev account 3 posts a job of `kind` (`--wasm M --input I` or
    /// `--model ID --tokens F`): 3 AIC max fee, SNP, 600 blocks to its
    /// deadline (TCG is slow). The job id.
    fn post_job(&self, kind: &[&str]) -> String {
        let mut args = vec!["job", "post"];
        args.extend_from_slice(kind);
        args.extend_from_slice(&[
            "--max-fee",
            "3",
            "--deadline-in",
            "600",
            "--tee",
            "snp",
            "--from-dev",
            "3",
        ]);
        self.cli(&args)["job"].as_str().unwrap().to_string()
    }
}

impl Drop for HostNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A host dev node with the worker image `dir`'s measurements registered,
/// a funded worker key and dev account 1 as a provider; boots the worker
/// appliance with `cmdline` and a `[run]` section pointing at the node
/// (with `model`, a model directory, copied onto the data disk, registered
/// on chain and served), posts a WASM job and returns the node, the VM, the
/// PSP, the job id and the model id once the worker started.
fn appliance_with_a_job(
    dir: &Path,
    cmdline: &str,
    tmp: &Path,
    model: Option<&Path>,
) -> Option<(HostNode, Vm, Server, String, Option<String>)> {
    let aether = static_binaries(&["aether-cli:aether"])?.remove(0);
    let node = HostNode::start(&aether, tmp);
    let manifest = dir.join("manifest.json");
    node.cli(&[
        "measurement",
        "register",
        "--manifest",
        manifest.to_str().unwrap(),
        "--governance-key",
        "dev",
        "--from-dev",
        "0",
    ]);
    let key_file = tmp.join("worker.key");
    let key = node.cli(&["keys", "new", "--out", key_file.to_str().unwrap()]);
    let address = key["address"].as_str().unwrap().to_string();
    node.cli(&[
        "tx",
        "transfer",
        "--from-dev",
        "0",
        "--to",
        &address,
        "--amount",
        "50",
    ]);
    let provider = node.cli(&[
        "provider",
        "register",
        "--from-dev",
        "1",
        "--worker-key",
        key_file.to_str().unwrap(),
        "--bond",
        "200",
        "--price",
        "1",
        "--tee",
        "snp",
    ])["provider"]
        .as_str()
        .unwrap()
        .to_string();
    let mut run = format!(
        "[run]\nrpc = \"http://10.0.2.2:{}\"\nprovider_id = \"{provider}\"\n\
         worker_key = \"/var/lib/aether/worker.key\"\nlisten = \"0.0.0.0:8600\"\npoll_ms = 200\n",
        node.port
    );
    let key_bytes = std::fs::read(&key_file).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = vec![("worker.key".into(), key_bytes)];
    let model_id = model.map(|m| {
        // The model is not in the image: it comes on the data disk and is
        // checked against its pinned hashes when the worker loads it.
        for f in aether_infer::MODEL_FILES {
            files.push((
                format!("models/all-minilm-l6-v2/{f}"),
                std::fs::read(m.join(f)).unwrap(),
            ));
        }
        run.push_str("models = [\"/var/lib/aether/models/all-minilm-l6-v2\"]\n");
        let id = node.cli(&[
            "model",
            "register",
            "--dir",
            m.to_str().unwrap(),
            "--governance-key",
            "dev",
            "--from-dev",
            "0",
        ])["model"]
            .as_str()
            .unwrap()
            .to_string();
        node.cli(&[
            "provider",
            "update",
            "--provider",
            &provider,
            "--model",
            &id,
            "--from-dev",
            "1",
        ]);
        id
    });
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let disk = data_disk(tmp, &[0x3c; 64], &run, &refs)?;
    let (_, mut vm, psp) = boot_with_disk(dir, cmdline, disk, tmp)?;
    vm.wait_for("worker started", BOOT);
    let module = tmp.join("fold.wasm");
    std::fs::write(
        &module,
        wat::parse_str(aether_testkit::WASM_FOLD_JOB).unwrap(),
    )
    .unwrap();
    let input = tmp.join("input.bin");
    std::fs::write(&input, b"forty bytes of input for three steps...").unwrap();
    let job = node.post_job(&[
        "--wasm",
        module.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    Some((node, vm, psp, job, model_id))
}

#[test]
fn the_worker_appliance_takes_a_job_from_a_host_node_and_the_chain_accepts_its_receipt() {
    let Some(dir) = worker_image("snp") else {
        return;
    };
    let m = manifest(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let model = aether_testkit::minilm_model_dir();
    let Some((node, mut vm, _psp, job, model_id)) = appliance_with_a_job(
        &dir,
        m["cmdline"].as_str().unwrap(),
        tmp.path(),
        model.as_deref(),
    ) else {
        return;
    };
    let posted = Instant::now();
    vm.wait_for("receipt accepted", BOOT);
    eprintln!(
        "worker-snp appliance: WASM job posted to receipt accepted in {:.1?} (TCG)",
        posted.elapsed()
    );
    // A model job: all-MiniLM-L6-v2 from the data disk, run under TCG.
    if let Some(id) = &model_id {
        let tokens = tmp.path().join("tokens.json");
        std::fs::write(&tokens, "[101, 7592, 2088, 102]").unwrap();
        let model_job = node.post_job(&["--model", id, "--tokens", tokens.to_str().unwrap()]);
        let posted = Instant::now();
        let line = vm.wait_for("receipt accepted", BOOT);
        assert!(line.contains(&model_job), "{line}");
        eprintln!(
            "worker-snp appliance: model job posted to receipt accepted in {:.1?} (TCG)",
            posted.elapsed()
        );
        let r = node.cli(&["job", "receipt", &model_job]);
        assert_eq!(r["segments"], 7, "{r}");
    }
    let status = node.cli(&["job", "status", &job]);
    assert_eq!(status["status"], "receipted", "{status}");
    let r = node.cli(&["job", "receipt", &job]);
    let (want, _) = manifest_snp_digest(&m);
    assert_eq!(
        r["claims"]["measurement"]["measurement"], want,
        "the receipt's evidence carries the manifest's launch digest: {r}"
    );
    assert_eq!(r["claims"]["root"], "simulated");
}

#[test]
fn a_worker_appliance_with_a_changed_cmdline_has_its_receipt_refused() {
    let Some(dir) = worker_image("snp") else {
        return;
    };
    let m = manifest(&dir);
    let changed = format!("{} aether.debug=1", m["cmdline"].as_str().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let Some((node, mut vm, _psp, job, _)) = appliance_with_a_job(&dir, &changed, tmp.path(), None)
    else {
        return;
    };
    let line = vm.wait_for("receipt refused", BOOT);
    assert!(line.contains("unregistered_measurement"), "{line}");
    let status = node.cli(&["job", "status", &job]);
    assert_eq!(status["status"], "assigned", "{status}");
}
