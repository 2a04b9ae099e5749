//! `aether node --dev` as a real process, driven through the CLI and raw
//! JSON-RPC: transfers, script-locked spends, proofs, restarts, bad input.

mod common;

use aether_ledger::ProtocolParams;
use aether_rpc::testing::{script_spend, transfer};
use aether_types::*;
use common::*;
use serde_json::{Value, json};

fn p() -> ProtocolParams {
    ProtocolParams::dev()
}

fn genesis_coin() -> u128 {
    DEV_ACCOUNT_AIC * AIC
}

fn wasm(source: &str) -> Script {
    Script::Wasm(WasmCode::new(wat::parse_str(source).unwrap()).unwrap())
}

const ACCEPT_WAT: &str = r#"(module (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 1))"#;
const LOOP_WAT: &str = r#"(module (memory (export "memory") 1)
  (func (export "validate") (result i32) (loop $l (br $l)) i32.const 1))"#;
const TRAP_WAT: &str = r#"(module (memory (export "memory") 1)
  (func (export "validate") (result i32) unreachable))"#;

fn balance(node: &NodeProcess, address: &str) -> u128 {
    node.cli_json(&["query", "balance", address])["coin"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_cli_transfer_is_committed_proven_and_spendable() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("data"), &NodeOptions::default());

    // A fresh key, funded by dev account 0 through the CLI.
    let key_file = dir.path().join("alice.key");
    let key = node.cli_json(&["keys", "new", "--out", key_file.to_str().unwrap()]);
    let alice = key["address"].as_str().unwrap().to_string();
    assert!(alice.starts_with("key:"));
    let sent = node.cli_json(&[
        "tx",
        "transfer",
        "--from-dev",
        "0",
        "--to",
        &alice,
        "--amount",
        "3.5",
    ]);
    let receipt = &sent["receipt"];
    assert_eq!(receipt["status"], "success", "{sent}");
    let height = receipt["location"]["blockHeight"].as_u64().unwrap();
    assert!(height >= 1);
    assert_eq!(balance(&node, &alice), 3 * AIC + AIC / 2);

    // The fee is what the receipt says, and dev 0 paid amount + fee.
    let fee: u128 = sent["fee"].as_str().unwrap().parse().unwrap();
    assert_eq!(receipt["feeCharged"].as_str().unwrap(), fee.to_string());
    let dev0 = format!("key:{}", dev_account_key(0).key_hash());
    assert_eq!(
        balance(&node, &dev0),
        genesis_coin() - 3 * AIC - AIC / 2 - fee
    );

    // The proof of the new output verifies against the header (the CLI checks it).
    let tx_id = sent["tx_id"].as_str().unwrap().to_string();
    let proof = node.cli_json(&["query", "proof", &format!("{tx_id}#0")]);
    assert_eq!(proof["verified"], true);
    assert_eq!(proof["exists"], true);
    assert_eq!(proof["output"]["address"], alice.as_str());
    let absent = node.cli_json(&["query", "proof", &format!("{tx_id}#9")]);
    assert_eq!(absent["exists"], false);
    assert_eq!(absent["verified"], true);

    // Alice spends it back from her key file, via a signed file and `tx submit`.
    let signed = dir.path().join("back.tx");
    node.cli_json(&[
        "tx",
        "transfer",
        "--from",
        key_file.to_str().unwrap(),
        "--to",
        &dev0,
        "--amount",
        "1",
        "--out",
        signed.to_str().unwrap(),
    ]);
    let submitted = node.cli_json(&["tx", "submit", signed.to_str().unwrap()]);
    assert_eq!(submitted["receipt"]["status"], "success");
    let fee2: u128 = submitted["fee"].as_str().unwrap().parse().unwrap();
    assert_eq!(balance(&node, &alice), 2 * AIC + AIC / 2 - fee2);
    // The spent output now has an exclusion proof.
    let spent = node.cli_json(&["query", "proof", &format!("{tx_id}#0")]);
    assert_eq!(spent["exists"], false);

    // Query commands see the block and the transaction.
    let block = node.cli_json(&["query", "block", &height.to_string()]);
    assert!(
        block["transactions"]
            .as_array()
            .unwrap()
            .contains(&json!(tx_id))
    );
    let tx = node.cli_json(&["query", "tx", &tx_id]);
    assert_eq!(tx["transaction"]["status"], "included");
    assert_eq!(tx["receipt"]["status"], "success");
    let status = node.cli_json(&["query", "status"]);
    assert_eq!(status["finalizedHeight"], status["height"]);
    node.stop();
}

#[test]
fn script_locked_outputs_are_spent_through_rpc_and_bad_scripts_cost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("data"), &NodeOptions::default());
    let g = dev_genesis();
    let accept = wasm(ACCEPT_WAT);
    let looping = wasm(LOOP_WAT);
    let trapping = wasm(TRAP_WAT);

    // Lock 50 AIC under each script (three independent dev accounts).
    let mut locked = Vec::new();
    for (i, script) in [(3u32, &accept), (5, &looping), (6, &trapping)] {
        let lock = transfer(
            &p(),
            &dev_account_key(i),
            g.out_point(i),
            genesis_coin(),
            Address::Script(script.hash()),
            50 * AIC,
        );
        node.call("aether_sendTransaction", json!([tx_hex(&lock)]))
            .unwrap();
        assert_eq!(
            node.wait_receipt(&lock.id().to_string())["status"],
            "success"
        );
        locked.push(OutPoint::new(lock.id(), 0));
    }

    // The accepting script's output is spent, paying dev 4.
    let spend = script_spend(
        &p(),
        &accept,
        locked[0],
        50 * AIC,
        &dev_account_key(4),
        g.out_point(4),
        genesis_coin(),
    );
    node.call("aether_sendTransaction", json!([tx_hex(&spend)]))
        .unwrap();
    let r = node.wait_receipt(&spend.id().to_string());
    assert_eq!(r["status"], "success");
    assert!(r["fuelUsed"].as_u64().unwrap() > 0);
    assert_eq!(balance(&node, &format!("script:{}", accept.hash())), 0);

    // Looping and trapping scripts are refused at admission with their
    // code; nothing enters the pool, the outputs stay locked.
    for (script, out) in [(&looping, locked[1]), (&trapping, locked[2])] {
        let bad = script_spend(
            &p(),
            script,
            out,
            50 * AIC,
            &dev_account_key(7),
            g.out_point(7),
            genesis_coin(),
        );
        let e = node
            .call("aether_sendTransaction", json!([tx_hex(&bad)]))
            .unwrap_err();
        assert_eq!(e["code"], 1014, "{e}");
        assert_eq!(node.status()["mempool"]["txs"], 0);
        assert_eq!(
            balance(&node, &format!("script:{}", script.hash())),
            50 * AIC
        );
    }
    node.stop();
}

#[test]
fn bad_rpc_input_gets_clear_errors_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("data"), &NodeOptions::default());
    let g = dev_genesis();
    let dev2 = format!("key:{}", dev_account_key(2).key_hash());
    let before = balance(&node, &dev2);

    // Malformed JSON.
    let (_, body) = raw_post(&node.rpc_url, b"{\"jsonrpc\": \"2.0\", \"method\": ").unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32700);
    // Wrong parameter types.
    let e = node.call("aether_getBalance", json!([42])).unwrap_err();
    assert_eq!(e["code"], -32602);
    let e = node
        .call("aether_getBlockByNumber", json!([{"x": 1}]))
        .unwrap_err();
    assert_eq!(e["code"], -32602);
    let e = node
        .call("aether_sendTransaction", json!(["zz"]))
        .unwrap_err();
    assert_eq!(e["code"], -32602);
    // Unknown method.
    let e = node.call("aether_mine", json!([])).unwrap_err();
    assert_eq!(e["code"], -32601);
    // Oversize body: refused before parsing.
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"aether_sendTransaction\",\"params\":[\"{}\"]}}",
        "00".repeat(1 << 20)
    );
    let (status, _) = raw_post(&node.rpc_url, huge.as_bytes()).unwrap();
    assert_eq!(status, 413);
    // Garbage transaction bytes.
    let e = node
        .call("aether_sendTransaction", json!(["00ff00ff"]))
        .unwrap_err();
    assert_eq!(e["code"], 1001);
    // An invalid signature.
    let mut forged = transfer(
        &p(),
        &dev_account_key(2),
        g.out_point(2),
        genesis_coin(),
        Address::Key(KeyHash([1; 32])),
        AIC,
    );
    forged.witnesses.vkeys[0].signature.0[5] ^= 1;
    let e = node
        .call("aether_sendTransaction", json!([tx_hex(&forged)]))
        .unwrap_err();
    assert_eq!(e["code"], 1007, "{e}");
    // A double spend: the first wins, the second is refused.
    let first = transfer(
        &p(),
        &dev_account_key(2),
        g.out_point(2),
        genesis_coin(),
        Address::Key(KeyHash([1; 32])),
        AIC,
    );
    let second = transfer(
        &p(),
        &dev_account_key(2),
        g.out_point(2),
        genesis_coin(),
        Address::Key(KeyHash([2; 32])),
        AIC,
    );
    node.call("aether_sendTransaction", json!([tx_hex(&first)]))
        .unwrap();
    let e = node
        .call("aether_sendTransaction", json!([tx_hex(&second)]))
        .unwrap_err();
    assert_eq!(e["code"], 1011, "{e}");
    node.wait_receipt(&first.id().to_string());
    // After inclusion, the same spend is a missing input.
    let e = node
        .call("aether_sendTransaction", json!([tx_hex(&second)]))
        .unwrap_err();
    assert_eq!(e["code"], 1013, "{e}");
    // Only the first transfer changed anything.
    let fee = first.body.fee;
    assert_eq!(balance(&node, &dev2), before - AIC - fee);
    assert!(
        node.call("aether_getReceipt", json!([second.id().to_string()]))
            .unwrap()
            .is_null()
    );
    assert_eq!(node.status()["mempool"]["txs"], 0);

    // The CLI turns bad input into exit status 2 and node refusals into 1.
    let out = node.cli(&[
        "tx",
        "transfer",
        "--from-dev",
        "0",
        "--to",
        "key:00",
        "--amount",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = node.cli(&[
        "tx",
        "transfer",
        "--from-dev",
        "0",
        "--to",
        &dev2,
        "--amount",
        "1.0000000001",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = node.cli(&["query", "tx", &"ab".repeat(32)]);
    assert_eq!(out.status.code(), Some(1));
    let nobody = dir.path().join("nobody.key");
    std::fs::write(&nobody, "11".repeat(32)).unwrap();
    let out = node.cli(&[
        "tx",
        "transfer",
        "--from",
        nobody.to_str().unwrap(),
        "--to",
        &dev2,
        "--amount",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("insufficient funds"));
    node.stop();
}

#[test]
fn a_restarted_node_keeps_its_chain_and_refuses_another_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = NodeProcess::start(&data, &NodeOptions::default());
    let to = format!("key:{}", dev_account_key(9).key_hash());
    let sent = node.cli_json(&[
        "tx",
        "transfer",
        "--from-dev",
        "8",
        "--to",
        &to,
        "--amount",
        "7",
    ]);
    let tx_id = sent["tx_id"].as_str().unwrap().to_string();
    let status = node.status();
    node.stop();

    let node = NodeProcess::start(&data, &NodeOptions::default());
    let again = node.status();
    assert!(again["height"].as_u64() >= status["height"].as_u64());
    let h = status["height"].as_u64().unwrap();
    let block = node.call("aether_getBlockByNumber", json!([h])).unwrap();
    assert_eq!(block["header"]["hash"], status["headHash"]);
    assert_eq!(node.wait_receipt(&tx_id)["status"], "success");
    node.wait_height(h + 3);
    node.stop();

    // Another genesis (3 dev accounts instead of 16) on the same data dir.
    let options = NodeOptions {
        extra: vec!["--dev-accounts".into(), "3".into()],
        ..NodeOptions::default()
    };
    let (node, ready) = NodeProcess::spawn(&data, &options);
    assert!(ready.is_err(), "a node started on another chain's data");
    let log = node.log_text();
    assert!(log.contains("holds another chain"), "{log}");
}

#[test]
fn metrics_are_exported_in_prometheus_format() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(
        &dir.path().join("data"),
        &NodeOptions {
            metrics: true,
            ..NodeOptions::default()
        },
    );
    let to = format!("key:{}", dev_account_key(1).key_hash());
    node.cli_json(&[
        "tx",
        "transfer",
        "--from-dev",
        "0",
        "--to",
        &to,
        "--amount",
        "1",
    ]);
    let text = http_get(node.metrics_url.as_ref().unwrap()).unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
    };
    assert!(value("aether_block_height") >= 1.0);
    assert_eq!(
        value("aether_block_height"),
        value("aether_finalized_height")
    );
    assert!(value("aether_txs_committed_total") >= 1.0);
    assert!(value("aether_blocks_committed_total") >= 1.0);
    assert_eq!(value("aether_mempool_txs"), 0.0);
    assert!(value("aether_block_commit_seconds_count") >= 1.0);
    for cf in ["blocks", "utxos", "meta"] {
        assert!(
            text.contains(&format!("aether_rocksdb_live_data_bytes{{cf=\"{cf}\"}}")),
            "{cf} missing\n{text}"
        );
    }
    node.stop();
}

#[test]
fn a_node_runs_from_a_config_file_with_its_own_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let validator = dir.path().join("validator.key");
    let out = aether()
        .args(["keys", "new", "--out"])
        .arg(&validator)
        .output()
        .unwrap();
    assert!(out.status.success());
    let alice_file = dir.path().join("alice.key");
    let alice: Value = serde_json::from_slice(
        &aether()
            .args(["--json", "keys", "new", "--out"])
            .arg(&alice_file)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let alice_addr = alice["address"].as_str().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "block_time_ms = 50\n[genesis]\nchain_id = 777\nvalidator_key_file = \"validator.key\"\n\
             [[genesis.allocations]]\naddress = \"{alice_addr}\"\ncoin = \"{}\"\n",
            100 * AIC
        ),
    )
    .unwrap();
    let node = NodeProcess::start(
        &dir.path().join("data"),
        &NodeOptions {
            config: Some(config),
            ..NodeOptions::default()
        },
    );
    let status = node.status();
    assert_eq!(status["chainId"], 777);
    // No dev accounts on this chain; alice holds the only allocation.
    assert_eq!(
        balance(&node, &format!("key:{}", dev_account_key(0).key_hash())),
        0
    );
    assert_eq!(balance(&node, alice_addr), 100 * AIC);
    let to = format!("key:{}", KeyHash([5; 32]));
    let sent = node.cli_json(&[
        "tx",
        "transfer",
        "--from",
        alice_file.to_str().unwrap(),
        "--to",
        &to,
        "--amount",
        "2",
    ]);
    assert_eq!(sent["receipt"]["status"], "success");
    assert_eq!(balance(&node, &to), 2 * AIC);
    node.stop();
}
