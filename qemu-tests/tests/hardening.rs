//! Hardening checks on a built image: the initrd holds exactly the init, the
//! payload, its config and the mount points (no shell, no setuid, nothing
//! else), the UKI carries the measured command line, and the project kernel
//! cannot load modules.

use aether_qemu_tests::{any_kernel, build_or_skip, measure_payload, project_kernel};
use std::collections::BTreeMap;

/// (mode, rdev major, rdev minor, size) by path.
fn initrd_entries(initrd_zst: &[u8]) -> BTreeMap<String, (u32, u32, u32, u32)> {
    let newc = zstd::stream::decode_all(initrd_zst).unwrap();
    let mut rest: &[u8] = &newc;
    let mut out = BTreeMap::new();
    loop {
        let r = cpio::newc::Reader::new(rest).unwrap();
        let e = r.entry();
        if e.is_trailer() {
            break;
        }
        assert_eq!((e.uid(), e.gid(), e.mtime()), (0, 0, 0), "{}", e.name());
        out.insert(
            e.name().to_string(),
            (e.mode(), e.rdev_major(), e.rdev_minor(), e.file_size()),
        );
        rest = r.finish().unwrap();
    }
    out
}

#[test]
fn initrd_has_no_shell_and_nothing_unexpected() {
    let Some(kernel) = any_kernel() else { return };
    let Some(payload) = measure_payload() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let Some(dir) = build_or_skip("smoke", "tdx", out.path(), &kernel, Some(&payload), None) else {
        return;
    };
    let entries = initrd_entries(&std::fs::read(dir.join("initrd.cpio.zst")).unwrap());
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "dev",
            "dev/console",
            "etc",
            "etc/aether",
            "etc/aether/appliance.toml",
            "etc/os-release",
            "init",
            "proc",
            "run",
            "sys",
            "tmp",
            "usr",
            "usr/bin",
            "usr/bin/aether-measure",
            "var",
            "var/lib",
        ]
    );
    for name in entries.keys() {
        let base = name.rsplit('/').next().unwrap();
        assert!(
            ![
                "sh", "bash", "dash", "ash", "zsh", "ksh", "busybox", "toybox", "login", "sshd"
            ]
            .contains(&base),
            "shell-like binary {name} in the initrd"
        );
    }
    for (name, (mode, ..)) in &entries {
        assert_eq!(mode & 0o6000, 0, "{name} is setuid/setgid");
    }
    assert_eq!(entries["dev/console"], (0o020600, 5, 1, 0));
    assert_eq!(entries["init"].0, 0o100755);

    // The UKI's .cmdline is exactly the measured command line.
    let uki = std::fs::read(dir.join("smoke-tdx.efi")).unwrap();
    let cmdline = std::fs::read(dir.join("cmdline")).unwrap();
    let section = aether_image::uki::section_memory(&uki, ".cmdline")
        .unwrap()
        .unwrap();
    assert_eq!(section, cmdline);
    let linux = aether_image::uki::section_memory(&uki, ".linux")
        .unwrap()
        .unwrap();
    assert_eq!(linux, std::fs::read(dir.join("vmlinuz")).unwrap());
}

#[test]
fn project_kernel_has_no_module_loading() {
    let Some(kernel) = project_kernel() else {
        return;
    };
    let config = kernel.with_file_name("config");
    let text = std::fs::read_to_string(&config).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (build-kernel keeps the config next to bzImage)",
            config.display()
        )
    });
    assert!(
        text.lines().any(|l| l == "# CONFIG_MODULES is not set"),
        "CONFIG_MODULES is enabled"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("CONFIG_DEBUG_FS=y")),
        "debugfs is enabled"
    );
}
