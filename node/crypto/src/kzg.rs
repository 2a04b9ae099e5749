//! KZG commitments of job outputs: c-kzg (EIP-4844 blobs) with Ethereum's
//! mainnet trusted setup, which the crate embeds.
//!
//! # Output to blobs
//! An output of `n` bytes is cut into 31-byte chunks; chunk `i` becomes
//! field element `i` of the blob sequence as the 32 bytes `0x00 ‖ chunk`
//! (big-endian, so every element is below the BLS12-381 scalar modulus and
//! every byte string is representable). A blob holds 4,096 elements, i.e.
//! [`PAYLOAD_PER_BLOB`] = 126,976 bytes; the last chunk and the last blob
//! are zero-padded. The output's length travels with it (the receipt's
//! `JobData` size), so the padding is unambiguous. An empty output is one
//! all-zero blob, so every output has at least one commitment.
//!
//! For each blob the worker publishes its commitment and its blob proof
//! (the EIP-4844 `compute_blob_kzg_proof`); the chain verifies all of an
//! output's blobs in one `verify_blob_kzg_proof_batch` call.
//!
//! # Cost
//! Loading the setup takes about a second, once per process
//! ([`settings`] loads it lazily; call it at start to pay early). Per blob:
//! commit ~10 ms, proof ~35 ms, verify ~1.5 ms (see docs/BENCHMARKS.md).

use aether_types::{BlobCommitment, KzgCommitment, KzgProof};
use c_kzg::{BYTES_PER_BLOB, Blob, Bytes48, KzgSettings};

/// Field elements per blob.
pub const ELEMENTS_PER_BLOB: usize = 4096;
/// Payload bytes per field element (the first byte of each is zero).
pub const PAYLOAD_PER_ELEMENT: usize = 31;
/// Payload bytes per blob.
pub const PAYLOAD_PER_BLOB: usize = ELEMENTS_PER_BLOB * PAYLOAD_PER_ELEMENT;

/// A KZG failure.
#[derive(Debug, thiserror::Error)]
pub enum KzgError {
    /// The number of commitments does not match the output's blob count.
    #[error("output of {len} bytes needs {expected} blobs, {got} commitments given")]
    BlobCount {
        /// Output length.
        len: usize,
        /// Blobs needed.
        expected: usize,
        /// Commitments given.
        got: usize,
    },
    /// c-kzg refused an input (a malformed commitment or proof point).
    #[error("c-kzg: {0}")]
    Library(String),
}

/// The embedded Ethereum mainnet setup, loaded on first use.
pub fn settings() -> &'static KzgSettings {
    c_kzg::ethereum_kzg_settings(0)
}

/// Number of blobs an output of `len` bytes occupies (at least one).
pub fn blob_count(len: usize) -> usize {
    len.div_ceil(PAYLOAD_PER_BLOB).max(1)
}

/// The blobs of `data` (see the module docs).
pub fn blobs(data: &[u8]) -> Vec<Box<Blob>> {
    let count = blob_count(data.len());
    let mut out = Vec::with_capacity(count);
    for b in 0..count {
        let mut bytes = vec![0u8; BYTES_PER_BLOB];
        let start = b * PAYLOAD_PER_BLOB;
        let payload = data
            .get(start..data.len().min(start + PAYLOAD_PER_BLOB))
            .unwrap_or(&[]);
        for (i, chunk) in payload.chunks(PAYLOAD_PER_ELEMENT).enumerate() {
            let at = i * 32 + 1;
            bytes[at..at + chunk.len()].copy_from_slice(chunk);
        }
        // Every element starts with a zero byte: always canonical.
        let blob = Blob::from_bytes(&bytes).expect("a blob of BYTES_PER_BLOB bytes");
        out.push(Box::new(blob));
    }
    out
}

fn lib(e: c_kzg::Error) -> KzgError {
    KzgError::Library(format!("{e:?}"))
}

/// Commits to `data`: one commitment and blob proof per blob (worker side).
pub fn commit(data: &[u8]) -> Result<Vec<BlobCommitment>, KzgError> {
    let settings = settings();
    blobs(data)
        .iter()
        .map(|blob| {
            let commitment = settings.blob_to_kzg_commitment(blob).map_err(lib)?;
            let bytes = commitment.to_bytes();
            let proof = settings.compute_blob_kzg_proof(blob, &bytes).map_err(lib)?;
            Ok(BlobCommitment {
                commitment: KzgCommitment(*bytes),
                proof: KzgProof(*proof.to_bytes()),
            })
        })
        .collect()
}

/// Whether `commitments` are valid commitments with valid blob proofs of
/// `data` (chain side; one batch verification). `Err` when the counts do
/// not match or a point is malformed, `Ok(false)` when a proof fails.
pub fn verify(data: &[u8], commitments: &[BlobCommitment]) -> Result<bool, KzgError> {
    let expected = blob_count(data.len());
    if commitments.len() != expected {
        return Err(KzgError::BlobCount {
            len: data.len(),
            expected,
            got: commitments.len(),
        });
    }
    let blobs: Vec<Blob> = blobs(data).into_iter().map(|b| *b).collect();
    let cs: Vec<Bytes48> = commitments
        .iter()
        .map(|c| Bytes48::from(c.commitment.0))
        .collect();
    let ps: Vec<Bytes48> = commitments
        .iter()
        .map(|c| Bytes48::from(c.proof.0))
        .collect();
    settings()
        .verify_blob_kzg_proof_batch(&blobs, &cs, &ps)
        .map_err(lib)
}

/// Verifies several outputs' commitments in one c-kzg batch (one random
/// linear combination over all their blobs). `Ok(true)` iff every blob
/// proof verifies (up to the batch check's negligible error); on `false`,
/// check the items one by one with [`verify`] to find which failed. Blob
/// counts must already match ([`verify`] checks them; here a mismatch is
/// an error).
pub fn verify_many(items: &[(&[u8], &[BlobCommitment])]) -> Result<bool, KzgError> {
    let mut blobs = Vec::new();
    let mut cs = Vec::new();
    let mut ps = Vec::new();
    for (data, commitments) in items {
        let expected = blob_count(data.len());
        if commitments.len() != expected {
            return Err(KzgError::BlobCount {
                len: data.len(),
                expected,
                got: commitments.len(),
            });
        }
        blobs.extend(self::blobs(data).into_iter().map(|b| *b));
        cs.extend(commitments.iter().map(|c| Bytes48::from(c.commitment.0)));
        ps.extend(commitments.iter().map(|c| Bytes48::from(c.proof.0)));
    }
    if blobs.is_empty() {
        return Ok(true);
    }
    settings()
        .verify_blob_kzg_proof_batch(&blobs, &cs, &ps)
        .map_err(lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_elements_canonical_and_counts_blobs() {
        assert_eq!(blob_count(0), 1);
        assert_eq!(blob_count(PAYLOAD_PER_BLOB), 1);
        assert_eq!(blob_count(PAYLOAD_PER_BLOB + 1), 2);
        let data: Vec<u8> = (0..100u32).map(|i| i as u8 | 0x80).collect();
        let b = blobs(&data);
        assert_eq!(b.len(), 1);
        let bytes: &[u8] = &b[0][..];
        assert_eq!(bytes[0], 0);
        assert_eq!(&bytes[1..32], &data[..31]);
        assert_eq!(bytes[32], 0);
        assert_eq!(&bytes[33..64], &data[31..62]);
    }

    #[test]
    fn commitments_verify_and_bind_the_data() {
        let data = b"an embedding of 1536 bytes would go here".repeat(10);
        let commitments = commit(&data).unwrap();
        assert_eq!(commitments.len(), 1);
        assert!(verify(&data, &commitments).unwrap());
        let mut other = data.clone();
        other[5] ^= 1;
        assert!(!verify(&other, &commitments).unwrap());
        let mut bad_proof = commitments.clone();
        bad_proof[0].proof = KzgProof(commitments[0].commitment.0);
        assert!(!verify(&data, &bad_proof).unwrap_or(false));
        assert!(matches!(
            verify(&data, &[]),
            Err(KzgError::BlobCount { expected: 1, .. })
        ));
        // A batch of good outputs verifies; one bad proof fails the batch.
        let other = b"another output".to_vec();
        let other_c = commit(&other).unwrap();
        assert!(verify_many(&[(&data, &commitments), (&other, &other_c)]).unwrap());
        assert!(!verify_many(&[(&data, &bad_proof), (&other, &other_c)]).unwrap_or(false));
        assert!(verify_many(&[]).unwrap());
        let mut garbage = commitments.clone();
        garbage[0].commitment = KzgCommitment([0xff; 48]);
        assert!(verify(&data, &garbage).is_err() || !verify(&data, &garbage).unwrap());
    }
}
