//! Transfers and script spends end to end over real HTTP and WebSocket:
//! submit → pending → block → receipt → balances → UTxOs → state proof
//! (verified against the state root) → blocks by number, tag and hash.

mod common;

use aether_rpc::testing::*;
use aether_types::BASE_UNITS_PER_AIC as AIC;
use aether_types::*;
use common::*;
use jsonrpsee::rpc_params;
use serde_json::{Value, json};

fn params() -> aether_ledger::ProtocolParams {
    aether_ledger::ProtocolParams::dev()
}

fn coin() -> u128 {
    MemoryChainConfig::default().coin_per_account
}

/// Checks a state proof with the node's own verifier (`aether-storage`):
/// the in-memory chain serves real Jellyfish proofs.
fn verify_proof(proof: &Value, target: &OutPoint, output: Option<&TxOutput>) {
    assert_eq!(proof["proof"]["scheme"], PROOF_SCHEME);
    let root = Digest::from_hex(proof["stateRoot"].as_str().unwrap()).unwrap();
    let bytes = hex::decode(proof["proof"]["data"].as_str().unwrap()).unwrap();
    let decoded = aether_storage::StateProof::decode(&bytes).unwrap();
    let proven = aether_storage::verify_proof(&root, target, &decoded)
        .unwrap_or_else(|e| panic!("proof does not verify ({e}): {proof}"));
    assert_eq!(proven, output, "proof proves another output: {proof}");
    assert_eq!(proof["exists"], output.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_end_to_end_over_http_and_ws() {
    let node = Node::start().await;
    let http = node.http();
    let ws = node.ws().await;

    let status = call(&http, "aether_status", rpc_params![]).await.unwrap();
    assert_eq!(status["height"], 0);
    assert_eq!(status["finalizedHeight"], 0);
    assert_eq!(status["chainId"], params().chain_id.0);
    assert_eq!(status["version"], aether_rpc::NODE_VERSION);
    assert_eq!(status["stateRoot"], node.chain.state_root().to_string());

    let amount = 123 * AIC;
    let tx = transfer(
        &params(),
        &dev_key(0),
        genesis_out_point(0),
        coin(),
        dev_address(5),
        amount,
    );
    let id = call(&http, "aether_sendTransaction", rpc_params![tx_hex(&tx)])
        .await
        .unwrap();
    assert_eq!(id, tx.id().to_string());

    // Pending: visible as a transaction, no receipt yet, counted in status.
    let pending = call(
        &ws,
        "aether_getTransaction",
        rpc_params![tx.id().to_string()],
    )
    .await
    .unwrap();
    assert_eq!(pending["status"], "pending");
    assert!(pending.get("location").is_none());
    assert_eq!(pending["raw"], tx_hex(&tx));
    assert_eq!(pending["fee"], tx.body.fee.to_string());
    assert_eq!(
        call(&http, "aether_getReceipt", rpc_params![tx.id().to_string()])
            .await
            .unwrap(),
        Value::Null
    );
    let status = call(&http, "aether_status", rpc_params![]).await.unwrap();
    assert_eq!(status["mempool"]["txs"], 1);
    assert_eq!(status["mempool"]["bytes"], tx.encode().len());

    let block = node.chain.produce_block();
    assert_eq!(block.transactions, vec![tx.clone()]);

    let receipt = call(
        &http,
        "aether_getReceipt",
        rpc_params![format!("0x{}", tx.id())],
    )
    .await
    .unwrap();
    assert_eq!(
        receipt,
        json!({
            "txId": tx.id().to_string(),
            "location": {"blockHash": block.hash().to_string(), "blockHeight": 1, "index": 0},
            "status": "success",
            "feeCharged": tx.body.fee.to_string(),
            "fuelUsed": 0,
        })
    );
    let included = call(
        &ws,
        "aether_getTransaction",
        rpc_params![tx.id().to_string()],
    )
    .await
    .unwrap();
    assert_eq!(included["status"], "included");
    assert_eq!(included["location"]["blockHeight"], 1);
    assert_eq!(included["outputs"][0]["coin"], amount.to_string());
    assert_eq!(included["outputs"][0]["address"], address_text(5));
    assert_eq!(
        included["inputs"],
        json!([{"txId": GENESIS_TX.to_string(), "index": 0}])
    );
    assert_eq!(
        included["signers"],
        json!([hex::encode(dev_key(0).public_key().0)])
    );

    // Balances, UTxOs.
    let receiver = call(&http, "aether_getBalance", rpc_params![address_text(5)])
        .await
        .unwrap();
    assert_eq!(receiver["coin"], (coin() + amount).to_string());
    assert_eq!(receiver["utxoCount"], 2);
    assert_eq!(receiver["height"], 1);
    let sender = call(&http, "aether_getBalance", rpc_params![address_text(0)])
        .await
        .unwrap();
    assert_eq!(sender["coin"], (coin() - amount - tx.body.fee).to_string());
    let utxos = call(&ws, "aether_getUtxos", rpc_params![address_text(5)])
        .await
        .unwrap();
    assert_eq!(utxos["truncated"], false);
    let points: Vec<&Value> = utxos["utxos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["outPoint"])
        .collect();
    assert!(points.contains(&&json!({"txId": tx.id().to_string(), "index": 0})));
    assert!(points.contains(&&json!({"txId": GENESIS_TX.to_string(), "index": 5})));
    let limited = call(&http, "aether_getUtxos", rpc_params![address_text(5), 1])
        .await
        .unwrap();
    assert_eq!(limited["utxos"].as_array().unwrap().len(), 1);
    assert_eq!(limited["truncated"], true);

    // State proofs: inclusion of the new output, exclusion of the spent one.
    let new_point = OutPoint::new(tx.id(), 0);
    let proof = call(
        &http,
        "aether_getStateProof",
        rpc_params![json!({"txId": tx.id().to_string(), "index": 0})],
    )
    .await
    .unwrap();
    assert_eq!(proof["stateRoot"], block.header.state_root.to_string());
    assert_eq!(proof["output"]["coin"], amount.to_string());
    verify_proof(&proof, &new_point, Some(&tx.body.outputs[0]));
    let spent = call(
        &ws,
        "aether_getStateProof",
        rpc_params![genesis_out_point(0).to_string()],
    )
    .await
    .unwrap();
    assert!(spent.get("output").is_none());
    verify_proof(&spent, &genesis_out_point(0), None);

    // Blocks by number, tag and hash agree.
    let by_number = call(&http, "aether_getBlockByNumber", rpc_params![1])
        .await
        .unwrap();
    let latest = call(&http, "aether_getBlockByNumber", rpc_params!["latest"])
        .await
        .unwrap();
    let by_hash = call(
        &ws,
        "aether_getBlockByHash",
        rpc_params![block.hash().to_string()],
    )
    .await
    .unwrap();
    assert_eq!(by_number, latest);
    assert_eq!(by_number, by_hash);
    assert_eq!(by_number["header"]["hash"], block.hash().to_string());
    assert_eq!(by_number["header"]["height"], 1);
    assert_eq!(
        by_number["header"]["stateRoot"],
        block.header.state_root.to_string()
    );
    assert_eq!(
        by_number["header"]["txRoot"],
        block.header.tx_root.to_string()
    );
    assert_eq!(by_number["transactions"], json!([tx.id().to_string()]));
    assert!(by_number.get("transactionDetails").is_none());
    let full = call(&http, "aether_getBlockByNumber", rpc_params!["1", true])
        .await
        .unwrap();
    assert_eq!(full["transactionDetails"][0]["id"], tx.id().to_string());
    assert_eq!(full["transactionDetails"][0]["location"]["index"], 0);
    let genesis = call(&http, "aether_getBlockByNumber", rpc_params!["earliest"])
        .await
        .unwrap();
    assert_eq!(genesis["header"]["height"], 0);
    assert_eq!(by_number["header"]["parentHash"], genesis["header"]["hash"]);
    // Finality lags by two blocks.
    let finalized = call(&http, "aether_getBlockByNumber", rpc_params!["finalized"])
        .await
        .unwrap();
    assert_eq!(finalized["header"]["height"], 0);
    node.chain.produce_block();
    node.chain.produce_block();
    let finalized = call(&http, "aether_getBlockByNumber", rpc_params!["finalized"])
        .await
        .unwrap();
    assert_eq!(finalized["header"]["hash"], block.hash().to_string());
    let status = call(&http, "aether_status", rpc_params![]).await.unwrap();
    assert_eq!(status["height"], 3);
    assert_eq!(status["finalizedHeight"], 1);
    assert_eq!(status["finalizedHash"], block.hash().to_string());
    assert_eq!(status["mempool"]["txs"], 0);
    // Unknown things are null.
    assert_eq!(
        call(&http, "aether_getBlockByNumber", rpc_params![99])
            .await
            .unwrap(),
        Value::Null
    );
    assert_eq!(
        call(&http, "aether_getBlockByHash", rpc_params!["00".repeat(32)])
            .await
            .unwrap(),
        Value::Null
    );
    assert_eq!(
        call(&http, "aether_getTransaction", rpc_params!["11".repeat(32)])
            .await
            .unwrap(),
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_are_the_ledger_parameters_a_client_needs() {
    let node = Node::start().await;
    let p = params();
    let got = call(&node.http(), "aether_getParams", rpc_params![])
        .await
        .unwrap();
    assert_eq!(
        got,
        json!({
            "chainId": p.chain_id.0,
            "fees": {
                "base": p.fees.base.to_string(),
                "perByte": p.fees.per_byte.to_string(),
                "perFuel": p.fees.per_fuel.to_string(),
            },
            "minOutputCoin": p.min_output_coin.to_string(),
            "maxTxSize": p.max_tx_size,
            "maxFuelPerTx": p.scripts.max_fuel_per_tx,
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chained_unconfirmed_transfers_land_in_one_block_in_order() {
    let node = Node::start().await;
    let http = node.http();
    let first = transfer(
        &params(),
        &dev_key(1),
        genesis_out_point(1),
        coin(),
        dev_address(2),
        10 * AIC,
    );
    let change = first.body.outputs[1].value.coin;
    let second = transfer(
        &params(),
        &dev_key(1),
        OutPoint::new(first.id(), 1),
        change,
        dev_address(3),
        20 * AIC,
    );
    // The child cannot come first: its input does not exist yet.
    let err = call(
        &http,
        "aether_sendTransaction",
        rpc_params![tx_hex(&second)],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), aether_rpc::codes::MISSING_INPUT);
    call(&http, "aether_sendTransaction", rpc_params![tx_hex(&first)])
        .await
        .unwrap();
    call(
        &http,
        "aether_sendTransaction",
        rpc_params![tx_hex(&second)],
    )
    .await
    .unwrap();
    let block = node.chain.produce_block();
    assert_eq!(block.transactions, vec![first.clone(), second.clone()]);
    let b3 = call(&http, "aether_getBalance", rpc_params![address_text(3)])
        .await
        .unwrap();
    assert_eq!(b3["coin"], (coin() + 20 * AIC).to_string());
    let r = call(
        &http,
        "aether_getReceipt",
        rpc_params![second.id().to_string()],
    )
    .await
    .unwrap();
    assert_eq!(r["location"]["index"], 1);
}

const ACCEPT_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 1))"#;

fn wasm(source: &str) -> Script {
    Script::Wasm(WasmCode::new(wat::parse_str(source).unwrap()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_locked_spend_end_to_end() {
    let node = Node::start().await;
    let http = node.http();
    let script = wasm(ACCEPT_WAT);
    let lock = transfer(
        &params(),
        &dev_key(3),
        genesis_out_point(3),
        coin(),
        Address::Script(script.hash()),
        50 * AIC,
    );
    call(&http, "aether_sendTransaction", rpc_params![tx_hex(&lock)])
        .await
        .unwrap();
    node.chain.produce_block();
    let locked = OutPoint::new(lock.id(), 0);
    let spend = script_spend(
        &params(),
        &script,
        locked,
        50 * AIC,
        &dev_key(4),
        genesis_out_point(4),
        coin(),
    );
    call(&http, "aether_sendTransaction", rpc_params![tx_hex(&spend)])
        .await
        .unwrap();
    node.chain.produce_block();
    let receipt = call(
        &http,
        "aether_getReceipt",
        rpc_params![spend.id().to_string()],
    )
    .await
    .unwrap();
    assert_eq!(receipt["status"], "success");
    assert!(receipt["fuelUsed"].as_u64().unwrap() > 0);
    let tx = call(
        &http,
        "aether_getTransaction",
        rpc_params![spend.id().to_string()],
    )
    .await
    .unwrap();
    assert_eq!(tx["scripts"], json!([script.hash().to_string()]));
    assert_eq!(
        tx["spendRedeemers"][0]["outPoint"]["txId"],
        lock.id().to_string()
    );
    assert_eq!(
        tx["collateral"],
        json!([{"txId": GENESIS_TX.to_string(), "index": 4}])
    );
    // The script address is empty again.
    let script_address = format!("script:{}", script.hash());
    let b = call(&http, "aether_getBalance", rpc_params![script_address])
        .await
        .unwrap();
    assert_eq!(b["coin"], "0");
    assert_eq!(b["utxoCount"], 0);
    // Collateral untouched on success.
    assert!(node.chain.utxo(&genesis_out_point(4)).is_some());
}
