//! Commit latency of the RocksDB store, and the state-tree update per
//! 1,000 transfers before (`jmt`'s key-by-key `put_value_set`, the
//! reference path) and after (the batched update), from the same run.
//!
//! ```sh
//! cargo bench -p aether-storage --bench commit
//! AETHER_BENCH_TXS=200 AETHER_BENCH_BLOCKS=10 cargo bench -p aether-storage --bench commit
//! ```
//!
//! For each durability mode (fsync on commit, and no fsync) it builds a
//! chain of blocks of transfers with the real executor and reports, per
//! block: the state-tree computation (`prepare_state`), the atomic write
//! (`commit_prepared`, fsync included) and their sum, as p50 / p99 / max.
//! Before each commit the same diff is also given to
//! `prepare_state_key_by_key` (the path the store used before), in
//! alternating order, and both results must have the same root; the
//! in-memory tree is timed both ways too. Then criterion measures both
//! store paths on one fixed block against the final store.

#[path = "../tests/common/mod.rs"]
mod common;

use aether_storage::{MemoryStateTree, Store, StoreOptions};
use common::*;
use criterion::Criterion;
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn show(label: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    println!(
        "  {label:<40} p50 {:>9.3} ms   p99 {:>9.3} ms   max {:>9.3} ms",
        ms(pct(&samples, 0.5)),
        ms(pct(&samples, 0.99)),
        ms(*samples.last().unwrap()),
    );
    pct(&samples, 0.5)
}

/// CPU time of the whole process (every thread, user and system), from
/// the per-thread scheduler statistics (nanoseconds). Zero where
/// unavailable.
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Per-block tree timings scaled to 1,000 transfers.
#[derive(Default)]
struct TreeTimes {
    store_before: Vec<Duration>,
    store_after: Vec<Duration>,
    cpu_before: Vec<Duration>,
    cpu_after: Vec<Duration>,
    memory_before: Vec<Duration>,
    memory_after: Vec<Duration>,
}

fn per_thousand(d: Duration, transfers: usize) -> Duration {
    d.mul_f64(1000.0 / transfers.max(1) as f64)
}

fn main() {
    let txs = env("AETHER_BENCH_TXS", 1000);
    let blocks = env("AETHER_BENCH_BLOCKS", 20);
    let accounts = 64u32;
    let per_account = (txs as u32).div_ceil(accounts).max(1) * 2;
    println!(
        "aether-storage commit benchmark: {blocks} blocks of up to {txs} transfers, \
         genesis {} outputs, {} rayon threads",
        accounts * per_account,
        rayon::current_num_threads(),
    );
    let chain = DevChain::new(accounts);
    let mut last = None;
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
        let mut memory_before = MemoryStateTree::new_key_by_key();
        let mut memory_after = MemoryStateTree::new();
        memory_before.apply_diff(&genesis).unwrap();
        memory_after.apply_diff(&genesis).unwrap();

        let mut rng = rng(42);
        let (mut state, mut write, mut total) = (vec![], vec![], vec![]);
        let mut tree = TreeTimes::default();
        let mut batch_bytes = 0usize;
        let mut included = 0usize;
        for b in 0..blocks {
            let wallet = chain.wallet_from_store(&store);
            let transactions = chain.random_transfers(&mut rng, &wallet, txs);
            let n = transactions.len();
            included += n;
            let mut prepared = None;
            let (block, outcome) = chain.build_block(&store, store.tip(), transactions, |diff| {
                let u = store.prepare_state(diff).unwrap();
                let root = u.state_root();
                prepared = Some(u);
                root
            });
            drop(prepared);

            // Before and after on the same diff and store state, in
            // alternating order.
            let time = |key_by_key: bool| {
                let (started, cpu) = (Instant::now(), cpu_time());
                let update = if key_by_key {
                    store.prepare_state_key_by_key(&outcome.diff)
                } else {
                    store.prepare_state(&outcome.diff)
                };
                let elapsed = (started.elapsed(), cpu_time().saturating_sub(cpu));
                (elapsed, update.unwrap().state_root())
            };
            let (((before, cpu_before), root_before), ((after, cpu_after), root_after)) =
                if b % 2 == 0 {
                    let before = time(true);
                    (before, time(false))
                } else {
                    let after = time(false);
                    (time(true), after)
                };
            assert_eq!(root_before, root_after, "both paths give the same root");
            tree.store_before.push(per_thousand(before, n));
            tree.store_after.push(per_thousand(after, n));
            tree.cpu_before.push(per_thousand(cpu_before, n));
            tree.cpu_after.push(per_thousand(cpu_after, n));

            // The producer's path, timed cleanly: prepare + commit.
            let started = Instant::now();
            let update = store.prepare_state(&outcome.diff).unwrap();
            let prepare_time = started.elapsed();
            let committed = store.commit_prepared(&block, &outcome, update).unwrap();
            total.push(started.elapsed());
            state.push(prepare_time);
            write.push(committed.write_time);
            batch_bytes += committed.batch_bytes;

            let started = Instant::now();
            let root = memory_before.apply_diff(&outcome.diff).unwrap();
            tree.memory_before.push(per_thousand(started.elapsed(), n));
            assert_eq!(root, committed.state_root);
            let started = Instant::now();
            let root = memory_after.apply_diff(&outcome.diff).unwrap();
            tree.memory_after.push(per_thousand(started.elapsed(), n));
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
        println!("  tree update per 1,000 transfers (same diffs, same state):");
        let before = show("before: key by key (RocksDB)", tree.store_before);
        let after = show("after: batched (RocksDB)", tree.store_after);
        let cpu_before = show("  CPU time, all threads: before", tree.cpu_before);
        let cpu_after = show("  CPU time, all threads: after", tree.cpu_after);
        let memory_before = show("before: key by key (in memory)", tree.memory_before);
        let memory_after = show("after: batched (in memory)", tree.memory_after);
        println!(
            "  speed-up at p50: {:.1}x over RocksDB ({:.1}x in CPU time), {:.1}x in memory",
            before.as_secs_f64() / after.as_secs_f64(),
            cpu_before.as_secs_f64() / cpu_after.as_secs_f64(),
            memory_before.as_secs_f64() / memory_after.as_secs_f64(),
        );
        let sizes = store.cf_sizes().unwrap();
        let live: u64 = sizes
            .iter()
            .map(|s| s.live_data_bytes + s.memtable_bytes)
            .sum();
        println!(
            "  store size ~{:.1} MiB (live data + memtables)",
            live as f64 / (1 << 20) as f64
        );
        last = Some((dir, store));
    }

    // Criterion: one more block's diff against the final store, both paths
    // (neither writes, so every iteration sees the same state).
    let (_dir, store) = last.expect("at least one run");
    let wallet = chain.wallet_from_store(&store);
    let transactions = chain.random_transfers(&mut rng(7), &wallet, txs);
    let n = transactions.len();
    let (_, outcome) = chain.build_block(&store, store.tip(), transactions, |_| {
        aether_types::Digest::default()
    });
    println!(
        "criterion: one block of {n} transfers ({} spent, {} created) on the final store",
        outcome.diff.spent.len(),
        outcome.diff.created.len()
    );
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut group = criterion.benchmark_group("tree_update");
    group.bench_function("before_key_by_key", |b| {
        b.iter(|| store.prepare_state_key_by_key(&outcome.diff).unwrap())
    });
    group.bench_function("after_batched", |b| {
        b.iter(|| store.prepare_state(&outcome.diff).unwrap())
    });
    group.finish();
    criterion.final_summary();
}
