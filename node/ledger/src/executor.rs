//! Block execution, sequential and parallel, with identical results.
//!
//! # Parallel execution rule
//! Every transaction declares what it may touch:
//! - **writes**: its inputs and collateral inputs (consumed), and every
//!   out-point of its own id (created: outputs and collateral return);
//! - **reads**: its reference inputs.
//!
//! Two transactions *conflict* if one writes what the other reads or
//! writes; at the granularity of out-points for inputs, and of whole
//! transaction ids for creations (a transaction that names any out-point
//! `(X, k)` conflicts with a transaction whose id is `X`, whichever comes
//! first in the block).
//!
//! The scheduler gives each transaction the **level**
//! `1 + max(level of every earlier conflicting transaction)` (0 if none) in
//! one pass over the block. Transactions of one level are pairwise
//! conflict-free, so they commute: they are validated in parallel (rayon)
//! against the state left by the lower levels, and their effects are
//! applied afterwards. Every conflicting pair runs in block order, hence
//! the result (receipts, rejections, diff, state root) equals sequential
//! execution in block order. `tests/parallel_equivalence.rs` checks this on
//! random blocks with dependent chains, double spends, forward references
//! and script failures.
//!
//! The effects of a transaction are always within its declaration: a
//! success consumes its inputs and creates `(id, i)` for its outputs; a
//! script failure consumes its collateral and creates
//! `(id, outputs.len())`; a phase-1 rejection does nothing.
//!
//! Signatures carry no state, so they are verified for the whole block up
//! front (in parallel in parallel mode), in batches fixed by the block's
//! contents (see [`crate::validate`]'s consensus rule).

use crate::error::{LedgerError, ViewError};
use crate::market::{MarketEnv, NoExecutor, SegmentExecutor, run_boundary};
use crate::params::ProtocolParams;
use crate::script::ScriptEngine;
use crate::staking::BlockConsensus;
use crate::state::{Overlay, StateDiff, TxEffect, UtxoView};
use crate::validate::{
    AppliedTx, BlockContext, PreparedTx, VerifiedWitnesses, apply_transaction, verify_signatures,
};
use aether_types::{
    AccessKey, BoundaryReceipt, Digest, OutPoint, Receipt, Transaction, TxId, receipts_root,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Receipts whose KZG proofs are verified in one batch (a chunk per
/// thread in parallel mode). Any chunking gives the same verdicts.
const KZG_BATCH: usize = 64;

/// How to execute a block. Both modes give identical results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionMode {
    /// One transaction after another, on the calling thread.
    Sequential,
    /// Conflict-free transactions in parallel on rayon's pool.
    Parallel,
}

/// A transaction of the block that is invalid (phase 1) and had no effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedTx {
    /// Position in the block.
    pub index: usize,
    /// Its id.
    pub tx_id: TxId,
    /// Why it is invalid.
    pub error: LedgerError,
}

/// The result of executing a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Receipts of the included transactions, in block order.
    pub receipts: Vec<Receipt>,
    /// Invalid transactions, in block order. A block producer drops them;
    /// a block that contains any is invalid
    /// ([`BlockOutcome::ensure_all_valid`]).
    pub rejected: Vec<RejectedTx>,
    /// Net change of the state.
    pub diff: StateDiff,
    /// What the block boundary did (before the transactions).
    pub boundary: BoundaryReceipt,
}

impl BlockOutcome {
    /// Merkle root of the receipts and the boundary receipt (the header's
    /// `receipts_root`).
    pub fn receipts_root(&self) -> Digest {
        receipts_root(&self.receipts, &self.boundary)
    }

    /// `Err` with the first rejected transaction if any was rejected.
    pub fn ensure_all_valid(&self) -> Result<(), &RejectedTx> {
        match self.rejected.first() {
            Some(rejected) => Err(rejected),
            None => Ok(()),
        }
    }
}

/// The ledger: protocol parameters, the script engine, the TEE evidence
/// verifier and the runtime that re-executes challenged segments.
pub struct Ledger {
    params: ProtocolParams,
    scripts: ScriptEngine,
    evidence: aether_evidence::Verifier,
    executor: Arc<dyn SegmentExecutor>,
    validator_sets: crate::staking::ValidatorSets,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("params", &self.params)
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// A ledger enforcing `params`, without a job runtime (challenges that
    /// need re-execution are refused: see [`Ledger::with_executor`]).
    pub fn new(params: ProtocolParams) -> Self {
        Self::with_executor(params, Arc::new(NoExecutor))
    }

    /// A ledger enforcing `params` that re-executes challenged segments
    /// with `executor`.
    pub fn with_executor(params: ProtocolParams, executor: Arc<dyn SegmentExecutor>) -> Self {
        let scripts = ScriptEngine::new(params.scripts);
        let evidence = aether_evidence::Verifier::new(params.market.evidence.clone());
        Ledger {
            params,
            scripts,
            evidence,
            executor,
            validator_sets: crate::staking::ValidatorSets::new(),
        }
    }

    /// Where the actions and the boundary of a block at `ctx` run.
    pub(crate) fn env(&self, ctx: &BlockContext) -> MarketEnv<'_> {
        MarketEnv {
            params: &self.params.market,
            min_output_coin: self.params.min_output_coin,
            executor: self.executor.as_ref(),
            height: ctx.height,
            parent_hash: ctx.parent_hash,
            staking: &self.params.staking,
            validator_sets: &self.validator_sets,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &ProtocolParams {
        &self.params
    }

    /// The script engine.
    pub fn scripts(&self) -> &ScriptEngine {
        &self.scripts
    }

    /// The TEE evidence verifier (with its certificate cache).
    pub fn evidence_verifier(&self) -> &aether_evidence::Verifier {
        &self.evidence
    }

    /// The runtime that re-executes challenged segments.
    pub fn segment_executor(&self) -> &dyn SegmentExecutor {
        self.executor.as_ref()
    }

    /// Validates one transaction against `view` as if it were the only
    /// transaction of a block at `ctx` (mempool admission, RPC dry runs).
    /// Its signatures are verified as one batch with single fallback.
    pub fn validate_transaction<V: UtxoView + ?Sized>(
        &self,
        view: &V,
        ctx: &BlockContext,
        tx: &Transaction,
    ) -> Result<AppliedTx, LedgerError> {
        let mut prepared = [PreparedTx::new(tx)];
        verify_signatures(&mut prepared, usize::MAX, false);
        prepared[0].prepare_actions(self, ctx, false);
        apply_transaction(self, view, ctx, &prepared[0])
    }

    /// Like [`Ledger::validate_transaction`], trusting `verified` for the
    /// signatures when it is about exactly this transaction, body and
    /// witnesses (checked: otherwise the signatures are verified here).
    pub fn validate_verified<V: UtxoView + ?Sized>(
        &self,
        view: &V,
        ctx: &BlockContext,
        tx: &Transaction,
        verified: &VerifiedWitnesses,
    ) -> Result<AppliedTx, LedgerError> {
        let mut prepared = [PreparedTx::new(tx)];
        if verified.covers(tx, &prepared[0].id) {
            prepared[0].signatures_ok = true;
        } else {
            verify_signatures(&mut prepared, usize::MAX, false);
        }
        prepared[0].prepare_actions(self, ctx, false);
        apply_transaction(self, view, ctx, &prepared[0])
    }

    /// Executes `transactions` in block order on top of `view`.
    ///
    /// `Err` only if the view fails (storage); invalid transactions are
    /// reported in [`BlockOutcome::rejected`].
    ///
    /// The block's header is not known here: on a staking chain its
    /// proposer, QC signers and VRF output are then not attributed (its
    /// fees are burned); blocks of such chains execute with
    /// [`Ledger::execute_block_with`].
    pub fn execute_block<V: UtxoView + ?Sized>(
        &self,
        view: &V,
        ctx: &BlockContext,
        transactions: &[Transaction],
        mode: ExecutionMode,
    ) -> Result<BlockOutcome, ViewError> {
        self.execute_block_with(view, ctx, &BlockConsensus::default(), transactions, mode)
    }

    /// Executes `transactions` in block order on top of `view`, with the
    /// consensus facts of the block's header (proposer, QC signers, VRF
    /// output: [`BlockConsensus::from_header`]) for staking's end-of-block
    /// work: rewards, presence, the epoch's seed (see
    /// [`crate::staking::epoch`]). The boundary receipt lists the
    /// start-of-block events, then the end-of-block ones.
    pub fn execute_block_with<V: UtxoView + ?Sized>(
        &self,
        view: &V,
        ctx: &BlockContext,
        consensus: &BlockConsensus,
        transactions: &[Transaction],
        mode: ExecutionMode,
    ) -> Result<BlockOutcome, ViewError> {
        let parallel = mode == ExecutionMode::Parallel;
        let mut prepared: Vec<PreparedTx<'_>> = if parallel {
            transactions.par_iter().map(PreparedTx::new).collect()
        } else {
            transactions.iter().map(PreparedTx::new).collect()
        };
        verify_signatures(&mut prepared, self.params.signature_batch_size, parallel);
        if parallel {
            prepared
                .par_iter_mut()
                .filter(|p| !p.tx.body.actions.is_empty())
                .for_each(|p| p.prepare_actions(self, ctx, true));
        } else {
            for p in prepared.iter_mut() {
                p.prepare_actions(self, ctx, true);
            }
        }
        // The receipts' KZG proofs, batched across the block.
        crate::market::prepare::fill_kzg(
            prepared.iter_mut().flat_map(PreparedTx::receipt_slots),
            KZG_BATCH,
            parallel,
        );

        let mut overlay = Overlay::new(view, prepared.len());
        let env = self.env(ctx);
        let boundary_error = |e| match e {
            LedgerError::Storage(e) => e,
            other => ViewError {
                message: format!("block boundary: {other}"),
            },
        };
        let effect = run_boundary(&env, &overlay).map_err(boundary_error)?;
        // The end-of-block step numbers its outputs after these.
        let boundary_outputs = u32::try_from(effect.created.len()).unwrap_or(u32::MAX);
        let mut boundary = BoundaryReceipt {
            height: ctx.height,
            events: apply_boundary(&mut overlay, effect),
        };
        let mut results: Vec<Option<Result<Receipt, LedgerError>>> =
            (0..prepared.len()).map(|_| None).collect();
        let run =
            |overlay: &Overlay<'_, V>, p: &PreparedTx<'_>| apply_transaction(self, overlay, ctx, p);
        if parallel {
            for level in schedule(&prepared) {
                let outcomes: Vec<(usize, Result<AppliedTx, LedgerError>)> = level
                    .par_iter()
                    .with_min_len(16)
                    .map(|&i| (i, run(&overlay, &prepared[i])))
                    .collect();
                for (i, outcome) in outcomes {
                    record(&mut overlay, &mut results[i], outcome)?;
                }
            }
        } else {
            for (i, p) in prepared.iter().enumerate() {
                let outcome = run(&overlay, p);
                record(&mut overlay, &mut results[i], outcome)?;
            }
        }

        // The end of the block (staking): after every transaction.
        let fees = results
            .iter()
            .filter_map(|r| match r {
                Some(Ok(receipt)) => Some(receipt.fee_charged),
                _ => None,
            })
            .fold(0u128, u128::saturating_add);
        let effect = crate::staking::end_block(&env, &overlay, consensus, fees, boundary_outputs)
            .map_err(boundary_error)?;
        let events = apply_boundary(&mut overlay, effect);
        boundary.events.extend(events);

        let mut receipts = Vec::with_capacity(prepared.len());
        let mut rejected = Vec::new();
        for (index, (p, result)) in prepared.iter().zip(results).enumerate() {
            match result {
                Some(Ok(receipt)) => receipts.push(receipt),
                Some(Err(error)) => rejected.push(RejectedTx {
                    index,
                    tx_id: p.id,
                    error,
                }),
                None => unreachable!("every transaction is scheduled exactly once"),
            }
        }
        Ok(BlockOutcome {
            receipts,
            rejected,
            diff: overlay.into_diff(parallel),
            boundary,
        })
    }
}

/// Applies a boundary's effect to the overlay; returns its events.
fn apply_boundary<V: UtxoView + ?Sized>(
    overlay: &mut Overlay<'_, V>,
    effect: crate::market::MarketEffect,
) -> Vec<aether_types::Event> {
    overlay.apply(TxEffect {
        spent: vec![],
        created: effect.created,
        objects: effect.objects,
    });
    effect.events
}

fn record<V: UtxoView + ?Sized>(
    overlay: &mut Overlay<'_, V>,
    slot: &mut Option<Result<Receipt, LedgerError>>,
    outcome: Result<AppliedTx, LedgerError>,
) -> Result<(), ViewError> {
    *slot = Some(match outcome {
        Err(LedgerError::Storage(e)) => return Err(e),
        Ok(applied) => {
            overlay.apply(applied.effect);
            Ok(applied.receipt)
        }
        Err(error) => Err(error),
    });
    Ok(())
}

/// Groups transaction indices into levels (see the module docs); each
/// level lists indices in ascending order.
pub(crate) fn schedule(prepared: &[PreparedTx<'_>]) -> Vec<Vec<usize>> {
    // Level numbers are 1-based here; 0 means "no earlier access".
    let mut written: HashMap<OutPoint, u32> = HashMap::with_capacity(prepared.len());
    let mut read: HashMap<OutPoint, u32> = HashMap::new();
    let mut created: HashMap<TxId, u32> = HashMap::with_capacity(prepared.len());
    let mut named: HashMap<TxId, u32> = HashMap::with_capacity(prepared.len());
    let mut keys_written: HashMap<AccessKey, u32> = HashMap::new();
    let mut keys_read: HashMap<AccessKey, u32> = HashMap::new();
    let mut levels: Vec<Vec<usize>> = Vec::new();
    for (index, p) in prepared.iter().enumerate() {
        let body = &p.tx.body;
        let (key_reads, key_writes): (Vec<AccessKey>, Vec<AccessKey>) = body
            .actions
            .iter()
            .map(|a| a.access())
            .fold((Vec::new(), Vec::new()), |(mut r, mut w), access| {
                r.extend(access.reads);
                w.extend(access.writes);
                (r, w)
            });
        let writes = || body.inputs.iter().chain(&body.collateral);
        let reads = || body.reference_inputs.iter();
        let mut after = 0u32;
        for op in writes() {
            after = after
                .max(written.get(op).copied().unwrap_or(0))
                .max(read.get(op).copied().unwrap_or(0))
                .max(created.get(&op.tx_id).copied().unwrap_or(0));
        }
        for op in reads() {
            after = after
                .max(written.get(op).copied().unwrap_or(0))
                .max(created.get(&op.tx_id).copied().unwrap_or(0));
        }
        after = after
            .max(named.get(&p.id).copied().unwrap_or(0))
            .max(created.get(&p.id).copied().unwrap_or(0));
        for key in &key_writes {
            after = after
                .max(keys_written.get(key).copied().unwrap_or(0))
                .max(keys_read.get(key).copied().unwrap_or(0));
        }
        for key in &key_reads {
            after = after.max(keys_written.get(key).copied().unwrap_or(0));
        }
        let level = after + 1;
        for key in key_writes {
            keys_written.insert(key, level);
        }
        for key in key_reads {
            let entry = keys_read.entry(key).or_insert(0);
            *entry = (*entry).max(level);
        }
        for op in writes() {
            written.insert(*op, level);
        }
        for op in writes().chain(reads()) {
            let entry = named.entry(op.tx_id).or_insert(0);
            *entry = (*entry).max(level);
        }
        for op in reads() {
            let entry = read.entry(*op).or_insert(0);
            *entry = (*entry).max(level);
        }
        let entry = created.entry(p.id).or_insert(0);
        *entry = (*entry).max(level);
        let slot = (level - 1) as usize;
        if levels.len() <= slot {
            levels.resize_with(slot + 1, Vec::new);
        }
        levels[slot].push(index);
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{
        Address, ChainId, KeyHash, TxBody, TxOutput, TxWitnesses, ValidityInterval,
    };

    fn tx(inputs: &[OutPoint], refs: &[OutPoint], tag: u8) -> Transaction {
        Transaction {
            body: TxBody {
                chain_id: ChainId(1),
                inputs: inputs.iter().copied().collect(),
                reference_inputs: refs.iter().copied().collect(),
                collateral: Default::default(),
                collateral_return: None,
                outputs: vec![TxOutput::coin(Address::Key(KeyHash([tag; 32])), 1)],
                fee: 0,
                validity: ValidityInterval::default(),
                mint: Default::default(),
                spend_redeemers: Default::default(),
                required_signers: Default::default(),
                actions: vec![],
            },
            witnesses: TxWitnesses::default(),
        }
    }

    fn levels(txs: &[Transaction]) -> Vec<Vec<usize>> {
        let prepared: Vec<PreparedTx<'_>> = txs.iter().map(PreparedTx::new).collect();
        schedule(&prepared)
    }

    fn op(i: u8) -> OutPoint {
        OutPoint::new(TxId([i; 32]), 0)
    }

    #[test]
    fn independent_transactions_share_one_level() {
        let txs: Vec<Transaction> = (0..10).map(|i| tx(&[op(i)], &[], i)).collect();
        assert_eq!(levels(&txs), vec![(0..10).collect::<Vec<_>>()]);
    }

    #[test]
    fn chains_double_spends_and_reads_are_ordered() {
        let a = tx(&[op(1)], &[], 1);
        let b = tx(&[OutPoint::new(a.id(), 0)], &[], 2); // spends A's output
        let c = tx(&[op(1)], &[], 3); // double spend of A's input
        let d = tx(&[op(4)], &[op(9)], 4); // reads op(9)
        let e = tx(&[op(5)], &[op(9)], 5); // reads op(9) too: no conflict with d
        let f = tx(&[op(9)], &[], 6); // spends what d and e read
        assert_eq!(
            levels(&[a, b, c, d, e, f]),
            vec![vec![0, 3, 4], vec![1, 2, 5]]
        );
    }

    #[test]
    fn forward_reference_runs_before_the_creator() {
        let creator = tx(&[op(1)], &[], 1);
        let early = tx(&[OutPoint::new(creator.id(), 0)], &[], 2);
        // `early` names the creator's outputs before it exists: the creator
        // must run after `early` (where `early` fails, as in block order).
        assert_eq!(levels(&[early, creator]), vec![vec![0], vec![1]]);
    }
}
