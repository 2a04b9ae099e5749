//! Image figures of issue 6, from one run: artifact sizes, warm build time,
//! and boot-to-RPC time under QEMU TCG, next to the peer's figures from the
//! same run: the distribution's kernel (the pinned Debian 6.1 cloud kernel)
//! in size and in time to start `/init` with the same initrd, command line
//! and QEMU.
//!
//! `cargo bench -p aether-qemu-tests --bench image` (needs the inputs that
//! `scripts/test` prepares: kernel, firmware, static binaries; QEMU).

use aether_image::build::fetch_input;
use aether_image::qemu::{BootOptions, plain};
use aether_qemu_tests::{
    Vm, build_or_skip, free_port, json_rpc_within, project_kernel, root, static_binaries,
};
use std::path::Path;
use std::time::{Duration, Instant};

const BOOT: Duration = Duration::from_secs(240);

fn mb(path: &Path) -> f64 {
    std::fs::metadata(path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(f64::NAN)
}

fn main() {
    let (Some(kernel), Some(node)) = (project_kernel(), static_binaries(&["aether-cli:aether"]))
    else {
        eprintln!("image bench: prerequisites missing (see above)");
        return;
    };
    let fw = fetch_input(&root(), "ovmf-trixie.fd").expect("ovmf-trixie.fd");
    let debian = fetch_input(&root(), "vmlinuz-6.1.0-56-cloud-amd64").expect("Debian kernel");
    let out = tempfile::tempdir().unwrap();

    // Warm build: every input cached; this is the image assembly itself.
    let t = Instant::now();
    let dir = build_or_skip(
        "validator",
        "snp",
        out.path(),
        &kernel,
        Some(&node[0]),
        None,
    )
    .expect("build");
    let build = t.elapsed();
    let uki = dir.join("validator-snp.efi");

    // Boot to RPC.
    let info = aether_image::manifest::load_and_verify(&dir).unwrap();
    let port = free_port();
    let opts = BootOptions {
        net: Some(format!("user,hostfwd=tcp:127.0.0.1:{port}-:8545")),
        ..BootOptions::default()
    };
    let t = Instant::now();
    let mut vm = Vm::start(&plain(&dir, &info.cmdline, &fw, &opts));
    vm.wait_for("aether-init: aether-init", BOOT);
    let to_init = t.elapsed();
    vm.wait_for("JSON-RPC listening", BOOT);
    let to_listen = t.elapsed();
    // A short read timeout, so that one early attempt does not stall the
    // measurement (see `json_rpc_within`).
    let deadline = Instant::now() + BOOT;
    let answered = || {
        json_rpc_within(
            port,
            "aether_status",
            serde_json::json!([]),
            Duration::from_millis(300),
        )
        .is_ok_and(|v| v["result"]["height"].is_u64())
    };
    while !answered() {
        if Instant::now() > deadline {
            vm.fail("RPC never answered");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let to_rpc = t.elapsed();
    drop(vm);

    // Peer: the same boot with the distribution's kernel, to /init.
    let peer_dir = out.path().join("peer");
    std::fs::create_dir_all(&peer_dir).unwrap();
    for f in ["initrd.cpio.zst", "cmdline"] {
        std::fs::copy(dir.join(f), peer_dir.join(f)).unwrap();
    }
    std::fs::copy(&debian, peer_dir.join("vmlinuz")).unwrap();
    let opts = BootOptions {
        net: None,
        ..BootOptions::default()
    };
    let t = Instant::now();
    let mut vm = Vm::start(&plain(&peer_dir, &info.cmdline, &fw, &opts));
    vm.wait_for("aether-init: aether-init", BOOT);
    let peer_to_init = t.elapsed();
    drop(vm);

    println!("validator-snp image (QEMU TCG, generic OVMF, 2 vCPUs)");
    println!(
        "  sizes: UKI {:.1} MB (goal <= 20), initrd.cpio.zst {:.1} MB, vmlinuz {:.1} MB",
        mb(&uki),
        mb(&dir.join("initrd.cpio.zst")),
        mb(&dir.join("vmlinuz"))
    );
    println!("  peer:  Debian 6.1 cloud vmlinuz {:.1} MB", mb(&debian));
    println!(
        "  warm build (inputs cached): {:.1} s (goal <= 60)",
        build.as_secs_f64()
    );
    println!(
        "  boot: QEMU start -> /init {:.1} s, -> node logs JSON-RPC listening {:.1} s, -> aether_status answers on the forwarded port {:.1} s (goal <= 10)",
        to_init.as_secs_f64(),
        to_listen.as_secs_f64(),
        to_rpc.as_secs_f64()
    );
    println!(
        "  peer: Debian 6.1 cloud kernel, same initrd: QEMU start -> /init {:.1} s",
        peer_to_init.as_secs_f64()
    );
}
