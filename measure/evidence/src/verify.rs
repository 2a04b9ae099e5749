//! [`verify`] and the caching [`Verifier`]: the same checks, in the same
//! order, with the same results; the verifier only skips work whose result
//! it already holds.
//!
//! Order of the checks (the first failure is returned):
//!
//! * SEV-SNP: report parse; VCEK/VLEK chain to a known root (the policy's
//!   roots tried first); `root_not_allowed`; then the report checks of
//!   `aether-snp-evidence` (certificate validity, signature, signer kind,
//!   product, version, chip id, reported TCB, minimum TCB, `debug`, SMT,
//!   migration agent, single socket, ABI, VMPL).
//! * TDX: collateral parse; the root its chains name (`root_not_allowed`
//!   when known but untrusted); then `aether-tdx-evidence`'s pipeline with
//!   that root (quote parse, header, DCAP chains and signatures, TCB level,
//!   `debug`, TCB status, TEE TCB SVN).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::snp::{SnpReport, VerifiedChain};
use crate::tdx::Collateral;
use crate::{Claims, Evidence, EvidenceError, EvidencePolicy, TrustRoot, snp, tdx};

/// Verifies `evidence` against `policy` at `at_unix_secs` (the block time):
/// the claims it vouches for, or the first failed check.
///
/// Pure and deterministic: the result depends only on the arguments (the
/// embedded roots are constants). It never panics, whatever the bytes: a
/// panic inside a dependency would be contained and returned as
/// [`EvidenceError::Internal`].
pub fn verify(
    evidence: &Evidence,
    policy: &EvidencePolicy,
    at_unix_secs: u64,
) -> Result<Claims, EvidenceError> {
    let ctx = Context::new(policy, false);
    contained(|| ctx.verify(evidence, at_unix_secs, None))
}

/// [`verify`] with memory: verified SEV-SNP certificate chains and parsed
/// TDX collateral are kept, keyed by the SHA-256 of their exact bytes, so
/// that repeated evidence from one machine costs only the per-report work.
/// Results are identical to [`verify`] with the same policy (chains are
/// time-independent; validity periods are still checked at each time).
///
/// `Send + Sync`: share one verifier between threads (e.g. rayon workers);
/// the caches are behind read-write locks and bounded
/// ([`Verifier::CACHE_ENTRIES`] each; a full cache is emptied).
pub struct Verifier {
    policy: EvidencePolicy,
    ctx: Context,
    caches: Caches,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Bound of each cache (chains, collateral).
    pub const CACHE_ENTRIES: usize = 4096;

    /// A verifier for `policy`.
    pub fn new(policy: EvidencePolicy) -> Self {
        Self {
            ctx: Context::new(&policy, true),
            policy,
            caches: Caches::default(),
        }
    }

    /// Verifies `e` at `at_unix_secs`, as [`verify`] with this verifier's policy.
    pub fn verify(&self, e: &Evidence, at_unix_secs: u64) -> Result<Claims, EvidenceError> {
        contained(|| self.ctx.verify(e, at_unix_secs, Some(&self.caches)))
    }

    /// The policy.
    pub fn policy(&self) -> &EvidencePolicy {
        &self.policy
    }
}

/// The policy in the forms the TEE crates take, and (for a [`Verifier`])
/// long-lived TDX verifiers, which memoise decoded PCK certificates.
struct Context {
    policy: EvidencePolicy,
    snp_policy: snp::Policy,
    tdx_policy: tdx::Policy,
    tdx_verifiers: Option<TdxVerifiers>,
}

struct TdxVerifiers {
    intel: tdx::Verifier,
    simulated: tdx::Verifier,
}

impl Context {
    /// `keep_verifiers`: build the TDX verifiers once (a [`Verifier`]) rather
    /// than a fresh one per call ([`verify`], which carries no state).
    fn new(policy: &EvidencePolicy, keep_verifiers: bool) -> Self {
        Self {
            policy: policy.clone(),
            snp_policy: policy.snp_policy(),
            tdx_policy: policy.tdx_policy(),
            tdx_verifiers: keep_verifiers.then(|| TdxVerifiers {
                intel: crate::roots::tdx_verifier(TrustRoot::IntelSgxRootCa),
                simulated: crate::roots::tdx_verifier(TrustRoot::Simulated),
            }),
        }
    }

    fn verify(
        &self,
        evidence: &Evidence,
        at: u64,
        caches: Option<&Caches>,
    ) -> Result<Claims, EvidenceError> {
        match evidence {
            Evidence::Snp { report, vek, chain } => {
                self.verify_snp(report, vek, chain.as_deref(), at, caches)
            }
            Evidence::Tdx { quote, collateral } => self.verify_tdx(quote, collateral, at, caches),
        }
    }

    fn verify_snp(
        &self,
        report: &[u8],
        vek: &[u8],
        chain: Option<&[u8]>,
        at: u64,
        caches: Option<&Caches>,
    ) -> Result<Claims, EvidenceError> {
        let parsed = SnpReport::parse(report)?;
        let (root, chain) = match caches {
            None => {
                let (root, c) = snp::find_chain(vek, chain, &self.policy)?;
                (root, Arc::new(c))
            }
            Some(caches) => {
                let key = content_key(&[Some(vek), chain]);
                match caches.chains.get(&key) {
                    Some(hit) => hit,
                    None => {
                        let (root, c) = snp::find_chain(vek, chain, &self.policy)?;
                        let entry = (root, Arc::new(c));
                        caches.chains.insert(key, entry.clone());
                        entry
                    }
                }
            }
        };
        snp::check_root(root, &self.policy)?;
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        let verified = chain.verify_parsed_unix(&parsed, &self.snp_policy, at)?;
        Ok(snp::claims(&verified, &parsed, root))
    }

    fn verify_tdx(
        &self,
        quote: &[u8],
        collateral: &[u8],
        at: u64,
        caches: Option<&Caches>,
    ) -> Result<Claims, EvidenceError> {
        let collateral = match caches {
            None => Arc::new(Collateral::from_json(collateral)?),
            Some(caches) => {
                let key = content_key(&[Some(collateral)]);
                match caches.collaterals.get(&key) {
                    Some(hit) => hit,
                    None => {
                        let parsed = Arc::new(Collateral::from_json(collateral)?);
                        caches.collaterals.insert(key, parsed.clone());
                        parsed
                    }
                }
            }
        };
        let (root, known) = tdx::claimed_root(&collateral, &self.policy);
        if known {
            snp::check_root(root, &self.policy)?;
        }
        let fresh;
        let verifier = match (&self.tdx_verifiers, root) {
            (Some(v), TrustRoot::Simulated) => &v.simulated,
            (Some(v), _) => &v.intel,
            (None, root) => {
                fresh = crate::roots::tdx_verifier(root);
                &fresh
            }
        };
        let verified = verifier.verify(quote, &collateral, at, &self.tdx_policy)?;
        tdx::claims(&verified, quote, root)
    }
}

/// A key naming exact bytes: SHA-256 over each part's presence, length and
/// bytes (so that moving bytes from one part to another changes the key).
fn content_key(parts: &[Option<&[u8]>]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        match part {
            None => h.update([0u8]),
            Some(bytes) => {
                h.update([1u8]);
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            }
        }
    }
    h.finalize().into()
}

/// The caches of a [`Verifier`].
#[derive(Default)]
struct Caches {
    chains: Bounded<[u8; 32], (TrustRoot, Arc<VerifiedChain>)>,
    collaterals: Bounded<[u8; 32], Arc<Collateral>>,
}

/// A bounded map behind a read-write lock. Only successful, deterministic
/// results go in (a verified chain, parsed collateral), so a hit returns
/// exactly what the computation would.
struct Bounded<K, V> {
    map: RwLock<HashMap<K, V>>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Bounded<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(key).cloned()
    }

    fn insert(&self, key: K, value: V) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Verifier::CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key, value);
    }
}

/// Runs `f`, turning a panic into [`EvidenceError::Internal`].
///
/// Last line of defence only: no panic is known (the TEE crates bound their
/// inputs and are fuzzed). `AssertUnwindSafe` is sound because a panic
/// leaves nothing half-updated that a later call reads: the caches are only
/// written with complete values, and a poisoned lock is recovered (its map
/// holds only complete entries).
fn contained<T>(f: impl FnOnce() -> Result<T, EvidenceError>) -> Result<T, EvidenceError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        Err(EvidenceError::Internal(detail))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Verifier>();
        assert_send_sync::<Evidence>();
        assert_send_sync::<Claims>();
        assert_send_sync::<EvidenceError>();
    }

    #[test]
    fn content_keys_separate_parts() {
        let a = content_key(&[Some(b"ab"), Some(b"c")]);
        let b = content_key(&[Some(b"a"), Some(b"bc")]);
        let c = content_key(&[Some(b"abc"), None]);
        assert!(a != b && b != c && a != c);
    }

    #[test]
    fn panics_are_contained() {
        let e = contained::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(e.check(), "internal");
        assert!(e.to_string().contains("boom"));
    }

    #[test]
    fn full_caches_are_emptied_not_grown() {
        let b: Bounded<usize, usize> = Bounded::default();
        for i in 0..Verifier::CACHE_ENTRIES + 10 {
            b.insert(i, i);
        }
        let len = b.map.read().unwrap().len();
        assert!(len <= Verifier::CACHE_ENTRIES, "{len}");
        assert_eq!(
            b.get(&(Verifier::CACHE_ENTRIES + 9)),
            Some(Verifier::CACHE_ENTRIES + 9)
        );
    }
}
