//! Building transactions that pay exactly the minimum fee, and coin
//! selection.
//!
//! # Exact fees
//! The fee of a transaction is the chain's
//! [`FeeSchedule::min_fee_for`] of its **final encoding**: the body with
//! its final fee, amounts and outputs, and the witnesses with their final
//! count (every signature is 64 bytes, so placeholder signatures have the
//! real size). The builder encodes the transaction, computes the minimum,
//! writes it, and repeats until the fee it wrote is the fee the encoding
//! asks for (with today's fixed-width encoding that is the second round;
//! the loop keeps the result exact if an encoding ever depends on values).
//! Then it signs.
//!
//! # Balance
//! With `available = Σ inputs + minted` and `required = Σ outputs +
//! burned + action deposits` (per asset; deposits are AIC), the surplus
//! `available − required` pays the fee and the
//! rest goes to the change address as the last output. Change below the
//! chain's `min_output_coin` cannot be an output: it is dropped and goes to
//! the fee (so the fee then exceeds the minimum by less than
//! `min_output_coin` plus the cost of the change output). Without a change
//! address the whole surplus is the fee.
//!
//! Collateral (for transactions that run scripts) balances separately and
//! exactly, as the ledger demands: `Σ collateral = collateral return +
//! fee`; a return below `min_output_coin` is dropped the same way (the fee
//! is then the whole collateral, and both equations must agree).
//!
//! # Coin selection
//! [`TxBuilder::fund_from`] adds the largest AIC-only outputs first (ties
//! by out-point) until the transaction balances; outputs carrying other
//! assets are never picked, so a transfer never moves tokens by accident.
//!
//! # Extending
//! Every body the builder makes starts from [`empty_body`], the one place
//! that lists the body's fields; a new field gets its default there and a
//! builder method (or use [`TxBuilder::edit_body`] meanwhile). A field that
//! moves value must also be counted in the balance (`TxBuilder::surplus`),
//! as the deposits of actions are.

use aether_crypto::ed25519::Keypair;
use aether_types::{
    Action, Address, Canonical, ChainId, Error as TypesError, FeeError, FeeSchedule, KeyHash,
    OutPoint, PolicyId, PolicyMint, Redeemer, Script, Signature, Transaction, TxBody, TxOutput,
    TxParams, TxWitnesses, VKeyWitness, ValidityInterval, Value,
};
use std::collections::{BTreeMap, BTreeSet};

/// Rounds of the fee loop before giving up (two suffice for fixed-width
/// encodings; each shape change restarts the count).
const MAX_FEE_ROUNDS: usize = 16;

/// Why a transaction could not be built. Nothing is signed then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// An output holds less AIC than the chain's minimum.
    #[error("output {index} holds {coin} base units, below the minimum of {min}")]
    OutputTooSmall {
        /// Index of the output.
        index: usize,
        /// Its AIC.
        coin: u128,
        /// The chain's `min_output_coin`.
        min: u128,
    },
    /// The inputs do not cover the outputs plus the fee (plus a change
    /// output when the surplus holds assets).
    #[error(
        "insufficient funds: {available} base units available, {required} needed for the outputs and the fee"
    )]
    InsufficientFunds {
        /// AIC of the inputs (and minted coin: none).
        available: u128,
        /// AIC the outputs and the fee need.
        required: u128,
    },
    /// The inputs and mints do not cover an asset of the outputs and burns.
    #[error("the inputs do not hold the assets the outputs and burns need")]
    AssetsNotCovered,
    /// Assets are left over but there is no change address to hold them.
    #[error("assets are left over and there is no change address")]
    AssetsWithoutChange,
    /// The collateral does not cover the fee.
    #[error("collateral of {collateral} base units does not cover the fee of {fee}")]
    InsufficientCollateral {
        /// AIC of the collateral inputs.
        collateral: u128,
        /// Fee needed.
        fee: u128,
    },
    /// Collateral without a return must equal the fee, and so must the
    /// surplus without change: here the two disagree.
    #[error(
        "the fee cannot be both the surplus ({surplus}) and the collateral ({collateral}): add a change or collateral-return address"
    )]
    FeeConflict {
        /// Surplus of the inputs over the outputs.
        surplus: u128,
        /// Collateral total.
        collateral: u128,
    },
    /// A key-locked input or collateral, or a required signer, has no
    /// signing key among the builder's signers.
    #[error("no signer for key {0}")]
    MissingSigner(KeyHash),
    /// The transaction breaks a structural rule (no inputs, ...).
    #[error("malformed transaction: {0}")]
    Malformed(TypesError),
    /// The encoded transaction exceeds the chain's size limit.
    #[error("transaction of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Encoded size.
        size: u64,
        /// The chain's `max_tx_size`.
        max: u64,
    },
    /// The declared script fuel exceeds the chain's maximum.
    #[error("declared fuel {declared} exceeds the maximum {max}")]
    FuelLimitExceeded {
        /// Declared fuel.
        declared: u64,
        /// The chain's `max_fuel_per_tx`.
        max: u64,
    },
    /// The fee formula or a value sum overflowed, or the fuel sum did.
    #[error(transparent)]
    Fee(#[from] FeeError),
    /// A sum of values overflowed.
    #[error("value overflow")]
    ValueOverflow,
    /// The fee loop did not reach a fixed point (an encoding whose size
    /// keeps changing with the fee).
    #[error("the fee did not settle after {MAX_FEE_ROUNDS} rounds")]
    FeeDidNotSettle,
}

impl BuildError {
    /// Whether more AIC inputs could fix it (what coin selection retries on).
    pub fn needs_more_funds(&self) -> bool {
        matches!(self, BuildError::InsufficientFunds { .. })
    }
}

/// A transaction body for `chain_id` with no inputs, outputs or anything
/// else, fee 0. The one place that lists the body's fields.
pub fn empty_body(chain_id: ChainId) -> TxBody {
    TxBody {
        chain_id,
        inputs: BTreeSet::new(),
        reference_inputs: BTreeSet::new(),
        collateral: BTreeSet::new(),
        collateral_return: None,
        outputs: vec![],
        fee: 0,
        validity: ValidityInterval::default(),
        mint: BTreeMap::new(),
        spend_redeemers: BTreeMap::new(),
        required_signers: BTreeSet::new(),
        actions: vec![],
    }
}

/// An unspent output as the builder needs it: where it is, who can spend
/// it, what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Utxo {
    /// Where it is.
    pub out_point: OutPoint,
    /// Its address (a key address needs that key's signature).
    pub address: Address,
    /// What it holds.
    pub value: Value,
}

impl Utxo {
    /// The output `output` at `out_point`.
    pub fn new(out_point: OutPoint, output: &TxOutput) -> Self {
        Utxo {
            out_point,
            address: output.address,
            value: output.value.clone(),
        }
    }

    /// Whether it holds AIC only (what coin selection spends).
    pub fn is_aic_only(&self) -> bool {
        self.value.assets.is_empty()
    }
}

fn key_of(address: &Address) -> Option<KeyHash> {
    match address {
        Address::Key(key) => Some(*key),
        Address::Script(_) => None,
    }
}

/// `a -= b`, per asset; `None` if any quantity would go negative.
fn checked_sub(a: &Value, b: &Value) -> Option<Value> {
    let mut out = a.clone();
    out.coin = out.coin.checked_sub(b.coin)?;
    for (policy, name, quantity) in b.assets.iter() {
        out.assets.checked_sub_asset(policy, name, quantity).ok()?;
    }
    Some(out)
}

/// The witnesses of the final transaction with placeholder signatures:
/// their encoding has the final size.
fn placeholder_witnesses(keys: &[&Keypair], scripts: &[Script]) -> TxWitnesses {
    let mut witnesses = TxWitnesses {
        vkeys: vec![],
        scripts: scripts.to_vec(),
    };
    for k in keys {
        witnesses.insert_vkey(VKeyWitness {
            public_key: k.public_key(),
            signature: Signature([0; 64]),
        });
    }
    witnesses
}

/// The minimum fee of `body` carried with `witnesses`, plus `extra`: the
/// ledger's own formula over the transaction's canonical encoding.
fn min_fee(
    fees: &FeeSchedule,
    body: &TxBody,
    witnesses: &TxWitnesses,
    extra: u128,
) -> Result<u128, BuildError> {
    let tx = Transaction {
        body: body.clone(),
        witnesses: witnesses.clone(),
    };
    fees.min_fee_for(&tx)?
        .checked_add(extra)
        .ok_or(BuildError::Fee(FeeError::Overflow))
}

fn sign(body: TxBody, keys: &[&Keypair], scripts: Vec<Script>) -> Transaction {
    let mut witnesses = TxWitnesses {
        vkeys: vec![],
        scripts,
    };
    for k in keys {
        witnesses.insert_vkey(k.sign_tx(&body));
    }
    Transaction { body, witnesses }
}

/// The low-level primitive: writes into `body` the exact minimum fee of
/// its final encoding (signed by `signers`, carrying `scripts`) plus
/// `extra_fee`, then signs.
///
/// `adjust(body, fee)` runs after each fee is written, to set the amounts
/// that depend on it (change, collateral return). It must not change which
/// fields are present; the loop runs until the fee is stable. Unlike
/// [`TxBuilder`], nothing is balanced or checked: tests use it to build
/// transactions the ledger must refuse.
pub fn sign_with_exact_fee(
    fees: &FeeSchedule,
    mut body: TxBody,
    signers: &[&Keypair],
    scripts: Vec<Script>,
    extra_fee: u128,
    mut adjust: impl FnMut(&mut TxBody, u128),
) -> Result<Transaction, BuildError> {
    let placeholders = placeholder_witnesses(signers, &scripts);
    let mut fee = 0;
    for _ in 0..MAX_FEE_ROUNDS {
        body.fee = fee;
        adjust(&mut body, fee);
        let needed = min_fee(fees, &body, &placeholders, extra_fee)?;
        if needed == fee {
            return Ok(sign(body, signers, scripts));
        }
        fee = needed;
    }
    Err(BuildError::FeeDidNotSettle)
}

/// Builds a balanced, signed transaction with the exact fee (see the
/// module docs). Methods take and return the builder:
///
/// ```
/// use aether_client::builder::{TxBuilder, Utxo};
/// use aether_crypto::ed25519::Keypair;
/// use aether_types::*;
///
/// let params = TxParams {
///     chain_id: ChainId(7),
///     fees: FeeSchedule { base: 100_000, per_byte: 1_000, per_fuel: 1 },
///     min_output_coin: 1_000,
///     max_tx_size: 128 * 1024,
///     max_fuel_per_tx: 50_000_000,
/// };
/// let alice = Keypair::from_secret_bytes(&[1; 32]);
/// let me = Address::Key(alice.key_hash());
/// let coins = [Utxo {
///     out_point: OutPoint::new(TxId([9; 32]), 0),
///     address: me,
///     value: Value::from_coin(10 * BASE_UNITS_PER_AIC),
/// }];
/// let bob = Address::Key(KeyHash([2; 32]));
/// let tx = TxBuilder::new(&params)
///     .pay(bob, BASE_UNITS_PER_AIC)
///     .change_to(me)
///     .signer(&alice)
///     .fund_from(&coins)
///     .unwrap();
/// assert_eq!(tx.body.fee, params.fees.min_fee_for(&tx).unwrap());
/// assert_eq!(tx.body.outputs[1].value.coin, 9 * BASE_UNITS_PER_AIC - tx.body.fee);
/// ```
#[derive(Clone, Debug)]
pub struct TxBuilder {
    params: TxParams,
    /// Everything but the fee, the change output and the collateral return.
    body: TxBody,
    /// Σ values of the inputs.
    spent: Value,
    /// Σ values of the collateral inputs.
    collateral: Value,
    /// Keys that must sign: owners of key-locked inputs and collateral.
    owners: BTreeSet<KeyHash>,
    change: Option<Address>,
    collateral_return: Option<Address>,
    signers: Vec<Keypair>,
    scripts: Vec<Script>,
    extra_fee: u128,
}

/// The parts of a transaction whose presence depends on the fee.
#[derive(Clone, Copy, Debug)]
struct Shape {
    change: bool,
    collateral_return: bool,
}

impl TxBuilder {
    /// An empty transaction for the chain with `params`.
    pub fn new(params: &TxParams) -> Self {
        TxBuilder {
            params: *params,
            body: empty_body(params.chain_id),
            spent: Value::default(),
            collateral: Value::default(),
            owners: BTreeSet::new(),
            change: None,
            collateral_return: None,
            signers: vec![],
            scripts: vec![],
            extra_fee: 0,
        }
    }

    /// Spends `utxo` (a key-locked one needs its key among the signers).
    pub fn spend(mut self, utxo: &Utxo) -> Self {
        if self.body.inputs.insert(utxo.out_point) {
            self.add_spent(&utxo.value);
            if let Some(key) = key_of(&utxo.address) {
                self.owners.insert(key);
            }
        }
        self
    }

    /// Spends `output`, found at `out_point`.
    pub fn input(self, out_point: OutPoint, output: &TxOutput) -> Self {
        self.spend(&Utxo::new(out_point, output))
    }

    /// Spends the script-locked `output` at `out_point` with `redeemer`
    /// (the script itself comes from [`Self::witness_script`] or a
    /// reference input).
    pub fn script_input(
        mut self,
        out_point: OutPoint,
        output: &TxOutput,
        redeemer: Redeemer,
    ) -> Self {
        if self.body.inputs.insert(out_point) {
            self.add_spent(&output.value);
        }
        self.body.spend_redeemers.insert(out_point, redeemer);
        self
    }

    /// Reads `out_point` without spending it (its datum, reference script).
    pub fn reference_input(mut self, out_point: OutPoint) -> Self {
        self.body.reference_inputs.insert(out_point);
        self
    }

    /// Adds an output (outputs keep the order they are added in; change
    /// comes last).
    pub fn output(mut self, output: TxOutput) -> Self {
        self.body.outputs.push(output);
        self
    }

    /// Adds an output of `coin` AIC base units to `to`.
    pub fn pay(self, to: Address, coin: u128) -> Self {
        self.output(TxOutput::coin(to, coin))
    }

    /// Appends a protocol action (applied in order); its deposit (bond,
    /// escrow, challenge deposit) is paid from the inputs like an output.
    pub fn action(mut self, action: Action) -> Self {
        self.body.actions.push(action);
        self
    }

    /// Mints (positive quantities) or burns (negative) under `policy`.
    pub fn mint(mut self, policy: PolicyId, mint: PolicyMint) -> Self {
        self.body.mint.insert(policy, mint);
        self
    }

    /// Adds the key-locked `output` at `out_point` as collateral (taken
    /// only if a script fails).
    pub fn collateral(mut self, out_point: OutPoint, output: &TxOutput) -> Self {
        if self.body.collateral.insert(out_point) {
            if self.collateral.checked_add_assign(&output.value).is_err() {
                // Unreachable for real outputs (the chain's total fits
                // u128): saturate rather than wrap.
                self.collateral.coin = u128::MAX;
            }
            if let Some(key) = key_of(&output.address) {
                self.owners.insert(key);
            }
        }
        self
    }

    /// Where the collateral minus the fee returns if a script fails.
    pub fn collateral_return_to(mut self, address: Address) -> Self {
        self.collateral_return = Some(address);
        self
    }

    /// Where the surplus minus the fee goes (the last output).
    pub fn change_to(mut self, address: Address) -> Self {
        self.change = Some(address);
        self
    }

    /// Heights at which the transaction may be included.
    pub fn validity(mut self, validity: ValidityInterval) -> Self {
        self.body.validity = validity;
        self
    }

    /// A key that must sign beyond the owners of the inputs.
    pub fn required_signer(mut self, key: KeyHash) -> Self {
        self.body.required_signers.insert(key);
        self.owners.insert(key);
        self
    }

    /// A script carried in the witnesses (the validator of a spent
    /// script-locked output, or a minting policy).
    pub fn witness_script(mut self, script: Script) -> Self {
        if !self.scripts.iter().any(|s| s.hash() == script.hash()) {
            self.scripts.push(script);
        }
        self
    }

    /// Signs with `key` (once per key).
    pub fn signer(mut self, key: &Keypair) -> Self {
        if !self
            .signers
            .iter()
            .any(|k| k.public_key() == key.public_key())
        {
            self.signers.push(key.clone());
        }
        self
    }

    /// Pays `extra` base units above the minimum fee (priority).
    pub fn extra_fee(mut self, extra: u128) -> Self {
        self.extra_fee = extra;
        self
    }

    /// Edits the body directly, for fields the builder has no method for.
    /// Inputs added this way are not counted in the balance.
    pub fn edit_body(mut self, edit: impl FnOnce(&mut TxBody)) -> Self {
        edit(&mut self.body);
        self
    }

    /// The chain parameters the builder works with.
    pub fn params(&self) -> &TxParams {
        &self.params
    }

    fn add_spent(&mut self, value: &Value) {
        if self.spent.checked_add_assign(value).is_err() {
            // Unreachable for real outputs (the chain's total fits u128):
            // saturate rather than wrap.
            self.spent.coin = u128::MAX;
        }
    }

    /// What the inputs and mints leave after the outputs, burns and action
    /// deposits: it pays the fee and the change.
    fn surplus(&self) -> Result<Value, BuildError> {
        let mut available = self.spent.clone();
        let mut required = Value::from_coin(
            self.body
                .action_deposits()
                .map_err(|_| BuildError::ValueOverflow)?,
        );
        for output in &self.body.outputs {
            required
                .checked_add_assign(&output.value)
                .map_err(|_| BuildError::ValueOverflow)?;
        }
        for (policy, mint) in &self.body.mint {
            for (name, quantity) in mint.amounts.iter() {
                let side = if quantity > 0 {
                    &mut available
                } else {
                    &mut required
                };
                side.assets
                    .checked_add_asset(*policy, name.clone(), quantity.unsigned_abs())
                    .map_err(|_| BuildError::ValueOverflow)?;
            }
        }
        if required.coin > available.coin {
            return Err(BuildError::InsufficientFunds {
                available: available.coin,
                required: required.coin,
            });
        }
        checked_sub(&available, &required).ok_or(BuildError::AssetsNotCovered)
    }

    /// The body with `fee` written and the fee-dependent parts of `shape`.
    fn assemble(&self, shape: Shape, surplus: &Value, fee: u128) -> TxBody {
        let mut body = self.body.clone();
        body.fee = fee;
        if let (true, Some(address)) = (shape.change, self.change) {
            let mut value = surplus.clone();
            value.coin = value.coin.saturating_sub(fee);
            body.outputs.push(TxOutput {
                address,
                value,
                datum: None,
                reference_script: None,
            });
        }
        if let (true, Some(address)) = (shape.collateral_return, self.collateral_return) {
            let mut value = self.collateral.clone();
            value.coin = value.coin.saturating_sub(fee);
            body.collateral_return = Some(TxOutput {
                address,
                value,
                datum: None,
                reference_script: None,
            });
        }
        body
    }

    fn check_outputs(&self) -> Result<(), BuildError> {
        let min = self.params.min_output_coin;
        if let Some((index, output)) = self
            .body
            .outputs
            .iter()
            .enumerate()
            .find(|(_, o)| o.value.coin < min)
        {
            return Err(BuildError::OutputTooSmall {
                index,
                coin: output.value.coin,
                min,
            });
        }
        Ok(())
    }

    fn check_static(&self) -> Result<(), BuildError> {
        self.check_outputs()?;
        let signed: BTreeSet<KeyHash> = self.signers.iter().map(Keypair::key_hash).collect();
        if let Some(key) = self.owners.iter().find(|k| !signed.contains(k)) {
            return Err(BuildError::MissingSigner(*key));
        }
        let declared = self.body.declared_fuel().map_err(BuildError::Malformed)?;
        if declared > self.params.max_fuel_per_tx {
            return Err(BuildError::FuelLimitExceeded {
                declared,
                max: self.params.max_fuel_per_tx,
            });
        }
        Ok(())
    }

    /// The balanced, signed transaction with the exact fee.
    pub fn build(&self) -> Result<Transaction, BuildError> {
        self.check_static()?;
        let surplus = self.surplus()?;
        let keys: Vec<&Keypair> = self.signers.iter().collect();
        let placeholders = placeholder_witnesses(&keys, &self.scripts);
        let has_collateral = !self.body.collateral.is_empty();
        let mut shape = Shape {
            change: self.change.is_some(),
            collateral_return: has_collateral && self.collateral_return.is_some(),
        };
        let min_coin = self.params.min_output_coin;
        let mut fee = 0u128;
        let mut rounds = 0;
        'shape: loop {
            while rounds < MAX_FEE_ROUNDS {
                rounds += 1;
                let body = self.assemble(shape, &surplus, fee);
                let needed = min_fee(&self.params.fees, &body, &placeholders, self.extra_fee)?;
                // Without change the surplus is the fee; without a return
                // the collateral is.
                let forced_by_change = (!shape.change).then_some(surplus.coin);
                let forced_by_collateral =
                    (has_collateral && !shape.collateral_return).then_some(self.collateral.coin);
                let target = match (forced_by_change, forced_by_collateral) {
                    (Some(s), Some(c)) if s != c => {
                        return Err(BuildError::FeeConflict {
                            surplus: s,
                            collateral: c,
                        });
                    }
                    (Some(f), _) | (None, Some(f)) => f,
                    (None, None) => needed,
                };
                if target < needed {
                    return Err(if forced_by_change == Some(target) {
                        BuildError::InsufficientFunds {
                            available: self.spent.coin,
                            required: (self.spent.coin - surplus.coin).saturating_add(needed),
                        }
                    } else {
                        BuildError::InsufficientCollateral {
                            collateral: self.collateral.coin,
                            fee: needed,
                        }
                    });
                }
                if !shape.change && !surplus.assets.is_empty() {
                    return Err(if self.change.is_some() {
                        BuildError::InsufficientFunds {
                            available: self.spent.coin,
                            required: (self.spent.coin - surplus.coin)
                                .saturating_add(target)
                                .saturating_add(min_coin),
                        }
                    } else {
                        BuildError::AssetsWithoutChange
                    });
                }
                if shape.change {
                    match surplus.coin.checked_sub(target) {
                        None => {
                            return Err(BuildError::InsufficientFunds {
                                available: self.spent.coin,
                                required: (self.spent.coin - surplus.coin).saturating_add(target),
                            });
                        }
                        Some(change) if change < min_coin => {
                            // Dust: no change output, it goes to the fee.
                            shape.change = false;
                            continue 'shape;
                        }
                        Some(_) => {}
                    }
                }
                if shape.collateral_return {
                    match self.collateral.coin.checked_sub(target) {
                        None => {
                            return Err(BuildError::InsufficientCollateral {
                                collateral: self.collateral.coin,
                                fee: target,
                            });
                        }
                        Some(rest) if rest < min_coin && self.collateral.assets.is_empty() => {
                            shape.collateral_return = false;
                            continue 'shape;
                        }
                        Some(rest) if rest < min_coin => {
                            return Err(BuildError::InsufficientCollateral {
                                collateral: self.collateral.coin,
                                fee: target.saturating_add(min_coin),
                            });
                        }
                        Some(_) => {}
                    }
                }
                if target == fee {
                    return self.finish(body, &keys);
                }
                fee = target;
            }
            return Err(BuildError::FeeDidNotSettle);
        }
    }

    fn finish(&self, body: TxBody, keys: &[&Keypair]) -> Result<Transaction, BuildError> {
        body.check().map_err(BuildError::Malformed)?;
        let tx = sign(body, keys, self.scripts.clone());
        let size = tx.encode().len() as u64;
        if size > self.params.max_tx_size {
            return Err(BuildError::TooLarge {
                size,
                max: self.params.max_tx_size,
            });
        }
        Ok(tx)
    }

    /// Coin selection: adds the largest AIC-only outputs of `coins` (ties
    /// by out-point; outputs already spent by the builder are skipped)
    /// until the transaction balances, then builds it. Fails with
    /// [`BuildError::InsufficientFunds`] (counting every AIC-only coin) if
    /// all of them do not suffice.
    pub fn fund_from(&self, coins: &[Utxo]) -> Result<Transaction, BuildError> {
        // What no coin can fix fails at once (an output below the minimum).
        self.check_outputs()?;
        let mut candidates: Vec<&Utxo> = coins
            .iter()
            .filter(|c| c.is_aic_only() && !self.body.inputs.contains(&c.out_point))
            .collect();
        candidates.sort_by(|a, b| {
            b.value
                .coin
                .cmp(&a.value.coin)
                .then(a.out_point.cmp(&b.out_point))
        });
        let mut builder = self.clone();
        if !builder.body.inputs.is_empty() {
            match builder.build() {
                Err(e) if e.needs_more_funds() => {}
                done => return done,
            }
        }
        let mut last = None;
        for coin in candidates {
            builder = builder.spend(coin);
            match builder.build() {
                Err(e) if e.needs_more_funds() => last = Some(e),
                done => return done,
            }
        }
        Err(last.unwrap_or(BuildError::InsufficientFunds {
            available: builder.spent.coin,
            required: builder
                .body
                .outputs
                .iter()
                .fold(0u128, |sum, o| sum.saturating_add(o.value.coin)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_ledger::{BlockContext, Ledger, MemoryUtxoSet, ProtocolParams};
    use aether_types::{
        AssetName, BASE_UNITS_PER_AIC as AIC, MintAmounts, MultiAsset, RedeemerData, ScriptHash,
        TxId, WasmCode,
    };

    const ACCEPT_WAT: &str = r#"(module
      (memory (export "memory") 1)
      (func (export "validate") (result i32) i32.const 1))"#;

    struct World {
        ledger: Ledger,
        set: MemoryUtxoSet,
        key: Keypair,
    }

    impl World {
        fn new() -> Self {
            World {
                ledger: Ledger::new(ProtocolParams::dev()),
                set: MemoryUtxoSet::new(),
                key: Keypair::from_secret_bytes(&[7; 32]),
            }
        }

        fn params(&self) -> TxParams {
            self.ledger.params().tx_params()
        }

        fn me(&self) -> Address {
            Address::Key(self.key.key_hash())
        }

        /// Adds an output of `value` owned by `address`; returns it.
        fn fund(&mut self, address: Address, value: Value) -> Utxo {
            let op = OutPoint::new(TxId([self.set.len() as u8 + 1; 32]), 0);
            let output = TxOutput {
                address,
                value,
                datum: None,
                reference_script: None,
            };
            self.set.insert(op, output.clone());
            Utxo::new(op, &output)
        }

        fn coins(&mut self, amounts: &[u128]) -> Vec<Utxo> {
            let me = self.me();
            amounts
                .iter()
                .map(|a| self.fund(me, Value::from_coin(*a)))
                .collect()
        }

        /// A payment of `amount` to bob, change back, signed by the key.
        fn paying(&self, amount: u128) -> TxBuilder {
            TxBuilder::new(&self.params())
                .pay(bob(), amount)
                .change_to(self.me())
                .signer(&self.key)
        }

        fn accepts(&self, tx: &Transaction) {
            self.ledger
                .validate_transaction(&self.set, &BlockContext::at(1), tx)
                .unwrap_or_else(|e| panic!("the ledger refuses the built transaction: {e}"));
        }
    }

    fn bob() -> Address {
        Address::Key(KeyHash([9; 32]))
    }

    fn min_fee_of(params: &TxParams, tx: &Transaction) -> u128 {
        params.fees.min_fee_for(tx).unwrap()
    }

    #[test]
    fn transfers_pay_exactly_the_minimum_fee_and_validate() {
        for (coins, amount) in [
            (vec![10 * AIC], AIC),
            (vec![AIC, AIC, AIC], 2 * AIC),
            (vec![5 * AIC, 3 * AIC], 5 * AIC),
            (vec![AIC / 2, 7 * AIC, AIC], 6 * AIC),
        ] {
            let mut w = World::new();
            let list = w.coins(&coins);
            let p = w.params();
            let tx = w.paying(amount).fund_from(&list).unwrap();
            w.accepts(&tx);
            assert_eq!(tx.body.outputs[0], TxOutput::coin(bob(), amount));
            assert_eq!(tx.body.outputs.len(), 2, "{coins:?}");
            assert_eq!(tx.body.fee, min_fee_of(&p, &tx));
            // Largest first: the inputs are the largest coins.
            let mut sorted = coins.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            let spent: u128 = tx
                .body
                .inputs
                .iter()
                .map(|op| w.set.get(op).unwrap().value.coin)
                .sum();
            assert_eq!(spent, sorted[..tx.body.inputs.len()].iter().sum::<u128>());
            assert_eq!(spent, amount + tx.body.fee + tx.body.outputs[1].value.coin);
        }
    }

    #[test]
    fn extra_fee_is_paid_on_top() {
        let mut w = World::new();
        let list = w.coins(&[10 * AIC]);
        let p = w.params();
        let tx = w.paying(AIC).extra_fee(12_345).fund_from(&list).unwrap();
        w.accepts(&tx);
        assert_eq!(tx.body.fee, min_fee_of(&p, &tx) + 12_345);
    }

    #[test]
    fn dust_change_goes_to_the_fee() {
        let mut w = World::new();
        let p = w.params();
        // The fee of a one-input transfer with change, found by building it.
        let probe = TxBuilder::new(&p)
            .input(
                OutPoint::new(TxId([1; 32]), 0),
                &TxOutput::coin(w.me(), 10 * AIC),
            )
            .pay(bob(), AIC)
            .change_to(w.me())
            .signer(&w.key)
            .build()
            .unwrap();
        let fee_with_change = probe.body.fee;
        // Leave 999 base units of change: below the minimum output.
        let list = w.coins(&[AIC + fee_with_change + p.min_output_coin - 1]);
        let tx = w.paying(AIC).fund_from(&list).unwrap();
        w.accepts(&tx);
        assert_eq!(tx.body.outputs, vec![TxOutput::coin(bob(), AIC)]);
        assert_eq!(tx.body.fee, fee_with_change + p.min_output_coin - 1);
        assert!(tx.body.fee > min_fee_of(&p, &tx));
        // With exactly the minimum output left, the change stays.
        let mut w = World::new();
        let list = w.coins(&[AIC + fee_with_change + p.min_output_coin]);
        let tx = w.paying(AIC).fund_from(&list).unwrap();
        w.accepts(&tx);
        assert_eq!(tx.body.outputs[1].value.coin, p.min_output_coin);
        assert_eq!(tx.body.fee, fee_with_change);
    }

    #[test]
    fn refusals_are_typed() {
        let mut w = World::new();
        let p = w.params();
        let list = w.coins(&[AIC]);
        let base = TxBuilder::new(&p).change_to(w.me()).signer(&w.key);
        // The same transaction with enough funds: its fee is what was missing.
        let probe = base
            .clone()
            .input(list[0].out_point, &TxOutput::coin(w.me(), 2 * AIC))
            .pay(bob(), AIC)
            .build()
            .unwrap();
        assert_eq!(
            base.clone().pay(bob(), AIC).fund_from(&list).unwrap_err(),
            BuildError::InsufficientFunds {
                available: AIC,
                required: AIC + probe.body.fee,
            }
        );
        assert_eq!(
            base.clone().pay(bob(), 1).fund_from(&[]).unwrap_err(),
            BuildError::OutputTooSmall {
                index: 0,
                coin: 1,
                min: p.min_output_coin
            }
        );
        assert!(
            base.clone()
                .pay(bob(), AIC)
                .fund_from(&[])
                .unwrap_err()
                .needs_more_funds()
        );
        // A key-locked input of someone else: no signer for it.
        let theirs = w.fund(bob(), Value::from_coin(10 * AIC));
        assert_eq!(
            base.clone()
                .spend(&theirs)
                .pay(w.me(), AIC)
                .build()
                .unwrap_err(),
            BuildError::MissingSigner(KeyHash([9; 32]))
        );
        // Too much fuel declared.
        let script = Script::Wasm(WasmCode::new(wat::parse_str(ACCEPT_WAT).unwrap()).unwrap());
        let locked = w.fund(Address::Script(script.hash()), Value::from_coin(AIC));
        let greedy = TxBuilder::new(&p).script_input(
            locked.out_point,
            &TxOutput::coin(locked.address, AIC),
            Redeemer {
                data: RedeemerData::new(vec![]).unwrap(),
                fuel: p.max_fuel_per_tx + 1,
            },
        );
        assert!(matches!(
            greedy.build(),
            Err(BuildError::FuelLimitExceeded { .. })
        ));
        // Too large.
        let tiny = TxParams {
            max_tx_size: 100,
            ..p
        };
        assert!(matches!(
            TxBuilder::new(&tiny)
                .spend(&list[0])
                .change_to(w.me())
                .signer(&w.key)
                .build(),
            Err(BuildError::TooLarge { max: 100, .. })
        ));
    }

    /// `coin` AIC plus `quantity` of the test token "gold".
    fn gold(coin: u128, quantity: u128) -> Value {
        let mut assets = MultiAsset::new();
        assets
            .checked_add_asset(
                ScriptHash([4; 32]),
                AssetName::new(b"gold".to_vec()).unwrap(),
                quantity,
            )
            .unwrap();
        Value { coin, assets }
    }

    fn holding(address: Address, value: Value) -> TxOutput {
        TxOutput {
            address,
            value,
            datum: None,
            reference_script: None,
        }
    }

    #[test]
    fn assets_are_never_selected_and_always_returned() {
        let mut w = World::new();
        let p = w.params();
        let me = w.me();
        let with_tokens = w.fund(me, gold(100 * AIC, 50));
        let mut list = w.coins(&[3 * AIC]);
        list.push(with_tokens.clone());
        let from_tokens = || TxBuilder::new(&p).spend(&with_tokens).signer(&w.key);
        // Selection skips the larger output that holds tokens.
        let tx = TxBuilder::new(&p)
            .pay(bob(), AIC)
            .change_to(me)
            .signer(&w.key)
            .fund_from(&list)
            .unwrap();
        assert_eq!(tx.body.inputs, [list[0].out_point].into());
        // Spent explicitly, its tokens go to the change.
        let tx = from_tokens()
            .output(holding(bob(), gold(AIC, 20)))
            .change_to(me)
            .build()
            .unwrap();
        w.accepts(&tx);
        assert_eq!(tx.body.outputs[1].value.assets, gold(0, 30).assets);
        // Without a change address, left-over tokens are an error.
        assert_eq!(
            from_tokens().pay(bob(), AIC).build().unwrap_err(),
            BuildError::AssetsWithoutChange
        );
        // Paying tokens one does not hold.
        assert_eq!(
            from_tokens()
                .output(holding(bob(), gold(AIC, 51)))
                .change_to(me)
                .build()
                .unwrap_err(),
            BuildError::AssetsNotCovered
        );
    }

    #[test]
    fn burns_count_in_the_balance() {
        let mut w = World::new();
        let p = w.params();
        let me = w.me();
        let coin = w.fund(me, gold(10 * AIC, 5));
        let burn = PolicyMint {
            amounts: MintAmounts::new([(AssetName::new(b"gold".to_vec()).unwrap(), -5i128)].into())
                .unwrap(),
            redeemer: Redeemer {
                data: RedeemerData::new(vec![]).unwrap(),
                fuel: 1_000,
            },
        };
        let tx = TxBuilder::new(&p)
            .spend(&coin)
            .mint(ScriptHash([4; 32]), burn)
            .change_to(me)
            .signer(&w.key)
            .build()
            .unwrap();
        // Everything burned: the change holds coin only.
        assert!(tx.body.outputs[0].value.assets.is_empty());
        assert_eq!(tx.body.outputs[0].value.coin + tx.body.fee, 10 * AIC);
        assert_eq!(tx.body.fee, min_fee_of(&p, &tx));
    }

    #[test]
    fn script_spends_balance_collateral_exactly() {
        let mut w = World::new();
        let p = w.params();
        let me = w.me();
        let script = Script::Wasm(WasmCode::new(wat::parse_str(ACCEPT_WAT).unwrap()).unwrap());
        let locked = w.fund(Address::Script(script.hash()), Value::from_coin(50 * AIC));
        let collateral = w.fund(me, Value::from_coin(5 * AIC));
        let redeemer = Redeemer {
            data: RedeemerData::new(vec![1]).unwrap(),
            fuel: 100_000,
        };
        let spend = |c: &Utxo| {
            TxBuilder::new(&p)
                .script_input(
                    locked.out_point,
                    &TxOutput::coin(locked.address, 50 * AIC),
                    redeemer.clone(),
                )
                .collateral(c.out_point, &TxOutput::coin(me, c.value.coin))
                .collateral_return_to(me)
                .change_to(me)
                .witness_script(script.clone())
                .signer(&w.key)
        };
        let tx = spend(&collateral).build().unwrap();
        w.accepts(&tx);
        let fee = tx.body.fee;
        assert_eq!(fee, min_fee_of(&p, &tx));
        assert_eq!(tx.body.outputs[0].value.coin, 50 * AIC - fee);
        assert_eq!(
            tx.body.collateral_return.as_ref().unwrap().value.coin,
            5 * AIC - fee
        );

        // Collateral that would leave a dust return: the return is dropped,
        // the fee is the whole collateral, and the change pays it.
        let mut w2 = World::new();
        let locked2 = w2.fund(Address::Script(script.hash()), Value::from_coin(50 * AIC));
        assert_eq!(locked2, locked);
        let small = w2.fund(me, Value::from_coin(fee + 10));
        let tx = spend(&small).build().unwrap();
        w2.accepts(&tx);
        assert!(tx.body.collateral_return.is_none());
        assert_eq!(tx.body.fee, fee + 10);
        assert_eq!(tx.body.outputs[0].value.coin, 50 * AIC - fee - 10);

        // Collateral below the fee.
        let mut w3 = World::new();
        w3.fund(Address::Script(script.hash()), Value::from_coin(50 * AIC));
        let poor = w3.fund(me, Value::from_coin(fee / 2));
        assert!(matches!(
            spend(&poor).build(),
            Err(BuildError::InsufficientCollateral { .. })
        ));
        // No change and no return: the fee would have to be two amounts.
        let conflict = TxBuilder::new(&p)
            .script_input(
                locked.out_point,
                &TxOutput::coin(locked.address, 50 * AIC),
                redeemer.clone(),
            )
            .collateral(collateral.out_point, &TxOutput::coin(me, 5 * AIC))
            .witness_script(script.clone())
            .signer(&w.key);
        assert_eq!(
            conflict.build().unwrap_err(),
            BuildError::FeeConflict {
                surplus: 50 * AIC,
                collateral: 5 * AIC
            }
        );
    }

    #[test]
    fn the_low_level_primitive_writes_the_exact_fee() {
        let w = World::new();
        let p = w.params();
        let mut body = empty_body(p.chain_id);
        body.inputs.insert(OutPoint::new(TxId([1; 32]), 0));
        body.outputs.push(TxOutput::coin(bob(), 0));
        let mut seen = Vec::new();
        let tx = sign_with_exact_fee(&p.fees, body, &[&w.key], vec![], 7, |b, fee| {
            seen.push(fee);
            b.outputs[0].value.coin = 10 * AIC - fee;
        })
        .unwrap();
        assert_eq!(tx.body.fee, min_fee_of(&p, &tx) + 7);
        assert_eq!(seen.last(), Some(&tx.body.fee));
        assert_eq!(tx.body.outputs[0].value.coin, 10 * AIC - tx.body.fee);
        assert_eq!(tx.witnesses.vkeys, vec![w.key.sign_tx(&tx.body)]);
        // An overflowing schedule is an error, not a wrap.
        let huge = FeeSchedule {
            base: u128::MAX,
            per_byte: 1,
            per_fuel: 0,
        };
        assert_eq!(
            sign_with_exact_fee(&huge, empty_body(p.chain_id), &[], vec![], 0, |_, _| {})
                .unwrap_err(),
            BuildError::Fee(FeeError::Overflow)
        );
    }
}
