//! Random market flows: every block mixes jobs posted, honest and cheating
//! receipts, replays, bad bindings, right and wrong challenges, unbonding
//! and plain transfers, from several payers at once. The harness executes
//! each block in both modes and asserts they are equal, and checks the
//! supply invariant (UTxOs + value held by objects + fees + burned =
//! genesis) after every block.

mod common;

use aether_evidence::sim::SimSnpOptions;
use aether_types::*;
use common::market::*;
use common::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Default, Debug)]
struct Coverage {
    assigned: usize,
    no_provider: usize,
    receipts: usize,
    refused: usize,
    upheld: usize,
    rejected_challenges: usize,
    settled: usize,
    expired: usize,
    released: usize,
}

impl Coverage {
    fn count(&mut self, events: &[Event]) {
        for e in events {
            match e {
                Event::JobAssigned { .. } => self.assigned += 1,
                Event::JobRefunded {
                    reason: RefundReason::NoProvider,
                    ..
                } => self.no_provider += 1,
                Event::JobRefunded {
                    reason: RefundReason::Expired,
                    ..
                } => self.expired += 1,
                Event::ReceiptAccepted { .. } => self.receipts += 1,
                Event::ChallengeDecided { upheld: true, .. } => self.upheld += 1,
                Event::ChallengeDecided { upheld: false, .. } => self.rejected_challenges += 1,
                Event::JobSettled { .. } => self.settled += 1,
                Event::UnbondingReleased { .. } => self.released += 1,
                _ => {}
            }
        }
    }
}

/// What a job's worker returned (for challenges).
struct Returned {
    job: JobId,
    data: Vec<Vec<u8>>,
}

fn random_flow(seed: u64, blocks: usize) -> Coverage {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = world(market_params(true));
    let (_, owner, worker, client, challenger, stranger) = keys();
    let mut cov = Coverage::default();
    let mut jobs: Vec<JobId> = Vec::new();
    let mut returned: Vec<Returned> = Vec::new();
    let mut last_receipt: Option<Transaction> = None;
    for _ in 0..blocks {
        let mut txs = Vec::new();
        // The client posts 0-2 jobs (in one transaction).
        let posts = rng.gen_range(0..=2);
        if posts > 0 {
            let mut actions = Vec::new();
            for _ in 0..posts {
                let tees: &[TeeKind] = match rng.gen_range(0..3) {
                    0 => &[TeeKind::Snp],
                    1 => &[TeeKind::Tdx],
                    _ => &[TeeKind::Snp, TeeKind::Tdx],
                };
                let mut job = wasm_job(w.chain.height + rng.gen_range(2..7), tees);
                if rng.gen_bool(0.15) {
                    job.max_fee = PRICE - 1; // nobody takes it
                }
                actions.push(Action::PostJob(job));
            }
            let tx = w.chain.tx(&client, &[], actions);
            for i in 0..posts {
                jobs.push(JobId::derive(&tx.id(), i as u32));
            }
            txs.push(tx);
        }
        // The worker answers an assigned job: honestly, cheating, with a
        // broken binding, or replays an old receipt.
        let assigned: Vec<JobId> = jobs
            .iter()
            .copied()
            .filter(|j| {
                matches!(
                    w.chain.set.get_object(&ObjectKey::Job(*j)),
                    Some(Object::Job(r)) if r.status == JobStatus::Assigned
                )
            })
            .collect();
        if !assigned.is_empty() && rng.gen_bool(0.8) {
            let job = assigned[rng.gen_range(0..assigned.len())];
            let tx = match rng.gen_range(0..10) {
                0 if last_receipt.is_some() => {
                    // Replay: the same action in a new transaction.
                    let Some(old) = &last_receipt else {
                        unreachable!()
                    };
                    w.chain.tx(&worker, &[], old.body.actions.clone())
                }
                1 => {
                    let data = run(INPUT, None);
                    let body = w.body(job, &data);
                    let evidence =
                        snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
                    let mut other = body;
                    other.segments += 1;
                    w.chain
                        .tx(&worker, &[], vec![receipt_action(other, evidence)])
                }
                k => {
                    let cheat = (k < 5).then(|| rng.gen_range(1..=SEGMENTS));
                    let data = run(INPUT, cheat);
                    let tx = w.receipt_tx(job, &data);
                    returned.push(Returned { job, data });
                    tx
                }
            };
            last_receipt = Some(tx.clone());
            txs.push(tx);
        }
        // The challenger disputes a returned job: the first differing
        // segment (right when it cheated), or a made-up segment.
        if !returned.is_empty() && rng.gen_bool(0.6) {
            let r = &returned[rng.gen_range(0..returned.len())];
            let honest = run(INPUT, None);
            let differing = (1..=SEGMENTS).find(|&j| r.data[j as usize] != honest[j as usize]);
            let segment = differing.unwrap_or_else(|| rng.gen_range(1..=SEGMENTS));
            let mut claim = segment_claim(&r.data, segment);
            if differing.is_none()
                && let ChallengeClaim::Segment { challenger, .. } = &mut claim
            {
                *challenger = Digest([0xcd; 32]);
            }
            txs.push(w.chain.tx(
                &challenger,
                &[],
                vec![challenge(r.job, claim, addr(&challenger))],
            ));
        }
        // The owner unbonds a little now and then.
        if rng.gen_bool(0.1) {
            txs.push(w.chain.tx(
                &owner,
                &[],
                vec![Action::UnbondProvider(UnbondProvider {
                    provider: w.provider,
                    amount: rng.gen_range(1..5) * AIC,
                })],
            ));
        }
        // A plain transfer, and sometimes a duplicate of a transaction.
        if rng.gen_bool(0.5) {
            let coins = w.chain.coins(&stranger);
            let tx = aether_client::TxBuilder::new(&w.chain.ledger.params().tx_params())
                .pay(addr(&client), AIC)
                .change_to(addr(&stranger))
                .signer(&stranger)
                .fund_from(&coins)
                .unwrap();
            txs.push(tx);
        }
        if !txs.is_empty() && rng.gen_bool(0.2) {
            let d = txs[rng.gen_range(0..txs.len())].clone();
            txs.push(d);
        }
        // Shuffle: market transactions in any order.
        for i in (1..txs.len()).rev() {
            txs.swap(i, rng.gen_range(0..=i));
        }
        let out = w.chain.block(&txs);
        cov.refused += out.rejected.len();
        for r in &out.receipts {
            cov.count(&r.events);
        }
        cov.count(&out.boundary.events);
    }
    // Let every window and deadline run out: everything ends settled or
    // refunded, and the objects then hold only bonds.
    for _ in 0..10 {
        let out = w.chain.block(&[]);
        cov.count(&out.boundary.events);
    }
    for id in &jobs {
        match w.chain.set.get_object(&ObjectKey::Job(*id)) {
            Some(Object::Job(j)) => {
                assert_eq!(j.escrow, 0, "job {id} still holds value: {:?}", j.status);
                assert!(
                    matches!(
                        j.status,
                        JobStatus::Settled { .. } | JobStatus::Refunded { .. }
                    ),
                    "{:?}",
                    j.status
                );
            }
            other => panic!("job {id}: {other:?}"),
        }
    }
    let p = w.chain.provider(w.provider);
    assert_eq!((p.locked, p.active_jobs), (0, 0));
    cov
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn random_market_flows_agree_and_conserve_value(seed in any::<u64>()) {
        random_flow(seed, 12);
    }
}

/// The generator must reach every outcome, or the property would hold
/// vacuously.
#[test]
fn random_flows_cover_every_outcome() {
    let mut total = Coverage::default();
    for seed in 0..6 {
        let c = random_flow(seed, 12);
        total.assigned += c.assigned;
        total.no_provider += c.no_provider;
        total.receipts += c.receipts;
        total.refused += c.refused;
        total.upheld += c.upheld;
        total.rejected_challenges += c.rejected_challenges;
        total.settled += c.settled;
        total.expired += c.expired;
        total.released += c.released;
    }
    let t = &total;
    assert!(t.assigned > 10, "{t:?}");
    assert!(t.no_provider > 0, "{t:?}");
    assert!(t.receipts > 5, "{t:?}");
    assert!(t.refused > 5, "{t:?}");
    assert!(t.upheld > 0, "{t:?}");
    assert!(t.rejected_challenges > 0, "{t:?}");
    assert!(t.settled > 0, "{t:?}");
    assert!(t.expired > 0, "{t:?}");
}
