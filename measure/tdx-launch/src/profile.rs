//! What a given TDVF build measures at boot, read from the image itself.
//!
//! The RTMR event sequence is a property of the firmware build, not only of
//! the VM: Debian bookworm's OVMF (edk2 2022.11) has TDX metadata but no
//! `TdTcg2Dxe`, so it measures nothing into the RTMRs; edk2 ≥ 2023.02 builds
//! with `CC_MEASUREMENT_ENABLE` log the TD HOB, the CFV, variables, ACPI data
//! and boot events; edk2 ≥ 2025.05 additionally measures fw_cfg items in
//! SEC/PEI (tag "QEMU FW CFG"); edk2 ≥ 2025.08 puts `initrd=initrd ` before
//! the command line instead of ` initrd=initrd` after it; edk2 ≥ 2025.02
//! loads the kernel from QEMU's fw_cfg file `etc/boot/kernel` when QEMU
//! provides it (QEMU ≥ 10.0: the kernel file without QEMU's setup-header
//! writes) and from the legacy, patched setup/kernel items otherwise.
//!
//! OVMF keeps its PEI and DXE volumes in one LZMA-compressed GUIDed section
//! (GUID ee4e5898-3914-4259-9d6e-dc7bd79403cf). [`TdvfProfile::detect`]
//! decompresses such sections (bounded to [`MAX_DECOMPRESSED`] bytes each) and
//! looks for the `TdTcg2Dxe` file GUID and the string literals above.

use crate::bytes::{u16_at, u32_at};
use crate::guid::{LZMA_CUSTOM_DECOMPRESS, TD_TCG2_DXE_FILE};
use serde::Serialize;
use std::io::Write;

/// Upper bound on the decompressed size of one firmware volume.
pub const MAX_DECOMPRESSED: usize = 64 << 20;
/// EFI_SECTION_GUID_DEFINED.
const SECTION_GUID_DEFINED: u8 = 0x02;

/// Where OVMF puts the `initrd=initrd` option it adds when an initrd is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitrdOptionPlacement {
    /// `<cmdline> initrd=initrd` (edk2 before stable202508).
    Appended,
    /// `initrd=initrd <cmdline>` (edk2 stable202508 and later).
    Prepended,
}

/// The measurement behaviour of a TDVF build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TdvfProfile {
    /// LZMA firmware volumes successfully decompressed.
    pub volumes_decompressed: usize,
    /// The build contains `TdTcg2Dxe` (EFI_CC_MEASUREMENT_PROTOCOL): it measures into RTMRs.
    pub cc_measurement: bool,
    /// The build measures fw_cfg items in SEC/PEI (edk2 ≥ 2025.05), which this crate does not model.
    pub measures_fw_cfg_items: bool,
    /// Placement of `initrd=initrd` in the kernel's load options, when found.
    pub initrd_option: Option<InitrdOptionPlacement>,
    /// The build loads the kernel from fw_cfg `etc/boot/kernel` when present
    /// (edk2 ≥ 2025.02), which QEMU ≥ 10.0 fills with the unpatched file.
    pub reads_etc_boot_kernel: bool,
}

/// Bounded sink for the decompressor.
struct Capped {
    out: Vec<u8>,
    cap: usize,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len().saturating_add(buf.len()) > self.cap {
            return Err(std::io::Error::other(
                "decompressed volume exceeds the size bound",
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut i = 0;
    while let Some(p) = hay
        .get(i..)
        .and_then(|h| h.iter().position(|&b| b == first))
    {
        let at = i + p;
        if hay.get(at + 1..at + 1 + rest.len()) == Some(rest) {
            return true;
        }
        i = at + 1;
    }
    false
}

/// The payloads of LZMA GUIDed sections found in `fw`, decompressed.
pub fn decompressed_volumes(fw: &[u8]) -> Vec<Vec<u8>> {
    let guid = LZMA_CUSTOM_DECOMPRESS.bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = fw
        .get(from..)
        .and_then(|h| h.windows(16).position(|w| w == guid))
    {
        let at = from + p;
        from = at + 1;
        // EFI_COMMON_SECTION_HEADER: 24-bit size, type; or HEADER2 with size 0xffffff + u32 size.
        let (start, size) = match (at.checked_sub(4), at.checked_sub(8)) {
            (Some(h), _) if fw[h + 3] == SECTION_GUID_DEFINED && fw[h..h + 3] != [0xff; 3] => (
                h,
                usize::from(fw[h]) | usize::from(fw[h + 1]) << 8 | usize::from(fw[h + 2]) << 16,
            ),
            (_, Some(h)) if fw[h + 3] == SECTION_GUID_DEFINED && fw[h..h + 3] == [0xff; 3] => {
                match u32_at(fw, h + 4) {
                    Some(s) => (h, s as usize),
                    None => continue,
                }
            }
            _ => continue,
        };
        let Some(data_offset) = u16_at(fw, at + 16) else {
            continue;
        };
        let Some(end) = start.checked_add(size) else {
            continue;
        };
        let Some(data) = fw.get(start + usize::from(data_offset)..end) else {
            continue;
        };
        let mut sink = Capped {
            out: Vec::new(),
            cap: MAX_DECOMPRESSED,
        };
        let mut input = data;
        if lzma_rs::lzma_decompress(&mut input, &mut sink).is_ok() {
            out.push(sink.out);
        }
    }
    out
}

impl TdvfProfile {
    /// Reads the measurement behaviour of the firmware image `fw`.
    pub fn detect(fw: &[u8]) -> Self {
        let volumes = decompressed_volumes(fw);
        let any = |needle: &[u8]| find(fw, needle) || volumes.iter().any(|v| find(v, needle));
        let initrd_option = if any(b"initrd=initrd \0") {
            Some(InitrdOptionPlacement::Prepended)
        } else if any(b" initrd=initrd\0") {
            Some(InitrdOptionPlacement::Appended)
        } else {
            None
        };
        Self {
            volumes_decompressed: volumes.len(),
            cc_measurement: any(TD_TCG2_DXE_FILE.bytes()),
            measures_fw_cfg_items: any(b"QEMU FW CFG\0"),
            initrd_option,
            reads_etc_boot_kernel: any(b"etc/boot/\0"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_matches_substrings() {
        assert!(find(b"abcabd", b"abd"));
        assert!(!find(b"abcab", b"abd"));
        assert!(find(b"x", b""));
    }

    #[test]
    fn garbage_yields_an_empty_profile() {
        let mut fw = vec![0u8; 4096];
        // A GUID with a bogus header must not crash the scan.
        fw[100..116].copy_from_slice(LZMA_CUSTOM_DECOMPRESS.bytes());
        fw[99] = SECTION_GUID_DEFINED;
        fw[96..99].copy_from_slice(&[0xff, 0xff, 0x00]);
        let p = TdvfProfile::detect(&fw);
        assert_eq!(p.volumes_decompressed, 0);
        assert!(!p.cc_measurement);
        assert_eq!(p.initrd_option, None);
        assert!(!p.reads_etc_boot_kernel);
    }
}
