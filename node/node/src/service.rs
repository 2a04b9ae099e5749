//! Starting and stopping a node: the store, the chain, the JSON-RPC server,
//! the metrics exporter and the block-production loop.
//!
//! ```text
//!  ┌──────────── RunningNode ────────────┐
//!  │ producer loop (tokio interval)      │──▶ NodeChain::produce_block (blocking pool)
//!  │ RpcServer (jsonrpsee, HTTP + WS)    │──▶ NodeChain as ChainReader / TxSubmitter
//!  │ metrics exporter (hyper, /metrics)  │──▶ NodeMetrics::render
//!  └─────────────────────────────────────┘
//! ```
//!
//! Shutdown stops the producer after the block in progress, then the RPC
//! server, then flushes the store. A crash at any moment loses nothing that
//! was committed (each block is one synced RocksDB write batch).

use crate::chain::{BlockLimits, NodeChain};
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::metrics::{self, NodeMetrics};
use crate::models::{ModelStore, NodeRuntime};
use aether_ledger::Ledger;
use aether_mempool::Mempool;
use aether_rpc::{RpcServer, RpcServerHandle};
use aether_storage::{Store, StoreOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A started node.
pub struct RunningNode {
    chain: Arc<NodeChain>,
    rpc: RpcServerHandle,
    metrics_addr: Option<SocketAddr>,
    metrics_task: Option<JoinHandle<()>>,
    producer: JoinHandle<Result<(), NodeError>>,
    stop: watch::Sender<bool>,
    network: Option<aether_network::Network>,
}

impl std::fmt::Debug for RunningNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningNode")
            .field("rpc", &self.rpc.local_addr())
            .field("metrics", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

/// The wall clock in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl RunningNode {
    /// Opens the store in `config.data_dir`, commits or checks the genesis,
    /// and starts the RPC server, the metrics exporter and block production.
    pub async fn start(config: NodeConfig) -> Result<RunningNode, NodeError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|source| NodeError::Io {
            context: format!("cannot create data dir {}", config.data_dir.display()),
            source,
        })?;
        let options = StoreOptions {
            sync_writes: config.sync_writes,
            ..StoreOptions::default()
        };
        let db_path = config.db_path();
        let store = tokio::task::spawn_blocking(move || Store::open(db_path, options))
            .await
            .map_err(|e| NodeError::Task {
                reason: format!("store open task failed: {e}"),
            })??;
        let metrics = Arc::new(NodeMetrics::new());
        let runtime = NodeRuntime::new(ModelStore::new(config.models_path()));
        for model in chain_models_missing(&store, runtime.models()) {
            tracing::warn!(%model, dir = %runtime.models().dir().display(), "a registered model is not in the model store: challenges of its jobs cannot be decided here (aether model add)");
        }
        // Consensus signatures are made over block 0's hash: the ledger
        // checks equivocation evidence with it.
        let mut params = config.params.clone();
        params.staking.genesis_hash = config.genesis.block_hash(&params.staking)?;
        let chain = NodeChain::open(
            store,
            Ledger::with_executor(params, Arc::new(runtime)),
            Mempool::new(config.mempool),
            &config.genesis,
            config.validator_key.clone(),
            BlockLimits {
                max_txs: config.max_block_txs,
                max_bytes: config.max_block_bytes,
            },
            Arc::clone(&metrics),
        )?;
        tracing::info!(
            data_dir = %config.data_dir.display(),
            chain_id = config.genesis.chain_id.0,
            height = chain.height(),
            state_root = %chain.store().state_root(),
            "chain opened"
        );
        let faults = config
            .consensus
            .as_ref()
            .and_then(|c| crate::validator::fault_plan(&config, c));
        let debug_methods = match (&faults, &config.consensus) {
            (Some(f), Some(c)) if c.fault_injection => {
                tracing::warn!(
                    "aether_debugSetFaults is served: anyone reaching the RPC port can partition this node"
                );
                Some(aether_rpc::debug::fault_module(
                    Arc::clone(f) as Arc<dyn aether_rpc::debug::FaultControl>
                ))
            }
            _ => None,
        };
        let rpc = RpcServer::start_with_extra(
            config.rpc_addr,
            chain.rpc_backend(),
            aether_rpc::RpcConfig::default(),
            debug_methods,
        )
        .await?;
        tracing::info!(url = %rpc.http_url(), "JSON-RPC listening (HTTP and WebSocket)");
        let (metrics_addr, metrics_task) = match config.metrics_addr {
            Some(addr) => {
                let c = Arc::clone(&chain);
                let m = Arc::clone(&metrics);
                let render: Arc<dyn Fn() -> String + Send + Sync> =
                    Arc::new(move || m.render(c.store()));
                let (bound, task) = metrics::serve(addr, render).await?;
                tracing::info!(url = %format!("http://{bound}/metrics"), "Prometheus metrics");
                (Some(bound), Some(task))
            }
            None => (None, None),
        };
        let (stop, stopped) = watch::channel(false);
        let (producer, network) = match &config.consensus {
            // Several validators: blocks come from consensus.
            Some(consensus) => {
                let v = crate::validator::start(
                    Arc::clone(&chain),
                    &config,
                    consensus,
                    faults.as_ref(),
                    stopped,
                )?;
                (v.task, Some(v.network))
            }
            None => (
                tokio::spawn(produce_loop(
                    Arc::clone(&chain),
                    Duration::from_millis(config.block_time_ms),
                    stopped,
                )),
                None,
            ),
        };
        Ok(RunningNode {
            chain,
            rpc,
            metrics_addr,
            metrics_task,
            producer,
            stop,
            network,
        })
    }

    /// The chain.
    pub fn chain(&self) -> &Arc<NodeChain> {
        &self.chain
    }

    /// The JSON-RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc.local_addr()
    }

    /// The JSON-RPC HTTP URL.
    pub fn rpc_url(&self) -> String {
        self.rpc.http_url()
    }

    /// The metrics address, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Resolves when block production stops on its own: only on a failure
    /// (storage), which it returns. Cancel-safe.
    pub async fn failed(&mut self) -> NodeError {
        match (&mut self.producer).await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => NodeError::Task {
                reason: "block production stopped".into(),
            },
            Err(e) => NodeError::Task {
                reason: format!("block production task failed: {e}"),
            },
        }
    }

    /// Stops block production (after the block in progress), the RPC
    /// server and the metrics exporter, and flushes the store.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        let _ = self.stop.send(true);
        let produced = if self.producer.is_finished() {
            Ok(())
        } else {
            self.producer.await.unwrap_or(Ok(()))
        };
        if let Some(network) = &self.network {
            network.shutdown().await;
        }
        self.rpc.stop();
        self.rpc.stopped().await;
        if let Some(t) = self.metrics_task {
            t.abort();
        }
        let chain = Arc::clone(&self.chain);
        tokio::task::spawn_blocking(move || chain.store().flush())
            .await
            .map_err(|e| NodeError::Task {
                reason: format!("flush task failed: {e}"),
            })??;
        tracing::info!(height = self.chain.height(), "node stopped");
        produced
    }
}

/// Registered models (committed state) missing from `models`.
fn chain_models_missing(store: &Store, models: &ModelStore) -> Vec<aether_types::ModelId> {
    let sample = aether_types::ObjectKey::Model(aether_types::ModelId::default());
    match store.objects_of_kind(&sample, 10_000) {
        Ok(objects) => objects
            .into_iter()
            .filter_map(|(k, _)| match k {
                aether_types::ObjectKey::Model(id) if !models.contains(&id) => Some(id),
                _ => None,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list registered models");
            vec![]
        }
    }
}

async fn produce_loop(
    chain: Arc<NodeChain>,
    block_time: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<(), NodeError> {
    let mut ticks = tokio::time::interval(block_time);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return Ok(()),
        }
        let c = Arc::clone(&chain);
        let produced = tokio::task::spawn_blocking(move || c.produce_block(now_ms()))
            .await
            .map_err(|e| NodeError::Task {
                reason: format!("block production task failed: {e}"),
            })?;
        match produced {
            Ok(p) => {
                let n = p.block.transactions.len();
                let h = p.block.header.height;
                let ms = |d: Duration| d.as_secs_f64() * 1e3;
                if n > 0 {
                    tracing::info!(height = h, txs = n, hash = %p.block.hash(), exec_ms = format!("{:.1}", ms(p.execution)), commit_ms = format!("{:.1}", ms(p.committed.state_time + p.committed.write_time)), "block committed");
                } else {
                    tracing::debug!(height = h, hash = %p.block.hash(), "empty block committed");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "block production failed; stopping");
                return Err(e);
            }
        }
    }
}
