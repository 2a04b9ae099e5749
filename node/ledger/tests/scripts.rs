//! Script-locked spends: accepting, rejecting, looping (out of fuel),
//! trapping, floats, memory caps, forbidden imports, reference scripts,
//! reference inputs and collateral rules.

mod common;

use aether_crypto::ed25519::Keypair;
use aether_ledger::*;
use aether_types::*;
use common::*;

const LOCKED: u128 = 5 * AIC;
const COLLATERAL: u128 = 2 * AIC;

struct Fixture {
    p: ProtocolParams,
    ledger: Ledger,
    set: MemoryUtxoSet,
    owner: Keypair,
    script: Script,
}

/// Genesis: output 0 locked by `wat` with datum "secret"; output 1 a
/// key-locked collateral of the owner; output 2 another owner coin.
fn fixture(wat_source: &str) -> Fixture {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let owner = key(0);
    let script = wasm(wat_source);
    let mut set = genesis(&[addr(&owner), addr(&owner), addr(&owner)], COLLATERAL);
    let mut locked = TxOutput::coin(Address::Script(script.hash()), LOCKED);
    locked.datum = Some(Datum::new(b"secret".to_vec()).unwrap());
    set.insert(genesis_point(0), locked);
    Fixture {
        p,
        ledger,
        set,
        owner,
        script,
    }
}

/// Spends the script-locked output with `redeemer`, providing the script
/// as a witness, paying to key(1).
fn spend(f: &Fixture, redeemer_data: &[u8], fuel: u64) -> Transaction {
    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(0));
    body.spend_redeemers
        .insert(genesis_point(0), redeemer(redeemer_data, fuel));
    body.collateral.insert(genesis_point(1));
    body.collateral_return = Some(TxOutput::coin(addr(&f.owner), 0));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    finish(&f.p, body, &[&f.owner], vec![f.script.clone()], |b, fee| {
        b.outputs[0].value.coin = LOCKED - fee;
        b.collateral_return.as_mut().unwrap().value.coin = COLLATERAL - fee;
    })
}

/// Runs `tx` in a block and checks the script-failure rule: only the
/// collateral moved, the fee was charged, the locked output is untouched.
fn assert_failed_with(f: &mut Fixture, tx: &Transaction, expected: ScriptFailure) -> Receipt {
    let out = run_block(&f.ledger, &mut f.set, 1, std::slice::from_ref(tx));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let receipt = out.receipts[0].clone();
    assert_eq!(
        receipt.status,
        TxStatus::ScriptFailed {
            purpose: ScriptPurpose::Spend(genesis_point(0)),
            failure: expected
        }
    );
    assert_eq!(receipt.fee_charged, tx.body.fee);
    assert_eq!(out.diff.spent, [genesis_point(1)].into());
    let ret = OutPoint::new(tx.id(), tx.body.outputs.len() as u32);
    assert_eq!(
        out.diff.created.keys().copied().collect::<Vec<_>>(),
        vec![ret]
    );
    assert_eq!(
        f.set.get(&ret).unwrap().value.coin,
        COLLATERAL - tx.body.fee
    );
    assert!(
        f.set.get(&genesis_point(0)).is_some(),
        "locked output must stay"
    );
    assert_eq!(balance(&f.set, addr(&key(1))), 0);
    receipt
}

#[test]
fn accepting_script_unlocks_output() {
    let mut f = fixture(PASSWORD_WAT);
    let tx = spend(&f, b"secret", 200_000);
    let out = run_block(&f.ledger, &mut f.set, 1, std::slice::from_ref(&tx));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.receipts[0].status, TxStatus::Success);
    assert!(out.receipts[0].fuel_used > 0 && out.receipts[0].fuel_used <= 200_000);
    // Collateral untouched on success.
    assert!(f.set.get(&genesis_point(1)).is_some());
    assert!(f.set.get(&genesis_point(0)).is_none());
    assert_eq!(balance(&f.set, addr(&key(1))), LOCKED - tx.body.fee);
    // The fee covered the declared fuel.
    assert_eq!(
        tx.body.fee,
        f.p.fees.min_fee(tx.encode().len(), 200_000).unwrap()
    );
}

#[test]
fn rejecting_script_takes_only_collateral() {
    let mut f = fixture(PASSWORD_WAT);
    let tx = spend(&f, b"guess", 200_000);
    assert_failed_with(&mut f, &tx, ScriptFailure::Rejected { code: 0 });
    let mut g = fixture(REJECT_WAT);
    let tx = spend(&g, b"", 10_000);
    assert_failed_with(&mut g, &tx, ScriptFailure::Rejected { code: 0 });
}

#[test]
fn looping_script_runs_out_of_fuel() {
    let mut f = fixture(LOOP_WAT);
    let tx = spend(&f, b"", 100_000);
    let receipt = assert_failed_with(&mut f, &tx, ScriptFailure::OutOfFuel);
    assert_eq!(receipt.fuel_used, 100_000);
}

#[test]
fn fuel_below_load_cost_is_out_of_fuel() {
    let mut f = fixture(ACCEPT_WAT);
    let tx = spend(&f, b"", 10);
    let receipt = assert_failed_with(&mut f, &tx, ScriptFailure::OutOfFuel);
    assert_eq!(receipt.fuel_used, 10);
}

#[test]
fn trapping_script_fails() {
    let mut f = fixture(TRAP_WAT);
    let tx = spend(&f, b"", 100_000);
    assert_failed_with(&mut f, &tx, ScriptFailure::Trapped);
    let mut g = fixture(READ_PAST_CONTEXT_WAT);
    let tx = spend(&g, b"", 100_000);
    assert_failed_with(&mut g, &tx, ScriptFailure::Trapped);
}

#[test]
fn floats_are_rejected() {
    let mut f = fixture(FLOAT_WAT);
    assert_eq!(
        f.ledger.scripts().check(&f.script),
        Err(ScriptFailure::FloatsUsed)
    );
    let tx = spend(&f, b"", 100_000);
    assert_failed_with(&mut f, &tx, ScriptFailure::FloatsUsed);
}

#[test]
fn memory_is_capped() {
    let mut f = fixture(BIG_MEMORY_WAT);
    assert_eq!(
        f.ledger.scripts().check(&f.script),
        Err(ScriptFailure::ResourceLimit)
    );
    let tx = spend(&f, b"", 100_000);
    assert_failed_with(&mut f, &tx, ScriptFailure::ResourceLimit);
    // Growing past the cap fails (memory.grow returns -1), so this script rejects.
    let mut g = fixture(GROW_WAT);
    let tx = spend(&g, b"", 100_000);
    assert_failed_with(&mut g, &tx, ScriptFailure::Rejected { code: 0 });
}

#[test]
fn forbidden_imports_and_bad_exports_fail() {
    let mut f = fixture(FORBIDDEN_IMPORT_WAT);
    let tx = spend(&f, b"", 100_000);
    assert_failed_with(&mut f, &tx, ScriptFailure::ForbiddenImport);
    let mut g = fixture(NO_VALIDATE_WAT);
    let tx = spend(&g, b"", 100_000);
    assert_failed_with(&mut g, &tx, ScriptFailure::BadExports);
    let mut h = Fixture {
        script: Script::Wasm(WasmCode::new(b"not wasm".to_vec()).unwrap()),
        ..fixture(ACCEPT_WAT)
    };
    let mut locked = TxOutput::coin(Address::Script(h.script.hash()), LOCKED);
    locked.datum = None;
    h.set.insert(genesis_point(0), locked);
    let tx = spend(&h, b"", 100_000);
    assert_failed_with(&mut h, &tx, ScriptFailure::InvalidModule);
}

#[test]
fn script_results_are_deterministic_across_runs_and_cache() {
    let f = fixture(PASSWORD_WAT);
    let tx = spend(&f, b"secret", 200_000);
    let a = f.ledger.validate_transaction(&f.set, &ctx(1), &tx).unwrap();
    let b = f.ledger.validate_transaction(&f.set, &ctx(1), &tx).unwrap();
    let fresh = Ledger::new(f.p.clone());
    let c = fresh.validate_transaction(&f.set, &ctx(1), &tx).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn phase_one_script_rules() {
    let f = fixture(ACCEPT_WAT);
    let c = ctx(1);
    // No redeemer for a script-locked input.
    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(0));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    let tx = finish(&f.p, body, &[&f.owner], vec![f.script.clone()], |b, fee| {
        b.outputs[0].value.coin = LOCKED - fee
    });
    assert_eq!(
        f.ledger.validate_transaction(&f.set, &c, &tx).unwrap_err(),
        LedgerError::MissingRedeemer(genesis_point(0))
    );

    // Script not provided.
    let mut no_script = spend(&f, b"", 10_000);
    no_script.witnesses.scripts.clear();
    assert_eq!(
        f.ledger
            .validate_transaction(&f.set, &c, &no_script)
            .unwrap_err(),
        LedgerError::MissingScript(f.script.hash())
    );

    // No collateral.
    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(0));
    body.spend_redeemers
        .insert(genesis_point(0), redeemer(b"", 10_000));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    let tx = finish(&f.p, body, &[&f.owner], vec![f.script.clone()], |b, fee| {
        b.outputs[0].value.coin = LOCKED - fee
    });
    assert_eq!(
        f.ledger.validate_transaction(&f.set, &c, &tx).unwrap_err(),
        LedgerError::CollateralRequired
    );

    // Collateral that does not balance the fee exactly.
    let mut unbalanced = spend(&f, b"", 10_000);
    unbalanced
        .body
        .collateral_return
        .as_mut()
        .unwrap()
        .value
        .coin -= 1;
    unbalanced.witnesses.vkeys.clear();
    unbalanced
        .witnesses
        .insert_vkey(f.owner.sign_tx(&unbalanced.body));
    assert!(matches!(
        f.ledger.validate_transaction(&f.set, &c, &unbalanced),
        Err(LedgerError::CollateralNotBalanced { .. })
    ));

    // Collateral locked by a script.
    let mut script_collateral = spend(&f, b"", 10_000);
    script_collateral.body.collateral = [genesis_point(0)].into();
    script_collateral.witnesses.vkeys.clear();
    script_collateral
        .witnesses
        .insert_vkey(f.owner.sign_tx(&script_collateral.body));
    assert_eq!(
        f.ledger
            .validate_transaction(&f.set, &c, &script_collateral)
            .unwrap_err(),
        LedgerError::CollateralNotKeyLocked(genesis_point(0))
    );

    // Declared fuel over the per-transaction maximum.
    let too_much = spend(&f, b"", f.p.scripts.max_fuel_per_tx + 1);
    assert!(matches!(
        f.ledger.validate_transaction(&f.set, &c, &too_much),
        Err(LedgerError::FuelLimitExceeded { .. })
    ));

    // A redeemer on a key-locked input.
    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(2));
    body.spend_redeemers
        .insert(genesis_point(2), redeemer(b"", 10));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    let tx = finish(&f.p, body, &[&f.owner], vec![], |b, fee| {
        b.outputs[0].value.coin = COLLATERAL - fee
    });
    assert_eq!(
        f.ledger.validate_transaction(&f.set, &c, &tx).unwrap_err(),
        LedgerError::UnexpectedRedeemer(genesis_point(2))
    );

    // An unused witness script on a plain transfer.
    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(2));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    let tx = finish(&f.p, body, &[&f.owner], vec![wasm(REJECT_WAT)], |b, fee| {
        b.outputs[0].value.coin = COLLATERAL - fee
    });
    assert_eq!(
        f.ledger.validate_transaction(&f.set, &c, &tx).unwrap_err(),
        LedgerError::ExtraneousScript(wasm(REJECT_WAT).hash())
    );
}

#[test]
fn reference_script_through_reference_input_is_read_only() {
    let mut f = fixture(PASSWORD_WAT);
    // Publish the script in a key-locked output at genesis point 9.
    let mut carrier = TxOutput::coin(addr(&key(3)), AIC);
    carrier.reference_script = Some(f.script.clone());
    f.set.insert(genesis_point(9), carrier.clone());

    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(0));
    body.reference_inputs.insert(genesis_point(9));
    body.spend_redeemers
        .insert(genesis_point(0), redeemer(b"secret", 200_000));
    body.collateral.insert(genesis_point(1));
    body.collateral_return = Some(TxOutput::coin(addr(&f.owner), 0));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    let tx = finish(&f.p, body, &[&f.owner], vec![], |b, fee| {
        b.outputs[0].value.coin = LOCKED - fee;
        b.collateral_return.as_mut().unwrap().value.coin = COLLATERAL - fee;
    });
    // A second transaction in the same block reads the same reference input.
    let mut body2 = empty_body(&f.p);
    body2.inputs.insert(genesis_point(2));
    body2.reference_inputs.insert(genesis_point(9));
    body2.outputs.push(TxOutput::coin(addr(&key(4)), 0));
    let tx2 = finish(&f.p, body2, &[&f.owner], vec![], |b, fee| {
        b.outputs[0].value.coin = COLLATERAL - fee
    });

    let out = run_block(&f.ledger, &mut f.set, 1, &[tx, tx2]);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert!(out.receipts.iter().all(|r| r.status == TxStatus::Success));
    // Reference input untouched.
    assert_eq!(f.set.get(&genesis_point(9)), Some(&carrier));
    assert!(!out.diff.spent.contains(&genesis_point(9)));

    // A missing reference input is a phase-1 error.
    let mut body3 = empty_body(&f.p);
    body3.inputs.insert(genesis_point(1));
    body3.reference_inputs.insert(genesis_point(77));
    body3.outputs.push(TxOutput::coin(addr(&key(4)), 0));
    let tx3 = finish(&f.p, body3, &[&f.owner], vec![], |b, fee| {
        b.outputs[0].value.coin = COLLATERAL - fee
    });
    assert_eq!(
        f.ledger
            .validate_transaction(&f.set, &ctx(2), &tx3)
            .unwrap_err(),
        LedgerError::MissingReferenceInput(genesis_point(77))
    );
}

#[test]
fn spend_then_read_in_one_block_is_ordered() {
    // tx A spends the reference-script carrier; tx B, later in the block,
    // tries to use it as a reference input: B must fail in both modes.
    let mut f = fixture(ACCEPT_WAT);
    let mut carrier = TxOutput::coin(addr(&f.owner), AIC);
    carrier.reference_script = Some(f.script.clone());
    f.set.insert(genesis_point(9), carrier);
    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(9));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    let spend_carrier = finish(&f.p, body, &[&f.owner], vec![], |b, fee| {
        b.outputs[0].value.coin = AIC - fee
    });
    let mut body = empty_body(&f.p);
    body.inputs.insert(genesis_point(0));
    body.reference_inputs.insert(genesis_point(9));
    body.spend_redeemers
        .insert(genesis_point(0), redeemer(b"", 10_000));
    body.collateral.insert(genesis_point(1));
    body.collateral_return = Some(TxOutput::coin(addr(&f.owner), 0));
    body.outputs.push(TxOutput::coin(addr(&key(1)), 0));
    let use_ref = finish(&f.p, body, &[&f.owner], vec![], |b, fee| {
        b.outputs[0].value.coin = LOCKED - fee;
        b.collateral_return.as_mut().unwrap().value.coin = COLLATERAL - fee;
    });
    // Control: alone, it is valid and runs the reference script.
    let alone = f
        .ledger
        .validate_transaction(&f.set, &ctx(1), &use_ref)
        .unwrap();
    assert_eq!(alone.receipt.status, TxStatus::Success);
    let out = run_block(&f.ledger, &mut f.set, 1, &[spend_carrier, use_ref]);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(
        out.rejected[0].error,
        LedgerError::MissingReferenceInput(genesis_point(9))
    );
}
