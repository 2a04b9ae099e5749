//! The end of every block on a staking chain: presence, rewards and the
//! VRF output of the block; and at the last block of an epoch, the
//! epoch's rewards credited, downtime leaks, the next seed and the next
//! validator set.
//!
//! # Each block (after its transactions)
//! With `e` the current epoch and `set` its members:
//! 1. **Attribution**: the proposer (by index for HotStuff headers of epoch
//!    `e`, by network key for dev headers) and the signers of the header's
//!    QC when that QC is of epoch `e` (its bitmap is over `set`). A header
//!    of another epoch attributes nothing.
//! 2. **Presence**: if the proposer is known, the block counts
//!    (`blocks += 1`) and the proposer and every signer are present in it.
//! 3. **Rewards**: `R = fees of the block's transactions + block_reward`
//!    (minted only when the proposer is known). The signers share
//!    `R − share(R, proposer_reward_bps)` by stake (each
//!    `⌊rest × stake_i / Σ stake⌋`); the proposer gets everything else (its
//!    share and the rounding). Amounts accrue in the epoch's
//!    [`EpochActivity`] and reach the stake at the epoch's end. Without a
//!    known proposer the fees are burned.
//! 4. The VRF output, if the header has one, is kept at
//!    `ObjectKey::VrfOutput(height)`.
//!
//! # The last block of epoch `e` (height `(e+1)·L`)
//! 1. For each member, in index order: its rewards are credited —
//!    `commission = share(amount, commission_bps)` becomes new shares of the
//!    owner, the rest raises the stake's value for every holder pro rata;
//!    then, if at least `downtime_min_blocks` blocks counted and the member
//!    was present in fewer than `min_presence_bps` of them, `downtime_leak_bps`
//!    of its stake is burned.
//! 2. `seed(e+1) = next_epoch_seed(seed(e), VRF outputs of the epoch's
//!    blocks in height order)` (`aether_consensus::next_epoch_seed`); the
//!    outputs are deleted.
//! 3. The set of `e+1`: registered validators that are not tombstoned,
//!    whose owner's self-bond is worth at least `min_self_bond` and whose
//!    stake is at least one stake unit; the `max_validators` largest
//!    (ties by id), in ascending id order. If none qualifies, the current
//!    members carry over (the chain never halts for want of a set).
//! 4. Sets older than `evidence_max_age` epochs are deleted; a fresh
//!    activity record starts.

use super::apply::{
    delegation, epoch_set, put_delegation, put_validator, read, registry, validator,
};
use super::header::{BlockConsensus, Proposer};
use crate::error::{LedgerError, ViewError};
use crate::market::apply::{MarketEffect, MarketEnv, MarketState};
use crate::market::share;
use crate::state::UtxoView;
use aether_types::*;

fn missing(what: String) -> LedgerError {
    LedgerError::Storage(ViewError { message: what })
}

/// The current epoch's activity record (`None`: not a staking chain).
fn activity<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
) -> Result<Option<EpochActivity>, LedgerError> {
    read(s, ObjectKey::EpochActivity, |o| match o {
        Object::EpochActivity(a) => Some(a),
        _ => None,
    })
}

/// The end-of-block work (see the module docs) after transactions that
/// charged `fees`; payouts would be boundary outputs from `first_index`.
pub fn end_block<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    view: &V,
    consensus: &BlockConsensus,
    fees: u128,
    first_index: u32,
) -> Result<MarketEffect, LedgerError> {
    let mut s = MarketState::new(view, boundary_tx_id(env.height), first_index);
    let Some(mut act) = activity(&s)? else {
        return Ok(s.finish());
    };
    let e = act.epoch;
    let set =
        epoch_set(&s, e)?.ok_or_else(|| missing(format!("the set of epoch {e:?} is missing")))?;
    let n = set.members.len();
    if act.presence.len() != n || act.rewards.len() != n {
        return Err(missing(format!(
            "activity of epoch {e:?} does not match its set"
        )));
    }
    let own_epoch = consensus.epoch.is_none_or(|h| h == e);
    let proposer = match (&consensus.proposer, own_epoch) {
        (Proposer::Index(i), true) => Some(usize::from(i.0)).filter(|i| *i < n),
        (Proposer::NetworkKey(k), true) => set.members.iter().position(|m| m.network_key == *k),
        _ => None,
    };
    if let Some(p) = proposer {
        let signers: Vec<usize> = match &consensus.justify {
            Some((qc_epoch, bitmap)) if *qc_epoch == e && bitmap.len() == n => {
                bitmap.iter().map(|v| usize::from(v.0)).collect()
            }
            _ => vec![],
        };
        act.blocks = act.blocks.saturating_add(1);
        let mut present = vec![false; n];
        present[p] = true;
        for i in &signers {
            present[*i] = true;
        }
        for (count, here) in act.presence.iter_mut().zip(present) {
            if here {
                *count = count.saturating_add(1);
            }
        }
        let minted = env.staking.block_reward;
        let total = fees.saturating_add(minted);
        let rest = total - share(total, env.staking.proposer_reward_bps);
        let signed_stake: u128 = signers
            .iter()
            .map(|i| u128::from(set.members[*i].stake))
            .sum();
        let mut paid = 0u128;
        if signed_stake > 0 {
            for i in &signers {
                let part =
                    mul_div(rest, u128::from(set.members[*i].stake), signed_stake).unwrap_or(0);
                act.rewards[*i] = act.rewards[*i].saturating_add(part);
                paid += part;
            }
        }
        act.rewards[p] = act.rewards[p].saturating_add(total - paid);
        s.events.push(Event::BlockRewarded {
            epoch: e,
            proposer: set.members[p].validator,
            fees,
            minted,
            signers: signers.len() as u32,
        });
    } else {
        s.burn(fees);
    }
    if let Some(out) = consensus.vrf_output {
        s.put(ObjectKey::VrfOutput(env.height), Object::VrfOutput(out));
    }
    if env.staking.ends_epoch(env.height) {
        end_epoch(env, &mut s, &set, act)?;
    } else {
        s.put(ObjectKey::EpochActivity, Object::EpochActivity(act));
    }
    Ok(s.finish())
}

/// Adds `amount` of rewards to `v` (see the module docs); returns the
/// commission part.
fn credit<V: UtxoView + ?Sized>(
    s: &mut MarketState<'_, V>,
    id: ValidatorId,
    v: &mut ValidatorRecord,
    amount: u128,
) -> Result<u128, LedgerError> {
    let owner_key = DelegationId::derive(&id, &v.owner);
    let mut owner = delegation(s, &owner_key)?.unwrap_or(DelegationRecord {
        validator: id,
        delegator: v.owner,
        shares: 0,
        unbonding: vec![],
    });
    let commission = share(amount, v.commission_bps);
    let new_shares = if v.shares == 0 {
        // Nobody holds shares: everything is the owner's.
        v.tokens = v.tokens.saturating_add(amount);
        amount
    } else {
        v.tokens = v.tokens.saturating_add(amount - commission);
        let shares = if v.tokens == 0 {
            0
        } else {
            mul_div(commission, v.shares, v.tokens).unwrap_or(0)
        };
        v.tokens = v.tokens.saturating_add(commission);
        shares
    };
    v.shares = v.shares.saturating_add(new_shares);
    owner.shares = owner.shares.saturating_add(new_shares);
    put_delegation(s, owner);
    Ok(commission)
}

fn end_epoch<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    set: &EpochSet,
    act: EpochActivity,
) -> Result<(), LedgerError> {
    let p = env.staking;
    let e = act.epoch;
    let judged = act.blocks >= p.downtime_min_blocks && act.blocks > 0;
    for (i, member) in set.members.iter().enumerate() {
        let reward = act.rewards[i];
        let down = judged
            && u128::from(act.presence[i]) * 10_000
                < u128::from(p.min_presence_bps) * u128::from(act.blocks);
        if reward == 0 && !down {
            continue;
        }
        let id = member.validator;
        let mut v = validator(s, &id)?
            .ok_or_else(|| missing(format!("validator {id} of epoch {e:?} is missing")))?;
        if reward > 0 {
            let commission = credit(s, id, &mut v, reward)?;
            s.events.push(Event::RewardsCredited {
                epoch: e,
                validator: id,
                amount: reward,
                commission,
            });
        }
        if down {
            let amount = share(v.tokens, p.downtime_leak_bps);
            v.tokens -= amount;
            v.leaked = v.leaked.saturating_add(amount);
            s.burn(amount);
            s.events.push(Event::DowntimeLeak {
                epoch: e,
                validator: id,
                presence: act.presence[i],
                blocks: act.blocks,
                amount,
            });
        }
        put_validator(s, id, v);
    }

    // The next seed, from the epoch's VRF outputs in height order.
    let mut outputs: Vec<[u8; 32]> = Vec::new();
    for h in p.first_height(e.0)..=env.height {
        let key = ObjectKey::VrfOutput(h);
        if let Some(out) = read(s, key, |o| match o {
            Object::VrfOutput(out) => Some(out),
            _ => None,
        })? {
            outputs.push(out);
            s.delete(key);
        }
    }
    let seed = aether_consensus::next_epoch_seed(&set.seed, outputs.iter());

    // The next set.
    let mut candidates: Vec<(u64, ValidatorId, EpochMember)> = Vec::new();
    for id in registry(s)? {
        let Some(v) = validator(s, &id)? else {
            continue;
        };
        if v.tombstoned {
            continue;
        }
        let own = delegation(s, &DelegationId::derive(&id, &v.owner))?
            .map(|d| v.value_of(d.shares))
            .unwrap_or(0);
        if own < p.min_self_bond {
            continue;
        }
        let units = u64::try_from(v.tokens / p.stake_unit.max(1)).unwrap_or(u64::MAX);
        if units == 0 {
            continue;
        }
        candidates.push((
            units,
            id,
            EpochMember {
                validator: id,
                bls_key: v.bls_key,
                proof_of_possession: v.proof_of_possession,
                network_key: v.network_key,
                stake: units,
            },
        ));
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    candidates.truncate(p.max_validators as usize);
    candidates.sort_by_key(|c| c.1);
    let mut members: Vec<EpochMember> = candidates.into_iter().map(|c| c.2).collect();
    if members.is_empty() {
        members = set.members.clone();
    }
    let next = Epoch(e.0 + 1);
    let stake: u128 = members.iter().map(|m| u128::from(m.stake)).sum();
    let count = members.len();
    s.put(
        ObjectKey::EpochSet(next),
        Object::EpochSet(EpochSet {
            epoch: next,
            seed,
            first_height: env.height + 1,
            members,
        }),
    );
    if let Some(old) = next.0.checked_sub(p.evidence_max_age.saturating_add(1)) {
        s.delete(ObjectKey::EpochSet(Epoch(old)));
    }
    s.put(
        ObjectKey::EpochActivity,
        Object::EpochActivity(EpochActivity::new(next, count)),
    );
    s.events.push(Event::EpochChanged {
        epoch: next,
        validators: count as u32,
        stake,
        seed,
    });
    Ok(())
}
