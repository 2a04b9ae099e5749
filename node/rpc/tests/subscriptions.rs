//! Head subscriptions over WebSocket: new heads arrive for every block,
//! finalized heads lag by the finality depth, unsubscribing works, and
//! the per-connection subscription limit answers with its code.

mod common;

use aether_rpc::codes;
use common::*;
use jsonrpsee::core::client::{Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_and_finalized_heads_stream() {
    let node = Node::start().await; // finality depth 2
    let ws = node.ws().await;
    let mut heads: Subscription<Value> = ws
        .subscribe(
            "aether_subscribeNewHeads",
            rpc_params![],
            "aether_unsubscribeNewHeads",
        )
        .await
        .unwrap();
    let mut finals: Subscription<Value> = ws
        .subscribe(
            "aether_subscribeFinalizedHeads",
            rpc_params![],
            "aether_unsubscribeFinalizedHeads",
        )
        .await
        .unwrap();
    let blocks: Vec<_> = (0..4).map(|_| node.chain.produce_block()).collect();
    for block in &blocks {
        let head = next_item(&mut heads).await;
        assert_eq!(head["height"], block.header.height);
        assert_eq!(head["hash"], block.hash().to_string());
        assert_eq!(head["stateRoot"], block.header.state_root.to_string());
        assert_eq!(head["consensus"]["kind"], "singleValidator");
    }
    // Blocks 1 and 2 became final when blocks 3 and 4 were produced.
    for block in &blocks[..2] {
        let head = next_item(&mut finals).await;
        assert_eq!(head["height"], block.header.height);
        assert_eq!(head["hash"], block.hash().to_string());
    }
    heads.unsubscribe().await.unwrap();
    // The other subscription still runs.
    let block = node.chain.produce_block();
    let head = next_item(&mut finals).await;
    assert_eq!(head["height"], block.header.height - 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_limit_per_connection() {
    let node = Node::start().await; // 2 subscriptions per connection
    let ws = node.ws().await;
    let _a: Subscription<Value> = ws
        .subscribe(
            "aether_subscribeNewHeads",
            rpc_params![],
            "aether_unsubscribeNewHeads",
        )
        .await
        .unwrap();
    let _b: Subscription<Value> = ws
        .subscribe(
            "aether_subscribeNewHeads",
            rpc_params![],
            "aether_unsubscribeNewHeads",
        )
        .await
        .unwrap();
    let third = ws
        .subscribe::<Value, _>(
            "aether_subscribeFinalizedHeads",
            rpc_params![],
            "aether_unsubscribeFinalizedHeads",
        )
        .await;
    match third {
        Err(ClientError::Call(e)) => assert_eq!(e.code(), codes::TOO_MANY_SUBSCRIPTIONS),
        other => panic!("expected the subscription limit, got {other:?}"),
    }
    // Another connection has its own budget.
    let ws2 = node.ws().await;
    let mut c: Subscription<Value> = ws2
        .subscribe(
            "aether_subscribeNewHeads",
            rpc_params![],
            "aether_unsubscribeNewHeads",
        )
        .await
        .unwrap();
    let block = node.chain.produce_block();
    assert_eq!(next_item(&mut c).await["hash"], block.hash().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_need_websocket() {
    let node = Node::start().await;
    let response = raw_post(
        node.addr(),
        br#"{"jsonrpc":"2.0","method":"aether_subscribeNewHeads","params":[],"id":1}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    let code = response.error_code();
    assert_eq!(
        code,
        i64::from(codes::SUBSCRIPTION_NEEDS_WEBSOCKET),
        "{}",
        response.body
    );
    assert_eq!(response.json()["id"], 1);
    let unsub = raw_post(
        node.addr(),
        br#"{"jsonrpc":"2.0","method":"aether_unsubscribeNewHeads","params":[1],"id":2}"#,
    )
    .await;
    assert_eq!(
        unsub.error_code(),
        i64::from(codes::SUBSCRIPTION_NEEDS_WEBSOCKET),
        "{}",
        unsub.body
    );
}
