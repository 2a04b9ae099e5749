//! `aether-measure`: compute expected launch measurements and verify TEE evidence.
//!
//! Subcommands:
//! - `snp`    SEV-SNP (and SEV, SEV-ES) launch digest; options and results of `sev-snp-measure` 0.0.13
//! - `tdx`    TDX MRTD and RTMR0-2 for a direct kernel boot
//! - `replay` replay a TCG2/CCEL event log into RTMRs (or PCRs)
//! - `verify snp|tdx` verify an SNP attestation report or a TDX quote
//!
//! Exit status: 0 success (verified), 1 rejected or computation error, 2 usage or I/O error.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Compute expected launch measurements of confidential VMs and verify their evidence.
#[derive(Parser)]
#[command(name = "aether-measure", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Calculate the AMD SEV / SEV-ES / SEV-SNP guest launch measurement (as sev-snp-measure).
    Snp(cli::snp::Args),
    /// Calculate Intel TDX MRTD and RTMRs from firmware and direct-boot artifacts.
    Tdx(cli::tdx::Args),
    /// Replay a TCG2 / CCEL event log into RTMR0-3 (or TPM PCRs).
    Replay(cli::replay::Args),
    /// Verify TEE evidence against the vendors' roots of trust.
    #[command(subcommand)]
    Verify(VerifyCommand),
}

#[derive(Subcommand)]
enum VerifyCommand {
    /// Verify an AMD SEV-SNP attestation report.
    Snp(cli::verify_snp::Args),
    /// Verify an Intel TDX DCAP quote with its collateral.
    Tdx(cli::verify_tdx::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on usage errors and 0 for --help/--version, like argparse.
            e.exit();
        }
    };
    match cli.command {
        Command::Snp(args) => cli::snp::run(args),
        Command::Tdx(args) => cli::tdx::run(args),
        Command::Replay(args) => cli::replay::run(args),
        Command::Verify(VerifyCommand::Snp(args)) => cli::verify_snp::run(args),
        Command::Verify(VerifyCommand::Tdx(args)) => cli::verify_tdx::run(args),
    }
}
