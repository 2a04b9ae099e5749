//! The typed JSON-RPC client: one method per RPC method of the node
//! (`docs/rpc.md`), over HTTP or WebSocket (`jsonrpsee`), plus the steps a
//! wallet chains around them (spendable outputs, waiting for a receipt,
//! building and sending a transfer).
//!
//! Arguments are protocol types and are sent in the node's text forms
//! (`aether-rpc-types`); results are the node's wire forms ([`dto`]),
//! which a caller can print as they are or decode (`parse*` methods), or
//! protocol types where the client decodes them itself (ids, parameters,
//! spendable outputs). Every failure is a [`ClientError`].

use crate::builder::{TxBuilder, Utxo};
use crate::error::ClientError;
use aether_crypto::ed25519::Keypair;
use aether_rpc_types::dto::{
    BalanceDto, BlockDto, HeaderDto, ParamsDto, ReceiptDto, StateProofDto, StatusDto,
    TransactionDto, UtxosDto,
};
use aether_rpc_types::methods as m;
use aether_rpc_types::params::{BlockParam, OutPointParam, format_address, parse_tx_id};
use aether_types::{Address, BlockHash, Canonical, JobId, OutPoint, Transaction, TxId, TxParams};
use jsonrpsee::core::client::{ClientT, Subscription, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// The wire forms of results, re-exported from `aether-rpc-types`.
pub use aether_rpc_types::dto;

/// How often [`RpcClient::wait_for_receipt`] asks for the receipt.
pub const RECEIPT_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Most outputs the node returns per `aether_getUtxos` (its default cap).
pub const MAX_UTXOS_PER_QUERY: u32 = 1000;

/// Settings of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Longest wait for one answer (and for a WebSocket handshake).
    /// Default 30 s.
    pub request_timeout: Duration,
    /// Largest answer accepted, in bytes. Default 64 MiB.
    pub max_response_size: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout: Duration::from_secs(30),
            max_response_size: 64 << 20,
        }
    }
}

enum Transport {
    Http(HttpClient),
    Ws(WsClient),
}

/// A connection to one node. Cheap to share by reference across tasks.
pub struct RpcClient {
    url: String,
    transport: Transport,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Headers delivered by a subscription, in the order the node sent them.
pub struct HeadSubscription {
    method: &'static str,
    inner: Subscription<HeaderDto>,
}

impl HeadSubscription {
    /// The next header; `None` once the subscription or connection ended.
    pub async fn next(&mut self) -> Option<Result<HeaderDto, ClientError>> {
        self.inner.next().await.map(|r| {
            r.map_err(|e| ClientError::Decode {
                method: self.method,
                reason: e.to_string(),
            })
        })
    }

    /// Ends the subscription on the node.
    pub async fn unsubscribe(self) -> Result<(), ClientError> {
        let method = self.method;
        self.inner
            .unsubscribe()
            .await
            .map_err(|e| ClientError::Other {
                method,
                reason: e.to_string(),
            })
    }
}

fn decode<T>(
    method: &'static str,
    r: Result<T, aether_rpc_types::ParamError>,
) -> Result<T, ClientError> {
    r.map_err(|e| ClientError::Decode {
        method,
        reason: e.to_string(),
    })
}

impl RpcClient {
    /// Connects to `url` (`http://`, `https://`, `ws://` or `wss://`) with
    /// the default settings. HTTP connects lazily, WebSocket at once.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        Self::connect_with(url, ClientConfig::default()).await
    }

    /// Connects to `url` with `config`.
    pub async fn connect_with(url: &str, config: ClientConfig) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: url.to_string(),
            reason,
        };
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let transport = match scheme.as_deref() {
            Some("http" | "https") => Transport::Http(
                HttpClientBuilder::default()
                    .request_timeout(config.request_timeout)
                    .max_response_size(config.max_response_size)
                    .build(url)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            Some("ws" | "wss") => Transport::Ws(
                WsClientBuilder::default()
                    .request_timeout(config.request_timeout)
                    .connection_timeout(config.request_timeout)
                    .max_response_size(config.max_response_size)
                    .build(url)
                    .await
                    .map_err(|e| match e {
                        jsonrpsee::core::client::Error::Transport(t) => ClientError::Transport {
                            url: url.to_string(),
                            reason: t.to_string(),
                        },
                        other => invalid(other.to_string()),
                    })?,
            ),
            _ => {
                return Err(invalid(
                    "expected http://, https://, ws:// or wss://".to_string(),
                ));
            }
        };
        Ok(RpcClient {
            url: url.to_string(),
            transport,
        })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the connection is a WebSocket (subscriptions work).
    pub fn is_websocket(&self) -> bool {
        matches!(self.transport, Transport::Ws(_))
    }

    /// Calls `method` with positional `params`; the escape hatch for
    /// methods this client has no typed wrapper for.
    pub async fn request<R: DeserializeOwned>(
        &self,
        method: &'static str,
        params: ArrayParams,
    ) -> Result<R, ClientError> {
        let result = match &self.transport {
            Transport::Http(c) => c.request(method, params).await,
            Transport::Ws(c) => c.request(method, params).await,
        };
        result.map_err(|e| ClientError::from_rpc(&self.url, method, e))
    }

    /// `aether_sendTransaction`: submits `tx`; returns its id (checked
    /// against the id the node answers).
    pub async fn send_transaction(&self, tx: &Transaction) -> Result<TxId, ClientError> {
        let id = self.send_raw_transaction(&hex::encode(tx.encode())).await?;
        if id != tx.id() {
            return Err(ClientError::Decode {
                method: m::SEND_TRANSACTION,
                reason: format!(
                    "the node answered id {id}, the transaction's is {}",
                    tx.id()
                ),
            });
        }
        Ok(id)
    }

    /// `aether_sendTransaction` with the hex of an encoding as it is (the
    /// node checks it).
    pub async fn send_raw_transaction(&self, tx_hex: &str) -> Result<TxId, ClientError> {
        let id: String = self
            .request(m::SEND_TRANSACTION, rpc_params![tx_hex])
            .await?;
        decode(m::SEND_TRANSACTION, parse_tx_id(&id))
    }

    /// `aether_getTransaction`: pending or included; `None` if unknown.
    pub async fn transaction(&self, id: &TxId) -> Result<Option<TransactionDto>, ClientError> {
        self.request(m::GET_TRANSACTION, rpc_params![id.to_string()])
            .await
    }

    /// `aether_getJob`: `None` if no such job.
    pub async fn job(
        &self,
        id: &aether_types::JobId,
    ) -> Result<Option<aether_rpc_types::market::JobDto>, ClientError> {
        self.request(m::GET_JOB, rpc_params![id.to_string()]).await
    }

    /// `aether_getProvider`: `None` if no such provider.
    pub async fn provider(
        &self,
        id: &aether_types::ProviderId,
    ) -> Result<Option<aether_rpc_types::market::ProviderDto>, ClientError> {
        self.request(m::GET_PROVIDER, rpc_params![id.to_string()])
            .await
    }

    /// `aether_getProviders`: every provider, in id order.
    pub async fn providers(
        &self,
    ) -> Result<Vec<aether_rpc_types::market::ProviderDto>, ClientError> {
        self.request(m::GET_PROVIDERS, rpc_params![]).await
    }

    /// `aether_getComputeReceipt`: the accepted receipt of a job, `None`
    /// before one.
    pub async fn compute_receipt(
        &self,
        job: &aether_types::JobId,
    ) -> Result<Option<aether_rpc_types::market::ComputeReceiptDto>, ClientError> {
        self.request(m::GET_COMPUTE_RECEIPT, rpc_params![job.to_string()])
            .await
    }

    /// `aether_getMeasurements`: registered images, optionally only one
    /// role (`worker`, `validator`) and/or TEE (`snp`, `tdx`).
    pub async fn measurements(
        &self,
        role: Option<&str>,
        tee: Option<&str>,
        include_revoked: bool,
    ) -> Result<Vec<aether_rpc_types::market::ImageDto>, ClientError> {
        let filter = aether_rpc_types::market::MeasurementFilter {
            role: role.map(String::from),
            tee: tee.map(String::from),
            include_revoked,
        };
        self.request(m::GET_MEASUREMENTS, rpc_params![filter]).await
    }

    /// `aether_getModels`: registered models.
    pub async fn models(&self) -> Result<Vec<aether_rpc_types::market::ModelDto>, ClientError> {
        self.request(m::GET_MODELS, rpc_params![]).await
    }

    /// `aether_getJobEvents`: the market events of committed blocks
    /// `from..=to` (one page: at most 256 blocks, never past the head;
    /// continue from the page's `to_height + 1`), optionally of one job.
    pub async fn job_events(
        &self,
        from: u64,
        to: Option<u64>,
        job: Option<&JobId>,
    ) -> Result<aether_rpc_types::market::JobEventsPageDto, ClientError> {
        self.request(
            m::GET_JOB_EVENTS,
            rpc_params![from, to, job.map(|j| j.to_string())],
        )
        .await
    }

    /// `aether_getReceipt`: `None` until included.
    pub async fn receipt(&self, id: &TxId) -> Result<Option<ReceiptDto>, ClientError> {
        self.request(m::GET_RECEIPT, rpc_params![id.to_string()])
            .await
    }

    /// `aether_getBlockByNumber`: a height, a tag (`BlockTag`) or the wire
    /// form as is; `None` above the tip.
    pub async fn block_by_number(
        &self,
        block: impl Into<BlockParam>,
        full: bool,
    ) -> Result<Option<BlockDto>, ClientError> {
        let block: BlockParam = block.into();
        self.request(m::GET_BLOCK_BY_NUMBER, rpc_params![block, full])
            .await
    }

    /// `aether_getBlockByHash`: `None` if unknown.
    pub async fn block_by_hash(
        &self,
        hash: &BlockHash,
        full: bool,
    ) -> Result<Option<BlockDto>, ClientError> {
        self.request(m::GET_BLOCK_BY_HASH, rpc_params![hash.to_string(), full])
            .await
    }

    /// `aether_getUtxos`: at most `limit` (the node caps it; `None` = the
    /// cap) outputs of `address` in out-point order.
    pub async fn utxos(
        &self,
        address: &Address,
        limit: Option<u32>,
    ) -> Result<UtxosDto, ClientError> {
        let address = format_address(address);
        match limit {
            Some(l) => self.request(m::GET_UTXOS, rpc_params![address, l]).await,
            None => self.request(m::GET_UTXOS, rpc_params![address]).await,
        }
    }

    /// `aether_getBalance`.
    pub async fn balance(&self, address: &Address) -> Result<BalanceDto, ClientError> {
        self.request(m::GET_BALANCE, rpc_params![format_address(address)])
            .await
    }

    /// `aether_getStateProof`: inclusion or exclusion proof of `out_point`
    /// at the latest state (verify it against a header's state root).
    pub async fn state_proof(&self, out_point: &OutPoint) -> Result<StateProofDto, ClientError> {
        self.request(
            m::GET_STATE_PROOF,
            rpc_params![OutPointParam::from(out_point)],
        )
        .await
    }

    /// `aether_status`.
    pub async fn status(&self) -> Result<StatusDto, ClientError> {
        self.request(m::STATUS, rpc_params![]).await
    }

    /// `aether_getParams`, decoded: what [`TxBuilder::new`] needs.
    pub async fn params(&self) -> Result<TxParams, ClientError> {
        let dto: ParamsDto = self.request(m::GET_PARAMS, rpc_params![]).await?;
        decode(m::GET_PARAMS, dto.parse())
    }

    /// `rpc.discover`: the node's OpenRPC document.
    pub async fn discover(&self) -> Result<serde_json::Value, ClientError> {
        self.request(m::DISCOVER, rpc_params![]).await
    }

    async fn subscribe(
        &self,
        method: &'static str,
        unsubscribe: &'static str,
    ) -> Result<HeadSubscription, ClientError> {
        let Transport::Ws(ws) = &self.transport else {
            return Err(ClientError::NeedsWebSocket {
                url: self.url.clone(),
            });
        };
        let inner = ws
            .subscribe(method, rpc_params![], unsubscribe)
            .await
            .map_err(|e| ClientError::from_rpc(&self.url, method, e))?;
        Ok(HeadSubscription { method, inner })
    }

    /// `aether_subscribeNewHeads` (WebSocket only): headers of newly
    /// committed blocks.
    pub async fn subscribe_new_heads(&self) -> Result<HeadSubscription, ClientError> {
        self.subscribe(m::SUBSCRIBE_NEW_HEADS, m::UNSUBSCRIBE_NEW_HEADS)
            .await
    }

    /// `aether_subscribeFinalizedHeads` (WebSocket only): headers of newly
    /// finalized blocks, in height order.
    pub async fn subscribe_finalized_heads(&self) -> Result<HeadSubscription, ClientError> {
        self.subscribe(m::SUBSCRIBE_FINALIZED_HEADS, m::UNSUBSCRIBE_FINALIZED_HEADS)
            .await
    }

    /// The unspent outputs of `address` (up to [`MAX_UTXOS_PER_QUERY`]),
    /// decoded for the builder.
    pub async fn spendable(&self, address: &Address) -> Result<Vec<Utxo>, ClientError> {
        let utxos = self.utxos(address, Some(MAX_UTXOS_PER_QUERY)).await?;
        utxos
            .utxos
            .iter()
            .map(|u| {
                Ok(Utxo {
                    out_point: decode(m::GET_UTXOS, u.out_point.parse())?,
                    address: decode(m::GET_UTXOS, u.output.parse_address())?,
                    value: decode(m::GET_UTXOS, u.output.parse_value())?,
                })
            })
            .collect()
    }

    /// A signed transfer of `amount` base units from `from` to `to`, with
    /// the chain's parameters and `from`'s spendable outputs (largest
    /// first), change back to `from`, `extra_fee` above the minimum. Not
    /// sent: see [`Self::send_transaction`].
    pub async fn build_transfer(
        &self,
        from: &Keypair,
        to: Address,
        amount: u128,
        extra_fee: u128,
    ) -> Result<Transaction, ClientError> {
        let params = self.params().await?;
        let me = Address::Key(from.key_hash());
        let coins = self.spendable(&me).await?;
        Ok(TxBuilder::new(&params)
            .pay(to, amount)
            .change_to(me)
            .signer(from)
            .extra_fee(extra_fee)
            .fund_from(&coins)?)
    }

    /// Polls for the receipt of `id` every [`RECEIPT_POLL_INTERVAL`] until
    /// `timeout`; [`ClientError::NotIncluded`] if none appeared.
    pub async fn wait_for_receipt(
        &self,
        id: &TxId,
        timeout: Duration,
    ) -> Result<ReceiptDto, ClientError> {
        let start = Instant::now();
        loop {
            if let Some(receipt) = self.receipt(id).await? {
                return Ok(receipt);
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(ClientError::NotIncluded { tx_id: *id, waited });
            }
            tokio::time::sleep(RECEIPT_POLL_INTERVAL.min(timeout - waited)).await;
        }
    }
}
