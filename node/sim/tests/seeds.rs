//! The simulation suite: determinism, every scenario, and many seeds.

use aether_sim::{SCENARIOS, Violation, run, run_many};

#[test]
fn same_seed_same_digest_other_seed_other_digest() {
    for scenario in ["honest", "lossy", "twins", "crash-restart"] {
        let a = run(scenario, 11, 4).unwrap();
        let b = run(scenario, 11, 4).unwrap();
        assert_eq!(a.digest, b.digest, "{scenario} is not deterministic");
        assert_eq!(a.blocks_finalized, b.blocks_finalized);
        let c = run(scenario, 12, 4).unwrap();
        assert_ne!(a.digest, c.digest, "{scenario}: the seed changes nothing");
    }
}

#[test]
fn every_scenario_is_clean_and_finalizes() {
    for scenario in SCENARIOS {
        let report = run(scenario, 5, 4).unwrap();
        assert!(report.is_clean(), "{scenario}: {:?}", report.violations);
        assert!(
            report.blocks_finalized >= 3,
            "{scenario}: {}",
            report.blocks_finalized
        );
    }
}

#[test]
fn byzantine_equivocations_are_caught() {
    // Over a few seeds the equivocators lead or vote and are reported.
    let mut evidence = 0;
    for seed in 0..4 {
        evidence += run("equivocating-leader", seed, 4).unwrap().evidence;
        evidence += run("double-voter", seed, 4).unwrap().evidence;
    }
    assert!(evidence >= 4, "{evidence}");
}

#[test]
fn seven_validators_with_two_byzantine() {
    for scenario in ["double-voter", "bad-signature", "partition"] {
        let report = run(scenario, 3, 7).unwrap();
        assert!(report.is_clean(), "{scenario}: {:?}", report.violations);
    }
}

#[test]
fn unknown_scenarios_and_too_few_validators_are_errors() {
    assert!(run("nope", 1, 4).is_err());
    assert!(run("twins", 1, 3).is_err());
    assert!(
        run("honest", 1, 1).unwrap().is_clean(),
        "one validator is a chain too"
    );
}

/// A broken invariant is reported, not hidden: a liveness bound of zero
/// rounds cannot be met.
#[test]
fn violations_are_reported() {
    let mut plan = aether_sim::plan("honest", 1, 4).unwrap();
    plan.liveness_rounds = 0;
    plan.target_blocks = 5;
    let report = aether_sim::run_plan(plan, 1);
    assert!(
        report
            .violations
            .iter()
            .any(|v| matches!(v, Violation::Liveness { .. }))
    );
}

/// At least 1,000 seeds across all scenarios (release mode; a debug build
/// runs a smaller sample). `AETHER_SIM_SEEDS` overrides the count.
#[test]
fn many_seeds_across_all_scenarios() {
    let default = if cfg!(debug_assertions) { 44 } else { 1_100 };
    let seeds = std::env::var("AETHER_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    let start = std::time::Instant::now();
    let summary = run_many("all", 0, seeds, 4, 2).unwrap();
    println!("{summary} in {:.1} s", start.elapsed().as_secs_f64());
    assert_eq!(summary.seeds, seeds);
    assert!(
        summary.failures.is_empty(),
        "{summary}\n{:?}",
        summary.failures
    );
    assert!(summary.blocks_finalized >= 3 * seeds);
}
