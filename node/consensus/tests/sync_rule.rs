//! The block-sync acceptance rule (`check_synced_block`): a valid block
//! with its finality QC and child is accepted, and each rule fails alone —
//! every mutation below breaks exactly one rule (QCs are re-signed by a real
//! quorum where a mutation changes what they certify).

mod common;

use aether_consensus::signing::block_message;
use aether_consensus::*;
use aether_crypto::bls::{Domain, aggregate_signatures};
use aether_types::*;
use common::{N, key, set};

const GENESIS: BlockHash = BlockHash([0x6e; 32]);
const HEAD: BlockHash = BlockHash([0x11; 32]);

/// A core of validator 0, for its QC verification.
fn verifier() -> Core {
    Core::new(
        Config::new(GENESIS, Epoch(0), Digest([42; 32])),
        ValidatorIndex(0),
        key(0),
        set(),
        VerifyMemo::new(),
        Restore::default(),
    )
    .unwrap()
}

/// A QC for `block` at `round` and `height`, signed by `signers`.
fn qc(block: BlockHash, round: u64, height: u64, signers: &[usize]) -> QuorumCert {
    let block_ref = BlockRef {
        epoch: Epoch(0),
        round: Round(round),
        block,
        height,
    };
    let message = block_message(&GENESIS, &block_ref);
    let signatures: Vec<_> = signers
        .iter()
        .map(|i| key(*i).sign(Domain::Vote, &message))
        .collect();
    let mut bitmap = SignerBitmap::new(N).unwrap();
    for i in signers {
        bitmap.set(ValidatorIndex(*i as u16));
    }
    QuorumCert {
        epoch: Epoch(0),
        round: Round(round),
        block,
        height,
        signers: bitmap,
        signature: BlsSignatureBytes(aggregate_signatures(&signatures).unwrap().to_bytes()),
    }
}

/// A proposal at `height` and `round` on `parent` (the parent's QC is
/// not what the sync rule reads).
fn block(parent: BlockHash, height: u64, round: u64, salt: u8) -> Proposal {
    Proposal {
        header: BlockHeader {
            version: HEADER_VERSION,
            chain_id: ChainId(9),
            height,
            timestamp_ms: height,
            parent_hash: parent,
            tx_root: Digest([salt; 32]),
            receipts_root: Digest::default(),
            state_root: Digest::default(),
            data_root: Digest::default(),
            consensus: ConsensusFields::HotStuff(Box::new(ProposalFields {
                epoch: Epoch(0),
                round: Round(round),
                proposer: ValidatorIndex((round % N as u64) as u16),
                justify: QuorumCert::genesis(Epoch(0), GENESIS),
                timeout_cert: None,
                vrf_proof: BlsSignatureBytes::ZERO,
            })),
        },
        payload: BoundedBytes::default(),
        signature: BlsSignatureBytes::ZERO,
    }
}

const QUORUM: &[usize] = &[0, 1, 3];

/// Block 5 (round 7) on HEAD, its child at round 8, and the child's QC.
fn valid() -> (Proposal, QuorumCert, Proposal) {
    let b = block(HEAD, 5, 7, 0);
    let c = block(b.block_id(), 6, 8, 0);
    let finality = qc(c.block_id(), 8, 6, QUORUM);
    (b, finality, c)
}

fn check(
    head: BlockHash,
    b: &Proposal,
    finality: &QuorumCert,
    c: &Proposal,
) -> Result<(), SyncRefusal> {
    let mut core = verifier();
    check_synced_block(head, b, finality, c, |q| core.verify_quorum_cert(q))
}

#[test]
fn a_block_certified_by_its_next_round_child_is_accepted() {
    let (b, finality, c) = valid();
    assert_eq!(check(HEAD, &b, &finality, &c), Ok(()));
}

#[test]
fn each_rule_fails_alone() {
    let (b, finality, c) = valid();

    // 1. Not a HotStuff block (the dev chain's header kind).
    let mut single = b.clone();
    single.header.consensus = ConsensusFields::SingleValidator {
        proposer: PublicKey([3; 32]),
    };
    let c1 = block(single.block_id(), 6, 8, 0);
    let q1 = qc(c1.block_id(), 8, 6, QUORUM);
    assert_eq!(
        check(HEAD, &single, &q1, &c1),
        Err(SyncRefusal::NotHotStuff { height: 5 })
    );

    // 2. Not on the committed head.
    assert_eq!(
        check(BlockHash([0x22; 32]), &b, &finality, &c),
        Err(SyncRefusal::NotOnHead { height: 5 })
    );

    // 3. The next block is not b's child (a certified block elsewhere).
    let stranger = block(BlockHash([0x33; 32]), 6, 8, 0);
    let q3 = qc(stranger.block_id(), 8, 6, QUORUM);
    assert_eq!(
        check(HEAD, &b, &q3, &stranger),
        Err(SyncRefusal::NoChild { height: 5 })
    );

    // 4. The QC certifies a sibling of the child, not the child.
    let sibling = block(b.block_id(), 6, 8, 1);
    let q4 = qc(sibling.block_id(), 8, 6, QUORUM);
    assert_eq!(
        check(HEAD, &b, &q4, &c),
        Err(SyncRefusal::QcForAnotherBlock { height: 5 })
    );

    // 5. The child is certified, but two rounds later: b is not final by
    //    the two-chain rule.
    let late = block(b.block_id(), 6, 9, 0);
    let q5 = qc(late.block_id(), 9, 6, QUORUM);
    assert_eq!(
        check(HEAD, &b, &q5, &late),
        Err(SyncRefusal::QcRound {
            height: 5,
            qc: 9,
            expected: 8
        })
    );

    // 6. A quorum signed the child at a wrong height.
    let q6 = qc(c.block_id(), 8, 7, QUORUM);
    assert_eq!(
        check(HEAD, &b, &q6, &c),
        Err(SyncRefusal::QcHeight {
            height: 5,
            qc: 7,
            expected: 6
        })
    );

    // 7. The QC does not verify: two of four signers (no quorum), a
    //    signature by other signers than the bitmap names, a forged
    //    signature.
    let few = qc(c.block_id(), 8, 6, &[0, 1]);
    assert_eq!(
        check(HEAD, &b, &few, &c),
        Err(SyncRefusal::QcInvalid { height: 5 })
    );
    let mut misnamed = finality.clone();
    misnamed.signers = qc(c.block_id(), 8, 6, &[1, 2, 3]).signers;
    assert_eq!(
        check(HEAD, &b, &misnamed, &c),
        Err(SyncRefusal::QcInvalid { height: 5 })
    );
    let mut forged = finality.clone();
    forged.signature = qc(BlockHash([0x44; 32]), 8, 6, QUORUM).signature;
    assert_eq!(
        check(HEAD, &b, &forged, &c),
        Err(SyncRefusal::QcInvalid { height: 5 })
    );
}

/// A whole response (`check_synced_blocks`).
fn check_all(head: BlockHash, blocks: &[(&Proposal, &QuorumCert)]) -> SyncedPrefix {
    let mut core = verifier();
    check_synced_blocks(head, blocks, |q| core.verify_quorum_cert(q))
}

#[test]
fn a_response_is_accepted_up_to_its_highest_proven_block() {
    // b5 (round 7) was made final by a certified child X of round 8 that
    // was then abandoned; b6 (round 9) extends b5 and is final through b7
    // (round 10), which waits for the next response.
    let b5 = block(HEAD, 5, 7, 0);
    let abandoned = block(b5.block_id(), 6, 8, 7);
    let q5 = qc(abandoned.block_id(), 8, 6, QUORUM);
    let b6 = block(b5.block_id(), 6, 9, 0);
    let b7 = block(b6.block_id(), 7, 10, 0);
    let q6 = qc(b7.block_id(), 10, 7, QUORUM);
    let b8 = block(b7.block_id(), 8, 11, 0);
    let q7 = qc(b8.block_id(), 11, 8, QUORUM);
    // b5 alone is refused by the one-block rule (its QC names X, not b6),
    // but the response proves it final through b6.
    assert_eq!(
        check(HEAD, &b5, &q5, &b6),
        Err(SyncRefusal::QcForAnotherBlock { height: 5 })
    );
    let all = [(&b5, &q5), (&b6, &q6), (&b7, &q7)];
    assert_eq!(
        check_all(HEAD, &all),
        SyncedPrefix {
            accepted: 2,
            refusal: None
        }
    );
    // Blocks committed in one step share the QC that committed the top
    // one: b5 and b6 both carry b7's QC (round 10), which certifies b7 at
    // b6's round + 1: b5 and b6 are proven.
    assert_eq!(
        check_all(HEAD, &[(&b5, &q6), (&b6, &q6), (&b7, &q7)]).accepted,
        2
    );
    // The last block alone proves nothing; nothing on another head.
    assert_eq!(check_all(HEAD, &all[..1]).accepted, 0);
    assert_eq!(check_all(BlockHash([0x22; 32]), &all).accepted, 0);
    // Without b6's proof (b7 missing) only what is proven below: nothing.
    assert_eq!(check_all(HEAD, &all[..2]).accepted, 0);

    // Every block's own QC must verify at its next round and height: a
    // bad one ends the prefix there, and only what is proven below counts.
    let (b, finality, c) = valid();
    let d = block(c.block_id(), 7, 9, 0);
    let c_qc = qc(d.block_id(), 9, 7, QUORUM);
    let few = qc(d.block_id(), 9, 7, &[0, 1]);
    let e = block(d.block_id(), 8, 10, 0);
    let d_qc = qc(e.block_id(), 10, 8, QUORUM);
    for (bad, why) in [
        (few, SyncRefusal::QcInvalid { height: 6 }),
        (
            qc(d.block_id(), 8, 7, QUORUM),
            SyncRefusal::QcNotAbove { height: 6 },
        ),
        (
            qc(d.block_id(), 9, 6, QUORUM),
            SyncRefusal::QcNotAbove { height: 6 },
        ),
    ] {
        // With c's good QC, b and c are proven (d waits).
        let good = check_all(HEAD, &[(&b, &finality), (&c, &c_qc), (&d, &d_qc)]);
        assert_eq!(good.accepted, 2, "{good:?}");
        let got = check_all(HEAD, &[(&b, &finality), (&c, &bad), (&d, &d_qc)]);
        assert_eq!(
            got,
            SyncedPrefix {
                accepted: 0,
                refusal: Some(why)
            }
        );
    }
    // A successor that is not a child ends the prefix.
    let stranger = block(BlockHash([0x33; 32]), 6, 8, 0);
    let got = check_all(HEAD, &[(&b, &finality), (&stranger, &c_qc)]);
    assert_eq!(got.accepted, 0);
    assert_eq!(got.refusal, Some(SyncRefusal::NotOnHead { height: 6 }));
    // A block of another header kind ends it too.
    let mut single = c.clone();
    single.header.consensus = ConsensusFields::SingleValidator {
        proposer: PublicKey([3; 32]),
    };
    let got = check_all(HEAD, &[(&b, &finality), (&single, &c_qc)]);
    assert_eq!(got.refusal, Some(SyncRefusal::NotHotStuff { height: 6 }));
}
