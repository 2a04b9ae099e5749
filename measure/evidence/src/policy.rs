//! The evidence policy: which roots a chain trusts and the minimum platform
//! security it accepts. A chain parameter (in the genesis), so it is serde.
//!
//! ```toml
//! roots = ["amd-milan", "amd-genoa", "amd-turin", "intel-sgx-root-ca"]
//! snp_allowed_report_versions = [2, 3, 5]
//! max_vmpl = 0
//! snp_allow_vlek = true
//! tdx_accepted_tcb_statuses = ["UpToDate"]
//! # tdx_min_tee_tcb_svn = "03000000000000000000000000000000"
//!
//! [snp_min_tcb]          # minimum REPORTED_TCB components
//! bootloader = 0
//! tee = 0
//! snp = 0
//! microcode = 0
//! fmc = 0                # Turin only
//! ```
//!
//! Every field is optional (absent fields take [`EvidencePolicy::production`]'s
//! value) and unknown fields are an error. There is deliberately no
//! `allow_debug`: debug guests are never accepted.

use aether_snp_evidence::{MinTcb, Product};
use aether_tdx_evidence::{HexBytes, TcbStatus};
use serde::{Deserialize, Serialize};

use crate::TrustRoot;

/// What evidence must satisfy beyond valid signatures: the roots it may
/// chain to and the minimum TCB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidencePolicy {
    /// The roots evidence may chain to. A non-dev chain must not list
    /// [`TrustRoot::Simulated`] ([`EvidencePolicy::trusts_test_root`]).
    pub roots: Vec<TrustRoot>,
    /// Minimum SEV-SNP REPORTED_TCB, component by component.
    pub snp_min_tcb: MinTcb,
    /// TDX TCB statuses accepted (default `UpToDate` only; `Revoked` never).
    pub tdx_accepted_tcb_statuses: Vec<TcbStatus>,
    /// Minimum TDX TEE_TCB_SVN, component by component (none by default).
    pub tdx_min_tee_tcb_svn: Option<HexBytes<16>>,
    /// SEV-SNP report versions accepted (default 2, 3 and 5).
    pub snp_allowed_report_versions: Vec<u32>,
    /// Highest SEV-SNP VMPL a report may come from (default 0: the guest
    /// kernel itself, not a less privileged level).
    pub max_vmpl: u32,
    /// Accept VLEK-signed SEV-SNP reports (the key cloud providers such as
    /// AWS load instead of the per-chip VCEK). Default true.
    pub snp_allow_vlek: bool,
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        Self::production()
    }
}

impl EvidencePolicy {
    /// The production policy: AMD's Milan, Genoa and Turin ARKs and Intel's
    /// SGX Root CA; SNP report versions 2, 3 and 5 at VMPL 0, VCEK or VLEK,
    /// no TCB minimum (a chain sets its own in the genesis); TDX `UpToDate`
    /// only.
    pub fn production() -> Self {
        Self {
            roots: vec![
                TrustRoot::AmdArk(Product::Milan),
                TrustRoot::AmdArk(Product::Genoa),
                TrustRoot::AmdArk(Product::Turin),
                TrustRoot::IntelSgxRootCa,
            ],
            snp_min_tcb: MinTcb::default(),
            tdx_accepted_tcb_statuses: vec![TcbStatus::UpToDate],
            tdx_min_tee_tcb_svn: None,
            snp_allowed_report_versions: vec![2, 3, 5],
            max_vmpl: 0,
            snp_allow_vlek: true,
        }
    }

    /// This policy, also trusting the simulated test root (dev chains only).
    pub fn with_simulated(mut self) -> Self {
        if !self.roots.contains(&TrustRoot::Simulated) {
            self.roots.push(TrustRoot::Simulated);
        }
        self
    }

    /// Whether `root` is among the policy's roots.
    pub fn trusts(&self, root: TrustRoot) -> bool {
        self.roots.contains(&root)
    }

    /// True when the policy trusts a test root: a node must refuse to run a
    /// non-dev chain with such a policy.
    pub fn trusts_test_root(&self) -> bool {
        self.roots.iter().any(TrustRoot::is_test_root)
    }

    /// The roots, comma-separated (for messages).
    pub(crate) fn roots_text(&self) -> String {
        let names: Vec<&str> = self.roots.iter().map(TrustRoot::name).collect();
        names.join(",")
    }

    /// The SEV-SNP crate's policy for this one: no expectations on
    /// measurement, report data or host data (the ledger checks those against
    /// its registry and the receipt), debug never allowed, products decided by
    /// the roots.
    pub(crate) fn snp_policy(&self) -> aether_snp_evidence::Policy {
        aether_snp_evidence::Policy {
            allow_debug: false,
            max_vmpl: self.max_vmpl,
            allow_vlek: self.snp_allow_vlek,
            allowed_report_versions: self.snp_allowed_report_versions.clone(),
            allowed_products: Product::ALL.to_vec(),
            min_tcb: self.snp_min_tcb,
            ..aether_snp_evidence::Policy::default()
        }
    }

    /// The TDX crate's policy for this one (debug never allowed).
    pub(crate) fn tdx_policy(&self) -> aether_tdx_evidence::Policy {
        aether_tdx_evidence::Policy {
            accepted_tcb_statuses: self.tdx_accepted_tcb_statuses.clone(),
            allow_debug: false,
            min_tee_tcb_svn: self.tdx_min_tee_tcb_svn,
            ..aether_tdx_evidence::Policy::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_trusts_vendors_only_and_simulated_is_opt_in() {
        let p = EvidencePolicy::production();
        assert!(!p.trusts_test_root());
        assert_eq!(p.roots.len(), 4);
        assert_eq!(p, EvidencePolicy::default());
        let dev = p.clone().with_simulated().with_simulated();
        assert!(dev.trusts_test_root());
        assert_eq!(dev.roots.len(), 5);
        assert!(!p.snp_policy().allow_debug && !p.tdx_policy().allow_debug);
    }

    #[test]
    fn serde_round_trip_defaults_and_unknown_fields() {
        let p = EvidencePolicy::production().with_simulated();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<EvidencePolicy>(&json).unwrap(), p);
        assert!(json.contains("\"simulated\""), "{json}");
        assert_eq!(
            serde_json::from_str::<EvidencePolicy>("{}").unwrap(),
            EvidencePolicy::production()
        );
        let partial: EvidencePolicy = serde_json::from_str(
            r#"{"roots": ["simulated"], "snp_min_tcb": {"snp": 8}, "tdx_accepted_tcb_statuses": ["UpToDate", "SWHardeningNeeded"]}"#,
        )
        .unwrap();
        assert_eq!(partial.roots, vec![TrustRoot::Simulated]);
        assert_eq!(partial.snp_min_tcb.snp, 8);
        assert_eq!(partial.max_vmpl, 0);
        for bad in [
            r#"{"allow_debug": true}"#,
            r#"{"roots": ["custom"]}"#,
            r#"{"snp_min_tcb": {"snpp": 1}}"#,
        ] {
            assert!(
                serde_json::from_str::<EvidencePolicy>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
