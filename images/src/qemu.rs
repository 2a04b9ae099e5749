//! QEMU command lines for booting an image directory: a plain TCG boot with
//! generic OVMF (what this machine can run), and the confidential launches
//! (SEV-SNP with `kernel-hashes=on`, TDX) for hosts with the hardware.

use std::path::Path;
use std::time::Duration;

/// VM shape and devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOptions {
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// `-netdev` spec without the id (e.g. `user,hostfwd=tcp::18545-:8545`); `None`: no NIC.
    pub net: Option<String>,
    /// swtpm control socket for a TPM CRB device.
    pub tpm_socket: Option<String>,
    /// CPU model of a confidential SNP launch (must be one of the measured shapes).
    pub snp_cpu: String,
    /// Boot this disk image of the directory (the GPT disk with the UKI)
    /// through the firmware instead of passing kernel, initrd and command
    /// line (plain boots only).
    pub disk: Option<String>,
    /// A raw data disk attached first (so the guest sees it as `/dev/vda`,
    /// the worker image's `aether.data=/dev/vda:ext4`).
    pub data_disk: Option<std::path::PathBuf>,
}

impl Default for BootOptions {
    fn default() -> Self {
        BootOptions {
            vcpus: 2,
            memory_mib: 2048,
            net: Some("user".into()),
            tpm_socket: None,
            snp_cpu: "EPYC-v4".into(),
            disk: None,
            data_disk: None,
        }
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn common(dir: &Path, cmdline: &str, opts: &BootOptions, kernel: &str) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "-smp".into(),
        opts.vcpus.to_string(),
        "-m".into(),
        format!("{}M", opts.memory_mib),
        "-nodefaults".into(),
        "-display".into(),
        "none".into(),
        "-serial".into(),
        "stdio".into(),
        "-no-reboot".into(),
        "-device".into(),
        "virtio-rng-pci".into(),
    ];
    if let Some(data) = &opts.data_disk {
        a.extend([
            "-drive".into(),
            format!("file={},if=virtio,format=raw", p(data)),
        ]);
    }
    match &opts.disk {
        Some(disk) => a.extend([
            "-drive".into(),
            format!(
                "file={},if=virtio,format=raw,snapshot=on",
                p(&dir.join(disk))
            ),
        ]),
        None => a.extend([
            "-kernel".into(),
            p(&dir.join(kernel)),
            "-initrd".into(),
            p(&dir.join("initrd.cpio.zst")),
            "-append".into(),
            cmdline.to_string(),
        ]),
    }
    if let Some(net) = &opts.net {
        a.push("-netdev".into());
        a.push(format!("{net},id=net0"));
        // No option ROM: the image boots directly and needs no PXE, and a
        // ROM would be one more measured driver (PCR 2 / RTMR1) that depends
        // on the host's QEMU package.
        a.push("-device".into());
        a.push("virtio-net-pci,netdev=net0,romfile=".into());
    }
    if let Some(sock) = &opts.tpm_socket {
        a.extend([
            "-chardev".into(),
            format!("socket,id=chrtpm,path={sock}"),
            "-tpmdev".into(),
            "emulator,id=tpm0,chardev=chrtpm".into(),
            "-device".into(),
            "tpm-crb,tpmdev=tpm0".into(),
        ]);
    }
    a
}

/// A plain TCG boot with generic firmware and the image's kernel, initrd and
/// command line (arguments after the program name).
pub fn plain(dir: &Path, cmdline: &str, firmware: &Path, opts: &BootOptions) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "-accel".into(),
        "tcg".into(),
        "-machine".into(),
        "q35".into(),
        "-cpu".into(),
        "max".into(),
        "-bios".into(),
        p(firmware),
    ];
    a.extend(common(dir, cmdline, opts, "vmlinuz"));
    a
}

/// A confidential launch on an SNP or TDX host with KVM (QEMU ≥ 9.1 for
/// SNP, ≥ 10.1 for TDX), with the image's measured firmware.
pub fn confidential(
    tee: &str,
    dir: &Path,
    cmdline: &str,
    firmware: &str,
    opts: &BootOptions,
) -> Vec<String> {
    let fw = p(&dir.join(firmware));
    let mut a: Vec<String> = match tee {
        "snp" => vec![
            "-accel".into(),
            "kvm".into(),
            "-machine".into(),
            "q35,confidential-guest-support=sev0,memory-backend=ram0".into(),
            "-cpu".into(),
            opts.snp_cpu.clone(),
            "-object".into(),
            format!(
                "memory-backend-memfd,id=ram0,size={}M,share=true",
                opts.memory_mib
            ),
            "-object".into(),
            "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on".into(),
            "-bios".into(),
            fw,
        ],
        _ => vec![
            "-accel".into(),
            "kvm".into(),
            "-machine".into(),
            "q35,kernel-irqchip=split,confidential-guest-support=tdx0".into(),
            "-cpu".into(),
            "host".into(),
            "-object".into(),
            "tdx-guest,id=tdx0".into(),
            "-bios".into(),
            fw,
        ],
    };
    a.extend(common(dir, cmdline, opts, "vmlinuz"));
    a
}

/// Runs one QMP command (`{"execute": command}`) on QEMU's monitor socket
/// (`-qmp unix:PATH,server=on,wait=off`) and returns its answer.
pub fn qmp(socket: &Path, command: &str) -> std::io::Result<serde_json::Value> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    // Reads lines until one carries `key` (events may come in between).
    let mut read_until = |key: &str| -> std::io::Result<serde_json::Value> {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("QMP closed the connection"));
            }
            let v: serde_json::Value =
                serde_json::from_str(&line).map_err(std::io::Error::other)?;
            if v.get(key).is_some() {
                return Ok(v);
            }
            if let Some(e) = v.get("error") {
                return Err(std::io::Error::other(format!("QMP error: {e}")));
            }
        }
    };
    read_until("QMP")?;
    writeln!(writer, r#"{{"execute":"qmp_capabilities"}}"#)?;
    read_until("return")?;
    writeln!(writer, r#"{{"execute":"{command}"}}"#)?;
    read_until("return")
}

/// Runs QEMU with `args` (plus a QMP socket in a private temporary
/// directory) until it exits, with its serial console on `stdout` and no
/// stdin (the appliance has no shell). QEMU runs in its own process group, so
/// a terminal's Ctrl-C reaches only the caller, which counts stop requests in
/// `stop`: at the first, the VM's ACPI power button is pressed (QMP
/// `system_powerdown`) and the appliance shuts down cleanly (its payload gets
/// `SIGTERM`); at the second, or `grace` after the first, QEMU is killed.
pub fn run_supervised(
    qemu: &str,
    args: &[String],
    stdout: std::process::Stdio,
    stop: &std::sync::atomic::AtomicUsize,
    grace: Duration,
    progress: impl Fn(&str),
) -> std::io::Result<std::process::ExitStatus> {
    use std::os::unix::process::CommandExt;
    use std::sync::atomic::Ordering;
    use std::time::Instant;
    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("qmp.sock");
    let mut child = std::process::Command::new(qemu)
        .args(args)
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", socket.display()))
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .process_group(0)
        .spawn()?;
    let mut pressed: Option<Instant> = None;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let requests = stop.load(Ordering::SeqCst);
        match pressed {
            None if requests >= 1 => {
                pressed = Some(Instant::now());
                match qmp(&socket, "system_powerdown") {
                    Ok(_) => progress(&format!(
                        "stopping the VM: ACPI power button pressed; the appliance shuts down cleanly \
                         (QEMU is killed after {grace:?}, or at once on a second Ctrl-C)"
                    )),
                    Err(e) => {
                        progress(&format!(
                            "cannot press the power button ({e}): killing QEMU"
                        ));
                        child.kill()?;
                        return child.wait();
                    }
                }
            }
            Some(at) if requests >= 2 || at.elapsed() > grace => {
                progress("killing QEMU");
                child.kill()?;
                return child.wait();
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Quotes a command line for display in a POSIX shell.
pub fn shell_quote(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(|s| {
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./,=:+@%".contains(c))
            {
                s.to_string()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_boot_uses_the_exact_artifacts() {
        let opts = BootOptions {
            net: Some("user,hostfwd=tcp::18545-:8545".into()),
            ..BootOptions::default()
        };
        let a = plain(
            Path::new("/img"),
            "console=ttyS0 a=b",
            Path::new("/fw/OVMF.fd"),
            &opts,
        );
        let s = shell_quote("qemu-system-x86_64", &a);
        assert!(s.contains("-accel tcg"));
        assert!(s.contains("-bios /fw/OVMF.fd"));
        assert!(s.contains(
            "-kernel /img/vmlinuz -initrd /img/initrd.cpio.zst -append 'console=ttyS0 a=b'"
        ));
        assert!(s.contains("-netdev user,hostfwd=tcp::18545-:8545,id=net0"));
        // From the disk: the firmware finds the UKI; no kernel arguments.
        let disk = BootOptions {
            disk: Some("v-snp.disk.raw".into()),
            ..opts
        };
        let s = shell_quote(
            "qemu-system-x86_64",
            &plain(
                Path::new("/img"),
                "console=ttyS0",
                Path::new("/fw/OVMF.fd"),
                &disk,
            ),
        );
        assert!(s.contains("-drive file=/img/v-snp.disk.raw,if=virtio,format=raw,snapshot=on"));
        assert!(!s.contains("-kernel") && !s.contains("-append") && !s.contains("-initrd"));
    }

    #[test]
    fn the_data_disk_is_the_first_virtio_disk() {
        let opts = BootOptions {
            data_disk: Some("/d/data.raw".into()),
            disk: Some("w.disk.raw".into()),
            ..BootOptions::default()
        };
        let s = shell_quote("q", &plain(Path::new("/img"), "c", Path::new("/fw"), &opts));
        let data = s
            .find("file=/d/data.raw,if=virtio,format=raw")
            .expect("data disk");
        let boot = s.find("file=/img/w.disk.raw").expect("boot disk");
        assert!(data < boot, "{s}");
    }

    #[test]
    fn confidential_lines() {
        let o = BootOptions::default();
        let snp = shell_quote(
            "q",
            &confidential("snp", Path::new("/i"), "c", "OVMF.amdsev.fd", &o),
        );
        assert!(
            snp.contains("sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on")
        );
        assert!(snp.contains("-bios /i/OVMF.amdsev.fd"));
        let tdx = shell_quote(
            "q",
            &confidential("tdx", Path::new("/i"), "c", "OVMF.fd", &o),
        );
        assert!(tdx.contains("tdx-guest,id=tdx0"));
        // No NIC option ROM: it would be measured into RTMR1 (PCR 2).
        let args = confidential("tdx", Path::new("/i"), "c", "OVMF.fd", &o);
        assert!(args.contains(&"virtio-net-pci,netdev=net0,romfile=".to_string()));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            shell_quote("a", &["it's".into(), "".into()]),
            "a 'it'\\''s' ''"
        );
    }
}
