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
                }
            },
        )
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
