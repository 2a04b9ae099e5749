//! Wire-format conformance: pins the encodings and hashes of fixed values.
//!
//! If this test fails, the encoding or a hash changed: that is a hard fork.
//! Update the pinned values only on purpose, together with a version bump.

use aether_types::*;
use std::collections::BTreeMap;

fn sample_transaction() -> Transaction {
    let policy = Script::Wasm(WasmCode::new(b"\0asm\x01\0\0\0".to_vec()).unwrap());
    let mut amounts = BTreeMap::new();
    amounts.insert(AssetName::new(b"gold".to_vec()).unwrap(), 500i128);
    amounts.insert(AssetName::new(b"lead".to_vec()).unwrap(), -7i128);
    let mut assets = MultiAsset::new();
    assets
        .checked_add_asset(
            policy.hash(),
            AssetName::new(b"gold".to_vec()).unwrap(),
            500,
        )
        .unwrap();
    let spent = OutPoint::new(TxId([0x11; 32]), 2);
    let body = TxBody {
        chain_id: ChainId(0xae7e),
        inputs: [spent, OutPoint::new(TxId([0x12; 32]), 0)].into(),
        reference_inputs: [OutPoint::new(TxId([0x13; 32]), 1)].into(),
        collateral: [OutPoint::new(TxId([0x14; 32]), 0)].into(),
        collateral_return: Some(TxOutput::coin(Address::Key(KeyHash([0x21; 32])), 9_000)),
        outputs: vec![
            TxOutput {
                address: Address::Script(ScriptHash([0x22; 32])),
                value: Value {
                    coin: 3 * BASE_UNITS_PER_AIC,
                    assets,
                },
                datum: Some(Datum::new(b"datum".to_vec()).unwrap()),
                reference_script: Some(policy.clone()),
            },
            TxOutput::coin(Address::Key(KeyHash([0x23; 32])), 42),
        ],
        fee: 123_456,
        validity: ValidityInterval {
            invalid_before: Some(10),
            invalid_hereafter: Some(20),
        },
        mint: [(
            policy.hash(),
            PolicyMint {
                amounts: MintAmounts::new(amounts).unwrap(),
                redeemer: Redeemer {
                    data: RedeemerData::new(b"mint".to_vec()).unwrap(),
                    fuel: 50_000,
                },
            },
        )]
        .into(),
        spend_redeemers: [(
            spent,
            Redeemer {
                data: RedeemerData::new(b"spend".to_vec()).unwrap(),
                fuel: 70_000,
            },
        )]
        .into(),
        required_signers: [KeyHash([0x31; 32])].into(),
    };
    let mut witnesses = TxWitnesses {
        vkeys: vec![],
        scripts: vec![policy],
    };
    witnesses.insert_vkey(VKeyWitness {
        public_key: PublicKey([0x41; 32]),
        signature: Signature([0x42; 64]),
    });
    Transaction { body, witnesses }
}

fn sample_block() -> Block {
    let tx = sample_transaction();
    let mut block = Block {
        header: BlockHeader {
            version: HEADER_VERSION,
            chain_id: ChainId(0xae7e),
            height: 7,
            timestamp_ms: 1_700_000_000_000,
            parent_hash: BlockHash([0x51; 32]),
            tx_root: Digest::default(),
            receipts_root: receipts_root(&[Receipt {
                tx_id: tx.id(),
                status: TxStatus::ScriptFailed {
                    purpose: ScriptPurpose::Spend(OutPoint::new(TxId([0x11; 32]), 2)),
                    failure: ScriptFailure::OutOfFuel,
                },
                fee_charged: 123_456,
                fuel_used: 70_000,
            }]),
            state_root: Digest([0x52; 32]),
            data_root: Digest::default(),
            consensus: ConsensusFields::SingleValidator {
                proposer: PublicKey([0x53; 32]),
            },
        },
        transactions: vec![tx],
    };
    block.header.tx_root = block.compute_tx_root();
    block
}

fn digest_of(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn out_point_encoding_is_pinned() {
    let op = OutPoint::new(TxId([0xaa; 32]), 0x0102_0304);
    assert_eq!(
        hex::encode(op.encode()),
        format!("{}04030201", "aa".repeat(32))
    );
}

#[test]
fn value_encoding_is_pinned() {
    let v = Value::from_coin(1);
    assert_eq!(
        hex::encode(aether_types::encode(&v)),
        "0100000000000000000000000000000000000000"
    );
}

#[test]
fn hashes_are_pinned() {
    let tx = sample_transaction();
    let block = sample_block();
    let actual = [
        ("tx encoding", digest_of(&tx.encode())),
        ("tx id", tx.id().to_string()),
        ("witnesses hash", tx.witnesses.hash().to_string()),
        ("script hash", tx.witnesses.scripts[0].hash().to_string()),
        ("key hash", PublicKey([0x41; 32]).key_hash().to_string()),
        ("block encoding", digest_of(&block.encode())),
        ("tx root", block.header.tx_root.to_string()),
        ("receipts root", block.header.receipts_root.to_string()),
        ("block hash", block.hash().to_string()),
    ];
    let pinned = [
        (
            "tx encoding",
            "2246c2aaf84b1bbe4095968c1524f59267920df91a925839d83f8966dbea84d2",
        ),
        (
            "tx id",
            "da2d416db4445d9a20c9c6ed89257b27d4c0536d077f971cc38d117998b97566",
        ),
        (
            "witnesses hash",
            "4a17794857f7c081d61240ef6c88b3a2b00e82a5f64b700d4fcce59392ebd327",
        ),
        (
            "script hash",
            "aea74942b088e9a68b688ba227b2af124490d0c012f601f140f315b3eedabea5",
        ),
        (
            "key hash",
            "41aef8390db6ca6e4d1323e626d4e0eb1ae5e92746e400c2690480ffa5d01389",
        ),
        (
            "block encoding",
            "5dab408a81677bbe0b79a83146b4bda0b687fd3b11f7e04818369a40f716efb6",
        ),
        (
            "tx root",
            "5d40eb6c1fc543c40477ba72fdb096894480cbeaabceadc1b0431774f9b40f74",
        ),
        (
            "receipts root",
            "47cf8df8d87e1a506d007dfd6274fff97d825d22ea88cdc61e471b532a6b93b3",
        ),
        (
            "block hash",
            "3089a9b400f34df62623792b023f0af5eba9649f0047b0ae94888d11c355972e",
        ),
    ];
    for (name, got) in &actual {
        println!("(\"{name}\", \"{got}\"),");
    }
    for ((name, got), (pname, want)) in actual.iter().zip(pinned.iter()) {
        assert_eq!(name, pname);
        assert_eq!(got, want, "{name} drifted");
    }
}

#[test]
fn id_construction_is_pinned() {
    // Recompute the tx id from the documented construction:
    // BLAKE3("aether/tx-body/v1" || 0x00 || encode(body)).
    let tx = sample_transaction();
    let mut hashed = b"aether/tx-body/v1\0".to_vec();
    hashed.extend_from_slice(&tx.body.encode());
    assert_eq!(tx.id().0, *blake3::hash(&hashed).as_bytes());
}

#[test]
fn sample_values_decode_back() {
    let tx = sample_transaction();
    assert_eq!(Transaction::decode(&tx.encode()).unwrap(), tx);
    let block = sample_block();
    assert_eq!(Block::decode(&block.encode()).unwrap(), block);
}
