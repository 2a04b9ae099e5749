//! The manifest's measurements agree with independent tools run on the same
//! artifacts: `sev-snp-measure` 0.0.13 (PyPI) for the SNP launch digests, a
//! separate Python implementation of the TDX MRTD (`tests/tdx_mrtd.py`).

use aether_qemu_tests::{any_kernel, build_or_skip, measure_payload, sev_snp_measure};
use std::process::Command;

#[test]
fn snp_digests_equal_sev_snp_measure() {
    if aether_testkit::sev_snp_measure().is_none() {
        return;
    }
    let (Some(kernel), Some(payload)) = (any_kernel(), measure_payload()) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    // The SNP profile's firmware: images/firmware/build-ovmf-amdsev (cached).
    let Some(dir) = build_or_skip("smoke", "snp", out.path(), &kernel, Some(&payload), None) else {
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let shapes = manifest["measurements"]["snp"].as_array().unwrap();
    assert!(!shapes.is_empty());
    let cmdline = std::fs::read_to_string(dir.join("cmdline")).unwrap();
    // First, last and one in the middle: each call of the Python tool takes a second.
    for shape in [
        &shapes[0],
        &shapes[shapes.len() / 2],
        &shapes[shapes.len() - 1],
    ] {
        let theirs = sev_snp_measure(
            &dir,
            shape["vcpus"].as_u64().unwrap(),
            shape["cpu"].as_str().unwrap(),
            shape["vmm"].as_str().unwrap(),
            shape["guest_features"].as_str().unwrap(),
            &cmdline,
        )
        .unwrap();
        assert_eq!(
            shape["launch_digest"].as_str().unwrap(),
            theirs,
            "shape {shape}"
        );
    }
}

/// The manifest's TDX MRTD values (both page orders) equal an independent
/// Python recomputation from the TDVF metadata of the image's firmware
/// (`tests/tdx_mrtd.py`, written from the TDVF and TDX module specifications).
#[test]
fn tdx_mrtd_equals_an_independent_recomputation() {
    let (Some(kernel), Some(payload)) = (any_kernel(), measure_payload()) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let Some(dir) = build_or_skip("smoke", "tdx", out.path(), &kernel, Some(&payload), None) else {
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let tdx = &manifest["measurements"]["tdx"];
    let firmware = dir.join(manifest["firmware"].as_str().unwrap());
    let script = aether_testkit::workspace_root().join("qemu-tests/tests/tdx_mrtd.py");
    let python = std::env::var_os("AETHER_PYTHON").unwrap_or_else(|| "python3".into());
    let o = Command::new(python)
        .arg(&script)
        .arg(&firmware)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(theirs.len(), 2, "{text}");
    assert_eq!(
        tdx["mrtd"].as_str().unwrap(),
        theirs[0],
        "interleaved order"
    );
    assert_eq!(
        tdx["mrtd_two_pass"].as_str().unwrap(),
        theirs[1],
        "two-pass order"
    );
}
