//! Checking equivocation evidence (what the ledger will run before it
//! slashes): two statements of the same kind, epoch and round, by one
//! validator, for different blocks, both signatures valid.

use crate::EvidenceError;
use crate::ValidatorSet;
use crate::signing::block_message;
use aether_crypto::bls::{self, Domain, Signature};
use aether_types::{
    BlockHash, BlockRef, BlsSignatureBytes, Canonical, EquivocationEvidence, EquivocationKind,
};

/// Verifies `evidence` against the epoch's validator set on the chain
/// whose genesis block is `genesis`.
pub fn verify_evidence(
    set: &ValidatorSet,
    genesis: &BlockHash,
    evidence: &EquivocationEvidence,
) -> Result<(), EvidenceError> {
    evidence.check().map_err(|_| EvidenceError::Malformed)?;
    if evidence.first.epoch != set.epoch() {
        return Err(EvidenceError::WrongEpoch);
    }
    let key = set
        .key(evidence.offender)
        .ok_or(EvidenceError::UnknownValidator(evidence.offender))?;
    let domain = match evidence.kind {
        EquivocationKind::Vote => Domain::Vote,
        EquivocationKind::Proposal => Domain::Proposal,
    };
    let check = |statement: &BlockRef, signature: &BlsSignatureBytes| {
        Signature::from_bytes(&signature.0)
            .and_then(|sig| bls::verify(key, domain, &block_message(genesis, statement), &sig))
            .map_err(|_| EvidenceError::BadSignature)
    };
    check(&evidence.first, &evidence.first_signature)?;
    check(&evidence.second, &evidence.second_signature)
}
