//! The AI compute market against a real `aether node --dev` process,
//! driven through the CLI: a worker image's measurements registered by
//! governance from a manifest, a provider registered, WASM jobs posted; a
//! compute receipt with simulated SNP evidence (the dev genesis trusts the
//! simulated root) and a KZG commitment accepted, the job settled after
//! the challenge window with the exact payouts; a job without a receipt
//! refunded at its deadline; receipts refused for each of binding,
//! unregistered measurement, revoked measurement, debug guest, untrusted
//! root, TCB below the minimum, replayed evidence, wrong worker key,
//! expired job and bad KZG proof, and challenges refused for a wrong proof
//! of checkpoint j-1 and after the window, each with the check named in
//! `data.check` and nothing changed.

mod common;

use aether_crypto::ed25519::Keypair;
use aether_evidence::sim::{SimSigner, SimSnpOptions};
use aether_types::*;
use common::market::*;
use common::*;
use serde_json::json;
use std::path::Path;

/// The receipt body for `job` with the given checkpoint data, signed off
/// by `worker_key`.
fn body(
    node: &NodeProcess,
    job: JobId,
    provider: ProviderId,
    worker: &Keypair,
    data: &[Vec<u8>],
) -> VcrBody {
    let j = job_status(node, &job.to_string());
    let output = data.last().unwrap().clone();
    let blobs = aether_crypto::kzg::commit(&output).unwrap();
    let hashes: Vec<[u8; 32]> = data
        .iter()
        .map(|d| aether_infer::checkpoint_hash(d))
        .collect();
    VcrBody {
        chain_id: dev_genesis().chain_id,
        job,
        provider,
        worker_key: worker.public_key(),
        runtime: RuntimeId([0; 32]),
        input_hash: Digest(
            hex::decode(j["inputHash"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
        ),
        commitment: OutputCommitment {
            root: OutputCommitment::compute_root(&blobs),
            blobs,
        },
        output: JobData::inline(output).unwrap(),
        trace_root: Digest(aether_infer::trace_root(&hashes)),
        segments: (data.len() - 1) as u32,
    }
}

fn evidence(measurement: [u8; 48], body: &VcrBody) -> TeeEvidence {
    evidence_with(measurement, body, &SimSnpOptions::default())
}

fn evidence_with(measurement: [u8; 48], body: &VcrBody, options: &SimSnpOptions) -> TeeEvidence {
    match SimSigner::new().snp(measurement, body.report_data(), options) {
        aether_evidence::Evidence::Snp { report, vek, chain } => TeeEvidence::Snp {
            report: BoundedBytes::new(report).unwrap(),
            vek: BoundedBytes::new(vek).unwrap(),
            chain: chain.map(|c| BoundedBytes::new(c).unwrap()),
        },
        other => panic!("not SNP evidence: {other:?}"),
    }
}

fn receipt(body: VcrBody, evidence: TeeEvidence) -> Action {
    Action::SubmitReceipt(Box::new(Vcr { body, evidence }))
}

#[test]
fn a_job_is_registered_posted_receipted_settled_and_bad_receipts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("data"), &NodeOptions::default());
    let owner = dev_account_key(1);
    let worker = dev_account_key(2);
    let client = dev_account_key(3);
    let stranger = dev_account_key(4);

    // Governance registers the worker image from its manifest.
    let manifest = dir.path().join("manifest.json");
    write_manifest(&manifest);
    let m = manifest.to_str().unwrap();
    // A key outside the governance set is refused, with the check named.
    let rogue = dir.path().join("rogue.key");
    node.cli_json(&["keys", "new", "--out", rogue.to_str().unwrap()]);
    let out = node.cli(&[
        "measurement",
        "register",
        "--manifest",
        m,
        "--governance-key",
        rogue.to_str().unwrap(),
        "--from-dev",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("governance"), "{stderr}");
    let reg = register_worker_image(&node, &manifest);
    assert_eq!(reg["receipt"]["status"], "success", "{reg}");
    let image = reg["image"].as_str().unwrap().to_string();
    let listed = node.cli_json(&["query", "measurements", "--role", "worker"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["image"], image);
    assert_eq!(listed[0]["measurements"].as_array().unwrap().len(), 1);
    let validators = node.cli_json(&["query", "measurements", "--role", "validator"]);
    assert_eq!(validators, json!([]));

    // A provider serving WASM on SNP with the worker's key.
    let (provider_text, provider) = register_provider(&node, &worker, "2");
    let status = node.cli_json(&["provider", "status", &provider_text]);
    assert_eq!(status["bond"], (200 * AIC).to_string());
    assert_eq!(
        node.cli_json(&["query", "providers"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A model job's token file is the format `aether-worker infer` reads;
    // anything else is a usage error before any transaction, and a model
    // the chain does not know is refused with its check.
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, "101 102").unwrap();
    let unknown_model = "00".repeat(32);
    let model_job = |code: i32, needle: &str| {
        let out = node.cli(&[
            "job",
            "post",
            "--model",
            &unknown_model,
            "--tokens",
            tokens.to_str().unwrap(),
            "--max-fee",
            "3",
            "--from-dev",
            "3",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    };
    model_job(2, "--tokens");
    std::fs::write(&tokens, "[101, 7592, 102]").unwrap();
    model_job(1, "unknown_model");

    // A WASM job, posted by the client.
    let module = dir.path().join("job.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let input = dir.path().join("input.bin");
    std::fs::write(&input, b"the job's input").unwrap();
    let post = |deadline_in: &str| post_wasm(&node, &module, &input, deadline_in).1;
    let (job, job_text) = post_wasm(&node, &module, &input, "200");
    let j = job_status(&node, &job_text);
    assert_eq!(j["status"], "assigned");
    assert_eq!(j["provider"], provider_text);
    assert_eq!(j["escrow"], (3 * AIC).to_string());

    // Refused receipts, each for one reason; nothing changes.
    let data: Vec<Vec<u8>> = vec![b"c0".to_vec(), b"c1".to_vec(), b"the output".to_vec()];
    let good = body(&node, job, provider, &worker, &data);
    let mut other = good.clone();
    other.output = JobData::inline(b"another output".to_vec()).unwrap();
    let bad_binding = action_tx(
        &node,
        &worker,
        vec![receipt(good.clone(), evidence(WORKER_MEASUREMENT, &other))],
    );
    assert_eq!(refused_check(&node, &bad_binding), "binding");
    let unregistered = action_tx(
        &node,
        &worker,
        vec![receipt(good.clone(), evidence(OTHER_MEASUREMENT, &good))],
    );
    assert_eq!(
        refused_check(&node, &unregistered),
        "unregistered_measurement"
    );
    let wrong_key_body = body(&node, job, provider, &stranger, &data);
    let wrong_key = action_tx(
        &node,
        &stranger,
        vec![receipt(
            wrong_key_body.clone(),
            evidence(WORKER_MEASUREMENT, &wrong_key_body),
        )],
    );
    assert_eq!(refused_check(&node, &wrong_key), "wrong_worker_key");
    assert_eq!(job_status(&node, &job_text)["status"], "assigned");

    // The honest receipt is accepted.
    let ev = evidence(WORKER_MEASUREMENT, &good);
    let tx = action_tx(&node, &worker, vec![receipt(good.clone(), ev.clone())]);
    submit(&node, &tx).expect("the receipt is accepted");
    node.wait_receipt(&tx.id().to_string());
    let j = job_status(&node, &job_text);
    assert_eq!(j["status"], "receipted", "{j}");
    let r = node.cli_json(&["job", "receipt", &job_text]);
    assert_eq!(
        r["claims"]["measurement"]["measurement"],
        hex::encode(WORKER_MEASUREMENT),
        "{r}"
    );
    let result = node.cli_json(&["job", "result", &job_text]);
    assert_eq!(result["output"]["inline"], hex::encode(b"the output"));
    assert_eq!(result["final"], false);
    // The same evidence again is a replay.
    let replay = action_tx(&node, &worker, vec![receipt(good, ev)]);
    assert_eq!(refused_check(&node, &replay), "replay");

    // Settlement after the challenge window: the client gets the rest of
    // its escrow back, the provider's payout the price minus the burn.
    let client_before = balance(&node, &client);
    let owner_before = balance(&node, &owner);
    let settled = wait_status(&node, &job_text, "settled");
    let price = AIC;
    let burn = price / 10; // settlement_burn_bps = 1,000 on dev chains
    assert_eq!(
        balance(&node, &client) - client_before,
        3 * AIC - price,
        "{settled}"
    );
    assert_eq!(balance(&node, &owner) - owner_before, price - burn);
    let status = node.cli_json(&["provider", "status", &provider_text]);
    assert_eq!(status["jobsSettled"], 1, "{status}");
    assert_eq!(status["activeJobs"], 0);
    assert_eq!(node.cli_json(&["job", "result", &job_text])["final"], true);

    // A job nobody answers is refunded after its deadline.
    let late = post("3");
    let refunded = wait_status(&node, &late, "refunded");
    assert_eq!(refunded["provider"], provider_text);
    let status = node.cli_json(&["provider", "status", &provider_text]);
    assert_eq!(status["jobsFailed"], 1, "{status}");

    // Unbonding the free bond is accepted; more than is free is refused.
    let out = node.cli(&[
        "provider",
        "unbond",
        "--provider",
        &provider_text,
        "--amount",
        "100000",
        "--from-dev",
        "1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let u = node.cli_json(&[
        "provider",
        "unbond",
        "--provider",
        &provider_text,
        "--amount",
        "10",
        "--from-dev",
        "1",
    ]);
    assert_eq!(u["receipt"]["status"], "success");
    let status = node.cli_json(&["provider", "status", &provider_text]);
    assert_eq!(status["unbonding"].as_array().unwrap().len(), 1, "{status}");
    node.stop();
}

/// An FNV fold of the input, 16 bytes per step: three steps for 40 bytes
/// of input.
const FOLD: &str = aether_testkit::WASM_FOLD_JOB;

fn write_checkpoints(path: &Path, data: &[Vec<u8>]) {
    let list: Vec<String> = data.iter().map(hex::encode).collect();
    std::fs::write(path, json!({ "checkpoints": list }).to_string()).unwrap();
}

#[test]
fn challenges_are_decided_by_re_executing_one_segment_on_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("data"), &NodeOptions::default());
    let worker = dev_account_key(2);
    let watcher = dev_account_key(5);
    let manifest = dir.path().join("manifest.json");
    write_manifest(&manifest);
    register_worker_image(&node, &manifest);
    let (provider_text, provider) = register_provider(&node, &worker, "4");

    let module = wat::parse_str(FOLD).unwrap();
    let module_file = dir.path().join("fold.wasm");
    std::fs::write(&module_file, &module).unwrap();
    let input = b"forty bytes of input for three steps...".to_vec();
    let input_file = dir.path().join("input.bin");
    std::fs::write(&input_file, &input).unwrap();
    let honest = aether_infer::WasmJob::new(&module, aether_infer::WasmLimits::default())
        .unwrap()
        .run(&input)
        .unwrap()
        .checkpoints;
    assert_eq!(honest.len(), 5, "input state, three steps, the output");
    let post = || post_wasm(&node, &module_file, &input_file, "200");
    let submit_receipt = |job: JobId, data: &[Vec<u8>]| {
        let b = body(&node, job, provider, &worker, data);
        let tx = action_tx(
            &node,
            &worker,
            vec![receipt(b.clone(), evidence(WORKER_MEASUREMENT, &b))],
        );
        submit(&node, &tx).expect("receipt accepted");
        node.wait_receipt(&tx.id().to_string());
    };

    // A cheating provider: right up to checkpoint 1, wrong from 2 on.
    let (cheat_job, cheat_text) = post();
    let mut cheat = honest.clone();
    cheat[2] = b"not the state after step two".to_vec();
    cheat[4] = b"a wrong output".to_vec();
    cheat.truncate(5);
    submit_receipt(cheat_job, &cheat);
    let cheat_file = dir.path().join("cheat.json");
    write_checkpoints(&cheat_file, &cheat);
    // Checkpoints that are not the receipt's trace are refused before any
    // transaction.
    let honest_file = dir.path().join("honest.json");
    write_checkpoints(&honest_file, &honest);
    let out = node.cli(&[
        "job",
        "challenge",
        &cheat_text,
        "--checkpoints",
        honest_file.to_str().unwrap(),
        "--from-dev",
        "5",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A claim whose checkpoint j-1 data is not the provider's (its proof
    // against the trace root fails) is refused by the chain.
    let hashes: Vec<[u8; 32]> = cheat
        .iter()
        .map(|d| aether_infer::checkpoint_hash(d))
        .collect();
    let proof = |i: usize| -> Vec<Digest> {
        aether_infer::trace_proof(&hashes, i)
            .unwrap()
            .path
            .into_iter()
            .map(Digest)
            .collect()
    };
    let invented = Action::Challenge(Challenge {
        job: cheat_job,
        claim: ChallengeClaim::Segment {
            segment: 2,
            previous: BoundedBytes::new(b"invented".to_vec()).unwrap(),
            previous_proof: proof(1),
            claimed: Digest(hashes[2]),
            claimed_proof: proof(2),
            challenger: Digest([7; 32]),
        },
        deposit: AIC,
        payout: Address::Key(watcher.key_hash()),
    });
    let before = job_status(&node, &cheat_text);
    let tx = action_tx(&node, &watcher, vec![invented]);
    assert_eq!(refused_check(&node, &tx), "checkpoint_proof");
    assert_eq!(job_status(&node, &cheat_text), before);
    let watcher_before = balance(&node, &watcher);
    let bond_before: u128 = node.cli_json(&["provider", "status", &provider_text])["bond"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let won = node.cli_json(&[
        "job",
        "challenge",
        &cheat_text,
        "--checkpoints",
        cheat_file.to_str().unwrap(),
        "--deposit",
        "2",
        "--from-dev",
        "5",
    ]);
    assert_eq!(won["receipt"]["status"], "success", "{won}");
    let r = node.cli_json(&["job", "receipt", &cheat_text]);
    assert_eq!(r["challenges"][0]["segment"], 2, "{r}");
    assert_eq!(r["challenges"][0]["upheld"], true);
    let j = job_status(&node, &cheat_text);
    assert_eq!(j["status"], "refunded", "{j}");
    let status = node.cli_json(&["provider", "status", &provider_text]);
    let bond_after: u128 = status["bond"].as_str().unwrap().parse().unwrap();
    let slashed = bond_before - bond_after;
    assert!(slashed > 0, "{status}");
    // The challenger gets its deposit back and half the slash (dev
    // slash_reward_bps = 5,000), minus its transaction's fee.
    let fee: u128 = won["fee"].as_str().unwrap().parse().unwrap();
    assert_eq!(balance(&node, &watcher) + fee, watcher_before + slashed / 2);

    // An honest provider: a challenge of a correct segment is lost.
    let (honest_job, honest_text) = post();
    submit_receipt(honest_job, &honest);
    let out = node.cli(&[
        "job",
        "challenge",
        &honest_text,
        "--checkpoints",
        honest_file.to_str().unwrap(),
        "--from-dev",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to challenge"));
    let out = node.cli(&[
        "job",
        "challenge",
        &honest_text,
        "--checkpoints",
        honest_file.to_str().unwrap(),
        "--segment",
        "3",
        "--from-dev",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // A challenger whose own runtime disagrees (a wrong hash for segment 3)
    // loses its deposit: the chain's re-execution agrees with the provider.
    let wrong = "ab".repeat(32);
    let before = balance(&node, &watcher);
    let lost = node.cli_json(&[
        "job",
        "challenge",
        &honest_text,
        "--checkpoints",
        honest_file.to_str().unwrap(),
        "--segment",
        "3",
        "--claim-hash",
        &wrong,
        "--deposit",
        "2",
        "--from-dev",
        "5",
    ]);
    let fee: u128 = lost["fee"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        balance(&node, &watcher),
        before - fee - 2 * AIC,
        "the deposit is lost"
    );
    let r = node.cli_json(&["job", "receipt", &honest_text]);
    assert_eq!(r["challenges"][0]["upheld"], false, "{r}");
    assert_eq!(job_status(&node, &honest_text)["status"], "receipted");
    wait_status(&node, &honest_text, "settled");
    // After settlement the window is closed.
    let out = node.cli(&[
        "job",
        "challenge",
        &honest_text,
        "--checkpoints",
        honest_file.to_str().unwrap(),
        "--segment",
        "1",
        "--claim-hash",
        &wrong,
        "--from-dev",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("challenge_window_closed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    node.stop();
}

/// A dev node whose genesis has `market_toml` in `[genesis.market]`, the
/// worker image registered, a provider and an assigned WASM job.
fn market_node(dir: &Path, market_toml: &str) -> (NodeProcess, JobId, String, ProviderId) {
    let config = dir.join("node.toml");
    std::fs::write(&config, format!("[genesis.market]\n{market_toml}\n")).unwrap();
    let node = NodeProcess::start(
        &dir.join("data"),
        &NodeOptions {
            extra: vec!["--config".into(), config.to_str().unwrap().into()],
            ..NodeOptions::default()
        },
    );
    let manifest = dir.join("manifest.json");
    write_manifest(&manifest);
    register_worker_image(&node, &manifest);
    let (_, provider) = register_provider(&node, &dev_account_key(2), "4");
    let module = dir.join("job.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let input = dir.join("input.bin");
    std::fs::write(&input, b"the job's input").unwrap();
    let (job, text) = post_wasm(&node, &module, &input, "200");
    (node, job, text, provider)
}

/// The worker's (dev account 2's) receipt transaction for `job`: a
/// two-checkpoint run, the body changed by `tamper`, evidence of
/// `measurement` made by `options`.
fn receipt_tx(
    node: &NodeProcess,
    job: JobId,
    provider: ProviderId,
    measurement: [u8; 48],
    options: &SimSnpOptions,
    tamper: impl FnOnce(&mut VcrBody),
) -> Transaction {
    let worker = dev_account_key(2);
    let data: Vec<Vec<u8>> = vec![b"c0".to_vec(), b"the output".to_vec()];
    let mut b = body(node, job, provider, &worker, &data);
    tamper(&mut b);
    let ev = evidence_with(measurement, &b, options);
    action_tx(node, &worker, vec![receipt(b, ev)])
}

/// Submits [`receipt_tx`] and returns the refusal's data, checking that
/// the job and the worker's balance are unchanged.
fn refused_receipt(
    node: &NodeProcess,
    job: JobId,
    provider: ProviderId,
    measurement: [u8; 48],
    options: &SimSnpOptions,
    tamper: impl FnOnce(&mut VcrBody),
) -> serde_json::Value {
    let worker = dev_account_key(2);
    let job_before = job_status(node, &job.to_string());
    let balance_before = balance(node, &worker);
    let tx = receipt_tx(node, job, provider, measurement, options, tamper);
    let data = refused_data(node, &tx);
    assert_eq!(job_status(node, &job.to_string()), job_before);
    assert_eq!(balance(node, &worker), balance_before);
    data
}

#[test]
fn receipts_are_refused_for_a_revoked_image_a_debug_guest_a_bad_kzg_proof_and_an_expired_job() {
    let dir = tempfile::tempdir().unwrap();
    let (node, job, job_text, provider) = market_node(dir.path(), "");
    let none = |_: &mut VcrBody| {};
    let defaults = SimSnpOptions::default();

    // An image registered, then revoked by governance: its measurement no
    // longer counts.
    let old = dir.path().join("old.json");
    write_manifest_of(&old, OTHER_MEASUREMENT);
    register_worker_image(&node, &old);
    let revoked = node.cli_json(&[
        "measurement",
        "revoke",
        "--manifest",
        old.to_str().unwrap(),
        "--governance-key",
        "dev",
        "--from-dev",
        "0",
    ]);
    assert_eq!(revoked["receipt"]["status"], "success", "{revoked}");
    let d = refused_receipt(&node, job, provider, OTHER_MEASUREMENT, &defaults, none);
    assert_eq!(d["check"], "revoked_measurement", "{d}");

    // A debug guest (policy bit 19): the evidence check names it.
    let debug = SimSnpOptions {
        debug: true,
        ..SimSnpOptions::default()
    };
    let d = refused_receipt(&node, job, provider, WORKER_MEASUREMENT, &debug, none);
    assert_eq!(
        (&d["check"], &d["evidenceCheck"]),
        (&json!("evidence"), &json!("debug")),
        "{d}"
    );

    // A KZG proof of other data.
    let d = refused_receipt(&node, job, provider, WORKER_MEASUREMENT, &defaults, |b| {
        let other = aether_crypto::kzg::commit(b"not the output").unwrap();
        b.commitment.blobs[0].proof = other[0].proof;
    });
    assert_eq!(d["check"], "kzg", "{d}");
    assert_eq!(job_status(&node, &job_text)["status"], "assigned");

    // A job past its deadline (refunded) takes no receipt.
    let module = dir.path().join("job.wasm");
    let input = dir.path().join("input.bin");
    let (late, late_text) = post_wasm(&node, &module, &input, "3");
    wait_status(&node, &late_text, "refunded");
    let d = refused_receipt(&node, late, provider, WORKER_MEASUREMENT, &defaults, none);
    assert_eq!(d["check"], "job_expired", "{d}");
    node.stop();
}

#[test]
fn receipts_are_refused_by_the_genesis_evidence_policy() {
    let none = |_: &mut VcrBody| {};
    let defaults = SimSnpOptions::default();

    // A chain that does not trust the simulated root (as every non-dev
    // chain): simulated evidence is refused at its root.
    let dir = tempfile::tempdir().unwrap();
    let (node, job, _, provider) = market_node(
        dir.path(),
        r#"trust_roots = ["amd-milan", "amd-genoa", "amd-turin", "intel-sgx-root-ca"]"#,
    );
    let d = refused_receipt(&node, job, provider, WORKER_MEASUREMENT, &defaults, none);
    assert_eq!(
        (&d["check"], &d["evidenceCheck"]),
        (&json!("evidence"), &json!("root_not_allowed")),
        "{d}"
    );
    node.stop();

    // A minimum SNP TCB above the simulated platform's (SNP SVN 22).
    let dir = tempfile::tempdir().unwrap();
    let (node, job, _, provider) = market_node(dir.path(), "snp_min_tcb = [0, 0, 23, 0, 0]");
    let d = refused_receipt(&node, job, provider, WORKER_MEASUREMENT, &defaults, none);
    assert_eq!(
        (&d["check"], &d["evidenceCheck"]),
        (&json!("evidence"), &json!("min_tcb")),
        "{d}"
    );
    // The same evidence from a platform at the minimum is accepted.
    let at_minimum = SimSnpOptions {
        reported_tcb: aether_evidence::sim::SnpTcb {
            snp: 23,
            ..defaults.reported_tcb
        },
        ..SimSnpOptions::default()
    };
    let tx = receipt_tx(&node, job, provider, WORKER_MEASUREMENT, &at_minimum, none);
    submit(&node, &tx).expect("a receipt at the minimum TCB is accepted");
    node.wait_receipt(&tx.id().to_string());
    assert_eq!(job_status(&node, &job.to_string())["status"], "receipted");
    node.stop();
}
