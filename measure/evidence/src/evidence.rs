//! The evidence a TEE hands out, as bytes: what a receipt carries.

use aether_snp_evidence::{SIGNED_LEN, SnpReport};
use aether_tdx_evidence::TdQuote;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{EvidenceError, TeeKind};

/// Hardware evidence, unverified: exactly the bytes the TEE and its vendor
/// hand out. Serde writes the byte strings as hex in human-readable formats
/// and as bytes otherwise.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "tee", rename_all = "lowercase", deny_unknown_fields)]
pub enum Evidence {
    /// An AMD SEV-SNP attestation report and its certificates.
    Snp {
        /// The 1184-byte attestation report.
        #[serde(with = "crate::hexser")]
        report: Vec<u8>,
        /// The VCEK or VLEK certificate, DER or PEM; or the bundle "VCEK (or
        /// VLEK), ASK (or ASVK), ARK" as AMD's key server hands it out.
        #[serde(with = "crate::hexser")]
        vek: Vec<u8>,
        /// ASK-or-ASVK then ARK, PEM or concatenated DER; `None` takes the
        /// intermediate embedded with the trusted roots.
        #[serde(with = "crate::hexser::opt_vec", default)]
        chain: Option<Vec<u8>>,
    },
    /// An Intel TDX DCAP quote and its collateral.
    Tdx {
        /// The quote (v4 or v5), with the PCK chain in its certification data.
        #[serde(with = "crate::hexser")]
        quote: Vec<u8>,
        /// Collateral as dcap-qvl's `QuoteCollateralV3` JSON (TCB info, QE
        /// identity, CRLs, issuer chains).
        #[serde(with = "crate::hexser")]
        collateral: Vec<u8>,
    },
}

impl Evidence {
    /// Which TEE the evidence claims to come from.
    pub fn tee(&self) -> TeeKind {
        match self {
            Evidence::Snp { .. } => TeeKind::Snp,
            Evidence::Tdx { .. } => TeeKind::Tdx,
        }
    }

    /// The report data the evidence **claims** (SNP REPORT_DATA, TDX
    /// REPORTDATA), after parsing only: no signature is checked. For checks
    /// that must come before any signature work, such as a receipt's binding;
    /// trust it only once [`crate::verify`] accepted the evidence.
    pub fn claimed_report_data(&self) -> Result<[u8; 64], EvidenceError> {
        match self {
            Evidence::Snp { report, .. } => Ok(SnpReport::parse(report)?.fields().report_data),
            Evidence::Tdx { quote, .. } => Ok(TdQuote::parse(quote)?.body.report_data.0),
        }
    }

    /// The replay key, after parsing only: SHA-256 of the signed bytes (SNP
    /// report bytes 0..0x2A0; TDX quote header and TD report body). Equal to
    /// [`crate::Claims::evidence_digest`] once verified.
    pub fn digest(&self) -> Result<[u8; 32], EvidenceError> {
        match self {
            Evidence::Snp { report, .. } => {
                let parsed = SnpReport::parse(report)?;
                Ok(Sha256::digest(parsed.signed_region()).into())
            }
            Evidence::Tdx { quote, .. } => {
                let parsed = TdQuote::parse(quote)?;
                let signed =
                    parsed
                        .signed_region(quote)
                        .ok_or(aether_tdx_evidence::VerifyError::Parse {
                            reason: "signed region runs past the end of the quote".into(),
                        })?;
                Ok(Sha256::digest(signed).into())
            }
        }
    }
}

/// SHA-256 of the signed region of a verified SNP report.
pub(crate) fn snp_digest(report: &SnpReport) -> [u8; 32] {
    debug_assert_eq!(report.signed_region().len(), SIGNED_LEN);
    Sha256::digest(report.signed_region()).into()
}
