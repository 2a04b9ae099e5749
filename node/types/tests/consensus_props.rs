//! Property tests of the consensus wire types: roundtrips, canonicality,
//! and hostile input (random bytes, truncations, bit flips) rejected
//! without a panic. Also pins the encoding of a fixed QC and vote.

use aether_types::*;
use proptest::prelude::*;

fn assert_canonical<T: Canonical + std::fmt::Debug + PartialEq>(bytes: &[u8]) {
    if let Ok(value) = T::decode(bytes) {
        assert_eq!(value.encode(), bytes, "accepted a non-canonical encoding");
    }
}

fn bitmap(len: usize, bits: &[bool]) -> SignerBitmap {
    let mut b = SignerBitmap::new(len).unwrap();
    for (i, set) in bits.iter().enumerate().take(len) {
        if *set {
            b.set(ValidatorIndex(i as u16));
        }
    }
    b
}

fn arb_bitmap() -> impl Strategy<Value = SignerBitmap> {
    (0usize..40, proptest::collection::vec(any::<bool>(), 40))
        .prop_map(|(len, bits)| bitmap(len, &bits))
}

fn arb_sig() -> impl Strategy<Value = BlsSignatureBytes> {
    any::<[u8; 32]>().prop_map(|b| {
        let mut s = [0u8; 96];
        s[..32].copy_from_slice(&b);
        s[64..].copy_from_slice(&b);
        BlsSignatureBytes(s)
    })
}

fn arb_qc() -> impl Strategy<Value = QuorumCert> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        arb_bitmap(),
        arb_sig(),
    )
        .prop_map(
            |(epoch, round, block, height, signers, signature)| QuorumCert {
                epoch: Epoch(epoch),
                round: Round(round),
                block: BlockHash(block),
                height,
                signers,
                signature,
            },
        )
}

fn arb_tc() -> impl Strategy<Value = TimeoutCert> {
    (
        1u64..1_000,
        proptest::collection::vec(
            (0u64..1_000, proptest::collection::vec(any::<bool>(), 12)),
            1..4,
        ),
        arb_sig(),
    )
        .prop_map(|(round, raw, signature)| {
            // Make the groups valid: distinct ascending rounds below `round`,
            // disjoint non-empty bitmaps over 12 validators.
            let round = round + 1_000;
            let mut used = [false; 12];
            let mut groups = Vec::new();
            let mut rounds: Vec<u64> = raw.iter().map(|(r, _)| *r).collect();
            rounds.sort();
            rounds.dedup();
            for (i, r) in rounds.iter().enumerate() {
                let bits: Vec<bool> = raw[i.min(raw.len() - 1)]
                    .1
                    .iter()
                    .enumerate()
                    .map(|(j, b)| *b && !used[j])
                    .collect();
                if !bits.iter().any(|b| *b) {
                    continue;
                }
                for (j, b) in bits.iter().enumerate() {
                    used[j] |= *b;
                }
                groups.push(TimeoutGroup {
                    high_qc_round: Round(*r),
                    signers: bitmap(12, &bits),
                });
            }
            if groups.is_empty() {
                groups.push(TimeoutGroup {
                    high_qc_round: Round(0),
                    signers: bitmap(12, &[true]),
                });
            }
            TimeoutCert {
                epoch: Epoch(1),
                round: Round(round),
                groups,
                signature,
            }
        })
}

fn arb_vote() -> impl Strategy<Value = Vote> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<u16>(),
        arb_sig(),
    )
        .prop_map(|(epoch, round, block, height, voter, signature)| Vote {
            epoch: Epoch(epoch),
            round: Round(round),
            block: BlockHash(block),
            height,
            voter: ValidatorIndex(voter),
            signature,
        })
}

fn arb_timeout() -> impl Strategy<Value = TimeoutMsg> {
    (
        arb_qc(),
        proptest::option::of(arb_tc()),
        any::<u16>(),
        arb_sig(),
    )
        .prop_map(|(mut high_qc, high_tc, sender, signature)| {
            high_qc.round = Round(high_qc.round.0 % 500);
            TimeoutMsg {
                epoch: Epoch(1),
                round: Round(5_000),
                high_qc,
                high_tc,
                sender: ValidatorIndex(sender),
                signature,
            }
        })
}

fn arb_proposal() -> impl Strategy<Value = Proposal> {
    (
        arb_qc(),
        proptest::option::of(arb_tc()),
        arb_sig(),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<u64>(),
    )
        .prop_map(|(justify, timeout_cert, vrf_proof, payload, ts)| {
            let fields = ProposalFields {
                epoch: Epoch(1),
                round: Round(justify.round.0.saturating_add(1)),
                proposer: ValidatorIndex(3),
                justify: justify.clone(),
                timeout_cert,
                vrf_proof,
            };
            Proposal {
                header: BlockHeader {
                    version: HEADER_VERSION,
                    chain_id: ChainId(1),
                    height: justify.height.wrapping_add(1),
                    timestamp_ms: ts,
                    parent_hash: justify.block,
                    tx_root: Digest([1; 32]),
                    receipts_root: Digest([2; 32]),
                    state_root: Digest([3; 32]),
                    data_root: Digest([4; 32]),
                    consensus: ConsensusFields::HotStuff(Box::new(fields)),
                },
                payload: BoundedBytes::new(payload).unwrap(),
                signature: BlsSignatureBytes([7; 96]),
            }
        })
}

fn arb_msg() -> impl Strategy<Value = ConsensusMsg> {
    prop_oneof![
        arb_proposal().prop_map(|p| ConsensusMsg::Proposal(Box::new(p))),
        arb_vote().prop_map(ConsensusMsg::Vote),
        arb_timeout().prop_map(|t| ConsensusMsg::Timeout(Box::new(t))),
        any::<[u8; 32]>().prop_map(|b| ConsensusMsg::BlockRequest(BlockRequest {
            ancestors: 3,
            block: BlockHash(b)
        })),
        proptest::collection::vec(arb_proposal(), 1..3).prop_map(ConsensusMsg::BlockResponse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_roundtrip(msg in arb_msg()) {
        let bytes = msg.encode();
        prop_assert_eq!(ConsensusMsg::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn certificates_roundtrip(qc in arb_qc(), tc in arb_tc()) {
        prop_assert_eq!(QuorumCert::decode(&qc.encode()).unwrap(), qc);
        prop_assert_eq!(TimeoutCert::decode(&tc.encode()).unwrap(), tc);
    }

    #[test]
    fn every_strict_prefix_is_rejected(msg in arb_msg()) {
        let bytes = msg.encode();
        for cut in 0..bytes.len() {
            prop_assert!(ConsensusMsg::decode(&bytes[..cut]).is_err(), "prefix {} accepted", cut);
        }
    }

    #[test]
    fn trailing_bytes_are_rejected(msg in arb_msg(), extra in proptest::collection::vec(any::<u8>(), 1..8)) {
        let mut bytes = msg.encode();
        bytes.extend_from_slice(&extra);
        prop_assert!(ConsensusMsg::decode(&bytes).is_err());
    }

    #[test]
    fn bit_flips_never_panic_and_stay_canonical(msg in arb_msg(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = msg.encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        assert_canonical::<ConsensusMsg>(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        assert_canonical::<ConsensusMsg>(&bytes);
        assert_canonical::<QuorumCert>(&bytes);
        assert_canonical::<TimeoutCert>(&bytes);
        assert_canonical::<TimeoutMsg>(&bytes);
        assert_canonical::<Vote>(&bytes);
        assert_canonical::<EquivocationEvidence>(&bytes);
        assert_canonical::<Proposal>(&bytes);
    }
}

#[test]
fn hostile_lengths_are_refused_before_allocating() {
    // A TC claiming 4 billion groups, a bitmap of 65,535 validators.
    let mut tc = vec![0u8; 16];
    tc.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(TimeoutCert::decode(&tc).is_err());
    let mut qc = vec![0u8; 56];
    qc.extend_from_slice(&u16::MAX.to_le_bytes());
    assert!(QuorumCert::decode(&qc).is_err());
}

#[test]
fn empty_block_responses_are_refused() {
    assert!(ConsensusMsg::decode(&ConsensusMsg::BlockResponse(vec![]).encode()).is_err());
}

#[test]
fn timeout_with_high_qc_not_below_its_round_is_refused() {
    let t = TimeoutMsg {
        epoch: Epoch(0),
        round: Round(5),
        high_qc: QuorumCert::genesis(Epoch(0), BlockHash([1; 32])),
        high_tc: None,
        sender: ValidatorIndex(0),
        signature: BlsSignatureBytes([0; 96]),
    };
    TimeoutMsg::decode(&t.encode()).unwrap();
    let mut bad = t.clone();
    bad.high_qc.round = Round(5);
    assert!(TimeoutMsg::decode(&bad.encode()).is_err());
}

/// Pins the wire format: a change here is a hard fork.
#[test]
fn conformance_of_fixed_values() {
    let mut signers = SignerBitmap::new(4).unwrap();
    signers.set(ValidatorIndex(0));
    signers.set(ValidatorIndex(2));
    signers.set(ValidatorIndex(3));
    let qc = QuorumCert {
        epoch: Epoch(1),
        round: Round(2),
        block: BlockHash([0xab; 32]),
        height: 3,
        signers,
        signature: BlsSignatureBytes([0xcd; 96]),
    };
    let bytes = qc.encode();
    assert_eq!(bytes.len(), 155);
    assert_eq!(
        &bytes[..16],
        &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(&bytes[56..59], &[4, 0, 0b1101]);
    assert_eq!(
        qc.digest().to_string(),
        tagged_hash("aether/quorum-cert/v1", &[&bytes]).to_string()
    );
    let vote = Vote {
        epoch: Epoch(1),
        round: Round(2),
        block: BlockHash([0xab; 32]),
        height: 3,
        voter: ValidatorIndex(258),
        signature: BlsSignatureBytes([0xcd; 96]),
    };
    let v = vote.encode();
    assert_eq!(v.len(), 8 + 8 + 32 + 8 + 2 + 96);
    assert_eq!(&v[56..58], &[2, 1]);
    assert_eq!(ConsensusMsg::Vote(vote).encode()[0], 1, "enum tag of Vote");
}
