//! The same golden hashes from builds with `-C target-cpu=x86-64` (SSE2) and
//! `-C target-cpu=native` (AVX2/AVX-512 here), with each matrix kernel level
//! the CPU has (`AETHER_INFER_KERNEL=portable|avx2|avx512`, picked at run
//! time), and different ones from the test-only fused multiply-add build —
//! so the golden test can fail.
//!
//! Builds the `aether-infer-golden` program (feature `golden`, no default
//! features: only the kernels' dependencies, no tokenizer, no candle) with
//! each RUSTFLAGS into its own target directory under
//! `$CARGO_TARGET_DIR/aether-infer-flags/`, kept between runs. Cost: about
//! a minute per variant when cold (three variants), a few seconds warm
//! (see docs/infer.md).

mod common;

use common::GOLDEN;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target directory of the running test (`CARGO_TARGET_DIR`, else the
/// one holding this test binary: `<target>/<profile>/deps/<test>`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors()
        .nth(3)
        .expect("<target>/<profile>/deps/<exe>")
        .to_path_buf()
}

/// Builds the golden program with `rustflags` (once per variant).
fn build(variant: &str, rustflags: &str) -> PathBuf {
    let root = aether_testkit::workspace_root();
    let target = target_dir().join("aether-infer-flags").join(variant);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(&root)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("RUSTFLAGS", rustflags)
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "build",
            "--release",
            "--locked",
            "--offline",
            "--quiet",
            "-p",
            "aether-infer",
        ])
        .args([
            "--bin",
            "aether-infer-golden",
            "--no-default-features",
            "--features",
            "golden",
        ])
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "cargo build with RUSTFLAGS={rustflags:?} failed"
    );
    target.join("release/aether-infer-golden")
}

type Lines = Vec<(String, String, String)>;

/// Runs the golden program with kernel level `kernel` (or the best one);
/// returns the level it used and its lines.
fn run(program: &Path, model_dir: &Path, kernel: Option<&str>) -> (String, Lines) {
    let mut cmd = Command::new(program);
    cmd.arg(model_dir).env_remove("AETHER_INFER_KERNEL");
    if let Some(k) = kernel {
        cmd.env("AETHER_INFER_KERNEL", k);
    }
    let out = cmd.output().expect("run aether-infer-golden");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let level = lines
        .next()
        .and_then(|l| l.strip_prefix("kernel "))
        .expect("kernel line")
        .to_string();
    let lines = lines
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect();
    (level, lines)
}

#[test]
fn golden_hashes_hold_for_any_target_cpu_and_kernel_and_break_with_fma() {
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let golden: Lines = GOLDEN
        .iter()
        .map(|(n, o, r)| (n.to_string(), o.to_string(), r.to_string()))
        .collect();
    let baseline = build("x86-64", "-C target-cpu=x86-64");
    let mut levels = Vec::new();
    for kernel in ["portable", "avx2", "avx512"] {
        let (level, lines) = run(&baseline, &dir, Some(kernel));
        assert_eq!(lines, golden, "-C target-cpu=x86-64, kernel {level}");
        levels.push(level);
    }
    assert!(levels.contains(&"portable".to_string()), "{levels:?}");
    println!("kernel levels checked: {levels:?}");
    let native = build("native", "-C target-cpu=native");
    for kernel in ["portable", "avx512"] {
        let (level, lines) = run(&native, &dir, Some(kernel));
        assert_eq!(lines, golden, "-C target-cpu=native, kernel {level}");
    }
    let fma = build("fma", "-C target-cpu=native --cfg aether_infer_fma");
    let (_, lines) = run(&fma, &dir, None);
    assert_eq!(lines.len(), golden.len());
    for (f, g) in lines.iter().zip(&golden) {
        assert_eq!(f.0, g.0);
        assert_ne!(f.1, g.1, "{}: the FMA build must change the output", g.0);
        assert_ne!(f.2, g.2, "{}: the FMA build must change the trace", g.0);
    }
}
