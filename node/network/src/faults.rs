//! Fault injection around the real transport, for loopback tests: the
//! simulator's link faults (delay, loss, partition) applied to the frames
//! a node hands to QUIC.
//!
//! A [`Faults`] handle is shared by every node of a test (give the same
//! `Arc` to each node's [`crate::NetworkConfig::faults`]); each node asks
//! it, for every outgoing frame to another validator, whether to deliver,
//! drop or delay it. The sockets, QUIC, TLS, framing and decoding stay
//! real; only the decision to put a frame on the wire is taken here. A
//! node without faults never consults it.
//!
//! - **Partition**: groups of validators; a frame between two groups is
//!   dropped until [`Faults::heal`]. Validators in no group are cut off
//!   from every group.
//! - **Loss**: per link (or a default for all), on chosen lanes: random
//!   with a probability (seeded, so a test replays), or periodic (`drop`
//!   frames of every `every`: exactly that fraction, for tests that need a
//!   known share lost, such as 50% of a batch's shreds).
//! - **Delay**: every frame of the link waits this long before it is
//!   queued (frames are not reordered by the delay itself).

use crate::frame::Lane;
use aether_types::ValidatorIndex;
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// How a link loses frames.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Never.
    None,
    /// Each frame with this probability.
    Random(f64),
    /// `drop` frames out of every `every`, the first `drop` of each cycle.
    Periodic {
        /// Frames dropped per cycle.
        drop: u32,
        /// Cycle length.
        every: u32,
    },
}

/// The faults of one directed link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkFault {
    /// Extra delay of every frame.
    pub delay: Duration,
    /// Loss.
    pub loss: Loss,
    /// Lanes the loss applies to (the delay applies to all).
    pub lossy_lanes: Vec<Lane>,
}

impl Default for LinkFault {
    fn default() -> Self {
        LinkFault {
            delay: Duration::ZERO,
            loss: Loss::None,
            lossy_lanes: Lane::ALL.to_vec(),
        }
    }
}

/// What happens to one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it now.
    Deliver,
    /// Lose it.
    Drop,
    /// Send it after this delay.
    Delay(Duration),
}

#[derive(Debug)]
struct State {
    default: LinkFault,
    links: HashMap<(ValidatorIndex, ValidatorIndex), LinkFault>,
    counters: HashMap<(ValidatorIndex, ValidatorIndex, Lane), u32>,
    partition: Option<Vec<BTreeSet<ValidatorIndex>>>,
    rng: ChaCha20Rng,
    dropped: u64,
}

/// The fault plan shared by the nodes of a test (see the module docs).
#[derive(Debug)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    /// No faults yet; random loss draws from `seed`.
    pub fn new(seed: u64) -> Self {
        Faults {
            state: Mutex::new(State {
                default: LinkFault::default(),
                links: HashMap::new(),
                counters: HashMap::new(),
                partition: None,
                rng: ChaCha20Rng::seed_from_u64(seed),
                dropped: 0,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    /// Faults of every link without its own.
    pub fn set_default(&self, fault: LinkFault) {
        self.with(|s| s.default = fault);
    }

    /// Faults of the link `from -> to`.
    pub fn set_link(&self, from: ValidatorIndex, to: ValidatorIndex, fault: LinkFault) {
        self.with(|s| {
            s.links.insert((from, to), fault);
        });
    }

    /// Splits the validators into groups that cannot reach each other.
    pub fn partition(&self, groups: Vec<BTreeSet<ValidatorIndex>>) {
        self.with(|s| s.partition = Some(groups));
    }

    /// Ends the partition.
    pub fn heal(&self) {
        self.with(|s| s.partition = None);
    }

    /// Frames dropped so far (loss and partition).
    pub fn dropped(&self) -> u64 {
        self.with(|s| s.dropped)
    }

    /// The fate of one frame from `from` to `to` on `lane`.
    pub fn decide(&self, from: ValidatorIndex, to: ValidatorIndex, lane: Lane) -> Verdict {
        self.with(|s| {
            if let Some(groups) = &s.partition {
                let together = groups.iter().any(|g| g.contains(&from) && g.contains(&to));
                if !together {
                    s.dropped += 1;
                    return Verdict::Drop;
                }
            }
            let fault = s.links.get(&(from, to)).unwrap_or(&s.default).clone();
            let lost = fault.lossy_lanes.contains(&lane)
                && match fault.loss {
                    Loss::None => false,
                    Loss::Random(p) => s.rng.gen_bool(p.clamp(0.0, 1.0)),
                    Loss::Periodic { drop, every } => {
                        let c = s.counters.entry((from, to, lane)).or_default();
                        let pos = *c % every.max(1);
                        *c = c.wrapping_add(1);
                        pos < drop
                    }
                };
            if lost {
                s.dropped += 1;
                Verdict::Drop
            } else if fault.delay > Duration::ZERO {
                Verdict::Delay(fault.delay)
            } else {
                Verdict::Deliver
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ValidatorIndex = ValidatorIndex(0);
    const B: ValidatorIndex = ValidatorIndex(1);
    const C: ValidatorIndex = ValidatorIndex(2);

    #[test]
    fn partitions_block_across_groups_and_heal() {
        let f = Faults::new(1);
        assert_eq!(f.decide(A, C, Lane::Consensus), Verdict::Deliver);
        f.partition(vec![[A, B].into(), [C].into()]);
        assert_eq!(f.decide(A, B, Lane::Consensus), Verdict::Deliver);
        assert_eq!(f.decide(A, C, Lane::Consensus), Verdict::Drop);
        assert_eq!(f.decide(C, B, Lane::Bulk), Verdict::Drop);
        f.heal();
        assert_eq!(f.decide(A, C, Lane::Consensus), Verdict::Deliver);
        assert_eq!(f.dropped(), 2);
    }

    #[test]
    fn periodic_loss_drops_exactly_its_share_on_its_lanes() {
        let f = Faults::new(1);
        f.set_default(LinkFault {
            loss: Loss::Periodic { drop: 1, every: 2 },
            lossy_lanes: vec![Lane::Shred],
            ..LinkFault::default()
        });
        let kept = (0..64)
            .filter(|_| f.decide(A, B, Lane::Shred) == Verdict::Deliver)
            .count();
        assert_eq!(kept, 32);
        assert!((0..10).all(|_| f.decide(A, B, Lane::Consensus) == Verdict::Deliver));
    }

    #[test]
    fn random_loss_and_delay() {
        let f = Faults::new(7);
        f.set_link(
            A,
            B,
            LinkFault {
                loss: Loss::Random(0.3),
                delay: Duration::from_millis(5),
                ..LinkFault::default()
            },
        );
        let verdicts: Vec<Verdict> = (0..1000).map(|_| f.decide(A, B, Lane::Bulk)).collect();
        let dropped = verdicts.iter().filter(|v| **v == Verdict::Drop).count();
        assert!((200..400).contains(&dropped), "{dropped}");
        assert!(verdicts.contains(&Verdict::Delay(Duration::from_millis(5))));
        assert_eq!(f.decide(B, A, Lane::Bulk), Verdict::Deliver);
    }
}
