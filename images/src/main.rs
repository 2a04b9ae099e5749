//! `aether-image`: build and boot the Aether appliance images.

use aether_image::build::{Builder, Overrides, fetch_input, progress};
use aether_image::defs::Defs;
use aether_image::manifest::load_and_verify;
use aether_image::qemu::{self, BootOptions};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "aether-image",
    version,
    about = "Build and boot the Aether appliance images"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build an image (or `all`) for a TEE (or `all`) into OUT/<name>-<tee>/.
    Build {
        /// Image definition name (images/defs/<name>.toml) or `all`.
        name: String,
        /// TEE profile: snp, tdx or all.
        #[arg(long)]
        tee: String,
        /// Output directory.
        #[arg(long, default_value = "images/out")]
        out: PathBuf,
        /// Kernel bzImage instead of kernel-config/build-kernel's.
        #[arg(long)]
        kernel: Option<PathBuf>,
        /// systemd EFI stub instead of the pinned linuxx64.efi.stub.
        #[arg(long)]
        stub: Option<PathBuf>,
        /// Firmware instead of the TEE profile's.
        #[arg(long)]
        firmware: Option<PathBuf>,
        /// Static aether-init instead of building it.
        #[arg(long)]
        init: Option<PathBuf>,
        /// Static payload binary instead of building the definition's package.
        #[arg(long)]
        payload: Option<PathBuf>,
    },
    /// Boot an image directory in QEMU (serial console on stdout).
    Boot {
        /// The image directory (with manifest.json).
        dir: PathBuf,
        /// vCPUs.
        #[arg(long, default_value_t = 2)]
        vcpus: u32,
        /// Memory in MiB.
        #[arg(long, default_value_t = 2048)]
        memory: u64,
        /// -netdev spec, e.g. user,hostfwd=tcp::18545-:8545 (`none` for no NIC).
        #[arg(long, default_value = "user")]
        net: String,
        /// Run the real SEV-SNP / TDX launch (needs the hardware and KVM).
        #[arg(long)]
        confidential: bool,
        /// Boot the GPT disk image (UKI on its ESP) through the firmware, as a
        /// cloud does, instead of passing kernel, initrd and command line.
        #[arg(long, conflicts_with = "confidential")]
        disk: bool,
        /// Generic firmware for the plain boot (default: pinned ovmf-trixie.fd).
        #[arg(long)]
        firmware: Option<PathBuf>,
        /// swtpm control socket: attach a TPM 2.0 CRB device.
        #[arg(long)]
        tpm_socket: Option<String>,
        /// CPU model of the confidential SNP launch (a measured shape: EPYC-v4, EPYC-Milan, EPYC-Genoa).
        #[arg(long, default_value = "EPYC-v4")]
        snp_cpu: String,
        /// Print the QEMU command line without running it.
        #[arg(long)]
        print_only: bool,
        /// Seconds to wait for a clean power-off after Ctrl-C or SIGTERM
        /// (the ACPI power button is pressed) before QEMU is killed.
        #[arg(long, default_value_t = 60)]
        stop_timeout: u64,
        /// QEMU binary.
        #[arg(long, default_value = "qemu-system-x86_64")]
        qemu: String,
        /// A raw disk (with its file system) attached as the first virtio disk, /dev/vda
        /// (the worker image's data disk).
        #[arg(long)]
        data_disk: Option<PathBuf>,
        /// Dev and tests only (feature sim-tee): run a simulated PSP for this launch and
        /// give the guest its virtio-serial port; the guest's `sim` evidence provider then
        /// gets SEV-SNP reports or TDX quotes of this launch's measurement, signed under
        /// the simulated root.
        #[arg(long, conflicts_with_all = ["confidential", "disk"])]
        sim_tee: bool,
        /// SEV-SNP report version of the simulated PSP (3 or 5).
        #[arg(long, default_value_t = 5, value_parser = report_version)]
        sim_report_version: u32,
    },
    /// Dev and tests only (feature sim-tee): serve the simulated PSP of a launch of DIR
    /// (for `aether-worker attest --sim-psp ADDR` on the host) until interrupted.
    SimPsp {
        /// The image directory (with manifest.json).
        #[arg(long)]
        image: PathBuf,
        /// unix:PATH or tcp:HOST:PORT.
        #[arg(long)]
        listen: String,
        /// vCPUs of the launch.
        #[arg(long, default_value_t = 2)]
        vcpus: u32,
        /// CPU model of the SNP launch.
        #[arg(long, default_value = "EPYC-v4")]
        snp_cpu: String,
        /// Memory of the TDX launch, MiB.
        #[arg(long, default_value_t = 2048)]
        memory: u64,
        /// The command line of the launch (default: the manifest's).
        #[arg(long)]
        cmdline: Option<String>,
        /// SEV-SNP report version (3 or 5).
        #[arg(long, default_value_t = 5, value_parser = report_version)]
        report_version: u32,
    },
}

#[cfg(not(feature = "sim-tee"))]
fn no_sim_tee() -> aether_image::Error {
    aether_image::Error::MissingInput {
        what: "the simulated PSP".into(),
        hint: "this aether-image was built without it: cargo build --release -p aether-image --features sim-tee".into(),
    }
}

/// Starts the simulated PSP of `launch` on a Unix socket in `dir`, logging
/// through `progress`; returns the server (stops when dropped) and its socket.
#[cfg(feature = "sim-tee")]
fn start_sim_psp(
    launch: &aether_image::sim_tee::SimLaunch,
    listen: &aether_sim_psp::server::ListenAddr,
) -> aether_image::Result<aether_sim_psp::server::Server> {
    let psp = aether_image::sim_tee::psp(launch)?;
    progress(format!("sim-psp: {}", psp.description()));
    aether_sim_psp::server::Server::start(
        psp,
        listen,
        std::sync::Arc::new(|line: &str| progress(line)),
    )
    .map_err(|e| aether_image::Error::Command {
        command: "sim-psp".into(),
        reason: e.to_string(),
    })
}

/// An SEV-SNP report version the simulated PSP signs: 3 or 5.
fn report_version(s: &str) -> Result<u32, String> {
    match s {
        "3" => Ok(3),
        "5" => Ok(5),
        _ => Err(format!(
            "{s:?}: the simulated PSP signs report versions 3 and 5"
        )),
    }
}

/// The repository root: the nearest ancestor of the current directory with images/defs.
fn repo_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|d| d.join("images/defs").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

fn run() -> aether_image::Result<()> {
    let cli = Cli::parse();
    let root = repo_root();
    match cli.cmd {
        Cmd::Build {
            name,
            tee,
            out,
            kernel,
            stub,
            firmware,
            init,
            payload,
        } => {
            let defs = Defs::new(root.join("images/defs"));
            let names = if name == "all" {
                defs.image_names()?
            } else {
                vec![name]
            };
            let tees = if tee == "all" {
                defs.tee_names()?
            } else {
                vec![tee]
            };
            let builder = Builder {
                root: root.clone(),
                defs,
                overrides: Overrides {
                    kernel,
                    stub,
                    firmware,
                    init,
                    payload,
                },
            };
            let out = if out.is_absolute() {
                out
            } else {
                std::env::current_dir().map(|c| c.join(&out)).unwrap_or(out)
            };
            for n in &names {
                for t in &tees {
                    let dir = builder.build(n, t, &out)?;
                    println!("{}", dir.display());
                }
            }
            Ok(())
        }
        Cmd::Boot {
            dir,
            vcpus,
            memory,
            net,
            confidential,
            disk,
            firmware,
            tpm_socket,
            snp_cpu,
            print_only,
            stop_timeout,
            qemu: qemu_bin,
            data_disk,
            sim_tee,
            sim_report_version,
        } => {
            let info = load_and_verify(&dir)?;
            let opts = BootOptions {
                vcpus,
                memory_mib: memory,
                net: (net != "none").then_some(net),
                tpm_socket,
                snp_cpu,
                disk: disk.then(|| info.disk.clone()),
                data_disk,
            };
            // The simulated PSP lives as long as this command (until QEMU exits).
            let psp_dir =
                tempfile::tempdir().map_err(aether_image::error::io("temporary directory"))?;
            #[cfg(feature = "sim-tee")]
            let _psp = if sim_tee {
                let launch = aether_image::sim_tee::SimLaunch {
                    dir: dir.clone(),
                    cmdline: info.cmdline.clone(),
                    vcpus,
                    snp_cpu: opts.snp_cpu.clone(),
                    memory_mib: memory,
                    snp_report_version: sim_report_version,
                };
                let socket = psp_dir.path().join("sim-psp.sock");
                Some(start_sim_psp(
                    &launch,
                    &aether_sim_psp::server::ListenAddr::Unix(socket),
                )?)
            } else {
                None
            };
            #[cfg(not(feature = "sim-tee"))]
            if sim_tee {
                let _ = (sim_report_version, &psp_dir);
                return Err(no_sim_tee());
            }
            let args = if confidential {
                qemu::confidential(&info.tee, &dir, &info.cmdline, &info.firmware, &opts)
            } else {
                let fw = match firmware {
                    Some(f) => f,
                    None if info.tee == "tdx" => dir.join(&info.firmware),
                    None => fetch_input(&root, "ovmf-trixie.fd")?,
                };
                qemu::plain(&dir, &info.cmdline, &fw, &opts)
            };
            #[cfg(feature = "sim-tee")]
            let mut args = args;
            #[cfg(feature = "sim-tee")]
            if sim_tee {
                args.extend(aether_image::sim_tee::qemu_args(
                    &psp_dir.path().join("sim-psp.sock"),
                ));
            }
            progress(format!(
                "booting {}: {}",
                info.image,
                qemu::shell_quote(&qemu_bin, &args)
            ));
            if print_only {
                return Ok(());
            }
            // Ctrl-C / SIGTERM: first a clean stop (power button), then a kill.
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut signals = signal_hook::iterator::Signals::new([
                signal_hook::consts::SIGINT,
                signal_hook::consts::SIGTERM,
            ])
            .map_err(|e| aether_image::Error::Command {
                command: "signal handler".into(),
                reason: e.to_string(),
            })?;
            let counter = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                for _ in signals.forever() {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
            let status = qemu::run_supervised(
                &qemu_bin,
                &args,
                std::process::Stdio::inherit(),
                &stop,
                std::time::Duration::from_secs(stop_timeout),
                |m: &str| progress(m),
            )
            .map_err(|e| aether_image::Error::Command {
                command: qemu_bin.clone(),
                reason: e.to_string(),
            })?;
            if status.success() {
                Ok(())
            } else {
                Err(aether_image::Error::Command {
                    command: qemu_bin,
                    reason: status.to_string(),
                })
            }
        }
        Cmd::SimPsp {
            image,
            listen,
            vcpus,
            snp_cpu,
            memory,
            cmdline,
            report_version,
        } => sim_psp_command(
            image,
            &listen,
            vcpus,
            &snp_cpu,
            memory,
            cmdline,
            report_version,
        ),
    }
}

#[cfg(feature = "sim-tee")]
fn sim_psp_command(
    image: PathBuf,
    listen: &str,
    vcpus: u32,
    snp_cpu: &str,
    memory: u64,
    cmdline: Option<String>,
    report_version: u32,
) -> aether_image::Result<()> {
    let listen: aether_sim_psp::server::ListenAddr =
        listen
            .parse()
            .map_err(|reason| aether_image::Error::Command {
                command: "sim-psp --listen".into(),
                reason,
            })?;
    let mut launch = aether_image::sim_tee::SimLaunch::of_image(&image, vcpus, snp_cpu, memory)?;
    if let Some(c) = cmdline {
        launch.cmdline = c;
    }
    launch.snp_report_version = report_version;
    let server = start_sim_psp(&launch, &listen)?;
    // The address clients use (the bound port for tcp:...:0), last on stdout.
    println!("{}", server.addr());
    let signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]);
    match signals {
        Ok(mut s) => {
            let _ = s.forever().next();
        }
        Err(_) => loop {
            std::thread::park();
        },
    }
    progress("sim-psp: stopped");
    Ok(())
}

#[cfg(not(feature = "sim-tee"))]
fn sim_psp_command(
    _image: PathBuf,
    _listen: &str,
    _vcpus: u32,
    _snp_cpu: &str,
    _memory: u64,
    _cmdline: Option<String>,
    _report_version: u32,
) -> aether_image::Result<()> {
    Err(no_sim_tee())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aether-image: error: {e}");
            ExitCode::FAILURE
        }
    }
}
