//! AMD SEV, SEV-ES and SEV-SNP launch measurements computed offline from the
//! artifacts of a confidential VM: firmware (OVMF), optional direct-boot
//! kernel, initrd and command line, and the VM shape (vCPU count and model,
//! VMM, guest features).
//!
//! The results are bit-for-bit those of `sev-snp-measure` 0.0.13 (PyPI), the
//! reference users already trust, including its behaviour on odd inputs; the
//! test suite checks this against the tool itself on thousands of random
//! cases.
//!
//! # The SNP launch digest
//!
//! ```text
//! LD_0 = 0^48  (or a precomputed "OVMF hash")
//! for each OVMF page p at GPA 4 GiB - |OVMF| + 4096 i:   LD = SHA-384(PAGE_INFO(LD, SHA-384(p), NORMAL, gpa))
//! for each SEV metadata section of the OVMF, in order:   zero / unmeasured / secrets / CPUID pages,
//!                                                        or the SEV hashes table page (kernel boot)
//! for each vCPU:                                         LD = SHA-384(PAGE_INFO(LD, SHA-384(vmsa), VMSA, 0xFFFFFFFFF000))
//! ```
//!
//! See [`page_info`] for `PAGE_INFO`, [`ovmf`] for the firmware tables,
//! [`hashes_table`] for the kernel hashes, [`vmsa`] for the vCPU state and
//! [`launch`] for the modes.
//!
//! # Example
//!
//! ```no_run
//! use aether_snp_launch::{measure, CpuType, Kernel, LaunchInputs, Mode};
//! # fn main() -> Result<(), aether_snp_launch::Error> {
//! let ovmf = std::fs::read("OVMF.fd").unwrap();
//! let kernel = std::fs::read("vmlinuz").unwrap();
//! let mut inputs = LaunchInputs::new(Mode::Snp, &ovmf);
//! inputs.vcpus = 4;
//! inputs.vcpu_sig = CpuType::EpycV4.signature();
//! inputs.kernel = Some(Kernel::Bytes { kernel: &kernel, initrd: None, cmdline: Some("console=ttyS0") });
//! println!("{}", measure(&inputs)?.digest.to_hex());
//! # Ok(()) }
//! ```
//!
//! # Why not the `sev` crate's `measurement` module
//!
//! `sev` 8.0.0 has a port of the same tool, and our tests use it as a second
//! oracle. We do not build on it because we need: zero-copy hashing of caller
//! slices (it reads files itself and copies every page), parallel bulk
//! hashing and one hash per distinct VMSA page for the performance goal, all
//! VMM types (it lacks GCE) and the `snp:svsm` mode, the reference tool's
//! exact behaviour on malformed firmware, and typed errors instead of panics.
//!
//! # Robustness
//!
//! Decoders are length-checked and never panic on any input (property tests
//! and a fuzz target cover them); arithmetic on untrusted values is checked.

pub mod error;
pub mod guid;
pub mod hashes_table;
pub mod hashing;
pub mod launch;
pub mod ovmf;
pub mod page_info;
pub mod vcpu;
pub mod vmsa;

pub use error::Error;
pub use guid::Guid;
pub use hashes_table::SevHashes;
pub use hashing::Parallelism;
pub use launch::{Kernel, LaunchDigestValue, LaunchInputs, Measurement, Mode, Svsm, measure};
pub use ovmf::{Firmware, SectionType};
pub use page_info::{LaunchDigest, PageType, Sha384Digest};
pub use vcpu::{CpuType, cpu_sig};
pub use vmsa::{SaveArea, VmmType, VmsaPages};

/// Size of a guest page.
pub const PAGE_SIZE: usize = 4096;
