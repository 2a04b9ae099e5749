//! The roots a chain may trust, and the embedded certificates behind each.
//!
//! | [`TrustRoot`] | name | certificates (embedded) |
//! |---|---|---|
//! | `AmdArk(Milan)` | `amd-milan` | AMD's ARK-Milan, with its ASK (from the `sev` crate) and ASVK (`aether-snp-evidence`) |
//! | `AmdArk(Genoa)` | `amd-genoa` | ARK-Genoa, ASK, ASVK |
//! | `AmdArk(Turin)` | `amd-turin` | ARK-Turin, ASK, ASVK |
//! | `IntelSgxRootCa` | `intel-sgx-root-ca` | Intel's SGX Root CA (from `dcap-qvl`), SHA-256 `44a0196b…74d3` |
//! | `Simulated` | `simulated` | the simulated chain of [`crate::sim`]: an SNP ARK/ASK/ASVK (Milan names) and a TDX root |
//!
//! The SNP certificates of one vendor come as one root set (all AMD
//! products, or the simulated product): a chain is verified against a set,
//! and the root it ends in is then the set's root for the chain's product.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use aether_snp_evidence::{Product, TrustRoots};
use serde::{Deserialize, Serialize};

use crate::claims::TeeKind;
use crate::sim;

/// A root of trust a chain may name in its evidence policy. Only these kinds
/// exist: AMD's and Intel's embedded vendor roots, and the deterministic
/// simulated test root; there is deliberately no "custom root" a policy could
/// smuggle in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum TrustRoot {
    /// AMD's root key (ARK) of a product line, with its ASK and ASVK.
    AmdArk(Product),
    /// Intel's SGX Root CA, the root of TDX DCAP quotes.
    IntelSgxRootCa,
    /// The simulated test root (SNP and TDX): anyone can sign under it, so
    /// only a dev chain may trust it.
    Simulated,
}

impl TrustRoot {
    /// Every root, in the canonical order.
    pub const ALL: [TrustRoot; 5] = [
        TrustRoot::AmdArk(Product::Milan),
        TrustRoot::AmdArk(Product::Genoa),
        TrustRoot::AmdArk(Product::Turin),
        TrustRoot::IntelSgxRootCa,
        TrustRoot::Simulated,
    ];

    /// True for the simulated test root, which a non-dev chain must refuse.
    pub fn is_test_root(&self) -> bool {
        matches!(self, TrustRoot::Simulated)
    }

    /// The stable short name: `amd-milan`, `amd-genoa`, `amd-turin`,
    /// `intel-sgx-root-ca` or `simulated`.
    pub fn name(&self) -> &'static str {
        match self {
            TrustRoot::AmdArk(Product::Milan) => "amd-milan",
            TrustRoot::AmdArk(Product::Genoa) => "amd-genoa",
            TrustRoot::AmdArk(Product::Turin) => "amd-turin",
            TrustRoot::IntelSgxRootCa => "intel-sgx-root-ca",
            TrustRoot::Simulated => "simulated",
        }
    }

    /// Whether evidence of `tee` can chain to this root.
    pub fn covers(&self, tee: TeeKind) -> bool {
        match self {
            TrustRoot::AmdArk(_) => tee == TeeKind::Snp,
            TrustRoot::IntelSgxRootCa => tee == TeeKind::Tdx,
            TrustRoot::Simulated => true,
        }
    }
}

impl fmt::Display for TrustRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A trust-root name that is not one of [`TrustRoot::ALL`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown trust root {0:?} (one of amd-milan, amd-genoa, amd-turin, intel-sgx-root-ca, simulated)"
)]
pub struct UnknownTrustRoot(pub String);

impl FromStr for TrustRoot {
    type Err = UnknownTrustRoot;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrustRoot::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownTrustRoot(s.to_owned()))
    }
}

impl From<TrustRoot> for &'static str {
    fn from(r: TrustRoot) -> Self {
        r.name()
    }
}

impl TryFrom<String> for TrustRoot {
    type Error = UnknownTrustRoot;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A set of SNP roots a chain is verified against.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SnpRootSet {
    /// AMD's ARKs (with ASKs and ASVKs) of every product.
    Amd,
    /// The simulated ARK (with its ASK and ASVK).
    Simulated,
}

impl SnpRootSet {
    /// The root a chain of `product` verified against this set ends in.
    pub(crate) fn root(self, product: Product) -> TrustRoot {
        match self {
            Self::Amd => TrustRoot::AmdArk(product),
            Self::Simulated => TrustRoot::Simulated,
        }
    }

    /// The certificates, decoded and checked once per process (they are
    /// constants of the binary, not inputs).
    pub(crate) fn roots(self) -> &'static TrustRoots {
        static AMD: OnceLock<TrustRoots> = OnceLock::new();
        static SIM: OnceLock<TrustRoots> = OnceLock::new();
        match self {
            Self::Amd => AMD.get_or_init(TrustRoots::amd),
            Self::Simulated => SIM.get_or_init(sim::snp_trust_roots),
        }
    }
}

/// SHA-256 of the DER of the TDX roots: Intel's and the simulated one.
pub(crate) fn tdx_root_of(sha256: &[u8; 32]) -> Option<TrustRoot> {
    if *sha256 == aether_tdx_evidence::INTEL_SGX_ROOT_CA_SHA256 {
        Some(TrustRoot::IntelSgxRootCa)
    } else if *sha256 == sim::tdx_root_sha256() {
        Some(TrustRoot::Simulated)
    } else {
        None
    }
}

/// A fresh TDX verifier for `root` (no state carried between calls).
pub(crate) fn tdx_verifier(root: TrustRoot) -> aether_tdx_evidence::Verifier {
    match root {
        TrustRoot::Simulated => sim::tdx_verifier(),
        _ => aether_tdx_evidence::Verifier::intel(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_stable() {
        let names: Vec<&str> = TrustRoot::ALL.iter().map(TrustRoot::name).collect();
        assert_eq!(
            names,
            [
                "amd-milan",
                "amd-genoa",
                "amd-turin",
                "intel-sgx-root-ca",
                "simulated"
            ]
        );
        for r in TrustRoot::ALL {
            assert_eq!(r.to_string().parse::<TrustRoot>().unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{r}\""));
            assert_eq!(serde_json::from_str::<TrustRoot>(&json).unwrap(), r);
            assert_eq!(r.is_test_root(), r == TrustRoot::Simulated);
        }
        assert!("AMD-Milan".parse::<TrustRoot>().is_err());
        assert!(serde_json::from_str::<TrustRoot>("\"custom\"").is_err());
    }

    #[test]
    fn roots_cover_their_tee() {
        assert!(TrustRoot::AmdArk(Product::Genoa).covers(TeeKind::Snp));
        assert!(!TrustRoot::AmdArk(Product::Genoa).covers(TeeKind::Tdx));
        assert!(TrustRoot::IntelSgxRootCa.covers(TeeKind::Tdx));
        assert!(!TrustRoot::IntelSgxRootCa.covers(TeeKind::Snp));
        assert!(
            TrustRoot::Simulated.covers(TeeKind::Snp) && TrustRoot::Simulated.covers(TeeKind::Tdx)
        );
    }
}
