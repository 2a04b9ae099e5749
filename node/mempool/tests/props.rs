//! Property tests: random sequences of submissions (including double
//! spends and chains of unconfirmed transactions), block commits, rival
//! blocks and removals keep the pool's invariants: no double spend, bounds,
//! priority order, and a selection that executes without rejection.

mod common;

use aether_ledger::{BlockContext, ExecutionMode, Ledger, MemoryUtxoSet, UtxoView};
use aether_mempool::*;
use aether_types::*;
use common::*;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

const KEYS: u32 = 4;

#[derive(Clone, Debug)]
enum Op {
    /// Spend the `pick`-th known output (chain or pooled; may already be
    /// claimed), sending `frac`/256 of it to key `to`, paying `extra` more
    /// than the minimum fee.
    Submit {
        pick: usize,
        to: u32,
        frac: u8,
        extra: u32,
    },
    /// Build a block from the pool and commit it.
    Commit { max_txs: usize, max_bytes: usize },
    /// Commit a block from elsewhere spending the `pick`-th chain output.
    Rival { pick: usize },
    /// Drop the `pick`-th pooled transaction and its descendants.
    Remove { pick: usize },
    /// Submit random bytes.
    Garbage(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<usize>(), 0..KEYS, 1u8.., 0u32..2_000_000)
            .prop_map(|(pick, to, frac, extra)| Op::Submit { pick, to, frac, extra }),
        2 => (0usize..8, 200usize..4_000).prop_map(|(max_txs, max_bytes)| Op::Commit { max_txs, max_bytes }),
        1 => any::<usize>().prop_map(|pick| Op::Rival { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Remove { pick }),
        1 => proptest::collection::vec(any::<u8>(), 0..400).prop_map(Op::Garbage),
    ]
}

struct World {
    ledger: Ledger,
    chain: MemoryUtxoSet,
    pool: Mempool,
    height: u64,
    owners: HashMap<Address, u32>,
}

impl World {
    fn new(config: MempoolConfig) -> Self {
        World {
            ledger: ledger(),
            chain: genesis(24, KEYS, 1_000 * AIC),
            pool: Mempool::new(config),
            height: 0,
            owners: (0..KEYS).map(|i| (addr(&key(i)), i)).collect(),
        }
    }

    /// Every output visible from the pool: chain outputs and outputs of
    /// pooled transactions, claimed or not, sorted for determinism.
    fn known_outputs(&self) -> Vec<(OutPoint, TxOutput)> {
        let mut all: Vec<(OutPoint, TxOutput)> =
            self.chain.iter().map(|(op, o)| (*op, o.clone())).collect();
        for (id, tx) in self.pool.iter() {
            for (i, o) in tx.body.outputs.iter().enumerate() {
                all.push((OutPoint::new(*id, i as u32), o.clone()));
            }
        }
        all.sort_by_key(|(op, _)| *op);
        all
    }

    fn commit(&mut self, txs: Vec<Transaction>) -> BlockRemoval {
        self.height += 1;
        commit(
            &self.ledger,
            &mut self.chain,
            &mut self.pool,
            self.height,
            txs,
        )
    }

    fn check(&self) -> Result<(), TestCaseError> {
        self.pool.check_invariants().map_err(TestCaseError::fail)?;
        // Everything pooled is valid on top of the chain, in selection order.
        let all = self.pool.select_for_block(usize::MAX, usize::MAX);
        prop_assert_eq!(all.len(), self.pool.len());
        let txs: Vec<Transaction> = all.iter().map(|t| (**t).clone()).collect();
        let outcome = self
            .ledger
            .execute_block(
                &self.chain,
                &BlockContext::at(self.height + 1),
                &txs,
                ExecutionMode::Sequential,
            )
            .unwrap();
        prop_assert!(
            outcome.rejected.is_empty(),
            "pool not executable: {:?}",
            outcome.rejected
        );
        // No pooled transaction spends or reads an output the chain lacks,
        // unless a pooled transaction creates it.
        for tx in &txs {
            for op in tx.body.inputs.iter().chain(&tx.body.reference_inputs) {
                prop_assert!(
                    self.chain.utxo(op).unwrap().is_some() || self.pool.contains(&op.tx_id),
                    "{} names a missing output",
                    tx.id()
                );
            }
        }
        Ok(())
    }
}

/// The selection respects the budgets, never spends an out-point twice,
/// puts pooled parents first, and orders the transactions without pooled
/// predecessors by priority.
fn check_selection(
    pool: &Mempool,
    selected: &[std::sync::Arc<Transaction>],
    max_txs: usize,
    max_bytes: usize,
) -> Result<(), TestCaseError> {
    prop_assert!(selected.len() <= max_txs);
    let bytes: usize = selected.iter().map(|t| t.encode().len()).sum();
    prop_assert!(bytes <= max_bytes);
    let mut spent = HashSet::new();
    let mut seen = HashSet::new();
    let mut last_root: Option<(FeeRate, u64)> = None;
    for tx in selected {
        for input in &tx.body.inputs {
            prop_assert!(spent.insert(*input), "double spend of {input} in selection");
        }
        let info = pool.info(&tx.id()).unwrap();
        for parent in &info.parents {
            prop_assert!(seen.contains(parent), "child before parent");
        }
        let has_reader = tx.body.inputs.iter().any(|op| {
            pool.iter()
                .any(|(id, other)| id != &tx.id() && other.body.reference_inputs.contains(op))
        });
        if info.parents.is_empty() && !has_reader {
            if let Some((rate, arrival)) = last_root {
                prop_assert!(
                    rate > info.fee_rate || (rate == info.fee_rate && arrival < info.arrival),
                    "independent transactions out of priority order"
                );
            }
            last_root = Some((info.fee_rate, info.arrival));
        }
        seen.insert(tx.id());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_invariants(
        max_txs in 2usize..12,
        max_bytes in 600usize..5_000,
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut w = World::new(MempoolConfig { max_txs, max_bytes });
        let min_coin = w.ledger.params().min_output_coin;
        for op in ops {
            match op {
                Op::Submit { pick, to, frac, extra } => {
                    let known = w.known_outputs();
                    if known.is_empty() { continue; }
                    let (point, output) = &known[pick % known.len()];
                    let Some(owner) = w.owners.get(&output.address).copied() else { continue };
                    let held = output.value.coin;
                    // Leave room for the fee (≤ ~3 M base units) and two outputs.
                    let budget = held.saturating_sub(10_000_000 + 2 * min_coin);
                    if budget == 0 { continue; }
                    let amount = (budget * u128::from(frac) / 256).max(min_coin);
                    let tx = transfer(&key(owner), *point, held, addr(&key(to)), amount, u128::from(extra));
                    let before = w.pool.len();
                    let claimed = w.pool.spender_of(point);
                    let result = w.pool.submit(&w.ledger, &w.chain, w.height + 1, &tx.encode());
                    match (&result, claimed) {
                        (Err(MempoolError::DoubleSpend { pooled, .. }), Some(c)) => prop_assert_eq!(*pooled, c),
                        (Err(MempoolError::AlreadyKnown(_)), Some(_)) => {}
                        (Err(MempoolError::DoubleSpend { .. }), None) => prop_assert!(false, "spurious double spend"),
                        (_, Some(_)) => prop_assert!(false, "double spend admitted or misreported: {:?}", result),
                        (Ok(admitted), None) => {
                            prop_assert_eq!(w.pool.len(), before + 1 - admitted.evicted.len());
                            prop_assert!(w.pool.contains(&tx.id()));
                        }
                        (Err(MempoolError::PoolFull { offered, lowest }), None) => {
                            prop_assert!(offered <= lowest || w.pool.len() <= max_txs);
                            prop_assert_eq!(w.pool.len(), before);
                        }
                        (Err(MempoolError::ExceedsPoolCapacity { .. }), None) => {}
                        (Err(e), None) => prop_assert!(false, "unexpected rejection: {e}"),
                    }
                }
                Op::Commit { max_txs, max_bytes } => {
                    let selected = w.pool.select_for_block(max_txs, max_bytes);
                    check_selection(&w.pool, &selected, max_txs, max_bytes)?;
                    let ids: Vec<TxId> = selected.iter().map(|t| t.id()).collect();
                    let txs: Vec<Transaction> = selected.iter().map(|t| (**t).clone()).collect();
                    let removal = w.commit(txs);
                    prop_assert_eq!(&removal.included, &ids);
                    prop_assert!(removal.conflicted.is_empty());
                    for id in ids { prop_assert!(!w.pool.contains(&id)); }
                }
                Op::Rival { pick } => {
                    let mut chain_outputs: Vec<(OutPoint, TxOutput)> =
                        w.chain.iter().map(|(op, o)| (*op, o.clone())).collect();
                    chain_outputs.sort_by_key(|(op, _)| *op);
                    if chain_outputs.is_empty() { continue; }
                    let (point, output) = chain_outputs[pick % chain_outputs.len()].clone();
                    let Some(owner) = w.owners.get(&output.address).copied() else { continue };
                    if output.value.coin < 20_000_000 { continue; }
                    let rival = transfer(&key(owner), point, output.value.coin, addr(&key(0)), 5_000_000, 0);
                    let claimed = w.pool.spender_of(&point);
                    let removal = w.commit(vec![rival]);
                    if let Some(c) = claimed {
                        prop_assert!(removal.conflicted.contains(&c));
                    }
                    prop_assert!(w.pool.spender_of(&point).is_none());
                }
                Op::Remove { pick } => {
                    let ids: Vec<TxId> = w.pool.iter().map(|(id, _)| *id).collect();
                    if ids.is_empty() { continue; }
                    let id = ids[pick % ids.len()];
                    let removed = w.pool.remove_with_descendants(&id);
                    prop_assert_eq!(removed.first(), Some(&id));
                    for r in removed { prop_assert!(!w.pool.contains(&r)); }
                }
                Op::Garbage(bytes) => {
                    let before = w.pool.len();
                    prop_assert!(w.pool.submit(&w.ledger, &w.chain, w.height + 1, &bytes).is_err());
                    prop_assert_eq!(w.pool.len(), before);
                }
            }
            w.check()?;
        }
    }

    /// Stateless checks never panic on random bytes, truncations or bit
    /// flips of a valid transaction.
    #[test]
    fn stateless_check_never_panics(
        noise in proptest::collection::vec(any::<u8>(), 0..600),
        cut in any::<usize>(),
        flip in any::<usize>(),
    ) {
        let params = aether_ledger::ProtocolParams::dev();
        let _ = check_stateless(&params, &noise);
        let good = transfer(&key(0), genesis_point(0), 1_000 * AIC, addr(&key(1)), AIC, 0).encode();
        let _ = check_stateless(&params, &good[..cut % good.len()]);
        let mut flipped = good.clone();
        let bit = flip % (flipped.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        // A flipped bit breaks the encoding, the signature (body bits
        // change the signed id) or a witness key.
        prop_assert!(check_stateless(&params, &flipped).is_err());
    }
}
