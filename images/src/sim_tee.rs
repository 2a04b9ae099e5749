//! The simulated TEE of a QEMU launch (feature `sim-tee`; dev and tests
//! only): the launch measurement a real SEV-SNP or TDX launch of the same
//! artifacts and VM shape would produce, and the simulated PSP that signs
//! evidence for it (`aether-sim-psp`), reachable by the guest over a
//! virtio-serial port.
//!
//! What the PSP signs is computed here, on the host, from exactly what QEMU
//! is given ([`SimLaunch`]): the image directory's firmware (the TEE
//! profile's: the AmdSev OVMF for SNP, TDVF for TDX), kernel and initrd
//! (checked against the manifest), the command line passed with `-append`
//! (the manifest's unless changed), the vCPU count and the SNP CPU type
//! (or the TDX memory size). It uses the same code as the manifest
//! ([`crate::measure`]), so evidence from an unchanged launch carries the
//! manifest's measurement and any change (another command line, initrd,
//! vCPU count) gives a measurement the manifest does not list.
//!
//! Under TCG QEMU boots the kernel with generic firmware: the TEE firmware
//! cannot run without the hardware. The measurement is the one the TEE
//! launch would have, not something the plain VM could compute itself.
//!
//! TDX: MRTD (single pass), RTMR1 and RTMR2 as the manifest gives them;
//! RTMR0 (the VMM's ACPI tables) and RTMR3 are zero in simulated quotes.

use crate::defs::{SnpShapes, TdxShapes};
use crate::error::{Error, Result, io};
use crate::manifest::{BootInfo, load_and_verify};
use aether_evidence::LaunchMeasurement;
use aether_sim_psp::server::SimPsp;
use std::path::{Path, PathBuf};

/// The virtio-serial port name the guest looks for.
pub use aether_sim_psp::DEFAULT_PORT_NAME;

/// One launch as QEMU runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimLaunch {
    /// The image directory (with `manifest.json`).
    pub dir: PathBuf,
    /// The command line given to QEMU.
    pub cmdline: String,
    /// vCPUs.
    pub vcpus: u32,
    /// SNP: the CPU model of the launch (a QEMU name: EPYC-v4, EPYC-Milan, EPYC-Genoa, ...).
    pub snp_cpu: String,
    /// TDX: guest memory in MiB.
    pub memory_mib: u64,
    /// SNP report version (3 or 5).
    pub snp_report_version: u32,
}

impl SimLaunch {
    /// The launch of `dir` with its manifest's command line.
    pub fn of_image(dir: &Path, vcpus: u32, snp_cpu: &str, memory_mib: u64) -> Result<Self> {
        let info = load_and_verify(dir)?;
        Ok(SimLaunch {
            dir: dir.to_path_buf(),
            cmdline: info.cmdline,
            vcpus,
            snp_cpu: snp_cpu.to_string(),
            memory_mib,
            snp_report_version: 5,
        })
    }
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(io(p))
}

fn hex48(what: &str, s: Option<&str>) -> Result<[u8; 48]> {
    let bad = |reason: String| Error::Measure {
        what: what.to_string(),
        reason,
    };
    let s = s.ok_or_else(|| bad("not computed".into()))?;
    hex::decode(s)
        .map_err(|e| bad(e.to_string()))?
        .try_into()
        .map_err(|_| bad("not 48 bytes".into()))
}

/// SEV_FEATURES of the manifest's SNP shapes (all equal; 0x1 when absent).
fn guest_features(dir: &Path) -> Result<u64> {
    let path = dir.join("manifest.json");
    let v: serde_json::Value =
        serde_json::from_slice(&read(&path)?).map_err(|e| Error::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let text = v["measurements"]["snp"][0]["guest_features"]
        .as_str()
        .unwrap_or("0x1");
    u64::from_str_radix(text.trim_start_matches("0x"), 16).map_err(|e| Error::Manifest {
        path,
        reason: format!("guest_features {text:?}: {e}"),
    })
}

/// The launch measurement of `launch` and a description of it.
pub fn measurement(launch: &SimLaunch) -> Result<(LaunchMeasurement, String)> {
    let info: BootInfo = load_and_verify(&launch.dir)?;
    let firmware = read(&launch.dir.join(&info.firmware))?;
    let kernel = read(&launch.dir.join("vmlinuz"))?;
    let initrd = read(&launch.dir.join("initrd.cpio.zst"))?;
    let changed = if launch.cmdline == info.cmdline {
        "the manifest's command line"
    } else {
        "a CHANGED command line"
    };
    match info.tee.as_str() {
        "snp" => {
            let shapes = SnpShapes {
                vcpus: vec![launch.vcpus],
                cpus: vec![launch.snp_cpu.clone()],
                vmms: vec!["QEMU".into()],
                guest_features: guest_features(&launch.dir)?,
            };
            let d = crate::measure::snp(&firmware, &kernel, &initrd, &launch.cmdline, &shapes)?;
            let digest = hex48(
                "snp launch digest",
                d.first().map(|s| s.launch_digest.as_str()),
            )?;
            Ok((
                LaunchMeasurement::Snp(digest),
                format!(
                    "{} as SEV-SNP, {} vCPU {}, {changed}: launch digest {}",
                    info.image,
                    launch.vcpus,
                    launch.snp_cpu,
                    hex::encode(digest)
                ),
            ))
        }
        "tdx" => {
            let shapes = TdxShapes {
                memory_mib: vec![launch.memory_mib],
            };
            let m = crate::measure::tdx(&firmware, &kernel, &initrd, &launch.cmdline, &shapes)?;
            let mrtd = hex48("tdx mrtd", Some(&m.mrtd))?;
            let shape = m.shapes.first();
            let rtmr1 = hex48("tdx rtmr1", shape.and_then(|s| s.rtmr1.as_deref()))?;
            let rtmr2 = hex48("tdx rtmr2", shape.and_then(|s| s.rtmr2.as_deref()))?;
            Ok((
                LaunchMeasurement::Tdx {
                    mrtd,
                    rtmr: [[0; 48], rtmr1, rtmr2, [0; 48]],
                },
                format!(
                    "{} as TDX, {} MiB, {changed}: MRTD {}, RTMR0 and RTMR3 zero",
                    info.image,
                    launch.memory_mib,
                    hex::encode(mrtd)
                ),
            ))
        }
        other => Err(Error::Manifest {
            path: launch.dir.join("manifest.json"),
            reason: format!("unknown TEE {other:?}"),
        }),
    }
}

/// The simulated PSP of `launch`.
pub fn psp(launch: &SimLaunch) -> Result<SimPsp> {
    let (m, description) = measurement(launch)?;
    let mut psp = SimPsp::new(m, description);
    psp.snp.version = launch.snp_report_version;
    Ok(psp)
}

/// QEMU arguments that give the guest the port `DEFAULT_PORT_NAME`,
/// connected to the service's Unix socket (QEMU reconnects every second if
/// the service is not there yet or restarts).
pub fn qemu_args(socket: &Path) -> Vec<String> {
    vec![
        "-device".into(),
        "virtio-serial-pci,id=aether-vser".into(),
        "-chardev".into(),
        format!(
            "socket,id=aether-sim-psp,path={},reconnect-ms=1000",
            socket.display()
        ),
        "-device".into(),
        format!("virtserialport,bus=aether-vser.0,chardev=aether-sim-psp,name={DEFAULT_PORT_NAME}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_gets_the_named_port_on_the_socket() {
        let a = qemu_args(Path::new("/run/psp.sock")).join(" ");
        assert!(a.contains("socket,id=aether-sim-psp,path=/run/psp.sock,reconnect-ms=1000"));
        assert!(a.contains("name=org.aether.sim-psp.0"));
    }

    #[test]
    fn hex48_checks() {
        assert_eq!(hex48("x", Some(&"ab".repeat(48))).unwrap(), [0xab; 48]);
        assert!(hex48("x", Some("ab")).is_err());
        assert!(hex48("x", None).is_err());
    }
}
