//! The client against the real JSON-RPC server over the in-memory chain
//! (`aether-rpc`, feature `testing`): every typed call, a transfer built
//! from the chain's parameters and coins, receipts, head subscriptions,
//! proofs checked with the node's verifier, the blocking wrapper, and each
//! kind of error.

use aether_client::rpc::dto::TxInclusion;
use aether_client::{BlockingClient, ClientConfig, ClientError, RpcClient, TxBuilder};
use aether_ledger::ProtocolParams;
use aether_rpc::testing::{
    MemoryChain, MemoryChainConfig, dev_address, dev_key, genesis_out_point,
};
use aether_rpc::{RpcServer, RpcServerHandle, codes};
use aether_rpc_types::params::{BlockParam, BlockTag};
use aether_types::{Address, BASE_UNITS_PER_AIC as AIC, BlockHash, KeyHash, OutPoint, TxId};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Node {
    chain: Arc<MemoryChain>,
    server: RpcServerHandle,
}

impl Node {
    async fn start() -> Node {
        let chain = MemoryChain::new(MemoryChainConfig {
            finality_depth: 1,
            ..MemoryChainConfig::default()
        });
        let server = RpcServer::start("127.0.0.1:0".parse().unwrap(), chain.backend())
            .await
            .unwrap();
        Node { chain, server }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.stop();
    }
}

fn coin() -> u128 {
    MemoryChainConfig::default().coin_per_account
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_from_params_and_coins_is_sent_included_and_proven() {
    let node = Node::start().await;
    for url in [node.server.http_url(), node.server.ws_url()] {
        let client = RpcClient::connect(&url).await.unwrap();
        assert_eq!(client.url(), url);
        assert_eq!(client.is_websocket(), url.starts_with("ws"));
        assert_eq!(
            client.params().await.unwrap(),
            ProtocolParams::dev().tx_params()
        );
    }
    let client = RpcClient::connect(&node.server.http_url()).await.unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status.height, 0);
    assert_eq!(status.state_root, node.chain.state_root().to_string());

    // dev 0 pays bob 3 AIC: the coin is the genesis output.
    let from = dev_key(0);
    let bob = Address::Key(KeyHash([0xb0; 32]));
    let coins = client.spendable(&dev_address(0)).await.unwrap();
    assert_eq!(coins.len(), 1);
    assert_eq!(coins[0].out_point, genesis_out_point(0));
    assert_eq!(coins[0].value.coin, coin());
    let tx = client.build_transfer(&from, bob, 3 * AIC, 0).await.unwrap();
    let params = client.params().await.unwrap();
    assert_eq!(tx.body.fee, params.fees.min_fee_for(&tx).unwrap());
    let id = client.send_transaction(&tx).await.unwrap();
    assert_eq!(id, tx.id());
    let pending = client.transaction(&id).await.unwrap().unwrap();
    assert_eq!(pending.status, TxInclusion::Pending);
    assert_eq!(pending.parse_raw().unwrap(), tx);
    assert!(client.receipt(&id).await.unwrap().is_none());

    // The receipt appears once a block is produced while the client waits.
    let chain = Arc::clone(&node.chain);
    let producer = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        chain.produce_block()
    });
    let receipt = client
        .wait_for_receipt(&id, Duration::from_secs(10))
        .await
        .unwrap();
    let block = producer.await.unwrap();
    assert!(receipt.succeeded());
    assert_eq!(receipt.parse_tx_id().unwrap(), id);
    assert_eq!(receipt.fee_charged, tx.body.fee.to_string());
    assert_eq!(receipt.location.block_hash, block.hash().to_string());

    // Balances and blocks.
    let b = client.balance(&bob).await.unwrap();
    assert_eq!(b.coin, (3 * AIC).to_string());
    let sender = client.balance(&dev_address(0)).await.unwrap();
    assert_eq!(sender.coin, (coin() - 3 * AIC - tx.body.fee).to_string());
    let by_number = client.block_by_number(1, true).await.unwrap().unwrap();
    let by_tag = client
        .block_by_number(BlockTag::Latest, true)
        .await
        .unwrap()
        .unwrap();
    let by_hash = client
        .block_by_hash(&block.hash(), true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_number, by_tag);
    assert_eq!(by_number, by_hash);
    assert_eq!(by_number.header.parse_hash().unwrap(), block.hash());
    assert_eq!(by_number.transactions, vec![id.to_string()]);
    assert!(client.block_by_number(99, false).await.unwrap().is_none());
    assert!(
        client
            .block_by_hash(&BlockHash([1; 32]), false)
            .await
            .unwrap()
            .is_none()
    );
    let utxos = client.utxos(&bob, Some(10)).await.unwrap();
    assert_eq!(utxos.utxos.len(), 1);
    assert_eq!(
        utxos.utxos[0].out_point.parse().unwrap(),
        OutPoint::new(id, 0)
    );

    // Proofs of the new output and of the spent genesis output verify with
    // the node's own verifier against the header's state root.
    let root = by_number.header.parse_state_root().unwrap();
    for (op, exists) in [(OutPoint::new(id, 0), true), (genesis_out_point(0), false)] {
        let p = client.state_proof(&op).await.unwrap();
        assert_eq!(p.exists, exists);
        assert_eq!(p.proof.scheme, aether_storage::PROOF_SCHEME);
        let proof =
            aether_storage::StateProof::decode(&hex::decode(&p.proof.data).unwrap()).unwrap();
        let proven = aether_storage::verify_proof(&root, &op, &proof).unwrap();
        assert_eq!(proven.is_some(), exists);
        if exists {
            assert_eq!(proven, Some(&tx.body.outputs[0]));
        }
    }

    // The OpenRPC document lists the parameters method.
    let doc = client.discover().await.unwrap();
    assert!(
        doc["methods"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "aether_getParams")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_subscriptions_deliver_new_and_finalized_headers() {
    let node = Node::start().await;
    let ws = RpcClient::connect(&node.server.ws_url()).await.unwrap();
    let mut new_heads = ws.subscribe_new_heads().await.unwrap();
    let mut finalized = ws.subscribe_finalized_heads().await.unwrap();
    let b1 = node.chain.produce_block();
    let b2 = node.chain.produce_block();
    for expected in [&b1, &b2] {
        let h = tokio::time::timeout(Duration::from_secs(5), new_heads.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(h.height, expected.header.height);
        assert_eq!(h.parse_hash().unwrap(), expected.hash());
    }
    // Depth 1: block 1 is final once block 2 exists.
    let f = tokio::time::timeout(Duration::from_secs(5), finalized.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(f.height, 1);
    new_heads.unsubscribe().await.unwrap();
    finalized.unsubscribe().await.unwrap();

    // Over HTTP there are no subscriptions.
    let http = RpcClient::connect(&node.server.http_url()).await.unwrap();
    assert!(matches!(
        http.subscribe_new_heads().await,
        Err(ClientError::NeedsWebSocket { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_code_message_and_kind() {
    let node = Node::start().await;
    let client = RpcClient::connect(&node.server.http_url()).await.unwrap();
    let p = client.params().await.unwrap();
    let tx = client
        .build_transfer(&dev_key(1), dev_address(2), AIC, 0)
        .await
        .unwrap();
    client.send_transaction(&tx).await.unwrap();
    let again = client.send_transaction(&tx).await.unwrap_err();
    assert_eq!(again.code(), Some(codes::ALREADY_KNOWN));
    assert_eq!(again.kind().as_deref(), Some("AlreadyKnown"));
    assert!(
        again
            .to_string()
            .starts_with("the node refused aether_sendTransaction")
    );

    // A fee one below the minimum (built by hand), refused as FeeTooLow.
    let mut cheap = tx.clone();
    cheap.body.inputs = [genesis_out_point(3)].into();
    cheap.body.fee -= 1;
    cheap.body.outputs[1].value.coin += 1;
    cheap.body.outputs[1].address = dev_address(3);
    let cheap = aether_types::Transaction {
        witnesses: {
            let mut w = aether_types::TxWitnesses::default();
            w.insert_vkey(dev_key(3).sign_tx(&cheap.body));
            w
        },
        body: cheap.body,
    };
    let low = client.send_transaction(&cheap).await.unwrap_err();
    assert_eq!(low.code(), Some(codes::FEE_TOO_LOW));
    assert_eq!(low.kind().as_deref(), Some("FeeTooLow"));

    // Garbage and bad parameters.
    let garbage = client.send_raw_transaction("00ff").await.unwrap_err();
    assert_eq!(garbage.code(), Some(codes::INVALID_ENCODING));
    let bad = client
        .block_by_number(BlockParam::Tag("yesterday".into()), false)
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some(codes::INVALID_PARAMS));

    // Insufficient funds are a build error, before anything is sent.
    let poor = client
        .build_transfer(&dev_key(100), dev_address(0), AIC, 0)
        .await
        .unwrap_err();
    assert!(
        matches!(
            poor,
            ClientError::Build(aether_client::BuildError::InsufficientFunds { available: 0, .. })
        ),
        "{poor}"
    );
    // The builder works from the same parameters.
    assert!(TxBuilder::new(&p).pay(dev_address(0), 1).build().is_err());

    // A receipt that never comes.
    let missing = client
        .wait_for_receipt(&TxId([7; 32]), Duration::from_millis(250))
        .await
        .unwrap_err();
    assert!(matches!(missing, ClientError::NotIncluded { tx_id, .. } if tx_id == TxId([7; 32])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_timeout_and_decoding_failures_are_typed() {
    // Not a URL the client can use.
    assert!(matches!(
        RpcClient::connect("ftp://example.invalid").await,
        Err(ClientError::InvalidUrl { .. })
    ));
    // Nobody listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let client = RpcClient::connect(&format!("http://{closed}"))
        .await
        .unwrap();
    assert!(matches!(
        client.status().await,
        Err(ClientError::Transport { .. })
    ));
    assert!(matches!(
        RpcClient::connect(&format!("ws://{closed}")).await,
        Err(ClientError::Transport { .. })
    ));

    // A server that accepts and never answers: timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let client = RpcClient::connect_with(
        &format!("http://{silent_addr}"),
        ClientConfig {
            request_timeout: Duration::from_millis(300),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        client.status().await,
        Err(ClientError::Timeout {
            method: "aether_status",
            ..
        })
    ));

    // A server that answers with the wrong shape: decoding error.
    let liar = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let liar_addr = liar.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = liar.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                // Read the head and the body (Content-Length).
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            let request: serde_json::Value = serde_json::from_str(body).unwrap();
                            let answer = serde_json::json!({
                                "jsonrpc": "2.0", "id": request["id"], "result": {"height": "tall"}
                            })
                            .to_string();
                            let response = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                                answer.len()
                            );
                            let _ = socket.write_all(response.as_bytes()).await;
                            got.clear();
                        }
                    }
                }
            });
        }
    });
    let client = RpcClient::connect(&format!("http://{liar_addr}"))
        .await
        .unwrap();
    assert!(matches!(
        client.status().await,
        Err(ClientError::Decode {
            method: "aether_status",
            ..
        })
    ));
    assert!(matches!(
        client.params().await,
        Err(ClientError::Decode {
            method: "aether_getParams",
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_client_makes_the_same_calls() {
    let node = Node::start().await;
    let url = node.server.http_url();
    let chain = Arc::clone(&node.chain);
    let (tx, receipt, status) = tokio::task::spawn_blocking(move || {
        let client = BlockingClient::connect(&url).unwrap();
        let tx = client
            .build_transfer(&dev_key(4), dev_address(5), 2 * AIC, 1_000)
            .unwrap();
        let id = client.send_transaction(&tx).unwrap();
        chain.produce_block();
        let receipt = client
            .wait_for_receipt(&id, Duration::from_secs(5))
            .unwrap();
        (tx, receipt, client.status().unwrap())
    })
    .await
    .unwrap();
    let p = ProtocolParams::dev();
    assert_eq!(tx.body.fee, p.fees.min_fee_for(&tx).unwrap() + 1_000);
    assert!(receipt.succeeded());
    assert_eq!(status.height, 1);
    assert_eq!(status.state_root, node.chain.state_root().to_string());
    // Bad URLs fail the same way.
    let e = tokio::task::spawn_blocking(|| BlockingClient::connect("nonsense").unwrap_err())
        .await
        .unwrap();
    assert!(matches!(e, ClientError::InvalidUrl { .. }));
}
