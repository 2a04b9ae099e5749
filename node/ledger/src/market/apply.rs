//! Applying market actions and the block boundary's work to the state.
//!
//! [`MarketState`] is one transaction's (or one boundary's) window on the
//! objects: reads go to its own pending writes first, then to the view;
//! writes stay pending until the caller takes them ([`MarketState::finish`]).
//! Payouts become outputs of the transaction at indices after its outputs
//! and its collateral return (`outputs.len() + 1 + k`), or of the
//! boundary's pseudo-transaction ([`aether_types::boundary_tx_id`]).

use super::error::MarketError;
use super::params::{MarketParams, share};
use super::prepare::PreparedAction;
use super::reexec::{ReexecError, SegmentExecutor};
use super::router;
use crate::error::{LedgerError, ViewError};
use crate::state::UtxoView;
use aether_types::*;
use std::collections::BTreeMap;

/// Where and when actions run.
#[derive(Clone, Copy, Debug)]
pub struct MarketEnv<'a> {
    /// Market parameters.
    pub params: &'a MarketParams,
    /// Smallest output (smaller payouts are burned).
    pub min_output_coin: u128,
    /// The re-execution runtime.
    pub executor: &'a dyn SegmentExecutor,
    /// Height of the block.
    pub height: u64,
    /// Hash of the block's parent (the router's tie-break seed).
    pub parent_hash: BlockHash,
    /// Staking parameters (staking actions share this window and lane
    /// machinery).
    pub staking: &'a crate::staking::StakingParams,
    /// Built validator sets and evidence verdicts (a cache).
    pub validator_sets: &'a crate::staking::ValidatorSets,
}

/// Pending object writes, payouts and events of one transaction or
/// boundary (see the module docs).
pub struct MarketState<'v, V: ?Sized> {
    view: &'v V,
    writes: BTreeMap<ObjectKey, Option<Object>>,
    payout_tx: TxId,
    next_index: u32,
    /// Outputs created by payouts.
    pub created: Vec<(OutPoint, TxOutput)>,
    /// What happened.
    pub events: Vec<Event>,
}

/// What a transaction's actions (or a boundary) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarketEffect {
    /// Objects written (`None`: deleted), in key order.
    pub objects: Vec<(ObjectKey, Option<Object>)>,
    /// Outputs created.
    pub created: Vec<(OutPoint, TxOutput)>,
    /// Events.
    pub events: Vec<Event>,
}

/// The error for an object of the wrong kind at `key` (corrupt storage).
pub(crate) fn corrupt(key: &ObjectKey, found: &Object) -> LedgerError {
    LedgerError::Storage(ViewError {
        message: format!(
            "object at {key:?} is a {}, expected a {}",
            found.key_kind(),
            key.kind()
        ),
    })
}

macro_rules! typed_get {
    ($name:ident, $variant:ident, $key:ident, $id:ty, $ty:ty) => {
        typed_get!($name, $variant, $key, $id, $ty, |v| v);
    };
    ($name:ident, $variant:ident, $key:ident, $id:ty, $ty:ty, |$v:ident| $conv:expr) => {
        fn $name(&self, id: &$id) -> Result<Option<$ty>, LedgerError> {
            let key = ObjectKey::$key(*id);
            match self.get(&key)? {
                None => Ok(None),
                Some(Object::$variant($v)) => Ok(Some($conv)),
                Some(other) => Err(corrupt(&key, &other)),
            }
        }
    };
}

impl<'v, V: UtxoView + ?Sized> MarketState<'v, V> {
    /// A window on `view` whose payouts are outputs `(payout_tx, first_index..)`.
    pub fn new(view: &'v V, payout_tx: TxId, first_index: u32) -> Self {
        MarketState {
            view,
            writes: BTreeMap::new(),
            payout_tx,
            next_index: first_index,
            created: Vec::new(),
            events: Vec::new(),
        }
    }

    /// The object at `key`, pending writes first.
    pub fn get(&self, key: &ObjectKey) -> Result<Option<Object>, LedgerError> {
        if let Some(pending) = self.writes.get(key) {
            return Ok(pending.clone());
        }
        Ok(self.view.object(key)?)
    }

    /// Writes `object` at `key` (pending).
    pub(crate) fn put(&mut self, key: ObjectKey, object: Object) {
        debug_assert_eq!(key.kind(), object.key_kind());
        self.writes.insert(key, Some(object));
    }

    /// Deletes the object at `key` (pending).
    pub(crate) fn delete(&mut self, key: ObjectKey) {
        self.writes.insert(key, None);
    }

    typed_get!(image, Image, Image, ImageId, ImageRecord);
    typed_get!(
        measurement,
        Measurement,
        Measurement,
        MeasurementId,
        MeasurementRecord
    );
    typed_get!(model, Model, Model, ModelId, ModelRecord);
    typed_get!(provider, Provider, Provider, ProviderId, ProviderRecord);
    typed_get!(job, Job, Job, JobId, JobRecord, |v| *v);
    typed_get!(
        receipt,
        ComputeReceipt,
        ComputeReceipt,
        JobId,
        ComputeReceiptRecord,
        |v| *v
    );
    typed_get!(evidence, Evidence, Evidence, EvidenceId, EvidenceRecord);

    /// The router's directory of providers.
    pub(crate) fn provider_index(
        &self,
    ) -> Result<std::collections::BTreeSet<ProviderId>, LedgerError> {
        match self.get(&ObjectKey::ProviderIndex)? {
            None => Ok(Default::default()),
            Some(Object::ProviderIndex(set)) => Ok(set),
            Some(other) => Err(corrupt(&ObjectKey::ProviderIndex, &other)),
        }
    }

    /// A provider, for the router.
    pub(crate) fn provider_record(
        &self,
        id: &ProviderId,
    ) -> Result<Option<ProviderRecord>, LedgerError> {
        self.provider(id)
    }

    fn put_job(&mut self, id: JobId, job: JobRecord) {
        self.put(ObjectKey::Job(id), Object::Job(Box::new(job)));
    }

    fn put_provider(&mut self, id: ProviderId, p: ProviderRecord) {
        self.put(ObjectKey::Provider(id), Object::Provider(p));
    }

    /// Records `amount` as burned (no event for zero).
    pub(crate) fn burn(&mut self, amount: u128) {
        if amount > 0 {
            self.events.push(Event::Burned { amount });
        }
    }

    /// Pays `amount` to `address` as a new output; an amount below the
    /// minimum output is burned instead (it could not be an output).
    pub(crate) fn pay(
        &mut self,
        env: &MarketEnv<'_>,
        address: Address,
        amount: u128,
    ) -> Option<OutPoint> {
        if amount == 0 {
            return None;
        }
        if amount < env.min_output_coin {
            self.burn(amount);
            return None;
        }
        let out_point = OutPoint::new(self.payout_tx, self.next_index);
        self.next_index = self.next_index.saturating_add(1);
        self.created
            .push((out_point, TxOutput::coin(address, amount)));
        Some(out_point)
    }

    /// The pending writes, payouts and events.
    pub fn finish(self) -> MarketEffect {
        MarketEffect {
            objects: self.writes.into_iter().collect(),
            created: self.created,
            events: self.events,
        }
    }
}

/// The transaction-level facts actions need.
#[derive(Clone, Copy, Debug)]
pub struct TxFacts<'a> {
    /// The transaction id.
    pub id: TxId,
    /// Key hashes of the keys whose signatures verified.
    pub signers: &'a [KeyHash],
}

impl TxFacts<'_> {
    /// Whether `key`'s signature is among the transaction's verified ones.
    pub(crate) fn signed_by(&self, key: &KeyHash) -> bool {
        self.signers.contains(key)
    }
}

/// Applies `actions` of one transaction in order. Any failure refuses the
/// whole transaction (`Err` with the action's index).
pub fn apply_actions<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    view: &V,
    tx: TxFacts<'_>,
    first_payout_index: u32,
    actions: &[Action],
    prepared: &[PreparedAction],
) -> Result<MarketEffect, LedgerError> {
    if actions.iter().any(Action::is_governance) && !env.params.governance.approves(tx.signers) {
        let index = actions.iter().position(Action::is_governance).unwrap_or(0);
        return Err(LedgerError::Action {
            index,
            error: MarketError::NotGovernance {
                threshold: env.params.governance.threshold,
            },
        });
    }
    let mut state = MarketState::new(view, tx.id, first_payout_index);
    for (index, action) in actions.iter().enumerate() {
        let prepared = prepared.get(index).unwrap_or(&PreparedAction::Nothing);
        let index32 = u32::try_from(index).unwrap_or(u32::MAX);
        apply_one(env, &mut state, tx, index32, action, prepared).map_err(|e| match e {
            Failure::Market(error) => LedgerError::Action { index, error },
            Failure::Ledger(e) => e,
        })?;
    }
    Ok(state.finish())
}

/// Why one action failed: a refusal (the transaction is invalid) or a
/// storage failure.
pub(crate) enum Failure {
    /// The action is refused.
    Market(MarketError),
    /// The state could not be read (or is corrupt).
    Ledger(LedgerError),
}

impl From<MarketError> for Failure {
    fn from(e: MarketError) -> Self {
        Failure::Market(e)
    }
}

impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        Failure::Ledger(e)
    }
}

/// The result of one action.
pub(crate) type Step = Result<(), Failure>;

fn apply_one<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    index: u32,
    action: &Action,
    prepared: &PreparedAction,
) -> Step {
    match action {
        Action::RegisterMeasurement(r) => register_measurement(env, s, r),
        Action::RevokeMeasurement(r) => revoke_measurement(env, s, r),
        Action::RegisterModel(m) => register_model(env, s, m),
        Action::RegisterProvider(r) => register_provider(env, s, tx, index, r),
        Action::UpdateProvider(u) => update_provider(env, s, tx, u),
        Action::UnbondProvider(u) => unbond_provider(env, s, tx, u),
        Action::PostJob(p) => post_job(env, s, tx, index, p),
        Action::SubmitReceipt(vcr) => submit_receipt(env, s, tx, vcr, prepared),
        Action::Challenge(c) => challenge(env, s, tx, c),
        Action::RegisterValidator(r) => {
            let checks = match prepared {
                PreparedAction::Registration(checks) => Some(checks),
                _ => None,
            };
            crate::staking::apply::register_validator(env, s, tx, r, checks)
        }
        Action::Delegate(d) => crate::staking::apply::delegate(env, s, tx, d),
        Action::Undelegate(u) => crate::staking::apply::undelegate(env, s, tx, u),
        Action::ReportEquivocation(r) => crate::staking::apply::report_equivocation(env, s, r),
    }
}

/// Step 3 of a receipt's checks, shared with attested validator
/// registrations: the evidence's launch measurement is registered, for an
/// image of `role`, not revoked, and carries the entry's RTMR0 when the
/// entry names one.
pub(crate) fn check_measurement<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
    claims: &VerifiedClaims,
    role: ImageRole,
) -> Step {
    let record = s
        .measurement(&claims.measurement_id)?
        .ok_or(MarketError::UnregisteredMeasurement(claims.measurement_id))?;
    if record.role != role {
        return Err(MarketError::MeasurementRole {
            id: claims.measurement_id,
            role: record.role,
        }
        .into());
    }
    if record.revoked {
        return Err(MarketError::RevokedMeasurement(claims.measurement_id).into());
    }
    if let Some(rtmr0) = record.entry.rtmr0
        && rtmr0 != claims.rtmr0
    {
        return Err(MarketError::Rtmr0Mismatch.into());
    }
    Ok(())
}

fn register_measurement<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    r: &RegisterMeasurement,
) -> Step {
    if s.image(&r.image)?.is_some() {
        return Err(MarketError::ImageExists(r.image).into());
    }
    let mut ids = Vec::with_capacity(r.entries.len());
    for entry in &r.entries {
        let id = entry.measurement.id();
        if s.measurement(&id)?.is_some() {
            return Err(MarketError::MeasurementExists(id).into());
        }
        s.put(
            ObjectKey::Measurement(id),
            Object::Measurement(MeasurementRecord {
                image: r.image,
                role: r.role,
                entry: entry.clone(),
                revoked: false,
            }),
        );
        ids.push(id);
    }
    s.put(
        ObjectKey::Image(r.image),
        Object::Image(ImageRecord {
            name: r.name.clone(),
            role: r.role,
            tee: r.tee,
            measurements: ids,
            source_commit: r.source_commit.clone(),
            registered_at: env.height,
            revoked_at: None,
        }),
    );
    s.events.push(Event::MeasurementRegistered {
        image: r.image,
        measurements: r.entries.len() as u32,
    });
    Ok(())
}

fn revoke_measurement<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    r: &RevokeMeasurement,
) -> Step {
    let mut image = s
        .image(&r.image)?
        .ok_or(MarketError::UnknownImage(r.image))?;
    if image.revoked_at.is_some() {
        return Err(MarketError::ImageRevoked(r.image).into());
    }
    image.revoked_at = Some(env.height);
    for id in &image.measurements {
        if let Some(mut m) = s.measurement(id)? {
            m.revoked = true;
            s.put(ObjectKey::Measurement(*id), Object::Measurement(m));
        }
    }
    s.events.push(Event::MeasurementRevoked {
        image: r.image,
        measurements: image.measurements.len() as u32,
    });
    s.put(ObjectKey::Image(r.image), Object::Image(image));
    Ok(())
}

fn register_model<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    m: &RegisterModel,
) -> Step {
    // The id is the content hash of the listed files (the runtime's
    // definition), so a registration cannot name files it is not.
    let files: Vec<(&str, [u8; 32])> = m
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.sha256))
        .collect();
    let computed = ModelId(aether_infer::model_id_from_hashes(&files));
    if computed != m.model {
        return Err(MarketError::ModelIdMismatch {
            declared: m.model,
            computed,
        }
        .into());
    }
    if s.model(&m.model)?.is_some() {
        return Err(MarketError::ModelExists(m.model).into());
    }
    s.put(
        ObjectKey::Model(m.model),
        Object::Model(ModelRecord {
            name: m.name.clone(),
            runtime: m.runtime,
            size: m.size,
            segments: m.segments,
            files: m.files.clone(),
            registered_at: env.height,
        }),
    );
    s.events.push(Event::ModelRegistered { model: m.model });
    Ok(())
}

fn check_models<V: UtxoView + ?Sized>(s: &MarketState<'_, V>, offer: &ProviderOffer) -> Step {
    for model in &offer.models {
        if s.model(model)?.is_none() {
            return Err(MarketError::UnknownModel(*model).into());
        }
    }
    Ok(())
}

fn register_provider<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    index: u32,
    r: &RegisterProvider,
) -> Step {
    if !tx.signed_by(&r.owner) {
        return Err(MarketError::NotOwner.into());
    }
    if r.bond < env.params.min_provider_bond {
        return Err(MarketError::BondTooLow {
            bond: r.bond,
            min: env.params.min_provider_bond,
        }
        .into());
    }
    check_models(s, &r.offer)?;
    let id = ProviderId::derive(&tx.id, index);
    s.put_provider(
        id,
        ProviderRecord {
            owner: r.owner,
            offer: r.offer.clone(),
            bond: r.bond,
            locked: 0,
            active_jobs: 0,
            unbonding: vec![],
            reputation: INITIAL_REPUTATION,
            jobs_settled: 0,
            jobs_failed: 0,
            slashed: 0,
            registered_at: env.height,
        },
    );
    let mut index_set = s.provider_index()?;
    index_set.insert(id);
    s.put(ObjectKey::ProviderIndex, Object::ProviderIndex(index_set));
    s.events.push(Event::ProviderRegistered {
        provider: id,
        bond: r.bond,
    });
    Ok(())
}

fn owned_provider<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
    tx: TxFacts<'_>,
    id: &ProviderId,
) -> Result<ProviderRecord, Failure> {
    let p = s.provider(id)?.ok_or(MarketError::UnknownProvider(*id))?;
    if !tx.signed_by(&p.owner) {
        return Err(MarketError::NotOwner.into());
    }
    Ok(p)
}

fn update_provider<V: UtxoView + ?Sized>(
    _env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    u: &UpdateProvider,
) -> Step {
    let mut p = owned_provider(s, tx, &u.provider)?;
    if let Some(offer) = &u.offer {
        check_models(s, offer)?;
        p.offer = offer.clone();
    }
    p.bond = p
        .bond
        .checked_add(u.add_bond)
        .ok_or(LedgerError::ValueOverflow)?;
    s.put_provider(u.provider, p);
    s.events.push(Event::ProviderUpdated {
        provider: u.provider,
        bond_added: u.add_bond,
    });
    Ok(())
}

fn unbond_provider<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    u: &UnbondProvider,
) -> Step {
    let mut p = owned_provider(s, tx, &u.provider)?;
    let free = p.free_bond();
    if u.amount > free {
        return Err(MarketError::InsufficientFreeBond {
            amount: u.amount,
            free,
        }
        .into());
    }
    if p.unbonding.len() >= MAX_UNBONDING {
        return Err(MarketError::TooManyUnbonding.into());
    }
    let release_height = env.height.saturating_add(env.params.unbonding_delay.max(1));
    p.bond -= u.amount;
    p.unbonding.push(Unbonding {
        amount: u.amount,
        release_height,
    });
    s.put_provider(u.provider, p);
    s.events.push(Event::UnbondingStarted {
        provider: u.provider,
        amount: u.amount,
        release_height,
    });
    Ok(())
}

fn post_job<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    index: u32,
    p: &PostJob,
) -> Step {
    let height = env.height;
    if p.deadline <= height {
        return Err(MarketError::DeadlineInPast {
            deadline: p.deadline,
            height,
        }
        .into());
    }
    if p.deadline - height > env.params.max_deadline {
        return Err(MarketError::DeadlineTooFar {
            deadline: p.deadline,
            height,
            max: env.params.max_deadline,
        }
        .into());
    }
    if p.max_fee < env.min_output_coin {
        return Err(MarketError::FeeBelowMinOutput {
            fee: p.max_fee,
            min: env.min_output_coin,
        }
        .into());
    }
    if let JobKind::Model { model, input } = &p.kind {
        if s.model(model)?.is_none() {
            return Err(MarketError::UnknownModel(*model).into());
        }
        if let Some(bytes) = input.inline_bytes()
            && bytes.len() % 4 != 0
        {
            return Err(MarketError::MalformedTokens { len: bytes.len() }.into());
        }
    }
    let id = JobId::derive(&tx.id, index);
    let mut job = JobRecord {
        client: p.client,
        input_hash: p.kind.input_hash(),
        kind: p.kind.clone(),
        tees: p.tees.clone(),
        max_fee: p.max_fee,
        escrow: p.max_fee,
        deadline: p.deadline,
        posted_at: height,
        provider: None,
        price: 0,
        bond_locked: 0,
        status: JobStatus::Assigned,
    };
    match router::route(env, s, &id, p)? {
        Some((provider_id, mut provider)) => {
            let bond = env.params.job_bond(provider.offer.price);
            provider.locked = provider.locked.saturating_add(bond);
            provider.active_jobs = provider.active_jobs.saturating_add(1);
            job.provider = Some(provider_id);
            job.price = provider.offer.price;
            job.bond_locked = bond;
            s.events.push(Event::JobAssigned {
                job: id,
                provider: provider_id,
                price: job.price,
                bond_locked: bond,
            });
            s.put_provider(provider_id, provider);
        }
        None => {
            let output = s.pay(env, p.client, p.max_fee);
            job.escrow = 0;
            job.status = JobStatus::Refunded {
                at: height,
                reason: RefundReason::NoProvider,
            };
            s.events.push(Event::JobRefunded {
                job: id,
                reason: RefundReason::NoProvider,
                amount: p.max_fee,
                output,
            });
        }
    }
    s.put_job(id, job);
    Ok(())
}

fn submit_receipt<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    vcr: &Vcr,
    prepared: &PreparedAction,
) -> Step {
    let PreparedAction::Receipt(checks) = prepared else {
        return Err(LedgerError::Storage(ViewError {
            message: "receipt checks were not prepared".into(),
        })
        .into());
    };
    let body = &vcr.body;
    // 1. binding, 2. evidence (both computed before scheduling).
    checks.binding.clone()?;
    let claims = match &checks.evidence {
        Some(result) => result.clone()?,
        None => return Err(MarketError::WrongBinding.into()),
    };
    // 3. registered measurement of a worker image.
    check_measurement(s, &claims, ImageRole::Worker)?;
    // 4. replay.
    let evidence_id = vcr.evidence.id();
    if let Some(seen) = s.evidence(&evidence_id)? {
        return Err(MarketError::EvidenceReplayed(seen.job).into());
    }
    // 5. the job: assigned to this provider, whose worker key signed, in time.
    let mut job = s.job(&body.job)?.ok_or(MarketError::UnknownJob(body.job))?;
    match job.status {
        JobStatus::Assigned => {}
        JobStatus::Refunded {
            reason: RefundReason::Expired,
            ..
        } => {
            return Err(MarketError::JobExpired {
                job: body.job,
                deadline: job.deadline,
                height: env.height,
            }
            .into());
        }
        ref other => {
            return Err(MarketError::JobNotAssigned {
                job: body.job,
                status: other.as_str(),
            }
            .into());
        }
    }
    if job.provider != Some(body.provider) {
        return Err(MarketError::WrongProvider { job: body.job }.into());
    }
    let provider = s
        .provider(&body.provider)?
        .ok_or(MarketError::UnknownProvider(body.provider))?;
    if provider.offer.worker_key != body.worker_key || !tx.signed_by(&body.worker_key.key_hash()) {
        return Err(MarketError::WrongWorkerKey.into());
    }
    if env.height > job.deadline {
        return Err(MarketError::JobExpired {
            job: body.job,
            deadline: job.deadline,
            height: env.height,
        }
        .into());
    }
    if !job.tees.contains(&claims.tee) {
        return Err(MarketError::TeeNotAccepted(claims.tee).into());
    }
    if body.input_hash != job.input_hash {
        return Err(MarketError::InputMismatch.into());
    }
    if let Some(model) = job.kind.model() {
        let segments = s
            .model(&model)?
            .ok_or(MarketError::UnknownModel(model))?
            .segments;
        if body.segments != segments {
            return Err(MarketError::SegmentsMismatch {
                expected: segments,
                got: body.segments,
            }
            .into());
        }
    }
    // 6. KZG.
    match &checks.kzg {
        Some(result) => result.clone()?,
        None => return Err(MarketError::BadKzgProof("not checked".into()).into()),
    }

    let window_end = env.height.saturating_add(env.params.challenge_window);
    job.status = JobStatus::Receipted {
        at: env.height,
        window_end,
    };
    s.put_job(body.job, job);
    s.put(
        ObjectKey::Evidence(evidence_id),
        Object::Evidence(EvidenceRecord {
            job: body.job,
            at: env.height,
        }),
    );
    s.put(
        ObjectKey::ComputeReceipt(body.job),
        Object::ComputeReceipt(Box::new(ComputeReceiptRecord {
            vcr: vcr.clone(),
            claims,
            tx: tx.id,
            at: env.height,
            challenges: vec![],
        })),
    );
    s.events.push(Event::ReceiptAccepted {
        job: body.job,
        provider: body.provider,
        window_end,
    });
    Ok(())
}

/// The hash of checkpoint data, as the runtime defines it.
fn checkpoint_hash(data: &[u8]) -> Digest {
    Digest(aether_infer::checkpoint_hash(data))
}

fn verify_leaf(root: &Digest, index: u32, hash: &Digest, leaves: u32, proof: &[Digest]) -> Step {
    let proof = aether_infer::TraceProof {
        leaf_count: leaves,
        path: proof.iter().map(|d| d.0).collect(),
    };
    if aether_infer::verify_trace_proof(&root.0, index as usize, &hash.0, &proof) {
        Ok(())
    } else {
        Err(MarketError::BadCheckpointProof { index }.into())
    }
}

fn module_bytes(kind: &JobKind) -> Option<&[u8]> {
    match kind {
        JobKind::Wasm { module, .. } => module.inline_bytes(),
        JobKind::Model { .. } => None,
    }
}

/// Whether the provider's trace is proven wrong by `claim` (see
/// [`ChallengeClaim`]); the segment it concerns.
fn decide<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    job: &JobRecord,
    receipt: &ComputeReceiptRecord,
    claim: &ChallengeClaim,
    _s: &MarketState<'_, V>,
) -> Result<(bool, u32), Failure> {
    let body = &receipt.vcr.body;
    let root = &body.trace_root;
    let segments = body.segments;
    let leaves = segments.saturating_add(1);
    let rerun = |r: Result<Vec<u8>, ReexecError>| -> Result<Option<Digest>, Failure> {
        match r {
            Ok(data) => Ok(Some(checkpoint_hash(&data))),
            Err(ReexecError::InvalidCheckpoint(_)) => Ok(None),
            Err(ReexecError::Unavailable(why)) => {
                Err(MarketError::ReexecutionUnavailable(why).into())
            }
        }
    };
    match claim {
        ChallengeClaim::Segment {
            segment,
            previous,
            previous_proof,
            claimed,
            claimed_proof,
            ..
        } => {
            if *segment > segments {
                return Err(MarketError::SegmentOutOfRange {
                    segment: *segment,
                    segments,
                }
                .into());
            }
            let previous_hash = checkpoint_hash(previous.as_slice());
            verify_leaf(root, segment - 1, &previous_hash, leaves, previous_proof)?;
            verify_leaf(root, *segment, claimed, leaves, claimed_proof)?;
            let result = rerun(env.executor.run_segment(
                &job.kind,
                module_bytes(&job.kind),
                *segment,
                previous.as_slice(),
            ))?;
            Ok((result.is_none_or(|h| h != *claimed), *segment))
        }
        ChallengeClaim::Input {
            claimed,
            claimed_proof,
        } => {
            verify_leaf(root, 0, claimed, leaves, claimed_proof)?;
            let input = job
                .kind
                .input()
                .inline_bytes()
                .ok_or(MarketError::DataUnavailable { what: "input" })?;
            let result = rerun(env.executor.input_checkpoint(
                &job.kind,
                input,
                module_bytes(&job.kind),
            ))?;
            Ok((result.is_none_or(|h| h != *claimed), 0))
        }
        ChallengeClaim::Output {
            claimed,
            claimed_proof,
            output,
        } => {
            verify_leaf(root, segments, claimed, leaves, claimed_proof)?;
            let bytes = match body.output.inline_bytes() {
                Some(bytes) => bytes,
                None => {
                    if output.is_empty() {
                        return Err(MarketError::DataUnavailable { what: "output" }.into());
                    }
                    let got = JobData::hash_bytes(output.as_slice());
                    let expected = body.output.hash();
                    if got != expected {
                        return Err(MarketError::OutputHashMismatch { expected, got }.into());
                    }
                    output.as_slice()
                }
            };
            Ok((
                checkpoint_hash(bytes) != *claimed,
                segments.saturating_add(1),
            ))
        }
    }
}

fn challenge<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    tx: TxFacts<'_>,
    c: &Challenge,
) -> Step {
    if c.deposit < env.params.min_challenge_deposit {
        return Err(MarketError::DepositTooLow {
            deposit: c.deposit,
            min: env.params.min_challenge_deposit,
        }
        .into());
    }
    let mut job = s.job(&c.job)?.ok_or(MarketError::UnknownJob(c.job))?;
    match job.status {
        JobStatus::Receipted { window_end, .. } if env.height > window_end => {
            return Err(MarketError::ChallengeWindowClosed {
                job: c.job,
                window_end,
                height: env.height,
            }
            .into());
        }
        JobStatus::Receipted { .. } => {}
        JobStatus::Settled { at } => {
            return Err(MarketError::ChallengeWindowClosed {
                job: c.job,
                window_end: at.saturating_sub(1),
                height: env.height,
            }
            .into());
        }
        ref other => {
            return Err(MarketError::NotChallengeable {
                job: c.job,
                status: other.as_str(),
            }
            .into());
        }
    }
    let mut receipt = s.receipt(&c.job)?.ok_or(MarketError::NotChallengeable {
        job: c.job,
        status: "receipted without a receipt",
    })?;
    let (upheld, segment) = decide(env, &job, &receipt, &c.claim, s)?;
    receipt.challenges.push(ChallengeRecord {
        tx: tx.id,
        at: env.height,
        segment,
        upheld,
    });
    let provider_id = job.provider.ok_or(MarketError::UnknownJob(c.job))?;
    let mut provider = s
        .provider(&provider_id)?
        .ok_or(MarketError::UnknownProvider(provider_id))?;
    if upheld {
        let slashed = job.bond_locked.min(provider.bond);
        provider.bond -= slashed;
        provider.locked = provider.locked.saturating_sub(job.bond_locked);
        provider.active_jobs = provider.active_jobs.saturating_sub(1);
        provider.slashed = provider.slashed.saturating_add(slashed);
        provider.reputation = provider
            .reputation
            .saturating_sub(env.params.reputation.slash_loss);
        provider.jobs_failed = provider.jobs_failed.saturating_add(1);
        let reward = share(slashed, env.params.slash_reward_bps);
        s.events.push(Event::ProviderSlashed {
            provider: provider_id,
            job: c.job,
            amount: slashed,
        });
        s.burn(slashed - reward);
        let paid = c.deposit.saturating_add(reward);
        let challenger_output = s.pay(env, c.payout, paid);
        s.events.push(Event::ChallengeDecided {
            job: c.job,
            upheld: true,
            challenger_paid: paid,
            challenger_output,
            provider_paid: 0,
            provider_output: None,
        });
        let refund = job.escrow;
        let output = s.pay(env, job.client, refund);
        s.events.push(Event::JobRefunded {
            job: c.job,
            reason: RefundReason::ReceiptDisproved,
            amount: refund,
            output,
        });
        job.escrow = 0;
        job.status = JobStatus::Refunded {
            at: env.height,
            reason: RefundReason::ReceiptDisproved,
        };
        s.put_job(c.job, job);
        s.put_provider(provider_id, provider);
    } else {
        let to_provider = share(c.deposit, env.params.lost_deposit_provider_bps);
        s.burn(c.deposit - to_provider);
        let provider_output = s.pay(env, provider.offer.payout, to_provider);
        s.events.push(Event::ChallengeDecided {
            job: c.job,
            upheld: false,
            challenger_paid: 0,
            challenger_output: None,
            provider_paid: to_provider,
            provider_output,
        });
    }
    s.put(
        ObjectKey::ComputeReceipt(c.job),
        Object::ComputeReceipt(Box::new(receipt)),
    );
    Ok(())
}

/// The block boundary at `env.height`: every object due at this height, in
/// key order (see `aether_types::object`). Expired jobs are refunded and
/// their providers penalised; jobs whose window ended are settled; matured
/// unbonding (of providers and of delegations) is paid out.
pub fn run_boundary<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    view: &V,
) -> Result<MarketEffect, LedgerError> {
    let height = env.height;
    let mut due = view.due_at(height)?;
    due.sort();
    due.dedup();
    let mut s = MarketState::new(view, boundary_tx_id(height), 0);
    for key in due {
        let Some(object) = s.get(&key)? else { continue };
        if object.due_height() != Some(height) {
            // The index is derived from the objects; a stale entry means
            // the object moved on (it is processed at its new height).
            continue;
        }
        match (key, object) {
            (ObjectKey::Job(id), Object::Job(job)) => match job.status {
                JobStatus::Assigned => expire(env, &mut s, id, *job)?,
                JobStatus::Receipted { .. } => settle(env, &mut s, id, *job)?,
                _ => {}
            },
            (ObjectKey::Provider(id), Object::Provider(p)) => release(env, &mut s, id, p),
            (ObjectKey::Delegation(_), Object::Delegation(d)) => {
                crate::staking::apply::release(env, &mut s, d)?
            }
            (key, other) => return Err(corrupt(&key, &other)),
        }
    }
    Ok(s.finish())
}

fn provider_of<V: UtxoView + ?Sized>(
    s: &MarketState<'_, V>,
    job_id: JobId,
    job: &JobRecord,
) -> Result<(ProviderId, ProviderRecord), LedgerError> {
    let id = job.provider.ok_or_else(|| {
        LedgerError::Storage(ViewError {
            message: format!("assigned job {job_id} has no provider"),
        })
    })?;
    let p = s.provider(&id)?.ok_or_else(|| {
        LedgerError::Storage(ViewError {
            message: format!("provider {id} of job {job_id} is missing"),
        })
    })?;
    Ok((id, p))
}

fn expire<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    id: JobId,
    mut job: JobRecord,
) -> Result<(), LedgerError> {
    let (provider_id, mut provider) = provider_of(s, id, &job)?;
    let penalty = share(job.bond_locked, env.params.timeout_penalty_bps).min(provider.bond);
    provider.bond -= penalty;
    provider.locked = provider.locked.saturating_sub(job.bond_locked);
    provider.active_jobs = provider.active_jobs.saturating_sub(1);
    provider.slashed = provider.slashed.saturating_add(penalty);
    provider.reputation = provider
        .reputation
        .saturating_sub(env.params.reputation.timeout_loss);
    provider.jobs_failed = provider.jobs_failed.saturating_add(1);
    s.events.push(Event::ProviderSlashed {
        provider: provider_id,
        job: id,
        amount: penalty,
    });
    s.burn(penalty);
    let refund = job.escrow;
    let output = s.pay(env, job.client, refund);
    s.events.push(Event::JobRefunded {
        job: id,
        reason: RefundReason::Expired,
        amount: refund,
        output,
    });
    job.escrow = 0;
    job.status = JobStatus::Refunded {
        at: env.height,
        reason: RefundReason::Expired,
    };
    s.put_job(id, job);
    s.put_provider(provider_id, provider);
    Ok(())
}

fn settle<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    id: JobId,
    mut job: JobRecord,
) -> Result<(), LedgerError> {
    let (provider_id, mut provider) = provider_of(s, id, &job)?;
    let price = job.price.min(job.escrow);
    let burned = share(price, env.params.settlement_burn_bps);
    let paid = price - burned;
    let client_refund = job.escrow - price;
    s.burn(burned);
    let output = s.pay(env, provider.offer.payout, paid);
    let refund_output = s.pay(env, job.client, client_refund);
    s.events.push(Event::JobSettled {
        job: id,
        provider: provider_id,
        paid,
        output,
        client_refund,
        refund_output,
    });
    provider.locked = provider.locked.saturating_sub(job.bond_locked);
    provider.active_jobs = provider.active_jobs.saturating_sub(1);
    provider.reputation = provider
        .reputation
        .saturating_add(env.params.reputation.settle_gain)
        .min(MAX_REPUTATION);
    provider.jobs_settled = provider.jobs_settled.saturating_add(1);
    job.escrow = 0;
    job.status = JobStatus::Settled { at: env.height };
    s.put_job(id, job);
    s.put_provider(provider_id, provider);
    Ok(())
}

fn release<V: UtxoView + ?Sized>(
    env: &MarketEnv<'_>,
    s: &mut MarketState<'_, V>,
    id: ProviderId,
    mut p: ProviderRecord,
) {
    let (due, later): (Vec<Unbonding>, Vec<Unbonding>) = p
        .unbonding
        .iter()
        .partition(|u| u.release_height <= env.height);
    p.unbonding = later;
    for u in due {
        let output = s.pay(env, p.offer.payout, u.amount);
        s.events.push(Event::UnbondingReleased {
            provider: id,
            amount: u.amount,
            output,
        });
    }
    s.put_provider(id, p);
}
