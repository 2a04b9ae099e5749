//! Protocol objects: state that is not value in UTxOs (the measurement
//! registry, models, providers, jobs, receipts, seen evidence), kept in the
//! same Jellyfish tree as the UTxO set under their own key namespace, and
//! the events that receipts report about them.
//!
//! # Keys
//! An object is addressed by an [`ObjectKey`] (namespace + id). Its leaf in
//! the state tree sits at `H("aether/object-key/v1", encode(key))`, a
//! different domain from the UTxO leaves (`"aether/state-key/v1"`), so the
//! two key spaces never collide. The leaf's value is `encode(Object)`;
//! [`Object::key_kind`] must match the key's namespace (checked on write).
//!
//! # Scheduled work
//! Objects with a deadline name it ([`Object::due_height`]): an assigned
//! job (its deadline has passed), a receipted job (its challenge window
//! has ended), a provider with unbonding bond to release. At the start of
//! each block `h`, the ledger processes every object due at `h` in
//! ascending [`ObjectKey`] order, before the block's transactions. Storage
//! keeps an index from due height to keys; it is derived from the objects,
//! so the state root commits to it.

use crate::action::{ModelFile, ProviderOffer};
use crate::codec::{BoundedBytes, BoundedString, Canonical, encode};
use crate::consensus::{Epoch, EquivocationKind, Round};
use crate::hash::TxId;
use crate::hash::{Digest, KeyHash, tagged_hash};
use crate::market::*;
use crate::staking::*;
use crate::tx::{Address, OutPoint};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::BTreeSet;

/// Domain tag of an object's key in the state tree.
pub const OBJECT_KEY_TAG: &str = "aether/object-key/v1";
/// Most pending unbonding entries of one provider.
pub const MAX_UNBONDING: usize = 16;
/// Reputation of a new provider (scores range over `0..=MAX_REPUTATION`).
pub const INITIAL_REPUTATION: u32 = 5_000;
/// Highest reputation.
pub const MAX_REPUTATION: u32 = 10_000;

/// The address of a protocol object.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub enum ObjectKey {
    /// An image and the ids of its measurements.
    Image(ImageId),
    /// A registered launch measurement.
    Measurement(MeasurementId),
    /// A registered model.
    Model(ModelId),
    /// A provider.
    Provider(ProviderId),
    /// The set of all providers (the router's directory).
    ProviderIndex,
    /// A job.
    Job(JobId),
    /// A job's verifiable compute receipt and its verified claims.
    ComputeReceipt(JobId),
    /// Evidence already used by a receipt (replay protection).
    Evidence(EvidenceId),
    /// A validator (staking).
    Validator(ValidatorId),
    /// The set of all registered validators.
    ValidatorRegistry,
    /// A delegation (or a validator owner's self-bond).
    Delegation(DelegationId),
    /// The validator set of an epoch (kept while its evidence can slash).
    EpochSet(Epoch),
    /// The current epoch's presence and pending rewards.
    EpochActivity,
    /// The VRF output of the block at a height (until its epoch ends).
    VrfOutput(u64),
    /// A slash for one equivocation.
    Slash(SlashId),
}

impl ObjectKey {
    /// The key's leaf position in the state tree (see the module docs).
    pub fn tree_key(&self) -> Digest {
        tagged_hash(OBJECT_KEY_TAG, &[&encode(self)])
    }

    /// The namespace, as [`Object::key_kind`] names it.
    pub fn kind(&self) -> &'static str {
        match self {
            ObjectKey::Image(_) => "image",
            ObjectKey::Measurement(_) => "measurement",
            ObjectKey::Model(_) => "model",
            ObjectKey::Provider(_) => "provider",
            ObjectKey::ProviderIndex => "provider_index",
            ObjectKey::Job(_) => "job",
            ObjectKey::ComputeReceipt(_) => "compute_receipt",
            ObjectKey::Evidence(_) => "evidence",
            ObjectKey::Validator(_) => "validator",
            ObjectKey::ValidatorRegistry => "validator_registry",
            ObjectKey::Delegation(_) => "delegation",
            ObjectKey::EpochSet(_) => "epoch_set",
            ObjectKey::EpochActivity => "epoch_activity",
            ObjectKey::VrfOutput(_) => "vrf_output",
            ObjectKey::Slash(_) => "slash",
        }
    }
}

impl Canonical for ObjectKey {
    const MAX_ENCODED_LEN: usize = 33;
}

/// A registered image.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ImageRecord {
    /// Image name.
    pub name: BoundedString<64>,
    /// What it is for.
    pub role: ImageRole,
    /// Its TEE.
    pub tee: TeeKind,
    /// Its measurements' ids, in registration order.
    pub measurements: Vec<MeasurementId>,
    /// Source commit.
    pub source_commit: BoundedString<64>,
    /// Height of registration.
    pub registered_at: u64,
    /// Height of revocation, if revoked.
    pub revoked_at: Option<u64>,
}

/// A registered launch measurement.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct MeasurementRecord {
    /// The image it belongs to.
    pub image: ImageId,
    /// The image's role.
    pub role: ImageRole,
    /// The measurement, its shape and optional RTMR0.
    pub entry: MeasurementEntry,
    /// Whether the image was revoked.
    pub revoked: bool,
}

/// A registered model.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ModelRecord {
    /// Name.
    pub name: BoundedString<128>,
    /// Runtime.
    pub runtime: RuntimeId,
    /// Total size of the files.
    pub size: u64,
    /// Segments of a run.
    pub segments: u32,
    /// The files.
    pub files: Vec<ModelFile>,
    /// Height of registration.
    pub registered_at: u64,
}

/// Bond on its way out of a provider.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Unbonding {
    /// Amount.
    pub amount: u128,
    /// Height at whose start it is paid out.
    pub release_height: u64,
}

/// A provider.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProviderRecord {
    /// Controlling key.
    pub owner: KeyHash,
    /// What it offers.
    pub offer: ProviderOffer,
    /// Bond held (locked and free; unbonding amounts are not included).
    pub bond: u128,
    /// Part of the bond locked by assigned jobs.
    pub locked: u128,
    /// Jobs assigned and not yet settled, refunded or slashed.
    pub active_jobs: u32,
    /// Bond being released.
    pub unbonding: Vec<Unbonding>,
    /// Reputation, `0..=MAX_REPUTATION`.
    pub reputation: u32,
    /// Jobs settled.
    pub jobs_settled: u64,
    /// Jobs that timed out or were slashed.
    pub jobs_failed: u64,
    /// Total slashed.
    pub slashed: u128,
    /// Height of registration.
    pub registered_at: u64,
}

impl ProviderRecord {
    /// Bond not locked by jobs.
    pub fn free_bond(&self) -> u128 {
        self.bond.saturating_sub(self.locked)
    }

    /// Total value the object holds (bond and unbonding).
    pub fn held(&self) -> u128 {
        self.unbonding
            .iter()
            .fold(self.bond, |acc, u| acc.saturating_add(u.amount))
    }
}

/// Why a job was refunded.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum RefundReason {
    /// No provider could take it when it was posted.
    NoProvider,
    /// No receipt by the deadline.
    Expired,
    /// A challenge proved the receipt wrong.
    ReceiptDisproved,
}

impl RefundReason {
    /// A stable name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundReason::NoProvider => "no_provider",
            RefundReason::Expired => "expired",
            RefundReason::ReceiptDisproved => "receipt_disproved",
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum JobStatus {
    /// Assigned, waiting for a receipt until the deadline.
    Assigned,
    /// A receipt was accepted; challenges are open until `window_end`
    /// (inclusive).
    Receipted {
        /// Height the receipt was accepted at.
        at: u64,
        /// Last height a challenge is accepted at.
        window_end: u64,
    },
    /// Paid out after the window.
    Settled {
        /// Height.
        at: u64,
    },
    /// Refunded to the client.
    Refunded {
        /// Height.
        at: u64,
        /// Why.
        reason: RefundReason,
    },
}

impl JobStatus {
    /// A stable name.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Assigned => "assigned",
            JobStatus::Receipted { .. } => "receipted",
            JobStatus::Settled { .. } => "settled",
            JobStatus::Refunded { .. } => "refunded",
        }
    }
}

/// A job.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct JobRecord {
    /// Who gets refunds.
    pub client: Address,
    /// What it computes.
    pub kind: JobKind,
    /// [`JobKind::input_hash`].
    pub input_hash: Digest,
    /// Accepted TEE kinds.
    pub tees: BTreeSet<TeeKind>,
    /// Escrowed by the client.
    pub max_fee: u128,
    /// Value the object holds now.
    pub escrow: u128,
    /// Last height for a receipt.
    pub deadline: u64,
    /// Height posted.
    pub posted_at: u64,
    /// Assigned provider (`None` only for a job refunded at posting).
    pub provider: Option<ProviderId>,
    /// The provider's price when assigned.
    pub price: u128,
    /// Provider bond locked for this job.
    pub bond_locked: u128,
    /// Status.
    pub status: JobStatus,
}

/// The claims a receipt's evidence was verified to carry.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct VerifiedClaims {
    /// TEE kind.
    pub tee: TeeKind,
    /// The launch measurement the evidence carries.
    pub measurement: LaunchMeasurement,
    /// Its registry id.
    pub measurement_id: MeasurementId,
    /// TDX RTMR0 (zeros for SNP).
    pub rtmr0: Sha384,
    /// The 64 bytes of report data.
    pub report_data: BoundedBytes<64>,
    /// SNP HOST_DATA / TDX MRCONFIGID.
    pub host_data: BoundedBytes<64>,
    /// TCB summary as the verifier reports it.
    pub tcb: BoundedString<256>,
    /// The trust root the evidence chained to.
    pub root: BoundedString<32>,
    /// The signing key kind (`vcek`, `vlek`, `pck`).
    pub signer: BoundedString<16>,
    /// Verification time (the block's), Unix seconds.
    pub verified_at: u64,
}

/// How a challenge ended.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ChallengeRecord {
    /// Transaction that carried it.
    pub tx: TxId,
    /// Height.
    pub at: u64,
    /// The disputed segment (0 for the input, `segments + 1` for the output).
    pub segment: u32,
    /// Whether the provider was proven wrong.
    pub upheld: bool,
}

/// A job's receipt as accepted, with the claims it was verified to carry.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ComputeReceiptRecord {
    /// The receipt.
    pub vcr: Vcr,
    /// What the evidence was verified to say.
    pub claims: VerifiedClaims,
    /// The transaction that submitted it.
    pub tx: TxId,
    /// Height accepted.
    pub at: u64,
    /// Challenges decided, in order.
    pub challenges: Vec<ChallengeRecord>,
}

/// A piece of evidence already used.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct EvidenceRecord {
    /// The job whose receipt used it.
    pub job: JobId,
    /// Height.
    pub at: u64,
}

/// A protocol object (see the module docs).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Object {
    /// At [`ObjectKey::Image`].
    Image(ImageRecord),
    /// At [`ObjectKey::Measurement`].
    Measurement(MeasurementRecord),
    /// At [`ObjectKey::Model`].
    Model(ModelRecord),
    /// At [`ObjectKey::Provider`].
    Provider(ProviderRecord),
    /// At [`ObjectKey::ProviderIndex`].
    ProviderIndex(BTreeSet<ProviderId>),
    /// At [`ObjectKey::Job`].
    Job(Box<JobRecord>),
    /// At [`ObjectKey::ComputeReceipt`].
    ComputeReceipt(Box<ComputeReceiptRecord>),
    /// At [`ObjectKey::Evidence`].
    Evidence(EvidenceRecord),
    /// At [`ObjectKey::Validator`].
    Validator(Box<ValidatorRecord>),
    /// At [`ObjectKey::ValidatorRegistry`].
    ValidatorRegistry(BTreeSet<ValidatorId>),
    /// At [`ObjectKey::Delegation`].
    Delegation(DelegationRecord),
    /// At [`ObjectKey::EpochSet`].
    EpochSet(EpochSet),
    /// At [`ObjectKey::EpochActivity`].
    EpochActivity(EpochActivity),
    /// At [`ObjectKey::VrfOutput`].
    VrfOutput([u8; 32]),
    /// At [`ObjectKey::Slash`].
    Slash(SlashRecord),
}

impl Object {
    /// The namespace this object belongs in ([`ObjectKey::kind`]).
    pub fn key_kind(&self) -> &'static str {
        match self {
            Object::Image(_) => "image",
            Object::Measurement(_) => "measurement",
            Object::Model(_) => "model",
            Object::Provider(_) => "provider",
            Object::ProviderIndex(_) => "provider_index",
            Object::Job(_) => "job",
            Object::ComputeReceipt(_) => "compute_receipt",
            Object::Evidence(_) => "evidence",
            Object::Validator(_) => "validator",
            Object::ValidatorRegistry(_) => "validator_registry",
            Object::Delegation(_) => "delegation",
            Object::EpochSet(_) => "epoch_set",
            Object::EpochActivity(_) => "epoch_activity",
            Object::VrfOutput(_) => "vrf_output",
            Object::Slash(_) => "slash",
        }
    }

    /// The height at whose start the ledger must process this object, if
    /// any (see the module docs).
    pub fn due_height(&self) -> Option<u64> {
        match self {
            Object::Job(job) => match job.status {
                JobStatus::Assigned => job.deadline.checked_add(1),
                JobStatus::Receipted { window_end, .. } => window_end.checked_add(1),
                _ => None,
            },
            Object::Provider(p) => p.unbonding.iter().map(|u| u.release_height).min(),
            Object::Delegation(d) => d.unbonding.iter().map(|u| u.release_height).min(),
            _ => None,
        }
    }

    /// Value the object holds (counted by the supply invariant).
    pub fn held_value(&self) -> u128 {
        match self {
            Object::Provider(p) => p.held(),
            Object::Job(j) => j.escrow,
            Object::Validator(v) => v.held(),
            Object::EpochActivity(a) => a.held(),
            _ => 0,
        }
    }
}

impl Canonical for Object {
    const MAX_ENCODED_LEN: usize = 1024 * 1024;
}

/// What an action or the block boundary did, reported in receipts.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Event {
    /// An image's measurements were registered.
    MeasurementRegistered {
        /// Image.
        image: ImageId,
        /// Measurements added.
        measurements: u32,
    },
    /// An image's measurements were revoked.
    MeasurementRevoked {
        /// Image.
        image: ImageId,
        /// Measurements revoked.
        measurements: u32,
    },
    /// A model was registered.
    ModelRegistered {
        /// Model.
        model: ModelId,
    },
    /// A provider was registered.
    ProviderRegistered {
        /// Provider.
        provider: ProviderId,
        /// Bond deposited.
        bond: u128,
    },
    /// A provider was updated.
    ProviderUpdated {
        /// Provider.
        provider: ProviderId,
        /// Bond added.
        bond_added: u128,
    },
    /// Bond started unbonding.
    UnbondingStarted {
        /// Provider.
        provider: ProviderId,
        /// Amount.
        amount: u128,
        /// Release height.
        release_height: u64,
    },
    /// Unbonded bond was paid out.
    UnbondingReleased {
        /// Provider.
        provider: ProviderId,
        /// Amount.
        amount: u128,
        /// The payout output (`None` if below the minimum output and burned).
        output: Option<OutPoint>,
    },
    /// A job was posted and assigned.
    JobAssigned {
        /// Job.
        job: JobId,
        /// Provider.
        provider: ProviderId,
        /// Price.
        price: u128,
        /// Bond locked.
        bond_locked: u128,
    },
    /// A job was refunded.
    JobRefunded {
        /// Job.
        job: JobId,
        /// Why.
        reason: RefundReason,
        /// Amount refunded to the client.
        amount: u128,
        /// The refund output (`None` if below the minimum output and burned).
        output: Option<OutPoint>,
    },
    /// A receipt was accepted; its challenge window opened.
    ReceiptAccepted {
        /// Job.
        job: JobId,
        /// Provider.
        provider: ProviderId,
        /// Last height a challenge is accepted at.
        window_end: u64,
    },
    /// A provider's bond was slashed.
    ProviderSlashed {
        /// Provider.
        provider: ProviderId,
        /// Job.
        job: JobId,
        /// Amount slashed.
        amount: u128,
    },
    /// A challenge was decided.
    ChallengeDecided {
        /// Job.
        job: JobId,
        /// Whether the provider was proven wrong.
        upheld: bool,
        /// Paid to the challenger (deposit back plus reward when upheld).
        challenger_paid: u128,
        /// The challenger's output.
        challenger_output: Option<OutPoint>,
        /// Paid to the provider (its share of a lost deposit).
        provider_paid: u128,
        /// The provider's output.
        provider_output: Option<OutPoint>,
    },
    /// A job was settled after its window.
    JobSettled {
        /// Job.
        job: JobId,
        /// Provider.
        provider: ProviderId,
        /// Paid to the provider.
        paid: u128,
        /// The payment output.
        output: Option<OutPoint>,
        /// Unused escrow returned to the client.
        client_refund: u128,
        /// The refund output.
        refund_output: Option<OutPoint>,
    },
    /// Value destroyed (fee shares, slashes, dust payouts).
    Burned {
        /// Amount.
        amount: u128,
    },
    /// A validator was registered (with its self-bond).
    ValidatorRegistered {
        /// Validator.
        validator: ValidatorId,
        /// Self-bond deposited.
        self_bond: u128,
        /// The validator measurement its evidence carried, if attested.
        attested: Option<MeasurementId>,
    },
    /// Stake was delegated (self-bond top-ups included).
    Delegated {
        /// Validator.
        validator: ValidatorId,
        /// Delegator.
        delegator: KeyHash,
        /// Amount deposited.
        amount: u128,
        /// Shares received.
        shares: u128,
    },
    /// Stake left a validator and started unbonding.
    UndelegationStarted {
        /// Validator.
        validator: ValidatorId,
        /// Delegator.
        delegator: KeyHash,
        /// Amount unbonding.
        amount: u128,
        /// Height at whose start it is paid out.
        release_height: u64,
    },
    /// Unbonded stake was paid out.
    UndelegationReleased {
        /// Validator.
        validator: ValidatorId,
        /// Delegator.
        delegator: KeyHash,
        /// Amount paid.
        amount: u128,
        /// The payout (`None` if below the minimum output and burned).
        output: Option<OutPoint>,
    },
    /// A validator was slashed for an equivocation and tombstoned.
    ValidatorSlashed {
        /// Validator.
        validator: ValidatorId,
        /// The equivocation's epoch.
        epoch: Epoch,
        /// Its round.
        round: Round,
        /// Votes or proposals.
        kind: EquivocationKind,
        /// Amount slashed (stake and unbonding pools).
        amount: u128,
        /// Part of it paid to the reporter (the rest is burned).
        reporter_reward: u128,
        /// The reporter's output.
        reporter_output: Option<OutPoint>,
    },
    /// A block's fees and reward went to its epoch's reward pool.
    BlockRewarded {
        /// The epoch.
        epoch: Epoch,
        /// The proposer.
        proposer: ValidatorId,
        /// Fees of the block's transactions.
        fees: u128,
        /// Newly minted block reward.
        minted: u128,
        /// Validators credited besides the proposer (the QC's signers).
        signers: u32,
    },
    /// A validator's epoch rewards were added to its stake.
    RewardsCredited {
        /// The epoch that earned them.
        epoch: Epoch,
        /// Validator.
        validator: ValidatorId,
        /// Total added to its stake.
        amount: u128,
        /// Of which the owner's commission.
        commission: u128,
    },
    /// A validator was absent from too many blocks of an epoch and lost
    /// part of its stake (burned).
    DowntimeLeak {
        /// The epoch.
        epoch: Epoch,
        /// Validator.
        validator: ValidatorId,
        /// Blocks it was present in.
        presence: u32,
        /// Blocks counted.
        blocks: u32,
        /// Amount leaked.
        amount: u128,
    },
    /// The next epoch's validator set and seed were fixed.
    EpochChanged {
        /// The new epoch.
        epoch: Epoch,
        /// Its members.
        validators: u32,
        /// Its total stake, stake units.
        stake: u128,
        /// Its leader seed.
        seed: Digest,
    },
}

/// What the block boundary did at one height (the last leaf of the
/// header's receipts root).
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct BoundaryReceipt {
    /// Height.
    pub height: u64,
    /// Events, in processing order.
    pub events: Vec<Event>,
}

impl BoundaryReceipt {
    /// Leaf of the receipts tree: `H(tag::BOUNDARY_RECEIPT, encode(self))`.
    pub fn leaf(&self) -> Digest {
        tagged_hash(crate::tag::BOUNDARY_RECEIPT, &[&encode(self)])
    }
}

impl Canonical for BoundaryReceipt {
    const MAX_ENCODED_LEN: usize = 16 * 1024 * 1024;
}

/// The pseudo-transaction id whose outputs the block boundary at `height`
/// creates (payouts, refunds, releases): `H(tag::BOUNDARY_TX, height)`.
pub fn boundary_tx_id(height: u64) -> TxId {
    TxId(tagged_hash(crate::tag::BOUNDARY_TX, &[&height.to_le_bytes()]).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_do_not_collide_with_namespaces() {
        let id = [7u8; 32];
        let keys = [
            ObjectKey::Image(ImageId(id)),
            ObjectKey::Measurement(MeasurementId(id)),
            ObjectKey::Model(ModelId(id)),
            ObjectKey::Provider(ProviderId(id)),
            ObjectKey::Job(JobId(id)),
            ObjectKey::ComputeReceipt(JobId(id)),
            ObjectKey::Evidence(EvidenceId(id)),
            ObjectKey::ProviderIndex,
            ObjectKey::Validator(ValidatorId(id)),
            ObjectKey::Delegation(DelegationId(id)),
            ObjectKey::Slash(SlashId(id)),
            ObjectKey::EpochSet(Epoch(7)),
            ObjectKey::VrfOutput(7),
            ObjectKey::ValidatorRegistry,
            ObjectKey::EpochActivity,
        ];
        let tree: BTreeSet<Digest> = keys.iter().map(ObjectKey::tree_key).collect();
        assert_eq!(tree.len(), keys.len());
    }

    #[test]
    fn boundary_ids_differ_per_height() {
        assert_ne!(boundary_tx_id(1), boundary_tx_id(2));
    }
}
