//! `aether devnet load`: a paced stream of transfers over every node of a
//! devnet, and the finality latency each one saw.
//!
//! # Method
//! 1. **Split** (before timing). Transfers of one account that chain
//!    through their change outputs would each wait for the previous one,
//!    so each of the K dev accounts first gets about `total / K` outputs
//!    of its own: fan-out transactions (at most [`MAX_FANOUT_OUTPUTS`]
//!    outputs each; an account's next fan-out spends the previous one's
//!    change), sent to one node. The command waits until every node's
//!    finalized height reaches the highest block that holds one.
//! 2. **Pre-sign**. One transfer per split output: it spends that output,
//!    pays the chain's minimum output (a 1-base-unit output is below it)
//!    to the next dev account and the rest minus the fee (computed by
//!    [`TxBuilder`], as `aether tx` does) back to the sender. No transfer
//!    depends on another. Accounts take turns in the sending order.
//! 3. **Submit**. Transfer `i` is sent at `start + i / rate` seconds
//!    ([`send_offset`]) to node `i mod N` (`aether_sendTransaction`), on a
//!    multi-threaded runtime with at most [`MAX_IN_FLIGHT`] requests
//!    outstanding; its submission time is taken just before the request.
//! 4. **Follow finality** on one node: `aether_subscribeFinalizedHeads`
//!    (status polling if the subscription is unavailable or quiet); when
//!    the finalized height reaches `h`, every block up to `h` not seen yet
//!    is fetched (`aether_getBlockByNumber`) and its transactions are final
//!    at the moment the height was seen.
//! 5. **Report** once every accepted transfer is final, or nothing became
//!    final for [`DRAIN_IDLE`]: submitted, accepted, finalized, throughput
//!    (finalized / time from the first submission to the last
//!    finalization, at least the submission window) and the latency from
//!    submission to finality (p50, p99, max; nearest-rank percentiles).

use super::Progress;
use super::config::Manifest;
use crate::{CliError, output};
use aether_client::{ClientConfig, ClientError, HeadSubscription, RpcClient, TxBuilder, Utxo};
use aether_crypto::ed25519::Keypair;
use aether_node::genesis::{DEV_ACCOUNTS, dev_account_key};
use aether_rpc_types::methods as m;
use aether_types::{Address, Canonical, OutPoint, TxId, TxParams, Value};
use jsonrpsee::rpc_params;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most outputs of one fan-out transaction (well inside the dev chain's
/// 128 KiB transaction limit; a test checks it).
pub(crate) const MAX_FANOUT_OUTPUTS: usize = 200;
/// Most transfers of one run.
pub(crate) const MAX_TRANSFERS: u64 = 1_000_000;
/// Most requests outstanding at once.
pub(crate) const MAX_IN_FLIGHT: usize = 256;
/// Runtime worker threads that send (and follow finality).
const SENDER_THREADS: usize = 4;
/// The run ends when nothing became final for this long.
pub(crate) const DRAIN_IDLE: Duration = Duration::from_secs(20);
/// Longest wait for the split outputs to be final on every node.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Status polling interval of the finality follower without a
/// subscription, and its quiet-subscription fallback.
const FOLLOW_POLL: Duration = Duration::from_millis(50);
const QUIET_SUBSCRIPTION: Duration = Duration::from_millis(500);
/// Distinct submission errors kept for the report.
const MAX_ERRORS: usize = 5;

/// `aether devnet load` options.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Transfers per second to submit.
    #[arg(long, value_name = "TPS")]
    rate: u32,
    /// Seconds to submit for (rate × duration transfers in all).
    #[arg(long, value_name = "S")]
    duration: u32,
    /// Dev accounts that send (each is split first; at most 16).
    #[arg(long, value_name = "K", default_value_t = DEV_ACCOUNTS)]
    accounts: u32,
    #[command(flatten)]
    pub(crate) dir: super::DirArgs,
}

// ---------------------------------------------------------------- pure parts

/// How many outputs each of `accounts` accounts' fan-out transactions
/// create so that they hold `total` outputs in all: account `a` gets
/// `total / accounts` (the first `total % accounts` one more), cut into
/// transactions of at most `max_per_tx` outputs.
pub(crate) fn split_plan(total: u64, accounts: u32, max_per_tx: usize) -> Vec<Vec<usize>> {
    let accounts = u64::from(accounts.max(1));
    let max = max_per_tx.max(1) as u64;
    (0..accounts)
        .map(|a| {
            let mut left = total / accounts + u64::from(a < total % accounts);
            let mut chunks = Vec::new();
            while left > 0 {
                let n = left.min(max);
                chunks.push(n as usize);
                left -= n;
            }
            chunks
        })
        .collect()
}

/// The sending order over accounts holding `counts[a]` outputs each:
/// `(account, output)` pairs, accounts taking turns.
pub(crate) fn interleave(counts: &[usize]) -> Vec<(usize, usize)> {
    let most = counts.iter().copied().max().unwrap_or(0);
    (0..most)
        .flat_map(|k| {
            counts
                .iter()
                .enumerate()
                .filter(move |(_, c)| k < **c)
                .map(move |(a, _)| (a, k))
        })
        .collect()
}

/// When transfer `i` is due, after the start, at `rate` per second.
pub(crate) fn send_offset(i: u64, rate: u32) -> Duration {
    let rate = u128::from(rate.max(1));
    let nanos = u128::from(i) * 1_000_000_000 / rate;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of sorted values.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Latency summary in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct LatencyMs {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl LatencyMs {
    /// The summary of `latencies` (any order); `None` if empty.
    pub fn of(mut latencies: Vec<u64>) -> Option<LatencyMs> {
        latencies.sort_unstable();
        Some(LatencyMs {
            p50: percentile(&latencies, 50.0)?,
            p99: percentile(&latencies, 99.0)?,
            max: *latencies.last()?,
        })
    }
}

/// Final transactions per second over `run` (0 for an empty run).
pub(crate) fn throughput(finalized: usize, run: Duration) -> f64 {
    let s = run.as_secs_f64();
    if s > 0.0 { finalized as f64 / s } else { 0.0 }
}

/// The value of each split output: the transfer amount, the transfer's
/// fee twice over (margin), and a change output's minimum.
fn split_value(params: &TxParams, amount: u128, fee: u128) -> u128 {
    amount + 2 * fee + params.min_output_coin
}

/// One pre-signed transfer.
struct Prepared {
    id: String,
    hex: String,
}

fn address(key: &Keypair) -> Address {
    Address::Key(key.key_hash())
}

fn build_failed(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Failed(format!("cannot build {what}: {e}"))
}

/// The transfer spending `coin` of `from`: `amount` to `to`, change back.
fn transfer(
    params: &TxParams,
    from: &Keypair,
    coin: &Utxo,
    to: Address,
    amount: u128,
) -> Result<aether_types::Transaction, CliError> {
    TxBuilder::new(params)
        .spend(coin)
        .pay(to, amount)
        .change_to(address(from))
        .signer(from)
        .build()
        .map_err(|e| build_failed("a transfer", e))
}

/// The fan-out creating `n` outputs of `value` to `key`'s address, funded
/// from `funds`.
fn fan_out(
    params: &TxParams,
    key: &Keypair,
    funds: &[Utxo],
    n: usize,
    value: u128,
) -> Result<aether_types::Transaction, CliError> {
    let me = address(key);
    (0..n)
        .fold(TxBuilder::new(params), |b, _| b.pay(me, value))
        .change_to(me)
        .signer(key)
        .fund_from(funds)
        .map_err(|e| build_failed("a fan-out transaction", e))
}

/// Pre-signs one transfer per split output, accounts taking turns.
fn presign(
    params: &TxParams,
    keys: &[Keypair],
    coins: &[Vec<Utxo>],
    amount: u128,
) -> Result<Vec<Prepared>, CliError> {
    let counts: Vec<usize> = coins.iter().map(Vec::len).collect();
    interleave(&counts)
        .into_iter()
        .map(|(a, k)| {
            let to = address(&keys[(a + 1) % keys.len()]);
            let tx = transfer(params, &keys[a], &coins[a][k], to, amount)?;
            Ok(Prepared {
                id: tx.id().to_string(),
                hex: hex::encode(tx.encode()),
            })
        })
        .collect()
}

// ----------------------------------------------------------------- the run

/// What the submissions and the finality follower record.
struct Tracker {
    /// Transfer index of each pre-signed id.
    index: HashMap<String, usize>,
    sent_at: Mutex<Vec<Option<Instant>>>,
    accepted_flags: Mutex<Vec<bool>>,
    final_at: Mutex<Vec<Option<Instant>>>,
    submitted: AtomicUsize,
    accepted: AtomicUsize,
    rejected: AtomicUsize,
    finalized: AtomicUsize,
    errors: Mutex<Vec<String>>,
}

impl Tracker {
    fn new(prepared: &[Prepared]) -> Tracker {
        let n = prepared.len();
        Tracker {
            index: prepared
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.clone(), i))
                .collect(),
            sent_at: Mutex::new(vec![None; n]),
            accepted_flags: Mutex::new(vec![false; n]),
            final_at: Mutex::new(vec![None; n]),
            submitted: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            rejected: AtomicUsize::new(0),
            finalized: AtomicUsize::new(0),
            errors: Mutex::new(Vec::new()),
        }
    }

    fn sent(&self, i: usize) {
        lock(&self.sent_at)[i] = Some(Instant::now());
        self.submitted.fetch_add(1, Ordering::Relaxed);
    }

    fn answered(&self, i: usize, result: Result<TxId, ClientError>) {
        match result {
            Ok(_) => {
                lock(&self.accepted_flags)[i] = true;
                self.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                let mut errors = lock(&self.errors);
                let text = e.to_string();
                if errors.len() < MAX_ERRORS && !errors.contains(&text) {
                    errors.push(text);
                }
            }
        }
    }

    /// Marks the transfers among `ids` final at `at`.
    fn finalized_in(&self, ids: &serde_json::Value, at: Instant) {
        let Some(ids) = ids.as_array() else {
            return;
        };
        let mut final_at = lock(&self.final_at);
        for id in ids.iter().filter_map(serde_json::Value::as_str) {
            if let Some(&i) = self.index.get(id)
                && final_at[i].is_none()
            {
                final_at[i] = Some(at);
                self.finalized.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Accepted transfers not final yet.
    fn pending(&self) -> usize {
        let accepted = lock(&self.accepted_flags);
        let final_at = lock(&self.final_at);
        accepted
            .iter()
            .zip(final_at.iter())
            .filter(|(a, f)| **a && f.is_none())
            .count()
    }
}

/// Locks, ignoring poisoning (a panicked sender task leaves data that is
/// still meaningful counts).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The result of a run.
#[derive(Debug, Serialize)]
struct Report {
    rate: u32,
    duration_s: u32,
    accounts: u32,
    /// Indices of the nodes submitted to.
    nodes: Vec<u16>,
    submitted: usize,
    accepted: usize,
    rejected: usize,
    finalized: usize,
    /// From the first submission to the last finalization (at least the
    /// submission window), seconds.
    run_s: f64,
    throughput_tps: f64,
    /// Submission to finality.
    latency_ms: Option<LatencyMs>,
    /// Base units each transfer pays to another account.
    transfer_amount: String,
    /// Fee of each transfer, base units.
    transfer_fee: String,
    setup: SetupReport,
    /// The first distinct submission errors.
    errors: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SetupReport {
    fanout_transactions: usize,
    split_outputs: usize,
    seconds: f64,
}

impl Report {
    fn print_text(&self) {
        println!(
            "submitted   {} at {} tx/s for {} s over nodes {:?} ({} accounts)",
            self.submitted, self.rate, self.duration_s, self.nodes, self.accounts
        );
        println!("accepted    {} (rejected {})", self.accepted, self.rejected);
        println!("finalized   {}", self.finalized);
        println!(
            "throughput  {:.1} final tx/s over {:.2} s (first submission to last finalization)",
            self.throughput_tps, self.run_s
        );
        match &self.latency_ms {
            Some(l) => println!(
                "latency     p50 {} ms, p99 {} ms, max {} ms (submission to finality)",
                l.p50, l.p99, l.max
            ),
            None => println!("latency     -"),
        }
        println!(
            "setup       {} fan-out transactions made {} outputs in {:.1} s",
            self.setup.fanout_transactions, self.setup.split_outputs, self.setup.seconds
        );
        for e in &self.errors {
            println!("error       {e}");
        }
    }
}

/// Runs `aether devnet load`.
pub(crate) fn run(args: &Args, manifest: &Manifest, json: bool) -> Result<(), CliError> {
    if args.rate == 0 || args.duration == 0 {
        return Err(CliError::Usage(
            "--rate and --duration must be at least 1".into(),
        ));
    }
    if args.accounts == 0 || args.accounts > DEV_ACCOUNTS {
        return Err(CliError::Usage(format!(
            "--accounts must be between 1 and {DEV_ACCOUNTS} (the funded dev accounts)"
        )));
    }
    let total = u64::from(args.rate) * u64::from(args.duration);
    if total > MAX_TRANSFERS {
        return Err(CliError::Usage(format!(
            "--rate × --duration is {total} transfers; at most {MAX_TRANSFERS}"
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SENDER_THREADS)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the runtime: {e}")))?;
    let report = runtime.block_on(load(args, manifest, total))?;
    if report.finalized == 0 {
        return Err(CliError::Failed(format!(
            "no transfer became final: {} submitted, {} accepted, {} rejected{}",
            report.submitted,
            report.accepted,
            report.rejected,
            report
                .errors
                .first()
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        )));
    }
    output::print(json, &report, || report.print_text());
    Ok(())
}

/// The finalized height in a node's status.
async fn finalized_height(client: &RpcClient) -> Result<u64, ClientError> {
    let status = super::status(client).await?;
    status["finalizedHeight"]
        .as_u64()
        .ok_or_else(|| ClientError::Decode {
            method: m::STATUS,
            reason: "no finalizedHeight".into(),
        })
}

async fn load(args: &Args, manifest: &Manifest, total: u64) -> Result<Report, CliError> {
    let config = ClientConfig {
        request_timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    };
    // The nodes that answer now take part; the first one also leads.
    let mut nodes: Vec<(u16, Arc<RpcClient>)> = Vec::new();
    let mut lead_url = None;
    for node in &manifest.nodes {
        let client = RpcClient::connect_with(&node.rpc_url, config).await?;
        match super::status(&client).await {
            Ok(_) => {
                lead_url.get_or_insert_with(|| node.rpc_url.clone());
                nodes.push((node.index, Arc::new(client)));
            }
            Err(e) => eprintln!("load: leaving out node-{}: {e}", node.index),
        }
    }
    let (Some((_, lead)), Some(lead_url)) = (nodes.first().cloned(), lead_url) else {
        return Err(CliError::Failed(
            "no node of the devnet answers (see `aether devnet status`)".into(),
        ));
    };
    let params = lead.params().await?;
    let keys: Vec<Keypair> = (0..args.accounts).map(dev_account_key).collect();
    let amount = params.min_output_coin.max(1);
    // The fee of every transfer: they all have the same shape.
    let probe = Utxo {
        out_point: OutPoint::new(TxId([0; 32]), 0),
        address: address(&keys[0]),
        value: Value::from_coin(u128::from(u64::MAX)),
    };
    let fee = transfer(&params, &keys[0], &probe, address(&keys[0]), amount)?
        .body
        .fee;
    let value = split_value(&params, amount, fee);

    // 1. Split.
    let setup_start = Instant::now();
    let plan = split_plan(total, args.accounts, MAX_FANOUT_OUTPUTS);
    let fanouts: usize = plan.iter().map(Vec::len).sum();
    eprintln!(
        "load: splitting {} accounts into {total} outputs ({fanouts} fan-out transactions)",
        args.accounts
    );
    let mut coins: Vec<Vec<Utxo>> = vec![Vec::new(); keys.len()];
    let mut sent = Vec::new();
    for (a, chunks) in plan.iter().enumerate() {
        if chunks.is_empty() {
            continue;
        }
        let key = &keys[a];
        let mut funds = lead.spendable(&address(key)).await?;
        for &n in chunks {
            let tx = fan_out(&params, key, &funds, n, value)?;
            let id = tx.id();
            coins[a].extend(
                (0..n).map(|j| Utxo::new(OutPoint::new(id, j as u32), &tx.body.outputs[j])),
            );
            funds = tx
                .body
                .outputs
                .get(n)
                .map(|change| vec![Utxo::new(OutPoint::new(id, n as u32), change)])
                .unwrap_or_default();
            lead.send_transaction(&tx).await?;
            sent.push(id);
        }
    }
    let mut highest = 0;
    for id in &sent {
        let receipt = lead.wait_for_receipt(id, SETUP_TIMEOUT).await?;
        if !receipt.succeeded() {
            return Err(CliError::Failed(format!(
                "fan-out {id} failed: {:?}",
                receipt.status
            )));
        }
        highest = highest.max(receipt.location.block_height);
    }
    let deadline = Instant::now() + SETUP_TIMEOUT;
    for (index, client) in &nodes {
        while finalized_height(client).await? < highest {
            if Instant::now() > deadline {
                return Err(CliError::Failed(format!(
                    "node-{index} did not finalize block {highest} (the split outputs) within {} s",
                    SETUP_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }
    let setup = SetupReport {
        fanout_transactions: fanouts,
        split_outputs: coins.iter().map(Vec::len).sum(),
        seconds: setup_start.elapsed().as_secs_f64(),
    };

    // 2. Pre-sign.
    let prepared = presign(&params, &keys, &coins, amount)?;
    let tracker = Arc::new(Tracker::new(&prepared));

    // 4. Follow finality (from the current finalized height on).
    let from = finalized_height(&lead).await?;
    let follower = tokio::spawn(follow(lead_url, lead.clone(), from, tracker.clone()));

    // 3. Submit, with a progress line once a second.
    let start = Instant::now();
    let progress = tokio::spawn(report_progress(tracker.clone(), total, start));
    let senders: Vec<Arc<RpcClient>> = nodes.iter().map(|(_, c)| c.clone()).collect();
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let tokio_start = tokio::time::Instant::from_std(start);
    for (i, tx) in prepared.into_iter().enumerate() {
        tokio::time::sleep_until(tokio_start + send_offset(i as u64, args.rate)).await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let client = senders[i % senders.len()].clone();
        let tracker = tracker.clone();
        tokio::spawn(async move {
            tracker.sent(i);
            let result = client.send_raw_transaction(&tx.hex).await;
            tracker.answered(i, result);
            drop(permit);
        });
    }
    let _ = permits.acquire_many(MAX_IN_FLIGHT as u32).await;

    // 5. Drain: until every accepted transfer is final or nothing moves.
    let mut last = (tracker.finalized.load(Ordering::Relaxed), Instant::now());
    while tracker.pending() > 0 {
        let now = tracker.finalized.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > DRAIN_IDLE {
            eprintln!(
                "\nload: {} accepted transfers not final after {} s without progress",
                tracker.pending(),
                DRAIN_IDLE.as_secs()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    follower.abort();
    progress.abort();
    Progress::new().finish();

    let sent_at = lock(&tracker.sent_at).clone();
    let final_at = lock(&tracker.final_at).clone();
    let latencies: Vec<u64> = sent_at
        .iter()
        .zip(&final_at)
        .filter_map(|(s, f)| Some(f.as_ref()?.saturating_duration_since(*s.as_ref()?)))
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .collect();
    let last_final = final_at.iter().flatten().max().copied();
    let window = send_offset(total, args.rate);
    let run = last_final
        .map(|t| t.saturating_duration_since(start))
        .unwrap_or_default()
        .max(window);
    let finalized = tracker.finalized.load(Ordering::Relaxed);
    let errors = lock(&tracker.errors).clone();
    Ok(Report {
        rate: args.rate,
        duration_s: args.duration,
        accounts: args.accounts,
        nodes: nodes.iter().map(|(i, _)| *i).collect(),
        submitted: tracker.submitted.load(Ordering::Relaxed),
        accepted: tracker.accepted.load(Ordering::Relaxed),
        rejected: tracker.rejected.load(Ordering::Relaxed),
        finalized,
        run_s: run.as_secs_f64(),
        throughput_tps: throughput(finalized, run),
        latency_ms: LatencyMs::of(latencies),
        transfer_amount: amount.to_string(),
        transfer_fee: fee.to_string(),
        setup,
        errors,
    })
}

/// Prints submitted / final / current final rate once a second.
async fn report_progress(tracker: Arc<Tracker>, total: u64, start: Instant) {
    let progress = Progress::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut before = 0;
    loop {
        tick.tick().await;
        let finalized = tracker.finalized.load(Ordering::Relaxed);
        progress.update(&format!(
            "load: {:>4.0} s  submitted {}/{total}  accepted {}  final {}  {} tx/s",
            start.elapsed().as_secs_f64(),
            tracker.submitted.load(Ordering::Relaxed),
            tracker.accepted.load(Ordering::Relaxed),
            finalized,
            finalized.saturating_sub(before)
        ));
        before = finalized;
    }
}

/// The lead node's finalized heads over WebSocket (`None`: no
/// subscription; the follower polls instead).
async fn subscribe(rpc_url: &str) -> Option<HeadSubscription> {
    let ws_url = rpc_url.replacen("http://", "ws://", 1);
    let config = ClientConfig {
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    };
    let client = RpcClient::connect_with(&ws_url, config).await.ok()?;
    client.subscribe_finalized_heads().await.ok()
}

/// Follows the finalized height of the lead node from `from` on and marks
/// the transfers of every newly final block (see the module docs).
async fn follow(rpc_url: String, client: Arc<RpcClient>, from: u64, tracker: Arc<Tracker>) {
    let mut heads = subscribe(&rpc_url).await;
    let mut done = from;
    loop {
        let mut seen = None;
        match heads.as_mut() {
            Some(stream) => {
                match tokio::time::timeout(QUIET_SUBSCRIPTION, stream.next()).await {
                    Ok(Some(Ok(head))) => seen = Some((head.height, Instant::now())),
                    // Ended or undecodable: poll from now on.
                    Ok(_) => heads = None,
                    Err(_) => {}
                }
            }
            None => tokio::time::sleep(FOLLOW_POLL).await,
        }
        let (height, at) = match seen {
            Some(s) => s,
            None => match finalized_height(&client).await {
                Ok(h) => (h, Instant::now()),
                Err(_) => continue,
            },
        };
        while done < height {
            let h = done + 1;
            let block: Result<serde_json::Value, _> = client
                .request(m::GET_BLOCK_BY_NUMBER, rpc_params![h, false])
                .await;
            match block {
                Ok(block) => {
                    tracker.finalized_in(&block["transactions"], at);
                    done = h;
                }
                // Retried at the next height seen.
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_plan_covers_the_total_in_bounded_chunks() {
        let plan = split_plan(1000, 16, 200);
        assert_eq!(plan.len(), 16);
        let counts: Vec<usize> = plan.iter().map(|c| c.iter().sum()).collect();
        assert_eq!(counts.iter().sum::<usize>(), 1000);
        // 1000 = 16 × 62 + 8: the first 8 accounts get 63.
        assert_eq!(counts[..8], [63; 8]);
        assert_eq!(counts[8..], [62; 8]);
        assert!(plan.iter().all(|c| c.len() == 1));

        let big = split_plan(1001, 2, 200);
        assert_eq!(big[0], vec![200, 200, 101]);
        assert_eq!(big[1], vec![200, 200, 100]);

        // Fewer transfers than accounts: some accounts stay out.
        let small = split_plan(3, 16, 200);
        assert_eq!(small.iter().filter(|c| !c.is_empty()).count(), 3);
        assert!(split_plan(0, 4, 200).iter().all(Vec::is_empty));
    }

    #[test]
    fn accounts_take_turns_and_every_output_is_used_once() {
        let order = interleave(&[2, 0, 3]);
        assert_eq!(order, vec![(0, 0), (2, 0), (0, 1), (2, 1), (2, 2)]);
        assert!(interleave(&[]).is_empty());
    }

    #[test]
    fn pacing_spreads_rate_per_second() {
        assert_eq!(send_offset(0, 200), Duration::ZERO);
        assert_eq!(send_offset(1, 200), Duration::from_millis(5));
        assert_eq!(send_offset(200, 200), Duration::from_secs(1));
        assert_eq!(send_offset(1, 3), Duration::from_nanos(333_333_333));
        // Exactly `rate` transfers fall in each second, and the last one
        // of `rate × duration` before the end of the window.
        let rate = 7;
        let in_first_second = (0..100)
            .filter(|&i| send_offset(i, rate) < Duration::from_secs(1))
            .count();
        assert_eq!(in_first_second, 7);
        assert!(send_offset(7 * 5 - 1, rate) < Duration::from_secs(5));
        // Monotone.
        assert!((1..1000).all(|i| send_offset(i, 333) > send_offset(i - 1, 333)));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.1), Some(1));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(
            LatencyMs::of(vec![30, 10, 20]),
            Some(LatencyMs {
                p50: 20,
                p99: 30,
                max: 30
            })
        );
        assert_eq!(LatencyMs::of(vec![]), None);
        assert_eq!(throughput(500, Duration::from_secs(2)), 250.0);
        assert_eq!(throughput(5, Duration::ZERO), 0.0);
    }

    #[test]
    fn fan_outs_fit_the_size_limit_and_transfers_spend_one_output_each() {
        let params = aether_ledger::ProtocolParams::dev().tx_params();
        let keys: Vec<Keypair> = (0..2).map(dev_account_key).collect();
        let genesis_coin = Utxo {
            out_point: OutPoint::new(TxId([1; 32]), 0),
            address: address(&keys[0]),
            value: Value::from_coin(1_000_000 * aether_types::BASE_UNITS_PER_AIC),
        };
        let amount = params.min_output_coin;
        let fee = transfer(&params, &keys[0], &genesis_coin, address(&keys[1]), amount)
            .unwrap()
            .body
            .fee;
        let value = split_value(&params, amount, fee);
        let tx = fan_out(
            &params,
            &keys[0],
            &[genesis_coin],
            MAX_FANOUT_OUTPUTS,
            value,
        )
        .unwrap();
        assert!(tx.encode().len() as u64 <= params.max_tx_size);
        assert_eq!(tx.body.outputs.len(), MAX_FANOUT_OUTPUTS + 1, "with change");
        let coins = vec![
            (0..3)
                .map(|j| Utxo::new(OutPoint::new(tx.id(), j), &tx.body.outputs[j as usize]))
                .collect::<Vec<_>>(),
            vec![],
        ];
        let prepared = presign(&params, &keys, &coins, amount).unwrap();
        assert_eq!(prepared.len(), 3);
        for p in &prepared {
            let t = aether_types::Transaction::decode(&hex::decode(&p.hex).unwrap()).unwrap();
            assert_eq!(t.body.inputs.len(), 1);
            assert_eq!(t.body.fee, fee, "every transfer pays the probed fee");
            assert_eq!(t.body.outputs[0].value.coin, amount);
            assert_eq!(t.body.outputs[0].address, address(&keys[1]));
            assert_eq!(t.body.outputs.len(), 2, "the change exists");
            assert_eq!(t.id().to_string(), p.id);
        }
        // Distinct inputs: no transfer depends on another.
        let inputs: std::collections::BTreeSet<_> = prepared
            .iter()
            .map(|p| {
                aether_types::Transaction::decode(&hex::decode(&p.hex).unwrap())
                    .unwrap()
                    .body
                    .inputs
            })
            .collect();
        assert_eq!(inputs.len(), 3);
    }

    #[test]
    fn the_tracker_counts_final_transfers_once() {
        let prepared = vec![
            Prepared {
                id: "aa".into(),
                hex: String::new(),
            },
            Prepared {
                id: "bb".into(),
                hex: String::new(),
            },
        ];
        let t = Tracker::new(&prepared);
        t.sent(0);
        t.answered(0, Ok(TxId([0; 32])));
        t.sent(1);
        t.answered(
            1,
            Err(ClientError::Other {
                method: "x",
                reason: "refused".into(),
            }),
        );
        assert_eq!(t.pending(), 1);
        let now = Instant::now();
        t.finalized_in(&serde_json::json!(["cc", "aa"]), now);
        t.finalized_in(&serde_json::json!(["aa"]), now);
        t.finalized_in(&serde_json::json!({"not": "a list"}), now);
        assert_eq!(t.finalized.load(Ordering::Relaxed), 1);
        assert_eq!(t.pending(), 0);
        assert_eq!(t.rejected.load(Ordering::Relaxed), 1);
        assert_eq!(lock(&t.errors).len(), 1);
    }
}
