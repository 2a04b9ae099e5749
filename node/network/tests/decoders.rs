//! Property tests of every decoder of the crate: frames and shreds never
//! panic on arbitrary bytes, accept what they produce, and refuse
//! truncations and bit flips of it (or accept only a consistent value).

use aether_chain_api::SyncStatus;
use aether_crypto::ed25519::Keypair;
use aether_network::Message;
use aether_network::frame::{BlocksRequest, FrameLimits, decode_frame};
use aether_network::shred::{Shred, make_shreds};
use aether_types::{
    BlockHash, BlsSignatureBytes, ConsensusMsg, Digest, Epoch, QuorumCert, Round, ValidatorIndex,
    Vote,
};
use proptest::prelude::*;

const LIMITS: FrameLimits = FrameLimits {
    max_consensus: 1 << 20,
    max_bulk: 1 << 20,
};

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u64>(), any::<u16>(), any::<[u8; 32]>()).prop_map(|(r, v, b)| {
            Message::Consensus(ConsensusMsg::Vote(Vote {
                epoch: Epoch(r / 7),
                round: Round(r),
                block: BlockHash(b),
                height: r / 3,
                voter: ValidatorIndex(v),
                signature: BlsSignatureBytes([v as u8; 96]),
            }))
        }),
        prop::collection::vec(any::<u8>(), 0..=aether_network::shred::MAX_SHRED_LEN)
            .prop_map(|b| Message::Shred(b.into())),
        prop::collection::vec(any::<[u8; 32]>(), 1..40)
            .prop_map(|d| Message::TxAnnounce(d.into_iter().map(Digest).collect())),
        prop::collection::vec(any::<[u8; 32]>(), 1..40)
            .prop_map(|d| Message::TxRequest(d.into_iter().map(Digest).collect())),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 1..10)
            .prop_map(Message::Txs),
        (any::<u64>(), any::<[u8; 32]>()).prop_map(|(h, b)| Message::Status(SyncStatus {
            committed_height: h,
            highest_qc: QuorumCert::genesis(Epoch(h), BlockHash(b)),
        })),
        (any::<u64>(), any::<u64>(), 1u16..=64).prop_map(|(id, from_height, count)| {
            Message::BlocksRequest(BlocksRequest {
                id,
                from_height,
                count,
            })
        }),
        any::<u64>().prop_map(|id| Message::BlocksResponse { id, blocks: vec![] }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
        let _ = decode_frame(&bytes, &LIMITS);
        let _ = Shred::decode(&bytes);
        for kind in 0..=9u8 {
            let _ = Message::decode_body(kind, &bytes);
        }
    }

    #[test]
    fn frames_round_trip_and_resist_damage(
        m in message(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let frame = m.encode();
        let (d, used) = decode_frame(&frame, &LIMITS).unwrap();
        prop_assert_eq!(&d, &m);
        prop_assert_eq!(used, frame.len());
        // Every truncation is refused.
        let at = cut.index(frame.len());
        prop_assert!(decode_frame(&frame[..at], &LIMITS).is_err());
        // A flipped bit is refused or decodes to a value that re-encodes to
        // the damaged bytes (the encoding is canonical).
        let mut bad = frame.to_vec();
        let i = flip.index(bad.len());
        bad[i] ^= 1 << bit;
        if let Ok((d, used)) = decode_frame(&bad, &LIMITS) {
            prop_assert_eq!(&d.encode()[..], &bad[..used]);
        }
    }

    #[test]
    fn shreds_round_trip_and_resist_damage(
        len in 1usize..70_000,
        pick in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = Keypair::from_secret_bytes(&[4; 32]);
        let bytes: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let (_, shreds) = make_shreds(ValidatorIndex(2), &key, &bytes).unwrap();
        let s = &shreds[pick.index(shreds.len())];
        let enc = s.encode();
        prop_assert_eq!(&Shred::decode(&enc).unwrap(), s);
        let mut bad = enc.to_vec();
        let i = flip.index(bad.len());
        bad[i] ^= 1 << bit;
        // A damaged shred never passes both checks.
        if let Ok(d) = Shred::decode(&bad) {
            let parsed = aether_crypto::ed25519::ParsedPublicKey::parse(&key.public_key()).unwrap();
            prop_assert!(d.check_proof().is_err() || d.check_signature(&parsed).is_err());
        }
    }
}
