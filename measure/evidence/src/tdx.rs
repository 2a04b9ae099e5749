//! The TDX pipeline, shared by [`crate::verify`] and `aether-measure verify
//! tdx`: parse the collateral, then `aether-tdx-evidence`'s verifier (quote
//! parse, header, dcap-qvl's DCAP checks, the policy).
//!
//! [`appraise`] runs it with any `aether-tdx-evidence` verifier and policy
//! (the CLI's `--trust-root`, `--policy`, flags); the unified
//! [`crate::verify`] runs the same steps with the chain's
//! [`crate::EvidencePolicy`], after naming the root the collateral chains to
//! and checking the policy trusts it.

pub use aether_tdx_evidence::{
    Appraisal, Collateral, Policy, TdQuote, VerifiedTdQuote, Verifier, VerifyError,
};

use sha2::{Digest, Sha256};

use crate::claims::{Claims, LaunchMeasurement, TcbSummary, TeeKind};
use crate::roots::tdx_root_of;
use crate::{EvidenceError, EvidencePolicy, TrustRoot};

/// Verifies `quote` with the collateral JSON `collateral` at `at` (Unix
/// seconds) and applies `policy`. Collateral that does not parse is a
/// rejection that keeps the quote's (unauthenticated) fields.
pub fn appraise(
    quote: &[u8],
    collateral: &[u8],
    verifier: &Verifier,
    policy: &Policy,
    at: u64,
) -> Appraisal {
    match Collateral::from_json(collateral) {
        Ok(c) => verifier.appraise(quote, &c, at, policy),
        Err(error) => Appraisal::Rejected {
            error,
            parsed: TdQuote::parse(quote).ok().map(Box::new),
        },
    }
}

/// The root the collateral's chains claim to end in, if it is a known one;
/// the root to verify with when it is unknown (the verification then names
/// the mismatch, check `trust_root`).
pub(crate) fn claimed_root(collateral: &Collateral, policy: &EvidencePolicy) -> (TrustRoot, bool) {
    match collateral
        .claimed_root_sha256()
        .as_ref()
        .and_then(tdx_root_of)
    {
        Some(root) => (root, true),
        None => {
            let fallback = if !policy.trusts(TrustRoot::IntelSgxRootCa)
                && policy.trusts(TrustRoot::Simulated)
            {
                TrustRoot::Simulated
            } else {
                TrustRoot::IntelSgxRootCa
            };
            (fallback, false)
        }
    }
}

/// Length of the signed region (header and TD report body) of a quote that
/// verified: 48 + 584 bytes for v4; for v5 the header, the body descriptor
/// (type and size, 6 bytes) and the body.
pub(crate) fn signed_len(quote: &[u8], version: u16) -> Option<usize> {
    let len = match version {
        4 => 48 + 584,
        5 => {
            let size = u32::from_le_bytes(quote.get(50..54)?.try_into().ok()?);
            54usize.checked_add(usize::try_from(size).ok()?)?
        }
        _ => return None,
    };
    (len <= quote.len()).then_some(len)
}

/// The unified claims of a verified quote.
pub(crate) fn claims(
    v: &VerifiedTdQuote,
    quote: &[u8],
    root: TrustRoot,
) -> Result<Claims, EvidenceError> {
    let td = &v.td_report;
    let signed = signed_len(quote, v.quote_version)
        .and_then(|n| quote.get(..n))
        .ok_or(VerifyError::Parse {
            reason: "signed region runs past the end of the quote".into(),
        })?;
    Ok(Claims {
        tee: TeeKind::Tdx,
        measurement: LaunchMeasurement::Tdx {
            mrtd: td.mrtd.0,
            rtmr: [td.rtmr[0].0, td.rtmr[1].0, td.rtmr[2].0, td.rtmr[3].0],
        },
        report_data: td.report_data.0,
        host_data: td.mrconfigid.0.to_vec(),
        tcb: TcbSummary::Tdx {
            status: v.tcb_status,
            advisory_ids: v.advisory_ids.clone(),
            tee_tcb_svn: td.tee_tcb_svn.0,
        },
        debug: td.td_attributes.tud != 0,
        root,
        signer: "pck".to_owned(),
        evidence_digest: Sha256::digest(signed).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_len_matches_the_parser_on_v4_and_v5_quotes() {
        for rel in [
            "tdx/dcapqvl_tdx_quote",
            "tdx/dcapqvl_tdx_quote_outdated",
            "tdx/gotdx/quote_v5_sample.dat",
            "tdx/gotdx/tdx_prod_quote_SPR_E4.dat",
        ] {
            let Some(path) = aether_testkit::vector(rel) else {
                return;
            };
            let quote = aether_testkit::read_maybe_hex(&path);
            let parsed = TdQuote::parse(&quote).unwrap();
            assert_eq!(
                signed_len(&quote, parsed.header.version),
                Some(parsed.signed_len),
                "{rel}"
            );
        }
        assert_eq!(signed_len(&[0; 100], 4), None);
        assert_eq!(signed_len(&[0; 10], 5), None);
        assert_eq!(signed_len(&[0; 1000], 3), None);
    }
}
