//! The job router: which provider takes a job, decided in the block that
//! posts it, deterministically from the chain state.
//!
//! # Rule
//! 1. **Eligible** providers: serve the job (its model, or WASM jobs), run
//!    at least one TEE kind the client accepts, have a free slot
//!    (`active_jobs < capacity`), hold at least the minimum provider bond,
//!    ask at most the job's max fee, and have enough free bond to lock the
//!    job's bond share (`max(min_job_bond, price × job_bond_multiple)`).
//! 2. **Score** = `reputation × 10^18 / (price + 1)`: reputation up, price
//!    down.
//! 3. **Band**: the eligible providers whose score is within
//!    `router_band_bps` of the best score (`score × 10^4 ≥ best × (10^4 −
//!    band)`).
//! 4. **Draw** among the band, weighted by free bond: `r = u128(first 16
//!    bytes of H("aether/router-draw/v1", parent block hash ‖ job id), LE)
//!    mod Σ free bond`; walk the band in ascending provider id, subtracting
//!    each free bond, and take the provider where `r` falls.
//!
//! The parent block hash is used (the block's own hash depends on the state
//! root the assignment produces). No eligible provider: the job is
//! refunded at once.

use super::apply::{MarketEnv, MarketState};
use crate::error::LedgerError;
use crate::state::UtxoView;
use aether_types::{JobId, JobKind, PostJob, ProviderId, ProviderRecord, tagged_hash};

const SCORE_SCALE: u128 = 1_000_000_000_000_000_000;
const BAND_SCALE: u128 = 10_000;
/// Domain tag of the router's draw.
pub const ROUTER_DRAW_TAG: &str = "aether/router-draw/v1";

fn eligible(env: &MarketEnv<'_>, p: &ProviderRecord, job: &PostJob) -> bool {
    let serves = match &job.kind {
        JobKind::Model { model, .. } => p.offer.models.contains(model),
        JobKind::Wasm { .. } => p.offer.wasm,
    };
    serves
        && p.offer.tees.iter().any(|t| job.tees.contains(t))
        && p.active_jobs < p.offer.capacity
        && p.bond >= env.params.min_provider_bond
        && p.offer.price <= job.max_fee
        && p.free_bond() >= env.params.job_bond(p.offer.price)
}

fn score(p: &ProviderRecord) -> u128 {
    u128::from(p.reputation).saturating_mul(SCORE_SCALE) / p.offer.price.saturating_add(1)
}

/// The provider that takes `job` (see the module docs), with its record.
pub(crate) fn route<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &MarketState<'_, V>,
    job_id: &JobId,
    job: &PostJob,
) -> Result<Option<(ProviderId, ProviderRecord)>, LedgerError> {
    let mut candidates: Vec<(ProviderId, ProviderRecord, u128)> = Vec::new();
    for id in s.provider_index()? {
        if let Some(p) = s.provider_record(&id)?
            && eligible(env, &p, job)
        {
            let sc = score(&p);
            candidates.push((id, p, sc));
        }
    }
    let Some(best) = candidates.iter().map(|c| c.2).max() else {
        return Ok(None);
    };
    let floor =
        best.saturating_mul(BAND_SCALE - u128::from(env.params.router_band_bps.min(10_000)));
    candidates.retain(|c| c.2.saturating_mul(BAND_SCALE) >= floor);
    let total: u128 = candidates
        .iter()
        .fold(0u128, |acc, c| acc.saturating_add(c.1.free_bond()));
    let seed = tagged_hash(ROUTER_DRAW_TAG, &[&env.parent_hash.0, &job_id.0]);
    let mut r = u128::from_le_bytes(seed.0[..16].try_into().expect("16 bytes"));
    if total > 0 {
        r %= total;
    }
    for (id, p, _) in &candidates {
        let w = p.free_bond();
        if r < w || total == 0 {
            return Ok(Some((*id, p.clone())));
        }
        r -= w;
    }
    // Unreachable when the weights add up; take the last to stay total.
    Ok(candidates.pop().map(|(id, p, _)| (id, p)))
}
