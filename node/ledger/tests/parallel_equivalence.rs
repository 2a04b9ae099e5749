//! Parallel execution equals sequential execution in block order, on random
//! blocks with random conflicts: dependent chains (B spends what A created
//! in the same block), double spends, forward references (a spend placed
//! before the transaction that creates the output), shared and spent
//! reference inputs, script successes and failures, bad signatures and
//! unbalanced values.

mod common;

use aether_crypto::ed25519::Keypair;
use aether_ledger::*;
use aether_types::*;
use common::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct World {
    p: ProtocolParams,
    keys: Vec<Keypair>,
    accept: Script,
    reject: Script,
    /// Every out-point ever created (spent or not), with its output.
    known: Vec<(OutPoint, TxOutput)>,
}

impl World {
    fn owner_key(&self, output: &TxOutput) -> Option<&Keypair> {
        match output.address {
            Address::Key(h) => self.keys.iter().find(|k| k.key_hash() == h),
            Address::Script(_) => None,
        }
    }

    fn random_address(&self, rng: &mut StdRng) -> Address {
        match rng.gen_range(0..10) {
            0 => Address::Script(self.accept.hash()),
            1 => Address::Script(self.reject.hash()),
            _ => addr(&self.keys[rng.gen_range(0..self.keys.len())]),
        }
    }

    fn pick(&self, rng: &mut StdRng) -> (OutPoint, TxOutput) {
        // Favour recent outputs, to build chains inside the block.
        let n = self.known.len();
        let i = if rng.gen_bool(0.5) && n > 8 {
            rng.gen_range(n - 8..n)
        } else {
            rng.gen_range(0..n)
        };
        self.known[i].clone()
    }

    fn random_tx(&mut self, rng: &mut StdRng) -> Transaction {
        let p = self.p.clone();
        let mut body = empty_body(&p);
        let mut signers: Vec<Keypair> = Vec::new();
        let mut scripts: Vec<Script> = Vec::new();
        let mut total: u128 = 0;
        for _ in 0..rng.gen_range(1..=2) {
            let (op, out) = self.pick(rng);
            if !body.inputs.insert(op) {
                continue;
            }
            total += out.value.coin;
            match out.address {
                Address::Key(_) => {
                    if let Some(k) = self.owner_key(&out) {
                        signers.push(k.clone());
                    }
                }
                Address::Script(h) => {
                    body.spend_redeemers.insert(op, redeemer(b"r", 20_000));
                    let script = if h == self.accept.hash() {
                        &self.accept
                    } else {
                        &self.reject
                    };
                    if !scripts.iter().any(|s| s.hash() == h) {
                        scripts.push(script.clone());
                    }
                }
            }
        }
        if rng.gen_bool(0.3) {
            let (op, _) = self.pick(rng);
            if !body.inputs.contains(&op) {
                body.reference_inputs.insert(op);
            }
        }
        let mut collateral_coin = 0;
        if !body.spend_redeemers.is_empty() {
            // Collateral: a key-locked output (possibly spent, possibly
            // also an input).
            for _ in 0..4 {
                let (op, out) = self.pick(rng);
                if let Some(k) = self.owner_key(&out) {
                    body.collateral.insert(op);
                    collateral_coin = out.value.coin;
                    signers.push(k.clone());
                    body.collateral_return = Some(TxOutput::coin(addr(k), 0));
                    break;
                }
            }
        }
        let n_out = rng.gen_range(1..=3);
        for _ in 0..n_out {
            body.outputs
                .push(TxOutput::coin(self.random_address(rng), 0));
        }
        signers.sort_by_key(|k| k.public_key());
        signers.dedup_by_key(|k| k.public_key());
        let refs: Vec<&Keypair> = signers.iter().collect();
        let min = p.min_output_coin;
        let mut tx = finish(&p, body, &refs, scripts, |b, fee| {
            let spendable = total.saturating_sub(fee);
            let n = b.outputs.len() as u128;
            let share = (spendable / n).max(min);
            for o in b.outputs.iter_mut() {
                o.value.coin = share;
            }
            let last = b.outputs.len() - 1;
            b.outputs[last].value.coin = spendable.saturating_sub(share * (n - 1)).max(min);
            if let Some(r) = b.collateral_return.as_mut() {
                r.value.coin = collateral_coin.saturating_sub(fee).max(min);
            }
        });
        // Occasional corruption.
        match rng.gen_range(0..20) {
            0 if !tx.witnesses.vkeys.is_empty() => tx.witnesses.vkeys[0].signature.0[7] ^= 4,
            1 => {
                tx.body.outputs[0].value.coin += 1;
                tx.witnesses.vkeys.clear();
                for k in &signers {
                    tx.witnesses.insert_vkey(k.sign_tx(&tx.body));
                }
            }
            _ => {}
        }
        let id = tx.id();
        for (i, o) in tx.body.outputs.iter().enumerate() {
            self.known.push((OutPoint::new(id, i as u32), o.clone()));
        }
        if let Some(r) = &tx.body.collateral_return {
            self.known
                .push((OutPoint::new(id, tx.body.outputs.len() as u32), r.clone()));
        }
        tx
    }
}

fn random_case(seed: u64, n_txs: usize) -> (MemoryUtxoSet, Vec<Vec<Transaction>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys: Vec<Keypair> = (0..6).map(key).collect();
    let mut world = World {
        p: params(),
        keys,
        accept: wasm(ACCEPT_WAT),
        reject: wasm(REJECT_WAT),
        known: Vec::new(),
    };
    let mut set = MemoryUtxoSet::new();
    for i in 0..40u32 {
        let mut out = TxOutput::coin(world.random_address(&mut rng), 100 * AIC);
        if i % 13 == 0 {
            out.reference_script = Some(world.accept.clone());
        }
        set.insert(genesis_point(i), out.clone());
        world.known.push((genesis_point(i), out));
    }
    let mut blocks = Vec::new();
    for _ in 0..2 {
        let mut txs: Vec<Transaction> = (0..n_txs).map(|_| world.random_tx(&mut rng)).collect();
        // Swap some pairs: spends may now precede the creating transaction.
        for _ in 0..n_txs / 8 {
            let a = rng.gen_range(0..txs.len());
            let b = rng.gen_range(0..txs.len());
            txs.swap(a, b);
        }
        // Exact duplicates of earlier transactions.
        if rng.gen_bool(0.3) && !txs.is_empty() {
            let d = txs[rng.gen_range(0..txs.len())].clone();
            txs.push(d);
        }
        blocks.push(txs);
    }
    (set, blocks)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn parallel_equals_sequential(seed in any::<u64>(), n_txs in 1usize..160) {
        let (genesis_set, blocks) = random_case(seed, n_txs);
        let ledger = Ledger::new(params());
        let mut seq_set = genesis_set.clone();
        let mut par_set = genesis_set;
        for (height, txs) in blocks.iter().enumerate() {
            let c = ctx(height as u64 + 1);
            let seq = ledger.execute_block(&seq_set, &c, txs, ExecutionMode::Sequential).unwrap();
            let par = ledger.execute_block(&par_set, &c, txs, ExecutionMode::Parallel).unwrap();
            prop_assert_eq!(&seq.receipts, &par.receipts);
            prop_assert_eq!(&seq.rejected, &par.rejected);
            prop_assert_eq!(&seq.diff, &par.diff);
            prop_assert_eq!(seq.receipts_root(), par.receipts_root());
            prop_assert_eq!(seq.diff.commitment(), par.diff.commitment());
            seq_set.apply(&seq.diff);
            par_set.apply(&par.diff);
            prop_assert_eq!(seq_set.state_root(), par_set.state_root());
            prop_assert_eq!(seq.receipts.len() + seq.rejected.len(), txs.len());
        }
    }
}

/// The generator must produce the situations the property is about;
/// otherwise the property would pass vacuously.
#[test]
fn generator_covers_conflicts_and_failures() {
    let ledger = Ledger::new(params());
    let (mut missing, mut success, mut script_failed, mut sig, mut value, mut chained) =
        (0, 0, 0, 0, 0, 0);
    for seed in 0..20 {
        let (mut set, blocks) = random_case(seed, 100);
        for (h, txs) in blocks.iter().enumerate() {
            let out = ledger
                .execute_block(&set, &ctx(h as u64 + 1), txs, ExecutionMode::Sequential)
                .unwrap();
            for r in &out.rejected {
                match r.error {
                    LedgerError::MissingInput(_)
                    | LedgerError::MissingCollateral(_)
                    | LedgerError::MissingReferenceInput(_) => missing += 1,
                    LedgerError::InvalidSignature => sig += 1,
                    LedgerError::ValueNotConserved { .. } => value += 1,
                    _ => {}
                }
            }
            for r in &out.receipts {
                match r.status {
                    TxStatus::Success => success += 1,
                    TxStatus::ScriptFailed { .. } => script_failed += 1,
                }
            }
            // Outputs created and consumed within the block.
            let ids: std::collections::HashSet<TxId> = txs.iter().map(Transaction::id).collect();
            chained += txs
                .iter()
                .filter(|t| t.body.inputs.iter().any(|i| ids.contains(&i.tx_id)))
                .count();
            set.apply(&out.diff);
        }
    }
    assert!(missing > 20, "double spends / missing inputs: {missing}");
    assert!(success > 100, "successes: {success}");
    assert!(script_failed > 5, "script failures: {script_failed}");
    assert!(sig > 5, "bad signatures: {sig}");
    assert!(value > 5, "unbalanced values: {value}");
    assert!(chained > 100, "in-block chains: {chained}");
}
