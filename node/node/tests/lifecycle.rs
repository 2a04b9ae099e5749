//! The ledger over RocksDB behind consensus's `BlockLifecycle`: a leader
//! builds two blocks, the second on top of the first while it is still
//! pending; another node re-executes both against its own store (the second
//! on the first's overlay) and accepts them; tampered blocks are refused
//! with the reason (one test per check of `verify`) and leave nothing
//! pending; both nodes commit the two
//! blocks and hold the same state root, and the committed blocks come back
//! as proposed, with their finality certificates.

use aether_chain_api::{BlockLifecycle, BuildRequest, LifecycleError, RejectReason};
use aether_client::TxBuilder;
use aether_ledger::Ledger;
use aether_mempool::{Mempool, MempoolConfig};
use aether_node::genesis::{DEV_ACCOUNT_AIC, dev_account_key, dev_validator_key};
use aether_node::lifecycle::ChainLifecycle;
use aether_node::{BlockLimits, Genesis, NodeChain, NodeConfig, NodeMetrics};
use aether_rpc::backend::TxSubmitter;
use aether_storage::{Store, StoreOptions};
use aether_types::*;
use std::sync::Arc;

fn open(dir: &std::path::Path) -> (Arc<NodeChain>, Genesis) {
    let config = NodeConfig::dev(dir);
    let store = Store::open(dir.join("db"), StoreOptions::default()).unwrap();
    let chain = NodeChain::open(
        store,
        Ledger::new(config.params.clone()),
        Mempool::new(MempoolConfig::default()),
        &config.genesis,
        dev_validator_key(),
        BlockLimits {
            max_txs: 1000,
            max_bytes: 1 << 20,
        },
        Arc::new(NodeMetrics::new()),
    )
    .unwrap();
    (chain, config.genesis)
}

/// A transfer from dev account `from`'s genesis output to account 9.
fn transfer(chain: &NodeChain, genesis: &Genesis, from: u32) -> Transaction {
    let key = dev_account_key(from);
    let owner = Address::Key(key.key_hash());
    TxBuilder::new(&chain.ledger().params().tx_params())
        .input(
            genesis.out_point(from),
            &TxOutput::coin(owner, DEV_ACCOUNT_AIC * BASE_UNITS_PER_AIC),
        )
        .output(TxOutput::coin(
            Address::Key(dev_account_key(9).key_hash()),
            5 * BASE_UNITS_PER_AIC,
        ))
        .change_to(owner)
        .signer(&key)
        .build()
        .unwrap()
}

fn request(parent: BlockHash, height: u64) -> BuildRequest {
    BuildRequest {
        parent,
        height,
        timestamp_ms: 1_700_000_000_000 + height,
        consensus: ConsensusFields::SingleValidator {
            proposer: PublicKey([7; 32]),
        },
    }
}

fn finality(block: &BlockHeader) -> QuorumCert {
    QuorumCert {
        height: block.height + 1,
        ..QuorumCert::genesis(Epoch(0), BlockHash([block.height as u8; 32]))
    }
}

fn proposal(header: &BlockHeader, payload: &[u8]) -> Proposal {
    Proposal {
        header: header.clone(),
        payload: BoundedBytes::new(payload.to_vec()).unwrap(),
        signature: BlsSignatureBytes::ZERO,
    }
}

#[test]
fn blocks_on_pending_parents_are_built_verified_and_committed() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (chain_a, genesis) = open(dir_a.path());
    let (chain_b, _) = open(dir_b.path());
    let genesis_id = chain_a.store().tip().unwrap().hash;
    assert_eq!(chain_b.store().tip().unwrap().hash, genesis_id);
    let mut leader = ChainLifecycle::new(Arc::clone(&chain_a), 1000, 1 << 20);
    let mut follower = ChainLifecycle::new(Arc::clone(&chain_b), 1000, 1 << 20);

    // Block 1 with two transfers; block 2 (on pending block 1) with a third
    // transfer, and not the two again.
    for from in [0, 1] {
        chain_a
            .submit(&transfer(&chain_a, &genesis, from).encode())
            .unwrap();
    }
    let b1 = leader.build(&request(genesis_id, 1)).unwrap();
    let id1 = b1.header.hash();
    chain_a
        .submit(&transfer(&chain_a, &genesis, 2).encode())
        .unwrap();
    let b2 = leader.build(&request(id1, 2)).unwrap();
    assert_eq!(b2.header.parent_hash, id1);
    let block2 = aether_node::lifecycle::decode_block(&b2.header, &b2.payload).unwrap();
    assert_eq!(
        block2.transactions.len(),
        1,
        "block 2 holds only the new transfer"
    );
    assert_eq!(chain_a.height(), 0, "nothing is written before commit");
    assert_eq!(
        leader.state_root(&b2.header.hash()),
        Some(b2.header.state_root)
    );

    // A child of an unknown block is refused.
    let mut orphan = b2.header.clone();
    orphan.parent_hash = BlockHash([3; 32]);
    assert!(matches!(
        follower.verify(&orphan, &b2.payload),
        Err(LifecycleError::UnknownParent(_))
    ));
    // Tampered blocks: each refused with its reason, nothing kept pending.
    let mut bad_root = b1.header.clone();
    bad_root.state_root = Digest([9; 32]);
    let mut bad_receipts = b1.header.clone();
    bad_receipts.receipts_root = Digest([9; 32]);
    let mut bad_height = b1.header.clone();
    bad_height.height = 5;
    let mut bad_time = b1.header.clone();
    bad_time.timestamp_ms = 0;
    let mut bad_chain = b1.header.clone();
    bad_chain.chain_id = ChainId(b1.header.chain_id.0 + 1);
    // Block 2's header over block 1's transactions (tx root fixed up):
    // they spend outputs pending block 1 already spent.
    let replayed = aether_node::lifecycle::decode_block(&b1.header, &b1.payload).unwrap();
    let mut double_spend = b2.header.clone();
    double_spend.tx_root = Block {
        header: double_spend.clone(),
        transactions: replayed.transactions,
    }
    .compute_tx_root();
    for (header, payload, reason) in [
        (&bad_root, &b1.payload[..], RejectReason::StateRoot),
        (&bad_receipts, &b1.payload[..], RejectReason::Receipts),
        (&bad_height, &b1.payload[..], RejectReason::Height),
        (&bad_time, &b1.payload[..], RejectReason::Timestamp),
        (
            &b1.header,
            &b1.payload[..b1.payload.len() - 3],
            RejectReason::Payload,
        ),
        (&b1.header, &b2.payload[..], RejectReason::Payload),
        (&bad_chain, &b1.payload[..], RejectReason::Header),
    ] {
        match follower.verify(header, payload) {
            Err(LifecycleError::Rejected { reason: r, .. }) => assert_eq!(r, reason),
            other => panic!("expected {reason:?}, got {other:?}"),
        }
    }
    assert_eq!(follower.pending_len(), 0);

    // The follower re-executes both, the second on the first's overlay.
    follower.verify(&b1.header, &b1.payload).unwrap();
    match follower.verify(&double_spend, &b1.payload) {
        Err(LifecycleError::Rejected { reason, .. }) => assert_eq!(reason, RejectReason::Execution),
        other => panic!("expected Execution, got {other:?}"),
    }
    assert_eq!(follower.pending_len(), 1);
    follower.verify(&b2.header, &b2.payload).unwrap();
    assert_eq!(follower.pending_len(), 2);

    // Block 2 cannot commit before block 1.
    assert!(matches!(
        follower.commit(&proposal(&b2.header, &b2.payload), &finality(&b2.header)),
        Err(LifecycleError::NotCommittable(_))
    ));
    for (app, chain) in [(&mut leader, &chain_a), (&mut follower, &chain_b)] {
        app.commit(&proposal(&b1.header, &b1.payload), &finality(&b1.header))
            .unwrap();
        app.commit(&proposal(&b2.header, &b2.payload), &finality(&b2.header))
            .unwrap();
        assert_eq!(chain.height(), 2);
        assert_eq!(chain.store().finalized(), Some(2));
        assert_eq!(chain.store().state_root(), b2.header.state_root);
        assert_eq!(app.pending_len(), 0);
        assert_eq!(
            chain.mempool_len(),
            0,
            "committed transactions leave the pool"
        );
        // The committed blocks come back as proposed, with their QCs.
        assert_eq!(app.committed_at(1), Some(proposal(&b1.header, &b1.payload)));
        let head = app.committed_head().unwrap();
        assert_eq!(head.proposal, proposal(&b2.header, &b2.payload));
        assert_eq!(head.finality, finality(&b2.header));
        assert_eq!(app.committed_height(&id1), Some(1));
    }
    // Account 9 received three transfers.
    let nine = Address::Key(dev_account_key(9).key_hash());
    assert_eq!(
        chain_b.store().balance(&nine).unwrap().coin,
        DEV_ACCOUNT_AIC * BASE_UNITS_PER_AIC + 15 * BASE_UNITS_PER_AIC
    );
}

/// Two forks on one parent: both verify; committing one drops the other.
#[test]
fn a_committed_block_drops_its_forks() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, genesis) = open(dir.path());
    let genesis_id = chain.store().tip().unwrap().hash;
    let mut app = ChainLifecycle::new(Arc::clone(&chain), 1000, 1 << 20);
    let fork_a = app.build(&request(genesis_id, 1)).unwrap();
    chain
        .submit(&transfer(&chain, &genesis, 4).encode())
        .unwrap();
    let fork_b = app.build(&request(genesis_id, 1)).unwrap();
    assert_ne!(fork_a.header.hash(), fork_b.header.hash());
    let child_a = app.build(&request(fork_a.header.hash(), 2)).unwrap();
    assert_eq!(app.pending_len(), 3);
    app.commit(
        &proposal(&fork_b.header, &fork_b.payload),
        &finality(&fork_b.header),
    )
    .unwrap();
    assert_eq!(app.pending_len(), 0, "fork a and its child are dropped");
    assert!(matches!(
        app.commit(
            &proposal(&child_a.header, &child_a.payload),
            &finality(&child_a.header)
        ),
        Err(LifecycleError::NotCommittable(_))
    ));
    assert_eq!(chain.height(), 1);
}
