//! Runs the simulation from the command line until `aether sim` exists:
//! `cargo run --release -p aether-sim --example sim -- SCENARIO FIRST_SEED SEEDS VALIDATORS`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).map(String::as_str).unwrap_or("all");
    let first: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let seeds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let validators: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(4);
    if seeds == 1 {
        match aether_sim::run(scenario, first, validators) {
            Ok(r) => {
                println!(
                    "{} seed {}: blocks {} rounds {} messages {} evidence {} sim {} ms digest {}",
                    r.scenario,
                    r.seed,
                    r.blocks_finalized,
                    r.max_round,
                    r.messages,
                    r.evidence,
                    r.sim_time_us / 1000,
                    r.digest_hex()
                );
                for v in &r.violations {
                    println!("  violation: {v}");
                }
                std::process::exit(i32::from(!r.violations.is_empty()));
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
    }
    let start = std::time::Instant::now();
    match aether_sim::run_many(scenario, first, seeds, validators, 2) {
        Ok(summary) => {
            println!("{summary} ({:.1} s)", start.elapsed().as_secs_f64());
            std::process::exit(i32::from(!summary.failures.is_empty()));
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
