//! Connections on loopback: direct messages among four validators, one
//! connection per pair, unknown peers and impostors refused, duplicate
//! dials resolved, full nodes read-only, a restarted node reconnecting.

mod common;

use aether_chain_api::Transport;
use aether_network::network::close;
use aether_network::{Network, NetworkError, NetworkTransport, Peer, PeerEvent, PeerId};
use aether_types::{ConsensusMsg, ValidatorIndex};
use common::*;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_exchange_direct_messages() {
    let (_peers, nodes) = cluster(4, &|_| {}).await;
    // Exactly one connection per pair: three per node, none refused.
    for n in &nodes {
        let s = n.net.stats();
        assert_eq!(s.connections, 3, "{s:?}");
        assert_eq!(s.connections_refused, 0, "{s:?}");
    }
    let mut transports: Vec<NetworkTransport> = nodes
        .into_iter()
        .map(|n| NetworkTransport::new(n.net, n.inbox.consensus))
        .collect();
    // Everyone sends a vote to everyone directly, then broadcasts another.
    for i in 0..4u16 {
        for j in 0..4u16 {
            if i != j {
                transports[usize::from(i)]
                    .send(ValidatorIndex(j), vote(i, 1))
                    .unwrap();
            }
        }
        transports[usize::from(i)].broadcast(vote(i, 2)).unwrap();
    }
    for (j, t) in transports.iter_mut().enumerate() {
        let mut got = BTreeSet::new();
        while got.len() < 6 {
            let m = tokio::time::timeout(Duration::from_secs(5), t.recv())
                .await
                .expect("message")
                .expect("open");
            let ConsensusMsg::Vote(v) = &m.message else {
                panic!("not a vote")
            };
            assert_eq!(v.voter, m.from, "authenticated sender");
            got.insert((m.from.0, v.round.0));
        }
        let expected: BTreeSet<(u16, u64)> = (0..4u16)
            .filter(|i| usize::from(*i) != j)
            .flat_map(|i| [(i, 1), (i, 2)])
            .collect();
        assert_eq!(got, expected);
        assert!(t.try_recv().is_none());
    }
    // Unknown recipients are refused.
    assert_eq!(
        transports[0].send(ValidatorIndex(9), vote(0, 3)),
        Err(aether_chain_api::TransportError::UnknownPeer(
            ValidatorIndex(9)
        ))
    );
    // A vote naming another voter is never relayed: dropped and counted.
    let before = transports[1].network().stats().offences;
    transports[0].send(ValidatorIndex(1), vote(2, 4)).unwrap();
    transports[0].send(ValidatorIndex(1), vote(0, 5)).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), transports[1].recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message, vote(0, 5), "the forged-sender vote was dropped");
    assert_eq!(transports[1].network().stats().offences, before + 1);
    for t in transports {
        t.network().shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_peers_and_impostors_are_refused() {
    let (peers, nodes) = cluster(2, &|_| {}).await;
    // An outsider (key not in the set) dials as a full node: refused by
    // the TLS verifier of every validator.
    let outsider_key = key(50);
    let mut c = config(free_addr(), &peers);
    c.redial_min = Duration::from_millis(20);
    let (outsider, _inbox) = Network::start(&outsider_key, c, None).unwrap();
    assert_eq!(outsider.me(), None);
    assert!(matches!(
        outsider.broadcast(vote(0, 1)),
        Err(NetworkError::ReadOnly)
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(outsider.connected_peers().is_empty());
    for n in &nodes {
        assert!(n.net.connected_full_nodes().is_empty());
    }
    // A raw client with an unknown key: the server refuses its certificate
    // (TLS 1.3 clients finish first, so the client may see the handshake
    // end before the refusal closes the connection).
    if let Ok((_e, conn)) = raw_connect(&outsider_key, &key(1), peers[1].addr).await {
        let reason = tokio::time::timeout(Duration::from_secs(5), conn.closed()).await;
        assert!(
            matches!(reason, Ok(quinn::ConnectionError::ConnectionClosed(_))),
            "{reason:?}"
        );
    }
    assert_eq!(nodes[1].net.stats().connections, 1);
    outsider.shutdown().await;

    // An impostor: a node listed as validator 1's address holds another key.
    // Validator 0 dials it and refuses the certificate.
    let impostor_addr = free_addr();
    let mut set = validator_set(2);
    set[1].addr = impostor_addr;
    let v0 = start(0, &set, &|_| {});
    let mut impostor_set: Vec<Peer> = set.clone();
    impostor_set[1].key = key(60).public_key();
    let mut ic = config(impostor_addr, &impostor_set);
    ic.accept_full_nodes = true;
    let (impostor, _i) = Network::start(&key(60), ic, None).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(v0.net.connected_peers().is_empty(), "dialled an impostor");
    assert!(impostor.connected_peers().is_empty());
    impostor.shutdown().await;
    v0.net.shutdown().await;
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_nodes_connect_read_only_when_allowed() {
    let (peers, mut nodes) = cluster(2, &|c| c.accept_full_nodes = true).await;
    let (full, mut full_inbox) =
        Network::start(&key(70), config(free_addr(), &peers), None).unwrap();
    assert!(wait_until(Duration::from_secs(5), || full.connected_peers().len() == 2).await);
    assert!(
        wait_until(Duration::from_secs(5), || nodes[0]
            .net
            .connected_full_nodes()
            == vec![key(70).public_key()])
        .await
    );
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(PeerEvent::Connected(PeerId::FullNode(k))) =
                nodes[1].inbox.events.recv().await
            {
                return k;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(event, key(70).public_key());
    // Read-only: it cannot send consensus messages or announce.
    assert!(matches!(
        full.send(ValidatorIndex(0), vote(0, 1)),
        Err(NetworkError::ReadOnly)
    ));
    assert!(matches!(
        full.announce_txs(vec![vec![1]]),
        Err(NetworkError::ReadOnly)
    ));
    assert!(matches!(
        full.broadcast_block(vec![1; 10]).await,
        Err(NetworkError::ReadOnly)
    ));
    // Validators never send it consensus traffic.
    nodes[0].net.broadcast(vote(0, 1)).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(full_inbox.consensus.try_recv().is_err());
    full.shutdown().await;
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_dials_are_resolved() {
    // Start and stop full meshes several times: every pair ends with one
    // connection, nobody dials the wrong way.
    for _ in 0..3 {
        let (_p, nodes) = cluster(4, &|_| {}).await;
        for (i, n) in nodes.iter().enumerate() {
            let s = n.net.stats();
            assert_eq!((s.connections, s.connections_refused), (3, 0), "node {i}");
        }
        stop(nodes).await;
    }
    let (peers, nodes) = cluster(3, &|_| {}).await;
    // The higher index dialling the lower is refused: validator 2 → 1.
    let (_e, wrong) = raw_connect(&key(2), &key(1), peers[1].addr).await.unwrap();
    assert_eq!(
        close_code(&wrong, Duration::from_secs(5)).await,
        Some(u64::from(close::WRONG_DIALER))
    );
    // The rightful dialler dialling again replaces the old connection; the
    // node keeps exactly one connection to it.
    let old = nodes[0].net.connection(ValidatorIndex(1)).unwrap();
    let (_e2, second) = raw_connect(&key(0), &key(1), peers[1].addr).await.unwrap();
    assert_eq!(
        close_code(&old, Duration::from_secs(5)).await,
        Some(u64::from(close::REPLACED))
    );
    // Validator 0 sees its connection replaced and redials: the raw one is
    // replaced in turn, and the pair is back to one live connection.
    assert_eq!(
        close_code(&second, Duration::from_secs(5)).await,
        Some(u64::from(close::REPLACED))
    );
    assert!(
        wait_until(Duration::from_secs(5), || nodes[1]
            .net
            .connected_peers()
            .contains(&ValidatorIndex(0))
            && nodes[0].net.connected_peers().contains(&ValidatorIndex(1)))
        .await
    );
    nodes[0].net.send(ValidatorIndex(1), vote(0, 9)).unwrap();
    let mut nodes = nodes;
    let m = tokio::time::timeout(Duration::from_secs(5), nodes[1].inbox.consensus.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message, vote(0, 9));
    stop(nodes).await;
}

/// Environment variable that makes [`restartable_node_process`] run a node:
/// `index,addr0,addr1,...`.
const NODE_ENV: &str = "AETHER_NETWORK_TEST_NODE";

/// The body of the child process the restart test starts and kills: runs
/// one validator until killed.
#[test]
#[ignore = "run as a child process by the restart test"]
fn restartable_node_process() {
    let Ok(spec) = std::env::var(NODE_ENV) else {
        return;
    };
    let mut parts = spec.split(',');
    let index: usize = parts.next().unwrap().parse().unwrap();
    let peers: Vec<Peer> = parts
        .enumerate()
        .map(|(i, addr)| Peer {
            index: ValidatorIndex(i as u16),
            key: key(i as u8).public_key(),
            addr: addr.parse().unwrap(),
            stake: 1,
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let _node = start(index, &peers, &restart_config);
        // Until SIGKILL.
        tokio::time::sleep(Duration::from_secs(300)).await;
    });
}

/// A validator in a child process, killed (SIGKILL: nothing is closed
/// gracefully) when dropped.
struct NodeProcess(std::process::Child);

impl NodeProcess {
    fn spawn(index: usize, peers: &[Peer], stderr: &std::path::Path) -> Self {
        let spec = std::iter::once(index.to_string())
            .chain(peers.iter().map(|p| p.addr.to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "restartable_node_process",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(NODE_ENV, spec)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(stderr).unwrap())
            .spawn()
            .unwrap();
        NodeProcess(child)
    }
}

impl NodeProcess {
    /// Whether the child has exited.
    fn exited(&mut self) -> bool {
        self.0.try_wait().ok().flatten().is_some()
    }

    /// Panics with the child's stderr if it has exited (it runs until
    /// killed, so an exit is a failure to start, e.g. a taken port).
    fn assert_running(&mut self, stderr: &std::path::Path) {
        if let Some(status) = self.0.try_wait().unwrap() {
            panic!(
                "the node process exited ({status}): {}",
                std::fs::read_to_string(stderr).unwrap_or_default()
            );
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The restart test's idle timeout: far above anything the test waits, so
/// a reconnection can only come from the stateless reset or the silence
/// redial, never from the old connection timing out.
const RESTART_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

fn restart_config(c: &mut aether_network::NetworkConfig) {
    c.idle_timeout = RESTART_IDLE_TIMEOUT;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_with_the_same_identity_is_redialled() {
    let mut peers = validator_set(2);
    peers[1].addr = restartable_addr();
    let stderr_dir = tempfile::tempdir().unwrap();
    let stderr = stderr_dir.path().join("node-1.stderr");
    // Node 0 dials; node 1 (a child process that is killed and restarted)
    // only accepts, so node 0 must notice the restart. With a 120 s idle
    // timeout the old connection can only end in one of two ways: the
    // restarted node's stateless reset (same key, same reset and
    // connection-id keys) when node 0's next probe reaches it, or node 0's
    // fresh dial beside a connection silent for `silence_redial`, which
    // replaces it. Which one wins depends on how long the child takes to
    // start (node 0's probes back off exponentially while nobody answers),
    // so the path and the time are printed, not asserted: on an idle
    // machine the reset, 0.14-0.42 s after the restart began
    // (docs/BENCHMARKS.md).
    let n0 = start(0, &peers, &restart_config);
    let mut child = NodeProcess::spawn(1, &peers, &stderr);
    let first = wait_until(Duration::from_secs(30), || {
        child.exited() || n0.net.connected_peers() == vec![ValidatorIndex(1)]
    })
    .await;
    child.assert_running(&stderr);
    assert!(first, "first connection");
    for round in 0..2 {
        // Holding the old connection keeps its id from being reused.
        let old = n0.net.connection(ValidatorIndex(1)).unwrap();
        drop(child); // SIGKILL
        let started = std::time::Instant::now();
        child = NodeProcess::spawn(1, &peers, &stderr);
        // Well below the idle timeout; the silence redial makes it at most
        // the child's start plus `silence_redial` plus one dial.
        let reconnected = wait_until(Duration::from_secs(60), || {
            child.exited()
                || n0
                    .net
                    .connection(ValidatorIndex(1))
                    .is_some_and(|c| c.stable_id() != old.stable_id() && c.close_reason().is_none())
        })
        .await;
        let took = started.elapsed();
        child.assert_running(&stderr);
        assert!(reconnected, "round {round}: no reconnection within 60 s");
        let path = match old.close_reason() {
            Some(quinn::ConnectionError::Reset) => "stateless reset",
            Some(quinn::ConnectionError::LocallyClosed) => "silence redial",
            other => panic!("round {round}: the old connection ended by {other:?}"),
        };
        eprintln!("round {round}: reconnected by {path} {took:?} after the restart began");
        if path == "silence redial" {
            assert!(n0.net.stats().silence_redials > 0, "round {round}");
        }
    }
    drop(child);
    n0.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_peer_queues_are_bounded_and_lanes_independent() {
    // Validator 1 never starts: validator 0's queues to it fill up and
    // refuse (the driver is never blocked); other lanes keep their room.
    let peers = validator_set(2);
    let n0 = start(0, &peers, &|c| {
        c.consensus_queue = 4;
        c.bulk_queue = 2;
    });
    let mut t = NetworkTransport::new(n0.net.clone(), n0.inbox.consensus);
    for r in 0..4 {
        t.send(ValidatorIndex(1), vote(0, r)).unwrap();
    }
    assert_eq!(
        t.send(ValidatorIndex(1), vote(0, 4)),
        Err(aether_chain_api::TransportError::QueueFull(ValidatorIndex(
            1
        )))
    );
    assert_eq!(
        t.broadcast(vote(0, 5)),
        Err(aether_chain_api::TransportError::QueueFull(ValidatorIndex(
            1
        )))
    );
    // Transactions fill the bulk lane without touching consensus, and
    // the queued votes are delivered once the peer appears.
    for i in 0..5u8 {
        n0.net.announce_txs(vec![vec![i; 10]]).unwrap();
    }
    let mut n1 = start(1, &peers, &|_| {});
    let mut rounds = Vec::new();
    while rounds.len() < 4 {
        let m = tokio::time::timeout(Duration::from_secs(5), n1.inbox.consensus.recv())
            .await
            .unwrap()
            .unwrap();
        let ConsensusMsg::Vote(v) = m.message else {
            panic!()
        };
        rounds.push(v.round.0);
    }
    assert_eq!(rounds, vec![0, 1, 2, 3]);
    n0.net.shutdown().await;
    n1.net.shutdown().await;
}
