//! The Aether JSON-RPC server: `jsonrpsee` 0.26, HTTP and WebSocket on one
//! port (default `127.0.0.1:8545`), over traits so that it compiles and is
//! tested without storage or consensus.
//!
//! ```text
//!   HTTP / WS clients
//!          │  JSON-RPC 2.0 (limits: body, response, batch, connections, subscriptions)
//!   ┌──────▼─────────────────────────────┐
//!   │ RpcServer (jsonrpsee)              │  api: methods, parameter parsing, DTOs
//!   │   rpc.discover → OpenRPC document  │  error: stable codes
//!   └──┬──────────────┬─────────────┬────┘
//!      │ ChainReader  │ TxSubmitter │ HeadBroadcast
//!   storage        mempool       block producer / consensus
//! ```
//!
//! | module | holds |
//! |---|---|
//! | [`backend`] | the traits the node implements, [`RpcBackend`], [`HeadBroadcast`] |
//! | [`api`] | the method definitions ([`api::AetherApiServer`]) and their implementation |
//! | [`dto`] | JSON shapes of results (serde + JSON Schema), from `aether-rpc-types` |
//! | [`params`] | parsing of hex, addresses, out-points, block tags, from `aether-rpc-types` |
//! | `error` | [`RpcError`] and the stable [`codes`] |
//! | [`debug`] | methods served only when enabled (`aether_debugSetFaults`) |
//! | [`openrpc`] | the `rpc.discover` document, generated from the same types |
//! | [`server`] | [`RpcServer::start`], [`RpcConfig`] limits, [`RpcServerHandle`] |
//! | `testing` (feature `testing`) | an in-memory chain implementing the traits |
//!
//! # Invariants
//! - A failed call changes nothing: reads have no effects, and a refused
//!   transaction leaves the mempool as it was ([`aether_mempool`]).
//! - Every failure has a stable numeric code ([`codes`]) and a
//!   `data.kind` naming the failed check.
//! - The OpenRPC document lists exactly the registered methods (tested).
//!
//! # Example
//! ```no_run
//! # async fn run(backend: aether_rpc::RpcBackend) -> Result<(), aether_rpc::RpcError> {
//! let addr = aether_rpc::DEFAULT_RPC_ADDR.parse().unwrap();
//! let handle = aether_rpc::RpcServer::start(addr, backend).await?;
//! println!("listening on {}", handle.http_url());
//! handle.stopped().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod backend;
pub mod debug;
mod error;
pub mod market;
pub mod openrpc;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;

/// The JSON shapes of results (re-exported from `aether-rpc-types`, which
/// clients use without compiling this server).
pub mod dto {
    pub use aether_rpc_types::dto::*;
}

/// Parsing of the text forms of parameters (re-exported from
/// `aether-rpc-types`).
pub mod params {
    pub use aether_rpc_types::params::*;
}

pub use aether_rpc_types::market::MeasurementFilter;
pub use aether_rpc_types::methods;
pub use backend::{
    AddressBalance, AddressUtxos, BackendError, ChainReader, ChainStatus, HeadBroadcast,
    PoolStatus, RpcBackend, StateProof, TxLocation, TxSubmitter,
};
pub use error::{RpcError, codes};
pub use market::MarketReader;
pub use server::{DEFAULT_RPC_ADDR, RpcConfig, RpcServer, RpcServerHandle, rpc_module};

/// The node software version reported by `aether_status`.
pub const NODE_VERSION: &str = concat!("aether/", env!("CARGO_PKG_VERSION"));
