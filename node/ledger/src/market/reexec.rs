//! Re-execution of one segment of a job, for challenges.
//!
//! The chain never re-runs a whole job: a challenge names one segment and
//! carries the data of the checkpoint before it; the ledger asks a
//! [`SegmentExecutor`] to run exactly that segment with the same
//! deterministic kernels the worker uses, and compares hashes. The node
//! provides the executor (models come from its model store); the ledger
//! only sees this trait, so it stays free of model files and I/O.

use aether_types::JobKind;

/// Why a segment could not be re-executed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReexecError {
    /// The checkpoint data is malformed for this job (wrong shape, bad
    /// encoding). The provider committed to it in its trace, so this is
    /// the provider's fault: the challenge is upheld.
    #[error("invalid checkpoint data: {0}")]
    InvalidCheckpoint(String),
    /// The executor cannot run the segment here (model not in the store,
    /// unknown runtime, module not on chain). The challenge is not decided
    /// and the transaction is refused.
    #[error("{0}")]
    Unavailable(String),
}

/// Runs single segments of jobs (see the module docs). Implementations
/// must be deterministic: the same inputs give the same bytes on every
/// validator.
pub trait SegmentExecutor: Send + Sync + std::fmt::Debug {
    /// Checkpoint 0's data of a job: what the first segment starts from.
    /// `input` is the job's input bytes; `module` the WASM module's bytes
    /// for WASM jobs.
    fn input_checkpoint(
        &self,
        kind: &JobKind,
        input: &[u8],
        module: Option<&[u8]>,
    ) -> Result<Vec<u8>, ReexecError>;

    /// Runs segment `segment` (≥ 1) from checkpoint `segment - 1`'s data
    /// and returns checkpoint `segment`'s data.
    fn run_segment(
        &self,
        kind: &JobKind,
        module: Option<&[u8]>,
        segment: u32,
        previous: &[u8],
    ) -> Result<Vec<u8>, ReexecError>;
}

/// An executor that can run nothing: every challenge that needs
/// re-execution is refused as undecidable. Used by ledgers built without
/// a runtime (tools, tests that do not challenge).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoExecutor;

impl SegmentExecutor for NoExecutor {
    fn input_checkpoint(
        &self,
        _: &JobKind,
        _: &[u8],
        _: Option<&[u8]>,
    ) -> Result<Vec<u8>, ReexecError> {
        Err(ReexecError::Unavailable(
            "this node has no job runtime".into(),
        ))
    }

    fn run_segment(
        &self,
        _: &JobKind,
        _: Option<&[u8]>,
        _: u32,
        _: &[u8],
    ) -> Result<Vec<u8>, ReexecError> {
        Err(ReexecError::Unavailable(
            "this node has no job runtime".into(),
        ))
    }
}
