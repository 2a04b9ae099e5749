//! QEMU's ACPI fw_cfg blobs as OVMF measures them.
//!
//! QEMU builds the ACPI tables of the VM shape and exports them as fw_cfg
//! files together with `etc/table-loader`, a script of 128-byte commands:
//!
//! | command | value | payload |
//! |---|---|---|
//! | ALLOCATE | 1 | `file[56]` (NUL-terminated), `u32 align`, `u8 zone` |
//! | ADD_POINTER | 2 | patches a pointer between blobs |
//! | ADD_CHECKSUM | 3 | fixes a checksum |
//! | WRITE_POINTER | 4 | writes an address back to QEMU |
//!
//! OVMF's `QemuFwCfgAcpiPlatform` (with TDX measurement) logs
//! `EV_PLATFORM_CONFIG_FLAGS` "ACPI DATA" events into RTMR0: first the loader
//! script itself, then each blob as its ALLOCATE command downloads it, in
//! script order, before any patching.

use crate::bytes::u32_at;
use crate::error::{Error, Result};

/// Size of one loader command.
pub const LOADER_ENTRY_SIZE: usize = 128;
const FNAME_SIZE: usize = 56;

/// The fw_cfg file names the loader allocates, in order.
pub fn table_loader_allocations(loader: &[u8]) -> Result<Vec<String>> {
    if !loader.len().is_multiple_of(LOADER_ENTRY_SIZE) {
        return Err(Error::TableLoader(format!(
            "size {} is not a multiple of {LOADER_ENTRY_SIZE}",
            loader.len()
        )));
    }
    let mut files = Vec::new();
    for (i, entry) in loader.chunks_exact(LOADER_ENTRY_SIZE).enumerate() {
        if u32_at(entry, 0) != Some(1) {
            continue;
        }
        let name = &entry[4..4 + FNAME_SIZE];
        let Some(nul) = name.iter().position(|b| *b == 0) else {
            return Err(Error::TableLoader(format!(
                "command {i}: file name is not NUL-terminated"
            )));
        };
        let name = std::str::from_utf8(&name[..nul])
            .map_err(|_| Error::TableLoader(format!("command {i}: file name is not UTF-8")))?;
        if name.is_empty() {
            return Err(Error::TableLoader(format!("command {i}: empty file name")));
        }
        if files.iter().any(|f| f == name) {
            return Err(Error::TableLoader(format!(
                "command {i}: {name:?} allocated twice"
            )));
        }
        files.push(name.to_string());
    }
    Ok(files)
}

/// Number of enabled processors (Local APIC / x2APIC entries with the
/// enabled flag) in the MADT ("APIC") of a QEMU `etc/acpi/tables` blob.
pub fn madt_enabled_cpus(tables: &[u8]) -> Option<u32> {
    let mut pos = 0usize;
    while let Some(sig) = tables.get(pos..pos + 4) {
        let len = u32_at(tables, pos + 4)? as usize;
        if sig == [0; 4] || len < 8 {
            return None;
        }
        let table = tables.get(pos..pos.checked_add(len)?)?;
        if sig == b"APIC" {
            let mut count = 0u32;
            let mut at = 44;
            while at + 2 <= table.len() {
                let (ty, elen) = (table[at], usize::from(table[at + 1]));
                if elen < 2 {
                    return None;
                }
                let flags_at = match ty {
                    0 => Some(at + 4),
                    9 => Some(at + 8),
                    _ => None,
                };
                if let Some(f) = flags_at
                    && u32_at(table, f)? & 1 != 0
                {
                    count += 1;
                }
                at += elen;
            }
            return Some(count);
        }
        pos += len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allocate(name: &str) -> [u8; 128] {
        let mut e = [0u8; 128];
        e[0] = 1;
        e[4..4 + name.len()].copy_from_slice(name.as_bytes());
        e
    }

    #[test]
    fn allocations_in_script_order() {
        let mut l = Vec::new();
        l.extend_from_slice(&allocate("etc/acpi/rsdp"));
        let mut ptr = [0u8; 128];
        ptr[0] = 2;
        l.extend_from_slice(&ptr);
        l.extend_from_slice(&allocate("etc/acpi/tables"));
        l.extend_from_slice(&[0u8; 128]);
        assert_eq!(
            table_loader_allocations(&l).unwrap(),
            ["etc/acpi/rsdp", "etc/acpi/tables"]
        );
        assert!(table_loader_allocations(&l[..100]).is_err());
        l.extend_from_slice(&allocate("etc/acpi/rsdp"));
        assert!(table_loader_allocations(&l).is_err());
    }

    #[test]
    fn madt_counts_enabled_cpus() {
        let mut madt = vec![0u8; 44];
        madt[..4].copy_from_slice(b"APIC");
        for (i, enabled) in [true, true, false].iter().enumerate() {
            madt.extend_from_slice(&[0, 8, i as u8, i as u8, u8::from(*enabled), 0, 0, 0]);
        }
        let len = madt.len() as u32;
        madt[4..8].copy_from_slice(&len.to_le_bytes());
        let mut facs = vec![0u8; 64];
        facs[..4].copy_from_slice(b"FACS");
        facs[4..8].copy_from_slice(&64u32.to_le_bytes());
        let blob = [facs, madt].concat();
        assert_eq!(madt_enabled_cpus(&blob), Some(2));
        assert_eq!(madt_enabled_cpus(&blob[..70]), None);
    }
}
