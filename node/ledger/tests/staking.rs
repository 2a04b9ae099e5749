//! Staking in the state transition: epochs and seeds, registration,
//! delegation and unbonding, slashing, downtime, rewards and attested
//! validators, each rejection on its own (harness: `common/staking.rs`;
//! every block runs in both execution modes and checks the supply).

mod common;

use aether_consensus::next_epoch_seed;
use aether_evidence::sim::{SimSigner, SimSnpOptions};
use aether_ledger::market::{MarketError, share};
use aether_ledger::staking::*;
use aether_ledger::*;
use aether_types::*;
use common::market::*;
use common::staking::*;
use common::*;

fn rewarded(out: &BlockOutcome) -> Option<(ValidatorId, u128, u128, u32)> {
    out.boundary.events.iter().find_map(|e| match e {
        Event::BlockRewarded {
            proposer,
            fees,
            minted,
            signers,
            ..
        } => Some((*proposer, *fees, *minted, *signers)),
        _ => None,
    })
}

#[test]
fn epochs_fix_the_next_set_and_seed_at_their_last_block() {
    let mut chain = staking_chain(staking_params(), 4);
    let set0 = chain.epoch_set(0).unwrap();
    assert_eq!(set0.members.len(), 4);
    assert_eq!(set0.first_height, 1);
    assert!(
        set0.members
            .windows(2)
            .all(|w| w[0].validator < w[1].validator)
    );
    assert_eq!(set0.total_stake(), 4 * (BOND / AIC));
    assert_eq!(chain.current_epoch(), 0);

    let mut outputs = Vec::new();
    for h in 1..=EPOCH {
        chain.next_header((h % 4) as u16, &[0, 1, 2, 3]);
        outputs.push(chain.header.vrf_output.unwrap());
        let out = chain.block(&[]);
        let changed = out
            .boundary
            .events
            .iter()
            .any(|e| matches!(e, Event::EpochChanged { .. }));
        // Only the epoch's last block fixes the next set.
        assert_eq!(changed, h == EPOCH, "height {h}");
        if h < EPOCH {
            assert!(chain.epoch_set(1).is_none());
            assert!(matches!(
                chain.set.get_object(&ObjectKey::VrfOutput(h)),
                Some(Object::VrfOutput(_))
            ));
        }
    }
    assert_eq!(chain.current_epoch(), 1);
    let set1 = chain.epoch_set(1).unwrap();
    assert_eq!(set1.first_height, EPOCH + 1);
    assert_eq!(set1.seed, next_epoch_seed(&set0.seed, outputs.iter()));
    // Outputs are consumed; the set's stakes grew by the rewards.
    for h in 1..=EPOCH {
        assert!(chain.set.get_object(&ObjectKey::VrfOutput(h)).is_none());
    }
    assert!(set1.total_stake() >= set0.total_stake());
    assert_eq!(chain.activity(), EpochActivity::new(Epoch(1), 4));
    // Sets older than evidence_max_age (1) epochs are dropped: in epoch 1
    // sets 0 and 1 are kept, in epoch 2 sets 1 and 2.
    assert!(chain.epoch_set(0).is_some());
    chain.finish_epoch();
    assert_eq!(chain.current_epoch(), 2);
    assert!(chain.epoch_set(0).is_none());
    assert!(chain.epoch_set(1).is_some() && chain.epoch_set(2).is_some());
}

#[test]
fn rewards_split_between_proposer_and_signers_and_reach_the_stake_at_the_epoch_end() {
    let mut chain = staking_chain(staking_params(), 4);
    let (.., stranger) = keys();
    let p = chain.index_of(0, 2);
    let set = chain.epoch_set(0).unwrap();
    let pid = set.members[usize::from(p)].validator;
    // A block with one transfer: proposer p, signers all but index 3.
    let signers: Vec<u16> = (0..4u16).filter(|i| *i != 3).collect();
    chain.next_header(p, &signers);
    let tx = aether_client::TxBuilder::new(&chain.ledger.params().tx_params())
        .pay(addr(&stranger), AIC)
        .change_to(addr(&stranger))
        .signer(&stranger)
        .fund_from(&chain.coins(&stranger))
        .unwrap();
    let fee = tx.body.fee;
    let out = chain.block(&[tx]);
    assert_eq!(rewarded(&out), Some((pid, fee, REWARD, 3)));
    let total = fee + REWARD;
    let rest = total - share(total, 1_000);
    let act = chain.activity();
    // Equal stakes: each signer gets rest/3; the proposer its share, its
    // signer part and the rounding.
    let each = rest / 3;
    for i in 0..4u16 {
        let mut expected = if i == 3 { 0 } else { each };
        if i == p {
            expected += total - 3 * each;
        }
        assert_eq!(act.rewards[usize::from(i)], expected, "index {i}");
        assert_eq!(act.presence[usize::from(i)], u32::from(i != 3 || i == p));
    }
    assert_eq!(act.rewards.iter().sum::<u128>(), total);

    // At the epoch's end the rewards become stake: commission (5 %) as new
    // owner shares, the rest raising every share's value.
    let before = chain.validator(pid);
    let owner_before = chain.delegation(pid, &owner(2)).unwrap().shares;
    let pending = act.rewards[usize::from(p)];
    let mut credited = None;
    let mut all_rewards = act.rewards.iter().sum::<u128>();
    let mut all_credited = 0u128;
    for out in chain.finish_epoch() {
        if let Some((_, fees, minted, _)) = rewarded(&out) {
            all_rewards += fees + minted;
        }
        for e in &out.boundary.events {
            if let Event::RewardsCredited {
                validator,
                amount,
                commission,
                ..
            } = e
            {
                all_credited += amount;
                if *validator == pid {
                    credited = Some((*amount, *commission));
                }
            }
        }
    }
    assert_eq!(all_credited, all_rewards, "every reward reaches a stake");
    let (amount, commission) = credited.unwrap();
    assert!(amount > pending);
    assert_eq!(commission, share(amount, 500));
    let after = chain.validator(pid);
    assert_eq!(after.tokens, before.tokens + amount);
    let owner_after = chain.delegation(pid, &owner(2)).unwrap().shares;
    assert!(owner_after > owner_before, "commission became owner shares");
    assert_eq!(after.shares - before.shares, owner_after - owner_before);
    // The owner holds every share: its value is the whole stake.
    assert_eq!(after.value_of(owner_after), after.tokens);
}

#[test]
fn a_dev_header_names_its_proposer_by_network_key_and_unknown_proposers_burn_fees() {
    let mut chain = staking_chain(staking_params(), 1);
    let (.., stranger) = keys();
    let pay = |chain: &Chain| {
        aether_client::TxBuilder::new(&chain.ledger.params().tx_params())
            .pay(addr(&stranger), AIC)
            .change_to(addr(&stranger))
            .signer(&stranger)
            .fund_from(&chain.coins(&stranger))
            .unwrap()
    };
    chain.header = BlockConsensus::from_fields(&ConsensusFields::SingleValidator {
        proposer: net(0).public_key(),
    });
    let tx = pay(&chain);
    let first_fee = tx.body.fee;
    let out = chain.block(&[tx]);
    assert_eq!(
        rewarded(&out),
        Some((genesis_validator(0, BOND).id(), first_fee, REWARD, 0))
    );
    assert_eq!(chain.activity().rewards, vec![first_fee + REWARD]);
    // A header that names nobody: the fees are burned, nothing minted.
    chain.header = BlockConsensus::default();
    let tx = pay(&chain);
    let fee = tx.body.fee;
    let burned = chain.burned;
    let out = chain.block(&[tx]);
    assert_eq!(rewarded(&out), None);
    assert_eq!(chain.burned, burned + fee);
    assert_eq!(chain.activity().rewards, vec![first_fee + REWARD]);
    assert_eq!(chain.activity().blocks, 1);
}

#[test]
fn registration_checks_each_fail_alone_and_a_registered_validator_joins_at_the_epoch_end() {
    let mut chain = staking_chain(staking_params(), 2);
    chain.fund(&owner(5), 10_000 * AIC, 1);
    let submit = |chain: &Chain, r: RegisterValidator, network: bool| {
        let extra: Vec<&aether_crypto::ed25519::Keypair> = Vec::new();
        let net_key = net(5);
        let mut signers = extra;
        if network {
            signers.push(&net_key);
        }
        chain.tx(
            &owner(5),
            &signers,
            vec![Action::RegisterValidator(Box::new(r))],
        )
    };
    // Each check alone.
    let mut bad_pop = registration(5, 500 * AIC);
    bad_pop.proof_of_possession = registration(6, 500 * AIC).proof_of_possession;
    let e = staking_error(chain.refused(submit(&chain, bad_pop, true)));
    assert!(matches!(e, StakingError::BadProofOfPossession(_)), "{e}");
    let mut bad_key = registration(5, 500 * AIC);
    bad_key.bls_key = BlsPublicKeyBytes([0x8a; 48]);
    let e = staking_error(chain.refused(submit(&chain, bad_key, true)));
    assert!(matches!(e, StakingError::InvalidBlsKey(_)), "{e}");
    let mut other_owner = registration(5, 500 * AIC);
    other_owner.owner = owner(6).key_hash();
    let e = staking_error(chain.refused(submit(&chain, other_owner, true)));
    assert_eq!(e, StakingError::NotOwner);
    let e = staking_error(chain.refused(submit(&chain, registration(5, 500 * AIC), false)));
    assert_eq!(e, StakingError::NetworkKeyDidNotSign);
    let e = staking_error(chain.refused(submit(&chain, registration(5, 50 * AIC), true)));
    assert_eq!(
        e,
        StakingError::SelfBondTooLow {
            bond: 50 * AIC,
            min: 100 * AIC
        }
    );
    // A genesis validator's key again.
    let mut again = registration(0, 500 * AIC);
    again.owner = owner(5).key_hash();
    again.network_key = net(5).public_key();
    let e = staking_error(chain.refused(submit(&chain, again, true)));
    assert_eq!(
        e,
        StakingError::ValidatorExists(genesis_validator(0, BOND).id())
    );

    // The good one: the self-bond is deposited and held by the validator.
    let before = chain.balance(&owner(5));
    let tx = submit(&chain, registration(5, 500 * AIC), true);
    let fee = tx.body.fee;
    let r = chain.ok(tx);
    let id = genesis_validator(5, 0).id();
    assert_eq!(
        r.events,
        vec![Event::ValidatorRegistered {
            validator: id,
            self_bond: 500 * AIC,
            attested: None
        }]
    );
    assert_eq!(chain.balance(&owner(5)), before - 500 * AIC - fee);
    let v = chain.validator(id);
    assert_eq!(
        (v.tokens, v.shares, v.commission_bps),
        (500 * AIC, 500 * AIC, 1_000)
    );
    assert!(chain.epoch_set(0).unwrap().index_of(&id).is_none());
    chain.finish_epoch();
    let set1 = chain.epoch_set(1).unwrap();
    let member = set1.members[set1.index_of(&id).unwrap()];
    assert_eq!(member.stake, 500);
    assert_eq!(member.network_key, net(5).public_key());
}

#[test]
fn delegation_buys_shares_and_undelegation_pays_out_after_the_delay() {
    let mut chain = staking_chain(staking_params(), 2);
    let (.., client, _, stranger) = keys();
    let v = genesis_validator(1, BOND).id();
    let delegate = |chain: &Chain, k: &aether_crypto::ed25519::Keypair, amount: u128| {
        chain.tx(
            k,
            &[],
            vec![Action::Delegate(Delegate {
                validator: v,
                delegator: k.key_hash(),
                amount,
            })],
        )
    };
    // Each check alone.
    let mut unsigned = delegate(&chain, &stranger, 10 * AIC);
    if let Action::Delegate(d) = &mut unsigned.body.actions[0] {
        d.delegator = client.key_hash();
    }
    let unsigned = chain.tx(&stranger, &[], unsigned.body.actions.clone());
    assert_eq!(
        staking_error(chain.refused(unsigned)),
        StakingError::NotDelegator
    );
    assert!(matches!(
        staking_error(chain.refused(delegate(&chain, &stranger, AIC - 1))),
        StakingError::DelegationTooSmall { .. }
    ));
    let nobody = ValidatorId([9; 32]);
    let tx = chain.tx(
        &stranger,
        &[],
        vec![Action::Delegate(Delegate {
            validator: nobody,
            delegator: stranger.key_hash(),
            amount: 10 * AIC,
        })],
    );
    assert_eq!(
        staking_error(chain.refused(tx)),
        StakingError::UnknownValidator(nobody)
    );

    let r = chain.ok(delegate(&chain, &stranger, 250 * AIC));
    assert!(matches!(
        r.events[0],
        Event::Delegated { shares, amount, .. } if shares == 250 * AIC && amount == 250 * AIC
    ));
    let val = chain.validator(v);
    assert_eq!(
        (val.tokens, val.shares),
        (BOND + 250 * AIC, BOND + 250 * AIC)
    );
    assert_eq!(chain.delegation(v, &stranger).unwrap().shares, 250 * AIC);
    // The stake of the next set includes it.
    chain.finish_epoch();
    let set1 = chain.epoch_set(1).unwrap();
    let stake = set1.members[set1.index_of(&v).unwrap()].stake;
    assert!(stake >= 1_250, "{stake}");

    // Undelegate 100 AIC: it leaves the stake now and is paid after the delay.
    let undelegate = |chain: &Chain, amount: u128| {
        chain.tx(
            &stranger,
            &[],
            vec![Action::Undelegate(Undelegate {
                validator: v,
                delegator: stranger.key_hash(),
                amount,
            })],
        )
    };
    let tx = chain.tx(
        &client,
        &[],
        vec![Action::Undelegate(Undelegate {
            validator: v,
            delegator: client.key_hash(),
            amount: AIC,
        })],
    );
    assert_eq!(
        staking_error(chain.refused(tx)),
        StakingError::UnknownDelegation
    );
    let value_before = {
        let val = chain.validator(v);
        val.value_of(chain.delegation(v, &stranger).unwrap().shares)
    };
    let r = chain.ok(undelegate(&chain, 100 * AIC));
    let release = match r.events[0] {
        Event::UndelegationStarted {
            amount,
            release_height,
            ..
        } => {
            assert_eq!(amount, 100 * AIC);
            release_height
        }
        ref other => panic!("{other:?}"),
    };
    assert_eq!(release, chain.height + 3 * EPOCH);
    let val = chain.validator(v);
    let d = chain.delegation(v, &stranger).unwrap();
    assert_eq!(val.unbonding.len(), 1);
    assert_eq!(val.unbonding[0].tokens, 100 * AIC);
    // Rounding never favours the one who leaves.
    assert!(val.value_of(d.shares) <= value_before - 100 * AIC);
    assert!(val.value_of(d.shares) + 1 >= value_before - 100 * AIC);
    let balance = chain.balance(&stranger);
    while chain.height + 1 < release {
        chain.block(&[]);
    }
    assert_eq!(chain.balance(&stranger), balance);
    let out = chain.block(&[]);
    let paid = out
        .boundary
        .events
        .iter()
        .find_map(|e| match e {
            Event::UndelegationReleased { amount, output, .. } => Some((*amount, *output)),
            _ => None,
        })
        .unwrap();
    assert_eq!(paid.0, 100 * AIC);
    assert!(paid.1.is_some());
    assert_eq!(chain.balance(&stranger), balance + 100 * AIC);
    assert!(chain.validator(v).unbonding.is_empty());

    // Undelegating more than the value takes all of it and ends the delegation.
    chain.ok(undelegate(&chain, u128::MAX / 2));
    let d = chain.delegation(v, &stranger).unwrap();
    assert_eq!(d.shares, 0);
    assert_eq!(d.unbonding.len(), 1);
    for _ in 0..3 * EPOCH {
        chain.block(&[]);
    }
    assert!(
        chain.delegation(v, &stranger).is_none(),
        "deleted once paid"
    );
    let val = chain.validator(v);
    assert_eq!(val.shares, chain.delegation(v, &owner(1)).unwrap().shares);
}

#[test]
fn too_many_pending_undelegations_are_refused() {
    let mut chain = staking_chain(staking_params(), 1);
    let v = genesis_validator(0, BOND).id();
    let one = Action::Undelegate(Undelegate {
        validator: v,
        delegator: owner(0).key_hash(),
        amount: AIC,
    });
    chain.ok(chain.tx(&owner(0), &[], vec![one; MAX_STAKE_UNBONDING]));
    let tx = chain.tx(
        &owner(0),
        &[],
        vec![Action::Undelegate(Undelegate {
            validator: v,
            delegator: owner(0).key_hash(),
            amount: AIC,
        })],
    );
    assert_eq!(
        staking_error(chain.refused(tx)),
        StakingError::TooManyUnbonding
    );
}

#[test]
fn an_equivocation_slashes_five_percent_pro_rata_pays_the_reporter_and_removes_the_validator() {
    let mut chain = staking_chain(staking_params(), 4);
    let (.., challenger, stranger) = keys();
    let offender = genesis_validator(2, BOND).id();
    // A delegator backs the offender.
    chain.ok(chain.tx(
        &stranger,
        &[],
        vec![Action::Delegate(Delegate {
            validator: offender,
            delegator: stranger.key_hash(),
            amount: 200 * AIC,
        })],
    ));
    let index = chain.index_of(0, 2);
    let evidence = equivocation(2, index, 0, 3, EquivocationKind::Vote, 1, 2);
    let before = chain.validator(offender);
    let delegator_value = before.value_of(chain.delegation(offender, &stranger).unwrap().shares);
    let owner_value = before.value_of(chain.delegation(offender, &owner(2)).unwrap().shares);
    let reporter_before = chain.balance(&challenger);
    let burned_before = chain.burned;
    let tx = chain.tx(
        &challenger,
        &[],
        vec![report(evidence.clone(), addr(&challenger))],
    );
    let fee = tx.body.fee;
    let r = chain.ok(tx);
    let slashed = share(before.tokens, 500);
    let reward = share(slashed, 1_000);
    let tx_id = r.tx_id;
    assert_eq!(
        r.events,
        vec![
            Event::Burned {
                amount: slashed - reward
            },
            Event::ValidatorSlashed {
                validator: offender,
                epoch: Epoch(0),
                round: Round(3),
                kind: EquivocationKind::Vote,
                amount: slashed,
                reporter_reward: reward,
                // After the change output and the (absent) collateral return.
                reporter_output: Some(OutPoint::new(tx_id, 2)),
            }
        ]
    );
    assert_eq!(chain.balance(&challenger), reporter_before - fee + reward);
    assert!(chain.burned >= burned_before + slashed - reward);
    let after = chain.validator(offender);
    assert!(after.tombstoned);
    assert_eq!(after.tokens, before.tokens - slashed);
    // Self-bond and delegation lose the same 5 % (up to rounding).
    let d_after = after.value_of(chain.delegation(offender, &stranger).unwrap().shares);
    let o_after = after.value_of(chain.delegation(offender, &owner(2)).unwrap().shares);
    assert!(d_after.abs_diff(delegator_value - share(delegator_value, 500)) <= 1);
    assert!(o_after.abs_diff(owner_value - share(owner_value, 500)) <= 1);

    // The same evidence, or another pair for the same round, slashes nothing.
    let e = staking_error(chain.refused(chain.tx(
        &challenger,
        &[],
        vec![report(evidence, addr(&challenger))],
    )));
    assert!(matches!(e, StakingError::AlreadySlashed(_)), "{e}");
    let other_pair = equivocation(2, index, 0, 3, EquivocationKind::Vote, 1, 7);
    let e = staking_error(chain.refused(chain.tx(
        &challenger,
        &[],
        vec![report(other_pair, addr(&challenger))],
    )));
    assert!(matches!(e, StakingError::AlreadySlashed(_)), "{e}");
    // No new stake for a tombstoned validator.
    let e = staking_error(chain.refused(chain.tx(
        &stranger,
        &[],
        vec![Action::Delegate(Delegate {
            validator: offender,
            delegator: stranger.key_hash(),
            amount: 10 * AIC,
        })],
    )));
    assert_eq!(e, StakingError::Tombstoned(offender));

    // Removed from the next epoch's set; the others stay.
    chain.finish_epoch();
    let set1 = chain.epoch_set(1).unwrap();
    assert_eq!(set1.members.len(), 3);
    assert!(set1.index_of(&offender).is_none());
    // Its delegators can still leave.
    chain.ok(chain.tx(
        &stranger,
        &[],
        vec![Action::Undelegate(Undelegate {
            validator: offender,
            delegator: stranger.key_hash(),
            amount: u128::MAX,
        })],
    ));
}

#[test]
fn each_evidence_check_fails_alone() {
    let mut chain = staking_chain(staking_params(), 4);
    let (.., challenger, _) = keys();
    let index = chain.index_of(0, 1);
    let index_of_0 = chain.index_of(0, 0);
    let refused = |chain: &mut Chain, e: EquivocationEvidence| {
        let tx = chain.tx(&challenger, &[], vec![report(e, addr(&challenger))]);
        staking_error(chain.refused(tx))
    };
    // A future epoch.
    let e = refused(
        &mut chain,
        equivocation(1, index, 1, 3, EquivocationKind::Vote, 1, 2),
    );
    assert_eq!(
        e,
        StakingError::EvidenceFromFuture {
            epoch: Epoch(1),
            current: Epoch(0)
        }
    );
    // An index outside the set.
    let e = refused(
        &mut chain,
        equivocation(1, 9, 0, 3, EquivocationKind::Vote, 1, 2),
    );
    assert_eq!(e, StakingError::OffenderNotInSet(ValidatorIndex(9)));
    // Signed by another validator than the index names.
    let wrong_index = (index + 1) % 4;
    let e = refused(
        &mut chain,
        equivocation(1, wrong_index, 0, 3, EquivocationKind::Vote, 1, 2),
    );
    assert_eq!(e, StakingError::BadEvidenceSignature);
    // Signatures under the other domain (proposals claimed as votes).
    let mut crossed = equivocation(1, index, 0, 3, EquivocationKind::Proposal, 1, 2);
    crossed.kind = EquivocationKind::Vote;
    let e = refused(&mut chain, crossed);
    assert_eq!(e, StakingError::BadEvidenceSignature);
    // Made for another chain (another genesis id).
    let ra = block_ref(0, 3, 1);
    let rb = block_ref(0, 3, 2);
    let other_chain = |r: &BlockRef| {
        BlsSignatureBytes(
            bls(1)
                .sign(
                    aether_crypto::bls::Domain::Vote,
                    &aether_consensus::signing::block_message(&BlockHash([1; 32]), r),
                )
                .to_bytes(),
        )
    };
    let foreign = EquivocationEvidence::new(
        EquivocationKind::Vote,
        ValidatorIndex(index),
        (ra, other_chain(&ra)),
        (rb, other_chain(&rb)),
    )
    .unwrap();
    assert_eq!(
        refused(&mut chain, foreign),
        StakingError::BadEvidenceSignature
    );
    // Proposals are evidence too.
    let r = chain.ok(chain.tx(
        &challenger,
        &[],
        vec![report(
            equivocation(1, index, 0, 5, EquivocationKind::Proposal, 3, 4),
            addr(&challenger),
        )],
    ));
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::ValidatorSlashed {
            kind: EquivocationKind::Proposal,
            ..
        }
    )));
    // Evidence of epoch 0 is accepted in epoch 1 (evidence_max_age = 1),
    // not in epoch 2.
    chain.finish_epoch();
    let late = equivocation(3, chain.index_of(0, 3), 0, 2, EquivocationKind::Vote, 1, 2);
    chain.ok(chain.tx(&challenger, &[], vec![report(late, addr(&challenger))]));
    chain.finish_epoch();
    let too_late = equivocation(0, index_of_0, 0, 2, EquivocationKind::Vote, 1, 2);
    assert_eq!(
        refused(&mut chain, too_late),
        StakingError::EvidenceTooOld {
            epoch: Epoch(0),
            current: Epoch(2)
        }
    );
}

#[test]
fn unbonding_stake_stays_slashable_for_the_epochs_it_was_bonded_in() {
    let mut chain = staking_chain(staking_params(), 4);
    let (.., challenger, stranger) = keys();
    let v = genesis_validator(3, BOND).id();
    chain.ok(chain.tx(
        &stranger,
        &[],
        vec![Action::Delegate(Delegate {
            validator: v,
            delegator: stranger.key_hash(),
            amount: 400 * AIC,
        })],
    ));
    let undelegate = |chain: &Chain, amount| {
        chain.tx(
            &stranger,
            &[],
            vec![Action::Undelegate(Undelegate {
                validator: v,
                delegator: stranger.key_hash(),
                amount,
            })],
        )
    };
    // 100 AIC leave in epoch 0, 100 AIC in epoch 1.
    chain.ok(undelegate(&chain, 100 * AIC));
    chain.finish_epoch();
    chain.ok(undelegate(&chain, 100 * AIC));
    // An equivocation of epoch 1: the epoch-1 pool was bonded then and is
    // slashed; the epoch-0 pool had left before and is not.
    let before = chain.validator(v);
    let index = chain.index_of(1, 3);
    let r = chain.ok(chain.tx(
        &challenger,
        &[],
        vec![report(
            equivocation(3, index, 1, 6, EquivocationKind::Vote, 1, 2),
            addr(&challenger),
        )],
    ));
    let after = chain.validator(v);
    let pool = |val: &ValidatorRecord, e: u64| {
        val.unbonding
            .iter()
            .find(|p| p.epoch == Epoch(e))
            .map(|p| p.tokens)
            .unwrap()
    };
    assert_eq!(pool(&after, 0), pool(&before, 0));
    assert_eq!(
        pool(&after, 1),
        pool(&before, 1) - share(pool(&before, 1), 500)
    );
    let expected = share(before.tokens, 500) + share(pool(&before, 1), 500);
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::ValidatorSlashed { amount, .. } if *amount == expected))
    );
    // The payouts are what the pools hold after the slash.
    let mut released = Vec::new();
    for _ in 0..4 * EPOCH {
        for e in chain.block(&[]).boundary.events {
            if let Event::UndelegationReleased { amount, .. } = e {
                released.push(amount);
            }
        }
    }
    assert_eq!(released, vec![pool(&after, 0), pool(&after, 1)]);
}

#[test]
fn downtime_leaks_stake_of_absent_validators_but_tolerates_a_few_omissions() {
    let mut chain = staking_chain(staking_params(), 4);
    let absent = chain.index_of(0, 3);
    let sometimes = chain.index_of(0, 2);
    let others: Vec<u16> = (0..4u16).filter(|i| *i != absent).collect();
    let before_absent = chain.validator(genesis_validator(3, BOND).id()).tokens;
    let mut leaks = Vec::new();
    for h in 1..=EPOCH {
        // Proposers among the present; `sometimes` is left out of one QC
        // of four (a leader omitting it), `absent` of every one.
        let signers: Vec<u16> = others
            .iter()
            .copied()
            .filter(|i| !(h == 1 && *i == sometimes))
            .collect();
        let proposer = others[(h as usize) % others.len()];
        let proposer = if h == 1 && proposer == sometimes {
            others[0]
        } else {
            proposer
        };
        chain.next_header(proposer, &signers);
        for e in chain.block(&[]).boundary.events {
            if let Event::DowntimeLeak {
                validator,
                presence,
                blocks,
                amount,
                ..
            } = e
            {
                leaks.push((validator, presence, blocks, amount));
            }
        }
    }
    let absent_id = genesis_validator(3, BOND).id();
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    let (validator, presence, blocks, amount) = leaks[0];
    assert_eq!((validator, presence, blocks), (absent_id, 0, EPOCH as u32));
    // 1 % of its stake after its (zero) rewards.
    assert_eq!(amount, share(before_absent, 100));
    let v = chain.validator(absent_id);
    assert_eq!(v.leaked, amount);
    assert_eq!(v.tokens, before_absent - amount);
    // Not tombstoned: it stays in the set with its lower stake.
    assert!(!v.tombstoned);
    assert!(chain.epoch_set(1).unwrap().index_of(&absent_id).is_some());
}

fn attested_registration(chain: &Chain, evidence_keys: u32, measurement: [u8; 48]) -> Transaction {
    let mut r = registration(5, 500 * AIC);
    let bound = registration(evidence_keys, 500 * AIC);
    let report_data = validator_report_data(
        &bound.bls_key,
        &bound.network_key,
        chain.ledger.params().chain_id,
    );
    r.attestation = Some(to_chain(SimSigner::new().snp(
        measurement,
        report_data,
        &SimSnpOptions::default(),
    )));
    chain.tx(
        &owner(5),
        &[&net(5)],
        vec![Action::RegisterValidator(Box::new(r))],
    )
}

/// The world of the market tests (worker and validator images registered)
/// with staking on an attested chain.
fn attested_world(simulated_root: bool) -> Chain {
    let mut params = staking_params();
    params.staking.require_attestation = true;
    if !simulated_root {
        params.market.evidence = aether_evidence::EvidencePolicy::production();
    }
    let mut w = world(params);
    add_genesis_validators(&mut w.chain, 1);
    w.chain.fund(&owner(5), 10_000 * AIC, 1);
    w.chain
}

#[test]
fn attested_chains_need_evidence_of_a_registered_validator_image_binding_the_keys() {
    let mut chain = attested_world(true);
    // No evidence at all.
    let tx = chain.tx(
        &owner(5),
        &[&net(5)],
        vec![Action::RegisterValidator(Box::new(registration(
            5,
            500 * AIC,
        )))],
    );
    assert_eq!(
        staking_error(chain.refused(tx)),
        StakingError::AttestationRequired
    );
    // Evidence from an image nobody registered.
    let e = chain.refused(attested_registration(&chain, 5, OTHER_MEASUREMENT));
    assert_eq!(
        e,
        MarketError::UnregisteredMeasurement(LaunchMeasurement::Snp(OTHER_MEASUREMENT).id())
    );
    // Evidence from the worker image (registered, wrong role).
    let e = chain.refused(attested_registration(&chain, 5, WORKER_MEASUREMENT));
    assert!(
        matches!(
            e,
            MarketError::MeasurementRole {
                role: ImageRole::Worker,
                ..
            }
        ),
        "{e}"
    );
    // Evidence of the validator image, but binding another validator's keys.
    let e = chain.refused(attested_registration(&chain, 6, VALIDATOR_MEASUREMENT));
    assert_eq!(staking_error(e), StakingError::WrongValidatorBinding);
    // The right evidence.
    let r = chain.ok(attested_registration(&chain, 5, VALIDATOR_MEASUREMENT));
    let measurement = LaunchMeasurement::Snp(VALIDATOR_MEASUREMENT).id();
    assert!(matches!(
        r.events[0],
        Event::ValidatorRegistered { attested: Some(m), .. } if m == measurement
    ));
    assert_eq!(
        chain.validator(genesis_validator(5, 0).id()).attestation,
        Some(measurement)
    );
}

#[test]
fn simulated_evidence_passes_only_on_chains_that_trust_the_simulated_root() {
    let mut chain = attested_world(false);
    let e = chain.refused(attested_registration(&chain, 5, VALIDATOR_MEASUREMENT));
    assert!(
        matches!(
            e,
            MarketError::Evidence {
                check: "root_not_allowed",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn unattested_chains_still_check_evidence_that_is_given() {
    let mut w = world(staking_params());
    add_genesis_validators(&mut w.chain, 1);
    w.chain.fund(&owner(5), 10_000 * AIC, 1);
    let e = w
        .chain
        .refused(attested_registration(&w.chain, 6, VALIDATOR_MEASUREMENT));
    assert_eq!(staking_error(e), StakingError::WrongValidatorBinding);
    // Without evidence it is accepted (attestation off).
    let tx = w.chain.tx(
        &owner(5),
        &[&net(5)],
        vec![Action::RegisterValidator(Box::new(registration(
            5,
            500 * AIC,
        )))],
    );
    w.chain.ok(tx);
}

#[test]
fn genesis_validator_lists_are_checked() {
    let p = staking_params().staking;
    let seed = Digest([0; 32]);
    assert_eq!(
        genesis_objects(&p, &[], seed),
        Err(GenesisError::NoValidators)
    );
    let mut bad = genesis_validator(0, BOND);
    bad.proof_of_possession = genesis_validator(1, BOND).proof_of_possession;
    assert!(matches!(
        genesis_objects(&p, &[bad], seed),
        Err(GenesisError::Key { index: 0, .. })
    ));
    assert_eq!(
        genesis_objects(
            &p,
            &[genesis_validator(0, BOND), genesis_validator(0, BOND)],
            seed
        ),
        Err(GenesisError::DuplicateKey { index: 1 })
    );
    assert!(matches!(
        genesis_objects(&p, &[genesis_validator(0, AIC)], seed),
        Err(GenesisError::SelfBondTooLow { index: 0, .. })
    ));
    let mut high = genesis_validator(0, BOND);
    high.commission_bps = 10_001;
    assert!(matches!(
        genesis_objects(&p, &[high], seed),
        Err(GenesisError::Commission { index: 0, .. })
    ));
    let mut inconsistent = p.clone();
    inconsistent.unbonding_delay = 1;
    assert!(matches!(
        genesis_objects(&inconsistent, &[genesis_validator(0, BOND)], seed),
        Err(GenesisError::Params(_))
    ));
    // The consensus crate accepts the set the genesis fixes.
    let objects = genesis_objects(
        &p,
        &[genesis_validator(0, BOND), genesis_validator(1, BOND)],
        seed,
    )
    .unwrap();
    let set = objects
        .iter()
        .find_map(|(_, o)| match o {
            Object::EpochSet(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    let consensus = aether_consensus::ValidatorSet::new(Epoch(0), &validator_infos(&set)).unwrap();
    assert_eq!(consensus.total_stake(), 2 * (BOND / AIC));
}
