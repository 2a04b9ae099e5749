//! Parameters of staking: epochs, bonds, unbonding, slashing, rewards and
//! downtime. All are consensus parameters, fixed by the genesis
//! ([`StakingParams::check`] states how they must relate).

use aether_types::{BASE_UNITS_PER_AIC, BlockHash, MAX_VALIDATORS};

/// The staking parameters (see `docs/staking.md` for the rules they drive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StakingParams {
    /// Blocks per epoch. Epoch `e` is heights `e·L + 1 ..= (e+1)·L`; the
    /// set of epoch `e+1` is fixed at the end of block `(e+1)·L`.
    pub epoch_length: u64,
    /// Smallest self-bond to register, and to stay eligible for a set.
    pub min_self_bond: u128,
    /// Smallest deposit of one delegation.
    pub min_delegation: u128,
    /// AIC base units per unit of consensus stake (an epoch member's stake
    /// is its bonded value divided by this, rounded down; zero units is not
    /// a member).
    pub stake_unit: u128,
    /// Most members of a validator set (the largest stakes, ties by id).
    pub max_validators: u32,
    /// Blocks between an undelegation and its payout.
    pub unbonding_delay: u64,
    /// How many epochs back equivocation evidence is accepted (0: only
    /// the current epoch's).
    pub evidence_max_age: u64,
    /// Share of a validator's stake (and of its slashable unbonding pools)
    /// slashed per equivocation, basis points.
    pub slash_bps: u32,
    /// Share of a slash paid to the reporter, basis points (the rest is
    /// burned).
    pub reporter_reward_bps: u32,
    /// New AIC minted per block as its reward, base units (zero on dev).
    pub block_reward: u128,
    /// Share of a block's fees and reward that goes to its proposer, basis
    /// points; the rest goes to the signers of the QC the block carries, by
    /// stake.
    pub proposer_reward_bps: u32,
    /// Downtime: a member present in fewer than this share of the epoch's
    /// counted blocks is down, basis points.
    pub min_presence_bps: u32,
    /// Downtime: fewest counted blocks in an epoch for any judgement.
    pub downtime_min_blocks: u32,
    /// Downtime: share of a down validator's stake leaked (burned) per
    /// epoch, basis points.
    pub downtime_leak_bps: u32,
    /// Attested validators: registrations must carry TEE evidence binding
    /// their keys, from a registered validator image.
    pub require_attestation: bool,
    /// Id of the chain's genesis block: every consensus signature is made
    /// over it, so evidence is verified with it. The node sets it once the
    /// genesis block is built.
    pub genesis_hash: BlockHash,
}

impl StakingParams {
    /// Development defaults: half-hour epochs at two blocks a second, a
    /// 1,000 AIC minimum self-bond, 5 % slashes (10 % of it to the
    /// reporter), no block reward, no attestation.
    pub fn dev() -> Self {
        let epoch_length = 3_600;
        let evidence_max_age = 1;
        StakingParams {
            epoch_length,
            min_self_bond: 1_000 * BASE_UNITS_PER_AIC,
            min_delegation: BASE_UNITS_PER_AIC,
            stake_unit: BASE_UNITS_PER_AIC,
            max_validators: 100,
            unbonding_delay: (evidence_max_age + 2) * epoch_length,
            evidence_max_age,
            slash_bps: 500,
            reporter_reward_bps: 1_000,
            block_reward: 0,
            proposer_reward_bps: 1_000,
            min_presence_bps: 1_000,
            downtime_min_blocks: 100,
            downtime_leak_bps: 10,
            require_attestation: false,
            genesis_hash: BlockHash::default(),
        }
    }

    /// Whether a genesis requires attested validators when it does not
    /// say: yes for a non-dev chain that lists TEE trust roots, no for a
    /// dev chain.
    pub fn attestation_default(dev: bool, lists_trust_roots: bool) -> bool {
        !dev && lists_trust_roots
    }

    /// The epoch of the block at `height` (genesis and blocks `1..=L` are
    /// epoch 0).
    pub fn epoch_of(&self, height: u64) -> u64 {
        height.saturating_sub(1) / self.epoch_length.max(1)
    }

    /// Whether the block at `height` is the last of its epoch (the set of
    /// the next epoch is fixed at its end).
    pub fn ends_epoch(&self, height: u64) -> bool {
        height > 0 && height.is_multiple_of(self.epoch_length.max(1))
    }

    /// The height of the first block of `epoch`.
    pub fn first_height(&self, epoch: u64) -> u64 {
        epoch.saturating_mul(self.epoch_length).saturating_add(1)
    }

    /// Checks how the parameters must relate: a positive epoch length and
    /// stake unit, shares at most 100 %, a set size within
    /// `1..=MAX_VALIDATORS`, and an unbonding delay long enough that stake
    /// stays slashable while evidence against it is accepted:
    /// `unbonding_delay ≥ (evidence_max_age + 1) · epoch_length`.
    pub fn check(&self) -> Result<(), String> {
        if self.epoch_length == 0 {
            return Err("epoch length must be positive".into());
        }
        if self.stake_unit == 0 {
            return Err("stake unit must be positive".into());
        }
        if self.max_validators == 0 || self.max_validators as usize > MAX_VALIDATORS {
            return Err(format!(
                "max validators {} outside 1..={MAX_VALIDATORS}",
                self.max_validators
            ));
        }
        for (name, bps) in [
            ("slash_bps", self.slash_bps),
            ("reporter_reward_bps", self.reporter_reward_bps),
            ("proposer_reward_bps", self.proposer_reward_bps),
            ("min_presence_bps", self.min_presence_bps),
            ("downtime_leak_bps", self.downtime_leak_bps),
        ] {
            if bps > 10_000 {
                return Err(format!("{name} = {bps} exceeds 10000"));
            }
        }
        let needed = self
            .evidence_max_age
            .saturating_add(1)
            .saturating_mul(self.epoch_length);
        if self.unbonding_delay < needed {
            return Err(format!(
                "unbonding delay {} is shorter than the {needed} blocks evidence can arrive in",
                self.unbonding_delay
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_params_are_consistent_and_epochs_are_numbered_from_one() {
        let p = StakingParams::dev();
        p.check().unwrap();
        assert_eq!(p.epoch_of(0), 0);
        assert_eq!(p.epoch_of(1), 0);
        assert_eq!(p.epoch_of(3_600), 0);
        assert_eq!(p.epoch_of(3_601), 1);
        assert!(p.ends_epoch(3_600) && !p.ends_epoch(3_601) && !p.ends_epoch(0));
        assert_eq!(p.first_height(1), 3_601);
    }

    #[test]
    fn each_rule_of_check_fails_alone() {
        let bad = |f: fn(&mut StakingParams)| {
            let mut p = StakingParams::dev();
            f(&mut p);
            p.check().unwrap_err()
        };
        assert!(bad(|p| p.epoch_length = 0).contains("epoch length"));
        assert!(bad(|p| p.stake_unit = 0).contains("stake unit"));
        assert!(bad(|p| p.max_validators = 0).contains("max validators"));
        assert!(bad(|p| p.slash_bps = 10_001).contains("slash_bps"));
        assert!(bad(|p| p.unbonding_delay = p.epoch_length).contains("unbonding delay"));
        assert!(StakingParams::attestation_default(false, true));
        assert!(!StakingParams::attestation_default(true, true));
        assert!(!StakingParams::attestation_default(false, false));
    }
}
