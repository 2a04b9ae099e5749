//! The AI market in the state transition: the whole job flow with
//! simulated TEE evidence and balances checked at every step, and every
//! rejection on its own (harness: `common/market.rs`).

mod common;

use aether_crypto::ed25519::Keypair;
use aether_evidence::sim::SimSnpOptions;
use aether_ledger::market::MarketError;
use aether_ledger::*;
use aether_types::*;
use common::market::*;
use common::*;

#[test]
fn job_flow_post_receipt_window_settle() {
    let mut w = world(market_params(true));
    let (_, owner, worker, client, ..) = keys();
    let client_before = w.chain.balance(&client);
    let owner_before = w.chain.balance(&owner);
    let fees0 = w.chain.fees;
    let job = w.post(10);
    let post_fee = w.chain.fees - fees0;
    assert_eq!(w.chain.job(job).escrow, MAX_FEE);
    let p = w.chain.provider(w.provider);
    assert_eq!((p.active_jobs, p.locked), (1, 10 * PRICE));
    let data = run(INPUT, None);
    let receipt = w.chain.ok(w.receipt_tx(job, &data));
    let window_end = match receipt.events[0] {
        Event::ReceiptAccepted { window_end, .. } => window_end,
        ref other => panic!("{other:?}"),
    };
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Receipted { .. }
    ));
    // The window: challenges possible until window_end.
    while w.chain.height < window_end {
        let out = w.chain.block(&[]);
        assert!(out.boundary.events.is_empty());
    }
    let settle = w.chain.block(&[]);
    let burned = PRICE / 10;
    let settled = settle
        .boundary
        .events
        .iter()
        .find_map(|e| match e {
            Event::JobSettled {
                paid,
                client_refund,
                ..
            } => Some((*paid, *client_refund)),
            _ => None,
        })
        .expect("settled at the window's end");
    assert_eq!(settled, (PRICE - burned, MAX_FEE - PRICE));
    assert!(matches!(w.chain.job(job).status, JobStatus::Settled { .. }));
    assert_eq!(w.chain.job(job).escrow, 0);
    let p = w.chain.provider(w.provider);
    assert_eq!((p.active_jobs, p.locked, p.jobs_settled), (0, 0, 1));
    assert_eq!(p.reputation, INITIAL_REPUTATION + 50);
    // Balances: the client paid the price and the posting fee; the owner
    // got the price minus the burn share.
    assert_eq!(w.chain.balance(&client), client_before - PRICE - post_fee);
    assert_eq!(w.chain.balance(&owner), owner_before + PRICE - burned);
    assert!(
        w.chain.balance(&worker) < 1_000 * AIC,
        "the worker paid its fee"
    );
}

#[test]
fn tdx_receipts_are_accepted_too() {
    let mut w = world(market_params(true));
    let (_, _, worker, ..) = keys();
    let job = w.post(10);
    let data = run(INPUT, None);
    let body = w.body(job, &data);
    let evidence = tdx_evidence(&body);
    let r = w.chain.ok(w
        .chain
        .tx(&worker, &[], vec![receipt_action(body, evidence)]));
    assert!(matches!(r.events[0], Event::ReceiptAccepted { .. }));
    match w.chain.set.get_object(&ObjectKey::ComputeReceipt(job)) {
        Some(Object::ComputeReceipt(rec)) => {
            assert_eq!(rec.claims.tee, TeeKind::Tdx);
            assert_eq!(rec.claims.root.as_str(), "simulated");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_job_without_receipt_expires_refunded_and_penalised() {
    let mut w = world(market_params(true));
    let (_, _, _, client, ..) = keys();
    let before = w.chain.balance(&client);
    let fees0 = w.chain.fees;
    let job = w.post(2);
    let fee = w.chain.fees - fees0;
    let deadline = w.chain.job(job).deadline;
    while w.chain.height < deadline {
        w.chain.block(&[]);
    }
    let out = w.chain.block(&[]);
    let penalty = 10 * PRICE / 10;
    assert!(out.boundary.events.contains(&Event::ProviderSlashed {
        provider: w.provider,
        job,
        amount: penalty
    }));
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Refunded {
            reason: RefundReason::Expired,
            ..
        }
    ));
    assert_eq!(w.chain.balance(&client), before - fee);
    let p = w.chain.provider(w.provider);
    assert_eq!(
        (p.bond, p.locked, p.jobs_failed),
        (200 * AIC - penalty, 0, 1)
    );
    assert_eq!(p.reputation, INITIAL_REPUTATION - 500);
}

#[test]
fn a_job_nobody_can_take_is_refunded_at_once() {
    let mut w = world(market_params(true));
    let (_, _, _, client, ..) = keys();
    let before = w.chain.balance(&client);
    let mut job = wasm_job(w.chain.height + 5, &[TeeKind::Tdx]);
    job.max_fee = PRICE - 1; // below the only provider's price
    let tx = w.chain.tx(&client, &[], vec![Action::PostJob(job)]);
    let id = JobId::derive(&tx.id(), 0);
    let r = w.chain.ok(tx);
    assert!(matches!(
        r.events[0],
        Event::JobRefunded { job, reason: RefundReason::NoProvider, amount, output: Some(_) }
            if job == id && amount == PRICE - 1
    ));
    assert_eq!(w.chain.balance(&client), before - r.fee_charged);
}

#[test]
fn a_cheating_provider_is_caught_and_slashed() {
    let mut w = world(market_params(true));
    let (_, owner, _, client, challenger, _) = keys();
    let client_before = w.chain.balance(&client);
    let challenger_before = w.chain.balance(&challenger);
    let owner_before = w.chain.balance(&owner);
    let fees0 = w.chain.fees;
    let job = w.post(10);
    let post_fee = w.chain.fees - fees0;
    let lying = run(INPUT, Some(3));
    w.chain.ok(w.receipt_tx(job, &lying));
    let fees_before = w.chain.fees;
    let tx = w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, segment_claim(&lying, 3), addr(&challenger))],
    );
    let r = w.chain.ok(tx);
    let challenge_fee = w.chain.fees - fees_before;
    let slashed = 10 * PRICE;
    let reward = slashed / 2;
    assert!(r.events.contains(&Event::ProviderSlashed {
        provider: w.provider,
        job,
        amount: slashed
    }));
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Refunded {
            reason: RefundReason::ReceiptDisproved,
            ..
        }
    ));
    // The client gets everything back but its posting fee; the challenger
    // earns half the slashed bond; the owner's bond shrank.
    assert_eq!(w.chain.balance(&client), client_before - post_fee);
    assert_eq!(
        w.chain.balance(&challenger),
        challenger_before + reward - challenge_fee
    );
    assert_eq!(w.chain.balance(&owner), owner_before);
    let p = w.chain.provider(w.provider);
    assert_eq!(
        (p.bond, p.locked, p.slashed),
        (200 * AIC - slashed, 0, slashed)
    );
    // Nothing settles later.
    for _ in 0..5 {
        let out = w.chain.block(&[]);
        assert!(out.boundary.events.is_empty());
    }
}

#[test]
fn a_wrong_challenge_loses_its_deposit() {
    let mut w = world(market_params(true));
    let (_, owner, _, _, challenger, _) = keys();
    let job = w.post(10);
    let honest = run(INPUT, None);
    w.chain.ok(w.receipt_tx(job, &honest));
    let owner_before = w.chain.balance(&owner);
    let challenger_before = w.chain.balance(&challenger);
    let mut claim = segment_claim(&honest, 2);
    if let ChallengeClaim::Segment { challenger, .. } = &mut claim {
        *challenger = Digest([0xcc; 32]); // the challenger is wrong
    }
    let fees_before = w.chain.fees;
    let r = w.chain.ok(w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    ));
    let fee = w.chain.fees - fees_before;
    assert!(r.events.iter().any(|e| matches!(e,
        Event::ChallengeDecided { upheld: false, provider_paid, .. } if *provider_paid == 3 * AIC / 2)));
    assert_eq!(
        w.chain.balance(&challenger),
        challenger_before - 3 * AIC - fee
    );
    assert_eq!(w.chain.balance(&owner), owner_before + 3 * AIC / 2);
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Receipted { .. }
    ));
}

#[test]
fn output_and_input_claims_are_decided_on_chain() {
    let mut w = world(market_params(true));
    let (_, _, _, _, challenger, _) = keys();
    // An honest trace whose last checkpoint is not the output it returned.
    let job = w.post(10);
    let mut data = run(INPUT, None);
    let trace_of_honest = hashes(&data);
    let returned = b"a different output".to_vec();
    data.pop();
    data.push(returned);
    let mut body = w.body(job, &data);
    body.trace_root = trace_root(&trace_of_honest);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let (_, _, worker, ..) = keys();
    w.chain.ok(w
        .chain
        .tx(&worker, &[], vec![receipt_action(body, evidence)]));
    let claim = ChallengeClaim::Output {
        claimed: trace_of_honest[SEGMENTS as usize],
        claimed_proof: proof(&trace_of_honest, SEGMENTS as usize),
        output: BoundedBytes::default(),
    };
    let r = w.chain.ok(w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    ));
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::ChallengeDecided { upheld: true, .. }))
    );

    // A correct input checkpoint: an input claim loses.
    let job = w.post(10);
    let data = run(INPUT, None);
    w.chain.ok(w.receipt_tx(job, &data));
    let h = hashes(&data);
    let claim = ChallengeClaim::Input {
        claimed: h[0],
        claimed_proof: proof(&h, 0),
    };
    let r = w.chain.ok(w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    ));
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::ChallengeDecided { upheld: false, .. }))
    );
}

#[test]
fn unbonding_pays_out_after_the_delay() {
    let mut w = world(market_params(true));
    let (_, owner, ..) = keys();
    let tx = w.chain.tx(
        &owner,
        &[],
        vec![Action::UnbondProvider(UnbondProvider {
            provider: w.provider,
            amount: 50 * AIC,
        })],
    );
    let fee_before = w.chain.fees;
    w.chain.ok(tx);
    let fee = w.chain.fees - fee_before;
    let before = w.chain.balance(&owner);
    assert_eq!(w.chain.provider(w.provider).bond, 150 * AIC);
    let mut released = None;
    for _ in 0..5 {
        let out = w.chain.block(&[]);
        if let Some(e) = out
            .boundary
            .events
            .iter()
            .find(|e| matches!(e, Event::UnbondingReleased { .. }))
        {
            released = Some(e.clone());
        }
    }
    assert!(
        matches!(released, Some(Event::UnbondingReleased { amount, output: Some(_), .. }) if amount == 50 * AIC)
    );
    assert_eq!(w.chain.balance(&owner), before + 50 * AIC);
    let _ = fee;
    // More than the free bond cannot be unbonded.
    let e = w.chain.refused(w.chain.tx(
        &owner,
        &[],
        vec![Action::UnbondProvider(UnbondProvider {
            provider: w.provider,
            amount: 151 * AIC,
        })],
    ));
    assert!(matches!(e, MarketError::InsufficientFreeBond { .. }), "{e}");
    // Only the owner may.
    let (.., stranger) = keys();
    let e = w.chain.refused(w.chain.tx(
        &stranger,
        &[],
        vec![Action::UnbondProvider(UnbondProvider {
            provider: w.provider,
            amount: AIC,
        })],
    ));
    assert_eq!(e, MarketError::NotOwner);
}

// ---- every rejection on its own ----

/// A world with a posted job and the honest data for it.
fn posted(params: ProtocolParams) -> (World, JobId, Vec<Vec<u8>>) {
    let mut w = world(params);
    let job = w.post(10);
    (w, job, run(INPUT, None))
}

fn refused_receipt(
    w: &mut World,
    signer: &Keypair,
    body: VcrBody,
    evidence: TeeEvidence,
) -> MarketError {
    let tx = w
        .chain
        .tx(signer, &[], vec![receipt_action(body, evidence)]);
    w.chain.refused(tx)
}

#[test]
fn reject_wrong_binding() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let mut other = body.clone();
    other.segments += 1; // the evidence binds the original body
    assert_eq!(
        refused_receipt(&mut w, &worker, other, evidence),
        MarketError::WrongBinding
    );
}

#[test]
fn reject_unregistered_measurement() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(OTHER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::UnregisteredMeasurement(id) if id == LaunchMeasurement::Snp(OTHER_MEASUREMENT).id()
    ));
}

#[test]
fn reject_validator_image_measurement() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(VALIDATOR_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::MeasurementRole {
            role: ImageRole::Validator,
            ..
        }
    ));
}

#[test]
fn reject_revoked_measurement() {
    let (mut w, job, data) = posted(market_params(true));
    let (gov, _, worker, ..) = keys();
    w.chain.ok(w.chain.tx(
        &gov,
        &[],
        vec![Action::RevokeMeasurement(RevokeMeasurement {
            image: ImageId([1; 32]),
        })],
    ));
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::RevokedMeasurement(_)
    ));
}

#[test]
fn reject_debug_guest() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let opts = SimSnpOptions {
        debug: true,
        ..SimSnpOptions::default()
    };
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &opts);
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::Evidence { check: "debug", .. }
    ));
}

#[test]
fn reject_simulated_root_on_a_chain_that_does_not_trust_it() {
    let (mut w, job, data) = posted(market_params(false));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let e = refused_receipt(&mut w, &worker, body, evidence);
    assert!(
        matches!(e, MarketError::Evidence { check, .. } if check == "root_not_allowed"),
        "{e}"
    );
}

#[test]
fn reject_tcb_below_the_minimum() {
    let mut params = market_params(true);
    params.market.evidence.snp_min_tcb.snp = u8::MAX;
    let (mut w, job, data) = posted(params);
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::Evidence {
            check: "min_tcb",
            ..
        }
    ));
}

#[test]
fn reject_replayed_evidence() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    w.chain.ok(w.chain.tx(
        &worker,
        &[],
        vec![receipt_action(body.clone(), evidence.clone())],
    ));
    // The same receipt again, in a new transaction.
    assert_eq!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::EvidenceReplayed(job)
    );
}

#[test]
fn reject_wrong_provider_key() {
    let (mut w, job, data) = posted(market_params(true));
    let (.., stranger) = keys();
    // A body naming another worker key, signed by it.
    let mut body = w.body(job, &data);
    body.worker_key = stranger.public_key();
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert_eq!(
        refused_receipt(&mut w, &stranger, body, evidence),
        MarketError::WrongWorkerKey
    );
    // The right key in the body, but the transaction not signed by it.
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert_eq!(
        refused_receipt(&mut w, &stranger, body, evidence),
        MarketError::WrongWorkerKey
    );
}

#[test]
fn reject_expired_job() {
    let mut w = world(market_params(true));
    let (_, _, worker, ..) = keys();
    let job = w.post(1);
    let data = run(INPUT, None);
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let deadline = w.chain.job(job).deadline;
    while w.chain.height < deadline {
        w.chain.block(&[]);
    }
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::JobExpired { .. }
    ));
}

#[test]
fn reject_bad_kzg_proof() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let mut body = w.body(job, &data);
    // A proof of other data: swap in the commitment of another output.
    let other = aether_crypto::kzg::commit(b"not the output").unwrap();
    body.commitment.blobs[0].proof = other[0].proof;
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::BadKzgProof(_)
    ));
}

#[test]
fn reject_challenge_after_the_window() {
    let (mut w, job, _) = posted(market_params(true));
    let (.., challenger, _) = keys();
    let lying = run(INPUT, Some(2));
    let r = w.chain.ok(w.receipt_tx(job, &lying));
    let window_end = match r.events[0] {
        Event::ReceiptAccepted { window_end, .. } => window_end,
        _ => unreachable!(),
    };
    while w.chain.height <= window_end {
        w.chain.block(&[]);
    }
    let tx = w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, segment_claim(&lying, 2), addr(&challenger))],
    );
    assert!(matches!(
        w.chain.refused(tx),
        MarketError::ChallengeWindowClosed { .. }
    ));
}

#[test]
fn reject_challenge_with_a_wrong_proof_of_the_previous_checkpoint() {
    let (mut w, job, _) = posted(market_params(true));
    let (.., challenger, _) = keys();
    let lying = run(INPUT, Some(3));
    w.chain.ok(w.receipt_tx(job, &lying));
    let mut claim = segment_claim(&lying, 3);
    if let ChallengeClaim::Segment { previous, .. } = &mut claim {
        // Data the provider never committed to.
        *previous = BoundedBytes::new(b"invented".to_vec()).unwrap();
    }
    let tx = w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    );
    assert_eq!(
        w.chain.refused(tx),
        MarketError::BadCheckpointProof { index: 2 }
    );
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Receipted { .. }
    ));
}

#[test]
fn governance_actions_need_the_governance_key() {
    let mut w = world(market_params(true));
    let (.., stranger) = keys();
    let tx = w.chain.tx(
        &stranger,
        &[],
        vec![register_image(
            9,
            ImageRole::Worker,
            TeeKind::Snp,
            vec![snp_entry([0x99; 48])],
        )],
    );
    assert_eq!(
        w.chain.refused(tx),
        MarketError::NotGovernance { threshold: 1 }
    );
}

#[test]
fn registrations_and_posts_are_checked() {
    let mut w = world(market_params(true));
    let (gov, owner, _, client, ..) = keys();
    // The same image twice.
    let e = w.chain.refused(w.chain.tx(
        &gov,
        &[],
        vec![register_image(
            1,
            ImageRole::Worker,
            TeeKind::Snp,
            vec![snp_entry([0x42; 48])],
        )],
    ));
    assert_eq!(e, MarketError::ImageExists(ImageId([1; 32])));
    // A provider with too small a bond.
    let mut offer = w.chain.provider(w.provider).offer;
    offer.price = 1;
    let e = w.chain.refused(w.chain.tx(
        &owner,
        &[],
        vec![Action::RegisterProvider(RegisterProvider {
            owner: owner.key_hash(),
            offer: offer.clone(),
            bond: AIC,
        })],
    ));
    assert!(matches!(e, MarketError::BondTooLow { .. }));
    // A provider serving an unregistered model.
    offer.models.insert(ModelId([7; 32]));
    let e = w.chain.refused(w.chain.tx(
        &owner,
        &[],
        vec![Action::RegisterProvider(RegisterProvider {
            owner: owner.key_hash(),
            offer,
            bond: 100 * AIC,
        })],
    ));
    assert_eq!(e, MarketError::UnknownModel(ModelId([7; 32])));
    // A job whose deadline has passed.
    let job = wasm_job(w.chain.height, &[TeeKind::Snp]);
    let e = w
        .chain
        .refused(w.chain.tx(&client, &[], vec![Action::PostJob(job)]));
    assert!(matches!(e, MarketError::DeadlineInPast { .. }));
}

#[test]
fn models_are_registered_by_content_hash() {
    let mut w = world(market_params(true));
    let (gov, ..) = keys();
    let files = vec![ModelFile {
        name: BoundedString::new("model.safetensors").unwrap(),
        sha256: [5; 32],
        size: 10,
    }];
    let id = ModelId(aether_infer::model_id_from_hashes(&[(
        "model.safetensors",
        [5; 32],
    )]));
    let register = |model: ModelId| {
        Action::RegisterModel(RegisterModel {
            model,
            name: BoundedString::new("m").unwrap(),
            runtime: RuntimeId([1; 32]),
            size: 10,
            segments: 7,
            files: files.clone(),
        })
    };
    let e = w
        .chain
        .refused(w.chain.tx(&gov, &[], vec![register(ModelId([9; 32]))]));
    assert!(matches!(e, MarketError::ModelIdMismatch { computed, .. } if computed == id));
    let r = w.chain.ok(w.chain.tx(&gov, &[], vec![register(id)]));
    assert_eq!(r.events, vec![Event::ModelRegistered { model: id }]);
    let e = w.chain.refused(w.chain.tx(&gov, &[], vec![register(id)]));
    assert_eq!(e, MarketError::ModelExists(id));
}

#[test]
fn a_bad_kzg_proof_in_a_block_of_good_receipts_is_found_and_only_it_refused() {
    let mut w = world(market_params(true));
    let (_, _, worker, ..) = keys();
    // A second funded coin per receipt, so the three transactions are
    // independent.
    let jobs: Vec<JobId> = (0..3).map(|_| w.post(10)).collect();
    w.chain.fund(&worker, 10 * AIC, 3);
    let coins = w.chain.coins(&worker);
    let data = run(INPUT, None);
    let txs: Vec<Transaction> = jobs
        .iter()
        .zip(coins.iter())
        .enumerate()
        .map(|(i, (job, coin))| {
            let mut body = w.body(*job, &data);
            if i == 1 {
                let other = aether_crypto::kzg::commit(b"not the output").unwrap();
                body.commitment.blobs[0].proof = other[0].proof;
            }
            let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
            aether_client::TxBuilder::new(&w.chain.ledger.params().tx_params())
                .spend(coin)
                .change_to(addr(&worker))
                .signer(&worker)
                .action(receipt_action(body, evidence))
                .build()
                .unwrap()
        })
        .collect();
    let out = w.chain.block(&txs);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].index, 1);
    assert!(matches!(
        out.rejected[0].error,
        LedgerError::Action {
            error: MarketError::BadKzgProof(_),
            ..
        }
    ));
    assert_eq!(out.receipts.len(), 2);
}
