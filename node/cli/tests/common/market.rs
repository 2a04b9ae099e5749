//! The market's shared test steps against a real `aether node --dev`:
//! worker image registration from a manifest, providers, WASM jobs,
//! transactions of actions, job status polling.
#![allow(dead_code)]

use super::*;
use aether_client::{BlockingClient, TxBuilder};
use aether_crypto::ed25519::Keypair;
use aether_types::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

pub const WORKER_MEASUREMENT: [u8; 48] = [0x5a; 48];
pub const OTHER_MEASUREMENT: [u8; 48] = [0x7c; 48];

/// A manifest.json of a worker SNP image (what `aether-image build`
/// writes, reduced to what registration reads).
pub fn write_manifest(path: &Path) {
    write_manifest_of(path, WORKER_MEASUREMENT);
}

/// A worker SNP image manifest listing `measurement` (another
/// measurement, another image: the image id is the manifest's sha256).
pub fn write_manifest_of(path: &Path, measurement: [u8; 48]) {
    let manifest = json!({
        "schema": 1, "name": "worker", "tee": "snp", "image": "worker-snp",
        "measurements": {"snp": [
            {"vcpus": 1, "cpu": "EPYC-v4", "vmm": "QEMU", "guest_features": "0x1",
             "launch_digest": hex::encode(measurement)},
        ]},
    });
    std::fs::write(path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

pub fn balance(node: &NodeProcess, key: &Keypair) -> u128 {
    let address = format!("key:{}", key.key_hash());
    node.cli_json(&["query", "balance", &address])["coin"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A transaction of `actions` paid and signed by `key`.
pub fn action_tx(node: &NodeProcess, key: &Keypair, actions: Vec<Action>) -> Transaction {
    let client = BlockingClient::connect(&node.rpc_url).unwrap();
    let params = client.params().unwrap();
    let me = Address::Key(key.key_hash());
    let coins = client.spendable(&me).unwrap();
    let mut b = TxBuilder::new(&params).change_to(me).signer(key);
    for a in actions {
        b = b.action(a);
    }
    b.fund_from(&coins).unwrap()
}

/// Submits `tx`: `Ok(tx id)` or the error object.
pub fn submit(node: &NodeProcess, tx: &Transaction) -> Result<Value, Value> {
    node.call("aether_sendTransaction", json!([tx_hex(tx)]))
}

pub fn job_status(node: &NodeProcess, job: &str) -> Value {
    node.cli_json(&["job", "status", job])
}

pub fn wait_status(node: &NodeProcess, job: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = job_status(node, job);
        if j["status"] == want {
            return j;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} never became {want}: {j}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The check a refused submission names.
pub fn refused_check(node: &NodeProcess, tx: &Transaction) -> String {
    refused_data(node, tx)["check"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The `data` of a refused submission's error (`check`, `evidenceCheck`).
pub fn refused_data(node: &NodeProcess, tx: &Transaction) -> Value {
    let e = submit(node, tx).expect_err("refused");
    assert_eq!(e["code"], 1050, "{e}");
    e["data"].clone()
}

/// The 32 bytes of a hex id the CLI printed.
pub fn id32(text: &str) -> [u8; 32] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// Registers the worker image of `manifest` with the dev governance key.
pub fn register_worker_image(node: &NodeProcess, manifest: &Path) -> Value {
    node.cli_json(&[
        "measurement",
        "register",
        "--manifest",
        manifest.to_str().unwrap(),
        "--governance-key",
        "dev",
        "--from-dev",
        "0",
    ])
}

/// Registers dev account 1 as a provider serving WASM on SNP at 1 AIC a
/// job with a 200 AIC bond, `worker` as its worker key.
pub fn register_provider(
    node: &NodeProcess,
    worker: &Keypair,
    capacity: &str,
) -> (String, ProviderId) {
    let p = node.cli_json(&[
        "provider",
        "register",
        "--from-dev",
        "1",
        "--worker-key",
        &hex::encode(worker.public_key().0),
        "--bond",
        "200",
        "--price",
        "1",
        "--capacity",
        capacity,
        "--tee",
        "snp",
    ]);
    let text = p["provider"].as_str().unwrap().to_string();
    let id = ProviderId(id32(&text));
    (text, id)
}

/// Dev account 3 posts a WASM job (3 AIC max fee, SNP).
pub fn post_wasm(
    node: &NodeProcess,
    module: &Path,
    input: &Path,
    deadline_in: &str,
) -> (JobId, String) {
    let text = node.cli_json(&[
        "job",
        "post",
        "--wasm",
        module.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--max-fee",
        "3",
        "--deadline-in",
        deadline_in,
        "--tee",
        "snp",
        "--from-dev",
        "3",
    ])["job"]
        .as_str()
        .unwrap()
        .to_string();
    (JobId(id32(&text)), text)
}

/// Dev account 3 posts a job of `model` on the token file `tokens` (3 AIC
/// max fee, SNP); the job id.
pub fn post_model(node: &NodeProcess, model: &str, tokens: &Path) -> String {
    node.cli_json(&[
        "job",
        "post",
        "--model",
        model,
        "--tokens",
        tokens.to_str().unwrap(),
        "--max-fee",
        "3",
        "--tee",
        "snp",
        "--from-dev",
        "3",
    ])["job"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Registers the model in `dir` with the dev governance key, has the dev
/// provider `provider` serve it, and (with `node_store`) imports it into
/// the node's model store so that challenges can be decided; the model id.
pub fn register_model(node: &NodeProcess, dir: &Path, provider: &str, node_store: bool) -> String {
    let dir_text = dir.to_str().unwrap();
    let model = node.cli_json(&[
        "model",
        "register",
        "--dir",
        dir_text,
        "--governance-key",
        "dev",
        "--from-dev",
        "0",
    ])["model"]
        .as_str()
        .unwrap()
        .to_string();
    if node_store {
        let files: Vec<String> = aether_infer::MODEL_FILES
            .iter()
            .map(|f| format!("{dir_text}/{f}"))
            .collect();
        let data_dir = node.data_dir.to_str().unwrap().to_string();
        let mut add = vec!["model", "add", "--data-dir", &data_dir];
        add.extend(files.iter().map(String::as_str));
        node.cli_json(&add);
    }
    node.cli_json(&[
        "provider",
        "update",
        "--provider",
        provider,
        "--model",
        &model,
        "--from-dev",
        "1",
    ]);
    model
}
