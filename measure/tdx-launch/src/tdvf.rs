//! TDVF (OVMF with TDX support) metadata: where each firmware section goes in
//! the TD's memory and whether the TDX module measures it into MRTD.
//!
//! # Layout
//!
//! ```text
//!  firmware image (mapped so that it ends at 4 GiB)
//!  ...
//!  ┌───────────────┐ len - 0x20 - table_len
//!  │ entry N ...   │  each entry: data | u16 length | GUID   (parsed from the end backwards)
//!  │ entry 1       │
//!  │ u16 table_len │
//!  │ footer GUID   │ 96b582de-1fb2-45f7-baea-a366c55a082d
//!  └───────────────┘ len - 0x20   (the last 0x20 bytes are the reset vector)
//! ```
//!
//! The entry with GUID e47a6535-984a-4798-865e-4685a7bf8ec2 carries a `u32`
//! offset *from the end of the image* to the TDX metadata descriptor:
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | signature | `"TDVF"` |
//! | 4 | length | of descriptor + section table |
//! | 8 | version | 1 |
//! | 12 | number of sections | |
//! | 16 + 32·i | section i | see [`TdvfSection`] |
//!
//! Checks follow the TDVF design guide and QEMU's `hw/i386/tdvf.c`: memory
//! addresses and sizes are 4 KiB aligned, raw data lies inside the image,
//! `TD_HOB`/`TempMem` carry no raw data and are not extended, a section that is
//! extended has `memory_data_size` bytes of image data behind it (that is what
//! QEMU hands to `KVM_TDX_INIT_MEM_REGION`), and at most one `TD_HOB` exists.

use crate::bytes::{array, u16_at, u32_at, u64_at};
use crate::error::{Error, Result};
use crate::guid::{Guid, OVMF_TABLE_FOOTER, TDX_METADATA_OFFSET};
use serde::Serialize;

/// Size of a TDX page.
pub const PAGE_SIZE: u64 = 0x1000;
/// Upper bound on the guest memory all sections together may cover (1 GiB).
/// Real TDVF images cover a few MiB; the bound keeps MRTD computation of a
/// hostile image (which walks every page) short.
pub const MAX_SECTIONS_MEMORY: u64 = 1 << 30;

/// One entry of the OVMF footer GUID table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FooterEntry<'a> {
    /// The entry's GUID.
    pub guid: Guid,
    /// The entry's payload (without the length and GUID trailer).
    pub data: &'a [u8],
}

/// Parses the OVMF footer GUID table that ends 0x20 bytes before the end of `fw`.
pub fn footer_table(fw: &[u8]) -> Result<Vec<FooterEntry<'_>>> {
    // The footer GUID ends at len - 0x20 and is preceded by the table length.
    let end = fw
        .len()
        .checked_sub(0x20)
        .filter(|e| *e >= 18)
        .ok_or(Error::FirmwareTooSmall { len: fw.len() })?;
    let footer: [u8; 16] = array(fw, end - 16).ok_or(Error::FooterTableMissing)?;
    if footer != *OVMF_TABLE_FOOTER.bytes() {
        return Err(Error::FooterTableMissing);
    }
    let table_len = usize::from(u16_at(fw, end - 18).ok_or(Error::FooterTableMissing)?);
    if !(18..=end).contains(&table_len) {
        return Err(Error::FooterTableLength {
            len: table_len,
            max: end,
        });
    }
    let start = end - table_len;
    let mut entries = Vec::new();
    // Walk from the end of the footer's own (length, GUID) trailer backwards.
    let mut pos = end - 18;
    while pos > start {
        let max = pos - start;
        if max < 18 {
            return Err(Error::FooterEntryLength {
                end: pos,
                len: max,
                max,
            });
        }
        let guid = Guid(array(fw, pos - 16).ok_or(Error::FooterTableMissing)?);
        let len = usize::from(u16_at(fw, pos - 18).ok_or(Error::FooterTableMissing)?);
        if !(18..=max).contains(&len) {
            return Err(Error::FooterEntryLength { end: pos, len, max });
        }
        entries.push(FooterEntry {
            guid,
            data: &fw[pos - len..pos - 18],
        });
        pos -= len;
    }
    Ok(entries)
}

/// TDVF section type (TDVF design guide, table "TDVF_SECTION type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TdvfSectionType {
    /// Boot firmware volume (code), measured into MRTD.
    Bfv,
    /// Configuration firmware volume (variables), measured into RTMR0 by TDVF.
    Cfv,
    /// The TD HOB the VMM fills in (memory map).
    TdHob,
    /// Temporary memory the VMM pre-accepts for TDVF.
    TempMem,
    /// Permanent memory (td-shim layouts).
    PermMem,
    /// A payload image (td-shim layouts).
    Payload,
    /// The payload's parameters (td-shim layouts).
    PayloadParam,
}

impl TdvfSectionType {
    /// Decodes the on-disk value.
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::Bfv,
            1 => Self::Cfv,
            2 => Self::TdHob,
            3 => Self::TempMem,
            4 => Self::PermMem,
            5 => Self::Payload,
            6 => Self::PayloadParam,
            _ => return None,
        })
    }

    /// The on-disk value.
    pub fn as_u32(self) -> u32 {
        match self {
            Self::Bfv => 0,
            Self::Cfv => 1,
            Self::TdHob => 2,
            Self::TempMem => 3,
            Self::PermMem => 4,
            Self::Payload => 5,
            Self::PayloadParam => 6,
        }
    }
}

/// Section attributes.
///
/// | bit | name | meaning |
/// |---|---|---|
/// | 0 | `MR.EXTEND` | the section's pages are extended into MRTD (`TDH.MR.EXTEND`) |
/// | 1 | `PAGE.AUG` | pages are added after launch (`TDH.MEM.PAGE.AUG`), not by `TDH.MEM.PAGE.ADD` |
/// | 2..31 | reserved | must be zero |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TdvfSectionAttributes(pub u32);

impl TdvfSectionAttributes {
    /// `MR.EXTEND` bit.
    pub const MR_EXTEND: u32 = 1;
    /// `PAGE.AUG` bit.
    pub const PAGE_AUG: u32 = 2;

    /// True when the section is extended into MRTD.
    pub fn mr_extend(self) -> bool {
        self.0 & Self::MR_EXTEND != 0
    }

    /// True when the section's pages are added after launch (so not by `TDH.MEM.PAGE.ADD`).
    pub fn page_aug(self) -> bool {
        self.0 & Self::PAGE_AUG != 0
    }
}

/// One section of the TDX metadata (32 bytes on disk).
///
/// | offset | field |
/// |---|---|
/// | 0 | `u32` data offset in the image |
/// | 4 | `u32` raw data size |
/// | 8 | `u64` guest-physical memory address |
/// | 16 | `u64` memory data size |
/// | 24 | `u32` type ([`TdvfSectionType`]) |
/// | 28 | `u32` attributes ([`TdvfSectionAttributes`]) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TdvfSection {
    /// Offset of the section's data in the firmware image.
    pub data_offset: u32,
    /// Size of the section's data in the image.
    pub raw_data_size: u32,
    /// Guest-physical address the section is loaded at.
    pub memory_address: u64,
    /// Size of the section in guest memory.
    pub memory_data_size: u64,
    /// Section type.
    pub section_type: TdvfSectionType,
    /// Section attributes.
    pub attributes: TdvfSectionAttributes,
}

impl TdvfSection {
    /// Number of 4 KiB pages the section occupies in guest memory.
    pub fn pages(&self) -> u64 {
        self.memory_data_size / PAGE_SIZE
    }

    /// End of the section in guest memory (exclusive). Checked at parse time not to overflow.
    pub fn memory_end(&self) -> u64 {
        self.memory_address.saturating_add(self.memory_data_size)
    }
}

/// The decoded TDX metadata descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdxMetadata {
    /// Offset of the descriptor in the image.
    pub descriptor_offset: usize,
    /// Descriptor version (1).
    pub version: u32,
    /// The sections, in descriptor order (the order QEMU adds them to the TD).
    pub sections: Vec<TdvfSection>,
}

impl TdxMetadata {
    /// The section of `kind`, if exactly one exists (the first one otherwise).
    pub fn section(&self, kind: TdvfSectionType) -> Option<&TdvfSection> {
        self.sections.iter().find(|s| s.section_type == kind)
    }
}

/// A TDVF firmware image with its decoded TDX metadata.
#[derive(Debug, Clone)]
pub struct TdvfImage<'a> {
    bytes: &'a [u8],
    metadata: TdxMetadata,
}

impl<'a> TdvfImage<'a> {
    /// Locates and decodes the TDX metadata of `fw`, checking every section.
    pub fn parse(fw: &'a [u8]) -> Result<Self> {
        let entries = footer_table(fw)?;
        let entry = entries
            .iter()
            .find(|e| e.guid == TDX_METADATA_OFFSET)
            .ok_or(Error::TdxMetadataMissing)?;
        // The offset is the entry's first u32 (the entry may be padded).
        let offset = u32_at(entry.data, 0).ok_or(Error::TdxMetadataOffsetEntry {
            len: entry.data.len(),
        })?;
        let descriptor_offset = fw
            .len()
            .checked_sub(offset as usize)
            .filter(|_| offset != 0)
            .ok_or(Error::TdxMetadataOffset {
                offset,
                firmware_len: fw.len(),
            })?;
        let header = fw
            .get(descriptor_offset..)
            .filter(|d| d.len() >= 16)
            .ok_or(Error::TdxMetadataOffset {
                offset,
                firmware_len: fw.len(),
            })?;
        let signature: [u8; 4] = array(header, 0).ok_or(Error::TdxMetadataMissing)?;
        if &signature != b"TDVF" {
            return Err(Error::TdxMetadataSignature { found: signature });
        }
        let length = u32_at(header, 4).unwrap_or(0);
        let version = u32_at(header, 8).unwrap_or(0);
        let count = u32_at(header, 12).unwrap_or(0);
        if version != 1 {
            return Err(Error::TdxMetadataVersion(version));
        }
        let needed = 16 + 32 * u64::from(count);
        if u64::from(length) < needed || needed > header.len() as u64 {
            return Err(Error::TdxMetadataLength {
                declared: length,
                sections: count,
                needed,
                available: header.len(),
            });
        }
        let mut sections = Vec::with_capacity(count as usize);
        for index in 0..count as usize {
            let at = 16 + 32 * index;
            let raw = header.get(at..at + 32).ok_or(Error::TdxMetadataLength {
                declared: length,
                sections: count,
                needed,
                available: header.len(),
            })?;
            let section = decode_section(raw, index, fw.len())?;
            sections.push(section);
        }
        check_sections(&sections)?;
        Ok(Self {
            bytes: fw,
            metadata: TdxMetadata {
                descriptor_offset,
                version,
                sections,
            },
        })
    }

    /// The whole firmware image.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The decoded metadata.
    pub fn metadata(&self) -> &TdxMetadata {
        &self.metadata
    }

    /// The image bytes QEMU copies into guest memory for `section`
    /// (`memory_data_size` bytes from `data_offset`); `None` for sections
    /// without image data (TD_HOB, TempMem) or ones that run past the image.
    pub fn section_memory_bytes(&self, section: &TdvfSection) -> Option<&'a [u8]> {
        let start = section.data_offset as usize;
        let len = usize::try_from(section.memory_data_size).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }

    /// The section's raw data as stored in the image (`raw_data_size` bytes).
    pub fn section_raw_bytes(&self, section: &TdvfSection) -> Option<&'a [u8]> {
        let start = section.data_offset as usize;
        let len = section.raw_data_size as usize;
        self.bytes.get(start..start.checked_add(len)?)
    }
}

fn decode_section(raw: &[u8], index: usize, fw_len: usize) -> Result<TdvfSection> {
    let bad = |reason: String| Error::TdxSection { index, reason };
    let data_offset = u32_at(raw, 0).unwrap_or(0);
    let raw_data_size = u32_at(raw, 4).unwrap_or(0);
    let memory_address = u64_at(raw, 8).unwrap_or(0);
    let memory_data_size = u64_at(raw, 16).unwrap_or(0);
    let type_raw = u32_at(raw, 24).unwrap_or(0);
    let attributes = TdvfSectionAttributes(u32_at(raw, 28).unwrap_or(0));
    let section_type = TdvfSectionType::from_u32(type_raw)
        .ok_or_else(|| bad(format!("unknown section type {type_raw}")))?;
    if attributes.0 & !(TdvfSectionAttributes::MR_EXTEND | TdvfSectionAttributes::PAGE_AUG) != 0 {
        return Err(bad(format!(
            "reserved attribute bits set ({:#x})",
            attributes.0
        )));
    }
    if attributes.mr_extend() && attributes.page_aug() {
        return Err(bad(
            "MR.EXTEND and PAGE.AUG both set (an augmented page cannot be extended)".into(),
        ));
    }
    if !memory_address.is_multiple_of(PAGE_SIZE) {
        return Err(bad(format!(
            "memory address {memory_address:#x} is not 4 KiB aligned"
        )));
    }
    if !memory_data_size.is_multiple_of(PAGE_SIZE) {
        return Err(bad(format!(
            "memory size {memory_data_size:#x} is not 4 KiB aligned"
        )));
    }
    if memory_data_size < u64::from(raw_data_size) {
        return Err(bad(format!(
            "memory size {memory_data_size:#x} is smaller than raw data size {raw_data_size:#x}"
        )));
    }
    if memory_address.checked_add(memory_data_size).is_none() {
        return Err(bad("memory range overflows 64 bits".into()));
    }
    let raw_end = u64::from(data_offset) + u64::from(raw_data_size);
    if raw_end > fw_len as u64 {
        return Err(bad(format!(
            "raw data {data_offset:#x}+{raw_data_size:#x} runs past the {fw_len:#x}-byte image"
        )));
    }
    if matches!(
        section_type,
        TdvfSectionType::TdHob | TdvfSectionType::TempMem
    ) {
        if raw_data_size != 0 {
            return Err(bad(format!(
                "{section_type:?} section carries {raw_data_size:#x} bytes of raw data (must be 0)"
            )));
        }
        if attributes.mr_extend() {
            return Err(bad(format!("{section_type:?} section has MR.EXTEND set")));
        }
    }
    if attributes.mr_extend() {
        let mem_end = u64::from(data_offset).checked_add(memory_data_size);
        if mem_end.is_none_or(|e| e > fw_len as u64) {
            return Err(bad(format!(
                "extended section needs {memory_data_size:#x} bytes of image data from {data_offset:#x}, past the {fw_len:#x}-byte image"
            )));
        }
    }
    Ok(TdvfSection {
        data_offset,
        raw_data_size,
        memory_address,
        memory_data_size,
        section_type,
        attributes,
    })
}

fn check_sections(sections: &[TdvfSection]) -> Result<()> {
    let mut total = 0u64;
    for (index, s) in sections.iter().enumerate() {
        total = total.saturating_add(s.memory_data_size);
        if total > MAX_SECTIONS_MEMORY {
            return Err(Error::TdxSection {
                index,
                reason: format!(
                    "sections cover more than {MAX_SECTIONS_MEMORY:#x} bytes of guest memory"
                ),
            });
        }
    }
    let hobs: Vec<usize> = sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.section_type == TdvfSectionType::TdHob)
        .map(|(i, _)| i)
        .collect();
    if let Some(&second) = hobs.get(1) {
        return Err(Error::TdxSection {
            index: second,
            reason: "a second TD_HOB section (at most one is allowed)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a minimal firmware image holding `sections` as TDX metadata,
    /// with the given body size before the footer area.
    pub(crate) fn synthetic_firmware(body: usize, sections: &[[u8; 32]]) -> Vec<u8> {
        let mut fw = vec![0u8; body];
        // Descriptor at the start of the image.
        let desc_len = 16 + 32 * sections.len();
        let mut desc = Vec::with_capacity(desc_len);
        desc.extend_from_slice(b"TDVF");
        desc.extend_from_slice(&(desc_len as u32).to_le_bytes());
        desc.extend_from_slice(&1u32.to_le_bytes());
        desc.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        for s in sections {
            desc.extend_from_slice(s);
        }
        fw[..desc_len].copy_from_slice(&desc);
        // Footer table: [tdx entry: u32 offset | u16 len | guid] [u16 table_len | footer guid] + 0x20 tail.
        let total = body + 22 + 18 + 0x20;
        let offset_from_end = total as u32; // descriptor at 0
        let mut table = Vec::new();
        table.extend_from_slice(&offset_from_end.to_le_bytes());
        table.extend_from_slice(&22u16.to_le_bytes());
        table.extend_from_slice(TDX_METADATA_OFFSET.bytes());
        table.extend_from_slice(&(22u16 + 18).to_le_bytes());
        table.extend_from_slice(OVMF_TABLE_FOOTER.bytes());
        fw.extend_from_slice(&table);
        fw.extend_from_slice(&[0u8; 0x20]);
        fw
    }

    pub(crate) fn section(
        data_offset: u32,
        raw: u32,
        addr: u64,
        size: u64,
        ty: u32,
        attr: u32,
    ) -> [u8; 32] {
        let mut s = [0u8; 32];
        s[0..4].copy_from_slice(&data_offset.to_le_bytes());
        s[4..8].copy_from_slice(&raw.to_le_bytes());
        s[8..16].copy_from_slice(&addr.to_le_bytes());
        s[16..24].copy_from_slice(&size.to_le_bytes());
        s[24..28].copy_from_slice(&ty.to_le_bytes());
        s[28..32].copy_from_slice(&attr.to_le_bytes());
        s
    }

    #[test]
    fn parses_synthetic_metadata() {
        let fw = synthetic_firmware(
            0x3000,
            &[
                section(0x1000, 0x2000, 0xffff_e000, 0x2000, 0, 1),
                section(0, 0, 0x80_9000, 0x2000, 2, 0),
            ],
        );
        let img = TdvfImage::parse(&fw).unwrap();
        let md = img.metadata();
        assert_eq!(md.sections.len(), 2);
        assert_eq!(md.sections[0].section_type, TdvfSectionType::Bfv);
        assert!(md.sections[0].attributes.mr_extend());
        assert_eq!(md.sections[1].section_type, TdvfSectionType::TdHob);
        assert_eq!(md.descriptor_offset, 0);
    }

    #[test]
    fn rejects_each_inconsistency_with_its_reason() {
        let cases: [([u8; 32], &str); 6] = [
            (section(0, 0, 0x1001, 0x1000, 0, 0), "not 4 KiB aligned"),
            (section(0, 0x2000, 0x1000, 0x1000, 0, 0), "smaller than raw"),
            (section(0, 0, 0x1000, 0x1000, 9, 0), "unknown section type"),
            (section(0, 0, 0x1000, 0x1000, 0, 4), "reserved attribute"),
            (section(0, 0x10, 0x1000, 0x1000, 3, 0), "raw data"),
            (section(0x1000, 0x1000, 0, 0x10_0000, 0, 1), "past the"),
        ];
        for (s, needle) in cases {
            let fw = synthetic_firmware(0x3000, &[s]);
            let err = TdvfImage::parse(&fw).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
        let two_hobs = synthetic_firmware(
            0x3000,
            &[
                section(0, 0, 0x1000, 0x1000, 2, 0),
                section(0, 0, 0x2000, 0x1000, 2, 0),
            ],
        );
        assert!(
            TdvfImage::parse(&two_hobs)
                .unwrap_err()
                .to_string()
                .contains("second TD_HOB")
        );
    }

    #[test]
    fn firmware_without_footer_is_rejected() {
        assert!(matches!(
            TdvfImage::parse(&[0u8; 4096]),
            Err(Error::FooterTableMissing)
        ));
        assert!(matches!(
            TdvfImage::parse(&[0u8; 8]),
            Err(Error::FirmwareTooSmall { len: 8 })
        ));
    }
}
