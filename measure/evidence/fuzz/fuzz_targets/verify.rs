//! `verify` and `Verifier::verify` on hostile evidence: never a panic, the
//! two always agree, and mutated evidence that still verifies vouches for
//! what the original did.
//!
//! Input: first byte = mode. Mode even: the rest is split into the fields of
//! an `Evidence` (SNP or TDX by the next bit; 2-byte little-endian lengths).
//! Mode odd: the rest is XORed into (and may truncate or extend) one field of
//! validly signed simulated evidence.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run verify -- -max_total_time=60`
#![no_main]

use std::sync::OnceLock;

use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions};
use aether_evidence::{Claims, Evidence, EvidencePolicy, Verifier, verify};
use libfuzzer_sys::fuzz_target;

const AT: u64 = 1_735_689_600;

struct Fixture {
    policy: EvidencePolicy,
    verifier: Verifier,
    valid: Vec<(Evidence, Claims)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let policy = EvidencePolicy::production().with_simulated();
        let s = SimSigner::new();
        let valid = [
            s.snp([1; 48], [2; 64], &SimSnpOptions::default()),
            s.snp(
                [1; 48],
                [2; 64],
                &SimSnpOptions {
                    vlek: true,
                    ..SimSnpOptions::default()
                },
            ),
            s.tdx([3; 48], [[4; 48]; 4], [5; 64], &SimTdxOptions::default()),
        ]
        .into_iter()
        .map(|e| {
            let c = verify(&e, &policy, AT).expect("valid simulated evidence");
            (e, c)
        })
        .collect();
        Fixture {
            verifier: Verifier::new(policy.clone()),
            policy,
            valid,
        }
    })
}

fn take<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let len = match data {
        [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])),
        _ => data.len(),
    };
    let rest = data.get(2..).unwrap_or_default();
    let (field, tail) = rest.split_at(len.min(rest.len()));
    *data = tail;
    field
}

fn fields(e: &mut Evidence) -> Vec<&mut Vec<u8>> {
    match e {
        Evidence::Snp { report, vek, chain } => {
            let mut v = vec![report, vek];
            v.extend(chain.as_mut());
            v
        }
        Evidence::Tdx { quote, collateral } => vec![quote, collateral],
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let (evidence, original) = if mode % 2 == 0 {
        let e = if mode & 2 == 0 {
            let report = take(&mut rest).to_vec();
            let vek = take(&mut rest).to_vec();
            let chain = (!rest.is_empty()).then(|| rest.to_vec());
            Evidence::Snp { report, vek, chain }
        } else {
            let quote = take(&mut rest).to_vec();
            Evidence::Tdx {
                quote,
                collateral: rest.to_vec(),
            }
        };
        (e, None)
    } else {
        let (mut e, claims) = f.valid[usize::from(mode >> 1) % f.valid.len()].clone();
        let which = usize::from(mode >> 3);
        let mut fs = fields(&mut e);
        let n = fs.len();
        let field = &mut fs[which % n];
        let offset = usize::from(rest.first().copied().unwrap_or(0)) * 8 % (field.len() + 1);
        for (i, b) in rest.iter().skip(1).enumerate() {
            match field.get_mut(offset + i) {
                Some(x) => *x ^= b,
                None => field.push(*b),
            }
        }
        if mode & 0x80 != 0 {
            field.truncate(offset);
        }
        (e, Some(claims))
    };
    let direct = verify(&evidence, &f.policy, AT);
    assert_eq!(f.verifier.verify(&evidence, AT), direct);
    match (&direct, original) {
        (Err(e), _) => assert_ne!(e.check(), "internal", "contained panic: {e}"),
        (Ok(c), Some(o)) => {
            assert_eq!(c.measurement, o.measurement);
            assert_eq!(c.report_data, o.report_data);
            assert_eq!(c.evidence_digest, o.evidence_digest);
        }
        (Ok(c), None) => panic!("random bytes verified: {c:?}"),
    }
    let _ = evidence.claimed_report_data();
    let _ = evidence.digest();
});
