//! Intel TDX DCAP quote verification: quote bytes + collateral + time + policy →
//! authenticated claims ([`VerifiedTdQuote`]) or the one check that failed
//! ([`VerifyError`], named by [`VerifyError::check`]).
//!
//! # Trust chain
//!
//! ```text
//!  Intel SGX Root CA (embedded; or a caller's root for test chains)
//!   ├── root CA CRL ─────────────────────────── signed by the root
//!   ├── TCB Signing cert ── signs ──> TCB info JSON (FMSPC's TCB levels, TDX module identity)
//!   │                     └─ signs ──> QE identity JSON (TD quoting enclave identity, TCB levels)
//!   └── PCK Platform/Processor CA ── PCK CRL
//!        └── PCK leaf (SGX extension: FMSPC, CPUSVN, PCESVN, PPID …)
//!             └─ signs ──> QE report (REPORTDATA[0..32] = SHA-256(attestation key ‖ QE auth data))
//!                            └─ binds ──> attestation key ── signs ──> header ‖ TD report body
//! ```
//!
//! # Pipeline
//!
//! 1. [`TdQuote::parse`]: size bound, dcap-qvl's length-checked decoding, no
//!    trailing bytes, TDX only (v4, v5; TD report bodies TDX 1.0, 1.5, 1.5 ex).
//! 2. Header: version accepted by the policy, Intel QE vendor, ECDSA P-256 key.
//! 3. `dcap-qvl` (0.7.1) does the DCAP work: CRLs, TCB info and QE identity
//!    dates, chains and signatures, PCK chain with revocation, QE report
//!    signature, attestation-key binding, QE identity, quote signature, FMSPC,
//!    TCB level matching (platform, TDX module, QE; TD relaunch for 1.5), TDX
//!    module identity, revoked TCB, TD attributes no policy accepts. A failure
//!    is mapped to its check (see `diagnose`).
//! 4. [`Policy`]: debug (TUD bits), accepted TCB statuses (default
//!    `UpToDate` only), denied advisories, SEAM identity, minimum TEE TCB SVN,
//!    MRTD, RTMR0-3, report data, MRCONFIGID/MROWNER/MROWNERCONFIG.
//!
//! # Invariants
//!
//! - Nothing is accepted unless dcap-qvl's verification accepted it and every
//!   policy check passed; the diagnosis of a failure only names it.
//! - No input panics the verifier: inputs are bounded before decoding and calls
//!   into dcap-qvl are wrapped so that a panic becomes [`VerifyError::Internal`].
//! - [`Collateral`] is parsed once and shared by any number of verifications.
//!
//! # Example
//!
//! ```no_run
//! use aether_tdx_evidence::{Collateral, Policy, Verifier};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let collateral = Collateral::from_json(&std::fs::read("collateral.json")?)?;
//! let quote = std::fs::read("quote.dat")?;
//! let claims = Verifier::intel().verify(&quote, &collateral, 1_751_328_000, &Policy::default())?;
//! println!("MRTD {} status {}", claims.td_report.mrtd, claims.tcb_status);
//! # Ok(()) }
//! ```

mod collateral;
mod diagnose;
mod error;
mod hex_bytes;
mod policy;
mod quote;
#[cfg(any(test, feature = "test-signer"))]
pub mod test_signer;
mod verify;

pub use collateral::{Collateral, CollateralInfo, MAX_COLLATERAL_JSON_LEN};
pub use dcap_qvl::TcbStatus;
pub use error::{CHECKS, VerifyError};
pub use hex_bytes::{HexBytes, HexVec, Measurement};
pub use policy::{Policy, parse_tcb_status};
pub use quote::{
    HEADER_LEN, INTEL_QE_VENDOR_ID, MAX_QUOTE_LEN, QuoteHeader, TEE_TYPE_TDX, TdAttributes,
    TdQuote, TdReportBody, TdReportKind,
};
pub use verify::{
    Appraisal, INTEL_SGX_ROOT_CA_SHA256, PckInfo, TrustRootInfo, TrustRootKind, VerifiedTdQuote,
    Verifier,
};
