//! A blocking JSON-RPC client of the node (jsonrpsee's HTTP client on a
//! current-thread runtime), returning the RPC crate's result types.

use crate::CliError;
use aether_rpc::dto::*;
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A connection to one node.
pub(crate) struct Client {
    url: String,
    http: HttpClient,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client of `url` with a 30 s request timeout.
    pub(crate) fn new(url: &str) -> Result<Client, CliError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Failed(format!("cannot start the client runtime: {e}")))?;
        let http = {
            let _guard = runtime.enter();
            HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(30))
                .max_response_size(64 << 20)
                .build(url)
                .map_err(|e| CliError::Usage(format!("--rpc {url:?}: {e}")))?
        };
        Ok(Client {
            url: url.to_string(),
            http,
            runtime,
        })
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> Result<T, CliError> {
        self.runtime
            .block_on(self.http.request(method, params))
            .map_err(|e| match e {
                ClientError::Call(obj) => {
                    let data = obj
                        .data()
                        .map(|d| format!(" {}", d.get()))
                        .unwrap_or_default();
                    CliError::Failed(format!(
                        "the node refused {method}: {} (code {}){data}",
                        obj.message(),
                        obj.code()
                    ))
                }
                ClientError::Transport(t) => {
                    CliError::Failed(format!("cannot reach the node at {}: {t}", self.url))
                }
                ClientError::RequestTimeout => CliError::Failed(format!(
                    "{method}: the node at {} did not answer in time",
                    self.url
                )),
                other => CliError::Failed(format!("{method}: {other}")),
            })
    }

    /// `aether_status`.
    pub(crate) fn status(&self) -> Result<StatusDto, CliError> {
        self.call("aether_status", rpc_params![])
    }

    /// `aether_getBalance`.
    pub(crate) fn balance(&self, address: &str) -> Result<BalanceDto, CliError> {
        self.call("aether_getBalance", rpc_params![address])
    }

    /// `aether_getUtxos`.
    pub(crate) fn utxos(&self, address: &str, limit: u32) -> Result<UtxosDto, CliError> {
        self.call("aether_getUtxos", rpc_params![address, limit])
    }

    /// `aether_getBlockByNumber` (number or tag).
    pub(crate) fn block_by_number(
        &self,
        block: serde_json::Value,
        full: bool,
    ) -> Result<Option<BlockDto>, CliError> {
        self.call("aether_getBlockByNumber", rpc_params![block, full])
    }

    /// `aether_getBlockByHash`.
    pub(crate) fn block_by_hash(
        &self,
        hash: &str,
        full: bool,
    ) -> Result<Option<BlockDto>, CliError> {
        self.call("aether_getBlockByHash", rpc_params![hash, full])
    }

    /// `aether_getTransaction`.
    pub(crate) fn transaction(&self, id: &str) -> Result<Option<TransactionDto>, CliError> {
        self.call("aether_getTransaction", rpc_params![id])
    }

    /// `aether_getReceipt`.
    pub(crate) fn receipt(&self, id: &str) -> Result<Option<ReceiptDto>, CliError> {
        self.call("aether_getReceipt", rpc_params![id])
    }

    /// `aether_getStateProof`.
    pub(crate) fn state_proof(&self, out_point: &str) -> Result<StateProofDto, CliError> {
        self.call("aether_getStateProof", rpc_params![out_point])
    }

    /// `aether_sendTransaction`.
    pub(crate) fn send_transaction(&self, tx_hex: &str) -> Result<String, CliError> {
        self.call("aether_sendTransaction", rpc_params![tx_hex])
    }

    /// Polls for the receipt of `id` every 100 ms until `timeout`.
    pub(crate) fn wait_receipt(&self, id: &str, timeout: Duration) -> Result<ReceiptDto, CliError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.receipt(id)? {
                return Ok(r);
            }
            if std::time::Instant::now() >= deadline {
                return Err(CliError::Failed(format!(
                    "transaction {id} was accepted but not included within {} s (see `aether query tx {id}`)",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
