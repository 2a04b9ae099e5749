//! End-to-end single-node throughput: signed transfers submitted over
//! JSON-RPC (HTTP, concurrent clients) to a real `aether node --dev`
//! process, until each is seen in a committed block (WebSocket new-head
//! subscription). Prints tx/s and p50/p99 submit-to-commit latency, and as
//! the reference, the ledger's in-process execution rate of the same
//! transactions (the ceiling the RPC path is measured against).
//!
//! `cargo bench -p aether-cli --bench e2e` (release). Environment:
//! `AETHER_E2E_TXS` (default 20000), `AETHER_E2E_CLIENTS` (default 8),
//! `AETHER_E2E_BLOCK_MS` (default 500, the node's default).

use aether_ledger::{BlockContext, ExecutionMode, Ledger, MemoryUtxoSet, ProtocolParams};
use aether_node::Genesis;
use aether_node::genesis::{DEV_ACCOUNT_AIC, dev_account_key};
use aether_rpc::testing::transfer;
use aether_types::*;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let n = env("AETHER_E2E_TXS", 20_000);
    let clients = env("AETHER_E2E_CLIENTS", 8).max(1);
    let block_ms = env("AETHER_E2E_BLOCK_MS", 500);
    let params = ProtocolParams::dev();
    let accounts = u32::try_from(n).expect("AETHER_E2E_TXS fits u32");
    eprintln!("preparing {n} signed transfers from {n} dev accounts ...");
    let genesis = Genesis::dev(params.chain_id, accounts);
    let coin = DEV_ACCOUNT_AIC * BASE_UNITS_PER_AIC;
    let txs: Vec<Transaction> = (0..accounts)
        .map(|i| {
            transfer(
                &params,
                &dev_account_key(i),
                genesis.out_point(i),
                coin,
                Address::Key(KeyHash([(i % 251) as u8; 32])),
                BASE_UNITS_PER_AIC,
            )
        })
        .collect();

    // Reference: in-process execution of the same transactions.
    let ledger = Ledger::new(params.clone());
    let mut set = MemoryUtxoSet::new();
    for (op, out) in genesis
        .outcome(&aether_ledger::StakingParams::dev())
        .unwrap()
        .diff
        .created
    {
        set.insert(op, out);
    }
    let t = Instant::now();
    let outcome = ledger
        .execute_block(&set, &BlockContext::at(1), &txs, ExecutionMode::Parallel)
        .unwrap();
    let exec = t.elapsed();
    assert!(outcome.rejected.is_empty());

    // The node, as a process.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aether"))
        .args(["node", "--dev", "--metrics-addr", "off"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--rpc-addr", &format!("127.0.0.1:{port}")])
        .args(["--block-time", &block_ms.to_string()])
        .args(["--dev-accounts", &accounts.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aether node");
    let http_url = format!("http://127.0.0.1:{port}");
    let ws_url = format!("ws://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(120);
        let probe = HttpClientBuilder::default().build(&http_url).unwrap();
        while probe
            .request::<serde_json::Value, _>("aether_status", rpc_params![])
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "node did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let submitted: Arc<Mutex<HashMap<String, Instant>>> =
            Arc::new(Mutex::new(HashMap::with_capacity(n)));
        let committed: Arc<Mutex<HashMap<String, Instant>>> =
            Arc::new(Mutex::new(HashMap::with_capacity(n)));
        // Watch heads and stamp each included transaction.
        let ws = WsClientBuilder::default().build(&ws_url).await.unwrap();
        let mut heads = ws
            .subscribe::<serde_json::Value, _>(
                "aether_subscribeNewHeads",
                rpc_params![],
                "aether_unsubscribeNewHeads",
            )
            .await
            .unwrap();
        let watcher = {
            let committed = Arc::clone(&committed);
            let http = HttpClientBuilder::default().build(&http_url).unwrap();
            tokio::spawn(async move {
                while let Some(Ok(head)) = heads.next().await {
                    let seen = Instant::now();
                    let block: serde_json::Value = http
                        .request(
                            "aether_getBlockByNumber",
                            rpc_params![head["height"].as_u64().unwrap(), false],
                        )
                        .await
                        .unwrap();
                    let mut c = committed.lock().unwrap();
                    for id in block["transactions"].as_array().unwrap() {
                        c.insert(id.as_str().unwrap().to_string(), seen);
                    }
                    if c.len() >= n {
                        return;
                    }
                }
            })
        };
        let hexes: Vec<String> = txs.iter().map(|t| hex::encode(t.encode())).collect();
        let hexes = Arc::new(hexes);
        let started = Instant::now();
        let mut senders = Vec::new();
        for c in 0..clients {
            let hexes = Arc::clone(&hexes);
            let submitted = Arc::clone(&submitted);
            let http = HttpClientBuilder::default().build(&http_url).unwrap();
            senders.push(tokio::spawn(async move {
                for i in (c..hexes.len()).step_by(clients) {
                    let sent_at = Instant::now();
                    let id: String = http
                        .request("aether_sendTransaction", rpc_params![hexes[i].as_str()])
                        .await
                        .expect("transaction accepted");
                    submitted.lock().unwrap().insert(id, sent_at);
                }
            }));
        }
        for s in senders {
            s.await.unwrap();
        }
        let submit_time = started.elapsed();
        tokio::time::timeout(Duration::from_secs(300), watcher)
            .await
            .expect("all committed")
            .unwrap();
        let total = started.elapsed();
        let sub = submitted.lock().unwrap();
        let com = committed.lock().unwrap();
        let mut lat: Vec<Duration> = sub
            .iter()
            .map(|(id, t)| com.get(id).expect("committed").duration_since(*t))
            .collect();
        lat.sort();
        (submit_time, total, lat)
    });
    let _ = child.kill();
    let _ = child.wait();
    let (submit_time, total, lat) = result;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "end-to-end single node: {n} transfers, {clients} HTTP clients, block time {block_ms} ms"
    );
    println!(
        "  submitted over RPC      {:>9.0} tx/s  ({:.2} s)",
        rate(submit_time),
        submit_time.as_secs_f64()
    );
    println!(
        "  submitted -> committed  {:>9.0} tx/s  ({:.2} s)",
        rate(total),
        total.as_secs_f64()
    );
    println!(
        "  latency submit->commit  p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "  reference: ledger execution in process (parallel, same txs) {:>9.0} tx/s",
        rate(exec)
    );
}
