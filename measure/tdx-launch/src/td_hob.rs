//! The TD HOB QEMU hands to TDVF, which TDVF measures first into RTMR0.
//!
//! QEMU (`target/i386/kvm/tdx.c`, `hw/i386/tdvf-hob.c`) builds it from the
//! e820 RAM entries of the q35 machine (`[0, below_4g)` and, for ≥ 0xb0000000
//! bytes of RAM, `[4 GiB, 4 GiB + ram - 2 GiB)`), all *unaccepted*, then
//! accepts each `TD_HOB` and `TempMem` section in metadata order by splitting
//! the containing entry into (accepted range, head, tail) — the head and tail
//! appended at the end — and sorts the entries by address. The HOB list is:
//!
//! ```text
//! PHIT (56 B): type 1, len 56, version 9, boot mode 0, 4 × 0, EfiEndOfHobList
//! per entry, resource descriptor (48 B): type 3, len 48, owner 0,
//!     resource type 0 (system memory, accepted) or 7 (unaccepted),
//!     attributes 7 (present | initialized | tested), start, length
//! END (8 B): type 0xffff, len 8
//! ```
//!
//! `EfiEndOfHobList` is the guest address just past the END HOB. TDVF hashes
//! the list up to, not including, the END HOB.

use crate::error::{Error, Result};
use crate::kernel::q35_below_4g_mem_size;
use crate::tdvf::{TdvfSectionType, TdxMetadata};

const FOUR_GIB: u64 = 1 << 32;
const EFI_RESOURCE_SYSTEM_MEMORY: u32 = 0;
const EFI_RESOURCE_MEMORY_UNACCEPTED: u32 = 7;
const EFI_RESOURCE_ATTRIBUTE_TDVF: u32 = 0x7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RamEntry {
    address: u64,
    length: u64,
    accepted: bool,
}

fn accept(entries: &mut Vec<RamEntry>, address: u64, length: u64) -> Option<()> {
    let end = address.checked_add(length)?;
    let i = entries
        .iter()
        .position(|e| !(end <= e.address || address >= e.address + e.length))?;
    let e = entries[i];
    if e.address > address || e.address + e.length < end {
        return None;
    }
    if e.accepted {
        return Some(());
    }
    entries[i] = RamEntry {
        address,
        length,
        accepted: true,
    };
    if address > e.address {
        entries.push(RamEntry {
            address: e.address,
            length: address - e.address,
            accepted: false,
        });
    }
    if end < e.address + e.length {
        entries.push(RamEntry {
            address: end,
            length: e.address + e.length - end,
            accepted: false,
        });
    }
    Some(())
}

/// The TD HOB bytes TDVF measures (END HOB excluded) for a q35 VM with `memory` bytes of RAM.
pub fn qemu_td_hob(metadata: &TdxMetadata, memory: u64) -> Result<Vec<u8>> {
    let below = q35_below_4g_mem_size(memory);
    let above = memory - below;
    let mut entries = vec![RamEntry {
        address: 0,
        length: below,
        accepted: false,
    }];
    if above > 0 {
        entries.push(RamEntry {
            address: FOUR_GIB,
            length: above,
            accepted: false,
        });
    }
    entries.retain(|e| e.length > 0);
    let hob = metadata
        .sections
        .iter()
        .find(|s| s.section_type == TdvfSectionType::TdHob)
        .ok_or_else(|| Error::UnsupportedFirmware("TDX metadata has no TD_HOB section".into()))?;
    for s in &metadata.sections {
        if matches!(
            s.section_type,
            TdvfSectionType::TdHob | TdvfSectionType::TempMem
        ) {
            accept(&mut entries, s.memory_address, s.memory_data_size).ok_or_else(|| Error::Memory {
                memory,
                reason: format!(
                    "TDVF section at {:#x}+{:#x} is not inside guest RAM (QEMU: \"Failed to accept memory\")",
                    s.memory_address, s.memory_data_size
                ),
            })?;
        }
    }
    entries.sort_by_key(|e| e.address);

    let mut out = Vec::with_capacity(56 + 48 * entries.len());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&56u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&9u32.to_le_bytes()); // EFI_HOB_HANDOFF_TABLE_VERSION
    out.extend_from_slice(&0u32.to_le_bytes()); // boot mode
    out.extend_from_slice(&[0u8; 32]); // memory top/bottom, free top/bottom
    out.extend_from_slice(&[0u8; 8]); // EfiEndOfHobList, filled below
    for e in &entries {
        out.extend_from_slice(&3u16.to_le_bytes());
        out.extend_from_slice(&48u16.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&[0u8; 16]);
        let ty = if e.accepted {
            EFI_RESOURCE_SYSTEM_MEMORY
        } else {
            EFI_RESOURCE_MEMORY_UNACCEPTED
        };
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&EFI_RESOURCE_ATTRIBUTE_TDVF.to_le_bytes());
        out.extend_from_slice(&e.address.to_le_bytes());
        out.extend_from_slice(&e.length.to_le_bytes());
    }
    let total = out.len() as u64 + 8;
    if total > hob.memory_data_size {
        return Err(Error::Memory {
            memory,
            reason: format!(
                "TD HOB of {total} bytes overruns the {:#x}-byte TD_HOB section",
                hob.memory_data_size
            ),
        });
    }
    let end_of_list = hob.memory_address + total;
    out[48..56].copy_from_slice(&end_of_list.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tdvf::{TdvfSection, TdvfSectionAttributes};

    fn sec(ty: TdvfSectionType, addr: u64, size: u64) -> TdvfSection {
        TdvfSection {
            data_offset: 0,
            raw_data_size: 0,
            memory_address: addr,
            memory_data_size: size,
            section_type: ty,
            attributes: TdvfSectionAttributes(0),
        }
    }

    fn debian_like() -> TdxMetadata {
        TdxMetadata {
            descriptor_offset: 0,
            version: 1,
            sections: vec![
                sec(TdvfSectionType::TempMem, 0x81_0000, 0x1_0000),
                sec(TdvfSectionType::TempMem, 0x80_b000, 0x2000),
                sec(TdvfSectionType::TdHob, 0x80_9000, 0x2000),
                sec(TdvfSectionType::TempMem, 0x80_0000, 0x6000),
            ],
        }
    }

    fn ranges(hob: &[u8]) -> Vec<(u32, u64, u64)> {
        hob[56..]
            .chunks_exact(48)
            .map(|r| {
                (
                    u32::from_le_bytes(r[24..28].try_into().unwrap()),
                    u64::from_le_bytes(r[32..40].try_into().unwrap()),
                    u64::from_le_bytes(r[40..48].try_into().unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn two_gib_layout() {
        let hob = qemu_td_hob(&debian_like(), 2 << 30).unwrap();
        assert_eq!(
            ranges(&hob),
            vec![
                (7, 0, 0x80_0000),
                (0, 0x80_0000, 0x6000),
                (7, 0x80_6000, 0x3000),
                (0, 0x80_9000, 0x2000),
                (0, 0x80_b000, 0x2000),
                (7, 0x80_d000, 0x3000),
                (0, 0x81_0000, 0x1_0000),
                (7, 0x82_0000, 0x8000_0000 - 0x82_0000),
            ]
        );
        let end = u64::from_le_bytes(hob[48..56].try_into().unwrap());
        assert_eq!(end, 0x80_9000 + hob.len() as u64 + 8);
    }

    #[test]
    fn high_memory_splits_around_the_hole() {
        let hob = qemu_td_hob(&debian_like(), 8 << 30).unwrap();
        let r = ranges(&hob);
        assert_eq!(r[r.len() - 2], (7, 0x82_0000, 0x8000_0000 - 0x82_0000));
        assert_eq!(r[r.len() - 1], (7, 1 << 32, (8u64 << 30) - 0x8000_0000));
    }

    #[test]
    fn too_little_memory_is_an_error() {
        assert!(matches!(
            qemu_td_hob(&debian_like(), 0x40_0000),
            Err(Error::Memory { .. })
        ));
    }
}
