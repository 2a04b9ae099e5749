//! Helpers of the loopback tests: keys, free ports, clusters, raw QUIC
//! clients that speak the wire protocol by hand (to misbehave).
#![allow(dead_code)]

use aether_crypto::ed25519::Keypair;
use aether_network::tls::{NodeIdentity, SERVER_NAME};
use aether_network::{Inbox, Network, NetworkConfig, Peer};
use aether_types::{
    BlockHash, BlsSignatureBytes, ConsensusMsg, Epoch, Round, ValidatorIndex, Vote,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The node key of validator `i` (deterministic).
pub fn key(i: u8) -> Keypair {
    Keypair::from_secret_bytes(&[i + 1; 32])
}

/// A free UDP port on loopback (bound and released; tests start the node
/// right after).
pub fn free_addr() -> SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr")
}

/// A free UDP port on loopback below the kernel's ephemeral range, for a
/// node that is killed and restarted on the same address: between the
/// kill and the restart no other process's `bind(0)` can be handed this
/// port (a port from [`free_addr`] could be, and the restarted node would
/// then fail to bind).
pub fn restartable_addr() -> SocketAddr {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let start: u16 = rand::random::<u16>() % 8000;
    (0..8000u16)
        .map(|k| 20_000 + (start + k) % 8000)
        .filter(|&p| p < low)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
        .find(|a| std::net::UdpSocket::bind(a).is_ok())
        .expect("a free port below the ephemeral range")
}

/// The validator set of `n` validators on fresh ports.
pub fn validator_set(n: u8) -> Vec<Peer> {
    (0..n)
        .map(|i| Peer {
            index: ValidatorIndex(u16::from(i)),
            key: key(i).public_key(),
            addr: free_addr(),
            stake: 1,
        })
        .collect()
}

/// Test defaults: the production ones with a short status interval.
pub fn config(addr: SocketAddr, peers: &[Peer]) -> NetworkConfig {
    let mut c = NetworkConfig::new(addr, peers.to_vec());
    c.status_interval = Duration::from_millis(200);
    c
}

/// A running node.
pub struct Node {
    pub net: Network,
    pub inbox: Inbox,
}

/// Starts validator `i` of `peers`.
pub fn start(i: usize, peers: &[Peer], tweak: &dyn Fn(&mut NetworkConfig)) -> Node {
    let mut c = config(peers[i].addr, peers);
    tweak(&mut c);
    let (net, inbox) = Network::start(&key(i as u8), c, None).expect("start");
    Node { net, inbox }
}

/// Starts every validator of a fresh set of `n` and waits until all are
/// connected to all.
pub async fn cluster(n: u8, tweak: &dyn Fn(&mut NetworkConfig)) -> (Vec<Peer>, Vec<Node>) {
    let peers = validator_set(n);
    let nodes: Vec<Node> = (0..usize::from(n))
        .map(|i| start(i, &peers, tweak))
        .collect();
    let all = usize::from(n) - 1;
    assert!(
        wait_until(Duration::from_secs(10), || nodes.iter().all(|x| x
            .net
            .connected_peers()
            .len()
            == all))
        .await,
        "cluster did not connect"
    );
    (peers, nodes)
}

/// Polls `f` every 5 ms until it holds or `limit` passes.
pub async fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    f()
}

/// Stops every node.
pub async fn stop(nodes: Vec<Node>) {
    for n in nodes {
        n.net.shutdown().await;
    }
}

/// A vote signed (with a dummy signature) by `voter`.
pub fn vote(voter: u16, round: u64) -> ConsensusMsg {
    ConsensusMsg::Vote(Vote {
        epoch: Epoch(0),
        round: Round(round),
        block: BlockHash([round as u8; 32]),
        height: round,
        voter: ValidatorIndex(voter),
        signature: BlsSignatureBytes([1; 96]),
    })
}

/// A raw QUIC connection to `addr` with the identity `key`, expecting the
/// server key `server`: a client that writes frames by hand.
pub async fn raw_connect(
    key: &Keypair,
    server: &Keypair,
    addr: SocketAddr,
) -> Result<(quinn::Endpoint, quinn::Connection), String> {
    let id = NodeIdentity::new(key).map_err(|e| e.to_string())?;
    let tls = id
        .client_config(server.public_key())
        .map_err(|e| e.to_string())?;
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| e.to_string())?;
    let endpoint =
        quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).map_err(|e| e.to_string())?;
    let connecting = endpoint
        .connect_with(quinn::ClientConfig::new(Arc::new(quic)), addr, SERVER_NAME)
        .map_err(|e| e.to_string())?;
    let conn = tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .map_err(|_| "handshake timed out".to_string())?
        .map_err(|e| e.to_string())?;
    Ok((endpoint, conn))
}

/// The application close code of a closed connection, if it was closed
/// by the peer's application.
pub async fn close_code(conn: &quinn::Connection, limit: Duration) -> Option<u64> {
    match tokio::time::timeout(limit, conn.closed()).await {
        Ok(quinn::ConnectionError::ApplicationClosed(c)) => Some(c.error_code.into_inner()),
        _ => None,
    }
}
