//! Image definitions (`images/defs/<name>.toml`) and TEE profiles
//! (`images/defs/tee/<tee>.toml`). See `docs/images.md` for the schema.

use crate::error::{Error, Result, io};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One image definition: a payload and how the appliance runs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageDef {
    /// Image name (`validator`, `worker`, …); must match the file name.
    pub name: String,
    /// One line for humans.
    pub description: String,
    /// The kernel command line measured with the image.
    pub cmdline: String,
    /// The payload.
    pub payload: PayloadDef,
    /// Restart policy written to `appliance.toml` (the appliance's defaults when absent).
    #[serde(default)]
    pub restart: Option<RestartDef>,
    /// How tests recognise that the payload is up.
    #[serde(default)]
    pub ready: Option<ReadyDef>,
}

/// The supervised program and where its static binary comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadDef {
    /// Workspace package built by `images/build-static`.
    pub package: String,
    /// Binary of that package; installed as `/usr/bin/<binary>`.
    pub binary: String,
    /// Arguments, with the appliance's placeholders (`{rpc}`, `{data_dir}`, …).
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// Restart settings passed through to `appliance.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestartDef {
    /// Consecutive failures before power-off.
    pub max_restarts: u32,
    /// First back-off in ms.
    pub initial_backoff_ms: u64,
    /// Largest back-off in ms.
    pub max_backoff_ms: u64,
    /// Run time that resets the count, in s.
    pub stable_after_secs: u64,
}

/// Readiness signals for boot tests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyDef {
    /// A console substring that means "ready".
    #[serde(default)]
    pub console: Option<String>,
    /// A guest TCP port that answers when ready.
    #[serde(default)]
    pub tcp_port: Option<u16>,
}

/// Where a firmware file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareDef {
    /// A script (relative to the repository) whose last stdout line is the path.
    #[serde(default)]
    pub script: Option<String>,
    /// A pinned input name of `inputs.lock` (through `scripts/fetch-input`).
    #[serde(default)]
    pub input: Option<String>,
    /// File name inside the image directory.
    pub file: String,
}

/// The SNP VM shapes measured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnpShapes {
    /// vCPU counts.
    pub vcpus: Vec<u32>,
    /// QEMU CPU model names (`EPYC-v4`, `EPYC-Milan`, `EPYC-Genoa`, …).
    pub cpus: Vec<String>,
    /// VMM types (`QEMU`, `ec2`, `gce`).
    pub vmms: Vec<String>,
    /// SEV_FEATURES of the VMSA.
    pub guest_features: u64,
}

/// The TDX VM shapes measured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TdxShapes {
    /// Guest memory sizes in MiB (the kernel setup header QEMU serves depends on it).
    pub memory_mib: Vec<u64>,
}

/// A TEE profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeeProfile {
    /// `snp` or `tdx`; must match the file name.
    pub tee: String,
    /// The measured firmware.
    pub firmware: FirmwareDef,
    /// SNP shapes (SNP profile).
    #[serde(default)]
    pub snp: Option<SnpShapes>,
    /// TDX shapes (TDX profile).
    #[serde(default)]
    pub tdx: Option<TdxShapes>,
}

fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    toml::from_str(&text).map_err(|e| Error::Definition {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Definition {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The definitions directory.
#[derive(Debug, Clone)]
pub struct Defs {
    dir: PathBuf,
}

impl Defs {
    /// Definitions under `dir` (normally `images/defs`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Defs { dir: dir.into() }
    }

    /// Names of every image definition, sorted.
    pub fn image_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let p = e.map_err(io(&self.dir))?.path();
            if p.extension().is_some_and(|x| x == "toml")
                && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
            {
                names.push(stem.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Names of every TEE profile, sorted.
    pub fn tee_names(&self) -> Result<Vec<String>> {
        Defs::new(self.dir.join("tee")).image_names()
    }

    /// Loads and checks image `name`.
    pub fn image(&self, name: &str) -> Result<ImageDef> {
        let path = self.dir.join(format!("{name}.toml"));
        if !path.is_file() {
            return Err(Error::MissingInput {
                what: format!("image definition {name}"),
                hint: format!("known: {}", self.image_names()?.join(", ")),
            });
        }
        let def: ImageDef = load(&path)?;
        if def.name != name {
            return Err(bad(
                &path,
                format!("name {:?} differs from the file name", def.name),
            ));
        }
        if def.cmdline.contains('\n') || def.cmdline.len() > 2048 {
            return Err(bad(&path, "cmdline must be one line of at most 2048 bytes"));
        }
        if def.payload.binary.is_empty() || def.payload.binary.contains('/') {
            return Err(bad(&path, "payload.binary must be a plain file name"));
        }
        Ok(def)
    }

    /// Loads and checks TEE profile `tee`.
    pub fn tee(&self, tee: &str) -> Result<TeeProfile> {
        let path = self.dir.join("tee").join(format!("{tee}.toml"));
        if !path.is_file() {
            return Err(Error::MissingInput {
                what: format!("TEE profile {tee}"),
                hint: format!("known: {}", self.tee_names()?.join(", ")),
            });
        }
        let p: TeeProfile = load(&path)?;
        if p.tee != tee {
            return Err(bad(&path, "tee differs from the file name"));
        }
        if p.firmware.script.is_some() == p.firmware.input.is_some() {
            return Err(bad(&path, "firmware needs exactly one of script and input"));
        }
        match (tee, &p.snp, &p.tdx) {
            ("snp", Some(_), None) | ("tdx", None, Some(_)) => Ok(p),
            _ => Err(bad(
                &path,
                "an snp profile has [snp] shapes, a tdx profile [tdx] shapes",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_defs() -> Defs {
        Defs::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("defs"))
    }

    #[test]
    fn shipped_definitions_load() {
        let defs = repo_defs();
        let names = defs.image_names().unwrap();
        assert!(names.contains(&"validator".to_string()));
        for n in names {
            defs.image(&n).unwrap();
        }
        for t in ["snp", "tdx"] {
            defs.tee(t).unwrap();
        }
    }

    #[test]
    fn rejects_mismatched_names_and_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("x.toml"),
            "name = \"y\"\ndescription = \"\"\ncmdline = \"\"\n[payload]\npackage = \"p\"\nbinary = \"b\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("z.toml"),
            "name = \"z\"\ndescription = \"\"\ncmdline = \"\"\ntypo = 1\n[payload]\npackage = \"p\"\nbinary = \"b\"\n",
        )
        .unwrap();
        let defs = Defs::new(dir.path());
        assert!(defs.image("x").is_err());
        assert!(defs.image("z").is_err());
        assert!(defs.image("missing").is_err());
    }
}
