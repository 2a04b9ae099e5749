//! Boots the images under QEMU TCG with the exact kernel, initrd and command
//! line of their manifest (generic OVMF: the TEE firmware cannot run without
//! the hardware) and drives them from outside. Timings are printed, never
//! asserted.

use aether_image::build::fetch_input;
use aether_image::qemu::{BootOptions, plain, qmp, run_supervised};
use aether_qemu_tests::{
    Pcrs, QEMU, Swtpm, Vm, any_kernel, boot_pcrs, build_or_skip, free_port, have_qemu, have_swtpm,
    json_rpc, measure_payload, project_kernel, root, static_binaries,
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

/// `validator-tdx` built with the project kernel and `aether-measure` as a
/// stand-in payload (it runs before the node binary exists), and the generic
/// OVMF to boot it with.
struct StandIn {
    out: tempfile::TempDir,
    dir: std::path::PathBuf,
    fw: std::path::PathBuf,
    payload: std::path::PathBuf,
}

fn validator_with_stand_in() -> Option<StandIn> {
    let (Some(kernel), Some(payload), Some(fw)) =
        (project_kernel(), measure_payload(), generic_ovmf())
    else {
        return None;
    };
    let out = tempfile::tempdir().unwrap();
    let dir = build_or_skip(
        "validator",
        "tdx",
        out.path(),
        &kernel,
        Some(&payload),
        None,
    )?;
    Some(StandIn {
        out,
        dir,
        fw,
        payload,
    })
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
    let Some(StandIn {
        out: _out, dir, fw, ..
    }) = validator_with_stand_in()
    else {
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

/// The static `aether` node, when this run boots the real validator: under
/// CI, or locally with `AETHER_TEST_NODE=1` (building it with RocksDB takes
/// about 15 minutes cold).
fn real_node() -> Option<std::path::PathBuf> {
    if !have_qemu() {
        return None;
    }
    if !aether_testkit::in_ci() && std::env::var_os("AETHER_TEST_NODE").is_none() {
        aether_testkit::missing(
            "AETHER_TEST_NODE=1",
            "set it to build the static node and boot the real validator",
        );
        return None;
    }
    static_binaries(&["aether-cli:aether"]).map(|mut v| v.remove(0))
}

/// The node's height through the forwarded RPC port, once it answers.
fn rpc_height(vm: &mut Vm, port: u16) -> Option<u64> {
    let v = json_rpc(port, "aether_status", serde_json::json!([])).ok()?;
    let h = v.get("result")?.get("height")?.as_u64();
    if h.is_none() {
        vm.fail(&format!("aether_status without a numeric height: {v}"));
    }
    h
}

/// Polls until the node reports a height above `above` (any height when
/// `None`); fails with the console after `timeout`.
fn wait_height(vm: &mut Vm, port: u16, above: Option<u64>, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(h) = rpc_height(vm, port)
            && above.is_none_or(|a| h > a)
        {
            return h;
        }
        if Instant::now() > deadline {
            vm.fail(&format!(
                "height did not pass {above:?} within {timeout:?} (RPC through port {port})"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The real validator: the static `aether` node inside the image answers
/// `aether_status` through a forwarded port and its height advances.
#[test]
fn validator_rpc_answers_and_blocks_advance() {
    let (Some(node), Some(kernel), Some(fw)) = (real_node(), project_kernel(), generic_ovmf())
    else {
        return;
    };
    // Both TEE images: under TCG each boots its exact kernel, initrd and
    // command line with the generic firmware.
    for tee in ["snp", "tdx"] {
        let out = tempfile::tempdir().unwrap();
        let Some(dir) = build_or_skip("validator", tee, out.path(), &kernel, Some(&node), None)
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
        let first = wait_height(&mut vm, port, None, BOOT);
        eprintln!(
            "validator-{tee}: RPC answered {:.1?} after QEMU start (height {first})",
            start.elapsed()
        );
        wait_height(&mut vm, port, Some(first), Duration::from_secs(120));
    }
}

/// The validator keeps its chain on a data disk (`aether.data=/dev/vda:ext4`)
/// across a clean stop by the ACPI power button (QMP `system_powerdown`, what
/// a cloud's "stop" sends) and across a hard stop (QEMU killed): after each
/// restart the blocks seen before are still there with the same hashes and
/// the chain grows on.
#[test]
fn validator_state_survives_power_button_and_hard_stop() {
    let (Some(node), Some(kernel), Some(fw)) = (real_node(), project_kernel(), generic_ovmf())
    else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let Some(dir) = build_or_skip("validator", "tdx", out.path(), &kernel, Some(&node), None)
    else {
        return;
    };
    let info = aether_image::manifest::load_and_verify(&dir).unwrap();
    let disk = out.path().join("data.raw");
    std::fs::File::create(&disk)
        .and_then(|f| f.set_len(256 << 20))
        .unwrap();
    let mkfs = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&disk)
        .output();
    match mkfs {
        Ok(o) if o.status.success() => {}
        other => {
            aether_testkit::missing(
                "mkfs.ext4",
                &format!("apt-get install e2fsprogs ({other:?})"),
            );
            return;
        }
    }
    let qmp_socket = out.path().join("qmp.sock");
    let cmdline = format!("{} aether.data=/dev/vda:ext4", info.cmdline);
    let boot = |port: u16| {
        let opts = BootOptions {
            net: Some(format!("user,hostfwd=tcp:127.0.0.1:{port}-:8545")),
            ..BootOptions::default()
        };
        let mut args = plain(&dir, &cmdline, &fw, &opts);
        args.extend([
            "-drive".to_string(),
            format!("file={},if=virtio,format=raw", disk.display()),
            "-qmp".to_string(),
            format!("unix:{},server=on,wait=off", qmp_socket.display()),
        ]);
        let mut vm = Vm::start(&args);
        vm.wait_for("data: /dev/vda (ext4) on /var/lib/aether", BOOT);
        vm
    };
    let block_hash = |vm: &mut Vm, port: u16, n: u64| -> String {
        let v = json_rpc(port, "aether_getBlockByNumber", serde_json::json!([n]))
            .unwrap_or_else(|e| vm.fail(&format!("aether_getBlockByNumber({n}): {e}")));
        match v["result"]["header"]["hash"].as_str() {
            Some(h) => h.to_string(),
            None => vm.fail(&format!("block {n}: no hash in {v}")),
        }
    };

    // 1. Fresh disk: the chain starts; the power button stops it cleanly.
    let port = free_port();
    let mut vm = boot(port);
    vm.wait_for("power button: watching /dev/input/event", BOOT);
    let h1 = wait_height(&mut vm, port, Some(2), BOOT);
    let early = block_hash(&mut vm, port, 2);
    let pressed = Instant::now();
    qmp(&qmp_socket, "system_powerdown").unwrap_or_else(|e| vm.fail(&format!("QMP: {e}")));
    vm.wait_for("power button pressed: shutting down", BOOT);
    vm.wait_for("stopping payload", BOOT);
    vm.wait_for("powering off: power button pressed", BOOT);
    let status = vm.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "QEMU exit status {status}");
    let console = vm.console();
    let tail: Vec<&str> = console
        .lines()
        .skip_while(|l| !l.contains("power button pressed"))
        .collect();
    eprintln!(
        "power button to QEMU exit: {:.1?}\n{}",
        pressed.elapsed(),
        tail.join("\n")
    );
    assert!(
        !console.contains("ignored SIGTERM"),
        "the node did not stop on SIGTERM:\n{}",
        vm.console()
    );
    drop(vm);

    // 2. Same disk: the blocks are there; then a hard stop.
    let port = free_port();
    let mut vm = boot(port);
    let h2 = wait_height(&mut vm, port, Some(h1), BOOT);
    assert_eq!(
        block_hash(&mut vm, port, 2),
        early,
        "block 2 after the clean stop"
    );
    let last = block_hash(&mut vm, port, h2);
    drop(vm);

    // 3. After the hard stop every block reported before is unchanged.
    let port = free_port();
    let mut vm = boot(port);
    wait_height(&mut vm, port, Some(h2), BOOT);
    assert_eq!(
        block_hash(&mut vm, port, 2),
        early,
        "block 2 after the hard stop"
    );
    assert_eq!(
        block_hash(&mut vm, port, h2),
        last,
        "block {h2} after the hard stop"
    );
    eprintln!("data disk: heights {h1} (power button), {h2} (hard stop), chain intact");
}

/// PCR 11 and PCR 4 predicted offline equal the values a QEMU boot of the UKI
/// with OVMF and swtpm produces (aether-init prints them from sysfs).
#[test]
fn uki_pcrs_match_the_manifest() {
    let Some((_out, dir, fw)) = smoke_uki_image() else {
        return;
    };
    let uki = dir.join("smoke-tdx.efi").display().to_string();
    let pcrs = boot_with_swtpm(&fw, &["-kernel".into(), uki]);
    assert_uki_pcrs(&pcrs, &dir, "pcr4_qemu_direct");
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
    let pcrs = boot_with_swtpm(&fw, &["-drive".into(), drive]);
    assert_uki_pcrs(&pcrs, &dir, "pcr4_boot_option");
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

/// PCR 11 and PCR 4 (the manifest's `pcr4` prediction named `pcr4_key`) of
/// a UKI boot equal the manifest.
fn assert_uki_pcrs(pcrs: &Pcrs, dir: &Path, pcr4_key: &str) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let tpm = &manifest["measurements"]["tpm"];
    for (pcr, want) in [(11, &tpm["pcr11"]), (4, &tpm[pcr4_key])] {
        assert_eq!(
            pcrs.get(&(pcr, "sha256".to_string())).map(String::as_str),
            want["sha256"].as_str(),
            "PCR{pcr}: booted vs predicted ({pcr4_key})"
        );
    }
}

/// Boots OVMF with a swtpm TPM 2.0 (CRB) and `boot` (a `-kernel` or a
/// `-drive`); returns the PCRs aether-init printed.
fn boot_with_swtpm(fw: &Path, boot: &[String]) -> Pcrs {
    let tpm = Swtpm::start();
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
        format!("socket,id=chrtpm,path={}", tpm.socket()),
        "-tpmdev".into(),
        "emulator,id=tpm0,chardev=chrtpm".into(),
        "-device".into(),
        "tpm-crb,tpmdev=tpm0".into(),
    ])
    .collect();
    boot_pcrs(&args, BOOT)
}

/// RTMR1 and RTMR2 of the manifest against what a real firmware measures.
///
/// No TDX host is at hand, but the generic OVMF measures the same events
/// through a TPM when it has one, with the same digests in the SHA-384
/// bank: TdTcg2Dxe maps PCR 2-6 to RTMR1 and PCR 8-15 to RTMR2 and writes one
/// separator per RTMR where Tcg2Dxe writes one per PCR 0-7. So a direct boot
/// of `validator-tdx` (its kernel, initrd and command line, the shape's
/// memory size) with swtpm must show, in the SHA-384 bank:
/// * PCR 2, 3, 6: only their separator (no option ROM or driver measured);
/// * PCR 4: the kernel's Authenticode SHA-384 (as QEMU serves the patched
///   kernel, computed by the firmware), "Calling EFI Application from Boot
///   Option", separator;
/// * PCR 5: separator, "Exit Boot Services Invocation", "Exit Boot Services
///   Returned with Success";
/// * PCR 9: the EFI stub's load-options and initrd events, which is exactly
///   RTMR2 (PCR 8 and 10-15 untouched);
///
/// and the manifest's RTMR1 must be those same events folded in TDX order.
#[test]
fn tdx_rtmr1_and_rtmr2_match_what_ovmf_measures() {
    use sha2::{Digest, Sha384};
    if !have_qemu() || !have_swtpm() {
        return;
    }
    let Some(StandIn {
        out: _out,
        dir,
        fw,
        payload: measure,
    }) = validator_with_stand_in()
    else {
        return;
    };
    let info = aether_image::manifest::load_and_verify(&dir).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let opts = BootOptions::default();
    let shape = manifest["measurements"]["tdx"]["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["memory_mib"] == opts.memory_mib)
        .unwrap_or_else(|| panic!("no TDX shape with {} MiB", opts.memory_mib))
        .clone();
    // The kernel's Authenticode digest as aether-measure reports it.
    let report = std::process::Command::new(&measure)
        .arg("tdx")
        .arg("--firmware")
        .arg(&fw)
        .arg("--kernel")
        .arg(dir.join("vmlinuz"))
        .arg("--initrd")
        .arg(dir.join("initrd.cpio.zst"))
        .arg("--append")
        .arg(&info.cmdline)
        .arg("--memory")
        .arg(opts.memory_mib.to_string())
        .arg("--json")
        .output()
        .unwrap();
    assert!(report.status.success(), "{report:?}");
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let authenticode: [u8; 48] = hex::decode(
        report["kernel"]["authenticode_sha384"]
            .as_str()
            .expect("authenticode_sha384"),
    )
    .unwrap()
    .try_into()
    .unwrap();

    let tpm = Swtpm::start();
    let opts = BootOptions {
        tpm_socket: Some(tpm.socket()),
        ..opts
    };
    let pcrs = boot_pcrs(&plain(&dir, &info.cmdline, &fw, &opts), BOOT);
    drop(tpm);

    let sha384 = |data: &[u8]| -> [u8; 48] { Sha384::digest(data).into() };
    let fold = |events: &[[u8; 48]]| -> String {
        hex::encode(events.iter().fold([0u8; 48], |acc, d| {
            Sha384::new()
                .chain_update(acc)
                .chain_update(d)
                .finalize()
                .into()
        }))
    };
    let separator = sha384(&[0; 4]);
    let calling = sha384(b"Calling EFI Application from Boot Option");
    let ebs = sha384(b"Exit Boot Services Invocation");
    let ebs_ok = sha384(b"Exit Boot Services Returned with Success");
    let pcr = |n: u32| pcrs.get(&(n, "sha384".to_string())).cloned();
    assert!(
        pcrs.keys().any(|(_, bank)| bank == "sha384"),
        "no SHA-384 bank in the boot's PCRs: {pcrs:?}"
    );
    for n in [2, 3, 6] {
        assert_eq!(pcr(n), Some(fold(&[separator])), "PCR{n} sha384");
    }
    assert_eq!(
        pcr(4),
        Some(fold(&[authenticode, calling, separator])),
        "PCR4 sha384: the firmware's kernel Authenticode differs from aether-measure's"
    );
    assert_eq!(pcr(5), Some(fold(&[separator, ebs, ebs_ok])), "PCR5 sha384");
    for n in [8, 10, 11, 12, 13, 14, 15] {
        assert_eq!(pcr(n), None, "PCR{n} sha384 was extended");
    }
    assert_eq!(
        pcr(9).as_deref(),
        shape["rtmr2"].as_str(),
        "RTMR2 (= PCR9 sha384 of the boot)"
    );
    assert_eq!(
        shape["rtmr1"].as_str(),
        Some(fold(&[authenticode, calling, separator, ebs, ebs_ok]).as_str()),
        "RTMR1: the manifest vs the events verified above in TDX order"
    );
}

/// `aether-image boot`'s stop (`qemu::run_supervised`): the first stop
/// request (Ctrl-C) presses the ACPI power button through QMP, the appliance
/// powers itself off and QEMU exits 0 — nothing is killed.
#[test]
fn supervised_boot_stops_the_vm_with_the_power_button() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    if !have_qemu() {
        return;
    }
    let Some(StandIn { out, dir, fw, .. }) = validator_with_stand_in() else {
        return;
    };
    let info = aether_image::manifest::load_and_verify(&dir).unwrap();
    let args = plain(&dir, &info.cmdline, &fw, &BootOptions::default());
    let console_path = out.path().join("console.log");
    let console = std::fs::File::create(&console_path).unwrap();
    let stop = Arc::new(AtomicUsize::new(0));
    let runner = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            run_supervised(
                QEMU,
                &args,
                console.into(),
                &stop,
                Duration::from_secs(60),
                |m| eprintln!("aether-image: {m}"),
            )
        })
    };
    let read = || std::fs::read_to_string(&console_path).unwrap_or_default();
    let deadline = Instant::now() + BOOT;
    while !read().contains("aether-init: power button: watching /dev/input/event") {
        assert!(
            !runner.is_finished() && Instant::now() < deadline,
            "the appliance never watched the power button:\n{}",
            read()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let asked = Instant::now();
    stop.store(1, Ordering::SeqCst);
    let status = runner.join().unwrap().unwrap();
    let text = read();
    assert!(status.success(), "QEMU exit status {status}:\n{text}");
    assert!(
        text.contains("aether-init: powering off: power button pressed"),
        "{text}"
    );
    eprintln!("stop request to QEMU exit: {:.1?}", asked.elapsed());
}

/// When nothing powers the VM off after the power button (here a QEMU with
/// no machine at all), `run_supervised` kills QEMU once the grace period
/// ends; a second stop request kills it at once.
#[test]
fn supervised_boot_kills_qemu_when_the_guest_does_not_stop() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    if !have_qemu() {
        return;
    }
    let args: Vec<String> = ["-machine", "none", "-nodefaults", "-display", "none"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (requests, grace) in [
        (1, Duration::from_millis(500)),
        (2, Duration::from_secs(600)),
    ] {
        let stop = AtomicUsize::new(0);
        let started = Instant::now();
        let status = std::thread::scope(|scope| {
            let run = scope.spawn(|| {
                run_supervised(
                    QEMU,
                    &args,
                    std::process::Stdio::null(),
                    &stop,
                    grace,
                    |m| eprintln!("aether-image: {m}"),
                )
            });
            // Let QEMU come up and open its QMP socket.
            std::thread::sleep(Duration::from_secs(1));
            stop.store(requests, Ordering::SeqCst);
            run.join().unwrap().unwrap()
        });
        assert!(!status.success(), "QEMU should have been killed: {status}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{requests} request(s): not killed in time"
        );
    }
}
