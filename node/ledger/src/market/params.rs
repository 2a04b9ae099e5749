//! Parameters of the AI compute market: governance, the evidence policy,
//! bonds, windows, burn and slash shares. All are consensus parameters,
//! fixed by the genesis.

use aether_evidence::EvidencePolicy;
use aether_types::KeyHash;
use std::collections::BTreeSet;

/// One in ten thousand: shares are given in basis points.
pub const BPS: u128 = 10_000;

/// The keys that govern the registries (measurements, models) and how many
/// of them must sign a governance action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Governance {
    /// Key hashes of the governance keys.
    pub keys: BTreeSet<KeyHash>,
    /// Signatures needed (m of n). Zero disables governance actions.
    pub threshold: u32,
}

impl Governance {
    /// Whether `signers` (the key hashes whose signatures verified) hold at
    /// least `threshold` distinct governance keys. The one place that
    /// decides governance; stake votes can join here later.
    pub fn approves<'a>(&self, signers: impl IntoIterator<Item = &'a KeyHash>) -> bool {
        if self.threshold == 0 {
            return false;
        }
        let distinct: BTreeSet<&KeyHash> = signers
            .into_iter()
            .filter(|k| self.keys.contains(k))
            .collect();
        distinct.len() >= self.threshold as usize
    }
}

/// Reputation changes, in points of `0..=MAX_REPUTATION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReputationParams {
    /// Gained per settled job.
    pub settle_gain: u32,
    /// Lost per job that expired without a receipt.
    pub timeout_loss: u32,
    /// Lost per receipt disproved by a challenge.
    pub slash_loss: u32,
}

/// The market's parameters (see the module docs of `market`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketParams {
    /// Governance keys and threshold.
    pub governance: Governance,
    /// Trust roots, minimum TCB and other rules TEE evidence must meet.
    pub evidence: EvidencePolicy,
    /// Blocks after a receipt's block during which it can be challenged.
    pub challenge_window: u64,
    /// Share of a settled job's price burned, in basis points.
    pub settlement_burn_bps: u32,
    /// Share of a slashed bond paid to the challenger, in basis points (the
    /// rest is burned).
    pub slash_reward_bps: u32,
    /// Share of a lost challenge deposit paid to the provider, in basis
    /// points (the rest is burned).
    pub lost_deposit_provider_bps: u32,
    /// Share of a job's locked bond burned when the job expires without a
    /// receipt, in basis points.
    pub timeout_penalty_bps: u32,
    /// Smallest bond a provider must hold to be registered and routed to.
    pub min_provider_bond: u128,
    /// Bond locked per job: `max(min_job_bond, price × job_bond_multiple)`.
    pub job_bond_multiple: u32,
    /// Smallest bond locked per job.
    pub min_job_bond: u128,
    /// Blocks between an unbonding request and the payout.
    pub unbonding_delay: u64,
    /// Smallest challenge deposit.
    pub min_challenge_deposit: u128,
    /// Farthest deadline a job may ask for, in blocks after its posting.
    pub max_deadline: u64,
    /// Largest transaction that carries a challenge (its checkpoint data).
    pub max_challenge_tx_size: usize,
    /// The router's band: providers whose score is within this many basis
    /// points of the best share the draw.
    pub router_band_bps: u32,
    /// Reputation changes.
    pub reputation: ReputationParams,
}

impl MarketParams {
    /// The bond locked for a job at `price`.
    pub fn job_bond(&self, price: u128) -> u128 {
        price
            .saturating_mul(u128::from(self.job_bond_multiple))
            .max(self.min_job_bond)
    }

    /// Development defaults: no governance keys (the dev genesis names
    /// them), the production evidence policy, a 20-block (10 s) window.
    pub fn dev() -> Self {
        MarketParams {
            governance: Governance {
                keys: BTreeSet::new(),
                threshold: 0,
            },
            evidence: EvidencePolicy::production(),
            challenge_window: 20,
            settlement_burn_bps: 1_000,
            slash_reward_bps: 5_000,
            lost_deposit_provider_bps: 5_000,
            timeout_penalty_bps: 1_000,
            min_provider_bond: 100 * aether_types::BASE_UNITS_PER_AIC,
            job_bond_multiple: 10,
            min_job_bond: aether_types::BASE_UNITS_PER_AIC,
            unbonding_delay: 100,
            min_challenge_deposit: aether_types::BASE_UNITS_PER_AIC,
            max_deadline: 10_000,
            max_challenge_tx_size: 1024 * 1024,
            router_band_bps: 1_000,
            reputation: ReputationParams {
                settle_gain: 50,
                timeout_loss: 500,
                slash_loss: 2_500,
            },
        }
    }
}

/// `amount × bps / 10 000`, rounded down, without overflow.
pub fn share(amount: u128, bps: u32) -> u128 {
    let bps = u128::from(bps).min(BPS);
    (amount / BPS) * bps + (amount % BPS) * bps / BPS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_down_and_never_overflow() {
        assert_eq!(share(1_000, 1_000), 100);
        assert_eq!(share(9_999, 1), 0);
        assert_eq!(share(u128::MAX, 10_000), u128::MAX);
        assert_eq!(share(u128::MAX, 20_000), u128::MAX);
        assert!(share(u128::MAX, 5_000) <= u128::MAX / 2 + 1);
    }

    #[test]
    fn governance_counts_distinct_keys() {
        let g = Governance {
            keys: [KeyHash([1; 32]), KeyHash([2; 32]), KeyHash([3; 32])].into(),
            threshold: 2,
        };
        assert!(!g.approves(&[KeyHash([1; 32]), KeyHash([1; 32])]));
        assert!(!g.approves(&[KeyHash([1; 32]), KeyHash([9; 32])]));
        assert!(g.approves(&[KeyHash([1; 32]), KeyHash([3; 32])]));
        let off = Governance {
            keys: g.keys.clone(),
            threshold: 0,
        };
        assert!(!off.approves(&[KeyHash([1; 32])]));
    }
}
