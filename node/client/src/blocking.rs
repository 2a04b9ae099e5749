//! A blocking wrapper of [`RpcClient`] for programs without an async
//! runtime (the `aether` CLI): each call runs the async client on a
//! private current-thread Tokio runtime. Subscriptions need the async
//! client.

use crate::builder::Utxo;
use crate::error::ClientError;
use crate::rpc::{ClientConfig, RpcClient};
use aether_crypto::ed25519::Keypair;
use aether_rpc_types::dto::{
    BalanceDto, BlockDto, ReceiptDto, StateProofDto, StatusDto, TransactionDto, UtxosDto,
};
use aether_rpc_types::params::BlockParam;
use aether_types::{Address, BlockHash, JobId, OutPoint, Transaction, TxId, TxParams};
use std::future::Future;
use std::time::Duration;

/// A blocking connection to one node (see the module docs).
#[derive(Debug)]
pub struct BlockingClient {
    // Dropped before the runtime it runs on.
    inner: RpcClient,
    runtime: tokio::runtime::Runtime,
}

impl BlockingClient {
    /// Connects to `url` with the default settings.
    pub fn connect(url: &str) -> Result<Self, ClientError> {
        Self::connect_with(url, ClientConfig::default())
    }

    /// Connects to `url` with `config`.
    pub fn connect_with(url: &str, config: ClientConfig) -> Result<Self, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Other {
                method: "connect",
                reason: format!("cannot start the client runtime: {e}"),
            })?;
        let inner = runtime.block_on(RpcClient::connect_with(url, config))?;
        Ok(BlockingClient { inner, runtime })
    }

    /// The async client inside.
    pub fn inner(&self) -> &RpcClient {
        &self.inner
    }

    /// Runs one future of the inner client to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        self.inner.url()
    }

    /// See [`RpcClient::send_transaction`].
    pub fn send_transaction(&self, tx: &Transaction) -> Result<TxId, ClientError> {
        self.block_on(self.inner.send_transaction(tx))
    }

    /// See [`RpcClient::send_raw_transaction`].
    pub fn send_raw_transaction(&self, tx_hex: &str) -> Result<TxId, ClientError> {
        self.block_on(self.inner.send_raw_transaction(tx_hex))
    }

    /// See [`RpcClient::transaction`].
    pub fn transaction(&self, id: &TxId) -> Result<Option<TransactionDto>, ClientError> {
        self.block_on(self.inner.transaction(id))
    }

    /// See [`RpcClient::receipt`].
    pub fn receipt(&self, id: &TxId) -> Result<Option<ReceiptDto>, ClientError> {
        self.block_on(self.inner.receipt(id))
    }

    /// See [`RpcClient::block_by_number`].
    pub fn block_by_number(
        &self,
        block: impl Into<BlockParam>,
        full: bool,
    ) -> Result<Option<BlockDto>, ClientError> {
        self.block_on(self.inner.block_by_number(block, full))
    }

    /// See [`RpcClient::block_by_hash`].
    pub fn block_by_hash(
        &self,
        hash: &BlockHash,
        full: bool,
    ) -> Result<Option<BlockDto>, ClientError> {
        self.block_on(self.inner.block_by_hash(hash, full))
    }

    /// See [`RpcClient::utxos`].
    pub fn utxos(&self, address: &Address, limit: Option<u32>) -> Result<UtxosDto, ClientError> {
        self.block_on(self.inner.utxos(address, limit))
    }

    /// See [`RpcClient::balance`].
    pub fn balance(&self, address: &Address) -> Result<BalanceDto, ClientError> {
        self.block_on(self.inner.balance(address))
    }

    /// See [`RpcClient::state_proof`].
    pub fn state_proof(&self, out_point: &OutPoint) -> Result<StateProofDto, ClientError> {
        self.block_on(self.inner.state_proof(out_point))
    }

    /// See [`RpcClient::job`].
    pub fn job(
        &self,
        id: &aether_types::JobId,
    ) -> Result<Option<aether_rpc_types::market::JobDto>, ClientError> {
        self.block_on(self.inner.job(id))
    }

    /// See [`RpcClient::provider`].
    pub fn provider(
        &self,
        id: &aether_types::ProviderId,
    ) -> Result<Option<aether_rpc_types::market::ProviderDto>, ClientError> {
        self.block_on(self.inner.provider(id))
    }

    /// See [`RpcClient::providers`].
    pub fn providers(&self) -> Result<Vec<aether_rpc_types::market::ProviderDto>, ClientError> {
        self.block_on(self.inner.providers())
    }

    /// See [`RpcClient::compute_receipt`].
    pub fn compute_receipt(
        &self,
        job: &aether_types::JobId,
    ) -> Result<Option<aether_rpc_types::market::ComputeReceiptDto>, ClientError> {
        self.block_on(self.inner.compute_receipt(job))
    }

    /// See [`RpcClient::measurements`].
    pub fn measurements(
        &self,
        role: Option<&str>,
        tee: Option<&str>,
        include_revoked: bool,
    ) -> Result<Vec<aether_rpc_types::market::ImageDto>, ClientError> {
        self.block_on(self.inner.measurements(role, tee, include_revoked))
    }

    /// See [`RpcClient::models`].
    pub fn models(&self) -> Result<Vec<aether_rpc_types::market::ModelDto>, ClientError> {
        self.block_on(self.inner.models())
    }

    /// See [`RpcClient::job_events`].
    pub fn job_events(
        &self,
        from: u64,
        to: Option<u64>,
        job: Option<&JobId>,
    ) -> Result<aether_rpc_types::market::JobEventsPageDto, ClientError> {
        self.block_on(self.inner.job_events(from, to, job))
    }

    /// See [`RpcClient::status`].
    pub fn status(&self) -> Result<StatusDto, ClientError> {
        self.block_on(self.inner.status())
    }

    /// See [`RpcClient::params`].
    pub fn params(&self) -> Result<TxParams, ClientError> {
        self.block_on(self.inner.params())
    }

    /// See [`RpcClient::spendable`].
    pub fn spendable(&self, address: &Address) -> Result<Vec<Utxo>, ClientError> {
        self.block_on(self.inner.spendable(address))
    }

    /// See [`RpcClient::build_transfer`].
    pub fn build_transfer(
        &self,
        from: &Keypair,
        to: Address,
        amount: u128,
        extra_fee: u128,
    ) -> Result<Transaction, ClientError> {
        self.block_on(self.inner.build_transfer(from, to, amount, extra_fee))
    }

    /// See [`RpcClient::wait_for_receipt`].
    pub fn wait_for_receipt(
        &self,
        id: &TxId,
        timeout: Duration,
    ) -> Result<ReceiptDto, ClientError> {
        self.block_on(self.inner.wait_for_receipt(id, timeout))
    }
}
