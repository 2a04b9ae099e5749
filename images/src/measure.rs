//! Expected launch measurements for the manifest, computed with the
//! `aether-snp-launch` and `aether-tdx-launch` libraries (the same code as the
//! `aether-measure` CLI).

use crate::defs::{SnpShapes, TdxShapes};
use crate::error::{Error, Result};
use aether_snp_launch::{CpuType, Kernel, LaunchInputs, Mode, VmmType};
use aether_tdx_launch::{PageOrder, TdvfImage, compute_mrtd};
use serde::Serialize;

fn merr(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Measure {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

/// The SNP launch digest of one VM shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnpShapeDigest {
    /// vCPU count.
    pub vcpus: u32,
    /// CPU model.
    pub cpu: String,
    /// VMM type.
    pub vmm: String,
    /// SEV_FEATURES, hex.
    pub guest_features: String,
    /// The launch digest (SHA-384, hex): MEASUREMENT of the attestation report.
    pub launch_digest: String,
}

/// SNP measurements for every shape.
pub fn snp(
    firmware: &[u8],
    kernel: &[u8],
    initrd: &[u8],
    cmdline: &str,
    shapes: &SnpShapes,
) -> Result<Vec<SnpShapeDigest>> {
    let mut ovmf_hash = None;
    let mut out = Vec::new();
    for &vcpus in &shapes.vcpus {
        for cpu_name in &shapes.cpus {
            let cpu = CpuType::from_name(cpu_name)
                .ok_or_else(|| merr("snp", format!("unknown CPU type {cpu_name}")))?;
            for vmm_name in &shapes.vmms {
                let vmm = VmmType::from_name(vmm_name)
                    .ok_or_else(|| merr("snp", format!("unknown VMM type {vmm_name}")))?;
                let mut inputs = LaunchInputs::new(Mode::Snp, firmware);
                inputs.vcpus = vcpus;
                inputs.vcpu_sig = cpu.signature();
                inputs.vmm = vmm;
                inputs.guest_features = shapes.guest_features;
                // The firmware pages are the same for every shape: hash them once.
                inputs.ovmf_hash = ovmf_hash;
                inputs.kernel = Some(Kernel::Bytes {
                    kernel,
                    initrd: Some(initrd),
                    cmdline: Some(cmdline),
                });
                let m = aether_snp_launch::measure(&inputs).map_err(|e| merr("snp", e))?;
                if ovmf_hash.is_none() {
                    ovmf_hash = m.ovmf_digest;
                }
                out.push(SnpShapeDigest {
                    vcpus,
                    cpu: cpu.name().to_string(),
                    vmm: vmm.name().to_string(),
                    guest_features: format!("{:#x}", shapes.guest_features),
                    launch_digest: m.digest.to_hex(),
                });
            }
        }
    }
    Ok(out)
}

/// TDX values for one memory size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdxShape {
    /// Guest memory in MiB.
    pub memory_mib: u64,
    /// RTMR1 (hex) or `null` with `note`.
    pub rtmr1: Option<String>,
    /// RTMR2 (hex) or `null` with `note`.
    pub rtmr2: Option<String>,
    /// Why a register is absent, or a remark.
    pub note: Option<String>,
}

/// TDX measurements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdxMeasurements {
    /// MRTD with the upstream KVM page order (one extend pass per page).
    pub mrtd: String,
    /// MRTD with the two-pass page order some VMMs use.
    pub mrtd_two_pass: String,
    /// Why RTMR0 is not given.
    pub rtmr0_note: String,
    /// RTMR1 and RTMR2 per memory size (QEMU direct boot; the kernel as the
    /// firmware loads it, see `aether_tdx_launch::SetupHeaderPolicy::for_firmware`).
    pub shapes: Vec<TdxShape>,
}

fn hex48(v: &Option<[u8; 48]>) -> Option<String> {
    v.as_ref().map(hex::encode)
}

/// TDX measurements for every memory size.
pub fn tdx(
    firmware: &[u8],
    kernel: &[u8],
    initrd: &[u8],
    cmdline: &str,
    shapes: &TdxShapes,
) -> Result<TdxMeasurements> {
    let image = TdvfImage::parse(firmware).map_err(|e| merr("tdx", e))?;
    let mrtd = compute_mrtd(&image, PageOrder::SinglePass).map_err(|e| merr("tdx mrtd", e))?;
    let two = compute_mrtd(&image, PageOrder::TwoPass).map_err(|e| merr("tdx mrtd", e))?;
    // One firmware for every shape: read what it measures once.
    let profile = aether_tdx_launch::TdvfProfile::detect(firmware);
    let mut out = Vec::new();
    for &mib in &shapes.memory_mib {
        let inputs = aether_tdx_launch::LaunchInputs {
            firmware,
            kernel: Some(kernel),
            initrd: Some(initrd),
            cmdline,
            memory: mib * 1024 * 1024,
            vcpus: None,
            acpi: None,
            page_order: PageOrder::SinglePass,
            setup_header: None,
            profile: Some(profile),
        };
        let m = aether_tdx_launch::measure_launch(&inputs).map_err(|e| merr("tdx rtmr", e))?;
        let notes: Vec<String> = [&m.rtmrs[1], &m.rtmrs[2]]
            .iter()
            .filter_map(|r| r.note.clone())
            .collect();
        out.push(TdxShape {
            memory_mib: mib,
            rtmr1: hex48(&m.rtmrs[1].value),
            rtmr2: hex48(&m.rtmrs[2].value),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        });
    }
    Ok(TdxMeasurements {
        mrtd: hex::encode(mrtd),
        mrtd_two_pass: hex::encode(two),
        rtmr0_note: "RTMR0 depends on the VMM's ACPI tables for the exact VM shape; compute it with `aether-measure tdx --acpi-tables` from the host's fw_cfg dump".into(),
        shapes: out,
    })
}
