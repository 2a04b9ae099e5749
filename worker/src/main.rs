//! `aether-worker`: the Aether AI worker.
//!
//! Subcommands (the job runner comes with the market client):
//! - `infer`: runs one embedding locally and prints the embedding, the
//!   checkpoint hashes and the trace root ([`infer`]).
//! - `attest`: obtains TEE evidence binding 64 bytes of report data and
//!   prints it with the provider used ([`attest`]).
//! - `appliance`: the worker appliance's payload: evidence self-check at
//!   start ([`appliance`]).

mod appliance;
mod attest;
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
    /// Obtain TEE evidence binding 64 bytes of report data; print it (JSON) and the provider used.
    Attest(attest::AttestArgs),
    /// The worker appliance's payload: evidence self-check at start, then stay up.
    Appliance(appliance::ApplianceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Infer(args) => {
            infer::run(&args, &mut std::io::stdout().lock()).map_err(|e| e.to_string())
        }
        Command::Attest(args) => attest::run(&args).map_err(|e| e.to_string()),
        Command::Appliance(args) => appliance::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aether-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
