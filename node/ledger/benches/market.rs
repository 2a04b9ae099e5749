//! Market benchmark (release, `harness = false`).
//!
//! ```text
//! cargo bench -p aether-ledger --bench market
//! AETHER_BENCH_RECEIPTS=100 cargo bench -p aether-ledger --bench market
//! ```
//!
//! Prints, from one run:
//! 1. receipts verified per second inside block execution (a block of
//!    receipts only, simulated SNP and TDX evidence, certificate chains
//!    cached by the verifier), on one thread and on all threads, beside the
//!    bare evidence verification (`aether-evidence`) and c-kzg's blob-proof
//!    verification of the same run;
//! 2. KZG per blob: commit, proof and verify through `aether_crypto::kzg`,
//!    beside c-kzg's own calls on the same blob;
//! 3. a block mixing 10,000 transfers with 100 receipts, parallel vs
//!    sequential;
//! 4. one challenge's decision with the segment re-executed: a layer of
//!    all-MiniLM-L6-v2 (when the model is available) and a WASM step.

#[path = "../tests/common/mod.rs"]
mod common;

use aether_client::{TxBuilder, Utxo};
use aether_crypto::ed25519::Keypair;
use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions};
use aether_ledger::*;
use aether_types::*;
use common::market::*;
use common::*;
use rayon::prelude::*;
use std::time::{Duration, Instant};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.expect("one run"))
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
        .install(f)
}

/// A world whose provider can take `jobs` jobs, with `coins` separate
/// coins for the worker (one per receipt transaction).
fn big_world(jobs: usize) -> World {
    let mut params = market_params(true);
    params.market.job_bond_multiple = 0;
    params.market.min_job_bond = 1;
    params.market.challenge_window = 1_000;
    let mut w = world(params);
    let (_, owner, worker, client, ..) = keys();
    w.chain.fund(&client, jobs as u128 * MAX_FEE + 100 * AIC, 1);
    w.chain.fund(&worker, 10 * AIC, jobs);
    let tx = w.chain.tx(
        &owner,
        &[],
        vec![Action::UpdateProvider(UpdateProvider {
            provider: w.provider,
            offer: Some(ProviderOffer {
                capacity: u32::try_from(jobs).unwrap() + 10,
                ..w.chain.provider(w.provider).offer
            }),
            add_bond: 0,
        })],
    );
    w.chain.ok(tx);
    w
}

/// Posts `n` jobs (64 per transaction) and returns their ids.
fn post_jobs(w: &mut World, n: usize) -> Vec<JobId> {
    let (_, _, _, client, ..) = keys();
    let mut ids = Vec::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(64);
        let deadline = w.chain.height + 100;
        let actions: Vec<Action> = (0..k)
            .map(|_| Action::PostJob(wasm_job(deadline, &[TeeKind::Snp, TeeKind::Tdx])))
            .collect();
        let tx = w.chain.tx(&client, &[], actions);
        ids.extend((0..k).map(|i| JobId::derive(&tx.id(), i as u32)));
        w.chain.ok(tx);
        left -= k;
    }
    ids
}

/// One receipt transaction per job, each spending its own worker coin.
fn receipt_txs(w: &World, jobs: &[JobId], tdx: bool) -> Vec<Transaction> {
    let (_, _, worker, ..) = keys();
    let coins: Vec<Utxo> = w.chain.coins(&worker);
    let data = run(INPUT, None);
    jobs.par_iter()
        .zip(coins.par_iter())
        .map(|(job, coin)| {
            let body = w.body(*job, &data);
            let evidence = if tdx {
                tdx_evidence(&body)
            } else {
                snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default())
            };
            signed(w, &worker, coin, vec![receipt_action(body, evidence)])
        })
        .collect()
}

fn signed(w: &World, payer: &Keypair, coin: &Utxo, actions: Vec<Action>) -> Transaction {
    let mut b = TxBuilder::new(&w.chain.ledger.params().tx_params())
        .spend(coin)
        .change_to(addr(payer))
        .signer(payer);
    for a in actions {
        b = b.action(a);
    }
    b.build().expect("a funded transaction")
}

fn receipts_per_second(n: usize) {
    println!("\n[1] receipts verified inside block execution ({n} receipts per block)");
    for tdx in [false, true] {
        let mut w = big_world(n);
        let jobs = post_jobs(&mut w, n);
        let txs = receipt_txs(&w, &jobs, tdx);
        let ctx = w.chain.ctx();
        let ledger = &w.chain.ledger;
        let set = &w.chain.set;
        // Warm the verifier's certificate cache (one chain for all).
        ledger
            .execute_block(set, &ctx, &txs[..1], ExecutionMode::Sequential)
            .unwrap();
        let (one, out) = best_of(2, || {
            one_thread(|| {
                ledger
                    .execute_block(set, &ctx, &txs, ExecutionMode::Parallel)
                    .unwrap()
            })
        });
        assert!(out.rejected.is_empty(), "{:?}", out.rejected.first());
        let (all, _) = best_of(2, || {
            ledger
                .execute_block(set, &ctx, &txs, ExecutionMode::Parallel)
                .unwrap()
        });
        // Peers of the same run: the evidence alone, and c-kzg's verify.
        let evidence: Vec<aether_evidence::Evidence> = txs
            .iter()
            .map(|t| match &t.body.actions[0] {
                Action::SubmitReceipt(v) => {
                    aether_ledger::market::prepare::to_evidence(&v.evidence)
                }
                _ => unreachable!(),
            })
            .collect();
        let verifier = ledger.evidence_verifier();
        let at = ctx.unix_secs();
        let (bare, _) = best_of(2, || {
            for e in &evidence {
                verifier.verify(e, at).unwrap();
            }
        });
        let kind = if tdx { "TDX" } else { "SNP" };
        println!(
            "  {kind}: 1 thread {:>7.0} receipts/s | {} threads {:>7.0} receipts/s | evidence alone (cached verifier, 1 thread) {:>7.0}/s",
            rate(n, one),
            rayon::current_num_threads(),
            rate(n, all),
            rate(n, bare),
        );
    }
    let data = run(INPUT, None);
    let output = data.last().unwrap().clone();
    let blobs = aether_crypto::kzg::blobs(&output);
    let commitment = aether_crypto::kzg::commit(&output).unwrap();
    let s = aether_crypto::kzg::settings();
    let c = c_kzg::Bytes48::from(commitment[0].commitment.0);
    let p = c_kzg::Bytes48::from(commitment[0].proof.0);
    let (ck, _) = best_of(20, || s.verify_blob_kzg_proof(&blobs[0], &c, &p).unwrap());
    println!(
        "  c-kzg verify_blob_kzg_proof alone (the receipt's one blob): {:>7.0}/s",
        1.0 / ck.as_secs_f64()
    );
}

fn kzg_per_blob() {
    println!("\n[2] KZG per blob (4,096 field elements, 126,976 payload bytes)");
    let data: Vec<u8> = (0..aether_crypto::kzg::PAYLOAD_PER_BLOB)
        .map(|i| (i * 7 + 3) as u8)
        .collect();
    let s = aether_crypto::kzg::settings();
    let blob = &aether_crypto::kzg::blobs(&data)[0];
    let (ours_commit, ours) = best_of(5, || aether_crypto::kzg::commit(&data).unwrap());
    let (ours_verify, ok) = best_of(10, || aether_crypto::kzg::verify(&data, &ours).unwrap());
    assert!(ok);
    let (c_commit, c) = best_of(5, || s.blob_to_kzg_commitment(blob).unwrap());
    let cb = c.to_bytes();
    let (c_proof, p) = best_of(5, || s.compute_blob_kzg_proof(blob, &cb).unwrap());
    let pb = p.to_bytes();
    let (c_verify, ok) = best_of(10, || s.verify_blob_kzg_proof(blob, &cb, &pb).unwrap());
    assert!(ok);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  ours  : commit + proof {:>6.1} ms | verify (packing included) {:>5.2} ms",
        ms(ours_commit),
        ms(ours_verify)
    );
    println!(
        "  c-kzg : commit {:>6.1} ms + proof {:>6.1} ms = {:>6.1} ms | verify {:>5.2} ms",
        ms(c_commit),
        ms(c_proof),
        ms(c_commit + c_proof),
        ms(c_verify)
    );
}

fn mixed_block(transfers: usize, receipts: usize) {
    println!("\n[3] a block of {transfers} transfers and {receipts} receipts");
    let mut w = big_world(receipts);
    let jobs = post_jobs(&mut w, receipts);
    let mut txs = receipt_txs(&w, &jobs, false);
    let keys: Vec<Keypair> = (0..transfers as u32)
        .into_par_iter()
        .map(|i| key(2_000_000 + i))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        w.chain.set.insert(
            OutPoint::new(TxId([0xab; 32]), i as u32),
            TxOutput::coin(addr(k), 100 * AIC),
        );
    }
    let p = w.chain.ledger.params().clone();
    txs.extend(
        keys.par_iter()
            .enumerate()
            .map(|(i, k)| {
                let to = addr(&keys[(i + 1) % keys.len()]);
                transfer(
                    &p,
                    k,
                    OutPoint::new(TxId([0xab; 32]), i as u32),
                    100 * AIC,
                    to,
                    AIC,
                )
            })
            .collect::<Vec<_>>(),
    );
    // Interleave: receipts spread through the block.
    let step = (txs.len() / receipts.max(1)).max(1);
    let (r, t) = txs.split_at(receipts);
    let mut mixed = Vec::with_capacity(txs.len());
    let mut ri = r.iter();
    for (i, tx) in t.iter().enumerate() {
        if i % step == 0
            && let Some(x) = ri.next()
        {
            mixed.push(x.clone());
        }
        mixed.push(tx.clone());
    }
    mixed.extend(ri.cloned());
    let ctx = w.chain.ctx();
    let ledger = &w.chain.ledger;
    let set = &w.chain.set;
    ledger
        .execute_block(set, &ctx, &mixed[..1], ExecutionMode::Sequential)
        .unwrap();
    let (seq, a) = best_of(2, || {
        ledger
            .execute_block(set, &ctx, &mixed, ExecutionMode::Sequential)
            .unwrap()
    });
    let (par, b) = best_of(2, || {
        ledger
            .execute_block(set, &ctx, &mixed, ExecutionMode::Parallel)
            .unwrap()
    });
    assert!(a.rejected.is_empty(), "{:?}", a.rejected.first());
    assert_eq!(a, b, "parallel differs from sequential");
    println!(
        "  sequential {:>7.3} s ({:>6.0} tx/s) | parallel {:>7.3} s ({:>6.0} tx/s) on {} threads | speed-up {:.2}x",
        seq.as_secs_f64(),
        rate(mixed.len(), seq),
        par.as_secs_f64(),
        rate(mixed.len(), par),
        rayon::current_num_threads(),
        seq.as_secs_f64() / par.as_secs_f64()
    );
}

fn challenge_reexecution() {
    println!("\n[4] one challenge decided (proofs checked, one segment re-executed)");
    // The stand-in runtime: what the proof checks and bookkeeping cost.
    let mut w = big_world(4);
    let (.., challenger, _) = keys();
    let job = post_jobs(&mut w, 1)[0];
    let lying = run(INPUT, Some(3));
    w.chain.ok(w.receipt_tx(job, &lying));
    let tx = w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, segment_claim(&lying, 3), addr(&challenger))],
    );
    let ctx = w.chain.ctx();
    let (d, r) = best_of(20, || {
        w.chain.ledger.validate_transaction(&w.chain.set, &ctx, &tx)
    });
    r.unwrap();
    println!(
        "  stand-in runtime (BLAKE3 step): {:>7.3} ms per challenge",
        d.as_secs_f64() * 1e3
    );
    match aether_testkit::minilm_model_dir() {
        Some(dir) => {
            let model = aether_infer::Model::load(&dir).unwrap();
            let tokens: Vec<u32> = (0..128u32).map(|i| 1000 + i).collect();
            let run = model.run(&tokens).unwrap();
            let (d, out) = best_of(5, || model.run_segment(3, &run.checkpoints[2]).unwrap());
            assert_eq!(out, run.checkpoints[3]);
            println!(
                "  all-MiniLM-L6-v2, 128 tokens, layer 3 re-executed: {:>7.1} ms (goal <= 50 ms; kernel level {})",
                d.as_secs_f64() * 1e3,
                aether_infer::kernel_level()
            );
        }
        None => println!("  all-MiniLM-L6-v2: model not available (scripts/setup fetches it)"),
    }
}

fn main() {
    let n: usize = std::env::var("AETHER_BENCH_RECEIPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("aether-ledger market benchmark");
    println!(
        "  rayon threads: {}; load average at start: {}",
        rayon::current_num_threads(),
        load.trim()
    );
    // Load the KZG setup and the simulated keys before timing anything.
    let _ = aether_crypto::kzg::settings();
    let _ = SimSigner::new();
    let _ = SimTdxOptions::default();
    receipts_per_second(n);
    kzg_per_blob();
    mixed_block(10_000, 100);
    challenge_reexecution();
}
