//! The verification policy: what a verified report must additionally satisfy.
//!
//! Deserialized from TOML or JSON (`--policy FILE`). Every field is optional;
//! an absent field takes the production default shown below, and unknown
//! fields are an error (a misspelt security setting must not be ignored).
//!
//! ```toml
//! allow_debug = false            # DEBUG (bit 19) must be off; true only for a dev network
//! allow_smt = true               # accept guests whose policy allows SMT (bit 16)
//! allow_migration_agent = false  # reject MIGRATE_MA (bit 18)
//! require_single_socket = false  # require SINGLE_SOCKET (bit 20)
//! min_abi_major = 0              # guest policy ABI_MAJOR.ABI_MINOR must be >= this
//! min_abi_minor = 0
//! max_vmpl = 0                   # report VMPL must be <= this
//! allow_vlek = true              # accept VLEK-signed reports
//! allowed_report_versions = [2, 3, 5]
//! allowed_products = ["Milan", "Genoa", "Turin"]
//! measurements = []              # hex, 48 bytes each; if non-empty MEASUREMENT must be one of them
//! # report_data = "…"            # hex, 64 bytes; REPORT_DATA must equal it
//! # host_data = "…"              # hex, 32 bytes; HOST_DATA must equal it
//!
//! [min_tcb]                      # minimum REPORTED_TCB components
//! bootloader = 0
//! tee = 0
//! snp = 0
//! microcode = 0
//! fmc = 0                        # Turin only
//! ```

use serde::{Deserialize, Serialize};

use crate::hexser::de;
use crate::{Product, SnpError};

/// Minimum security version numbers of the REPORTED_TCB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinTcb {
    /// Minimum PSP bootloader SVN.
    pub bootloader: u8,
    /// Minimum PSP OS (TEE) SVN.
    pub tee: u8,
    /// Minimum SNP firmware SVN.
    pub snp: u8,
    /// Minimum microcode patch level.
    pub microcode: u8,
    /// Minimum FMC SVN (applies to Turin reports only).
    pub fmc: u8,
}

/// What a report must satisfy beyond a valid signature and chain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Accept guests whose policy allows debugging (dev networks only).
    pub allow_debug: bool,
    /// Accept guests whose policy allows host SMT.
    pub allow_smt: bool,
    /// Accept guests whose policy allows a migration agent.
    pub allow_migration_agent: bool,
    /// Require guests whose policy restricts them to a single socket.
    pub require_single_socket: bool,
    /// Minimum ABI_MAJOR of the guest policy.
    pub min_abi_major: u8,
    /// Minimum ABI_MINOR of the guest policy (compared after the major).
    pub min_abi_minor: u8,
    /// Highest VMPL at which a report may have been requested.
    pub max_vmpl: u32,
    /// Accept VLEK-signed reports.
    pub allow_vlek: bool,
    /// Accepted report versions.
    pub allowed_report_versions: Vec<u32>,
    /// Accepted products.
    pub allowed_products: Vec<Product>,
    /// Minimum REPORTED_TCB.
    pub min_tcb: MinTcb,
    /// Accepted launch measurements (any of); empty = any measurement.
    #[serde(deserialize_with = "de::vec_fixed::<_, 48>")]
    pub measurements: Vec<[u8; 48]>,
    /// Required REPORT_DATA.
    #[serde(deserialize_with = "de::opt_fixed::<_, 64>")]
    pub report_data: Option<[u8; 64]>,
    /// Required HOST_DATA.
    #[serde(deserialize_with = "de::opt_fixed::<_, 32>")]
    pub host_data: Option<[u8; 32]>,
}

impl Default for Policy {
    /// Production defaults: debug off, SMT allowed, no migration agent, VMPL
    /// 0, VLEK allowed, report versions 2/3/5, all products, minimum TCB zero,
    /// no expected measurement/report data/host data.
    fn default() -> Self {
        Self {
            allow_debug: false,
            allow_smt: true,
            allow_migration_agent: false,
            require_single_socket: false,
            min_abi_major: 0,
            min_abi_minor: 0,
            max_vmpl: 0,
            allow_vlek: true,
            allowed_report_versions: vec![2, 3, 5],
            allowed_products: Product::ALL.to_vec(),
            min_tcb: MinTcb::default(),
            measurements: Vec::new(),
            report_data: None,
            host_data: None,
        }
    }
}

impl Policy {
    /// Parses a TOML policy document.
    pub fn from_toml_str(text: &str) -> Result<Self, SnpError> {
        toml::from_str(text).map_err(|e| SnpError::PolicyParse(e.to_string()))
    }

    /// Parses a JSON policy document.
    pub fn from_json_str(text: &str) -> Result<Self, SnpError> {
        serde_json::from_str(text).map_err(|e| SnpError::PolicyParse(e.to_string()))
    }

    /// Parses a policy file's bytes: JSON when it starts with `{`, else TOML.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnpError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| SnpError::PolicyParse(format!("not UTF-8: {e}")))?;
        if text.trim_start().starts_with('{') {
            Self::from_json_str(text)
        } else {
            Self::from_toml_str(text)
        }
    }
}
