//! Values: native AIC plus user-defined assets, and minting amounts.
//!
//! # Invariants
//! - AIC amounts are `u128` counts of base units (1 AIC = 10^9 base units,
//!   [`BASE_UNITS_PER_AIC`]).
//! - A [`MultiAsset`] maps policy id → asset name → quantity, both levels
//!   in ascending order (the encoding enforces it), with **no zero
//!   quantity and no empty inner map**: a value has one representation, so
//!   equality of values is equality of encodings.
//! - [`MintAmounts`] holds signed quantities (positive mints, negative burns),
//!   non-zero, at least one entry.
//! - All arithmetic is checked; an overflow or a negative result is an error,
//!   never a wrap.

use crate::Error;
use crate::codec::BoundedBytes;
use crate::hash::PolicyId;
use borsh::io::{Error as IoError, ErrorKind, Read};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::BTreeMap;

/// Base units in one AIC.
pub const BASE_UNITS_PER_AIC: u128 = 1_000_000_000;

/// Largest asset name, in bytes.
pub const MAX_ASSET_NAME_LEN: usize = 32;

/// Name of an asset under a policy (0 to 32 arbitrary bytes).
pub type AssetName = BoundedBytes<MAX_ASSET_NAME_LEN>;

/// Quantities of user-defined assets (never AIC), canonical by construction.
#[derive(Clone, PartialEq, Eq, Default, Debug, BorshSerialize)]
pub struct MultiAsset(BTreeMap<PolicyId, BTreeMap<AssetName, u128>>);

impl MultiAsset {
    /// No assets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is no asset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Quantity of one asset (0 if absent).
    pub fn quantity(&self, policy: &PolicyId, name: &AssetName) -> u128 {
        self.0
            .get(policy)
            .and_then(|assets| assets.get(name))
            .copied()
            .unwrap_or(0)
    }

    /// Iterates over `(policy, name, quantity)` in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&PolicyId, &AssetName, u128)> {
        self.0
            .iter()
            .flat_map(|(p, assets)| assets.iter().map(move |(n, q)| (p, n, *q)))
    }

    /// Number of distinct assets.
    pub fn asset_count(&self) -> usize {
        self.0.values().map(BTreeMap::len).sum()
    }

    /// Adds `quantity` of one asset (checked).
    pub fn checked_add_asset(
        &mut self,
        policy: PolicyId,
        name: AssetName,
        quantity: u128,
    ) -> Result<(), Error> {
        if quantity == 0 {
            return Ok(());
        }
        let slot = self.0.entry(policy).or_default().entry(name).or_insert(0);
        *slot = slot.checked_add(quantity).ok_or(Error::ValueOverflow)?;
        Ok(())
    }

    /// Removes `quantity` of one asset; fails if fewer are held.
    pub fn checked_sub_asset(
        &mut self,
        policy: &PolicyId,
        name: &AssetName,
        quantity: u128,
    ) -> Result<(), Error> {
        if quantity == 0 {
            return Ok(());
        }
        let assets = self.0.get_mut(policy).ok_or(Error::ValueUnderflow)?;
        let held = assets.get_mut(name).ok_or(Error::ValueUnderflow)?;
        *held = held.checked_sub(quantity).ok_or(Error::ValueUnderflow)?;
        if *held == 0 {
            assets.remove(name);
            if assets.is_empty() {
                self.0.remove(policy);
            }
        }
        Ok(())
    }

    /// Adds every asset of `other` (checked).
    pub fn checked_add(&mut self, other: &MultiAsset) -> Result<(), Error> {
        for (policy, name, quantity) in other.iter() {
            self.checked_add_asset(*policy, name.clone(), quantity)?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), &'static str> {
        for assets in self.0.values() {
            if assets.is_empty() {
                return Err("policy with no asset");
            }
            if assets.values().any(|q| *q == 0) {
                return Err("asset with zero quantity");
            }
        }
        Ok(())
    }
}

impl BorshDeserialize for MultiAsset {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let map = BTreeMap::<PolicyId, BTreeMap<AssetName, u128>>::deserialize_reader(reader)?;
        let value = MultiAsset(map);
        value
            .check()
            .map_err(|e| IoError::new(ErrorKind::InvalidData, e))?;
        Ok(value)
    }
}

/// An amount of AIC plus user-defined assets.
#[derive(Clone, PartialEq, Eq, Default, Debug, BorshSerialize, BorshDeserialize)]
pub struct Value {
    /// AIC, in base units.
    pub coin: u128,
    /// Other assets.
    pub assets: MultiAsset,
}

impl Value {
    /// A value of AIC only.
    pub fn from_coin(coin: u128) -> Self {
        Value {
            coin,
            assets: MultiAsset::new(),
        }
    }

    /// Whether the value holds nothing at all.
    pub fn is_zero(&self) -> bool {
        self.coin == 0 && self.assets.is_empty()
    }

    /// `self += other`, checked.
    pub fn checked_add_assign(&mut self, other: &Value) -> Result<(), Error> {
        self.coin = self
            .coin
            .checked_add(other.coin)
            .ok_or(Error::ValueOverflow)?;
        self.assets.checked_add(&other.assets)
    }

    /// `self += coin`, checked.
    pub fn checked_add_coin(&mut self, coin: u128) -> Result<(), Error> {
        self.coin = self.coin.checked_add(coin).ok_or(Error::ValueOverflow)?;
        Ok(())
    }
}

/// Signed quantities minted (positive) or burned (negative) under one
/// policy: non-empty, no zero entry.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize)]
pub struct MintAmounts(BTreeMap<AssetName, i128>);

impl MintAmounts {
    /// Builds the amounts; rejects an empty map or a zero quantity.
    pub fn new(amounts: BTreeMap<AssetName, i128>) -> Result<Self, Error> {
        let value = MintAmounts(amounts);
        value.check().map_err(|_| Error::InvalidMint)?;
        Ok(value)
    }

    /// Iterates over `(name, quantity)` in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&AssetName, i128)> {
        self.0.iter().map(|(n, q)| (n, *q))
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.0.is_empty() {
            return Err("mint with no asset");
        }
        if self.0.values().any(|q| *q == 0) {
            return Err("mint of zero quantity");
        }
        Ok(())
    }
}

impl BorshDeserialize for MintAmounts {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let value = MintAmounts(BTreeMap::<AssetName, i128>::deserialize_reader(reader)?);
        value
            .check()
            .map_err(|e| IoError::new(ErrorKind::InvalidData, e))?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode;

    fn name(s: &str) -> AssetName {
        AssetName::new(s.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn add_sub_keeps_canonical_form() {
        let p = PolicyId::from([7; 32]);
        let mut a = MultiAsset::new();
        a.checked_add_asset(p, name("gold"), 5).unwrap();
        a.checked_sub_asset(&p, &name("gold"), 5).unwrap();
        assert_eq!(a, MultiAsset::new());
        assert_eq!(encode(&a), encode(&MultiAsset::new()));
        assert!(a.checked_sub_asset(&p, &name("gold"), 1).is_err());
    }

    #[test]
    fn overflow_is_error() {
        let mut v = Value::from_coin(u128::MAX);
        assert_eq!(v.checked_add_coin(1), Err(Error::ValueOverflow));
        let p = PolicyId::from([1; 32]);
        let mut a = MultiAsset::new();
        a.checked_add_asset(p, name("x"), u128::MAX).unwrap();
        assert_eq!(
            a.checked_add_asset(p, name("x"), 1),
            Err(Error::ValueOverflow)
        );
    }

    #[test]
    fn zero_quantity_and_empty_policy_rejected_on_decode() {
        let p = PolicyId::from([1; 32]);
        let mut inner = BTreeMap::new();
        inner.insert(name("x"), 0u128);
        let mut outer = BTreeMap::new();
        outer.insert(p, inner);
        assert!(borsh::from_slice::<MultiAsset>(&encode(&outer)).is_err());
        let mut outer2: BTreeMap<PolicyId, BTreeMap<AssetName, u128>> = BTreeMap::new();
        outer2.insert(p, BTreeMap::new());
        assert!(borsh::from_slice::<MultiAsset>(&encode(&outer2)).is_err());
    }

    #[test]
    fn mint_amounts_invariants() {
        assert!(MintAmounts::new(BTreeMap::new()).is_err());
        let mut m = BTreeMap::new();
        m.insert(name("a"), 0i128);
        assert!(MintAmounts::new(m).is_err());
        let mut m = BTreeMap::new();
        m.insert(name("a"), -3i128);
        let amounts = MintAmounts::new(m).unwrap();
        assert_eq!(
            borsh::from_slice::<MintAmounts>(&encode(&amounts)).unwrap(),
            amounts
        );
    }
}
