//! Minting and burning under WebAssembly policies.

mod common;

use aether_ledger::*;
use aether_types::*;
use common::*;
use std::collections::BTreeMap;

const COIN: u128 = 10 * AIC;

fn gold() -> AssetName {
    AssetName::new(b"gold".to_vec()).unwrap()
}

fn mint_entry(quantity: i128, approve: u8) -> PolicyMint {
    let mut amounts = BTreeMap::new();
    amounts.insert(gold(), quantity);
    PolicyMint {
        amounts: MintAmounts::new(amounts).unwrap(),
        redeemer: redeemer(&[approve], 50_000),
    }
}

/// Mints (or burns) `quantity` gold from genesis 0 (held gold: `held`),
/// sending all gold (held + quantity) back to the owner as output 0.
fn mint_tx(
    p: &ProtocolParams,
    policy: &Script,
    quantity: i128,
    out_gold: u128,
    approve: u8,
    with_script: bool,
) -> Transaction {
    let owner = key(0);
    let mut body = empty_body(p);
    body.inputs.insert(genesis_point(0));
    body.mint
        .insert(policy.hash(), mint_entry(quantity, approve));
    body.collateral.insert(genesis_point(1));
    body.collateral_return = Some(TxOutput::coin(addr(&owner), 0));
    let mut out = TxOutput::coin(addr(&owner), 0);
    if out_gold > 0 {
        out.value
            .assets
            .checked_add_asset(policy.hash(), gold(), out_gold)
            .unwrap();
    }
    body.outputs.push(out);
    let scripts = if with_script {
        vec![policy.clone()]
    } else {
        vec![]
    };
    finish(p, body, &[&owner], scripts, |b, fee| {
        b.outputs[0].value.coin = COIN - fee;
        b.collateral_return.as_mut().unwrap().value.coin = COIN - fee;
    })
}

fn setup(held_gold: u128, policy: &Script) -> MemoryUtxoSet {
    let owner = key(0);
    let mut set = genesis(&[addr(&owner), addr(&owner)], COIN);
    if held_gold > 0 {
        let mut o = TxOutput::coin(addr(&owner), COIN);
        o.value
            .assets
            .checked_add_asset(policy.hash(), gold(), held_gold)
            .unwrap();
        set.insert(genesis_point(0), o);
    }
    set
}

#[test]
fn mint_with_policy_approval() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let policy = wasm(APPROVAL_POLICY_WAT);
    let mut set = setup(0, &policy);
    let tx = mint_tx(&p, &policy, 100, 100, 1, true);
    let out = run_block(&ledger, &mut set, 1, std::slice::from_ref(&tx));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.receipts[0].status, TxStatus::Success);
    let minted = set.get(&OutPoint::new(tx.id(), 0)).unwrap();
    assert_eq!(minted.value.assets.quantity(&policy.hash(), &gold()), 100);
}

#[test]
fn mint_without_policy_approval_fails_and_takes_collateral() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let policy = wasm(APPROVAL_POLICY_WAT);
    let mut set = setup(0, &policy);
    let tx = mint_tx(&p, &policy, 100, 100, 0, true);
    let out = run_block(&ledger, &mut set, 1, std::slice::from_ref(&tx));
    assert!(out.rejected.is_empty());
    assert_eq!(
        out.receipts[0].status,
        TxStatus::ScriptFailed {
            purpose: ScriptPurpose::Mint(policy.hash()),
            failure: ScriptFailure::Rejected { code: 0 }
        }
    );
    assert!(
        set.iter().all(|(_, o)| o.value.assets.is_empty()),
        "nothing minted"
    );
    assert!(set.get(&genesis_point(0)).is_some(), "inputs untouched");
    assert!(set.get(&genesis_point(1)).is_none(), "collateral taken");
}

#[test]
fn burn_with_approval() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let policy = wasm(APPROVAL_POLICY_WAT);
    let mut set = setup(100, &policy);
    let tx = mint_tx(&p, &policy, -40, 60, 1, true);
    let out = run_block(&ledger, &mut set, 1, std::slice::from_ref(&tx));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let left = set.get(&OutPoint::new(tx.id(), 0)).unwrap();
    assert_eq!(left.value.assets.quantity(&policy.hash(), &gold()), 60);
}

#[test]
fn minted_value_must_be_conserved() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let policy = wasm(APPROVAL_POLICY_WAT);
    let set = setup(0, &policy);
    // Mints 100, outputs 90.
    let tx = mint_tx(&p, &policy, 100, 90, 1, true);
    assert!(matches!(
        ledger.validate_transaction(&set, &ctx(1), &tx),
        Err(LedgerError::ValueNotConserved { .. })
    ));
    // Burns 40 it does not hold.
    let tx = mint_tx(&p, &policy, -40, 0, 1, true);
    assert!(matches!(
        ledger.validate_transaction(&set, &ctx(1), &tx),
        Err(LedgerError::ValueNotConserved { .. })
    ));
}

#[test]
fn mint_needs_its_policy_script() {
    let p = params();
    let ledger = Ledger::new(p.clone());
    let policy = wasm(APPROVAL_POLICY_WAT);
    let set = setup(0, &policy);
    let tx = mint_tx(&p, &policy, 100, 100, 1, false);
    assert_eq!(
        ledger.validate_transaction(&set, &ctx(1), &tx).unwrap_err(),
        LedgerError::MissingScript(policy.hash())
    );
}

#[test]
fn policy_is_not_a_spend_validator() {
    // The approval policy checks the purpose tag: used as a spend
    // validator it rejects even with an approving redeemer.
    let p = params();
    let ledger = Ledger::new(p.clone());
    let policy = wasm(APPROVAL_POLICY_WAT);
    let owner = key(0);
    let mut set = genesis(&[addr(&owner), addr(&owner)], COIN);
    set.insert(
        genesis_point(0),
        TxOutput::coin(Address::Script(policy.hash()), COIN),
    );
    let mut body = empty_body(&p);
    body.inputs.insert(genesis_point(0));
    body.spend_redeemers
        .insert(genesis_point(0), redeemer(&[1], 50_000));
    body.collateral.insert(genesis_point(1));
    body.outputs.push(TxOutput::coin(addr(&owner), 0));
    let tx = finish(&p, body, &[&owner], vec![policy.clone()], |b, fee| {
        b.outputs[0].value.coin = COIN - fee;
        b.collateral_return = Some(TxOutput::coin(addr(&owner), COIN - fee));
    });
    let out = run_block(&ledger, &mut set, 1, std::slice::from_ref(&tx));
    assert!(matches!(
        out.receipts[0].status,
        TxStatus::ScriptFailed { .. }
    ));
}
