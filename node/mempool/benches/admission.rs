//! Mempool throughput on independent transfers: stateless checks,
//! admission (stateless + full ledger validation + indexing), block
//! selection and removal on commit; with, as the reference figure from the
//! same run, `Ledger::validate_transaction` alone on the same transactions
//! (the floor the admission path builds on).
//!
//! `cargo bench -p aether-mempool --bench admission`
//! (`AETHER_BENCH_TXS=N` sets the count, default 20 000).

#[path = "../tests/common/mod.rs"]
mod common;

use aether_ledger::BlockContext;
use aether_mempool::{Mempool, MempoolConfig, check_stateless};
use aether_types::*;
use common::*;
use std::time::{Duration, Instant};

/// CPU time (user + system) of this process from /proc/self/stat (10 ms
/// ticks; zero where unavailable): unlike wall-clock time it does not
/// depend on other load on a shared machine.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Wall and CPU seconds of `f`.
fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    let out = f();
    (
        out,
        wall.elapsed().as_secs_f64(),
        cpu_time().saturating_sub(cpu).as_secs_f64(),
    )
}

fn rate(n: usize, (wall, cpu): (f64, f64)) -> String {
    format!(
        "{:>9.0} tx/s  {:>8.2} µs/tx wall  {:>8.2} µs/tx CPU",
        n as f64 / wall,
        wall * 1e6 / n as f64,
        cpu * 1e6 / n as f64
    )
}

fn main() {
    let n: usize = std::env::var("AETHER_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let ledger = ledger();
    let keys = 16u32;
    let chain = genesis(n as u32, keys, 1_000 * AIC);
    let key_pairs: Vec<_> = (0..keys).map(key).collect();
    let txs: Vec<Transaction> = (0..n as u32)
        .map(|i| {
            transfer(
                &key_pairs[(i % keys) as usize],
                genesis_point(i),
                1_000 * AIC,
                addr(&key_pairs[((i + 1) % keys) as usize]),
                AIC,
                u128::from(i % 1000) * 1000,
            )
        })
        .collect();
    let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.encode()).collect();
    println!(
        "mempool admission benchmark: {n} independent transfers (1 input, 2 outputs, {} bytes each)",
        encoded[0].len()
    );

    let ((), w, c) = measure(|| {
        for tx in &txs {
            ledger
                .validate_transaction(&chain, &BlockContext::at(1), tx)
                .expect("valid");
        }
    });
    let reference = (w, c);

    let (checked, w, c) = measure(|| {
        encoded
            .iter()
            .map(|b| check_stateless(ledger.params(), b).expect("valid"))
            .collect::<Vec<_>>()
    });
    let stateless = (w, c);

    let mut pool = Mempool::new(MempoolConfig {
        max_txs: n,
        max_bytes: usize::MAX,
    });
    let ((), w, c) = measure(|| {
        for c in checked {
            pool.insert(&ledger, &chain, 1, c).expect("admitted");
        }
    });
    let stateful = (w, c);

    let (selected, w, c) = measure(|| pool.select_for_block(n, usize::MAX));
    let select = (w, c);
    assert_eq!(selected.len(), n);

    let ids: Vec<TxId> = selected.iter().map(|t| t.id()).collect();
    let spent: Vec<OutPoint> = selected
        .iter()
        .flat_map(|t| t.body.inputs.iter().copied())
        .collect();
    let (removal, w, c) = measure(|| pool.remove_committed(&ids, &spent));
    let remove = (w, c);
    assert_eq!(removal.included.len(), n);
    assert!(pool.is_empty());

    println!(
        "  stateless checks (decode, fee, signatures)     {}",
        rate(n, stateless)
    );
    println!(
        "  stateful insert (ledger validation + indexing)  {}",
        rate(n, stateful)
    );
    println!(
        "  admission total                                 {}",
        rate(n, (stateless.0 + stateful.0, stateless.1 + stateful.1))
    );
    println!(
        "  select_for_block (all {n})                   {}",
        rate(n, select)
    );
    println!(
        "  remove_committed (all {n})                   {}",
        rate(n, remove)
    );
    println!(
        "  reference: Ledger::validate_transaction alone   {}",
        rate(n, reference)
    );
    println!("  (wall-clock figures depend on other load on the machine; CPU is this process's)");
}
