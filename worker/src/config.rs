//! The worker's configuration file, `worker.toml` (TOML, unknown keys are
//! errors). In the appliance it lives on the data disk
//! (`/var/lib/aether/worker.toml`): the disk is not measured, so deployment
//! settings (endpoints, collateral locations, a challenge) can change
//! without a new image; everything that must be measured is in the image
//! and its command line. Every section and key is optional.
//!
//! ```toml
//! [evidence]
//! provider = "auto"                    # auto | configfs-tsm | sev-guest | tdx-guest | sim
//! sim_psp = "virtio:org.aether.sim-psp.0"   # or unix:PATH, tcp:HOST:PORT
//! snp_vek = "/var/lib/aether/vcek.der" # or an http(s) URL (AMD KDS, cloud metadata)
//! tdx_collateral = "https://pccs.example/collateral.json"   # or a file
//! snp_vmpl = 0
//!
//! [self_check]                         # the appliance's start-up check
//! report_data = "<128 hex digits>"     # the challenge to bind (default: 64 random bytes)
//!
//! [run]                                # `aether-worker run` (flags override)
//! rpc = "http://127.0.0.1:8545"
//! provider_id = "<64 hex digits>"      # the provider id `aether provider register` printed
//! worker_key = "/var/lib/aether/worker.key"
//! models = ["/var/lib/aether/models/all-minilm-l6-v2"]
//! data_dir = "/var/lib/aether/worker"
//! listen = "0.0.0.0:8600"              # checkpoints, /status, /metrics
//! poll_ms = 200
//! ```

use crate::evidence::{ProviderChoice, ProviderConfig};
use serde::Deserialize;
use std::path::Path;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Evidence provider settings.
    pub evidence: EvidenceSection,
    /// The appliance's start-up self-check.
    pub self_check: SelfCheckSection,
    /// The job runner.
    pub run: RunSection,
}

/// `[run]`: the job runner's settings (each also a flag of `aether-worker run`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// The node's JSON-RPC URL.
    pub rpc: Option<String>,
    /// The provider id (hex).
    pub provider_id: Option<String>,
    /// The worker key file.
    pub worker_key: Option<std::path::PathBuf>,
    /// Model directories served.
    pub models: Vec<std::path::PathBuf>,
    /// The data directory.
    pub data_dir: Option<std::path::PathBuf>,
    /// The HTTP endpoint's address.
    pub listen: Option<String>,
    /// Poll interval in milliseconds.
    pub poll_ms: Option<u64>,
    /// The URL clients reach the HTTP endpoint at (large outputs are
    /// published under it).
    pub public_url: Option<String>,
}

/// `[evidence]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceSection {
    /// `auto` or a provider name.
    pub provider: Option<String>,
    /// The simulated PSP's address.
    pub sim_psp: Option<String>,
    /// SNP VCEK/VLEK file or URL.
    pub snp_vek: Option<String>,
    /// TDX collateral file or URL.
    pub tdx_collateral: Option<String>,
    /// SNP VMPL.
    pub snp_vmpl: Option<u32>,
}

/// `[self_check]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelfCheckSection {
    /// 64 bytes as 128 hex digits.
    pub report_data: Option<String>,
}

/// A configuration error.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// Parses 64 bytes of report data from 128 hex digits (`0x` allowed).
pub fn parse_report_data(s: &str) -> Result<[u8; 64], String> {
    let t = s.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    let bytes = hex::decode(t).map_err(|e| format!("report data is not hex: {e}"))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "report data must be 64 bytes (128 hex digits), got {}",
            b.len()
        )
    })
}

impl WorkerConfig {
    /// Parses the text of a `worker.toml` (`path` for messages).
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.to_string(),
            reason,
        };
        let cfg: WorkerConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        // Check every value now, not at first use.
        cfg.provider_config(ProviderConfig::default())
            .map_err(invalid)?;
        if let Some(rd) = &cfg.self_check.report_data {
            parse_report_data(rd).map_err(invalid)?;
        }
        if let Some(l) = &cfg.run.listen {
            l.parse::<std::net::SocketAddr>()
                .map_err(|e| invalid(format!("run.listen {l}: {e}")))?;
        }
        if let Some(p) = &cfg.run.provider_id {
            aether_types::Digest::from_hex(p)
                .map_err(|e| invalid(format!("run.provider_id: {e}")))?;
        }
        Ok(cfg)
    }

    /// Reads `path`; a missing file is the default configuration.
    pub fn load_or_default(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// The provider settings of this file on top of `base`.
    pub fn provider_config(&self, mut base: ProviderConfig) -> Result<ProviderConfig, String> {
        let e = &self.evidence;
        if let Some(p) = &e.provider {
            base.choice = p.parse::<ProviderChoice>()?;
        }
        if let Some(a) = &e.sim_psp {
            base.sim_psp = Some(a.parse()?);
        }
        if let Some(s) = &e.snp_vek {
            base.snp_vek = Some(s.parse()?);
        }
        if let Some(s) = &e.tdx_collateral {
            base.tdx_collateral = Some(s.parse()?);
        }
        if let Some(v) = e.snp_vmpl {
            if v > 3 {
                return Err(format!("snp_vmpl {v}: VMPLs are 0-3"));
            }
            base.snp_vmpl = v;
        }
        Ok(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ProviderKind;

    #[test]
    fn parses_every_key_and_rejects_unknown_ones() {
        let text = format!(
            "[evidence]\nprovider = \"sim\"\nsim_psp = \"unix:/run/psp.sock\"\nsnp_vek = \"/v.der\"\n\
             tdx_collateral = \"https://pccs/c.json\"\nsnp_vmpl = 1\n[self_check]\nreport_data = \"{}\"\n",
            "ab".repeat(64)
        );
        let cfg = WorkerConfig::parse(&text, "worker.toml").unwrap();
        let p = cfg.provider_config(ProviderConfig::default()).unwrap();
        assert_eq!(p.choice, ProviderChoice::Only(ProviderKind::Sim));
        assert_eq!(p.snp_vmpl, 1);
        assert_eq!(p.sim_psp.unwrap().to_string(), "unix:/run/psp.sock");
        assert_eq!(
            WorkerConfig::parse("", "w").unwrap(),
            WorkerConfig::default()
        );
        for bad in [
            "typo = 1",
            "[evidence]\nprovider = \"tpm\"",
            "[evidence]\nsim_psp = \"ftp:x\"",
            "[evidence]\nsnp_vmpl = 4",
            "[self_check]\nreport_data = \"abcd\"",
            "[evidence]\nextra = 1",
            "[run]\nlisten = \"nowhere\"",
            "[run]\nprovider_id = \"abc\"",
            "[run]\ntypo = 1",
        ] {
            let err = WorkerConfig::parse(bad, "worker.toml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("worker.toml: "), "{bad}: {err}");
        }
    }

    #[test]
    fn report_data_is_exactly_64_bytes() {
        assert_eq!(
            parse_report_data(&format!("0x{}", "01".repeat(64))).unwrap(),
            [1; 64]
        );
        assert!(
            parse_report_data(&"01".repeat(63))
                .unwrap_err()
                .contains("got 63")
        );
        assert!(parse_report_data("zz").is_err());
    }

    #[test]
    fn a_missing_file_is_the_default() {
        let cfg = WorkerConfig::load_or_default(Path::new("/nonexistent/worker.toml")).unwrap();
        assert_eq!(cfg, WorkerConfig::default());
    }
}
