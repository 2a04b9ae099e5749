//! The JSON shapes of the AI market: jobs, providers, compute receipts
//! with their verified claims, the measurement registry, models, and the
//! events receipts report. Same conventions as [`crate::dto`]: camelCase,
//! lowercase hex, amounts as decimal strings.

use crate::params::format_address;
use aether_types::{
    ComputeReceiptRecord, Event, ImageId, ImageRecord, JobData, JobId, JobKind, JobRecord,
    JobStatus, LaunchMeasurement, MeasurementId, MeasurementRecord, ModelId, ModelRecord, OutPoint,
    ProviderId, ProviderRecord, TeeEvidence, TeeKind, VmShape,
};
use serde::{Deserialize, Serialize};

fn amount(v: u128) -> String {
    v.to_string()
}

fn tees(set: &std::collections::BTreeSet<TeeKind>) -> Vec<String> {
    set.iter().map(|t| t.to_string()).collect()
}

fn out_point(op: &Option<OutPoint>) -> Option<String> {
    op.map(|o| o.to_string())
}

/// Job data: inline bytes or a hash and a location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobDataDto {
    /// `H(job data)`, hex.
    pub hash: String,
    /// Length in bytes.
    pub size: u64,
    /// The bytes, hex, when inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// Where to fetch the bytes, when external.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl From<&JobData> for JobDataDto {
    fn from(d: &JobData) -> Self {
        JobDataDto {
            hash: d.hash().to_string(),
            size: d.size(),
            inline: d.inline_bytes().map(hex::encode),
            location: match d {
                JobData::External { location, .. } => Some(location.to_string()),
                JobData::Inline(_) => None,
            },
        }
    }
}

impl TryFrom<&JobDataDto> for JobData {
    type Error = String;

    /// The data as the ledger holds it; inline bytes must hash to `hash`.
    fn try_from(d: &JobDataDto) -> Result<Self, String> {
        match (&d.inline, &d.location) {
            (Some(h), _) => {
                let bytes = hex::decode(h).map_err(|e| format!("inline data is not hex: {e}"))?;
                let data = JobData::inline(bytes).map_err(|e| format!("inline data: {e}"))?;
                if data.hash().to_string() != d.hash {
                    return Err(format!(
                        "inline data hashes to {}, not {}",
                        data.hash(),
                        d.hash
                    ));
                }
                Ok(data)
            }
            (None, Some(location)) => Ok(JobData::External {
                hash: aether_types::Digest::from_hex(&d.hash)
                    .map_err(|e| format!("data hash: {e}"))?,
                size: d.size,
                location: location
                    .as_str()
                    .try_into()
                    .map_err(|e| format!("location: {e}"))?,
            }),
            (None, None) => Err("job data with neither inline bytes nor a location".into()),
        }
    }
}

impl TryFrom<&JobKindDto> for JobKind {
    type Error = String;

    /// The job as the ledger holds it (what [`JobKind::input_hash`] and
    /// re-execution take).
    fn try_from(k: &JobKindDto) -> Result<Self, String> {
        Ok(match k {
            JobKindDto::Model { model, input } => JobKind::Model {
                model: ModelId::from_hex(model).map_err(|e| format!("model id: {e}"))?,
                input: JobData::try_from(input).map_err(|e| format!("input: {e}"))?,
            },
            JobKindDto::Wasm {
                module,
                input,
                fuel,
            } => JobKind::Wasm {
                module: JobData::try_from(module).map_err(|e| format!("module: {e}"))?,
                input: JobData::try_from(input).map_err(|e| format!("input: {e}"))?,
                fuel: *fuel,
            },
        })
    }
}

/// Filter of `aether_getMeasurements` (every field optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeasurementFilter {
    /// `validator` or `worker`.
    #[serde(default)]
    pub role: Option<String>,
    /// `snp` or `tdx`.
    #[serde(default)]
    pub tee: Option<String>,
    /// Include revoked images (default false).
    #[serde(default)]
    pub include_revoked: bool,
}

/// What a job computes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum JobKindDto {
    /// A registered model on token ids (u32 little-endian each).
    #[serde(rename_all = "camelCase")]
    Model {
        /// Model id, hex.
        model: String,
        /// The token ids.
        input: JobDataDto,
    },
    /// A WebAssembly job.
    #[serde(rename_all = "camelCase")]
    Wasm {
        /// The module.
        module: JobDataDto,
        /// Its input.
        input: JobDataDto,
        /// Fuel limit.
        fuel: u64,
    },
}

impl From<&JobKind> for JobKindDto {
    fn from(k: &JobKind) -> Self {
        match k {
            JobKind::Model { model, input } => JobKindDto::Model {
                model: model.to_string(),
                input: input.into(),
            },
            JobKind::Wasm {
                module,
                input,
                fuel,
            } => JobKindDto::Wasm {
                module: module.into(),
                input: input.into(),
                fuel: *fuel,
            },
        }
    }
}

/// A job (`aether_getJob`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobDto {
    /// Job id.
    pub id: String,
    /// `assigned`, `receipted`, `settled` or `refunded`.
    pub status: String,
    /// Who gets refunds (`key:<hex>` / `script:<hex>`).
    pub client: String,
    /// What it computes.
    pub job: JobKindDto,
    /// Hash of the job's input as receipts name it.
    pub input_hash: String,
    /// TEE kinds the client accepts.
    pub tees: Vec<String>,
    /// Escrowed at posting.
    pub max_fee: String,
    /// Value held now.
    pub escrow: String,
    /// Last height for a receipt.
    pub deadline: u64,
    /// Height posted.
    pub posted_at: u64,
    /// Assigned provider, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The provider's price.
    pub price: String,
    /// Bond locked for the job.
    pub bond_locked: String,
    /// Height the receipt was accepted at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_at: Option<u64>,
    /// Last height a challenge is accepted at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<u64>,
    /// Height settled or refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<u64>,
    /// Why it was refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
}

impl JobDto {
    /// Builds the result for job `id`.
    pub fn new(id: &JobId, j: &JobRecord) -> Self {
        let (receipt_at, window_end, closed_at, refund_reason) = match &j.status {
            JobStatus::Assigned => (None, None, None, None),
            JobStatus::Receipted { at, window_end } => (Some(*at), Some(*window_end), None, None),
            JobStatus::Settled { at } => (None, None, Some(*at), None),
            JobStatus::Refunded { at, reason } => {
                (None, None, Some(*at), Some(reason.as_str().to_string()))
            }
        };
        JobDto {
            id: id.to_string(),
            status: j.status.as_str().to_string(),
            client: format_address(&j.client),
            job: (&j.kind).into(),
            input_hash: j.input_hash.to_string(),
            tees: tees(&j.tees),
            max_fee: amount(j.max_fee),
            escrow: amount(j.escrow),
            deadline: j.deadline,
            posted_at: j.posted_at,
            provider: j.provider.map(|p| p.to_string()),
            price: amount(j.price),
            bond_locked: amount(j.bond_locked),
            receipt_at,
            window_end,
            closed_at,
            refund_reason,
        }
    }
}

/// Bond on its way out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UnbondingDto {
    /// Amount.
    pub amount: String,
    /// Height at whose start it is paid out.
    pub release_height: u64,
}

/// A provider (`aether_getProvider`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderDto {
    /// Provider id.
    pub id: String,
    /// Key hash of the controlling key.
    pub owner: String,
    /// The worker key (ed25519 public key), hex.
    pub worker_key: String,
    /// Where payments go.
    pub payout: String,
    /// TEE kinds.
    pub tees: Vec<String>,
    /// Models served, hex ids.
    pub models: Vec<String>,
    /// Whether WASM jobs are served.
    pub wasm: bool,
    /// Price per job.
    pub price: String,
    /// Most jobs at once.
    pub capacity: u32,
    /// Jobs assigned and not closed.
    pub active_jobs: u32,
    /// Bond held (locked and free).
    pub bond: String,
    /// Bond locked by jobs.
    pub locked: String,
    /// Bond free for new jobs.
    pub free: String,
    /// Bond being released.
    pub unbonding: Vec<UnbondingDto>,
    /// Reputation, 0..=10000.
    pub reputation: u32,
    /// Jobs settled.
    pub jobs_settled: u64,
    /// Jobs that expired or were disproved.
    pub jobs_failed: u64,
    /// Total slashed.
    pub slashed: String,
    /// Height registered.
    pub registered_at: u64,
}

impl ProviderDto {
    /// Builds the result for provider `id`.
    pub fn new(id: &ProviderId, p: &ProviderRecord) -> Self {
        ProviderDto {
            id: id.to_string(),
            owner: p.owner.to_string(),
            worker_key: hex::encode(p.offer.worker_key.0),
            payout: format_address(&p.offer.payout),
            tees: tees(&p.offer.tees),
            models: p.offer.models.iter().map(|m| m.to_string()).collect(),
            wasm: p.offer.wasm,
            price: amount(p.offer.price),
            capacity: p.offer.capacity,
            active_jobs: p.active_jobs,
            bond: amount(p.bond),
            locked: amount(p.locked),
            free: amount(p.free_bond()),
            unbonding: p
                .unbonding
                .iter()
                .map(|u| UnbondingDto {
                    amount: amount(u.amount),
                    release_height: u.release_height,
                })
                .collect(),
            reputation: p.reputation,
            jobs_settled: p.jobs_settled,
            jobs_failed: p.jobs_failed,
            slashed: amount(p.slashed),
            registered_at: p.registered_at,
        }
    }
}

/// A launch measurement: SNP MEASUREMENT, or TDX MRTD with RTMR1/RTMR2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", tag = "tee")]
pub enum LaunchMeasurementDto {
    /// SEV-SNP.
    #[serde(rename = "snp")]
    Snp {
        /// MEASUREMENT, hex (48 bytes).
        measurement: String,
    },
    /// TDX.
    #[serde(rename = "tdx")]
    Tdx {
        /// MRTD, hex.
        mrtd: String,
        /// RTMR1, hex.
        rtmr1: String,
        /// RTMR2, hex.
        rtmr2: String,
    },
}

impl From<&LaunchMeasurement> for LaunchMeasurementDto {
    fn from(m: &LaunchMeasurement) -> Self {
        match m {
            LaunchMeasurement::Snp(v) => LaunchMeasurementDto::Snp {
                measurement: hex::encode(v),
            },
            LaunchMeasurement::Tdx { mrtd, rtmr1, rtmr2 } => LaunchMeasurementDto::Tdx {
                mrtd: hex::encode(mrtd),
                rtmr1: hex::encode(rtmr1),
                rtmr2: hex::encode(rtmr2),
            },
        }
    }
}

/// A registered measurement (`aether_getMeasurements`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MeasurementDto {
    /// Registry id, hex.
    pub id: String,
    /// The image (SHA-256 of its manifest.json), hex.
    pub image: String,
    /// `validator` or `worker`.
    pub role: String,
    /// The measurement.
    pub measurement: LaunchMeasurementDto,
    /// VM shape: `"2 vCPU EPYC-v4 (guest features 0x1)"` or `"2048 MiB"`.
    pub shape: String,
    /// RTMR0 the entry requires (TDX, when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmr0: Option<String>,
    /// Whether the image was revoked.
    pub revoked: bool,
}

impl MeasurementDto {
    /// Builds the result for measurement `id`.
    pub fn new(id: &MeasurementId, m: &MeasurementRecord) -> Self {
        MeasurementDto {
            id: id.to_string(),
            image: m.image.to_string(),
            role: m.role.to_string(),
            measurement: (&m.entry.measurement).into(),
            shape: match &m.entry.shape {
                VmShape::Snp {
                    vcpus,
                    cpu,
                    guest_features,
                } => format!("{vcpus} vCPU {cpu} (guest features {guest_features:#x})"),
                VmShape::Tdx { memory_mib } => format!("{memory_mib} MiB"),
            },
            rtmr0: m.entry.rtmr0.map(hex::encode),
            revoked: m.revoked,
        }
    }
}

/// A registered image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageDto {
    /// SHA-256 of its manifest.json, hex.
    pub image: String,
    /// Name.
    pub name: String,
    /// `validator` or `worker`.
    pub role: String,
    /// `snp` or `tdx`.
    pub tee: String,
    /// Source commit.
    pub source_commit: String,
    /// Height registered.
    pub registered_at: u64,
    /// Height revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
    /// Its measurements.
    pub measurements: Vec<MeasurementDto>,
}

impl ImageDto {
    /// Builds the result for image `id` with its measurement records.
    pub fn new(id: &ImageId, r: &ImageRecord, measurements: Vec<MeasurementDto>) -> Self {
        ImageDto {
            image: id.to_string(),
            name: r.name.to_string(),
            role: r.role.to_string(),
            tee: r.tee.to_string(),
            source_commit: r.source_commit.to_string(),
            registered_at: r.registered_at,
            revoked_at: r.revoked_at,
            measurements,
        }
    }
}

/// One file of a model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelFileDto {
    /// File name.
    pub name: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Size.
    pub size: u64,
}

/// A registered model (`aether_getModels`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelDto {
    /// Model id (content hash), hex.
    pub id: String,
    /// Name.
    pub name: String,
    /// Runtime id, hex.
    pub runtime: String,
    /// Total size.
    pub size: u64,
    /// Segments of a run.
    pub segments: u32,
    /// Files.
    pub files: Vec<ModelFileDto>,
    /// Height registered.
    pub registered_at: u64,
}

impl ModelDto {
    /// Builds the result for model `id`.
    pub fn new(id: &ModelId, m: &ModelRecord) -> Self {
        ModelDto {
            id: id.to_string(),
            name: m.name.to_string(),
            runtime: m.runtime.to_string(),
            size: m.size,
            segments: m.segments,
            files: m
                .files
                .iter()
                .map(|f| ModelFileDto {
                    name: f.name.to_string(),
                    sha256: hex::encode(f.sha256),
                    size: f.size,
                })
                .collect(),
            registered_at: m.registered_at,
        }
    }
}

/// The claims a receipt's evidence was verified to carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClaimsDto {
    /// `snp` or `tdx`.
    pub tee: String,
    /// The launch measurement.
    pub measurement: LaunchMeasurementDto,
    /// Its registry id.
    pub measurement_id: String,
    /// TDX RTMR0 (zeros for SNP), hex.
    pub rtmr0: String,
    /// Report data, hex (64 bytes): the receipt binding.
    pub report_data: String,
    /// SNP HOST_DATA / TDX MRCONFIGID, hex.
    pub host_data: String,
    /// TCB summary.
    pub tcb: String,
    /// The trust root (`amd-milan`, ..., `intel-sgx-root-ca`, `simulated`).
    pub root: String,
    /// `vcek`, `vlek` or `pck`.
    pub signer: String,
    /// Verification time (the block's), Unix seconds.
    pub verified_at: u64,
}

/// One decided challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChallengeDto {
    /// The transaction.
    pub tx_id: String,
    /// Height.
    pub at: u64,
    /// The disputed segment.
    pub segment: u32,
    /// Whether the provider was proven wrong.
    pub upheld: bool,
}

/// One blob's KZG commitment and proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlobCommitmentDto {
    /// Commitment (48 bytes), hex.
    pub commitment: String,
    /// Blob proof (48 bytes), hex.
    pub proof: String,
}

/// A verifiable compute receipt with its verified claims
/// (`aether_getComputeReceipt`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ComputeReceiptDto {
    /// The job.
    pub job: String,
    /// The provider.
    pub provider: String,
    /// The worker key, hex.
    pub worker_key: String,
    /// Runtime id, hex.
    pub runtime: String,
    /// The job's input hash.
    pub input_hash: String,
    /// The output.
    pub output: JobDataDto,
    /// Root over the output's KZG commitments.
    pub commitment_root: String,
    /// The KZG commitments, one per blob.
    pub blobs: Vec<BlobCommitmentDto>,
    /// Merkle root over the checkpoint hashes.
    pub trace_root: String,
    /// Segments of the run.
    pub segments: u32,
    /// Id of the receipt body (what the evidence binds), hex.
    pub body_id: String,
    /// `snp` or `tdx`.
    pub evidence_tee: String,
    /// The evidence's replay key, hex.
    pub evidence_id: String,
    /// The evidence as carried (SNP: report, VCEK/VLEK; TDX: quote), hex.
    pub evidence: Vec<String>,
    /// What the evidence was verified to say.
    pub claims: ClaimsDto,
    /// The transaction that submitted it.
    pub tx_id: String,
    /// Height accepted.
    pub at: u64,
    /// Challenges decided.
    pub challenges: Vec<ChallengeDto>,
}

impl ComputeReceiptDto {
    /// The output's bytes when inline (empty when external or malformed:
    /// what an output claim compares against).
    pub fn inline_output(&self) -> Vec<u8> {
        self.output
            .inline
            .as_deref()
            .and_then(|h| hex::decode(h).ok())
            .unwrap_or_default()
    }
}

impl From<&ComputeReceiptRecord> for ComputeReceiptDto {
    fn from(r: &ComputeReceiptRecord) -> Self {
        let b = &r.vcr.body;
        let c = &r.claims;
        ComputeReceiptDto {
            job: b.job.to_string(),
            provider: b.provider.to_string(),
            worker_key: hex::encode(b.worker_key.0),
            runtime: b.runtime.to_string(),
            input_hash: b.input_hash.to_string(),
            output: (&b.output).into(),
            commitment_root: b.commitment.root.to_string(),
            blobs: b
                .commitment
                .blobs
                .iter()
                .map(|x| BlobCommitmentDto {
                    commitment: hex::encode(x.commitment.0),
                    proof: hex::encode(x.proof.0),
                })
                .collect(),
            trace_root: b.trace_root.to_string(),
            segments: b.segments,
            body_id: b.id().to_string(),
            evidence_tee: r.vcr.evidence.tee().to_string(),
            evidence_id: r.vcr.evidence.id().to_string(),
            evidence: match &r.vcr.evidence {
                TeeEvidence::Snp { report, vek, chain } => {
                    let mut v = vec![hex::encode(report.as_slice()), hex::encode(vek.as_slice())];
                    if let Some(c) = chain {
                        v.push(hex::encode(c.as_slice()));
                    }
                    v
                }
                TeeEvidence::Tdx { quote, collateral } => vec![
                    hex::encode(quote.as_slice()),
                    hex::encode(collateral.as_slice()),
                ],
            },
            claims: ClaimsDto {
                tee: c.tee.to_string(),
                measurement: (&c.measurement).into(),
                measurement_id: c.measurement_id.to_string(),
                rtmr0: hex::encode(c.rtmr0),
                report_data: hex::encode(c.report_data.as_slice()),
                host_data: hex::encode(c.host_data.as_slice()),
                tcb: c.tcb.to_string(),
                root: c.root.to_string(),
                signer: c.signer.to_string(),
                verified_at: c.verified_at,
            },
            tx_id: r.tx.to_string(),
            at: r.at,
            challenges: r
                .challenges
                .iter()
                .map(|x| ChallengeDto {
                    tx_id: x.tx.to_string(),
                    at: x.at,
                    segment: x.segment,
                    upheld: x.upheld,
                })
                .collect(),
        }
    }
}

/// What an action or the block boundary did (`type` names it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum EventDto {
    /// An image's measurements were registered.
    #[serde(rename_all = "camelCase")]
    MeasurementRegistered {
        /// Image.
        image: String,
        /// Count.
        measurements: u32,
    },
    /// An image's measurements were revoked.
    #[serde(rename_all = "camelCase")]
    MeasurementRevoked {
        /// Image.
        image: String,
        /// Count.
        measurements: u32,
    },
    /// A model was registered.
    #[serde(rename_all = "camelCase")]
    ModelRegistered {
        /// Model.
        model: String,
    },
    /// A provider was registered.
    #[serde(rename_all = "camelCase")]
    ProviderRegistered {
        /// Provider.
        provider: String,
        /// Bond.
        bond: String,
    },
    /// A provider was updated.
    #[serde(rename_all = "camelCase")]
    ProviderUpdated {
        /// Provider.
        provider: String,
        /// Bond added.
        bond_added: String,
    },
    /// Bond started unbonding.
    #[serde(rename_all = "camelCase")]
    UnbondingStarted {
        /// Provider.
        provider: String,
        /// Amount.
        amount: String,
        /// Release height.
        release_height: u64,
    },
    /// Unbonded bond was paid out.
    #[serde(rename_all = "camelCase")]
    UnbondingReleased {
        /// Provider.
        provider: String,
        /// Amount.
        amount: String,
        /// Payout output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
    },
    /// A job was assigned.
    #[serde(rename_all = "camelCase")]
    JobAssigned {
        /// Job.
        job: String,
        /// Provider.
        provider: String,
        /// Price.
        price: String,
        /// Bond locked.
        bond_locked: String,
    },
    /// A job was refunded.
    #[serde(rename_all = "camelCase")]
    JobRefunded {
        /// Job.
        job: String,
        /// `no_provider`, `expired` or `receipt_disproved`.
        reason: String,
        /// Amount.
        amount: String,
        /// Refund output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
    },
    /// A receipt was accepted.
    #[serde(rename_all = "camelCase")]
    ReceiptAccepted {
        /// Job.
        job: String,
        /// Provider.
        provider: String,
        /// Last height for a challenge.
        window_end: u64,
    },
    /// A provider was slashed.
    #[serde(rename_all = "camelCase")]
    ProviderSlashed {
        /// Provider.
        provider: String,
        /// Job.
        job: String,
        /// Amount.
        amount: String,
    },
    /// A challenge was decided.
    #[serde(rename_all = "camelCase")]
    ChallengeDecided {
        /// Job.
        job: String,
        /// Whether the provider was proven wrong.
        upheld: bool,
        /// Paid to the challenger.
        challenger_paid: String,
        /// Its output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        challenger_output: Option<String>,
        /// Paid to the provider.
        provider_paid: String,
        /// Its output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_output: Option<String>,
    },
    /// A job was settled.
    #[serde(rename_all = "camelCase")]
    JobSettled {
        /// Job.
        job: String,
        /// Provider.
        provider: String,
        /// Paid to the provider.
        paid: String,
        /// Payment output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
        /// Returned to the client.
        client_refund: String,
        /// Refund output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refund_output: Option<String>,
    },
    /// Value burned.
    #[serde(rename_all = "camelCase")]
    Burned {
        /// Amount.
        amount: String,
    },
    /// A staking event (validators, delegations, slashing, rewards,
    /// epochs): its name and a readable rendering of its fields.
    #[serde(rename_all = "camelCase")]
    Staking {
        /// The event's name (`ValidatorRegistered`, `EpochChanged`, ...).
        name: String,
        /// Its fields.
        detail: String,
    },
}

impl EventDto {
    /// The job the event concerns, if any (for job subscriptions).
    pub fn job(&self) -> Option<&str> {
        match self {
            EventDto::JobAssigned { job, .. }
            | EventDto::JobRefunded { job, .. }
            | EventDto::ReceiptAccepted { job, .. }
            | EventDto::ProviderSlashed { job, .. }
            | EventDto::ChallengeDecided { job, .. }
            | EventDto::JobSettled { job, .. } => Some(job),
            _ => None,
        }
    }
}

impl From<&Event> for EventDto {
    fn from(e: &Event) -> Self {
        match e {
            Event::MeasurementRegistered {
                image,
                measurements,
            } => EventDto::MeasurementRegistered {
                image: image.to_string(),
                measurements: *measurements,
            },
            Event::MeasurementRevoked {
                image,
                measurements,
            } => EventDto::MeasurementRevoked {
                image: image.to_string(),
                measurements: *measurements,
            },
            Event::ModelRegistered { model } => EventDto::ModelRegistered {
                model: model.to_string(),
            },
            Event::ProviderRegistered { provider, bond } => EventDto::ProviderRegistered {
                provider: provider.to_string(),
                bond: amount(*bond),
            },
            Event::ProviderUpdated {
                provider,
                bond_added,
            } => EventDto::ProviderUpdated {
                provider: provider.to_string(),
                bond_added: amount(*bond_added),
            },
            Event::UnbondingStarted {
                provider,
                amount: a,
                release_height,
            } => EventDto::UnbondingStarted {
                provider: provider.to_string(),
                amount: amount(*a),
                release_height: *release_height,
            },
            Event::UnbondingReleased {
                provider,
                amount: a,
                output,
            } => EventDto::UnbondingReleased {
                provider: provider.to_string(),
                amount: amount(*a),
                output: out_point(output),
            },
            Event::JobAssigned {
                job,
                provider,
                price,
                bond_locked,
            } => EventDto::JobAssigned {
                job: job.to_string(),
                provider: provider.to_string(),
                price: amount(*price),
                bond_locked: amount(*bond_locked),
            },
            Event::JobRefunded {
                job,
                reason,
                amount: a,
                output,
            } => EventDto::JobRefunded {
                job: job.to_string(),
                reason: reason.as_str().to_string(),
                amount: amount(*a),
                output: out_point(output),
            },
            Event::ReceiptAccepted {
                job,
                provider,
                window_end,
            } => EventDto::ReceiptAccepted {
                job: job.to_string(),
                provider: provider.to_string(),
                window_end: *window_end,
            },
            Event::ProviderSlashed {
                provider,
                job,
                amount: a,
            } => EventDto::ProviderSlashed {
                provider: provider.to_string(),
                job: job.to_string(),
                amount: amount(*a),
            },
            Event::ChallengeDecided {
                job,
                upheld,
                challenger_paid,
                challenger_output,
                provider_paid,
                provider_output,
            } => EventDto::ChallengeDecided {
                job: job.to_string(),
                upheld: *upheld,
                challenger_paid: amount(*challenger_paid),
                challenger_output: out_point(challenger_output),
                provider_paid: amount(*provider_paid),
                provider_output: out_point(provider_output),
            },
            Event::JobSettled {
                job,
                provider,
                paid,
                output,
                client_refund,
                refund_output,
            } => EventDto::JobSettled {
                job: job.to_string(),
                provider: provider.to_string(),
                paid: amount(*paid),
                output: out_point(output),
                client_refund: amount(*client_refund),
                refund_output: out_point(refund_output),
            },
            Event::Burned { amount: a } => EventDto::Burned { amount: amount(*a) },
            other => {
                let text = format!("{other:?}");
                let (name, detail) = text.split_once(' ').unwrap_or((text.as_str(), ""));
                EventDto::Staking {
                    name: name.to_string(),
                    detail: detail.trim().to_string(),
                }
            }
        }
    }
}

/// The market events of one block (`aether_subscribeJobEvents`): the
/// boundary's, then each transaction's in block order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlockEventsDto {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub block_hash: String,
    /// The events.
    pub events: Vec<LocatedEventDto>,
}

impl BlockEventsDto {
    /// The events of a block: its boundary receipt's, then each
    /// transaction receipt's in block order.
    pub fn new(
        height: u64,
        block_hash: &aether_types::BlockHash,
        boundary: &aether_types::BoundaryReceipt,
        receipts: &[aether_types::Receipt],
    ) -> Self {
        let mut events: Vec<LocatedEventDto> = boundary
            .events
            .iter()
            .map(|e| LocatedEventDto {
                tx_id: None,
                event: e.into(),
            })
            .collect();
        for r in receipts {
            events.extend(r.events.iter().map(|e| LocatedEventDto {
                tx_id: Some(r.tx_id.to_string()),
                event: e.into(),
            }));
        }
        BlockEventsDto {
            height,
            block_hash: block_hash.to_string(),
            events,
        }
    }

    /// Only the events of `job` (its id as text).
    pub fn only_job(&self, job: &str) -> Self {
        BlockEventsDto {
            height: self.height,
            block_hash: self.block_hash.clone(),
            events: self
                .events
                .iter()
                .filter(|e| e.event.job() == Some(job))
                .cloned()
                .collect(),
        }
    }
}

/// Most blocks one `aether_getJobEvents` call scans.
pub const MAX_EVENT_BLOCKS: u64 = 256;

/// A page of `aether_getJobEvents`: the blocks `fromHeight..=toHeight`
/// were scanned and `blocks` are those of them with (matching) events.
/// Continue from `toHeight + 1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobEventsPageDto {
    /// First height scanned.
    pub from_height: u64,
    /// Last height scanned (below `fromHeight` when nothing was: the range
    /// starts above the head).
    pub to_height: u64,
    /// The blocks with events, in height order.
    pub blocks: Vec<BlockEventsDto>,
}

/// An event and where it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LocatedEventDto {
    /// The transaction, or absent for the block boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// The event.
    pub event: EventDto,
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{ImageRole, MeasurementEntry, RefundReason};

    #[test]
    fn job_kinds_round_trip_through_json_and_bad_data_is_refused() {
        let kinds = [
            JobKind::Model {
                model: ModelId([7; 32]),
                input: JobData::inline(vec![1, 0, 0, 0]).unwrap(),
            },
            JobKind::Wasm {
                module: JobData::External {
                    hash: aether_types::Digest([3; 32]),
                    size: 1 << 20,
                    location: "https://example.org/m.wasm".try_into().unwrap(),
                },
                input: JobData::inline(b"in".to_vec()).unwrap(),
                fuel: 99,
            },
        ];
        for k in &kinds {
            let dto = JobKindDto::from(k);
            let json: JobKindDto =
                serde_json::from_str(&serde_json::to_string(&dto).unwrap()).unwrap();
            assert_eq!(&JobKind::try_from(&json).unwrap(), k);
            assert_eq!(
                JobKind::try_from(&json).unwrap().input_hash(),
                k.input_hash()
            );
        }
        let mut tampered = JobDataDto::from(&JobData::inline(b"abc".to_vec()).unwrap());
        tampered.inline = Some(hex::encode(b"abd"));
        assert!(
            JobData::try_from(&tampered)
                .unwrap_err()
                .contains("hashes to")
        );
        tampered.inline = Some("zz".into());
        assert!(
            JobData::try_from(&tampered)
                .unwrap_err()
                .contains("not hex")
        );
        tampered.inline = None;
        assert!(
            JobData::try_from(&tampered)
                .unwrap_err()
                .contains("neither")
        );
    }

    #[test]
    fn events_carry_their_job_and_round_trip() {
        let e = Event::JobRefunded {
            job: JobId([1; 32]),
            reason: RefundReason::Expired,
            amount: 12,
            output: None,
        };
        let dto = EventDto::from(&e);
        assert_eq!(dto.job(), Some(JobId([1; 32]).to_string().as_str()));
        let json = serde_json::to_value(&dto).unwrap();
        assert_eq!(json["type"], "jobRefunded");
        assert_eq!(json["reason"], "expired");
        assert_eq!(json["amount"], "12");
        let back: EventDto = serde_json::from_value(json).unwrap();
        assert_eq!(back, dto);
        assert_eq!(EventDto::from(&Event::Burned { amount: 1 }).job(), None);
    }

    #[test]
    fn measurements_render_their_shape() {
        let m = MeasurementRecord {
            image: ImageId([2; 32]),
            role: ImageRole::Worker,
            entry: MeasurementEntry {
                measurement: LaunchMeasurement::Snp([3; 48]),
                shape: VmShape::Snp {
                    vcpus: 4,
                    cpu: aether_types::BoundedString::new("EPYC-v4").unwrap(),
                    guest_features: 1,
                },
                rtmr0: None,
            },
            revoked: false,
        };
        let dto = MeasurementDto::new(&MeasurementId([4; 32]), &m);
        assert_eq!(dto.shape, "4 vCPU EPYC-v4 (guest features 0x1)");
        let json = serde_json::to_value(&dto).unwrap();
        assert_eq!(json["measurement"]["tee"], "snp");
        assert_eq!(json["role"], "worker");
    }
}
