//! Why a market action is refused. Each check has its own variant and a
//! stable name ([`MarketError::check`]) that RPC errors carry. It is the
//! refusal of every action: staking's reach it as [`MarketError::Staking`].

use aether_types::{
    Digest, ImageId, ImageRole, JobId, MeasurementId, ModelId, ProviderId, TeeKind,
};

/// A refused market action (the transaction is invalid: nothing changes,
/// nothing is charged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    /// A governance action without enough governance signatures.
    #[error("governance action needs {threshold} governance signatures")]
    NotGovernance {
        /// Signatures needed.
        threshold: u32,
    },
    /// The image is already registered.
    #[error("image {0} is already registered")]
    ImageExists(ImageId),
    /// A measurement of the registration is registered already.
    #[error("measurement {0} is already registered")]
    MeasurementExists(MeasurementId),
    /// No such image.
    #[error("image {0} is not registered")]
    UnknownImage(ImageId),
    /// The image was revoked before.
    #[error("image {0} is already revoked")]
    ImageRevoked(ImageId),
    /// The model is registered already.
    #[error("model {0} is already registered")]
    ModelExists(ModelId),
    /// No such model.
    #[error("model {0} is not registered")]
    UnknownModel(ModelId),
    /// A model's id is not the content hash of the files it lists.
    #[error("model id {declared} is not the hash of the listed files ({computed})")]
    ModelIdMismatch {
        /// The id given.
        declared: ModelId,
        /// The id of the files.
        computed: ModelId,
    },
    /// A provider's bond below the minimum.
    #[error("bond {bond} below the minimum {min}")]
    BondTooLow {
        /// Bond.
        bond: u128,
        /// Minimum.
        min: u128,
    },
    /// No such provider.
    #[error("provider {0} is not registered")]
    UnknownProvider(ProviderId),
    /// The provider's owner did not sign.
    #[error("the provider's owner did not sign")]
    NotOwner,
    /// Unbonding more than the free bond.
    #[error("unbonding {amount} but only {free} of the bond is free")]
    InsufficientFreeBond {
        /// Asked.
        amount: u128,
        /// Free.
        free: u128,
    },
    /// Too many unbonding requests pending.
    #[error("too many unbonding requests pending")]
    TooManyUnbonding,
    /// A job's deadline is not after the current height.
    #[error("deadline {deadline} is not after height {height}")]
    DeadlineInPast {
        /// Deadline.
        deadline: u64,
        /// Height.
        height: u64,
    },
    /// A job's deadline is farther than allowed.
    #[error("deadline {deadline} is more than {max} blocks after height {height}")]
    DeadlineTooFar {
        /// Deadline.
        deadline: u64,
        /// Height.
        height: u64,
        /// Most blocks ahead.
        max: u64,
    },
    /// A model job's inline input is not a sequence of u32 token ids.
    #[error("model input of {len} bytes is not a sequence of 4-byte token ids")]
    MalformedTokens {
        /// Length.
        len: usize,
    },
    /// The max fee could not be refunded as an output.
    #[error("max fee {fee} below the minimum output {min}")]
    FeeBelowMinOutput {
        /// Max fee.
        fee: u128,
        /// Minimum output.
        min: u128,
    },

    // ---- receipts, in the order the chain checks them ----
    /// The receipt is for another chain.
    #[error("receipt for chain {got}, this chain is {expected}")]
    ReceiptWrongChain {
        /// This chain.
        expected: u32,
        /// The receipt's.
        got: u32,
    },
    /// 1. The evidence's report data is not the receipt body's binding.
    #[error("evidence report data does not bind the receipt body")]
    WrongBinding,
    /// 2. The evidence did not verify.
    #[error("evidence rejected by check {check}: {reason}")]
    Evidence {
        /// The failed check's stable name (aether-evidence).
        check: &'static str,
        /// The verifier's message.
        reason: String,
    },
    /// 3. The launch measurement is not registered.
    #[error("launch measurement {0} is not registered")]
    UnregisteredMeasurement(MeasurementId),
    /// 3. The measurement is registered for another role.
    #[error("launch measurement {id} is registered for a {role} image")]
    MeasurementRole {
        /// Measurement.
        id: MeasurementId,
        /// Its role.
        role: ImageRole,
    },
    /// 3. The measurement's image was revoked.
    #[error("launch measurement {0} belongs to a revoked image")]
    RevokedMeasurement(MeasurementId),
    /// 3. The registry entry names an RTMR0 the evidence does not carry.
    #[error("RTMR0 differs from the registered value")]
    Rtmr0Mismatch,
    /// 4. The evidence was used before.
    #[error("evidence already used by the receipt of job {0}")]
    EvidenceReplayed(JobId),
    /// 5. No such job.
    #[error("job {0} does not exist")]
    UnknownJob(JobId),
    /// 5. The job is not waiting for a receipt.
    #[error("job {job} is {status}, not assigned")]
    JobNotAssigned {
        /// Job.
        job: JobId,
        /// Its status.
        status: &'static str,
    },
    /// 5. The job is assigned to another provider.
    #[error("job {job} is assigned to another provider")]
    WrongProvider {
        /// Job.
        job: JobId,
    },
    /// 5. The receipt's worker key is not the provider's, or did not sign.
    #[error("the receipt's worker key is not the provider's or did not sign the transaction")]
    WrongWorkerKey,
    /// 5. The deadline passed.
    #[error("job {job} expired at height {deadline} (now {height})")]
    JobExpired {
        /// Job.
        job: JobId,
        /// Deadline.
        deadline: u64,
        /// Height.
        height: u64,
    },
    /// 5. The evidence's TEE is not one the client accepts.
    #[error("the client does not accept {0} evidence")]
    TeeNotAccepted(TeeKind),
    /// 5. The receipt's input hash is not the job's.
    #[error("the receipt's input hash is not the job's")]
    InputMismatch,
    /// 5. The receipt's segment count is not the model's.
    #[error("the receipt has {got} segments, the model {expected}")]
    SegmentsMismatch {
        /// The model's.
        expected: u32,
        /// The receipt's.
        got: u32,
    },
    /// 6. The KZG commitments do not match the output.
    #[error("KZG: {0}")]
    BadKzgProof(String),

    // ---- challenges ----
    /// The job has no receipt under challenge.
    #[error("job {job} is {status}: no receipt to challenge")]
    NotChallengeable {
        /// Job.
        job: JobId,
        /// Status.
        status: &'static str,
    },
    /// The challenge window has closed.
    #[error("the challenge window of job {job} closed at height {window_end} (now {height})")]
    ChallengeWindowClosed {
        /// Job.
        job: JobId,
        /// Last height of the window.
        window_end: u64,
        /// Height.
        height: u64,
    },
    /// The deposit is below the minimum.
    #[error("challenge deposit {deposit} below the minimum {min}")]
    DepositTooLow {
        /// Deposit.
        deposit: u128,
        /// Minimum.
        min: u128,
    },
    /// A segment past the receipt's last.
    #[error("segment {segment} is past the receipt's {segments} segments")]
    SegmentOutOfRange {
        /// Segment.
        segment: u32,
        /// The receipt's segments.
        segments: u32,
    },
    /// A checkpoint's Merkle proof does not verify against the trace root.
    #[error("the proof of checkpoint {index} does not verify against the trace root")]
    BadCheckpointProof {
        /// Checkpoint index.
        index: u32,
    },
    /// The disputed data is not on chain (external input or output) and
    /// the challenge does not carry bytes with the right hash.
    #[error("the {what} is not available to the chain")]
    DataUnavailable {
        /// `input` or `output`.
        what: &'static str,
    },
    /// The output bytes carried by the challenge do not hash to the
    /// receipt's output hash.
    #[error("the output bytes hash to {got}, the receipt's output is {expected}")]
    OutputHashMismatch {
        /// Receipt's.
        expected: Digest,
        /// Given.
        got: Digest,
    },
    /// The chain cannot re-execute the segment (model missing, runtime
    /// unknown): the challenge is not decided.
    #[error("re-execution unavailable: {0}")]
    ReexecutionUnavailable(String),

    // ---- staking ----
    /// A staking action was refused (see [`crate::staking::StakingError`]).
    /// An attested registration's evidence and measurement checks are the
    /// receipts' own and keep their variants above.
    #[error(transparent)]
    Staking(#[from] crate::staking::StakingError),
}

impl MarketError {
    /// A stable name of the failed check.
    pub fn check(&self) -> &'static str {
        match self {
            MarketError::NotGovernance { .. } => "governance",
            MarketError::ImageExists(_) => "image_exists",
            MarketError::MeasurementExists(_) => "measurement_exists",
            MarketError::UnknownImage(_) => "unknown_image",
            MarketError::ImageRevoked(_) => "image_revoked",
            MarketError::ModelExists(_) => "model_exists",
            MarketError::UnknownModel(_) => "unknown_model",
            MarketError::ModelIdMismatch { .. } => "model_id",
            MarketError::BondTooLow { .. } => "bond_too_low",
            MarketError::UnknownProvider(_) => "unknown_provider",
            MarketError::NotOwner => "not_owner",
            MarketError::InsufficientFreeBond { .. } => "insufficient_free_bond",
            MarketError::TooManyUnbonding => "too_many_unbonding",
            MarketError::DeadlineInPast { .. } => "deadline_in_past",
            MarketError::DeadlineTooFar { .. } => "deadline_too_far",
            MarketError::MalformedTokens { .. } => "malformed_tokens",
            MarketError::FeeBelowMinOutput { .. } => "fee_below_min_output",
            MarketError::ReceiptWrongChain { .. } => "receipt_wrong_chain",
            MarketError::WrongBinding => "binding",
            MarketError::Evidence { .. } => "evidence",
            MarketError::UnregisteredMeasurement(_) => "unregistered_measurement",
            MarketError::MeasurementRole { .. } => "measurement_role",
            MarketError::RevokedMeasurement(_) => "revoked_measurement",
            MarketError::Rtmr0Mismatch => "rtmr0",
            MarketError::EvidenceReplayed(_) => "replay",
            MarketError::UnknownJob(_) => "unknown_job",
            MarketError::JobNotAssigned { .. } => "job_not_assigned",
            MarketError::WrongProvider { .. } => "wrong_provider",
            MarketError::WrongWorkerKey => "wrong_worker_key",
            MarketError::JobExpired { .. } => "job_expired",
            MarketError::TeeNotAccepted(_) => "tee_not_accepted",
            MarketError::InputMismatch => "input_mismatch",
            MarketError::SegmentsMismatch { .. } => "segments_mismatch",
            MarketError::BadKzgProof(_) => "kzg",
            MarketError::NotChallengeable { .. } => "not_challengeable",
            MarketError::ChallengeWindowClosed { .. } => "challenge_window_closed",
            MarketError::DepositTooLow { .. } => "deposit_too_low",
            MarketError::SegmentOutOfRange { .. } => "segment_out_of_range",
            MarketError::BadCheckpointProof { .. } => "checkpoint_proof",
            MarketError::DataUnavailable { .. } => "data_unavailable",
            MarketError::OutputHashMismatch { .. } => "output_hash",
            MarketError::ReexecutionUnavailable(_) => "reexecution_unavailable",
            MarketError::Staking(e) => e.check(),
        }
    }
}
