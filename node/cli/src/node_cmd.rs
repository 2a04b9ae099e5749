//! `aether node`: run a node until SIGINT or SIGTERM.

use crate::CliError;
use aether_node::config::DEFAULT_METRICS_ADDR;
use aether_node::{NodeConfig, RunningNode};
use std::path::PathBuf;

/// `aether node` options. Command-line values override the config file.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Run the single-validator dev chain (embedded dev genesis, public dev keys).
    #[arg(long, required_unless_present = "config")]
    dev: bool,
    /// A TOML configuration file (see docs/node.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory [dev default: $XDG_DATA_HOME/aether/dev or ~/.local/share/aether/dev].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// JSON-RPC address (HTTP and WebSocket) [default: 127.0.0.1:8545].
    #[arg(long, value_name = "ADDR")]
    rpc_addr: Option<String>,
    /// Prometheus metrics address, or `off` [default: 127.0.0.1:9615].
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
    /// Block interval in milliseconds [default: 500].
    #[arg(long, value_name = "MS")]
    block_time: Option<u64>,
    /// Number of funded dev accounts in the dev genesis [default: 16].
    #[arg(long, value_name = "N")]
    dev_accounts: Option<u32>,
}

/// The dev node's data directory (`$XDG_DATA_HOME/aether/dev`).
pub(crate) fn default_dev_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("aether").join("dev")
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

fn build_config(args: &Args) -> Result<NodeConfig, CliError> {
    let mut file = match &args.config {
        Some(path) => aether_node::config::ConfigFile::read(path).map_err(usage)?,
        None => aether_node::config::ConfigFile::default(),
    };
    if let Some(d) = &args.data_dir {
        file.data_dir = Some(d.clone());
    } else if file.data_dir.is_none() && args.dev {
        file.data_dir = Some(default_dev_dir());
    }
    if let Some(a) = &args.rpc_addr {
        file.rpc_addr = Some(a.clone());
    }
    if let Some(a) = &args.metrics_addr {
        file.metrics_addr = Some(if a == "off" { String::new() } else { a.clone() });
    } else if file.metrics_addr.is_none() {
        file.metrics_addr = Some(DEFAULT_METRICS_ADDR.to_string());
    }
    if let Some(ms) = args.block_time {
        file.block_time_ms = Some(ms);
    }
    if let Some(n) = args.dev_accounts {
        file.genesis.dev_accounts = Some(n);
    }
    let base = args
        .config
        .as_ref()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    NodeConfig::from_parsed(file, &base, args.dev).map_err(usage)
}

pub(crate) fn run(args: Args) -> Result<(), CliError> {
    let config = build_config(&args)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        if args.dev {
            tracing::warn!(
                "dev chain: the validator and account keys are public (`aether keys dev`)"
            );
        }
        let mut node = RunningNode::start(config)
            .await
            .map_err(|e| CliError::Failed(e.to_string()))?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| CliError::Failed(format!("cannot watch SIGTERM: {e}")))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            e = node.failed() => return Err(CliError::Failed(e.to_string())),
        }
        node.shutdown()
            .await
            .map_err(|e| CliError::Failed(e.to_string()))
    })
}
