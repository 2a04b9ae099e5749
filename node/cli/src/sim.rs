//! `aether sim`: the deterministic consensus simulation (`aether-sim`)
//! from the release binary. Ends with one line: seeds run, blocks
//! finalized, violations found; exit 1 on any violation, with the seeds
//! to replay (`--first-seed S --seeds 1` replays one and prints its trace
//! digest).

use crate::CliError;

/// `aether sim` options.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// How many seeds.
    #[arg(long, default_value_t = 1_000)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Validators per run.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// A scenario name (honest, lossy, partition, crash-restart,
    /// equivocating-leader, double-voter, withholder, timeout-spammer,
    /// bad-signature, replayer, twins) or `all` (each seed its scenario in
    /// turn).
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub(crate) fn run(args: Args) -> Result<(), CliError> {
    if args.seeds == 1 {
        let r = aether_sim::run(&args.scenario, args.first_seed, args.validators)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        println!(
            "{} seed {}: blocks {} rounds {} messages {} evidence {} simulated {} ms digest {}",
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
        println!(
            "seeds run: 1, blocks finalized: {}, violations found: {}",
            r.blocks_finalized,
            r.violations.len()
        );
        if !r.violations.is_empty() {
            return Err(CliError::Failed(format!(
                "violations: replay with --scenario {} --first-seed {} --seeds 1",
                r.scenario, r.seed
            )));
        }
        return Ok(());
    }
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let start = std::time::Instant::now();
    eprintln!(
        "simulating {} seeds from {} ({} validators, scenario {}, {threads} threads)",
        args.seeds, args.first_seed, args.validators, args.scenario
    );
    let summary = aether_sim::run_many(
        &args.scenario,
        args.first_seed,
        args.seeds,
        args.validators,
        threads,
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    eprintln!("({:.1} s)", start.elapsed().as_secs_f64());
    println!("{summary}");
    if summary.failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(
            "safety or liveness violations found".into(),
        ))
    }
}
