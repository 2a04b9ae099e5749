//! Shared test support: the model, loaded once per test binary.
#![allow(dead_code)]

use aether_infer::Model;
use std::sync::OnceLock;

include!("golden_inputs.rs");

/// Golden output sha256 and trace root of each fixed input, computed once
/// with this crate and pinned: any change of the kernels' arithmetic, the
/// checkpoint format or the hashing changes them. `build_flags.rs`
/// checks builds with other flags against the same values.
pub const GOLDEN: [(&str, &str, &str); 3] = [
    (
        "weather",
        "a192a53eb09a13acfc6792c8f4304db1c37dfbfb06c6d312342f440286d6c18b",
        "23d8590a13612a74a9810875affac80bea4f8743f8593903b97279e897a1798a",
    ),
    (
        "seq128",
        "e9efb3f5bd734a4f4f333e2d509493f670cada5c6c7a206b88fd404b94d373b9",
        "b7879ab1692c6d8c1a1b350664af23e0d5955a7603fbb2a598dccc82cf179b31",
    ),
    (
        "seq300",
        "d3f176b5c9b0fc5156ab6dbd92d18c2be509433b50bae4e6459596d5bcf70020",
        "a688933180ce9b1cca26946f4593430bc5475bb84e55c48d96dd6603b5f08ead",
    ),
];

/// The pinned model, or `None` (after testkit reported it) when absent.
pub fn model() -> Option<&'static Model> {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = aether_testkit::minilm_model_dir()?;
            Some(Model::load(&dir).unwrap_or_else(|e| panic!("loading {}: {e}", dir.display())))
        })
        .as_ref()
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}
