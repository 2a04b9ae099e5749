//! Boots the images under QEMU TCG with the exact kernel, initrd and command
//! line of their manifest (generic OVMF: the TEE firmware cannot run without
//! the hardware) and drives them from outside. Timings are printed, never
//! asserted.

use aether_image::build::fetch_input;
use aether_image::qemu::{BootOptions, plain};
use aether_qemu_tests::{
    Vm, any_kernel, build_or_skip, free_port, have_qemu, have_swtpm, json_rpc, measure_payload,
    project_kernel, root, static_binaries,
};
use std::path::Path;
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(240);

fn generic_ovmf() -> Option<std::path::PathBuf> {
    match fetch_input(&root(), "ovmf-trixie.fd") {
        Ok(p) => Some(p),
        Err(e) => {
            aether_testkit::missing("ovmf-trixie.fd", &e.to_string());
            None
        }
    }
}

fn boot_args(dir: &Path, fw: &Path, opts: &BootOptions) -> Vec<String> {
    let info = aether_image::manifest::load_and_verify(dir).unwrap();
    plain(dir, &info.cmdline, fw, opts)
}

/// The appliance starts the payload, prefixes its output, restarts it with
/// back-off and powers the VM off after the last allowed failure.
#[test]
fn smoke_image_supervises_and_powers_off() {
    if !have_qemu() {
        return;
    }
    let (Some(kernel), Some(payload), Some(fw)) = (any_kernel(), measure_payload(), generic_ovmf())
    else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let Some(dir) = build_or_skip("smoke", "tdx", out.path(), &kernel, Some(&payload), None) else {
        return;
    };
    let opts = BootOptions {
        net: None,
        ..BootOptions::default()
    };
    let start = Instant::now();
    let mut vm = Vm::start(&boot_args(&dir, &fw, &opts));
    vm.wait_for("aether-init: aether-init", BOOT);
    vm.wait_for("net: off", BOOT);
    vm.wait_for("sealing: EPHEMERAL", BOOT);
    vm.wait_for("[aether-measure] aether-measure", BOOT);
    eprintln!(
        "smoke: payload output {:.1?} after QEMU start",
        start.elapsed()
    );
    vm.wait_for("powering off: payload failed 3 times in a row", BOOT);
    let status = vm.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "QEMU exit status {status}");
    // Each run's output reaches the console before the supervisor reports
    // its exit (the supervisor drains the output pipes first), and the
    // back-off doubles from 100 ms up to the 200 ms cap.
    let console = vm.console();
    let expected = [
        "aether-init: started aether-measure",
        "[aether-measure] aether-measure",
        "aether-init: payload aether-measure ended",
        "aether-init: restart 1/2 in 100ms",
        "aether-init: started aether-measure",
        "[aether-measure] aether-measure",
        "aether-init: payload aether-measure ended",
        "aether-init: restart 2/2 in 200ms",
        "aether-init: started aether-measure",
        "[aether-measure] aether-measure",
        "aether-init: payload aether-measure ended",
        "aether-init: powering off: payload failed 3 times in a row",
    ];
    let seen: Vec<&str> = console
        .lines()
        .filter_map(|l| expected.iter().find(|e| l.contains(**e)).copied())
        .collect();
    assert_eq!(seen, expected, "console:\n{console}");
}

/// The validator image configures eth0 by DHCP (QEMU's user network) and
/// starts its payload with the definition's arguments. Uses the project
/// kernel (virtio-net built in) and a stand-in payload, so it runs before the
/// node binary exists.
#[test]
fn validator_image_gets_dhcp_and_starts_its_payload() {
    if !have_qemu() {
        return;
    }
    let (Some(kernel), Some(payload), Some(fw)) =
        (project_kernel(), measure_payload(), generic_ovmf())
    else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let Some(dir) = build_or_skip(
        "validator",
        "tdx",
        out.path(),
        &kernel,
        Some(&payload),
        None,
    ) else {
        return;
    };
    let mut vm = Vm::start(&boot_args(&dir, &fw, &BootOptions::default()));
    vm.wait_for(
        "net: eth0 10.0.2.15/24 via 10.0.2.2 (dhcp from 10.0.2.2",
        BOOT,
    );
    vm.wait_for("started aether (pid", BOOT);
    let line = vm.wait_for(
        "/usr/bin/aether node --dev --data-dir /var/lib/aether --rpc-addr 0.0.0.0:8545",
        BOOT,
    );
    assert!(line.contains("started aether"), "{line}");
}

/// The real validator: the static `aether` node inside the image answers
/// `aether_status` through a forwarded port and its height advances.
/// Needs the static node (`images/build-static aether-cli:aether`, with
/// RocksDB about 15 minutes cold): runs under CI, or locally with
/// `AETHER_TEST_NODE=1`.
#[test]
fn validator_rpc_answers_and_blocks_advance() {
    if !have_qemu() {
        return;
    }
    if !aether_testkit::in_ci() && std::env::var_os("AETHER_TEST_NODE").is_none() {
        aether_testkit::missing(
            "AETHER_TEST_NODE=1",
            "set it to build the static node and boot the real validator",
        );
        return;
    }
    let (Some(kernel), Some(fw)) = (project_kernel(), generic_ovmf()) else {
        return;
    };
    let Some(node) = static_binaries(&["aether-cli:aether"]) else {
        return;
    };
    // Both TEE images: under TCG each boots its exact kernel, initrd and
    // command line with the generic firmware.
    for tee in ["snp", "tdx"] {
        let out = tempfile::tempdir().unwrap();
        let Some(dir) = build_or_skip("validator", tee, out.path(), &kernel, Some(&node[0]), None)
        else {
            return;
        };
        let port = free_port();
        let opts = BootOptions {
            net: Some(format!("user,hostfwd=tcp:127.0.0.1:{port}-:8545")),
            ..BootOptions::default()
        };
        let start = Instant::now();
        let mut vm = Vm::start(&boot_args(&dir, &fw, &opts));
        vm.wait_for("started aether", BOOT);
        let height = |vm: &mut Vm| -> Option<u64> {
            let v = json_rpc(port, "aether_status", serde_json::json!([])).ok()?;
            let h = v.get("result")?.get("height")?.as_u64();
            if h.is_none() {
                vm.fail(&format!("aether_status without a numeric height: {v}"));
            }
            h
        };
        let deadline = Instant::now() + BOOT;
        let first = loop {
            if let Some(h) = height(&mut vm) {
                break h;
            }
            if Instant::now() > deadline {
                vm.fail("aether_status never answered through the forwarded port");
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        eprintln!(
            "validator-{tee}: RPC answered {:.1?} after QEMU start (height {first})",
            start.elapsed()
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if height(&mut vm).is_some_and(|h| h > first) {
                break;
            }
            if Instant::now() > deadline {
                vm.fail(&format!(
                    "validator-{tee}: height stayed at {first} for 120 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// PCR 11 and PCR 4 predicted offline equal the values a QEMU boot of the UKI
/// with OVMF and swtpm produces (aether-init prints them from sysfs).
#[test]
fn uki_pcrs_match_the_manifest() {
    let Some((_out, dir, fw)) = smoke_uki_image() else {
        return;
    };
    let uki = dir.join("smoke-tdx.efi").display().to_string();
    let (got4, got11) = boot_with_swtpm(&fw, &["-kernel".into(), uki]);
    let tpm = manifest_tpm(&dir);
    let want11 = tpm["pcr11"]["sha256"].as_str().unwrap().to_string();
    let want4 = tpm["pcr4_qemu_direct"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        got11.ends_with(&format!("pcr11 sha256={want11}")),
        "PCR11: booted {got11}, predicted {want11}"
    );
    assert!(
        got4.ends_with(&format!("pcr4 sha256={want4}")),
        "PCR4: booted {got4}, predicted {want4}"
    );
}

/// The GPT disk image boots through OVMF's removable-media path (the UKI
/// at \EFI\BOOT\BOOTX64.EFI of its ESP), and PCR 4 and 11 equal the
/// manifest's boot-option prediction.
#[test]
fn disk_image_boots_and_its_pcrs_match_the_manifest() {
    let Some((_out, dir, fw)) = smoke_uki_image() else {
        return;
    };
    let disk = dir.join("smoke-tdx.disk.raw");
    let drive = format!("file={},if=virtio,format=raw,snapshot=on", disk.display());
    let (got4, got11) = boot_with_swtpm(&fw, &["-drive".into(), drive]);
    let tpm = manifest_tpm(&dir);
    let want11 = tpm["pcr11"]["sha256"].as_str().unwrap().to_string();
    let want4 = tpm["pcr4_boot_option"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        got11.ends_with(&format!("pcr11 sha256={want11}")),
        "PCR11 (disk boot): booted {got11}, predicted {want11}"
    );
    assert!(
        got4.ends_with(&format!("pcr4 sha256={want4}")),
        "PCR4 (disk boot): booted {got4}, predicted {want4}"
    );
}

/// The smoke image (stand-in payload) for the TPM tests, with the generic OVMF.
fn smoke_uki_image() -> Option<(tempfile::TempDir, std::path::PathBuf, std::path::PathBuf)> {
    if !have_qemu() || !have_swtpm() {
        return None;
    }
    let (Some(kernel), Some(payload), Some(fw)) = (any_kernel(), measure_payload(), generic_ovmf())
    else {
        return None;
    };
    let out = tempfile::tempdir().unwrap();
    let dir = build_or_skip("smoke", "tdx", out.path(), &kernel, Some(&payload), None)?;
    Some((out, dir, fw))
}

fn manifest_tpm(dir: &Path) -> serde_json::Value {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["measurements"]["tpm"].clone()
}

/// Boots OVMF with a swtpm TPM 2.0 (CRB) and `boot` (a `-kernel` or a
/// `-drive`); returns the console lines where aether-init prints PCR 4 and 11.
fn boot_with_swtpm(fw: &Path, boot: &[String]) -> (String, String) {
    let state = tempfile::tempdir().unwrap();
    let sock = state.path().join("swtpm.sock");
    let mut swtpm = std::process::Command::new("swtpm")
        .args(["socket", "--tpm2", "--flags", "startup-clear", "--tpmstate"])
        .arg(format!("dir={}", state.path().display()))
        .arg("--ctrl")
        .arg(format!("type=unixio,path={}", sock.display()))
        .spawn()
        .expect("swtpm");
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let args: Vec<String> = [
        "-accel",
        "tcg",
        "-machine",
        "q35",
        "-cpu",
        "max",
        "-smp",
        "2",
        "-m",
        "2048M",
        "-nodefaults",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-device",
        "virtio-rng-pci",
        "-bios",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([fw.display().to_string()])
    .chain(boot.iter().cloned())
    .chain([
        "-chardev".into(),
        format!("socket,id=chrtpm,path={}", sock.display()),
        "-tpmdev".into(),
        "emulator,id=tpm0,chardev=chrtpm".into(),
        "-device".into(),
        "tpm-crb,tpmdev=tpm0".into(),
    ])
    .collect();
    let mut vm = Vm::start(&args);
    let got4 = vm.wait_for("tpm: pcr4 sha256=", BOOT);
    let got11 = vm.wait_for("tpm: pcr11 sha256=", BOOT);
    drop(vm);
    let _ = swtpm.kill();
    let _ = swtpm.wait();
    (got4, got11)
}
