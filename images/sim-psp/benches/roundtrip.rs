//! Evidence round trip through the simulated PSP on the host: a request
//! over a Unix socket (client encode, server decode, sign, encode, client
//! decode) beside the signer alone, for SEV-SNP and TDX.
//!
//! `cargo bench -p aether-sim-psp --bench roundtrip` (release profile).

use aether_evidence::sim::SimSigner;
use aether_evidence::{LaunchMeasurement, TeeKind};
use aether_sim_psp::Client;
use aether_sim_psp::server::{ListenAddr, Server, SimPsp};
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: u32 = 200;

fn per_call(mut f: impl FnMut(u32)) -> Duration {
    f(0); // warm-up: keys loaded, collateral cached
    let t = Instant::now();
    for i in 0..N {
        f(i);
    }
    t.elapsed() / N
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = SimSigner::new();
    for (tee, m) in [
        (TeeKind::Snp, LaunchMeasurement::Snp([1; 48])),
        (
            TeeKind::Tdx,
            LaunchMeasurement::Tdx {
                mrtd: [1; 48],
                rtmr: [[2; 48]; 4],
            },
        ),
    ] {
        let sock = dir.path().join(format!("{tee}.sock"));
        let server = Server::start(
            SimPsp::new(m, "bench"),
            &ListenAddr::Unix(sock),
            Arc::new(|_: &str| {}),
        )
        .expect("server");
        let mut client = Client::connect(server.addr(), Duration::from_secs(30)).expect("connect");
        let rt = per_call(|i| {
            let mut rd = [0u8; 64];
            rd[..4].copy_from_slice(&i.to_le_bytes());
            client.evidence(tee, rd).expect("evidence");
        });
        let sign = per_call(|i| {
            let mut rd = [0u8; 64];
            rd[..4].copy_from_slice(&i.to_le_bytes());
            match m {
                LaunchMeasurement::Snp(d) => {
                    signer.snp(d, rd, &Default::default());
                }
                LaunchMeasurement::Tdx { mrtd, rtmr } => {
                    signer.tdx(mrtd, rtmr, rd, &Default::default());
                }
            }
        });
        println!(
            "{tee}: round trip over a Unix socket {:.3} ms per evidence; signer alone {:.3} ms ({N} calls)",
            rt.as_secs_f64() * 1e3,
            sign.as_secs_f64() * 1e3
        );
    }
}
