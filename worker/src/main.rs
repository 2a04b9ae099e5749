//! `aether-worker`: the Aether AI worker.
//!
//! Subcommands:
//! - `run`: the job runner: takes the jobs the chain assigns to our
//!   provider, runs them, submits receipts with TEE evidence, serves the
//!   checkpoint data ([`run_cmd`]).
//! - `watch`: the watchtower: re-runs accepted receipts and challenges the
//!   wrong ones ([`run_cmd`]).
//! - `status`: what a worker has taken on, from its data directory.
//! - `infer`: runs one embedding locally and prints the embedding, the
//!   checkpoint hashes and the trace root ([`infer`]).
//! - `attest`: obtains TEE evidence binding 64 bytes of report data and
//!   prints it with the provider used ([`attest`]).
//! - `appliance`: the worker appliance's payload: evidence self-check at
//!   start ([`appliance`]).

mod appliance;
mod attest;
mod infer;
mod run_cmd;

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
    /// Take the jobs assigned to a provider, run them, submit receipts, serve checkpoints.
    Run(run_cmd::RunArgs),
    /// Watchtower: re-run accepted receipts and challenge the wrong ones.
    Watch(run_cmd::WatchArgs),
    /// What a worker has taken on, from its data directory.
    Status(run_cmd::StatusArgs),
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
        Command::Run(args) => run_cmd::run(&args),
        Command::Watch(args) => run_cmd::watch(&args),
        Command::Status(args) => run_cmd::status(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aether-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
