//! `aether`: run a node, manage keys, send transactions, query a node.
//!
//! ```text
//! aether node --dev [--data-dir DIR] [--rpc-addr ADDR] [--block-time MS] [--metrics-addr ADDR]
//! aether node --config FILE
//! aether keys new [--out FILE] | keys show FILE | keys dev [--count N]
//! aether tx transfer (--from FILE | --from-dev N) --to ADDRESS --amount AIC [--no-wait]
//! aether tx submit FILE [--no-wait]
//! aether query status | balance ADDR | utxos ADDR | block [N|latest|finalized|HASH] | tx ID | proof TXID#INDEX
//! aether devnet up [--validators N] [--fresh] | down | status | load --rate TPS --duration S   [--dir DIR]
//! ```
//!
//! Client commands talk to `--rpc URL` (default `http://127.0.0.1:8545`,
//! or `$AETHER_RPC`; `ws://` works too) through `aether-client` and print
//! text, or one JSON document with `--json`.
//! Exit status: 0 success, 1 the request failed (node refused, not found,
//! unreachable), 2 bad usage or input.

use aether_client::amount;
mod devnet;
mod keys;
mod market;
mod node_cmd;
mod output;
mod query;
mod sim;
mod tx;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Global options of the client commands.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct ClientArgs {
    /// JSON-RPC endpoint of the node.
    #[arg(
        long,
        global = true,
        env = "AETHER_RPC",
        default_value = "http://127.0.0.1:8545"
    )]
    rpc: String,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Parser, Debug)]
#[command(name = "aether", version, about = "Aether node and client", long_about = None)]
struct Cli {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a node.
    Node(node_cmd::Args),
    /// Create and show keys.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Build and submit transactions.
    #[command(subcommand)]
    Tx(tx::Command),
    /// Read the chain.
    #[command(subcommand)]
    Query(query::Command),
    /// The registry of image launch measurements (governance).
    #[command(subcommand)]
    Measurement(market::MeasurementCommand),
    /// Models: import into a validator's store, register on chain.
    #[command(subcommand)]
    Model(market::ModelCommand),
    /// AI compute providers: register, update, unbond, status.
    #[command(subcommand)]
    Provider(market::ProviderCommand),
    /// AI compute jobs: post, status, result, receipt, challenge.
    #[command(subcommand)]
    Job(market::JobCommand),
    /// Run the deterministic consensus simulation.
    Sim(sim::Args),
    /// A local multi-validator devnet: up, down, status, load.
    #[command(subcommand)]
    Devnet(devnet::Command),
}

/// A failure of a command: usage/input (exit 2) or the request (exit 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad arguments or input files.
    #[error("{0}")]
    Usage(String),
    /// The node refused, did not answer, or the thing asked for is absent.
    #[error("{0}")]
    Failed(String),
}

impl From<aether_client::ClientError> for CliError {
    /// An unusable `--rpc` URL is bad usage; every other client failure
    /// (unreachable, refused, timeout, bad answer) is a failed request.
    fn from(error: aether_client::ClientError) -> Self {
        match error {
            aether_client::ClientError::InvalidUrl { url, reason } => {
                CliError::Usage(format!("--rpc {url:?}: {reason}"))
            }
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl ClientArgs {
    /// A blocking client of the `--rpc` node (30 s request timeout).
    pub(crate) fn connect(&self) -> Result<aether_client::BlockingClient, CliError> {
        Ok(aether_client::BlockingClient::connect(&self.rpc)?)
    }
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Node(args) => node_cmd::run(args),
        Command::Keys(cmd) => keys::run(cmd, &cli.client),
        Command::Tx(cmd) => tx::run(cmd, &cli.client),
        Command::Query(cmd) => query::run(cmd, &cli.client),
        Command::Measurement(cmd) => market::measurement(cmd, &cli.client),
        Command::Model(cmd) => market::model(cmd, &cli.client),
        Command::Provider(cmd) => market::provider(cmd, &cli.client),
        Command::Job(cmd) => market::job(cmd, &cli.client),
        Command::Sim(args) => sim::run(args),
        Command::Devnet(cmd) => devnet::run(cmd, &cli.client),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli.client.json {
                let kind = match e {
                    CliError::Usage(_) => "usage",
                    CliError::Failed(_) => "failed",
                };
                println!(
                    "{}",
                    serde_json::json!({"error": e.to_string(), "kind": kind})
                );
            } else {
                eprintln!("error: {e}");
            }
            e.exit_code()
        }
    }
}
