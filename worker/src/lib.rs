//! The Aether AI worker as a library: what `aether-worker` and its tests
//! share.
//!
//! * [`evidence`]: TEE evidence providers (configfs-tsm, sev-guest,
//!   tdx-guest, the simulated PSP) behind one trait, and their selection.
//! * [`config`]: the worker's configuration file (`worker.toml`).
//! * [`job`]: the models served, fetching a job's data, runs with
//!   checkpoints, segment re-execution.
//! * [`store`]: the data directory (jobs taken, checkpoint data), crash-safe.
//! * [`serve`]: the HTTP endpoint (checkpoints, status, Prometheus metrics).
//! * [`runner`]: `aether-worker run`, the job runner.
//! * [`watch`]: `aether-worker watch`, the watchtower.

pub mod config;
pub mod evidence;
pub mod job;
pub mod poll;
pub mod runner;
pub mod serve;
pub mod store;
pub mod watch;
