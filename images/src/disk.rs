//! A GPT disk image with one EFI system partition holding the UKI at the
//! removable-media boot path `\EFI\BOOT\BOOTX64.EFI`, for clouds and VMMs
//! that boot a disk rather than a kernel.
//!
//! ```text
//!  LBA 0      protective MBR
//!  LBA 1-33   primary GPT header and partition entries
//!  1 MiB      ESP (FAT, fatfs picks FAT12/16/32 by size), label "AETHER ESP"
//!  ...        1 MiB tail: backup GPT entries and header
//! ```
//!
//! Bit-for-bit reproducible: the disk GUID, the partition GUID and the FAT
//! volume id derive from the UKI's SHA-256; FAT timestamps are the DOS epoch
//! (fatfs without its clock feature); the GPT and FAT layouts are functions
//! of the UKI's size. The `gpt` and `fatfs` crates write the structures.

use crate::error::{Error, Result};
use gpt::disk::LogicalBlockSize;
use gpt::mbr::ProtectiveMBR;
use gpt::partition::Partition;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::Path;

const MIB: u64 = 1 << 20;
const SECTOR: u64 = 512;

/// The removable-media boot path of x86-64 UEFI, inside the ESP.
pub const BOOT_PATH: [&str; 3] = ["EFI", "BOOT", "BOOTX64.EFI"];

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Disk {
        reason: format!("{what}: {e}"),
    }
}

/// A GUID derived from the UKI hash and a tag (RFC 4122 version 4 layout).
fn derived_guid(uki_hash: &[u8], tag: &str) -> uuid::Uuid {
    let h = Sha256::new()
        .chain_update(b"aether-disk-guid-v1\0")
        .chain_update(tag.as_bytes())
        .chain_update(uki_hash)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The disk image bytes for `uki` (see the module docs).
pub fn esp_disk(uki: &[u8]) -> Result<Vec<u8>> {
    let uki_hash = Sha256::digest(uki);
    let uki_len = u64::try_from(uki.len()).map_err(|e| err("UKI size", e))?;
    // Room for the UKI, FAT tables and directories, rounded to MiB.
    let esp_bytes = (uki_len.div_ceil(MIB) + 4) * MIB;
    let disk_bytes = MIB + esp_bytes + MIB;
    let to_usize = |n: u64| usize::try_from(n).map_err(|e| err("disk size", e));

    // The FAT file system, in memory.
    let mut fat = Cursor::new(vec![0u8; to_usize(esp_bytes)?]);
    let volume_id = u32::from_le_bytes([uki_hash[0], uki_hash[1], uki_hash[2], uki_hash[3]]);
    fatfs::format_volume(
        &mut fat,
        fatfs::FormatVolumeOptions::new()
            .volume_id(volume_id)
            .volume_label(*b"AETHER ESP "),
    )
    .map_err(|e| err("formatting the ESP", e))?;
    {
        let fs = fatfs::FileSystem::new(&mut fat, fatfs::FsOptions::new())
            .map_err(|e| err("opening the ESP", e))?;
        {
            let root = fs.root_dir();
            let efi = root
                .create_dir(BOOT_PATH[0])
                .map_err(|e| err("mkdir EFI", e))?;
            let boot = efi
                .create_dir(BOOT_PATH[1])
                .map_err(|e| err("mkdir BOOT", e))?;
            let mut file = boot
                .create_file(BOOT_PATH[2])
                .map_err(|e| err("create BOOTX64.EFI", e))?;
            file.write_all(uki)
                .map_err(|e| err("write BOOTX64.EFI", e))?;
            file.flush().map_err(|e| err("flush BOOTX64.EFI", e))?;
        }
        fs.unmount().map_err(|e| err("unmount the ESP", e))?;
    }

    // The GPT around it.
    let mut disk = Cursor::new(vec![0u8; to_usize(disk_bytes)?]);
    let last_lba = disk_bytes / SECTOR - 1;
    ProtectiveMBR::with_lb_size(u32::try_from(last_lba).unwrap_or(u32::MAX))
        .overwrite_lba0(&mut disk)
        .map_err(|e| err("protective MBR", e))?;
    let mut gpt = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(LogicalBlockSize::Lb512)
        .create_from_device(&mut disk, Some(derived_guid(&uki_hash, "disk")))
        .map_err(|e| err("GPT", e))?;
    let first = MIB / SECTOR;
    gpt.update_partitions(BTreeMap::from([(
        1,
        Partition {
            part_type_guid: gpt::partition_types::EFI,
            part_guid: derived_guid(&uki_hash, "esp"),
            first_lba: first,
            last_lba: first + esp_bytes / SECTOR - 1,
            flags: 0,
            name: "EFI System Partition".into(),
        },
    )]))
    .map_err(|e| err("GPT partitions", e))?;
    gpt.write().map_err(|e| err("writing the GPT", e))?;
    let mut bytes = disk.into_inner();
    let start = to_usize(MIB)?;
    bytes[start..start + to_usize(esp_bytes)?].copy_from_slice(fat.get_ref());
    Ok(bytes)
}

/// Writes [`esp_disk`] of `uki` to `path`; returns its size.
pub fn write_esp_disk(uki: &[u8], path: &Path) -> Result<u64> {
    let bytes = esp_disk(uki)?;
    std::fs::write(path, &bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(bytes.len() as u64)
}

/// Reads `\EFI\BOOT\BOOTX64.EFI` back from a disk image made by [`esp_disk`]
/// (checks and tests).
pub fn read_boot_file(disk: &[u8]) -> Result<Vec<u8>> {
    let mut cursor = Cursor::new(disk.to_vec());
    let gpt = gpt::GptConfig::new()
        .writable(false)
        .logical_block_size(LogicalBlockSize::Lb512)
        .open_from_device(&mut cursor)
        .map_err(|e| err("reading the GPT", e))?;
    let esp = gpt
        .partitions()
        .values()
        .find(|p| p.part_type_guid == gpt::partition_types::EFI)
        .cloned()
        .ok_or_else(|| err("GPT", "no EFI system partition"))?;
    let start = usize::try_from(esp.first_lba * SECTOR).map_err(|e| err("ESP offset", e))?;
    let end = usize::try_from((esp.last_lba + 1) * SECTOR).map_err(|e| err("ESP end", e))?;
    let part = disk
        .get(start..end)
        .ok_or_else(|| err("ESP", "beyond the disk"))?;
    let fs = fatfs::FileSystem::new(Cursor::new(part.to_vec()), fatfs::FsOptions::new())
        .map_err(|e| err("opening the ESP", e))?;
    let mut file = fs
        .root_dir()
        .open_file(&BOOT_PATH.join("/"))
        .map_err(|e| err("BOOTX64.EFI", e))?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut out).map_err(|e| err("reading BOOTX64.EFI", e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_is_deterministic_and_holds_the_uki() {
        let uki: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let a = esp_disk(&uki).unwrap();
        let b = esp_disk(&uki).unwrap();
        assert_eq!(Sha256::digest(&a), Sha256::digest(&b));
        assert_eq!(a.len() as u64 % MIB, 0);
        assert_eq!(read_boot_file(&a).unwrap(), uki);
        // Another UKI: another disk (GUIDs and volume id follow the content).
        let mut other = uki.clone();
        other[0] ^= 1;
        let c = esp_disk(&other).unwrap();
        assert_ne!(a[..MIB as usize], c[..MIB as usize]);
        assert_eq!(read_boot_file(&c).unwrap(), other);
        // The protective MBR signature and the GPT header are where firmware looks.
        assert_eq!(&a[510..512], &[0x55, 0xaa]);
        assert_eq!(&a[512..520], b"EFI PART");
    }

    #[test]
    fn garbage_is_not_a_disk() {
        assert!(read_boot_file(&[0u8; 4096]).is_err());
        assert!(read_boot_file(&[]).is_err());
    }
}
