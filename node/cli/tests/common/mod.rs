//! Running `aether node --dev` as a real process, and talking to it.
#![allow(dead_code)]

pub mod market;

use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `aether` binary under test.
pub fn aether() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aether"))
}

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A node process; killed (SIGKILL) when dropped.
pub struct NodeProcess {
    pub child: Child,
    pub data_dir: PathBuf,
    pub rpc_url: String,
    pub metrics_url: Option<String>,
    pub log: PathBuf,
}

/// Options of [`NodeProcess::start`].
#[derive(Clone, Debug)]
pub struct NodeOptions {
    pub block_time_ms: u64,
    pub metrics: bool,
    pub extra: Vec<String>,
    /// Run with `--config FILE` instead of `--dev`.
    pub config: Option<PathBuf>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            block_time_ms: 100,
            metrics: false,
            extra: vec![],
            config: None,
        }
    }
}

impl NodeProcess {
    /// Starts `aether node --dev` on `data_dir` and waits until its RPC answers.
    pub fn start(data_dir: &Path, options: &NodeOptions) -> NodeProcess {
        let (node, ready) = NodeProcess::spawn(data_dir, options);
        if let Err(e) = ready {
            panic!("{e}\n--- node log ---\n{}", node.log_text());
        }
        node
    }

    /// Starts the process; the second value tells whether its RPC came up.
    pub fn spawn(data_dir: &Path, options: &NodeOptions) -> (NodeProcess, Result<(), String>) {
        let rpc_port = free_port();
        let metrics_port = free_port();
        let log = data_dir.with_extension(format!("log-{rpc_port}"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut cmd = aether();
        cmd.arg("node");
        match &options.config {
            Some(file) => cmd.arg("--config").arg(file),
            None => cmd.arg("--dev"),
        };
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["--rpc-addr", &format!("127.0.0.1:{rpc_port}")])
            .args(["--block-time", &options.block_time_ms.to_string()])
            .args([
                "--metrics-addr",
                &if options.metrics {
                    format!("127.0.0.1:{metrics_port}")
                } else {
                    "off".into()
                },
            ])
            .args(&options.extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = cmd.spawn().expect("spawn aether node");
        let mut node = NodeProcess {
            child,
            data_dir: data_dir.to_path_buf(),
            rpc_url: format!("http://127.0.0.1:{rpc_port}"),
            metrics_url: options
                .metrics
                .then(|| format!("http://127.0.0.1:{metrics_port}/metrics")),
            log,
        };
        let ready = node.wait_ready(Duration::from_secs(60));
        (node, ready)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("node exited before its RPC came up: {status}"));
            }
            if raw_call(&self.rpc_url, "aether_status", serde_json::json!([])).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("node RPC did not come up within the timeout".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The node's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A `aether` client command against this node.
    pub fn cli(&self, args: &[&str]) -> Output {
        aether()
            .arg("--rpc")
            .arg(&self.rpc_url)
            .args(args)
            .output()
            .expect("run aether")
    }

    /// Like [`NodeProcess::cli`] with `--json`; panics unless it succeeds.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "aether {args:?} failed: {}\n{}\n--- node log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    /// A JSON-RPC call; `Err` holds the error object.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, Value> {
        raw_call(&self.rpc_url, method, params).expect("node reachable")
    }

    /// `aether_status`.
    pub fn status(&self) -> Value {
        self.call("aether_status", serde_json::json!([]))
            .expect("status")
    }

    /// Waits until the chain height reaches `height`.
    pub fn wait_height(&self, height: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.status()["height"].as_u64().unwrap() < height {
            assert!(Instant::now() < deadline, "height {height} not reached");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the receipt of `tx_id`.
    pub fn wait_receipt(&self, tx_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .call("aether_getReceipt", serde_json::json!([tx_id]))
                .expect("getReceipt");
            if !r.is_null() {
                return r;
            }
            assert!(Instant::now() < deadline, "no receipt for {tx_id}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(
                        status.success(),
                        "node exited with {status}\n{}",
                        self.log_text()
                    );
                    return;
                }
                _ if Instant::now() > deadline => panic!("node did not stop on SIGTERM"),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// SIGKILL, no cleanup.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// An async jsonrpsee HTTP client (for typed use in async tests).
    pub fn http(&self) -> HttpClient {
        HttpClientBuilder::default().build(&self.rpc_url).unwrap()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One JSON-RPC call over a plain HTTP/1.1 request. Outer `Err`: transport.
pub fn raw_call(url: &str, method: &str, params: Value) -> Result<Result<Value, Value>, String> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, text) = raw_post(url, body.to_string().as_bytes())?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("HTTP {status}: not JSON ({e}): {text}"))?;
    Ok(match v.get("error") {
        Some(e) => Err(e.clone()),
        None => Ok(v["result"].clone()),
    })
}

/// Posts raw bytes as a JSON request; returns the HTTP status and body.
pub fn raw_post(url: &str, body: &[u8]) -> Result<(u16, String), String> {
    let host = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    // The server may answer (413) before reading everything: ignore a reset.
    let _ = s.write_all(body);
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// HTTP GET of a URL's body.
pub fn http_get(url: &str) -> Result<String, String> {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    s.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    Ok(
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        },
    )
}

#[allow(unused_imports)]
pub use aether_node::genesis::{DEV_ACCOUNT_AIC, dev_account_key};
#[allow(unused_imports)]
pub use aether_types::BASE_UNITS_PER_AIC as AIC;

/// The dev genesis of the default dev node.
pub fn dev_genesis() -> aether_node::Genesis {
    let p = aether_ledger::ProtocolParams::dev();
    aether_node::Genesis::dev(p.chain_id, aether_node::genesis::DEV_ACCOUNTS)
}

/// Hex of a transaction's canonical encoding.
pub fn tx_hex(tx: &aether_types::Transaction) -> String {
    use aether_types::Canonical;
    hex::encode(tx.encode())
}
