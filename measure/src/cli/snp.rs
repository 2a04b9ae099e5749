//! `aether-measure snp`: the AMD SEV / SEV-ES / SEV-SNP launch measurement,
//! with the options, validation, output and exit status of `sev-snp-measure`
//! 0.0.13 (plus `--output-format json` and `--threads`).
//!
//! Exit status (as the Python tool): 0 success; 1 computation error or
//! unreadable file (`Error: ...` on stderr); 2 usage error (a usage line and
//! the message on stderr). See `docs/measure-snp.md`.

use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::input::{FileBytes, file_bytes};
use aether_snp_launch::hashes_table::{StreamingSha256, cmdline_sha256, sha256};
use aether_snp_launch::{
    CpuType, Kernel, LaunchInputs, Measurement, Mode, Parallelism, SevHashes, Svsm, VmmType,
    cpu_sig, measure,
};
use base64::Engine as _;
use clap::builder::PossibleValuesParser;

/// Options of `aether-measure snp`, boxed so that the subcommand enum of
/// `main.rs` stays small.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    options: Box<Options>,
}

/// The options of `sev-snp-measure` 0.0.13 (plus `json` and `--threads`).
#[derive(clap::Args)]
#[command(args_override_self = true, infer_long_args = true)]
struct Options {
    /// Print "Calculated <MODE> guest measurement: <value>".
    #[arg(short, long)]
    verbose: bool,
    /// Guest mode.
    #[arg(long, required = true, value_parser = mode_parser())]
    mode: String,
    /// Number of guest vcpus.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_int)]
    vcpus: Option<i128>,
    /// Type of guest vcpu (EPYC, EPYC-v1 ... EPYC-Turin).
    #[arg(long, value_name = "CPUTYPE", value_parser = cpu_type_parser())]
    vcpu_type: Option<String>,
    /// Guest vcpu signature value (decimal, 0x, 0o or 0b).
    #[arg(long, value_name = "VALUE", allow_negative_numbers = true, value_parser = parse_auto_base_int)]
    vcpu_sig: Option<i128>,
    /// Guest vcpu family.
    #[arg(long, value_name = "FAMILY", allow_negative_numbers = true, value_parser = parse_int)]
    vcpu_family: Option<i128>,
    /// Guest vcpu model.
    #[arg(long, value_name = "MODEL", allow_negative_numbers = true, value_parser = parse_int)]
    vcpu_model: Option<i128>,
    /// Guest vcpu stepping.
    #[arg(long, value_name = "STEPPING", allow_negative_numbers = true, value_parser = parse_int)]
    vcpu_stepping: Option<i128>,
    /// Type of guest vmm (QEMU, ec2, gce; any case).
    #[arg(long, value_name = "VMMTYPE", default_value = "QEMU")]
    vmm_type: String,
    /// OVMF file to calculate hash from.
    #[arg(long, value_name = "PATH", required = true)]
    ovmf: PathBuf,
    /// Kernel file to calculate hash from.
    #[arg(long, value_name = "PATH")]
    kernel: Option<PathBuf>,
    /// Initrd file to calculate hash from (use with --kernel).
    #[arg(long, value_name = "PATH")]
    initrd: Option<PathBuf>,
    /// Kernel command line to calculate hash from (use with --kernel).
    #[arg(long, value_name = "CMDLINE")]
    append: Option<OsString>,
    /// Guest kernel features expected to be included (defaults to 0x1).
    #[arg(long, value_name = "VALUE", default_value = "0x1", allow_negative_numbers = true, value_parser = parse_auto_base_int)]
    guest_features: i128,
    /// Measurement output format (json is an aether-measure addition).
    #[arg(long, value_name = "FORMAT", default_value = "hex", value_parser = ["hex", "base64", "json"])]
    output_format: String,
    /// Precalculated hash of the OVMF binary (hex string).
    #[arg(long, value_name = "HASH")]
    snp_ovmf_hash: Option<String>,
    /// Write measured VMSAs to vmsa<N>.bin (seves, snp, and snp:svsm modes only).
    #[arg(long)]
    dump_vmsa: bool,
    /// SVSM binary (snp:svsm mode).
    #[arg(long, value_name = "PATH", help_heading = "snp:svsm mode")]
    svsm: Option<PathBuf>,
    /// Size of the OVMF_VARS file in bytes (conflicts with --vars-file).
    #[arg(long, value_name = "SIZE", allow_negative_numbers = true, value_parser = parse_int, conflicts_with = "vars_file", help_heading = "snp:svsm mode")]
    vars_size: Option<i128>,
    /// OVMF_VARS file (conflicts with --vars-size).
    #[arg(long, value_name = "PATH", help_heading = "snp:svsm mode")]
    vars_file: Option<PathBuf>,
    /// Hashing threads, 0 for automatic (aether-measure addition).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
}

fn mode_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(Mode::ALL.map(Mode::name))
}

fn cpu_type_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(CpuType::ALL.map(CpuType::name))
}

/// Python's `int(text)`: optional sign, decimal digits with single `_`
/// separators, surrounding whitespace. Limited to `i128`.
fn parse_int(text: &str) -> Result<i128, String> {
    python_int(text, false)
}

/// Python's `int(text, 0)`: also `0x`/`0o`/`0b` prefixes (optionally followed
/// by `_`), and no leading zeros on a non-zero decimal.
fn parse_auto_base_int(text: &str) -> Result<i128, String> {
    python_int(text, true)
}

/// Hand-written because clap and `str::parse` do not accept Python's syntax
/// (underscores, prefixes, whitespace), which scripts written for
/// `sev-snp-measure` may use.
fn python_int(text: &str, auto_base: bool) -> Result<i128, String> {
    let invalid = || format!("invalid int value: '{text}'");
    let s = text.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = s.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") if auto_base => (16, &s[2..]),
        Some("0o") if auto_base => (8, &s[2..]),
        Some("0b") if auto_base => (2, &s[2..]),
        _ => (10, s),
    };
    // After a prefix Python allows one leading underscore ("0x_1f").
    let digits = if radix != 10 {
        digits.strip_prefix('_').unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return Err(invalid());
    }
    let mut value: i128 = 0;
    let mut all_zero = true;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix).ok_or_else(invalid)?;
        all_zero &= d == 0;
        value = value
            .checked_mul(i128::from(radix))
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or_else(|| format!("int value out of the supported range: '{text}'"))?;
    }
    if auto_base && radix == 10 && digits.starts_with('0') && !all_zero {
        return Err(invalid());
    }
    Ok(if negative { -value } else { value })
}

/// Python's `bytes.fromhex`: pairs of hex digits, ASCII whitespace allowed
/// between pairs.
fn python_fromhex(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut chars = text.chars().enumerate();
    while let Some((i, c)) = chars.next() {
        if c.is_ascii_whitespace() || c == '\x0b' {
            continue;
        }
        let hi = c.to_digit(16);
        let lo = chars.next().and_then(|(_, c)| c.to_digit(16));
        match (hi, lo) {
            (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
            _ => {
                return Err(format!(
                    "non-hexadecimal number found in fromhex() arg at position {i}"
                ));
            }
        }
    }
    Ok(out)
}

/// How a run ends early.
enum Failure {
    /// `parser.error` in the reference tool: usage line, exit 2.
    Usage(String),
    /// An exception in the reference tool: `Error: ...`, exit 1.
    Runtime(String),
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> ExitCode {
    match run_checked(*args.options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            use clap::Args as _;
            let mut cmd =
                Args::augment_args(clap::Command::new("snp")).bin_name("aether-measure snp");
            let _ = cmd
                .error(clap::error::ErrorKind::ArgumentConflict, msg)
                .print();
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("Error: {msg}");
            ExitCode::from(1)
        }
    }
}

fn non_empty(path: &Option<PathBuf>) -> Option<&Path> {
    path.as_deref().filter(|p| !p.as_os_str().is_empty())
}

fn read(path: &Path) -> Result<FileBytes, Failure> {
    file_bytes(path).map_err(|e| Failure::Runtime(format!("cannot read {}: {e}", path.display())))
}

/// SHA-256 and size of a streamed file.
type FileDigest = ([u8; 32], u64);

/// The streamed kernel and initrd.
struct KernelFiles {
    kernel: FileDigest,
    initrd: Option<FileDigest>,
}

/// Streams `path` through SHA-256 with one reused 256 KiB buffer.
fn stream_sha256(path: &Path) -> Result<FileDigest, Failure> {
    use std::io::Read;
    let fail = |e: std::io::Error| Failure::Runtime(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut hasher = StreamingSha256::new();
    let mut size = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(e)),
        }
    }
    Ok((hasher.finish(), size))
}

fn run_checked(args: Options) -> Result<(), Failure> {
    let mode = Mode::from_name(&args.mode)
        .ok_or_else(|| Failure::Usage(format!("invalid mode '{}'", args.mode)))?;
    let parallelism =
        NonZeroUsize::new(args.threads).map_or(Parallelism::Auto, Parallelism::Threads);

    if mode == Mode::SnpOvmfHash {
        let ovmf = read(&args.ovmf)?;
        let mut inputs = LaunchInputs::new(mode, &ovmf);
        inputs.parallelism = parallelism;
        let m = measure(&inputs).map_err(|e| Failure::Runtime(e.to_string()))?;
        // The reference tool prints hex whatever --output-format says.
        let line = if args.output_format == "json" {
            json_report(&args, &m, None, &ovmf, None, None)
        } else {
            m.digest.to_hex()
        };
        println!("{line}");
        return Ok(());
    }

    let initrd_given = non_empty(&args.initrd).is_some();
    let append_given = args.append.as_ref().is_some_and(|a| !a.is_empty());
    if initrd_given && args.kernel.is_none() {
        return Err(Failure::Usage(
            "--kernel required when using --initrd".into(),
        ));
    }
    if append_given && args.kernel.is_none() {
        return Err(Failure::Usage(
            "--kernel required when using --append".into(),
        ));
    }
    if mode != Mode::Sev && args.vcpus.is_none() {
        return Err(Failure::Usage(format!(
            "missing --vcpus N in guest mode '{}'",
            mode.name()
        )));
    }
    let vmm = VmmType::from_name(&args.vmm_type)
        .ok_or_else(|| Failure::Usage(format!("unknown VMM type '{}'", args.vmm_type)))?;
    let vcpu_sig = vcpu_signature(&args, mode, vmm)?;

    let mut vars_size: i64 = 0;
    if mode == Mode::SnpSvsm {
        if let Some(vars_file) = non_empty(&args.vars_file) {
            let meta = std::fs::metadata(vars_file).map_err(|e| {
                Failure::Runtime(format!("cannot stat {}: {e}", vars_file.display()))
            })?;
            vars_size = i64::try_from(meta.len())
                .map_err(|_| Failure::Runtime("--vars-file is too large".into()))?;
        } else if let Some(size) = args.vars_size.filter(|&s| s != 0) {
            vars_size = i64::try_from(size)
                .map_err(|_| Failure::Runtime(format!("--vars-size {size} is out of range")))?;
        } else {
            return Err(Failure::Usage(
                "snp:svsm mode requires --vars-size or --vars-file".into(),
            ));
        }
    }
    if args.dump_vmsa && !mode.has_vmsa() {
        return Err(Failure::Usage(
            "--dump-vmsa is not availibe in the selected mode".into(),
        ));
    }
    let ovmf_hash_text = args.snp_ovmf_hash.as_deref().filter(|s| !s.is_empty());
    if ovmf_hash_text.is_some() && mode != Mode::Snp {
        return Err(Failure::Runtime("SNP OVMF hash only works with SNP".into()));
    }
    if mode == Mode::SnpSvsm && vmm != VmmType::Qemu {
        return Err(Failure::Runtime(
            "SVSM mode is only implemented for Qemu.".into(),
        ));
    }

    let measures_kernel = matches!(mode, Mode::Sev | Mode::SevEs | Mode::Snp);
    let cmdline = match (
        non_empty(&args.kernel).filter(|_| measures_kernel),
        &args.append,
    ) {
        (Some(_), Some(append)) => Some(
            append
                .to_str()
                .ok_or_else(|| Failure::Runtime("--append is not valid UTF-8".into()))?,
        ),
        _ => None,
    };
    let ovmf_hash = match ovmf_hash_text {
        Some(text) => {
            let bytes = python_fromhex(text).map_err(Failure::Runtime)?;
            let seed: [u8; 48] = bytes.try_into().map_err(|b: Vec<u8>| {
                Failure::Runtime(format!(
                    "--snp-ovmf-hash must be 48 bytes (SHA-384), got {}",
                    b.len()
                ))
            })?;
            Some(seed)
        }
        None => None,
    };
    let vcpus = match args.vcpus {
        None => 1,
        Some(n) if n < 0 => 0,
        Some(n) => u32::try_from(n).map_err(|_| {
            Failure::Runtime(format!("--vcpus {n} is more than this tool supports"))
        })?,
    };
    // The kernel and initrd are streamed (SHA-256 through a small reused
    // buffer, never held in memory), and only when the mode measures them.
    let kernel_path = non_empty(&args.kernel).filter(|_| measures_kernel);
    let initrd_path = non_empty(&args.initrd);
    let stream_kernel = || -> Result<Option<KernelFiles>, Failure> {
        let Some(kernel) = kernel_path else {
            return Ok(None);
        };
        let kernel = stream_sha256(kernel)?;
        let initrd = initrd_path.map(stream_sha256).transpose()?;
        Ok(Some(KernelFiles { kernel, initrd }))
    };
    // With a kernel in SNP mode and threads to spare, one thread streams the
    // kernel and initrd while this one reads the OVMF and hashes its pages
    // (as the `snp:ovmf-hash` value, which the digest then starts from).
    let overlap =
        kernel_path.is_some() && mode == Mode::Snp && ovmf_hash.is_none() && args.threads != 1;
    let (ovmf, kernel_files, ovmf_seed) = std::thread::scope(|scope| {
        let streamer = overlap.then(|| scope.spawn(stream_kernel));
        let ovmf = read(&args.ovmf);
        let seed = match (&ovmf, overlap) {
            (Ok(data), true) => {
                let mut pages = LaunchInputs::new(Mode::SnpOvmfHash, data);
                pages.parallelism = Parallelism::Sequential;
                Some(measure(&pages).map_err(|e| Failure::Runtime(e.to_string())))
            }
            _ => None,
        };
        let kernel_files = match streamer {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(Failure::Runtime("kernel hashing failed".into()))),
            None => Ok(None),
        };
        (ovmf, kernel_files, seed)
    });
    let ovmf = ovmf?;
    let svsm_image = match (mode, &args.svsm) {
        (Mode::SnpSvsm, Some(path)) => Some(read(path)?),
        (Mode::SnpSvsm, None) => {
            return Err(Failure::Runtime("snp:svsm mode requires --svsm".into()));
        }
        _ => None,
    };
    let ovmf_seed = ovmf_seed.transpose()?.and_then(|m| m.ovmf_digest);
    let kernel_files = if overlap {
        kernel_files?
    } else {
        stream_kernel()?
    };

    let mut inputs = LaunchInputs::new(mode, &ovmf);
    inputs.vcpus = if mode == Mode::Sev { 0 } else { vcpus };
    inputs.vcpu_sig = vcpu_sig;
    inputs.vmm = vmm;
    inputs.guest_features = args.guest_features as u64;
    inputs.ovmf_hash = ovmf_hash.or(ovmf_seed);
    inputs.parallelism = parallelism;
    inputs.kernel = kernel_files.as_ref().map(|k| {
        Kernel::Hashes(SevHashes {
            kernel: k.kernel.0,
            initrd: k.initrd.map_or_else(|| sha256(&[]), |i| i.0),
            cmdline: cmdline_sha256(cmdline),
        })
    });
    inputs.svsm = svsm_image.as_deref().map(|image| Svsm { image, vars_size });
    let m = measure(&inputs).map_err(|e| Failure::Runtime(e.to_string()))?;

    if let Some(vmsa) = m.vmsa.as_ref().filter(|_| args.dump_vmsa) {
        for (i, page) in vmsa.iter().enumerate() {
            let name = format!("vmsa{i}.bin");
            std::fs::write(&name, page)
                .map_err(|e| Failure::Runtime(format!("cannot write {name}: {e}")))?;
        }
    }

    let value = match args.output_format.as_str() {
        "json" => {
            let sig = m.vmsa.as_ref().map(|_| vcpu_sig);
            let report = json_report(
                &args,
                &m,
                sig,
                &ovmf,
                kernel_files.as_ref(),
                svsm_image.as_deref(),
            );
            println!("{report}");
            return Ok(());
        }
        "base64" => base64::engine::general_purpose::STANDARD.encode(m.digest.as_bytes()),
        _ => m.digest.to_hex(),
    };
    if args.verbose {
        println!(
            "Calculated {} guest measurement: {value}",
            mode.sev_mode_name()
        );
    } else {
        println!("{value}");
    }
    Ok(())
}

/// The vCPU signature as `get_vcpu_sig` picks it: family/model/stepping,
/// then `--vcpu-sig`, then `--vcpu-type` (zero values count as absent).
fn vcpu_signature(args: &Options, mode: Mode, vmm: VmmType) -> Result<u64, Failure> {
    if mode == Mode::Sev {
        return Ok(0);
    }
    if let Some(family) = args.vcpu_family.filter(|&f| f != 0) {
        let (Some(model), Some(stepping)) = (args.vcpu_model, args.vcpu_stepping) else {
            return Err(Failure::Runtime(
                "--vcpu-family requires --vcpu-model and --vcpu-stepping".into(),
            ));
        };
        return Ok(cpu_sig(family, model, stepping));
    }
    if let Some(sig) = args.vcpu_sig.filter(|&s| s != 0) {
        // Stored in a 64-bit register: Python's ctypes keeps the low 64 bits.
        return Ok(sig as u64);
    }
    if let Some(cpu) = args.vcpu_type.as_deref().and_then(CpuType::from_name) {
        return Ok(cpu.signature());
    }
    if vmm == VmmType::Qemu {
        return Err(Failure::Usage(format!(
            "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '{}'",
            mode.name()
        )));
    }
    // ec2 and gce put a fixed value in RDX; the signature is unused.
    Ok(0)
}

fn file_json(path: Option<&Path>, data: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "path": path.map(|p| p.display().to_string()),
        "size": data.len(),
        "sha256": hex::encode(sha256(data)),
    })
}

/// The `--output-format json` document (schema in docs/measure-snp.md).
fn json_report(
    args: &Options,
    m: &Measurement,
    vcpu_sig: Option<u64>,
    ovmf: &[u8],
    kernel: Option<&KernelFiles>,
    svsm: Option<&[u8]>,
) -> String {
    let mode = m.mode;
    let has_vcpus = mode.has_vmsa();
    let hashes: Option<&SevHashes> = m.hashes.as_ref();
    let guest_features = match mode {
        Mode::Snp => Some(format!("{:#x}", args.guest_features as u64)),
        Mode::SevEs => Some("0x0".to_string()),
        Mode::SnpSvsm => Some("0x1".to_string()),
        _ => None,
    };
    let vcpu_sig = vcpu_sig.map(|s| format!("{s:#x}"));
    let doc = serde_json::json!({
        "mode": mode.name(),
        "measurement": m.digest.to_hex(),
        "algorithm": if m.digest.as_bytes().len() == 48 { "sha384" } else { "sha256" },
        "vcpus": m.vmsa.as_ref().filter(|_| has_vcpus).map(|v| v.vcpus()),
        "vcpu_sig": vcpu_sig,
        "vmm_type": VmmType::from_name(&args.vmm_type).map(VmmType::name),
        "guest_features": guest_features,
        "ovmf": file_json(Some(&args.ovmf), ovmf),
        "ovmf_hash": m.ovmf_digest.map(hex::encode),
        "kernel": kernel.map(|k| serde_json::json!({
            "path": args.kernel.as_ref().map(|p| p.display().to_string()),
            "size": k.kernel.1,
            "sha256": hex::encode(k.kernel.0),
        })),
        "initrd": hashes.map(|h| serde_json::json!({
            "path": kernel.and_then(|k| k.initrd).and(args.initrd.as_ref()).map(|p| p.display().to_string()),
            "size": kernel.and_then(|k| k.initrd).map_or(0, |i| i.1),
            "sha256": hex::encode(h.initrd),
        })),
        "cmdline": hashes.map(|h| serde_json::json!({
            "value": args.append.as_ref().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default(),
            "sha256": hex::encode(h.cmdline),
        })),
        "svsm": svsm.map(|s| file_json(args.svsm.as_deref(), s)),
    });
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_syntax() {
        assert_eq!(parse_int(" 42 "), Ok(42));
        assert_eq!(parse_int("-1"), Ok(-1));
        assert_eq!(parse_int("+1_000"), Ok(1000));
        assert_eq!(parse_int("007"), Ok(7));
        assert!(parse_int("0x10").is_err());
        assert!(parse_int("1__0").is_err());
        assert!(parse_int("_1").is_err());
        assert!(parse_int("").is_err());
        assert_eq!(parse_auto_base_int("0x800F12"), Ok(0x800f12));
        assert_eq!(parse_auto_base_int("0X_1f"), Ok(0x1f));
        assert_eq!(parse_auto_base_int("0b101"), Ok(5));
        assert_eq!(parse_auto_base_int("0o17"), Ok(15));
        assert_eq!(parse_auto_base_int("-0x1"), Ok(-1));
        assert_eq!(parse_auto_base_int("000"), Ok(0));
        assert!(parse_auto_base_int("07").is_err());
        assert!(parse_auto_base_int("0x").is_err());
        assert!(parse_auto_base_int("0xg").is_err());
        assert!(parse_auto_base_int("1_").is_err());
    }

    #[test]
    fn fromhex_syntax() {
        assert_eq!(python_fromhex("0a 0B\n1f"), Ok(vec![0x0a, 0x0b, 0x1f]));
        assert!(python_fromhex("0 a").is_err());
        assert!(python_fromhex("abc").is_err());
        assert!(python_fromhex("zz").is_err());
        assert_eq!(python_fromhex(""), Ok(vec![]));
    }
}
