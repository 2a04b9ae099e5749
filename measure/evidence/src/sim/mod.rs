//! The simulated TEE: a deterministic key chain that stands in for AMD and
//! Intel hardware on dev chains and in tests.
//!
//! Everything derives from the fixed, **public** seeds below with the test
//! signers of `aether-snp-evidence` and `aether-tdx-evidence`:
//!
//! ```text
//! SEV-SNP (product names of Milan, O=Aether Simulated TEE (not AMD), RSA-2048 PSS / P-384):
//!   ARK-Milan ──> SEV-Milan (ASK) ──> SEV-VCEK ──> reports (VCEK)
//!             └─> SEV-VLEK-Milan (ASVK) ──> SEV-VLEK ──> reports (VLEK)
//! TDX (P-256, deterministic ECDSA):
//!   Aether Test SGX Root CA ──> PCK Platform CA ──> PCK leaf ──> QE report ──> quotes
//!                           └─> TCB Signing ──> TCB info, QE identity (collateral)
//! ```
//!
//! The public certificates are committed as data in `measure/evidence/sim/`
//! (`snp_ark.pem`, `snp_ask.pem`, `snp_asvk.pem`, `tdx_root.pem`), so that
//! verifying against [`crate::TrustRoot::Simulated`] needs no signer code; so
//! are the default VCEK/VLEK and TDX collateral the signer hands out, and the
//! ASK/ASVK private keys it issues other VCEKs/VLEKs with (RSA key generation
//! takes seconds in unoptimised builds). A test regenerates every file from
//! the seeds and compares bytes. Certificates are valid 2000-01-01 ..
//! 2099-01-01.
//!
//! Since the seeds and keys are public, anyone can sign simulated evidence:
//! it proves nothing about hardware, which is why
//! [`crate::EvidencePolicy::production`] does not trust it and a non-dev chain
//! must refuse a policy that does ([`crate::EvidencePolicy::trusts_test_root`]).
//! The signer itself, `SimSigner`, exists only with the `sim-signer`
//! feature.

use std::sync::OnceLock;

use aether_snp_evidence::{Product, TrustRoots};
use sha2::{Digest, Sha256};

#[cfg(feature = "sim-signer")]
mod signer;
#[cfg(feature = "sim-signer")]
pub use signer::{SimFile, SimSigner, SimSnpOptions, SimTdxOptions, SnpTcb, regenerate_files};

/// The product whose names the simulated SNP chain uses.
pub const SNP_PRODUCT: Product = Product::Milan;
/// O= of the simulated SNP certificates (the verifier reads only the CN).
pub const SNP_ORGANIZATION: &str = "Aether Simulated TEE (not AMD)";
/// Seed of the simulated ARK and ASK (`TestCa::with_organization`).
pub const SNP_CA_SEED: u64 = 0x4145_5448_4552_0001;
/// Seed of the simulated ASVK (`TestCa::sibling`).
pub const SNP_ASVK_SEED: u64 = 0x4145_5448_4552_0002;
/// Seed of the simulated VCEK key.
pub const SNP_VCEK_KEY_SEED: u64 = 0x4145_5448_4552_0003;
/// Seed of the simulated VLEK key.
pub const SNP_VLEK_KEY_SEED: u64 = 0x4145_5448_4552_0004;
/// CHIP_ID of the simulated SNP machine (the default VCEK's hwID).
pub const SNP_CHIP_ID: [u8; 64] =
    *b"aether simulated SEV-SNP chip - not an AMD processor - test only";
/// REPORTED_TCB of the default simulated reports (bootloader, tee, snp,
/// microcode), as in the default VCEK/VLEK.
pub const SNP_TCB: [u8; 4] = [4, 0, 22, 213];
/// Seed of the simulated TDX chain (`TestChain::from_seed`).
pub const TDX_CHAIN_SEED: [u8; 32] = *b"aether simulated tdx chain v1\0\0\0";
/// Start of every simulated certificate's validity: 2000-01-01T00:00:00Z.
pub const VALID_FROM: u64 = 946_684_800;
/// End of every simulated certificate's validity: 2099-01-01T00:00:00Z.
pub const VALID_UNTIL: u64 = 4_070_908_800;

/// The simulated ARK (SEV-SNP root), PEM.
pub const SNP_ARK_PEM: &str = include_str!("../../sim/snp_ark.pem");
/// The simulated ASK (issues VCEKs), PEM.
pub const SNP_ASK_PEM: &str = include_str!("../../sim/snp_ask.pem");
/// The simulated ASVK (issues VLEKs), PEM.
pub const SNP_ASVK_PEM: &str = include_str!("../../sim/snp_asvk.pem");
/// The default simulated VCEK (for [`SNP_CHIP_ID`] and [`SNP_TCB`]), PEM.
pub const SNP_VCEK_PEM: &str = include_str!("../../sim/snp_vcek.pem");
/// The default simulated VLEK (for [`SNP_TCB`]), PEM.
pub const SNP_VLEK_PEM: &str = include_str!("../../sim/snp_vlek.pem");
/// The simulated TDX root CA, PEM.
pub const TDX_ROOT_PEM: &str = include_str!("../../sim/tdx_root.pem");
/// The default simulated TDX collateral (TCB status `UpToDate`), dcap-qvl JSON.
pub const TDX_COLLATERAL_JSON: &str = include_str!("../../sim/tdx_collateral.json");

/// The simulated SNP roots (ARK with its ASK and ASVK), as
/// `aether-snp-evidence` trust roots (kind "custom").
pub fn snp_trust_roots() -> TrustRoots {
    let pem = format!("{SNP_ARK_PEM}{SNP_ASK_PEM}{SNP_ASVK_PEM}");
    // Committed data, checked by this crate's tests (`sim_data` tests).
    TrustRoots::custom(pem.as_bytes()).expect("the committed simulated SNP roots are valid")
}

/// A TDX verifier rooted in the simulated root CA.
pub fn tdx_verifier() -> aether_tdx_evidence::Verifier {
    aether_tdx_evidence::Verifier::with_trust_root(TDX_ROOT_PEM.as_bytes())
        .expect("the committed simulated TDX root is valid")
}

/// SHA-256 of the simulated TDX root's DER.
pub fn tdx_root_sha256() -> [u8; 32] {
    static DIGEST: OnceLock<[u8; 32]> = OnceLock::new();
    *DIGEST.get_or_init(|| {
        let der = pem::parse(TDX_ROOT_PEM)
            .expect("the committed simulated TDX root is PEM")
            .into_contents();
        Sha256::digest(der).into()
    })
}
