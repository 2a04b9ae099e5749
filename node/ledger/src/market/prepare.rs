//! The part of market actions that depends only on the transaction and the
//! block's time: receipt binding, TEE evidence verification and KZG proofs.
//! The executor computes it for a whole block in parallel before
//! scheduling; the serial market lane then only reads and writes objects.

use crate::market::error::MarketError;
use aether_evidence::{Evidence, Verifier};
use aether_types::{
    Action, BoundedBytes, BoundedString, LaunchMeasurement, TeeEvidence, TeeKind, Transaction, Vcr,
    VerifiedClaims,
};

/// Precomputed results of one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreparedAction {
    /// Nothing to precompute.
    Nothing,
    /// A receipt's stateless checks, in the chain's order; a later check
    /// is not attempted (`None`) once an earlier one failed.
    Receipt(ReceiptChecks),
    /// A validator registration's stateless checks (staking).
    Registration(crate::staking::RegistrationChecks),
}

/// Results of a receipt's stateless checks (see [`PreparedAction`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptChecks {
    /// Binding (and chain id) first: no signature work if it fails.
    pub binding: Result<(), MarketError>,
    /// The evidence's verified claims.
    pub evidence: Option<Result<VerifiedClaims, MarketError>>,
    /// The output's KZG commitments.
    pub kzg: Option<Result<(), MarketError>>,
}

/// Offsets of REPORT_DATA: SNP report 0x50; TDX TD report body +520, the
/// body at 48 (quote v4) or 54 (quote v5, after the body descriptor).
const SNP_REPORT_DATA: usize = 0x50;
const TDX_REPORT_DATA_IN_BODY: usize = 520;

/// The 64 bytes of report data, read from the raw evidence without
/// verifying anything (the binding check runs before signature work).
pub fn peek_report_data(evidence: &TeeEvidence) -> Option<[u8; 64]> {
    let (bytes, at) = match evidence {
        TeeEvidence::Snp { report, .. } => (report.as_slice(), SNP_REPORT_DATA),
        TeeEvidence::Tdx { quote, .. } => {
            let q = quote.as_slice();
            let version = u16::from_le_bytes([*q.first()?, *q.get(1)?]);
            let body = match version {
                4 => 48,
                5 => 54,
                _ => return None,
            };
            (q, body + TDX_REPORT_DATA_IN_BODY)
        }
    };
    bytes.get(at..at + 64)?.try_into().ok()
}

/// The verifier's input for on-chain evidence.
pub fn to_evidence(evidence: &TeeEvidence) -> Evidence {
    match evidence {
        TeeEvidence::Snp { report, vek, chain } => Evidence::Snp {
            report: report.as_slice().to_vec(),
            vek: vek.as_slice().to_vec(),
            chain: chain.as_ref().map(|c| c.as_slice().to_vec()),
        },
        TeeEvidence::Tdx { quote, collateral } => Evidence::Tdx {
            quote: quote.as_slice().to_vec(),
            collateral: collateral.as_slice().to_vec(),
        },
    }
}

fn bounded<const N: usize>(text: &str) -> BoundedString<N> {
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    BoundedString::new(&text[..end]).unwrap_or_default()
}

/// Verifies `evidence` at `at_unix_secs` and turns the claims into their
/// on-chain form.
pub fn verify_evidence(
    verifier: &Verifier,
    evidence: &TeeEvidence,
    at_unix_secs: u64,
) -> Result<VerifiedClaims, MarketError> {
    let claims = verifier
        .verify(&to_evidence(evidence), at_unix_secs)
        .map_err(|e| MarketError::Evidence {
            check: e.check(),
            reason: e.to_string(),
        })?;
    let (measurement, rtmr0) = match claims.measurement {
        aether_evidence::LaunchMeasurement::Snp(m) => (LaunchMeasurement::Snp(m), [0u8; 48]),
        aether_evidence::LaunchMeasurement::Tdx { mrtd, rtmr } => (
            LaunchMeasurement::Tdx {
                mrtd,
                rtmr1: rtmr[1],
                rtmr2: rtmr[2],
            },
            rtmr[0],
        ),
    };
    let tee = match claims.tee {
        aether_evidence::TeeKind::Snp => TeeKind::Snp,
        aether_evidence::TeeKind::Tdx => TeeKind::Tdx,
    };
    let mut host_data = claims.host_data.clone();
    host_data.truncate(64);
    Ok(VerifiedClaims {
        tee,
        measurement_id: measurement.id(),
        measurement,
        rtmr0,
        report_data: BoundedBytes::new(claims.report_data.to_vec()).unwrap_or_default(),
        host_data: BoundedBytes::new(host_data).unwrap_or_default(),
        tcb: bounded(&claims.tcb.to_string()),
        root: bounded(&claims.root.to_string()),
        signer: bounded(&claims.signer),
        verified_at: at_unix_secs,
    })
}

/// The structural KZG checks of a receipt: the commitment root and the
/// blob count. `Ok(Some(output))` when the inline output's blob proofs
/// remain to be verified.
fn kzg_structure(vcr: &Vcr) -> Result<Option<&[u8]>, MarketError> {
    let body = &vcr.body;
    let blobs = &body.commitment.blobs;
    if aether_types::OutputCommitment::compute_root(blobs) != body.commitment.root {
        return Err(MarketError::BadKzgProof(
            "commitment root does not match the commitments".into(),
        ));
    }
    let size = usize::try_from(body.output.size()).unwrap_or(usize::MAX);
    let expected = aether_crypto::kzg::blob_count(size);
    if blobs.len() != expected {
        return Err(MarketError::BadKzgProof(format!(
            "output of {size} bytes needs {expected} blobs, {} commitments given",
            blobs.len()
        )));
    }
    Ok(body.output.inline_bytes())
}

/// KZG checks of many receipts at once (a block's): structure each, then
/// every inline output's blob proofs in one batch; only if the batch fails
/// is each receipt verified alone, so the verdicts are exactly
/// [`check_kzg`]'s (the batch check's error is negligible, and it is a
/// deterministic function of the block, the same on every node).
pub fn check_kzg_many(vcrs: &[&Vcr]) -> Vec<Result<(), MarketError>> {
    let mut out: Vec<Result<(), MarketError>> = Vec::with_capacity(vcrs.len());
    let mut pending: Vec<(usize, &[u8])> = Vec::new();
    for (i, vcr) in vcrs.iter().enumerate() {
        match kzg_structure(vcr) {
            Ok(Some(bytes)) => {
                pending.push((i, bytes));
                out.push(Ok(()));
            }
            Ok(None) => out.push(Ok(())),
            Err(e) => out.push(Err(e)),
        }
    }
    let items: Vec<(&[u8], &[aether_types::BlobCommitment])> = pending
        .iter()
        .map(|(i, bytes)| (*bytes, vcrs[*i].body.commitment.blobs.as_slice()))
        .collect();
    if !matches!(aether_crypto::kzg::verify_many(&items), Ok(true)) {
        for (i, _) in &pending {
            out[*i] = check_kzg(vcrs[*i]);
        }
    }
    out
}

/// Checks an output against its KZG commitments: the commitment root, the
/// blob count, and (for inline outputs) the blob proofs.
pub fn check_kzg(vcr: &Vcr) -> Result<(), MarketError> {
    let body = &vcr.body;
    let blobs = &body.commitment.blobs;
    match kzg_structure(vcr)? {
        Some(bytes) => match aether_crypto::kzg::verify(bytes, blobs) {
            Ok(true) => Ok(()),
            Ok(false) => Err(MarketError::BadKzgProof(
                "a blob proof does not verify".into(),
            )),
            Err(e) => Err(MarketError::BadKzgProof(e.to_string())),
        },
        None => Ok(()),
    }
}

/// The stateless checks of a receipt, in order (see [`ReceiptChecks`]);
/// the KZG check is left to [`fill_kzg`] when `with_kzg` is false (a block
/// batches it).
pub fn check_receipt(
    verifier: &Verifier,
    chain_id: u32,
    vcr: &Vcr,
    at_unix_secs: u64,
    with_kzg: bool,
) -> ReceiptChecks {
    let binding = if vcr.body.chain_id.0 != chain_id {
        Err(MarketError::ReceiptWrongChain {
            expected: chain_id,
            got: vcr.body.chain_id.0,
        })
    } else if peek_report_data(&vcr.evidence) != Some(vcr.body.report_data()) {
        Err(MarketError::WrongBinding)
    } else {
        Ok(())
    };
    if binding.is_err() {
        return ReceiptChecks {
            binding,
            evidence: None,
            kzg: None,
        };
    }
    let evidence = verify_evidence(verifier, &vcr.evidence, at_unix_secs);
    let kzg = (with_kzg && evidence.is_ok()).then(|| check_kzg(vcr));
    ReceiptChecks {
        binding,
        evidence: Some(evidence),
        kzg,
    }
}

/// Precomputes every action of `tx` (see [`check_receipt`] for `with_kzg`).
pub fn prepare_actions(
    verifier: &Verifier,
    chain_id: u32,
    tx: &Transaction,
    at_unix_secs: u64,
    with_kzg: bool,
) -> Vec<PreparedAction> {
    tx.body
        .actions
        .iter()
        .map(|a| match a {
            Action::SubmitReceipt(vcr) => PreparedAction::Receipt(check_receipt(
                verifier,
                chain_id,
                vcr,
                at_unix_secs,
                with_kzg,
            )),
            Action::RegisterValidator(r) => {
                PreparedAction::Registration(crate::staking::check_registration(
                    verifier,
                    aether_types::ChainId(chain_id),
                    r,
                    at_unix_secs,
                ))
            }
            _ => PreparedAction::Nothing,
        })
        .collect()
}

/// Fills the KZG verdict of every prepared receipt whose evidence passed
/// and whose KZG check is still open: batched ([`check_kzg_many`]) in
/// chunks of `chunk` receipts, the chunks in parallel when asked.
pub fn fill_kzg<'v, 'c>(
    slots: impl Iterator<Item = (&'v Vcr, &'c mut ReceiptChecks)>,
    chunk: usize,
    parallel: bool,
) {
    let mut open: Vec<(&Vcr, &mut ReceiptChecks)> = slots
        .filter(|(_, c)| c.kzg.is_none() && matches!(c.evidence, Some(Ok(_))))
        .collect();
    let run = |group: &mut [(&Vcr, &mut ReceiptChecks)]| {
        let vcrs: Vec<&Vcr> = group.iter().map(|(v, _)| *v).collect();
        for ((_, checks), verdict) in group.iter_mut().zip(check_kzg_many(&vcrs)) {
            checks.kzg = Some(verdict);
        }
    };
    if parallel {
        use rayon::prelude::*;
        open.par_chunks_mut(chunk.max(1)).for_each(run);
    } else {
        open.chunks_mut(chunk.max(1)).for_each(run);
    }
}
