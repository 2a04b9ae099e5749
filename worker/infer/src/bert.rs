//! The BERT encoder of a sentence-transformers model, on [`crate::kernels`].
//!
//! Reads `config.json`, `1_Pooling/config.json`, `modules.json` and
//! `sentence_bert_config.json` and accepts only what the kernels compute:
//! a `bert` model with absolute positions and `hidden_act = "gelu"` (erf
//! form), a pipeline Transformer → Pooling → Normalize, and mean pooling.
//! Anything else is an error naming the file, not a silent difference.
//!
//! Per sequence of `n` tokens (token type 0, attention mask all ones):
//!
//! ```text
//! embeddings  h = LayerNorm((word[t] + type[0]) + position[i])
//! layer l     q|k|v = h·W_qkv + b                     (one [3·hidden] matmul)
//!             per head: p = softmax(q·kᵀ / sqrt(head_dim)); c = p·v
//!             a = LayerNorm(c·W_o + b + h)
//!             h = LayerNorm(gelu(a·W_i + b)·W_o2 + b + a)
//! output      e = normalize(mean over tokens of h)
//! ```

use crate::error::InferError;
use crate::kernels::{self, Packed};
use serde::Deserialize;

/// The BERT shape from `config.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BertShape {
    /// Hidden size.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Position embeddings.
    pub max_positions: usize,
    /// Token types.
    pub type_vocab_size: usize,
}

#[derive(Deserialize)]
struct ConfigJson {
    model_type: Option<String>,
    hidden_size: usize,
    num_attention_heads: usize,
    num_hidden_layers: usize,
    intermediate_size: usize,
    vocab_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    layer_norm_eps: f64,
    hidden_act: String,
    position_embedding_type: Option<String>,
}

#[derive(Deserialize)]
struct PoolingJson {
    word_embedding_dimension: usize,
    pooling_mode_cls_token: bool,
    pooling_mode_mean_tokens: bool,
    pooling_mode_max_tokens: bool,
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Deserialize)]
struct ModuleJson {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct SentenceBertJson {
    max_seq_length: usize,
}

/// What the configuration files fix.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) shape: BertShape,
    pub(crate) eps: f32,
    pub(crate) max_seq_len: usize,
}

fn bad(file: &str, reason: impl Into<String>) -> InferError {
    InferError::BadModelFile {
        file: file.to_string(),
        reason: reason.into(),
    }
}

fn json<T: for<'a> Deserialize<'a>>(file: &str, bytes: &[u8]) -> Result<T, InferError> {
    serde_json::from_slice(bytes).map_err(|e| bad(file, e.to_string()))
}

impl Config {
    /// Parses the four configuration files (in [`crate::MODEL_FILES`] order).
    pub(crate) fn parse(
        config: &[u8],
        pooling: &[u8],
        modules: &[u8],
        st: &[u8],
    ) -> Result<Config, InferError> {
        let c: ConfigJson = json("config.json", config)?;
        let f = "config.json";
        if c.model_type.as_deref().is_some_and(|t| t != "bert") {
            return Err(bad(f, format!("model_type {:?} is not bert", c.model_type)));
        }
        if c.hidden_act != "gelu" {
            return Err(bad(
                f,
                format!(
                    "hidden_act {:?}: only \"gelu\" (erf) is implemented",
                    c.hidden_act
                ),
            ));
        }
        if c.position_embedding_type
            .as_deref()
            .is_some_and(|t| t != "absolute")
        {
            return Err(bad(f, "only absolute position embeddings are implemented"));
        }
        let dims = [
            c.hidden_size,
            c.num_attention_heads,
            c.num_hidden_layers,
            c.intermediate_size,
            c.vocab_size,
            c.max_position_embeddings,
            c.type_vocab_size,
        ];
        if dims.iter().any(|d| *d == 0 || *d > 1 << 20)
            || !c.hidden_size.is_multiple_of(c.num_attention_heads)
            || c.num_hidden_layers > 256
        {
            return Err(bad(f, "implausible dimensions"));
        }
        if !(c.layer_norm_eps > 0.0 && c.layer_norm_eps < 1.0) {
            return Err(bad(f, "layer_norm_eps outside (0, 1)"));
        }
        let p: PoolingJson = json("1_Pooling/config.json", pooling)?;
        if !p.pooling_mode_mean_tokens
            || p.pooling_mode_cls_token
            || p.pooling_mode_max_tokens
            || p.pooling_mode_mean_sqrt_len_tokens
            || p.pooling_mode_weightedmean_tokens
            || p.pooling_mode_lasttoken
        {
            return Err(bad(
                "1_Pooling/config.json",
                "only mean pooling is implemented",
            ));
        }
        if p.word_embedding_dimension != c.hidden_size {
            return Err(bad(
                "1_Pooling/config.json",
                "word_embedding_dimension differs from hidden_size",
            ));
        }
        let m: Vec<ModuleJson> = json("modules.json", modules)?;
        let kinds: Vec<&str> = m.iter().map(|m| m.kind.as_str()).collect();
        let want = [
            "sentence_transformers.models.Transformer",
            "sentence_transformers.models.Pooling",
            "sentence_transformers.models.Normalize",
        ];
        if kinds != want {
            return Err(bad(
                "modules.json",
                format!("pipeline {kinds:?}, expected {want:?}"),
            ));
        }
        let s: SentenceBertJson = json("sentence_bert_config.json", st)?;
        if s.max_seq_length < 2 || s.max_seq_length > c.max_position_embeddings {
            return Err(bad(
                "sentence_bert_config.json",
                format!(
                    "max_seq_length {} outside 2..={}",
                    s.max_seq_length, c.max_position_embeddings
                ),
            ));
        }
        Ok(Config {
            shape: BertShape {
                hidden: c.hidden_size,
                heads: c.num_attention_heads,
                layers: c.num_hidden_layers,
                intermediate: c.intermediate_size,
                vocab_size: c.vocab_size,
                max_positions: c.max_position_embeddings,
                type_vocab_size: c.type_vocab_size,
            },
            eps: c.layer_norm_eps as f32,
            max_seq_len: s.max_seq_length,
        })
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    qkv: Packed,
    attn_out: Packed,
    norm1: Norm,
    inter: Packed,
    out: Packed,
    norm2: Norm,
}

/// The weights, packed for the kernels.
pub(crate) struct Bert {
    shape: BertShape,
    eps: f32,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

const WEIGHTS_FILE: &str = "model.safetensors";

fn tensor(
    st: &safetensors::SafeTensors<'_>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, InferError> {
    let t = st
        .tensor(name)
        .map_err(|e| bad(WEIGHTS_FILE, format!("tensor {name}: {e}")))?;
    if t.dtype() != safetensors::Dtype::F32 || t.shape() != shape {
        return Err(bad(
            WEIGHTS_FILE,
            format!(
                "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
                t.dtype(),
                t.shape()
            ),
        ));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl Bert {
    /// Reads and packs the weights of `config` from safetensors bytes.
    pub(crate) fn load(config: &Config, weights: &[u8]) -> Result<Bert, InferError> {
        let st = safetensors::SafeTensors::deserialize(weights)
            .map_err(|e| bad(WEIGHTS_FILE, e.to_string()))?;
        let s = &config.shape;
        let (h, i) = (s.hidden, s.intermediate);
        let norm = |p: &str| -> Result<Norm, InferError> {
            Ok(Norm {
                gamma: tensor(&st, &format!("{p}.weight"), &[h])?,
                beta: tensor(&st, &format!("{p}.bias"), &[h])?,
            })
        };
        let linear = |p: &str, n: usize, k: usize| -> Result<(Vec<f32>, Vec<f32>), InferError> {
            Ok((
                tensor(&st, &format!("{p}.weight"), &[n, k])?,
                tensor(&st, &format!("{p}.bias"), &[n])?,
            ))
        };
        let mut layers = Vec::with_capacity(s.layers);
        for l in 0..s.layers {
            let p = format!("encoder.layer.{l}");
            let (qw, qb) = linear(&format!("{p}.attention.self.query"), h, h)?;
            let (kw, kb) = linear(&format!("{p}.attention.self.key"), h, h)?;
            let (vw, vb) = linear(&format!("{p}.attention.self.value"), h, h)?;
            let qkv_w = [qw, kw, vw].concat();
            let qkv_b = [qb, kb, vb].concat();
            let (ow, ob) = linear(&format!("{p}.attention.output.dense"), h, h)?;
            let (iw, ib) = linear(&format!("{p}.intermediate.dense"), i, h)?;
            let (o2w, o2b) = linear(&format!("{p}.output.dense"), h, i)?;
            layers.push(Layer {
                qkv: Packed::linear(&qkv_w, &qkv_b, 3 * h, h),
                attn_out: Packed::linear(&ow, &ob, h, h),
                norm1: norm(&format!("{p}.attention.output.LayerNorm"))?,
                inter: Packed::linear(&iw, &ib, i, h),
                out: Packed::linear(&o2w, &o2b, h, i),
                norm2: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            shape: s.clone(),
            eps: config.eps,
            word: tensor(&st, "embeddings.word_embeddings.weight", &[s.vocab_size, h])?,
            position: tensor(
                &st,
                "embeddings.position_embeddings.weight",
                &[s.max_positions, h],
            )?,
            token_type: tensor(
                &st,
                "embeddings.token_type_embeddings.weight",
                &[s.type_vocab_size, h],
            )?,
            emb_norm: norm("embeddings.LayerNorm")?,
            layers,
        })
    }

    /// The shape.
    pub(crate) fn shape(&self) -> &BertShape {
        &self.shape
    }

    /// Embeddings of valid token ids (`< vocab_size`, at most `max_positions`).
    pub(crate) fn embed(&self, tokens: &[u32]) -> Vec<f32> {
        let h = self.shape.hidden;
        let mut x = vec![0f32; tokens.len() * h];
        let token_type = &self.token_type[..h];
        for (pos, (row, t)) in x.chunks_exact_mut(h).zip(tokens).enumerate() {
            row.copy_from_slice(&self.word[*t as usize * h..][..h]);
            kernels::add_assign(row, token_type);
            kernels::add_assign(row, &self.position[pos * h..][..h]);
        }
        kernels::layer_norm(&mut x, &self.emb_norm.gamma, &self.emb_norm.beta, self.eps);
        x
    }

    /// Encoder layer `l` on hidden states `x` (`n × hidden`).
    pub(crate) fn layer(&self, l: usize, x: &[f32], n: usize) -> Vec<f32> {
        let s = &self.shape;
        let (h, heads) = (s.hidden, s.heads);
        let d = h / heads;
        let layer = &self.layers[l];
        let mut qkv = vec![0f32; n * 3 * h];
        kernels::matmul(x, n, &layer.qkv, &mut qkv);
        let scale = libm::sqrtf(d as f32);
        let mut ctx = vec![0f32; n * h];
        let mut q = vec![0f32; n * d];
        let mut scores = vec![0f32; n * n];
        let mut head_out = vec![0f32; n * d];
        for hd in 0..heads {
            let (qo, ko, vo) = (hd * d, h + hd * d, 2 * h + hd * d);
            for (dst, src) in q.chunks_exact_mut(d).zip(qkv.chunks_exact(3 * h)) {
                dst.copy_from_slice(&src[qo..qo + d]);
            }
            let keys = Packed::new(n, d, None, |j, e| qkv[j * 3 * h + ko + e]);
            kernels::matmul(&q, n, &keys, &mut scores);
            kernels::softmax_rows(&mut scores, n, scale);
            let values = Packed::new(d, n, None, |e, j| qkv[j * 3 * h + vo + e]);
            kernels::matmul(&scores, n, &values, &mut head_out);
            for (dst, src) in ctx.chunks_exact_mut(h).zip(head_out.chunks_exact(d)) {
                dst[qo..qo + d].copy_from_slice(src);
            }
        }
        let mut a = vec![0f32; n * h];
        kernels::matmul(&ctx, n, &layer.attn_out, &mut a);
        kernels::add_assign(&mut a, x);
        kernels::layer_norm(&mut a, &layer.norm1.gamma, &layer.norm1.beta, self.eps);
        let mut inter = vec![0f32; n * layer.inter.outputs()];
        kernels::matmul(&a, n, &layer.inter, &mut inter);
        kernels::gelu(&mut inter);
        let mut out = vec![0f32; n * h];
        kernels::matmul(&inter, n, &layer.out, &mut out);
        kernels::add_assign(&mut out, &a);
        kernels::layer_norm(&mut out, &layer.norm2.gamma, &layer.norm2.beta, self.eps);
        out
    }
}
