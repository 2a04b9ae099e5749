//! Staking in the state transition: validator registration (BLS key with
//! proof of possession, network key, self-bond, commission, optionally TEE
//! evidence), delegation and undelegation with an unbonding delay,
//! per-epoch validator sets fixed at the end of the previous epoch with
//! seeds from the epoch's VRF outputs, slashing of equivocations, downtime
//! leaks, and block rewards and fees to the validators. The protocol, its
//! parameters and what the node must wire are in `docs/staking.md`.
//!
//! # Where each rule runs
//! | when | what | module |
//! |---|---|---|
//! | before scheduling (parallel) | proof of possession; attestation binding and evidence | [`prepare`] |
//! | in the staking lane (block order) | register, delegate, undelegate, report equivocation | [`apply`] |
//! | start of a block | matured undelegations paid out | [`apply`] (`release`, from the market's boundary pass over due objects) |
//! | end of a block | presence, rewards, VRF output; at an epoch's last block: rewards credited, downtime leaks, next seed and set | [`epoch`] |
//!
//! # Money
//! | event | from | to |
//! |---|---|---|
//! | register / delegate | the transaction's inputs | the validator's stake (deposit) |
//! | undelegate | the stake | the validator's unbonding pool of this epoch |
//! | release | the pool | `Address::Key(delegator)` after `unbonding_delay` blocks |
//! | slash | `slash_bps` of the stake and of the pools of the equivocation's epoch or later | reporter: `reporter_reward_bps` of it; the rest burned |
//! | block | its fees (left the inputs) + `block_reward` (minted) | the epoch's reward pool (proposer and QC signers) |
//! | epoch end | the reward pool | each member's stake (commission as owner shares) |
//! | downtime | `downtime_leak_bps` of the stake | burned |
//!
//! A chain without staking objects (no genesis validators) keeps its fees
//! outside any object, as before. On a staking chain every fee is either
//! in a reward pool or burned, so the supply equation is
//! `UTxOs + Σ held by objects + burned = genesis + minted` (tested on
//! random mixes in `tests/staking_props.rs`).

pub mod apply;
pub mod epoch;
pub mod error;
pub mod genesis;
pub mod header;
pub mod params;
pub mod prepare;
pub mod sets;

pub use epoch::end_block;
pub use error::StakingError;
pub use genesis::{
    GenesisError, GenesisValidator, current_epoch, epoch_set, genesis_objects, genesis_seed,
};
pub use header::{BlockConsensus, Proposer};
pub use params::StakingParams;
pub use prepare::{RegistrationChecks, check_registration};
pub use sets::{ValidatorSets, validator_infos};
