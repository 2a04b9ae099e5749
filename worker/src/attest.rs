//! `aether-worker attest --report-data HEX [--provider auto|configfs-tsm|sev-guest|tdx-guest|sim]
//! [--sim-psp ADDR] [--snp-vek SRC] [--tdx-collateral SRC] [--verify dev|production] [--out FILE]`:
//! what an operator runs to check a machine, and what the appliance's
//! start-up self-check does.
//!
//! Prints which provider was used and why the others were skipped (stderr),
//! and one JSON object (stdout, or `--out FILE`):
//!
//! ```json
//! {"provider": "sim", "tee": "snp", "report_data": hex, "elapsed_ms": 3.1,
//!  "evidence": {"tee": "snp", "report": hex, "vek": hex, "chain": null},
//!  "claims": {...}}            // with --verify: aether-evidence's verified claims
//! ```
//!
//! `evidence` is `aether_evidence::Evidence`'s serde form, what a receipt
//! carries. `--verify dev` checks it against the production policy plus the
//! simulated root, `--verify production` against the production roots only.

use aether_evidence::{Evidence, EvidencePolicy};
use aether_sim_psp::PspAddr;
use aether_worker::evidence::collateral::Source;
use aether_worker::evidence::{self, EvidenceProvider, ProviderChoice, ProviderConfig, Selection};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Instant;

/// The evidence options shared by `attest` and `appliance`.
#[derive(Args, Debug, Clone, Default)]
pub struct ProviderArgs {
    /// Evidence provider: auto, configfs-tsm, sev-guest, tdx-guest or sim.
    #[arg(long)]
    pub provider: Option<ProviderChoice>,
    /// The simulated PSP: unix:PATH, tcp:HOST:PORT, virtio:NAME or dev:PATH.
    #[arg(long)]
    pub sim_psp: Option<PspAddr>,
    /// SEV-SNP VCEK/VLEK (file or http(s) URL) when the host's certificate table has none.
    #[arg(long)]
    pub snp_vek: Option<Source>,
    /// TDX collateral, dcap-qvl QuoteCollateralV3 JSON (file or http(s) URL).
    #[arg(long)]
    pub tdx_collateral: Option<Source>,
    /// The configfs-tsm report directory.
    #[arg(long)]
    pub configfs_root: Option<PathBuf>,
}

impl ProviderArgs {
    /// These options on top of `base` (the command line wins over the file).
    pub fn apply(&self, mut base: ProviderConfig) -> ProviderConfig {
        if let Some(c) = self.provider {
            base.choice = c;
        }
        if let Some(a) = &self.sim_psp {
            base.sim_psp = Some(a.clone());
        }
        if let Some(s) = &self.snp_vek {
            base.snp_vek = Some(s.clone());
        }
        if let Some(s) = &self.tdx_collateral {
            base.tdx_collateral = Some(s.clone());
        }
        if let Some(r) = &self.configfs_root {
            base.configfs_root = r.clone();
        }
        base
    }
}

/// Which policy `--verify` checks against.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyPolicy {
    /// Production roots plus the simulated root (dev chains).
    Dev,
    /// AMD's and Intel's roots only.
    Production,
}

/// Arguments of `aether-worker attest`.
#[derive(Args, Debug)]
pub struct AttestArgs {
    /// The 64 bytes to bind, as 128 hex digits.
    #[arg(long, value_parser = aether_worker::config::parse_report_data)]
    report_data: [u8; 64],
    #[command(flatten)]
    providers: ProviderArgs,
    /// Also verify the evidence now with aether-evidence and print the claims.
    #[arg(long, value_enum)]
    verify: Option<VerifyPolicy>,
    /// Write the JSON here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Errors of the command.
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    /// No provider, or the provider failed.
    #[error(transparent)]
    Provider(#[from] evidence::EvidenceProviderError),
    /// `--verify` rejected the evidence.
    #[error("the evidence does not verify ({check}): {message}")]
    Verify {
        /// The failed check.
        check: &'static str,
        /// The verifier's message.
        message: String,
    },
    /// Writing the output failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// One attestation: the provider used and its evidence.
#[derive(Debug)]
pub struct Attested {
    /// The provider's name.
    pub provider: &'static str,
    /// The evidence.
    pub evidence: Evidence,
    /// Time the provider took, in milliseconds.
    pub elapsed_ms: f64,
}

/// Selects a provider (logging the decision on stderr with `prefix`).
pub fn select(
    cfg: &ProviderConfig,
    prefix: &str,
) -> Result<Selection, evidence::EvidenceProviderError> {
    match evidence::select(cfg) {
        Ok(s) => {
            eprintln!(
                "{prefix}evidence provider {} ({}):\n{}",
                s.provider.name(),
                s.provider.tee(),
                s.decision.explain()
            );
            Ok(s)
        }
        Err(e) => Err(e),
    }
}

/// Asks `provider` for evidence binding `report_data`.
pub fn attest(
    provider: &dyn EvidenceProvider,
    report_data: [u8; 64],
) -> Result<Attested, AttestError> {
    let t = Instant::now();
    let evidence = provider.evidence(report_data)?;
    Ok(Attested {
        provider: provider.name(),
        evidence,
        elapsed_ms: t.elapsed().as_secs_f64() * 1e3,
    })
}

/// The JSON report of an attestation (claims when verified).
pub fn report_json(
    a: &Attested,
    report_data: &[u8; 64],
    claims: Option<&aether_evidence::Claims>,
) -> serde_json::Value {
    serde_json::json!({
        "provider": a.provider,
        "tee": a.evidence.tee(),
        "report_data": hex::encode(report_data),
        "elapsed_ms": (a.elapsed_ms * 1000.0).round() / 1000.0,
        "evidence": a.evidence,
        "claims": claims,
    })
}

/// Verifies `e` now against `policy`.
pub fn verify_now(
    e: &Evidence,
    policy: VerifyPolicy,
) -> Result<aether_evidence::Claims, AttestError> {
    let p = match policy {
        VerifyPolicy::Dev => EvidencePolicy::production().with_simulated(),
        VerifyPolicy::Production => EvidencePolicy::production(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    aether_evidence::verify(e, &p, now).map_err(|err| AttestError::Verify {
        check: err.check(),
        message: err.to_string(),
    })
}

/// Runs the command.
pub fn run(args: &AttestArgs) -> Result<(), AttestError> {
    let cfg = args.providers.apply(ProviderConfig::default());
    let selection = select(&cfg, "aether-worker: ")?;
    let a = attest(selection.provider.as_ref(), args.report_data)?;
    eprintln!(
        "aether-worker: {} evidence from {} in {:.1} ms",
        a.evidence.tee(),
        a.provider,
        a.elapsed_ms
    );
    let claims = args
        .verify
        .map(|p| verify_now(&a.evidence, p))
        .transpose()?;
    if let Some(c) = &claims {
        eprintln!(
            "aether-worker: verified: root {}, signer {}, TCB {}",
            c.root.name(),
            c.signer,
            c.tcb
        );
    }
    let mut text = report_json(&a, &args.report_data, claims.as_ref()).to_string();
    text.push('\n');
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| AttestError::Io(path.display().to_string(), e))
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|e| AttestError::Io("stdout".into(), e))
        }
    }
}
