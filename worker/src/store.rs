//! The worker's data directory: what it has taken on and how far it has
//! read the chain, so that a crash (even SIGKILL) loses no accepted job.
//!
//! ```text
//! DATA_DIR/state.json                  {"nextHeight": n, "jobs": {"<job id>": JobEntry}}
//! DATA_DIR/jobs/<job id>/checkpoints.json   {"checkpoints": ["<hex>", ...]}
//! ```
//!
//! Every write is atomic (a temporary file, fsync, rename, fsync of the
//! directory). A job is recorded as `taken` before any work on it and
//! before the height that assigned it is passed; the checkpoints are
//! written before the receipt is submitted, so whatever the chain accepts
//! can be served. On restart every `taken` job is run again (runs are
//! deterministic: the same receipt) unless the chain says it is no longer
//! waiting for us.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a job stands for this worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Assigned to us; not yet receipted.
    Taken,
    /// Our receipt is on chain.
    Submitted,
    /// We could not run it (bad input, unknown model, TEE not accepted):
    /// no receipt; the chain refunds at the deadline.
    Failed,
    /// The chain no longer waits for us (expired or receipted elsewhere).
    Closed,
}

/// One job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEntry {
    /// State.
    pub state: JobState,
    /// Height of the assignment.
    pub assigned_at: u64,
    /// The receipt transaction, once submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// Why it failed or closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `state.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The next height whose events to read.
    pub next_height: u64,
    /// Jobs by id (hex).
    pub jobs: BTreeMap<String, JobEntry>,
}

impl State {
    /// Ids of the jobs in `state`, in id order.
    pub fn in_state(&self, state: JobState) -> Vec<String> {
        self.jobs
            .iter()
            .filter(|(_, e)| e.state == state)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// How many jobs are in `state`.
    pub fn count(&self, state: JobState) -> usize {
        self.jobs.values().filter(|e| e.state == state).count()
    }
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| io("cannot create", &tmp, e))?;
    f.write_all(bytes)
        .map_err(|e| io("cannot write", &tmp, e))?;
    f.sync_all().map_err(|e| io("cannot sync", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io("cannot rename onto", path, e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("cannot sync", dir, e))
}

impl Store {
    /// Opens (creating) `dir`.
    pub fn open(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir.join("jobs"))
            .map_err(|e| io("cannot create the data directory", dir, e))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The saved state (the default on a fresh directory).
    pub fn load(&self) -> Result<State, String> {
        let path = self.state_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not a worker state file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io("cannot read", &path, e)),
        }
    }

    /// Saves `state`.
    pub fn save(&self, state: &State) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
        write_atomic(&self.state_path(), &bytes)
    }

    fn checkpoints_path(&self, job: &str) -> Option<PathBuf> {
        // Job ids are 64 hex digits; anything else never names a file.
        (job.len() == 64 && job.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.dir.join("jobs").join(job).join("checkpoints.json"))
    }

    /// Saves a job's checkpoint data (the JSON `aether job challenge
    /// --checkpoints` reads).
    pub fn save_checkpoints(&self, job: &str, data: &[Vec<u8>]) -> Result<(), String> {
        let path = self
            .checkpoints_path(job)
            .ok_or_else(|| format!("not a job id: {job}"))?;
        let list: Vec<String> = data.iter().map(hex::encode).collect();
        let text = serde_json::json!({ "checkpoints": list }).to_string();
        write_atomic(&path, text.as_bytes())
    }

    /// A job's checkpoint file as served, if any.
    pub fn checkpoints_json(&self, job: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(path) = self.checkpoints_path(job) else {
            return Ok(None);
        };
        crate::job::read_optional(&path).map_err(|e| io("cannot read", &path, e))
    }

    /// A job's output as served: the last checkpoint's data, if the job
    /// ran here.
    pub fn output(&self, job: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(bytes) = self.checkpoints_json(job)? else {
            return Ok(None);
        };
        Ok(parse_checkpoints(&bytes)?.pop())
    }
}

/// Parses a checkpoints file (`{"checkpoints": ["<hex>", ...]}`).
pub fn parse_checkpoints(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    #[derive(Deserialize)]
    struct File {
        checkpoints: Vec<String>,
    }
    let f: File =
        serde_json::from_slice(bytes).map_err(|e| format!("not a checkpoints file: {e}"))?;
    f.checkpoints
        .iter()
        .enumerate()
        .map(|(i, h)| hex::decode(h).map_err(|e| format!("checkpoint {i}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_checkpoints_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load().unwrap(), State::default());
        let mut s = State {
            next_height: 7,
            ..State::default()
        };
        let job = "ab".repeat(32);
        s.jobs.insert(
            job.clone(),
            JobEntry {
                state: JobState::Taken,
                assigned_at: 6,
                tx: None,
                detail: None,
            },
        );
        store.save(&s).unwrap();
        store
            .save_checkpoints(&job, &[vec![1, 2], vec![3]])
            .unwrap();
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.load().unwrap(), s);
        assert_eq!(
            again.load().unwrap().in_state(JobState::Taken),
            vec![job.clone()]
        );
        let served = again.checkpoints_json(&job).unwrap().unwrap();
        assert_eq!(
            parse_checkpoints(&served).unwrap(),
            vec![vec![1, 2], vec![3]]
        );
        assert_eq!(again.checkpoints_json(&"cd".repeat(32)).unwrap(), None);
        // Path tricks never reach the file system.
        assert_eq!(again.checkpoints_json("../state.json").unwrap(), None);
        assert!(store.save_checkpoints("../x", &[]).is_err());
    }

    #[test]
    fn a_corrupt_state_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), b"{oops").unwrap();
        let e = Store::open(dir.path()).unwrap().load().unwrap_err();
        assert!(e.contains("not a worker state file"), "{e}");
        assert!(parse_checkpoints(b"{\"checkpoints\": [\"zz\"]}").is_err());
    }

    proptest::proptest! {
        /// Checkpoint files come from other workers' HTTP endpoints: any
        /// bytes give data or an error, never a panic; every list of
        /// checkpoint data round-trips through the served encoding.
        #[test]
        fn checkpoint_files_decode_or_fail_cleanly(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            data in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..8),
        ) {
            let _ = parse_checkpoints(&bytes);
            let list: Vec<String> = data.iter().map(hex::encode).collect();
            let text = serde_json::json!({ "checkpoints": list }).to_string();
            proptest::prop_assert_eq!(parse_checkpoints(text.as_bytes()).unwrap(), data);
            // A served file cut short is an error, not a shorter list.
            if text.len() > 1 {
                proptest::prop_assert!(parse_checkpoints(&text.as_bytes()[..text.len() - 1]).is_err());
            }
        }

        /// A state file of any bytes loads or gives the clear error.
        #[test]
        fn state_files_load_or_fail_cleanly(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("state.json"), &bytes).unwrap();
            if let Err(e) = Store::open(dir.path()).unwrap().load() {
                proptest::prop_assert!(e.contains("not a worker state file"), "{}", e);
            }
        }
    }
}
