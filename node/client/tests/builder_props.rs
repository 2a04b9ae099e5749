//! Property tests of the transaction builder against the real ledger, over
//! random fee schedules, output minimums, coins, payments and extra fees:
//!
//! - a built transaction is valid (the ledger accepts it);
//! - its fee is at least the minimum fee of its final encoding plus the
//!   extra fee, exactly that when it has change, and otherwise more only by
//!   dust: change that could not have been an output;
//! - value is conserved: inputs = outputs + fee;
//! - coin selection spends the largest coins, and refuses only when no
//!   largest-first prefix of the coins can pay.

use aether_client::{BuildError, TxBuilder, Utxo};
use aether_crypto::ed25519::Keypair;
use aether_ledger::{BlockContext, Ledger, MemoryUtxoSet, ProtocolParams};
use aether_types::*;
use proptest::prelude::*;

fn key() -> Keypair {
    Keypair::from_secret_bytes(&[3; 32])
}

fn me() -> Address {
    Address::Key(key().key_hash())
}

#[derive(Debug)]
struct Case {
    params: ProtocolParams,
    coins: Vec<Utxo>,
    set: MemoryUtxoSet,
    payments: Vec<(Address, u128)>,
    extra: u128,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0u128..2_000_000,
        0u128..5_000,
        1u128..50_000,
        proptest::collection::vec(1u128..20_000_000_000, 0..8),
        proptest::collection::vec((any::<[u8; 32]>(), 0u128..5_000_000_000), 1..4),
        prop_oneof![Just(0u128), 0u128..1_000_000],
    )
        .prop_map(|(base, per_byte, min_output_coin, amounts, pays, extra)| {
            let params = ProtocolParams {
                fees: FeeSchedule {
                    base,
                    per_byte,
                    per_fuel: 1,
                },
                min_output_coin,
                ..ProtocolParams::dev()
            };
            let mut set = MemoryUtxoSet::new();
            let coins = amounts
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let op = OutPoint::new(TxId([i as u8 + 1; 32]), i as u32);
                    let out = TxOutput::coin(me(), *a);
                    set.insert(op, out.clone());
                    Utxo::new(op, &out)
                })
                .collect();
            let payments = pays
                .into_iter()
                .map(|(k, a)| (Address::Key(KeyHash(k)), a.max(min_output_coin)))
                .collect();
            Case {
                params,
                coins,
                set,
                payments,
                extra,
            }
        })
}

fn builder(c: &Case) -> TxBuilder {
    let mut b = TxBuilder::new(&c.params.tx_params())
        .change_to(me())
        .signer(&key())
        .extra_fee(c.extra);
    for (to, amount) in &c.payments {
        b = b.pay(*to, *amount);
    }
    b
}

/// The transaction `tx` with one more (change) output of `coin` to `me()`.
fn with_change(tx: &Transaction, coin: u128) -> Transaction {
    let mut t = tx.clone();
    t.body.outputs.push(TxOutput::coin(me(), coin));
    t
}

fn min_fee(c: &Case, tx: &Transaction) -> u128 {
    c.params.fees.min_fee_for(tx).unwrap()
}

/// Checks a built transaction: the ledger accepts it, value is conserved,
/// the fee is exact (with change) or over the minimum only by dust, and
/// its inputs are the largest coins.
fn check_built(c: &Case, tx: &Transaction) -> Result<(), TestCaseError> {
    let paid: u128 = c.payments.iter().map(|(_, a)| a).sum();
    Ledger::new(c.params.clone())
        .validate_transaction(&c.set, &BlockContext::at(1), tx)
        .map_err(|e| TestCaseError::fail(format!("ledger refuses: {e}")))?;
    let inputs: u128 = tx
        .body
        .inputs
        .iter()
        .map(|op| c.set.get(op).unwrap().value.coin)
        .sum();
    let outputs: u128 = tx.body.outputs.iter().map(|o| o.value.coin).sum();
    prop_assert_eq!(inputs, outputs + tx.body.fee, "value not conserved");
    let min = min_fee(c, tx) + c.extra;
    prop_assert!(tx.body.fee >= min);
    let n = c.payments.len();
    if tx.body.outputs.len() == n + 1 {
        // Change: the fee is exactly the minimum.
        prop_assert_eq!(tx.body.fee, min);
        prop_assert_eq!(tx.body.outputs[n].address, me());
    } else {
        // No change: the surplus could not have paid for a change output
        // of the minimum size.
        prop_assert_eq!(tx.body.outputs.len(), n);
        let surplus = inputs - paid;
        let probe = with_change(tx, c.params.min_output_coin);
        let needed = min_fee(c, &probe) + c.extra + c.params.min_output_coin;
        prop_assert!(
            surplus < needed,
            "dropped affordable change: surplus {} >= {}",
            surplus,
            needed
        );
    }
    // Largest first.
    let mut sorted: Vec<u128> = c.coins.iter().map(|u| u.value.coin).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    prop_assert_eq!(inputs, sorted[..tx.body.inputs.len()].iter().sum::<u128>());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fees_are_exact_and_value_is_conserved(c in case()) {
        let paid: u128 = c.payments.iter().map(|(_, a)| a).sum();
        match builder(&c).fund_from(&c.coins) {
            Ok(tx) => check_built(&c, &tx)?,
            Err(BuildError::InsufficientFunds { available, .. }) => {
                let total: u128 = c.coins.iter().map(|u| u.value.coin).sum();
                prop_assert_eq!(available, total);
                // No largest-first prefix could pay the outputs and its own
                // fee, even without change.
                let mut sorted = c.coins.clone();
                sorted.sort_by(|a, b| b.value.coin.cmp(&a.value.coin).then(a.out_point.cmp(&b.out_point)));
                for k in 1..=sorted.len() {
                    let mut body = aether_client::empty_body(c.params.chain_id);
                    body.inputs = sorted[..k].iter().map(|u| u.out_point).collect();
                    body.outputs = c.payments.iter().map(|(to, a)| TxOutput::coin(*to, *a)).collect();
                    let tx = aether_client::sign_with_exact_fee(&c.params.fees, body, &[&key()], vec![], c.extra, |_, _| {}).unwrap();
                    let have: u128 = sorted[..k].iter().map(|u| u.value.coin).sum();
                    prop_assert!(have < paid + tx.body.fee, "prefix of {} coins could pay", k);
                }
            }
            Err(other) => prop_assert!(false, "unexpected error: {other}"),
        }
    }

    /// One coin worth the payments, the fee with change, and `dust` more:
    /// around `dust = min_output_coin` the change output appears or goes to
    /// the fee.
    #[test]
    fn change_at_the_dust_boundary(mut c in case(), dust_factor in 0u128..3_000) {
        // The fee with change, learnt from an ample coin at the same place.
        let op = OutPoint::new(TxId([0xcc; 32]), 0);
        let paid: u128 = c.payments.iter().map(|(_, a)| a).sum();
        let ample = builder(&c)
            .input(op, &TxOutput::coin(me(), paid + 1_000_000_000_000))
            .build()
            .unwrap();
        let dust = c.params.min_output_coin * dust_factor / 1_000;
        let coin = TxOutput::coin(me(), paid + ample.body.fee + dust);
        c.set = MemoryUtxoSet::new();
        c.set.insert(op, coin.clone());
        c.coins = vec![Utxo::new(op, &coin)];
        match builder(&c).fund_from(&c.coins) {
            Ok(tx) => {
                check_built(&c, &tx)?;
                let has_change = tx.body.outputs.len() == c.payments.len() + 1;
                prop_assert_eq!(has_change, dust >= c.params.min_output_coin);
                if !has_change {
                    prop_assert_eq!(tx.body.fee, ample.body.fee + dust);
                }
            }
            Err(e) => prop_assert!(false, "a coin covering the fee with change was refused: {e}"),
        }
    }
}
