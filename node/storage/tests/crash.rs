//! Crash safety: a child process commits blocks continuously and prints
//! each height after `commit_block` returns; the parent kills it with
//! SIGKILL at seeded random moments, reopens the store, and checks that
//! every reported block is there, the store opens cleanly (its own
//! consistency check), and the state root equals a from-scratch replay of
//! the committed blocks. The child resumes from the tip each round.
//!
//! The child is this test binary re-executed with `CHILD_ENV` set, running
//! only `crash_child` (which does nothing in a normal test run).

mod common;

use aether_storage::{Store, StoreOptions};
use common::*;
use rand::Rng;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CHILD_ENV: &str = "AETHER_STORAGE_CRASH_CHILD_DIR";
const SEED_ENV: &str = "AETHER_STORAGE_CRASH_CHILD_SEED";
const ACCOUNTS: u32 = 8;

/// The child: open the store (durable commits, the default), then commit
/// blocks of transfers until killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // normal test run: nothing to do
    };
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let chain = DevChain::new(ACCOUNTS);
    let store = Store::open(&dir, StoreOptions::default()).unwrap();
    let mut rng = rng(seed);
    if store.tip().is_none() {
        chain.grow(&store, &mut rng, 0, 0);
        let tip = store.tip().unwrap();
        println!("committed {} {}", tip.height, tip.hash);
    }
    loop {
        let block = chain.produce_one(&store, &mut rng, 12);
        println!("committed {} {}", block.header.height, block.hash());
    }
}

#[test]
fn sigkill_during_commits_loses_no_committed_block() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let chain = DevChain::new(ACCOUNTS);
    let mut rng = rng(0xC0FFEE);
    let mut reported: Vec<(u64, String)> = Vec::new();
    let rounds = 10;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env(SEED_ENV, (1000 + round).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<(u64, String)>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split_whitespace();
                if parts.next() == Some("committed") {
                    let height = parts.next().unwrap().parse().unwrap();
                    let hash = parts.next().unwrap().to_string();
                    if tx.send((height, hash)).is_err() {
                        break;
                    }
                }
            }
        });
        // Wait for the first commit of this round (so every round makes
        // progress however loaded the machine is), then kill at a random
        // moment: anywhere inside the following commits.
        let first = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the child commits a block within two minutes");
        reported.push(first);
        let delay = rng.gen_range(0..400u64);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        reported.extend(rx.try_iter());

        // Reopen: every reported block is there with its hash, and the
        // state root equals a replay of the stored blocks.
        let store = Store::open(dir.path(), StoreOptions::default())
            .expect("the store opens cleanly after SIGKILL");
        let tip = store.tip().unwrap();
        let highest = reported.iter().map(|(h, _)| *h).max().unwrap();
        assert!(
            tip.height >= highest,
            "round {round}: tip {} below reported {highest}",
            tip.height
        );
        for (height, hash) in &reported {
            let header = store
                .header(*height)
                .unwrap()
                .expect("reported block present");
            assert_eq!(&header.hash().to_string(), hash, "height {height}");
        }
        let replayed = replay(&chain, &store, 2);
        assert_eq!(replayed.tip, Some(tip));
        assert_eq!(replayed.tree.root(), store.state_root());
        assert_eq!(
            store.header(tip.height).unwrap().unwrap().state_root,
            store.state_root()
        );
        assert_same_utxos(&chain, &store, &replayed.utxos);
        eprintln!(
            "round {round}: killed after {delay} ms, {} reported, tip {} (reported max {highest})",
            reported.len(),
            tip.height
        );
    }
    // The rounds continued one chain (a block committed but not yet
    // reported when the child died is simply not in the list).
    let heights: Vec<u64> = reported.iter().map(|(h, _)| *h).collect();
    assert!(heights.windows(2).all(|w| w[1] > w[0]), "{heights:?}");
    assert!(heights.len() >= rounds as usize);
}
