//! The crate's error type: one variant per verification check.
//!
//! Every variant maps to a stable check name ([`SnpError::check`]) that the
//! CLI prints as `failed_check`; the names are part of the output format and
//! are listed in `docs/verify-snp.md`.

use crate::Product;
use crate::certs::CertRole;
use crate::report::TcbComponent;

/// Why an SEV-SNP report was rejected (or could not be examined).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnpError {
    /// The report bytes are not a well-formed attestation report.
    #[error("report: {0}")]
    ReportParse(String),

    /// A certificate (VCEK/VLEK, ASK/ASVK or ARK) could not be decoded.
    #[error("{role} certificate: {reason}")]
    CertificateParse {
        /// Which certificate.
        role: CertRole,
        /// What was wrong with it.
        reason: String,
    },

    /// The policy document could not be parsed or is inconsistent.
    #[error("policy: {0}")]
    PolicyParse(String),

    /// The VCEK/VLEK issuer does not name a known SEV-SNP product.
    #[error("unknown product: VCEK/VLEK issuer common name is {issuer_cn:?}")]
    UnknownProduct {
        /// The issuer common name found.
        issuer_cn: String,
    },

    /// The product is not in the policy's `allowed_products`.
    #[error("product {product} is not allowed by the policy")]
    ProductNotAllowed {
        /// The product named by the certificates.
        product: Product,
    },

    /// The report's own product markers (CPUID family/model for v3+, TCB
    /// layout) disagree with the product named by the certificates.
    #[error("report was produced by a {report} processor but the VCEK/VLEK is for {cert}")]
    ReportProductMismatch {
        /// What the report says (e.g. "Genoa (CPUID family 0x19 model 0x11)").
        report: String,
        /// The product named by the certificates.
        cert: Product,
    },

    /// The CA chain supplied is for a different product than the VCEK/VLEK.
    #[error(
        "wrong product root: the {vek_role} was issued for {vek_product} but the CA chain's {ca_role} is for {ca_product}"
    )]
    ChainProductMismatch {
        /// The end-entity role (VCEK or VLEK).
        vek_role: CertRole,
        /// The product named by the VCEK/VLEK issuer.
        vek_product: Product,
        /// The CA certificate that disagrees.
        ca_role: CertRole,
        /// The product that CA certificate names.
        ca_product: Product,
    },

    /// A required CA certificate is neither supplied nor embedded.
    #[error("missing {role} certificate: {reason}")]
    MissingCaCertificate {
        /// The certificate that is missing.
        role: CertRole,
        /// Why it is needed and where it can come from.
        reason: String,
    },

    /// A certificate in the supplied CA chain is not an ARK, ASK or ASVK.
    #[error("unrecognised certificate in the CA chain (subject common name {subject_cn:?})")]
    UnrecognisedCaCertificate {
        /// The subject common name found.
        subject_cn: String,
    },

    /// The chain's ARK is not the trusted ARK for the product.
    #[error("the ARK for {product} is not the trusted root ({trust_root})")]
    UntrustedRoot {
        /// The product.
        product: Product,
        /// Which trust roots were in force.
        trust_root: String,
    },

    /// An issuer name does not equal its issuer certificate's subject.
    #[error("{child} issuer name does not match the {parent} subject name")]
    ChainNameMismatch {
        /// The certificate whose issuer name was checked.
        child: CertRole,
        /// The certificate expected to have issued it.
        parent: CertRole,
    },

    /// A certificate signature in the chain does not verify.
    #[error("{signer} does not sign the {signee}: {reason}")]
    ChainSignature {
        /// The issuing certificate.
        signer: CertRole,
        /// The signed certificate.
        signee: CertRole,
        /// The underlying failure.
        reason: String,
    },

    /// A certificate is past its notAfter at the verification time.
    #[error("{role} certificate expired at {not_after} (verification time {at})")]
    CertificateExpired {
        /// Which certificate.
        role: CertRole,
        /// Its notAfter (RFC 3339).
        not_after: String,
        /// The verification time (Unix seconds).
        at: i64,
    },

    /// A certificate is before its notBefore at the verification time.
    #[error("{role} certificate is not valid before {not_before} (verification time {at})")]
    CertificateNotYetValid {
        /// Which certificate.
        role: CertRole,
        /// Its notBefore (RFC 3339).
        not_before: String,
        /// The verification time (Unix seconds).
        at: i64,
    },

    /// The VCEK/VLEK does not carry a usable ECDSA P-384 public key.
    #[error("{role} public key: {reason}")]
    VekKey {
        /// VCEK or VLEK.
        role: CertRole,
        /// What is wrong with the key.
        reason: String,
    },

    /// The report names a signature algorithm other than ECDSA P-384 with SHA-384.
    #[error("unsupported report signature algorithm {0} (only 1 = ECDSA P-384 with SHA-384)")]
    SignatureAlgorithm(u32),

    /// The report's signature field is not a well-formed ECDSA P-384 signature.
    #[error("malformed report signature: {0}")]
    SignatureMalformed(String),

    /// The ECDSA signature over bytes 0..0x2A0 does not verify with the VCEK/VLEK.
    #[error("the {role} does not sign this report (ECDSA P-384/SHA-384 over bytes 0..0x2A0)")]
    SignatureInvalid {
        /// VCEK or VLEK.
        role: CertRole,
    },

    /// The report's KEY_INFO.SIGNING_KEY disagrees with the certificate kind.
    #[error("report says it was signed by {report_says} but the certificate is a {cert}")]
    SignerKindMismatch {
        /// The signing key named by the report ("VCEK", "VLEK", "none", "reserved(n)").
        report_says: String,
        /// The certificate kind.
        cert: CertRole,
    },

    /// The report is VLEK-signed and the policy does not allow VLEKs.
    #[error("VLEK-signed reports are not allowed by the policy")]
    VlekNotAllowed,

    /// The VCEK's hwID extension does not equal the report's CHIP_ID.
    #[error("chip id mismatch: report CHIP_ID {report} but VCEK hwID {cert}")]
    ChipIdMismatch {
        /// The report's CHIP_ID (hex, the compared bytes).
        report: String,
        /// The VCEK's hwID (hex).
        cert: String,
    },

    /// A VCEK/VLEK extension needed by a check is absent or malformed.
    #[error("{role} extension {oid} ({name}): {reason}")]
    CertificateExtension {
        /// VCEK or VLEK.
        role: CertRole,
        /// The extension OID.
        oid: &'static str,
        /// The extension's AMD name.
        name: &'static str,
        /// Absent or malformed.
        reason: String,
        /// The check that needed it.
        check: &'static str,
    },

    /// The report's REPORTED_TCB differs from the TCB the VCEK/VLEK was issued for.
    #[error("reported TCB {component} is {report} but the {role} was issued for {cert}")]
    ReportedTcbMismatch {
        /// The TCB component.
        component: TcbComponent,
        /// Value in the report.
        report: u8,
        /// Value in the certificate extension.
        cert: u8,
        /// VCEK or VLEK.
        role: CertRole,
    },

    /// A reported TCB component is below the policy's minimum.
    #[error("reported TCB {component} is {actual}, below the minimum {minimum}")]
    TcbBelowMinimum {
        /// The TCB component.
        component: TcbComponent,
        /// Value in the report.
        actual: u8,
        /// The policy's minimum.
        minimum: u8,
    },

    /// The guest policy allows debugging and the verification policy does not.
    #[error(
        "guest policy 0x{policy:x} allows debugging (bit 19); only a policy with allow_debug accepts it"
    )]
    DebugNotAllowed {
        /// The guest policy.
        policy: u64,
    },

    /// The guest policy allows SMT and the verification policy does not.
    #[error("guest policy 0x{policy:x} allows SMT (bit 16) and the policy requires SMT off")]
    SmtNotAllowed {
        /// The guest policy.
        policy: u64,
    },

    /// The guest policy allows a migration agent and the verification policy does not.
    #[error("guest policy 0x{policy:x} allows association with a migration agent (bit 18)")]
    MigrationAgentNotAllowed {
        /// The guest policy.
        policy: u64,
    },

    /// The guest policy does not require single-socket and the policy does.
    #[error("guest policy 0x{policy:x} does not require a single socket (bit 20)")]
    SingleSocketRequired {
        /// The guest policy.
        policy: u64,
    },

    /// The guest policy's minimum ABI version is below the policy's minimum.
    #[error(
        "guest policy ABI {major}.{minor} is below the required minimum {min_major}.{min_minor}"
    )]
    AbiVersionTooLow {
        /// ABI_MAJOR of the guest policy.
        major: u8,
        /// ABI_MINOR of the guest policy.
        minor: u8,
        /// Required major.
        min_major: u8,
        /// Required minor.
        min_minor: u8,
    },

    /// The report was requested at a VMPL above the policy's maximum.
    #[error("report VMPL {vmpl} is above the maximum {max}")]
    VmplTooHigh {
        /// The report's VMPL.
        vmpl: u32,
        /// The policy's maximum.
        max: u32,
    },

    /// The launch measurement is not one of the expected values.
    #[error("measurement {actual} is not an expected measurement")]
    MeasurementMismatch {
        /// The report's MEASUREMENT (hex).
        actual: String,
    },

    /// REPORT_DATA differs from the expected value.
    #[error("report data {actual} differs from the expected {expected}")]
    ReportDataMismatch {
        /// The report's REPORT_DATA (hex).
        actual: String,
        /// The expected value (hex).
        expected: String,
    },

    /// HOST_DATA differs from the expected value.
    #[error("host data {actual} differs from the expected {expected}")]
    HostDataMismatch {
        /// The report's HOST_DATA (hex).
        actual: String,
        /// The expected value (hex).
        expected: String,
    },

    /// The report version is not in the policy's `allowed_report_versions`.
    #[error("report version {0} is not allowed by the policy")]
    ReportVersionNotAllowed(u32),
}

impl SnpError {
    /// The stable name of the check that failed, as printed by the CLI in
    /// `failed_check` (see `docs/verify-snp.md`).
    pub fn check(&self) -> &'static str {
        match self {
            Self::ReportParse(_) | Self::CertificateParse { .. } => "parse",
            Self::PolicyParse(_) => "policy_file",
            Self::UnknownProduct { .. }
            | Self::ProductNotAllowed { .. }
            | Self::ReportProductMismatch { .. } => "product",
            Self::ChainProductMismatch { .. }
            | Self::MissingCaCertificate { .. }
            | Self::UnrecognisedCaCertificate { .. }
            | Self::UntrustedRoot { .. }
            | Self::ChainNameMismatch { .. }
            | Self::ChainSignature { .. } => "chain",
            Self::CertificateExpired { .. } | Self::CertificateNotYetValid { .. } => {
                "cert_validity"
            }
            Self::VekKey { .. }
            | Self::SignatureAlgorithm(_)
            | Self::SignatureMalformed(_)
            | Self::SignatureInvalid { .. } => "signature",
            Self::SignerKindMismatch { .. } | Self::VlekNotAllowed => "signer_kind",
            Self::ChipIdMismatch { .. } => "chip_id",
            Self::CertificateExtension { check, .. } => check,
            Self::ReportedTcbMismatch { .. } => "reported_tcb_matches_cert",
            Self::TcbBelowMinimum { .. } => "min_tcb",
            Self::DebugNotAllowed { .. } => "debug_policy",
            Self::SmtNotAllowed { .. } => "smt_policy",
            Self::MigrationAgentNotAllowed { .. } => "migration_agent_policy",
            Self::SingleSocketRequired { .. } => "single_socket_policy",
            Self::AbiVersionTooLow { .. } => "abi_version",
            Self::VmplTooHigh { .. } => "vmpl",
            Self::MeasurementMismatch { .. } => "measurement",
            Self::ReportDataMismatch { .. } => "report_data",
            Self::HostDataMismatch { .. } => "host_data",
            Self::ReportVersionNotAllowed(_) => "report_version",
        }
    }
}

/// Every check name [`SnpError::check`] can return, in verification order.
pub const CHECK_NAMES: &[&str] = &[
    "parse",
    "policy_file",
    "product",
    "chain",
    "cert_validity",
    "signature",
    "signer_kind",
    "report_version",
    "chip_id",
    "reported_tcb_matches_cert",
    "min_tcb",
    "debug_policy",
    "smt_policy",
    "migration_agent_policy",
    "single_socket_policy",
    "abi_version",
    "vmpl",
    "measurement",
    "report_data",
    "host_data",
];
