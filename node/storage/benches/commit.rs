//! Commit latency of the RocksDB store, with the in-memory state tree as
//! the reference figure from the same run.
//!
//! ```sh
//! cargo bench -p aether-storage --bench commit
//! AETHER_BENCH_TXS=200 AETHER_BENCH_BLOCKS=10 cargo bench -p aether-storage --bench commit
//! ```
//!
//! For each durability mode (fsync on commit, and no fsync) it builds a
//! chain of blocks of transfers with the real executor and reports, per
//! block: the state-tree computation (`prepare_state`), the atomic write
//! (`commit_prepared`, fsync included) and their sum, as p50 / p99 / max;
//! and the time the in-memory Jellyfish tree takes for the same diffs.

#[path = "../tests/common/mod.rs"]
mod common;

use aether_storage::{MemoryStateTree, Store, StoreOptions};
use common::*;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn show(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "  {label:<28} p50 {:>9.3} ms   p99 {:>9.3} ms   max {:>9.3} ms",
        pct(&samples, 0.5).as_secs_f64() * 1e3,
        pct(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn main() {
    let txs = env("AETHER_BENCH_TXS", 1000);
    let blocks = env("AETHER_BENCH_BLOCKS", 20);
    let accounts = 64u32;
    let per_account = (txs as u32).div_ceil(accounts).max(1) * 2;
    println!(
        "aether-storage commit benchmark: {blocks} blocks of up to {txs} transfers, \
         genesis {} outputs",
        accounts * per_account
    );
    let chain = DevChain::new(accounts);
    for sync in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path(),
            StoreOptions {
                sync_writes: sync,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let genesis = chain.genesis_diff(per_account);
        let update = store.prepare_state(&genesis).unwrap();
        let (block, outcome) = chain.genesis_block(per_account, update.state_root());
        store.commit_prepared(&block, &outcome, update).unwrap();
        let mut memory = MemoryStateTree::new();
        memory.apply_diff(&genesis).unwrap();

        let mut rng = rng(42);
        let (mut state, mut write, mut total, mut mem) = (vec![], vec![], vec![], vec![]);
        let mut batch_bytes = 0usize;
        let mut included = 0usize;
        for _ in 0..blocks {
            let wallet = chain.wallet_from_store(&store);
            let transactions = chain.random_transfers(&mut rng, &wallet, txs);
            included += transactions.len();
            let mut prepared = None;
            let (block, outcome) = chain.build_block(&store, store.tip(), transactions, |diff| {
                let u = store.prepare_state(diff).unwrap();
                let root = u.state_root();
                prepared = Some(u);
                root
            });
            // Time the producer's path again, cleanly: prepare + commit.
            drop(prepared);
            let started = Instant::now();
            let update = store.prepare_state(&outcome.diff).unwrap();
            let prepare_time = started.elapsed();
            let committed = store.commit_prepared(&block, &outcome, update).unwrap();
            total.push(started.elapsed());
            state.push(prepare_time);
            write.push(committed.write_time);
            batch_bytes += committed.batch_bytes;

            let started = Instant::now();
            let root = memory.apply_diff(&outcome.diff).unwrap();
            mem.push(started.elapsed());
            assert_eq!(root, committed.state_root);
        }
        println!(
            "sync_writes = {sync}: {included} transfers in {blocks} blocks, \
             mean batch {:.1} KiB",
            batch_bytes as f64 / blocks as f64 / 1024.0
        );
        show("state tree (prepare_state)", state);
        show("write batch (commit)", write);
        show("total commit latency", total);
        show("peer: in-memory JMT apply", mem);
        let sizes = store.cf_sizes().unwrap();
        let live: u64 = sizes
            .iter()
            .map(|s| s.live_data_bytes + s.memtable_bytes)
            .sum();
        println!(
            "  store size ~{:.1} MiB (live data + memtables)",
            live as f64 / (1 << 20) as f64
        );
    }
}
