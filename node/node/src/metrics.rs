//! Prometheus metrics (text exposition format at `GET /metrics` on the
//! configured address, default `127.0.0.1:9615`).
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `aether_block_height` | gauge | height of the latest committed block |
//! | `aether_finalized_height` | gauge | height of the latest finalized block |
//! | `aether_blocks_committed_total` | counter | blocks committed by this process |
//! | `aether_txs_committed_total` | counter | transactions in those blocks |
//! | `aether_txs_per_second` | gauge | committed transactions per second over the last 10 s |
//! | `aether_mempool_txs` / `aether_mempool_bytes` | gauge | pool size |
//! | `aether_block_execution_seconds` | histogram | ledger execution time per block |
//! | `aether_block_commit_seconds` | histogram | state tree + atomic write time per block |
//! | `aether_rocksdb_live_data_bytes{cf}` | gauge | RocksDB's estimate of live data per column family |
//! | `aether_rocksdb_sst_bytes{cf}` | gauge | SST file bytes per column family |
//! | `aether_rocksdb_memtable_bytes{cf}` | gauge | memtable bytes per column family |
//! | `aether_rocksdb_keys{cf}` | gauge | estimated keys per column family |
//!
//! RocksDB figures are read when scraped.

use crate::error::NodeError;
use aether_storage::Store;
use aether_types::Block;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Window of `aether_txs_per_second`.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Labels of the per-column-family gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CfLabel {
    cf: String,
}

/// The node's metrics (see the module docs).
#[derive(Debug)]
pub struct NodeMetrics {
    registry: Registry,
    height: Gauge,
    finalized: Gauge,
    blocks: Counter,
    txs: Counter,
    tps: Gauge<f64, std::sync::atomic::AtomicU64>,
    pool_txs: Gauge,
    pool_bytes: Gauge,
    execution: Histogram,
    commit: Histogram,
    cf_live: Family<CfLabel, Gauge>,
    cf_sst: Family<CfLabel, Gauge>,
    cf_mem: Family<CfLabel, Gauge>,
    cf_keys: Family<CfLabel, Gauge>,
    recent: Mutex<VecDeque<(Instant, u64)>>,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Default for NodeMetrics {
    fn default() -> Self {
        NodeMetrics::new()
    }
}

impl NodeMetrics {
    /// All metrics registered, at zero.
    pub fn new() -> NodeMetrics {
        let mut registry = Registry::default();
        let m = NodeMetrics {
            height: Gauge::default(),
            finalized: Gauge::default(),
            blocks: Counter::default(),
            txs: Counter::default(),
            tps: Gauge::default(),
            pool_txs: Gauge::default(),
            pool_bytes: Gauge::default(),
            execution: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            commit: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            cf_live: Family::default(),
            cf_sst: Family::default(),
            cf_mem: Family::default(),
            cf_keys: Family::default(),
            recent: Mutex::new(VecDeque::new()),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "aether_block_height",
            "Height of the latest committed block",
            m.height.clone(),
        );
        r.register(
            "aether_finalized_height",
            "Height of the latest finalized block",
            m.finalized.clone(),
        );
        r.register(
            "aether_blocks_committed",
            "Blocks committed by this process",
            m.blocks.clone(),
        );
        r.register(
            "aether_txs_committed",
            "Transactions committed by this process",
            m.txs.clone(),
        );
        r.register(
            "aether_txs_per_second",
            "Committed transactions per second over the last 10 s",
            m.tps.clone(),
        );
        r.register(
            "aether_mempool_txs",
            "Transactions in the mempool",
            m.pool_txs.clone(),
        );
        r.register(
            "aether_mempool_bytes",
            "Encoded bytes in the mempool",
            m.pool_bytes.clone(),
        );
        r.register(
            "aether_block_execution_seconds",
            "Ledger execution time per block",
            m.execution.clone(),
        );
        r.register(
            "aether_block_commit_seconds",
            "State tree and atomic write time per block",
            m.commit.clone(),
        );
        r.register(
            "aether_rocksdb_live_data_bytes",
            "RocksDB estimate of live data per column family",
            m.cf_live.clone(),
        );
        r.register(
            "aether_rocksdb_sst_bytes",
            "SST file bytes per column family",
            m.cf_sst.clone(),
        );
        r.register(
            "aether_rocksdb_memtable_bytes",
            "Memtable bytes per column family",
            m.cf_mem.clone(),
        );
        r.register(
            "aether_rocksdb_keys",
            "Estimated keys per column family",
            m.cf_keys.clone(),
        );
        NodeMetrics { registry, ..m }
    }

    /// Records the store's tip and finality.
    pub fn observe_tip(&self, store: &Store) {
        if let Some(tip) = store.tip() {
            self.height.set(to_i64(tip.height));
        }
        if let Some(f) = store.finalized() {
            self.finalized.set(to_i64(f));
        }
    }

    /// Records the pool size.
    pub fn observe_pool(&self, txs: usize, bytes: usize) {
        self.pool_txs.set(to_i64(txs as u64));
        self.pool_bytes.set(to_i64(bytes as u64));
    }

    /// Records a committed (and finalized) block.
    pub fn observe_block(&self, block: &Block, execution: Duration, commit: Duration) {
        let n = block.transactions.len() as u64;
        self.height.set(to_i64(block.header.height));
        self.finalized.set(to_i64(block.header.height));
        self.blocks.inc();
        self.txs.inc_by(n);
        self.execution.observe(execution.as_secs_f64());
        self.commit.observe(commit.as_secs_f64());
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.push_back((now, n));
        while recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            recent.pop_front();
        }
        let total: u64 = recent.iter().map(|(_, n)| n).sum();
        self.tps.set(total as f64 / RATE_WINDOW.as_secs_f64());
    }

    /// The exposition text, with RocksDB figures read from `store` now.
    pub fn render(&self, store: &Store) -> String {
        match store.cf_sizes() {
            Ok(sizes) => {
                for s in sizes {
                    let l = CfLabel {
                        cf: s.name.to_string(),
                    };
                    self.cf_live
                        .get_or_create(&l)
                        .set(to_i64(s.live_data_bytes));
                    self.cf_sst.get_or_create(&l).set(to_i64(s.sst_bytes));
                    self.cf_mem.get_or_create(&l).set(to_i64(s.memtable_bytes));
                    self.cf_keys.get_or_create(&l).set(to_i64(s.estimated_keys));
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: cannot read RocksDB properties"),
        }
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!(error = %e, "metrics: encoding failed");
        }
        text
    }
}

/// Serves `GET /metrics` on `addr` until the task is dropped; returns the
/// bound address (port 0 picks one) and the server task.
pub async fn serve(
    addr: SocketAddr,
    render: Arc<dyn Fn() -> String + Send + Sync>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), NodeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| NodeError::Io {
            context: format!("metrics: cannot listen on {addr}"),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| NodeError::Io {
        context: "metrics: local address".into(),
        source,
    })?;
    let task =
        tokio::spawn(async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let render = Arc::clone(&render);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let render = Arc::clone(&render);
                            async move {
                                if req.uri().path() == "/metrics" {
                                    let text = tokio::task::spawn_blocking(move || render())
                                        .await
                                        .unwrap_or_default();
                                    Response::builder()
                                        .header(
                                            "content-type",
                                            "text/plain; version=0.0.4; charset=utf-8",
                                        )
                                        .body(Full::new(Bytes::from(text)))
                                } else {
                                    Response::builder().status(StatusCode::NOT_FOUND).body(
                                        Full::new(Bytes::from_static(b"not found: try /metrics\n")),
                                    )
                                }
                            }
                        });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await
                    {
                        tracing::debug!(error = %e, "metrics: connection ended");
                    }
                });
            }
        });
    Ok((local, task))
}
