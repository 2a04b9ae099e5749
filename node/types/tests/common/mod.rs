//! Proptest strategies for well-formed protocol values.

#![allow(dead_code)]

use aether_types::*;
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

pub fn digest() -> impl Strategy<Value = [u8; 32]> {
    prop_oneof![Just([0u8; 32]), Just([0xffu8; 32]), any::<[u8; 32]>()]
}

pub fn out_point() -> impl Strategy<Value = OutPoint> {
    (
        digest(),
        prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()],
    )
        .prop_map(|(d, i)| OutPoint::new(TxId(d), i))
}

pub fn bytes<const MAX: usize>(max: usize) -> impl Strategy<Value = BoundedBytes<MAX>> {
    vec(any::<u8>(), 0..=max.min(MAX)).prop_map(|v| BoundedBytes::new(v).unwrap())
}

pub fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        digest().prop_map(|d| Address::Key(KeyHash(d))),
        digest().prop_map(|d| Address::Script(ScriptHash(d))),
    ]
}

pub fn multi_asset() -> impl Strategy<Value = MultiAsset> {
    vec((digest(), bytes::<MAX_ASSET_NAME_LEN>(8), 1u128..), 0..4).prop_map(|entries| {
        let mut assets = MultiAsset::new();
        for (p, n, q) in entries {
            // Saturating overflow: skip the entry.
            let _ = assets.checked_add_asset(ScriptHash(p), n, q);
        }
        assets
    })
}

pub fn value() -> impl Strategy<Value = Value> {
    (any::<u128>(), multi_asset()).prop_map(|(coin, assets)| Value { coin, assets })
}

pub fn script() -> impl Strategy<Value = Script> {
    bytes::<MAX_SCRIPT_LEN>(32).prop_map(Script::Wasm)
}

pub fn output() -> impl Strategy<Value = TxOutput> {
    (
        address(),
        value(),
        proptest::option::of(bytes::<MAX_DATUM_LEN>(16)),
        proptest::option::of(script()),
    )
        .prop_map(|(address, value, datum, reference_script)| TxOutput {
            address,
            value,
            datum,
            reference_script,
        })
}

pub fn redeemer() -> impl Strategy<Value = Redeemer> {
    (bytes::<MAX_REDEEMER_LEN>(16), 0u64..1 << 40).prop_map(|(data, fuel)| Redeemer { data, fuel })
}

pub fn mint_amounts() -> impl Strategy<Value = MintAmounts> {
    btree_map(
        bytes::<MAX_ASSET_NAME_LEN>(8),
        any::<i128>().prop_filter("non-zero", |q| *q != 0),
        1..3,
    )
    .prop_map(|m| MintAmounts::new(m).unwrap())
}

pub fn body() -> impl Strategy<Value = TxBody> {
    (
        any::<u32>(),
        btree_set(out_point(), 1..5),
        btree_set(out_point(), 0..3),
        btree_set(out_point(), 0..3),
        proptest::option::of(output()),
        vec(output(), 0..4),
        any::<u128>(),
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
        ),
        btree_map(digest(), (mint_amounts(), redeemer()), 0..3),
        vec(redeemer(), 0..3),
        btree_set(digest(), 0..3),
    )
        .prop_map(
            |(
                chain,
                inputs,
                refs,
                collateral,
                cret,
                outputs,
                fee,
                (lo, hi),
                mint,
                reds,
                signers,
            )| {
                let reference_inputs = refs.difference(&inputs).copied().collect();
                let collateral_return = if collateral.is_empty() { None } else { cret };
                let spend_redeemers = inputs.iter().copied().zip(reds).collect();
                TxBody {
                    chain_id: ChainId(chain),
                    inputs,
                    reference_inputs,
                    collateral,
                    collateral_return,
                    outputs,
                    fee,
                    validity: ValidityInterval {
                        invalid_before: lo,
                        invalid_hereafter: hi,
                    },
                    mint: mint
                        .into_iter()
                        .map(|(p, (amounts, redeemer))| {
                            (ScriptHash(p), PolicyMint { amounts, redeemer })
                        })
                        .collect(),
                    spend_redeemers,
                    required_signers: signers.into_iter().map(KeyHash).collect(),
                    actions: vec![],
                }
            },
        )
        .prop_flat_map(|body| {
            vec(action(), 0..3).prop_map(move |actions| {
                let mut body = body.clone();
                body.actions = actions;
                body
            })
        })
}

pub fn sha384() -> impl Strategy<Value = [u8; 48]> {
    any::<[u8; 32]>().prop_map(|d| {
        let mut out = [0u8; 48];
        out[..32].copy_from_slice(&d);
        out
    })
}

pub fn tee() -> impl Strategy<Value = TeeKind> {
    prop_oneof![Just(TeeKind::Snp), Just(TeeKind::Tdx)]
}

pub fn text<const MAX: usize>() -> impl Strategy<Value = BoundedString<MAX>> {
    "[a-zA-Z0-9 ./:-]{0,12}".prop_map(|t| BoundedString::new(t).unwrap())
}

pub fn measurement_entry(tee: TeeKind) -> impl Strategy<Value = MeasurementEntry> {
    (
        sha384(),
        sha384(),
        sha384(),
        1u32..64,
        text::<32>(),
        any::<u64>(),
        proptest::option::of(sha384()),
    )
        .prop_map(move |(a, b, c, vcpus, cpu, features, rtmr0)| match tee {
            TeeKind::Snp => MeasurementEntry {
                measurement: LaunchMeasurement::Snp(a),
                shape: VmShape::Snp {
                    vcpus,
                    cpu,
                    guest_features: features,
                },
                rtmr0: None,
            },
            TeeKind::Tdx => MeasurementEntry {
                measurement: LaunchMeasurement::Tdx {
                    mrtd: a,
                    rtmr1: b,
                    rtmr2: c,
                },
                shape: VmShape::Tdx {
                    memory_mib: features,
                },
                rtmr0,
            },
        })
}

pub fn job_data() -> impl Strategy<Value = JobData> {
    prop_oneof![
        vec(any::<u8>(), 0..64).prop_map(|v| JobData::inline(v).unwrap()),
        (digest(), any::<u64>(), text::<512>()).prop_map(|(h, size, location)| JobData::External {
            hash: Digest(h),
            size,
            location
        }),
    ]
}

pub fn job_kind() -> impl Strategy<Value = JobKind> {
    prop_oneof![
        (digest(), job_data()).prop_map(|(m, input)| JobKind::Model {
            model: ModelId(m),
            input
        }),
        (job_data(), job_data(), any::<u64>()).prop_map(|(module, input, fuel)| JobKind::Wasm {
            module,
            input,
            fuel
        }),
    ]
}

pub fn offer() -> impl Strategy<Value = ProviderOffer> {
    (
        any::<[u8; 32]>(),
        address(),
        btree_set(tee(), 1..3),
        btree_set(digest(), 0..3),
        any::<bool>(),
        any::<u128>(),
        1u32..100,
    )
        .prop_map(
            |(k, payout, tees, models, wasm, price, capacity)| ProviderOffer {
                worker_key: PublicKey(k),
                payout,
                tees,
                wasm: wasm || models.is_empty(),
                models: models.into_iter().map(ModelId).collect(),
                price,
                capacity,
            },
        )
}

pub fn evidence() -> impl Strategy<Value = TeeEvidence> {
    prop_oneof![
        (
            vec(any::<u8>(), SNP_REPORT_LEN),
            vec(any::<u8>(), 0..64),
            proptest::option::of(vec(any::<u8>(), 0..64))
        )
            .prop_map(|(r, v, c)| TeeEvidence::Snp {
                report: BoundedBytes::new(r).unwrap(),
                vek: BoundedBytes::new(v).unwrap(),
                chain: c.map(|c| BoundedBytes::new(c).unwrap()),
            }),
        (vec(any::<u8>(), 0..128), vec(any::<u8>(), 0..128)).prop_map(|(q, c)| TeeEvidence::Tdx {
            quote: BoundedBytes::new(q).unwrap(),
            collateral: BoundedBytes::new(c).unwrap(),
        }),
    ]
}

pub fn vcr() -> impl Strategy<Value = Vcr> {
    (
        (
            any::<u32>(),
            digest(),
            digest(),
            any::<[u8; 32]>(),
            digest(),
            digest(),
        ),
        job_data(),
        vec((any::<[u8; 32]>(), any::<[u8; 32]>()), 0..3),
        (digest(), digest(), 1u32..100),
        evidence(),
    )
        .prop_map(
            |(
                (chain, job, provider, key, runtime, input),
                output,
                blobs,
                (root, trace, segments),
                evidence,
            )| {
                let blob = |b: [u8; 32]| {
                    let mut out = [0u8; 48];
                    out[..32].copy_from_slice(&b);
                    out
                };
                Vcr {
                    body: VcrBody {
                        chain_id: ChainId(chain),
                        job: JobId(job),
                        provider: ProviderId(provider),
                        worker_key: PublicKey(key),
                        runtime: RuntimeId(runtime),
                        input_hash: Digest(input),
                        output,
                        commitment: OutputCommitment {
                            blobs: blobs
                                .into_iter()
                                .map(|(c, p)| BlobCommitment {
                                    commitment: KzgCommitment(blob(c)),
                                    proof: KzgProof(blob(p)),
                                })
                                .collect(),
                            root: Digest(root),
                        },
                        trace_root: Digest(trace),
                        segments,
                    },
                    evidence,
                }
            },
        )
}

pub fn challenge_claim() -> impl Strategy<Value = ChallengeClaim> {
    let proof = || vec(digest().prop_map(Digest), 0..4);
    prop_oneof![
        (
            1u32..100,
            vec(any::<u8>(), 0..64),
            proof(),
            digest(),
            proof(),
            digest()
        )
            .prop_map(
                |(segment, previous, previous_proof, claimed, claimed_proof, challenger)| {
                    ChallengeClaim::Segment {
                        segment,
                        previous: BoundedBytes::new(previous).unwrap(),
                        previous_proof,
                        claimed: Digest(claimed),
                        claimed_proof,
                        challenger: Digest(challenger),
                    }
                }
            ),
        (digest(), proof()).prop_map(|(c, p)| ChallengeClaim::Input {
            claimed: Digest(c),
            claimed_proof: p
        }),
        (digest(), proof(), vec(any::<u8>(), 0..32)).prop_map(|(c, p, o)| ChallengeClaim::Output {
            claimed: Digest(c),
            claimed_proof: p,
            output: BoundedBytes::new(o).unwrap()
        }),
    ]
}

/// A well-formed action of any kind.
fn market_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (digest(), text::<64>(), tee(), any::<bool>(), text::<64>()).prop_flat_map(
            |(image, name, tee, worker, commit)| {
                vec(measurement_entry(tee), 1..4).prop_map(move |entries| {
                    Action::RegisterMeasurement(RegisterMeasurement {
                        image: ImageId(image),
                        name: name.clone(),
                        role: if worker {
                            ImageRole::Worker
                        } else {
                            ImageRole::Validator
                        },
                        tee,
                        entries,
                        source_commit: commit.clone(),
                    })
                })
            }
        ),
        digest().prop_map(|d| Action::RevokeMeasurement(RevokeMeasurement { image: ImageId(d) })),
        (
            digest(),
            text::<128>(),
            digest(),
            any::<u64>(),
            1u32..100,
            vec((text::<128>(), any::<[u8; 32]>(), any::<u64>()), 1..3)
        )
            .prop_map(|(model, name, runtime, size, segments, files)| {
                Action::RegisterModel(RegisterModel {
                    model: ModelId(model),
                    name,
                    runtime: RuntimeId(runtime),
                    size,
                    segments,
                    files: files
                        .into_iter()
                        .map(|(name, sha256, size)| ModelFile { name, sha256, size })
                        .collect(),
                })
            }),
        (digest(), offer(), 1u128..).prop_map(|(owner, offer, bond)| Action::RegisterProvider(
            RegisterProvider {
                owner: KeyHash(owner),
                offer,
                bond
            }
        )),
        (digest(), proptest::option::of(offer()), 1u128..).prop_map(|(p, offer, add_bond)| {
            Action::UpdateProvider(UpdateProvider {
                provider: ProviderId(p),
                offer,
                add_bond,
            })
        }),
        (digest(), 1u128..).prop_map(|(p, amount)| Action::UnbondProvider(UnbondProvider {
            provider: ProviderId(p),
            amount
        })),
        (
            address(),
            job_kind(),
            btree_set(tee(), 1..3),
            1u128..,
            any::<u64>()
        )
            .prop_map(
                |(client, kind, tees, max_fee, deadline)| Action::PostJob(PostJob {
                    client,
                    kind,
                    tees,
                    max_fee,
                    deadline
                })
            ),
        vcr().prop_map(|v| Action::SubmitReceipt(Box::new(v))),
        (digest(), challenge_claim(), 1u128.., address()).prop_map(
            |(job, claim, deposit, payout)| {
                Action::Challenge(Challenge {
                    job: JobId(job),
                    claim,
                    deposit,
                    payout,
                })
            }
        ),
    ]
    .prop_filter("stateless rules", |a| a.check().is_ok())
}

pub fn block_ref(epoch: u64, round: u64) -> impl Strategy<Value = BlockRef> {
    (digest(), any::<u64>()).prop_map(move |(block, height)| BlockRef {
        epoch: Epoch(epoch),
        round: Round(round),
        block: BlockHash(block),
        height,
    })
}

pub fn equivocation() -> impl Strategy<Value = EquivocationEvidence> {
    (any::<u64>(), any::<u64>(), any::<bool>(), any::<u16>()).prop_flat_map(
        |(epoch, round, vote, offender)| {
            (
                block_ref(epoch, round),
                block_ref(epoch, round),
                any::<[u8; 96]>(),
                any::<[u8; 96]>(),
            )
                .prop_filter_map("two different blocks", move |(a, b, sa, sb)| {
                    let kind = if vote {
                        EquivocationKind::Vote
                    } else {
                        EquivocationKind::Proposal
                    };
                    EquivocationEvidence::new(
                        kind,
                        ValidatorIndex(offender),
                        (a, BlsSignatureBytes(sa)),
                        (b, BlsSignatureBytes(sb)),
                    )
                })
        },
    )
}

fn staking_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (
            digest(),
            any::<[u8; 48]>(),
            any::<[u8; 96]>(),
            digest(),
            1u128..,
            0u32..=10_000,
            proptest::option::of(evidence()),
        )
            .prop_map(
                |(owner, bls, pop, net, self_bond, commission_bps, attestation)| {
                    Action::RegisterValidator(Box::new(RegisterValidator {
                        owner: KeyHash(owner),
                        bls_key: BlsPublicKeyBytes(bls),
                        proof_of_possession: BlsSignatureBytes(pop),
                        network_key: PublicKey(net),
                        self_bond,
                        commission_bps,
                        attestation,
                    }))
                }
            ),
        (digest(), digest(), 1u128..).prop_map(|(v, d, amount)| Action::Delegate(Delegate {
            validator: ValidatorId(v),
            delegator: KeyHash(d),
            amount,
        })),
        (digest(), digest(), 1u128..).prop_map(|(v, d, amount)| Action::Undelegate(Undelegate {
            validator: ValidatorId(v),
            delegator: KeyHash(d),
            amount,
        })),
        (equivocation(), address()).prop_map(|(evidence, reporter)| {
            Action::ReportEquivocation(Box::new(ReportEquivocation { evidence, reporter }))
        }),
    ]
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![3 => market_action().boxed(), 1 => staking_action().boxed()]
}

pub fn witnesses() -> impl Strategy<Value = TxWitnesses> {
    (
        btree_map(any::<[u8; 32]>(), vec(any::<u8>(), 64), 0..3),
        vec(script(), 0..2),
    )
        .prop_map(|(keys, scripts)| {
            let vkeys = keys
                .into_iter()
                .map(|(k, s)| VKeyWitness {
                    public_key: PublicKey(k),
                    signature: Signature(s.try_into().unwrap()),
                })
                .collect();
            let mut unique: Vec<Script> = Vec::new();
            for s in scripts {
                if !unique.iter().any(|u| u.hash() == s.hash()) {
                    unique.push(s);
                }
            }
            TxWitnesses {
                vkeys,
                scripts: unique,
            }
        })
}

pub fn transaction() -> impl Strategy<Value = Transaction> {
    (body(), witnesses()).prop_map(|(body, witnesses)| Transaction { body, witnesses })
}

pub fn header() -> impl Strategy<Value = BlockHeader> {
    (
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        digest(),
        digest(),
        digest(),
        digest(),
        digest(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(chain, height, ts, parent, txr, rr, sr, dr, proposer)| BlockHeader {
                version: HEADER_VERSION,
                chain_id: ChainId(chain),
                height,
                timestamp_ms: ts,
                parent_hash: BlockHash(parent),
                tx_root: Digest(txr),
                receipts_root: Digest(rr),
                state_root: Digest(sr),
                data_root: Digest(dr),
                consensus: ConsensusFields::SingleValidator {
                    proposer: PublicKey(proposer),
                },
            },
        )
}

pub fn block() -> impl Strategy<Value = Block> {
    (header(), vec(transaction(), 0..4)).prop_map(|(header, transactions)| Block {
        header,
        transactions,
    })
}

pub fn staking_object() -> impl Strategy<Value = (ObjectKey, Object)> {
    let pool = (any::<u64>(), any::<u128>(), any::<u128>()).prop_map(|(e, tokens, shares)| {
        UnbondingPool {
            epoch: Epoch(e),
            tokens,
            shares,
        }
    });
    let member = (
        digest(),
        any::<[u8; 48]>(),
        any::<[u8; 96]>(),
        digest(),
        1u64..,
    )
        .prop_map(|(v, bls, pop, net, stake)| EpochMember {
            validator: ValidatorId(v),
            bls_key: BlsPublicKeyBytes(bls),
            proof_of_possession: BlsSignatureBytes(pop),
            network_key: PublicKey(net),
            stake,
        });
    prop_oneof![
        (
            digest(),
            any::<[u8; 48]>(),
            (any::<u32>(), any::<u128>(), any::<u128>()),
            vec(pool, 0..3),
            (any::<bool>(), proptest::option::of(digest()), any::<u64>()),
        )
            .prop_map(
                |(owner, bls, (commission_bps, tokens, shares), unbonding, (t, m, at))| {
                    let key = BlsPublicKeyBytes(bls);
                    (
                        ObjectKey::Validator(ValidatorId::of(&key)),
                        Object::Validator(Box::new(ValidatorRecord {
                            owner: KeyHash(owner),
                            bls_key: key,
                            proof_of_possession: BlsSignatureBytes([7; 96]),
                            network_key: PublicKey(owner),
                            commission_bps,
                            tokens,
                            shares,
                            unbonding,
                            tombstoned: t,
                            slashed: tokens / 3,
                            leaked: shares / 5,
                            attestation: m.map(MeasurementId),
                            registered_at: at,
                        })),
                    )
                }
            ),
        (any::<u64>(), digest(), vec(member, 0..4)).prop_map(|(e, seed, members)| (
            ObjectKey::EpochSet(Epoch(e)),
            Object::EpochSet(EpochSet {
                epoch: Epoch(e),
                seed: Digest(seed),
                first_height: e.wrapping_mul(7),
                members,
            })
        )),
        (
            digest(),
            digest(),
            any::<u128>(),
            vec((any::<u64>(), any::<u128>(), any::<u64>()), 0..3)
        )
            .prop_map(|(v, d, shares, unbonding)| {
                let validator = ValidatorId(v);
                let delegator = KeyHash(d);
                (
                    ObjectKey::Delegation(DelegationId::derive(&validator, &delegator)),
                    Object::Delegation(DelegationRecord {
                        validator,
                        delegator,
                        shares,
                        unbonding: unbonding
                            .into_iter()
                            .map(|(e, shares, release_height)| StakeUnbonding {
                                epoch: Epoch(e),
                                shares,
                                release_height,
                            })
                            .collect(),
                    }),
                )
            }),
        (any::<u64>(), vec((any::<u32>(), any::<u128>()), 0..5)).prop_map(|(e, entries)| (
            ObjectKey::EpochActivity,
            Object::EpochActivity(EpochActivity {
                epoch: Epoch(e),
                blocks: entries.len() as u32,
                presence: entries.iter().map(|x| x.0).collect(),
                rewards: entries.iter().map(|x| x.1).collect(),
            })
        )),
        (any::<u64>(), any::<[u8; 32]>())
            .prop_map(|(h, out)| (ObjectKey::VrfOutput(h), Object::VrfOutput(out))),
        (digest(), any::<u64>(), any::<u64>(), any::<u128>()).prop_map(|(v, e, r, amount)| {
            let validator = ValidatorId(v);
            (
                ObjectKey::Slash(SlashId::derive(
                    &validator,
                    Epoch(e),
                    Round(r),
                    EquivocationKind::Vote,
                )),
                Object::Slash(SlashRecord {
                    validator,
                    epoch: Epoch(e),
                    round: Round(r),
                    kind: EquivocationKind::Vote,
                    height: e ^ r,
                    amount,
                }),
            )
        }),
    ]
}
