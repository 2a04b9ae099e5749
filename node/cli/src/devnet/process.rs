//! The devnet's node processes: starting them detached, their pid files,
//! telling whether they still run, stopping them.
//!
//! A node runs as `<aether> node --dev --config <DIR>/node-<i>/config.toml`
//! in its own process group (Ctrl-C of the command that started it does
//! not reach it), with its working directory `DIR/node-<i>`, stdout and
//! stderr appended to `node.log` there, and its pid in `pid` there.
//!
//! A pid file is trusted only while its process is ours: alive, not a
//! zombie, and (where `/proc` exists) started with this node's config path
//! on its command line. A pid reused by an unrelated process is not ours,
//! so `down` never signals a stranger.

use crate::CliError;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// How long `down` waits for a node to exit after SIGTERM.
pub(crate) const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long it waits after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// `DIR/node-<i>/config.toml`.
pub(crate) fn config_path(node_dir: &Path) -> PathBuf {
    node_dir.join("config.toml")
}

/// `DIR/node-<i>/pid`.
pub(crate) fn pid_path(node_dir: &Path) -> PathBuf {
    node_dir.join("pid")
}

/// `DIR/node-<i>/node.log`.
pub(crate) fn log_path(node_dir: &Path) -> PathBuf {
    node_dir.join("node.log")
}

/// The pid in the node's pid file, if there is a well-formed one.
pub(crate) fn read_pid(node_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_path(node_dir))
        .ok()?
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|pid| *pid > 0)
}

/// Whether `pid` is a live node process of `node_dir` (see the module docs).
///
/// A process caught in the instant after `exec` swapped in its memory and
/// before the kernel wrote its arguments there reads an empty command line,
/// so it is not ours yet; the callers look at nodes started long before.
pub(crate) fn is_ours(pid: i32, node_dir: &Path) -> bool {
    // Never 0 or negative: kill() would address a process group.
    if pid <= 0 || kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if !Path::new("/proc/self").exists() {
        // No procfs: the signal test is all there is.
        return true;
    }
    // A zombie has an empty command line, so it is not ours either.
    let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    let config = config_path(node_dir);
    let config = config.as_os_str().as_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == config)
}

/// The pid of the node of `node_dir` if it runs.
pub(crate) fn running_pid(node_dir: &Path) -> Option<i32> {
    read_pid(node_dir).filter(|pid| is_ours(*pid, node_dir))
}

/// Starts the node of `node_dir` (absolute) with the `aether` binary
/// `exe`, detached; writes its pid file.
pub(crate) fn spawn_node(exe: &Path, node_dir: &Path) -> Result<Child, CliError> {
    let failed = |what: &str, e: std::io::Error| {
        CliError::Failed(format!("{}: cannot {what}: {e}", node_dir.display()))
    };
    let log_file = log_path(node_dir);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .map_err(|e| failed(&format!("open {}", log_file.display()), e))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    writeln!(
        log,
        "=== aether devnet: starting the node (unix time {stamp} ms) ==="
    )
    .map_err(|e| failed("write the log", e))?;
    let stderr = log.try_clone().map_err(|e| failed("share the log", e))?;
    let child = std::process::Command::new(exe)
        .arg("node")
        .arg("--dev")
        .arg("--config")
        .arg(config_path(node_dir))
        .current_dir(node_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| failed(&format!("start {}", exe.display()), e))?;
    write_pid(node_dir, child.id())?;
    Ok(child)
}

/// Writes the pid file atomically (a reader never sees half a pid).
fn write_pid(node_dir: &Path, pid: u32) -> Result<(), CliError> {
    let tmp = node_dir.join("pid.tmp");
    std::fs::write(&tmp, format!("{pid}\n"))
        .and_then(|()| std::fs::rename(&tmp, pid_path(node_dir)))
        .map_err(|e| {
            CliError::Failed(format!(
                "cannot write the pid file in {}: {e}",
                node_dir.display()
            ))
        })
}

/// Removes the node's pid file (absent is fine).
pub(crate) fn remove_pid(node_dir: &Path) -> Result<(), CliError> {
    match std::fs::remove_file(pid_path(node_dir)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::Failed(format!(
            "cannot remove {}: {e}",
            pid_path(node_dir).display()
        ))),
    }
}

/// How a node was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StopHow {
    /// It exited after SIGTERM.
    Terminated,
    /// It ignored SIGTERM for [`STOP_TIMEOUT`] and got SIGKILL.
    Killed,
    /// It still ran after SIGKILL (should not happen).
    Stuck,
}

/// Stops the given nodes `(node_dir, pid)`: SIGTERM to all, up to
/// [`STOP_TIMEOUT`] for them to exit, SIGKILL to the rest. Returns how
/// each one ended, in the order given.
pub(crate) fn stop(nodes: &[(PathBuf, i32)]) -> Vec<StopHow> {
    for (_, pid) in nodes {
        // An error means it is already gone.
        let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
    }
    let mut how = vec![StopHow::Terminated; nodes.len()];
    let alive = |i: usize| is_ours(nodes[i].1, &nodes[i].0);
    let pending = wait_gone(nodes.len(), STOP_TIMEOUT, alive);
    for &i in &pending {
        let _ = kill(Pid::from_raw(nodes[i].1), Signal::SIGKILL);
        how[i] = StopHow::Killed;
    }
    let stuck = wait_gone(nodes.len(), KILL_TIMEOUT, |i| {
        pending.contains(&i) && alive(i)
    });
    for i in stuck {
        how[i] = StopHow::Stuck;
    }
    how
}

/// Waits until `alive(i)` is false for every `i < n`, at most `timeout`;
/// returns those still alive.
fn wait_gone(n: usize, timeout: Duration, alive: impl Fn(usize) -> bool) -> Vec<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: Vec<usize> = (0..n).filter(|&i| alive(i)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(POLL);
    }
}

/// The last `lines` lines of a log file (empty if unreadable).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_live_process_started_with_the_config_path_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let node_dir = dir.path();
        // A shell loop with the config path as its `$0` stands in for a
        // node: the command line is what is checked. It exits on SIGTERM.
        let mut ours = std::process::Command::new("sh")
            .arg("-c")
            .arg("trap 'exit 0' TERM; while :; do sleep 0.05; done")
            .arg(config_path(node_dir))
            .spawn()
            .unwrap();
        let mut stranger = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = |c: &Child| i32::try_from(c.id()).unwrap();
        // `spawn` returns once the kernel has swapped in the new program's
        // memory, but it writes the program's argv a moment later: until
        // then the command line reads empty. Wait for it (a loaded CI
        // machine can stall the child in that window).
        wait_for_cmdline(pid(&ours));
        wait_for_cmdline(pid(&stranger));
        assert!(is_ours(pid(&ours), node_dir));
        assert!(!is_ours(pid(&stranger), node_dir));
        assert!(!is_ours(0, node_dir));
        assert!(!is_ours(-1, node_dir));
        std::fs::write(pid_path(node_dir), format!("{}\n", ours.id())).unwrap();
        assert_eq!(running_pid(node_dir), Some(pid(&ours)));
        // Stopping: SIGTERM ends the loop; then it is a zombie of this
        // test (not reaped yet) and already counts as gone.
        let how = stop(&[(node_dir.to_path_buf(), pid(&ours))]);
        assert_eq!(how, vec![StopHow::Terminated]);
        assert_eq!(running_pid(node_dir), None);
        ours.wait().unwrap();
        stranger.kill().unwrap();
        stranger.wait().unwrap();
        remove_pid(node_dir).unwrap();
        remove_pid(node_dir).unwrap();
        assert_eq!(read_pid(node_dir), None);
    }

    /// Waits until `/proc/<pid>/cmdline` is not empty (at most 10 s).
    fn wait_for_cmdline(pid: i32) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.is_empty()) {
            assert!(Instant::now() < deadline, "{pid} never got a command line");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn malformed_pid_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        for text in ["", "abc", "0", "-5", "99999999999"] {
            std::fs::write(pid_path(dir.path()), text).unwrap();
            assert_eq!(read_pid(dir.path()), None, "{text:?}");
        }
        std::fs::write(pid_path(dir.path()), " 42\n").unwrap();
        assert_eq!(read_pid(dir.path()), Some(42));
    }

    #[test]
    fn the_log_tail_is_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("node.log");
        std::fs::write(&log, "a\nb\nc\nd\n").unwrap();
        assert_eq!(log_tail(&log, 2), "c\nd");
        assert_eq!(log_tail(&log, 10), "a\nb\nc\nd");
        assert_eq!(log_tail(&dir.path().join("none"), 3), "");
    }
}
