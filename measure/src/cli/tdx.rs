//! `aether-measure tdx`: expected MRTD and RTMR0-2 of a TD started by QEMU
//! with TDVF and a direct kernel boot. See docs/measure-tdx.md.

use super::input::{EXIT_USAGE, FileBytes, file_bytes, usage_error};
use aether_tdx_launch::kernel::SetupHeaderPolicy;
use aether_tdx_launch::{AcpiBlobs, LaunchInputs, PageOrder, measure_launch};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

/// MRTD page order.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum PageOrderArg {
    /// Per page: ADD then EXTEND (upstream KVM, QEMU >= 9).
    Single,
    /// Per section: all ADDs, then all EXTENDs (older TDX stacks).
    TwoPass,
}

/// Whether QEMU rewrites the kernel's setup header.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum SetupHeaderArg {
    /// From the firmware: unmodified when it loads QEMU's etc/boot/kernel (edk2 >= 2025.02; QEMU >= 10.0 provides it), else qemu-patched.
    Auto,
    /// Legacy fw_cfg items of QEMU <= 10.1: boot-loader fields written (type_of_loader, cmd_line_ptr, ramdisk, heap).
    QemuPatched,
    /// The kernel file unchanged (etc/boot/kernel, or QEMU >= 10.2 for confidential guests).
    Unmodified,
}

/// Options of `aether-measure tdx`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// TDVF/OVMF image given to QEMU with -bios.
    #[arg(long, value_name = "FILE")]
    firmware: PathBuf,
    /// Linux bzImage (EFI stub) given with -kernel.
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// initrd given with -initrd.
    #[arg(long, value_name = "FILE")]
    initrd: Option<PathBuf>,
    /// Kernel command line given with -append.
    #[arg(long, value_name = "STR", default_value = "")]
    append: String,
    /// Guest RAM as for QEMU -m: a number with K/M/G/T suffix; no suffix means MiB.
    #[arg(long, value_name = "SIZE", default_value = "2G")]
    memory: String,
    /// vCPUs (-smp); checked against the MADT of --acpi-tables.
    #[arg(long, value_name = "N")]
    vcpus: Option<u32>,
    /// Directory holding QEMU's fw_cfg ACPI blobs by name (etc/table-loader,
    /// etc/acpi/tables, etc/acpi/rsdp, ...); enables RTMR0.
    #[arg(long, value_name = "DIR")]
    acpi_tables: Option<PathBuf>,
    /// MRTD page order.
    #[arg(long, value_enum, default_value = "single")]
    page_order: PageOrderArg,
    /// Which kernel the firmware loads: QEMU's unpatched etc/boot/kernel or the patched legacy items.
    #[arg(long, value_enum, default_value = "auto")]
    setup_header: SetupHeaderArg,
    /// Print one JSON object (values, event logs, notes) instead of lines.
    #[arg(long)]
    json: bool,
}

/// Parses a QEMU `-m` style size into bytes.
pub(crate) fn parse_memory(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (num, shift) = match body.chars().last() {
        Some('k') => (&body[..body.len() - 1], 10),
        Some('m') => (&body[..body.len() - 1], 20),
        Some('g') => (&body[..body.len() - 1], 30),
        Some('t') => (&body[..body.len() - 1], 40),
        Some(c) if c.is_ascii_digit() && body.len() == lower.len() => (body, 20),
        _ => {
            return Err(format!(
                "--memory: cannot parse {s:?} (use e.g. 2G, 4096M, 512)"
            ));
        }
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("--memory: cannot parse {s:?}"))?;
    let bytes = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("--memory: {s:?} is too large"))?;
    if bytes == 0 || !bytes.is_multiple_of(4096) {
        return Err(format!(
            "--memory: {s:?} is not a positive multiple of 4 KiB"
        ));
    }
    Ok(bytes)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// Reads or maps a large input (firmware, kernel, initrd).
fn read_large(path: &Path, what: &str) -> Result<FileBytes, String> {
    file_bytes(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// Reads `etc/table-loader` and every blob it allocates from `dir`.
pub(crate) fn read_acpi_dir(dir: &Path) -> Result<AcpiBlobs, String> {
    let table_loader = read(&dir.join("etc/table-loader"), "ACPI table loader")?;
    let names = aether_tdx_launch::acpi::table_loader_allocations(&table_loader)
        .map_err(|e| format!("{}: {e}", dir.join("etc/table-loader").display()))?;
    let mut files = std::collections::BTreeMap::new();
    for name in names {
        let rel = Path::new(&name);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(format!(
                "table loader names fw_cfg file {name:?}, not a plain relative path"
            ));
        }
        files.insert(name.clone(), read(&dir.join(rel), "ACPI blob")?);
    }
    Ok(AcpiBlobs {
        table_loader,
        files,
    })
}

/// Runs `aether-measure tdx`.
pub(crate) fn run(args: Args) -> ExitCode {
    let memory = match parse_memory(&args.memory) {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let loaded = (|| -> Result<_, String> {
        let firmware = read_large(&args.firmware, "firmware")?;
        let kernel = args
            .kernel
            .as_deref()
            .map(|p| read_large(p, "kernel"))
            .transpose()?;
        let initrd = args
            .initrd
            .as_deref()
            .map(|p| read_large(p, "initrd"))
            .transpose()?;
        let acpi = args.acpi_tables.as_deref().map(read_acpi_dir).transpose()?;
        Ok((firmware, kernel, initrd, acpi))
    })();
    let (firmware, kernel, initrd, acpi) = match loaded {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    if initrd.is_some() && kernel.is_none() {
        return usage_error("--initrd needs --kernel");
    }
    let inputs = LaunchInputs {
        firmware: &firmware,
        kernel: kernel.as_deref(),
        initrd: initrd.as_deref(),
        cmdline: &args.append,
        memory,
        vcpus: args.vcpus,
        acpi: acpi.as_ref(),
        page_order: match args.page_order {
            PageOrderArg::Single => PageOrder::SinglePass,
            PageOrderArg::TwoPass => PageOrder::TwoPass,
        },
        setup_header: match args.setup_header {
            SetupHeaderArg::Auto => None,
            SetupHeaderArg::QemuPatched => Some(SetupHeaderPolicy::QemuPatched),
            SetupHeaderArg::Unmodified => Some(SetupHeaderPolicy::Unmodified),
        },
        profile: None,
    };
    let m = match measure_launch(&inputs) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(1);
        }
    };
    if args.json {
        let rtmr = |i: usize| m.rtmrs[i].value.map(hex::encode);
        let obj = serde_json::json!({
            "mrtd": hex::encode(m.mrtd),
            "rtmr0": rtmr(0),
            "rtmr1": rtmr(1),
            "rtmr2": rtmr(2),
            "page_order": m.page_order,
            "memory": memory,
            "cmdline": args.append,
            "firmware_profile": m.firmware_profile,
            "kernel": m.kernel,
            "rtmr_logs": {
                "rtmr0": m.rtmrs[0],
                "rtmr1": m.rtmrs[1],
                "rtmr2": m.rtmrs[2],
            },
        });
        match serde_json::to_string_pretty(&obj) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("Error: cannot encode JSON: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    } else {
        println!("MRTD={}", hex::encode(m.mrtd));
        for (i, r) in m.rtmrs.iter().enumerate() {
            if let Some(v) = r.value {
                println!("RTMR{i}={}", hex::encode(v));
            }
            if let (Some(note), true) =
                (&r.note, args.kernel.is_some() || args.acpi_tables.is_some())
            {
                eprintln!("note: RTMR{i}: {note}");
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse_like_qemu() {
        assert_eq!(parse_memory("2G"), Ok(2 << 30));
        assert_eq!(parse_memory("2048"), Ok(2 << 30));
        assert_eq!(parse_memory("4096M"), Ok(4 << 30));
        assert_eq!(parse_memory("1GiB"), Ok(1 << 30));
        assert_eq!(parse_memory("512k"), Ok(512 << 10));
        assert!(parse_memory("x").is_err());
        assert!(parse_memory("0").is_err());
        assert!(parse_memory("99999999999T").is_err());
        assert!(parse_memory("1b").is_err());
    }
}
