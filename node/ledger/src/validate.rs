//! Validation and application of one transaction against a UTxO view.
//!
//! See the crate docs for the rules; this module implements them in the
//! order listed there (cheap stateless checks first, then lookups, then
//! signatures, value, scripts).

use crate::Ledger;
use crate::error::LedgerError;
use crate::market::{MarketEffect, PreparedAction, TxFacts, apply_actions};
use crate::params::ProtocolParams;
use crate::state::{TxEffect, UtxoView};
use aether_crypto::ed25519::{SignedMessage, verify_each};
use aether_types::{
    Action, Address, BlockHash, Canonical, KeyHash, OutPoint, Receipt, Redeemer, ResolvedInput,
    Script, ScriptContext, ScriptHash, ScriptPurpose, Transaction, TxId, TxInfo, TxStatus, Value,
    encode,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Where in the chain a block executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block being executed (the chain's slot).
    pub height: u64,
    /// The block's timestamp, milliseconds since the Unix epoch: the time
    /// TEE evidence is verified at.
    pub timestamp_ms: u64,
    /// The parent block's hash (the market router's draw seed).
    pub parent_hash: BlockHash,
}

impl From<u64> for BlockContext {
    /// [`BlockContext::at`].
    fn from(height: u64) -> Self {
        BlockContext::at(height)
    }
}

impl BlockContext {
    /// A context at `height` with time zero and a zero parent hash (tests
    /// and tools that use no time-dependent rule).
    pub fn at(height: u64) -> Self {
        BlockContext {
            height,
            timestamp_ms: 0,
            parent_hash: BlockHash::default(),
        }
    }

    /// The block time in whole seconds (for TEE evidence validity).
    pub fn unix_secs(&self) -> u64 {
        self.timestamp_ms / 1000
    }
}

/// A transaction with everything computed that needs no state: id, size,
/// structural check, signer key hashes and the signature verdict.
#[derive(Debug)]
pub(crate) struct PreparedTx<'a> {
    pub(crate) tx: &'a Transaction,
    pub(crate) id: TxId,
    pub(crate) size: usize,
    pub(crate) structure: Result<(), aether_types::Error>,
    pub(crate) signers: Vec<KeyHash>,
    pub(crate) signatures_ok: bool,
    /// Precomputed market checks, one per action (filled by
    /// [`PreparedTx::prepare_actions`]).
    pub(crate) actions: Vec<PreparedAction>,
}

impl<'a> PreparedTx<'a> {
    /// Everything but signature verification.
    pub(crate) fn new(tx: &'a Transaction) -> Self {
        let body = encode(&tx.body);
        let id = TxId(aether_types::tagged_hash(aether_types::tag::TX_BODY, &[&body]).0);
        let size = body.len().saturating_add(encode(&tx.witnesses).len());
        PreparedTx {
            tx,
            id,
            size,
            structure: tx.check(),
            signers: tx
                .witnesses
                .vkeys
                .iter()
                .map(|w| w.public_key.key_hash())
                .collect(),
            signatures_ok: false,
            actions: Vec::new(),
        }
    }

    /// Precomputes the market actions' stateless checks at `ctx`'s time;
    /// the receipts' KZG checks too unless `defer_kzg` (a block batches
    /// them: [`crate::market::prepare::fill_kzg`]).
    pub(crate) fn prepare_actions(&mut self, ledger: &Ledger, ctx: &BlockContext, defer_kzg: bool) {
        if !self.tx.body.actions.is_empty() && self.actions.is_empty() {
            self.actions = crate::market::prepare_actions(
                ledger.evidence_verifier(),
                ledger.params().chain_id.0,
                self.tx,
                ctx.unix_secs(),
                !defer_kzg,
            );
        }
    }

    /// The receipt actions with their prepared checks.
    pub(crate) fn receipt_slots<'s>(
        &'s mut self,
    ) -> impl Iterator<Item = (&'a aether_types::Vcr, &'s mut crate::market::ReceiptChecks)> + 's
    {
        let tx: &'a Transaction = self.tx;
        tx.body
            .actions
            .iter()
            .zip(self.actions.iter_mut())
            .filter_map(|(a, p)| match (a, p) {
                (Action::SubmitReceipt(vcr), PreparedAction::Receipt(checks)) => {
                    Some((&**vcr, checks))
                }
                _ => None,
            })
    }
}

/// The largest encoding allowed for `tx`: larger for a transaction that
/// carries a challenge (its checkpoint data).
pub(crate) fn size_limit(params: &ProtocolParams, tx: &Transaction) -> usize {
    if tx
        .body
        .actions
        .iter()
        .any(|a| matches!(a, Action::Challenge(_)))
    {
        params.market.max_challenge_tx_size.max(params.max_tx_size)
    } else {
        params.max_tx_size
    }
}

/// The stateless rules of a transaction, in order: structure, chain id,
/// size, validity interval (when `height` is given), declared fuel, fee,
/// minimum output coin. Signatures are separate ([`verify_signatures`]).
pub(crate) fn stateless_rules(
    params: &ProtocolParams,
    p: &PreparedTx<'_>,
    height: Option<u64>,
) -> Result<(), LedgerError> {
    let body = &p.tx.body;
    p.structure.clone().map_err(LedgerError::Malformed)?;
    if body.chain_id != params.chain_id {
        return Err(LedgerError::WrongChain {
            expected: params.chain_id,
            got: body.chain_id,
        });
    }
    let max_size = size_limit(params, p.tx);
    if p.size > max_size {
        return Err(LedgerError::TooLarge {
            size: p.size,
            max: max_size,
        });
    }
    if let Some(height) = height
        && !body.validity.contains(height)
    {
        return Err(LedgerError::OutsideValidityInterval { height });
    }
    let declared_fuel = body.declared_fuel().map_err(LedgerError::Malformed)?;
    if declared_fuel > params.scripts.max_fuel_per_tx {
        return Err(LedgerError::FuelLimitExceeded {
            declared: declared_fuel,
            max: params.scripts.max_fuel_per_tx,
        });
    }
    let min_fee = params.fees.min_fee(p.size, declared_fuel)?;
    if body.fee < min_fee {
        return Err(LedgerError::FeeTooLow {
            fee: body.fee,
            min: min_fee,
        });
    }
    for (index, output) in body
        .outputs
        .iter()
        .chain(&body.collateral_return)
        .enumerate()
    {
        if output.value.coin < params.min_output_coin {
            return Err(LedgerError::OutputTooSmall {
                index,
                coin: output.value.coin,
                min: params.min_output_coin,
            });
        }
    }
    Ok(())
}

/// Proof that every vkey witness of one transaction verified over its id.
/// Only [`check_stateless`] builds it; [`crate::Ledger::validate_verified`]
/// accepts it instead of verifying the signatures again (mempool admission
/// verifies once, before taking the pool lock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedWitnesses {
    tx_id: TxId,
    // The id covers only the body: the witnesses are bound separately, so
    // a proof cannot vouch for other signatures over the same body.
    witnesses: aether_types::Digest,
}

impl VerifiedWitnesses {
    /// The transaction the proof is about.
    pub fn tx_id(&self) -> TxId {
        self.tx_id
    }

    /// Whether the proof is about exactly `tx` (body and witnesses).
    pub fn covers(&self, tx: &Transaction, tx_id: &TxId) -> bool {
        self.tx_id == *tx_id && self.witnesses == tx.witnesses.hash()
    }
}

/// Every stateless rule of a transaction (see [`stateless_rules`]; the
/// validity interval is left to the stateful check, which knows the
/// height), then its vkey witnesses: one batch, and singly on failure to
/// name the first bad one ([`LedgerError::InvalidWitness`]).
pub fn check_stateless(
    params: &ProtocolParams,
    tx: &Transaction,
) -> Result<VerifiedWitnesses, LedgerError> {
    let p = PreparedTx::new(tx);
    stateless_rules(params, &p, None)?;
    let items: Vec<SignedMessage<'_>> = tx
        .witnesses
        .vkeys
        .iter()
        .map(|w| SignedMessage {
            public_key: &w.public_key,
            message: p.id.as_bytes(),
            signature: &w.signature,
        })
        .collect();
    if let Some(index) = verify_each(&items).iter().position(|ok| !ok) {
        return Err(LedgerError::InvalidWitness { index });
    }
    Ok(VerifiedWitnesses {
        tx_id: p.id,
        witnesses: tx.witnesses.hash(),
    })
}

/// Verifies the vkey witnesses of `prepared` and records the verdicts.
///
/// **Consensus rule.** The witnesses of all transactions, in block order
/// and within a transaction in witness order, are cut into consecutive
/// batches of `batch_size`; each batch is verified with
/// [`verify_each`] (one batch equation, and single strict verification of
/// every member if the batch fails). A transaction's signatures are valid
/// iff all its witnesses pass. The batches depend only on the block, so
/// every node (and both executors) reach the same verdicts whatever the
/// thread count.
pub(crate) fn verify_signatures(
    prepared: &mut [PreparedTx<'_>],
    batch_size: usize,
    parallel: bool,
) {
    let batch_size = batch_size.max(1);
    let items: Vec<(usize, SignedMessage<'_>)> = prepared
        .iter()
        .enumerate()
        .flat_map(|(index, p)| {
            p.tx.witnesses.vkeys.iter().map(move |w| {
                (
                    index,
                    SignedMessage {
                        public_key: &w.public_key,
                        message: p.id.as_bytes(),
                        signature: &w.signature,
                    },
                )
            })
        })
        .collect();
    let check = |chunk: &[(usize, SignedMessage<'_>)]| -> Vec<bool> {
        let messages: Vec<SignedMessage<'_>> = chunk.iter().map(|(_, m)| *m).collect();
        verify_each(&messages)
    };
    let verdicts: Vec<bool> = if parallel {
        items.par_chunks(batch_size).flat_map_iter(check).collect()
    } else {
        items.chunks(batch_size).flat_map(check).collect()
    };
    let mut ok = vec![true; prepared.len()];
    for ((index, _), verdict) in items.iter().zip(verdicts) {
        if !verdict {
            ok[*index] = false;
        }
    }
    drop(items);
    for (p, ok) in prepared.iter_mut().zip(ok) {
        p.signatures_ok = ok;
    }
}

/// Result of applying one valid transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedTx {
    /// Changes to the UTxO set.
    pub effect: TxEffect,
    /// The receipt.
    pub receipt: Receipt,
}

fn resolve<V: UtxoView + ?Sized>(
    view: &V,
    points: impl Iterator<Item = OutPoint>,
    missing: fn(OutPoint) -> LedgerError,
) -> Result<Vec<ResolvedInput>, LedgerError> {
    points
        .map(|out_point| match view.utxo(&out_point)? {
            Some(output) => Ok(ResolvedInput { out_point, output }),
            None => Err(missing(out_point)),
        })
        .collect()
}

fn sum_values<'a>(values: impl Iterator<Item = &'a Value>) -> Result<Value, LedgerError> {
    let mut total = Value::default();
    for value in values {
        total
            .checked_add_assign(value)
            .map_err(|_| LedgerError::ValueOverflow)?;
    }
    Ok(total)
}

struct ScriptRunPlan<'t> {
    purpose: ScriptPurpose,
    hash: ScriptHash,
    redeemer: &'t Redeemer,
    datum_source: Option<usize>,
}

/// Validates `p` against `view` at `ctx` and computes its effect.
///
/// `Err` means phase-1 invalid (or a storage failure): the transaction
/// cannot be included and nothing is charged. `Ok` with a
/// [`TxStatus::ScriptFailed`] receipt means a script failed: the effect
/// then consumes the collateral only.
pub(crate) fn apply_transaction<V: UtxoView + ?Sized>(
    ledger: &Ledger,
    view: &V,
    ctx: &crate::BlockContext,
    p: &PreparedTx<'_>,
) -> Result<AppliedTx, LedgerError> {
    let params = ledger.params();
    let scripts = ledger.scripts();
    let body = &p.tx.body;

    // 1. Stateless checks.
    stateless_rules(params, p, Some(ctx.height))?;
    if !p.signatures_ok {
        return Err(LedgerError::InvalidSignature);
    }

    // 2. Resolve everything the transaction names.
    let inputs = resolve(view, body.inputs.iter().copied(), LedgerError::MissingInput)?;
    let reference_inputs = resolve(
        view,
        body.reference_inputs.iter().copied(),
        LedgerError::MissingReferenceInput,
    )?;
    let collateral = resolve(
        view,
        body.collateral.iter().copied(),
        LedgerError::MissingCollateral,
    )?;

    // 3. Who must sign, which scripts must run.
    let mut needed_keys: Vec<KeyHash> = Vec::new();
    let mut plans: Vec<ScriptRunPlan<'_>> = Vec::new();
    for (position, input) in inputs.iter().enumerate() {
        let redeemer = body.spend_redeemers.get(&input.out_point);
        match (input.output.address, redeemer) {
            (Address::Key(key), None) => needed_keys.push(key),
            (Address::Key(_), Some(_)) => {
                return Err(LedgerError::UnexpectedRedeemer(input.out_point));
            }
            (Address::Script(hash), Some(redeemer)) => plans.push(ScriptRunPlan {
                purpose: ScriptPurpose::Spend(input.out_point),
                hash,
                redeemer,
                datum_source: Some(position),
            }),
            (Address::Script(_), None) => {
                return Err(LedgerError::MissingRedeemer(input.out_point));
            }
        }
    }
    for (policy, mint) in &body.mint {
        plans.push(ScriptRunPlan {
            purpose: ScriptPurpose::Mint(*policy),
            hash: *policy,
            redeemer: &mint.redeemer,
            datum_source: None,
        });
    }
    for input in &collateral {
        match input.output.address {
            Address::Key(key) => needed_keys.push(key),
            Address::Script(_) => return Err(LedgerError::CollateralNotKeyLocked(input.out_point)),
        }
    }
    needed_keys.extend(body.required_signers.iter().copied());
    if let Some(key) = needed_keys.iter().find(|k| !p.signers.contains(k)) {
        return Err(LedgerError::MissingSignature(*key));
    }

    // 4. Value: inputs + minted = outputs + fee + burned + deposits.
    let mut consumed = sum_values(inputs.iter().map(|i| &i.output.value))?;
    let mut produced = sum_values(body.outputs.iter().map(|o| &o.value))?;
    produced
        .checked_add_coin(body.fee)
        .map_err(|_| LedgerError::ValueOverflow)?;
    let deposits = body
        .action_deposits()
        .map_err(|_| LedgerError::DepositOverflow)?;
    produced
        .checked_add_coin(deposits)
        .map_err(|_| LedgerError::DepositOverflow)?;
    for (policy, mint) in &body.mint {
        for (name, quantity) in mint.amounts.iter() {
            let (side, amount) = if quantity > 0 {
                (&mut consumed, quantity.unsigned_abs())
            } else {
                (&mut produced, quantity.unsigned_abs())
            };
            side.assets
                .checked_add_asset(*policy, name.clone(), amount)
                .map_err(|_| LedgerError::ValueOverflow)?;
        }
    }
    if consumed != produced {
        return Err(LedgerError::ValueNotConserved {
            consumed: Box::new(consumed),
            produced: Box::new(produced),
        });
    }

    let id = p.id;

    // 5. Actions, in order, against the state (still phase 1: a refused
    //    action makes the transaction invalid). Their payouts are outputs
    //    after the collateral-return index.
    let market = if body.actions.is_empty() {
        MarketEffect::default()
    } else {
        let first_payout = body
            .collateral_return_index()
            .map_err(LedgerError::Malformed)?
            .checked_add(1)
            .ok_or(LedgerError::Malformed(aether_types::Error::TooManyOutputs))?;
        let env = ledger.env(ctx);
        apply_actions(
            &env,
            view,
            TxFacts {
                id,
                signers: &p.signers,
            },
            first_payout,
            &body.actions,
            &p.actions,
        )?
    };
    let MarketEffect {
        objects: market_objects,
        created: market_created,
        events,
    } = market;
    let success_effect = || TxEffect {
        spent: body.inputs.iter().copied().collect(),
        created: body
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (OutPoint::new(id, i as u32), o.clone()))
            .chain(market_created.iter().cloned())
            .collect(),
        objects: market_objects.clone(),
    };

    if plans.is_empty() {
        if !body.collateral.is_empty() || body.collateral_return.is_some() {
            return Err(LedgerError::UnexpectedCollateral);
        }
        if let Some(script) = p.tx.witnesses.scripts.first() {
            return Err(LedgerError::ExtraneousScript(script.hash()));
        }
        return Ok(AppliedTx {
            effect: success_effect(),
            receipt: Receipt {
                tx_id: id,
                status: TxStatus::Success,
                fee_charged: body.fee,
                fuel_used: 0,
                events,
            },
        });
    }

    // 6. Collateral: key-locked (checked above), balanced exactly.
    if body.collateral.is_empty() {
        return Err(LedgerError::CollateralRequired);
    }
    let collateral_total = sum_values(collateral.iter().map(|i| &i.output.value))?;
    let mut covered = body
        .collateral_return
        .as_ref()
        .map(|o| o.value.clone())
        .unwrap_or_default();
    covered
        .checked_add_coin(body.fee)
        .map_err(|_| LedgerError::ValueOverflow)?;
    if collateral_total != covered {
        return Err(LedgerError::CollateralNotBalanced {
            collateral: Box::new(collateral_total),
            covered: Box::new(covered),
        });
    }

    let tx_info = TxInfo {
        id,
        inputs,
        reference_inputs,
        outputs: body.outputs.clone(),
        fee: body.fee,
        mint: body
            .mint
            .iter()
            .map(|(policy, m)| (*policy, m.amounts.clone()))
            .collect(),
        validity: body.validity,
        required_signers: body.required_signers.clone(),
    };
    // 7. Scripts available: witnesses, then reference scripts of inputs
    //    and reference inputs.
    let mut available: HashMap<ScriptHash, (&Script, bool)> = HashMap::new();
    for script in &p.tx.witnesses.scripts {
        available.insert(script.hash(), (script, true));
    }
    for resolved in tx_info.inputs.iter().chain(&tx_info.reference_inputs) {
        if let Some(script) = &resolved.output.reference_script {
            available.entry(script.hash()).or_insert((script, false));
        }
    }
    let mut used: Vec<ScriptHash> = Vec::with_capacity(plans.len());
    for plan in &plans {
        if !available.contains_key(&plan.hash) {
            return Err(LedgerError::MissingScript(plan.hash));
        }
        used.push(plan.hash);
    }
    for script in &p.tx.witnesses.scripts {
        let hash = script.hash();
        if !used.contains(&hash) {
            return Err(LedgerError::ExtraneousScript(hash));
        }
    }

    // 8. Phase 2: run every script; the first failure fails the transaction.
    let encoded_info = encode(&tx_info);
    let mut fuel_used: u64 = 0;
    for plan in &plans {
        let (script, _) = available[&plan.hash];
        let datum = plan
            .datum_source
            .and_then(|i| tx_info.inputs[i].output.datum.as_ref());
        let context: Arc<[u8]> =
            ScriptContext::encode_parts(&plan.purpose, datum, &plan.redeemer.data, &encoded_info)
                .into();
        let run = scripts.run(script, &plan.hash, context, plan.redeemer.fuel);
        fuel_used = fuel_used.saturating_add(run.fuel_used);
        if let Err(failure) = run.verdict {
            let return_index = body
                .collateral_return_index()
                .map_err(LedgerError::Malformed)?;
            return Ok(AppliedTx {
                effect: TxEffect {
                    spent: body.collateral.iter().copied().collect(),
                    created: body
                        .collateral_return
                        .iter()
                        .map(|o| (OutPoint::new(id, return_index), o.clone()))
                        .collect(),
                    objects: vec![],
                },
                receipt: Receipt {
                    tx_id: id,
                    status: TxStatus::ScriptFailed {
                        purpose: plan.purpose,
                        failure,
                    },
                    fee_charged: body.fee,
                    fuel_used,
                    events: vec![],
                },
            });
        }
    }
    Ok(AppliedTx {
        effect: success_effect(),
        receipt: Receipt {
            tx_id: id,
            status: TxStatus::Success,
            fee_charged: body.fee,
            fuel_used,
            events,
        },
    })
}
