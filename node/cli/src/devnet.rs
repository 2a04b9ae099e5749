//! `aether devnet`: a local multi-validator chain in one directory.
//!
//! ```text
//! aether devnet up [--validators N] [--base-port P] [--chain-id ID] [--base-timeout-ms MS] [--fresh] [--dir DIR]
//! aether devnet down [--dir DIR]
//! aether devnet status [--dir DIR]
//! aether devnet load --rate TPS --duration S [--accounts K] [--dir DIR]
//! aether devnet partition GROUP... [--dir DIR]     (e.g. `partition 0,1 2,3`)
//! aether devnet heal [--dir DIR]
//! aether devnet faults [--delay-ms MS] [--loss P] [--shred-loss F] [--dir DIR]
//! ```
//!
//! `DIR` (default `$AETHER_DEVNET_DIR`, else `<temp dir>/aether-devnet`)
//! holds `devnet.json` (the [`config::Manifest`]) and one `node-<i>/`
//! per validator with `node.key`, `bls.key`, `config.toml` (formats in
//! [`config`]), the node's `data/`, its `node.log` and, while it runs, its
//! `pid` ([`process`]). Nodes run `aether node --dev --config ...`, so the
//! 16 dev accounts are funded.
//!
//! `up` on a new or empty `DIR` generates everything and starts every
//! node; on an existing devnet it starts the nodes that do not run, with
//! their existing keys and data (the same chain), and refuses if all run.
//! `--fresh` stops and wipes an existing devnet first. `down` stops the
//! nodes and keeps their data. `status` reads every node's
//! `aether_status`, including the optional `consensus` object, leniently.
//! `load` is described in [`load`]; `partition` and `heal` in [`faults`].

mod config;
mod faults;
mod load;
mod process;

use crate::{CliError, ClientArgs, output};
use aether_client::{ClientConfig, ClientError, RpcClient};
use aether_rpc_types::methods as m;
use config::{Layout, Manifest, ValidatorKeys, ValidatorPublic};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `up` waits for every node's RPC.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Log lines shown when a node does not come up.
const LOG_TAIL_LINES: usize = 30;
/// Timeout of one status request.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);
/// The manifest's file name in `DIR`.
const MANIFEST: &str = "devnet.json";

/// `aether devnet ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Create (first time) and start a local devnet of N validators.
    Up(UpArgs),
    /// Stop the devnet's nodes (their data stays; `up` resumes the chain).
    Down(DirArgs),
    /// Show each node's process, height, finality, round and peers.
    Status(DirArgs),
    /// Submit a paced stream of transfers and measure finality latency.
    Load(load::Args),
    /// Split the validators into groups that cannot reach each other
    /// (e.g. `partition 0,1 2,3`) until `heal`.
    Partition(faults::PartitionArgs),
    /// End a partition.
    Heal(DirArgs),
    /// Set every node's link faults: delay, random loss, or an exact
    /// share of each shred batch lost.
    Faults(faults::LinkArgs),
    /// Make one validator equivocate (two votes per round) until `--off`:
    /// the others report it and it is slashed on chain.
    Equivocate(faults::EquivocateArgs),
}

/// The devnet directory.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DirArgs {
    /// The devnet directory: this, else $AETHER_DEVNET_DIR, else <temp dir>/aether-devnet.
    #[arg(long, value_name = "DIR", env = "AETHER_DEVNET_DIR", default_value_os_t = default_dir())]
    dir: PathBuf,
}

/// `aether devnet up` options.
#[derive(clap::Args, Debug)]
pub(crate) struct UpArgs {
    /// Number of validators (new devnet) [default: 4].
    #[arg(long, value_name = "N")]
    validators: Option<u16>,
    /// Node i listens on P + 10 i (RPC), + 1 (P2P, UDP), + 2 (metrics) [default: 8545].
    #[arg(long, value_name = "P")]
    base_port: Option<u16>,
    /// Chain id of a new devnet [default: 7357].
    #[arg(long, value_name = "ID")]
    chain_id: Option<u32>,
    /// Consensus base timeout in milliseconds [default: 1000].
    #[arg(long, value_name = "MS")]
    base_timeout_ms: Option<u64>,
    /// Longest wait for transactions before a leader proposes an empty
    /// block, in milliseconds [default: 200].
    #[arg(long, value_name = "MS")]
    block_time_ms: Option<u64>,
    /// Delay every frame each node sends by this many milliseconds (fault
    /// injection: a WAN-like network on loopback) [default: 0].
    #[arg(long, value_name = "MS")]
    link_delay_ms: Option<u64>,
    /// Stop and wipe an existing devnet in DIR first (new keys, new chain).
    #[arg(long)]
    fresh: bool,
    #[command(flatten)]
    dir: DirArgs,
}

/// `<temp dir>/aether-devnet`.
fn default_dir() -> PathBuf {
    std::env::temp_dir().join("aether-devnet")
}

/// Runs an `aether devnet` command.
pub(crate) fn run(cmd: Command, client: &ClientArgs) -> Result<(), CliError> {
    match cmd {
        Command::Up(args) => up(&args, client.json),
        Command::Down(args) => down(&args, client.json),
        Command::Status(args) => status_cmd(&args, client.json),
        Command::Partition(args) => faults::partition(&args, client.json),
        Command::Heal(args) => faults::heal(&args, client.json),
        Command::Faults(args) => faults::links(&args, client.json),
        Command::Equivocate(args) => faults::equivocate(&args, client.json),
        Command::Load(args) => {
            let (_, manifest) = open(&args.dir.dir)?;
            load::run(&args, &manifest, client.json)
        }
    }
}

// ------------------------------------------------------------------ helpers

/// A progress line on stderr: rewritten in place on a terminal, one line
/// per update otherwise.
pub(crate) struct Progress {
    tty: bool,
}

impl Progress {
    /// A progress line on this process's stderr.
    pub(crate) fn new() -> Progress {
        Progress {
            tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    /// Shows `line`.
    pub(crate) fn update(&self, line: &str) {
        if self.tty {
            eprint!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    }

    /// Ends the line (on a terminal).
    pub(crate) fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// `aether_status` as raw JSON (fields the typed DTO lacks stay readable).
pub(crate) async fn status(client: &RpcClient) -> Result<Value, ClientError> {
    client.request(m::STATUS, jsonrpsee::rpc_params![]).await
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the runtime: {e}")))
}

async fn connect(url: &str) -> Result<RpcClient, CliError> {
    let config = ClientConfig {
        request_timeout: STATUS_TIMEOUT,
        ..ClientConfig::default()
    };
    Ok(RpcClient::connect_with(url, config).await?)
}

fn manifest_path(dir: &Path) -> PathBuf {
    dir.join(MANIFEST)
}

fn node_dir(dir: &Path, index: u16) -> PathBuf {
    dir.join(config::node_dir_name(index))
}

/// Reads the manifest of an existing devnet directory; the path returned
/// is canonical (it is what the nodes' command lines hold).
fn open(dir: &Path) -> Result<(PathBuf, Manifest), CliError> {
    let none = || {
        CliError::Failed(format!(
            "no devnet in {} (start one with `aether devnet up --dir {}`)",
            dir.display(),
            dir.display()
        ))
    };
    let dir = dir.canonicalize().map_err(|_| none())?;
    let text = match std::fs::read_to_string(manifest_path(&dir)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(none()),
        Err(e) => {
            return Err(CliError::Failed(format!(
                "cannot read {}: {e}",
                manifest_path(&dir).display()
            )));
        }
    };
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| CliError::Failed(format!("{}: {e}", manifest_path(&dir).display())))?;
    if manifest.nodes.len() != usize::from(manifest.validators)
        || manifest
            .nodes
            .iter()
            .enumerate()
            .any(|(i, n)| usize::from(n.index) != i)
    {
        return Err(CliError::Failed(format!(
            "{}: the nodes do not match the validator count",
            manifest_path(&dir).display()
        )));
    }
    Ok((dir, manifest))
}

/// The shell form of the `down` command for `dir`.
fn down_hint(dir: &Path) -> String {
    let d = dir.display().to_string();
    if d.contains(|c: char| c.is_whitespace() || c == '\'') {
        format!("aether devnet down --dir '{}'", d.replace('\'', r"'\''"))
    } else {
        format!("aether devnet down --dir {d}")
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Writes a secret file (mode 0600, refusing to overwrite).
fn write_secret(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}

// ----------------------------------------------------------------------- up

/// One node in the output of `up`.
#[derive(Serialize)]
struct UpNode {
    index: u16,
    /// `started` now, or `running` already.
    state: &'static str,
    pid: Option<i32>,
    rpc_url: String,
    p2p_addr: String,
    log: PathBuf,
    dir: PathBuf,
    node_key: String,
}

#[derive(Serialize)]
struct UpReport {
    dir: PathBuf,
    /// Whether keys and configs were generated now.
    created: bool,
    chain_id: u32,
    validators: u16,
    nodes: Vec<UpNode>,
    stop: String,
}

fn up(args: &UpArgs, json: bool) -> Result<(), CliError> {
    let requested = Layout {
        validators: args.validators.unwrap_or(config::DEFAULT_VALIDATORS),
        base_port: args.base_port.unwrap_or(config::DEFAULT_BASE_PORT),
        chain_id: args.chain_id.unwrap_or(config::DEFAULT_CHAIN_ID),
        base_timeout_ms: args
            .base_timeout_ms
            .unwrap_or(config::DEFAULT_BASE_TIMEOUT_MS),
        block_time_ms: args.block_time_ms.unwrap_or(config::BLOCK_TIME_MS),
        link_delay_ms: args.link_delay_ms.unwrap_or(0),
    };
    requested.check().map_err(CliError::Usage)?;
    let dir = &args.dir.dir;
    let exists = manifest_path(dir).exists();
    if args.fresh && exists {
        let (canonical, manifest) = open(dir)?;
        stop_nodes(&canonical, &manifest, json)?;
        std::fs::remove_dir_all(&canonical)
            .map_err(|e| CliError::Failed(format!("cannot wipe {}: {e}", canonical.display())))?;
    }
    let created = args.fresh || !exists;
    let (dir, manifest) = if created {
        create(dir, &requested)?
    } else {
        let (dir, manifest) = open(dir)?;
        check_same(args, &manifest)?;
        (dir, manifest)
    };
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the aether binary: {e}")))?;
    let mut started = Vec::new();
    let mut running = Vec::new();
    for node in &manifest.nodes {
        let nd = node_dir(&dir, node.index);
        if let Some(pid) = process::running_pid(&nd) {
            running.push((node.index, pid));
            continue;
        }
        if !process::config_path(&nd).is_file() {
            return Err(CliError::Failed(format!(
                "{} is missing; recreate the devnet with `aether devnet up --fresh --dir {}`",
                process::config_path(&nd).display(),
                dir.display()
            )));
        }
        check_ports_free(&manifest, node.index)?;
        started.push((node.index, process::spawn_node(&exe, &nd)?));
    }
    if started.is_empty() {
        return Err(CliError::Failed(format!(
            "the devnet in {} already runs ({} nodes); stop it with `{}` or pass --fresh",
            dir.display(),
            running.len(),
            down_hint(&dir)
        )));
    }
    wait_ready(&dir, &manifest, &mut started)?;
    let pids: Vec<(u16, i32)> = started
        .iter()
        .map(|(i, c)| (*i, i32::try_from(c.id()).unwrap_or(0)))
        .collect();
    let report = UpReport {
        dir: dir.clone(),
        created,
        chain_id: manifest.chain_id,
        validators: manifest.validators,
        nodes: manifest
            .nodes
            .iter()
            .map(|n| {
                let was_running = running.iter().find(|(i, _)| *i == n.index);
                let now = pids.iter().find(|(i, _)| *i == n.index);
                UpNode {
                    index: n.index,
                    state: if was_running.is_some() {
                        "running"
                    } else {
                        "started"
                    },
                    pid: was_running.or(now).map(|(_, p)| *p),
                    rpc_url: n.rpc_url.clone(),
                    p2p_addr: n.p2p_addr.clone(),
                    log: process::log_path(&node_dir(&dir, n.index)),
                    dir: node_dir(&dir, n.index),
                    node_key: n.node_key.clone(),
                }
            })
            .collect(),
        stop: down_hint(&dir),
    };
    output::print(json, &report, || {
        println!(
            "devnet of {} validators in {} (chain id {}){}",
            report.validators,
            report.dir.display(),
            report.chain_id,
            if report.created { ", new" } else { "" }
        );
        for n in &report.nodes {
            println!(
                "node-{}  {:<7} pid {:<7}  rpc {}  p2p {} (udp)  log {}",
                n.index,
                n.state,
                n.pid.map(|p| p.to_string()).unwrap_or_default(),
                n.rpc_url,
                n.p2p_addr,
                n.log.display()
            );
        }
        println!(
            "status: aether devnet status --dir {}",
            report.dir.display()
        );
        println!("stop:   {}", report.stop);
    });
    Ok(())
}

/// Refuses `up` options that contradict the existing devnet.
fn check_same(args: &UpArgs, manifest: &Manifest) -> Result<(), CliError> {
    let existing = manifest.layout();
    let differs = [
        (
            "--validators",
            args.validators.map(u64::from),
            u64::from(existing.validators),
        ),
        (
            "--base-port",
            args.base_port.map(u64::from),
            u64::from(existing.base_port),
        ),
        (
            "--chain-id",
            args.chain_id.map(u64::from),
            u64::from(existing.chain_id),
        ),
        (
            "--base-timeout-ms",
            args.base_timeout_ms,
            existing.base_timeout_ms,
        ),
        (
            "--block-time-ms",
            args.block_time_ms,
            existing.block_time_ms,
        ),
        (
            "--link-delay-ms",
            args.link_delay_ms,
            existing.link_delay_ms,
        ),
    ];
    for (flag, given, have) in differs {
        if given.is_some_and(|g| g != have) {
            return Err(CliError::Usage(format!(
                "the devnet in {} was made with {flag} {have}; pass --fresh to make a new one",
                args.dir.dir.display()
            )));
        }
    }
    Ok(())
}

/// Generates keys, configs and the manifest of a new devnet in `dir`
/// (absent or empty). On failure nothing it wrote is left.
fn create(dir: &Path, layout: &Layout) -> Result<(PathBuf, Manifest), CliError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CliError::Usage(format!(
                    "{} is not empty and holds no devnet ({MANIFEST}); choose another --dir",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(CliError::Failed(format!(
                "cannot read {}: {e}",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| CliError::Failed(format!("{}: {e}", dir.display())))?;
    let result = generate(&dir, layout);
    if result.is_err() {
        // Leave the directory as empty as it was.
        for i in 0..layout.validators {
            let _ = std::fs::remove_dir_all(node_dir(&dir, i));
        }
        let _ = std::fs::remove_file(manifest_path(&dir));
    }
    result.map(|m| (dir, m))
}

fn generate(dir: &Path, layout: &Layout) -> Result<Manifest, CliError> {
    let mut rng = rand::rngs::OsRng;
    let mut keys: Vec<ValidatorKeys> = (0..layout.validators)
        .map(|_| ValidatorKeys::generate(&mut rng))
        .collect();
    // The node's index order (see `config`): node i is validator i.
    keys.sort_by_key(|k| {
        aether_types::ValidatorId::of(&aether_types::BlsPublicKeyBytes(
            k.bls.public_key().to_bytes(),
        ))
    });
    let public: Vec<ValidatorPublic> = keys.iter().map(ValidatorKeys::public).collect();
    let timestamp_ms = unix_ms();
    for (i, k) in (0..layout.validators).zip(&keys) {
        let nd = node_dir(dir, i);
        std::fs::create_dir(&nd)
            .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", nd.display())))?;
        write_secret(&nd.join("node.key"), &k.node_key_file())?;
        write_secret(&nd.join("bls.key"), &k.bls_key_file())?;
        let text =
            config::node_config(layout, i, timestamp_ms, &public).map_err(CliError::Usage)?;
        write_file(&process::config_path(&nd), &text)?;
    }
    let manifest = Manifest::new(layout, dir, timestamp_ms, &public).map_err(CliError::Usage)?;
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| CliError::Failed(format!("cannot encode the manifest: {e}")))?;
    write_file(&manifest_path(dir), &format!("{text}\n"))?;
    Ok(manifest)
}

/// Fails clearly if a port of node `index` is taken (by something else:
/// the node itself does not run).
fn check_ports_free(manifest: &Manifest, index: u16) -> Result<(), CliError> {
    let Some(ports) = manifest.layout().ports(index) else {
        return Err(CliError::Usage(format!("node-{index} has no ports")));
    };
    let busy = |what: &str, port: u16, e: std::io::Error| {
        CliError::Failed(format!(
            "port {port} ({what} of node-{index}) is in use: {e}; choose another --base-port (with --fresh)"
        ))
    };
    std::net::TcpListener::bind(("127.0.0.1", ports.rpc)).map_err(|e| busy("RPC", ports.rpc, e))?;
    std::net::TcpListener::bind(("127.0.0.1", ports.metrics))
        .map_err(|e| busy("metrics", ports.metrics, e))?;
    std::net::UdpSocket::bind(("127.0.0.1", ports.p2p)).map_err(|e| busy("P2P", ports.p2p, e))?;
    Ok(())
}

/// Waits until every node answers `aether_status`; a started node that
/// exits, or the timeout, fails with the end of that node's log.
fn wait_ready(
    dir: &Path,
    manifest: &Manifest,
    started: &mut [(u16, std::process::Child)],
) -> Result<(), CliError> {
    let runtime = runtime()?;
    let progress = Progress::new();
    let begin = Instant::now();
    let mut last_shown = None;
    let failure = |index: u16, why: String| {
        let log = process::log_path(&node_dir(dir, index));
        CliError::Failed(format!(
            "node-{index} {why}; the last lines of {}:\n{}\n(`{}` stops the other nodes)",
            log.display(),
            process::log_tail(&log, LOG_TAIL_LINES),
            down_hint(dir)
        ))
    };
    runtime.block_on(async {
        let mut clients = Vec::new();
        for node in &manifest.nodes {
            clients.push((node.index, connect(&node.rpc_url).await?));
        }
        loop {
            for (index, child) in started.iter_mut() {
                if let Ok(Some(exit)) = child.try_wait() {
                    progress.finish();
                    let _ = process::remove_pid(&node_dir(dir, *index));
                    return Err(failure(
                        *index,
                        format!("exited ({exit}) before its RPC answered"),
                    ));
                }
            }
            let mut waiting = Vec::new();
            for (index, client) in &clients {
                if status(client).await.is_err() {
                    waiting.push(*index);
                }
            }
            let up = clients.len() - waiting.len();
            let Some(&first) = waiting.first() else {
                progress.update(&format!(
                    "devnet: {up}/{up} nodes answer ({:.1} s)",
                    begin.elapsed().as_secs_f64()
                ));
                progress.finish();
                return Ok(());
            };
            if begin.elapsed() > READY_TIMEOUT {
                progress.finish();
                return Err(failure(
                    first,
                    format!(
                        "did not answer aether_status within {} s",
                        READY_TIMEOUT.as_secs()
                    ),
                ));
            }
            let second = begin.elapsed().as_secs();
            if last_shown != Some(second) {
                last_shown = Some(second);
                progress.update(&format!(
                    "devnet: waiting for the nodes' RPC: {up}/{} answer ({second} s)",
                    clients.len()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

// --------------------------------------------------------------------- down

#[derive(Serialize)]
struct Stopped {
    index: u16,
    pid: i32,
    how: process::StopHow,
}

#[derive(Serialize)]
struct DownReport {
    dir: PathBuf,
    stopped: Vec<Stopped>,
}

fn down(args: &DirArgs, json: bool) -> Result<(), CliError> {
    let (dir, manifest) = match open(&args.dir) {
        Ok(found) => found,
        Err(_) if !manifest_path(&args.dir).exists() => {
            let report = DownReport {
                dir: args.dir.clone(),
                stopped: vec![],
            };
            output::print(json, &report, || {
                println!("no devnet in {}: nothing to stop", args.dir.display());
            });
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let stopped = stop_nodes(&dir, &manifest, json)?;
    let report = DownReport { dir, stopped };
    output::print(json, &report, || {
        if report.stopped.is_empty() {
            println!("no node of the devnet in {} runs", report.dir.display());
        }
        for s in &report.stopped {
            let how = match s.how {
                process::StopHow::Terminated => "stopped",
                process::StopHow::Killed => "killed (did not stop on SIGTERM)",
                process::StopHow::Stuck => "STILL RUNNING after SIGKILL",
            };
            println!("node-{} (pid {}) {how}", s.index, s.pid);
        }
        if !report.stopped.is_empty() {
            println!(
                "data kept in {}; `aether devnet up --dir {}` resumes the chain",
                report.dir.display(),
                report.dir.display()
            );
        }
    });
    if let Some(s) = report
        .stopped
        .iter()
        .find(|s| s.how == process::StopHow::Stuck)
    {
        return Err(CliError::Failed(format!(
            "node-{} (pid {}) still runs after SIGKILL",
            s.index, s.pid
        )));
    }
    Ok(())
}

/// Stops every running node of the devnet and removes the pid files.
fn stop_nodes(dir: &Path, manifest: &Manifest, json: bool) -> Result<Vec<Stopped>, CliError> {
    let mut live = Vec::new();
    for node in &manifest.nodes {
        let nd = node_dir(dir, node.index);
        match process::running_pid(&nd) {
            Some(pid) => live.push((node.index, nd, pid)),
            None => process::remove_pid(&nd)?,
        }
    }
    if !live.is_empty() && !json {
        eprintln!(
            "stopping {} nodes (SIGTERM, SIGKILL after {} s)...",
            live.len(),
            process::STOP_TIMEOUT.as_secs()
        );
    }
    let targets: Vec<(PathBuf, i32)> = live.iter().map(|(_, d, p)| (d.clone(), *p)).collect();
    let hows = process::stop(&targets);
    let mut stopped = Vec::new();
    for ((index, nd, pid), how) in live.into_iter().zip(hows) {
        if how != process::StopHow::Stuck {
            process::remove_pid(&nd)?;
        }
        stopped.push(Stopped { index, pid, how });
    }
    Ok(stopped)
}

// ------------------------------------------------------------------- status

/// A leader slot of the schedule a node reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
struct LeaderSlot {
    round: u64,
    leader: u16,
}

/// The node's optional `consensus` status object, read leniently: each
/// field is absent if the node does not report it (or in another shape).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
struct ConsensusView {
    validator_index: Option<u16>,
    round: Option<u64>,
    connected_peers: Option<Vec<u16>>,
    validators: Option<u16>,
    highest_qc_round: Option<u64>,
    synced_blocks: Option<u64>,
    blocks_from_shreds: Option<u64>,
    leaders: Vec<LeaderSlot>,
}

fn as_u16(v: &Value) -> Option<u16> {
    v.as_u64().and_then(|n| u16::try_from(n).ok())
}

impl ConsensusView {
    /// The view of `status["consensus"]`; `None` without that object.
    fn of(status: &Value) -> Option<ConsensusView> {
        let c = status.get("consensus")?.as_object()?;
        Some(ConsensusView {
            validator_index: c.get("validatorIndex").and_then(as_u16),
            round: c.get("round").and_then(Value::as_u64),
            connected_peers: c
                .get("connectedPeers")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(as_u16).collect()),
            validators: c.get("validators").and_then(as_u16),
            highest_qc_round: c.get("highestQcRound").and_then(Value::as_u64),
            synced_blocks: c.get("syncedBlocks").and_then(Value::as_u64),
            blocks_from_shreds: c.get("blocksFromShreds").and_then(Value::as_u64),
            leaders: c
                .get("leaders")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|slot| {
                            Some(LeaderSlot {
                                round: slot.get("round")?.as_u64()?,
                                leader: as_u16(slot.get("leader")?)?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// One node in the output of `status`.
#[derive(Serialize)]
struct NodeStatus {
    index: u16,
    running: bool,
    pid: Option<i32>,
    rpc_url: String,
    p2p_addr: String,
    log: PathBuf,
    height: Option<u64>,
    finalized_height: Option<u64>,
    finalized_hash: Option<String>,
    consensus: Option<ConsensusView>,
    /// Why the RPC gave no status.
    rpc_error: Option<String>,
}

#[derive(Serialize)]
struct StatusReport {
    dir: PathBuf,
    chain_id: u32,
    validators: u16,
    nodes: Vec<NodeStatus>,
    /// The upcoming leaders, as the most advanced node reports them.
    leaders: Vec<LeaderSlot>,
}

fn status_cmd(args: &DirArgs, json: bool) -> Result<(), CliError> {
    let (dir, manifest) = open(&args.dir)?;
    let runtime = runtime()?;
    let nodes: Vec<NodeStatus> = runtime.block_on(async {
        let mut nodes = Vec::new();
        for node in &manifest.nodes {
            let nd = node_dir(&dir, node.index);
            let pid = process::running_pid(&nd);
            let answer = match connect(&node.rpc_url).await {
                Ok(client) => status(&client).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let ok = answer.as_ref().ok();
            let field = |name: &str| ok.and_then(|s| s.get(name));
            nodes.push(NodeStatus {
                index: node.index,
                running: pid.is_some(),
                pid,
                rpc_url: node.rpc_url.clone(),
                p2p_addr: node.p2p_addr.clone(),
                log: process::log_path(&nd),
                height: field("height").and_then(Value::as_u64),
                finalized_height: field("finalizedHeight").and_then(Value::as_u64),
                finalized_hash: field("finalizedHash")
                    .and_then(Value::as_str)
                    .map(String::from),
                consensus: ok.and_then(ConsensusView::of),
                rpc_error: answer.as_ref().err().cloned(),
            });
        }
        nodes
    });
    let leaders = nodes
        .iter()
        .filter_map(|n| n.consensus.as_ref())
        .filter(|c| !c.leaders.is_empty())
        .max_by_key(|c| c.round)
        .map(|c| c.leaders.clone())
        .unwrap_or_default();
    let report = StatusReport {
        dir,
        chain_id: manifest.chain_id,
        validators: manifest.validators,
        nodes,
        leaders,
    };
    output::print(json, &report, || print_status(&report));
    Ok(())
}

fn print_status(report: &StatusReport) {
    let dash = || "-".to_string();
    let opt = |v: Option<u64>| v.map_or_else(dash, |v| v.to_string());
    println!(
        "devnet of {} validators in {} (chain id {})",
        report.validators,
        report.dir.display(),
        report.chain_id
    );
    println!(
        "{:<8} {:<16} {:<24} {:>8} {:>9} {:>7}  peers",
        "node", "process", "rpc", "height", "finalized", "round"
    );
    for n in &report.nodes {
        let state = match n.pid {
            Some(pid) => format!("running {pid}"),
            None => "stopped".to_string(),
        };
        let c = n.consensus.clone().unwrap_or_default();
        let peers = c.connected_peers.as_ref().map_or_else(dash, |p| {
            p.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
        });
        println!(
            "node-{:<3} {:<16} {:<24} {:>8} {:>9} {:>7}  {peers}",
            n.index,
            state,
            n.rpc_url,
            opt(n.height),
            opt(n.finalized_height),
            opt(c.round),
        );
        if n.running && n.rpc_error.is_some() {
            println!("         rpc: {}", n.rpc_error.as_deref().unwrap_or(""));
        }
    }
    if report.leaders.is_empty() {
        println!("leaders: (not reported)");
    } else {
        let slots: Vec<String> = report
            .leaders
            .iter()
            .map(|s| format!("round {} → node-{}", s.round, s.leader))
            .collect();
        println!("leaders: {}", slots.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_consensus_object_is_read_leniently() {
        let full = json!({
            "height": 9,
            "consensus": {
                "validatorIndex": 2,
                "round": 41,
                "connectedPeers": [0, 1, 3],
                "validators": 4,
                "leaders": [{"round": 42, "leader": 1}, {"round": 43, "leader": 3}],
                "someFutureField": true
            }
        });
        let view = ConsensusView::of(&full).unwrap();
        assert_eq!(view.validator_index, Some(2));
        assert_eq!(view.round, Some(41));
        assert_eq!(view.connected_peers, Some(vec![0, 1, 3]));
        assert_eq!(view.validators, Some(4));
        assert_eq!(
            view.leaders,
            vec![
                LeaderSlot {
                    round: 42,
                    leader: 1
                },
                LeaderSlot {
                    round: 43,
                    leader: 3
                }
            ]
        );
        // Absent object: no view; odd shapes: the fields are absent.
        assert_eq!(ConsensusView::of(&json!({"height": 1})), None);
        let odd = ConsensusView::of(&json!({"consensus": {
            "validatorIndex": "two", "round": -1, "connectedPeers": 3,
            "leaders": [{"round": 1}, {"round": 2, "leader": 70000}, {"round": 3, "leader": 0}]
        }}))
        .unwrap();
        assert_eq!(odd.validator_index, None);
        assert_eq!(odd.round, None);
        assert_eq!(odd.connected_peers, None);
        assert_eq!(
            odd.leaders,
            vec![LeaderSlot {
                round: 3,
                leader: 0
            }]
        );
    }

    #[test]
    fn up_generates_a_devnet_and_refuses_foreign_or_mismatched_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        let layout = Layout {
            validators: 3,
            base_port: 30_000,
            chain_id: 99,
            base_timeout_ms: 500,
            block_time_ms: 100,
            link_delay_ms: 0,
        };
        let (canonical, manifest) = create(&dir, &layout).unwrap();
        assert_eq!(open(&dir).unwrap(), (canonical.clone(), manifest.clone()));
        for i in 0..3 {
            let nd = node_dir(&canonical, i);
            for f in ["node.key", "bls.key"] {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(nd.join(f)).unwrap();
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
            }
            // The node key file holds the key the manifest names.
            let key = aether_crypto::keyfile::read_key_file(&nd.join("node.key")).unwrap();
            assert_eq!(
                hex::encode(key.public_key().0),
                manifest.nodes[usize::from(i)].node_key
            );
            let cfg: toml::Table =
                toml::from_str(&std::fs::read_to_string(process::config_path(&nd)).unwrap())
                    .unwrap();
            assert_eq!(
                cfg["rpc_addr"].as_str().unwrap(),
                format!("127.0.0.1:{}", 30_000 + 10 * u32::from(i))
            );
            assert_eq!(cfg["genesis"]["chain_id"].as_integer(), Some(99));
            // Node i is validator i: the validators are listed in the
            // node's index order (ascending id), node i's key at i.
            let ids: Vec<aether_types::ValidatorId> = cfg["genesis"]["validators"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let bls = hex::decode(v["bls_key"].as_str().unwrap()).unwrap();
                    aether_types::ValidatorId::of(&aether_types::BlsPublicKeyBytes(
                        bls.try_into().unwrap(),
                    ))
                })
                .collect();
            assert!(ids.is_sorted());
            assert_eq!(
                cfg["genesis"]["validators"][usize::from(i)]["node_key"].as_str(),
                Some(manifest.nodes[usize::from(i)].node_key.as_str())
            );
        }
        // A second create over it is refused (not empty), as is any
        // non-empty directory without a manifest.
        assert!(matches!(create(&dir, &layout), Err(CliError::Usage(_))));
        let foreign = tmp.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("precious.txt"), "x").unwrap();
        assert!(matches!(create(&foreign, &layout), Err(CliError::Usage(_))));
        assert!(foreign.join("precious.txt").exists());
        // `up` options that contradict the existing devnet are refused.
        let args = |validators: Option<u16>| UpArgs {
            validators,
            base_port: None,
            chain_id: None,
            base_timeout_ms: None,
            block_time_ms: None,
            link_delay_ms: None,
            fresh: false,
            dir: DirArgs { dir: dir.clone() },
        };
        assert!(check_same(&args(None), &manifest).is_ok());
        assert!(check_same(&args(Some(3)), &manifest).is_ok());
        assert!(matches!(
            check_same(&args(Some(4)), &manifest),
            Err(CliError::Usage(_))
        ));
        // Nothing runs: status of the processes is "not running".
        assert!(
            manifest
                .nodes
                .iter()
                .all(|n| process::running_pid(&n.dir).is_none())
        );
        assert!(matches!(
            open(&tmp.path().join("none")),
            Err(CliError::Failed(_))
        ));
    }

    #[test]
    fn the_down_hint_quotes_odd_paths() {
        assert_eq!(
            down_hint(Path::new("/tmp/net")),
            "aether devnet down --dir /tmp/net"
        );
        assert_eq!(
            down_hint(Path::new("/tmp/my net")),
            "aether devnet down --dir '/tmp/my net'"
        );
    }
}
