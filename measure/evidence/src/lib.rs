//! `aether-evidence`: the one TEE evidence API of Aether. The chain's ledger
//! (receipts verified at block time) and `aether-measure verify snp|tdx`
//! use it; it composes the verifiers of `aether-snp-evidence` and
//! `aether-tdx-evidence` and adds what a chain needs over both: one
//! evidence type, one policy, one claims type, one list of check names,
//! and a root decision that only knows the chain's roots.
//!
//! # API
//!
//! ```text
//! Evidence::Snp { report, vek, chain } | Evidence::Tdx { quote, collateral }
//!        │
//!        ▼  verify(&evidence, &policy, at_unix_secs)      (pure; or Verifier::verify, cached)
//! Result<Claims { tee, measurement, report_data, host_data, tcb, debug, root, signer,
//!                 evidence_digest }, EvidenceError>       (EvidenceError::check() ∈ CHECK_NAMES)
//! ```
//!
//! * [`verify`] is pure and deterministic (the time is an argument: the block
//!   time) and never panics on any bytes. [`Verifier`] gives the same results
//!   and keeps verified SEV-SNP chains and parsed TDX collateral by content
//!   hash, so that receipts from one machine cost only the per-report work.
//! * [`EvidencePolicy`] is a chain parameter: the roots it trusts
//!   ([`TrustRoot`]), the minimum SEV-SNP TCB, the accepted TDX TCB statuses,
//!   report versions and VMPL. It has no debug switch.
//! * [`Claims`] carry what the ledger checks next: the launch measurement
//!   (against the registry), the report data (the receipt binding), the host
//!   data, the TCB, the root, the signer kind and the replay key
//!   ([`Claims::evidence_digest`], SHA-256 of the signed bytes).
//! * [`Evidence::claimed_report_data`] and [`Evidence::digest`] read those
//!   two values after parsing only, for checks that must come before any
//!   signature work.
//! * [`snp::appraise`] and [`tdx::appraise`] run the same pipelines with a
//!   TEE crate's own roots and policy: what `aether-measure verify` uses for
//!   its test-chain and policy-file options.
//! * [`sim`]: the simulated TEE (public certificates as data) and, with the
//!   `sim-signer` feature, `sim::SimSigner`.
//!
//! # Checks
//!
//! Every rejection names exactly one check. SEV-SNP, in order (details in
//! `docs/verify-snp.md`):
//!
//! | check | fails when |
//! |---|---|
//! | `parse` | report not 1184 bytes of version 2-5, or a certificate does not decode |
//! | `product` | VCEK/VLEK issuer names no known product, or the report's CPUID/TCB layout is another product's |
//! | `chain` | the chain does not verify to any known root (wrong ARK, names, RSA-PSS signatures, missing ASK/ASVK) |
//! | `root_not_allowed` | the chain verifies to a known root the policy does not trust (e.g. `simulated` on a production chain) |
//! | `cert_validity` | VCEK/VLEK, ASK/ASVK or ARK outside its validity at the block time |
//! | `signature` | the ECDSA P-384 signature over bytes 0..0x2A0 does not verify |
//! | `signer_kind` | KEY_INFO names another key kind than the certificate; VLEK when `snp_allow_vlek` is off |
//! | `report_version` | version not in `snp_allowed_report_versions` |
//! | `chip_id` | VCEK hwID differs from CHIP_ID |
//! | `reported_tcb_matches_cert` | REPORTED_TCB differs from the VCEK/VLEK's TCB |
//! | `min_tcb` | a REPORTED_TCB component below `snp_min_tcb` |
//! | `debug` | guest policy DEBUG (bit 19) set: never accepted |
//! | `migration_agent_policy` | guest policy allows a migration agent |
//! | `vmpl` | VMPL above `max_vmpl` |
//!
//! TDX, in order (details in `docs/verify-tdx.md`): `collateral_parse`;
//! `root_not_allowed` (the collateral names a known root the policy does not
//! trust); `parse`, `tee_type`, `quote_version`, `qe_vendor`,
//! `attestation_key_type`; dcap-qvl's `trust_root`, `root_ca_crl`,
//! `collateral_expired`, `collateral_not_yet_valid`, `certificate_expired`,
//! `tcb_info_chain`, `tcb_info_signature`, `qe_identity_chain`,
//! `qe_identity_signature`, `collateral_tee_type`, `pck_chain`, `pck_crl`,
//! `pck_extension`, `qe_report_signature`, `attestation_key_binding`,
//! `qe_identity`, `quote_signature`, `fmspc`, `tcb_level`,
//! `tdx_module_identity`, `tcb_revoked`, `td_attributes`, `dcap_verify`; then
//! `debug` (a TUD bit set: never accepted), `tcb_status` (not in
//! `tdx_accepted_tcb_statuses`), `tee_tcb_svn` (below `tdx_min_tee_tcb_svn`).
//!
//! And `internal`: a dependency panicked and the panic was contained (a bug;
//! still a rejection). [`CHECK_NAMES`] lists every name [`EvidenceError::check`]
//! can return, including the TEE crates' expectation checks (`measurement`,
//! `mrtd`, ...) that only their own policies, as the CLI's, use.
//!
//! # Trust model
//!
//! Evidence is accepted only if it chains to a root in the policy. Only
//! three kinds of root exist ([`TrustRoot`]): AMD's ARK of a product line
//! (Milan, Genoa, Turin; embedded with their ASKs and ASVKs, so a VCEK or a
//! VLEK verifies with no chain file), Intel's SGX Root CA (embedded in
//! dcap-qvl), and the simulated root. A policy cannot name arbitrary
//! certificates: the set of roots is part of this code, reviewed with it,
//! and a genesis can only choose among them, so no chain parameter can make
//! a validator trust a key someone slipped in.
//!
//! The simulated root exists because there is no TEE hardware where the
//! chain is developed and tested: dev chains and tests need evidence that
//! goes through exactly the production code path (chain, signature, TCB,
//! debug, root checks). Its seeds and keys are public ([`sim`]), so anyone
//! can produce simulated evidence for any measurement: it proves nothing
//! about hardware. [`EvidencePolicy::production`] does not trust it, evidence
//! under it fails `root_not_allowed` there, and a node must refuse to start a
//! non-dev chain whose policy trusts it ([`EvidencePolicy::trusts_test_root`]).
//!
//! Debug guests (SEV-SNP guest policy DEBUG; TDX TUD bits) expose their
//! memory and registers to the host, so their evidence binds nothing: they
//! fail `debug` under every policy, simulated or not.

mod claims;
mod error;
mod evidence;
mod hexser;
mod policy;
mod roots;
pub mod sim;
pub mod snp;
pub mod tdx;
mod verify;

pub use aether_snp_evidence::{MinTcb, Product};
pub use aether_tdx_evidence::TcbStatus;
pub use claims::{Claims, LaunchMeasurement, TcbSummary, TeeKind};
pub use error::{CHECK_NAMES, EvidenceError};
pub use evidence::Evidence;
pub use policy::EvidencePolicy;
pub use roots::{TrustRoot, UnknownTrustRoot};
pub use verify::{Verifier, verify};

/// The SEV-SNP verifier crate this one composes.
pub use aether_snp_evidence as snp_evidence;
/// The TDX verifier crate this one composes.
pub use aether_tdx_evidence as tdx_evidence;
