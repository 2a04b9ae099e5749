//! `aether devnet`: four validators as real processes make and finalize
//! blocks of one chain; a 2+2 partition halts finality for 10 s and the
//! chain resumes when it heals; blocks still arrive with half of every
//! shred batch lost; a validator made to equivocate is reported by the
//! others and slashed on chain (its reporter is paid); one is SIGKILLed and the other three go on;
//! restarted by `devnet up`, it catches up on the same chain; `devnet load`
//! gets transfers final through every node; `devnet down` leaves no
//! process behind.

mod common;

use common::raw_call;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const VALIDATORS: usize = 4;

/// A devnet directory; on drop (pass or fail) `devnet down`, then SIGKILL
/// to any pid still alive, so no test leaves a process behind.
struct Devnet {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn aether() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aether"));
    c.env_remove("AETHER_DEVNET_DIR");
    c
}

/// Whether `pid` is a live process (a zombie is not).
fn alive(pid: i32) -> bool {
    if pid <= 0 || kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// A base port whose 4 × 3 ports are free now (TCP and UDP), varied by
/// pid so concurrent test runs rarely collide, below the kernel's
/// ephemeral range (from 32768) so that no other process's `bind(0)` takes
/// a port of a node the test kills and restarts.
fn free_base_port() -> u16 {
    let free = |p: u16| {
        std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
    };
    let seed = std::process::id();
    (0..64u32)
        .map(|k| 20_000 + ((seed + 7 * k) % 300) as u16 * 40)
        .find(|&base| (0..VALIDATORS as u16).all(|i| (0..3).all(|o| free(base + 10 * i + o))))
        .expect("a free port range")
}

impl Devnet {
    fn new() -> Devnet {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("devnet");
        Devnet { _tmp: tmp, dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        aether()
            .arg("devnet")
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .output()
            .expect("run aether devnet")
    }

    /// `aether --json devnet ARGS --dir DIR`; panics unless it succeeds.
    fn json(&self, args: &[&str]) -> Value {
        let out = aether()
            .arg("--json")
            .arg("devnet")
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .output()
            .expect("run aether devnet");
        assert!(
            out.status.success(),
            "aether devnet {args:?} failed ({}):\n{}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        serde_json::from_slice(&out.stdout).expect("one JSON document")
    }

    fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}"))
    }

    fn pid(&self, i: usize) -> Option<i32> {
        std::fs::read_to_string(self.node_dir(i).join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Each node's finalized height (`None`: no answer).
    fn finalized(&self) -> Vec<Option<u64>> {
        let status = self.json(&["status"]);
        let nodes = status["nodes"].as_array().expect("nodes").clone();
        assert_eq!(nodes.len(), VALIDATORS);
        nodes
            .iter()
            .map(|n| n["finalized_height"].as_u64())
            .collect()
    }

    fn wait(&self, what: &str, timeout: Duration, mut done: impl FnMut(&Devnet) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(
                start.elapsed() < timeout,
                "{what}: not within {} s; finalized heights {:?}\n{}",
                timeout.as_secs(),
                self.finalized(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("{what}: {:.1} s", start.elapsed().as_secs_f64());
    }

    /// The end of every node's log.
    fn logs(&self) -> String {
        (0..VALIDATORS)
            .map(|i| {
                let text =
                    std::fs::read_to_string(self.node_dir(i).join("node.log")).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "--- node-{i} log (end) ---\n{}",
                    lines[lines.len().saturating_sub(15)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if !self.dir.exists() {
            return;
        }
        let pids: Vec<i32> = (0..VALIDATORS).filter_map(|i| self.pid(i)).collect();
        let _ = self.run(&["down"]);
        for pid in pids.into_iter().filter(|p| alive(*p)) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn all_at_least(heights: &[Option<u64>], nodes: &[usize], h: u64) -> bool {
    nodes.iter().all(|&i| heights[i].is_some_and(|f| f >= h))
}

#[test]
fn four_validators_survive_a_partition_and_a_kill_catch_up_take_load_and_stop() {
    let net = Devnet::new();
    let base = free_base_port().to_string();
    // Empty blocks every 20 ms at most, so a node that misses a few seconds
    // falls more than 64 blocks behind, a gap a node leaves to block sync
    // (it does not fetch such a gap through consensus).
    let up = net.json(&[
        "up",
        "--validators",
        "4",
        "--base-port",
        &base,
        "--block-time-ms",
        "20",
    ]);
    assert_eq!(up["created"], true);
    assert_eq!(up["nodes"].as_array().unwrap().len(), VALIDATORS);
    assert!(
        up["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "started")
    );
    let all: Vec<usize> = (0..VALIDATORS).collect();
    net.wait(
        "every node finalized height 3",
        Duration::from_secs(30),
        |n| all_at_least(&n.finalized(), &all, 3),
    );

    // A 2+2 partition for 10 s: neither side has a quorum, so once what
    // was in flight has settled (1 s) no node finalizes anything; healed,
    // the chain goes on.
    let cut = net.json(&["partition", "0,1", "2,3"]);
    let applied = |report: &Value| {
        report["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["error"].is_null())
    };
    assert!(applied(&cut), "{cut}");
    assert_eq!(
        cut["nodes"][0]["faults"]["partition"],
        serde_json::json!([[0, 1], [2, 3]])
    );
    std::thread::sleep(Duration::from_secs(1));
    let during = net.finalized();
    std::thread::sleep(Duration::from_secs(9));
    let after = net.finalized();
    assert_eq!(during, after, "finalized during a 2+2 partition");
    let healed = net.json(&["heal"]);
    assert!(applied(&healed), "{healed}");
    assert!(
        healed["nodes"][0]["faults"]["partition"].is_null(),
        "{healed}"
    );
    let top = after.iter().flatten().copied().max().unwrap();
    net.wait(
        "finality resumes after the partition heals",
        Duration::from_secs(60),
        |n| all_at_least(&n.finalized(), &all, top + 5),
    );
    // Blocks travel by Turbine: with exactly half of every batch of shreds
    // lost on every link (all the data shreds: receivers decode from the
    // coding half), every node still rebuilds and finalizes blocks.
    let rebuilt = |n: &Devnet| -> Vec<u64> {
        n.json(&["status"])["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["consensus"]["blocks_from_shreds"].as_u64().unwrap_or(0))
            .collect()
    };
    let before_loss = rebuilt(&net);
    assert!(before_loss.iter().all(|b| *b > 0), "{before_loss:?}");
    let lossy = net.json(&["faults", "--shred-loss", "0.5"]);
    assert!(applied(&lossy), "{lossy}");
    let base = net.finalized().iter().flatten().copied().max().unwrap();
    net.wait(
        "blocks finalize with half of every shred batch lost",
        Duration::from_secs(60),
        |n| all_at_least(&n.finalized(), &all, base + 20),
    );
    let after_loss = rebuilt(&net);
    assert!(
        after_loss.iter().zip(&before_loss).all(|(a, b)| a > b),
        "{before_loss:?} -> {after_loss:?}"
    );
    assert!(applied(&net.json(&["faults", "--shred-loss", "0"])));
    // Bad groups are refused before any node is touched.
    let bad = net.run(&["partition", "0,1", "1,2"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("two partition groups"));

    // Node 3 equivocates: beside each vote it signs a second one in the
    // same round for a made-up block. The others see both, submit the
    // evidence in transactions signed by their node keys, and the first
    // one included slashes 5 % of node 3's 10,000 AIC stake, paying its
    // reporter 10 % of that (50 AIC) at its node key; later reports are
    // refused (node 3 is tombstoned), so exactly one honest node gains.
    let rpc_urls: Vec<String> = up["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["rpc_url"].as_str().unwrap().to_string())
        .collect();
    let node_coin = |i: usize| -> u128 {
        let key = aether_crypto::keyfile::read_key_file(&net.node_dir(i).join("node.key")).unwrap();
        let address = format!("key:{}", hex::encode(key.key_hash().0));
        let balance = raw_call(
            &rpc_urls[0],
            "aether_getBalance",
            serde_json::json!([address]),
        )
        .unwrap()
        .unwrap();
        balance["coin"].as_str().unwrap().parse().unwrap()
    };
    let aic = aether_types::BASE_UNITS_PER_AIC;
    let funded: Vec<u128> = (0..VALIDATORS).map(node_coin).collect();
    assert!(funded.iter().all(|c| *c == 1_000 * aic), "{funded:?}");
    let byzantine = net.json(&["equivocate", "3"]);
    assert_eq!(
        byzantine["nodes"].as_array().unwrap().len(),
        1,
        "{byzantine}"
    );
    assert_eq!(byzantine["nodes"][0]["index"], 3);
    assert_eq!(byzantine["nodes"][0]["faults"]["equivocate"], true);
    net.wait(
        "an honest validator is paid for reporting node 3",
        Duration::from_secs(60),
        |_| (0..3).any(|i| node_coin(i) != funded[i]),
    );
    assert!(applied(&net.json(&["equivocate", "3", "--off"])));
    // Let any other report in flight be refused, then look again.
    std::thread::sleep(Duration::from_secs(2));
    let after: Vec<u128> = (0..VALIDATORS).map(node_coin).collect();
    let gainers: Vec<usize> = (0..3).filter(|&i| after[i] != funded[i]).collect();
    assert_eq!(gainers.len(), 1, "one report wins: {funded:?} -> {after:?}");
    let gain = after[gainers[0]] - funded[gainers[0]];
    // 50 AIC less the report's fee (well under 1 AIC).
    assert!(gain > 49 * aic && gain < 50 * aic, "{gain}");
    assert_eq!(after[3], funded[3], "the offender is not paid");
    let logs = std::fs::read_to_string(net.node_dir(gainers[0]).join("node.log")).unwrap();
    assert!(logs.contains("equivocation reported"), "no report logged");

    // SIGKILL node 3: the other three (3 of 4) keep finalizing.
    let victim = net.pid(3).expect("node-3 pid file");
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    net.wait("node-3 gone", Duration::from_secs(10), |_| !alive(victim));
    let status = net.json(&["status"]);
    assert_eq!(status["nodes"][3]["running"], false);
    let survivors = [0, 1, 2];
    let before = net.finalized();
    let floor = survivors
        .iter()
        .map(|&i| before[i].expect("survivors answer"))
        .min()
        .unwrap();
    net.wait(
        "three validators finalize 100 more blocks",
        Duration::from_secs(60),
        |n| all_at_least(&n.finalized(), &survivors, floor + 100),
    );

    // `up` again restarts node 3 only, with its keys and data; it catches up.
    let again = net.json(&["up"]);
    assert_eq!(again["created"], false);
    let states: Vec<&str> = again["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["running", "running", "running", "started"]);
    let target = net.finalized()[..3]
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap();
    net.wait("node-3 caught up", Duration::from_secs(30), |n| {
        all_at_least(&n.finalized(), &[3], target)
    });
    let synced = net.json(&["status"])["nodes"][3]["consensus"]["synced_blocks"]
        .as_u64()
        .expect("node-3 reports synced blocks");
    assert!(synced > 0, "node-3 caught up without block sync");
    // And it votes again: with node 2 killed, the quorum of three needs
    // node 3's votes, and the chain goes on.
    let pid2 = net.pid(2).unwrap();
    kill(Pid::from_raw(pid2), Signal::SIGKILL).unwrap();
    net.wait("node-2 gone", Duration::from_secs(10), |_| !alive(pid2));
    let base3 = net.finalized()[3].expect("node-3 answers");
    net.wait(
        "0, 1 and 3 finalize 20 more",
        Duration::from_secs(60),
        |n| all_at_least(&n.finalized(), &[0, 1, 3], base3 + 20),
    );

    // Two of four down: no quorum, the chain halts (safely: no node
    // finalizes anything); it resumes when they return.
    let pid3 = net.pid(3).unwrap();
    kill(Pid::from_raw(pid3), Signal::SIGKILL).unwrap();
    net.wait("node-3 gone", Duration::from_secs(10), |_| !alive(pid3));
    std::thread::sleep(Duration::from_secs(1));
    let halted = net.finalized();
    std::thread::sleep(Duration::from_secs(3));
    let still = net.finalized();
    assert_eq!(halted[..2], still[..2], "finalized without a quorum");
    let resumed = net.json(&["up"]);
    assert_eq!(resumed["created"], false);
    let top = still[..2].iter().flatten().copied().max().unwrap();
    net.wait(
        "the chain resumes with four",
        Duration::from_secs(60),
        |n| all_at_least(&n.finalized(), &all, top + 5),
    );
    // One chain: every node has the same block at a height all finalized.
    let urls: Vec<String> = up["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["rpc_url"].as_str().unwrap().to_string())
        .collect();
    let common_height = net.finalized().into_iter().flatten().min().unwrap();
    let hashes: Vec<String> = urls
        .iter()
        .map(|url| {
            let block = raw_call(
                url,
                "aether_getBlockByNumber",
                serde_json::json!([common_height, false]),
            )
            .expect("node reachable")
            .expect("block");
            block["header"]["hash"]
                .as_str()
                .expect("a hash")
                .to_string()
        })
        .collect();
    assert!(
        hashes.windows(2).all(|w| w[0] == w[1]),
        "the nodes are not on one chain at height {common_height}: {hashes:?}"
    );
    // A second `up` with everything running is refused.
    let refused = net.run(&["up"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already runs"));

    // Load over all four nodes.
    let report = net.json(&["load", "--rate", "200", "--duration", "5"]);
    eprintln!("load report: {report}");
    assert_eq!(report["submitted"], 1000);
    // Every node knows the split outputs: none refuses a transfer.
    assert_eq!(report["rejected"], 0, "{report}");
    let finalized = report["finalized"].as_u64().unwrap();
    assert!(finalized > 0, "{report}");
    assert!(report["accepted"].as_u64().unwrap() >= finalized);
    assert!(report["latency_ms"]["p50"].as_u64().is_some(), "{report}");

    // The text status names every node.
    let text = net.run(&["status"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        (0..VALIDATORS).all(|i| text.contains(&format!("node-{i}"))),
        "{text}"
    );

    // Down: every process gone, pid files removed, data kept.
    let pids: Vec<i32> = (0..VALIDATORS).map(|i| net.pid(i).unwrap()).collect();
    let down = net.json(&["down"]);
    assert_eq!(down["stopped"].as_array().unwrap().len(), VALIDATORS);
    for (i, pid) in pids.iter().enumerate() {
        assert!(!alive(*pid), "node-{i} (pid {pid}) still runs");
        assert!(!net.node_dir(i).join("pid").exists());
        assert!(net.node_dir(i).join("data").exists());
    }
    // Down again: nothing runs, not an error.
    let again = net.json(&["down"]);
    assert_eq!(again["stopped"].as_array().unwrap().len(), 0);
    assert!(Path::new(&net.dir).join("devnet.json").exists());
}
