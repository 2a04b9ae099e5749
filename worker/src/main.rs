//! `aether-worker`: the Aether AI worker.
//!
//! Subcommands (more come with the job runner, evidence and receipts):
//! - `infer`: runs one embedding locally and prints the embedding, the
//!   checkpoint hashes and the trace root ([`infer`]).

mod infer;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The Aether AI worker.
#[derive(Parser, Debug)]
#[command(name = "aether-worker", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one embedding locally: print the embedding, checkpoint hashes and trace root.
    Infer(infer::InferArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Infer(args) => infer::run(&args, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aether-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
