//! Misbehaving peers: a flood is rate-limited and then the peer dropped
//! and banned; undecodable frames and broken framing drop the peer.

mod common;

use aether_network::network::close;
use aether_network::{Message, RateLimits};
use aether_types::ValidatorIndex;
use common::*;
use std::time::Duration;

fn tight() -> RateLimits {
    RateLimits {
        frames_per_sec: 200.0,
        frame_burst: 100.0,
        max_score: 200.0,
        score_decay_per_sec: 1.0,
        ban: Duration::from_secs(30),
        ..RateLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_rate_limited_then_dropped() {
    let peers = validator_set(3);
    let mut n0 = start(0, &peers, &|c| c.consensus_queue = 10_000);
    let mut n1 = start(1, &peers, &|c| c.rate = tight());
    let n2 = start(2, &peers, &|_| {});
    assert!(
        wait_until(Duration::from_secs(5), || n1.net.connected_peers().len()
            == 2)
        .await
    );
    // Validator 2 behaves: its messages arrive.
    n2.net.send(ValidatorIndex(1), vote(2, 1)).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), n1.inbox.consensus.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.from, ValidatorIndex(2));
    // Validator 0 floods validator 1 with 5,000 votes at once.
    for r in 0..5_000u64 {
        n0.net.send(ValidatorIndex(1), vote(0, r)).unwrap();
    }
    let v1 = n1.net.clone();
    assert!(
        wait_until(Duration::from_secs(10), || v1.stats().peers_dropped == 1).await,
        "{:?}",
        v1.stats()
    );
    let s = v1.stats();
    assert!(s.rate_limited >= 200, "{s:?}");
    // It got its burst through, not the flood.
    let mut delivered = 0;
    while n1.inbox.consensus.try_recv().is_ok() {
        delivered += 1;
    }
    assert!((100..1_000).contains(&delivered), "{delivered}");
    // Dropped and banned: validator 0 stays disconnected (its redials are
    // refused), validator 2 stays connected.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(n1.net.connected_peers(), vec![ValidatorIndex(2)]);
    assert!(
        n1.net.stats().connections_refused >= 1,
        "{:?}",
        n1.net.stats()
    );
    while n0.inbox.consensus.try_recv().is_ok() {}
    stop(vec![n0, n1, n2]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_frames_drop_the_peer() {
    let peers = validator_set(2);
    let n1 = start(1, &peers, &|c| c.rate = tight());
    // A raw client with validator 0's key sends consensus frames whose
    // bodies do not decode (undecodable: weight 50, limit 200).
    let (_e, conn) = raw_connect(&key(0), &key(1), peers[1].addr).await.unwrap();
    let mut stream = conn.open_uni().await.unwrap();
    let mut junk = Message::Consensus(vote(0, 1)).encode().to_vec();
    junk[6] = 0xee; // an enum tag no ConsensusMsg has
    for _ in 0..3 {
        stream.write_all(&junk).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(conn.close_reason().is_none(), "dropped too early");
    assert_eq!(n1.net.stats().offences, 3);
    // (Scores decay by 1/s, so the fourth lands just under the limit.)
    stream.write_all(&junk).await.unwrap();
    stream.write_all(&junk).await.unwrap();
    assert_eq!(
        close_code(&conn, Duration::from_secs(5)).await,
        Some(u64::from(close::MISBEHAVIOUR))
    );
    assert_eq!(n1.net.stats().peers_dropped, 1);
    // Banned: a new connection is closed at once.
    let (_e2, again) = raw_connect(&key(0), &key(1), peers[1].addr).await.unwrap();
    assert_eq!(
        close_code(&again, Duration::from_secs(5)).await,
        Some(u64::from(close::MISBEHAVIOUR))
    );
    n1.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_length_over_the_bound_breaks_the_stream_and_drops_the_peer() {
    let peers = validator_set(2);
    let n1 = start(1, &peers, &|c| c.max_message_len = 4096);
    let (_e, conn) = raw_connect(&key(0), &key(1), peers[1].addr).await.unwrap();
    let mut stream = conn.open_uni().await.unwrap();
    // Announces a 1 MiB consensus body: refused before anything is read.
    let mut header = ((1u32 << 20) + 2).to_le_bytes().to_vec();
    header.extend_from_slice(&[1, 1]);
    stream.write_all(&header).await.unwrap();
    assert_eq!(
        close_code(&conn, Duration::from_secs(5)).await,
        Some(u64::from(close::FRAMING))
    );
    assert_eq!(n1.net.stats().peers_dropped, 1);
    n1.net.shutdown().await;
}
