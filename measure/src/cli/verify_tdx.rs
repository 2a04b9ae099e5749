//! `aether-measure verify tdx`: verify an Intel TDX DCAP quote with its
//! collateral against the Intel SGX Root CA (or a test root), apply a policy, and
//! print one JSON object with the verdict, the claims and the failed check. The
//! verification is the TDX pipeline of `aether-evidence`
//! (`aether_evidence::tdx::appraise`, the one the chain's unified `verify` runs).
//!
//! Exit status: 0 verified, 1 rejected, 2 usage or I/O error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use aether_evidence::tdx::{Appraisal, Policy, Verifier, appraise};
use aether_tdx_evidence::{HexBytes, TrustRootKind, parse_tcb_status};
use serde_json::{Value, json};

use super::input::{parse_hex_arg, parse_time, read_binary_or_hex, usage_error};

/// Options of `verify tdx`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The quote: raw binary or hex text.
    #[arg(long, value_name = "FILE")]
    quote: PathBuf,
    /// Collateral in dcap-qvl's QuoteCollateralV3 JSON form (PCK CRL and chains,
    /// TCB info, QE identity).
    #[arg(long, value_name = "FILE")]
    collateral: PathBuf,
    /// Verification time: RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Expected MRTD (48-byte hex).
    #[arg(long, value_name = "HEX")]
    expect_mrtd: Option<String>,
    /// Expected RTMR, as INDEX=HEX (index 0-3); repeatable.
    #[arg(long, value_name = "N=HEX")]
    expect_rtmr: Vec<String>,
    /// Expected REPORTDATA (64-byte hex).
    #[arg(long, value_name = "HEX")]
    expect_report_data: Option<String>,
    /// Accepted TCB statuses, comma-separated (default UpToDate), e.g.
    /// UpToDate,SWHardeningNeeded. Replaces the policy file's list.
    #[arg(long, value_name = "STATUS,...", value_delimiter = ',')]
    accept_tcb: Vec<String>,
    /// Policy file (JSON or TOML; see docs/verify-tdx.md). Flags override it.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Root CA certificate (DER or PEM) replacing the embedded Intel SGX Root CA.
    /// For test chains only; the output says so.
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// Replace the Intel SGX Root CA with the simulated root of aether-evidence
    /// (dev chains' simulated evidence); reported as a custom root.
    #[arg(long, conflicts_with = "trust_root")]
    simulated_root: bool,
    /// Accept a TD under debug (TUD bits set). Dev networks only.
    #[arg(long)]
    allow_debug: bool,
}

/// Everything the run needs, read and checked (usage and I/O errors out).
struct Inputs {
    quote: Vec<u8>,
    collateral: Vec<u8>,
    at: u64,
    policy: Policy,
    verifier: Verifier,
}

fn read_inputs(args: &Args) -> Result<Inputs, String> {
    let quote = read_binary_or_hex(&args.quote)?;
    let collateral_json = std::fs::read(&args.collateral)
        .map_err(|e| format!("cannot read {}: {e}", args.collateral.display()))?;
    let at = parse_time(args.at.as_deref())?.unix_timestamp();
    let at = u64::try_from(at).map_err(|_| format!("--at: {at} is before 1970"))?;

    let mut policy = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Policy::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Policy::default(),
    };
    if let Some(hex) = &args.expect_mrtd {
        policy.expected_mrtd = Some(HexBytes(fixed(parse_hex_arg(
            "--expect-mrtd",
            hex,
            Some(48),
        )?)));
    }
    for spec in &args.expect_rtmr {
        let (index, hex) = spec
            .split_once('=')
            .ok_or_else(|| format!("--expect-rtmr: expected N=HEX, got {spec:?}"))?;
        let index: usize = index
            .trim()
            .parse()
            .map_err(|_| format!("--expect-rtmr: index {index:?} is not 0-3"))?;
        let value = HexBytes(fixed(parse_hex_arg("--expect-rtmr", hex, Some(48))?));
        policy
            .set_expected_rtmr(index, value)
            .map_err(|e| format!("--expect-rtmr: {e}"))?;
    }
    if let Some(hex) = &args.expect_report_data {
        policy.expected_report_data = Some(HexBytes(fixed(parse_hex_arg(
            "--expect-report-data",
            hex,
            Some(64),
        )?)));
    }
    if !args.accept_tcb.is_empty() {
        policy.accepted_tcb_statuses = args
            .accept_tcb
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_tcb_status(s).map_err(|e| format!("--accept-tcb: {e}")))
            .collect::<Result<_, _>>()?;
    }
    if args.allow_debug {
        policy.allow_debug = true;
    }

    let verifier = match &args.trust_root {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Verifier::with_trust_root(&bytes)
                .map_err(|e| format!("--trust-root {}: {e}", path.display()))?
        }
        None if args.simulated_root => aether_evidence::sim::tdx_verifier(),
        None => Verifier::intel(),
    };
    Ok(Inputs {
        quote,
        collateral: collateral_json,
        at,
        policy,
        verifier,
    })
}

/// `parse_hex_arg` checked the length; this turns the vector into the array.
fn fixed<const N: usize>(bytes: Vec<u8>) -> [u8; N] {
    let mut out = [0u8; N];
    out.iter_mut().zip(bytes).for_each(|(o, b)| *o = b);
    out
}

/// Runs `verify tdx`.
pub(crate) fn run(args: Args) -> ExitCode {
    let inputs = match read_inputs(&args) {
        Ok(i) => i,
        Err(msg) => return usage_error(msg),
    };
    let appraisal = appraise(
        &inputs.quote,
        &inputs.collateral,
        &inputs.verifier,
        &inputs.policy,
        inputs.at,
    );
    let output = render(&appraisal, &inputs);
    match serde_json::to_string_pretty(&output) {
        // A closed stdout (e.g. `| head`) must not turn the verdict into a panic.
        Ok(text) => {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
        Err(e) => return usage_error(format!("cannot serialize the result: {e}")),
    }
    if appraisal.error().is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The output object.
fn render(appraisal: &Appraisal, inputs: &Inputs) -> Value {
    let root = inputs.verifier.trust_root();
    let mut trust_root = json!({ "kind": root.kind, "sha256": root.sha256 });
    if root.kind == TrustRootKind::Custom {
        trust_root["note"] = json!(
            "--trust-root replaced the Intel SGX Root CA: this verdict is for a test chain, not Intel hardware"
        );
    }
    let (verdict, claims, authenticated, error) = match appraisal {
        Appraisal::Verified(c) => ("verified", to_value(c), true, None),
        Appraisal::PolicyRejected { claims, error } => {
            ("rejected", to_value(claims), true, Some(error))
        }
        Appraisal::Rejected { error, parsed } => {
            let claims = parsed.as_ref().map_or(Value::Null, |q| {
                json!({ "header": q.header, "td_report": q.body, "trailing_len": q.trailing_len })
            });
            ("rejected", claims, false, Some(error))
        }
    };
    json!({
        "verdict": verdict,
        "tee": "tdx",
        "claims": claims,
        "claims_authenticated": authenticated,
        "tcb_status": if authenticated { claims["tcb_status"].clone() } else { Value::Null },
        "advisory_ids": if authenticated { claims["advisory_ids"].clone() } else { json!([]) },
        "failed_check": error.map(|e| e.check()),
        "error": error.map(|e| e.to_string()),
        "verified_at": inputs.at,
        "trust_root": trust_root,
    })
}

fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}
