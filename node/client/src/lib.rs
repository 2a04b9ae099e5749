//! The Aether client: what a wallet, a dApp or the AI worker needs to talk
//! to a node, without compiling the node.
//!
//! | module | holds | feature |
//! |---|---|---|
//! | [`builder`] | [`TxBuilder`]: balanced transactions with the exact minimum fee, coin selection (largest AIC-only outputs first), ed25519 signing; [`sign_with_exact_fee`] for hand-made bodies | always |
//! | [`amount`] | AIC amounts: decimal text to base units and back | always |
//! | [`rpc`] | [`RpcClient`]: the typed async JSON-RPC client (HTTP and WebSocket), head subscriptions, [`RpcClient::wait_for_receipt`] | `rpc` (default) |
//! | [`blocking`] | [`BlockingClient`]: the same calls for programs without an async runtime | `rpc` |
//! | `error` | [`ClientError`]: transport, refusal (code, message, data), timeout, decoding, build | `rpc` |
//!
//! Without the `rpc` feature the crate is the pure builder (protocol types
//! and ed25519 only): the node's own crates use it in their tests.
//!
//! ```text
//!   wallet / worker / CLI
//!      │ TxBuilder (params from aether_getParams, coins from aether_getUtxos)
//!      │ RpcClient / BlockingClient ── JSON-RPC (aether-rpc-types wire forms) ──▶ node
//! ```
//!
//! # Example
//! ```no_run
//! # async fn run() -> Result<(), aether_client::ClientError> {
//! use aether_client::{RpcClient, TxBuilder};
//! use aether_crypto::ed25519::Keypair;
//! use aether_types::{Address, KeyHash, BASE_UNITS_PER_AIC};
//!
//! let node = RpcClient::connect("http://127.0.0.1:8545").await?;
//! let key = Keypair::from_secret_bytes(&[1; 32]);
//! let me = Address::Key(key.key_hash());
//! let tx = TxBuilder::new(&node.params().await?)
//!     .pay(Address::Key(KeyHash([2; 32])), 5 * BASE_UNITS_PER_AIC)
//!     .change_to(me)
//!     .signer(&key)
//!     .fund_from(&node.spendable(&me).await?)?;
//! let id = node.send_transaction(&tx).await?;
//! let receipt = node.wait_for_receipt(&id, std::time::Duration::from_secs(30)).await?;
//! assert!(receipt.succeeded());
//! # Ok(()) }
//! ```

pub mod amount;
#[cfg(feature = "rpc")]
pub mod blocking;
pub mod builder;
#[cfg(feature = "rpc")]
pub mod data;
#[cfg(feature = "rpc")]
mod error;
#[cfg(feature = "rpc")]
pub mod rpc;

#[cfg(feature = "rpc")]
pub use blocking::BlockingClient;
pub use builder::{BuildError, TxBuilder, Utxo, empty_body, sign_with_exact_fee};
#[cfg(feature = "rpc")]
pub use error::ClientError;
#[cfg(feature = "rpc")]
pub use rpc::{ClientConfig, HeadSubscription, RpcClient};
