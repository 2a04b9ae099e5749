//! SEV-SNP launch digest: `aether-measure snp` against `sev-snp-measure` and
//! against just SHA-hashing the same bytes, in one run on the same inputs.
//!
//! Inputs: Debian trixie's 4 MiB OVMF (firmware-only case); for the kernel
//! case the same image with the AmdSev firmware's last 4 KiB spliced in (so
//! that it has an `SNP_KERNEL_HASHES` section; Debian's build has none), the
//! 14 MB Debian kernel, an 8 MB random initrd and a command line; 64 vCPUs,
//! EPYC-v4, QEMU.
//!
//! Run: `cargo bench -p aether-measure --bench snp_launch` (the bench profile
//! inherits the workspace's release profile). `SNP_BENCH_RUNS` sets the
//! repetitions (default 11); figures are medians.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aether_measure::snp_launch::{
    CpuType, Kernel, LaunchInputs, Mode, Parallelism, measure, page_info::sha384,
};
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256, Sha384};

const APPEND: &str = "console=ttyS0 root=/dev/vda1 ro quiet";
const VCPUS: u32 = 64;

/// Median and minimum wall-clock time of `runs` calls (after one warm-up).
/// The minimum is printed too: on a shared machine the median of a short
/// process is mostly time spent waiting for a CPU.
#[derive(Clone, Copy)]
struct Timing {
    median: Duration,
    min: Duration,
}

fn time_runs(runs: usize, mut f: impl FnMut()) -> Timing {
    f(); // warm the page cache and the code
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    Timing {
        median: v[v.len() / 2],
        min: v[0],
    }
}

fn run_process(program: &Path, args: &[String]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Case {
    name: &'static str,
    ovmf: PathBuf,
    kernel: Option<(PathBuf, PathBuf)>,
}

impl Case {
    fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = ["--mode", "snp", "--vcpus", "64", "--vcpu-type", "EPYC-v4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push("--ovmf".into());
        a.push(self.ovmf.display().to_string());
        if let Some((k, i)) = &self.kernel {
            for (flag, v) in [
                ("--kernel", k.display().to_string()),
                ("--initrd", i.display().to_string()),
                ("--append", APPEND.to_string()),
            ] {
                a.push(flag.into());
                a.push(v);
            }
        }
        a
    }
}

/// SHA-256 of kernel, initrd and command line, and SHA-384 of every measured
/// page (OVMF pages, the hashes-table page, 64 VMSA pages): the hashing work
/// of a launch digest with nothing else, single-threaded.
fn hash_only(ovmf: &[u8], kernel: Option<(&[u8], &[u8])>) -> u8 {
    let mut acc = 0u8;
    if let Some((k, i)) = kernel {
        acc ^= Sha256::digest(k)[0] ^ Sha256::digest(i)[0];
        acc ^= Sha256::digest(format!("{APPEND}\0").as_bytes())[0];
        acc ^= Sha384::digest([0u8; 4096])[0]; // the hashes-table page
    }
    for page in ovmf.chunks(4096) {
        acc ^= sha384(page)[0];
    }
    let vmsa = [0x5au8; 4096];
    for _ in 0..VCPUS {
        acc ^= Sha384::digest(vmsa)[0];
    }
    acc
}

fn main() {
    let (Some(trixie), Some(vmlinuz), Some(vectors), Some(reference)) = (
        aether_testkit::input("ovmf-trixie.fd"),
        aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64"),
        aether_testkit::vectors(),
        aether_testkit::sev_snp_measure(),
    ) else {
        eprintln!("inputs missing; nothing measured");
        return;
    };
    let runs: usize = std::env::var("SNP_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_aether-measure"));
    let tmp = tempfile::tempdir().expect("tempdir");

    let trixie_data = std::fs::read(&trixie).unwrap();
    let suffix = std::fs::read(vectors.join("snp/measure/ovmf_AmdSev_suffix.bin")).unwrap();
    let mut spliced = trixie_data[..trixie_data.len() - 4096].to_vec();
    spliced.extend_from_slice(&suffix);
    let spliced_path = tmp.path().join("ovmf-trixie-amdsev.fd");
    std::fs::write(&spliced_path, &spliced).unwrap();
    let mut initrd = vec![0u8; 8 << 20];
    rand::rngs::StdRng::seed_from_u64(3).fill(&mut initrd[..]);
    let initrd_path = tmp.path().join("initrd.img");
    std::fs::write(&initrd_path, &initrd).unwrap();
    let kernel = std::fs::read(&vmlinuz).unwrap();

    let cases = [
        Case {
            name: "kernel",
            ovmf: spliced_path.clone(),
            kernel: Some((vmlinuz.clone(), initrd_path.clone())),
        },
        Case {
            name: "firmware only",
            ovmf: trixie.clone(),
            kernel: None,
        },
    ];
    let sha256sum = Path::new("/usr/bin/sha256sum");
    let sha384sum = Path::new("/usr/bin/sha384sum");

    println!(
        "SEV-SNP launch digest, 64 vCPUs, 4 MiB OVMF, median of {runs} runs ({} threads available)\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for case in &cases {
        let args = case.args();
        let ours_args: Vec<String> = std::iter::once("snp".to_string())
            .chain(args.iter().cloned())
            .collect();
        let mut single = ours_args.clone();
        single.extend(["--threads".to_string(), "1".to_string()]);
        // The results must agree before timing means anything.
        let want = run_process(&reference, &args);
        assert_eq!(
            run_process(&ours, &ours_args),
            want,
            "{}: digests differ",
            case.name
        );
        assert_eq!(run_process(&ours, &single), want);

        let ovmf = if case.kernel.is_some() {
            &spliced
        } else {
            &trixie_data
        };
        let bytes = ovmf.len()
            + case
                .kernel
                .as_ref()
                .map_or(0, |_| kernel.len() + initrd.len());
        let t_ours = time_runs(runs, || {
            run_process(&ours, &ours_args);
        });
        let t_ours_1 = time_runs(runs, || {
            run_process(&ours, &single);
        });
        let t_ref = time_runs(runs.min(7), || {
            run_process(&reference, &args);
        });
        let kernel_bytes = case
            .kernel
            .as_ref()
            .map(|_| (kernel.as_slice(), initrd.as_slice()));
        let t_hash = time_runs(runs, || {
            std::hint::black_box(hash_only(ovmf, kernel_bytes));
        });
        let mut lib_inputs = LaunchInputs::new(Mode::Snp, ovmf);
        lib_inputs.vcpus = VCPUS;
        lib_inputs.vcpu_sig = CpuType::EpycV4.signature();
        lib_inputs.kernel = kernel_bytes.map(|(k, i)| Kernel::Bytes {
            kernel: k,
            initrd: Some(i),
            cmdline: Some(APPEND),
        });
        let t_lib_auto = time_runs(runs, || {
            std::hint::black_box(measure(&lib_inputs).unwrap());
        });
        lib_inputs.parallelism = Parallelism::Sequential;
        let t_lib_seq = time_runs(runs, || {
            std::hint::black_box(measure(&lib_inputs).unwrap());
        });
        let coreutils = sha256sum.is_file() && sha384sum.is_file();
        let t_sum = coreutils.then(|| {
            time_runs(runs, || {
                if let Some((k, i)) = &case.kernel {
                    run_process(
                        sha256sum,
                        &[k.display().to_string(), i.display().to_string()],
                    );
                }
                run_process(sha384sum, &[case.ovmf.display().to_string()]);
            })
        });

        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("case: {} ({:.1} MB hashed)", case.name, bytes as f64 / 1e6);
        println!("  {:<50} {:>9} {:>9}", "what", "median", "min");
        let row = |what: &str, t: Timing| {
            println!("  {what:<50} {:>7.2}ms {:>7.2}ms", ms(t.median), ms(t.min));
        };
        row("sev-snp-measure 0.0.13 (process)", t_ref);
        row("aether-measure snp (process, auto threads)", t_ours);
        row("aether-measure snp --threads 1 (process)", t_ours_1);
        row("library measure() in-process, auto threads", t_lib_auto);
        row("library measure() in-process, sequential", t_lib_seq);
        row("just hashing the bytes in-process (1 thread)", t_hash);
        if let Some(t) = t_sum {
            row("sha256sum + sha384sum processes", t);
        }
        let goal = if case.kernel.is_some() { 3.0 } else { 10.0 };
        let ratios = |a: Timing, b: Timing| {
            (
                a.median.as_secs_f64() / b.median.as_secs_f64(),
                a.min.as_secs_f64() / b.min.as_secs_f64(),
            )
        };
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        let (s_med, s_min) = ratios(t_ref, t_ours);
        let (s1_med, s1_min) = ratios(t_ref, t_ours_1);
        println!(
            "  speed-up vs sev-snp-measure (median / min): {s_med:.1}x / {s_min:.1}x, --threads 1: {s1_med:.1}x / {s1_min:.1}x  (goal >= {goal}x: {})",
            verdict(s_med.max(s1_med) >= goal)
        );
        let (o_med, o_min) = ratios(t_ours, t_hash);
        let (o1_med, o1_min) = ratios(t_ours_1, t_hash);
        let (l_med, l_min) = ratios(t_lib_seq, t_hash);
        println!(
            "  time / just hashing (median / min): process {o_med:.2}x / {o_min:.2}x, --threads 1 {o1_med:.2}x / {o1_min:.2}x, sequential library {l_med:.2}x / {l_min:.2}x  (goal <= 1.2x: {})\n",
            verdict(o_min.min(o1_min) <= 1.2)
        );
    }
}
