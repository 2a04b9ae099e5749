//! Scenarios by name: who is Byzantine and how, the network, the fault
//! schedule, all drawn from the seed.

use crate::SimError;
use crate::clock::NodeClock;
use crate::network::{LinkModel, Partition};
use aether_types::ValidatorIndex;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every scenario name (`"all"` picks one of these per seed).
pub const SCENARIOS: &[&str] = &[
    "honest",
    "lossy",
    "partition",
    "crash-restart",
    "equivocating-leader",
    "double-voter",
    "withholder",
    "timeout-spammer",
    "bad-signature",
    "replayer",
    "twins",
];

/// How a Byzantine validator misbehaves (on top of running a real core).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Behaviour {
    /// As leader, sends one block to half the validators and another block
    /// (same parent, other payload, both signed) to the other half.
    EquivocatingLeader,
    /// Every vote is followed by a signed vote for another block id.
    DoubleVoter,
    /// Never sends its votes.
    Withholder,
    /// Sends validly signed timeouts for rounds ahead of its own, and
    /// timeouts with bad signatures.
    TimeoutSpammer,
    /// Sends votes, proposals and timeouts with wrong signatures, and
    /// undecodable frames.
    BadSignature,
    /// Re-sends old messages it received, to random validators.
    Replayer,
}

/// A node's part in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows the protocol.
    Honest,
    /// Misbehaves.
    Byzantine(Behaviour),
    /// One of two nodes that share a validator key (each runs an honest core).
    Twin,
}

/// One simulated node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// The validator it signs as.
    pub index: ValidatorIndex,
    /// Its role.
    pub role: Role,
    /// Its clock.
    pub clock: NodeClock,
}

/// A crash (and optional restart) of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crash {
    /// Node id.
    pub node: usize,
    /// When it stops, µs.
    pub at_us: u64,
    /// When it restarts from its disk, µs.
    pub restart_us: Option<u64>,
}

/// Simulated costs of local work (sim time, not CPU time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Executing a block (build or verify), µs.
    pub exec_us: u64,
    /// Writing and syncing the safety state, µs.
    pub persist_us: u64,
    /// One BLS signature, µs.
    pub sign_us: u64,
    /// One BLS (aggregate) verification, µs.
    pub verify_us: u64,
}

impl Costs {
    /// The blst figures of this machine kind and a small block.
    pub const DEFAULT: Costs = Costs {
        exec_us: 500,
        persist_us: 1_000,
        sign_us: 400,
        verify_us: 1_100,
    };
}

/// Everything a run needs (see [`plan`]).
#[derive(Clone, Debug)]
pub struct Plan {
    /// Scenario name.
    pub name: String,
    /// Number of validators.
    pub validators: usize,
    /// The nodes (ids are positions; Twins add a node).
    pub nodes: Vec<NodeSpec>,
    /// Link model.
    pub link: LinkModel,
    /// Partition schedule.
    pub partitions: Vec<Partition>,
    /// Crash schedule.
    pub crashes: Vec<Crash>,
    /// Whether every message between connected nodes arrives (then a
    /// leader that splits its proposals must be caught even when no
    /// single node received both).
    pub reliable: bool,
    /// Local work costs.
    pub costs: Costs,
    /// First round timeout, ms.
    pub base_timeout_ms: u64,
    /// Timeout cap, ms.
    pub max_timeout_ms: u64,
    /// Blocks every honest live node must finalize after the network is
    /// stable (last heal or restart).
    pub target_blocks: u64,
    /// Sim time allowed for that after the stable point, µs.
    pub deadline_us: u64,
    /// Rounds allowed for that after the stable point.
    pub liveness_rounds: u64,
}

impl Plan {
    /// A fault-free plan with fixed latency (benchmarks).
    pub fn benchmark(validators: usize, latency_us: u64, target_blocks: u64) -> Plan {
        Plan {
            name: "benchmark".into(),
            validators,
            nodes: (0..validators)
                .map(|i| NodeSpec {
                    index: ValidatorIndex(i as u16),
                    role: Role::Honest,
                    clock: NodeClock::default(),
                })
                .collect(),
            link: LinkModel::fixed(latency_us),
            partitions: vec![],
            crashes: vec![],
            reliable: true,
            costs: Costs::DEFAULT,
            base_timeout_ms: (latency_us * 20 / 1000).max(50),
            max_timeout_ms: 10_000,
            target_blocks,
            deadline_us: 600_000_000,
            liveness_rounds: target_blocks * 4 + 20,
        }
    }

    /// When the network and all nodes are stable (last heal or restart).
    pub fn stable_at_us(&self) -> u64 {
        let heal = self
            .partitions
            .iter()
            .map(|p| p.until_us)
            .max()
            .unwrap_or(0);
        let restart = self
            .crashes
            .iter()
            .map(|c| c.restart_us.unwrap_or(c.at_us))
            .max()
            .unwrap_or(0);
        heal.max(restart)
    }
}

/// The plan of scenario `name` for `seed` with `validators` validators.
pub fn plan(name: &str, seed: u64, validators: usize) -> Result<Plan, SimError> {
    let name = if name == "all" {
        SCENARIOS[(seed % SCENARIOS.len() as u64) as usize]
    } else {
        name
    };
    if !SCENARIOS.contains(&name) {
        return Err(SimError::UnknownScenario(name.to_string()));
    }
    let needs_faults = !matches!(name, "honest" | "lossy");
    if validators == 0 || validators > 256 || (needs_faults && validators < 4) {
        return Err(SimError::Validators {
            scenario: name.to_string(),
            validators,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5ce7_a410);
    let f = (validators - 1) / 3;
    let mut order: Vec<usize> = (0..validators).collect();
    order.shuffle(&mut rng);
    let byzantine: Vec<usize> = order[..f.max(1)].to_vec();
    let clock = |rng: &mut ChaCha8Rng| NodeClock {
        skew_us: rng.gen_range(-50_000..=50_000),
        drift_ppm: rng.gen_range(-200..=200),
    };
    let mut nodes: Vec<NodeSpec> = (0..validators)
        .map(|i| NodeSpec {
            index: ValidatorIndex(i as u16),
            role: Role::Honest,
            clock: clock(&mut rng),
        })
        .collect();
    let mut link = LinkModel {
        min_latency_us: 2_000,
        max_latency_us: 20_000,
        jitter_us: 3_000,
        loss: 0.0,
        duplicate: 0.0,
    };
    let mut partitions = Vec::new();
    let mut crashes = Vec::new();
    let mut reliable = true;
    let behaviour = match name {
        "equivocating-leader" => Some(Behaviour::EquivocatingLeader),
        "double-voter" => Some(Behaviour::DoubleVoter),
        "withholder" => Some(Behaviour::Withholder),
        "timeout-spammer" => Some(Behaviour::TimeoutSpammer),
        "bad-signature" => Some(Behaviour::BadSignature),
        "replayer" => Some(Behaviour::Replayer),
        _ => None,
    };
    if let Some(b) = behaviour {
        for i in &byzantine {
            nodes[*i].role = Role::Byzantine(b);
        }
    }
    match name {
        "lossy" => {
            link.loss = rng.gen_range(0.02..0.15);
            link.duplicate = rng.gen_range(0.0..0.1);
            link.jitter_us = 30_000; // reorders freely
            reliable = false;
        }
        "partition" => {
            reliable = false;
            let mut start = rng.gen_range(20_000..300_000);
            for _ in 0..rng.gen_range(1..=2) {
                let mut members: Vec<usize> = (0..validators).collect();
                members.shuffle(&mut rng);
                let cut = rng.gen_range(1..validators);
                let duration = rng.gen_range(200_000..2_000_000);
                partitions.push(Partition {
                    from_us: start,
                    until_us: start + duration,
                    groups: vec![members[..cut].to_vec(), members[cut..].to_vec()],
                });
                start += duration + rng.gen_range(0..500_000);
            }
        }
        "crash-restart" => {
            reliable = false;
            for (k, node) in byzantine.iter().enumerate() {
                let at = rng.gen_range(20_000..600_000) + k as u64 * 100_000;
                let down = rng.gen_range(100_000..1_500_000);
                crashes.push(Crash {
                    node: *node,
                    at_us: at,
                    restart_us: Some(at + down),
                });
                // Sometimes the same node crashes again after it came back.
                if rng.gen_bool(0.3) {
                    let again = at + down + rng.gen_range(50_000..400_000);
                    crashes.push(Crash {
                        node: *node,
                        at_us: again,
                        restart_us: Some(again + rng.gen_range(50_000..800_000)),
                    });
                }
            }
        }
        "twins" => {
            reliable = false;
            let twin_of = byzantine[0];
            nodes[twin_of].role = Role::Twin;
            let twin = nodes.len();
            nodes.push(NodeSpec {
                index: ValidatorIndex(twin_of as u16),
                role: Role::Twin,
                clock: clock(&mut rng),
            });
            let mut start = rng.gen_range(0..200_000);
            for _ in 0..rng.gen_range(1..=3) {
                let mut honest: Vec<usize> = (0..validators).filter(|i| *i != twin_of).collect();
                honest.shuffle(&mut rng);
                let cut = rng.gen_range(0..=honest.len());
                let mut a = vec![twin_of];
                a.extend_from_slice(&honest[..cut]);
                let mut b = vec![twin];
                b.extend_from_slice(&honest[cut..]);
                let duration = rng.gen_range(100_000..1_500_000);
                partitions.push(Partition {
                    from_us: start,
                    until_us: start + duration,
                    groups: vec![a, b],
                });
                start += duration + rng.gen_range(0..300_000);
            }
        }
        _ => {}
    }
    Ok(Plan {
        name: name.to_string(),
        validators,
        nodes,
        link,
        partitions,
        crashes,
        reliable,
        costs: Costs::DEFAULT,
        base_timeout_ms: 200,
        max_timeout_ms: 5_000,
        // Byzantine validators need rounds to act in (each leads about a
        // quarter of them with 4 validators); fault-free runs stop sooner.
        target_blocks: match name {
            "honest" | "lossy" => 6,
            "partition" | "crash-restart" | "twins" => 3,
            _ => 10,
        },
        deadline_us: 60_000_000,
        liveness_rounds: 60,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_seeded_and_checked() {
        for name in SCENARIOS {
            let a = plan(name, 7, 4).unwrap();
            let b = plan(name, 7, 4).unwrap();
            assert_eq!(a.nodes, b.nodes);
            assert_eq!(a.partitions, b.partitions);
            assert_eq!(a.crashes, b.crashes);
        }
        assert_eq!(plan("all", 3, 4).unwrap().name, SCENARIOS[3]);
        assert!(matches!(
            plan("nope", 1, 4),
            Err(SimError::UnknownScenario(_))
        ));
        assert!(matches!(
            plan("twins", 1, 3),
            Err(SimError::Validators { .. })
        ));
        let twins = plan("twins", 1, 4).unwrap();
        assert_eq!(twins.nodes.len(), 5);
        let byz = plan("double-voter", 1, 7).unwrap();
        let count = byz
            .nodes
            .iter()
            .filter(|n| matches!(n.role, Role::Byzantine(_)))
            .count();
        assert_eq!(count, 2);
    }
}
