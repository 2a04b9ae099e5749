//! Simulated finality of 4 validators: time from a proposal's broadcast to
//! the block being final, at 1 ms and 50 ms links, with the modelled local
//! costs (execution, BLS signing and verification, the fsync of the safety
//! state).
//!
//! Run: `cargo bench -p aether-sim --bench finality`.
//!
//! Goals (issue 12): at 1 ms links <= 3 message delays + execution; at 50 ms
//! links p50 <= 500 ms. The two-chain rule needs the QC of the *next*
//! block, so the protocol's floor is 4 message delays from proposal to
//! final (proposal, votes, next proposal, its votes); local costs add.

use aether_sim::scenario::Costs;
use aether_sim::{Plan, run_plan};

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn case(label: &str, latency_us: u64, costs: Costs) {
    let mut plan = Plan::benchmark(4, latency_us, 300);
    plan.costs = costs;
    let start = std::time::Instant::now();
    let report = run_plan(plan, 1);
    assert!(report.is_clean(), "{:?}", report.violations);
    let mut first: Vec<u64> = report.finality_us.iter().map(|f| f.0).collect();
    let mut all: Vec<u64> = report.finality_us.iter().map(|f| f.1).collect();
    first.sort_unstable();
    all.sort_unstable();
    let delta = latency_us as f64 / 1000.0;
    println!(
        "{label:<44} blocks {:>4}  first node p50 {:>7.2} ms p99 {:>7.2} ms | all nodes p50 {:>7.2} ms p99 {:>7.2} ms | = {:.1} delays at p50 (wall {:.1} s)",
        report.finality_us.len(),
        percentile(&first, 0.5),
        percentile(&first, 0.99),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&first, 0.5) / delta,
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    let costs = Costs::DEFAULT;
    let free = Costs {
        exec_us: 0,
        persist_us: 0,
        sign_us: 0,
        verify_us: 0,
    };
    let fsync = Costs {
        persist_us: 4_000,
        ..costs
    };
    println!(
        "modelled costs: execution {} us, persist {} us (4,000 us = measured fsync p50), BLS sign {} us, verify {} us",
        costs.exec_us, costs.persist_us, costs.sign_us, costs.verify_us
    );
    println!("goal: 1 ms links <= 3 delays + execution; 50 ms links p50 <= 500 ms");
    case("1 ms links, no local costs (protocol only)", 1_000, free);
    case("1 ms links, default costs", 1_000, costs);
    case("1 ms links, default costs, 4 ms fsync", 1_000, fsync);
    case("50 ms links, no local costs (protocol only)", 50_000, free);
    case("50 ms links, default costs", 50_000, costs);
    case("50 ms links, default costs, 4 ms fsync", 50_000, fsync);
}
