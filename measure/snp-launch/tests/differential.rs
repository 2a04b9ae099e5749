//! Differential test against the real `sev-snp-measure` 0.0.13: thousands of
//! random cases (seeded; the seed is printed) evaluated by the library and by
//! `reference_driver.py`, which runs the Python package on the whole batch in
//! one process. Digests must be equal; where Python fails we must fail too,
//! and for its `RuntimeError`s our message starts with Python's text.
//!
//! `AETHER_DIFF_SEED=<n>` replays a run; `AETHER_DIFF_CASES=<n>` sets the
//! number of cases (default 1200).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use aether_snp_launch::ovmf::{SEV_ES_RESET_BLOCK_GUID, SEV_HASH_TABLE_RV_GUID, SVSM_INFO_GUID};
use aether_snp_launch::{CpuType, Kernel, LaunchInputs, Mode, Parallelism, Svsm, VmmType, measure};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

struct File {
    path: PathBuf,
    data: Vec<u8>,
}

struct Case {
    mode: Mode,
    ovmf: usize,
    kernel: Option<usize>,
    initrd: Option<usize>,
    append: Option<String>,
    vcpus: u32,
    vcpu_sig: u64,
    guest_features: u64,
    vmm: VmmType,
    ovmf_hash: Option<[u8; 48]>,
    svsm: Option<usize>,
    vars_size: i64,
    parallelism: Parallelism,
}

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AETHER_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let tool = aether_testkit::sev_snp_measure()?;
    Some(tool.with_file_name("python"))
}

fn write(dir: &Path, name: &str, data: Vec<u8>, files: &mut Vec<File>) -> usize {
    let path = dir.join(name);
    std::fs::write(&path, &data).expect("write temp file");
    files.push(File { path, data });
    files.len() - 1
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    // Sizes skewed towards small ones, up to `max`.
    let len = match rng.gen_range(0..4) {
        0 => rng.gen_range(0..64),
        1 => rng.gen_range(0..8192),
        _ => rng.gen_range(0..=max),
    };
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    v
}

const APPENDS: &[&str] = &[
    "",
    "console=ttyS0 root=/dev/vda1",
    "quiet",
    "root=/dev/sda1 ro console=ttyS0,115200n8 init=/sbin/init",
    "ümlaut=ja ключ=значение 日本語 🚀",
    "é",
];

#[test]
fn matches_sev_snp_measure_on_random_cases() {
    let Some(python) = python() else { return };
    let Some(vectors) = aether_testkit::vectors() else {
        return;
    };
    let (Some(bookworm), Some(trixie)) = (
        aether_testkit::input("ovmf-bookworm.fd"),
        aether_testkit::input("ovmf-trixie.fd"),
    ) else {
        return;
    };
    let seed: u64 = std::env::var("AETHER_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    let n_cases: usize = std::env::var("AETHER_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1200);
    eprintln!("differential seed {seed} ({n_cases} cases); replay with AETHER_DIFF_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut files = Vec::new();

    // Firmware: the fixtures, Debian's OVMF, a 4 MiB image with kernel
    // hashes (trixie + AmdSev suffix), mutated and synthetic images.
    let read = |p: PathBuf| std::fs::read(p).expect("read firmware");
    let amdsev = read(vectors.join("snp/measure/ovmf_AmdSev_suffix.bin"));
    let ovmfx64 = read(vectors.join("snp/measure/ovmf_OvmfX64_suffix.bin"));
    let trixie_data = read(trixie);
    let mut spliced = trixie_data[..trixie_data.len() - 4096].to_vec();
    spliced.extend_from_slice(&amdsev);
    let mut real = vec![
        write(dir, "amdsev.fd", amdsev.clone(), &mut files),
        write(dir, "ovmfx64.fd", ovmfx64, &mut files),
        write(dir, "bookworm.fd", read(bookworm), &mut files),
        write(dir, "trixie.fd", trixie_data, &mut files),
    ];
    real.push(write(dir, "spliced.fd", spliced, &mut files));
    let mut odd = Vec::new();
    for i in 0..40 {
        let mut m = amdsev.clone();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(4096 - 1400..4096);
            m[at] ^= 1 << rng.gen_range(0..8);
        }
        odd.push(write(dir, &format!("mutated{i}.fd"), m, &mut files));
    }
    for i in 0..5 {
        let g = random_bytes(&mut rng, 6000);
        odd.push(write(dir, &format!("garbage{i}.fd"), g, &mut files));
    }
    let random_sections = |rng: &mut StdRng, types: &[u32]| -> Vec<(u32, u32, u32)> {
        (0..rng.gen_range(0..6))
            .map(|_| {
                let size = if rng.gen_bool(0.9) {
                    4096 * rng.gen_range(0..4)
                } else {
                    rng.gen_range(0..9000)
                };
                (
                    0x80_0000 + 4096 * rng.gen_range(0..64u32),
                    size,
                    *types.choose(rng).unwrap(),
                )
            })
            .collect()
    };
    for i in 0..8 {
        let mut entries = vec![(
            SEV_ES_RESET_BLOCK_GUID,
            rng.r#gen::<u32>().to_le_bytes().to_vec(),
        )];
        if rng.gen_bool(0.7) {
            let gpa = 0x80_0000u32 + rng.gen_range(0..0x1000);
            entries.push((
                SEV_HASH_TABLE_RV_GUID,
                [gpa.to_le_bytes(), 0x400u32.to_le_bytes()].concat(),
            ));
        }
        let sections = random_sections(&mut rng, &[1, 2, 3, 4, 0x10, 0x10, 7]);
        let fill: Vec<u8> = (0..97).map(|_| rng.r#gen()).collect();
        if let Some(img) =
            common::synthetic_firmware(rng.gen_range(1..6), &fill, &entries, &sections)
        {
            odd.push(write(dir, &format!("synthetic{i}.fd"), img, &mut files));
        }
    }
    let mut svsms = Vec::new();
    for i in 0..4 {
        let entries = vec![(SVSM_INFO_GUID, rng.r#gen::<u32>().to_le_bytes().to_vec())];
        let sections = random_sections(&mut rng, &[1, 2, 3, 4]);
        let fill: Vec<u8> = (0..61).map(|_| rng.r#gen()).collect();
        let img = common::synthetic_firmware(rng.gen_range(1..12), &fill, &entries, &sections)
            .expect("small tail fits");
        svsms.push(write(dir, &format!("svsm{i}.bin"), img, &mut files));
    }
    let mut kernels = Vec::new();
    let mut initrds = Vec::new();
    for i in 0..20 {
        let k = random_bytes(&mut rng, 2_000_000);
        kernels.push(write(dir, &format!("kernel{i}"), k, &mut files));
        let r = random_bytes(&mut rng, 2_000_000);
        initrds.push(write(dir, &format!("initrd{i}"), r, &mut files));
    }

    let cases: Vec<Case> = (0..n_cases)
        .map(|_| {
            let mode = *[
                Mode::Snp,
                Mode::Snp,
                Mode::Snp,
                Mode::Snp,
                Mode::SevEs,
                Mode::SevEs,
                Mode::Sev,
                Mode::SnpOvmfHash,
                Mode::SnpSvsm,
            ]
            .choose(&mut rng)
            .unwrap();
            let ovmf = if rng.gen_bool(0.7) {
                *real.choose(&mut rng).unwrap()
            } else {
                *odd.choose(&mut rng).unwrap()
            };
            let kernel = (mode != Mode::SnpSvsm && rng.gen_bool(0.6))
                .then(|| *kernels.choose(&mut rng).unwrap());
            let initrd = kernel.and_then(|_| {
                rng.gen_bool(0.7)
                    .then(|| *initrds.choose(&mut rng).unwrap())
            });
            let append = kernel.and_then(|_| {
                rng.gen_bool(0.8)
                    .then(|| APPENDS.choose(&mut rng).unwrap().to_string())
            });
            let vcpu_sig = if rng.gen_bool(0.8) {
                CpuType::ALL.choose(&mut rng).unwrap().signature()
            } else {
                rng.r#gen::<u64>() >> rng.gen_range(0..64)
            };
            let guest_features = *[0x1u64, 0x0, 0x21, 0x3, 0x1 | (1 << 7), rng.r#gen()]
                .choose(&mut rng)
                .unwrap();
            let vmm = if mode == Mode::SnpSvsm && rng.gen_bool(0.85) {
                VmmType::Qemu
            } else {
                *VmmType::ALL.choose(&mut rng).unwrap()
            };
            let ovmf_hash = (mode != Mode::SnpOvmfHash
                && rng.gen_bool(if mode == Mode::Snp { 0.08 } else { 0.02 }))
            .then(|| {
                let mut h = [0u8; 48];
                rng.fill(&mut h[..]);
                h
            });
            let svsm = (mode == Mode::SnpSvsm && rng.gen_bool(0.95))
                .then(|| *svsms.choose(&mut rng).unwrap());
            let vars_size = *[
                0i64,
                0x20_0000,
                0x8_4000,
                4096 * rng.gen_range(0..1000),
                -0x1000,
            ]
            .choose(&mut rng)
            .unwrap();
            let vcpus = if rng.gen_bool(0.05) {
                0
            } else {
                rng.gen_range(1..=64)
            };
            let parallelism = *[Parallelism::Sequential, Parallelism::Auto]
                .choose(&mut rng)
                .unwrap();
            Case {
                mode,
                ovmf,
                kernel,
                initrd,
                append,
                vcpus,
                vcpu_sig,
                guest_features,
                vmm,
                ovmf_hash,
                svsm,
                vars_size,
                parallelism,
            }
        })
        .collect();

    let path = |i: Option<usize>| i.map(|i| files[i].path.display().to_string());
    let batch: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "mode": c.mode.name(),
                "ovmf": path(Some(c.ovmf)),
                "kernel": path(c.kernel),
                "initrd": path(c.initrd),
                "append": c.append,
                "vcpus": c.vcpus,
                "vcpu_sig": c.vcpu_sig,
                "guest_features": c.guest_features,
                "vmm": c.vmm.name(),
                "ovmf_hash": c.ovmf_hash.map(hex::encode),
                "svsm": path(c.svsm),
                "vars_size": c.vars_size,
            })
        })
        .collect();
    let batch_path = dir.join("cases.json");
    std::fs::write(&batch_path, serde_json::to_vec(&batch).unwrap()).unwrap();
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference_driver.py");
    let out = Command::new(&python)
        .arg(&driver)
        .arg(&batch_path)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("driver JSON");
    assert_eq!(expected.len(), cases.len());

    let mut failures = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    for (i, (case, want)) in cases.iter().zip(&expected).enumerate() {
        let mut inputs = LaunchInputs::new(case.mode, &files[case.ovmf].data);
        inputs.vcpus = case.vcpus;
        inputs.vcpu_sig = case.vcpu_sig;
        inputs.guest_features = case.guest_features;
        inputs.vmm = case.vmm;
        inputs.ovmf_hash = case.ovmf_hash;
        inputs.parallelism = case.parallelism;
        inputs.kernel = case.kernel.map(|k| Kernel::Bytes {
            kernel: &files[k].data,
            initrd: case.initrd.map(|r| files[r].data.as_slice()),
            cmdline: case.append.as_deref(),
        });
        inputs.svsm = case.svsm.map(|s| Svsm {
            image: &files[s].data,
            vars_size: case.vars_size,
        });
        let got = measure(&inputs);
        let describe = || batch[i].to_string();
        match (want.get("digest").and_then(|d| d.as_str()), got) {
            (Some(d), Ok(m)) => {
                ok += 1;
                if m.digest.to_hex() != d {
                    failures.push(format!(
                        "case {i}: digest {} != python {d}\n  {}",
                        m.digest.to_hex(),
                        describe()
                    ));
                }
            }
            (Some(d), Err(e)) => failures.push(format!(
                "case {i}: error {e:?}, python gave {d}\n  {}",
                describe()
            )),
            (None, Ok(m)) => failures.push(format!(
                "case {i}: digest {}, python failed {want}\n  {}",
                m.digest.to_hex(),
                describe()
            )),
            (None, Err(e)) => {
                errors += 1;
                if want["error_type"] == "RuntimeError" {
                    let msg = want["message"].as_str().unwrap_or_default();
                    if !e.to_string().starts_with(msg) {
                        failures.push(format!(
                            "case {i}: message {e} does not start with python's {msg:?}\n  {}",
                            describe()
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "{ok} digests equal, {errors} errors agreed, {} failures (seed {seed})",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ (seed {seed}):\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A batch where everything errs would prove nothing.
    assert!(ok > n_cases / 3, "only {ok} successful cases");
}
