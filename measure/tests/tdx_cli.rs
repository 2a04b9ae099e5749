//! `aether-measure tdx` and `aether-measure replay` end to end.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aether-measure"))
        .args(args)
        .output()
        .expect("spawn aether-measure")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn line<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn mrtd_of_debian_ovmf_both_orders() {
    let (Some(b), Some(t)) = (
        aether_testkit::input("ovmf-bookworm.fd"),
        aether_testkit::input("ovmf-trixie.fd"),
    ) else {
        return;
    };
    let o = run(&["tdx", "--firmware", path(&b)]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert_eq!(
        line(&out, "MRTD"),
        Some(
            "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057fb887fed0744d5631a212967fb231c47"
        )
    );
    assert!(
        line(&out, "RTMR0").is_none(),
        "no RTMR without kernel/ACPI inputs"
    );
    let o = run(&["tdx", "--firmware", path(&t), "--page-order", "two-pass"]);
    let mrtd = line(&stdout(&o), "MRTD").unwrap().to_string();
    assert!(
        mrtd.starts_with("456f0790") && mrtd.ends_with("0db2"),
        "{mrtd}"
    );
}

/// A minimal but well-formed set of QEMU ACPI blobs: loader allocating rsdp and tables, MADT with `cpus` CPUs.
fn write_acpi_dir(dir: &Path, cpus: u8) {
    std::fs::create_dir_all(dir.join("etc/acpi")).unwrap();
    let mut loader = Vec::new();
    for name in ["etc/acpi/rsdp", "etc/acpi/tables"] {
        let mut e = [0u8; 128];
        e[0] = 1;
        e[4..4 + name.len()].copy_from_slice(name.as_bytes());
        loader.extend_from_slice(&e);
    }
    loader.resize(4096, 0);
    std::fs::write(dir.join("etc/table-loader"), &loader).unwrap();
    std::fs::write(
        dir.join("etc/acpi/rsdp"),
        b"RSD PTR \0\0\0\0\0\0\0\0\0\0\0\0",
    )
    .unwrap();
    let mut madt = vec![0u8; 44];
    madt[..4].copy_from_slice(b"APIC");
    for i in 0..cpus {
        madt.extend_from_slice(&[0, 8, i, i, 1, 0, 0, 0]);
    }
    let len = madt.len() as u32;
    madt[4..8].copy_from_slice(&len.to_le_bytes());
    std::fs::write(dir.join("etc/acpi/tables"), &madt).unwrap();
}

#[test]
fn trixie_with_debian_kernel_computes_all_registers() {
    let (Some(t), Some(k)) = (
        aether_testkit::input("ovmf-trixie.fd"),
        aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_acpi_dir(dir.path(), 2);
    let initrd = dir.path().join("initrd");
    std::fs::write(&initrd, vec![0x42u8; 100_000]).unwrap();
    let base = [
        "tdx",
        "--firmware",
        path(&t),
        "--kernel",
        path(&k),
        "--initrd",
        path(&initrd),
        "--append",
        "console=ttyS0",
        "--memory",
        "2G",
        "--vcpus",
        "2",
        "--acpi-tables",
        path(dir.path()),
    ];
    let o = run(&base);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    for k in ["MRTD", "RTMR0", "RTMR1", "RTMR2"] {
        assert_eq!(line(&out, k).map(str::len), Some(96), "{k} in {out}");
    }
    // This kernel's EFI stub cannot measure through the CC protocol: RTMR2 stays zero.
    assert_eq!(line(&out, "RTMR2"), Some("0".repeat(96).as_str()));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RTMR2"));
    // RTMR1 does not depend on the ACPI blobs; RTMR0 does.
    let mut other = base.to_vec();
    let dir2 = tempfile::tempdir().unwrap();
    write_acpi_dir(dir2.path(), 4);
    let p2 = dir2.path().to_str().unwrap().to_string();
    *other.last_mut().unwrap() = &p2;
    other[12] = "4";
    let o2 = run(&other);
    assert!(o2.status.success(), "{o2:?}");
    let out2 = stdout(&o2);
    assert_eq!(line(&out, "RTMR1"), line(&out2, "RTMR1"));
    assert_ne!(line(&out, "RTMR0"), line(&out2, "RTMR0"));
    // JSON carries the same values and the event logs.
    let mut j = base.to_vec();
    j.push("--json");
    let v: serde_json::Value = serde_json::from_slice(&run(&j).stdout).unwrap();
    assert_eq!(v["rtmr1"].as_str(), line(&out, "RTMR1"));
    assert_eq!(
        v["rtmr_logs"]["rtmr1"]["events"].as_array().unwrap().len(),
        5
    );
    assert_eq!(
        v["rtmr_logs"]["rtmr0"]["events"].as_array().unwrap().len(),
        13
    );
    assert_eq!(v["firmware_profile"]["cc_measurement"], true);
    // This firmware loads QEMU's etc/boot/kernel: by default the kernel is
    // measured as the unmodified file; --setup-header overrides that.
    assert_eq!(v["firmware_profile"]["reads_etc_boot_kernel"], true);
    assert_eq!(v["kernel"]["setup_header"], "unmodified");
    let mut patched = j.clone();
    patched.extend(["--setup-header", "qemu-patched"]);
    let vp: serde_json::Value = serde_json::from_slice(&run(&patched).stdout).unwrap();
    assert_eq!(vp["kernel"]["setup_header"], "qemu-patched");
    assert_ne!(vp["rtmr1"], v["rtmr1"]);
    assert_eq!(vp["rtmr0"], v["rtmr0"]);
    // vCPU count disagreeing with the MADT is a computation error.
    let mut bad = base.to_vec();
    bad[12] = "3";
    let o3 = run(&bad);
    assert_eq!(o3.status.code(), Some(1));
}

#[test]
fn bookworm_firmware_measures_nothing_into_rtmrs() {
    let (Some(b), Some(k)) = (
        aether_testkit::input("ovmf-bookworm.fd"),
        aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64"),
    ) else {
        return;
    };
    let o = run(&["tdx", "--firmware", path(&b), "--kernel", path(&k)]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    for r in ["RTMR0", "RTMR1", "RTMR2"] {
        assert_eq!(line(&out, r), Some("0".repeat(96).as_str()), "{out}");
    }
    assert!(String::from_utf8_lossy(&o.stderr).contains("TdTcg2Dxe"));
}

#[test]
fn errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.fd");
    std::fs::write(&junk, vec![0u8; 65536]).unwrap();
    let o = run(&["tdx", "--firmware", path(&junk)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("footer"),
        "{o:?}"
    );
    let o = run(&["tdx", "--firmware", "/nonexistent/ovmf.fd"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["tdx", "--firmware", path(&junk), "--memory", "lots"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["tdx"]);
    assert_eq!(o.status.code(), Some(2));
    if let Some(t) = aether_testkit::input("ovmf-trixie.fd") {
        // A kernel that is not a bzImage.
        let o = run(&["tdx", "--firmware", path(&t), "--kernel", path(&junk)]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("bzImage"),
            "{o:?}"
        );
    }
    let o = run(&["replay", "--event-log", path(&junk)]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn replay_reproduces_the_gce_quote() {
    let (Some(log), Some(table)) = (
        aether_testkit::vector("tdx/gotdx/ccel/ccel_data.dat"),
        aether_testkit::vector("tdx/gotdx/ccel/ccel_table.dat"),
    ) else {
        return;
    };
    let o = run(&[
        "replay",
        "--event-log",
        path(&log),
        "--ccel-table",
        path(&table),
    ]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert_eq!(line(&out, "CCEL_LAML"), Some("0x40000"));
    assert_eq!(
        line(&out, "RTMR0"),
        Some(
            "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6"
        )
    );
    assert_eq!(
        line(&out, "RTMR2"),
        Some(
            "4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1"
        )
    );
    assert_eq!(line(&out, "RTMR3"), Some("0".repeat(96).as_str()));
    let j = run(&["replay", "--event-log", path(&log), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 43);
    assert_eq!(events[14]["event_type_name"], "EV_EFI_ACTION");
    assert_eq!(events[14]["register"], "RTMR1");
    assert_eq!(v["registers"]["RTMR1"].as_str().unwrap().len(), 96);
    // The same log read as a TPM log: MR index 1..4 taken as PCR 1..4.
    let t = run(&["replay", "--event-log", path(&log), "--kind", "tpm"]);
    assert!(t.status.success(), "{t:?}");
    assert!(line(&stdout(&t), "PCR1.sha384").is_some());
}
