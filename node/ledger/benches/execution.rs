//! Block execution benchmark (release, `harness = false`).
//!
//! ```text
//! cargo bench -p aether-ledger --bench execution
//! AETHER_BENCH_TXS=20000 cargo bench -p aether-ledger --bench execution   # smaller block
//! ```
//!
//! Prints, from one run:
//! 1. a block of N independent transfers (default 100 000), each signed by
//!    its own key, executed sequentially and in parallel (signature
//!    verification included), with the speed-up;
//! 2. script-locked spends per second (a WebAssembly "password" validator
//!    that parses the context and compares redeemer and datum), sequential
//!    and parallel;
//! 3. the reference figure from the same run: ed25519 batch verification
//!    alone over the same signatures, single-threaded, which bounds what
//!    sequential execution can reach.

#[path = "../tests/common/mod.rs"]
mod common;

use aether_crypto::ed25519::{Keypair, SignedMessage, verify_batch};
use aether_ledger::*;
use aether_types::*;
use common::*;
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// CPU time (user + system) of the whole process, all threads, from
/// /proc/self/stat (clock ticks of 10 ms). Zero where unavailable.
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

/// Best wall time of `runs` runs, with the CPU time of that run.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut best = (Duration::MAX, Duration::ZERO);
    let mut last = None;
    for _ in 0..runs {
        let (start, cpu) = (Instant::now(), cpu_time());
        let out = f();
        let wall = start.elapsed();
        if wall < best.0 {
            best = (wall, cpu_time().saturating_sub(cpu));
        }
        last = Some(out);
    }
    (best.0, best.1, last.expect("at least one run"))
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("AETHER_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let threads = rayon::current_num_threads();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("aether-ledger execution benchmark");
    println!(
        "  rayon threads: {threads}; load average at start: {}",
        load.trim()
    );

    let mut p = params();
    if let Some(b) = std::env::var("AETHER_SIG_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        p.signature_batch_size = b;
    }
    println!("  signature batch size: {}", p.signature_batch_size);
    let ledger = Ledger::new(p.clone());

    // ---- 1. independent transfers -------------------------------------
    let setup = Instant::now();
    let keys: Vec<Keypair> = (0..n as u32).into_par_iter().map(key).collect();
    let mut set = MemoryUtxoSet::new();
    for (i, k) in keys.iter().enumerate() {
        set.insert(genesis_point(i as u32), TxOutput::coin(addr(k), 100 * AIC));
    }
    let txs: Vec<Transaction> = keys
        .par_iter()
        .enumerate()
        .map(|(i, k)| {
            let to = addr(&keys[(i + 1) % keys.len()]);
            transfer(&p, k, genesis_point(i as u32), 100 * AIC, to, AIC)
        })
        .collect();
    let bytes: usize = txs.iter().map(|t| t.encode().len()).sum();
    println!(
        "  setup: {n} signed transfers ({:.1} MB encoded) in {:.1} s",
        bytes as f64 / 1e6,
        setup.elapsed().as_secs_f64()
    );

    let c = ctx(1);
    let (seq_time, seq_cpu, seq) = best_of(2, || {
        ledger
            .execute_block(&set, &c, &txs, ExecutionMode::Sequential)
            .unwrap()
    });
    let (par_time, par_cpu, par) = best_of(3, || {
        ledger
            .execute_block(&set, &c, &txs, ExecutionMode::Parallel)
            .unwrap()
    });
    assert!(
        seq.rejected.is_empty(),
        "benchmark block must be valid: {:?}",
        seq.rejected.first()
    );
    assert_eq!(seq, par, "parallel result differs from sequential");
    println!("\n[1] block of {n} independent transfers (incl. ed25519 batch verification)");
    println!(
        "  sequential : {:>8.3} s  {:>9.0} tx/s   (CPU {:.2} s)",
        seq_time.as_secs_f64(),
        rate(n, seq_time),
        seq_cpu.as_secs_f64()
    );
    println!(
        "  parallel   : {:>8.3} s  {:>9.0} tx/s   (CPU {:.2} s)",
        par_time.as_secs_f64(),
        rate(n, par_time),
        par_cpu.as_secs_f64()
    );
    println!(
        "  speed-up   : {:.2}x on {threads} threads (wall); parallel/sequential CPU: {:.2}",
        seq_time.as_secs_f64() / par_time.as_secs_f64(),
        par_cpu.as_secs_f64() / seq_cpu.as_secs_f64().max(1e-9)
    );
    println!(
        "  (wall-clock figures depend on other load on the machine; CPU = all threads of this process)"
    );
    println!(
        "  per CPU-second: sequential {:.0} tx, parallel {:.0} tx (throughput per busy core)",
        n as f64 / seq_cpu.as_secs_f64().max(1e-9),
        n as f64 / par_cpu.as_secs_f64().max(1e-9)
    );

    // Reference: batch signature verification alone, single thread.
    let ids: Vec<TxId> = txs.iter().map(Transaction::id).collect();
    let items: Vec<SignedMessage<'_>> = txs
        .iter()
        .zip(&ids)
        .map(|(t, id)| SignedMessage {
            public_key: &t.witnesses.vkeys[0].public_key,
            message: id.as_bytes(),
            signature: &t.witnesses.vkeys[0].signature,
        })
        .collect();
    let (sig_time, _, ()) = best_of(2, || {
        for chunk in items.chunks(p.signature_batch_size) {
            verify_batch(chunk).unwrap();
        }
    });
    println!(
        "  reference  : ed25519-dalek batch verification alone, 1 thread: {:>9.0} sig/s ({:.3} s)",
        rate(n, sig_time),
        sig_time.as_secs_f64()
    );
    drop(items);
    drop(txs);

    // ---- 2. script-locked spends ---------------------------------------
    let m = (n / 5).max(1);
    let script = wasm(PASSWORD_WAT);
    let owners: Vec<Keypair> = (0..m as u32)
        .into_par_iter()
        .map(|i| key(1_000_000 + i))
        .collect();
    let mut set = MemoryUtxoSet::new();
    for (i, k) in owners.iter().enumerate() {
        let mut locked = TxOutput::coin(Address::Script(script.hash()), 10 * AIC);
        locked.datum = Some(Datum::new(format!("secret-{i}").into_bytes()).unwrap());
        set.insert(OutPoint::new(TxId([0xaa; 32]), i as u32), locked);
        set.insert(
            OutPoint::new(TxId([0xcc; 32]), i as u32),
            TxOutput::coin(addr(k), AIC),
        );
    }
    let txs: Vec<Transaction> = owners
        .par_iter()
        .enumerate()
        .map(|(i, k)| {
            let locked = OutPoint::new(TxId([0xaa; 32]), i as u32);
            let coll = OutPoint::new(TxId([0xcc; 32]), i as u32);
            let mut body = empty_body(&p);
            body.inputs.insert(locked);
            body.spend_redeemers
                .insert(locked, redeemer(format!("secret-{i}").as_bytes(), 100_000));
            body.collateral.insert(coll);
            body.collateral_return = Some(TxOutput::coin(addr(k), 0));
            body.outputs.push(TxOutput::coin(addr(k), 0));
            finish(&p, body, &[k], vec![script.clone()], |b, fee| {
                b.outputs[0].value.coin = 10 * AIC - fee;
                b.collateral_return.as_mut().unwrap().value.coin = AIC - fee;
            })
        })
        .collect();
    let (s_seq, s_seq_cpu, s_out) = best_of(2, || {
        ledger
            .execute_block(&set, &c, &txs, ExecutionMode::Sequential)
            .unwrap()
    });
    let (s_par, s_par_cpu, s_par_out) = best_of(3, || {
        ledger
            .execute_block(&set, &c, &txs, ExecutionMode::Parallel)
            .unwrap()
    });
    assert!(s_out.rejected.is_empty(), "{:?}", s_out.rejected.first());
    assert!(s_out.receipts.iter().all(|r| r.status == TxStatus::Success));
    assert_eq!(s_out, s_par_out);
    let fuel: u64 = s_out.receipts.iter().map(|r| r.fuel_used).sum();
    println!(
        "\n[2] block of {m} script-locked spends (WASM password validator, {} bytes; signature on collateral)",
        script.code_len()
    );
    println!(
        "  sequential : {:>8.3} s  {:>9.0} spends/s   (CPU {:.2} s)",
        s_seq.as_secs_f64(),
        rate(m, s_seq),
        s_seq_cpu.as_secs_f64()
    );
    println!(
        "  parallel   : {:>8.3} s  {:>9.0} spends/s   (CPU {:.2} s)",
        s_par.as_secs_f64(),
        rate(m, s_par),
        s_par_cpu.as_secs_f64()
    );
    println!("  fuel used per spend: {}", fuel / m as u64);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\n  load average at end: {}", load.trim());
}
