//! Expected MRTD and RTMR0-2 of a TD launched by QEMU with TDVF and a direct
//! kernel boot (`-bios OVMF.fd -kernel … -initrd … -append …`).
//!
//! # Event sequence (edk2 2023.02 … 2025.02 with `TdTcg2Dxe`, QEMU q35)
//!
//! | RTMR | event type | digest of | logged by |
//! |---|---|---|---|
//! | 0 | `EV_EFI_HANDOFF_TABLES2` "TdxTable" | the TD HOB ([`crate::td_hob`]) | SEC `TdxHelperMeasureTdHob` |
//! | 0 | `EV_EFI_PLATFORM_FIRMWARE_BLOB2` "Fv(…)" | CFV raw data | SEC `TdxHelperMeasureCfvImage` |
//! | 0 | `EV_EFI_VARIABLE_DRIVER_CONFIG` ×5 | `UEFI_VARIABLE_DATA` of SecureBoot, PK, KEK, db, dbx (absent: empty) | `TdTcg2Dxe` |
//! | 0 | `EV_SEPARATOR` | `00 00 00 00` (PCR 7's separator) | `TdTcg2Dxe` |
//! | 0 | `EV_PLATFORM_CONFIG_FLAGS` "ACPI DATA" | `etc/table-loader`, then each ALLOCATE'd blob | `QemuFwCfgAcpiPlatform` |
//! | 0 | `EV_EFI_VARIABLE_BOOT` | BootOrder = `00 00` | `TdTcg2Dxe` at ReadyToBoot |
//! | 0 | `EV_EFI_VARIABLE_BOOT` | Boot0000 = UiApp load option | `TdTcg2Dxe` at ReadyToBoot |
//! | 1 | `EV_EFI_BOOT_SERVICES_APPLICATION` | Authenticode SHA-384 of the served kernel | `LoadImage` |
//! | 1 | `EV_EFI_ACTION` | "Calling EFI Application from Boot Option" | ReadyToBoot |
//! | 1 | `EV_SEPARATOR` | `00 00 00 00` | ReadyToBoot |
//! | 1 | `EV_EFI_ACTION` | "Exit Boot Services Invocation" | ExitBootServices |
//! | 1 | `EV_EFI_ACTION` | "Exit Boot Services Returned with Success" | ExitBootServices |
//! | 2 | `EV_EVENT_TAG` | kernel load options, UTF-16 with NUL (stub with CC support) | Linux EFI stub |
//! | 2 | `EV_EVENT_TAG` | the initrd (stub with CC support) | Linux EFI stub |
//!
//! Direct boot runs the kernel before BDS enumerates devices, so the only boot
//! option is the UiApp menu (`Boot0000`) and `BootOrder` is `[0000]`.
//! A register is "not computed" (with the reason) rather than guessed when the
//! firmware, kernel or inputs fall outside this model.

use crate::Sha384Digest;
use crate::acpi::{madt_enabled_cpus, table_loader_allocations};
use crate::error::{Error, Result};
use crate::eventlog::{
    EV_EFI_ACTION, EV_EFI_VARIABLE_BOOT, EV_EFI_VARIABLE_DRIVER_CONFIG, EV_SEPARATOR,
    event_type_label,
};
use crate::guid::{EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE};
use crate::kernel::{
    EfiStubFeatures, QEMU_ACPI_DATA_SIZE, QemuKernelLoad, SetupHeaderPolicy, authenticode_sha384,
    served_kernel,
};
use crate::mrtd::{PageOrder, compute_mrtd};
use crate::profile::{InitrdOptionPlacement, TdvfProfile};
use crate::td_hob::qemu_td_hob;
use crate::tdvf::{TdvfImage, TdvfSectionType};
use crate::uefi::{UefiVariableData, ovmf_ui_app_load_option};
use serde::Serialize;
use sha2::{Digest, Sha384};
use std::collections::BTreeMap;

/// `EV_EFI_HANDOFF_TABLES2`.
const EV_EFI_HANDOFF_TABLES2: u32 = 0x8000_000b;
/// `EV_EFI_PLATFORM_FIRMWARE_BLOB2`.
const EV_EFI_PLATFORM_FIRMWARE_BLOB2: u32 = 0x8000_000a;
/// `EV_PLATFORM_CONFIG_FLAGS`.
const EV_PLATFORM_CONFIG_FLAGS: u32 = 0xa;
/// `EV_EFI_BOOT_SERVICES_APPLICATION`.
const EV_EFI_BOOT_SERVICES_APPLICATION: u32 = 0x8000_0003;
/// `EV_EVENT_TAG`.
const EV_EVENT_TAG: u32 = 0x6;

/// QEMU's ACPI fw_cfg blobs for the VM shape.
#[derive(Debug, Clone, Default)]
pub struct AcpiBlobs {
    /// Contents of `etc/table-loader`.
    pub table_loader: Vec<u8>,
    /// Other fw_cfg files by name (e.g. `etc/acpi/tables`, `etc/acpi/rsdp`).
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Inputs of a launch measurement.
#[derive(Debug, Clone, Copy)]
pub struct LaunchInputs<'a> {
    /// The TDVF/OVMF image (`-bios`).
    pub firmware: &'a [u8],
    /// The bzImage (`-kernel`).
    pub kernel: Option<&'a [u8]>,
    /// The initrd (`-initrd`).
    pub initrd: Option<&'a [u8]>,
    /// The command line (`-append`, empty when absent).
    pub cmdline: &'a str,
    /// Guest RAM in bytes (`-m`).
    pub memory: u64,
    /// vCPUs (`-smp`); checked against the MADT when ACPI blobs are given.
    pub vcpus: Option<u32>,
    /// QEMU's ACPI blobs; RTMR0 needs them.
    pub acpi: Option<&'a AcpiBlobs>,
    /// MRTD page order.
    pub page_order: PageOrder,
    /// Whether the kernel the firmware loads carries QEMU's setup-header
    /// writes; `None`: decided from the firmware
    /// ([`SetupHeaderPolicy::for_firmware`]).
    pub setup_header: Option<SetupHeaderPolicy>,
    /// [`TdvfProfile::detect`] of `firmware` when the caller already has it
    /// (it decompresses the firmware's volumes, ~160 ms for OVMF: worth
    /// sharing across several VM shapes); `None`: detected here.
    pub profile: Option<TdvfProfile>,
}

/// One event of a predicted RTMR log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PredictedEvent {
    /// Event type.
    pub event_type: u32,
    /// Event type name.
    pub event_type_name: String,
    /// SHA-384 digest extended into the register.
    #[serde(serialize_with = "hex48")]
    pub digest: Sha384Digest,
    /// What was measured.
    pub description: String,
}

fn hex48<S: serde::Serializer>(v: &Sha384Digest, s: S) -> core::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

fn hex48_opt<S: serde::Serializer>(
    v: &Option<Sha384Digest>,
    s: S,
) -> core::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&hex::encode(v)),
        None => s.serialize_none(),
    }
}

/// A predicted RTMR: its value and log, or why it was not computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PredictedRtmr {
    /// The final register value, when computable.
    #[serde(serialize_with = "hex48_opt")]
    pub value: Option<Sha384Digest>,
    /// The events, in order.
    pub events: Vec<PredictedEvent>,
    /// Why the value is absent (or a remark about it).
    pub note: Option<String>,
}

impl PredictedRtmr {
    fn from_events(events: Vec<PredictedEvent>) -> Self {
        let value = replay(events.iter().map(|e| &e.digest));
        Self {
            value: Some(value),
            events,
            note: None,
        }
    }

    fn not_computed(note: impl Into<String>) -> Self {
        Self {
            value: None,
            events: Vec::new(),
            note: Some(note.into()),
        }
    }
}

/// RTMR extension of `digests` from zero.
pub fn replay<'a>(digests: impl IntoIterator<Item = &'a Sha384Digest>) -> Sha384Digest {
    let mut r = [0u8; 48];
    for d in digests {
        let mut h = Sha384::new();
        h.update(r);
        h.update(d);
        r = h.finalize().into();
    }
    r
}

/// Details about the kernel as measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelReport {
    /// Authenticode SHA-384 of the kernel as served by QEMU.
    #[serde(serialize_with = "hex48")]
    pub authenticode_sha384: Sha384Digest,
    /// Setup-header policy applied.
    pub setup_header: SetupHeaderPolicy,
    /// Measurement support found in the EFI stub.
    pub stub: EfiStubFeatures,
}

/// The predicted measurements of a launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdxLaunchMeasurement {
    /// MRTD.
    #[serde(serialize_with = "hex48")]
    pub mrtd: Sha384Digest,
    /// Page order used for MRTD.
    pub page_order: PageOrder,
    /// What the firmware measures (only read when RTMRs are requested).
    pub firmware_profile: Option<TdvfProfile>,
    /// Kernel details (with `--kernel`).
    pub kernel: Option<KernelReport>,
    /// RTMR0, RTMR1, RTMR2.
    pub rtmrs: [PredictedRtmr; 3],
}

fn event(event_type: u32, digest: Sha384Digest, description: impl Into<String>) -> PredictedEvent {
    PredictedEvent {
        event_type,
        event_type_name: event_type_label(event_type),
        digest,
        description: description.into(),
    }
}

fn sha384(data: &[u8]) -> Sha384Digest {
    Sha384::digest(data).into()
}

/// OVMF's `UnicodeSPrintAsciiFormat("%a")`: each byte widened to one UTF-16 unit.
fn widen(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().flat_map(|b| [*b, 0]).collect()
}

/// The load options OVMF gives the kernel (UTF-16LE with NUL), or `None` when empty.
pub fn ovmf_load_options(
    cmdline: &str,
    has_initrd: bool,
    placement: InitrdOptionPlacement,
) -> Option<Vec<u8>> {
    let text = match (has_initrd, placement) {
        (false, _) => cmdline.to_string(),
        (true, InitrdOptionPlacement::Appended) => format!("{cmdline} initrd=initrd"),
        (true, InitrdOptionPlacement::Prepended) => format!("initrd=initrd {cmdline}"),
    };
    if text.is_empty() {
        return None;
    }
    let mut out = widen(text.as_bytes());
    out.extend_from_slice(&[0, 0]);
    Some(out)
}

/// True when the CFV's variable store holds no variable (all 0xff after its header).
fn cfv_variable_store_is_empty(cfv: &[u8]) -> Option<bool> {
    if cfv.get(0x28..0x2c)? != b"_FVH" {
        return None;
    }
    let header_len = usize::from(crate::bytes::u16_at(cfv, 0x30)?);
    let store_size = crate::bytes::u32_at(cfv, header_len + 16)? as usize;
    let store = cfv.get(header_len..header_len.checked_add(store_size)?)?;
    Some(store.get(28..)?.iter().all(|b| *b == 0xff))
}

fn rtmr0_events(
    image: &TdvfImage<'_>,
    memory: u64,
    acpi: &AcpiBlobs,
) -> Result<Vec<PredictedEvent>> {
    let md = image.metadata();
    let mut ev = Vec::new();
    let hob = qemu_td_hob(md, memory)?;
    ev.push(event(
        EV_EFI_HANDOFF_TABLES2,
        sha384(&hob),
        format!("TdxTable: TD HOB ({} bytes)", hob.len()),
    ));
    let cfv = md
        .section(TdvfSectionType::Cfv)
        .ok_or_else(|| Error::UnsupportedFirmware("TDX metadata has no CFV section".into()))?;
    let cfv_bytes = image
        .section_raw_bytes(cfv)
        .ok_or_else(|| Error::UnsupportedFirmware("CFV data lies outside the image".into()))?;
    match cfv_variable_store_is_empty(cfv_bytes) {
        Some(true) => {}
        Some(false) => {
            return Err(Error::UnsupportedFirmware(
                "the CFV variable store holds pre-enrolled variables, whose measurement is not modelled".into(),
            ))
        }
        None => return Err(Error::UnsupportedFirmware("the CFV is not a firmware volume with a variable store".into())),
    }
    ev.push(event(
        EV_EFI_PLATFORM_FIRMWARE_BLOB2,
        sha384(cfv_bytes),
        format!(
            "CFV image at {:#x} ({:#x} bytes)",
            cfv.memory_address, cfv.raw_data_size
        ),
    ));
    for (vendor, name) in [
        (EFI_GLOBAL_VARIABLE, "SecureBoot"),
        (EFI_GLOBAL_VARIABLE, "PK"),
        (EFI_GLOBAL_VARIABLE, "KEK"),
        (EFI_IMAGE_SECURITY_DATABASE, "db"),
        (EFI_IMAGE_SECURITY_DATABASE, "dbx"),
    ] {
        let v = UefiVariableData {
            vendor,
            name: name.into(),
            data: Vec::new(),
        }
        .encode();
        ev.push(event(
            EV_EFI_VARIABLE_DRIVER_CONFIG,
            sha384(&v),
            format!("{name} (absent)"),
        ));
    }
    ev.push(event(EV_SEPARATOR, sha384(&[0; 4]), "separator"));
    ev.push(event(
        EV_PLATFORM_CONFIG_FLAGS,
        sha384(&acpi.table_loader),
        "ACPI DATA: etc/table-loader",
    ));
    for name in table_loader_allocations(&acpi.table_loader)? {
        let blob = acpi
            .files
            .get(&name)
            .ok_or_else(|| Error::AcpiBlobMissing(name.clone()))?;
        ev.push(event(
            EV_PLATFORM_CONFIG_FLAGS,
            sha384(blob),
            format!("ACPI DATA: {name}"),
        ));
    }
    ev.push(event(
        EV_EFI_VARIABLE_BOOT,
        sha384(&[0, 0]),
        "BootOrder = [0000]",
    ));
    ev.push(event(
        EV_EFI_VARIABLE_BOOT,
        sha384(&ovmf_ui_app_load_option()),
        "Boot0000 = UiApp",
    ));
    Ok(ev)
}

/// Computes MRTD and, where the inputs allow, RTMR0-2.
pub fn measure_launch(inputs: &LaunchInputs<'_>) -> Result<TdxLaunchMeasurement> {
    let image = TdvfImage::parse(inputs.firmware)?;
    let mrtd = compute_mrtd(&image, inputs.page_order)?;

    let wants_rtmrs = inputs.kernel.is_some() || inputs.acpi.is_some();
    let profile = wants_rtmrs.then(|| {
        inputs
            .profile
            .unwrap_or_else(|| TdvfProfile::detect(inputs.firmware))
    });
    let mut kernel_report = None;
    let mut served = None;
    if let (Some(kernel), Some(profile)) = (inputs.kernel, &profile) {
        let policy = inputs
            .setup_header
            .unwrap_or_else(|| SetupHeaderPolicy::for_firmware(profile));
        let load = QemuKernelLoad {
            memory: inputs.memory,
            cmdline: inputs.cmdline,
            initrd_size: inputs.initrd.map(|i| i.len() as u64),
            acpi_data_size: QEMU_ACPI_DATA_SIZE,
        };
        let k = served_kernel(kernel, &load, policy)?;
        let auth = authenticode_sha384(&k)?;
        kernel_report = Some(KernelReport {
            authenticode_sha384: auth,
            setup_header: policy,
            stub: EfiStubFeatures::detect(kernel),
        });
        served = Some(auth);
    }
    if let (Some(acpi), Some(vcpus)) = (inputs.acpi, inputs.vcpus)
        && let Some(found) = acpi
            .files
            .get("etc/acpi/tables")
            .and_then(|t| madt_enabled_cpus(t))
        && found != vcpus
    {
        return Err(Error::TableLoader(format!(
            "the MADT in etc/acpi/tables lists {found} enabled CPUs but the VM has {vcpus} vCPUs"
        )));
    }

    let Some(profile) = profile else {
        let none =
            || PredictedRtmr::not_computed("needs --kernel (RTMR1/2) and --acpi-tables (RTMR0)");
        return Ok(TdxLaunchMeasurement {
            mrtd,
            page_order: inputs.page_order,
            firmware_profile: None,
            kernel: None,
            rtmrs: [none(), none(), none()],
        });
    };
    let rtmrs = if profile.volumes_decompressed == 0 {
        let n = || {
            PredictedRtmr::not_computed(
                "cannot read the firmware's compressed volumes to learn what it measures",
            )
        };
        [n(), n(), n()]
    } else if !profile.cc_measurement {
        let z = || {
            PredictedRtmr {
            value: Some([0; 48]),
            events: Vec::new(),
            note: Some("firmware has no TdTcg2Dxe (EFI_CC_MEASUREMENT_PROTOCOL): nothing is measured into RTMRs before the OS".into()),
        }
        };
        [z(), z(), z()]
    } else {
        let rtmr0 = match (inputs.acpi, inputs.kernel, profile.measures_fw_cfg_items) {
            (_, _, true) => PredictedRtmr::not_computed(
                "firmware measures fw_cfg items in SEC/PEI (edk2 >= 202505); that RTMR0 layout is not modelled",
            ),
            (None, _, _) => PredictedRtmr::not_computed("needs --acpi-tables"),
            (Some(_), None, _) => PredictedRtmr::not_computed(
                "needs --kernel (the boot variables follow the direct-boot path)",
            ),
            (Some(acpi), Some(_), false) => {
                PredictedRtmr::from_events(rtmr0_events(&image, inputs.memory, acpi)?)
            }
        };
        let rtmr1 = match served {
            Some(auth) => PredictedRtmr::from_events(vec![
                event(
                    EV_EFI_BOOT_SERVICES_APPLICATION,
                    auth,
                    "kernel (Authenticode SHA-384)",
                ),
                event(
                    EV_EFI_ACTION,
                    sha384(b"Calling EFI Application from Boot Option"),
                    "Calling EFI Application from Boot Option",
                ),
                event(EV_SEPARATOR, sha384(&[0; 4]), "separator"),
                event(
                    EV_EFI_ACTION,
                    sha384(b"Exit Boot Services Invocation"),
                    "Exit Boot Services Invocation",
                ),
                event(
                    EV_EFI_ACTION,
                    sha384(b"Exit Boot Services Returned with Success"),
                    "Exit Boot Services Returned with Success",
                ),
            ]),
            None => PredictedRtmr::not_computed("needs --kernel"),
        };
        let rtmr2 = match (&kernel_report, profile.initrd_option) {
            (None, _) => PredictedRtmr::not_computed("needs --kernel"),
            (Some(_), None) if inputs.initrd.is_some() => PredictedRtmr::not_computed(
                "cannot tell where this firmware puts initrd=initrd in the load options",
            ),
            (Some(k), placement) => {
                let mut ev = Vec::new();
                let placement = placement.unwrap_or(InitrdOptionPlacement::Appended);
                if k.stub.cc_measurement
                    && k.stub.measures_load_options
                    && let Some(opts) =
                        ovmf_load_options(inputs.cmdline, inputs.initrd.is_some(), placement)
                {
                    ev.push(event(
                        EV_EVENT_TAG,
                        sha384(&opts),
                        "LOADED_IMAGE::LoadOptions (kernel command line)",
                    ));
                }
                if let (true, true, Some(initrd)) =
                    (k.stub.cc_measurement, k.stub.measures_initrd, inputs.initrd)
                {
                    ev.push(event(EV_EVENT_TAG, sha384(initrd), "Linux initrd"));
                }
                let mut r = PredictedRtmr::from_events(ev);
                if !k.stub.cc_measurement {
                    r.note = Some(
                        "the kernel's EFI stub lacks EFI_CC_MEASUREMENT_PROTOCOL support (Linux < 6.9): it measures neither command line nor initrd".into(),
                    );
                }
                r
            }
        };
        [rtmr0, rtmr1, rtmr2]
    };
    Ok(TdxLaunchMeasurement {
        mrtd,
        page_order: inputs.page_order,
        firmware_profile: Some(profile),
        kernel: kernel_report,
        rtmrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_options_follow_ovmf() {
        let o = ovmf_load_options("console=ttyS0", true, InitrdOptionPlacement::Appended).unwrap();
        assert_eq!(
            o,
            [
                crate::bytes::utf16le("console=ttyS0 initrd=initrd"),
                vec![0, 0]
            ]
            .concat()
        );
        let p = ovmf_load_options("a", true, InitrdOptionPlacement::Prepended).unwrap();
        assert_eq!(
            p,
            [crate::bytes::utf16le("initrd=initrd a"), vec![0, 0]].concat()
        );
        assert_eq!(
            ovmf_load_options("", false, InitrdOptionPlacement::Appended),
            None
        );
        // Non-ASCII bytes are widened one by one, as %a does.
        assert_eq!(
            ovmf_load_options("é", false, InitrdOptionPlacement::Appended).unwrap(),
            vec![0xc3, 0, 0xa9, 0, 0, 0]
        );
    }

    #[test]
    fn replay_of_nothing_is_zero() {
        assert_eq!(replay([]), [0u8; 48]);
    }
}
