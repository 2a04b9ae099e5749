//! The one error type of this crate.
//!
//! Where `sev-snp-measure` raises a `RuntimeError` the message is the same
//! text, so that scripts matching on it keep working; the other variants name
//! the check that failed where the Python tool would stop with a traceback.

use crate::ovmf::SectionType;

/// Everything that can go wrong while decoding firmware or computing a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The image is too short to hold the 18-byte footer-table entry header
    /// that ends 32 bytes before the end of the image.
    #[error("{image} image of {len} bytes is too short to hold the OVMF footer table")]
    FooterTruncated {
        /// Which image ("OVMF" or "SVSM").
        image: &'static str,
        /// Length of the image in bytes.
        len: usize,
    },
    /// A footer-table entry declares a size smaller than its own header.
    #[error("Invalid entry size {size} in the {image} footer table (minimum 18)")]
    InvalidFooterEntrySize {
        /// Which image ("OVMF" or "SVSM").
        image: &'static str,
        /// The declared size.
        size: u16,
    },
    /// The SEV metadata offset of the footer table points before the start of
    /// the image, or leaves no room for the 16-byte metadata header.
    #[error(
        "SEV metadata offset {offset_from_end:#x} from the end is outside the {image} image of {len} bytes"
    )]
    MetadataOutOfRange {
        /// Which image ("OVMF" or "SVSM").
        image: &'static str,
        /// Offset of the metadata header, counted back from the end of the image.
        offset_from_end: u32,
        /// Length of the image in bytes.
        len: usize,
    },
    /// The SEV metadata header does not start with `ASEV`.
    #[error("Wrong SEV metadata signature")]
    WrongMetadataSignature,
    /// The SEV metadata header has a version other than 1.
    #[error("Wrong SEV metadata version (found {0}, expected 1)")]
    WrongMetadataVersion(u32),
    /// The SEV metadata declares more section descriptors than it holds.
    #[error(
        "SEV metadata declares {declared} sections but holds only {available} bytes of descriptors"
    )]
    MetadataTruncated {
        /// Number of sections in the header.
        declared: u32,
        /// Bytes available for the 12-byte descriptors.
        available: usize,
    },
    /// A metadata section has a type that is not defined.
    #[error("unknown OVMF metadata section type {0:#x}")]
    UnknownSectionType(u32),
    /// A footer-table entry the computation needs is absent.
    #[error("Can't find {entry} entry in {image} table")]
    MissingTableEntry {
        /// Python name of the GUID (e.g. `SEV_ES_RESET_BLOCK_GUID`).
        entry: &'static str,
        /// Which image ("OVMF" or "SVSM").
        image: &'static str,
    },
    /// A kernel was given but the firmware has no `SNP_KERNEL_HASHES` section.
    #[error("Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section")]
    KernelHashesSectionMissing,
    /// A kernel was given (SEV / SEV-ES) but the firmware has no hashes table.
    #[error("Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement")]
    HashesTableUnsupported,
    /// SNP page hashing needs a whole number of 4 KiB pages.
    #[error("{image} image size {len} is not a multiple of 4096 bytes")]
    ImageNotPageAligned {
        /// Which image ("OVMF" or "SVSM").
        image: &'static str,
        /// Length of the image in bytes.
        len: usize,
    },
    /// A metadata section's size is not a whole number of 4 KiB pages.
    #[error("metadata section {section:?} at {gpa:#x} has size {size:#x}, not a multiple of 4096")]
    SectionNotPageAligned {
        /// The section's type.
        section: SectionType,
        /// Its guest-physical address.
        gpa: u32,
        /// Its size in bytes.
        size: u32,
    },
    /// The `SNP_KERNEL_HASHES` section must be exactly one page.
    #[error("SNP_KERNEL_HASHES section size {0:#x} is not one 4096-byte page")]
    HashesSectionSize(u32),
    /// The hashes table would not fit in its page at the table's offset.
    #[error("SEV hashes table at page offset {0:#x} does not fit in the page")]
    HashesTableCrossesPage(usize),
    /// A guest-physical address falls outside the 64-bit range (an image
    /// larger than its end address, or a huge `vars_size`).
    #[error("{image} image of {len} bytes does not fit below address {end_at:#x}")]
    GpaOutOfRange {
        /// Which image ("OVMF" or "SVSM").
        image: &'static str,
        /// Length of the image in bytes.
        len: usize,
        /// Address the image ends at.
        end_at: i128,
    },
    /// More than one vCPU was asked for but the firmware's AP reset EIP is 0.
    #[error(
        "the firmware's SEV-ES AP reset EIP is 0, so only 1 vCPU can be measured (asked for {0})"
    )]
    NoApResetEip(u32),
    /// `--snp-ovmf-hash` given with a mode other than SNP.
    #[error("SNP OVMF hash only works with SNP")]
    OvmfHashOnlyWithSnp,
    /// The precomputed OVMF hash is not hex or not 48 bytes.
    #[error("the precomputed OVMF hash must be 48 bytes of hex (SHA-384): {0}")]
    BadOvmfHash(String),
    /// SVSM mode needs the SVSM image.
    #[error("snp:svsm mode requires an SVSM image")]
    SvsmImageMissing,
    /// SVSM mode is defined for QEMU only.
    #[error("SVSM mode is only implemented for Qemu.")]
    SvsmOnlyQemu,
}
