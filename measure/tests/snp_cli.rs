//! `aether-measure snp` end to end: the shared vector cases, and the real
//! `sev-snp-measure` CLI against ours on the same arguments (stdout and exit
//! status), including its error cases.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const APPEND: &str = "console=ttyS0 root=/dev/vda1";

fn ours(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aether-measure"))
        .arg("snp")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run aether-measure")
}

fn theirs(tool: &Path, args: &[&str], cwd: &Path) -> Output {
    Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run sev-snp-measure")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Files {
    amdsev: String,
    kernel: String,
    initrd: String,
}

fn files() -> Option<Files> {
    let s = |p: PathBuf| p.display().to_string();
    Some(Files {
        amdsev: s(aether_testkit::vector(
            "snp/measure/ovmf_AmdSev_suffix.bin",
        )?),
        kernel: s(aether_testkit::vector("snp/measure/kernel.test")?),
        initrd: s(aether_testkit::vector("snp/measure/initrd.test")?),
    })
}

/// Runs ours and checks one line of output against a README value that may
/// be abbreviated `prefix…suffix`.
fn expect_digest(args: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = ours(args, dir.path());
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let line = stdout(&out);
    let digest = line.strip_suffix('\n').expect("one line");
    assert!(
        !digest.contains('\n')
            && digest
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    match expected.split_once('…') {
        Some((p, s)) => assert!(
            digest.starts_with(p) && digest.ends_with(s),
            "{args:?}: {digest} vs {expected}"
        ),
        None => assert_eq!(digest, expected, "{args:?}"),
    }
}

#[test]
fn vector_rows_amdsev_fixture() {
    let Some(f) = files() else { return };
    let base = [
        "--mode",
        "snp",
        "--vcpu-type",
        "EPYC-v4",
        "--ovmf",
        &f.amdsev,
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    let boot = [
        "--kernel", &f.kernel, "--initrd", &f.initrd, "--append", APPEND,
    ];
    expect_digest(
        &with(&base, &[&["--vcpus", "1"][..], &boot].concat()),
        "bc90a4c17c1394d6a5af2679f5909eebf0cce23f2d6535ac2803ebf72fa4838231a8911ffb05ca018549ce4660e22345",
    );
    expect_digest(
        &with(&base, &[&["--vcpus", "4"][..], &boot].concat()),
        "13c3aed790c8cd9587feaa9bdbea78ecbf92c8addb9d547b04603dc7044fbd7da22994fccf44b3c9d1a73e39d4aacf21",
    );
    expect_digest(
        &with(&base, &["--vcpus", "1", "--kernel", &f.kernel]),
        "2947d1fc03b0c8754713f7cfd1d6ff5a2564637dc67616fd6bfbe305819c365b89a270da532312b6e52543ae6fa93cfb",
    );
    expect_digest(
        &with(&base, &["--vcpus", "1"]),
        "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d",
    );
    // Other modes.
    let seves = [
        "--mode",
        "seves",
        "--vcpu-type",
        "EPYC-v4",
        "--ovmf",
        &f.amdsev,
        "--vcpus",
        "2",
    ];
    expect_digest(
        &with(&seves, &boot),
        "50e230e8905853ba7be0f4cf657342dba4e678599f5a93fd144ffdc680087f6b",
    );
    expect_digest(
        &with(&["--mode", "sev", "--ovmf", &f.amdsev], &boot),
        "e583f6f0da92f7e8793d62d6063db48e56caec438c6dc9738b5b8b886bba1b25",
    );
}

#[test]
fn vector_rows_debian_kernel() {
    let (Some(f), Some(vmlinuz)) = (
        files(),
        aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64"),
    ) else {
        return;
    };
    let vmlinuz = vmlinuz.display().to_string();
    for (vcpus, expected) in [
        (
            "1",
            "492aa4dd0f7eefec6372e18e7b06732ab436d9d25115ca013aeef157e9481710cddc17088e2b46078272d5dc02e4da5f",
        ),
        (
            "4",
            "09755fefa78fe6688d53624b7b81663ef1817fcd12c02bfab1c265dea7c892e175258186c390a999b85231cfea4a8a4e",
        ),
    ] {
        expect_digest(
            &[
                "--mode",
                "snp",
                "--vcpus",
                vcpus,
                "--vcpu-type",
                "EPYC-v4",
                "--ovmf",
                &f.amdsev,
                "--kernel",
                &vmlinuz,
                "--initrd",
                &f.initrd,
                "--append",
                APPEND,
            ],
            expected,
        );
    }
}

#[test]
fn vector_rows_debian_ovmf() {
    let (Some(bookworm), Some(trixie)) = (
        aether_testkit::input("ovmf-bookworm.fd"),
        aether_testkit::input("ovmf-trixie.fd"),
    ) else {
        return;
    };
    let (b, t) = (bookworm.display().to_string(), trixie.display().to_string());
    fn snp<'a>(ovmf: &'a str, vcpus: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        [
            &[
                "--mode",
                "snp",
                "--vcpus",
                vcpus,
                "--vcpu-type",
                "EPYC-v4",
                "--ovmf",
                ovmf,
            ][..],
            extra,
        ]
        .concat()
    }
    expect_digest(
        &snp(&b, "1", &[]),
        "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3",
    );
    expect_digest(
        &snp(&b, "4", &[]),
        "32ac9d7a17d28f7cd4404a4516d2f00519668c40ada2062351c36767e908eb3f090d66c33ab10f80150e00a4385b6d0f",
    );
    expect_digest(
        &snp(&t, "1", &[]),
        "6eef547a9fcf5720c5c04883fe85788d29de46b55a51e554467029b554a3352e66d2f3c71b84cea937d19a1a6c41596f",
    );
    expect_digest(
        &snp(&t, "4", &[]),
        "676826e902524799a067f7c43b3ab0101dce73a2506d41436dd2f8472fa208081f11f9e65ca5d2439785732a0bfd8339",
    );
    expect_digest(&["--mode", "snp:ovmf-hash", "--ovmf", &b], "ba2c8115…73c6");
    expect_digest(
        &[
            "--mode",
            "snp",
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC-Milan",
            "--guest-features",
            "0x21",
            "--ovmf",
            &b,
        ],
        "5b3db052…2305",
    );
    expect_digest(&snp(&b, "2", &["--vmm-type", "ec2"]), "7f6fef70…c93c");
    expect_digest(
        &[
            "--mode",
            "seves",
            "--vcpus",
            "4",
            "--vcpu-type",
            "EPYC-v4",
            "--ovmf",
            &b,
        ],
        "5f69b0f4…e480",
    );
    expect_digest(&["--mode", "sev", "--ovmf", &b], "7b456907…d773");
    // A kernel with Debian's OVMF: the expected failure, exit 1.
    for ovmf in [&b, &t] {
        let dir = tempfile::tempdir().unwrap();
        let out = ours(&snp(ovmf, "1", &["--kernel", ovmf]), dir.path());
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            "Error: Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section\n"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn dump_vmsa_writes_the_vector_pages() {
    let (Some(f), Some(v0), Some(v1)) = (
        files(),
        aether_testkit::vector("snp/measure/vmsa0_AmdSev_EPYCv4_gf1.bin"),
        aether_testkit::vector("snp/measure/vmsa1_AmdSev_EPYCv4_gf1.bin"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = ours(
        &[
            "--mode",
            "snp",
            "--vcpus",
            "3",
            "--vcpu-type",
            "EPYC-v4",
            "--ovmf",
            &f.amdsev,
            "--dump-vmsa",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |p: PathBuf| std::fs::read(p).unwrap();
    assert_eq!(read(dir.path().join("vmsa0.bin")), read(v0));
    let ap = read(v1);
    assert_eq!(read(dir.path().join("vmsa1.bin")), ap);
    assert_eq!(read(dir.path().join("vmsa2.bin")), ap);
    assert!(!dir.path().join("vmsa3.bin").exists());
}

#[test]
fn json_output_carries_inputs() {
    let Some(f) = files() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = ours(
        &[
            "--mode",
            "snp",
            "--vcpus",
            "4",
            "--vcpu-type",
            "EPYC-v4",
            "--ovmf",
            &f.amdsev,
            "--kernel",
            &f.kernel,
            "--initrd",
            &f.initrd,
            "--append",
            APPEND,
            "--output-format",
            "json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["measurement"],
        "13c3aed790c8cd9587feaa9bdbea78ecbf92c8addb9d547b04603dc7044fbd7da22994fccf44b3c9d1a73e39d4aacf21"
    );
    assert_eq!(v["mode"], "snp");
    assert_eq!(v["algorithm"], "sha384");
    assert_eq!(v["vcpus"], 4);
    assert_eq!(v["vcpu_sig"], "0x800f12");
    assert_eq!(v["vmm_type"], "QEMU");
    assert_eq!(v["guest_features"], "0x1");
    assert!(
        v["kernel"]["sha256"]
            .as_str()
            .unwrap()
            .starts_with("b6229049")
    );
    assert!(
        v["initrd"]["sha256"]
            .as_str()
            .unwrap()
            .starts_with("6e1294a0")
    );
    assert!(
        v["cmdline"]["sha256"]
            .as_str()
            .unwrap()
            .starts_with("e3f97613")
    );
    assert_eq!(v["cmdline"]["value"], APPEND);
    assert_eq!(v["ovmf"]["size"], 4096);
    assert_eq!(v["ovmf_hash"].as_str().unwrap().len(), 96);
}

/// The real tool and ours on the same arguments: same stdout, same status.
#[test]
fn same_stdout_and_status_as_sev_snp_measure() {
    let (Some(tool), Some(f)) = (aether_testkit::sev_snp_measure(), files()) else {
        return;
    };
    let bookworm = aether_testkit::input("ovmf-bookworm.fd").map(|p| p.display().to_string());
    let a = f.amdsev.as_str();
    let (k, i) = (f.kernel.as_str(), f.initrd.as_str());
    let mut cases: Vec<Vec<&str>> = vec![
        // Successes in every output style.
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "4",
            "--vcpu-type",
            "EPYC-Milan",
            "--ovmf",
            a,
            "--kernel",
            k,
            "--initrd",
            i,
            "--append",
            "ümlaut 日本",
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "2",
            "--vcpu-sig",
            "0xa10f10",
            "--ovmf",
            a,
            "--output-format",
            "base64",
        ],
        vec![
            "-v",
            "--mode",
            "snp",
            "--vcpus",
            "3",
            "--vcpu-family",
            "25",
            "--vcpu-model",
            "17",
            "--vcpu-stepping",
            "0",
            "--ovmf",
            a,
            "--vmm-type",
            "gce",
        ],
        vec![
            "--verbose",
            "--mode",
            "seves",
            "--vcpus",
            "5",
            "--vcpu-type",
            "EPYC-Rome",
            "--ovmf",
            a,
            "--vmm-type",
            "ec2",
            "--kernel",
            k,
        ],
        vec!["--mode", "sev", "--ovmf", a, "--kernel", k, "--append", ""],
        vec![
            "--mode",
            "snp:ovmf-hash",
            "--ovmf",
            a,
            "-v",
            "--output-format",
            "base64",
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--guest-features",
            "0b1_1",
            "--vcpus",
            "2",
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "0",
            "--vmm-type",
            "ec2",
            "--ovmf",
            a,
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--snp-ovmf-hash",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ],
        // Usage errors (exit 2).
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--initrd",
            i,
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--append",
            "x",
        ],
        vec!["--mode", "snp", "--vcpu-type", "EPYC", "--ovmf", a],
        vec!["--mode", "seves", "--vcpus", "1", "--ovmf", a],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--vmm-type",
            "krun",
            "--ovmf",
            a,
        ],
        vec!["--mode", "sev", "--ovmf", a, "--dump-vmsa"],
        vec![
            "--mode",
            "snp:svsm",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
        ],
        vec!["--mode", "snp", "--vcpus", "abc", "--ovmf", a],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC-v9",
            "--ovmf",
            a,
        ],
        vec!["--mode", "tdx", "--ovmf", a],
        vec!["--vcpus", "1", "--ovmf", a],
        vec!["--mode", "snp", "--vcpus", "1"],
        vec![
            "--mode",
            "snp:svsm",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--vars-size",
            "4096",
            "--vars-file",
            a,
        ],
        // Runtime errors (exit 1).
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            "/nonexistent/OVMF.fd",
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--kernel",
            "/nonexistent/vmlinuz",
        ],
        vec![
            "--mode",
            "seves",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--snp-ovmf-hash",
            "00",
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--snp-ovmf-hash",
            "zz",
        ],
        vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            k,
        ],
        vec![
            "--mode",
            "snp:svsm",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            a,
            "--vars-size",
            "4096",
            "--vmm-type",
            "gce",
        ],
    ];
    if let Some(b) = bookworm.as_deref() {
        cases.push(vec![
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            b,
            "--kernel",
            k,
        ]);
        cases.push(vec![
            "--mode",
            "seves",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            b,
            "--kernel",
            k,
        ]);
    }
    let (mut ok, mut failed) = (0, 0);
    for args in &cases {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let want = theirs(&tool, args, d1.path());
        let got = ours(args, d2.path());
        assert_eq!(
            got.status.code(),
            want.status.code(),
            "{args:?}\nours: {}\ntheirs: {}",
            stderr(&got),
            stderr(&want)
        );
        assert_eq!(stdout(&got), stdout(&want), "{args:?}");
        if want.status.success() {
            ok += 1
        } else {
            failed += 1
        }
        if want.status.code() == Some(1) {
            assert!(
                stderr(&got).starts_with("Error: "),
                "{args:?}: {}",
                stderr(&got)
            );
        }
        if want.status.code() == Some(2) {
            // clap's own errors (bad values) omit the usage line; ours show it.
            assert!(
                stderr(&got).starts_with("error: "),
                "{args:?}: {}",
                stderr(&got)
            );
        }
    }
    assert!(ok >= 9 && failed >= 15, "{ok} successes, {failed} failures");
}

/// `--dump-vmsa` writes the same files as the real tool.
#[test]
fn dump_vmsa_same_files_as_sev_snp_measure() {
    let (Some(tool), Some(f)) = (aether_testkit::sev_snp_measure(), files()) else {
        return;
    };
    for (mode, vmm) in [("snp", "QEMU"), ("seves", "ec2"), ("snp", "gce")] {
        let args = [
            "--mode",
            mode,
            "--vcpus",
            "3",
            "--vcpu-type",
            "EPYC-Genoa",
            "--vmm-type",
            vmm,
            "--ovmf",
            &f.amdsev,
            "--dump-vmsa",
        ];
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        assert!(theirs(&tool, &args, d1.path()).status.success());
        assert!(ours(&args, d2.path()).status.success());
        for n in 0..3 {
            let name = format!("vmsa{n}.bin");
            assert_eq!(
                std::fs::read(d2.path().join(&name)).unwrap(),
                std::fs::read(d1.path().join(&name)).unwrap(),
                "{mode} {vmm} {name}"
            );
        }
    }
}
