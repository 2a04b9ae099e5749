//! Two builds of the same image in different directories give identical
//! bytes for every artifact (kernel, initrd, cmdline, UKI, firmware, manifest).
//! The kernel and firmware here are pinned inputs; their own reproducibility
//! is checked by their build scripts (see docs/images.md).

use aether_qemu_tests::{any_kernel, build_or_skip, dir_hashes, measure_payload};

#[test]
fn image_builds_are_bit_for_bit_reproducible() {
    let Some(kernel) = any_kernel() else { return };
    let Some(payload) = measure_payload() else {
        return;
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let Some(da) = build_or_skip("smoke", "tdx", a.path(), &kernel, Some(&payload), None) else {
        return;
    };
    let Some(db) = build_or_skip(
        "smoke",
        "tdx",
        &b.path().join("another/depth"),
        &kernel,
        Some(&payload),
        None,
    ) else {
        return;
    };
    let ha = dir_hashes(&da);
    let hb = dir_hashes(&db);
    assert_eq!(ha, hb, "two builds differ");
    let names: Vec<&str> = ha.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "OVMF.fd",
            "cmdline",
            "initrd.cpio.zst",
            "manifest.json",
            "smoke-tdx.disk.raw",
            "smoke-tdx.efi",
            "vmlinuz"
        ]
    );
    // The manifest's artifact hashes are those of the files.
    aether_image::manifest::load_and_verify(&da).unwrap();
}
