//! The one error type of the crate: each variant is one check of the
//! verification pipeline, named by [`VerifyError::check`].

use thiserror::Error;

/// Why a quote, its collateral, a trust root or a policy was rejected.
///
/// Every variant is one check; [`VerifyError::check`] gives its stable name
/// (used as `failed_check` in the CLI's JSON). Variants that come from
/// `dcap-qvl` keep its message in `detail` (for example `"TCBInfo expired"` or
/// `"No matching TCB level found"`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The quote bytes are not a well-formed DCAP quote (size, layout, body type,
    /// trailing bytes).
    #[error("quote parse: {reason}")]
    Parse {
        /// What is wrong with the bytes.
        reason: String,
    },
    /// The quote version is not accepted by the policy (or not a TDX version).
    #[error("quote version {version} is not accepted (accepted: {accepted:?})")]
    QuoteVersion {
        /// Version in the quote header.
        version: u16,
        /// Versions the policy accepts.
        accepted: Vec<u16>,
    },
    /// The quote is not a TDX quote (TEE type other than 0x81).
    #[error("TEE type {tee_type:#x} is not TDX (0x81)")]
    TeeType {
        /// TEE type in the quote header.
        tee_type: u32,
    },
    /// The QE vendor id is not Intel's.
    #[error("QE vendor id {vendor_id} is not Intel's (939a7233f79c4ca9940a0db3957f0607)")]
    QeVendor {
        /// Vendor id in the quote header, hex.
        vendor_id: String,
    },
    /// The attestation key type is not ECDSA P-256 (2).
    #[error("attestation key type {key_type} is not ECDSA-256-with-P-256 (2)")]
    AttestationKeyType {
        /// Key type in the quote header.
        key_type: u16,
    },
    /// The collateral (JSON, certificate chains, CRLs, TCB info, QE identity) does
    /// not parse.
    #[error("collateral parse: {what}: {reason}")]
    CollateralParse {
        /// Which piece of the collateral.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The trust root is not a usable CA certificate, or the collateral chains lead
    /// to a different root.
    #[error("trust root: {reason}")]
    TrustRoot {
        /// What is wrong.
        reason: String,
    },
    /// The root CA CRL is not signed by the trust root, or revokes the root.
    #[error("root CA CRL: {detail}")]
    RootCaCrl {
        /// dcap-qvl's message.
        detail: String,
    },
    /// A piece of collateral (TCB info, QE identity, a CRL) is past its
    /// `nextUpdate` at the verification time.
    #[error("collateral expired: {detail}")]
    CollateralExpired {
        /// What expired and when (dcap-qvl's message first when it has one).
        detail: String,
    },
    /// A piece of collateral is issued after the verification time.
    #[error("collateral not yet valid: {detail}")]
    CollateralNotYetValid {
        /// What and when.
        detail: String,
    },
    /// A certificate of one of the chains is outside its validity period.
    #[error("certificate {subject} is not valid at {at} (valid {not_before}..{not_after})")]
    CertificateExpired {
        /// Subject of the certificate.
        subject: String,
        /// Start of validity, Unix seconds.
        not_before: u64,
        /// End of validity, Unix seconds.
        not_after: u64,
        /// Verification time, Unix seconds.
        at: u64,
    },
    /// The TCB info signing chain does not verify to the trust root.
    #[error("TCB info signing chain: {detail}")]
    TcbInfoChain {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The TCB info JSON is not signed by its signing certificate.
    #[error("TCB info signature: {detail}")]
    TcbInfoSignature {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The QE identity signing chain does not verify to the trust root.
    #[error("QE identity signing chain: {detail}")]
    QeIdentityChain {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The QE identity JSON is not signed by its signing certificate.
    #[error("QE identity signature: {detail}")]
    QeIdentitySignature {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The collateral is for another TEE (SGX TCB info or QE identity for a TDX
    /// quote).
    #[error("collateral TEE type: {detail}")]
    CollateralTeeType {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The PCK certificate chain does not verify to the trust root.
    #[error("PCK certificate chain: {detail}")]
    PckChain {
        /// dcap-qvl's message.
        detail: String,
    },
    /// A certificate of the PCK chain is revoked by the PCK CRL or the root CA CRL.
    #[error("PCK certificate revoked: {subject} (serial {serial}) is listed in the {crl}")]
    PckRevoked {
        /// Subject of the revoked certificate.
        subject: String,
        /// Its serial number, hex.
        serial: String,
        /// Which CRL lists it.
        crl: String,
    },
    /// The PCK certificate lacks or garbles the Intel SGX extension.
    #[error("PCK certificate SGX extension: {detail}")]
    PckExtension {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The QE report is not signed by the PCK key.
    #[error("QE report signature: {detail}")]
    QeReportSignature {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The QE report does not bind the attestation key (SHA-256 of key and QE
    /// authentication data differs from the QE report data).
    #[error("attestation key binding: {detail}")]
    AttestationKeyBinding {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The QE report does not match the QE identity (MRSIGNER, ISVPRODID,
    /// MISCSELECT, ATTRIBUTES, ISVSVN).
    #[error("QE identity: {detail}")]
    QeIdentity {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The quote (header and TD report) is not signed by the attestation key.
    #[error("quote signature: {detail}")]
    QuoteSignature {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The TCB info is for another platform (FMSPC differs from the PCK's).
    #[error("FMSPC: {detail}")]
    Fmspc {
        /// dcap-qvl's message.
        detail: String,
    },
    /// No TCB level of the TCB info (or of the TDX module identity) matches the
    /// platform's SVNs.
    #[error("TCB level: {detail}")]
    TcbLevel {
        /// dcap-qvl's message, e.g. `No matching TCB level found`.
        detail: String,
    },
    /// The TDX module (SEAM) signer or attributes differ from the TCB info's
    /// `tdxModule` / `tdxModuleIdentities`.
    #[error("TDX module identity: {detail}")]
    TdxModuleIdentity {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The platform TCB is revoked (rejected whatever the policy).
    #[error("TCB revoked: {detail}")]
    TcbRevoked {
        /// dcap-qvl's message.
        detail: String,
    },
    /// TD attributes that no policy accepts (reserved bits, migratable, no
    /// SEPT_VE_DISABLE, service TD binding without `allow_service_td`).
    #[error("TD attributes: {detail}")]
    TdAttributes {
        /// dcap-qvl's message.
        detail: String,
    },
    /// `dcap-qvl` rejected the quote with a message this crate does not know.
    #[error("DCAP verification: {detail}")]
    DcapVerify {
        /// dcap-qvl's message.
        detail: String,
    },
    /// The converged TCB status is not in the policy's accepted list.
    #[error("TCB status {status} is not accepted (accepted: {accepted})")]
    TcbStatus {
        /// The status.
        status: String,
        /// The policy's accepted statuses, comma-separated.
        accepted: String,
    },
    /// An advisory id on the policy's deny list applies to the platform.
    #[error("advisory {advisory_id} is denied by the policy")]
    Advisory {
        /// The denied advisory id.
        advisory_id: String,
    },
    /// The TD runs under debug (a TUD bit of TD attributes is set) and the policy
    /// does not allow debug.
    #[error(
        "TD is debuggable (TD attributes {td_attributes}, TUD bits {tud:#04x}) and the policy does not allow debug"
    )]
    DebugAttribute {
        /// TD attributes, hex.
        td_attributes: String,
        /// The TUD byte (bit 0 = DEBUG).
        tud: u8,
    },
    /// MRSEAM or MRSIGNERSEAM differs from the policy's expectation.
    #[error("SEAM identity: {field} is {actual}, expected {expected}")]
    SeamIdentity {
        /// `mrseam` or `mrsignerseam`.
        field: &'static str,
        /// Value in the quote, hex.
        actual: String,
        /// Expected value, hex.
        expected: String,
    },
    /// A TEE TCB SVN component is below the policy's minimum.
    #[error("TEE TCB SVN {actual} is below the minimum {minimum} (component {index})")]
    TeeTcbSvn {
        /// Value in the quote, hex.
        actual: String,
        /// Policy minimum, hex.
        minimum: String,
        /// First component below the minimum.
        index: usize,
    },
    /// MRTD differs from the expected value.
    #[error("MRTD is {actual}, expected {expected}")]
    Mrtd {
        /// Value in the quote, hex.
        actual: String,
        /// Expected value, hex.
        expected: String,
    },
    /// An RTMR differs from the expected value.
    #[error("RTMR{index} is {actual}, expected {expected}")]
    Rtmr {
        /// RTMR index 0..=3.
        index: usize,
        /// Value in the quote, hex.
        actual: String,
        /// Expected value, hex.
        expected: String,
    },
    /// REPORTDATA differs from the expected value.
    #[error("report data is {actual}, expected {expected}")]
    ReportData {
        /// Value in the quote, hex.
        actual: String,
        /// Expected value, hex.
        expected: String,
    },
    /// MRCONFIGID, MROWNER or MROWNERCONFIG differs from the expected value.
    #[error("{field} is {actual}, expected {expected}")]
    TdConfig {
        /// `mrconfigid`, `mrowner` or `mrownerconfig`.
        field: &'static str,
        /// Value in the quote, hex.
        actual: String,
        /// Expected value, hex.
        expected: String,
    },
    /// The policy document is invalid.
    #[error("policy: {reason}")]
    Policy {
        /// What is wrong with it.
        reason: String,
    },
    /// A dependency panicked on this input; the panic was contained and the
    /// input rejected (this is a bug to report, never an acceptance).
    #[error("internal error (contained panic) in {stage}: {detail}")]
    Internal {
        /// Which stage panicked.
        stage: &'static str,
        /// The panic message.
        detail: String,
    },
}

impl VerifyError {
    /// The stable name of the failed check (`failed_check` in the CLI's JSON).
    pub fn check(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "parse",
            Self::QuoteVersion { .. } => "quote_version",
            Self::TeeType { .. } => "tee_type",
            Self::QeVendor { .. } => "qe_vendor",
            Self::AttestationKeyType { .. } => "attestation_key_type",
            Self::CollateralParse { .. } => "collateral_parse",
            Self::TrustRoot { .. } => "trust_root",
            Self::RootCaCrl { .. } => "root_ca_crl",
            Self::CollateralExpired { .. } => "collateral_expired",
            Self::CollateralNotYetValid { .. } => "collateral_not_yet_valid",
            Self::CertificateExpired { .. } => "certificate_expired",
            Self::TcbInfoChain { .. } => "tcb_info_chain",
            Self::TcbInfoSignature { .. } => "tcb_info_signature",
            Self::QeIdentityChain { .. } => "qe_identity_chain",
            Self::QeIdentitySignature { .. } => "qe_identity_signature",
            Self::CollateralTeeType { .. } => "collateral_tee_type",
            Self::PckChain { .. } => "pck_chain",
            Self::PckRevoked { .. } => "pck_crl",
            Self::PckExtension { .. } => "pck_extension",
            Self::QeReportSignature { .. } => "qe_report_signature",
            Self::AttestationKeyBinding { .. } => "attestation_key_binding",
            Self::QeIdentity { .. } => "qe_identity",
            Self::QuoteSignature { .. } => "quote_signature",
            Self::Fmspc { .. } => "fmspc",
            Self::TcbLevel { .. } => "tcb_level",
            Self::TdxModuleIdentity { .. } => "tdx_module_identity",
            Self::TcbRevoked { .. } => "tcb_revoked",
            Self::TdAttributes { .. } => "td_attributes",
            Self::DcapVerify { .. } => "dcap_verify",
            Self::TcbStatus { .. } => "tcb_status",
            Self::Advisory { .. } => "advisory",
            Self::DebugAttribute { .. } => "debug_attribute",
            Self::SeamIdentity { .. } => "seam_identity",
            Self::TeeTcbSvn { .. } => "tee_tcb_svn",
            Self::Mrtd { .. } => "mrtd",
            Self::Rtmr { .. } => "rtmr",
            Self::ReportData { .. } => "report_data",
            Self::TdConfig { .. } => "td_config",
            Self::Policy { .. } => "policy",
            Self::Internal { .. } => "internal",
        }
    }
}

/// Every check name [`VerifyError::check`] can return, in pipeline order.
pub const CHECKS: &[&str] = &[
    "parse",
    "quote_version",
    "tee_type",
    "qe_vendor",
    "attestation_key_type",
    "collateral_parse",
    "trust_root",
    "root_ca_crl",
    "collateral_expired",
    "collateral_not_yet_valid",
    "certificate_expired",
    "tcb_info_chain",
    "tcb_info_signature",
    "qe_identity_chain",
    "qe_identity_signature",
    "collateral_tee_type",
    "pck_chain",
    "pck_crl",
    "pck_extension",
    "qe_report_signature",
    "attestation_key_binding",
    "qe_identity",
    "quote_signature",
    "fmspc",
    "tcb_level",
    "tdx_module_identity",
    "tcb_revoked",
    "td_attributes",
    "dcap_verify",
    "tcb_status",
    "advisory",
    "debug_attribute",
    "seam_identity",
    "tee_tcb_svn",
    "mrtd",
    "rtmr",
    "report_data",
    "td_config",
    "policy",
    "internal",
];
