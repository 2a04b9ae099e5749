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
        actions: vec![Action::PostJob(PostJob {
            client: Address::Key(KeyHash([0x61; 32])),
            kind: JobKind::Model {
                model: ModelId([0x62; 32]),
                input: JobData::inline(vec![1, 0, 0, 0, 2, 0, 0, 0]).unwrap(),
            },
            tees: [TeeKind::Snp, TeeKind::Tdx].into(),
            max_fee: 5_000_000,
            deadline: 99,
        })],
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
            receipts_root: receipts_root(
                &[Receipt {
                    tx_id: tx.id(),
                    status: TxStatus::ScriptFailed {
                        purpose: ScriptPurpose::Spend(OutPoint::new(TxId([0x11; 32]), 2)),
                        failure: ScriptFailure::OutOfFuel,
                    },
                    fee_charged: 123_456,
                    fuel_used: 70_000,
                    events: vec![],
                }],
                &BoundaryReceipt {
                    height: 7,
                    events: vec![Event::Burned { amount: 3 }],
                },
            ),
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
            "0cb54f860c783dc18a71e66123f9ebe20ff2132e7c8ec637c9d9563e54947da7",
        ),
        (
            "tx id",
            "843a6745bee57ceda7b1703ff5a0706ff121a193c370cf570899704760e1c5ba",
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
            "926a940f0c7f73a558b350125b715f714e1dafbd1b167dd41dea2a9788d700ca",
        ),
        (
            "tx root",
            "e867c0619286bdd4c759b02ab640c9986934f70a467ee438199867bbc7d5c7ef",
        ),
        (
            "receipts root",
            "1d0040135ff729de87f07231a5efdf3507a5ea8c158a23e3ad3f6cc3b8d0df4a",
        ),
        (
            "block hash",
            "88a0c68555e43cbacefb23b2aa7607c08ae6e8b625db964b2b10e7f1757c1621",
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

fn sample_vcr() -> Vcr {
    let body = VcrBody {
        chain_id: ChainId(0xae7e),
        job: JobId([0x71; 32]),
        provider: ProviderId([0x72; 32]),
        worker_key: PublicKey([0x73; 32]),
        runtime: RuntimeId([0x74; 32]),
        input_hash: Digest([0x75; 32]),
        output: JobData::External {
            hash: Digest([0x76; 32]),
            size: 1536,
            location: BoundedString::new("http://worker.example/out/1").unwrap(),
        },
        commitment: OutputCommitment {
            blobs: vec![BlobCommitment {
                commitment: KzgCommitment([0x77; 48]),
                proof: KzgProof([0x78; 48]),
            }],
            root: Digest([0x79; 32]),
        },
        trace_root: Digest([0x7a; 32]),
        segments: 7,
    };
    Vcr {
        body,
        evidence: TeeEvidence::Snp {
            report: BoundedBytes::new(vec![0x7b; SNP_REPORT_LEN]).unwrap(),
            vek: BoundedBytes::new(vec![0x7c; 16]).unwrap(),
            chain: None,
        },
    }
}

/// The report-data binding was cross-checked with the Python `blake3`
/// package (an independent BLAKE3 implementation).
#[test]
fn market_hashes_are_pinned() {
    let vcr = sample_vcr();
    let actual = [
        ("vcr encoding", digest_of(&vcr.encode())),
        ("vcr body id", vcr.body.id().to_string()),
        ("report data", hex::encode(vcr.body.report_data())),
        ("evidence id", vcr.evidence.id().to_string()),
        (
            "measurement id",
            LaunchMeasurement::Snp([0x7d; 48]).id().to_string(),
        ),
        (
            "job object key",
            ObjectKey::Job(JobId([0x71; 32])).tree_key().to_string(),
        ),
        ("job id", JobId::derive(&TxId([0x7e; 32]), 3).to_string()),
    ];
    let pinned = [
        (
            "vcr encoding",
            "aff3a519fe9652f7ec2f471c71447e5fbce1f6e94e5078902ee6b70b831b2018",
        ),
        (
            "vcr body id",
            "449ece33ff5e429bb4b543c87b08ab278df7f2b2d6fc6f4325f56838a74dae86",
        ),
        (
            "report data",
            "b99e282223826f4f92836c7c6889c0b919e863ca81273d81cc6e5660f5438b1d6f1316e2b6869564768d22f3a14480eb30cb95bb26ab061f417edfb62e9802f3",
        ),
        (
            "evidence id",
            "9d718bc0e2895f56c6f57978c766b15c84707efa53339a779d8a0eb394c1ea4f",
        ),
        (
            "measurement id",
            "a1b50e7bf771d1757d487e2e0b0bc6d39a52827f6c0868f222f8e27a51e59240",
        ),
        (
            "job object key",
            "5fc9654f899763fd98217ca80d16f3d118d94c5b960516d163cb88aef3e1cb28",
        ),
        (
            "job id",
            "3ada3de709ab716dcda210f73bf476c7401519f91eca603a8595a58fd45add51",
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

/// The staking ids and the validator attestation binding, each recomputed
/// above from its documented construction with the Python `blake3` package
/// (an independent BLAKE3 implementation):
/// `blake3(b"AETHER-VALIDATOR-v1" + bls + net + chain_id_le).digest(64)` and
/// `blake3(tag + b"\0" + parts).digest()`.
#[test]
fn staking_hashes_are_pinned() {
    let bls = BlsPublicKeyBytes([0x81; 48]);
    let net = PublicKey([0x82; 32]);
    let validator = ValidatorId::of(&bls);
    let actual = [
        (
            "validator report data",
            hex::encode(validator_report_data(&bls, &net, ChainId(0xae7e))),
        ),
        ("validator id", validator.to_string()),
        (
            "delegation id",
            DelegationId::derive(&validator, &KeyHash([0x83; 32])).to_string(),
        ),
        (
            "slash id",
            SlashId::derive(&validator, Epoch(5), Round(9), EquivocationKind::Proposal).to_string(),
        ),
    ];
    let pinned = [
        (
            "validator report data",
            "d319c0c1d09fd95ed3659f02610a99102f840da942cc36d8624ef6e99b1413ea766bca5dfe5b9a1a13d80aaaba275c142e2425c7656b42c44f49d6fa2278ba38",
        ),
        (
            "validator id",
            "36bde53996d22c9fba12bc435dbde5e5d6ebe9243ec0e09e2858da2bdbc21dbf",
        ),
        (
            "delegation id",
            "d58653bdaf0c8f07fa36bec6d9d8c972bdd56a1eeed30e9dbcba729e0259b3d1",
        ),
        (
            "slash id",
            "03c9403a6655758cc86c793627efb7cbaac1cf3c702afe3f581ffb25eec6d48c",
        ),
    ];
    for ((name, got), (pname, want)) in actual.iter().zip(pinned.iter()) {
        assert_eq!(name, pname);
        assert_eq!(got, want, "{name} drifted");
    }
}

/// New enum variants were appended: the encodings of the existing ones keep
/// their indices (pinned above), and the staking ones take the next.
#[test]
fn staking_variants_come_after_the_market_ones() {
    let delegate = Action::Delegate(Delegate {
        validator: ValidatorId([1; 32]),
        delegator: KeyHash([2; 32]),
        amount: 3,
    });
    assert_eq!(aether_types::encode(&delegate)[0], 10);
    assert_eq!(ObjectKey::Validator(ValidatorId([1; 32])).encode()[0], 8);
    assert_eq!(ObjectKey::Slash(SlashId([1; 32])).encode()[0], 14);
    let burned = Event::Burned { amount: 1 };
    assert_eq!(aether_types::encode(&burned)[0], 13);
    let changed = Event::EpochChanged {
        epoch: Epoch(1),
        validators: 4,
        stake: 400,
        seed: Digest([0; 32]),
    };
    assert_eq!(aether_types::encode(&changed)[0], 22);
}
