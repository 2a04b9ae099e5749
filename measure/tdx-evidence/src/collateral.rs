//! Collateral: the PCS data a quote is verified with, parsed once and reused.
//!
//! The JSON form is dcap-qvl's `QuoteCollateralV3`: PEM issuer chains, hex DER
//! CRLs, the TCB info and QE identity as the exact signed JSON strings, and their
//! hex raw `r || s` ECDSA signatures:
//!
//! ```json
//! { "pck_crl_issuer_chain": "-----BEGIN CERTIFICATE-----…", "root_ca_crl": "3082…",
//!   "pck_crl": "3082…", "tcb_info_issuer_chain": "-----BEGIN…", "tcb_info": "{\"id\":\"TDX\",…}",
//!   "tcb_info_signature": "…", "qe_identity_issuer_chain": "-----BEGIN…",
//!   "qe_identity": "{\"id\":\"TD_QE\",…}", "qe_identity_signature": "…",
//!   "pck_certificate_chain": null }
//! ```
//!
//! [`Collateral::from_json`] checks that every piece parses (certificates,
//! CRLs, TCB info, QE identity, dates, signature sizes) so that a verification
//! failure later is about trust, not syntax. Nothing is trusted at this point:
//! signatures and chains are checked per verification, at its time.

use dcap_qvl::{QeIdentity, QuoteCollateralV3, TcbInfo};
use der::Decode;
use serde::Serialize;

use crate::error::VerifyError;

/// Largest collateral JSON accepted (real collateral is about 20 KB).
pub const MAX_COLLATERAL_JSON_LEN: usize = 4 * 1024 * 1024;

/// Parsed collateral, ready to verify any number of quotes of its platform.
#[derive(Debug, Clone)]
pub struct Collateral {
    raw: QuoteCollateralV3,
    info: CollateralInfo,
    pub(crate) root_ca_crl: CrlSummary,
    pub(crate) pck_crl: CrlSummary,
    pub(crate) tcb_info_chain: Vec<CertSummary>,
    pub(crate) qe_identity_chain: Vec<CertSummary>,
    pub(crate) pck_chain: Option<Vec<CertSummary>>,
}

/// What the collateral says about itself (unauthenticated until a quote
/// verifies with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollateralInfo {
    /// FMSPC the TCB info is for, hex.
    pub fmspc: String,
    /// TCB info `id` (`TDX` for TDX).
    pub tcb_info_id: String,
    /// TCB info format version (3 for TDX).
    pub tcb_info_version: u8,
    /// TCB info `tcbEvaluationDataNumber`.
    pub tcb_evaluation_data_number: u32,
    /// TCB info `issueDate` (RFC 3339).
    pub tcb_info_issue_date: String,
    /// TCB info `nextUpdate` (RFC 3339).
    pub tcb_info_next_update: String,
    /// QE identity `id` (`TD_QE` for TDX).
    pub qe_identity_id: String,
    /// QE identity `tcbEvaluationDataNumber`.
    pub qe_identity_tcb_evaluation_data_number: u32,
    /// QE identity `issueDate` (RFC 3339).
    pub qe_identity_issue_date: String,
    /// QE identity `nextUpdate` (RFC 3339).
    pub qe_identity_next_update: String,
    /// Start of the window in which all collateral dates are valid (Unix seconds):
    /// the latest `issueDate` / CRL `thisUpdate`.
    pub valid_from: u64,
    /// End of that window (Unix seconds): the earliest `nextUpdate`.
    pub valid_until: u64,
}

/// Fields of a certificate used for diagnosis and claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertSummary {
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub serial: Vec<u8>,
    pub not_before: u64,
    pub not_after: u64,
}

/// Fields of a CRL used for diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrlSummary {
    pub issuer: String,
    pub this_update: u64,
    pub next_update: Option<u64>,
    pub revoked: Vec<Vec<u8>>,
}

impl CrlSummary {
    pub fn parse(what: &str, der_bytes: &[u8]) -> Result<Self, VerifyError> {
        let crl =
            x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der_bytes)
                .map_err(|e| parse_err(what, e))?;
        let tbs = &crl.tbs_cert_list;
        Ok(Self {
            issuer: tbs.issuer.to_string(),
            this_update: tbs.this_update.to_unix_duration().as_secs(),
            next_update: tbs.next_update.map(|t| t.to_unix_duration().as_secs()),
            revoked: tbs
                .revoked_certificates
                .iter()
                .flatten()
                .map(|r| strip_zeros(r.serial_number.as_bytes()).to_vec())
                .collect(),
        })
    }

    /// True when the CRL lists `serial`.
    pub fn lists(&self, serial: &[u8]) -> bool {
        let serial = strip_zeros(serial);
        self.revoked.iter().any(|s| s == serial)
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

impl CertSummary {
    pub fn parse(der_bytes: &[u8]) -> Result<Self, der::Error> {
        let cert = x509_cert::Certificate::from_der(der_bytes)?;
        let tbs = cert.tbs_certificate();
        Ok(Self {
            der: der_bytes.to_vec(),
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            serial: tbs.serial_number().as_bytes().to_vec(),
            not_before: tbs.validity().not_before.to_unix_duration().as_secs(),
            not_after: tbs.validity().not_after.to_unix_duration().as_secs(),
        })
    }

    /// Parses every certificate of a PEM chain (leaf first).
    pub fn parse_pem_chain(what: &str, pem_text: &[u8]) -> Result<Vec<Self>, VerifyError> {
        let blocks = pem::parse_many(pem_text).map_err(|e| parse_err(what, e))?;
        if blocks.is_empty() {
            return Err(parse_err(what, "no certificate"));
        }
        blocks
            .iter()
            .map(|b| Self::parse(b.contents()).map_err(|e| parse_err(what, e)))
            .collect()
    }

    /// True for a self-issued certificate (a root).
    pub fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

fn parse_err(what: &str, e: impl std::fmt::Display) -> VerifyError {
    VerifyError::CollateralParse {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

/// Parses an RFC 3339 date of the collateral into Unix seconds.
pub(crate) fn rfc3339_secs(what: &str, value: &str) -> Result<u64, VerifyError> {
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|e| parse_err(what, format!("{value:?}: {e}")))?;
    u64::try_from(t.unix_timestamp()).map_err(|_| parse_err(what, "date before 1970"))
}

/// Formats Unix seconds as RFC 3339 (for messages).
pub(crate) fn fmt_secs(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

impl Collateral {
    /// Parses collateral from dcap-qvl's `QuoteCollateralV3` JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, VerifyError> {
        if json.len() > MAX_COLLATERAL_JSON_LEN {
            return Err(parse_err(
                "JSON",
                format!("{} bytes, more than {MAX_COLLATERAL_JSON_LEN}", json.len()),
            ));
        }
        let raw: QuoteCollateralV3 =
            serde_json::from_slice(json).map_err(|e| parse_err("JSON", e))?;
        Self::from_dcap(raw)
    }

    /// Wraps dcap-qvl's collateral type, checking that every piece parses.
    pub fn from_dcap(raw: QuoteCollateralV3) -> Result<Self, VerifyError> {
        let tcb_info: TcbInfo =
            serde_json::from_str(&raw.tcb_info).map_err(|e| parse_err("tcb_info", e))?;
        let qe_identity: QeIdentity =
            serde_json::from_str(&raw.qe_identity).map_err(|e| parse_err("qe_identity", e))?;
        for (what, sig) in [
            ("tcb_info_signature", &raw.tcb_info_signature),
            ("qe_identity_signature", &raw.qe_identity_signature),
        ] {
            if sig.len() != 64 {
                return Err(parse_err(
                    what,
                    format!("{} bytes, expected a 64-byte raw r||s", sig.len()),
                ));
            }
        }
        let tcb_issue = rfc3339_secs("tcb_info issueDate", &tcb_info.issue_date)?;
        let tcb_next = rfc3339_secs("tcb_info nextUpdate", &tcb_info.next_update)?;
        let qe_issue = rfc3339_secs("qe_identity issueDate", &qe_identity.issue_date)?;
        let qe_next = rfc3339_secs("qe_identity nextUpdate", &qe_identity.next_update)?;
        let root_ca_crl = CrlSummary::parse("root_ca_crl", &raw.root_ca_crl)?;
        let pck_crl = CrlSummary::parse("pck_crl", &raw.pck_crl)?;
        let tcb_info_chain = CertSummary::parse_pem_chain(
            "tcb_info_issuer_chain",
            raw.tcb_info_issuer_chain.as_bytes(),
        )?;
        let qe_identity_chain = CertSummary::parse_pem_chain(
            "qe_identity_issuer_chain",
            raw.qe_identity_issuer_chain.as_bytes(),
        )?;
        CertSummary::parse_pem_chain("pck_crl_issuer_chain", raw.pck_crl_issuer_chain.as_bytes())?;
        let pck_chain = raw
            .pck_certificate_chain
            .as_ref()
            .map(|c| CertSummary::parse_pem_chain("pck_certificate_chain", c.as_bytes()))
            .transpose()?;

        let valid_from = [
            tcb_issue,
            qe_issue,
            root_ca_crl.this_update,
            pck_crl.this_update,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let valid_until = [
            Some(tcb_next),
            Some(qe_next),
            root_ca_crl.next_update,
            pck_crl.next_update,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u64::MAX);
        let info = CollateralInfo {
            fmspc: tcb_info.fmspc.to_ascii_lowercase(),
            tcb_info_id: tcb_info.id.clone(),
            tcb_info_version: tcb_info.version,
            tcb_evaluation_data_number: tcb_info.tcb_evaluation_data_number,
            tcb_info_issue_date: tcb_info.issue_date.clone(),
            tcb_info_next_update: tcb_info.next_update.clone(),
            qe_identity_id: qe_identity.id.clone(),
            qe_identity_tcb_evaluation_data_number: qe_identity.tcb_evaluation_data_number,
            qe_identity_issue_date: qe_identity.issue_date.clone(),
            qe_identity_next_update: qe_identity.next_update.clone(),
            valid_from,
            valid_until,
        };
        Ok(Self {
            raw,
            info,
            root_ca_crl,
            pck_crl,
            tcb_info_chain,
            qe_identity_chain,
            pck_chain,
        })
    }

    /// The dcap-qvl form (what is handed to its verifier).
    pub fn as_dcap(&self) -> &QuoteCollateralV3 {
        &self.raw
    }

    /// What the collateral says about itself.
    pub fn info(&self) -> &CollateralInfo {
        &self.info
    }

    /// SHA-256 of the root certificate the collateral's TCB info signing chain
    /// ends in (its self-issued certificate), if it has one: the root a
    /// verification of this collateral can succeed with, found before any
    /// signature work. Unauthenticated: only a verification with that root as
    /// the trust anchor shows the chain really ends there.
    pub fn claimed_root_sha256(&self) -> Option<[u8; 32]> {
        use sha2::Digest;
        self.tcb_info_chain
            .iter()
            .rev()
            .find(|c| c.is_self_issued())
            .map(|c| sha2::Sha256::digest(&c.der).into())
    }

    /// Dates of the collateral (TCB info, QE identity, CRLs) that are not valid at
    /// `at`: `Err` with [`VerifyError::CollateralExpired`] or
    /// [`VerifyError::CollateralNotYetValid`] naming the first one.
    pub fn check_dates(&self, at: u64) -> Result<(), VerifyError> {
        let i = &self.info;
        let items = [
            (
                "TCB info",
                rfc3339_secs("", &i.tcb_info_issue_date).ok(),
                rfc3339_secs("", &i.tcb_info_next_update).ok(),
            ),
            (
                "QE identity",
                rfc3339_secs("", &i.qe_identity_issue_date).ok(),
                rfc3339_secs("", &i.qe_identity_next_update).ok(),
            ),
            (
                "root CA CRL",
                Some(self.root_ca_crl.this_update),
                self.root_ca_crl.next_update,
            ),
            (
                "PCK CRL",
                Some(self.pck_crl.this_update),
                self.pck_crl.next_update,
            ),
        ];
        for (what, from, until) in items {
            if let Some(until) = until.filter(|&u| at > u) {
                return Err(VerifyError::CollateralExpired {
                    detail: format!(
                        "{what} nextUpdate {} is before {}",
                        fmt_secs(until),
                        fmt_secs(at)
                    ),
                });
            }
            if let Some(from) = from.filter(|&f| at < f) {
                return Err(VerifyError::CollateralNotYetValid {
                    detail: format!("{what} is issued {} after {}", fmt_secs(from), fmt_secs(at)),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_collateral_is_a_parse_error() {
        for input in [&b""[..], b"{}", b"[]", b"null", b"{\"tcb_info\": 1}"] {
            let e = Collateral::from_json(input).unwrap_err();
            assert_eq!(e.check(), "collateral_parse", "{e}");
        }
    }

    #[test]
    fn dates_format_and_parse() {
        assert_eq!(fmt_secs(1751328000), "2025-07-01T00:00:00Z");
        assert_eq!(
            rfc3339_secs("x", "2025-07-01T00:00:00Z").unwrap(),
            1751328000
        );
        assert!(rfc3339_secs("x", "July").is_err());
    }
}
