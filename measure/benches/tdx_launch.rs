//! TDX launch-measurement timings next to the time to just SHA-384 the same bytes.
//!
//! `cargo bench -p aether-measure --bench tdx_launch` (release profile). Inputs:
//! Debian trixie OVMF (4 MiB), the Debian 6.1 kernel (14 MB), the GCE CCEL log.

use aether_measure::tdx_launch::{
    self, PageOrder, SetupHeaderPolicy, TdvfImage, TdvfProfile, compute_mrtd,
    kernel::{QEMU_ACPI_DATA_SIZE, QemuKernelLoad, served_kernel},
};
use sha2::{Digest, Sha384};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn time<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    black_box(f());
    let start = Instant::now();
    for _ in 0..runs {
        black_box(f());
    }
    start.elapsed() / runs
}

fn row(what: &str, ours: Duration, peer: Duration, bytes: usize) {
    println!(
        "{what:<44} {:>9.2} ms   sha384 of same {:>7} KiB: {:>8.2} ms   ratio {:.2}x",
        ours.as_secs_f64() * 1e3,
        bytes / 1024,
        peer.as_secs_f64() * 1e3,
        ours.as_secs_f64() / peer.as_secs_f64()
    );
}

fn main() {
    let Some(fw_path) = aether_testkit::input("ovmf-trixie.fd") else {
        return;
    };
    let Some(k_path) = aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64") else {
        return;
    };
    let fw = std::fs::read(fw_path).expect("read firmware");
    let kernel = std::fs::read(k_path).expect("read kernel");
    let image = TdvfImage::parse(&fw).expect("TDX metadata");

    // Bytes MRTD hashes: 128 per page add, (128 + 256) per 256-byte extend chunk.
    let mrtd_bytes: usize = image
        .metadata()
        .sections
        .iter()
        .map(|s| {
            let pages = s.pages() as usize;
            pages * 128
                + if s.attributes.mr_extend() {
                    pages * 16 * 384
                } else {
                    0
                }
        })
        .sum();
    let buf = vec![0x5au8; mrtd_bytes];
    let peer = time(20, || Sha384::digest(&buf));
    row(
        "MRTD single-pass (trixie OVMF)",
        time(20, || compute_mrtd(&image, PageOrder::SinglePass).unwrap()),
        peer,
        mrtd_bytes,
    );
    row(
        "MRTD two-pass (trixie OVMF)",
        time(20, || compute_mrtd(&image, PageOrder::TwoPass).unwrap()),
        peer,
        mrtd_bytes,
    );

    let load = QemuKernelLoad {
        memory: 2 << 30,
        cmdline: "console=ttyS0",
        initrd_size: Some(1 << 20),
        acpi_data_size: QEMU_ACPI_DATA_SIZE,
    };
    let peer = time(10, || Sha384::digest(&kernel));
    row(
        "RTMR1 kernel: QEMU patch + Authenticode",
        time(10, || {
            tdx_launch::authenticode_sha384(
                &served_kernel(&kernel, &load, SetupHeaderPolicy::QemuPatched).unwrap(),
            )
            .unwrap()
        }),
        peer,
        kernel.len(),
    );
    let peer_fw = time(3, || Sha384::digest(&fw));
    row(
        "firmware profile (LZMA volume scan)",
        time(3, || TdvfProfile::detect(&fw)),
        peer_fw,
        fw.len(),
    );

    if let Some(log_path) = aether_testkit::vector("tdx/gotdx/ccel/ccel_data.dat") {
        let log = std::fs::read(log_path).expect("read log");
        let parsed = tdx_launch::EventLog::parse(&log).expect("log");
        let used = parsed.log_len;
        let peer = time(200, || Sha384::digest(&log[..used]));
        row(
            "CCEL parse + RTMR replay (43 events)",
            time(200, || {
                tdx_launch::EventLog::parse(&log)
                    .unwrap()
                    .replay_rtmrs()
                    .unwrap()
            }),
            peer,
            used,
        );
    }
}
