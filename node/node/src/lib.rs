//! The Aether node service: it wires the ledger, storage, mempool and
//! JSON-RPC crates into a running single-validator chain.
//!
//! | module | holds |
//! |---|---|
//! | [`genesis`] | [`Genesis`]: chain id, validator, allocations; the dev genesis |
//! | [`config`] | [`NodeConfig`]: the TOML file, defaults, validation |
//! | [`chain`] | [`NodeChain`]: store + ledger + mempool behind the RPC traits; block production |
//! | [`metrics`] | [`NodeMetrics`]: Prometheus metrics and the `/metrics` exporter |
//! | [`service`] | [`RunningNode`]: start, run, shut down |
//!
//! Consensus with several validators and networking plug in where
//! [`NodeChain::produce_block`] is called: today a timer drives it.
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
pub mod metrics;
pub mod models;
pub mod service;

pub use chain::{BlockLimits, NodeChain, ProducedBlock};
pub use config::NodeConfig;
pub use error::NodeError;
pub use genesis::Genesis;
pub use metrics::NodeMetrics;
pub use models::{ModelStore, NodeRuntime};
pub use service::RunningNode;
