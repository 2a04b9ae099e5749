//! The CLI against the in-memory test chain of `aether-rpc` (feature
//! `testing`): the chain serves the node's Jellyfish state root, so `aether
//! query proof` verifies its proofs exactly as it verifies a real node's,
//! and `aether tx transfer` builds from its `aether_getParams`.

mod common;

use aether_rpc::testing::{MemoryChain, MemoryChainConfig, genesis_out_point};
use aether_types::{BASE_UNITS_PER_AIC as AIC, KeyHash};
use common::aether;
use serde_json::Value;

async fn cli_json(rpc: &str, args: &[&str]) -> Value {
    let mut all = vec!["--rpc", rpc, "--json"];
    all.extend_from_slice(args);
    let all: Vec<String> = all.into_iter().map(String::from).collect();
    let out = tokio::task::spawn_blocking(move || aether().args(&all).output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "aether {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_of_the_memory_chain_verify_in_the_cli() {
    let chain = MemoryChain::new(MemoryChainConfig::default());
    let server = aether_rpc::RpcServer::start("127.0.0.1:0".parse().unwrap(), chain.backend())
        .await
        .unwrap();
    let rpc = server.http_url();

    let to = format!("key:{}", KeyHash([0x42; 32]));
    let sent = cli_json(
        &rpc,
        &[
            "tx",
            "transfer",
            "--from-dev",
            "0",
            "--to",
            &to,
            "--amount",
            "2.5",
            "--no-wait",
        ],
    )
    .await;
    let tx_id = sent["tx_id"].as_str().unwrap().to_string();
    let block = chain.produce_block();
    assert_eq!(block.transactions.len(), 1);
    assert_eq!(block.transactions[0].id().to_string(), tx_id);
    assert_eq!(
        block.transactions[0].body.fee.to_string(),
        sent["fee"].as_str().unwrap()
    );

    let status = cli_json(&rpc, &["query", "status"]).await;
    assert_eq!(status["stateRoot"], chain.state_root().to_string());
    assert_eq!(status["stateRoot"], block.header.state_root.to_string());

    // The new output: an inclusion proof the CLI verifies against the header.
    let proof = cli_json(&rpc, &["query", "proof", &format!("{tx_id}#0")]).await;
    assert_eq!(proof["verified"], true);
    assert_eq!(proof["exists"], true);
    assert_eq!(proof["output"]["address"], to.as_str());
    assert_eq!(proof["output"]["coin"], (5 * AIC / 2).to_string());
    assert_eq!(
        proof["header_state_root"],
        block.header.state_root.to_string()
    );
    // The spent genesis output and a never-created one: exclusion proofs.
    for absent in [genesis_out_point(0).to_string(), format!("{tx_id}#7")] {
        let proof = cli_json(&rpc, &["query", "proof", &absent]).await;
        assert_eq!(proof["verified"], true, "{absent}");
        assert_eq!(proof["exists"], false, "{absent}");
    }
    server.stop();
}
