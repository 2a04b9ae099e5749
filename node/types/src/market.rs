//! Types of the AI compute market: identifiers, TEE evidence as carried on
//! chain, job inputs and outputs, and the verifiable compute receipt (VCR).
//!
//! # Identifiers
//! | id | definition |
//! |---|---|
//! | [`ImageId`] | the SHA-256 of an image's `manifest.json` (what `sha256sum` prints) |
//! | [`MeasurementId`] | `H(tag::MEASUREMENT, encode(LaunchMeasurement))` |
//! | [`ModelId`] | the content hash of a model's files (weights, tokenizer, config), computed by the worker's inference crate |
//! | [`ProviderId`] | `H(tag::PROVIDER_ID, tx id ‖ action index as u32 LE)` of the registering action |
//! | [`JobId`] | `H(tag::JOB_ID, tx id ‖ action index as u32 LE)` of the posting action |
//! | [`EvidenceId`] | `H(tag::EVIDENCE, signed bytes)`: the SNP report or the TDX quote, the replay key |
//!
//! # The receipt binding
//! A worker's TEE evidence carries, in its 64 bytes of report data,
//! [`VcrBody::report_data`] = BLAKE3-XOF-512(`"AETHER-VCR-v1"` ‖
//! [`VcrBody::id`]): the hardware vouches for exactly this body (job,
//! provider, worker key, model, input, output, commitments, trace root).
//! The chain compares the bytes before it does any signature work.
//!
//! # Checkpoints and the trace root
//! A job's run is cut into `segments` steps. Checkpoint 0 is the input;
//! checkpoint `j` (1 ≤ j ≤ segments) is the state after step `j`; the last
//! one is the output. The worker publishes each checkpoint's hash `c_j` and
//! a Merkle **trace root** over them. Checkpoint data, checkpoint hashes,
//! the trace tree and its proofs are defined once, by the runtime that
//! produces and re-executes them: `aether-infer`'s `checkpoint` and
//! `trace` modules (which the ledger links without its model and WASM
//! features). A challenge carries a proof's sibling path; the leaf count is
//! always `segments + 1`.

use crate::codec::{BoundedBytes, BoundedString, Canonical, encode};
use crate::hash::TxId;
use crate::hash::{Digest, digest_type, tag, tagged_hash};
use crate::tx::{ChainId, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

digest_type!(
    /// An image: the SHA-256 of its `manifest.json`.
    ImageId
);
digest_type!(
    /// A registered launch measurement: `H(tag::MEASUREMENT, encode(LaunchMeasurement))`.
    MeasurementId
);
digest_type!(
    /// A model: the content hash of its files.
    ModelId
);
digest_type!(
    /// A provider: `H(tag::PROVIDER_ID, tx id ‖ action index)`.
    ProviderId
);
digest_type!(
    /// A job: `H(tag::JOB_ID, tx id ‖ action index)`.
    JobId
);
digest_type!(
    /// A piece of TEE evidence: `H(tag::EVIDENCE, signed bytes)`.
    EvidenceId
);
digest_type!(
    /// A runtime (inference engine and its version, or the WASM job ABI).
    RuntimeId
);

impl ProviderId {
    /// The id of the provider registered by action `index` of `tx`.
    pub fn derive(tx: &TxId, index: u32) -> Self {
        ProviderId(tagged_hash(tag::PROVIDER_ID, &[&tx.0, &index.to_le_bytes()]).0)
    }
}

impl JobId {
    /// The id of the job posted by action `index` of `tx`.
    pub fn derive(tx: &TxId, index: u32) -> Self {
        JobId(tagged_hash(tag::JOB_ID, &[&tx.0, &index.to_le_bytes()]).0)
    }
}

/// Largest inline job input or output, in bytes. Larger data travels as a
/// hash plus a location ([`JobData::External`]).
pub const MAX_INLINE_DATA: usize = 64 * 1024;
/// Largest checkpoint data carried by a challenge (one segment's input).
pub const MAX_CHECKPOINT_DATA: usize = 512 * 1024;
/// Most KZG blobs an output commitment may have.
pub const MAX_BLOBS: usize = 64;
/// Most segments (steps) a job's trace may have.
pub const MAX_SEGMENTS: u32 = 1 << 20;
/// Largest SNP certificate (VCEK/VLEK) carried with a report.
pub const MAX_SNP_CERT: usize = 8 * 1024;
/// Largest SNP CA chain (ASK/ASVK then ARK) carried with a report.
pub const MAX_SNP_CHAIN: usize = 16 * 1024;
/// Length of an SNP attestation report.
pub const SNP_REPORT_LEN: usize = 1184;
/// Largest TDX quote.
pub const MAX_TDX_QUOTE: usize = 32 * 1024;
/// Largest TDX collateral (the JSON document).
pub const MAX_TDX_COLLATERAL: usize = 96 * 1024;

/// A trusted execution environment.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub enum TeeKind {
    /// AMD SEV-SNP.
    Snp,
    /// Intel TDX.
    Tdx,
}

impl TeeKind {
    /// `"snp"` or `"tdx"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TeeKind::Snp => "snp",
            TeeKind::Tdx => "tdx",
        }
    }
}

impl fmt::Display for TeeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TeeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "snp" => Ok(TeeKind::Snp),
            "tdx" => Ok(TeeKind::Tdx),
            other => Err(format!("unknown TEE kind {other:?} (snp or tdx)")),
        }
    }
}

/// What an image is for.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub enum ImageRole {
    /// A validator appliance.
    Validator,
    /// An AI worker appliance.
    Worker,
}

impl ImageRole {
    /// `"validator"` or `"worker"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ImageRole::Validator => "validator",
            ImageRole::Worker => "worker",
        }
    }
}

impl fmt::Display for ImageRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ImageRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "validator" => Ok(ImageRole::Validator),
            "worker" => Ok(ImageRole::Worker),
            other => Err(format!(
                "unknown image role {other:?} (validator or worker)"
            )),
        }
    }
}

/// A 48-byte SHA-384 register value (SNP MEASUREMENT, TDX MRTD/RTMR).
pub type Sha384 = [u8; 48];

/// The launch measurement a registry entry admits.
///
/// For SNP it is the MEASUREMENT of the report. For TDX it is MRTD (the
/// firmware) with RTMR1 (kernel and boot path) and RTMR2 (command line and
/// initrd): MRTD alone names only the firmware, which every image on the
/// same firmware shares. RTMR0 (the host's ACPI tables) is checked only when
/// the entry names it ([`MeasurementEntry::rtmr0`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum LaunchMeasurement {
    /// SEV-SNP MEASUREMENT.
    Snp(Sha384),
    /// TDX registers.
    Tdx {
        /// MRTD.
        mrtd: Sha384,
        /// RTMR1.
        rtmr1: Sha384,
        /// RTMR2.
        rtmr2: Sha384,
    },
}

impl LaunchMeasurement {
    /// The registry key of this measurement.
    pub fn id(&self) -> MeasurementId {
        MeasurementId(tagged_hash(tag::MEASUREMENT, &[&encode(self)]).0)
    }

    /// The TEE it belongs to.
    pub fn tee(&self) -> TeeKind {
        match self {
            LaunchMeasurement::Snp(_) => TeeKind::Snp,
            LaunchMeasurement::Tdx { .. } => TeeKind::Tdx,
        }
    }
}

/// The VM shape a measurement was computed for.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum VmShape {
    /// SNP: the launch digest depends on the vCPUs (one VMSA each), their
    /// type and the guest features.
    Snp {
        /// Number of vCPUs.
        vcpus: u32,
        /// vCPU type as QEMU names it (`EPYC-v4`, `EPYC-Milan`, ...).
        cpu: BoundedString<32>,
        /// SEV guest features.
        guest_features: u64,
    },
    /// TDX: RTMR values of one memory size.
    Tdx {
        /// Guest memory, MiB.
        memory_mib: u64,
    },
}

/// One launch measurement of an image, with its VM shape.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct MeasurementEntry {
    /// The measurement.
    pub measurement: LaunchMeasurement,
    /// The VM shape it holds for.
    pub shape: VmShape,
    /// TDX only: the RTMR0 the entry requires, when known.
    pub rtmr0: Option<Sha384>,
}

/// TEE evidence as carried on chain. The verifier is `aether-evidence`;
/// these are its inputs, bounded for the canonical encoding.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum TeeEvidence {
    /// An SEV-SNP attestation report with its signing certificate.
    Snp {
        /// The 1184-byte report.
        report: BoundedBytes<SNP_REPORT_LEN>,
        /// The VCEK or VLEK certificate (DER or PEM).
        vek: BoundedBytes<MAX_SNP_CERT>,
        /// ASK or ASVK then ARK; `None` takes the chain's trusted roots.
        chain: Option<BoundedBytes<MAX_SNP_CHAIN>>,
    },
    /// A TDX quote with its collateral.
    Tdx {
        /// The quote.
        quote: BoundedBytes<MAX_TDX_QUOTE>,
        /// The collateral (dcap-qvl JSON).
        collateral: BoundedBytes<MAX_TDX_COLLATERAL>,
    },
}

impl TeeEvidence {
    /// The TEE that produced it.
    pub fn tee(&self) -> TeeKind {
        match self {
            TeeEvidence::Snp { .. } => TeeKind::Snp,
            TeeEvidence::Tdx { .. } => TeeKind::Tdx,
        }
    }

    /// The replay key: the hash of the bytes the hardware key signed,
    /// *without* the signature. ECDSA signatures are malleable (`(r, s)`
    /// and `(r, n − s)` both verify), so a key over the whole report would
    /// let the same evidence be replayed with its other signature.
    ///
    /// SNP: report bytes `0..0x2A0`. TDX: the quote header and body (v4:
    /// `0..48 + 584`; v5: `0..54 + body size`). Malformed bytes (which fail
    /// verification anyway) hash whole.
    pub fn id(&self) -> EvidenceId {
        EvidenceId(tagged_hash(tag::EVIDENCE, &[self.signed_bytes()]).0)
    }

    fn signed_bytes(&self) -> &[u8] {
        match self {
            TeeEvidence::Snp { report, .. } => {
                let r = report.as_slice();
                r.get(..0x2A0).unwrap_or(r)
            }
            TeeEvidence::Tdx { quote, .. } => {
                let q = quote.as_slice();
                let end = match q.get(..2).map(|v| u16::from_le_bytes([v[0], v[1]])) {
                    Some(4) => Some(48 + 584),
                    Some(5) => q
                        .get(50..54)
                        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
                        .and_then(|size| size.checked_add(54)),
                    _ => None,
                };
                end.and_then(|e| q.get(..e)).unwrap_or(q)
            }
        }
    }
}

/// Job data (an input or an output): inline bytes, or a hash and where to
/// fetch them.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum JobData {
    /// The bytes themselves.
    Inline(BoundedBytes<MAX_INLINE_DATA>),
    /// Data kept off chain.
    External {
        /// [`JobData::hash_bytes`] of the data.
        hash: Digest,
        /// Length in bytes.
        size: u64,
        /// Where to fetch it (a URL).
        location: BoundedString<512>,
    },
}

impl JobData {
    /// `H(tag::JOB_DATA, bytes)`: the hash any copy of the data must have.
    pub fn hash_bytes(bytes: &[u8]) -> Digest {
        tagged_hash(tag::JOB_DATA, &[bytes])
    }

    /// Inline data from bytes (an error if above [`MAX_INLINE_DATA`]).
    pub fn inline(bytes: Vec<u8>) -> Result<Self, crate::Error> {
        Ok(JobData::Inline(BoundedBytes::new(bytes)?))
    }

    /// The hash of the data.
    pub fn hash(&self) -> Digest {
        match self {
            JobData::Inline(bytes) => Self::hash_bytes(bytes.as_slice()),
            JobData::External { hash, .. } => *hash,
        }
    }

    /// The length of the data.
    pub fn size(&self) -> u64 {
        match self {
            JobData::Inline(bytes) => bytes.len() as u64,
            JobData::External { size, .. } => *size,
        }
    }

    /// The bytes, if inline.
    pub fn inline_bytes(&self) -> Option<&[u8]> {
        match self {
            JobData::Inline(bytes) => Some(bytes.as_slice()),
            JobData::External { .. } => None,
        }
    }
}

/// What a job computes.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum JobKind {
    /// A registered model on a tokenized input (token ids, `u32`
    /// little-endian each).
    Model {
        /// The model.
        model: ModelId,
        /// The token ids.
        input: JobData,
    },
    /// A WebAssembly module (the module is the job's code: no registration).
    Wasm {
        /// The module.
        module: JobData,
        /// Its input.
        input: JobData,
        /// Most fuel the run may use.
        fuel: u64,
    },
}

impl JobKind {
    /// The input data.
    pub fn input(&self) -> &JobData {
        match self {
            JobKind::Model { input, .. } | JobKind::Wasm { input, .. } => input,
        }
    }

    /// The model, for model jobs.
    pub fn model(&self) -> Option<ModelId> {
        match self {
            JobKind::Model { model, .. } => Some(*model),
            JobKind::Wasm { .. } => None,
        }
    }

    /// `H(tag::JOB_INPUT, encode(kind))` minus the bulky bytes: the hash a
    /// receipt names as its input (model or module hash, input hash).
    pub fn input_hash(&self) -> Digest {
        match self {
            JobKind::Model { model, input } => {
                tagged_hash(tag::JOB_INPUT, &[&[0], &model.0, &input.hash().0])
            }
            JobKind::Wasm {
                module,
                input,
                fuel,
            } => tagged_hash(
                tag::JOB_INPUT,
                &[&[1], &module.hash().0, &input.hash().0, &fuel.to_le_bytes()],
            ),
        }
    }
}

/// A KZG commitment (compressed G1 point).
#[derive(Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct KzgCommitment(pub [u8; 48]);

/// A KZG proof (compressed G1 point).
#[derive(Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct KzgProof(pub [u8; 48]);

impl fmt::Debug for KzgCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KzgCommitment({})", hex::encode(self.0))
    }
}

impl fmt::Debug for KzgProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KzgProof({})", hex::encode(self.0))
    }
}

/// The KZG commitment of one blob of output (4,096 field elements).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlobCommitment {
    /// Commitment to the blob's polynomial.
    pub commitment: KzgCommitment,
    /// Blob proof (EIP-4844 style) for the commitment.
    pub proof: KzgProof,
}

/// The output's KZG commitments: one per blob, and a Merkle root over them.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct OutputCommitment {
    /// One per blob, in order.
    pub blobs: Vec<BlobCommitment>,
    /// [`OutputCommitment::compute_root`] of the commitments.
    pub root: Digest,
}

impl OutputCommitment {
    /// Merkle root over `H(tag::KZG_LEAF, commitment)` of each blob.
    pub fn compute_root(blobs: &[BlobCommitment]) -> Digest {
        let leaves: Vec<Digest> = blobs
            .iter()
            .map(|b| tagged_hash(tag::KZG_LEAF, &[&b.commitment.0]))
            .collect();
        crate::merkle_root(&leaves)
    }
}

/// Everything a worker vouches for about one job run. Its TEE evidence
/// binds this body ([`VcrBody::report_data`]).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct VcrBody {
    /// The chain (a receipt for another chain never binds here).
    pub chain_id: ChainId,
    /// The job.
    pub job: JobId,
    /// The provider the job was assigned to.
    pub provider: ProviderId,
    /// The worker key that submits the receipt (must sign the transaction).
    pub worker_key: PublicKey,
    /// The runtime that ran the job.
    pub runtime: RuntimeId,
    /// [`JobKind::input_hash`] of the job.
    pub input_hash: Digest,
    /// The output.
    pub output: JobData,
    /// KZG commitments of the output.
    pub commitment: OutputCommitment,
    /// Merkle root over the checkpoint hashes.
    pub trace_root: Digest,
    /// Number of segments (checkpoints are `0..=segments`).
    pub segments: u32,
}

impl VcrBody {
    /// `H(tag::VCR_BODY, encode(self))`.
    pub fn id(&self) -> Digest {
        tagged_hash(tag::VCR_BODY, &[&encode(self)])
    }

    /// The report data the TEE evidence must carry:
    /// BLAKE3-XOF-512(`"AETHER-VCR-v1"` ‖ [`VcrBody::id`]).
    pub fn report_data(&self) -> [u8; 64] {
        vcr_report_data(&self.id())
    }
}

/// BLAKE3-XOF-512(`"AETHER-VCR-v1"` ‖ `body_id`).
pub fn vcr_report_data(body_id: &Digest) -> [u8; 64] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"AETHER-VCR-v1");
    hasher.update(&body_id.0);
    let mut out = [0u8; 64];
    hasher.finalize_xof().fill(&mut out);
    out
}

/// A verifiable compute receipt: the body and the TEE evidence binding it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Vcr {
    /// What the worker vouches for.
    pub body: VcrBody,
    /// The hardware's statement.
    pub evidence: TeeEvidence,
}

impl Canonical for Vcr {
    const MAX_ENCODED_LEN: usize = crate::MAX_TX_LEN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_data_binds_every_field() {
        let body = VcrBody {
            chain_id: ChainId(1),
            job: JobId([1; 32]),
            provider: ProviderId([2; 32]),
            worker_key: PublicKey([3; 32]),
            runtime: RuntimeId([4; 32]),
            input_hash: Digest([5; 32]),
            output: JobData::inline(vec![1, 2, 3]).unwrap(),
            commitment: OutputCommitment {
                blobs: vec![],
                root: Digest([6; 32]),
            },
            trace_root: Digest([7; 32]),
            segments: 7,
        };
        let base = body.report_data();
        let mut other = body.clone();
        other.segments = 8;
        assert_ne!(other.report_data(), base);
        let mut other = body.clone();
        other.output = JobData::inline(vec![1, 2, 4]).unwrap();
        assert_ne!(other.report_data(), base);
        assert_eq!(body.report_data(), base);
        assert_ne!(base[..32], base[32..]);
    }

    #[test]
    fn evidence_id_ignores_the_signature() {
        let mut report = vec![7u8; SNP_REPORT_LEN];
        let e = |report: &Vec<u8>| TeeEvidence::Snp {
            report: BoundedBytes::new(report.clone()).unwrap(),
            vek: BoundedBytes::default(),
            chain: None,
        };
        let id = e(&report).id();
        report[0x2A0 + 10] ^= 1; // inside the signature
        assert_eq!(e(&report).id(), id);
        report[0x50] ^= 1; // report data
        assert_ne!(e(&report).id(), id);
        let mut quote = vec![0u8; 48 + 584 + 100];
        quote[0] = 4;
        let q = |quote: &Vec<u8>| TeeEvidence::Tdx {
            quote: BoundedBytes::new(quote.clone()).unwrap(),
            collateral: BoundedBytes::default(),
        };
        let id = q(&quote).id();
        quote[48 + 584 + 5] ^= 1; // signature data
        assert_eq!(q(&quote).id(), id);
        quote[48 + 520] ^= 1; // report data
        assert_ne!(q(&quote).id(), id);
    }

    #[test]
    fn ids_are_distinct_per_action() {
        let tx = TxId([9; 32]);
        assert_ne!(JobId::derive(&tx, 0), JobId::derive(&tx, 1));
        assert_ne!(JobId::derive(&tx, 0).0, ProviderId::derive(&tx, 0).0);
    }

    #[test]
    fn measurement_ids_depend_on_all_registers() {
        let a = LaunchMeasurement::Tdx {
            mrtd: [1; 48],
            rtmr1: [2; 48],
            rtmr2: [3; 48],
        };
        let b = LaunchMeasurement::Tdx {
            mrtd: [1; 48],
            rtmr1: [2; 48],
            rtmr2: [4; 48],
        };
        assert_ne!(a.id(), b.id());
        assert_ne!(LaunchMeasurement::Snp([1; 48]).id(), a.id());
    }
}
