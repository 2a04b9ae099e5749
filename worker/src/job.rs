//! Running a job: the models a worker serves, fetching a job's data,
//! the run with its checkpoints, and segment re-execution (what a
//! watchtower checks a receipt with).
//!
//! A job's trace is what `aether-infer` defines: for a model job the
//! input tokens, the hidden states after each layer and the pooled
//! embedding; for a WASM job the state before each fuel segment and the
//! output. The receipt's output is the **last checkpoint's data** (the
//! encoded embedding, or the WASM output), so that the chain's output
//! challenge (`checkpoint_hash(output)` against the last leaf) can never
//! convict an honest provider.

use aether_infer::{Model, WasmJob, WasmLimits};
use aether_types::{JobData, JobKind, ModelId, RuntimeId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest job datum fetched from an external location.
pub const MAX_EXTERNAL_DATA: u64 = aether_client::data::MAX_EXTERNAL_DATA;

/// The runtime a WASM receipt names: `BLAKE3-derive-key("aether-infer v1
/// runtime-id", "aether-infer/wasmi-fuel/segment-1")`, as
/// [`aether_infer::bert_runtime_id`] is for models.
pub fn wasm_runtime_id() -> RuntimeId {
    RuntimeId(blake3::derive_key(
        "aether-infer v1 runtime-id",
        b"aether-infer/wasmi-fuel/segment-1",
    ))
}

/// The runtime that runs `kind`: the BERT runtime for models, ours for WASM.
pub fn runtime_of(kind: &JobKind) -> RuntimeId {
    match kind {
        JobKind::Model { .. } => RuntimeId(aether_infer::bert_runtime_id()),
        JobKind::Wasm { .. } => wasm_runtime_id(),
    }
}

/// Why a job cannot be run. The worker submits no receipt for it (the
/// chain refunds the client at the deadline) and says why in its log and
/// its status.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The job names a model this worker does not serve.
    #[error("model {0} is not served by this worker")]
    UnknownModel(ModelId),
    /// The job's data could not be fetched or does not match its hash.
    #[error("job data: {0}")]
    Data(String),
    /// The input is not valid for the job (malformed tokens, a module
    /// that does not load, a run out of fuel).
    #[error("bad input: {0}")]
    BadInput(String),
}

/// The models a worker serves, loaded once (every file checked against
/// its pinned hash), by id.
#[derive(Default)]
pub struct Models {
    by_id: BTreeMap<ModelId, Model>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_id.keys()).finish()
    }
}

impl Models {
    /// Loads the model in each directory.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, String> {
        let mut by_id = BTreeMap::new();
        for dir in dirs {
            let model = Model::load(dir).map_err(|e| format!("model {}: {e}", dir.display()))?;
            by_id.insert(ModelId(model.id()), model);
        }
        Ok(Models { by_id })
    }

    /// The served model ids.
    pub fn ids(&self) -> impl Iterator<Item = &ModelId> {
        self.by_id.keys()
    }

    /// A served model.
    pub fn get(&self, id: &ModelId) -> Result<&Model, JobError> {
        self.by_id.get(id).ok_or(JobError::UnknownModel(*id))
    }
}

/// The bytes of job data: inline, or fetched from its location (at most
/// [`MAX_EXTERNAL_DATA`]) and checked against its hash.
pub fn data_bytes(data: &JobData) -> Result<Vec<u8>, JobError> {
    aether_client::data::data_bytes(data, MAX_EXTERNAL_DATA)
        .map_err(|e| JobError::Data(e.to_string()))
}

/// GET `url` (http/https), at most `limit` bytes.
pub fn fetch(url: &str, limit: u64) -> Result<Vec<u8>, JobError> {
    aether_client::data::fetch(url, limit).map_err(|e| JobError::Data(e.to_string()))
}

/// A finished run: every checkpoint's data, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// The runtime that ran it.
    pub runtime: RuntimeId,
    /// Checkpoint data `0..=segments`; the last is the output.
    pub checkpoints: Vec<Vec<u8>>,
}

impl Execution {
    /// The job's output (the last checkpoint's data).
    pub fn output(&self) -> &[u8] {
        self.checkpoints
            .last()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Number of segments.
    pub fn segments(&self) -> u32 {
        u32::try_from(self.checkpoints.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// The checkpoint hashes.
    pub fn hashes(&self) -> Vec<[u8; 32]> {
        self.checkpoints
            .iter()
            .map(|d| aether_infer::checkpoint_hash(d))
            .collect()
    }
}

fn tokens_of(input: &[u8]) -> Result<Vec<u32>, JobError> {
    aether_infer::tokens::decode_job_tokens(input).map_err(JobError::BadInput)
}

/// A job with its data fetched.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The job.
    pub kind: JobKind,
    /// The WASM module, for WASM jobs.
    pub module: Option<Vec<u8>>,
    /// The input bytes.
    pub input: Vec<u8>,
}

impl Prepared {
    /// Fetches the job's data.
    pub fn fetch(kind: &JobKind) -> Result<Self, JobError> {
        let module = match kind {
            JobKind::Wasm { module, .. } => Some(data_bytes(module)?),
            JobKind::Model { .. } => None,
        };
        Ok(Prepared {
            kind: kind.clone(),
            module,
            input: data_bytes(kind.input())?,
        })
    }

    fn wasm(&self) -> Result<WasmJob, JobError> {
        let code = self.module.as_deref().unwrap_or_default();
        WasmJob::new(code, WasmLimits::default()).map_err(|e| JobError::BadInput(e.to_string()))
    }

    /// Runs the job. `cheat` (test builds of the worker only) corrupts
    /// checkpoint `cheat` and every one after it (each re-run from the
    /// corrupted one before it, and corrupted again if that gave back the
    /// honest data): a trace and an output that are wrong from that
    /// checkpoint on, what a lazy or malicious provider would return.
    pub fn run(&self, models: &Models, cheat: Option<usize>) -> Result<Execution, JobError> {
        let bad = |e: &dyn std::fmt::Display| JobError::BadInput(e.to_string());
        let mut checkpoints = match &self.kind {
            JobKind::Model { model, .. } => {
                let m = models.get(model)?;
                m.run(&tokens_of(&self.input)?)
                    .map_err(|e| bad(&e))?
                    .checkpoints
            }
            JobKind::Wasm { .. } => {
                self.wasm()?
                    .run(&self.input)
                    .map_err(|e| bad(&e))?
                    .checkpoints
            }
        };
        let runtime = runtime_of(&self.kind);
        if let Some(from) = cheat {
            let from = from.clamp(1, checkpoints.len().saturating_sub(1).max(1));
            let honest = checkpoints.clone();
            for s in from..checkpoints.len() {
                if s > from {
                    checkpoints[s] = self.run_segment(models, s as u32, &checkpoints[s - 1])?;
                }
                // Flip the lowest bit of the last byte: for a tensor, a
                // change in the last value's mantissa; the data stays well
                // formed, so later segments still run on it.
                if checkpoints[s] == honest[s]
                    && let Some(b) = checkpoints[s].last_mut()
                {
                    *b ^= 1;
                }
            }
        }
        Ok(Execution {
            runtime,
            checkpoints,
        })
    }

    /// Checkpoint 0's data, computed from the job's input.
    pub fn input_checkpoint(&self, models: &Models) -> Result<Vec<u8>, JobError> {
        match &self.kind {
            JobKind::Model { model, .. } => {
                let tokens = models
                    .get(model)?
                    .prepare_tokens(&tokens_of(&self.input)?)
                    .map_err(|e| JobError::BadInput(e.to_string()))?;
                Ok(aether_infer::checkpoint::encode_tokens(&tokens))
            }
            JobKind::Wasm { .. } => self
                .wasm()?
                .initial_state(&self.input)
                .map_err(|e| JobError::BadInput(e.to_string())),
        }
    }

    /// Segment `segment` alone, from the previous checkpoint's data.
    pub fn run_segment(
        &self,
        models: &Models,
        segment: u32,
        previous: &[u8],
    ) -> Result<Vec<u8>, JobError> {
        match &self.kind {
            JobKind::Model { model, .. } => models
                .get(model)?
                .run_segment(segment as usize, previous)
                .map_err(|e| JobError::BadInput(e.to_string())),
            JobKind::Wasm { .. } => self
                .wasm()?
                .run_segment(segment as usize, previous)
                .map_err(|e| JobError::BadInput(e.to_string())),
        }
    }
}

/// Reads `path` if it exists.
pub fn read_optional(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOLD: &str = aether_testkit::WASM_FOLD_JOB;

    fn wasm_job(input: &[u8]) -> Prepared {
        let module = wat::parse_str(FOLD).unwrap();
        let kind = JobKind::Wasm {
            module: JobData::inline(module).unwrap(),
            input: JobData::inline(input.to_vec()).unwrap(),
            fuel: 1_000_000,
        };
        Prepared::fetch(&kind).unwrap()
    }

    #[test]
    fn a_wasm_run_re_executes_segment_by_segment_and_its_output_is_the_last_checkpoint() {
        let job = wasm_job(b"forty bytes of input for three steps...");
        let models = Models::default();
        let run = job.run(&models, None).unwrap();
        assert_eq!(run.checkpoints[0], job.input_checkpoint(&models).unwrap());
        for s in 1..run.checkpoints.len() {
            assert_eq!(
                job.run_segment(&models, s as u32, &run.checkpoints[s - 1])
                    .unwrap(),
                run.checkpoints[s],
                "segment {s}"
            );
        }
        assert_eq!(run.output(), run.checkpoints.last().unwrap().as_slice());
        assert_eq!(run.runtime, wasm_runtime_id());
    }

    #[test]
    fn a_cheat_run_differs_from_its_checkpoint_on_and_is_consistent_after() {
        let job = wasm_job(b"forty bytes of input for three steps...");
        let models = Models::default();
        let honest = job.run(&models, None).unwrap();
        let cheat = job.run(&models, Some(2)).unwrap();
        assert_eq!(cheat.checkpoints[..2], honest.checkpoints[..2]);
        for s in 2..honest.checkpoints.len() {
            assert!(
                cheat.checkpoints[s] != honest.checkpoints[s],
                "checkpoint {s}"
            );
        }
        assert!(cheat.output() != honest.output());
        // Segment 2 from the honest checkpoint 1 does not give the cheat's
        // checkpoint 2: that is the segment a watchtower disputes.
        let rerun = job.run_segment(&models, 2, &cheat.checkpoints[1]).unwrap();
        assert!(rerun != cheat.checkpoints[2]);
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let models = Models::default();
        let unknown = JobKind::Model {
            model: ModelId([9; 32]),
            input: JobData::inline(vec![1, 0, 0, 0]).unwrap(),
        };
        assert_eq!(
            Prepared::fetch(&unknown).unwrap().run(&models, None),
            Err(JobError::UnknownModel(ModelId([9; 32])))
        );
        let bad_module = JobKind::Wasm {
            module: JobData::inline(b"not wasm".to_vec()).unwrap(),
            input: JobData::inline(vec![]).unwrap(),
            fuel: 10,
        };
        assert!(matches!(
            Prepared::fetch(&bad_module).unwrap().run(&models, None),
            Err(JobError::BadInput(_))
        ));
        assert!(
            tokens_of(&[1, 2, 3])
                .unwrap_err()
                .to_string()
                .contains("3 bytes")
        );
        let far = JobData::External {
            hash: aether_types::Digest([0; 32]),
            size: MAX_EXTERNAL_DATA + 1,
            location: "http://127.0.0.1:1/x".try_into().unwrap(),
        };
        assert!(data_bytes(&far).unwrap_err().to_string().contains("limit"));
    }
}
