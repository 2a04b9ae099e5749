//! Every bad request gets a JSON-RPC error with its documented code and
//! changes nothing: malformed JSON, invalid requests, unknown methods,
//! wrong parameter types, oversize bodies, oversize batches, too many
//! connections, and every way a transaction can be refused.

mod common;

use aether_rpc::codes;
use aether_rpc::testing::*;
use aether_types::BASE_UNITS_PER_AIC as AIC;
use aether_types::*;
use common::*;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::rpc_params;
use serde_json::{Value, json};

fn params() -> aether_ledger::ProtocolParams {
    aether_ledger::ProtocolParams::dev()
}

fn coin() -> u128 {
    MemoryChainConfig::default().coin_per_account
}

/// Sends a raw body, checks the HTTP status and the JSON-RPC error code,
/// and that the node is unchanged.
async fn expect_raw(node: &Node, body: &[u8], http_status: u16, code: i32) -> Value {
    let http = node.http();
    let before = snapshot(&http).await;
    let response = raw_post(node.addr(), body).await;
    assert_eq!(response.status, http_status, "body: {}", response.body);
    assert_eq!(
        response.error_code(),
        i64::from(code),
        "body: {}",
        response.body
    );
    assert_eq!(snapshot(&http).await, before, "state changed");
    response.json()
}

/// Calls a method through the client, expects error `code`, and checks
/// the node is unchanged. Returns the error's data.
async fn expect_error(node: &Node, method: &str, params: ArrayParams, code: i32) -> Value {
    let http = node.http();
    let before = snapshot(&http).await;
    let err = call(&http, method, params)
        .await
        .expect_err("call must fail");
    assert_eq!(err.code(), code, "{method}: {err:?}");
    assert!(!err.message().is_empty());
    assert_eq!(snapshot(&http).await, before, "state changed by {method}");
    err.data()
        .map(|d| serde_json::from_str(d.get()).unwrap())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_invalid_requests() {
    let node = Node::start().await;
    expect_raw(
        &node,
        br#"{"jsonrpc":"2.0","method":"aether_status","#,
        200,
        codes::PARSE_ERROR,
    )
    .await;
    expect_raw(&node, b"\xff\xfe not json", 400, codes::PARSE_ERROR).await;
    // Not starting with `{` or `[`: HTTP 400 and a parse error.
    expect_raw(&node, br#""just a string""#, 400, codes::PARSE_ERROR).await;
    expect_raw(&node, b"", 400, codes::PARSE_ERROR).await;
    // JSON with an id, but not a request object: invalid request, id echoed.
    let r = expect_raw(
        &node,
        br#"{"hello":"world","id":3}"#,
        200,
        codes::INVALID_REQUEST,
    )
    .await;
    assert_eq!(r["id"], 3);
    // Without an id nothing can be echoed: a parse error.
    expect_raw(&node, br#"{"hello":"world"}"#, 200, codes::PARSE_ERROR).await;
    expect_raw(
        &node,
        br#"{"jsonrpc":"1.0","method":"aether_status","id":1}"#,
        200,
        codes::INVALID_REQUEST,
    )
    .await;
    expect_raw(
        &node,
        br#"{"jsonrpc":"2.0","method":"aether_nope","params":[],"id":1}"#,
        200,
        codes::METHOD_NOT_FOUND,
    )
    .await;
    expect_raw(
        &node,
        br#"{"jsonrpc":"2.0","method":"eth_sendRawTransaction","params":["0x00"],"id":1}"#,
        200,
        codes::METHOD_NOT_FOUND,
    )
    .await;
    // Wrong parameter types and counts.
    for (method, params) in [
        ("aether_getBlockByNumber", json!([{"height": 1}])),
        ("aether_getBlockByNumber", json!([-1])),
        ("aether_getBlockByNumber", json!([1.5])),
        ("aether_getBlockByNumber", json!([])),
        ("aether_sendTransaction", json!([123])),
        ("aether_sendTransaction", json!([])),
        ("aether_getUtxos", json!(["key:00", "ten"])),
        ("aether_getStateProof", json!([{"txId": 5, "index": 0}])),
        ("aether_getBlockByHash", json!(["00", "yes"])),
    ] {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 7});
        let response = expect_raw(
            &node,
            body.to_string().as_bytes(),
            200,
            codes::INVALID_PARAMS,
        )
        .await;
        assert_eq!(response["id"], 7);
    }
    // A request id is echoed on success too: the server is still healthy.
    let ok = raw_post(
        node.addr(),
        br#"{"jsonrpc":"2.0","method":"aether_status","params":[],"id":"x"}"#,
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["id"], "x");
    assert_eq!(ok.json()["result"]["height"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_parameter_values() {
    let node = Node::start().await;
    let p = codes::INVALID_PARAMS;
    let data = expect_error(&node, "aether_getTransaction", rpc_params!["xyz"], p).await;
    assert_eq!(
        data,
        json!({"kind": "InvalidParams", "param": "transaction id"})
    );
    expect_error(&node, "aether_getReceipt", rpc_params!["ab".repeat(31)], p).await;
    expect_error(
        &node,
        "aether_getBlockByHash",
        rpc_params!["zz".repeat(32)],
        p,
    )
    .await;
    expect_error(&node, "aether_getBlockByNumber", rpc_params!["newest"], p).await;
    expect_error(
        &node,
        "aether_getBlockByNumber",
        rpc_params!["99999999999999999999999"],
        p,
    )
    .await;
    expect_error(&node, "aether_getBalance", rpc_params!["alice"], p).await;
    expect_error(
        &node,
        "aether_getUtxos",
        rpc_params![format!("key:{}", "0".repeat(63))],
        p,
    )
    .await;
    expect_error(&node, "aether_getStateProof", rpc_params!["abc#1"], p).await;
    expect_error(
        &node,
        "aether_getStateProof",
        rpc_params![format!("{}#x", "00".repeat(32))],
        p,
    )
    .await;
    expect_error(&node, "aether_sendTransaction", rpc_params!["not hex"], p).await;
    expect_error(&node, "aether_sendTransaction", rpc_params!["abc"], p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_and_batch_limits() {
    let node = Node::start().await;
    // Body over the 1 MiB limit: HTTP 413 with the JSON-RPC error.
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"aether_sendTransaction","params":["{}"],"id":1}}"#,
        "00".repeat(600 * 1024)
    );
    assert!(big.len() > 1024 * 1024);
    expect_raw(&node, big.as_bytes(), 413, codes::REQUEST_TOO_LARGE).await;
    // A batch at the limit (4) is served; one over is refused whole.
    let call =
        |id: u32| json!({"jsonrpc": "2.0", "method": "aether_status", "params": [], "id": id});
    let four: Vec<Value> = (0..4).map(call).collect();
    let response = raw_post(node.addr(), Value::from(four).to_string().as_bytes()).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json().as_array().unwrap().len(), 4);
    let five: Vec<Value> = (0..5).map(call).collect();
    expect_raw(
        &node,
        Value::from(five).to_string().as_bytes(),
        200,
        codes::BATCH_TOO_LARGE,
    )
    .await;
    // A batch with one bad call answers the others.
    let mixed = json!([call(1), {"jsonrpc": "2.0", "method": "nope", "id": 2}]);
    let response = raw_post(node.addr(), mixed.to_string().as_bytes())
        .await
        .json();
    let codes_by_id: Vec<(i64, Option<i64>)> = response
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["error"]["code"].as_i64()))
        .collect();
    assert!(codes_by_id.contains(&(1, None)));
    assert!(codes_by_id.contains(&(2, Some(i64::from(codes::METHOD_NOT_FOUND)))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit() {
    let node = Node::start_with(
        MemoryChainConfig::default(),
        aether_rpc::RpcConfig {
            max_connections: 1,
            ..test_config()
        },
    )
    .await;
    let ws = node.ws().await;
    call(&ws, "aether_status", rpc_params![]).await.unwrap();
    // The only slot is taken: HTTP answers 429 Too Many Requests.
    let response = raw_post(
        node.addr(),
        br#"{"jsonrpc":"2.0","method":"aether_status","params":[],"id":1}"#,
    )
    .await;
    assert_eq!(response.status, 429);
    drop(ws);
    // The slot frees up once the WebSocket closes.
    let mut served = false;
    for _ in 0..50 {
        let r = raw_post(
            node.addr(),
            br#"{"jsonrpc":"2.0","method":"aether_status","params":[],"id":1}"#,
        )
        .await;
        if r.status == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(served, "connection slot never freed");
}

const REJECT_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 0))"#;

const LOOP_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) (loop $l (br $l)) i32.const 1))"#;

fn wasm(source: &str) -> Script {
    Script::Wasm(WasmCode::new(wat::parse_str(source).unwrap()).unwrap())
}

fn send(tx: &Transaction) -> ArrayParams {
    rpc_params![tx_hex(tx)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_transactions_get_their_codes_and_change_nothing() {
    let node = Node::start().await;
    let http = node.http();
    let p = params();
    let good = transfer(
        &p,
        &dev_key(0),
        genesis_out_point(0),
        coin(),
        dev_address(1),
        AIC,
    );

    // Not a transaction.
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        rpc_params!["00010203"],
        codes::INVALID_ENCODING,
    )
    .await;
    assert_eq!(data["kind"], "InvalidEncoding");
    let bytes = good.encode();
    expect_error(
        &node,
        "aether_sendTransaction",
        rpc_params![hex::encode(&bytes[..bytes.len() - 1])],
        codes::INVALID_ENCODING,
    )
    .await;
    let mut trailing = bytes.clone();
    trailing.push(0);
    expect_error(
        &node,
        "aether_sendTransaction",
        rpc_params![hex::encode(trailing)],
        codes::INVALID_ENCODING,
    )
    .await;
    // Over the protocol size (128 KiB) and over the codec bound (256 KiB).
    expect_error(
        &node,
        "aether_sendTransaction",
        rpc_params![hex::encode(vec![0u8; 130 * 1024])],
        codes::TX_TOO_LARGE,
    )
    .await;
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        rpc_params![hex::encode(vec![0u8; 300 * 1024])],
        codes::TX_TOO_LARGE,
    )
    .await;
    assert_eq!(data["kind"], "TooLarge");

    // Invalid signature.
    let mut bad_sig = good.clone();
    bad_sig.witnesses.vkeys[0].signature.0[0] ^= 1;
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&bad_sig),
        codes::INVALID_SIGNATURE,
    )
    .await;
    assert_eq!(data, json!({"kind": "InvalidSignature", "witness": 0}));
    // Signed by the wrong key (valid signature, not the owner's).
    let thief = transfer(
        &p,
        &dev_key(1),
        genesis_out_point(0),
        coin(),
        dev_address(1),
        AIC,
    );
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&thief),
        codes::LEDGER_RULE,
    )
    .await;
    assert_eq!(data["kind"], "MissingSignature");
    // Fee too low.
    let mut cheap = good.clone();
    cheap.body.fee -= 1;
    cheap.body.outputs[1].value.coin += 1;
    cheap.witnesses = TxWitnesses::default();
    cheap.witnesses.insert_vkey(dev_key(0).sign_tx(&cheap.body));
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&cheap),
        codes::FEE_TOO_LOW,
    )
    .await;
    assert_eq!(data["kind"], "FeeTooLow");
    assert_eq!(data["min"], good.body.fee.to_string());
    // Value not conserved (outputs exceed inputs).
    let mut body = empty_body(&p);
    body.inputs.insert(genesis_out_point(0));
    body.outputs.push(TxOutput::coin(dev_address(0), coin()));
    let inflating = finish_transaction(&p, body, &[&dev_key(0)], vec![], 0, |_, _| {});
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&inflating),
        codes::LEDGER_RULE,
    )
    .await;
    assert_eq!(data["kind"], "ValueNotConserved");
    // Wrong chain.
    let mut body = good.body.clone();
    body.chain_id = ChainId(1);
    let other_chain = finish_transaction(&p, body, &[&dev_key(0)], vec![], 0, |_, _| {});
    expect_error(
        &node,
        "aether_sendTransaction",
        send(&other_chain),
        codes::WRONG_CHAIN,
    )
    .await;
    // Missing input.
    let ghost = transfer(
        &p,
        &dev_key(0),
        OutPoint::new(TxId([9; 32]), 0),
        coin(),
        dev_address(1),
        AIC,
    );
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&ghost),
        codes::MISSING_INPUT,
    )
    .await;
    assert_eq!(data["kind"], "MissingInput");
    // Expired.
    let mut body = good.body.clone();
    body.validity.invalid_hereafter = Some(1);
    let expired = finish_transaction(&p, body, &[&dev_key(0)], vec![], 0, |_, _| {});
    expect_error(
        &node,
        "aether_sendTransaction",
        send(&expired),
        codes::OUTSIDE_VALIDITY_INTERVAL,
    )
    .await;

    // Double spend inside the pool, and resubmission.
    call(&http, "aether_sendTransaction", send(&good))
        .await
        .unwrap();
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&good),
        codes::ALREADY_KNOWN,
    )
    .await;
    assert_eq!(data["txId"], good.id().to_string());
    let rival = transfer(
        &p,
        &dev_key(0),
        genesis_out_point(0),
        coin(),
        dev_address(2),
        2 * AIC,
    );
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&rival),
        codes::DOUBLE_SPEND,
    )
    .await;
    assert_eq!(data["input"], genesis_out_point(0).to_string());
    assert_eq!(data["pooledTx"], good.id().to_string());
    // Double spend of an output already spent on chain.
    node.chain.produce_block();
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&rival),
        codes::MISSING_INPUT,
    )
    .await;
    assert_eq!(data["kind"], "MissingInput");

    // Scripts that reject or loop: refused, collateral untouched.
    for (source, failure) in [
        (REJECT_WAT, json!({"kind": "rejected", "code": 0})),
        (LOOP_WAT, json!({"kind": "outOfFuel"})),
    ] {
        let script = wasm(source);
        let funder = if failure["kind"] == "rejected" { 3 } else { 5 };
        let lock = transfer(
            &p,
            &dev_key(funder),
            genesis_out_point(funder),
            coin(),
            Address::Script(script.hash()),
            10 * AIC,
        );
        call(&http, "aether_sendTransaction", send(&lock))
            .await
            .unwrap();
        node.chain.produce_block();
        let locked = OutPoint::new(lock.id(), 0);
        let spend = script_spend(
            &p,
            &script,
            locked,
            10 * AIC,
            &dev_key(4),
            genesis_out_point(4),
            coin(),
        );
        let data = expect_error(
            &node,
            "aether_sendTransaction",
            send(&spend),
            codes::SCRIPT_FAILED,
        )
        .await;
        assert_eq!(data["failure"], failure);
        assert_eq!(
            data["purpose"],
            json!({"kind": "spend", "outPoint": {"txId": lock.id().to_string(), "index": 0}})
        );
        assert!(node.chain.utxo(&locked).is_some());
        assert!(node.chain.utxo(&genesis_out_point(4)).is_some());
    }
    assert_eq!(node.chain.mempool_len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_mempool_refuses_low_fee_rates() {
    let node = Node::start_with(
        MemoryChainConfig {
            mempool: aether_mempool::MempoolConfig {
                max_txs: 1,
                max_bytes: 1 << 20,
            },
            ..MemoryChainConfig::default()
        },
        test_config(),
    )
    .await;
    let http = node.http();
    let p = params();
    let first = transfer(
        &p,
        &dev_key(0),
        genesis_out_point(0),
        coin(),
        dev_address(1),
        AIC,
    );
    call(&http, "aether_sendTransaction", send(&first))
        .await
        .unwrap();
    let second = transfer(
        &p,
        &dev_key(1),
        genesis_out_point(1),
        coin(),
        dev_address(2),
        AIC,
    );
    let data = expect_error(
        &node,
        "aether_sendTransaction",
        send(&second),
        codes::MEMPOOL_FULL,
    )
    .await;
    assert_eq!(data["kind"], "MempoolFull");
    // A higher fee rate evicts the first.
    let mut body = second.body.clone();
    body.outputs[1].value.coin -= 1_000_000;
    let richer = finish_transaction(&p, body, &[&dev_key(1)], vec![], 1_000_000, |b, _| {
        b.outputs[1].value.coin = coin() - AIC - b.fee;
    });
    call(&http, "aether_sendTransaction", send(&richer))
        .await
        .unwrap();
    assert_eq!(
        call(
            &http,
            "aether_getTransaction",
            rpc_params![first.id().to_string()]
        )
        .await
        .unwrap(),
        Value::Null
    );
}

/// A backend whose storage always fails.
struct BrokenStorage;

impl aether_rpc::ChainReader for BrokenStorage {
    fn status(&self) -> Result<aether_rpc::ChainStatus, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn block_by_height(
        &self,
        _: u64,
    ) -> Result<Option<std::sync::Arc<Block>>, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn block_by_hash(
        &self,
        _: &BlockHash,
    ) -> Result<Option<std::sync::Arc<Block>>, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn transaction(
        &self,
        _: &TxId,
    ) -> Result<Option<(Transaction, aether_rpc::TxLocation)>, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn receipt(
        &self,
        _: &TxId,
    ) -> Result<Option<(Receipt, aether_rpc::TxLocation)>, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn utxos_by_address(
        &self,
        _: &Address,
        _: usize,
    ) -> Result<aether_rpc::AddressUtxos, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn balance(&self, _: &Address) -> Result<aether_rpc::AddressBalance, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn state_proof(
        &self,
        _: &OutPoint,
    ) -> Result<aether_rpc::StateProof, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
    fn tx_params(&self) -> Result<TxParams, aether_rpc::BackendError> {
        Err(aether_rpc::BackendError::new("disk on fire"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_failures_report_backend_unavailable() {
    let chain = MemoryChain::new(MemoryChainConfig::default());
    let mut backend = chain.backend();
    backend.chain = std::sync::Arc::new(BrokenStorage);
    let server = aether_rpc::RpcServer::start("127.0.0.1:0".parse().unwrap(), backend)
        .await
        .unwrap();
    let http = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(server.http_url())
        .unwrap();
    for (method, params) in [
        ("aether_status", rpc_params![]),
        ("aether_getBlockByNumber", rpc_params!["latest"]),
        ("aether_getBalance", rpc_params![address_text(0)]),
        (
            "aether_getStateProof",
            rpc_params![genesis_out_point(0).to_string()],
        ),
        ("aether_getParams", rpc_params![]),
    ] {
        let err = call(&http, method, params).await.unwrap_err();
        assert_eq!(err.code(), codes::BACKEND_UNAVAILABLE, "{method}");
        assert!(err.message().contains("disk on fire"));
    }
    server.stop();
    server.stopped().await;
}
