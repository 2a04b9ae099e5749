//! `aether-measure`: the measurement and evidence toolkit of Aether.
//!
//! The chain trusts a confidential VM only when its hardware evidence carries a
//! launch measurement registered for an image. This crate is the facade over
//! the four pieces that make that possible; each lives in its own crate so the
//! chain, the worker and the image builder take only what they need:
//!
//! | crate | what |
//! |---|---|
//! | [`snp_launch`] | SEV-SNP launch digest from OVMF, kernel, initrd, command line, vCPUs |
//! | [`tdx_launch`] | TDX MRTD and RTMRs from TDVF and boot artifacts; event-log replay |
//! | [`snp_evidence`] | SEV-SNP attestation reports verified against AMD's ARKs |
//! | [`tdx_evidence`] | TDX DCAP quotes verified with collateral against Intel's root CA |
//! | [`evidence`] | the one evidence API over both (`verify(evidence, policy, at)`), which the chain and `verify snp\|tdx` use |
//!
//! The `aether-measure` binary (see `src/main.rs`) exposes all of them.

pub use aether_evidence as evidence;
pub use aether_snp_evidence as snp_evidence;
pub use aether_snp_launch as snp_launch;
pub use aether_tdx_evidence as tdx_evidence;
pub use aether_tdx_launch as tdx_launch;
