//! Verification of AMD SEV-SNP attestation reports against AMD's roots of trust.
//!
//! # What is verified
//! Given the report bytes, the VCEK or VLEK certificate (alone, or as the
//! bundle "VCEK/VLEK, ASK/ASVK, ARK" AMD's key server hands out), optionally
//! the ASK/ASVK + ARK chain, a verification time and a [`Policy`], [`verify`]
//! returns a [`VerifiedSnpReport`] only if **every** check below passes, and
//! otherwise the first failing check as an [`SnpError`] whose
//! [`SnpError::check`] name is stable:
//!
//! | # | check name | what |
//! |---|---|---|
//! | 1 | `parse` | report is exactly 1184 bytes of a known version (2-5) that the `sev` crate decodes (reserved ranges zero); certificates decode (DER or PEM) |
//! | 2 | `product` | VCEK/VLEK issuer names Milan, Genoa or Turin; product allowed by the policy; the report's TCB layout and (v3+) CPUID family/model agree with it |
//! | 3 | `chain` | CA chain is for the same product; ARK byte-identical to a trusted ARK (whose self-signature is a property of the trust anchor); issuer names chain; RSASSA-PSS/SHA-384 signatures ARK→ASK/ASVK and ASK/ASVK→VCEK/VLEK (via `sev`'s `Verifiable`) |
//! | 4 | `cert_validity` | VCEK/VLEK, ASK/ASVK and ARK valid at the verification time |
//! | 5 | `signature` | SIGNATURE_ALGO = 1; ECDSA P-384/SHA-384 over the raw bytes 0..0x2A0 verifies with the VCEK/VLEK key |
//! | 6 | `signer_kind` | KEY_INFO.SIGNING_KEY matches the certificate kind; VLEK allowed by the policy |
//! | 7 | `report_version` | version in `allowed_report_versions` |
//! | 8 | `chip_id` | VCEK hwID extension equals CHIP_ID (first 8 bytes on Turin; not applicable to VLEKs) |
//! | 9 | `reported_tcb_matches_cert` | VCEK/VLEK blSPL, teeSPL, snpSPL, ucodeSPL (and fmcSPL on Turin) equal REPORTED_TCB |
//! | 10 | `min_tcb` | REPORTED_TCB components >= `min_tcb` |
//! | 11 | `debug_policy` | guest policy DEBUG off unless `allow_debug` |
//! | 12 | `smt_policy` | guest policy SMT off unless `allow_smt` |
//! | 13 | `migration_agent_policy` | guest policy MIGRATE_MA off unless `allow_migration_agent` |
//! | 14 | `single_socket_policy` | SINGLE_SOCKET on if `require_single_socket` |
//! | 15 | `abi_version` | guest policy ABI major.minor >= `min_abi_major`.`min_abi_minor` |
//! | 16 | `vmpl` | VMPL <= `max_vmpl` |
//! | 17 | `measurement` | MEASUREMENT in `measurements` when non-empty |
//! | 18 | `report_data` | REPORT_DATA equals `report_data` when set |
//! | 19 | `host_data` | HOST_DATA equals `host_data` when set |
//!
//! # Invariants
//! * No input makes the verifier panic: lengths are checked before the `sev`
//!   decoder runs, all arithmetic is checked or bounded, and the property
//!   tests and the `fuzz/` targets exercise hostile bytes.
//! * The signature is verified over the **raw** report bytes, not over a
//!   re-encoding of the parsed fields.
//! * Trust always ends at a pinned ARK: AMD's (embedded from the `sev`
//!   crate, with AMD's ASKs and the ASVKs of [`AMD_ASVKS`], so that a VCEK
//!   or a VLEK verifies with no chain file) by default;
//!   [`TrustRoots::custom`] exists for test chains only and every verified
//!   claim set records which roots were used.
//! * A [`VerifiedChain`] is time-independent and can be cached; validity
//!   periods are checked at each verification time.
//!
//! # Example
//! ```no_run
//! use aether_snp_evidence::{verify, Policy, TrustRoots};
//! # fn main() -> Result<(), aether_snp_evidence::SnpError> {
//! let report = std::fs::read("report.bin").unwrap();
//! let vcek = std::fs::read("vcek.der").unwrap();
//! let verified = verify(&report, &vcek, None, &TrustRoots::amd(), &Policy::default(),
//!                       std::time::SystemTime::now())?;
//! println!("measurement {}", hex::encode(verified.report.measurement));
//! # Ok(()) }
//! ```

mod certs;
mod error;
mod hexser;
mod policy;
mod report;
mod verify;

#[cfg(any(test, feature = "test-signer"))]
pub mod test_signer;

pub use certs::{
    AMD_ASVKS, CertRole, CertTcb, CertValidity, ChainClaims, Product, SignerKind, TrustRootKind,
    TrustRoots, VekClaims, VerifiedChain,
};
pub use error::{CHECK_NAMES, SnpError};
pub use policy::{MinTcb, Policy};
pub use report::{
    CpuidClaims, FirmwareVersion, GuestPolicyClaims, KeyInfoClaims, PlatformInfoClaims, REPORT_LEN,
    ReportClaims, SIGNED_LEN, SnpReport, TcbClaims, TcbComponent, TcbLayout,
};
pub use verify::{VerifiedSnpReport, verify};

#[cfg(test)]
mod tests;
