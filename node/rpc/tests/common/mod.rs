//! Shared support of the RPC integration tests: a real server on an
//! ephemeral loopback port over the in-memory chain, jsonrpsee clients,
//! and a raw HTTP/1.1 client for requests no well-behaved client sends.

#![allow(dead_code)]

use aether_rpc::testing::{MemoryChain, MemoryChainConfig};
use aether_rpc::{RpcConfig, RpcServer, RpcServerHandle};
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Limits used by the tests (small, so that they are easy to hit).
pub fn test_config() -> RpcConfig {
    RpcConfig {
        max_request_body_bytes: 1024 * 1024,
        max_batch_len: 4,
        max_subscriptions_per_connection: 2,
        ..RpcConfig::default()
    }
}

pub struct Node {
    pub chain: Arc<MemoryChain>,
    pub server: RpcServerHandle,
}

impl Node {
    pub async fn start() -> Node {
        Self::start_with(MemoryChainConfig::default(), test_config()).await
    }

    pub async fn start_with(chain_config: MemoryChainConfig, config: RpcConfig) -> Node {
        let chain = MemoryChain::new(chain_config);
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server = RpcServer::start_with(addr, chain.backend(), config)
            .await
            .expect("server starts on an ephemeral port");
        assert_ne!(server.local_addr().port(), 0);
        Node { chain, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn http(&self) -> HttpClient {
        HttpClientBuilder::default()
            .build(self.server.http_url())
            .unwrap()
    }

    pub async fn ws(&self) -> WsClient {
        WsClientBuilder::default()
            .build(self.server.ws_url())
            .await
            .unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// Calls `method`; `Err` carries the JSON-RPC error object.
pub async fn call<C: ClientT>(
    client: &C,
    method: &str,
    params: ArrayParams,
) -> Result<Value, ErrorObjectOwned> {
    match client.request::<Value, _>(method, params).await {
        Ok(v) => Ok(v),
        Err(ClientError::Call(e)) => Err(e),
        Err(other) => panic!("transport error calling {method}: {other}"),
    }
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub body: String,
}

impl RawResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `error.code` of a single JSON-RPC response.
    pub fn error_code(&self) -> i64 {
        self.json()["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }
}

/// Sends `body` as a JSON POST over a fresh TCP connection and reads the
/// whole response (the connection is closed after it).
pub async fn raw_post(addr: SocketAddr, body: &[u8]) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) and close before reading an oversize body.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    RawResponse { status, body }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// Everything a request could change: status (height, roots, mempool
/// size) and the balances of the first dev accounts.
pub async fn snapshot<C: ClientT>(client: &C) -> Value {
    let status = call(client, "aether_status", jsonrpsee::rpc_params![])
        .await
        .unwrap();
    let mut balances = Vec::new();
    for i in 0..8 {
        let address = aether_rpc::params::format_address(&aether_rpc::testing::dev_address(i));
        balances.push(
            call(client, "aether_getBalance", jsonrpsee::rpc_params![address])
                .await
                .unwrap(),
        );
    }
    serde_json::json!({"status": status, "balances": balances})
}

pub fn address_text(i: u32) -> String {
    aether_rpc::params::format_address(&aether_rpc::testing::dev_address(i))
}

pub fn tx_hex(tx: &aether_types::Transaction) -> String {
    use aether_types::Canonical;
    hex::encode(tx.encode())
}

/// The next item of a subscription, within 10 s.
pub async fn next_item(sub: &mut jsonrpsee::core::client::Subscription<Value>) -> Value {
    tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
        .await
        .expect("a notification within 10 s")
        .expect("subscription open")
        .expect("valid notification")
}
