//! The Linux kernel as TDVF measures it on a QEMU direct boot (`-kernel`).
//!
//! QEMU acts as the boot loader: `x86_load_linux()` reads the bzImage setup
//! header and, for QEMU ≤ 10.1 even for TDX guests, writes the fields a boot
//! loader owns into the legacy fw_cfg setup/kernel items (QEMU commit
//! a7542a38f399, first in 10.2.0, stopped this for all confidential guests).
//! QEMU ≥ 10.0 also offers the file unchanged as the fw_cfg file
//! `etc/boot/kernel`, which edk2 ≥ 2025.02 loads in preference to the legacy
//! items. OVMF's `LoadImage()` of whichever image it fetched computes its
//! Authenticode SHA-384 and logs it as `EV_EFI_BOOT_SERVICES_APPLICATION` into
//! RTMR1. [`SetupHeaderPolicy::for_firmware`] picks the case from the
//! firmware; a boot of the trixie OVMF under QEMU 10.0 with a TPM shows the
//! unmodified file's digest in PCR 4 (`qemu-tests`, `boot::tdx_rtmr1_and_rtmr2_match_what_ovmf_measures`).
//!
//! The fields QEMU writes ([`SetupHeaderPolicy::QemuPatched`]):
//!
//! | offset | field | value |
//! |---|---|---|
//! | 0x1fa | `vid_mode` | only when the command line holds `vga=` |
//! | 0x210 | `type_of_loader` | 0xb0 (protocol ≥ 2.00) |
//! | 0x211 | `loadflags` | `|= CAN_USE_HEAP` (protocol ≥ 2.01) |
//! | 0x218 | `ramdisk_image` | `(initrd_max - initrd_size) & !0xfff` (with an initrd) |
//! | 0x21c | `ramdisk_size` | initrd size (with an initrd) |
//! | 0x224 | `heap_end_ptr` (u16) | `cmdline_addr - real_addr - 0x200` (protocol ≥ 2.01) |
//! | 0x228 | `cmd_line_ptr` | `cmdline_addr` (protocol ≥ 2.02; else the old 0x20/0x22 fields) |
//!
//! `initrd_max` is `u32::MAX` (XLF_CAN_BE_LOADED_ABOVE_4G, protocol ≥ 2.12),
//! else `initrd_addr_max` (≥ 2.03) or 0x37ffffff, clamped to
//! `below_4g_mem_size - acpi_data_size - 1`; on q35 `below_4g_mem_size` is the
//! RAM size when it is below 0xb0000000 and 2 GiB otherwise, and
//! `acpi_data_size` is 0x28000 for current machine types.

use crate::Sha384Digest;
use crate::bytes::{u16_at, u32_at};
use crate::error::{Error, Result};
use crate::guid::EFI_CC_MEASUREMENT_PROTOCOL;
use serde::Serialize;
use sha2::Digest;

/// `acpi_data_size` of QEMU's PC machine types since 2.x (0x20000 + 0x8000).
pub const QEMU_ACPI_DATA_SIZE: u32 = 0x28000;
/// Setup header magic "HdrS" at 0x202.
const HDRS: u32 = 0x5372_6448;
/// `XLF_CAN_BE_LOADED_ABOVE_4G` in `xloadflags`.
const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 6;

/// Whether the kernel the firmware loads carries QEMU's setup-header writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupHeaderPolicy {
    /// The legacy fw_cfg items of QEMU ≤ 10.1: boot-loader fields written as
    /// in the module docs. What a firmware without `etc/boot/` support (edk2
    /// before 2025.02) loads, and any firmware under QEMU < 10.0.
    QemuPatched,
    /// The kernel file unchanged: QEMU ≥ 10.0's `etc/boot/kernel` loaded by
    /// edk2 ≥ 2025.02, or QEMU ≥ 10.2's legacy items for confidential guests.
    Unmodified,
}

impl SetupHeaderPolicy {
    /// The case of an upstream QEMU that can launch TDX guests (≥ 10.1, so
    /// it offers `etc/boot/kernel`) with this firmware: unmodified when the
    /// firmware loads `etc/boot/` files, patched otherwise.
    pub fn for_firmware(profile: &crate::TdvfProfile) -> Self {
        if profile.reads_etc_boot_kernel {
            SetupHeaderPolicy::Unmodified
        } else {
            SetupHeaderPolicy::QemuPatched
        }
    }
}

/// q35 RAM split: bytes of RAM mapped below 4 GiB for a VM of `memory` bytes
/// (QEMU `pc_q35_init`, without `max-ram-below-4g`).
pub fn q35_below_4g_mem_size(memory: u64) -> u64 {
    let lowmem = if memory >= 0xb000_0000 {
        0x8000_0000
    } else {
        0xb000_0000
    };
    memory.min(lowmem)
}

/// The fields of the bzImage setup header this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SetupHeader {
    /// `setup_sects` (0x1f1); 0 means 4.
    pub setup_sects: u8,
    /// Boot protocol version (0x206), e.g. 0x020f.
    pub protocol: u16,
    /// `loadflags` (0x211).
    pub loadflags: u8,
    /// `initrd_addr_max` (0x22c), protocol ≥ 2.03.
    pub initrd_addr_max: u32,
    /// `xloadflags` (0x236), protocol ≥ 2.12.
    pub xloadflags: u16,
}

impl SetupHeader {
    /// Reads the setup header of a bzImage.
    pub fn parse(kernel: &[u8]) -> Result<Self> {
        let magic = u32_at(kernel, 0x202).ok_or_else(|| {
            Error::KernelNotBzImage(format!(
                "{} bytes, too short for a setup header",
                kernel.len()
            ))
        })?;
        if magic != HDRS {
            return Err(Error::KernelNotBzImage(format!(
                "no \"HdrS\" magic at 0x202 (found {magic:#010x}); multiboot/PVH ELF kernels are not supported"
            )));
        }
        let field = |off: usize| {
            kernel
                .get(off)
                .copied()
                .ok_or_else(|| Error::KernelNotBzImage("truncated setup header".into()))
        };
        Ok(Self {
            setup_sects: field(0x1f1)?,
            protocol: u16_at(kernel, 0x206).unwrap_or(0),
            loadflags: field(0x211)?,
            initrd_addr_max: u32_at(kernel, 0x22c)
                .ok_or_else(|| Error::KernelNotBzImage("truncated setup header".into()))?,
            xloadflags: u16_at(kernel, 0x236)
                .ok_or_else(|| Error::KernelNotBzImage("truncated setup header".into()))?,
        })
    }

    /// Size of the real-mode setup code QEMU splits off: `(setup_sects or 4) + 1` sectors.
    pub fn setup_size(&self) -> usize {
        let sects = if self.setup_sects == 0 {
            4
        } else {
            self.setup_sects
        };
        (usize::from(sects) + 1) * 512
    }
}

/// What QEMU knows when it loads the kernel: the parts of the VM shape that
/// end up in the setup header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuKernelLoad<'a> {
    /// Guest RAM in bytes (`-m`).
    pub memory: u64,
    /// The `-append` string (without NUL).
    pub cmdline: &'a str,
    /// Size of the `-initrd` file, when one is given.
    pub initrd_size: Option<u64>,
    /// `acpi_data_size` of the machine type ([`QEMU_ACPI_DATA_SIZE`]).
    pub acpi_data_size: u32,
}

/// Parses the leading number of a `vga=` value as C `strtoul(…, 0)` does.
fn parse_c_uint(s: &str) -> Option<(u32, &str)> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    let end = digits
        .char_indices()
        .find(|(_, c)| !c.is_digit(radix))
        .map_or(digits.len(), |(i, _)| i);
    if end == 0 {
        return if radix == 8 { Some((0, digits)) } else { None };
    }
    let value = u32::from_str_radix(&digits[..end], radix).ok()?;
    Some((value, &digits[end..]))
}

/// Applies QEMU's (≤ 10.1) `x86_load_linux()` setup-header writes to a copy of `kernel`.
pub fn qemu_patch_setup_header(kernel: &[u8], load: &QemuKernelLoad<'_>) -> Result<Vec<u8>> {
    let hdr = SetupHeader::parse(kernel)?;
    if hdr.setup_size() > kernel.len() {
        return Err(Error::QemuLoad(format!(
            "invalid kernel header: setup size {:#x} exceeds the {:#x}-byte kernel",
            hdr.setup_size(),
            kernel.len()
        )));
    }
    if load.cmdline.contains('\0') {
        return Err(Error::QemuLoad(
            "kernel command line contains a NUL byte".into(),
        ));
    }
    let protocol = hdr.protocol;
    let cmdline_len = load.cmdline.len() as u64;
    let cmdline_size = (cmdline_len + 16) & !15;
    // QEMU distinguishes "low" (protocol < 2.00 or !LOADED_HIGH) and "high but
    // ancient" (< 2.02) kernels; both put the command line below 0x9a000.
    let (real_addr, cmdline_addr): (u64, u64) = if protocol < 0x202 || hdr.loadflags & 1 == 0 {
        (0x90000, 0x9a000u64.saturating_sub(cmdline_size))
    } else {
        (0x10000, 0x20000)
    };
    if cmdline_addr < real_addr + 0x200 {
        return Err(Error::QemuLoad(format!(
            "command line of {cmdline_len} bytes does not fit below 0x9a000 for this old boot protocol"
        )));
    }
    let mut initrd_max: u64 =
        if protocol >= 0x20c && hdr.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0 {
            u64::from(u32::MAX)
        } else if protocol >= 0x203 {
            u64::from(hdr.initrd_addr_max)
        } else {
            0x37ff_ffff
        };
    let below_4g = q35_below_4g_mem_size(load.memory);
    let acpi = u64::from(load.acpi_data_size);
    let ceiling = below_4g
        .checked_sub(acpi)
        .filter(|c| *c > 1)
        .ok_or_else(|| Error::Memory {
            memory: load.memory,
            reason: format!("below-4G RAM {below_4g:#x} does not exceed the ACPI area {acpi:#x}"),
        })?;
    if initrd_max >= ceiling {
        initrd_max = ceiling - 1;
    }

    let mut k = kernel.to_vec();
    let put16 =
        |k: &mut Vec<u8>, off: usize, v: u16| k[off..off + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |k: &mut Vec<u8>, off: usize, v: u32| k[off..off + 4].copy_from_slice(&v.to_le_bytes());
    // All offsets below are < 0x238, inside the header SetupHeader::parse validated.
    if protocol >= 0x202 {
        put32(&mut k, 0x228, cmdline_addr as u32);
    } else {
        put16(&mut k, 0x20, 0xa33f);
        put16(&mut k, 0x22, (cmdline_addr - real_addr) as u16);
    }
    if let Some(pos) = load.cmdline.find("vga=") {
        let v = &load.cmdline[pos + 4..];
        let mode = if v.starts_with("normal") {
            0xffff
        } else if v.starts_with("ext") {
            0xfffe
        } else if v.starts_with("ask") {
            0xfffd
        } else {
            match parse_c_uint(v) {
                Some((m, rest)) if rest.is_empty() || rest.starts_with(' ') => m,
                _ => return Err(Error::QemuLoad("invalid 'vga=' kernel parameter".into())),
            }
        };
        put16(&mut k, 0x1fa, mode as u16);
    }
    if protocol >= 0x200 {
        k[0x210] = 0xb0;
    }
    if protocol >= 0x201 {
        k[0x211] |= 0x80;
        put16(&mut k, 0x224, (cmdline_addr - real_addr - 0x200) as u16);
    }
    if let Some(initrd_size) = load.initrd_size {
        if protocol < 0x200 {
            return Err(Error::QemuLoad(
                "linux kernel too old to load a ram disk".into(),
            ));
        }
        if initrd_size >= initrd_max {
            return Err(Error::QemuLoad(format!(
                "initrd is too large (max: {initrd_max}, need {initrd_size})"
            )));
        }
        let initrd_addr = (initrd_max - initrd_size) & !0xfff;
        put32(&mut k, 0x218, initrd_addr as u32);
        put32(&mut k, 0x21c, initrd_size as u32);
    }
    Ok(k)
}

/// The kernel image exactly as the VMM serves it to TDVF.
pub fn served_kernel(
    kernel: &[u8],
    load: &QemuKernelLoad<'_>,
    policy: SetupHeaderPolicy,
) -> Result<Vec<u8>> {
    match policy {
        SetupHeaderPolicy::QemuPatched => qemu_patch_setup_header(kernel, load),
        SetupHeaderPolicy::Unmodified => {
            // QEMU still parses the header and applies its size checks.
            let hdr = SetupHeader::parse(kernel)?;
            if hdr.setup_size() > kernel.len() {
                return Err(Error::QemuLoad(
                    "invalid kernel header: setup size exceeds the kernel".into(),
                ));
            }
            qemu_patch_setup_header(kernel, load)?;
            Ok(kernel.to_vec())
        }
    }
}

/// Authenticode digest of a PE/COFF image with digest `D`, as edk2's
/// `MeasurePeImageAndExtend` computes it (no padding, certificate table excluded).
pub fn authenticode_digest<D: Digest + sha2::digest::Update + Default>(
    pe: &[u8],
) -> Result<Vec<u8>> {
    use object::read::pe::{PeFile32, PeFile64};
    let mut hasher = D::default();
    let kind = object::FileKind::parse(pe).map_err(|e| Error::KernelNotPe(e.to_string()))?;
    let result = match kind {
        object::FileKind::Pe64 => {
            let file = PeFile64::parse(pe).map_err(|e| Error::KernelNotPe(e.to_string()))?;
            authenticode::authenticode_digest(&file, &mut hasher)
        }
        object::FileKind::Pe32 => {
            let file = PeFile32::parse(pe).map_err(|e| Error::KernelNotPe(e.to_string()))?;
            authenticode::authenticode_digest(&file, &mut hasher)
        }
        other => return Err(Error::KernelNotPe(format!("file kind {other:?}"))),
    };
    result
        .map_err(|_| Error::KernelNotPe("section or certificate table outside the file".into()))?;
    Ok(Digest::finalize(hasher).to_vec())
}

/// Authenticode SHA-384 of a PE/COFF image.
pub fn authenticode_sha384(pe: &[u8]) -> Result<Sha384Digest> {
    let v = authenticode_digest::<sha2::Sha384>(pe)?;
    let mut out = [0u8; 48];
    out.copy_from_slice(&v);
    Ok(out)
}

/// What the kernel's EFI stub measures by itself, read from the image.
///
/// The stub logs `LOADED_IMAGE::LoadOptions` and `Linux initrd` tagged events
/// (PCR 9 → RTMR2) only through a measurement protocol it knows. TDVF offers
/// `EFI_CC_MEASUREMENT_PROTOCOL` only, which the stub supports since Linux 6.9
/// (and stable back-ports). The stub references protocol GUIDs as 64-bit
/// immediates (`movabs`) or 16-byte constants, so the first 8 GUID bytes occur
/// verbatim in the uncompressed stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EfiStubFeatures {
    /// The stub can measure through `EFI_CC_MEASUREMENT_PROTOCOL`.
    pub cc_measurement: bool,
    /// The stub measures its load options (the command line), Linux ≥ 6.1.
    pub measures_load_options: bool,
    /// The stub measures the initrd it loads through `LoadFile2`, Linux ≥ 5.19/6.0.
    pub measures_initrd: bool,
}

impl EfiStubFeatures {
    /// Scans the kernel image for the stub's measurement support.
    pub fn detect(kernel: &[u8]) -> Self {
        let has = |needle: &[u8]| kernel.windows(needle.len()).any(|w| w == needle);
        Self {
            cc_measurement: has(&EFI_CC_MEASUREMENT_PROTOCOL.bytes()[..8]),
            measures_load_options: has(b"LOADED_IMAGE::LoadOptions"),
            measures_initrd: has(b"Linux initrd"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(protocol: u16, xlf: u16, loadflags: u8) -> Vec<u8> {
        let mut k = vec![0u8; 0x4000];
        k[0x1f1] = 4;
        k[0x202..0x206].copy_from_slice(b"HdrS");
        k[0x206..0x208].copy_from_slice(&protocol.to_le_bytes());
        k[0x211] = loadflags;
        k[0x236..0x238].copy_from_slice(&xlf.to_le_bytes());
        k
    }

    fn load(memory: u64, initrd: Option<u64>) -> QemuKernelLoad<'static> {
        QemuKernelLoad {
            memory,
            cmdline: "console=ttyS0",
            initrd_size: initrd,
            acpi_data_size: QEMU_ACPI_DATA_SIZE,
        }
    }

    #[test]
    fn q35_split() {
        assert_eq!(q35_below_4g_mem_size(2 << 30), 2 << 30);
        assert_eq!(q35_below_4g_mem_size(0xafff_f000), 0xafff_f000);
        assert_eq!(q35_below_4g_mem_size(0xb000_0000), 0x8000_0000);
        assert_eq!(q35_below_4g_mem_size(16 << 30), 0x8000_0000);
    }

    #[test]
    fn modern_kernel_fields_match_qemu() {
        let k = header(0x20f, XLF_CAN_BE_LOADED_ABOVE_4G, 1);
        let p = qemu_patch_setup_header(&k, &load(2 << 30, Some(0x10_0000))).unwrap();
        assert_eq!(p[0x210], 0xb0);
        assert_eq!(p[0x211], 0x81);
        assert_eq!(u16_at(&p, 0x224), Some(0xfe00));
        assert_eq!(&p[0x226..0x228], &[0, 0], "heap_end_ptr is 16 bits");
        assert_eq!(u32_at(&p, 0x228), Some(0x20000));
        // initrd_max = 2G - 0x28000 - 1; addr = (max - size) & !0xfff
        let max = 0x8000_0000u64 - 0x28000 - 1;
        assert_eq!(u32_at(&p, 0x218), Some(((max - 0x10_0000) & !0xfff) as u32));
        assert_eq!(u32_at(&p, 0x21c), Some(0x10_0000));
        // Nothing else changed.
        let changed: Vec<usize> = (0..k.len()).filter(|&i| k[i] != p[i]).collect();
        assert!(
            changed.iter().all(|&i| (0x210..0x22c).contains(&i)),
            "{changed:x?}"
        );
    }

    #[test]
    fn initrd_placement_depends_on_memory_like_qemu() {
        let k = header(0x20f, XLF_CAN_BE_LOADED_ABOVE_4G, 1);
        let at = |m| {
            u32_at(
                &qemu_patch_setup_header(&k, &load(m, Some(4096))).unwrap(),
                0x218,
            )
            .unwrap()
        };
        assert_ne!(at(1 << 30), at(2 << 30));
        assert_eq!(at(2 << 30), at(0xb000_0000));
        assert_eq!(at(0xb000_0000), at(64 << 30));
        assert_ne!(at(0xa000_0000), at(0xb000_0000));
        // No initrd: ramdisk fields untouched.
        let p = qemu_patch_setup_header(&k, &load(2 << 30, None)).unwrap();
        assert_eq!(u32_at(&p, 0x218), Some(0));
    }

    #[test]
    fn old_protocols_and_errors() {
        let k = header(0x201, 0, 1);
        let p = qemu_patch_setup_header(&k, &load(1 << 30, None)).unwrap();
        let cmdline_addr = 0x9a000 - ((13 + 16) & !15);
        assert_eq!(u16_at(&p, 0x20), Some(0xa33f));
        assert_eq!(u16_at(&p, 0x22), Some((cmdline_addr - 0x90000) as u16));
        assert_eq!(
            u16_at(&p, 0x224),
            Some((cmdline_addr - 0x90000 - 0x200) as u16)
        );
        let k = header(0x1ff, 0, 0);
        assert!(matches!(
            qemu_patch_setup_header(&k, &load(1 << 30, Some(1))),
            Err(Error::QemuLoad(_))
        ));
        let k = header(0x20f, 0, 1);
        let huge = qemu_patch_setup_header(&k, &load(1 << 30, Some(0x4000_0000)));
        assert!(matches!(huge, Err(Error::QemuLoad(m)) if m.contains("too large")));
        assert!(matches!(
            SetupHeader::parse(&[0u8; 0x300]),
            Err(Error::KernelNotBzImage(_))
        ));
    }

    #[test]
    fn vga_parameter_is_written() {
        let k = header(0x20f, 0, 1);
        for (cmd, mode) in [
            ("vga=normal", 0xffff),
            ("a vga=0x317 b", 0x317),
            ("vga=791", 791),
            ("vga=ask", 0xfffd),
        ] {
            let l = QemuKernelLoad {
                cmdline: cmd,
                ..load(1 << 30, None)
            };
            let p = qemu_patch_setup_header(&k, &l).unwrap();
            assert_eq!(u16_at(&p, 0x1fa), Some(mode), "{cmd}");
        }
        let l = QemuKernelLoad {
            cmdline: "vga=foo",
            ..load(1 << 30, None)
        };
        assert!(qemu_patch_setup_header(&k, &l).is_err());
    }

    #[test]
    fn stub_detection_reads_guid_prefix() {
        let mut k = vec![0u8; 64];
        assert!(!EfiStubFeatures::detect(&k).cc_measurement);
        k[10..18].copy_from_slice(&EFI_CC_MEASUREMENT_PROTOCOL.bytes()[..8]);
        assert!(EfiStubFeatures::detect(&k).cc_measurement);
    }
}
