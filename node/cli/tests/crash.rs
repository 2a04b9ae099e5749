//! SIGKILL during a stream of commits: nothing committed is lost, and the
//! state root equals a fresh replay of the stored blocks.

mod common;

use aether_ledger::{BlockContext, ExecutionMode, Ledger, MemoryUtxoSet, ProtocolParams};
use aether_rpc::params::parse_hash32;
use aether_rpc::testing::transfer;
use aether_storage::{MemoryStateTree, Store, StoreOptions};
use aether_types::*;
use common::*;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ACCOUNTS: u32 = 8;

/// The largest output of dev account `i`, read from the node.
fn funds(node: &NodeProcess, i: u32) -> (OutPoint, u128) {
    let address = format!("key:{}", dev_account_key(i).key_hash());
    let utxos = node
        .call("aether_getUtxos", json!([address, 1000]))
        .unwrap();
    utxos["utxos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let id = parse_hash32("tx", u["outPoint"]["txId"].as_str().unwrap()).unwrap();
            let op = OutPoint::new(TxId(id), u["outPoint"]["index"].as_u64().unwrap() as u32);
            (
                op,
                u["output"]["coin"]
                    .as_str()
                    .unwrap()
                    .parse::<u128>()
                    .unwrap(),
            )
        })
        .max_by_key(|(_, c)| *c)
        .unwrap()
}

#[test]
fn sigkill_during_commits_loses_no_committed_block() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let options = NodeOptions {
        block_time_ms: 20,
        ..NodeOptions::default()
    };
    let seed = std::env::var("AETHER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("crash test seed {seed} (AETHER_CRASH_SEED to repeat)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let params = ProtocolParams::dev();
    // (height -> hash) and (tx id -> block hash) seen committed before a kill.
    let mut seen_blocks: BTreeMap<u64, String> = BTreeMap::new();
    let mut seen_receipts: BTreeMap<String, String> = BTreeMap::new();
    let mut committed_txs = 0usize;

    for round in 0..4 {
        let node = NodeProcess::start(&data, &options);
        // Everything seen before must still be there, unchanged.
        for (h, hash) in &seen_blocks {
            let b = node.call("aether_getBlockByNumber", json!([h])).unwrap();
            assert_eq!(
                b["header"]["hash"].as_str(),
                Some(hash.as_str()),
                "round {round}: block {h} changed or lost"
            );
        }
        for (id, block) in &seen_receipts {
            let r = node.call("aether_getReceipt", json!([id])).unwrap();
            assert_eq!(
                r["location"]["blockHash"].as_str(),
                Some(block.as_str()),
                "round {round}: receipt of {id} lost"
            );
        }
        // Stream chains of transfers; kill at a random moment.
        let mut chains: Vec<(OutPoint, u128)> = (0..ACCOUNTS).map(|i| funds(&node, i)).collect();
        let mut pending: Vec<String> = Vec::new();
        let kill_after = Duration::from_millis(rng.gen_range(300..1200));
        let started = Instant::now();
        while started.elapsed() < kill_after {
            for (i, chain) in chains.iter_mut().enumerate() {
                let i = i as u32;
                let tx = transfer(
                    &params,
                    &dev_account_key(i),
                    chain.0,
                    chain.1,
                    Address::Key(dev_account_key(i + ACCOUNTS).key_hash()),
                    AIC,
                );
                if node
                    .call("aether_sendTransaction", json!([tx_hex(&tx)]))
                    .is_ok()
                {
                    *chain = (OutPoint::new(tx.id(), 1), tx.body.outputs[1].value.coin);
                    pending.push(tx.id().to_string());
                }
            }
            let status = node.status();
            seen_blocks.insert(
                status["height"].as_u64().unwrap(),
                status["headHash"].as_str().unwrap().to_string(),
            );
            pending.retain(|id| {
                let r = node.call("aether_getReceipt", json!([id])).unwrap();
                if r.is_null() {
                    return true;
                }
                seen_receipts.insert(
                    id.clone(),
                    r["location"]["blockHash"].as_str().unwrap().to_string(),
                );
                committed_txs += 1;
                false
            });
        }
        node.kill();
    }
    assert!(
        committed_txs > 0,
        "no transaction was committed: the test proves nothing"
    );
    assert!(seen_blocks.len() > 4);

    // A last clean start checks the final kill, then a stop.
    let node = NodeProcess::start(&data, &options);
    for (h, hash) in &seen_blocks {
        let b = node.call("aether_getBlockByNumber", json!([h])).unwrap();
        assert_eq!(b["header"]["hash"].as_str(), Some(hash.as_str()));
    }
    node.stop();

    // Fresh replay of every stored block from the genesis.
    let store = Store::open(data.join("db"), StoreOptions::default()).unwrap();
    let tip = store.tip().unwrap();
    let ledger = Ledger::new(params);
    let genesis = dev_genesis();
    let genesis_outcome = genesis
        .outcome(&aether_ledger::StakingParams::dev())
        .unwrap();
    let mut utxos = MemoryUtxoSet::new();
    let mut tree = MemoryStateTree::new();
    utxos.apply(&genesis_outcome.diff);
    let root = tree.apply_diff(&genesis_outcome.diff).unwrap();
    assert_eq!(
        store.block_by_height(0).unwrap().unwrap().hash(),
        genesis.block(root).hash()
    );
    let mut replayed_txs = 0;
    for h in 1..=tip.height {
        let block = store.block_by_height(h).unwrap().unwrap();
        let outcome = ledger
            .execute_block(
                &utxos,
                &BlockContext::at(h),
                &block.transactions,
                ExecutionMode::Sequential,
            )
            .unwrap();
        assert!(
            outcome.rejected.is_empty(),
            "block {h} has an invalid transaction"
        );
        assert_eq!(
            outcome.receipts_root(),
            block.header.receipts_root,
            "block {h}"
        );
        utxos.apply(&outcome.diff);
        let root = tree.apply_diff(&outcome.diff).unwrap();
        assert_eq!(root, block.header.state_root, "state root of block {h}");
        replayed_txs += block.transactions.len();
    }
    assert_eq!(tree.root(), store.state_root());
    assert!(replayed_txs >= committed_txs);
    eprintln!(
        "{} blocks, {replayed_txs} transactions replayed; {committed_txs} seen committed before kills",
        tip.height
    );
}
