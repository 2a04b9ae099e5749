//! Finding the claim of a challenge: what a challenger (the CLI's
//! `aether job challenge`, the worker's watchtower) runs off chain before
//! it spends a deposit. Given the provider's checkpoint data, it checks
//! that the data is the receipt's trace, re-executes each segment with a
//! [`SegmentExecutor`] (the same runtime the chain re-executes with) and
//! builds the claim against the first checkpoint that differs: the input
//! checkpoint, a segment, or the output.

use super::reexec::SegmentExecutor;
use aether_infer::{checkpoint_hash, trace_proof, trace_root};
use aether_types::{BoundedBytes, ChallengeClaim, Digest, JobKind};

/// Why no claim was built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The data does not have the receipt's number of checkpoints.
    #[error("the receipt has {expected} checkpoints, the data {got}")]
    CheckpointCount {
        /// Checkpoints of the receipt (`segments + 1`).
        expected: usize,
        /// Checkpoints given.
        got: usize,
    },
    /// The data is not the receipt's trace.
    #[error(
        "these checkpoints are not the provider's trace (root {got}, the receipt's {expected})"
    )]
    NotTheTrace {
        /// The receipt's trace root.
        expected: Digest,
        /// The data's.
        got: Digest,
    },
    /// A forced segment outside `1..=segments`.
    #[error("segment {segment} outside 1..={segments}")]
    SegmentOutOfRange {
        /// The segment asked for.
        segment: u32,
        /// The receipt's segments.
        segments: u32,
    },
    /// A forced segment re-executes to the provider's checkpoint.
    #[error("segment {0} re-executes to the provider's checkpoint: nothing to challenge there")]
    SegmentMatches(u32),
    /// Every checkpoint re-executes to the provider's.
    #[error("every checkpoint re-executes to the provider's: nothing to challenge")]
    NothingToChallenge,
    /// Re-execution failed here.
    #[error("re-running {what}: {reason}")]
    Reexec {
        /// What was being re-run.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// Checkpoint data too large for a claim.
    #[error("checkpoint data: {0}")]
    Data(String),
}

/// The job and receipt a claim is built against.
#[derive(Debug, Clone, Copy)]
pub struct ClaimTarget<'a> {
    /// The job.
    pub kind: &'a JobKind,
    /// The WASM module's bytes, for WASM jobs.
    pub module: Option<&'a [u8]>,
    /// The job's input bytes.
    pub input: &'a [u8],
    /// The receipt's trace root.
    pub trace_root: Digest,
    /// The receipt's number of segments.
    pub segments: u32,
    /// The receipt's inline output (an output claim needs it).
    pub output: &'a [u8],
}

/// Builds the claim against the first differing checkpoint of `data` (the
/// provider's checkpoint data), or against `forced` = (segment, the hash
/// to claim instead of re-executing).
pub fn find_claim(
    exec: &dyn SegmentExecutor,
    target: &ClaimTarget<'_>,
    data: &[Vec<u8>],
    forced: Option<(u32, Option<[u8; 32]>)>,
) -> Result<ChallengeClaim, ClaimError> {
    let segments = target.segments as usize;
    if data.len() != segments + 1 {
        return Err(ClaimError::CheckpointCount {
            expected: segments + 1,
            got: data.len(),
        });
    }
    let hashes: Vec<[u8; 32]> = data.iter().map(|d| checkpoint_hash(d)).collect();
    let root = Digest(trace_root(&hashes));
    if root != target.trace_root {
        return Err(ClaimError::NotTheTrace {
            expected: target.trace_root,
            got: root,
        });
    }
    let proof = |i: usize| -> Result<Vec<Digest>, ClaimError> {
        Ok(trace_proof(&hashes, i)
            .map_err(|e| ClaimError::Data(e.to_string()))?
            .path
            .into_iter()
            .map(Digest)
            .collect())
    };
    let bounded = |bytes: &[u8]| {
        BoundedBytes::new(bytes.to_vec()).map_err(|e| ClaimError::Data(e.to_string()))
    };
    let rerun = |segment: u32| -> Result<[u8; 32], ClaimError> {
        let out = exec
            .run_segment(
                target.kind,
                target.module,
                segment,
                &data[segment as usize - 1],
            )
            .map_err(|e| ClaimError::Reexec {
                what: format!("segment {segment}"),
                reason: e.to_string(),
            })?;
        Ok(checkpoint_hash(&out))
    };
    let segment_claim = |segment: u32, mine: [u8; 32]| -> Result<ChallengeClaim, ClaimError> {
        let s = segment as usize;
        Ok(ChallengeClaim::Segment {
            segment,
            previous: bounded(&data[s - 1])?,
            previous_proof: proof(s - 1)?,
            claimed: Digest(hashes[s]),
            claimed_proof: proof(s)?,
            challenger: Digest(mine),
        })
    };
    if let Some((segment, claimed)) = forced {
        if segment == 0 || segment as usize > segments {
            return Err(ClaimError::SegmentOutOfRange {
                segment,
                segments: target.segments,
            });
        }
        let mine = match claimed {
            Some(h) => h,
            None => rerun(segment)?,
        };
        if mine == hashes[segment as usize] {
            return Err(ClaimError::SegmentMatches(segment));
        }
        return segment_claim(segment, mine);
    }
    let c0 = exec
        .input_checkpoint(target.kind, target.input, target.module)
        .map_err(|e| ClaimError::Reexec {
            what: "the input checkpoint".into(),
            reason: e.to_string(),
        })?;
    if checkpoint_hash(&c0) != hashes[0] {
        return Ok(ChallengeClaim::Input {
            claimed: Digest(hashes[0]),
            claimed_proof: proof(0)?,
        });
    }
    for segment in 1..=target.segments {
        let mine = rerun(segment)?;
        if mine != hashes[segment as usize] {
            return segment_claim(segment, mine);
        }
    }
    if checkpoint_hash(target.output) != hashes[segments] {
        return Ok(ChallengeClaim::Output {
            claimed: Digest(hashes[segments]),
            claimed_proof: proof(segments)?,
            output: bounded(&[])?,
        });
    }
    Err(ClaimError::NothingToChallenge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::reexec::ReexecError;
    use aether_infer::{TraceProof, verify_trace_proof};
    use aether_types::{JobData, ModelId};

    /// A toy runtime: checkpoint 0 is the input, each segment appends one
    /// byte (its number) to the previous checkpoint.
    #[derive(Debug)]
    struct Appender;

    impl SegmentExecutor for Appender {
        fn input_checkpoint(
            &self,
            _: &JobKind,
            input: &[u8],
            _: Option<&[u8]>,
        ) -> Result<Vec<u8>, ReexecError> {
            Ok(input.to_vec())
        }
        fn run_segment(
            &self,
            _: &JobKind,
            _: Option<&[u8]>,
            segment: u32,
            previous: &[u8],
        ) -> Result<Vec<u8>, ReexecError> {
            let mut next = previous.to_vec();
            next.push(segment as u8);
            Ok(next)
        }
    }

    fn kind() -> JobKind {
        JobKind::Model {
            model: ModelId([1; 32]),
            input: JobData::inline(b"in".to_vec()).unwrap(),
        }
    }

    fn honest() -> Vec<Vec<u8>> {
        let mut c = vec![b"in".to_vec()];
        for s in 1..=4u8 {
            let mut next = c.last().unwrap().clone();
            next.push(s);
            c.push(next);
        }
        c
    }

    fn root(data: &[Vec<u8>]) -> Digest {
        let hashes: Vec<[u8; 32]> = data.iter().map(|d| checkpoint_hash(d)).collect();
        Digest(trace_root(&hashes))
    }

    fn find(
        data: &[Vec<u8>],
        output: &[u8],
        forced: Option<(u32, Option<[u8; 32]>)>,
    ) -> Result<ChallengeClaim, ClaimError> {
        let k = kind();
        let target = ClaimTarget {
            kind: &k,
            module: None,
            input: b"in",
            trace_root: root(data),
            segments: (data.len() - 1) as u32,
            output,
        };
        find_claim(&Appender, &target, data, forced)
    }

    fn proves(data: &[Vec<u8>], index: usize, claimed: &Digest, proof: &[Digest]) -> bool {
        let p = TraceProof {
            leaf_count: data.len() as u32,
            path: proof.iter().map(|d| d.0).collect(),
        };
        verify_trace_proof(&root(data).0, index, &claimed.0, &p)
    }

    #[test]
    fn an_honest_trace_has_nothing_to_challenge() {
        let data = honest();
        assert_eq!(
            find(&data, data.last().unwrap(), None),
            Err(ClaimError::NothingToChallenge)
        );
    }

    #[test]
    fn the_first_wrong_segment_is_claimed_with_proofs_that_verify() {
        let mut data = honest();
        data[2].push(0xff);
        for s in 3..data.len() {
            let mut next = data[s - 1].clone();
            next.push(s as u8);
            data[s] = next;
        }
        let claim = find(&data, data.last().unwrap(), None).unwrap();
        let ChallengeClaim::Segment {
            segment,
            previous,
            previous_proof,
            claimed,
            claimed_proof,
            challenger,
        } = claim
        else {
            panic!("not a segment claim: {claim:?}")
        };
        assert_eq!(segment, 2);
        assert_eq!(previous.as_slice(), data[1].as_slice());
        assert!(proves(
            &data,
            1,
            &Digest(checkpoint_hash(&data[1])),
            &previous_proof
        ));
        assert!(proves(&data, 2, &claimed, &claimed_proof));
        assert_eq!(challenger, Digest(checkpoint_hash(&honest()[2])));
    }

    #[test]
    fn a_wrong_input_or_output_is_claimed_as_such() {
        let mut data = honest();
        data[0] = b"other input".to_vec();
        assert!(matches!(
            find(&data, data.last().unwrap(), None),
            Ok(ChallengeClaim::Input { .. })
        ));
        let data = honest();
        assert!(matches!(
            find(&data, b"not the last checkpoint", None),
            Ok(ChallengeClaim::Output { .. })
        ));
    }

    #[test]
    fn data_that_is_not_the_receipts_trace_and_bad_forced_segments_are_refused() {
        let data = honest();
        let k = kind();
        let other = ClaimTarget {
            kind: &k,
            module: None,
            input: b"in",
            trace_root: Digest([9; 32]),
            segments: 4,
            output: &data[4],
        };
        assert!(matches!(
            find_claim(&Appender, &other, &data, None),
            Err(ClaimError::NotTheTrace { .. })
        ));
        assert!(matches!(
            find_claim(
                &Appender,
                &ClaimTarget {
                    segments: 3,
                    ..other
                },
                &data,
                None
            ),
            Err(ClaimError::CheckpointCount {
                expected: 4,
                got: 5
            })
        ));
        assert_eq!(
            find(&data, &data[4], Some((2, None))),
            Err(ClaimError::SegmentMatches(2))
        );
        assert!(matches!(
            find(&data, &data[4], Some((5, None))),
            Err(ClaimError::SegmentOutOfRange {
                segment: 5,
                segments: 4
            })
        ));
        assert!(matches!(
            find(&data, &data[4], Some((2, Some([7; 32])))),
            Ok(ChallengeClaim::Segment { segment: 2, .. })
        ));
    }
}
