//! A seeded discrete-event simulator of an Aether validator network: the
//! real consensus core (`aether-consensus`) on N validators in one
//! process, over a simulated network, clock, disk and application, with
//! Byzantine validators and invariant checks on every run.
//!
//! ```text
//!  ┌──────────────────────── Simulation (one ChaCha8 RNG, one event queue) ───────────────────────┐
//!  │  node 0 ─ driver ─ Core ◄─► SimApp (BlockLifecycle)   disk: SafetyState + committed blocks    │
//!  │  node 1 ─ driver ─ Core ...                                                                   │
//!  │    │  Transport (SimTransport) ──► NetworkModel: latency, jitter, loss, duplication,          │
//!  │    │                              reordering, partitions that heal                            │
//!  │    └─ Byzantine behaviours transform what a node sends (Behaviour), Twins share a key         │
//!  │  invariants: safety, final heights grow, honest nodes never sign conflicts, evidence,         │
//!  │              liveness after the network is stable; trace digest                               │
//!  └───────────────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! # Determinism
//! All randomness comes from one `ChaCha8Rng` seeded by the seed; events
//! are ordered by (time, sequence number); nothing reads the system clock
//! or iterates a randomly ordered map. Every processed event is hashed into
//! the trace digest, so the same seed gives the same digest (a test checks
//! it), and a failing seed replays exactly.
//!
//! # What is modelled
//! - **Network** ([`network`]): per-link base latency, per-message jitter
//!   (reordering), loss, duplication, partitions with heal times.
//!   Messages travel as canonical bytes and are decoded on arrival.
//! - **Clock** ([`clock`]): per-node skew (header timestamps) and drift
//!   (timers).
//! - **Local work** ([`scenario::Costs`]): block execution, the fsync of
//!   the safety state (a `Persist` delays everything after it), BLS
//!   signing and verification, as simulated time. CPU time is real: the
//!   core signs and verifies with real BLS (verdicts are memoised across
//!   the nodes of a run, see `aether_consensus::VerifyMemo`).
//! - **Crash and restart**: a crashed node loses its core, pending blocks
//!   and queues; it restarts from its disk: the last persisted
//!   `SafetyState` and the app's committed blocks.
//! - **Byzantine validators** ([`scenario::Behaviour`]): equivocating
//!   leader, double voter, vote withholder, timeout spammer,
//!   invalid-signature sender, replayer; and Twins (two nodes with one key
//!   under partition schedules).
//!
//! # Invariants (checked on every run)
//! 1. No two different blocks are final at one height on honest nodes.
//! 2. Each node's final height grows by exactly one per commit (also
//!    across restarts).
//! 3. Honest validators never sign two different votes or proposals in
//!    one round (also across restarts).
//! 4. Every Byzantine equivocation that honest nodes could observe (both
//!    statements reached one honest node; or, on a reliable network, a
//!    leader's two proposals reached honest nodes) yields evidence; every
//!    evidence verifies and none accuses an honest validator. (The slash
//!    itself is ledger work.)
//! 5. Liveness: after the last heal or restart, the chain finalizes
//!    `target_blocks` more blocks within `liveness_rounds` rounds (counted
//!    from the highest honest round at that point), and every live honest
//!    node does within the deadline (a node that was cut off catches up by
//!    fetching the blocks it missed, one per round trip).
//!
//! # Entry point
//! ```
//! let report = aether_sim::run("honest", 7, 4).unwrap();
//! assert!(report.is_clean(), "{:?}", report.violations);
//! assert!(report.blocks_finalized >= 3);
//! ```

pub mod app;
pub mod clock;
pub mod network;
pub mod runner;
pub mod scenario;

pub use runner::{RunReport, Simulation, Violation};
pub use scenario::{Behaviour, Plan, Role, SCENARIOS, plan};

use aether_consensus::VerifyMemo;

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No scenario of that name.
    #[error("unknown scenario {0:?} (known: {known}, or \"all\")", known = SCENARIOS.join(", "))]
    UnknownScenario(String),
    /// Too few (or too many) validators for the scenario.
    #[error("scenario {scenario} cannot run with {validators} validators")]
    Validators {
        /// Scenario.
        scenario: String,
        /// Validators asked for.
        validators: usize,
    },
}

/// Runs scenario `scenario` (a name from [`SCENARIOS`], or `"all"`, which
/// picks one per seed) with `validators` validators from `seed`.
pub fn run(scenario: &str, seed: u64, validators: usize) -> Result<RunReport, SimError> {
    let plan = plan(scenario, seed, validators)?;
    Ok(run_plan(plan, seed))
}

/// Runs an explicit plan (benchmarks build their own).
pub fn run_plan(plan: Plan, seed: u64) -> RunReport {
    Simulation::new(plan, seed, VerifyMemo::new()).run()
}

/// Totals of many runs.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Sum of `blocks_finalized`.
    pub blocks_finalized: u64,
    /// Runs with violations: (scenario, seed, violations).
    pub failures: Vec<(String, u64, Vec<Violation>)>,
    /// Evidence produced.
    pub evidence: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seeds run: {}, blocks finalized: {}, violations found: {}",
            self.seeds,
            self.blocks_finalized,
            self.failures.iter().map(|(_, _, v)| v.len()).sum::<usize>()
        )?;
        for (scenario, seed, _) in &self.failures {
            write!(f, "\n  replay: scenario {scenario} seed {seed}")?;
        }
        Ok(())
    }
}

/// Runs `seeds` seeds from `first_seed` on `threads` threads (the
/// `aether sim` command's body).
pub fn run_many(
    scenario: &str,
    first_seed: u64,
    seeds: u64,
    validators: usize,
    threads: usize,
) -> Result<Summary, SimError> {
    plan(scenario, first_seed, validators)?;
    let threads = threads.max(1) as u64;
    let results: Vec<Result<Vec<RunReport>, SimError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (first_seed + t..first_seed + seeds)
                        .step_by(threads as usize)
                        .map(|seed| run(scenario, seed, validators))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a simulation thread panicked"))
            .collect()
    });
    let mut summary = Summary::default();
    for reports in results {
        for r in reports? {
            summary.seeds += 1;
            summary.blocks_finalized += r.blocks_finalized;
            summary.evidence += r.evidence as u64;
            if !r.violations.is_empty() {
                summary.failures.push((r.scenario, r.seed, r.violations));
            }
        }
    }
    summary.failures.sort_by_key(|(_, seed, _)| *seed);
    Ok(summary)
}
