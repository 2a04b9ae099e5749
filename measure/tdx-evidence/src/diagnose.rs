//! Turning a dcap-qvl rejection into the check that failed.
//!
//! dcap-qvl (0.7.1) reports failures as `anyhow` errors. Most carry a message
//! unique to one check ("Signature is invalid for tcb_info …"); the mapping below
//! is pinned by tests on real and forged quotes. Certificate-chain failures share
//! one message ("Failed to verify certificate chain") for the TCB info, QE identity
//! and PCK chains, so for those this module re-runs the same webpki path check
//! on each chain, in dcap-qvl's order, to name the chain and the certificate
//! (revoked, expired, bad signature). That re-run happens only on a rejection and
//! never turns a rejection into an acceptance: the verdict is dcap-qvl's.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest, Sha256};

use crate::collateral::{CertSummary, Collateral, fmt_secs};
use crate::error::VerifyError;
use crate::quote::TdQuote;

/// Inputs of a diagnosis.
pub(crate) struct Diagnosis<'a> {
    pub collateral: &'a Collateral,
    pub quote: &'a TdQuote,
    pub at: u64,
    /// SHA-256 of the trust root's DER.
    pub root_sha256: [u8; 32],
    /// The trust root's DER when the caller supplied it.
    pub root_der: Option<&'a [u8]>,
}

/// Which certificate chain of the verification.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Chain {
    TcbInfo,
    QeIdentity,
    Pck,
}

impl Diagnosis<'_> {
    /// Names the check behind a dcap-qvl error.
    pub fn classify(&self, err: &anyhow::Error) -> VerifyError {
        let detail = format!("{err:#}");
        let has = |needle: &str| detail.contains(needle);
        let d = || detail.clone();

        if has("Failed to load root ca") || has("Failed to parse root CA certificate") {
            return VerifyError::TrustRoot { reason: d() };
        }
        if has("Failed to parse root CA CRL") {
            return self
                .root_mismatch()
                .unwrap_or(VerifyError::RootCaCrl { detail: d() });
        }
        if has("Failed to parse PCK CRL") {
            return VerifyError::CollateralParse {
                what: "pck_crl".into(),
                reason: d(),
            };
        }
        if has("Failed to verify certificate chain") || has("Too many intermediate certificates") {
            return self.chain_failure(err, &detail);
        }
        if let Some(webpki::Error::CrlExpired { .. }) = err.downcast_ref::<webpki::Error>() {
            // The root CA's revocation check found a CRL past its nextUpdate:
            // stale collateral, not a revoked root.
            return self.stale_crl(&detail);
        }
        if err.downcast_ref::<webpki::Error>().is_some() {
            // The only other bare webpki error: the root CA checked against the CRLs.
            return VerifyError::RootCaCrl {
                detail: format!(
                    "trust root is revoked or its revocation cannot be checked: {detail}"
                ),
            };
        }
        if has("Failed to decode quote")
            || has("Failed to decode QE report")
            || has("Failed to get TD10 report")
        {
            return VerifyError::Parse { reason: d() };
        }
        if has("quote version") || has("TDX TEE quote must have version") {
            return VerifyError::QuoteVersion {
                version: self.quote.header.version,
                accepted: vec![4, 5],
            };
        }
        if has("Unknown QE vendor ID") {
            return VerifyError::QeVendor {
                vendor_id: self.quote.header.qe_vendor_id.to_hex(),
            };
        }
        if has("Unsupported TEE type") {
            return VerifyError::TeeType {
                tee_type: self.quote.header.tee_type,
            };
        }
        if has("attestation key type") {
            return VerifyError::AttestationKeyType {
                key_type: self.quote.header.attestation_key_type,
            };
        }
        if has("TCBInfo expired") || has("QE Identity expired") {
            let ours = match self.collateral.check_dates(self.at) {
                Err(
                    VerifyError::CollateralExpired { detail: ours }
                    | VerifyError::CollateralNotYetValid { detail: ours },
                ) => Some(ours),
                _ => None,
            };
            return VerifyError::CollateralExpired {
                detail: match ours {
                    Some(o) => format!("{detail} ({o})"),
                    None => d(),
                },
            };
        }
        if has("issue date is in the future") {
            return VerifyError::CollateralNotYetValid { detail: d() };
        }
        if has("Failed to decode TcbInfo")
            || has("Failed to decode QeIdentity")
            || has("Failed to parse TCB Info")
            || has("Failed to parse QE Identity issue")
            || has("Failed to parse QE Identity next")
            || has("Failed to parse certs")
        {
            return VerifyError::CollateralParse {
                what: "collateral".into(),
                reason: d(),
            };
        }
        if has("Unsupported QE Identity id/version") || has("TCB info in the collateral") {
            return VerifyError::CollateralTeeType { detail: d() };
        }
        if has("too short for TCB Info")
            || has("TCB Info leaf certificate")
            || has("TCB Info signer must")
        {
            return VerifyError::TcbInfoChain { detail: d() };
        }
        if has("Signature is invalid for tcb_info") {
            return VerifyError::TcbInfoSignature { detail: d() };
        }
        if has("too short for QE Identity")
            || has("QE Identity leaf certificate")
            || has("QE Identity signer must")
        {
            return VerifyError::QeIdentityChain { detail: d() };
        }
        if has("Signature is invalid for qe_identity") {
            return VerifyError::QeIdentitySignature { detail: d() };
        }
        if has("Failed to extract PCK certificates")
            || has("Unsupported DCAP PCK cert format")
            || has("Certificate chain is too short in quote")
            || has("Failed to parse PCK certificate")
        {
            return VerifyError::PckChain { detail: d() };
        }
        if has("Signature is invalid for qe_report") {
            return VerifyError::QeReportSignature { detail: d() };
        }
        if has("Invalid QE auth data length") || has("QE report hash mismatch") {
            return VerifyError::AttestationKeyBinding { detail: d() };
        }
        if has("QE MRSIGNER")
            || has("QE report validation failed")
            || has("QE ISVPRODID")
            || has("QE MISCSELECT")
            || has("QE ATTRIBUTES")
            || has("QE ISVSVN")
            || has("in QE Identity")
        {
            return VerifyError::QeIdentity { detail: d() };
        }
        if has("ISV enclave report signature is invalid") || has("Failed to get signed quote scope")
        {
            return VerifyError::QuoteSignature { detail: d() };
        }
        if has("Fmspc mismatch") || has("Failed to decode TCB FMSPC") {
            return VerifyError::Fmspc {
                detail: format!(
                    "{detail} (TCB info is for FMSPC {})",
                    self.collateral.info().fmspc
                ),
            };
        }
        if has("TDX module identity check") {
            return VerifyError::TdxModuleIdentity { detail: d() };
        }
        if has("No matching TCB level found")
            || has("component count mismatch")
            || has("in TCB Info")
            || has("TDX module TCB level check")
            || has("current TDX TCB")
            || has("tcbDate")
        {
            return VerifyError::TcbLevel { detail: d() };
        }
        if has("TCB status is invalid: Revoked") {
            return VerifyError::TcbRevoked { detail: d() };
        }
        if has("Reserved bits in TD attributes")
            || has("TD migration is enabled")
            || has("SERVTD_EXT is enabled")
            || has("SEPT_VE_DISABLE is not enabled")
            || has("Invalid MR service TD")
            || has("TD attributes")
            || has("Debug mode is enabled")
            || has("TD profiling is enabled")
        {
            return VerifyError::TdAttributes { detail: d() };
        }
        if is_pck_extension_error(&detail) {
            return VerifyError::PckExtension { detail: d() };
        }
        VerifyError::DcapVerify { detail: d() }
    }

    /// A CRL past its nextUpdate at the verification time: the PCK CRL if it
    /// is, else the root CA CRL.
    fn stale_crl(&self, detail: &str) -> VerifyError {
        let c = self.collateral;
        let (what, next) = if c.pck_crl.next_update.is_some_and(|n| self.at > n) {
            ("PCK CRL", c.pck_crl.next_update)
        } else {
            ("root CA CRL", c.root_ca_crl.next_update)
        };
        VerifyError::CollateralExpired {
            detail: format!(
                "{what} nextUpdate {} is before {} ({detail})",
                next.map_or_else(|| "?".into(), fmt_secs),
                fmt_secs(self.at)
            ),
        }
    }

    /// The trust root fingerprint of the collateral's self-issued certificates, when
    /// one differs from the trust root.
    fn root_mismatch(&self) -> Option<VerifyError> {
        let c = self.collateral;
        let pck = self.pck_chain().unwrap_or_default();
        let roots = c
            .tcb_info_chain
            .iter()
            .chain(&c.qe_identity_chain)
            .chain(&pck)
            .filter(|cert| cert.is_self_issued());
        for cert in roots {
            let fp: [u8; 32] = Sha256::digest(&cert.der).into();
            if fp != self.root_sha256 {
                return Some(VerifyError::TrustRoot {
                    reason: format!(
                        "the collateral chains end in {} (SHA-256 {}), not the trust root (SHA-256 {})",
                        cert.subject,
                        hex::encode(fp),
                        hex::encode(self.root_sha256)
                    ),
                });
            }
        }
        None
    }

    /// The trust root DER: the caller's, or the collateral's copy of the embedded
    /// root (recognised by its fingerprint).
    fn anchor_der(&self) -> Option<Vec<u8>> {
        if let Some(der) = self.root_der {
            return Some(der.to_vec());
        }
        let c = self.collateral;
        c.tcb_info_chain
            .iter()
            .chain(&c.qe_identity_chain)
            .find(|cert| <[u8; 32]>::from(Sha256::digest(&cert.der)) == self.root_sha256)
            .map(|cert| cert.der.clone())
    }

    /// The PCK chain dcap-qvl verified: the collateral's, else the quote's.
    fn pck_chain(&self) -> Option<Vec<CertSummary>> {
        if let Some(chain) = &self.collateral.pck_chain {
            return Some(chain.clone());
        }
        let ders = dcap_qvl::intel::extract_cert_chain(&self.quote.dcap).ok()?;
        ders.iter().map(|d| CertSummary::parse(d).ok()).collect()
    }

    fn chain_failure(&self, err: &anyhow::Error, detail: &str) -> VerifyError {
        if let Some(mismatch) = self.root_mismatch() {
            return mismatch;
        }
        let pck = self.pck_chain();
        let c = self.collateral;
        let mut chains: Vec<(Chain, &[CertSummary])> = vec![(Chain::TcbInfo, &c.tcb_info_chain)];
        if c.qe_identity_chain != c.tcb_info_chain {
            chains.push((Chain::QeIdentity, &c.qe_identity_chain));
        }
        if let Some(pck) = &pck {
            chains.push((Chain::Pck, pck));
        }
        let kind = err.downcast_ref::<webpki::Error>().cloned();
        // Name the chain: the first one webpki rejects under dcap-qvl's settings.
        let failing = self.anchor_der().and_then(|anchor| {
            chains.iter().find_map(|(which, certs)| {
                self.webpki_check(certs, &anchor)
                    .err()
                    .map(|e| (*which, certs, e))
            })
        });
        match failing {
            Some((which, certs, e)) => self.chain_error(which, certs, &e, detail),
            None => match (kind, pck) {
                // Without a root to re-run with, name the certificate from the dates
                // and CRL lists.
                (Some(e), Some(pck)) => self.chain_error(Chain::Pck, &pck, &e, detail),
                _ => VerifyError::DcapVerify {
                    detail: detail.to_string(),
                },
            },
        }
    }

    fn chain_error(
        &self,
        which: Chain,
        certs: &[CertSummary],
        e: &webpki::Error,
        detail: &str,
    ) -> VerifyError {
        let c = self.collateral;
        let at = self.at;
        match e {
            webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                if let Some(cert) = certs.iter().find(|x| at < x.not_before || at > x.not_after) {
                    return VerifyError::CertificateExpired {
                        subject: cert.subject.clone(),
                        not_before: cert.not_before,
                        not_after: cert.not_after,
                        at,
                    };
                }
            }
            webpki::Error::CrlExpired { .. } => return self.stale_crl(detail),
            webpki::Error::CertRevoked if which == Chain::Pck => {
                // The leaf is listed by the PCK CRL, CAs by the root CA CRL.
                let (first, rest) = certs
                    .split_first()
                    .map_or((None, &[][..]), |(f, r)| (Some(f), r));
                let listed = first
                    .filter(|leaf| c.pck_crl.lists(&leaf.serial))
                    .map(|leaf| (leaf, "PCK CRL"))
                    .or_else(|| {
                        rest.iter()
                            .find(|x| c.root_ca_crl.lists(&x.serial))
                            .map(|x| (x, "root CA CRL"))
                    });
                let Some((cert, crl)) = listed.or(first.map(|f| (f, "PCK CRL"))) else {
                    return VerifyError::PckChain {
                        detail: detail.to_string(),
                    };
                };
                return VerifyError::PckRevoked {
                    subject: cert.subject.clone(),
                    serial: hex::encode(&cert.serial),
                    crl: crl.to_string(),
                };
            }
            _ => {}
        }
        let detail = format!("{detail} ({e:?})");
        match which {
            Chain::TcbInfo => VerifyError::TcbInfoChain { detail },
            Chain::QeIdentity => VerifyError::QeIdentityChain { detail },
            Chain::Pck => VerifyError::PckChain { detail },
        }
    }

    /// The path check of dcap-qvl 0.7.1 (`utils::verify_certificate_chain`): ECDSA
    /// P-256, both CRLs, revocation of the whole chain, unknown status denied,
    /// expired CRLs rejected.
    fn webpki_check(&self, certs: &[CertSummary], anchor_der: &[u8]) -> Result<(), webpki::Error> {
        let c = self.collateral.as_dcap();
        let anchor_cert = CertificateDer::from_slice(anchor_der);
        let anchor = webpki::anchor_from_trusted_cert(&anchor_cert)?;
        let crls: Vec<webpki::CertRevocationList<'_>> = vec![
            webpki::OwnedCertRevocationList::from_der(&c.root_ca_crl)?.into(),
            webpki::OwnedCertRevocationList::from_der(&c.pck_crl)?.into(),
        ];
        let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
        let Some((leaf, rest)) = certs.split_first() else {
            return Err(webpki::Error::BadDer);
        };
        let leaf_der = CertificateDer::from_slice(&leaf.der);
        let leaf = webpki::EndEntityCert::try_from(&leaf_der)?;
        let intermediates: Vec<CertificateDer<'_>> = rest
            .iter()
            .map(|x| CertificateDer::from_slice(&x.der))
            .collect();
        let revocation = webpki::RevocationOptionsBuilder::new(&crl_refs)
            .map_err(|_| webpki::Error::BadDer)?
            .with_depth(webpki::RevocationCheckDepth::Chain)
            .with_status_policy(webpki::UnknownStatusPolicy::Deny)
            .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
            .build();
        leaf.verify_for_usage(
            &[webpki::ring::ECDSA_P256_SHA256],
            &[anchor],
            &intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(self.at)),
            webpki::KeyUsage::server_auth(),
            Some(revocation),
            None,
        )
        .map(|_| ())
    }
}

/// Messages of dcap-qvl's PCK SGX-extension decoding (`intel::parse_pck_extension`).
fn is_pck_extension_error(detail: &str) -> bool {
    [
        "Intel extension",
        "Fmspc",
        "CpuSvn",
        "PceSvn",
        "Unexpected BOOLEAN",
        "Unexpected ENUMERATED",
        "OID is missing",
        "Failed to decode DER object",
        "Failed to load sequence",
        "Failed to get subobject",
        "Failed to read entry inside Intel extension",
        "Failed to load nested sequence",
        "Failed to read OID",
        "Failed to read value",
        "appears more than once",
        "Failed to decode certificate",
    ]
    .iter()
    .any(|n| detail.contains(n))
}
