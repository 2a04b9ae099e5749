//! Work in progress: filled in by the subcommand's implementation.

use std::process::ExitCode;

/// Options of this subcommand.
#[derive(clap::Args)]
pub(crate) struct Args {}

/// Runs the subcommand.
pub(crate) fn run(_args: Args) -> ExitCode {
    eprintln!("Error: not implemented yet");
    ExitCode::from(2)
}
