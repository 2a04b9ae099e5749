//! The Aether node service: it wires the ledger, storage, mempool and
//! JSON-RPC crates into a running single-validator chain.
//!
//! | module | holds |
//! |---|---|
//! | [`genesis`] | [`Genesis`]: chain id, validator, allocations; the dev genesis |
//! | [`config`] | [`NodeConfig`]: the TOML file, defaults, validation |
//! | [`chain`] | [`NodeChain`]: store + ledger + mempool behind the RPC traits; block production |
//! | [`metrics`] | [`NodeMetrics`]: Prometheus metrics and the `/metrics` exporter |
//! | [`lifecycle`] | [`lifecycle::ChainLifecycle`]: the ledger over RocksDB behind consensus (pending blocks as overlays) |
//! | [`validator`] | the consensus driver: core + QUIC network + timers + lifecycle; block sync |
//! | [`service`] | [`RunningNode`]: start, run, shut down |
//!
//! A genesis without validators is a single-validator chain: a timer
//! drives [`NodeChain::produce_block`] (`aether node --dev`). A genesis with
//! `[[genesis.validators]]` and a `[consensus]` section runs two-chain
//! HotStuff with its peers ([`validator`]).
//!
//! # Example
//! ```no_run
//! # async fn run() -> Result<(), aether_node::NodeError> {
//! let mut config = aether_node::NodeConfig::dev("/tmp/aether-example");
//! config.rpc_addr = "127.0.0.1:0".parse().unwrap();
//! config.metrics_addr = None;
//! let node = aether_node::RunningNode::start(config).await?;
//! println!("JSON-RPC at {}", node.rpc_url());
//! node.shutdown().await
//! # }
//! ```

pub mod chain;
pub mod config;
mod error;
pub mod genesis;
pub mod lifecycle;
pub mod metrics;
pub mod models;
pub mod service;
pub mod validator;

pub use chain::{BlockLimits, NodeChain, ProducedBlock};
pub use config::NodeConfig;
pub use error::NodeError;
pub use genesis::Genesis;
pub use metrics::NodeMetrics;
pub use models::{ModelStore, NodeRuntime};
pub use service::RunningNode;
