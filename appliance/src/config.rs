//! The payload configuration, `/etc/aether/appliance.toml` in the initrd.
//!
//! ```toml
//! [payload]
//! name = "aether"                      # console prefix: "[aether] ..."
//! path = "/usr/bin/aether"             # a static binary in the initrd
//! args = ["node", "--dev", "--data-dir", "{data_dir}", "--rpc-addr", "{rpc}"]
//! env = { RUST_LOG = "info" }          # optional; the environment is otherwise empty but for PATH=/usr/bin
//!
//! [restart]                            # optional; these are the defaults
//! max_restarts = 5                     # failures in a row before power-off
//! initial_backoff_ms = 1000            # doubled after each failure ...
//! max_backoff_ms = 30000               # ... up to this
//! stable_after_secs = 60               # a run this long resets the count
//!
//! [system]                             # optional
//! data_dir = "/var/lib/aether"
//! hostname = "aether"
//! ```
//!
//! In `args` and `env` values, `{rpc}`, `{data_dir}`, `{role}` and
//! `{sealing_key_file}` are replaced with the values the init determined at
//! boot (see [`Substitutions`]). Unknown fields are rejected so that a typo in
//! an image definition fails the build's check, not the boot.

use crate::error::Error;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplianceConfig {
    /// The program to supervise.
    pub payload: Payload,
    /// Restart policy.
    #[serde(default)]
    pub restart: RestartConfig,
    /// System settings.
    #[serde(default)]
    pub system: SystemConfig,
}

/// The supervised program.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// Console prefix.
    pub name: String,
    /// Absolute path of the binary inside the image.
    pub path: String,
    /// Arguments (after `argv[0]`), with placeholders.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables, with placeholders.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Restart policy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestartConfig {
    /// Consecutive failures tolerated before powering off.
    pub max_restarts: u32,
    /// First back-off delay.
    pub initial_backoff_ms: u64,
    /// Largest back-off delay.
    pub max_backoff_ms: u64,
    /// A run at least this long resets the failure count.
    pub stable_after_secs: u64,
}

impl Default for RestartConfig {
    fn default() -> Self {
        RestartConfig {
            max_restarts: 5,
            initial_backoff_ms: 1000,
            max_backoff_ms: 30_000,
            stable_after_secs: 60,
        }
    }
}

impl RestartConfig {
    /// The first back-off delay.
    pub fn initial_backoff(&self) -> Duration {
        Duration::from_millis(self.initial_backoff_ms)
    }
    /// The largest back-off delay.
    pub fn max_backoff(&self) -> Duration {
        Duration::from_millis(self.max_backoff_ms)
    }
    /// The run time that resets the failure count.
    pub fn stable_after(&self) -> Duration {
        Duration::from_secs(self.stable_after_secs)
    }
}

/// System settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// Where the data store is mounted.
    pub data_dir: String,
    /// Host name.
    pub hostname: String,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            data_dir: "/var/lib/aether".into(),
            hostname: "aether".into(),
        }
    }
}

/// Values substituted into `args` and `env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitutions {
    /// `{rpc}`: the `aether.rpc` address.
    pub rpc: String,
    /// `{data_dir}`: the mounted data directory.
    pub data_dir: String,
    /// `{role}`: `validator` or `worker`.
    pub role: String,
    /// `{sealing_key_file}`: the file holding the 32-byte sealing key.
    pub sealing_key_file: String,
}

impl Substitutions {
    /// Replaces every known placeholder in `s`; other braces stay as they are.
    pub fn apply(&self, s: &str) -> String {
        s.replace("{rpc}", &self.rpc)
            .replace("{data_dir}", &self.data_dir)
            .replace("{role}", &self.role)
            .replace("{sealing_key_file}", &self.sealing_key_file)
    }
}

impl ApplianceConfig {
    /// Parses and checks the file's text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let cfg: ApplianceConfig =
            toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what the schema cannot.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.payload.path.starts_with('/') {
            return Err(Error::InvalidConfig("payload.path must be absolute"));
        }
        if self.payload.name.is_empty() {
            return Err(Error::InvalidConfig("payload.name must not be empty"));
        }
        if !self.system.data_dir.starts_with('/') || self.system.data_dir == "/" {
            return Err(Error::InvalidConfig(
                "system.data_dir must be an absolute path other than /",
            ));
        }
        if self.restart.initial_backoff_ms > self.restart.max_backoff_ms {
            return Err(Error::InvalidConfig(
                "restart.initial_backoff_ms exceeds restart.max_backoff_ms",
            ));
        }
        Ok(())
    }

    /// The payload's argument vector after substitution (without `argv[0]`).
    pub fn args(&self, subst: &Substitutions) -> Vec<String> {
        self.payload.args.iter().map(|a| subst.apply(a)).collect()
    }

    /// The payload's environment after substitution, `PATH` included.
    pub fn env(&self, subst: &Substitutions) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([("PATH".to_string(), "/usr/bin".to_string())]);
        for (k, v) in &self.payload.env {
            env.insert(k.clone(), subst.apply(v));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
        [payload]
        name = "aether"
        path = "/usr/bin/aether"
        args = ["node", "--dev", "--data-dir", "{data_dir}", "--rpc-addr", "{rpc}", "{other}"]
        env = { KEY = "{sealing_key_file}", ROLE = "{role}" }
        [restart]
        max_restarts = 3
        initial_backoff_ms = 10
        max_backoff_ms = 100
        stable_after_secs = 5
        [system]
        data_dir = "/data"
        hostname = "v1"
    "#;

    fn subst() -> Substitutions {
        Substitutions {
            rpc: "0.0.0.0:8545".into(),
            data_dir: "/data".into(),
            role: "validator".into(),
            sealing_key_file: "/run/aether/sealing.key".into(),
        }
    }

    #[test]
    fn parses_and_substitutes() {
        let cfg = ApplianceConfig::parse(FULL).unwrap();
        assert_eq!(cfg.restart.max_restarts, 3);
        assert_eq!(cfg.system.hostname, "v1");
        assert_eq!(
            cfg.args(&subst()),
            vec![
                "node",
                "--dev",
                "--data-dir",
                "/data",
                "--rpc-addr",
                "0.0.0.0:8545",
                "{other}"
            ]
        );
        let env = cfg.env(&subst());
        assert_eq!(env["KEY"], "/run/aether/sealing.key");
        assert_eq!(env["ROLE"], "validator");
        assert_eq!(env["PATH"], "/usr/bin");
    }

    #[test]
    fn defaults_apply() {
        let cfg = ApplianceConfig::parse("[payload]\nname = \"p\"\npath = \"/p\"\n").unwrap();
        assert_eq!(cfg.restart, RestartConfig::default());
        assert_eq!(cfg.system, SystemConfig::default());
        assert!(cfg.payload.args.is_empty());
    }

    #[test]
    fn rejects_bad_configs() {
        for text in [
            "",
            "[payload]\nname = \"p\"\npath = \"p\"\n",
            "[payload]\nname = \"\"\npath = \"/p\"\n",
            "[payload]\nname = \"p\"\npath = \"/p\"\ntypo = 1\n",
            "[payload]\nname = \"p\"\npath = \"/p\"\n[system]\ndata_dir = \"/\"\n",
            "[payload]\nname = \"p\"\npath = \"/p\"\n[restart]\ninitial_backoff_ms = 5\nmax_backoff_ms = 1\n",
        ] {
            assert!(ApplianceConfig::parse(text).is_err(), "accepted: {text}");
        }
    }
}
