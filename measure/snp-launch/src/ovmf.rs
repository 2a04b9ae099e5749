//! The OVMF footer table and the SEV metadata sections of a firmware image.
//!
//! # Layout
//!
//! OVMF (and the Coconut SVSM image, which reuses the format) ends with a
//! *footer table* built by the reset-vector code of edk2:
//!
//! ```text
//!   ... firmware ...| entry n | ... | entry 1 | footer entry | 32 bytes |
//!                   |<-------- footer.size -------------->|
//! entry   = data[size - 18] || size: u16 LE || guid: 16 bytes   (read backwards)
//! footer  = size: u16 LE (whole table incl. itself) || OVMF_TABLE_FOOTER_GUID
//! ```
//!
//! Entries are read from the end towards the start; each names its own total
//! size, so the table is a backwards-linked list of `(guid, data)` pairs. The
//! entries used here:
//!
//! | GUID | name | data |
//! |---|---|---|
//! | `00f771de-1a7e-4fcb-890e-68c77e2fb44e` | SEV-ES reset block | u32 AP reset EIP |
//! | `7255371f-3a3b-4b04-927b-1da6efa8d454` | SEV hashes table | u32 GPA, u32 size |
//! | `dc886566-984a-4798-a75e-5585a7bf67cc` | SEV metadata | u32 offset from the end of the image |
//! | `a789a612-0597-4c4b-a49f-cbb1fe9d1ddd` | SVSM info | u32 entry offset (SVSM images) |
//!
//! The SEV metadata (`OvmfSevMetadata.asm`) is a header `"ASEV" || size u32 ||
//! version u32 (=1) || num_items u32` followed by `num_items` descriptors
//! `gpa u32 || size u32 || type u32`, each one of [`SectionType`].
//!
//! # Fidelity
//!
//! Decoding follows `sev-snp-measure` 0.0.13 (`ovmf.py`) byte for byte,
//! including how it slices with Python's clamping semantics when a crafted
//! table points outside the image: what the Python tool accepts, this module
//! accepts with the same result, and what makes it raise is an [`Error`] here.
//! Every read is bounds-checked; no input makes the decoder panic.

use crate::error::Error;
use crate::guid::Guid;

/// GUID of the footer entry that closes the OVMF table.
pub const OVMF_TABLE_FOOTER_GUID: Guid =
    Guid::from_canonical("96b582de-1fb2-45f7-baea-a366c55a082d");
/// GUID of the entry giving the GPA of the SEV kernel/initrd/cmdline hashes table.
pub const SEV_HASH_TABLE_RV_GUID: Guid =
    Guid::from_canonical("7255371f-3a3b-4b04-927b-1da6efa8d454");
/// GUID of the entry giving the SEV-ES AP reset EIP.
pub const SEV_ES_RESET_BLOCK_GUID: Guid =
    Guid::from_canonical("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
/// GUID of the entry giving the offset of the SEV metadata.
pub const OVMF_SEV_META_DATA_GUID: Guid =
    Guid::from_canonical("dc886566-984a-4798-a75e-5585a7bf67cc");
/// GUID of the SVSM information entry (Coconut SVSM images).
pub const SVSM_INFO_GUID: Guid = Guid::from_canonical("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd");

/// Size of a footer-table entry header: `size: u16` then the GUID.
pub const FOOTER_ENTRY_HEADER_SIZE: usize = 18;
/// The footer table ends this many bytes before the end of the image.
pub const FOOTER_TRAILER_SIZE: usize = 32;
/// Size of the SEV metadata header.
pub const METADATA_HEADER_SIZE: usize = 16;
/// Size of one SEV metadata section descriptor.
pub const METADATA_SECTION_SIZE: usize = 12;
/// Address the firmware image ends at: 4 GiB (the reset vector is just below).
pub const FOUR_GB: u64 = 0x1_0000_0000;

/// Python slice `data[start:stop]` with its clamping of negative and
/// out-of-range indices. Hand-written because the exact Python semantics are
/// what makes crafted tables decode the same way as in the reference tool.
fn py_slice(data: &[u8], start: i64, stop: i64) -> &[u8] {
    let len = i64::try_from(data.len()).unwrap_or(i64::MAX);
    let index = |i: i64| -> usize {
        let i = if i < 0 { i.saturating_add(len) } else { i };
        usize::try_from(i.clamp(0, len)).unwrap_or(0)
    };
    let (s, e) = (index(start), index(stop));
    data.get(s..e).unwrap_or(&[])
}

/// Little-endian integer from up to the first 4 bytes of `data` (Python's
/// `int.from_bytes(entry[:4], 'little')`, which accepts shorter entries).
fn le_u32_prefix(data: &[u8]) -> u32 {
    data.iter()
        .take(4)
        .rev()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

fn le_u32_at(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// One `(guid, data)` entry of the footer table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FooterEntry<'a> {
    /// The entry's GUID.
    pub guid: Guid,
    /// The entry's payload (without the 18-byte header).
    pub data: &'a [u8],
}

/// The decoded OVMF footer table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FooterTable<'a> {
    /// Entries in the order they were read: from the end of the image towards
    /// its start.
    pub entries: Vec<FooterEntry<'a>>,
    /// Whether the footer GUID was found at all.
    pub present: bool,
}

impl<'a> FooterTable<'a> {
    /// Decodes the footer table of `image`; `image_name` ("OVMF" or "SVSM")
    /// only labels errors. An image without the footer GUID yields an empty
    /// table (`present == false`), as in the reference tool.
    pub fn parse(image: &'a [u8], image_name: &'static str) -> Result<Self, Error> {
        const HDR: i64 = FOOTER_ENTRY_HEADER_SIZE as i64;
        let size = i64::try_from(image.len()).map_err(|_| Error::FooterTruncated {
            image: image_name,
            len: image.len(),
        })?;
        let start = size - (FOOTER_TRAILER_SIZE as i64) - HDR;
        let footer = py_slice(image, start, size);
        let Some(footer) = footer.get(..FOOTER_ENTRY_HEADER_SIZE) else {
            return Err(Error::FooterTruncated {
                image: image_name,
                len: image.len(),
            });
        };
        let (footer_size, footer_guid) = split_entry_header(footer);
        if footer_guid != OVMF_TABLE_FOOTER_GUID {
            return Ok(FooterTable::default());
        }
        let mut table = FooterTable {
            entries: Vec::new(),
            present: true,
        };
        let table_size = i64::from(footer_size) - HDR;
        if table_size < 0 {
            return Ok(table);
        }
        let mut rest = py_slice(image, start - table_size, start);
        while rest.len() >= FOOTER_ENTRY_HEADER_SIZE {
            let header = &rest[rest.len() - FOOTER_ENTRY_HEADER_SIZE..];
            let (entry_size, guid) = split_entry_header(header);
            if usize::from(entry_size) < FOOTER_ENTRY_HEADER_SIZE {
                return Err(Error::InvalidFooterEntrySize {
                    image: image_name,
                    size: entry_size,
                });
            }
            let entry_size = i64::from(entry_size);
            let data = py_slice(rest, -entry_size, -HDR);
            table.entries.push(FooterEntry { guid, data });
            rest = py_slice(rest, 0, -entry_size);
        }
        Ok(table)
    }

    /// The payload of the entry with `guid`. With duplicates, the one nearest
    /// the start of the image wins (the reference tool's dictionary keeps the
    /// last one it reads).
    pub fn get(&self, guid: &Guid) -> Option<&'a [u8]> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.guid == *guid)
            .map(|e| e.data)
    }
}

/// Splits an 18-byte entry header into its size and GUID.
fn split_entry_header(header: &[u8]) -> (u16, Guid) {
    let mut size = [0u8; 2];
    let mut guid = [0u8; 16];
    size.copy_from_slice(&header[..2]);
    guid.copy_from_slice(&header[2..FOOTER_ENTRY_HEADER_SIZE]);
    (u16::from_le_bytes(size), Guid(guid))
}

/// Types of the SEV metadata sections (`OvmfSevMetadata.asm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionType {
    /// `SNP_SEC_MEM` (1): memory pre-validated by the VMM, measured as zero
    /// pages (unmeasured on GCE).
    SnpSecMem,
    /// `SNP_SECRETS` (2): the SNP secrets page.
    SnpSecrets,
    /// `CPUID` (3): the SNP CPUID page.
    Cpuid,
    /// `SVSM_CAA` (4): the SVSM calling-area page, measured as zero pages.
    SvsmCaa,
    /// `SNP_KERNEL_HASHES` (0x10): the page holding the SEV hashes table.
    SnpKernelHashes,
}

impl SectionType {
    /// The section type for a raw descriptor value.
    pub fn from_raw(value: u32) -> Result<Self, Error> {
        match value {
            1 => Ok(Self::SnpSecMem),
            2 => Ok(Self::SnpSecrets),
            3 => Ok(Self::Cpuid),
            4 => Ok(Self::SvsmCaa),
            0x10 => Ok(Self::SnpKernelHashes),
            other => Err(Error::UnknownSectionType(other)),
        }
    }

    /// The raw descriptor value.
    pub fn raw(self) -> u32 {
        match self {
            Self::SnpSecMem => 1,
            Self::SnpSecrets => 2,
            Self::Cpuid => 3,
            Self::SvsmCaa => 4,
            Self::SnpKernelHashes => 0x10,
        }
    }
}

/// One SEV metadata section descriptor. The type stays raw: the reference
/// tool only rejects an unknown type when it measures the section (SNP), so
/// SEV and SEV-ES accept firmware with types they do not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataSection {
    /// Guest-physical address of the section.
    pub gpa: u32,
    /// Size in bytes.
    pub size: u32,
    /// Raw type; see [`MetadataSection::section_type`].
    pub raw_type: u32,
}

impl MetadataSection {
    /// The section's type, or [`Error::UnknownSectionType`].
    pub fn section_type(&self) -> Result<SectionType, Error> {
        SectionType::from_raw(self.raw_type)
    }
}

/// The SEV metadata header and its section descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SevMetadata {
    /// Offset of the header from the end of the image.
    pub offset_from_end: u32,
    /// Size field of the header (header plus descriptors).
    pub size: u32,
    /// Version field (always 1 once decoded).
    pub version: u32,
    /// Section descriptors in declaration order.
    pub sections: Vec<MetadataSection>,
}

impl SevMetadata {
    /// Decodes the metadata that the `OVMF_SEV_META_DATA_GUID` entry points
    /// to; `None` when the table has no such entry.
    pub fn parse(
        image: &[u8],
        table: &FooterTable<'_>,
        image_name: &'static str,
    ) -> Result<Option<Self>, Error> {
        let Some(entry) = table.get(&OVMF_SEV_META_DATA_GUID) else {
            return Ok(None);
        };
        let offset_from_end = le_u32_prefix(entry);
        let out_of_range = || Error::MetadataOutOfRange {
            image: image_name,
            offset_from_end,
            len: image.len(),
        };
        let start = image
            .len()
            .checked_sub(offset_from_end as usize)
            .ok_or_else(out_of_range)?;
        let header = start
            .checked_add(METADATA_HEADER_SIZE)
            .and_then(|end| image.get(start..end))
            .ok_or_else(out_of_range)?;
        if &header[..4] != b"ASEV" {
            return Err(Error::WrongMetadataSignature);
        }
        let size = le_u32_at(header, 4).ok_or_else(out_of_range)?;
        let version = le_u32_at(header, 8).ok_or_else(out_of_range)?;
        let num_items = le_u32_at(header, 12).ok_or_else(out_of_range)?;
        if version != 1 {
            return Err(Error::WrongMetadataVersion(version));
        }
        // start < 2^63 because it indexes a slice, so these cannot overflow.
        let items_start =
            i64::try_from(start + METADATA_HEADER_SIZE).map_err(|_| out_of_range())?;
        let items_stop = i64::try_from(start)
            .ok()
            .and_then(|s| s.checked_add(i64::from(size)))
            .ok_or_else(out_of_range)?;
        let items = py_slice(image, items_start, items_stop);
        let truncated = Error::MetadataTruncated {
            declared: num_items,
            available: items.len(),
        };
        let needed = (num_items as usize)
            .checked_mul(METADATA_SECTION_SIZE)
            .ok_or(truncated.clone())?;
        let items = items.get(..needed).ok_or(truncated)?;
        let sections = items
            .chunks_exact(METADATA_SECTION_SIZE)
            .map(|d| MetadataSection {
                gpa: le_u32_prefix(&d[0..4]),
                size: le_u32_prefix(&d[4..8]),
                raw_type: le_u32_prefix(&d[8..12]),
            })
            .collect();
        Ok(Some(SevMetadata {
            offset_from_end,
            size,
            version,
            sections,
        }))
    }
}

/// A decoded firmware image (OVMF, or a Coconut SVSM image) placed so that it
/// ends at `end_at` in guest-physical memory.
#[derive(Debug, Clone)]
pub struct Firmware<'a> {
    data: &'a [u8],
    name: &'static str,
    table: FooterTable<'a>,
    metadata: Option<SevMetadata>,
    end_at: i128,
}

impl<'a> Firmware<'a> {
    /// Decodes an OVMF image mapped to end at 4 GiB.
    pub fn parse_ovmf(data: &'a [u8]) -> Result<Self, Error> {
        Self::parse(data, "OVMF", i128::from(FOUR_GB))
    }

    /// Decodes an image labelled `name` ("OVMF" or "SVSM" in errors) that
    /// ends at guest-physical address `end_at`.
    pub fn parse(data: &'a [u8], name: &'static str, end_at: i128) -> Result<Self, Error> {
        let table = FooterTable::parse(data, name)?;
        let metadata = SevMetadata::parse(data, &table, name)?;
        Ok(Firmware {
            data,
            name,
            table,
            metadata,
            end_at,
        })
    }

    /// The image bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The image label used in errors.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The footer table.
    pub fn table(&self) -> &FooterTable<'a> {
        &self.table
    }

    /// The SEV metadata, when the table points to one.
    pub fn metadata(&self) -> Option<&SevMetadata> {
        self.metadata.as_ref()
    }

    /// The metadata sections (empty without metadata).
    pub fn sections(&self) -> &[MetadataSection] {
        self.metadata.as_ref().map_or(&[], |m| &m.sections)
    }

    /// Whether a section of type `kind` is declared. Like the reference
    /// tool, this fails on an unknown section type met before a match.
    pub fn has_section(&self, kind: SectionType) -> Result<bool, Error> {
        for section in self.sections() {
            if section.section_type()? == kind {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The guest-physical address of the first byte: `end_at - len`, which
    /// must lie in `0..2^64`.
    pub fn gpa(&self) -> Result<u64, Error> {
        let len = i128::try_from(self.data.len()).unwrap_or(i128::MAX);
        self.end_at
            .checked_sub(len)
            .and_then(|g| u64::try_from(g).ok())
            .ok_or(Error::GpaOutOfRange {
                image: self.name,
                len: self.data.len(),
                end_at: self.end_at,
            })
    }

    /// The signed start address `end_at - len` (before range checks).
    pub fn gpa_signed(&self) -> i128 {
        let len = i128::try_from(self.data.len()).unwrap_or(i128::MAX);
        self.end_at.saturating_sub(len)
    }

    fn entry_u32(&self, guid: &Guid, entry: &'static str) -> Result<u32, Error> {
        self.table
            .get(guid)
            .map(le_u32_prefix)
            .ok_or(Error::MissingTableEntry {
                entry,
                image: self.name,
            })
    }

    /// The SEV-ES AP reset EIP from the reset-block entry.
    pub fn sev_es_reset_eip(&self) -> Result<u32, Error> {
        self.entry_u32(&SEV_ES_RESET_BLOCK_GUID, "SEV_ES_RESET_BLOCK_GUID")
    }

    /// The guest-physical address of the SEV hashes table.
    pub fn sev_hashes_table_gpa(&self) -> Result<u32, Error> {
        self.entry_u32(&SEV_HASH_TABLE_RV_GUID, "SEV_HASH_TABLE_RV_GUID")
    }

    /// Whether the firmware has a (non-zero) SEV hashes table address, which
    /// SEV and SEV-ES need to measure a kernel.
    pub fn supports_sev_hashes_table(&self) -> bool {
        self.sev_hashes_table_gpa().is_ok_and(|gpa| gpa != 0)
    }

    /// The SVSM entry point offset from the SVSM information entry.
    pub fn svsm_info_offset(&self) -> Result<u32, Error> {
        self.entry_u32(&SVSM_INFO_GUID, "SVSM_INFO_GUID")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_slice_clamps_like_python() {
        let d = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(py_slice(&d, 2, 5), &[2, 3, 4]);
        assert_eq!(py_slice(&d, -3, 10), &[7, 8, 9]);
        assert_eq!(py_slice(&d, -30, 2), &[0, 1]);
        assert_eq!(py_slice(&d, 8, 3), &[] as &[u8]);
        assert_eq!(py_slice(&d, 0, -8), &[0, 1]);
        assert_eq!(py_slice(&d, 0, -80), &[] as &[u8]);
        assert_eq!(py_slice(&d, 5, 50), &[5, 6, 7, 8, 9]);
    }

    #[test]
    fn le_prefix_accepts_short_entries() {
        assert_eq!(le_u32_prefix(&[]), 0);
        assert_eq!(le_u32_prefix(&[0x34, 0x12]), 0x1234);
        assert_eq!(le_u32_prefix(&[1, 2, 3, 4, 5]), 0x0403_0201);
    }

    /// Builds `body || table entries || footer || 32 trailer bytes`.
    fn image_with_table(entries: &[(Guid, Vec<u8>)], body: usize) -> Vec<u8> {
        let mut table = Vec::new();
        for (guid, data) in entries {
            table.extend_from_slice(data);
            table.extend_from_slice(&((data.len() + 18) as u16).to_le_bytes());
            table.extend_from_slice(guid.as_bytes());
        }
        let mut img = vec![0u8; body];
        img.extend_from_slice(&table);
        img.extend_from_slice(&((table.len() + 18) as u16).to_le_bytes());
        img.extend_from_slice(OVMF_TABLE_FOOTER_GUID.as_bytes());
        img.extend_from_slice(&[0u8; 32]);
        img
    }

    #[test]
    fn table_entries_and_metadata_decode() {
        let mut meta = b"ASEV".to_vec();
        meta.extend_from_slice(&(16u32 + 24).to_le_bytes());
        meta.extend_from_slice(&1u32.to_le_bytes());
        meta.extend_from_slice(&2u32.to_le_bytes());
        for (gpa, size, ty) in [(0x80_0000u32, 0x1000u32, 2u32), (0x80_1000, 0x2000, 1)] {
            meta.extend_from_slice(&gpa.to_le_bytes());
            meta.extend_from_slice(&size.to_le_bytes());
            meta.extend_from_slice(&ty.to_le_bytes());
        }
        let mut img = meta.clone();
        let tail = image_with_table(
            &[
                (SEV_ES_RESET_BLOCK_GUID, 0x80b004u32.to_le_bytes().to_vec()),
                (OVMF_SEV_META_DATA_GUID, vec![0; 4]),
            ],
            0,
        );
        img.extend_from_slice(&tail);
        let offset = img.len() as u32;
        // Patch the metadata offset (it is the second entry's payload).
        let at = meta.len() + 4 + 18;
        img[at..at + 4].copy_from_slice(&offset.to_le_bytes());
        let fw = Firmware::parse_ovmf(&img).unwrap();
        assert!(fw.table().present);
        assert_eq!(fw.sev_es_reset_eip().unwrap(), 0x80b004);
        let secs = fw.sections();
        assert_eq!(secs.len(), 2);
        assert_eq!(secs[0].section_type().unwrap(), SectionType::SnpSecrets);
        assert_eq!(secs[1].gpa, 0x80_1000);
        assert!(fw.has_section(SectionType::SnpSecMem).unwrap());
        assert!(!fw.has_section(SectionType::SnpKernelHashes).unwrap());
        assert_eq!(
            fw.sev_hashes_table_gpa(),
            Err(Error::MissingTableEntry {
                entry: "SEV_HASH_TABLE_RV_GUID",
                image: "OVMF"
            })
        );
    }

    #[test]
    fn missing_footer_gives_empty_table_and_short_image_errors() {
        let fw = Firmware::parse_ovmf(&[0u8; 4096]).unwrap();
        assert!(!fw.table().present);
        assert!(fw.metadata().is_none());
        assert_eq!(
            fw.sev_es_reset_eip().unwrap_err().to_string(),
            "Can't find SEV_ES_RESET_BLOCK_GUID entry in OVMF table"
        );
        assert!(matches!(
            Firmware::parse_ovmf(&[0u8; 40]),
            Err(Error::FooterTruncated { len: 40, .. })
        ));
        // Python reads the footer from data[-30:] for a 20-byte image.
        assert!(Firmware::parse_ovmf(&[0u8; 20]).is_ok());
    }

    #[test]
    fn bad_entry_size_and_bad_metadata_are_errors() {
        let mut img = image_with_table(&[(SEV_ES_RESET_BLOCK_GUID, vec![1, 2, 3, 4])], 64);
        // Corrupt the entry size (the 2 bytes before its GUID).
        let at = img.len() - 32 - 18 - 18;
        img[at..at + 2].copy_from_slice(&3u16.to_le_bytes());
        assert!(matches!(
            Firmware::parse_ovmf(&img),
            Err(Error::InvalidFooterEntrySize { size: 3, .. })
        ));
        let img = image_with_table(
            &[(OVMF_SEV_META_DATA_GUID, 0xffffu32.to_le_bytes().to_vec())],
            64,
        );
        assert!(matches!(
            Firmware::parse_ovmf(&img),
            Err(Error::MetadataOutOfRange { .. })
        ));
        let img = image_with_table(
            &[(OVMF_SEV_META_DATA_GUID, 100u32.to_le_bytes().to_vec())],
            64,
        );
        assert_eq!(
            Firmware::parse_ovmf(&img).unwrap_err(),
            Error::WrongMetadataSignature
        );
    }
}
