//! Deterministic inference for Aether's AI market.
//!
//! A worker runs a job so that anyone can re-run it to the same bits, and
//! records checkpoints whose Merkle **trace root** goes into its receipt. A
//! challenger who disagrees names the first differing checkpoint `j`,
//! proves checkpoint `j − 1`'s data against the provider's trace root
//! ([`verify_trace_proof`]) and the chain re-executes only segment `j`
//! ([`Model::run_segment`], [`WasmJob::run_segment`]).
//!
//! - [`Model`]: all-MiniLM-L6-v2 sentence embeddings (BERT, 6 layers,
//!   hidden 384) on our own fixed-order f32 kernels ([`kernels`](crate::kernels)
//!   states why they give the same bits on any x86-64 CPU and build flags),
//!   with the files pinned by sha256 and identified by [`model_id`].
//! - [`checkpoint`]: the canonical encoding of model checkpoint data.
//! - [`trace`]: checkpoint hashes, the trace root and its proofs.
//! - [`wasm`] (feature `wasm`): WASM jobs as a step function under wasmi
//!   with fuel, one step per segment.
//! - [`tokens`]: token files.
//!
//! Features: `text` (default) tokenises text with the pinned tokenizer;
//! `wasm` (default) adds WASM jobs. Without them the crate is the kernels,
//! checkpoints and traces only (what a verifier of model segments needs).
//!
//! The crate depends on no `node/` crate.

mod bert;
pub mod checkpoint;
mod error;
pub mod files;
pub(crate) mod kernels;
mod model;
pub mod tokens;
pub mod trace;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use bert::BertShape;
pub use error::InferError;
pub use files::{
    BERT_RUNTIME, MODEL_FILES, ModelId, ModelSpec, bert_runtime_id, model_id, model_id_from_hashes,
    model_segments,
};
pub use kernels::kernel_level;
pub use model::{Model, ModelRun, truncate_tokens};
pub use tokens::parse_token_file;
pub use trace::{
    Hash, Trace, TraceProof, checkpoint_hash, trace_proof, trace_root, verify_trace_proof,
};
#[cfg(feature = "wasm")]
pub use wasm::{WasmJob, WasmLimits, WasmRun};
