//! The JSON-RPC methods (names are a contract, listed in
//! [`aether_rpc_types::methods`]; a test checks that both agree) and their
//! implementation over [`RpcBackend`].

use crate::backend::RpcBackend;
use crate::dto::*;
use crate::error::RpcError;
use crate::params::{
    BlockParam, BlockTag, OutPointParam, format_address, parse_address, parse_hash32,
    parse_hex_bytes, parse_tx_id,
};
use crate::server::RpcConfig;
use aether_mempool::MempoolError;
use aether_types::{BlockHash, BlockHeader, MAX_TX_LEN};
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionSink};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

pub use aether_rpc_types::methods::{FINALIZED_HEAD_NOTIFICATION, NEW_HEAD_NOTIFICATION};

/// The Aether JSON-RPC interface. See `docs/rpc.md` for examples.
#[rpc(server)]
pub trait AetherApi {
    /// Submits the hex of a transaction's canonical encoding to the
    /// mempool; returns its id.
    #[method(name = "aether_sendTransaction", blocking)]
    fn send_transaction(&self, tx: String) -> RpcResult<String>;

    /// A transaction by id, pending or included; `null` if unknown.
    #[method(name = "aether_getTransaction", blocking)]
    fn get_transaction(&self, tx_id: String) -> RpcResult<Option<TransactionDto>>;

    /// The receipt of an included transaction; `null` if not included.
    #[method(name = "aether_getReceipt", blocking)]
    fn get_receipt(&self, tx_id: String) -> RpcResult<Option<ReceiptDto>>;

    /// A block by height or tag; `null` above the tip.
    #[method(name = "aether_getBlockByNumber", blocking)]
    fn get_block_by_number(
        &self,
        block: BlockParam,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockDto>>;

    /// A block by hash; `null` if unknown.
    #[method(name = "aether_getBlockByHash", blocking)]
    fn get_block_by_hash(&self, hash: String, full: Option<bool>) -> RpcResult<Option<BlockDto>>;

    /// Unspent outputs of an address (at most `limit`, capped by the server).
    #[method(name = "aether_getUtxos", blocking)]
    fn get_utxos(&self, address: String, limit: Option<u32>) -> RpcResult<UtxosDto>;

    /// Balance of an address.
    #[method(name = "aether_getBalance", blocking)]
    fn get_balance(&self, address: String) -> RpcResult<BalanceDto>;

    /// Inclusion or exclusion proof of an out-point in the latest state.
    #[method(name = "aether_getStateProof", blocking)]
    fn get_state_proof(&self, out_point: OutPointParam) -> RpcResult<StateProofDto>;

    /// Height, finalized height, state root, version.
    #[method(name = "aether_status", blocking)]
    fn status(&self) -> RpcResult<StatusDto>;

    /// Chain id, fee schedule, output minimum, size and fuel limits: what
    /// a client needs to build a valid transaction.
    #[method(name = "aether_getParams", blocking)]
    fn get_params(&self) -> RpcResult<ParamsDto>;

    /// Headers of newly committed blocks (WebSocket only).
    #[subscription(
        name = "aether_subscribeNewHeads" => "aether_newHead",
        unsubscribe = "aether_unsubscribeNewHeads",
        item = HeaderDto
    )]
    async fn subscribe_new_heads(&self) -> SubscriptionResult;

    /// Headers of newly finalized blocks (WebSocket only).
    #[subscription(
        name = "aether_subscribeFinalizedHeads" => "aether_finalizedHead",
        unsubscribe = "aether_unsubscribeFinalizedHeads",
        item = HeaderDto
    )]
    async fn subscribe_finalized_heads(&self) -> SubscriptionResult;
}

/// The implementation of [`AetherApiServer`].
pub(crate) struct AetherRpc {
    pub(crate) backend: RpcBackend,
    pub(crate) config: RpcConfig,
}

fn full_flag(full: Option<bool>) -> bool {
    full.unwrap_or(false)
}

impl AetherRpc {
    fn resolve_height(&self, tag: BlockTag) -> Result<u64, RpcError> {
        Ok(match tag {
            BlockTag::Number(n) => n,
            BlockTag::Earliest => 0,
            BlockTag::Latest => self.backend.chain.status()?.height,
            BlockTag::Finalized => self.backend.chain.status()?.finalized_height,
        })
    }

    fn send(&self, tx: &str) -> Result<String, RpcError> {
        let digits = tx.strip_prefix("0x").unwrap_or(tx);
        let size = digits.len() / 2;
        if size > MAX_TX_LEN {
            return Err(MempoolError::TooLarge {
                size,
                max: MAX_TX_LEN,
            }
            .into());
        }
        let bytes = parse_hex_bytes("transaction hex", tx, MAX_TX_LEN)?;
        match self.backend.submitter.submit(&bytes) {
            Ok(id) => {
                tracing::debug!(tx = %id, "rpc: transaction accepted");
                Ok(id.to_string())
            }
            Err(error) => {
                tracing::debug!(%error, "rpc: transaction refused");
                Err(error.into())
            }
        }
    }

    fn transaction(&self, tx_id: &str) -> Result<Option<TransactionDto>, RpcError> {
        let id = parse_tx_id(tx_id)?;
        if let Some((tx, location)) = self.backend.chain.transaction(&id)? {
            return Ok(Some(TransactionDto::new(&tx, Some(&location))));
        }
        Ok(self
            .backend
            .submitter
            .pending_transaction(&id)
            .map(|tx| TransactionDto::new(&tx, None)))
    }

    fn receipt(&self, tx_id: &str) -> Result<Option<ReceiptDto>, RpcError> {
        let id = parse_tx_id(tx_id)?;
        Ok(self
            .backend
            .chain
            .receipt(&id)?
            .map(|(r, location)| ReceiptDto::new(&r, &location)))
    }

    fn block_by_number(
        &self,
        block: &BlockParam,
        full: Option<bool>,
    ) -> Result<Option<BlockDto>, RpcError> {
        let height = self.resolve_height(block.parse()?)?;
        Ok(self
            .backend
            .chain
            .block_by_height(height)?
            .map(|b| BlockDto::new(&b, full_flag(full))))
    }

    fn block_by_hash(&self, hash: &str, full: Option<bool>) -> Result<Option<BlockDto>, RpcError> {
        let hash = BlockHash(parse_hash32("block hash", hash)?);
        Ok(self
            .backend
            .chain
            .block_by_hash(&hash)?
            .map(|b| BlockDto::new(&b, full_flag(full))))
    }

    fn utxos(&self, address: &str, limit: Option<u32>) -> Result<UtxosDto, RpcError> {
        let parsed = parse_address(address)?;
        let cap = self.config.max_utxos_per_query;
        let limit = limit.map_or(cap, |l| usize::try_from(l).unwrap_or(cap).min(cap));
        let utxos = self.backend.chain.utxos_by_address(&parsed, limit)?;
        Ok(UtxosDto::new(format_address(&parsed), &utxos))
    }

    fn balance(&self, address: &str) -> Result<BalanceDto, RpcError> {
        let parsed = parse_address(address)?;
        let balance = self.backend.chain.balance(&parsed)?;
        Ok(BalanceDto::new(format_address(&parsed), &balance))
    }

    fn state_proof(&self, out_point: &OutPointParam) -> Result<StateProofDto, RpcError> {
        let op = out_point.parse()?;
        Ok(StateProofDto::from(&self.backend.chain.state_proof(&op)?))
    }

    fn chain_status(&self) -> Result<StatusDto, RpcError> {
        let chain = self.backend.chain.status()?;
        Ok(StatusDto::new(
            &chain,
            self.backend.submitter.pool_status(),
            crate::NODE_VERSION,
        ))
    }

    fn params(&self) -> Result<ParamsDto, RpcError> {
        Ok(ParamsDto::from(&self.backend.chain.tx_params()?))
    }
}

/// Forwards heads from a broadcast channel to a subscription until the
/// subscriber leaves or the channel closes.
async fn forward_heads(sink: SubscriptionSink, mut heads: broadcast::Receiver<Arc<BlockHeader>>) {
    loop {
        tokio::select! {
            _ = sink.closed() => return,
            next = heads.recv() => match next {
                Ok(header) => {
                    let message = match serde_json::value::to_raw_value(&HeaderDto::from(&*header)) {
                        Ok(m) => m,
                        Err(error) => {
                            tracing::error!(%error, "rpc: cannot serialize a header");
                            return;
                        }
                    };
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, method = sink.method_name(), "rpc: slow subscriber skipped heads");
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

#[async_trait]
impl AetherApiServer for AetherRpc {
    fn send_transaction(&self, tx: String) -> RpcResult<String> {
        Ok(self.send(&tx)?)
    }

    fn get_transaction(&self, tx_id: String) -> RpcResult<Option<TransactionDto>> {
        Ok(self.transaction(&tx_id)?)
    }

    fn get_receipt(&self, tx_id: String) -> RpcResult<Option<ReceiptDto>> {
        Ok(self.receipt(&tx_id)?)
    }

    fn get_block_by_number(
        &self,
        block: BlockParam,
        full: Option<bool>,
    ) -> RpcResult<Option<BlockDto>> {
        Ok(self.block_by_number(&block, full)?)
    }

    fn get_block_by_hash(&self, hash: String, full: Option<bool>) -> RpcResult<Option<BlockDto>> {
        Ok(self.block_by_hash(&hash, full)?)
    }

    fn get_utxos(&self, address: String, limit: Option<u32>) -> RpcResult<UtxosDto> {
        Ok(self.utxos(&address, limit)?)
    }

    fn get_balance(&self, address: String) -> RpcResult<BalanceDto> {
        Ok(self.balance(&address)?)
    }

    fn get_state_proof(&self, out_point: OutPointParam) -> RpcResult<StateProofDto> {
        Ok(self.state_proof(&out_point)?)
    }

    fn status(&self) -> RpcResult<StatusDto> {
        Ok(self.chain_status()?)
    }

    fn get_params(&self) -> RpcResult<ParamsDto> {
        Ok(self.params()?)
    }

    async fn subscribe_new_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let heads = self.backend.heads.subscribe_new_heads();
        let sink = pending.accept().await?;
        forward_heads(sink, heads).await;
        Ok(())
    }

    async fn subscribe_finalized_heads(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        let heads = self.backend.heads.subscribe_finalized_heads();
        let sink = pending.accept().await?;
        forward_heads(sink, heads).await;
        Ok(())
    }
}
