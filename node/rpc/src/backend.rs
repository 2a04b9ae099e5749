//! The seams between the RPC server and the node: what the server reads
//! ([`ChainReader`]), where it sends transactions ([`TxSubmitter`]) and the
//! channels of new and finalized heads ([`HeadBroadcast`]).
//!
//! Storage implements [`ChainReader`]; the node's mempool wrapper
//! implements [`TxSubmitter`]; the block producer / consensus publishes into
//! [`HeadBroadcast`]. The methods are synchronous (storage reads block);
//! the server calls them on Tokio's blocking pool.
//!
//! The values the traits return ([`ChainStatus`], [`TxLocation`], ...) are
//! defined in `aether-rpc-types` (module `chain`) and re-exported here.

use aether_mempool::MempoolError;
pub use aether_rpc_types::chain::{
    AddressBalance, AddressUtxos, ChainStatus, PoolStatus, StateProof, TxLocation,
};
use aether_rpc_types::market::BlockEventsDto;
use aether_types::{
    Address, Block, BlockHash, BlockHeader, OutPoint, Receipt, Transaction, TxId, TxParams,
};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A failure of the backend itself (storage I/O, corruption), not of the
/// request. Reported as error code
/// [`BACKEND_UNAVAILABLE`](crate::codes::BACKEND_UNAVAILABLE).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("backend failure: {message}")]
pub struct BackendError {
    /// What failed.
    pub message: String,
}

impl BackendError {
    /// A backend failure with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        BackendError {
            message: message.into(),
        }
    }
}

/// Read access to the committed chain.
pub trait ChainReader: Send + Sync + 'static {
    /// Tip and finality.
    fn status(&self) -> Result<ChainStatus, BackendError>;
    /// The block at `height`, if committed.
    fn block_by_height(&self, height: u64) -> Result<Option<Arc<Block>>, BackendError>;
    /// The block with hash `hash`, if committed.
    fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<Arc<Block>>, BackendError>;
    /// An included transaction and where it is.
    fn transaction(&self, id: &TxId) -> Result<Option<(Transaction, TxLocation)>, BackendError>;
    /// The receipt of an included transaction and where it is.
    fn receipt(&self, id: &TxId) -> Result<Option<(Receipt, TxLocation)>, BackendError>;
    /// Up to `limit` unspent outputs of `address`.
    fn utxos_by_address(
        &self,
        address: &Address,
        limit: usize,
    ) -> Result<AddressUtxos, BackendError>;
    /// The balance of `address`.
    fn balance(&self, address: &Address) -> Result<AddressBalance, BackendError>;
    /// An inclusion or exclusion proof for `out_point` at the latest state.
    fn state_proof(&self, out_point: &OutPoint) -> Result<StateProof, BackendError>;
    /// The chain parameters a client needs to build a valid transaction
    /// (chain id, fee schedule, output minimum, size and fuel limits).
    fn tx_params(&self) -> Result<TxParams, BackendError>;
}

/// Where submitted transactions go (the mempool).
pub trait TxSubmitter: Send + Sync + 'static {
    /// Checks and admits the canonical encoding of a transaction; returns
    /// its id, or why it was refused (nothing changes then).
    fn submit(&self, tx_bytes: &[u8]) -> Result<TxId, MempoolError>;
    /// A pooled (not yet included) transaction.
    fn pending_transaction(&self, id: &TxId) -> Option<Arc<Transaction>>;
    /// Size of the pool.
    fn pool_status(&self) -> PoolStatus;
}

/// Channels of new heads and finalized heads, fed by the node and read by
/// subscriptions. Cloning shares the channels.
///
/// A subscriber that falls more than the channel capacity behind skips
/// the oldest heads (logged); heights in the headers show the gap.
#[derive(Clone, Debug)]
pub struct HeadBroadcast {
    new_heads: broadcast::Sender<Arc<BlockHeader>>,
    finalized_heads: broadcast::Sender<Arc<BlockHeader>>,
    events: broadcast::Sender<Arc<BlockEventsDto>>,
}

impl HeadBroadcast {
    /// Channels holding up to `capacity` heads per lagging subscriber.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        HeadBroadcast {
            new_heads: broadcast::channel(capacity).0,
            finalized_heads: broadcast::channel(capacity).0,
            events: broadcast::channel(capacity).0,
        }
    }

    /// Announces the market events of a newly committed block (skipped when
    /// it has none); returns the number of subscribers.
    pub fn publish_events(&self, events: Arc<BlockEventsDto>) -> usize {
        if events.events.is_empty() {
            return 0;
        }
        self.events.send(events).unwrap_or(0)
    }

    /// A receiver of per-block market events.
    pub fn subscribe_events(&self) -> broadcast::Receiver<Arc<BlockEventsDto>> {
        self.events.subscribe()
    }

    /// Announces a newly committed block; returns the number of subscribers.
    pub fn publish_new_head(&self, header: Arc<BlockHeader>) -> usize {
        self.new_heads.send(header).unwrap_or(0)
    }

    /// Announces a newly finalized block; returns the number of subscribers.
    pub fn publish_finalized_head(&self, header: Arc<BlockHeader>) -> usize {
        self.finalized_heads.send(header).unwrap_or(0)
    }

    /// A receiver of new heads.
    pub fn subscribe_new_heads(&self) -> broadcast::Receiver<Arc<BlockHeader>> {
        self.new_heads.subscribe()
    }

    /// A receiver of finalized heads.
    pub fn subscribe_finalized_heads(&self) -> broadcast::Receiver<Arc<BlockHeader>> {
        self.finalized_heads.subscribe()
    }
}

impl Default for HeadBroadcast {
    /// Capacity 64.
    fn default() -> Self {
        HeadBroadcast::new(64)
    }
}

/// Everything the server needs from the node.
#[derive(Clone)]
pub struct RpcBackend {
    /// Chain reads.
    pub chain: Arc<dyn ChainReader>,
    /// Transaction submission.
    pub submitter: Arc<dyn TxSubmitter>,
    /// Head channels for subscriptions.
    pub heads: HeadBroadcast,
    /// Protocol objects (the AI market).
    pub market: Arc<dyn crate::market::MarketReader>,
}

impl std::fmt::Debug for RpcBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcBackend").finish_non_exhaustive()
    }
}
