//! `aether-worker run` and `aether-worker watch`: the job runner and the
//! watchtower as commands (the logic is in [`aether_worker::runner`] and
//! [`aether_worker::watch`]).
//!
//! ```text
//! aether-worker run [--config worker.toml] [--rpc URL] [--provider-id ID] [--worker-key FILE]
//!                   [--model-dir DIR]... [--data-dir DIR] [--listen ADDR] [--poll-ms MS]
//!                   [evidence options of `attest`]
//! aether-worker watch --rpc URL --key FILE [--model-dir DIR]... [--worker-url URL]...
//!                     [--sample PERCENT] [--deposit AIC] [--from-height H]
//! aether-worker status [--data-dir DIR] [--json]
//! ```

use crate::attest::{ProviderArgs, select};
use aether_worker::config::WorkerConfig;
use aether_worker::evidence::ProviderConfig;
use aether_worker::job::Models;
use aether_worker::runner::{RunConfig, Runner};
use aether_worker::serve::{Metrics, Served};
use aether_worker::store::{JobState, Store};
use aether_worker::watch::{WatchConfig, Watchtower};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Default JSON-RPC endpoint.
pub const DEFAULT_RPC: &str = "http://127.0.0.1:8545";
/// Default HTTP endpoint of the worker.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8600";

/// Arguments of `aether-worker run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The configuration file (`[run]` and `[evidence]` sections).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The node's JSON-RPC URL (over the config file's) [default: http://127.0.0.1:8545].
    #[arg(long, env = "AETHER_RPC")]
    rpc: Option<String>,
    /// The provider id (`aether provider register` prints it). (`--provider`
    /// is the evidence provider, as for `attest`.)
    #[arg(long)]
    provider_id: Option<String>,
    /// The provider's worker key file (signs and pays for receipts).
    #[arg(long)]
    worker_key: Option<PathBuf>,
    /// A model directory to serve (repeatable).
    #[arg(long = "model-dir")]
    model_dirs: Vec<PathBuf>,
    /// The data directory (jobs taken, checkpoints) [default: ./aether-worker-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address of the HTTP endpoint (checkpoints, /status, /metrics) [default: 127.0.0.1:8600].
    #[arg(long)]
    listen: Option<String>,
    /// Poll interval once caught up, milliseconds [default: 200].
    #[arg(long)]
    poll_ms: Option<u64>,
    /// The URL clients reach the HTTP endpoint at: outputs too large for a
    /// receipt are published as `<URL>/jobs/<id>/output` [default: http://<bound --listen>].
    #[arg(long)]
    public_url: Option<String>,
    /// Test builds only: corrupt checkpoint N of every run (and everything after it).
    #[cfg(feature = "cheat")]
    #[arg(long, hide = true)]
    cheat: Option<usize>,
    #[command(flatten)]
    evidence: ProviderArgs,
}

/// Starts `tracing` on stderr (`RUST_LOG`, default info).
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&stop));
    }
    stop
}

impl RunArgs {
    /// Only the configuration file's settings, with these evidence
    /// options (what the appliance runs).
    pub fn from_file_only(evidence: ProviderArgs) -> Self {
        RunArgs {
            config: None,
            rpc: None,
            provider_id: None,
            worker_key: None,
            model_dirs: Vec::new(),
            data_dir: None,
            listen: None,
            poll_ms: None,
            public_url: None,
            #[cfg(feature = "cheat")]
            cheat: None,
            evidence,
        }
    }
}

/// Runs `aether-worker run` until SIGTERM/SIGINT.
pub fn run(args: &RunArgs) -> Result<(), String> {
    init_logs();
    let file = match &args.config {
        Some(p) => WorkerConfig::load_or_default(p).map_err(|e| e.to_string())?,
        None => WorkerConfig::default(),
    };
    run_with(&file, args, PathBuf::from("aether-worker-data"), None)
}

/// Runs the job runner with `file`'s `[run]` settings under `args`
/// (flags win); `default_data_dir` when neither names one. `evidence`: an
/// evidence provider already selected (the appliance's self-check keeps
/// the one it checked: a virtio port has one opener at a time).
pub fn run_with(
    file: &WorkerConfig,
    args: &RunArgs,
    default_data_dir: PathBuf,
    evidence: Option<Box<dyn aether_worker::evidence::EvidenceProvider>>,
) -> Result<(), String> {
    let r = &file.run;
    let rpc = args
        .rpc
        .clone()
        .or_else(|| r.rpc.clone())
        .unwrap_or_else(|| DEFAULT_RPC.into());
    let provider = args
        .provider_id
        .clone()
        .or_else(|| r.provider_id.clone())
        .ok_or("--provider-id (or [run] provider_id) is required")?;
    let provider = aether_types::ProviderId(
        aether_types::Digest::from_hex(&provider)
            .map_err(|e| format!("--provider-id: {e}"))?
            .0,
    );
    let key_file = args
        .worker_key
        .clone()
        .or_else(|| r.worker_key.clone())
        .ok_or("--worker-key (or [run] worker_key) is required")?;
    let worker_key = aether_crypto::keyfile::read_key_file(&key_file)?;
    let mut dirs = r.models.clone();
    dirs.extend(args.model_dirs.iter().cloned());
    let models = Models::load(&dirs)?;
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| r.data_dir.clone())
        .unwrap_or(default_data_dir);
    let store = Store::open(&data_dir)?;
    let listen = args
        .listen
        .clone()
        .or_else(|| r.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.into());
    let listen = listen
        .parse()
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    let poll = Duration::from_millis(args.poll_ms.or(r.poll_ms).unwrap_or(200).max(10));
    let evidence = match evidence {
        Some(e) => e,
        None => {
            let providers = args
                .evidence
                .apply(file.provider_config(ProviderConfig::default())?);
            select(&providers, "aether-worker: ")
                .map_err(|e| e.to_string())?
                .provider
        }
    };
    #[cfg(feature = "cheat")]
    let cheat = args.cheat;
    #[cfg(not(feature = "cheat"))]
    let cheat = None;
    if let Some(n) = cheat {
        tracing::warn!(
            checkpoint = n,
            "CHEATING: every run is corrupted from this checkpoint on (test build)"
        );
    }
    let metrics = Arc::new(Metrics::new());
    let status = Arc::new(Mutex::new(
        serde_json::json!({"provider": provider.to_string()}),
    ));
    let served = Served {
        store: store.clone(),
        metrics: Arc::clone(&metrics),
        status: {
            let status = Arc::clone(&status);
            Arc::new(move || status.lock().map(|s| s.clone()).unwrap_or_default())
        },
    };
    let bound = aether_worker::serve::spawn(listen, served)?;
    tracing::info!(%bound, "serving checkpoints, /status and /metrics");
    // Where the endpoint is, for scripts and tests (`--listen` with port 0).
    aether_worker::store::write_atomic(&data_dir.join("http.addr"), bound.to_string().as_bytes())?;
    let public_url = args
        .public_url
        .clone()
        .or_else(|| r.public_url.clone())
        .unwrap_or_else(|| format!("http://{bound}"));
    let public_url = public_url.trim_end_matches('/').to_string();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        return Err(format!("--public-url {public_url}: not an http(s) URL"));
    }
    let mut runner = Runner::start(RunConfig {
        rpc,
        public_url,
        provider,
        worker_key,
        models,
        store,
        evidence,
        poll_interval: poll,
        cheat,
        metrics,
    })?;
    let stop = stop_flag();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        runner.run_for(&stop, Duration::from_secs(1));
        let s = runner.state();
        if let Ok(mut st) = status.lock() {
            *st = serde_json::json!({
                "provider": provider.to_string(),
                "nextHeight": s.next_height,
                "taken": s.count(JobState::Taken),
                "submitted": s.count(JobState::Submitted),
                "failed": s.count(JobState::Failed),
                "closed": s.count(JobState::Closed),
                "jobs": s.jobs,
            });
        }
    }
    tracing::info!("stopping");
    Ok(())
}

/// Arguments of `aether-worker watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The node's JSON-RPC URL.
    #[arg(long, env = "AETHER_RPC", default_value = DEFAULT_RPC)]
    rpc: String,
    /// The challenger's key file (pays deposits, receives rewards).
    #[arg(long)]
    key: PathBuf,
    /// A model directory to re-run model jobs with (repeatable).
    #[arg(long = "model-dir")]
    model_dirs: Vec<PathBuf>,
    /// A worker endpoint serving checkpoint data, e.g. http://10.0.0.5:8600 (repeatable).
    #[arg(long = "worker-url")]
    worker_urls: Vec<String>,
    /// Percentage of receipts to check.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
    sample: u8,
    /// Deposit of each challenge, in AIC.
    #[arg(long, default_value = "1")]
    deposit: String,
    /// First height to read [default: the head at start].
    #[arg(long)]
    from_height: Option<u64>,
    /// Poll interval once caught up, milliseconds.
    #[arg(long, default_value_t = 200)]
    poll_ms: u64,
}

/// Runs `aether-worker watch` until SIGTERM/SIGINT.
pub fn watch(args: &WatchArgs) -> Result<(), String> {
    init_logs();
    if args.worker_urls.is_empty() {
        return Err("--worker-url is required: where to fetch providers' checkpoint data".into());
    }
    let key = aether_crypto::keyfile::read_key_file(&args.key)?;
    let deposit =
        aether_client::amount::parse_aic(&args.deposit).map_err(|e| format!("--deposit: {e}"))?;
    let mut tower = Watchtower::start(WatchConfig {
        rpc: args.rpc.clone(),
        key,
        models: Models::load(&args.model_dirs)?,
        worker_urls: args.worker_urls.clone(),
        sample_percent: args.sample,
        deposit,
        from_height: args.from_height,
        poll_interval: Duration::from_millis(args.poll_ms.max(10)),
    })?;
    tower.run(&stop_flag());
    tracing::info!("stopping");
    Ok(())
}

/// Arguments of `aether-worker status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The worker's data directory.
    #[arg(long, default_value = "aether-worker-data")]
    data_dir: PathBuf,
    /// Print the saved state as JSON.
    #[arg(long)]
    json: bool,
}

/// `aether-worker status`: what the worker has taken on, from its data
/// directory (works whether or not the worker runs), and where its
/// endpoint is.
pub fn status(args: &StatusArgs) -> Result<(), String> {
    if !args.data_dir.join("state.json").is_file() {
        return Err(format!(
            "{}: no worker state here (not a worker data directory, or the worker never started)",
            args.data_dir.display()
        ));
    }
    let store = Store::open(&args.data_dir)?;
    let s = store.load()?;
    let endpoint = std::fs::read_to_string(args.data_dir.join("http.addr")).ok();
    if args.json {
        let mut v = serde_json::to_value(&s).map_err(|e| e.to_string())?;
        v["endpoint"] = endpoint.map_or(serde_json::Value::Null, |e| format!("http://{e}").into());
        println!("{v}");
        return Ok(());
    }
    println!("next height  {}", s.next_height);
    for (name, state) in [
        ("taken", JobState::Taken),
        ("submitted", JobState::Submitted),
        ("failed", JobState::Failed),
        ("closed", JobState::Closed),
    ] {
        println!("{name:<12} {}", s.count(state));
    }
    if let Some(e) = endpoint {
        println!("endpoint     http://{e} (last start)");
    }
    for (id, e) in &s.jobs {
        let state = serde_json::to_value(e.state).map_err(|e| e.to_string())?;
        println!(
            "{id}  {:<9}  assigned at {}{}",
            state.as_str().unwrap_or_default(),
            e.assigned_at,
            e.detail
                .as_deref()
                .map(|d| format!("  {d}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
