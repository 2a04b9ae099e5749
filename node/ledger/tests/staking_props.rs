//! Random staking mixes beside the market and plain transfers: every block
//! carries registrations (good and bad), delegations, undelegations (of
//! parts and of more than is held), equivocation reports (new, replayed,
//! badly signed, of unknown indices), market jobs and transfers from
//! several payers, shuffled and sometimes duplicated; headers name random
//! proposers and random QC signer sets (some validators left out, some
//! headers of no known proposer), and epochs turn every four blocks. The
//! harness executes each block in both modes and asserts they are equal,
//! and checks the supply invariant (UTxOs + value held by objects + fees
//! held by nobody + burned = genesis + minted) after every block.

mod common;

use aether_crypto::ed25519::Keypair;
use aether_ledger::BlockConsensus;
use aether_types::*;
use common::market::*;
use common::staking::*;
use common::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Default, Debug)]
struct Coverage {
    registered: usize,
    delegated: usize,
    undelegated: usize,
    released: usize,
    slashed: usize,
    rewarded: usize,
    credited: usize,
    leaked: usize,
    epochs: usize,
    jobs: usize,
    refused: usize,
}

impl Coverage {
    fn count(&mut self, events: &[Event]) {
        for e in events {
            match e {
                Event::ValidatorRegistered { .. } => self.registered += 1,
                Event::Delegated { .. } => self.delegated += 1,
                Event::UndelegationStarted { .. } => self.undelegated += 1,
                Event::UndelegationReleased { .. } => self.released += 1,
                Event::ValidatorSlashed { .. } => self.slashed += 1,
                Event::BlockRewarded { .. } => self.rewarded += 1,
                Event::RewardsCredited { .. } => self.credited += 1,
                Event::DowntimeLeak { .. } => self.leaked += 1,
                Event::EpochChanged { .. } => self.epochs += 1,
                Event::JobAssigned { .. } => self.jobs += 1,
                _ => {}
            }
        }
    }
}

/// Validators 0..4 are in the genesis; 4..8 may register.
const KEYS: u32 = 8;

fn random_flow(seed: u64, blocks: usize) -> Coverage {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = world(staking_params());
    add_genesis_validators(&mut w.chain, 4);
    for i in 4..KEYS {
        w.chain.fund(&owner(i), 2_000 * AIC, 2);
    }
    let (_, _, _, client, challenger, stranger) = keys();
    let delegators = [&client, &challenger, &stranger];
    let mut cov = Coverage::default();
    let mut reports: Vec<Action> = Vec::new();
    for _ in 0..blocks {
        let chain = &w.chain;
        let e = chain.current_epoch();
        let set = chain.epoch_set(e).unwrap();
        let n = set.members.len() as u16;
        let mut txs = Vec::new();
        // One transaction per payer and block (their coins would clash).
        let mut payers: Vec<PublicKey> = Vec::new();
        let mut free = |payer: &Keypair| {
            let fresh = !payers.contains(&payer.public_key());
            payers.push(payer.public_key());
            fresh
        };
        let id_of = |i: u32| genesis_validator(i, BOND).id();

        // Registrations: new keys, repeats, broken proofs of possession.
        if rng.gen_bool(0.3) {
            let i = rng.gen_range(4..KEYS);
            let mut r = registration(i, rng.gen_range(50..600) * AIC);
            if rng.gen_bool(0.2) {
                r.proof_of_possession = registration(i + 1, AIC).proof_of_possession;
            }
            let o = owner(i);
            if free(&o) {
                let net_key = net(i);
                txs.push(chain.tx(
                    &o,
                    &[&net_key],
                    vec![Action::RegisterValidator(Box::new(r))],
                ));
            }
        }
        // Delegations and undelegations by the three delegators and owners.
        for d in delegators {
            if !rng.gen_bool(0.5) || !free(d) {
                continue;
            }
            let v = id_of(rng.gen_range(0..KEYS));
            let action = if rng.gen_bool(0.6) {
                Action::Delegate(Delegate {
                    validator: v,
                    delegator: d.key_hash(),
                    amount: rng.gen_range(1..80) * AIC / 2,
                })
            } else {
                Action::Undelegate(Undelegate {
                    validator: v,
                    delegator: d.key_hash(),
                    amount: if rng.gen_bool(0.2) {
                        u128::MAX
                    } else {
                        rng.gen_range(1..40) * AIC
                    },
                })
            };
            txs.push(chain.tx(d, &[], vec![action]));
        }
        if rng.gen_bool(0.2) {
            let i = rng.gen_range(0..4);
            let o = owner(i);
            if free(&o) {
                let action = Action::Undelegate(Undelegate {
                    validator: id_of(i),
                    delegator: o.key_hash(),
                    amount: rng.gen_range(1..300) * AIC,
                });
                txs.push(chain.tx(&o, &[], vec![action]));
            }
        }
        // Equivocation reports: a member of this or the last epoch, a
        // replay, a bad signature, an unknown index.
        if rng.gen_bool(0.25) {
            let (epoch, s) = match e.checked_sub(1).filter(|_| rng.gen_bool(0.3)) {
                Some(prev) => (prev, chain.epoch_set(prev).unwrap()),
                None => (e, set.clone()),
            };
            let index = rng.gen_range(0..s.members.len()) as u16;
            let who = (0..KEYS)
                .find(|i| id_of(*i) == s.members[usize::from(index)].validator)
                .unwrap();
            let round = rng.gen_range(1..6);
            let kind = if rng.gen_bool(0.5) {
                EquivocationKind::Vote
            } else {
                EquivocationKind::Proposal
            };
            let mut evidence = equivocation(who, index, epoch, round, kind, 1, 2);
            match rng.gen_range(0..6) {
                0 => evidence.second_signature = evidence.first_signature,
                1 => evidence.offender = ValidatorIndex(40),
                _ => {}
            }
            reports.push(report(evidence, addr(&challenger)));
        }
        if !reports.is_empty() && rng.gen_bool(0.4) && free(&challenger) {
            let a = reports[rng.gen_range(0..reports.len())].clone();
            txs.push(chain.tx(&challenger, &[], vec![a]));
        }
        // Market work in the same blocks: a job, sometimes.
        if rng.gen_bool(0.3) && free(&client) {
            let job = wasm_job(chain.height + 5, &[TeeKind::Snp]);
            txs.push(chain.tx(&client, &[], vec![Action::PostJob(job)]));
        }
        // A transfer.
        if rng.gen_bool(0.5) {
            let from = owner(rng.gen_range(0..KEYS));
            if free(&from) {
                let tx = aether_client::TxBuilder::new(&chain.ledger.params().tx_params())
                    .pay(addr(&stranger), AIC)
                    .change_to(addr(&from))
                    .signer(&from)
                    .fund_from(&chain.coins(&from))
                    .unwrap();
                txs.push(tx);
            }
        }
        if !txs.is_empty() && rng.gen_bool(0.2) {
            let d = txs[rng.gen_range(0..txs.len())].clone();
            txs.push(d);
        }
        for i in (1..txs.len()).rev() {
            txs.swap(i, rng.gen_range(0..=i));
        }
        // The header: a random proposer and signers (some left out), or
        // nobody known.
        if rng.gen_bool(0.1) {
            w.chain.header = BlockConsensus::default();
        } else {
            let proposer = rng.gen_range(0..n);
            let signers: Vec<u16> = (0..n).filter(|_| rng.gen_bool(0.8)).collect();
            w.chain.next_header(proposer, &signers);
        }
        let out = w.chain.block(&txs);
        cov.refused += out.rejected.len();
        for r in &out.receipts {
            cov.count(&r.events);
        }
        cov.count(&out.boundary.events);
    }
    cov
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn random_staking_mixes_agree_and_conserve_value(seed in any::<u64>()) {
        random_flow(seed, 24);
    }
}

/// The generator must reach every outcome, or the property would hold
/// vacuously.
#[test]
fn random_mixes_cover_every_outcome() {
    let mut total = Coverage::default();
    for seed in 0..6 {
        let c = random_flow(seed, 24);
        total.registered += c.registered;
        total.delegated += c.delegated;
        total.undelegated += c.undelegated;
        total.released += c.released;
        total.slashed += c.slashed;
        total.rewarded += c.rewarded;
        total.credited += c.credited;
        total.leaked += c.leaked;
        total.epochs += c.epochs;
        total.jobs += c.jobs;
        total.refused += c.refused;
    }
    let t = &total;
    println!("{t:?}");
    assert!(t.registered > 0, "{t:?}");
    assert!(t.delegated > 10, "{t:?}");
    assert!(t.undelegated > 5, "{t:?}");
    assert!(t.released > 0, "{t:?}");
    assert!(t.slashed > 2, "{t:?}");
    assert!(t.rewarded > 50, "{t:?}");
    assert!(t.credited > 10, "{t:?}");
    assert!(t.leaked > 0, "{t:?}");
    assert!(t.epochs >= 30, "{t:?}");
    assert!(t.jobs > 0, "{t:?}");
    assert!(t.refused > 5, "{t:?}");
}
