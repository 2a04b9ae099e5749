//! Typed actions: what a transaction does beyond moving value.
//!
//! A transaction carries a list of [`Action`]s in its body (so they are
//! signed through the transaction id). Each action:
//! - is checked statelessly here ([`Action::check`]: sizes, non-empty
//!   lists, ranges);
//! - declares what it touches ([`Action::access`]): protocol objects it
//!   reads or writes and the *lanes* it uses. The parallel executor treats
//!   these keys like inputs: two transactions whose declarations conflict
//!   run in block order, the rest in parallel;
//! - may **deposit** value into protocol objects ([`Action::deposit`]: a
//!   provider bond, a job's escrow, a challenge deposit). Deposits are part
//!   of the transaction's balance equation:
//!   `Σ inputs + minted = Σ outputs + fee + burned + Σ deposits`.
//!   Value that leaves objects (payouts, refunds, unbonding, rewards) is
//!   created by the ledger as new outputs, recorded in the receipt's events.
//!
//! # Lanes
//! The market router picks a provider among all that qualify when a job is
//! posted, so the set of objects a `PostJob` writes is only known during
//! execution. A declaration must be known before it. Market actions
//! therefore all use the **market lane** ([`Lane::Market`]), a conflict key
//! that serialises them among themselves (in block order), while transfers
//! and scripts run in parallel around them. What is expensive in a market
//! action (evidence verification, KZG proofs, a challenge's re-execution)
//! depends only on the transaction and is done before scheduling, in
//! parallel, so the serial lane only does object reads and writes.
//! Staking actions (validator registration, delegation, undelegation,
//! equivocation reports: [`crate::staking`]) use the **staking lane**
//! ([`Lane::Staking`]) the same way: an equivocation report slashes a
//! validator its action names only by index in an epoch's set; an attested
//! registration also reads the market lane (the measurement registry).

use crate::codec::Canonical;
use crate::codec::{BoundedBytes, BoundedString};
use crate::hash::{Digest, KeyHash};
use crate::market::*;
use crate::object::ObjectKey;
use crate::staking::*;
use crate::tx::{Address, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::BTreeSet;

/// Most actions in one transaction.
pub const MAX_ACTIONS: usize = 64;
/// Most measurement entries one registration carries.
pub const MAX_MEASUREMENT_ENTRIES: usize = 256;
/// Most models a provider may serve.
pub const MAX_PROVIDER_MODELS: usize = 64;
/// Most files a model registration lists.
pub const MAX_MODEL_FILES: usize = 32;
/// Most siblings of a trace proof (a tree of up to 2^32 leaves).
pub const MAX_PROOF_LEN: usize = 32;

/// Register an image's launch measurements (governance).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterMeasurement {
    /// SHA-256 of the image's `manifest.json`.
    pub image: ImageId,
    /// Image name (`worker`, `validator`).
    pub name: BoundedString<64>,
    /// What the image is for.
    pub role: ImageRole,
    /// Its TEE.
    pub tee: TeeKind,
    /// Every launch measurement the manifest lists, with its VM shape.
    pub entries: Vec<MeasurementEntry>,
    /// Source commit the image was built from.
    pub source_commit: BoundedString<64>,
}

/// Revoke every measurement of an image (governance).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RevokeMeasurement {
    /// The image.
    pub image: ImageId,
}

/// One file of a registered model.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ModelFile {
    /// File name inside the model directory.
    pub name: BoundedString<128>,
    /// Its SHA-256.
    pub sha256: [u8; 32],
    /// Its size in bytes.
    pub size: u64,
}

/// Register a model (governance).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterModel {
    /// Content hash of the files.
    pub model: ModelId,
    /// Human name.
    pub name: BoundedString<128>,
    /// The runtime that executes it.
    pub runtime: RuntimeId,
    /// Total size of the files.
    pub size: u64,
    /// Segments (steps) of a run: how many checkpoints past the input.
    pub segments: u32,
    /// The files.
    pub files: Vec<ModelFile>,
}

/// What a provider offers.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProviderOffer {
    /// Key that signs the provider's receipts.
    pub worker_key: PublicKey,
    /// Where payments and released bond go.
    pub payout: Address,
    /// TEE kinds the provider's workers run in.
    pub tees: BTreeSet<TeeKind>,
    /// Models served.
    pub models: BTreeSet<ModelId>,
    /// Whether WASM jobs are served.
    pub wasm: bool,
    /// Price per job, AIC base units.
    pub price: u128,
    /// Most jobs at once.
    pub capacity: u32,
}

/// Register a provider with a bond.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterProvider {
    /// Key that controls the provider (must sign this and later updates).
    pub owner: KeyHash,
    /// The offer.
    pub offer: ProviderOffer,
    /// Bond deposited, AIC base units.
    pub bond: u128,
}

/// Change a provider's offer and/or add bond (owner).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct UpdateProvider {
    /// The provider.
    pub provider: ProviderId,
    /// The new offer (`None`: unchanged).
    pub offer: Option<ProviderOffer>,
    /// Bond added, AIC base units (may be 0).
    pub add_bond: u128,
}

/// Start unbonding part of a provider's free bond (owner). The amount is
/// paid to the payout address after the unbonding delay.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct UnbondProvider {
    /// The provider.
    pub provider: ProviderId,
    /// Amount, AIC base units.
    pub amount: u128,
}

/// Post a job; its fee goes into escrow and the router assigns it in the
/// same block.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct PostJob {
    /// Who gets refunds (and whom the result is for).
    pub client: Address,
    /// What to compute.
    pub kind: JobKind,
    /// TEE kinds the client accepts (non-empty).
    pub tees: BTreeSet<TeeKind>,
    /// Most the client pays, deposited into escrow.
    pub max_fee: u128,
    /// Last height at which a receipt is accepted.
    pub deadline: u64,
}

/// What a challenge disputes.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum ChallengeClaim {
    /// Segment `segment` (≥ 1) does not map checkpoint `segment - 1`'s data
    /// to the provider's checkpoint `segment`: the chain re-executes that
    /// one segment.
    Segment {
        /// The first differing checkpoint `j`.
        segment: u32,
        /// Checkpoint `j - 1`'s data (the provider's, on which both agree).
        previous: BoundedBytes<MAX_CHECKPOINT_DATA>,
        /// Proof of leaf `j - 1` (the data's hash) against the trace root.
        previous_proof: Vec<Digest>,
        /// The provider's checkpoint hash `c_j`.
        claimed: Digest,
        /// Proof of leaf `j` against the trace root.
        claimed_proof: Vec<Digest>,
        /// The challenger's hash for checkpoint `j`.
        challenger: Digest,
    },
    /// The provider's checkpoint 0 is not the job's input.
    Input {
        /// The provider's `c_0`.
        claimed: Digest,
        /// Proof of leaf 0.
        claimed_proof: Vec<Digest>,
    },
    /// The provider's last checkpoint is not the output it returned.
    Output {
        /// The provider's `c_n`.
        claimed: Digest,
        /// Proof of leaf `n`.
        claimed_proof: Vec<Digest>,
        /// The output bytes, when the receipt's output is external (they
        /// must hash to the receipt's output hash); empty for inline outputs.
        output: BoundedBytes<MAX_CHECKPOINT_DATA>,
    },
}

/// Challenge a receipt within its window.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Challenge {
    /// The job whose receipt is disputed.
    pub job: JobId,
    /// What is disputed.
    pub claim: ChallengeClaim,
    /// Deposit, AIC base units (at least the chain's minimum).
    pub deposit: u128,
    /// Where the reward (or the returned deposit) goes.
    pub payout: Address,
}

/// A typed action (see the module docs).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Action {
    /// Governance: register an image's measurements.
    RegisterMeasurement(RegisterMeasurement),
    /// Governance: revoke an image's measurements.
    RevokeMeasurement(RevokeMeasurement),
    /// Governance: register a model.
    RegisterModel(RegisterModel),
    /// Register a provider.
    RegisterProvider(RegisterProvider),
    /// Update a provider.
    UpdateProvider(UpdateProvider),
    /// Unbond part of a provider's bond.
    UnbondProvider(UnbondProvider),
    /// Post a job.
    PostJob(PostJob),
    /// Submit a verifiable compute receipt (by the assigned worker key).
    SubmitReceipt(Box<Vcr>),
    /// Challenge a receipt.
    Challenge(Challenge),
    /// Register a validator (staking).
    RegisterValidator(Box<RegisterValidator>),
    /// Delegate stake to a validator.
    Delegate(Delegate),
    /// Start undelegating stake.
    Undelegate(Undelegate),
    /// Report an equivocation for slashing.
    ReportEquivocation(Box<ReportEquivocation>),
}

/// A conflict key that is not an object (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Lane {
    /// Everything that reads or writes market state.
    Market,
    /// Everything that reads or writes staking state (validators,
    /// delegations, slashes). An attested registration also *reads* the
    /// market lane (the measurement registry).
    Staking,
}

/// Something an action reads or writes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum AccessKey {
    /// A protocol object.
    Object(ObjectKey),
    /// A lane.
    Lane(Lane),
}

/// The declared reads and writes of an action.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Access {
    /// Keys only read.
    pub reads: Vec<AccessKey>,
    /// Keys written (a write implies a read).
    pub writes: Vec<AccessKey>,
}

/// Why an action is malformed (stateless).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// A list that must not be empty is.
    #[error("{what} must not be empty")]
    Empty {
        /// Which list.
        what: &'static str,
    },
    /// A list is longer than allowed.
    #[error("{what}: {len} entries, at most {max}")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// Entries given.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A measurement entry's TEE differs from the registration's.
    #[error("measurement entry {index} is for {found}, the image is {expected}")]
    TeeMismatch {
        /// Entry index.
        index: usize,
        /// The image's TEE.
        expected: TeeKind,
        /// The entry's.
        found: TeeKind,
    },
    /// The same measurement twice in a registration.
    #[error("measurement entry {index} repeats an earlier one")]
    DuplicateMeasurement {
        /// Entry index.
        index: usize,
    },
    /// An amount that must be positive is zero.
    #[error("{what} must be positive")]
    Zero {
        /// Which amount.
        what: &'static str,
    },
    /// A segment number out of range.
    #[error("segment {segment} out of range")]
    BadSegment {
        /// The segment.
        segment: u32,
    },
    /// A Merkle proof longer than any tree needs.
    #[error("proof of {len} siblings is longer than {MAX_PROOF_LEN}")]
    ProofTooLong {
        /// Siblings given.
        len: usize,
    },
    /// A challenge that claims no difference.
    #[error("the challenger's checkpoint hash equals the provider's")]
    NoDifference,
    /// A commission above 100 %.
    #[error("commission of {bps} basis points exceeds {MAX_COMMISSION_BPS}")]
    CommissionTooHigh {
        /// The commission given.
        bps: u32,
    },
    /// Equivocation evidence that is not two statements of one round for
    /// different blocks, in canonical order.
    #[error("malformed equivocation evidence: {0}")]
    MalformedEvidence(String),
}

fn bounded(what: &'static str, len: usize, max: usize) -> Result<(), ActionError> {
    if len > max {
        return Err(ActionError::TooMany { what, len, max });
    }
    Ok(())
}

fn proof(p: &[Digest]) -> Result<(), ActionError> {
    if p.len() > MAX_PROOF_LEN {
        return Err(ActionError::ProofTooLong { len: p.len() });
    }
    Ok(())
}

impl ProviderOffer {
    fn check(&self) -> Result<(), ActionError> {
        if self.tees.is_empty() {
            return Err(ActionError::Empty {
                what: "provider TEE kinds",
            });
        }
        if self.models.is_empty() && !self.wasm {
            return Err(ActionError::Empty {
                what: "models served (and WASM off)",
            });
        }
        bounded("models served", self.models.len(), MAX_PROVIDER_MODELS)?;
        if self.capacity == 0 {
            return Err(ActionError::Zero { what: "capacity" });
        }
        Ok(())
    }
}

impl Action {
    /// Stateless rules of the action (see the module docs).
    pub fn check(&self) -> Result<(), ActionError> {
        match self {
            Action::RegisterMeasurement(r) => {
                if r.entries.is_empty() {
                    return Err(ActionError::Empty {
                        what: "measurement entries",
                    });
                }
                bounded(
                    "measurement entries",
                    r.entries.len(),
                    MAX_MEASUREMENT_ENTRIES,
                )?;
                let mut seen = BTreeSet::new();
                for (index, e) in r.entries.iter().enumerate() {
                    let found = e.measurement.tee();
                    if found != r.tee {
                        return Err(ActionError::TeeMismatch {
                            index,
                            expected: r.tee,
                            found,
                        });
                    }
                    if !seen.insert(e.measurement.id()) {
                        return Err(ActionError::DuplicateMeasurement { index });
                    }
                }
                Ok(())
            }
            Action::RevokeMeasurement(_) => Ok(()),
            Action::RegisterModel(m) => {
                if m.files.is_empty() {
                    return Err(ActionError::Empty {
                        what: "model files",
                    });
                }
                bounded("model files", m.files.len(), MAX_MODEL_FILES)?;
                if m.segments == 0 || m.segments > MAX_SEGMENTS {
                    return Err(ActionError::BadSegment {
                        segment: m.segments,
                    });
                }
                Ok(())
            }
            Action::RegisterProvider(r) => {
                r.offer.check()?;
                if r.bond == 0 {
                    return Err(ActionError::Zero { what: "bond" });
                }
                Ok(())
            }
            Action::UpdateProvider(u) => match &u.offer {
                Some(offer) => offer.check(),
                None if u.add_bond == 0 => Err(ActionError::Empty {
                    what: "provider update (no offer, no bond)",
                }),
                None => Ok(()),
            },
            Action::UnbondProvider(u) => {
                if u.amount == 0 {
                    return Err(ActionError::Zero {
                        what: "unbond amount",
                    });
                }
                Ok(())
            }
            Action::PostJob(p) => {
                if p.tees.is_empty() {
                    return Err(ActionError::Empty {
                        what: "accepted TEE kinds",
                    });
                }
                if p.max_fee == 0 {
                    return Err(ActionError::Zero { what: "max fee" });
                }
                Ok(())
            }
            Action::SubmitReceipt(vcr) => {
                let body = &vcr.body;
                if body.segments == 0 || body.segments > MAX_SEGMENTS {
                    return Err(ActionError::BadSegment {
                        segment: body.segments,
                    });
                }
                bounded("output blobs", body.commitment.blobs.len(), MAX_BLOBS)?;
                Ok(())
            }
            Action::Challenge(c) => {
                if c.deposit == 0 {
                    return Err(ActionError::Zero {
                        what: "challenge deposit",
                    });
                }
                match &c.claim {
                    ChallengeClaim::Segment {
                        segment,
                        previous_proof,
                        claimed,
                        claimed_proof,
                        challenger,
                        ..
                    } => {
                        if *segment == 0 || *segment > MAX_SEGMENTS {
                            return Err(ActionError::BadSegment { segment: *segment });
                        }
                        if claimed == challenger {
                            return Err(ActionError::NoDifference);
                        }
                        proof(previous_proof)?;
                        proof(claimed_proof)
                    }
                    ChallengeClaim::Input { claimed_proof, .. }
                    | ChallengeClaim::Output { claimed_proof, .. } => proof(claimed_proof),
                }
            }
            Action::RegisterValidator(r) => {
                if r.self_bond == 0 {
                    return Err(ActionError::Zero { what: "self-bond" });
                }
                if r.commission_bps > MAX_COMMISSION_BPS {
                    return Err(ActionError::CommissionTooHigh {
                        bps: r.commission_bps,
                    });
                }
                Ok(())
            }
            Action::Delegate(d) => {
                if d.amount == 0 {
                    return Err(ActionError::Zero {
                        what: "delegation amount",
                    });
                }
                Ok(())
            }
            Action::Undelegate(u) => {
                if u.amount == 0 {
                    return Err(ActionError::Zero {
                        what: "undelegation amount",
                    });
                }
                Ok(())
            }
            Action::ReportEquivocation(r) => r
                .evidence
                .check()
                .map_err(|e| ActionError::MalformedEvidence(e.to_string())),
        }
    }

    /// Value the action moves from the transaction into protocol objects.
    pub fn deposit(&self) -> u128 {
        match self {
            Action::RegisterProvider(r) => r.bond,
            Action::UpdateProvider(u) => u.add_bond,
            Action::PostJob(p) => p.max_fee,
            Action::Challenge(c) => c.deposit,
            Action::RegisterValidator(r) => r.self_bond,
            Action::Delegate(d) => d.amount,
            Action::RegisterMeasurement(_)
            | Action::RevokeMeasurement(_)
            | Action::RegisterModel(_)
            | Action::UnbondProvider(_)
            | Action::SubmitReceipt(_)
            | Action::Undelegate(_)
            | Action::ReportEquivocation(_) => 0,
        }
    }

    /// Whether the action needs governance signatures.
    pub fn is_governance(&self) -> bool {
        matches!(
            self,
            Action::RegisterMeasurement(_)
                | Action::RevokeMeasurement(_)
                | Action::RegisterModel(_)
        )
    }

    /// A short stable name (`post_job`, `submit_receipt`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::RegisterMeasurement(_) => "register_measurement",
            Action::RevokeMeasurement(_) => "revoke_measurement",
            Action::RegisterModel(_) => "register_model",
            Action::RegisterProvider(_) => "register_provider",
            Action::UpdateProvider(_) => "update_provider",
            Action::UnbondProvider(_) => "unbond_provider",
            Action::PostJob(_) => "post_job",
            Action::SubmitReceipt(_) => "submit_receipt",
            Action::Challenge(_) => "challenge",
            Action::RegisterValidator(_) => "register_validator",
            Action::Delegate(_) => "delegate",
            Action::Undelegate(_) => "undelegate",
            Action::ReportEquivocation(_) => "report_equivocation",
        }
    }

    /// The declared access (see the module docs). Every market action
    /// writes the market lane, every staking action the staking lane; the
    /// objects it names statically are listed too, for readers of the
    /// declaration (RPC, tools).
    pub fn access(&self) -> Access {
        let lane = AccessKey::Lane(match self {
            Action::RegisterValidator(_)
            | Action::Delegate(_)
            | Action::Undelegate(_)
            | Action::ReportEquivocation(_) => Lane::Staking,
            _ => Lane::Market,
        });
        let obj = |k: ObjectKey| AccessKey::Object(k);
        let mut writes = vec![lane];
        let mut reads = Vec::new();
        match self {
            Action::RegisterMeasurement(r) => {
                writes.push(obj(ObjectKey::Image(r.image)));
                writes.extend(
                    r.entries
                        .iter()
                        .map(|e| obj(ObjectKey::Measurement(e.measurement.id()))),
                );
            }
            Action::RevokeMeasurement(r) => writes.push(obj(ObjectKey::Image(r.image))),
            Action::RegisterModel(m) => writes.push(obj(ObjectKey::Model(m.model))),
            Action::RegisterProvider(_) => writes.push(obj(ObjectKey::ProviderIndex)),
            Action::UpdateProvider(u) => {
                writes.push(obj(ObjectKey::Provider(u.provider)));
                writes.push(obj(ObjectKey::ProviderIndex));
            }
            Action::UnbondProvider(u) => writes.push(obj(ObjectKey::Provider(u.provider))),
            Action::PostJob(p) => {
                if let Some(model) = p.kind.model() {
                    reads.push(obj(ObjectKey::Model(model)));
                }
                reads.push(obj(ObjectKey::ProviderIndex));
            }
            Action::SubmitReceipt(vcr) => {
                writes.push(obj(ObjectKey::Job(vcr.body.job)));
                writes.push(obj(ObjectKey::Evidence(vcr.evidence.id())));
                reads.push(obj(ObjectKey::Provider(vcr.body.provider)));
            }
            Action::Challenge(c) => writes.push(obj(ObjectKey::Job(c.job))),
            Action::RegisterValidator(r) => {
                let id = r.validator_id();
                writes.push(obj(ObjectKey::Validator(id)));
                writes.push(obj(ObjectKey::Delegation(DelegationId::derive(
                    &id, &r.owner,
                ))));
                writes.push(obj(ObjectKey::ValidatorRegistry));
                if r.attestation.is_some() {
                    reads.push(AccessKey::Lane(Lane::Market));
                }
            }
            Action::Delegate(Delegate {
                validator,
                delegator,
                ..
            })
            | Action::Undelegate(Undelegate {
                validator,
                delegator,
                ..
            }) => {
                writes.push(obj(ObjectKey::Validator(*validator)));
                writes.push(obj(ObjectKey::Delegation(DelegationId::derive(
                    validator, delegator,
                ))));
            }
            Action::ReportEquivocation(r) => {
                reads.push(obj(ObjectKey::EpochSet(r.evidence.first.epoch)));
            }
        }
        Access { reads, writes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::ChainId;

    fn offer() -> ProviderOffer {
        ProviderOffer {
            worker_key: PublicKey([1; 32]),
            payout: Address::Key(KeyHash([2; 32])),
            tees: [TeeKind::Snp].into(),
            models: [ModelId([3; 32])].into(),
            wasm: false,
            price: 10,
            capacity: 2,
        }
    }

    #[test]
    fn offers_need_tees_work_and_capacity() {
        assert!(offer().check().is_ok());
        let mut o = offer();
        o.tees.clear();
        assert!(matches!(o.check(), Err(ActionError::Empty { .. })));
        let mut o = offer();
        o.models.clear();
        assert!(o.check().is_err());
        o.wasm = true;
        assert!(o.check().is_ok());
        let mut o = offer();
        o.capacity = 0;
        assert_eq!(o.check(), Err(ActionError::Zero { what: "capacity" }));
    }

    #[test]
    fn registrations_are_consistent() {
        let entry = |m: u8| MeasurementEntry {
            measurement: LaunchMeasurement::Snp([m; 48]),
            shape: VmShape::Snp {
                vcpus: 1,
                cpu: BoundedString::new("EPYC-v4").unwrap(),
                guest_features: 1,
            },
            rtmr0: None,
        };
        let mut r = RegisterMeasurement {
            image: ImageId([1; 32]),
            name: BoundedString::new("worker").unwrap(),
            role: ImageRole::Worker,
            tee: TeeKind::Snp,
            entries: vec![entry(1), entry(2)],
            source_commit: BoundedString::new("abc").unwrap(),
        };
        assert!(Action::RegisterMeasurement(r.clone()).check().is_ok());
        r.entries.push(entry(1));
        assert_eq!(
            Action::RegisterMeasurement(r.clone()).check(),
            Err(ActionError::DuplicateMeasurement { index: 2 })
        );
        r.entries.pop();
        r.tee = TeeKind::Tdx;
        assert!(matches!(
            Action::RegisterMeasurement(r).check(),
            Err(ActionError::TeeMismatch { index: 0, .. })
        ));
    }

    #[test]
    fn deposits_and_lanes() {
        let post = Action::PostJob(PostJob {
            client: Address::Key(KeyHash([1; 32])),
            kind: JobKind::Model {
                model: ModelId([2; 32]),
                input: JobData::inline(vec![0; 8]).unwrap(),
            },
            tees: [TeeKind::Tdx].into(),
            max_fee: 77,
            deadline: 10,
        });
        assert_eq!(post.deposit(), 77);
        assert!(
            post.access()
                .writes
                .contains(&AccessKey::Lane(Lane::Market))
        );
        let _ = ChainId(0);
    }
}
