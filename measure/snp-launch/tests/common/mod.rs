//! Synthetic firmware images for the differential and property tests.

#![allow(dead_code)] // each test binary uses part of this module

use aether_snp_launch::Guid;
use aether_snp_launch::ovmf::{OVMF_SEV_META_DATA_GUID, OVMF_TABLE_FOOTER_GUID};

/// Builds an image of `pages` 4 KiB pages filled with `fill`, ending with
/// SEV metadata (`sections` as `(gpa, size, type)`), then a footer table
/// holding `entries` and a metadata-offset entry, then 32 bytes. Returns
/// `None` when the tail does not fit.
pub fn synthetic_firmware(
    pages: usize,
    fill: &[u8],
    entries: &[(Guid, Vec<u8>)],
    sections: &[(u32, u32, u32)],
) -> Option<Vec<u8>> {
    let mut metadata = b"ASEV".to_vec();
    metadata.extend_from_slice(&((16 + 12 * sections.len()) as u32).to_le_bytes());
    metadata.extend_from_slice(&1u32.to_le_bytes());
    metadata.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    for (gpa, size, ty) in sections {
        metadata.extend_from_slice(&gpa.to_le_bytes());
        metadata.extend_from_slice(&size.to_le_bytes());
        metadata.extend_from_slice(&ty.to_le_bytes());
    }
    let table_len: usize = entries.iter().map(|(_, d)| d.len() + 18).sum::<usize>() + 4 + 18;
    let tail_len = metadata.len() + table_len + 18 + 32;
    let mut table = Vec::with_capacity(table_len);
    let mut all = entries.to_vec();
    all.push((
        OVMF_SEV_META_DATA_GUID,
        (tail_len as u32).to_le_bytes().to_vec(),
    ));
    for (guid, data) in &all {
        table.extend_from_slice(data);
        table.extend_from_slice(&((data.len() + 18) as u16).to_le_bytes());
        table.extend_from_slice(guid.as_bytes());
    }
    let mut tail = metadata;
    tail.extend_from_slice(&table);
    tail.extend_from_slice(&((table.len() + 18) as u16).to_le_bytes());
    tail.extend_from_slice(OVMF_TABLE_FOOTER_GUID.as_bytes());
    tail.extend_from_slice(&[0u8; 32]);
    let len = pages * 4096;
    if tail.len() > len {
        return None;
    }
    let mut img: Vec<u8> = fill
        .iter()
        .copied()
        .cycle()
        .take(len - tail.len())
        .collect();
    if fill.is_empty() {
        img = vec![0; len - tail.len()];
    }
    img.extend_from_slice(&tail);
    Some(img)
}
