//! Transactions of the extended-UTxO ledger.
//!
//! # Shape
//! A [`Transaction`] is a [`TxBody`] (everything that has meaning and is
//! signed) plus [`TxWitnesses`] (ed25519 signatures and scripts that
//! authorise it). The **transaction id** is `H(tag::TX_BODY, encode(body))`
//! ([`TxBody::id`]); vkey witnesses sign the 32 bytes of that id. Because
//! witnesses are outside the id, adding a signature never changes the id.
//!
//! # Stateless rules ([`Transaction::check`], enforced on decode)
//! - at least one input (so every transaction consumes an existing output and
//!   its id can never be applied twice);
//! - inputs, reference inputs, collateral inputs and required signers are
//!   sets, encoded in ascending order;
//! - reference inputs are disjoint from inputs;
//! - every spend redeemer names one of the inputs;
//! - a collateral return output needs collateral inputs;
//! - the declared script fuel (sum of all redeemer budgets) fits in `u64`;
//! - vkey witnesses are sorted by public key without duplicates; witness
//!   scripts have distinct hashes;
//! - the output count leaves room for the collateral-return index
//!   (`outputs.len()`, see [`TxBody::collateral_return_index`]).
//!
//! Rules that need the UTxO set or protocol parameters (inputs exist, value
//! is conserved, fee is enough, signatures valid, scripts accept) belong to
//! the ledger (`aether-ledger`).

use crate::Error;
use crate::action::{Action, MAX_ACTIONS};
use crate::codec::{BoundedBytes, Canonical, encode};
use crate::hash::{Digest, KeyHash, PolicyId, ScriptHash, TxId, tag, tagged_hash};
use crate::value::{MintAmounts, Value};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Largest inline datum, in bytes.
pub const MAX_DATUM_LEN: usize = 16 * 1024;
/// Largest redeemer payload, in bytes.
pub const MAX_REDEEMER_LEN: usize = 16 * 1024;
/// Largest script (a WebAssembly module), in bytes.
pub const MAX_SCRIPT_LEN: usize = 64 * 1024;
/// Largest encoded transaction [`Canonical::decode`] accepts. The ledger's
/// protocol parameters set lower limits: one for ordinary transactions and
/// a larger one for transactions that carry a challenge (a challenge holds
/// one checkpoint's data, up to [`crate::MAX_CHECKPOINT_DATA`]).
pub const MAX_TX_LEN: usize = 1024 * 1024;

/// Identifies the chain a transaction is meant for (replay protection
/// across networks).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub struct ChainId(pub u32);

/// A reference to an output: the id of the transaction that created it and
/// the output's index in it.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub struct OutPoint {
    /// Creating transaction.
    pub tx_id: TxId,
    /// Index among its outputs (or `outputs.len()` for a collateral return).
    pub index: u32,
}

impl OutPoint {
    /// Shorthand constructor.
    pub const fn new(tx_id: TxId, index: u32) -> Self {
        OutPoint { tx_id, index }
    }
}

impl fmt::Display for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.tx_id, self.index)
    }
}

/// Who may spend an output.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub enum Address {
    /// Locked by an ed25519 key: spending needs a signature by the key with this hash.
    Key(KeyHash),
    /// Locked by a script: spending runs the script with this hash.
    Script(ScriptHash),
}

/// Arbitrary bytes attached to an output and given to the script that
/// guards it.
pub type Datum = BoundedBytes<MAX_DATUM_LEN>;

/// Payload of a [`Redeemer`], given to the script it unlocks.
pub type RedeemerData = BoundedBytes<MAX_REDEEMER_LEN>;

/// The bytes of a WebAssembly module.
pub type WasmCode = BoundedBytes<MAX_SCRIPT_LEN>;

/// A validator or minting-policy script.
///
/// Only WebAssembly for now; the enum leaves room for other kinds (for
/// example native multi-signature scripts) under new variant indices.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Script {
    /// A WebAssembly module following the ledger's script ABI.
    Wasm(WasmCode),
}

impl Script {
    /// `H(tag::SCRIPT, encode(self))`.
    pub fn hash(&self) -> ScriptHash {
        ScriptHash(tagged_hash(tag::SCRIPT, &[&encode(self)]).0)
    }

    /// Size of the script code in bytes.
    pub fn code_len(&self) -> usize {
        match self {
            Script::Wasm(code) => code.len(),
        }
    }
}

/// A transaction output.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct TxOutput {
    /// Who may spend it.
    pub address: Address,
    /// What it holds.
    pub value: Value,
    /// Inline datum, given to the validator when a script-locked output is spent.
    pub datum: Option<Datum>,
    /// A script published for others to use through reference inputs.
    pub reference_script: Option<Script>,
}

impl TxOutput {
    /// An output holding only AIC, without datum or reference script.
    pub fn coin(address: Address, coin: u128) -> Self {
        TxOutput {
            address,
            value: Value::from_coin(coin),
            datum: None,
            reference_script: None,
        }
    }
}

/// Argument to a script, with the fuel budget the script may burn.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Redeemer {
    /// Bytes given to the script.
    pub data: RedeemerData,
    /// Most fuel the script run may consume. Declared up front, so the fee
    /// is known before submission.
    pub fuel: u64,
}

/// Bounds on the block height at which a transaction may be included.
///
/// Valid at height `h` iff `invalid_before <= h` (when set) and
/// `h < invalid_hereafter` (when set). The chain's slot is its height.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct ValidityInterval {
    /// First height at which the transaction is valid (inclusive).
    pub invalid_before: Option<u64>,
    /// First height at which the transaction is no longer valid (exclusive).
    pub invalid_hereafter: Option<u64>,
}

impl ValidityInterval {
    /// Whether height `height` lies in the interval.
    pub fn contains(&self, height: u64) -> bool {
        self.invalid_before.is_none_or(|lo| lo <= height)
            && self.invalid_hereafter.is_none_or(|hi| height < hi)
    }
}

/// Assets minted or burned under one policy, with the redeemer for the
/// policy script.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct PolicyMint {
    /// Quantities (positive: mint, negative: burn).
    pub amounts: MintAmounts,
    /// Argument and fuel budget of the policy script.
    pub redeemer: Redeemer,
}

/// Everything a transaction means; signed through its id.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct TxBody {
    /// Chain the transaction is meant for.
    pub chain_id: ChainId,
    /// Outputs consumed.
    pub inputs: BTreeSet<OutPoint>,
    /// Outputs read but not consumed (their datums and reference scripts).
    pub reference_inputs: BTreeSet<OutPoint>,
    /// Key-locked outputs consumed instead of `inputs` when a script fails.
    pub collateral: BTreeSet<OutPoint>,
    /// Output created instead of `outputs` when a script fails; receives the
    /// collateral minus the fee.
    pub collateral_return: Option<TxOutput>,
    /// Outputs created.
    pub outputs: Vec<TxOutput>,
    /// Fee paid, in AIC base units.
    pub fee: u128,
    /// Heights at which the transaction may be included.
    pub validity: ValidityInterval,
    /// Assets minted or burned, per policy.
    pub mint: BTreeMap<PolicyId, PolicyMint>,
    /// Redeemers of script-locked inputs, keyed by the input they unlock.
    pub spend_redeemers: BTreeMap<OutPoint, Redeemer>,
    /// Keys that must sign, beyond those locking the inputs.
    pub required_signers: BTreeSet<KeyHash>,
    /// Typed actions on protocol objects, applied in order when the
    /// transaction succeeds (see [`crate::action`]).
    pub actions: Vec<Action>,
}

impl TxBody {
    /// The transaction id: `H(tag::TX_BODY, encode(self))`.
    pub fn id(&self) -> TxId {
        TxId(tagged_hash(tag::TX_BODY, &[&encode(self)]).0)
    }

    /// Sum of the fuel budgets of all redeemers (spends and mints).
    pub fn declared_fuel(&self) -> Result<u64, Error> {
        self.spend_redeemers
            .values()
            .map(|r| r.fuel)
            .chain(self.mint.values().map(|m| m.redeemer.fuel))
            .try_fold(0u64, |acc, f| acc.checked_add(f))
            .ok_or(Error::FuelOverflow)
    }

    /// Index of the collateral-return output (`outputs.len()`), used as
    /// its out-point index when a script fails.
    pub fn collateral_return_index(&self) -> Result<u32, Error> {
        u32::try_from(self.outputs.len()).map_err(|_| Error::TooManyOutputs)
    }

    /// Stateless structural rules (see the module docs).
    pub fn check(&self) -> Result<(), Error> {
        if self.inputs.is_empty() {
            return Err(Error::NoInputs);
        }
        if let Some(op) = self.reference_inputs.intersection(&self.inputs).next() {
            return Err(Error::ReferenceInputIsSpent(*op));
        }
        if let Some(op) = self
            .spend_redeemers
            .keys()
            .find(|op| !self.inputs.contains(op))
        {
            return Err(Error::RedeemerWithoutInput(*op));
        }
        if self.collateral_return.is_some() && self.collateral.is_empty() {
            return Err(Error::CollateralReturnWithoutCollateral);
        }
        let return_index = self.collateral_return_index()?;
        if return_index == u32::MAX {
            return Err(Error::TooManyOutputs);
        }
        self.declared_fuel()?;
        if self.actions.len() > MAX_ACTIONS {
            return Err(Error::TooManyActions {
                len: self.actions.len(),
                max: MAX_ACTIONS,
            });
        }
        for (index, action) in self.actions.iter().enumerate() {
            action
                .check()
                .map_err(|source| Error::InvalidAction { index, source })?;
        }
        Ok(())
    }

    /// Total value the actions deposit into protocol objects.
    pub fn action_deposits(&self) -> Result<u128, Error> {
        self.actions
            .iter()
            .try_fold(0u128, |acc, a| acc.checked_add(a.deposit()))
            .ok_or(Error::ValueOverflow)
    }
}

/// A 32-byte ed25519 public key (compressed Edwards point, not yet checked).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The hash that addresses and required signers use for this key.
    pub fn key_hash(&self) -> KeyHash {
        KeyHash::of_public_key(&self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

/// A 64-byte ed25519 signature (`R || s`, not yet checked).
#[derive(Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// A signature of the transaction id by an ed25519 key.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct VKeyWitness {
    /// The signing key.
    pub public_key: PublicKey,
    /// Signature of the 32 bytes of the transaction id.
    pub signature: Signature,
}

/// What authorises a transaction.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct TxWitnesses {
    /// Signatures, sorted by public key, at most one per key.
    pub vkeys: Vec<VKeyWitness>,
    /// Scripts run by this transaction that are not available through a
    /// reference input or a spent output's reference script.
    pub scripts: Vec<Script>,
}

impl TxWitnesses {
    /// `H(tag::TX_WITNESSES, encode(self))`.
    pub fn hash(&self) -> Digest {
        tagged_hash(tag::TX_WITNESSES, &[&encode(self)])
    }

    /// Adds a witness keeping the vkeys sorted; replaces an existing
    /// witness of the same key.
    pub fn insert_vkey(&mut self, witness: VKeyWitness) {
        match self
            .vkeys
            .binary_search_by(|w| w.public_key.cmp(&witness.public_key))
        {
            Ok(i) => self.vkeys[i] = witness,
            Err(i) => self.vkeys.insert(i, witness),
        }
    }

    /// Stateless rules: vkeys strictly ascending by key; scripts distinct.
    pub fn check(&self) -> Result<(), Error> {
        if self
            .vkeys
            .windows(2)
            .any(|w| w[0].public_key >= w[1].public_key)
        {
            return Err(Error::WitnessKeysNotSorted);
        }
        let mut seen = BTreeSet::new();
        for script in &self.scripts {
            if !seen.insert(script.hash()) {
                return Err(Error::DuplicateWitnessScript);
            }
        }
        Ok(())
    }
}

/// A signed transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// What the transaction does.
    pub body: TxBody,
    /// Signatures and scripts authorising it.
    pub witnesses: TxWitnesses,
}

impl Transaction {
    /// The transaction id (hash of the body).
    pub fn id(&self) -> TxId {
        self.body.id()
    }

    /// Leaf of the block's transaction tree:
    /// `H(tag::TX_LEAF, tx_id || witnesses_hash)`, which commits to the
    /// witnesses too while keeping the id provable.
    pub fn tx_leaf(&self, id: &TxId) -> Digest {
        tagged_hash(tag::TX_LEAF, &[&id.0, &self.witnesses.hash().0])
    }
}

impl Canonical for Transaction {
    const MAX_ENCODED_LEN: usize = MAX_TX_LEN;

    fn check(&self) -> Result<(), Error> {
        self.body.check()?;
        self.witnesses.check()
    }
}

impl Canonical for TxBody {
    const MAX_ENCODED_LEN: usize = MAX_TX_LEN;

    fn check(&self) -> Result<(), Error> {
        TxBody::check(self)
    }
}

impl Canonical for TxOutput {
    const MAX_ENCODED_LEN: usize = MAX_TX_LEN;
}

impl Canonical for OutPoint {
    const MAX_ENCODED_LEN: usize = 36;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> TxBody {
        TxBody {
            chain_id: ChainId(1),
            inputs: [OutPoint::new(TxId([1; 32]), 0)].into(),
            reference_inputs: BTreeSet::new(),
            collateral: BTreeSet::new(),
            collateral_return: None,
            outputs: vec![TxOutput::coin(Address::Key(KeyHash([2; 32])), 10)],
            fee: 1,
            validity: ValidityInterval::default(),
            mint: BTreeMap::new(),
            spend_redeemers: BTreeMap::new(),
            required_signers: BTreeSet::new(),
            actions: vec![],
        }
    }

    #[test]
    fn validity_interval_bounds() {
        let v = ValidityInterval {
            invalid_before: Some(5),
            invalid_hereafter: Some(7),
        };
        assert!(!v.contains(4));
        assert!(v.contains(5));
        assert!(v.contains(6));
        assert!(!v.contains(7));
        assert!(ValidityInterval::default().contains(u64::MAX));
    }

    #[test]
    fn structural_rules() {
        assert!(body().check().is_ok());
        let mut b = body();
        b.inputs.clear();
        assert_eq!(b.check(), Err(Error::NoInputs));
        let mut b = body();
        b.reference_inputs = b.inputs.clone();
        assert!(matches!(b.check(), Err(Error::ReferenceInputIsSpent(_))));
        let mut b = body();
        b.spend_redeemers.insert(
            OutPoint::new(TxId([9; 32]), 0),
            Redeemer {
                data: RedeemerData::default(),
                fuel: 1,
            },
        );
        assert!(matches!(b.check(), Err(Error::RedeemerWithoutInput(_))));
        let mut b = body();
        b.collateral_return = Some(TxOutput::coin(Address::Key(KeyHash([2; 32])), 1));
        assert_eq!(b.check(), Err(Error::CollateralReturnWithoutCollateral));
    }

    #[test]
    fn fuel_overflow_detected() {
        let mut b = body();
        let input = *b.inputs.first().unwrap();
        b.spend_redeemers.insert(
            input,
            Redeemer {
                data: RedeemerData::default(),
                fuel: u64::MAX,
            },
        );
        assert_eq!(b.declared_fuel(), Ok(u64::MAX));
        let mut amounts = BTreeMap::new();
        amounts.insert(crate::AssetName::default(), 1i128);
        b.mint.insert(
            PolicyId::from([3; 32]),
            PolicyMint {
                amounts: MintAmounts::new(amounts).unwrap(),
                redeemer: Redeemer {
                    data: RedeemerData::default(),
                    fuel: 1,
                },
            },
        );
        assert_eq!(b.declared_fuel(), Err(Error::FuelOverflow));
    }

    #[test]
    fn witness_order_enforced() {
        let w = |k: u8| VKeyWitness {
            public_key: PublicKey([k; 32]),
            signature: Signature([0; 64]),
        };
        let mut ws = TxWitnesses::default();
        ws.insert_vkey(w(3));
        ws.insert_vkey(w(1));
        ws.insert_vkey(w(3));
        assert_eq!(ws.vkeys.len(), 2);
        assert!(ws.check().is_ok());
        ws.vkeys.swap(0, 1);
        assert_eq!(ws.check(), Err(Error::WitnessKeysNotSorted));
        let s = Script::Wasm(WasmCode::new(vec![0, 1]).unwrap());
        let ws = TxWitnesses {
            vkeys: vec![],
            scripts: vec![s.clone(), s],
        };
        assert_eq!(ws.check(), Err(Error::DuplicateWitnessScript));
    }

    #[test]
    fn id_ignores_witnesses() {
        let tx = Transaction {
            body: body(),
            witnesses: TxWitnesses::default(),
        };
        let mut tx2 = tx.clone();
        tx2.witnesses.insert_vkey(VKeyWitness {
            public_key: PublicKey([1; 32]),
            signature: Signature([2; 64]),
        });
        assert_eq!(tx.id(), tx2.id());
        assert_ne!(tx.tx_leaf(&tx.id()), tx2.tx_leaf(&tx2.id()));
    }
}
