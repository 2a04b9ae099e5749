//! Staking actions against the state (in the staking lane, in block order)
//! and the release of matured undelegations at the block boundary.
//!
//! Every action reads and writes objects through the transaction's
//! [`MarketState`] window (the one window all of a transaction's actions
//! share), so a refused action leaves nothing behind.

use super::error::StakingError;
use super::prepare::RegistrationChecks;
use crate::error::{LedgerError, ViewError};
use crate::market::apply::{
    Failure, MarketEnv, MarketState, Step, TxFacts, check_measurement, corrupt,
};
use crate::market::{MarketError, share};
use crate::state::UtxoView;
use aether_types::*;
use std::collections::BTreeSet;

/// Reads the object at `key` as the variant `pick` accepts (another
/// variant there is corrupt storage).
pub(crate) fn read<V: UtxoView + ?Sized, T>(
    s: &MarketState<'_, V>,
    key: ObjectKey,
    pick: impl FnOnce(Object) -> Option<T>,
) -> Result<Option<T>, LedgerError> {
    match s.get(&key)? {
        None => Ok(None),
        Some(object) => {
            let error = corrupt(&key, &object);
            pick(object).map(Some).ok_or(error)
        }
    }
}

/// The validator `id`.
pub(crate) fn validator<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
    id: &ValidatorId,
) -> Result<Option<ValidatorRecord>, LedgerError> {
    read(s, ObjectKey::Validator(*id), |o| match o {
        Object::Validator(v) => Some(*v),
        _ => None,
    })
}

/// The delegation `id`.
pub(crate) fn delegation<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
    id: &DelegationId,
) -> Result<Option<DelegationRecord>, LedgerError> {
    read(s, ObjectKey::Delegation(*id), |o| match o {
        Object::Delegation(d) => Some(d),
        _ => None,
    })
}

/// The set of `epoch`, if still kept.
pub(crate) fn epoch_set<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
    epoch: Epoch,
) -> Result<Option<EpochSet>, LedgerError> {
    read(s, ObjectKey::EpochSet(epoch), |o| match o {
        Object::EpochSet(set) => Some(set),
        _ => None,
    })
}

/// The registered validators.
pub(crate) fn registry<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
) -> Result<BTreeSet<ValidatorId>, LedgerError> {
    Ok(read(s, ObjectKey::ValidatorRegistry, |o| match o {
        Object::ValidatorRegistry(set) => Some(set),
        _ => None,
    })?
    .unwrap_or_default())
}

pub(crate) fn put_validator<V: UtxoView + ?Sized>(
    s: &mut MarketState<'_, V>,
    id: ValidatorId,
    v: ValidatorRecord,
) {
    s.put(ObjectKey::Validator(id), Object::Validator(Box::new(v)));
}

/// Writes a delegation, or deletes it once it holds nothing.
pub(crate) fn put_delegation<V: UtxoView + ?Sized>(
    s: &mut MarketState<'_, V>,
    d: DelegationRecord,
) {
    let key = ObjectKey::Delegation(DelegationId::derive(&d.validator, &d.delegator));
    if d.shares == 0 && d.unbonding.is_empty() {
        s.delete(key);
    } else {
        s.put(key, Object::Delegation(d));
    }
}

fn staking(e: StakingError) -> Failure {
    Failure::Market(MarketError::Staking(e))
}

fn overflow() -> Failure {
    Failure::Ledger(LedgerError::ValueOverflow)
}

/// `RegisterValidator`: checks in order: the key and its proof of
/// possession, the owner's and the network key's signatures, the
/// self-bond, the attestation (required on attested chains; when given:
/// binding, evidence, a registered validator measurement), that the key
/// is new. Then the validator holds the self-bond as the owner's shares.
pub(crate) fn register_validator<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    r: &RegisterValidator,
    checks: Option<&RegistrationChecks>,
) -> Step {
    let Some(checks) = checks else {
        return Err(Failure::Ledger(LedgerError::Storage(ViewError {
            message: "registration checks were not prepared".into(),
        })));
    };
    checks.key.clone().map_err(staking)?;
    if !tx.signed_by(&r.owner) {
        return Err(staking(StakingError::NotOwner));
    }
    if !tx.signed_by(&r.network_key.key_hash()) {
        return Err(staking(StakingError::NetworkKeyDidNotSign));
    }
    if r.self_bond < env.staking.min_self_bond {
        return Err(staking(StakingError::SelfBondTooLow {
            bond: r.self_bond,
            min: env.staking.min_self_bond,
        }));
    }
    let attested = match &checks.attestation {
        None if env.staking.require_attestation => {
            return Err(staking(StakingError::AttestationRequired));
        }
        None => None,
        Some(result) => {
            let claims = result.clone()?;
            check_measurement(s, &claims, ImageRole::Validator)?;
            Some(claims.measurement_id)
        }
    };
    let id = r.validator_id();
    if validator(s, &id)?.is_some() {
        return Err(staking(StakingError::ValidatorExists(id)));
    }
    put_validator(
        s,
        id,
        ValidatorRecord {
            owner: r.owner,
            bls_key: r.bls_key,
            proof_of_possession: r.proof_of_possession,
            network_key: r.network_key,
            commission_bps: r.commission_bps,
            tokens: r.self_bond,
            shares: r.self_bond,
            unbonding: vec![],
            tombstoned: false,
            slashed: 0,
            leaked: 0,
            attestation: attested,
            registered_at: env.height,
        },
    );
    put_delegation(
        s,
        DelegationRecord {
            validator: id,
            delegator: r.owner,
            shares: r.self_bond,
            unbonding: vec![],
        },
    );
    let mut all = registry(s)?;
    all.insert(id);
    s.put(ObjectKey::ValidatorRegistry, Object::ValidatorRegistry(all));
    s.events.push(Event::ValidatorRegistered {
        validator: id,
        self_bond: r.self_bond,
        attested,
    });
    Ok(())
}

/// Shares `amount` buys from `v` (its tokens and shares before the deposit).
fn shares_for(id: ValidatorId, v: &ValidatorRecord, amount: u128) -> Result<u128, Failure> {
    if v.shares == 0 {
        return Ok(amount);
    }
    if v.tokens == 0 {
        return Err(staking(StakingError::NoStakeLeft(id)));
    }
    let shares = mul_div(amount, v.shares, v.tokens).ok_or_else(overflow)?;
    if shares == 0 {
        return Err(staking(StakingError::AmountTooSmall(amount)));
    }
    Ok(shares)
}

/// `Delegate`: the delegator signs, the amount is at least the minimum,
/// the validator exists and is not tombstoned; the deposit buys shares at
/// the current price.
pub(crate) fn delegate<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    d: &Delegate,
) -> Step {
    if !tx.signed_by(&d.delegator) {
        return Err(staking(StakingError::NotDelegator));
    }
    if d.amount < env.staking.min_delegation {
        return Err(staking(StakingError::DelegationTooSmall {
            amount: d.amount,
            min: env.staking.min_delegation,
        }));
    }
    let mut v =
        validator(s, &d.validator)?.ok_or(staking(StakingError::UnknownValidator(d.validator)))?;
    if v.tombstoned {
        return Err(staking(StakingError::Tombstoned(d.validator)));
    }
    let shares = shares_for(d.validator, &v, d.amount)?;
    v.tokens = v.tokens.checked_add(d.amount).ok_or_else(overflow)?;
    v.shares = v.shares.checked_add(shares).ok_or_else(overflow)?;
    let key = DelegationId::derive(&d.validator, &d.delegator);
    let mut record = delegation(s, &key)?.unwrap_or(DelegationRecord {
        validator: d.validator,
        delegator: d.delegator,
        shares: 0,
        unbonding: vec![],
    });
    record.shares = record.shares.checked_add(shares).ok_or_else(overflow)?;
    put_validator(s, d.validator, v);
    put_delegation(s, record);
    s.events.push(Event::Delegated {
        validator: d.validator,
        delegator: d.delegator,
        amount: d.amount,
        shares,
    });
    Ok(())
}

/// `Undelegate`: the delegator signs, the delegation exists, fewer than
/// [`MAX_STAKE_UNBONDING`] undelegations are pending. The amount (all of
/// the delegation's value if it asks for at least that) leaves the stake
/// now, burning `ceil(amount × shares / tokens)` shares (rounding favours
/// those who stay), and joins the unbonding pool of the current epoch,
/// paid out at `height + unbonding_delay`.
pub(crate) fn undelegate<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    u: &Undelegate,
) -> Step {
    if !tx.signed_by(&u.delegator) {
        return Err(staking(StakingError::NotDelegator));
    }
    let mut v =
        validator(s, &u.validator)?.ok_or(staking(StakingError::UnknownValidator(u.validator)))?;
    let key = DelegationId::derive(&u.validator, &u.delegator);
    let mut d = delegation(s, &key)?
        .filter(|d| d.shares > 0)
        .ok_or(staking(StakingError::UnknownDelegation))?;
    if d.unbonding.len() >= MAX_STAKE_UNBONDING {
        return Err(staking(StakingError::TooManyUnbonding));
    }
    let value = v.value_of(d.shares);
    let (burn, amount) = if u.amount >= value {
        (d.shares, value)
    } else {
        // ceil(amount × shares / tokens); tokens > amount here.
        let floor = mul_div(u.amount, v.shares, v.tokens).ok_or_else(overflow)?;
        let exact = mul_div(floor, v.tokens, v.shares) == Some(u.amount);
        (
            if exact { floor } else { floor + 1 }.min(d.shares),
            u.amount,
        )
    };
    if amount == 0 || burn == 0 {
        return Err(staking(StakingError::AmountTooSmall(u.amount)));
    }
    v.tokens -= amount;
    v.shares -= burn;
    d.shares -= burn;
    let epoch = Epoch(env.staking.epoch_of(env.height));
    let pool = match v.unbonding.iter().position(|p| p.epoch == epoch) {
        Some(i) => &mut v.unbonding[i],
        None => {
            v.unbonding.push(UnbondingPool {
                epoch,
                tokens: 0,
                shares: 0,
            });
            v.unbonding.last_mut().expect("just pushed")
        }
    };
    let pool_shares = if pool.shares == 0 {
        amount
    } else if pool.tokens == 0 {
        return Err(staking(StakingError::NoStakeLeft(u.validator)));
    } else {
        mul_div(amount, pool.shares, pool.tokens).ok_or_else(overflow)?
    };
    if pool_shares == 0 {
        return Err(staking(StakingError::AmountTooSmall(u.amount)));
    }
    pool.tokens = pool.tokens.checked_add(amount).ok_or_else(overflow)?;
    pool.shares = pool.shares.checked_add(pool_shares).ok_or_else(overflow)?;
    let release_height = env
        .height
        .saturating_add(env.staking.unbonding_delay.max(1));
    d.unbonding.push(StakeUnbonding {
        epoch,
        shares: pool_shares,
        release_height,
    });
    put_validator(s, u.validator, v);
    put_delegation(s, d);
    s.events.push(Event::UndelegationStarted {
        validator: u.validator,
        delegator: u.delegator,
        amount,
        release_height,
    });
    Ok(())
}

/// At the start of block `env.height`: pays out every undelegation of `d`
/// that has matured, from its validator's unbonding pool (the last shares
/// of a pool take what is left of it, so no dust stays behind).
pub(crate) fn release<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    mut d: DelegationRecord,
) -> Result<(), LedgerError> {
    let mut v = validator(s, &d.validator)?.ok_or_else(|| {
        LedgerError::Storage(ViewError {
            message: format!("validator {} of a delegation is missing", d.validator),
        })
    })?;
    let (due, later): (Vec<StakeUnbonding>, Vec<StakeUnbonding>) = d
        .unbonding
        .iter()
        .partition(|u| u.release_height <= env.height);
    d.unbonding = later;
    for entry in due {
        let Some(i) = v.unbonding.iter().position(|p| p.epoch == entry.epoch) else {
            return Err(LedgerError::Storage(ViewError {
                message: format!(
                    "unbonding pool {:?} of {} is missing",
                    entry.epoch, d.validator
                ),
            }));
        };
        let pool = &mut v.unbonding[i];
        let amount = if entry.shares >= pool.shares {
            pool.tokens
        } else {
            mul_div(entry.shares, pool.tokens, pool.shares).unwrap_or(0)
        };
        pool.tokens -= amount;
        pool.shares = pool.shares.saturating_sub(entry.shares);
        if pool.shares == 0 {
            v.unbonding.remove(i);
        }
        let output = s.pay(env, Address::Key(d.delegator), amount);
        s.events.push(Event::UndelegationReleased {
            validator: d.validator,
            delegator: d.delegator,
            amount,
            output,
        });
    }
    put_validator(s, d.validator, v);
    put_delegation(s, d);
    Ok(())
}

/// `ReportEquivocation`: checks in order: the evidence's epoch is neither
/// in the future nor older than `evidence_max_age` epochs (its set is
/// kept), the offender is in that set, both signatures verify
/// (`aether_consensus::verify_evidence` over the chain's genesis), the
/// equivocation was not slashed before. Then `slash_bps` of the offender's
/// stake and of its unbonding pools of that epoch or later are slashed:
/// `reporter_reward_bps` of it is paid to the reporter, the rest burned;
/// the offender is tombstoned (never again in a set).
pub(crate) fn report_equivocation<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    r: &ReportEquivocation,
) -> Step {
    let e = &r.evidence;
    let epoch = e.first.epoch;
    let current = Epoch(env.staking.epoch_of(env.height));
    if epoch > current {
        return Err(staking(StakingError::EvidenceFromFuture { epoch, current }));
    }
    let too_old = StakingError::EvidenceTooOld { epoch, current };
    if current.0 - epoch.0 > env.staking.evidence_max_age {
        return Err(staking(too_old));
    }
    let set = epoch_set(s, epoch)?.ok_or(staking(too_old))?;
    let member = *set
        .members
        .get(usize::from(e.offender.0))
        .ok_or(staking(StakingError::OffenderNotInSet(e.offender)))?;
    let verdict = env
        .validator_sets
        .verify(&set, &env.staking.genesis_hash, e)
        .map_err(|err| {
            LedgerError::Storage(ViewError {
                message: format!("the stored set of epoch {epoch:?} is invalid: {err}"),
            })
        })?;
    verdict.map_err(|err| {
        staking(match err {
            aether_consensus::EvidenceError::UnknownValidator(i) => {
                StakingError::OffenderNotInSet(i)
            }
            _ => StakingError::BadEvidenceSignature,
        })
    })?;
    let id = SlashId::derive(&member.validator, epoch, e.first.round, e.kind);
    if s.get(&ObjectKey::Slash(id))?.is_some() {
        return Err(staking(StakingError::AlreadySlashed(id)));
    }
    let mut v = validator(s, &member.validator)?.ok_or_else(|| {
        LedgerError::Storage(ViewError {
            message: format!(
                "validator {} of epoch {epoch:?} is missing",
                member.validator
            ),
        })
    })?;
    let bps = env.staking.slash_bps;
    let mut amount = share(v.tokens, bps);
    v.tokens -= amount;
    for pool in v.unbonding.iter_mut().filter(|p| p.epoch >= epoch) {
        let cut = share(pool.tokens, bps);
        pool.tokens -= cut;
        amount += cut;
    }
    v.tombstoned = true;
    v.slashed = v.slashed.saturating_add(amount);
    put_validator(s, member.validator, v);
    let reward = share(amount, env.staking.reporter_reward_bps);
    s.burn(amount - reward);
    let reporter_output = s.pay(env, r.reporter, reward);
    s.put(
        ObjectKey::Slash(id),
        Object::Slash(SlashRecord {
            validator: member.validator,
            epoch,
            round: e.first.round,
            kind: e.kind,
            height: env.height,
            amount,
        }),
    );
    s.events.push(Event::ValidatorSlashed {
        validator: member.validator,
        epoch,
        round: e.first.round,
        kind: e.kind,
        amount,
        reporter_reward: reward,
        reporter_output,
    });
    Ok(())
}
