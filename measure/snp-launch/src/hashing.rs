//! Bulk hashing of the large inputs: SHA-256 streams (kernel, initrd, and the
//! firmware for SEV / SEV-ES) and SHA-384 of every 4 KiB firmware page for
//! SNP, spread over a few scoped threads.
//!
//! Only these hashes cost anything (tens of MB); the `PAGE_INFO` chain that
//! follows is ~2 SHA-384 blocks per page and stays sequential. Page digests
//! are independent, so the pages are cut into chunks that idle threads pick
//! from a shared queue after the (indivisible) streams, largest first.
//! Nothing is copied: every job reads the caller's slices in place.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::PAGE_SIZE;
use crate::page_info::{Sha384Digest, sha384};

/// How many threads to hash with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Hash on the calling thread only.
    Sequential,
    /// Use up to this many threads (including the calling thread).
    Threads(NonZeroUsize),
    /// Use the available parallelism of the machine, at most 8 threads.
    #[default]
    Auto,
}

impl Parallelism {
    fn threads(self) -> usize {
        match self {
            Parallelism::Sequential => 1,
            Parallelism::Threads(n) => n.get(),
            Parallelism::Auto => std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        }
    }
}

/// Pages per queued chunk (256 KiB): small enough to balance two threads,
/// large enough that queue overhead is noise.
const CHUNK_PAGES: usize = 64;
/// Below this many bytes in all, threads cost more than they save.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

enum Job<'a, 'o> {
    Stream {
        data: &'a [u8],
        state: &'o mut Sha256,
    },
    Pages {
        data: &'a [u8],
        out: &'o mut [Sha384Digest],
    },
}

impl Job<'_, '_> {
    fn run(self) {
        match self {
            Job::Stream { data, state } => state.update(data),
            Job::Pages { data, out } => {
                for (page, digest) in data.chunks(PAGE_SIZE).zip(out.iter_mut()) {
                    *digest = sha384(page);
                }
            }
        }
    }
}

/// Appends `streams[i]` to `states[i]` (SHA-256) and writes the SHA-384 of
/// each 4 KiB page of `page_sets[j]` (a whole number of pages) into
/// `page_digests[j]`, which the caller sizes to the page count.
pub(crate) fn hash_all(
    streams: &[&[u8]],
    states: &mut [Sha256],
    page_sets: &[&[u8]],
    page_digests: &mut [Vec<Sha384Digest>],
    parallelism: Parallelism,
) {
    let mut jobs: Vec<Job<'_, '_>> = streams
        .iter()
        .zip(states.iter_mut())
        .map(|(data, state)| Job::Stream { data, state })
        .collect();
    jobs.sort_by_key(|j| match j {
        Job::Stream { data, .. } => std::cmp::Reverse(data.len()),
        Job::Pages { .. } => std::cmp::Reverse(0),
    });
    for (data, out) in page_sets.iter().zip(page_digests.iter_mut()) {
        let chunks = data.chunks(CHUNK_PAGES * PAGE_SIZE);
        for (data, out) in chunks.zip(out.chunks_mut(CHUNK_PAGES)) {
            jobs.push(Job::Pages { data, out });
        }
    }
    let total: usize = streams.iter().chain(page_sets).map(|d| d.len()).sum();
    let threads = if total < PARALLEL_MIN_BYTES {
        1
    } else {
        parallelism.threads().min(jobs.len())
    };
    if threads <= 1 {
        jobs.into_iter().for_each(Job::run);
        return;
    }
    let queue = Mutex::new(jobs.into_iter());
    let work = || {
        loop {
            // A poisoned lock only means another worker panicked; the queue
            // itself is still consistent.
            let job = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            match job {
                Some(job) => job.run(),
                None => break,
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            // If a thread cannot be spawned the others (at least the calling
            // thread) drain the queue.
            let _ = std::thread::Builder::new().spawn_scoped(scope, work);
        }
        work();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_equals_sequential() {
        let pages: Vec<u8> = (0..(300 * PAGE_SIZE)).map(|i| (i % 251) as u8).collect();
        let stream: Vec<u8> = (0..3_000_000).map(|i| (i % 13) as u8).collect();
        let run = |p: Parallelism| {
            let mut states = vec![Sha256::new()];
            let mut digests = vec![vec![[0u8; 48]; 300]];
            hash_all(&[&stream], &mut states, &[&pages], &mut digests, p);
            let s: [u8; 32] = states.pop().unwrap().finalize().into();
            (s, digests)
        };
        let (s1, d1) = run(Parallelism::Sequential);
        let (s2, d2) = run(Parallelism::Threads(NonZeroUsize::new(3).unwrap()));
        assert_eq!(s1, s2);
        assert_eq!(d1, d2);
        assert_eq!(d1[0][7], sha384(&pages[7 * PAGE_SIZE..8 * PAGE_SIZE]));
        assert_eq!(s1, crate::hashes_table::sha256(&stream));
    }
}
