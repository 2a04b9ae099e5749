//! `aether-worker appliance --data-dir DIR`: the worker appliance's payload
//! (started by `aether-init`, see `images/defs/worker.toml`).
//!
//! At start it reads `DIR/worker.toml` (on the data disk; absent means
//! defaults, see [`aether_worker::config`]) and runs the evidence
//! self-check: it selects the provider (saying which and why), obtains
//! evidence binding the configured challenge (`[self_check] report_data`,
//! else 64 random bytes) and prints it on one console line
//!
//! ```text
//! AETHER-EVIDENCE {"provider": ..., "tee": ..., "report_data": ..., "evidence": {...}}
//! ```
//!
//! (the same JSON as `aether-worker attest`). A failure exits non-zero, so
//! the init restarts it with back-off and powers the VM off when it keeps
//! failing: a worker without evidence cannot earn anything. After the check
//! it runs the job runner when `worker.toml` has a `[run]` section naming
//! the node (`rpc`) and the provider (`provider_id`), with its data in
//! `DIR/worker` unless `[run] data_dir` says otherwise; without one it
//! stays up until stopped (SIGTERM from the init).

use crate::attest::{ProviderArgs, attest, report_json, select};
use aether_worker::config::{WorkerConfig, parse_report_data};
use aether_worker::evidence::ProviderConfig;
use clap::Args;
use std::io::Read;
use std::path::PathBuf;

/// The console marker of the self-check's evidence line.
pub const EVIDENCE_MARKER: &str = "AETHER-EVIDENCE ";

/// Arguments of `aether-worker appliance`.
#[derive(Args, Debug)]
pub struct ApplianceArgs {
    /// The data directory (the data disk's mount point).
    #[arg(long)]
    data_dir: PathBuf,
    #[command(flatten)]
    providers: ProviderArgs,
}

fn random_report_data() -> Result<[u8; 64], String> {
    let mut rd = [0u8; 64];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut rd))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(rd)
}

/// Runs the appliance payload; returns only on failure.
pub fn run(args: &ApplianceArgs) -> Result<(), String> {
    let path = args.data_dir.join("worker.toml");
    let cfg = WorkerConfig::load_or_default(&path).map_err(|e| e.to_string())?;
    eprintln!(
        "aether-worker: appliance start, config {}",
        if path.exists() {
            path.display().to_string()
        } else {
            "defaults (no worker.toml)".into()
        }
    );
    let providers = args
        .providers
        .apply(cfg.provider_config(ProviderConfig::default())?);
    let report_data = match &cfg.self_check.report_data {
        Some(hex) => parse_report_data(hex)?,
        None => random_report_data()?,
    };
    let selection = select(&providers, "aether-worker: self-check: ").map_err(|e| e.to_string())?;
    let a = attest(selection.provider.as_ref(), report_data).map_err(|e| e.to_string())?;
    eprintln!(
        "aether-worker: self-check: {} evidence from {} in {:.1} ms",
        a.evidence.tee(),
        a.provider,
        a.elapsed_ms
    );
    println!("{EVIDENCE_MARKER}{}", report_json(&a, &report_data, None));
    if cfg.run.rpc.is_some() && cfg.run.provider_id.is_some() {
        eprintln!("aether-worker: self-check passed; starting the job runner");
        crate::run_cmd::init_logs();
        let run = crate::run_cmd::RunArgs::from_file_only(args.providers.clone());
        return crate::run_cmd::run_with(
            &cfg,
            &run,
            args.data_dir.join("worker"),
            Some(selection.provider),
        );
    }
    eprintln!(
        "aether-worker: self-check passed; no [run] section in worker.toml: idle until stopped"
    );
    loop {
        std::thread::park();
    }
}
