//! `aether-measure verify snp`: verify an AMD SEV-SNP attestation report
//! against AMD's roots of trust, through the SEV-SNP pipeline of
//! `aether-evidence` (`aether_evidence::snp::appraise`, the one the chain's
//! unified `verify` runs).
//!
//! Prints ONE JSON object on stdout:
//! `{"verdict": "verified"|"rejected", "tee": "sev-snp", "trust_root": …,
//!   "verified_at": …, "claims": {…}|null, "failed_check": …, "error": …,
//!   "unverified_report": {…}}` (the last three on rejection only).
//! Exit status: 0 verified, 1 rejected, 2 usage or I/O error (message on
//! stderr). See `docs/verify-snp.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use aether_evidence::snp::{Policy, SnpError, SnpReport, TrustRoots, appraise};
use serde_json::{Value, json};

use super::input::{parse_hex_arg, parse_time, read_binary_or_hex, usage_error};

/// Options of `aether-measure verify snp`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Attestation report (1184 bytes), raw binary or hex text.
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
    /// VCEK or VLEK certificate, DER or PEM, or the bundle "VCEK/VLEK, ASK/ASVK,
    /// ARK" as AMD's KDS hands it out (required: fetching from the KDS is not done).
    #[arg(long, value_name = "FILE")]
    vcek: Option<PathBuf>,
    /// ASK/ASVK and ARK, PEM stack or concatenated DER; default: the embedded AMD
    /// ASK or ASVK and ARK.
    #[arg(long, value_name = "FILE")]
    cert_chain: Option<PathBuf>,
    /// Verification time: RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Expected MEASUREMENT (48 bytes hex); replaces the policy's `measurements`.
    #[arg(long, value_name = "HEX")]
    expect_measurement: Option<String>,
    /// Expected REPORT_DATA (up to 64 bytes hex, zero-padded to 64).
    #[arg(long, value_name = "HEX")]
    expect_report_data: Option<String>,
    /// Expected HOST_DATA (32 bytes hex).
    #[arg(long, value_name = "HEX")]
    expect_host_data: Option<String>,
    /// Policy file (TOML, or JSON starting with '{'); default: production policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Replace the embedded AMD roots with these ARK[+ASK][+ASVK] (PEM). For test chains only.
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// Replace the embedded AMD roots with the simulated root of aether-evidence
    /// (dev chains' simulated evidence); reported as a custom (test only) root.
    #[arg(long, conflicts_with = "trust_root")]
    simulated_root: bool,
    /// Accept guests whose policy allows debugging (dev networks only).
    #[arg(long)]
    allow_debug: bool,
}

/// Inputs read and validated; anything wrong here is a usage or I/O error.
struct Inputs {
    report: Vec<u8>,
    vcek: Vec<u8>,
    chain: Option<Vec<u8>>,
    roots: TrustRoots,
    policy: Policy,
    at: time::OffsetDateTime,
}

fn read_inputs(args: Args) -> Result<Inputs, String> {
    let vcek_path = args.vcek.ok_or(
        "--vcek FILE is required (the VCEK/VLEK certificate, DER or PEM; \
         fetching it from AMD's KDS is not supported)",
    )?;
    let report = read_binary_or_hex(&args.report)?;
    let vcek = read_file(&vcek_path)?;
    let chain = args.cert_chain.as_deref().map(read_file).transpose()?;
    let roots = match &args.trust_root {
        Some(path) => TrustRoots::custom(&read_file(path)?)
            .map_err(|e| format!("--trust-root {}: {e}", path.display()))?,
        None if args.simulated_root => aether_evidence::sim::snp_trust_roots(),
        None => TrustRoots::amd(),
    };
    let mut policy = match &args.policy {
        Some(path) => Policy::from_bytes(&read_file(path)?)
            .map_err(|e| format!("--policy {}: {e}", path.display()))?,
        None => Policy::default(),
    };
    if args.allow_debug {
        policy.allow_debug = true;
    }
    if let Some(hex) = &args.expect_measurement {
        let m = parse_hex_arg("--expect-measurement", hex, Some(48))?;
        policy.measurements = vec![m.try_into().map_err(|_| "--expect-measurement: 48 bytes")?];
    }
    if let Some(hex) = &args.expect_report_data {
        let bytes = parse_hex_arg("--expect-report-data", hex, None)?;
        if bytes.len() > 64 {
            return Err(format!(
                "--expect-report-data: at most 64 bytes, got {}",
                bytes.len()
            ));
        }
        let mut rd = [0u8; 64];
        rd[..bytes.len()].copy_from_slice(&bytes);
        policy.report_data = Some(rd);
    }
    if let Some(hex) = &args.expect_host_data {
        let h = parse_hex_arg("--expect-host-data", hex, Some(32))?;
        policy.host_data = Some(h.try_into().map_err(|_| "--expect-host-data: 32 bytes")?);
    }
    let at = parse_time(args.at.as_deref())?;
    Ok(Inputs {
        report,
        vcek,
        chain,
        roots,
        policy,
        at,
    })
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> ExitCode {
    let inputs = match read_inputs(args) {
        Ok(i) => i,
        Err(msg) => return usage_error(msg),
    };
    let at_text = inputs
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| inputs.at.unix_timestamp().to_string());
    let result = appraise(
        &inputs.report,
        &inputs.vcek,
        inputs.chain.as_deref(),
        &inputs.roots,
        &inputs.policy,
        inputs.at.unix_timestamp(),
    )
    .map_err(|r| (r.error, r.report));
    let (out, code) = match result {
        Ok(verified) => (
            json!({
                "verdict": "verified",
                "tee": "sev-snp",
                "trust_root": inputs.roots.kind().label(),
                "verified_at": at_text,
                "claims": verified,
            }),
            ExitCode::SUCCESS,
        ),
        Err((error, report)) => (
            rejected(
                &error,
                report.as_deref(),
                inputs.roots.kind().label(),
                &at_text,
            ),
            ExitCode::from(1),
        ),
    };
    match serde_json::to_string_pretty(&out) {
        Ok(text) => {
            println!("{text}");
            code
        }
        Err(e) => usage_error(format!("cannot encode the result: {e}")),
    }
}

/// The rejection object; `unverified_report` holds what the report says when
/// it could be parsed (for diagnosis only: none of it is vouched for).
fn rejected(error: &SnpError, report: Option<&SnpReport>, trust_root: &str, at: &str) -> Value {
    json!({
        "verdict": "rejected",
        "tee": "sev-snp",
        "trust_root": trust_root,
        "verified_at": at,
        "claims": Value::Null,
        "failed_check": error.check(),
        "error": error.to_string(),
        "unverified_report": report.map(SnpReport::claims),
    })
}
