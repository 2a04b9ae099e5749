//! The simulated network: a [`Transport`] handle per node, and the link
//! model the simulator uses to turn a send into deliveries.
//!
//! A message sent at time `t` from node `a` to node `b`:
//! - is dropped if `a` and `b` are on different sides of a partition in
//!   force at `t`, or with probability `loss`;
//! - otherwise arrives at `t + base(a, b) + U[0, jitter]`, where `base` is
//!   drawn once per link from `[min_latency, max_latency]`; independent
//!   jitter per message reorders messages;
//! - with probability `duplicate` arrives a second time (with its own jitter).
//!
//! Messages travel encoded (the canonical encoding) and are decoded on
//! arrival, so every delivery exercises the real decoder; undecodable
//! bytes (a Byzantine sender's garbage) never reach the core.

use aether_chain_api::{Inbound, Transport, TransportError};
use aether_types::{ConsensusMsg, ValidatorIndex};
use rand::Rng;
use std::collections::VecDeque;

/// Where an outgoing message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// One validator (every node holding its key, for Twins).
    One(ValidatorIndex),
    /// Every other validator.
    AllOthers,
}

/// A message a node handed to its transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Where to.
    pub to: Destination,
    /// The message.
    pub message: ConsensusMsg,
}

/// A node's handle on the simulated network.
#[derive(Debug)]
pub struct SimTransport {
    validators: usize,
    outbox: Vec<Outgoing>,
    inbox: VecDeque<Inbound<ConsensusMsg>>,
}

impl SimTransport {
    /// A handle for a node in a network of `validators` validators.
    pub fn new(validators: usize) -> Self {
        SimTransport {
            validators,
            outbox: Vec::new(),
            inbox: VecDeque::new(),
        }
    }

    /// Takes what the node sent since the last call (the simulator routes it).
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outbox)
    }

    /// Places a received message in the inbox.
    pub fn deliver(&mut self, from: ValidatorIndex, message: ConsensusMsg) {
        self.inbox.push_back(Inbound { from, message });
    }

    /// Drops everything queued (a crash).
    pub fn clear(&mut self) {
        self.outbox.clear();
        self.inbox.clear();
    }
}

impl Transport<ConsensusMsg> for SimTransport {
    fn send(&mut self, to: ValidatorIndex, message: ConsensusMsg) -> Result<(), TransportError> {
        if usize::from(to.0) >= self.validators {
            return Err(TransportError::UnknownPeer(to));
        }
        self.outbox.push(Outgoing {
            to: Destination::One(to),
            message,
        });
        Ok(())
    }

    fn broadcast(&mut self, message: ConsensusMsg) -> Result<(), TransportError> {
        self.outbox.push(Outgoing {
            to: Destination::AllOthers,
            message,
        });
        Ok(())
    }

    fn try_recv(&mut self) -> Option<Inbound<ConsensusMsg>> {
        self.inbox.pop_front()
    }
}

/// Latency, jitter, loss and duplication of every link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    /// Smallest base latency of a link, µs.
    pub min_latency_us: u64,
    /// Largest base latency of a link, µs.
    pub max_latency_us: u64,
    /// Extra per-message delay drawn from `[0, jitter]`, µs.
    pub jitter_us: u64,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
}

impl LinkModel {
    /// Fixed latency, no jitter, no loss.
    pub fn fixed(latency_us: u64) -> Self {
        LinkModel {
            min_latency_us: latency_us,
            max_latency_us: latency_us,
            jitter_us: 0,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// A partition in force during `[from_us, until_us)`: nodes talk only
/// within their group (a node in no group is cut off from everyone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Start, µs.
    pub from_us: u64,
    /// End (the heal), µs.
    pub until_us: u64,
    /// Groups of node ids.
    pub groups: Vec<Vec<usize>>,
}

impl Partition {
    fn separates(&self, a: usize, b: usize, t: u64) -> bool {
        if t < self.from_us || t >= self.until_us {
            return false;
        }
        let group = |n: usize| self.groups.iter().position(|g| g.contains(&n));
        match (group(a), group(b)) {
            (Some(x), Some(y)) => x != y,
            _ => true,
        }
    }
}

/// Links between every pair of nodes, and the partition schedule.
#[derive(Clone, Debug)]
pub struct NetworkModel {
    link: LinkModel,
    base: Vec<Vec<u64>>,
    partitions: Vec<Partition>,
}

impl NetworkModel {
    /// Draws the base latency of every link among `nodes` nodes.
    pub fn new<R: Rng>(
        rng: &mut R,
        nodes: usize,
        link: LinkModel,
        partitions: Vec<Partition>,
    ) -> Self {
        let mut base = vec![vec![0u64; nodes]; nodes];
        let pairs: Vec<(usize, usize)> = (0..nodes)
            .flat_map(|a| ((a + 1)..nodes).map(move |b| (a, b)))
            .collect();
        for (a, b) in pairs {
            let l = if link.max_latency_us > link.min_latency_us {
                rng.gen_range(link.min_latency_us..=link.max_latency_us)
            } else {
                link.min_latency_us
            };
            base[a][b] = l;
            base[b][a] = l;
        }
        NetworkModel {
            link,
            base,
            partitions,
        }
    }

    /// Whether `a` and `b` can talk at `t`.
    pub fn connected(&self, a: usize, b: usize, t: u64) -> bool {
        !self.partitions.iter().any(|p| p.separates(a, b, t))
    }

    /// Delivery times of one message sent from `a` to `b` at `t` (none if
    /// it is cut or lost, two if duplicated).
    pub fn deliveries<R: Rng>(&self, rng: &mut R, a: usize, b: usize, t: u64) -> Vec<u64> {
        if !self.connected(a, b, t) {
            return Vec::new();
        }
        if self.link.loss > 0.0 && rng.gen_bool(self.link.loss) {
            return Vec::new();
        }
        let delay = |rng: &mut R| {
            let jitter = if self.link.jitter_us > 0 {
                rng.gen_range(0..=self.link.jitter_us)
            } else {
                0
            };
            t + self.base[a][b] + jitter
        };
        let mut out = vec![delay(rng)];
        if self.link.duplicate > 0.0 && rng.gen_bool(self.link.duplicate) {
            out.push(delay(rng));
        }
        out
    }

    /// When the last partition heals (0 without partitions).
    pub fn last_heal_us(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| p.until_us)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn partitions_cut_and_heal() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = Partition {
            from_us: 10,
            until_us: 20,
            groups: vec![vec![0, 1], vec![2]],
        };
        let net = NetworkModel::new(&mut rng, 4, LinkModel::fixed(5), vec![p]);
        assert!(net.connected(0, 2, 9));
        assert!(!net.connected(0, 2, 10));
        assert!(net.connected(0, 1, 15));
        assert!(!net.connected(0, 3, 15), "node 3 is in no group");
        assert!(net.connected(0, 2, 20));
        assert_eq!(net.deliveries(&mut rng, 0, 1, 100), vec![105]);
        assert!(net.deliveries(&mut rng, 0, 2, 12).is_empty());
        assert_eq!(net.last_heal_us(), 20);
    }

    #[test]
    fn loss_and_duplication_rates() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let link = LinkModel {
            min_latency_us: 1,
            max_latency_us: 1,
            jitter_us: 10,
            loss: 0.2,
            duplicate: 0.1,
        };
        let net = NetworkModel::new(&mut rng, 2, link, vec![]);
        let mut delivered = 0;
        for _ in 0..10_000 {
            delivered += net.deliveries(&mut rng, 0, 1, 0).len();
        }
        // 0.8 * 1.1 = 0.88 deliveries per send.
        assert!((8_500..9_100).contains(&delivered), "{delivered}");
    }

    #[test]
    fn transport_queues() {
        let mut t = SimTransport::new(3);
        t.send(
            ValidatorIndex(1),
            ConsensusMsg::BlockRequest(aether_types::BlockRequest {
                block: Default::default(),
                ancestors: 0,
            }),
        )
        .unwrap();
        assert_eq!(
            t.send(
                ValidatorIndex(3),
                ConsensusMsg::BlockRequest(aether_types::BlockRequest {
                    block: Default::default(),
                    ancestors: 0,
                })
            ),
            Err(TransportError::UnknownPeer(ValidatorIndex(3)))
        );
        assert_eq!(t.take_outgoing().len(), 1);
        assert!(t.try_recv().is_none());
        t.deliver(
            ValidatorIndex(2),
            ConsensusMsg::BlockRequest(aether_types::BlockRequest {
                block: Default::default(),
                ancestors: 0,
            }),
        );
        assert_eq!(t.try_recv().unwrap().from, ValidatorIndex(2));
    }
}
