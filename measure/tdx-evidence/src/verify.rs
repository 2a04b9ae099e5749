//! The verifier: dcap-qvl's DCAP chain and signature checks, then the policy.

use std::collections::HashMap;
use std::sync::Mutex;

use dcap_qvl::TcbStatus;
use dcap_qvl::verify::{QuoteVerifier, VerifiedReport};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::collateral::{CertSummary, Collateral, CollateralInfo};
use crate::diagnose::Diagnosis;
use crate::error::VerifyError;
use crate::hex_bytes::{HexBytes, HexVec};
use crate::policy::{Policy, parse_tcb_status};
use crate::quote::{INTEL_QE_VENDOR_ID, QuoteHeader, TdQuote, TdReportBody, contain_panic};

/// SHA-256 of the DER of the Intel SGX Root CA that dcap-qvl embeds
/// (`CN=Intel SGX Root CA`, 2018-05-21..2049-12-31), used to recognise it.
pub const INTEL_SGX_ROOT_CA_SHA256: [u8; 32] = [
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3,
];

/// Which root of trust a verification used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustRootKind {
    /// The Intel SGX Root CA embedded in dcap-qvl (production).
    IntelSgxRootCa,
    /// A caller-supplied root (test chains only).
    Custom,
}

/// The root of trust of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustRootInfo {
    /// Intel's embedded root or a caller-supplied one.
    pub kind: TrustRootKind,
    /// SHA-256 of the root certificate's DER.
    pub sha256: HexBytes<32>,
}

/// Fields of the PCK leaf certificate (the platform's identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PckInfo {
    /// Which Intel CA issued it: `processor` or `platform`.
    pub ca: &'static str,
    /// FMSPC: family-model-stepping-platform-customSKU.
    pub fmspc: HexBytes<6>,
    /// Platform provisioning id.
    pub ppid: HexVec,
    /// CPU SVN the certificate was issued for.
    pub cpu_svn: HexBytes<16>,
    /// PCE SVN the certificate was issued for.
    pub pce_svn: u16,
    /// PCE id.
    pub pce_id: HexVec,
    /// SGX type: 0 standard, 1 scalable, 2 scalable with integrity.
    pub sgx_type: u64,
    /// Dynamic platform flag (Platform CA certificates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_platform: Option<bool>,
    /// Cached keys flag (Platform CA certificates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_keys: Option<bool>,
    /// SMT enabled flag (Platform CA certificates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smt_enabled: Option<bool>,
    /// Subject of the leaf certificate.
    pub subject: String,
    /// Validity start (Unix seconds).
    pub not_before: u64,
    /// Validity end (Unix seconds).
    pub not_after: u64,
}

/// The claims of a quote whose chain and signatures verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedTdQuote {
    /// Always `tdx`.
    pub tee: &'static str,
    /// Quote format version (4 or 5).
    pub quote_version: u16,
    /// The quote header.
    pub header: QuoteHeader,
    /// The TD report (measurements, attributes, report data, SEAM identity).
    pub td_report: TdReportBody,
    /// FMSPC of the platform.
    pub fmspc: HexBytes<6>,
    /// Converged TCB status (platform, TDX module, QE; TD relaunch for TDX 1.5).
    pub tcb_status: TcbStatus,
    /// Advisory ids that apply (platform, TDX module and QE, merged).
    pub advisory_ids: Vec<String>,
    /// Platform TCB status (converged with the TDX module's).
    pub platform_tcb_status: TcbStatus,
    /// Advisory ids of the platform TCB level.
    pub platform_advisory_ids: Vec<String>,
    /// QE TCB status.
    pub qe_tcb_status: TcbStatus,
    /// Advisory ids of the QE TCB level.
    pub qe_advisory_ids: Vec<String>,
    /// The PCK certificate.
    pub pck: PckInfo,
    /// The collateral the quote verified with.
    pub collateral: CollateralInfo,
    /// The root of trust.
    pub trust_root: TrustRootInfo,
    /// Verification time (Unix seconds).
    pub verified_at: u64,
}

/// Result of [`Verifier::appraise`].
#[derive(Debug, Clone)]
pub enum Appraisal {
    /// Chain, signatures, TCB and policy all passed.
    Verified(Box<VerifiedTdQuote>),
    /// Chain and signatures verified (the claims are authentic) but the policy
    /// rejects them.
    PolicyRejected {
        /// The authentic claims.
        claims: Box<VerifiedTdQuote>,
        /// The policy check that failed.
        error: VerifyError,
    },
    /// The quote or its collateral failed a check before any claim was
    /// authenticated.
    Rejected {
        /// The check that failed.
        error: VerifyError,
        /// The quote as parsed (unauthenticated), when it parsed.
        parsed: Option<Box<TdQuote>>,
    },
}

impl Appraisal {
    /// The failure, if rejected.
    pub fn error(&self) -> Option<&VerifyError> {
        match self {
            Self::Verified(_) => None,
            Self::PolicyRejected { error, .. } | Self::Rejected { error, .. } => Some(error),
        }
    }

    /// The verified claims, or the failure.
    pub fn into_result(self) -> Result<VerifiedTdQuote, VerifyError> {
        match self {
            Self::Verified(claims) => Ok(*claims),
            Self::PolicyRejected { error, .. } | Self::Rejected { error, .. } => Err(error),
        }
    }
}

/// Verifies TDX quotes against a root of trust. Cheap to share: build once,
/// verify many quotes (each with any [`Collateral`] and [`Policy`]).
pub struct Verifier {
    /// PCK certificate fields by PCK chain bytes (see [`Verifier::pck_info`]).
    pck_cache: Mutex<HashMap<Vec<u8>, PckInfo>>,
    kind: TrustRootKind,
    root_der: Option<Vec<u8>>,
    root_sha256: [u8; 32],
    dcap: QuoteVerifier,
    dcap_service_td: QuoteVerifier,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kind", &self.kind)
            .field("root_sha256", &hex::encode(self.root_sha256))
            .finish()
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Self::intel()
    }
}

impl Verifier {
    /// A verifier rooted in the Intel SGX Root CA embedded in dcap-qvl.
    pub fn intel() -> Self {
        // dcap-qvl's own debug check is off here: this crate checks all TUD bits
        // itself (`debug_attribute`) so that the policy decides, with its own error.
        Self {
            pck_cache: Mutex::default(),
            kind: TrustRootKind::IntelSgxRootCa,
            root_der: None,
            root_sha256: INTEL_SGX_ROOT_CA_SHA256,
            dcap: QuoteVerifier::new_prod().allow_debug(true),
            dcap_service_td: QuoteVerifier::new_prod()
                .allow_debug(true)
                .allow_service_td(true),
        }
    }

    /// A verifier rooted in a caller-supplied CA certificate (DER or PEM). For
    /// test chains only: production verification uses [`Verifier::intel`].
    pub fn with_trust_root(cert: &[u8]) -> Result<Self, VerifyError> {
        let der = match pem::parse(cert) {
            Ok(block) if block.tag() == "CERTIFICATE" => block.into_contents(),
            Ok(block) => {
                return Err(VerifyError::TrustRoot {
                    reason: format!("PEM block is {:?}, not CERTIFICATE", block.tag()),
                });
            }
            Err(_) => cert.to_vec(),
        };
        CertSummary::parse(&der).map_err(|e| VerifyError::TrustRoot {
            reason: format!("not an X.509 certificate: {e}"),
        })?;
        let anchor = rustls_pki_types::CertificateDer::from_slice(&der);
        webpki::anchor_from_trusted_cert(&anchor).map_err(|e| VerifyError::TrustRoot {
            reason: format!("not usable as a trust anchor: {e:?}"),
        })?;
        let root_sha256: [u8; 32] = Sha256::digest(&der).into();
        let kind = if root_sha256 == INTEL_SGX_ROOT_CA_SHA256 {
            TrustRootKind::IntelSgxRootCa
        } else {
            TrustRootKind::Custom
        };
        Ok(Self {
            pck_cache: Mutex::default(),
            kind,
            dcap: QuoteVerifier::new(der.clone()).allow_debug(true),
            dcap_service_td: QuoteVerifier::new(der.clone())
                .allow_debug(true)
                .allow_service_td(true),
            root_der: Some(der),
            root_sha256,
        })
    }

    /// The root of trust.
    pub fn trust_root(&self) -> TrustRootInfo {
        TrustRootInfo {
            kind: self.kind,
            sha256: HexBytes(self.root_sha256),
        }
    }

    /// Verifies `quote` with `collateral` at `at` (Unix seconds) and applies
    /// `policy`: the verified claims, or the first failed check.
    pub fn verify(
        &self,
        quote: &[u8],
        collateral: &Collateral,
        at: u64,
        policy: &Policy,
    ) -> Result<VerifiedTdQuote, VerifyError> {
        self.appraise(quote, collateral, at, policy).into_result()
    }

    /// Like [`Verifier::verify`], keeping the authenticated claims of a quote the
    /// policy rejects and the parsed fields of a quote that failed earlier.
    ///
    /// Order: parse; header (version, TEE type, QE vendor, key type); dcap-qvl
    /// (root CA CRL, TCB info and QE identity dates, chains and signatures, PCK
    /// chain and CRL, QE report signature, attestation key binding, QE identity,
    /// quote signature, FMSPC, TCB level, TDX module identity, revoked TCB, TD
    /// attributes other than TUD); then the policy: debug, TCB status, advisories,
    /// SEAM identity, TEE TCB SVN, MRTD, RTMRs, report data, MRCONFIGID/MROWNER/
    /// MROWNERCONFIG.
    pub fn appraise(
        &self,
        quote: &[u8],
        collateral: &Collateral,
        at: u64,
        policy: &Policy,
    ) -> Appraisal {
        let parsed = match TdQuote::parse(quote) {
            Ok(q) => q,
            Err(error) => {
                return Appraisal::Rejected {
                    error,
                    parsed: None,
                };
            }
        };
        let rejected = |error, parsed| Appraisal::Rejected {
            error,
            parsed: Some(Box::new(parsed)),
        };
        if let Err(error) = check_header(&parsed.header, policy) {
            return rejected(error, parsed);
        }
        let dcap = if policy.allow_service_td {
            &self.dcap_service_td
        } else {
            &self.dcap
        };
        let report = match contain_panic("dcap-qvl verify", || {
            dcap.verify(quote, collateral.as_dcap(), at)
        }) {
            Err(error) => return rejected(error, parsed),
            Ok(Err(e)) => {
                let error = Diagnosis {
                    collateral,
                    quote: &parsed,
                    at,
                    root_sha256: self.root_sha256,
                    root_der: self.root_der.as_deref(),
                }
                .classify(&e);
                return rejected(error, parsed);
            }
            Ok(Ok(report)) => report,
        };
        let claims = match self.claims(parsed, report, collateral, at) {
            Ok(c) => Box::new(c),
            Err(error) => {
                return Appraisal::Rejected {
                    error,
                    parsed: None,
                };
            }
        };
        match check_policy(&claims, policy) {
            Ok(()) => Appraisal::Verified(claims),
            Err(error) => Appraisal::PolicyRejected { claims, error },
        }
    }

    /// The PCK leaf's fields, decoded once per distinct PCK chain.
    ///
    /// Decoding the PEM chain and the leaf's SGX extension costs about a fifth of
    /// a verification, and a verifier sees the same few platforms again and again,
    /// so the result is memoised by the exact chain bytes (a pure function of
    /// them; the chain itself was just verified by dcap-qvl). The memo is bounded.
    fn pck_info(&self, parsed: &TdQuote, collateral: &Collateral) -> Result<PckInfo, VerifyError> {
        const MAX_ENTRIES: usize = 1024;
        let key: &[u8] = match &collateral.pck_chain {
            Some(chain) => chain.first().map_or(&[][..], |c| &c.der[..]),
            None => parsed.dcap.inner_cert_data(),
        };
        let lock = || {
            self.pck_cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        if let Some(info) = lock().get(key) {
            return Ok(info.clone());
        }
        let info = decode_pck_info(parsed, collateral)?;
        let mut cache = lock();
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(key.to_vec(), info.clone());
        Ok(info)
    }

    fn claims(
        &self,
        parsed: TdQuote,
        report: VerifiedReport,
        collateral: &Collateral,
        at: u64,
    ) -> Result<VerifiedTdQuote, VerifyError> {
        let pck = self.pck_info(&parsed, collateral)?;
        let status = parse_tcb_status(&report.status).map_err(|_| VerifyError::DcapVerify {
            detail: format!("unknown TCB status {:?}", report.status),
        })?;
        Ok(VerifiedTdQuote {
            tee: "tdx",
            quote_version: parsed.header.version,
            header: parsed.header,
            td_report: parsed.body,
            fmspc: pck.fmspc,
            tcb_status: status,
            advisory_ids: report.advisory_ids,
            platform_tcb_status: report.platform_status.status,
            platform_advisory_ids: report.platform_status.advisory_ids,
            qe_tcb_status: report.qe_status.status,
            qe_advisory_ids: report.qe_status.advisory_ids,
            pck,
            collateral: collateral.info().clone(),
            trust_root: self.trust_root(),
            verified_at: at,
        })
    }
}

/// Decodes the PCK leaf dcap-qvl verified: the collateral's chain, else the quote's.
fn decode_pck_info(parsed: &TdQuote, collateral: &Collateral) -> Result<PckInfo, VerifyError> {
    let leaf = match &collateral.pck_chain {
        Some(chain) => chain.first().map(|c| c.der.clone()),
        None => dcap_qvl::intel::extract_cert_chain(&parsed.dcap)
            .ok()
            .and_then(|c| c.into_iter().next()),
    }
    .ok_or_else(|| VerifyError::PckChain {
        detail: "no PCK certificate".into(),
    })?;
    let pck_err = |e: anyhow::Error| VerifyError::PckExtension {
        detail: format!("{e:#}"),
    };
    let ext = dcap_qvl::intel::parse_pck_extension(&leaf).map_err(pck_err)?;
    let ca = dcap_qvl::intel::pck_ca(&leaf).map_err(pck_err)?;
    let cert = CertSummary::parse(&leaf).map_err(|e| VerifyError::PckChain {
        detail: e.to_string(),
    })?;
    Ok(PckInfo {
        ca: ca.as_id_str(),
        fmspc: HexBytes(ext.fmspc),
        ppid: HexVec(ext.ppid),
        cpu_svn: HexBytes(ext.cpu_svn),
        pce_svn: ext.pce_svn,
        pce_id: HexVec(ext.pce_id),
        sgx_type: ext.sgx_type,
        dynamic_platform: ext.dynamic_platform,
        cached_keys: ext.cached_keys,
        smt_enabled: ext.smt_enabled,
        subject: cert.subject,
        not_before: cert.not_before,
        not_after: cert.not_after,
    })
}

/// Header checks made before any cryptography (cheap rejections).
fn check_header(h: &QuoteHeader, policy: &Policy) -> Result<(), VerifyError> {
    if !matches!(h.version, 4 | 5) || !policy.accepted_quote_versions.contains(&h.version) {
        let mut accepted: Vec<u16> = policy
            .accepted_quote_versions
            .iter()
            .copied()
            .filter(|v| matches!(v, 4 | 5))
            .collect();
        accepted.dedup();
        return Err(VerifyError::QuoteVersion {
            version: h.version,
            accepted,
        });
    }
    if h.qe_vendor_id.0 != INTEL_QE_VENDOR_ID {
        return Err(VerifyError::QeVendor {
            vendor_id: h.qe_vendor_id.to_hex(),
        });
    }
    if h.attestation_key_type != 2 {
        return Err(VerifyError::AttestationKeyType {
            key_type: h.attestation_key_type,
        });
    }
    Ok(())
}

/// The policy checks on authenticated claims, in order.
pub(crate) fn check_policy(c: &VerifiedTdQuote, p: &Policy) -> Result<(), VerifyError> {
    let td = &c.td_report;
    if td.td_attributes.tud != 0 && !p.allow_debug {
        return Err(VerifyError::DebugAttribute {
            td_attributes: td.td_attributes.raw.to_hex(),
            tud: td.td_attributes.tud,
        });
    }
    if !p.accepted_tcb_statuses.contains(&c.tcb_status) {
        return Err(VerifyError::TcbStatus {
            status: c.tcb_status.to_string(),
            accepted: p
                .accepted_tcb_statuses
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(","),
        });
    }
    if let Some(id) = c.advisory_ids.iter().find(|id| {
        p.denied_advisory_ids
            .iter()
            .any(|d| d.eq_ignore_ascii_case(id))
    }) {
        return Err(VerifyError::Advisory {
            advisory_id: id.clone(),
        });
    }
    for (field, actual, expected) in [
        ("mrseam", &td.mrseam, &p.expected_mrseam),
        ("mrsignerseam", &td.mrsignerseam, &p.expected_mrsignerseam),
    ] {
        if let Some(expected) = expected.filter(|e| e != actual) {
            return Err(VerifyError::SeamIdentity {
                field,
                actual: actual.to_hex(),
                expected: expected.to_hex(),
            });
        }
    }
    if let Some(min) = &p.min_tee_tcb_svn
        && let Some(index) = td
            .tee_tcb_svn
            .0
            .iter()
            .zip(min.0.iter())
            .position(|(a, m)| a < m)
    {
        return Err(VerifyError::TeeTcbSvn {
            actual: td.tee_tcb_svn.to_hex(),
            minimum: min.to_hex(),
            index,
        });
    }
    if let Some(expected) = p.expected_mrtd.filter(|e| *e != td.mrtd) {
        return Err(VerifyError::Mrtd {
            actual: td.mrtd.to_hex(),
            expected: expected.to_hex(),
        });
    }
    for (index, (actual, expected)) in td.rtmr.iter().zip(p.expected_rtmrs()).enumerate() {
        if let Some(expected) = expected.filter(|e| *e != actual) {
            return Err(VerifyError::Rtmr {
                index,
                actual: actual.to_hex(),
                expected: expected.to_hex(),
            });
        }
    }
    if let Some(expected) = p.expected_report_data.filter(|e| *e != td.report_data) {
        return Err(VerifyError::ReportData {
            actual: td.report_data.to_hex(),
            expected: expected.to_hex(),
        });
    }
    for (field, actual, expected) in [
        ("mrconfigid", &td.mrconfigid, &p.expected_mrconfigid),
        ("mrowner", &td.mrowner, &p.expected_mrowner),
        (
            "mrownerconfig",
            &td.mrownerconfig,
            &p.expected_mrownerconfig,
        ),
    ] {
        if let Some(expected) = expected.filter(|e| e != actual) {
            return Err(VerifyError::TdConfig {
                field,
                actual: actual.to_hex(),
                expected: expected.to_hex(),
            });
        }
    }
    Ok(())
}
