//! The image pipeline: resolve pinned inputs, assemble the initrd and the UKI,
//! compute the measurements and write `manifest.json`.

use crate::cpio::{Node, Tree, zstd_compress};
use crate::defs::{Defs, ImageDef, TeeProfile};
use crate::error::{Error, Result, io};
use crate::manifest::{Manifest, Measurements, TpmMeasurements};
use crate::{measure, uki};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// zstd level of the initrd (fixed: part of the image's identity).
pub const ZSTD_LEVEL: i32 = 19;
/// Where the payload goes in the image.
pub const PAYLOAD_DIR: &str = "/usr/bin";

/// Paths that override the default input resolution.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Kernel bzImage (default: `kernel-config/build-kernel`, or `$AETHER_KERNEL`).
    pub kernel: Option<PathBuf>,
    /// systemd EFI stub (default: `scripts/fetch-input linuxx64.efi.stub`).
    pub stub: Option<PathBuf>,
    /// Firmware (default: the TEE profile's).
    pub firmware: Option<PathBuf>,
    /// Static `aether-init` (default: `images/build-static`).
    pub init: Option<PathBuf>,
    /// Static payload binary (default: `images/build-static` of the definition's package).
    pub payload: Option<PathBuf>,
}

/// Progress on stderr.
pub fn progress(msg: impl AsRef<str>) {
    eprintln!("aether-image: {}", msg.as_ref());
}

/// Runs `cmd` to completion. Failing to start it, or a non-zero exit, is an
/// [`Error::Command`] naming the command, with its stderr when that was
/// captured and its exit status otherwise.
fn checked_output(cmd: &mut Command) -> Result<std::process::Output> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| Error::Command {
        command: shown.clone(),
        reason: e.to_string(),
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::Command {
            command: shown,
            reason: if stderr.is_empty() {
                out.status.to_string()
            } else {
                stderr
            },
        });
    }
    Ok(out)
}

/// Runs `cmd`, streaming its stderr, and returns the last non-empty stdout line.
pub fn last_line_of(mut cmd: Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = checked_output(cmd.stdin(Stdio::null()).stderr(Stdio::inherit()))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .ok_or(Error::Command {
            command: shown,
            reason: "printed no path".into(),
        })
}

/// Builds `PACKAGE:BINARY` specs with `images/build-static` (its progress on
/// stderr) and returns the binaries' paths, in the order asked (the script
/// prints one path per spec, last).
pub fn build_static(root: &Path, specs: &[impl AsRef<std::ffi::OsStr>]) -> Result<Vec<PathBuf>> {
    let out = checked_output(
        Command::new(root.join("images/build-static"))
            .args(specs)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit()),
    )?;
    let mut built: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| PathBuf::from(l.trim()))
        .collect();
    Ok(built.split_off(built.len().saturating_sub(specs.len())))
}

/// Context of a build: the repository root and the definitions.
#[derive(Debug, Clone)]
pub struct Builder {
    /// Repository root.
    pub root: PathBuf,
    /// Definitions.
    pub defs: Defs,
    /// Input overrides.
    pub overrides: Overrides,
}

/// Resolves a pinned input of `inputs.lock` by name.
pub fn fetch_input(root: &Path, name: &str) -> Result<PathBuf> {
    let script = root.join("scripts/fetch-input");
    if script.is_file() {
        let mut c = Command::new(&script);
        c.arg(name);
        return Ok(PathBuf::from(last_line_of(c)?));
    }
    let dir = std::env::var_os("AETHER_INPUTS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/aether/inputs")))
        .unwrap_or_default();
    let p = dir.join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::MissingInput {
            what: name.to_string(),
            hint: "run scripts/setup (pinned in inputs.lock)".into(),
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(io(path))
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).map_err(io(path))
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[derive(Serialize)]
struct ApplianceToml<'a> {
    payload: PayloadToml<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restart: Option<crate::defs::RestartDef>,
}

#[derive(Serialize)]
struct PayloadToml<'a> {
    name: &'a str,
    path: String,
    args: &'a [String],
    env: &'a BTreeMap<String, String>,
}

/// The `/etc/aether/appliance.toml` of an image.
pub fn appliance_toml(def: &ImageDef) -> Result<String> {
    let cfg = ApplianceToml {
        payload: PayloadToml {
            name: &def.payload.binary,
            path: format!("{PAYLOAD_DIR}/{}", def.payload.binary),
            args: &def.payload.args,
            env: &def.payload.env,
        },
        restart: def.restart,
    };
    toml::to_string(&cfg).map_err(|e| Error::Definition {
        path: PathBuf::from(format!("{}.toml", def.name)),
        reason: e.to_string(),
    })
}

/// The `os-release` of an image (also the UKI's `.osrel`).
pub fn os_release(def: &ImageDef, tee: &str) -> String {
    format!(
        "ID=aether\nNAME=\"Aether appliance\"\nPRETTY_NAME=\"Aether {name} ({tee})\"\nVERSION_ID={v}\nIMAGE_ID={name}-{tee}\nIMAGE_VERSION={v}\n",
        name = def.name,
        v = env!("CARGO_PKG_VERSION"),
    )
}

/// The initrd tree: `/init`, the payload, its config, `/dev/console`, mount points.
pub fn initrd_tree(def: &ImageDef, tee: &str, init: Vec<u8>, payload: Vec<u8>) -> Result<Tree> {
    let mut t = Tree::new();
    for dir in [
        "dev",
        "proc",
        "sys",
        "tmp",
        "run",
        "var/lib",
        "etc/aether",
        "usr/bin",
    ] {
        t.insert(dir, Node::Dir(0o755))?;
    }
    t.insert("dev/console", Node::CharDev(0o600, 5, 1))?;
    t.insert("init", Node::File(0o755, init))?;
    t.insert(
        &format!("{PAYLOAD_DIR}/{}", def.payload.binary),
        Node::File(0o755, payload),
    )?;
    t.insert(
        "etc/aether/appliance.toml",
        Node::File(0o644, appliance_toml(def)?.into_bytes()),
    )?;
    t.insert(
        "etc/os-release",
        Node::File(0o644, os_release(def, tee).into_bytes()),
    )?;
    Ok(t)
}

/// Builds a UKI with `objcopy` and normalises its header.
pub fn build_uki(
    stub: &[u8],
    stub_path: &Path,
    sections: &[(&str, &Path)],
    out: &Path,
) -> Result<Vec<u8>> {
    let sizes: Vec<(&str, u64)> = sections
        .iter()
        .map(|(n, p)| Ok((*n, std::fs::metadata(p).map_err(io(*p))?.len())))
        .collect::<Result<_>>()?;
    let placed = uki::layout(stub, &sizes)?;
    let mut cmd = Command::new("objcopy");
    cmd.env("SOURCE_DATE_EPOCH", "0");
    for (p, (_, file)) in placed.iter().zip(sections) {
        cmd.arg("--add-section")
            .arg(format!("{}={}", p.name, file.display()))
            .arg("--change-section-vma")
            .arg(format!("{}={:#x}", p.name, p.vma))
            .arg("--set-section-flags")
            .arg(format!("{}=readonly,data", p.name));
    }
    cmd.arg(stub_path).arg(out);
    checked_output(&mut cmd)?;
    let mut pe = read(out)?;
    uki::normalize_pe_header(&mut pe)?;
    write(out, &pe)?;
    Ok(pe)
}

impl Builder {
    fn kernel(&self) -> Result<PathBuf> {
        if let Some(k) = &self.overrides.kernel {
            return Ok(k.clone());
        }
        if let Some(k) = std::env::var_os("AETHER_KERNEL") {
            return Ok(PathBuf::from(k));
        }
        let script = self.root.join("kernel-config/build-kernel");
        if !script.is_file() {
            return Err(Error::MissingInput {
                what: "kernel".into(),
                hint: "kernel-config/build-kernel is missing; pass --kernel PATH".into(),
            });
        }
        progress("kernel: kernel-config/build-kernel (cached by input hash)");
        Ok(PathBuf::from(last_line_of(Command::new(script))?))
    }

    fn stub(&self) -> Result<PathBuf> {
        match &self.overrides.stub {
            Some(s) => Ok(s.clone()),
            None => fetch_input(&self.root, "linuxx64.efi.stub"),
        }
    }

    fn firmware(&self, profile: &TeeProfile) -> Result<PathBuf> {
        if let Some(f) = &self.overrides.firmware {
            return Ok(f.clone());
        }
        match (&profile.firmware.script, &profile.firmware.input) {
            (Some(script), _) => {
                let s = self.root.join(script);
                if !s.is_file() {
                    return Err(Error::MissingInput {
                        what: format!("firmware script {script}"),
                        hint: "pass --firmware PATH".into(),
                    });
                }
                progress(format!("firmware: {script}"));
                Ok(PathBuf::from(last_line_of(Command::new(s))?))
            }
            (None, Some(input)) => fetch_input(&self.root, input),
            (None, None) => Err(Error::MissingInput {
                what: "firmware".into(),
                hint: "the TEE profile names none".into(),
            }),
        }
    }

    fn binaries(&self, def: &ImageDef) -> Result<(PathBuf, PathBuf)> {
        let mut specs = Vec::new();
        if self.overrides.init.is_none() {
            specs.push("aether-appliance:aether-init".to_string());
        }
        if self.overrides.payload.is_none() {
            specs.push(format!("{}:{}", def.payload.package, def.payload.binary));
        }
        let mut built = Vec::new();
        if !specs.is_empty() {
            progress(format!(
                "static binaries: images/build-static {}",
                specs.join(" ")
            ));
            built = build_static(&self.root, &specs)?;
        }
        let mut it = built.into_iter();
        let init = match &self.overrides.init {
            Some(p) => p.clone(),
            None => it.next().ok_or(Error::MissingInput {
                what: "aether-init".into(),
                hint: "build-static printed nothing".into(),
            })?,
        };
        let payload = match &self.overrides.payload {
            Some(p) => p.clone(),
            None => it.next().ok_or(Error::MissingInput {
                what: def.payload.binary.clone(),
                hint: "build-static printed nothing".into(),
            })?,
        };
        Ok((init, payload))
    }

    /// Builds image `name` for `tee` into `out/<name>-<tee>/` and returns that directory.
    pub fn build(&self, name: &str, tee: &str, out: &Path) -> Result<PathBuf> {
        let start = Instant::now();
        let def = self.defs.image(name)?;
        let profile = self.defs.tee(tee)?;
        let image = format!("{name}-{tee}");
        progress(format!("building {image}: {}", def.description));
        let kernel_path = self.kernel()?;
        let stub_path = self.stub()?;
        let fw_path = self.firmware(&profile)?;
        let (init_path, payload_path) = self.binaries(&def)?;

        let dir = out.join(&image);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let work = out.join(format!(".{image}.work"));
        std::fs::create_dir_all(&work).map_err(io(&work))?;

        let t = Instant::now();
        let tree = initrd_tree(&def, tee, read(&init_path)?, read(&payload_path)?)?;
        let newc = tree.to_newc()?;
        let initrd = zstd_compress(&newc, ZSTD_LEVEL)?;
        write(&dir.join("initrd.cpio.zst"), &initrd)?;
        progress(format!(
            "initrd: {} bytes cpio -> {} bytes zstd-{ZSTD_LEVEL} ({:.1?})",
            newc.len(),
            initrd.len(),
            t.elapsed()
        ));

        let kernel = read(&kernel_path)?;
        write(&dir.join("vmlinuz"), &kernel)?;
        write(&dir.join("cmdline"), def.cmdline.as_bytes())?;
        let firmware = read(&fw_path)?;
        write(&dir.join(&profile.firmware.file), &firmware)?;

        let t = Instant::now();
        let osrel = work.join("osrel");
        write(&osrel, os_release(&def, tee).as_bytes())?;
        let stub = read(&stub_path)?;
        let uki_name = format!("{image}.efi");
        let uki = build_uki(
            &stub,
            &stub_path,
            &[
                (".osrel", &osrel),
                (".cmdline", &dir.join("cmdline")),
                (".initrd", &dir.join("initrd.cpio.zst")),
                (".linux", &dir.join("vmlinuz")),
            ],
            &dir.join(&uki_name),
        )?;
        std::fs::remove_dir_all(&work).map_err(io(&work))?;
        progress(format!(
            "uki: {uki_name} {} bytes ({:.1?})",
            uki.len(),
            t.elapsed()
        ));
        let t = Instant::now();
        let disk_name = format!("{image}.disk.raw");
        let disk_len = crate::disk::write_esp_disk(&uki, &dir.join(&disk_name))?;
        progress(format!(
            "disk: {disk_name} {disk_len} bytes, GPT + ESP with the UKI as \\EFI\\BOOT\\BOOTX64.EFI ({:.1?})",
            t.elapsed()
        ));

        let t = Instant::now();
        let (snp, tdx) = match (&profile.snp, &profile.tdx) {
            (Some(shapes), _) => (
                Some(measure::snp(
                    &firmware,
                    &kernel,
                    &initrd,
                    &def.cmdline,
                    shapes,
                )?),
                None,
            ),
            (_, Some(shapes)) => (
                None,
                Some(measure::tdx(
                    &firmware,
                    &kernel,
                    &initrd,
                    &def.cmdline,
                    shapes,
                )?),
            ),
            _ => (None, None),
        };
        let (pcr4_disk, pcr4_direct) = uki::pcr4(&uki)?;
        let tpm = TpmMeasurements {
            pcr11: uki::pcr11(&uki)?,
            pcr4_boot_option: pcr4_disk,
            pcr4_qemu_direct: pcr4_direct,
        };
        progress(format!("measurements ({:.1?})", t.elapsed()));

        let mut artifacts = BTreeMap::new();
        for file in [
            "vmlinuz",
            "initrd.cpio.zst",
            "cmdline",
            uki_name.as_str(),
            disk_name.as_str(),
            profile.firmware.file.as_str(),
        ] {
            artifacts.insert(file.to_string(), sha256_hex(&read(&dir.join(file))?));
        }
        let manifest = Manifest {
            schema: 1,
            name: def.name.clone(),
            tee: tee.to_string(),
            image: image.clone(),
            cmdline: def.cmdline.clone(),
            firmware: profile.firmware.file.clone(),
            uki: uki_name,
            disk: disk_name,
            ready: def.ready.clone(),
            artifacts,
            inputs: BTreeMap::from([
                ("init".to_string(), sha256_hex(&read(&init_path)?)),
                ("payload".to_string(), sha256_hex(&read(&payload_path)?)),
                ("stub".to_string(), sha256_hex(&stub)),
            ]),
            measurements: Measurements { snp, tdx, tpm },
        };
        manifest.write(&dir.join("manifest.json"))?;
        progress(format!(
            "{image} done in {:.1?}: {}",
            start.elapsed(),
            dir.display()
        ));
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Defs {
        Defs::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("defs"))
    }

    #[test]
    fn generated_appliance_config_is_accepted_by_the_init() {
        let defs = defs();
        for name in defs.image_names().unwrap() {
            let def = defs.image(&name).unwrap();
            let text = appliance_toml(&def).unwrap();
            let cfg = aether_appliance::config::ApplianceConfig::parse(&text)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(cfg.payload.path, format!("/usr/bin/{}", def.payload.binary));
            assert_eq!(cfg.payload.args, def.payload.args);
            if let Some(r) = def.restart {
                assert_eq!(cfg.restart.max_restarts, r.max_restarts);
            }
        }
    }

    #[test]
    fn initrd_tree_layout() {
        let def = defs().image("validator").unwrap();
        let t = initrd_tree(&def, "snp", b"init".to_vec(), b"node".to_vec()).unwrap();
        assert_eq!(t.get("init"), Some(&Node::File(0o755, b"init".to_vec())));
        assert_eq!(
            t.get("usr/bin/aether"),
            Some(&Node::File(0o755, b"node".to_vec()))
        );
        assert_eq!(t.get("dev/console"), Some(&Node::CharDev(0o600, 5, 1)));
        assert!(os_release(&def, "snp").contains("IMAGE_ID=validator-snp\n"));
    }
}
