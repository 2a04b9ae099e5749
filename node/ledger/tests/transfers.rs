//! Key-locked transfers: happy path, double spends, signatures, value
//! conservation, fees, validity, chain id, required signers, multi-asset.

mod common;

use aether_ledger::*;
use aether_types::*;
use common::*;

#[test]
fn transfer_moves_value_and_pays_fee() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let (alice, bob) = (key(0), key(1));
    let mut set = genesis(&[addr(&alice)], 10 * AIC);
    let tx = transfer(&p, &alice, genesis_point(0), 10 * AIC, addr(&bob), 3 * AIC);
    let root_before = set.state_root();
    let out = run_block(&ledger, &mut set, 1, std::slice::from_ref(&tx));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.receipts.len(), 1);
    let r = &out.receipts[0];
    assert_eq!(r.status, TxStatus::Success);
    assert_eq!(r.tx_id, tx.id());
    assert_eq!(r.fee_charged, tx.body.fee);
    assert!(tx.body.fee >= p.fees.min_fee_for(&tx).unwrap());
    assert_eq!(balance(&set, addr(&bob)), 3 * AIC);
    assert_eq!(balance(&set, addr(&alice)), 7 * AIC - tx.body.fee);
    assert_eq!(out.diff.spent, [genesis_point(0)].into());
    assert_eq!(out.diff.created.len(), 2);
    assert_ne!(set.state_root(), root_before);
}

#[test]
fn fee_is_computable_before_signing() {
    let p = params();
    let alice = key(0);
    let tx = transfer(&p, &alice, genesis_point(0), 10 * AIC, addr(&key(1)), AIC);
    // Same body with a different fee value and zeroed signatures: same size, same fee.
    let mut unsigned = tx.clone();
    unsigned.body.fee = 0;
    unsigned.witnesses.vkeys[0].signature = Signature([0; 64]);
    assert_eq!(unsigned.encode().len(), tx.encode().len());
    assert_eq!(p.fees.min_fee_for(&unsigned).unwrap(), tx.body.fee);
    let size = tx.encode().len() as u128;
    assert_eq!(tx.body.fee, p.fees.base + p.fees.per_byte * size);
}

#[test]
fn double_spend_in_one_block_rejects_the_second() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let alice = key(0);
    let mut set = genesis(&[addr(&alice)], 10 * AIC);
    let a = transfer(&p, &alice, genesis_point(0), 10 * AIC, addr(&key(1)), AIC);
    let b = transfer(
        &p,
        &alice,
        genesis_point(0),
        10 * AIC,
        addr(&key(2)),
        2 * AIC,
    );
    let out = run_block(&ledger, &mut set, 1, &[a.clone(), b.clone()]);
    assert_eq!(out.receipts.len(), 1);
    assert_eq!(out.receipts[0].tx_id, a.id());
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].index, 1);
    assert_eq!(
        out.rejected[0].error,
        LedgerError::MissingInput(genesis_point(0))
    );
    assert!(out.ensure_all_valid().is_err());
    assert_eq!(balance(&set, addr(&key(2))), 0);
}

#[test]
fn double_spend_across_blocks_and_replay_rejected() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let alice = key(0);
    let mut set = genesis(&[addr(&alice)], 10 * AIC);
    let a = transfer(&p, &alice, genesis_point(0), 10 * AIC, addr(&key(1)), AIC);
    assert!(
        run_block(&ledger, &mut set, 1, std::slice::from_ref(&a))
            .rejected
            .is_empty()
    );
    let replay = run_block(&ledger, &mut set, 2, std::slice::from_ref(&a));
    assert_eq!(
        replay.rejected[0].error,
        LedgerError::MissingInput(genesis_point(0))
    );
    assert!(replay.diff.spent.is_empty() && replay.diff.created.is_empty());
}

#[test]
fn dependent_chain_in_one_block() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let (a, b, c) = (key(0), key(1), key(2));
    let mut set = genesis(&[addr(&a)], 10 * AIC);
    let t1 = transfer(&p, &a, genesis_point(0), 10 * AIC, addr(&b), 5 * AIC);
    let t2 = transfer(
        &p,
        &b,
        OutPoint::new(t1.id(), 0),
        5 * AIC,
        addr(&c),
        2 * AIC,
    );
    // Spending t2's output before t2 exists (forward reference) is invalid.
    let early = transfer(&p, &c, OutPoint::new(t2.id(), 0), 2 * AIC, addr(&a), AIC);
    let late = early.clone();
    let out = run_block(&ledger, &mut set, 1, &[early, t1.clone(), t2.clone(), late]);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].index, 0);
    assert_eq!(out.receipts.len(), 3);
    // t1's outputs 0 was created and spent inside the block.
    assert!(!out.diff.created.contains_key(&OutPoint::new(t1.id(), 0)));
    assert!(out.diff.created.contains_key(&OutPoint::new(t1.id(), 1)));
    assert_eq!(out.diff.spent, [genesis_point(0)].into());
}

#[test]
fn bad_and_missing_signatures() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let (alice, mallory) = (key(0), key(9));
    let set = genesis(&[addr(&alice)], 10 * AIC);
    let good = transfer(&p, &alice, genesis_point(0), 10 * AIC, addr(&mallory), AIC);

    let mut flipped = good.clone();
    flipped.witnesses.vkeys[0].signature.0[5] ^= 1;
    let mut body_changed = good.clone();
    body_changed.body.outputs[0].value.coin += 1;
    body_changed.body.outputs[1].value.coin -= 1;
    let mut wrong_key = good.clone();
    wrong_key.witnesses = TxWitnesses::default();
    wrong_key.witnesses.insert_vkey(mallory.sign_tx(&good.body));
    let mut no_witness = good.clone();
    no_witness.witnesses = TxWitnesses::default();
    let mut not_a_point = good.clone();
    not_a_point.witnesses.vkeys[0].public_key = PublicKey([0xff; 32]);

    let c = ctx(1);
    assert!(ledger.validate_transaction(&set, &c, &good).is_ok());
    assert_eq!(
        ledger.validate_transaction(&set, &c, &flipped).unwrap_err(),
        LedgerError::InvalidSignature
    );
    assert_eq!(
        ledger
            .validate_transaction(&set, &c, &body_changed)
            .unwrap_err(),
        LedgerError::InvalidSignature
    );
    assert_eq!(
        ledger
            .validate_transaction(&set, &c, &wrong_key)
            .unwrap_err(),
        LedgerError::MissingSignature(alice.key_hash())
    );
    assert_eq!(
        ledger
            .validate_transaction(&set, &c, &no_witness)
            .unwrap_err(),
        LedgerError::MissingSignature(alice.key_hash())
    );
    assert_eq!(
        ledger
            .validate_transaction(&set, &c, &not_a_point)
            .unwrap_err(),
        LedgerError::InvalidSignature
    );

    // The stateless check names the bad witness; its proof of verified
    // signatures only counts for the transaction it was made for.
    assert_eq!(
        aether_ledger::check_stateless(&p, &flipped).unwrap_err(),
        LedgerError::InvalidWitness { index: 0 }
    );
    let verified = aether_ledger::check_stateless(&p, &good).unwrap();
    assert_eq!(verified.tx_id(), good.id());
    assert!(ledger.validate_verified(&set, &c, &good, &verified).is_ok());
    assert_eq!(
        ledger
            .validate_verified(&set, &c, &flipped, &verified)
            .unwrap_err(),
        LedgerError::InvalidSignature,
        "a proof for another transaction must not skip verification"
    );
    assert_eq!(
        ledger
            .validate_verified(&set, &c, &body_changed, &verified)
            .unwrap_err(),
        LedgerError::InvalidSignature
    );

    // In a block, the bad one is rejected and the good one (in the same
    // signature batch) still goes through.
    let mut set2 = genesis(&[addr(&alice), addr(&alice)], 10 * AIC);
    let other = transfer(&p, &alice, genesis_point(1), 10 * AIC, addr(&mallory), AIC);
    let out = run_block(&ledger, &mut set2, 1, &[flipped, other.clone()]);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].error, LedgerError::InvalidSignature);
    assert_eq!(out.receipts[0].tx_id, other.id());
}

#[test]
fn value_must_be_conserved() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let alice = key(0);
    let set = genesis(&[addr(&alice)], 10 * AIC);
    let mut body = empty_body(&p);
    body.inputs.insert(genesis_point(0));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    // Creates one base unit out of thin air.
    let inflate = finish(&p, body.clone(), &[&alice], vec![], |b, fee| {
        b.outputs[0].value.coin = 10 * AIC - fee + 1;
    });
    // Destroys one base unit.
    let deflate = finish(&p, body, &[&alice], vec![], |b, fee| {
        b.outputs[0].value.coin = 10 * AIC - fee - 1;
    });
    for tx in [inflate, deflate] {
        assert!(matches!(
            ledger.validate_transaction(&set, &ctx(1), &tx),
            Err(LedgerError::ValueNotConserved { .. })
        ));
    }
}

#[test]
fn overflowing_outputs_are_rejected_not_wrapped() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let alice = key(0);
    let set = genesis(&[addr(&alice)], 10 * AIC);
    let mut body = empty_body(&p);
    body.inputs.insert(genesis_point(0));
    body.outputs.push(TxOutput::coin(addr(&key(1)), u128::MAX));
    body.outputs.push(TxOutput::coin(addr(&key(1)), u128::MAX));
    let tx = finish(&p, body, &[&alice], vec![], |_, _| {});
    assert_eq!(
        ledger.validate_transaction(&set, &ctx(1), &tx).unwrap_err(),
        LedgerError::ValueOverflow
    );
}

#[test]
fn fee_too_low_wrong_chain_interval_dust_size() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let alice = key(0);
    let set = genesis(&[addr(&alice)], 10 * AIC);
    let build = |edit: &dyn Fn(&mut TxBody)| {
        let mut body = empty_body(&p);
        body.inputs.insert(genesis_point(0));
        body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
        edit(&mut body);
        finish(&p, body, &[&alice], vec![], |b, fee| {
            b.outputs[0].value.coin = 10 * AIC - fee;
        })
    };
    let c = ctx(10);
    assert!(
        ledger
            .validate_transaction(&set, &c, &build(&|_| {}))
            .is_ok()
    );

    // Fee one below the minimum (value rebalanced so only the fee is wrong).
    let mut low = build(&|_| {});
    low.body.fee -= 1;
    low.body.outputs[0].value.coin += 1;
    low.witnesses = TxWitnesses::default();
    low.witnesses.insert_vkey(alice.sign_tx(&low.body));
    assert!(matches!(
        ledger.validate_transaction(&set, &c, &low),
        Err(LedgerError::FeeTooLow { .. })
    ));

    let other_chain = build(&|b| b.chain_id = ChainId(1));
    assert!(matches!(
        ledger.validate_transaction(&set, &c, &other_chain),
        Err(LedgerError::WrongChain { .. })
    ));
    let expired = build(&|b| b.validity.invalid_hereafter = Some(10));
    assert_eq!(
        ledger.validate_transaction(&set, &c, &expired).unwrap_err(),
        LedgerError::OutsideValidityInterval { height: 10 }
    );
    let early = build(&|b| b.validity.invalid_before = Some(11));
    assert!(ledger.validate_transaction(&set, &c, &early).is_err());
    assert!(ledger.validate_transaction(&set, &ctx(11), &early).is_ok());

    let dust = build(&|b| b.outputs.push(TxOutput::coin(addr(&key(2)), 1)));
    // `finish` leaves the dust output as is; value is then off by 1, but the
    // dust check comes first.
    assert!(matches!(
        ledger.validate_transaction(&set, &c, &dust),
        Err(LedgerError::OutputTooSmall { index: 1, .. })
    ));

    let big = build(&|b| {
        b.outputs[0].datum = Some(Datum::new(vec![0; MAX_DATUM_LEN]).unwrap());
        for i in 0..8 {
            let mut o = TxOutput::coin(addr(&key(2)), 0);
            o.datum = Some(Datum::new(vec![i; MAX_DATUM_LEN]).unwrap());
            b.outputs.push(o);
        }
    });
    assert!(matches!(
        ledger.validate_transaction(&set, &c, &big),
        Err(LedgerError::TooLarge { .. })
    ));
}

#[test]
fn required_signers_must_sign() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let (alice, notary) = (key(0), key(5));
    let set = genesis(&[addr(&alice)], 10 * AIC);
    let mut body = empty_body(&p);
    body.inputs.insert(genesis_point(0));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    body.required_signers.insert(notary.key_hash());
    let adjust = |b: &mut TxBody, fee: u128| b.outputs[0].value.coin = 10 * AIC - fee;
    let unsigned = finish(&p, body.clone(), &[&alice], vec![], adjust);
    assert_eq!(
        ledger
            .validate_transaction(&set, &ctx(1), &unsigned)
            .unwrap_err(),
        LedgerError::MissingSignature(notary.key_hash())
    );
    let signed = finish(&p, body, &[&alice, &notary], vec![], adjust);
    assert!(ledger.validate_transaction(&set, &ctx(1), &signed).is_ok());
}

#[test]
fn multi_asset_outputs_are_conserved() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let alice = key(0);
    let policy = ScriptHash([0x77; 32]);
    let gold = AssetName::new(b"gold".to_vec()).unwrap();
    let mut set = MemoryUtxoSet::new();
    let mut held = TxOutput::coin(addr(&alice), 10 * AIC);
    held.value
        .assets
        .checked_add_asset(policy, gold.clone(), 100)
        .unwrap();
    set.insert(genesis_point(0), held);

    let split = |to_bob: u128, to_alice: u128| {
        let mut body = empty_body(&p);
        body.inputs.insert(genesis_point(0));
        let mut o1 = TxOutput::coin(addr(&key(1)), AIC);
        o1.value
            .assets
            .checked_add_asset(policy, gold.clone(), to_bob)
            .unwrap();
        let mut o2 = TxOutput::coin(addr(&alice), 0);
        o2.value
            .assets
            .checked_add_asset(policy, gold.clone(), to_alice)
            .unwrap();
        body.outputs = vec![o1, o2];
        finish(&p, body, &[&alice], vec![], |b, fee| {
            b.outputs[1].value.coin = 9 * AIC - fee
        })
    };
    assert!(matches!(
        ledger.validate_transaction(&set, &ctx(1), &split(60, 41)),
        Err(LedgerError::ValueNotConserved { .. })
    ));
    let ok = split(60, 40);
    let out = run_block(&ledger, &mut set, 1, std::slice::from_ref(&ok));
    assert!(out.rejected.is_empty());
    let bob_out = set.get(&OutPoint::new(ok.id(), 0)).unwrap();
    assert_eq!(bob_out.value.assets.quantity(&policy, &gold), 60);
}

#[test]
fn storage_errors_abort_the_block() {
    struct Broken;
    impl UtxoView for Broken {
        fn utxo(&self, _: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
            Err(ViewError {
                message: "disk on fire".into(),
            })
        }

        fn object(&self, _: &ObjectKey) -> Result<Option<Object>, ViewError> {
            Err(ViewError {
                message: "disk on fire".into(),
            })
        }

        fn due_at(&self, _: u64) -> Result<Vec<ObjectKey>, ViewError> {
            Ok(vec![])
        }
    }
    let p = params();
    let ledger = Ledger::new(p.clone());
    let tx = transfer(&p, &key(0), genesis_point(0), 10 * AIC, addr(&key(1)), AIC);
    for mode in [ExecutionMode::Sequential, ExecutionMode::Parallel] {
        let err = ledger
            .execute_block(&Broken, &ctx(1), std::slice::from_ref(&tx), mode)
            .unwrap_err();
        assert_eq!(err.message, "disk on fire");
    }
}
