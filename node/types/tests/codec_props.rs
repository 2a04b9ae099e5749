//! Property tests of the canonical encoding: roundtrips, canonicality,
//! and hostile input (random bytes, truncations, bit flips) that must be
//! rejected without a panic.

mod common;

use aether_types::*;
use proptest::prelude::*;

fn assert_canonical<T: Canonical + std::fmt::Debug + PartialEq>(bytes: &[u8]) {
    if let Ok(value) = T::decode(bytes) {
        assert_eq!(value.encode(), bytes, "accepted a non-canonical encoding");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn transaction_roundtrip(tx in common::transaction()) {
        prop_assert!(tx.check().is_ok());
        let bytes = tx.encode();
        let back = Transaction::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &tx);
        prop_assert_eq!(back.id(), tx.id());
        prop_assert_eq!(back.encode(), bytes);
    }

    #[test]
    fn block_roundtrip(block in common::block()) {
        let bytes = block.encode();
        let back = Block::decode(&bytes).unwrap();
        prop_assert_eq!(back.hash(), block.hash());
        prop_assert_eq!(back.compute_tx_root(), block.compute_tx_root());
        prop_assert_eq!(back, block);
    }

    #[test]
    fn every_strict_prefix_is_rejected(tx in common::transaction()) {
        let bytes = tx.encode();
        for cut in 0..bytes.len() {
            prop_assert!(Transaction::decode(&bytes[..cut]).is_err(), "prefix {} accepted", cut);
        }
    }

    #[test]
    fn trailing_bytes_are_rejected(tx in common::transaction(), extra in proptest::collection::vec(any::<u8>(), 1..8)) {
        let mut bytes = tx.encode();
        bytes.extend_from_slice(&extra);
        prop_assert!(Transaction::decode(&bytes).is_err());
    }

    #[test]
    fn bit_flips_never_panic_and_stay_canonical(tx in common::transaction(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = tx.encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        assert_canonical::<Transaction>(&bytes);
    }

    #[test]
    fn block_bit_flips_never_panic(block in common::block(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = block.encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        assert_canonical::<Block>(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        assert_canonical::<Transaction>(&bytes);
        assert_canonical::<Block>(&bytes);
        assert_canonical::<BlockHeader>(&bytes);
        assert_canonical::<Receipt>(&bytes);
        assert_canonical::<ScriptContext>(&bytes);
        assert_canonical::<TxOutput>(&bytes);
        assert_canonical::<Vcr>(&bytes);
        assert_canonical::<Object>(&bytes);
        assert_canonical::<ObjectKey>(&bytes);
        assert_canonical::<BoundaryReceipt>(&bytes);
    }

    #[test]
    fn vcr_roundtrip_and_flips(vcr in common::vcr(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let bytes = vcr.encode();
        prop_assert_eq!(Vcr::decode(&bytes).unwrap(), vcr);
        let mut flipped = bytes.clone();
        let i = pos.index(flipped.len());
        flipped[i] ^= 1 << bit;
        assert_canonical::<Vcr>(&flipped);
        for cut in (0..bytes.len()).step_by(7) {
            prop_assert!(Vcr::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn staking_objects_roundtrip_and_survive_flips(
        (key, object) in common::staking_object(),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        prop_assert_eq!(key.kind(), object.key_kind());
        let bytes = object.encode();
        prop_assert_eq!(Object::decode(&bytes).unwrap(), object);
        prop_assert_eq!(ObjectKey::decode(&key.encode()).unwrap(), key);
        let mut flipped = bytes.clone();
        let i = pos.index(flipped.len());
        flipped[i] ^= 1 << bit;
        assert_canonical::<Object>(&flipped);
        for cut in 0..bytes.len() {
            prop_assert!(Object::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn actions_survive_the_transaction_codec(action in common::action()) {
        let bytes = aether_types::encode(&action);
        let back: Action = borsh::from_slice(&bytes).unwrap();
        prop_assert_eq!(&back, &action);
        prop_assert!(back.check().is_ok());
    }
}

#[test]
fn hostile_length_prefixes_are_rejected_cheaply() {
    // A block header followed by a transaction count of u32::MAX.
    let header = BlockHeader {
        version: HEADER_VERSION,
        chain_id: ChainId(1),
        height: 0,
        timestamp_ms: 0,
        parent_hash: BlockHash::default(),
        tx_root: Digest::default(),
        receipts_root: Digest::default(),
        state_root: Digest::default(),
        data_root: Digest::default(),
        consensus: ConsensusFields::SingleValidator {
            proposer: PublicKey([0; 32]),
        },
    };
    let mut bytes = header.encode();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(Block::decode(&bytes).is_err());

    // A transaction whose first byte string (a datum) claims 4 GiB.
    let mut tx = vec![0u8; 4]; // chain id
    tx.extend_from_slice(&1u32.to_le_bytes()); // one input
    tx.extend_from_slice(&[0u8; 36]);
    tx.extend_from_slice(&0u32.to_le_bytes()); // no reference inputs
    tx.extend_from_slice(&0u32.to_le_bytes()); // no collateral
    tx.push(1); // collateral return: Some
    tx.push(0); // address: Key
    tx.extend_from_slice(&[0u8; 32]);
    tx.extend_from_slice(&[0u8; 16]); // coin
    tx.extend_from_slice(&0u32.to_le_bytes()); // no assets
    tx.push(1); // datum: Some
    tx.extend_from_slice(&u32::MAX.to_le_bytes());
    let err = Transaction::decode(&tx).unwrap_err();
    assert!(err.to_string().contains("exceeds its bound"), "{err}");
}

#[test]
fn oversized_input_rejected_before_parsing() {
    let bytes = vec![0u8; MAX_TX_LEN + 1];
    assert_eq!(
        Transaction::decode(&bytes),
        Err(Error::TooLarge {
            len: MAX_TX_LEN + 1,
            max: MAX_TX_LEN
        })
    );
}

#[test]
fn unsorted_sets_and_bad_tags_are_rejected() {
    let a = OutPoint::new(TxId([1; 32]), 0);
    let b = OutPoint::new(TxId([2; 32]), 0);
    let body = TxBody {
        chain_id: ChainId(1),
        inputs: [a, b].into(),
        reference_inputs: Default::default(),
        collateral: Default::default(),
        collateral_return: None,
        outputs: vec![],
        fee: 0,
        validity: ValidityInterval::default(),
        mint: Default::default(),
        spend_redeemers: Default::default(),
        required_signers: Default::default(),
        actions: vec![],
    };
    let tx = Transaction {
        body,
        witnesses: TxWitnesses::default(),
    };
    let bytes = tx.encode();
    assert!(Transaction::decode(&bytes).is_ok());
    // Swap the two inputs (each 36 bytes after chain id + count).
    let mut swapped = bytes.clone();
    swapped[8..44].copy_from_slice(&bytes[44..80]);
    swapped[44..80].copy_from_slice(&bytes[8..44]);
    assert!(Transaction::decode(&swapped).is_err());
    // Duplicate input.
    let mut dup = bytes.clone();
    dup[44..80].copy_from_slice(&bytes[8..44]);
    assert!(Transaction::decode(&dup).is_err());
    // Option tag 2 where `collateral_return` is.
    let mut bad_tag = bytes.clone();
    bad_tag[88] = 2;
    assert!(Transaction::decode(&bad_tag).is_err());
}
