//! `rpc.discover` returns an OpenRPC document whose method list is
//! exactly the server's registered methods, with resolvable schemas.

mod common;

use aether_rpc::testing::{MemoryChain, MemoryChainConfig};
use common::*;
use jsonrpsee::rpc_params;
use serde_json::Value;
use std::collections::BTreeSet;

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.insert(v.as_str().unwrap().to_string());
                }
                collect_refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_matches_registered_methods() {
    let chain = MemoryChain::new(MemoryChainConfig::default());
    let registered: BTreeSet<String> = aether_rpc::rpc_module(chain.backend(), test_config())
        .method_names()
        .map(str::to_string)
        .collect();

    let node = Node::start().await;
    let doc = call(&node.http(), "rpc.discover", rpc_params![])
        .await
        .unwrap();
    assert_eq!(doc["openrpc"], "1.3.2");
    let documented: BTreeSet<String> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    let mut expected = documented.clone();
    expected.insert("rpc.discover".to_string());
    assert_eq!(registered, expected, "OpenRPC document and server disagree");
    // And the library's list is the document's.
    let listed: BTreeSet<String> = aether_rpc::openrpc::method_names()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(listed, documented);

    // The contract names of the brief are all there.
    for name in [
        "aether_sendTransaction",
        "aether_getTransaction",
        "aether_getReceipt",
        "aether_getBlockByNumber",
        "aether_getBlockByHash",
        "aether_getUtxos",
        "aether_getBalance",
        "aether_getStateProof",
        "aether_getParams",
        "aether_status",
        "aether_subscribeNewHeads",
        "aether_unsubscribeNewHeads",
        "aether_subscribeFinalizedHeads",
        "aether_unsubscribeFinalizedHeads",
        "rpc.discover",
    ] {
        assert!(registered.contains(name), "{name} missing");
    }

    // Every $ref resolves into components.schemas.
    let mut refs = BTreeSet::new();
    collect_refs(&doc["methods"], &mut refs);
    collect_refs(&doc["components"], &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("foreign ref {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "unresolved {r}"
        );
    }
    // Results name real shapes: the status schema lists the status fields.
    let status = doc["components"]["schemas"]["StatusDto"]["properties"]
        .as_object()
        .unwrap();
    for field in ["height", "finalizedHeight", "stateRoot", "version"] {
        assert!(status.contains_key(field), "StatusDto lacks {field}");
    }
}

#[test]
fn the_shared_method_names_are_the_registered_methods() {
    // Clients call through `aether_rpc_types::methods`; the server must
    // register exactly those names.
    let chain = MemoryChain::new(MemoryChainConfig::default());
    let registered: BTreeSet<String> = aether_rpc::rpc_module(chain.backend(), test_config())
        .method_names()
        .map(str::to_string)
        .collect();
    let shared: BTreeSet<String> = aether_rpc::methods::ALL
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(registered, shared);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_result_shapes_match_live_results() {
    // The live status result has exactly the documented properties.
    let node = Node::start().await;
    let http = node.http();
    let doc = call(&http, "rpc.discover", rpc_params![]).await.unwrap();
    let status = call(&http, "aether_status", rpc_params![]).await.unwrap();
    let documented: BTreeSet<&String> = doc["components"]["schemas"]["StatusDto"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let required: BTreeSet<&String> = doc["components"]["schemas"]["StatusDto"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => panic!("required entry {other}"),
        })
        .collect();
    let live: BTreeSet<&String> = status.as_object().unwrap().keys().collect();
    // Every live property is documented; every required one is live (the
    // optional `consensus` object appears on multi-validator nodes only).
    assert!(live.is_subset(&documented), "{live:?} vs {documented:?}");
    assert!(required.is_subset(&live), "{required:?} vs {live:?}");
    let optional: BTreeSet<&&String> = documented.difference(&required).collect();
    assert_eq!(
        optional.into_iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["consensus"]
    );
}
