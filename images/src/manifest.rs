//! `manifest.json`: what an image is made of and what it measures to.
//!
//! ```json
//! {
//!   "schema": 1,
//!   "name": "validator", "tee": "snp", "image": "validator-snp",
//!   "cmdline": "console=ttyS0 …",          // exactly the bytes of the `cmdline` file
//!   "firmware": "OVMF.amdsev.fd",          // file name in the directory
//!   "uki": "validator-snp.efi",
//!   "disk": "validator-snp.disk.raw",
//!   "ready": {"console": "…", "tcp_port": 8545},
//!   "artifacts": {"vmlinuz": "<sha256>", "initrd.cpio.zst": "…", "cmdline": "…", "validator-snp.efi": "…", "OVMF.amdsev.fd": "…"},
//!   "inputs": {"init": "<sha256>", "payload": "…", "stub": "…"},
//!   "measurements": {
//!     "snp": [{"vcpus": 1, "cpu": "EPYC-v4", "vmm": "QEMU", "guest_features": "0x1", "launch_digest": "<sha384>"}, …],
//!     "tdx": {"mrtd": "<sha384>", "mrtd_two_pass": "…", "rtmr0_note": "…",
//!             "shapes": [{"memory_mib": 2048, "rtmr1": "…", "rtmr2": "…", "note": null}, …]},
//!     "tpm": {"pcr11": {"sha256": "…", "events": […]}, "pcr4_boot_option": {…}, "pcr4_qemu_direct": {…}}
//!   }
//! }
//! ```
//! `snp` is present for SNP images, `tdx` for TDX images, `tpm` always.

use crate::defs::ReadyDef;
use crate::error::{Error, Result, io};
use crate::measure::{SnpShapeDigest, TdxMeasurements};
use crate::uki::PcrPrediction;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// TPM PCR predictions for the UKI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TpmMeasurements {
    /// PCR 11 after systemd-stub.
    pub pcr11: PcrPrediction,
    /// PCR 4 when firmware boots the UKI as a boot option (cloud vTPM).
    pub pcr4_boot_option: PcrPrediction,
    /// PCR 4 for QEMU `-kernel uki.efi` with OVMF.
    pub pcr4_qemu_direct: PcrPrediction,
}

/// The `measurements` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measurements {
    /// SNP launch digests per shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snp: Option<Vec<SnpShapeDigest>>,
    /// TDX registers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tdx: Option<TdxMeasurements>,
    /// TPM PCRs of the UKI.
    pub tpm: TpmMeasurements,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Schema version (1).
    pub schema: u32,
    /// Image definition name.
    pub name: String,
    /// TEE profile.
    pub tee: String,
    /// `<name>-<tee>`.
    pub image: String,
    /// The measured command line.
    pub cmdline: String,
    /// Firmware file name.
    pub firmware: String,
    /// UKI file name.
    pub uki: String,
    /// File name of the GPT disk image whose ESP holds the UKI.
    pub disk: String,
    /// Readiness signals.
    pub ready: Option<ReadyDef>,
    /// sha256 of every artifact, by file name.
    pub artifacts: BTreeMap<String, String>,
    /// sha256 of the inputs that are not artifacts themselves.
    pub inputs: BTreeMap<String, String>,
    /// Expected measurements.
    pub measurements: Measurements,
}

impl Manifest {
    /// Writes pretty JSON with a final newline.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut s = serde_json::to_string_pretty(self).map_err(|e| Error::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        s.push('\n');
        std::fs::write(path, s).map_err(io(path))
    }
}

/// The fields `boot` needs from a manifest on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootInfo {
    /// `<name>-<tee>`.
    pub image: String,
    /// `snp` or `tdx`.
    pub tee: String,
    /// Firmware file name.
    pub firmware: String,
    /// The command line.
    pub cmdline: String,
    /// The GPT disk image's file name.
    pub disk: String,
}

/// Reads a manifest and checks every artifact's sha256.
pub fn load_and_verify(dir: &Path) -> Result<BootInfo> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let bad = |reason: String| Error::Manifest {
        path: path.clone(),
        reason,
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| bad(format!("no string field {k}")))
    };
    let info = BootInfo {
        image: field("image")?,
        tee: field("tee")?,
        firmware: field("firmware")?,
        cmdline: field("cmdline")?,
        disk: field("disk")?,
    };
    let artifacts = v
        .get("artifacts")
        .and_then(|a| a.as_object())
        .ok_or_else(|| bad("no artifacts".into()))?;
    for (file, want) in artifacts {
        if file.contains('/') {
            return Err(bad(format!("artifact name {file} has a slash")));
        }
        let p = dir.join(file);
        let got = crate::build::sha256_hex(&std::fs::read(&p).map_err(io(&p))?);
        if Some(got.as_str()) != want.as_str() {
            return Err(bad(format!(
                "{file}: sha256 {got} differs from the manifest"
            )));
        }
    }
    let cmdline_file =
        std::fs::read_to_string(dir.join("cmdline")).map_err(io(dir.join("cmdline")))?;
    if cmdline_file != info.cmdline {
        return Err(bad("cmdline file differs from the manifest".into()));
    }
    Ok(info)
}
