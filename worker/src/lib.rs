//! The Aether AI worker as a library: what `aether-worker` and the job
//! runner share.
//!
//! * [`evidence`]: TEE evidence providers (configfs-tsm, sev-guest,
//!   tdx-guest, the simulated PSP) behind one trait, and their selection.
//! * [`config`]: the worker's configuration file (`worker.toml`).

pub mod config;
pub mod evidence;
