//! `verify` never panics, whatever the bytes: random evidence, mutations of
//! valid simulated evidence, any time. A mutation that still verifies must
//! vouch for the same measurement and report data as the original.

use std::sync::OnceLock;

use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions};
use aether_evidence::*;
use proptest::prelude::*;

const T: u64 = 1_735_689_600;

fn dev() -> &'static EvidencePolicy {
    static P: OnceLock<EvidencePolicy> = OnceLock::new();
    P.get_or_init(|| EvidencePolicy::production().with_simulated())
}

fn valid() -> &'static [(Evidence, Claims)] {
    static V: OnceLock<Vec<(Evidence, Claims)>> = OnceLock::new();
    V.get_or_init(|| {
        let s = SimSigner::new();
        let m = [7; 48];
        let rd = [9; 64];
        [
            s.snp(m, rd, &SimSnpOptions::default()),
            s.snp(
                m,
                rd,
                &SimSnpOptions {
                    vlek: true,
                    ..SimSnpOptions::default()
                },
            ),
            s.tdx(m, [[1; 48]; 4], rd, &SimTdxOptions::default()),
        ]
        .into_iter()
        .map(|e| {
            let c = verify(&e, dev(), T).expect("valid simulated evidence");
            (e, c)
        })
        .collect()
    })
}

fn shared_verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::new(dev().clone()))
}

/// Verifies with both entry points; they agree; no panic and no contained
/// panic.
fn verify_both(e: &Evidence, at: u64) -> Result<Claims, EvidenceError> {
    let r = verify(e, dev(), at);
    assert_eq!(shared_verifier().verify(e, at), r);
    if let Err(err) = &r {
        assert_ne!(err.check(), "internal", "contained panic: {err}");
        assert!(CHECK_NAMES.contains(&err.check()));
    }
    r
}

/// The byte fields of an evidence value, mutable.
fn fields(e: &mut Evidence) -> Vec<&mut Vec<u8>> {
    match e {
        Evidence::Snp { report, vek, chain } => {
            let mut v = vec![report, vek];
            if let Some(c) = chain {
                v.push(c);
            }
            v
        }
        Evidence::Tdx { quote, collateral } => vec![quote, collateral],
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { field: usize, at: usize, mask: u8 },
    Truncate { field: usize, len: usize },
    Insert { field: usize, at: usize, byte: u8 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..3usize, any::<usize>(), 1..=255u8).prop_map(|(field, at, mask)| Mutation::Flip {
            field,
            at,
            mask
        }),
        (0..3usize, any::<usize>()).prop_map(|(field, len)| Mutation::Truncate { field, len }),
        (0..3usize, any::<usize>(), any::<u8>()).prop_map(|(field, at, byte)| Mutation::Insert {
            field,
            at,
            byte
        }),
    ]
}

fn apply(e: &mut Evidence, muts: &[Mutation]) {
    for m in muts {
        let mut fs = fields(e);
        let n = fs.len();
        match *m {
            Mutation::Flip { field, at, mask } => {
                let f = &mut fs[field % n];
                if !f.is_empty() {
                    let i = at % f.len();
                    f[i] ^= mask;
                }
            }
            Mutation::Truncate { field, len } => {
                let f = &mut fs[field % n];
                let keep = len % (f.len() + 1);
                f.truncate(keep);
            }
            Mutation::Insert { field, at, byte } => {
                let f = &mut fs[field % n];
                let i = at % (f.len() + 1);
                f.insert(i, byte);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_bytes_are_rejected_without_panic(
        a in proptest::collection::vec(any::<u8>(), 0..2048),
        b in proptest::collection::vec(any::<u8>(), 0..2048),
        c in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..2048)),
        at in any::<u64>(),
    ) {
        let snp = Evidence::Snp { report: a.clone(), vek: b.clone(), chain: c };
        prop_assert!(verify_both(&snp, at).is_err());
        let tdx = Evidence::Tdx { quote: a, collateral: b };
        prop_assert!(verify_both(&tdx, at).is_err());
        let _ = snp.claimed_report_data();
        let _ = tdx.digest();
    }

    #[test]
    fn valid_headers_with_random_tails_are_rejected_without_panic(
        which in 0..3usize,
        tail in proptest::collection::vec(any::<u8>(), 0..1500),
        cut in any::<usize>(),
    ) {
        // Keep the first bytes of a valid report/quote so that parsing goes
        // deeper than the length and version checks.
        let (mut e, _) = valid()[which].clone();
        if let Some(f) = fields(&mut e).into_iter().next() {
            let keep = cut % (f.len() + 1);
            f.truncate(keep);
            f.extend_from_slice(&tail);
        }
        let _ = verify_both(&e, T);
    }

    #[test]
    fn mutated_evidence_never_panics_and_never_changes_what_verifies(
        which in 0..3usize,
        muts in proptest::collection::vec(mutation(), 1..4),
    ) {
        let (mut e, claims) = valid()[which].clone();
        apply(&mut e, &muts);
        if let Ok(c) = verify_both(&e, T) {
            prop_assert_eq!(c.measurement, claims.measurement);
            prop_assert_eq!(c.report_data, claims.report_data);
            prop_assert_eq!(c.evidence_digest, claims.evidence_digest);
            prop_assert_eq!(c.root, claims.root);
        }
    }
}
