//! Compares the SHA-384 (and SHA-256) back ends available in the workspace
//! on the shape of work a launch digest does: SHA-384 of every 4 KiB page of
//! a 4 MiB firmware, and SHA-256 of a 22 MB kernel + initrd.
//!
//! `cargo bench --release -p aether-snp-launch --bench sha384_backends`

use std::hint::black_box;
use std::time::{Duration, Instant};

use sha2::Digest;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let pages: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big: Vec<u8> = (0..22u32 << 20)
        .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
        .collect();
    let runs = 15;
    let sha2_384 = time(runs, || {
        for p in pages.chunks(4096) {
            black_box(sha2::Sha384::digest(p));
        }
    });
    let ring_384 = time(runs, || {
        for p in pages.chunks(4096) {
            black_box(ring::digest::digest(&ring::digest::SHA384, p));
        }
    });
    let sha2_256 = time(runs, || {
        black_box(sha2::Sha256::digest(&big));
    });
    let ring_256 = time(runs, || {
        black_box(ring::digest::digest(&ring::digest::SHA256, &big));
    });
    let mbps = |bytes: usize, d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    println!("back end                          median      MB/s");
    println!(
        "sha2 0.10  SHA-384, 4 KiB pages  {:>9.3?}  {:>8.0}",
        sha2_384,
        mbps(pages.len(), sha2_384)
    );
    println!(
        "ring 0.17  SHA-384, 4 KiB pages  {:>9.3?}  {:>8.0}",
        ring_384,
        mbps(pages.len(), ring_384)
    );
    println!(
        "sha2 0.10  SHA-256, 22 MiB       {:>9.3?}  {:>8.0}",
        sha2_256,
        mbps(big.len(), sha2_256)
    );
    println!(
        "ring 0.17  SHA-256, 22 MiB       {:>9.3?}  {:>8.0}",
        ring_256,
        mbps(big.len(), ring_256)
    );
}
