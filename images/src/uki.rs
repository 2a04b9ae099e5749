//! Unified Kernel Images: layout of the sections added to the systemd stub,
//! PE header normalisation, and the TPM PCR values a UKI boot produces.
//!
//! # Assembly
//! `objcopy` (binutils) appends `.osrel`, `.cmdline`, `.initrd` and `.linux`
//! to the systemd-stub 254 PE at virtual addresses computed here
//! ([`layout`]): after the stub's last section, each aligned to the stub's
//! `SectionAlignment`, in ukify's order (kernel last). objcopy writes the
//! current time into the COFF `TimeDateStamp`; [`normalize_pe_header`] sets it
//! to 0 and recomputes the optional header's `CheckSum`.
//!
//! # PCR 11 ([`pcr11`])
//! systemd-stub 254 measures, before starting the kernel, each UKI section it
//! knows that is present, in its canonical order
//! (`.linux .osrel .cmdline .initrd .splash .dtb .uname .sbat .pcrpkey`;
//! `.pcrsig` is never measured): first SHA-256 of the section *name*
//! including its NUL, then SHA-256 of the section *contents* as loaded in
//! memory (`VirtualSize` bytes). Each is an `EV_IPL` extend of PCR 11 from
//! zero. The stub's own `.sbat` is measured too (`systemd-measure` 254 omits
//! it; the stub does not).
//!
//! # PCR 4 ([`pcr4`])
//! The firmware measures `EV_EFI_ACTION` "Calling EFI Application from Boot
//! Option" and an `EV_SEPARATOR` at ReadyToBoot, and the Authenticode SHA-256
//! of every image started through `LoadImage`: the UKI, then the kernel that
//! the stub 254 loads from `.linux` through `LoadImage` (with a vendor media
//! device path). Two orders are given: booting the UKI as a boot option from
//! disk (action, separator, UKI, kernel) and QEMU's direct boot with
//! `-kernel uki.efi` (OVMF loads the image before signalling ReadyToBoot:
//! UKI, action, separator, kernel).

use crate::error::{Error, Result};
use object::LittleEndian as LE;
use object::read::pe::{ImageNtHeaders, PeFile64};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The sections systemd-stub 254 measures into PCR 11, in its order.
pub const STUB_254_MEASURED_SECTIONS: [&str; 9] = [
    ".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey",
];

fn pe_err(what: &str, reason: impl ToString) -> Error {
    Error::Pe {
        what: what.to_string(),
        reason: reason.to_string(),
    }
}

/// A section to append: name, size, and the virtual address given to objcopy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Section name, e.g. `.linux`.
    pub name: String,
    /// Contents size in bytes.
    pub size: u64,
    /// Absolute virtual address (image base + RVA).
    pub vma: u64,
}

/// Places `sections` (name, size) after the stub's last section.
pub fn layout(stub: &[u8], sections: &[(&str, u64)]) -> Result<Vec<Placement>> {
    let pe = PeFile64::parse(stub).map_err(|e| pe_err("stub", e))?;
    let opt = pe.nt_headers().optional_header();
    let align = u64::from(opt.section_alignment.get(LE));
    if align == 0 || !align.is_power_of_two() {
        return Err(pe_err("stub", "SectionAlignment is not a power of two"));
    }
    let base = opt.image_base.get(LE);
    let mut end = 0u64;
    for s in pe.section_table().iter() {
        let va = u64::from(s.virtual_address.get(LE));
        let size = u64::from(s.virtual_size.get(LE)).max(u64::from(s.size_of_raw_data.get(LE)));
        end = end.max(va + size);
    }
    let mut rva = end.next_multiple_of(align);
    let mut out = Vec::new();
    for (name, size) in sections {
        out.push(Placement {
            name: name.to_string(),
            size: *size,
            vma: base + rva,
        });
        rva = (rva + size).next_multiple_of(align);
    }
    Ok(out)
}

/// Offset of the PE signature (`e_lfanew`).
fn pe_offset(pe: &[u8]) -> Result<usize> {
    let off = pe
        .get(0x3c..0x40)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| pe_err("uki", "no DOS header"))?;
    if pe.get(off..off + 4) != Some(b"PE\0\0") {
        return Err(pe_err("uki", "no PE signature"));
    }
    Ok(off)
}

/// The PE/COFF checksum (the algorithm of `imagehlp!CheckSumMappedFile`):
/// 16-bit one's-complement-style sum of the file with the checksum field
/// treated as zero, folded, plus the file length.
pub fn pe_checksum(pe: &[u8], checksum_offset: usize) -> u32 {
    let mut sum: u64 = 0;
    for (i, chunk) in pe.chunks(2).enumerate() {
        let off = i * 2;
        if off >= checksum_offset && off < checksum_offset + 4 {
            continue;
        }
        let word = u16::from_le_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u64::from(word);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    (sum as u32).wrapping_add(pe.len() as u32)
}

/// Sets `TimeDateStamp` to 0 and recomputes `CheckSum` in place.
pub fn normalize_pe_header(pe: &mut [u8]) -> Result<()> {
    let off = pe_offset(pe)?;
    let ts = off + 8;
    let checksum = off + 24 + 64;
    if pe.len() < checksum + 4 {
        return Err(pe_err("uki", "truncated headers"));
    }
    pe[ts..ts + 4].copy_from_slice(&0u32.to_le_bytes());
    pe[checksum..checksum + 4].copy_from_slice(&0u32.to_le_bytes());
    let sum = pe_checksum(pe, checksum);
    pe[checksum..checksum + 4].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

/// A section's contents as loaded in memory: `VirtualSize` bytes, zero-filled
/// past the raw data.
pub fn section_memory(pe: &[u8], name: &str) -> Result<Option<Vec<u8>>> {
    let file = PeFile64::parse(pe).map_err(|e| pe_err("uki", e))?;
    for s in file.section_table().iter() {
        if s.raw_name() != name.as_bytes() {
            continue;
        }
        let vsize = s.virtual_size.get(LE) as usize;
        let raw_off = s.pointer_to_raw_data.get(LE) as usize;
        let raw_len = (s.size_of_raw_data.get(LE) as usize).min(vsize);
        let raw = pe
            .get(raw_off..raw_off + raw_len)
            .ok_or_else(|| pe_err("uki", format!("section {name} outside the file")))?;
        let mut mem = raw.to_vec();
        mem.resize(vsize, 0);
        return Ok(Some(mem));
    }
    Ok(None)
}

/// One predicted extend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PcrEvent {
    /// What was measured.
    pub description: String,
    /// SHA-256 extended, hex.
    pub sha256: String,
}

/// A predicted PCR value with its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PcrPrediction {
    /// Final SHA-256 bank value, hex.
    pub sha256: String,
    /// Events in order.
    pub events: Vec<PcrEvent>,
}

fn replay(events: Vec<(String, [u8; 32])>) -> PcrPrediction {
    let mut pcr = [0u8; 32];
    let mut out = Vec::new();
    for (description, digest) in events {
        let mut h = Sha256::new();
        h.update(pcr);
        h.update(digest);
        pcr = h.finalize().into();
        out.push(PcrEvent {
            description,
            sha256: hex::encode(digest),
        });
    }
    PcrPrediction {
        sha256: hex::encode(pcr),
        events: out,
    }
}

/// PCR 11 after systemd-stub 254 ran (see the module docs).
pub fn pcr11(uki: &[u8]) -> Result<PcrPrediction> {
    let mut events = Vec::new();
    for name in STUB_254_MEASURED_SECTIONS {
        if let Some(mem) = section_memory(uki, name)? {
            let mut n = name.as_bytes().to_vec();
            n.push(0);
            events.push((format!("{name} (name)"), Sha256::digest(&n).into()));
            events.push((format!("{name} (contents)"), Sha256::digest(&mem).into()));
        }
    }
    Ok(replay(events))
}

/// Authenticode SHA-256 of a PE image, as edk2 measures it.
pub fn authenticode_sha256(pe: &[u8], what: &str) -> Result<[u8; 32]> {
    let d = aether_tdx_launch::kernel::authenticode_digest::<Sha256>(pe)
        .map_err(|e| pe_err(what, e))?;
    d.try_into().map_err(|_| pe_err(what, "digest length"))
}

/// PCR 4 values: `(boot option from disk, QEMU direct -kernel boot)`.
pub fn pcr4(uki: &[u8]) -> Result<(PcrPrediction, PcrPrediction)> {
    let action = (
        "EV_EFI_ACTION Calling EFI Application from Boot Option".to_string(),
        Sha256::digest(b"Calling EFI Application from Boot Option").into(),
    );
    let sep = ("EV_SEPARATOR".to_string(), Sha256::digest([0u8; 4]).into());
    let uki_auth = (
        "EV_EFI_BOOT_SERVICES_APPLICATION UKI (Authenticode)".to_string(),
        authenticode_sha256(uki, "uki")?,
    );
    let linux = section_memory(uki, ".linux")?.ok_or_else(|| pe_err("uki", "no .linux section"))?;
    let kernel_auth = (
        "EV_EFI_BOOT_SERVICES_APPLICATION .linux kernel (Authenticode)".to_string(),
        authenticode_sha256(&linux, "kernel")?,
    );
    let disk = replay(vec![
        action.clone(),
        sep.clone(),
        uki_auth.clone(),
        kernel_auth.clone(),
    ]);
    let direct = replay(vec![uki_auth, action, sep, kernel_auth]);
    Ok((disk, direct))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_skips_its_own_field() {
        let data = [1u8, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 3];
        // words 1, 2, (skipped), 3 → 6, plus length 9
        assert_eq!(pe_checksum(&data, 4), 6 + 9);
    }

    #[test]
    fn checksum_folds_carries() {
        let data = [0xff, 0xff, 0x02, 0x00];
        // 0xffff + 2 = 0x10001 → fold → 2, plus length 4
        assert_eq!(pe_checksum(&data, 100), 2 + 4);
    }

    #[test]
    fn rejects_non_pe() {
        assert!(normalize_pe_header(&mut [0u8; 128]).is_err());
        assert!(layout(&[0u8; 128], &[]).is_err());
        assert!(pcr11(&[0u8; 64]).is_err());
    }
}
