//! The part of a validator registration that depends only on the
//! transaction and the block time: the BLS key and its proof of possession,
//! and for an attested registration the report-data binding (compared
//! before any signature work) and the TEE evidence (verified by the same
//! `aether-evidence` path as the market's receipts:
//! [`crate::market::prepare::verify_evidence`]). The executor computes it
//! for a whole block in parallel before scheduling.

use super::error::StakingError;
use crate::market::MarketError;
use crate::market::prepare::{peek_report_data, verify_evidence};
use aether_crypto::bls::{PublicKey, Signature};
use aether_evidence::Verifier;
use aether_types::{ChainId, RegisterValidator, VerifiedClaims};

/// Results of a registration's stateless checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationChecks {
    /// The BLS key parses (in the subgroup) and its proof of possession
    /// verifies.
    pub key: Result<(), StakingError>,
    /// For a registration with evidence: the binding, then the evidence's
    /// verified claims (`None` without evidence).
    pub attestation: Option<Result<VerifiedClaims, MarketError>>,
}

/// Checks the BLS key and its proof of possession.
pub fn check_key(r: &RegisterValidator) -> Result<(), StakingError> {
    let key = PublicKey::from_bytes(&r.bls_key.0)
        .map_err(|e| StakingError::InvalidBlsKey(e.to_string()))?;
    let pop = Signature::from_bytes(&r.proof_of_possession.0)
        .map_err(|e| StakingError::BadProofOfPossession(e.to_string()))?;
    key.verify_proof_of_possession(&pop)
        .map_err(|e| StakingError::BadProofOfPossession(e.to_string()))
}

/// The stateless checks of `r` on chain `chain_id` at `at_unix_secs`.
pub fn check_registration(
    verifier: &Verifier,
    chain_id: ChainId,
    r: &RegisterValidator,
    at_unix_secs: u64,
) -> RegistrationChecks {
    let attestation = r.attestation.as_ref().map(|evidence| {
        if peek_report_data(evidence) != Some(r.report_data(chain_id)) {
            Err(MarketError::Staking(StakingError::WrongValidatorBinding))
        } else {
            verify_evidence(verifier, evidence, at_unix_secs)
        }
    });
    RegistrationChecks {
        key: check_key(r),
        attestation,
    }
}
