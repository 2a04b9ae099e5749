//! The crate's error type: one variant per failed check, naming what was wrong.

/// Everything that can go wrong while decoding artifacts or computing measurements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ---- firmware: OVMF footer table and TDX metadata ----
    /// The firmware image is smaller than the OVMF footer table needs.
    #[error("firmware is {len} bytes, too small for the OVMF footer table")]
    FirmwareTooSmall {
        /// Length of the image.
        len: usize,
    },
    /// The GUID at 0x30 bytes from the end is not the OVMF table footer GUID.
    #[error(
        "firmware has no OVMF footer GUID table (GUID 96b582de-1fb2-45f7-baea-a366c55a082d not found 0x30 bytes from the end)"
    )]
    FooterTableMissing,
    /// The footer table's declared length is impossible.
    #[error("OVMF footer table declares length {len}, outside 18..={max}")]
    FooterTableLength {
        /// Declared length.
        len: usize,
        /// Largest length the image allows.
        max: usize,
    },
    /// An entry of the footer table has an impossible length.
    #[error(
        "OVMF footer table entry ending at offset {end:#x} declares length {len}, outside 18..={max}"
    )]
    FooterEntryLength {
        /// Offset (in the image) just after the entry.
        end: usize,
        /// Declared length.
        len: usize,
        /// Largest length possible at that position.
        max: usize,
    },
    /// The footer table has no TDX metadata offset entry: not a TDX-capable firmware.
    #[error(
        "firmware has no TDX metadata (GUID e47a6535-984a-4798-865e-4685a7bf8ec2 absent from the OVMF footer table): not a TDVF/OVMF build with TDX support"
    )]
    TdxMetadataMissing,
    /// The TDX metadata offset entry does not carry a 4-byte offset.
    #[error("TDX metadata offset entry carries {len} bytes, expected at least 4")]
    TdxMetadataOffsetEntry {
        /// Payload length of the entry.
        len: usize,
    },
    /// The TDX metadata descriptor offset points outside the image.
    #[error(
        "TDX metadata offset {offset:#x} (from the end) lies outside the {firmware_len}-byte firmware"
    )]
    TdxMetadataOffset {
        /// Offset from the end of the image.
        offset: u32,
        /// Length of the image.
        firmware_len: usize,
    },
    /// The TDX metadata descriptor lacks the "TDVF" signature.
    #[error("TDX metadata descriptor signature is {found:02x?}, expected \"TDVF\"")]
    TdxMetadataSignature {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// The TDX metadata descriptor has a version this crate does not know.
    #[error("TDX metadata descriptor version {0} is not supported (expected 1)")]
    TdxMetadataVersion(u32),
    /// The descriptor's length field, section count and the image disagree.
    #[error(
        "TDX metadata descriptor declares length {declared} but {sections} sections need {needed} bytes (image allows {available})"
    )]
    TdxMetadataLength {
        /// Declared descriptor length.
        declared: u32,
        /// Declared number of sections.
        sections: u32,
        /// Bytes the sections need (16 + 32 * sections).
        needed: u64,
        /// Bytes left in the image after the descriptor start.
        available: usize,
    },
    /// A section of the TDX metadata fails a consistency check.
    #[error("TDX metadata section {index}: {reason}")]
    TdxSection {
        /// Index of the section in the descriptor.
        index: usize,
        /// The failed check.
        reason: String,
    },

    // ---- kernel ----
    /// The kernel image is not a Linux bzImage (no "HdrS" setup header).
    #[error("kernel is not a Linux bzImage: {0}")]
    KernelNotBzImage(String),
    /// QEMU would refuse this kernel/initrd/command line combination.
    #[error("QEMU would refuse this direct boot: {0}")]
    QemuLoad(String),
    /// The kernel is not a PE/COFF image that UEFI can measure with Authenticode.
    #[error("kernel is not a valid PE/COFF (EFI stub) image: {0}")]
    KernelNotPe(String),

    // ---- VM shape ----
    /// The memory size cannot hold the TDVF sections or the ACPI area.
    #[error("memory size {memory:#x}: {reason}")]
    Memory {
        /// Memory size in bytes.
        memory: u64,
        /// The failed check.
        reason: String,
    },
    /// QEMU's `etc/table-loader` blob is malformed.
    #[error("ACPI table loader: {0}")]
    TableLoader(String),
    /// A blob named by the table loader was not supplied.
    #[error("ACPI table loader allocates fw_cfg file {0:?}, which was not supplied")]
    AcpiBlobMissing(String),
    /// The firmware's measurement behaviour is outside what this crate models.
    #[error("unsupported firmware for this register: {0}")]
    UnsupportedFirmware(String),

    // ---- event logs ----
    /// The event log ends inside a structure.
    #[error("event log truncated at offset {offset:#x}: {what} needs {need} bytes, {have} left")]
    EventLogTruncated {
        /// Offset of the structure.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// The first event is not a valid "Spec ID Event03" header.
    #[error("event log header: {0}")]
    SpecIdEvent(String),
    /// An event carries a digest of an algorithm the header did not declare.
    #[error(
        "event {index} at offset {offset:#x} uses digest algorithm {alg:#06x}, not declared in the Spec ID header"
    )]
    UnknownDigestAlgorithm {
        /// Index of the event (0 = first event after the header).
        index: usize,
        /// Offset of the event.
        offset: usize,
        /// TPM_ALG_ID found.
        alg: u16,
    },
    /// An event's digest count disagrees with the header's algorithm count.
    #[error(
        "event {index} at offset {offset:#x} carries {count} digests; the header declares {declared} algorithms"
    )]
    DigestCount {
        /// Index of the event.
        index: usize,
        /// Offset of the event.
        offset: usize,
        /// Digest count found.
        count: u32,
        /// Algorithms declared by the header.
        declared: usize,
    },
    /// An event cannot be replayed into the requested registers.
    #[error("event {index} (type {event_type}) targets index {register}, which {reason}")]
    Replay {
        /// Index of the event.
        index: usize,
        /// Event type name.
        event_type: String,
        /// Register index in the event.
        register: u32,
        /// Why it cannot be replayed.
        reason: &'static str,
    },
    /// The log has no digests of the algorithm the replay needs.
    #[error("event log has no {0} digests")]
    MissingBank(&'static str),
    /// The ACPI CCEL table is malformed.
    #[error("CCEL table: {0}")]
    CcelTable(String),
}

/// Result alias of this crate.
pub type Result<T> = core::result::Result<T, Error>;
