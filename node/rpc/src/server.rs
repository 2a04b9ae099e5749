//! Starting and stopping the server; its limits.

use crate::api::{AetherApiServer, AetherRpc};
use crate::backend::RpcBackend;
use crate::codes;
use crate::error::RpcError;
use crate::market::MarketApiServer;
use crate::openrpc;
use jsonrpsee::RpcModule;
use jsonrpsee::server::middleware::rpc::{
    Batch, MethodResponse, Notification, Request, RpcServiceBuilder, RpcServiceT,
};
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObject;
use jsonrpsee::types::error::INTERNAL_ERROR_CODE;
use std::future::Future;
use std::net::SocketAddr;

/// The default listening address: JSON-RPC on loopback port 8545.
pub const DEFAULT_RPC_ADDR: &str = "127.0.0.1:8545";

/// Limits of the server. Every limit answers with a JSON-RPC error (or an
/// HTTP status where no JSON-RPC exchange is possible); see `docs/rpc.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// Largest request body (HTTP) or message (WebSocket), in bytes.
    /// Default 1 MiB: a transaction is at most 256 KiB, 512 KiB as hex.
    pub max_request_body_bytes: u32,
    /// Largest response, in bytes. Default 10 MiB.
    pub max_response_body_bytes: u32,
    /// Most simultaneous connections (HTTP and WebSocket). Default 100.
    pub max_connections: u32,
    /// Most subscriptions per WebSocket connection. Default 32.
    pub max_subscriptions_per_connection: u32,
    /// Most calls in one batch. Default 64.
    pub max_batch_len: u32,
    /// Most outputs `aether_getUtxos` returns. Default 1000.
    pub max_utxos_per_query: usize,
    /// Messages buffered per WebSocket connection before back-pressure.
    /// Default 256.
    pub message_buffer_capacity: u32,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            max_request_body_bytes: 1024 * 1024,
            max_response_body_bytes: 10 * 1024 * 1024,
            max_connections: 100,
            max_subscriptions_per_connection: 32,
            max_batch_len: 64,
            max_utxos_per_query: 1000,
            message_buffer_capacity: 256,
        }
    }
}

/// Every method of the server, `rpc.discover` included, in one module.
pub fn rpc_module(backend: RpcBackend, config: RpcConfig) -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module
        .merge(
            crate::market::MarketRpc {
                backend: backend.clone(),
            }
            .into_rpc(),
        )
        .expect("the market's method names are distinct");
    module
        .merge(AetherRpc { backend, config }.into_rpc())
        .expect("the API's method names are distinct");
    let document = openrpc::document();
    module
        .register_method("rpc.discover", move |_, _, _| {
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(document.clone())
        })
        .expect("rpc.discover is not an API method name");
    module
}

/// The JSON-RPC server: HTTP and WebSocket on one port.
#[derive(Debug)]
pub struct RpcServer;

impl RpcServer {
    /// Starts the server on `addr` with the default limits. Call from
    /// within a Tokio runtime; the server runs on it until stopped.
    pub async fn start(addr: SocketAddr, backend: RpcBackend) -> Result<RpcServerHandle, RpcError> {
        Self::start_with(addr, backend, RpcConfig::default()).await
    }

    /// Starts the server on `addr` with the given limits.
    pub async fn start_with(
        addr: SocketAddr,
        backend: RpcBackend,
        config: RpcConfig,
    ) -> Result<RpcServerHandle, RpcError> {
        Self::start_with_extra(addr, backend, config, None).await
    }

    /// Starts the server on `addr` with the given limits and, beside the
    /// standard methods, those of `extra` (e.g. [`crate::debug`] methods a
    /// node enables). A name that clashes with a standard method is an
    /// error.
    pub async fn start_with_extra(
        addr: SocketAddr,
        backend: RpcBackend,
        config: RpcConfig,
        extra: Option<RpcModule<()>>,
    ) -> Result<RpcServerHandle, RpcError> {
        let mut module = rpc_module(backend, config);
        if let Some(extra) = extra {
            module.merge(extra).map_err(|e| RpcError::Start {
                addr,
                reason: format!("extra methods: {e}"),
            })?;
        }
        let server_config = ServerConfig::builder()
            .max_request_body_size(config.max_request_body_bytes)
            .max_response_body_size(config.max_response_body_bytes)
            .max_connections(config.max_connections)
            .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
            .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
            .set_message_buffer_capacity(config.message_buffer_capacity)
            .build();
        let start_error = |e: std::io::Error| RpcError::Start {
            addr,
            reason: e.to_string(),
        };
        let server = Server::builder()
            .set_config(server_config)
            .set_rpc_middleware(
                RpcServiceBuilder::new().layer_fn(|inner| SubscriptionTransportHint { inner }),
            )
            .build(addr)
            .await
            .map_err(start_error)?;
        let local_addr = server.local_addr().map_err(start_error)?;
        let handle = server.start(module);
        tracing::info!(%local_addr, "JSON-RPC server listening (HTTP and WebSocket)");
        Ok(RpcServerHandle { local_addr, handle })
    }
}

/// A running server.
#[derive(Debug, Clone)]
pub struct RpcServerHandle {
    local_addr: SocketAddr,
    handle: ServerHandle,
}

impl RpcServerHandle {
    /// The address the server listens on (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<addr>`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// `ws://<addr>`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.local_addr)
    }

    /// Asks the server to stop (idempotent).
    pub fn stop(&self) {
        // An error only means it was already stopped.
        let _ = self.handle.stop();
    }

    /// Waits until the server has stopped.
    pub async fn stopped(self) {
        self.handle.stopped().await
    }
}

/// Whether `method` is one of the subscription or unsubscription methods.
fn is_subscription_method(method: &str) -> bool {
    method.starts_with("aether_subscribe") || method.starts_with("aether_unsubscribe")
}

/// RPC middleware: jsonrpsee answers a subscription call made over plain
/// HTTP with a bare "Internal error"; this turns it into the documented
/// [`codes::SUBSCRIPTION_NEEDS_WEBSOCKET`] with a clear message. (Inside an
/// HTTP batch jsonrpsee's answer is left as is.)
#[derive(Clone)]
struct SubscriptionTransportHint<S> {
    inner: S,
}

impl<S> RpcServiceT for SubscriptionTransportHint<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let inner = self.inner.clone();
        async move {
            let subscription = is_subscription_method(request.method_name());
            let id = request.id().into_owned();
            let response = inner.call(request).await;
            if subscription && response.as_error_code() == Some(INTERNAL_ERROR_CODE) {
                let extensions = response.extensions().clone();
                return MethodResponse::error(
                    id,
                    ErrorObject::owned(
                        codes::SUBSCRIPTION_NEEDS_WEBSOCKET,
                        "subscriptions need a WebSocket connection (ws://)",
                        Some(serde_json::json!({"kind": "SubscriptionNeedsWebSocket"})),
                    ),
                )
                .with_extensions(extensions);
            }
            response
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.batch(batch)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(notification)
    }
}
