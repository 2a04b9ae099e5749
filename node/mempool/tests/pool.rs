//! Scenario tests of admission, double spends, priority, eviction, block
//! selection and removal on commit.

mod common;

use aether_ledger::LedgerError;
use aether_mempool::*;
use aether_types::*;
use common::*;

const COIN: u128 = 1_000 * AIC;

fn setup(config: MempoolConfig) -> (aether_ledger::Ledger, aether_ledger::MemoryUtxoSet, Mempool) {
    (ledger(), genesis(16, 4, COIN), Mempool::new(config))
}

fn submit(
    pool: &mut Mempool,
    ledger: &aether_ledger::Ledger,
    chain: &aether_ledger::MemoryUtxoSet,
    tx: &Transaction,
) -> Result<Admitted, MempoolError> {
    let result = pool.submit(ledger, chain, 1, &tx.encode());
    pool.check_invariants().unwrap();
    result
}

/// Transfer of genesis output `i` (owned by key `i % 4`) with `extra` fee.
fn spend_genesis(i: u32, extra: u128) -> Transaction {
    transfer(
        &key(i % 4),
        genesis_point(i),
        COIN,
        addr(&key(9)),
        AIC,
        extra,
    )
}

#[test]
fn admits_valid_transfer_and_rejects_duplicates_and_double_spends() {
    let (ledger, chain, mut pool) = setup(MempoolConfig::default());
    let tx = spend_genesis(0, 0);
    let admitted = submit(&mut pool, &ledger, &chain, &tx).unwrap();
    assert_eq!(admitted.id, tx.id());
    assert!(admitted.evicted.is_empty());
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.bytes(), tx.encode().len());
    assert_eq!(pool.get(&tx.id()).as_deref(), Some(&tx));
    assert_eq!(pool.spender_of(&genesis_point(0)), Some(tx.id()));

    assert_eq!(
        submit(&mut pool, &ledger, &chain, &tx),
        Err(MempoolError::AlreadyKnown(tx.id()))
    );
    // Same input, different recipient, higher fee: still rejected (no RBF).
    let rival = transfer(
        &key(0),
        genesis_point(0),
        COIN,
        addr(&key(8)),
        AIC,
        1_000_000,
    );
    assert_eq!(
        submit(&mut pool, &ledger, &chain, &rival),
        Err(MempoolError::DoubleSpend {
            input: genesis_point(0),
            pooled: tx.id()
        })
    );
    assert_eq!(pool.len(), 1);
    assert!(!pool.contains(&rival.id()));
}

#[test]
fn stateless_checks_name_the_failed_rule() {
    let (ledger, chain, mut pool) = setup(MempoolConfig::default());
    let params = ledger.params().clone();
    let good = spend_genesis(0, 0);

    // Garbage and truncation.
    assert!(matches!(
        submit(&mut pool, &ledger, &chain, &Transaction { ..good.clone() }).map(|_| ()),
        Ok(())
    ));
    let mut pool = Mempool::new(MempoolConfig::default());
    let bytes = good.encode();
    assert!(matches!(
        pool.submit(&ledger, &chain, 1, &bytes[..bytes.len() - 1]),
        Err(MempoolError::Decode(_))
    ));
    // Oversize: rejected before decoding.
    let huge = vec![0u8; params.max_tx_size + 1];
    assert_eq!(
        pool.submit(&ledger, &chain, 1, &huge),
        Err(MempoolError::TooLarge {
            size: params.max_tx_size + 1,
            max: params.max_tx_size
        })
    );
    // Bad signature: flip one bit of the signature.
    let mut bad_sig = good.clone();
    bad_sig.witnesses.vkeys[0].signature.0[5] ^= 1;
    assert_eq!(
        pool.submit(&ledger, &chain, 1, &bad_sig.encode()),
        Err(MempoolError::InvalidSignature { index: 0 })
    );
    // Fee too low (re-signed, so only the fee is wrong).
    let mut cheap = good.clone();
    cheap.body.fee -= 1;
    cheap.body.outputs[1].value.coin += 1;
    cheap.witnesses.vkeys.clear();
    cheap.witnesses.insert_vkey(key(0).sign_tx(&cheap.body));
    assert!(matches!(
        pool.submit(&ledger, &chain, 1, &cheap.encode()),
        Err(MempoolError::FeeTooLow { fee, min }) if fee + 1 == min
    ));
    // Wrong chain.
    let mut other_chain = good.clone();
    other_chain.body.chain_id = ChainId(1);
    assert!(matches!(
        pool.submit(&ledger, &chain, 1, &other_chain.encode()),
        Err(MempoolError::WrongChain {
            got: ChainId(1),
            ..
        })
    ));
    // Dust output.
    let dust = transfer(&key(0), genesis_point(0), COIN, addr(&key(9)), 1, 0);
    assert!(matches!(
        pool.submit(&ledger, &chain, 1, &dust.encode()),
        Err(MempoolError::OutputTooSmall {
            index: 0,
            coin: 1,
            ..
        })
    ));
    assert!(pool.is_empty());
}

#[test]
fn stateful_checks_reject_missing_inputs_and_wrong_signers() {
    let (ledger, chain, mut pool) = setup(MempoolConfig::default());
    let missing = OutPoint::new(TxId([7; 32]), 0);
    let tx = transfer(&key(0), missing, COIN, addr(&key(9)), AIC, 0);
    assert_eq!(
        submit(&mut pool, &ledger, &chain, &tx),
        Err(MempoolError::Ledger(LedgerError::MissingInput(missing)))
    );
    // Key 1 signs for an output of key 0: signature valid, wrong key.
    let thief = transfer(&key(1), genesis_point(0), COIN, addr(&key(1)), AIC, 0);
    assert_eq!(
        submit(&mut pool, &ledger, &chain, &thief),
        Err(MempoolError::Ledger(LedgerError::MissingSignature(
            key(0).key_hash()
        )))
    );
    assert!(pool.is_empty());
}

#[test]
fn failing_scripts_are_refused_and_accepting_ones_admitted() {
    let (ledger, mut chain, mut pool) = setup(MempoolConfig::default());
    for (wat, expect_ok) in [(REJECT_WAT, false), (ACCEPT_WAT, true)] {
        let script = wasm(wat);
        let locked = OutPoint::new(TxId([0x5c; 32]), u32::from(expect_ok));
        chain.insert(
            locked,
            TxOutput::coin(Address::Script(script.hash()), 10 * AIC),
        );
        let collateral = genesis_point(u32::from(expect_ok) * 4);
        let tx = script_spend(&script, locked, 10 * AIC, &key(0), collateral, COIN);
        let result = submit(&mut pool, &ledger, &chain, &tx);
        if expect_ok {
            assert_eq!(result.unwrap().id, tx.id());
        } else {
            assert_eq!(
                result,
                Err(MempoolError::ScriptFailed {
                    purpose: ScriptPurpose::Spend(locked),
                    failure: ScriptFailure::Rejected { code: 0 },
                })
            );
        }
    }
    assert_eq!(pool.len(), 1);
}

#[test]
fn selection_follows_fee_rate_then_arrival() {
    let (ledger, chain, mut pool) = setup(MempoolConfig::default());
    let low = spend_genesis(0, 0);
    let high = spend_genesis(1, 500_000);
    let tie_a = spend_genesis(2, 100_000);
    let tie_b = spend_genesis(3, 100_000);
    for tx in [&low, &tie_a, &high, &tie_b] {
        submit(&mut pool, &ledger, &chain, tx).unwrap();
    }
    let order: Vec<TxId> = pool
        .select_for_block(100, usize::MAX)
        .iter()
        .map(|t| t.id())
        .collect();
    assert_eq!(order, vec![high.id(), tie_a.id(), tie_b.id(), low.id()]);
    let iter_order: Vec<TxId> = pool.iter().map(|(id, _)| *id).collect();
    assert_eq!(iter_order, order);
    // Count and byte budgets.
    assert_eq!(pool.select_for_block(2, usize::MAX).len(), 2);
    let one = high.encode().len();
    assert_eq!(pool.select_for_block(100, one).len(), 1);
    assert!(pool.select_for_block(100, one - 1).is_empty());
}

#[test]
fn chained_transactions_keep_parents_first() {
    let (ledger, mut chain, mut pool) = setup(MempoolConfig::default());
    let parent = spend_genesis(0, 0);
    let change = parent.body.outputs[1].value.coin;
    // The child pays a much higher fee rate but must follow its parent.
    let child = transfer(
        &key(0),
        OutPoint::new(parent.id(), 1),
        change,
        addr(&key(5)),
        AIC,
        5_000_000,
    );
    let other = spend_genesis(1, 1_000_000);
    assert!(matches!(
        submit(&mut pool, &ledger, &chain, &child),
        Err(MempoolError::Ledger(LedgerError::MissingInput(_)))
    ));
    submit(&mut pool, &ledger, &chain, &parent).unwrap();
    submit(&mut pool, &ledger, &chain, &child).unwrap();
    submit(&mut pool, &ledger, &chain, &other).unwrap();
    assert_eq!(pool.info(&child.id()).unwrap().parents, vec![parent.id()]);
    let order: Vec<TxId> = pool
        .select_for_block(100, usize::MAX)
        .iter()
        .map(|t| t.id())
        .collect();
    assert_eq!(order, vec![other.id(), parent.id(), child.id()]);
    // A budget of one: the child cannot go without its parent.
    let first: Vec<TxId> = pool
        .select_for_block(2, usize::MAX)
        .iter()
        .map(|t| t.id())
        .collect();
    assert_eq!(first, vec![other.id(), parent.id()]);

    // Commit the parent only: the child stays, now depending on the chain.
    let pooled_parent = (*pool.get(&parent.id()).unwrap()).clone();
    let removal = commit(&ledger, &mut chain, &mut pool, 1, vec![pooled_parent]);
    assert_eq!(removal.included, vec![parent.id()]);
    assert!(removal.conflicted.is_empty());
    pool.check_invariants().unwrap();
    assert!(pool.contains(&child.id()));
    assert!(pool.info(&child.id()).unwrap().parents.is_empty());
    // And it is selected first now.
    assert_eq!(pool.select_for_block(1, usize::MAX)[0].id(), child.id());
}

#[test]
fn block_spending_a_pooled_input_removes_the_conflict_and_descendants() {
    let (ledger, mut chain, mut pool) = setup(MempoolConfig::default());
    let parent = spend_genesis(0, 0);
    let child = transfer(
        &key(0),
        OutPoint::new(parent.id(), 1),
        parent.body.outputs[1].value.coin,
        addr(&key(5)),
        AIC,
        0,
    );
    let unrelated = spend_genesis(1, 0);
    for tx in [&parent, &child, &unrelated] {
        submit(&mut pool, &ledger, &chain, tx).unwrap();
    }
    // Another node's block spends genesis 0 differently.
    let rival = transfer(&key(0), genesis_point(0), COIN, addr(&key(7)), 2 * AIC, 0);
    let removal = commit(&ledger, &mut chain, &mut pool, 1, vec![rival]);
    pool.check_invariants().unwrap();
    assert!(removal.included.is_empty());
    let mut conflicted = removal.conflicted.clone();
    conflicted.sort();
    let mut expected = vec![parent.id(), child.id()];
    expected.sort();
    assert_eq!(conflicted, expected);
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&unrelated.id()));
}

#[test]
fn readers_precede_spenders_and_reads_of_pooled_spends_are_refused() {
    let (ledger, chain, mut pool) = setup(MempoolConfig::default());
    let shared = genesis_point(5); // owned by key 1
    let mut body = empty_body();
    body.inputs.insert(genesis_point(0));
    body.reference_inputs.insert(shared);
    body.outputs.push(TxOutput::coin(addr(&key(0)), 0));
    let reader = finish(body, &[&key(0)], vec![], 0, |b, fee| {
        b.outputs[0].value.coin = COIN - fee;
    });
    submit(&mut pool, &ledger, &chain, &reader).unwrap();
    // The spender of the read out-point pays more, yet goes second.
    let spender = transfer(&key(1), shared, COIN, addr(&key(2)), AIC, 9_000_000);
    submit(&mut pool, &ledger, &chain, &spender).unwrap();
    let order: Vec<TxId> = pool
        .select_for_block(10, usize::MAX)
        .iter()
        .map(|t| t.id())
        .collect();
    assert_eq!(order, vec![reader.id(), spender.id()]);
    // A new reader of the spent out-point is refused.
    let mut body = empty_body();
    body.inputs.insert(genesis_point(4));
    body.reference_inputs.insert(shared);
    body.outputs.push(TxOutput::coin(addr(&key(0)), 0));
    let late = finish(body, &[&key(0)], vec![], 0, |b, fee| {
        b.outputs[0].value.coin = COIN - fee;
    });
    assert_eq!(
        submit(&mut pool, &ledger, &chain, &late),
        Err(MempoolError::ReadsPooledSpend {
            out_point: shared,
            pooled: spender.id()
        })
    );
}

#[test]
fn full_pool_evicts_lowest_rate_with_descendants_or_refuses() {
    let (ledger, chain, mut pool) = setup(MempoolConfig {
        max_txs: 3,
        max_bytes: usize::MAX,
    });
    let cheap_parent = spend_genesis(0, 0);
    let cheap_child = transfer(
        &key(0),
        OutPoint::new(cheap_parent.id(), 1),
        cheap_parent.body.outputs[1].value.coin,
        addr(&key(5)),
        AIC,
        2_000_000,
    );
    let mid = spend_genesis(1, 1_000_000);
    for tx in [&cheap_parent, &cheap_child, &mid] {
        submit(&mut pool, &ledger, &chain, tx).unwrap();
    }
    // Same rate as the cheapest: refused, nothing evicted.
    let equal = spend_genesis(2, 0);
    assert!(matches!(
        submit(&mut pool, &ledger, &chain, &equal),
        Err(MempoolError::PoolFull { .. })
    ));
    assert_eq!(pool.len(), 3);
    // Higher rate: the cheap parent goes, and its child with it.
    let rich = spend_genesis(3, 500_000);
    let admitted = submit(&mut pool, &ledger, &chain, &rich).unwrap();
    let mut evicted = admitted.evicted.clone();
    evicted.sort();
    let mut expected = vec![cheap_parent.id(), cheap_child.id()];
    expected.sort();
    assert_eq!(evicted, expected);
    assert_eq!(pool.len(), 2);
}

#[test]
fn byte_bound_and_ancestors_are_respected() {
    let parent = spend_genesis(0, 0);
    let size = parent.encode().len();
    let (ledger, chain, mut pool) = setup(MempoolConfig {
        max_txs: 100,
        max_bytes: size,
    });
    submit(&mut pool, &ledger, &chain, &parent).unwrap();
    // The child needs its parent; evicting the parent is not an option.
    let child = transfer(
        &key(0),
        OutPoint::new(parent.id(), 1),
        parent.body.outputs[1].value.coin,
        addr(&key(5)),
        AIC,
        9_000_000,
    );
    assert!(matches!(
        submit(&mut pool, &ledger, &chain, &child),
        Err(MempoolError::PoolFull { .. })
    ));
    assert_eq!(pool.len(), 1);
    let mut tiny = Mempool::new(MempoolConfig {
        max_txs: 100,
        max_bytes: size - 1,
    });
    assert_eq!(
        tiny.submit(&ledger, &chain, 1, &parent.encode()),
        Err(MempoolError::ExceedsPoolCapacity {
            size,
            max: size - 1
        })
    );
}

#[test]
fn expired_transactions_leave() {
    let (ledger, chain, mut pool) = setup(MempoolConfig::default());
    let mut body = empty_body();
    body.inputs.insert(genesis_point(0));
    body.validity.invalid_hereafter = Some(3);
    body.outputs.push(TxOutput::coin(addr(&key(0)), 0));
    let tx = finish(body, &[&key(0)], vec![], 0, |b, fee| {
        b.outputs[0].value.coin = COIN - fee;
    });
    // Not valid at height 3 or later.
    assert!(matches!(
        pool.submit(&ledger, &chain, 3, &tx.encode()),
        Err(MempoolError::Ledger(LedgerError::OutsideValidityInterval {
            height: 3
        }))
    ));
    pool.submit(&ledger, &chain, 2, &tx.encode()).unwrap();
    assert!(pool.remove_expired(2).is_empty());
    assert_eq!(pool.remove_expired(3), vec![tx.id()]);
    assert!(pool.is_empty());
    pool.check_invariants().unwrap();
}
