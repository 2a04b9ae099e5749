//! Transaction gossip (announce by digest, pull once), block sync by
//! height range, statuses, and partitions through the fault wrapper.

mod common;

use aether_chain_api::{CommittedBlock, SyncError, SyncSource, SyncStatus};
use aether_network::faults::Faults;
use aether_network::{Network, NetworkError, PeerEvent, PeerId, tx_digest};
use aether_types::{
    BlockHash, BlockHeader, BlsSignatureBytes, BoundedBytes, ChainId, ConsensusFields, Digest,
    Epoch, HEADER_VERSION, Proposal, QuorumCert, ValidatorIndex,
};
use common::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_announced_pulled_once_and_deduplicated() {
    let (_peers, mut nodes) = cluster(3, &|_| {}).await;
    let txs: Vec<Vec<u8>> = (0..100u32).map(|i| i.to_le_bytes().repeat(40)).collect();
    // Validators 0 and 2 both hold the same 100 transactions.
    let d0 = nodes[0].net.announce_txs(txs.clone()).unwrap();
    let d2 = nodes[2].net.announce_txs(txs.clone()).unwrap();
    assert_eq!(d0, d2);
    assert_eq!(d0[5], tx_digest(&txs[5]));
    // Validator 1 receives each exactly once.
    let mut got = BTreeSet::new();
    while got.len() < 100 {
        let tx = tokio::time::timeout(Duration::from_secs(5), nodes[1].inbox.txs.recv())
            .await
            .expect("tx in time")
            .unwrap();
        assert_eq!(tx.digest, tx_digest(&tx.bytes));
        assert!(got.insert(tx.digest), "delivered twice");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        nodes[1].inbox.txs.try_recv().is_err(),
        "a duplicate was delivered"
    );
    assert_eq!(
        nodes[1].net.stats().tx_pulled,
        100,
        "each digest pulled once"
    );
    // (Validators 0 and 2 may have pulled from each other if one's
    // announcement arrived before the other offered them: at most once.)
    let mut base = [0u64; 3];
    for i in [0, 2] {
        let mut delivered = BTreeSet::new();
        while let Ok(tx) = nodes[i].inbox.txs.try_recv() {
            assert!(delivered.insert(tx.digest), "delivered twice");
        }
        base[i] = nodes[i].net.stats().tx_pulled;
        assert!(base[i] <= 100, "node {i} pulled {}", base[i]);
    }
    // Validator 1 accepts them and announces in turn: the others hold them
    // already, so nobody pulls anything.
    nodes[1].net.announce_txs(txs.clone()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in [0, 2] {
        assert_eq!(nodes[i].net.stats().tx_pulled, base[i], "node {i}");
        assert!(nodes[i].inbox.txs.try_recv().is_err());
    }
    // Announcing again is a no-op (not new).
    nodes[0].net.announce_txs(txs[..3].to_vec()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(nodes[1].net.stats().tx_pulled, 100);
    stop(nodes).await;
}

fn proposal(height: u64) -> Proposal {
    Proposal {
        header: BlockHeader {
            version: HEADER_VERSION,
            chain_id: ChainId(7),
            height,
            timestamp_ms: height * 1000,
            parent_hash: BlockHash([height as u8; 32]),
            tx_root: Digest([0; 32]),
            receipts_root: Digest([0; 32]),
            state_root: Digest([0; 32]),
            data_root: Digest([0; 32]),
            consensus: ConsensusFields::SingleValidator {
                proposer: key(0).public_key(),
            },
        },
        payload: BoundedBytes::new(vec![height as u8; 3000]).unwrap(),
        signature: BlsSignatureBytes([2; 96]),
    }
}

/// A store of committed blocks 1..=head.
struct MemorySource {
    head: u64,
}

impl SyncSource for MemorySource {
    fn status(&self) -> SyncStatus {
        SyncStatus {
            committed_height: self.head,
            highest_qc: QuorumCert::genesis(Epoch(0), BlockHash([self.head as u8; 32])),
        }
    }

    fn committed_blocks(
        &self,
        from: u64,
        max_blocks: usize,
        max_bytes: usize,
    ) -> Result<Vec<CommittedBlock>, SyncError> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for h in from.max(1)..=self.head {
            if out.len() == max_blocks || (bytes > max_bytes && !out.is_empty()) {
                break;
            }
            bytes += 3300;
            out.push(CommittedBlock {
                proposal: proposal(h),
                finality: QuorumCert::genesis(Epoch(0), BlockHash([h as u8; 32])),
            });
        }
        if from == 0 {
            out.clear();
        }
        Ok(out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_are_synced_by_height_range() {
    let peers = validator_set(2);
    let source: Arc<dyn SyncSource> = Arc::new(MemorySource { head: 200 });
    let mut c1 = config(peers[1].addr, &peers);
    c1.accept_full_nodes = true;
    c1.request_timeout = Duration::from_millis(300);
    let (v1, _i1) = Network::start(&key(1), c1, Some(source)).unwrap();
    let mut v0 = start(0, &peers, &|_| {});
    assert!(
        wait_until(Duration::from_secs(5), || v0.net.connected_peers().len()
            == 1)
        .await
    );
    // Statuses arrive on connect and periodically.
    let status = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(PeerEvent::Status { from, status }) = v0.inbox.events.recv().await {
                return (from, status);
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(status.0, PeerId::Validator(ValidatorIndex(1)));
    assert_eq!(status.1.committed_height, 200);
    assert_eq!(
        v0.net
            .peer_status(ValidatorIndex(1))
            .unwrap()
            .committed_height,
        200
    );
    // A range, bounded at 64 blocks per request.
    let blocks = v0
        .net
        .request_blocks(ValidatorIndex(1), 10, 64)
        .await
        .unwrap();
    let heights: Vec<u64> = blocks.iter().map(|b| b.proposal.header.height).collect();
    assert_eq!(heights, (10..74).collect::<Vec<u64>>());
    assert_eq!(blocks[0].proposal, proposal(10));
    let tail = v0
        .net
        .request_blocks(ValidatorIndex(1), 190, 64)
        .await
        .unwrap();
    assert_eq!(tail.len(), 11);
    assert!(
        v0.net
            .request_blocks(ValidatorIndex(1), 500, 5)
            .await
            .unwrap()
            .is_empty()
    );
    // A node without a sync source does not answer: the request times out.
    let mut c = config(free_addr(), &peers);
    c.request_timeout = Duration::from_millis(300);
    let (full, _fi) = Network::start(&key(80), c, None).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || full.connected_peers()
            == vec![ValidatorIndex(1)])
        .await
    );
    // A read-only full node may sync.
    let from_full = full.request_blocks(ValidatorIndex(1), 1, 3).await.unwrap();
    assert_eq!(from_full.len(), 3);
    assert!(matches!(
        v1.request_blocks(ValidatorIndex(0), 1, 3).await,
        Err(NetworkError::Timeout)
    ));
    full.shutdown().await;
    v0.net.shutdown().await;
    v1.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_blocks_delivery_and_heals() {
    let faults = Arc::new(Faults::new(3));
    let f = faults.clone();
    let (_peers, mut nodes) = cluster(4, &move |c| c.faults = Some(f.clone())).await;
    faults.partition(vec![
        [ValidatorIndex(0), ValidatorIndex(1)].into(),
        [ValidatorIndex(2), ValidatorIndex(3)].into(),
    ]);
    nodes[0].net.broadcast(vote(0, 1)).unwrap();
    nodes[3].net.broadcast(vote(3, 1)).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), nodes[1].inbox.consensus.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message, vote(0, 1));
    let m = tokio::time::timeout(Duration::from_secs(5), nodes[2].inbox.consensus.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message, vote(3, 1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in &mut nodes {
        assert!(
            n.inbox.consensus.try_recv().is_err(),
            "crossed the partition"
        );
    }
    // Connections stay up (only frames are lost), and once healed the next
    // messages go everywhere.
    faults.heal();
    nodes[0].net.broadcast(vote(0, 2)).unwrap();
    for n in &mut nodes[1..] {
        let m = tokio::time::timeout(Duration::from_secs(5), n.inbox.consensus.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.message, vote(0, 2));
    }
    assert!(faults.dropped() >= 4);
    stop(nodes).await;
}
