//! The crate's errors. Every failure on bad input is one of these, never a panic.

use std::path::PathBuf;

/// Errors of model loading, inference and segment re-execution.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// A model file could not be read (missing, unreadable).
    #[error("model file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file's sha256 differs from the pinned one.
    #[error(
        "model file {file} has sha256 {actual}, but the model pins {expected}: refusing to use it"
    )]
    HashMismatch {
        /// The file name, relative to the model directory.
        file: String,
        /// The pinned sha256 (hex).
        expected: String,
        /// The file's sha256 (hex).
        actual: String,
    },
    /// A model file is well hashed but its content is unusable.
    #[error("model file {file}: {reason}")]
    BadModelFile {
        /// The file name, relative to the model directory.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The tokenizer failed on the text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A token file is malformed.
    #[error("token file: {0}")]
    TokenFile(String),
    /// The input has no tokens.
    #[error("the input has no tokens")]
    EmptyInput,
    /// A token id is not in the vocabulary.
    #[error("token id {id} at position {position} is not in the vocabulary (size {vocab_size})")]
    UnknownToken {
        /// The id.
        id: u32,
        /// Its position in the input.
        position: usize,
        /// The vocabulary size.
        vocab_size: usize,
    },
    /// Checkpoint data does not decode.
    #[error("checkpoint data: {0}")]
    Checkpoint(#[from] crate::checkpoint::DecodeError),
    /// Checkpoint data decodes but is not what the segment takes.
    #[error("segment {segment}: {reason}")]
    SegmentInput {
        /// The segment.
        segment: usize,
        /// What is wrong with its input.
        reason: String,
    },
    /// No such segment.
    #[error("segment {segment} does not exist: segments are 1..={count}")]
    NoSuchSegment {
        /// The segment asked for.
        segment: usize,
        /// The number of segments.
        count: usize,
    },
}
