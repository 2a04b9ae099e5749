//! The one error type of evidence verification and the one list of check names.

use aether_snp_evidence::SnpError;
use aether_tdx_evidence::VerifyError as TdxError;

use crate::{TeeKind, TrustRoot};

/// Why evidence was rejected. Every value names exactly one check
/// ([`EvidenceError::check`]), one of [`CHECK_NAMES`].
///
/// The TEE-specific checks keep their crate's error (and its check name);
/// the checks this crate adds over both are their own variants. A debug
/// guest is always [`EvidenceError::Debug`] (check `debug`), whichever TEE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// An SEV-SNP check failed (see `aether-snp-evidence`).
    #[error("SEV-SNP: {0}")]
    Snp(SnpError),
    /// A TDX check failed (see `aether-tdx-evidence`).
    #[error("TDX: {0}")]
    Tdx(TdxError),
    /// The evidence verifies up to a root the policy does not trust (for
    /// example the simulated root on a production chain).
    #[error(
        "the evidence chains to the {root} root, which the policy does not trust (trusted: {trusted})"
    )]
    RootNotAllowed {
        /// The root the evidence chains to.
        root: TrustRoot,
        /// The policy's roots, comma-separated.
        trusted: String,
    },
    /// The guest is debuggable (SNP guest policy DEBUG, TDX TUD bits): its
    /// memory is open to the host, so its evidence proves nothing. Never
    /// accepted; there is no policy switch.
    #[error("{tee} guest is debuggable ({detail}); debug guests are never accepted")]
    Debug {
        /// The TEE.
        tee: TeeKind,
        /// What marks it as debuggable.
        detail: String,
    },
    /// A dependency panicked on this input; the panic was contained and the
    /// evidence rejected (a bug to report, never an acceptance).
    #[error("internal error (contained panic): {0}")]
    Internal(String),
}

impl EvidenceError {
    /// The stable name of the failed check, one of [`CHECK_NAMES`].
    pub fn check(&self) -> &'static str {
        match self {
            EvidenceError::Snp(SnpError::DebugNotAllowed { .. })
            | EvidenceError::Tdx(TdxError::DebugAttribute { .. })
            | EvidenceError::Debug { .. } => "debug",
            EvidenceError::Snp(e) => e.check(),
            EvidenceError::Tdx(e) => e.check(),
            EvidenceError::RootNotAllowed { .. } => "root_not_allowed",
            EvidenceError::Internal(_) => "internal",
        }
    }

    /// The TEE the failed check belongs to, when it is TEE-specific.
    pub fn tee(&self) -> Option<TeeKind> {
        match self {
            EvidenceError::Snp(_) => Some(TeeKind::Snp),
            EvidenceError::Tdx(_) => Some(TeeKind::Tdx),
            EvidenceError::Debug { tee, .. } => Some(*tee),
            EvidenceError::RootNotAllowed { .. } | EvidenceError::Internal(_) => None,
        }
    }
}

impl From<SnpError> for EvidenceError {
    fn from(e: SnpError) -> Self {
        match e {
            SnpError::DebugNotAllowed { policy } => EvidenceError::Debug {
                tee: TeeKind::Snp,
                detail: format!("guest policy 0x{policy:x} has DEBUG (bit 19) set"),
            },
            e => EvidenceError::Snp(e),
        }
    }
}

impl From<TdxError> for EvidenceError {
    fn from(e: TdxError) -> Self {
        match e {
            TdxError::DebugAttribute { td_attributes, tud } => EvidenceError::Debug {
                tee: TeeKind::Tdx,
                detail: format!("TD attributes {td_attributes}, TUD bits {tud:#04x}"),
            },
            e => EvidenceError::Tdx(e),
        }
    }
}

/// Every name [`EvidenceError::check`] can return: the SEV-SNP checks
/// (`aether_snp_evidence::CHECK_NAMES`), then the TDX checks
/// (`aether_tdx_evidence::CHECKS`) not already named, then this crate's
/// (`root_not_allowed`, `debug`). The TEE crates' own debug names
/// (`debug_policy`, `debug_attribute`) are folded into `debug`. Built at
/// compile time from the two crates' lists, so it cannot drift from them.
pub const CHECK_NAMES: &[&str] = ALL.split_at(UNION.1).0;

/// Check names of the TEE crates that this crate reports as `debug`.
const FOLDED: [&str; 2] = ["debug_policy", "debug_attribute"];
/// The checks this crate adds (`internal` is also a TDX name).
const OWN: [&str; 3] = ["root_not_allowed", "debug", "internal"];
const SOURCES: [&[&str]; 3] = [
    aether_snp_evidence::CHECK_NAMES,
    aether_tdx_evidence::CHECKS,
    &OWN,
];
/// Room for every source name; the union fills the first `UNION.1`.
const MAX: usize = SOURCES[0].len() + SOURCES[1].len() + SOURCES[2].len();
const UNION: ([&str; MAX], usize) = union();
const ALL: &[&str; MAX] = &UNION.0;

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `SOURCES[src][i]` is listed: not folded, and not named before it.
const fn listed(src: usize, i: usize) -> bool {
    let name = SOURCES[src][i];
    if same(name, FOLDED[0]) || same(name, FOLDED[1]) {
        return false;
    }
    let mut s = 0;
    while s <= src {
        let end = if s == src { i } else { SOURCES[s].len() };
        let mut j = 0;
        while j < end {
            if same(SOURCES[s][j], name) {
                return false;
            }
            j += 1;
        }
        s += 1;
    }
    true
}

/// The listed names in source order, and how many there are.
const fn union() -> ([&'static str; MAX], usize) {
    let mut out = [""; MAX];
    let mut n = 0;
    let mut s = 0;
    while s < SOURCES.len() {
        let mut i = 0;
        while i < SOURCES[s].len() {
            if listed(s, i) {
                out[n] = SOURCES[s][i];
                n += 1;
            }
            i += 1;
        }
        s += 1;
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_are_the_union_of_both_crates_with_debug_folded() {
        let mut got = CHECK_NAMES.to_vec();
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), CHECK_NAMES.len(), "CHECK_NAMES has duplicates");
        for name in aether_snp_evidence::CHECK_NAMES
            .iter()
            .chain(aether_tdx_evidence::CHECKS)
        {
            let expected = if FOLDED.contains(name) { "debug" } else { name };
            assert!(CHECK_NAMES.contains(&expected), "{name}");
        }
        assert!(!CHECK_NAMES.contains(&"debug_policy"));
        assert!(!CHECK_NAMES.contains(&"debug_attribute"));
        // SNP names first, in their order; then the TDX ones; ours last.
        assert_eq!(&CHECK_NAMES[..3], ["parse", "policy_file", "product"]);
        assert_eq!(
            &CHECK_NAMES[CHECK_NAMES.len() - 2..],
            ["root_not_allowed", "debug"]
        );
        // 19 SNP names (without debug_policy), 37 TDX names (without
        // debug_attribute, parse and report_data), root_not_allowed and debug.
        assert_eq!(CHECK_NAMES.len(), 19 + 37 + 2);
    }

    #[test]
    fn debug_errors_of_both_tees_fold_into_one_check() {
        let snp: EvidenceError = SnpError::DebugNotAllowed { policy: 0xb0000 }.into();
        assert!(matches!(
            snp,
            EvidenceError::Debug {
                tee: TeeKind::Snp,
                ..
            }
        ));
        assert_eq!(snp.check(), "debug");
        let tdx: EvidenceError = TdxError::DebugAttribute {
            td_attributes: "0100001000000000".into(),
            tud: 1,
        }
        .into();
        assert!(matches!(
            tdx,
            EvidenceError::Debug {
                tee: TeeKind::Tdx,
                ..
            }
        ));
        assert_eq!(tdx.check(), "debug");
        // Even when wrapped by hand, the name is the same.
        assert_eq!(
            EvidenceError::Snp(SnpError::DebugNotAllowed { policy: 1 }).check(),
            "debug"
        );
        let others = [
            EvidenceError::from(SnpError::VlekNotAllowed),
            EvidenceError::from(TdxError::Parse { reason: "x".into() }),
            EvidenceError::RootNotAllowed {
                root: TrustRoot::Simulated,
                trusted: String::new(),
            },
            EvidenceError::Internal("x".into()),
        ];
        for e in others {
            assert!(CHECK_NAMES.contains(&e.check()), "{e}");
            assert_ne!(e.check(), "debug");
        }
    }
}
