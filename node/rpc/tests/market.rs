//! The market's reads and its event subscription against the in-memory
//! chain: a provider registered and a WASM job posted by real transactions
//! are served by `aether_getProviders`, `aether_getProvider` and
//! `aether_getJob`; `aether_subscribeJobEvents` streams the job's events
//! (filtered by job id); bad ids are invalid parameters; unknown ids are
//! `null`; the measurement filter is checked.

mod common;

use aether_client::TxBuilder;
use aether_rpc::testing::{dev_address, dev_key, genesis_out_point};
use aether_types::{
    Action, Address, BASE_UNITS_PER_AIC as AIC, JobData, JobId, JobKind, PostJob, ProviderId,
    ProviderOffer, RegisterProvider, TeeKind, Transaction, TxOutput,
};
use common::*;
use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use serde_json::Value;
use std::time::Duration;

/// Dev account `i` spends its genesis output into `action`.
fn action_tx(node: &Node, i: u32, action: Action) -> Transaction {
    let params = node.chain.ledger().params();
    let owner = dev_address(i);
    TxBuilder::new(&params.tx_params())
        .input(
            genesis_out_point(i),
            &TxOutput::coin(
                owner,
                aether_rpc::testing::MemoryChainConfig::default().coin_per_account,
            ),
        )
        .action(action)
        .change_to(owner)
        .signer(&dev_key(i))
        .build()
        .expect("a dev account pays for one action")
}

async fn send(node: &Node, tx: &Transaction) {
    let id = call(
        &node.http(),
        "aether_sendTransaction",
        rpc_params![tx_hex(tx)],
    )
    .await
    .expect("accepted into the pool");
    assert_eq!(id, tx.id().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_jobs_and_job_events_are_served() {
    let node = Node::start().await;
    let http = node.http();
    let ws = node.ws().await;
    let mut all: Subscription<Value> = ws
        .subscribe(
            "aether_subscribeJobEvents",
            rpc_params![],
            "aether_unsubscribeJobEvents",
        )
        .await
        .unwrap();

    // A provider (dev account 1) serving WASM on SNP.
    let owner = dev_key(1);
    let worker = dev_key(2);
    let register = action_tx(
        &node,
        1,
        Action::RegisterProvider(RegisterProvider {
            owner: owner.key_hash(),
            offer: ProviderOffer {
                worker_key: worker.public_key(),
                payout: Address::Key(owner.key_hash()),
                tees: [TeeKind::Snp].into(),
                models: Default::default(),
                wasm: true,
                price: AIC,
                capacity: 2,
            },
            bond: 200 * AIC,
        }),
    );
    let provider = ProviderId::derive(&register.id(), 0);
    send(&node, &register).await;
    let block = node.chain.produce_block();
    assert_eq!(block.transactions.len(), 1);

    let providers = call(&http, "aether_getProviders", rpc_params![])
        .await
        .unwrap();
    assert_eq!(providers.as_array().unwrap().len(), 1, "{providers}");
    let p = call(
        &http,
        "aether_getProvider",
        rpc_params![provider.to_string()],
    )
    .await
    .unwrap();
    assert_eq!(p["id"], provider.to_string());
    assert_eq!(p["workerKey"], hex::encode(worker.public_key().0));
    assert_eq!(p["tees"], serde_json::json!(["snp"]));
    assert_eq!(p["price"], AIC.to_string());
    assert_eq!(p["activeJobs"], 0);

    // The registration's event reached the unfiltered subscription.
    let first = next_item(&mut all).await;
    assert_eq!(first["height"], block.header.height);
    let ev = &first["events"][0];
    assert_eq!(ev["txId"], register.id().to_string());
    assert_eq!(ev["event"]["type"], "providerRegistered");
    assert_eq!(ev["event"]["provider"], provider.to_string());

    // A WASM job (dev account 3), assigned to the only provider.
    let post = action_tx(
        &node,
        3,
        Action::PostJob(PostJob {
            client: dev_address(3),
            kind: JobKind::Wasm {
                module: JobData::inline(b"\0asm\x01\0\0\0".to_vec()).unwrap(),
                input: JobData::inline(b"input".to_vec()).unwrap(),
                fuel: 1_000_000,
            },
            tees: [TeeKind::Snp].into(),
            max_fee: 2 * AIC,
            deadline: 100,
        }),
    );
    let job = JobId::derive(&post.id(), 0);
    let mut this_job: Subscription<Value> = ws
        .subscribe(
            "aether_subscribeJobEvents",
            rpc_params![job.to_string()],
            "aether_unsubscribeJobEvents",
        )
        .await
        .unwrap();
    send(&node, &post).await;
    let block = node.chain.produce_block();

    let j = call(&http, "aether_getJob", rpc_params![job.to_string()])
        .await
        .unwrap();
    assert_eq!(j["id"], job.to_string());
    assert_eq!(j["status"], "assigned");
    assert_eq!(j["provider"], provider.to_string());
    assert_eq!(j["maxFee"], (2 * AIC).to_string());
    assert_eq!(j["deadline"], 100);
    assert_eq!(j["postedAt"], block.header.height);
    let p = call(
        &http,
        "aether_getProvider",
        rpc_params![provider.to_string()],
    )
    .await
    .unwrap();
    assert_eq!(p["activeJobs"], 1);

    for sub in [&mut all, &mut this_job] {
        let got = next_item(sub).await;
        assert_eq!(got["height"], block.header.height);
        let events = got["events"].as_array().unwrap();
        assert!(
            events.iter().any(|e| e["event"]["type"] == "jobAssigned"
                && e["event"]["job"] == job.to_string()
                && e["event"]["provider"] == provider.to_string()),
            "{got}"
        );
    }
    // Nothing of another job reaches the filtered subscription: an empty
    // block produces nothing, and the next item is from a later block.
    node.chain.produce_block();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), this_job.next())
            .await
            .is_err(),
        "no events for the job in an empty block"
    );

    // The same events again, from storage: `aether_getJobEvents` over the
    // range (what a worker catches up with after a restart), in height
    // order, only blocks with events, never past the head.
    let head = node.chain.produce_block().header.height;
    let page = call(&http, "aether_getJobEvents", rpc_params![0, head + 50])
        .await
        .unwrap();
    assert_eq!(page["fromHeight"], 0);
    assert_eq!(page["toHeight"], head, "{page}");
    let blocks = page["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2, "registration and posting: {page}");
    assert_eq!(
        blocks[0]["events"][0]["event"]["type"],
        "providerRegistered"
    );
    assert_eq!(blocks[1]["height"], block.header.height);
    assert!(
        blocks[1]["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["type"] == "jobAssigned")
    );
    // Filtered by job; a page above the head scans nothing; pages are at
    // most 256 blocks; a reversed range is invalid.
    let only = call(
        &http,
        "aether_getJobEvents",
        rpc_params![0, Option::<u64>::None, job.to_string()],
    )
    .await
    .unwrap();
    assert_eq!(only["blocks"].as_array().unwrap().len(), 1, "{only}");
    let above = call(&http, "aether_getJobEvents", rpc_params![head + 1])
        .await
        .unwrap();
    assert_eq!(above["blocks"], serde_json::json!([]));
    assert!(above["toHeight"].as_u64().unwrap() < head + 1);
    for _ in 0..300 {
        node.chain.produce_block();
    }
    let capped = call(&http, "aether_getJobEvents", rpc_params![1])
        .await
        .unwrap();
    assert_eq!(capped["toHeight"], 256);
    let e = call(&http, "aether_getJobEvents", rpc_params![5, 4])
        .await
        .unwrap_err();
    assert_eq!(e.code(), -32602, "{e:?}");

    // No receipt yet; unknown ids are null; bad ids are invalid params.
    let none = call(
        &http,
        "aether_getComputeReceipt",
        rpc_params![job.to_string()],
    )
    .await
    .unwrap();
    assert!(none.is_null());
    let unknown = call(&http, "aether_getJob", rpc_params!["00".repeat(32)])
        .await
        .unwrap();
    assert!(unknown.is_null());
    for (method, bad) in [
        ("aether_getJob", "zz"),
        ("aether_getProvider", "1234"),
        ("aether_getComputeReceipt", ""),
    ] {
        let e = call(&http, method, rpc_params![bad]).await.unwrap_err();
        assert_eq!(e.code(), -32602, "{method}({bad:?}): {e:?}");
    }
    let e = call(
        &http,
        "aether_getMeasurements",
        rpc_params![serde_json::json!({"role": "miner"})],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), -32602, "{e:?}");
    let none = call(
        &http,
        "aether_getMeasurements",
        rpc_params![serde_json::json!({"role": "worker"})],
    )
    .await
    .unwrap();
    assert_eq!(none, serde_json::json!([]));
    let models = call(&http, "aether_getModels", rpc_params![])
        .await
        .unwrap();
    assert_eq!(models, serde_json::json!([]));
}
