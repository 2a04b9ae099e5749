//! The SEV hashes table: SHA-256 digests of the kernel, initrd and command
//! line that QEMU writes into the firmware's `SNP_KERNEL_HASHES` page (and
//! appends to the SEV / SEV-ES launch data), so that OVMF can check what it
//! boots against the launch measurement.
//!
//! Layout (packed, little endian), identical to QEMU's `SevHashTable`:
//!
//! ```text
//! offset  size  field
//!      0    16  SEV_HASH_TABLE_HEADER_GUID  9438d606-4f22-4cc9-b479-a793d411fd21
//!     16     2  length = 168 (table without padding)
//!     18    50  cmdline entry  97d02dd8-bd20-4c94-aa78-e7714d36ab2a
//!     68    50  initrd entry   44baf731-3a2f-4bd7-9af1-41e29169781d
//!    118    50  kernel entry   4de79437-abd2-427f-b835-d5b172d2045b
//!    168     8  zero padding to a multiple of 16 (176 bytes in all)
//! entry = guid (16) || length u16 = 50 || sha256 (32)
//! ```
//!
//! The command line is hashed with its terminating NUL (`"\0"` when empty or
//! absent); a missing initrd hashes as the empty string.

use sha2::{Digest, Sha256};

use crate::PAGE_SIZE;
use crate::error::Error;
use crate::guid::Guid;

/// GUID heading the table.
pub const SEV_HASH_TABLE_HEADER_GUID: Guid =
    Guid::from_canonical("9438d606-4f22-4cc9-b479-a793d411fd21");
/// GUID of the kernel entry.
pub const SEV_KERNEL_ENTRY_GUID: Guid =
    Guid::from_canonical("4de79437-abd2-427f-b835-d5b172d2045b");
/// GUID of the initrd entry.
pub const SEV_INITRD_ENTRY_GUID: Guid =
    Guid::from_canonical("44baf731-3a2f-4bd7-9af1-41e29169781d");
/// GUID of the command-line entry.
pub const SEV_CMDLINE_ENTRY_GUID: Guid =
    Guid::from_canonical("97d02dd8-bd20-4c94-aa78-e7714d36ab2a");

/// Size of one table entry: GUID, length, SHA-256.
pub const ENTRY_SIZE: usize = 16 + 2 + 32;
/// Size of the table without padding (the value of its length field).
pub const TABLE_SIZE: usize = 16 + 2 + 3 * ENTRY_SIZE;
/// Size of the table padded to a multiple of 16 bytes.
pub const PADDED_TABLE_SIZE: usize = TABLE_SIZE.div_ceil(16) * 16;

/// SHA-256 of `data` (the hash used for the table entries and the SEV and
/// SEV-ES launch digests).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Incremental SHA-256 of an artifact fed in pieces, for callers that stream
/// a kernel or initrd from disk instead of holding it in memory; the result
/// goes into [`SevHashes`] (see [`crate::Kernel::Hashes`]).
#[derive(Debug, Clone, Default)]
pub struct StreamingSha256(Sha256);

impl StreamingSha256 {
    /// A hasher over no bytes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything appended.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// SHA-256 of a command line as measured: its UTF-8 bytes plus a NUL.
pub fn cmdline_sha256(cmdline: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(cmdline.unwrap_or("").as_bytes());
    h.update([0u8]);
    h.finalize().into()
}

/// The three digests of the SEV hashes table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SevHashes {
    /// SHA-256 of the kernel image.
    pub kernel: [u8; 32],
    /// SHA-256 of the initrd (of the empty string without one).
    pub initrd: [u8; 32],
    /// SHA-256 of the command line with its NUL.
    pub cmdline: [u8; 32],
}

impl SevHashes {
    /// Hashes the kernel, initrd and command line.
    pub fn compute(kernel: &[u8], initrd: Option<&[u8]>, cmdline: Option<&str>) -> Self {
        SevHashes {
            kernel: sha256(kernel),
            initrd: sha256(initrd.unwrap_or(&[])),
            cmdline: cmdline_sha256(cmdline),
        }
    }

    /// The padded table (176 bytes).
    pub fn table(&self) -> [u8; PADDED_TABLE_SIZE] {
        let mut t = [0u8; PADDED_TABLE_SIZE];
        t[..16].copy_from_slice(SEV_HASH_TABLE_HEADER_GUID.as_bytes());
        t[16..18].copy_from_slice(&(TABLE_SIZE as u16).to_le_bytes());
        let entries = [
            (SEV_CMDLINE_ENTRY_GUID, &self.cmdline),
            (SEV_INITRD_ENTRY_GUID, &self.initrd),
            (SEV_KERNEL_ENTRY_GUID, &self.kernel),
        ];
        for (i, (guid, hash)) in entries.into_iter().enumerate() {
            let at = 18 + i * ENTRY_SIZE;
            t[at..at + 16].copy_from_slice(guid.as_bytes());
            t[at + 16..at + 18].copy_from_slice(&(ENTRY_SIZE as u16).to_le_bytes());
            t[at + 18..at + ENTRY_SIZE].copy_from_slice(hash);
        }
        t
    }

    /// A zero page with the padded table at `offset` (the table's address
    /// modulo 4096), as measured in the `SNP_KERNEL_HASHES` section.
    pub fn page(&self, offset: usize) -> Result<Box<[u8; PAGE_SIZE]>, Error> {
        let end = offset
            .checked_add(PADDED_TABLE_SIZE)
            .filter(|&end| end <= PAGE_SIZE)
            .ok_or(Error::HashesTableCrossesPage(offset))?;
        let mut page = Box::new([0u8; PAGE_SIZE]);
        page[offset..end].copy_from_slice(&self.table());
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_qemu() {
        assert_eq!(TABLE_SIZE, 168);
        assert_eq!(PADDED_TABLE_SIZE, 176);
    }

    #[test]
    fn empty_inputs_hash_like_python() {
        let h = SevHashes::compute(b"", None, None);
        // sha256(b"\0") and sha256(b"")
        assert_eq!(
            hex::encode(h.cmdline),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            hex::encode(h.initrd),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(cmdline_sha256(Some("")), cmdline_sha256(None));
        let mut s = StreamingSha256::new();
        s.update(b"ab");
        s.update(b"c");
        assert_eq!(s.finish(), sha256(b"abc"));
    }

    #[test]
    fn page_places_table_and_rejects_overflow() {
        let h = SevHashes::compute(b"k", Some(b"i"), Some("c"));
        let page = h.page(0xc00).unwrap();
        assert_eq!(&page[0xc00..0xc00 + 176], &h.table());
        assert!(page[..0xc00].iter().all(|&b| b == 0));
        assert!(page[0xc00 + 176..].iter().all(|&b| b == 0));
        assert!(h.page(4096 - 176).is_ok());
        assert_eq!(
            h.page(4096 - 175).unwrap_err(),
            Error::HashesTableCrossesPage(4096 - 175)
        );
    }
}
