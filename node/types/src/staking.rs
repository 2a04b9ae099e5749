//! Staking: validators, delegations, per-epoch validator sets, slashing
//! records, and the report-data binding of attested validators. The rules
//! are enforced by the ledger (`aether_ledger::staking`); this module holds
//! the wire and state types and the pure functions clients need (ids, the
//! attestation binding).
//!
//! # Identifiers
//! | id | definition |
//! |---|---|
//! | [`ValidatorId`] | `H(tag::VALIDATOR_ID, bls public key (48))`: one validator per BLS key |
//! | [`DelegationId`] | `H(tag::DELEGATION_ID, validator id ‖ delegator key hash)` |
//! | [`SlashId`] | `H(tag::SLASH_ID, validator id ‖ epoch (u64 LE) ‖ round (u64 LE) ‖ kind (u8))`: one slash per equivocation |
//!
//! # The attestation binding
//! An attested validator's TEE evidence carries, in its 64 bytes of report
//! data, [`validator_report_data`] = BLAKE3-XOF-512(`"AETHER-VALIDATOR-v1"`
//! ‖ BLS public key (48) ‖ network key (32) ‖ chain id (u32 LE)): the
//! hardware vouches that exactly these two keys were generated inside the
//! measured validator image, for this chain.
//!
//! # Stake accounting (shares)
//! A validator holds `tokens` (AIC base units bonded to it) and `shares`
//! (claims on them). A delegation holds shares; its value is
//! `shares × tokens / total shares`. Slashing and leaks lower `tokens`, so
//! every holder (the owner's self-bond and each delegation) loses the same
//! fraction without touching the delegation objects; rewards raise
//! `tokens`. Undelegated stake moves into the validator's **unbonding pool**
//! of the current epoch (again tokens and shares), so it stays slashable
//! for the infractions of the epochs in which it was bonded until its
//! release height.

use crate::consensus::{BlsPublicKeyBytes, BlsSignatureBytes, Epoch, EquivocationEvidence};
use crate::hash::{Digest, KeyHash, digest_type, tag, tagged_hash};
use crate::market::{MeasurementId, TeeEvidence};
use crate::tx::{Address, ChainId, PublicKey};
use crate::{EquivocationKind, Round};
use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

digest_type!(
    /// A validator: `H(tag::VALIDATOR_ID, BLS public key)`.
    ValidatorId
);
digest_type!(
    /// A delegation: `H(tag::DELEGATION_ID, validator ‖ delegator)`.
    DelegationId
);
digest_type!(
    /// One equivocation: `H(tag::SLASH_ID, validator ‖ epoch ‖ round ‖ kind)`.
    SlashId
);

/// Domain string of the attestation binding (see the module docs).
pub const VALIDATOR_BINDING_DOMAIN: &[u8] = b"AETHER-VALIDATOR-v1";

/// Most pending undelegations of one delegation.
pub const MAX_STAKE_UNBONDING: usize = 16;

/// Largest commission, in basis points (100 %).
pub const MAX_COMMISSION_BPS: u32 = 10_000;

impl ValidatorId {
    /// The id of the validator with BLS key `bls_key`.
    pub fn of(bls_key: &BlsPublicKeyBytes) -> Self {
        ValidatorId(tagged_hash(tag::VALIDATOR_ID, &[&bls_key.0]).0)
    }
}

impl DelegationId {
    /// The delegation of `delegator` to `validator`.
    pub fn derive(validator: &ValidatorId, delegator: &KeyHash) -> Self {
        DelegationId(tagged_hash(tag::DELEGATION_ID, &[&validator.0, &delegator.0]).0)
    }
}

impl SlashId {
    /// The id of `validator`'s equivocation of `kind` in `epoch`, `round`.
    pub fn derive(
        validator: &ValidatorId,
        epoch: Epoch,
        round: Round,
        kind: EquivocationKind,
    ) -> Self {
        let kind = [match kind {
            EquivocationKind::Vote => 0u8,
            EquivocationKind::Proposal => 1u8,
        }];
        SlashId(
            tagged_hash(
                tag::SLASH_ID,
                &[
                    &validator.0,
                    &epoch.0.to_le_bytes(),
                    &round.0.to_le_bytes(),
                    &kind,
                ],
            )
            .0,
        )
    }
}

/// The report data an attested validator's evidence must carry:
/// BLAKE3-XOF-512(`"AETHER-VALIDATOR-v1"` ‖ BLS key ‖ network key ‖ chain
/// id as u32 LE). The appliance asks its TEE for evidence over exactly
/// these bytes after generating both keys.
pub fn validator_report_data(
    bls_key: &BlsPublicKeyBytes,
    network_key: &PublicKey,
    chain_id: ChainId,
) -> [u8; 64] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(VALIDATOR_BINDING_DOMAIN);
    hasher.update(&bls_key.0);
    hasher.update(&network_key.0);
    hasher.update(&chain_id.0.to_le_bytes());
    let mut out = [0u8; 64];
    hasher.finalize_xof().fill(&mut out);
    out
}

/// Register a validator (see the module docs and `docs/staking.md`).
///
/// Signed by `owner` (who controls the self-bond) **and** by the network
/// key (so nobody can register someone else's node keys under their own
/// owner). The BLS key comes with its proof of possession; on chains that
/// require attested validators, `attestation` carries TEE evidence whose
/// report data is [`validator_report_data`] of the two keys.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterValidator {
    /// Key that controls the validator and owns its self-bond.
    pub owner: KeyHash,
    /// The consensus key (BLS12-381 min_pk, compressed G1).
    pub bls_key: BlsPublicKeyBytes,
    /// Proof of possession of the BLS key (`aether_crypto::bls`).
    pub proof_of_possession: BlsSignatureBytes,
    /// The node's network key (ed25519; identifies it on QUIC).
    pub network_key: PublicKey,
    /// The self-bond deposited, AIC base units.
    pub self_bond: u128,
    /// Share of the validator's rewards kept as commission, basis points.
    pub commission_bps: u32,
    /// TEE evidence binding the keys (required on attested chains).
    pub attestation: Option<TeeEvidence>,
}

impl RegisterValidator {
    /// The validator's id ([`ValidatorId::of`] the BLS key).
    pub fn validator_id(&self) -> ValidatorId {
        ValidatorId::of(&self.bls_key)
    }

    /// [`validator_report_data`] of this registration's keys.
    pub fn report_data(&self, chain_id: ChainId) -> [u8; 64] {
        validator_report_data(&self.bls_key, &self.network_key, chain_id)
    }
}

/// Delegate stake to a validator (the delegator's key signs).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Delegate {
    /// The validator.
    pub validator: ValidatorId,
    /// Who delegates (owns the shares; must sign).
    pub delegator: KeyHash,
    /// Amount deposited, AIC base units.
    pub amount: u128,
}

/// Start undelegating stake (the delegator's key signs). The amount leaves
/// the validator's stake now and is paid to `Address::Key(delegator)` after
/// the unbonding delay; an amount at or above the delegation's value
/// undelegates all of it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Undelegate {
    /// The validator.
    pub validator: ValidatorId,
    /// Whose delegation (must sign).
    pub delegator: KeyHash,
    /// Amount, AIC base units.
    pub amount: u128,
}

/// Report an equivocation (anyone): two signed votes or proposals of one
/// validator for different blocks in the same round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ReportEquivocation {
    /// Both signed statements.
    pub evidence: EquivocationEvidence,
    /// Where the reporter's reward goes.
    pub reporter: Address,
}

/// Stake on its way out of a validator, undelegated in one epoch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct UnbondingPool {
    /// The epoch the undelegations happened in.
    pub epoch: Epoch,
    /// Value held, AIC base units.
    pub tokens: u128,
    /// Claims on it.
    pub shares: u128,
}

/// A registered validator (see the module docs).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ValidatorRecord {
    /// Controlling key (owns the self-bond delegation).
    pub owner: KeyHash,
    /// Consensus key.
    pub bls_key: BlsPublicKeyBytes,
    /// Its proof of possession.
    pub proof_of_possession: BlsSignatureBytes,
    /// Network key.
    pub network_key: PublicKey,
    /// Commission, basis points.
    pub commission_bps: u32,
    /// Bonded value, AIC base units.
    pub tokens: u128,
    /// Shares outstanding.
    pub shares: u128,
    /// Unbonding pools, oldest epoch first.
    pub unbonding: Vec<UnbondingPool>,
    /// Slashed for equivocation: never again in a validator set.
    pub tombstoned: bool,
    /// Total slashed.
    pub slashed: u128,
    /// Total lost to downtime leaks.
    pub leaked: u128,
    /// The registered validator measurement its evidence carried, if attested.
    pub attestation: Option<MeasurementId>,
    /// Height of registration (0: genesis).
    pub registered_at: u64,
}

/// `a × b / c`, rounded down, computed without overflow of the product
/// (`None` if `c == 0` or the quotient exceeds `u128`). Written by hand
/// (schoolbook 256-bit product and binary long division) because it is the
/// only wide operation the protocol needs.
pub fn mul_div(a: u128, b: u128, c: u128) -> Option<u128> {
    if c == 0 {
        return None;
    }
    if let Some(p) = a.checked_mul(b) {
        return Some(p / c);
    }
    // 256-bit product as (hi, lo).
    let (a1, a0) = (a >> 64, a & u128::from(u64::MAX));
    let (b1, b0) = (b >> 64, b & u128::from(u64::MAX));
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & u128::from(u64::MAX)) + (p10 & u128::from(u64::MAX));
    let lo = (p00 & u128::from(u64::MAX)) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    if hi >= c {
        return None;
    }
    // Long division of (hi, lo) by c, one bit at a time; hi < c throughout.
    let mut rem = hi;
    let mut quotient = 0u128;
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> i) & 1);
        quotient <<= 1;
        if carry == 1 || rem >= c {
            rem = rem.wrapping_sub(c);
            quotient |= 1;
        }
    }
    Some(quotient)
}

impl ValidatorRecord {
    /// Total value the object holds (bonded and unbonding).
    pub fn held(&self) -> u128 {
        self.unbonding
            .iter()
            .fold(self.tokens, |acc, p| acc.saturating_add(p.tokens))
    }

    /// The bonded value of `shares` of this validator (rounded down).
    pub fn value_of(&self, shares: u128) -> u128 {
        if shares >= self.shares {
            return self.tokens;
        }
        mul_div(shares, self.tokens, self.shares).unwrap_or(0)
    }
}

/// One pending undelegation of a delegation.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct StakeUnbonding {
    /// The validator's unbonding pool it sits in.
    pub epoch: Epoch,
    /// Shares of that pool.
    pub shares: u128,
    /// Height at whose start it is paid out.
    pub release_height: u64,
}

/// A delegation (also the owner's self-bond).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct DelegationRecord {
    /// The validator.
    pub validator: ValidatorId,
    /// The delegator (paid at `Address::Key(delegator)`).
    pub delegator: KeyHash,
    /// Shares of the validator's stake.
    pub shares: u128,
    /// Pending undelegations, in start order.
    pub unbonding: Vec<StakeUnbonding>,
}

/// A member of an epoch's validator set (its index is its position).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct EpochMember {
    /// The validator.
    pub validator: ValidatorId,
    /// Its consensus key.
    pub bls_key: BlsPublicKeyBytes,
    /// The key's proof of possession.
    pub proof_of_possession: BlsSignatureBytes,
    /// Its network key.
    pub network_key: PublicKey,
    /// Its stake for the epoch, in the chain's stake units (positive).
    pub stake: u64,
}

/// The validator set and leader seed of one epoch, fixed at the end of the
/// previous epoch (epoch 0: by the genesis).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct EpochSet {
    /// The epoch.
    pub epoch: Epoch,
    /// Its leader-election seed.
    pub seed: Digest,
    /// Height of its first block.
    pub first_height: u64,
    /// The members in index order (ascending validator id).
    pub members: Vec<EpochMember>,
}

impl EpochSet {
    /// Total stake, in stake units.
    pub fn total_stake(&self) -> u128 {
        self.members.iter().map(|m| u128::from(m.stake)).sum()
    }

    /// The index of `validator`, if it is a member.
    pub fn index_of(&self, validator: &ValidatorId) -> Option<usize> {
        self.members.iter().position(|m| m.validator == *validator)
    }
}

/// What the current epoch's blocks recorded so far: per member (by index)
/// the blocks it was present in (proposer or signer of the header's QC)
/// and the rewards it earned, credited at the epoch's end.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct EpochActivity {
    /// The epoch of the next block.
    pub epoch: Epoch,
    /// Blocks whose proposer was known (the downtime window's size).
    pub blocks: u32,
    /// Per member: blocks present in.
    pub presence: Vec<u32>,
    /// Per member: rewards earned this epoch, AIC base units.
    pub rewards: Vec<u128>,
}

impl EpochActivity {
    /// A fresh record for `epoch` with `members` members.
    pub fn new(epoch: Epoch, members: usize) -> Self {
        EpochActivity {
            epoch,
            blocks: 0,
            presence: vec![0; members],
            rewards: vec![0; members],
        }
    }

    /// Value held: the pending rewards.
    pub fn held(&self) -> u128 {
        self.rewards
            .iter()
            .fold(0u128, |acc, r| acc.saturating_add(*r))
    }
}

/// A slash for one equivocation (replay protection and history).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct SlashRecord {
    /// The offender.
    pub validator: ValidatorId,
    /// The equivocation's epoch.
    pub epoch: Epoch,
    /// Its round.
    pub round: Round,
    /// Votes or proposals.
    pub kind: EquivocationKind,
    /// Height of the slash.
    pub height: u64,
    /// Amount slashed (stake and unbonding pools).
    pub amount: u128,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_covers_both_keys_and_the_chain() {
        let bls = BlsPublicKeyBytes([1; 48]);
        let net = PublicKey([2; 32]);
        let base = validator_report_data(&bls, &net, ChainId(7));
        assert_ne!(
            validator_report_data(&BlsPublicKeyBytes([3; 48]), &net, ChainId(7)),
            base
        );
        assert_ne!(
            validator_report_data(&bls, &PublicKey([3; 32]), ChainId(7)),
            base
        );
        assert_ne!(validator_report_data(&bls, &net, ChainId(8)), base);
        // The XOF output is 64 distinct bytes, not a 32-byte hash twice.
        assert_ne!(base[..32], base[32..]);
    }

    #[test]
    fn ids_are_distinct() {
        let v = ValidatorId::of(&BlsPublicKeyBytes([1; 48]));
        assert_ne!(v, ValidatorId::of(&BlsPublicKeyBytes([2; 48])));
        assert_ne!(
            DelegationId::derive(&v, &KeyHash([1; 32])),
            DelegationId::derive(&v, &KeyHash([2; 32]))
        );
        let s = |e, r, k| SlashId::derive(&v, Epoch(e), Round(r), k);
        assert_ne!(
            s(1, 2, EquivocationKind::Vote),
            s(1, 2, EquivocationKind::Proposal)
        );
        assert_ne!(
            s(1, 2, EquivocationKind::Vote),
            s(1, 3, EquivocationKind::Vote)
        );
        assert_ne!(
            s(1, 2, EquivocationKind::Vote),
            s(2, 2, EquivocationKind::Vote)
        );
    }

    #[test]
    fn mul_div_is_exact_beyond_u128_products() {
        assert_eq!(mul_div(6, 7, 3), Some(14));
        assert_eq!(mul_div(1, 1, 0), None);
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), Some(u128::MAX));
        assert_eq!(mul_div(u128::MAX, 2, 4), Some(u128::MAX / 2));
        assert_eq!(mul_div(u128::MAX, 3, 2), None);
        let a = 0x1234_5678_9abc_def0_1234_5678_9abc_def0u128;
        let b = 0x0fed_cba9_8765_4321_0fed_cba9_8765_4321u128;
        // (a × b) / b = a, (a × b) / a = b.
        assert_eq!(mul_div(a, b, b), Some(a));
        assert_eq!(mul_div(a, b, a), Some(b));
        assert_eq!(mul_div(a, b, a + 1), Some(b - 1));
    }

    #[test]
    fn share_values_round_down_and_the_last_share_takes_all() {
        let v = ValidatorRecord {
            owner: KeyHash([1; 32]),
            bls_key: BlsPublicKeyBytes([1; 48]),
            proof_of_possession: BlsSignatureBytes([1; 96]),
            network_key: PublicKey([1; 32]),
            commission_bps: 0,
            tokens: 100,
            shares: 3,
            unbonding: vec![UnbondingPool {
                epoch: Epoch(0),
                tokens: 5,
                shares: 5,
            }],
            tombstoned: false,
            slashed: 0,
            leaked: 0,
            attestation: None,
            registered_at: 0,
        };
        assert_eq!(v.value_of(1), 33);
        assert_eq!(v.value_of(3), 100);
        assert_eq!(v.held(), 105);
    }
}
