//! Shared helpers of the QEMU image tests: finding the inputs (QEMU, a
//! kernel, the static binaries), building an image into a temporary
//! directory, and running QEMU with its serial console captured line by line.
//!
//! Missing prerequisites skip a test locally and fail it under `CI=true`
//! (`aether_testkit::missing`). Every boot failure panics with the whole
//! console log attached.

use aether_image::build::{Builder, Overrides, fetch_input};
use aether_image::defs::Defs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The QEMU binary the tests use.
pub const QEMU: &str = "qemu-system-x86_64";

/// The repository root.
pub fn root() -> PathBuf {
    aether_testkit::workspace_root()
}

/// True when `program --version` runs; reports (skip or CI failure) otherwise.
fn have_tool(program: &str, hint: &str) -> bool {
    let ok = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        aether_testkit::missing(program, hint);
    }
    ok
}

/// True when `qemu-system-x86_64` runs; reports (skip or CI failure) otherwise.
pub fn have_qemu() -> bool {
    have_tool(
        QEMU,
        "apt-get install -t bookworm-backports qemu-system-x86 (scripts/setup does)",
    )
}

/// True when `swtpm` runs; reports otherwise.
pub fn have_swtpm() -> bool {
    have_tool("swtpm", "apt-get install swtpm swtpm-tools")
}

/// The project kernel: `$AETHER_KERNEL`, or `kernel-config/build-kernel`'s
/// result. Outside CI the script runs only when its cache already holds a
/// kernel (a cold build takes about 10 minutes); otherwise the test skips.
pub fn project_kernel() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("AETHER_KERNEL") {
        return Some(PathBuf::from(k));
    }
    let cache = std::env::var_os("AETHER_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/aether")))
        .unwrap_or_default();
    let cached = std::fs::read_dir(cache.join("kernel"))
        .map(|d| d.flatten().any(|e| e.path().join("bzImage").is_file()))
        .unwrap_or(false);
    if !cached && !aether_testkit::in_ci() {
        aether_testkit::missing(
            "a built project kernel",
            "run kernel-config/build-kernel (about 10 minutes) or set AETHER_KERNEL",
        );
        return None;
    }
    let out = Command::new(root().join("kernel-config/build-kernel"))
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|o| o.status.success());
    let path = out.and_then(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .map(|l| PathBuf::from(l.trim()))
    });
    if path.is_none() {
        aether_testkit::missing("the project kernel", "kernel-config/build-kernel failed");
    }
    path
}

/// A kernel for tests that need no built-in virtio-net (the project kernel if
/// present, else the pinned Debian cloud kernel of `inputs.lock`).
pub fn any_kernel() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("AETHER_KERNEL") {
        return Some(PathBuf::from(k));
    }
    match fetch_input(&root(), "vmlinuz-6.1.0-56-cloud-amd64") {
        Ok(p) => Some(p),
        Err(e) => {
            aether_testkit::missing("the pinned Debian kernel", &e.to_string());
            None
        }
    }
}

/// Static binaries built by `images/build-static`, in the order asked.
pub fn static_binaries(specs: &[&str]) -> Option<Vec<PathBuf>> {
    match aether_image::build::build_static(&root(), specs) {
        Ok(paths) => Some(paths),
        Err(e) => {
            aether_testkit::missing(
                &format!("static binaries {}", specs.join(" ")),
                &format!("images/build-static failed: {e}"),
            );
            None
        }
    }
}

/// Builds image `name` for `tee` into `out` with the given kernel and
/// payload, the static `aether-init`, the pinned stub and the profile's
/// firmware (or `firmware`).
pub fn build_image(
    name: &str,
    tee: &str,
    out: &Path,
    kernel: &Path,
    payload: Option<&Path>,
    firmware: Option<&Path>,
) -> aether_image::Result<PathBuf> {
    let init = static_binaries(&["aether-appliance:aether-init"]).ok_or_else(|| {
        aether_image::Error::MissingInput {
            what: "aether-init".into(),
            hint: "images/build-static failed".into(),
        }
    })?;
    let builder = Builder {
        root: root(),
        defs: Defs::new(root().join("images/defs")),
        overrides: Overrides {
            kernel: Some(kernel.to_path_buf()),
            stub: None,
            firmware: firmware.map(Path::to_path_buf),
            init: Some(init[0].clone()),
            payload: payload.map(Path::to_path_buf),
        },
    };
    builder.build(name, tee, out)
}

/// sha256 (hex) of every file in `dir`, sorted by name.
pub fn dir_hashes(dir: &Path) -> Vec<(String, String)> {
    use sha2::{Digest, Sha256};
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("image directory")
        .flatten()
        .map(|e| {
            let data = std::fs::read(e.path()).expect("artifact");
            (
                e.file_name().to_string_lossy().into_owned(),
                hex::encode(Sha256::digest(&data)),
            )
        })
        .collect();
    v.sort();
    v
}

/// A running QEMU with its console captured.
pub struct Vm {
    child: Child,
    lines: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Vm {
    /// Starts QEMU with `args`; stdout (the serial console) and stderr are captured.
    pub fn start(args: &[String]) -> Vm {
        let mut child = Command::new(QEMU)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start qemu");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                    let line = String::from_utf8_lossy(&line).trim_end().to_string();
                    log.lock().expect("log").push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        Vm {
            child,
            lines: rx,
            log,
        }
    }

    /// The console so far.
    pub fn console(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// Panics with the console attached.
    pub fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(200));
        panic!(
            "{why}\n----- console -----\n{}\n-------------------",
            self.console()
        );
    }

    /// Waits for a console line containing `needle`; returns that line.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                    "no console line with {needle:?} within {timeout:?}"
                )),
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("QEMU exited before printing {needle:?}"))
                }
            }
        }
    }

    /// Waits for QEMU to exit by itself (the guest powered off).
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                self.fail(&format!("QEMU still running after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A software TPM 2.0 (`swtpm`) with the SHA-256 and SHA-384 PCR banks
/// active, serving QEMU's `tpm-emulator` on a Unix socket; stopped on drop.
pub struct Swtpm {
    child: Child,
    socket: PathBuf,
    _state: tempfile::TempDir,
}

impl Swtpm {
    /// Manufactures a fresh TPM state (`swtpm_setup`) and starts `swtpm`.
    pub fn start() -> Swtpm {
        let state = tempfile::tempdir().expect("swtpm state dir");
        let setup = Command::new("swtpm_setup")
            .args(["--tpm2", "--pcr-banks", "sha256,sha384", "--tpmstate"])
            .arg(state.path())
            .output()
            .expect("run swtpm_setup");
        assert!(
            setup.status.success(),
            "swtpm_setup failed: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let socket = state.path().join("swtpm.sock");
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--flags", "startup-clear", "--tpmstate"])
            .arg(format!("dir={}", state.path().display()))
            .arg("--ctrl")
            .arg(format!("type=unixio,path={}", socket.display()))
            .stdout(Stdio::null())
            .spawn()
            .expect("start swtpm");
        let t = Instant::now();
        while !socket.exists() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(socket.exists(), "swtpm did not create {}", socket.display());
        Swtpm {
            child,
            socket,
            _state: state,
        }
    }

    /// The control socket, for `BootOptions::tpm_socket`.
    pub fn socket(&self) -> String {
        self.socket.display().to_string()
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PCR values by (index, bank), as `aether-init` prints them.
pub type Pcrs = std::collections::BTreeMap<(u32, String), String>;

/// Boots QEMU with `args` until `aether-init` has reported the TPM (it does
/// so before the sealing step) and returns the PCRs it printed: those of
/// PCRs 0-15 that were extended, in the SHA-256 and SHA-384 banks.
pub fn boot_pcrs(args: &[String], timeout: Duration) -> Pcrs {
    let mut vm = Vm::start(args);
    vm.wait_for("aether-init: sealing:", timeout);
    let mut pcrs = Pcrs::new();
    for line in vm.console().lines() {
        let Some(rest) = line.split_once("aether-init: tpm: pcr").map(|(_, r)| r) else {
            continue;
        };
        let parsed = rest.split_once(' ').and_then(|(n, bv)| {
            let (bank, value) = bv.split_once('=')?;
            Some((n.parse::<u32>().ok()?, bank.to_string(), value.to_string()))
        });
        match parsed {
            Some((n, bank, value)) => {
                pcrs.insert((n, bank), value);
            }
            None => vm.fail(&format!("unreadable PCR line {line:?}")),
        }
    }
    pcrs
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One JSON-RPC 2.0 call over HTTP/1.1 to `127.0.0.1:port`; the parsed response.
pub fn json_rpc(
    port: u16,
    method: &str,
    params: serde_json::Value,
) -> std::io::Result<serde_json::Value> {
    json_rpc_within(port, method, params, Duration::from_secs(10))
}

/// [`json_rpc`] waiting at most `timeout` for the answer. QEMU's user
/// network accepts the host side of a forwarded connection at once and holds
/// it while nothing listens in the guest: pollers use a short timeout.
pub fn json_rpc_within(
    port: u16,
    method: &str,
    params: serde_json::Value,
    timeout: Duration,
) -> std::io::Result<serde_json::Value> {
    use std::io::{Read, Write};
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let json = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or_else(|| std::io::Error::other("no HTTP body"))?;
    serde_json::from_str(json).map_err(std::io::Error::other)
}

/// Builds `name`-`tee` into `out`, or reports a missing input (skip locally,
/// fail under CI) and returns `None`. Other errors panic.
pub fn build_or_skip(
    name: &str,
    tee: &str,
    out: &Path,
    kernel: &Path,
    payload: Option<&Path>,
    firmware: Option<&Path>,
) -> Option<PathBuf> {
    match build_image(name, tee, out, kernel, payload, firmware) {
        Ok(dir) => Some(dir),
        Err(aether_image::Error::MissingInput { what, hint }) => {
            aether_testkit::missing(&what, &hint);
            None
        }
        Err(e) => panic!("building {name}-{tee}: {e}"),
    }
}

/// The static `aether-measure`, the payload of the test images.
pub fn measure_payload() -> Option<PathBuf> {
    static_binaries(&["aether-measure:aether-measure"]).map(|mut v| v.remove(0))
}

/// The SNP launch digest `sev-snp-measure` 0.0.13 computes for image `dir`'s
/// firmware, kernel and initrd with `cmdline` and the VM shape (`None` when
/// the tool is missing, after reporting). Panics when the tool fails.
pub fn sev_snp_measure(
    dir: &Path,
    vcpus: u64,
    cpu: &str,
    vmm: &str,
    guest_features: &str,
    cmdline: &str,
) -> Option<String> {
    let tool = aether_testkit::sev_snp_measure()?;
    let o = Command::new(&tool)
        .args(["--mode", "snp", "--vcpus"])
        .arg(vcpus.to_string())
        .args(["--vcpu-type", cpu, "--vmm-type", vmm])
        .args(["--guest-features", guest_features])
        .arg("--ovmf")
        .arg(dir.join("OVMF.amdsev.fd"))
        .arg("--kernel")
        .arg(dir.join("vmlinuz"))
        .arg("--initrd")
        .arg(dir.join("initrd.cpio.zst"))
        .args(["--append", cmdline])
        .output()
        .expect("run sev-snp-measure");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(String::from_utf8_lossy(&o.stdout).trim().to_string())
}
