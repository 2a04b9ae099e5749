//! The model: loading, tokenisation, a run with checkpoints, and segment
//! re-execution.
//!
//! # Checkpoints and segments
//! A run of a model with `L` encoder layers (all-MiniLM-L6-v2: L = 6) has
//! `L + 2` checkpoints and `L + 1` segments; segment `j` maps checkpoint
//! `j − 1`'s data to checkpoint `j`'s:
//!
//! | checkpoint | data ([`crate::checkpoint`]) | segment producing it |
//! |---|---|---|
//! | 0 | input token ids, u32 `[n]` (after truncation) | — |
//! | 1 | hidden states after layer 1, f32 `[n, hidden]` | 1: embeddings + layer 1 |
//! | j (2..=L) | hidden states after layer j | j: layer j |
//! | L + 1 | the embedding, f32 `[hidden]` | L + 1: mean pooling + L2 normalisation |
//!
//! [`Model::run`] *is* the chain of [`Model::run_segment`] calls over the
//! encoded data, so re-running any segment alone from checkpoint `j − 1`'s
//! data reproduces checkpoint `j` exactly, by construction (and by test).
//! A segment checks its input: token ids must be in the vocabulary and
//! 1..=`max_seq_len` long; hidden states must be `[n, hidden]` with the same
//! bound on `n`; anything else is [`InferError::SegmentInput`].
//!
//! # Input
//! The input is token ids including the special tokens (`[CLS] … [SEP]`),
//! as the tokenizer makes them from text. An input longer than the model's
//! `max_seq_length` (256, from `sentence_bert_config.json`) keeps its first
//! `max_seq_length − 1` tokens and its last one — for a tokenised text that
//! is exactly sentence-transformers' truncation (the text is cut and
//! `[SEP]` stays last). An empty input or an id outside the vocabulary is an
//! error.

use crate::bert::{Bert, BertShape, Config};
use crate::checkpoint::{Tensor, encode_f32, encode_tokens};
use crate::error::InferError;
use crate::files::{self, ModelId, ModelSpec};
use crate::kernels;
use crate::trace::Trace;
use std::path::Path;

/// A loaded model, ready to run. Immutable: share it between threads.
pub struct Model {
    id: ModelId,
    config: Config,
    bert: Bert,
    #[cfg(feature = "text")]
    tokenizer: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &hex::encode(self.id))
            .field("shape", self.bert.shape())
            .field("max_seq_len", &self.config.max_seq_len)
            .finish_non_exhaustive()
    }
}

/// The result of [`Model::run`].
#[derive(Clone, Debug)]
pub struct ModelRun {
    /// Number of input tokens before truncation.
    pub input_len: usize,
    /// The tokens the model ran on (checkpoint 0).
    pub tokens: Vec<u32>,
    /// The sentence embedding (unit length).
    pub embedding: Vec<f32>,
    /// Every checkpoint's data, in order (see the module docs).
    pub checkpoints: Vec<Vec<u8>>,
    /// Checkpoint hashes and the trace root.
    pub trace: Trace,
}

impl ModelRun {
    /// The embedding as little-endian f32 bytes: the job's output.
    pub fn output_bytes(&self) -> Vec<u8> {
        self.embedding
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    /// sha256 of [`ModelRun::output_bytes`]: the figure the golden tests pin.
    pub fn output_sha256(&self) -> [u8; 32] {
        files::sha256_of(&self.output_bytes())
    }
}

/// Cuts `tokens` to `max` (≥ 2) by keeping the first `max − 1` and the last.
pub fn truncate_tokens(tokens: &[u32], max: usize) -> Vec<u32> {
    if tokens.len() <= max {
        return tokens.to_vec();
    }
    let mut out = tokens[..max - 1].to_vec();
    out.extend_from_slice(&tokens[tokens.len() - 1..]);
    out
}

impl Model {
    /// Loads all-MiniLM-L6-v2 from `dir`, checking every file against
    /// [`ModelSpec::ALL_MINILM_L6_V2`].
    pub fn load(dir: &Path) -> Result<Model, InferError> {
        Model::load_with_spec(dir, &ModelSpec::ALL_MINILM_L6_V2)
    }

    /// Loads the model in `dir`, checking every file against `spec`.
    pub fn load_with_spec(dir: &Path, spec: &ModelSpec) -> Result<Model, InferError> {
        let files = files::read_checked(dir, spec)?;
        let config = Config::parse(&files[0], &files[1], &files[2], &files[3])?;
        #[cfg(feature = "text")]
        let tokenizer = load_tokenizer(&files[files::TOKENIZER])?;
        let bert = Bert::load(&config, &files[files::WEIGHTS])?;
        Ok(Model {
            id: spec.model_id(),
            config,
            bert,
            #[cfg(feature = "text")]
            tokenizer,
        })
    }

    /// The model id (see [`crate::files`]).
    pub fn id(&self) -> ModelId {
        self.id
    }

    /// The BERT shape.
    pub fn shape(&self) -> &BertShape {
        self.bert.shape()
    }

    /// The longest input in tokens (`max_seq_length`); longer inputs are truncated.
    pub fn max_seq_len(&self) -> usize {
        self.config.max_seq_len
    }

    /// Checkpoints per run: layers + 2.
    pub fn checkpoint_count(&self) -> usize {
        self.shape().layers + 2
    }

    /// Segments per run: layers + 1 (numbered from 1).
    pub fn segment_count(&self) -> usize {
        self.shape().layers + 1
    }

    /// A short name of checkpoint `index` ("input tokens", "layer 3", "embedding").
    pub fn checkpoint_name(&self, index: usize) -> String {
        match index {
            0 => "input tokens".into(),
            i if i <= self.shape().layers => format!("layer {i}"),
            _ => "embedding".into(),
        }
    }

    /// Tokenises text with the pinned tokenizer: WordPiece ids with `[CLS]`
    /// and `[SEP]`, not yet truncated.
    #[cfg(feature = "text")]
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, InferError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| InferError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Checks token ids and truncates them (see the module docs).
    pub fn prepare_tokens(&self, tokens: &[u32]) -> Result<Vec<u32>, InferError> {
        if tokens.is_empty() {
            return Err(InferError::EmptyInput);
        }
        let vocab_size = self.shape().vocab_size;
        if let Some((position, id)) = tokens
            .iter()
            .enumerate()
            .find(|(_, t)| **t as usize >= vocab_size)
        {
            return Err(InferError::UnknownToken {
                id: *id,
                position,
                vocab_size,
            });
        }
        Ok(truncate_tokens(tokens, self.max_seq_len()))
    }

    /// Embeds text: [`Model::tokenize`] then [`Model::run`].
    #[cfg(feature = "text")]
    pub fn run_text(&self, text: &str) -> Result<ModelRun, InferError> {
        self.run(&self.tokenize(text)?)
    }

    /// Runs the model on token ids, recording every checkpoint.
    pub fn run(&self, tokens: &[u32]) -> Result<ModelRun, InferError> {
        let prepared = self.prepare_tokens(tokens)?;
        let mut checkpoints = Vec::with_capacity(self.checkpoint_count());
        checkpoints.push(encode_tokens(&prepared));
        for j in 1..=self.segment_count() {
            let next = self.run_segment(j, &checkpoints[j - 1])?;
            checkpoints.push(next);
        }
        let embedding = match checkpoints.last().map(|d| Tensor::decode(d)) {
            Some(Ok(Tensor::F32 { values, .. })) => values,
            _ => unreachable!("the last segment encodes an f32 vector"),
        };
        Ok(ModelRun {
            input_len: tokens.len(),
            tokens: prepared,
            embedding,
            trace: Trace::of_data(&checkpoints),
            checkpoints,
        })
    }

    /// Re-executes segment `segment` (1..=[`Model::segment_count`]) from
    /// checkpoint `segment − 1`'s data; returns checkpoint `segment`'s data.
    pub fn run_segment(&self, segment: usize, input: &[u8]) -> Result<Vec<u8>, InferError> {
        let count = self.segment_count();
        if segment == 0 || segment > count {
            return Err(InferError::NoSuchSegment { segment, count });
        }
        let bad = |reason: String| InferError::SegmentInput { segment, reason };
        let (h, max) = (self.shape().hidden, self.max_seq_len());
        let tensor = Tensor::decode(input)?;
        if segment == 1 {
            let Tensor::Tokens(tokens) = tensor else {
                return Err(bad("expects token ids (checkpoint 0)".into()));
            };
            if tokens.is_empty() || tokens.len() > max {
                return Err(bad(format!("{} tokens, expected 1..={max}", tokens.len())));
            }
            let vocab = self.shape().vocab_size;
            if let Some(t) = tokens.iter().find(|t| **t as usize >= vocab) {
                return Err(bad(format!(
                    "token id {t} is not below the vocabulary size {vocab}"
                )));
            }
            let x = self.bert.embed(&tokens);
            let y = self.bert.layer(0, &x, tokens.len());
            return Ok(encode_f32(&[tokens.len(), h], &y));
        }
        let Tensor::F32 { shape, values } = tensor else {
            return Err(bad("expects hidden states, found token ids".into()));
        };
        let n = match shape[..] {
            [n, w] if w == h && (1..=max).contains(&n) => n,
            _ => {
                return Err(bad(format!(
                    "hidden states of shape {shape:?}, expected [1..={max}, {h}]"
                )));
            }
        };
        if segment < count {
            let y = self.bert.layer(segment - 1, &values, n);
            Ok(encode_f32(&[n, h], &y))
        } else {
            Ok(encode_f32(
                &[h],
                &kernels::mean_pool_normalize(&values, n, h),
            ))
        }
    }
}

#[cfg(feature = "text")]
fn load_tokenizer(bytes: &[u8]) -> Result<tokenizers::Tokenizer, InferError> {
    let bad = |reason: String| InferError::BadModelFile {
        file: "tokenizer.json".into(),
        reason,
    };
    let mut t = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
    // tokenizer.json carries the Hub defaults (pad and cut to 128); the model's
    // own rule is sentence-transformers' max_seq_length, applied by prepare_tokens.
    t.with_padding(None);
    t.with_truncation(None).map_err(|e| bad(e.to_string()))?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_the_head_and_the_last_token() {
        assert_eq!(truncate_tokens(&[1, 2, 3], 3), vec![1, 2, 3]);
        assert_eq!(truncate_tokens(&[101, 5, 6, 7, 102], 3), vec![101, 5, 102]);
        assert_eq!(truncate_tokens(&[101, 5, 6, 7, 102], 2), vec![101, 102]);
    }
}
