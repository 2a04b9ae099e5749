//! Reed-Solomon on the Turbine batch shape (32 data + 32 coding shards of
//! 1 KiB): `reed-solomon-simd` (ours) against `reed-solomon-erasure` (the
//! peer, with its `simd-accel` C kernels), encode and decode in one run;
//! then our whole shred pipeline (coding, Merkle tree, one ed25519
//! signature per batch) and a receiver's per-shred check.
//!
//! Throughput is of the batch's 32 KiB of block data. Goal (issue 13):
//! encode >= 1 GiB/s per core.
//!
//! Run: `CARGO_TARGET_DIR=... cargo bench -p aether-network --bench erasure`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use aether_crypto::ed25519::{Keypair, ParsedPublicKey};
use aether_network::shred::{
    BATCH_DATA_BYTES, CODING_SHREDS, DATA_SHREDS, MAX_SHARD_LEN, Shred, make_shreds,
};
use aether_types::ValidatorIndex;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reed_solomon_erasure::galois_8::ReedSolomon;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use std::hint::black_box;

fn data() -> Vec<Vec<u8>> {
    (0..DATA_SHREDS)
        .map(|i| {
            (0..MAX_SHARD_LEN)
                .map(|j| (i * 131 + j * 7) as u8)
                .collect()
        })
        .collect()
}

fn simd_encode(enc: &mut ReedSolomonEncoder, data: &[Vec<u8>]) -> Vec<Vec<u8>> {
    enc.reset(DATA_SHREDS, CODING_SHREDS, MAX_SHARD_LEN)
        .expect("reset");
    for d in data {
        enc.add_original_shard(d).expect("add");
    }
    let out = enc.encode().expect("encode");
    out.recovery_iter().map(<[u8]>::to_vec).collect()
}

fn reed_solomon(c: &mut Criterion) {
    let data = data();
    let mut g = c.benchmark_group("rs 32+32 x 1 KiB");
    g.throughput(Throughput::Bytes(BATCH_DATA_BYTES as u64));

    // --- reed-solomon-simd (ours) ---
    let mut enc = ReedSolomonEncoder::new(DATA_SHREDS, CODING_SHREDS, MAX_SHARD_LEN).unwrap();
    g.bench_function("reed-solomon-simd encode", |b| {
        b.iter(|| {
            enc.reset(DATA_SHREDS, CODING_SHREDS, MAX_SHARD_LEN)
                .unwrap();
            for d in &data {
                enc.add_original_shard(black_box(d)).unwrap();
            }
            black_box(enc.encode().unwrap().recovery(0).map(|r| r[0]));
        })
    });
    let recovery = simd_encode(&mut enc, &data);
    let mut dec = ReedSolomonDecoder::new(DATA_SHREDS, CODING_SHREDS, MAX_SHARD_LEN).unwrap();
    for (i, r) in recovery.iter().enumerate() {
        dec.add_recovery_shard(i, r).unwrap();
    }
    let restored: Vec<Vec<u8>> = {
        let result = dec.decode().unwrap();
        (0..DATA_SHREDS)
            .map(|i| result.restored_original(i).unwrap().to_vec())
            .collect()
    };
    assert_eq!(restored, data);
    // Half the data lost (16 data + 16 coding in), and all of it lost
    // (32 coding in).
    for (name, keep_data) in [("half data lost", 16usize), ("all data lost", 0)] {
        g.bench_function(format!("reed-solomon-simd decode, {name}"), |b| {
            b.iter(|| {
                dec.reset(DATA_SHREDS, CODING_SHREDS, MAX_SHARD_LEN)
                    .unwrap();
                for (i, d) in data.iter().enumerate().take(keep_data) {
                    dec.add_original_shard(i, d).unwrap();
                }
                for (i, r) in recovery.iter().enumerate().take(DATA_SHREDS - keep_data) {
                    dec.add_recovery_shard(i, r).unwrap();
                }
                black_box(dec.decode().unwrap().restored_original(31).map(|r| r[0]));
            })
        });
    }

    // --- reed-solomon-erasure (peer) ---
    let rs = ReedSolomon::new(DATA_SHREDS, CODING_SHREDS).unwrap();
    let mut shards: Vec<Vec<u8>> = data
        .iter()
        .cloned()
        .chain((0..CODING_SHREDS).map(|_| vec![0u8; MAX_SHARD_LEN]))
        .collect();
    g.bench_function("reed-solomon-erasure encode", |b| {
        b.iter(|| {
            rs.encode(black_box(&mut shards)).unwrap();
        })
    });
    rs.encode(&mut shards).unwrap();
    // (The two crates use different codes, so their coding shards differ;
    // each must rebuild the data from its own.)
    let mut check: Vec<Option<Vec<u8>>> = shards
        .iter()
        .enumerate()
        .map(|(i, s)| (i >= DATA_SHREDS).then(|| s.clone()))
        .collect();
    rs.reconstruct_data(&mut check).unwrap();
    assert_eq!(
        check[..DATA_SHREDS]
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>(),
        data
    );
    for (name, keep_data) in [("half data lost", 16usize), ("all data lost", 0)] {
        g.bench_function(format!("reed-solomon-erasure decode, {name}"), |b| {
            b.iter(|| {
                let mut received: Vec<Option<Vec<u8>>> = shards
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let keep = if i < DATA_SHREDS {
                            i < keep_data
                        } else {
                            i - DATA_SHREDS < DATA_SHREDS - keep_data
                        };
                        keep.then(|| s.clone())
                    })
                    .collect();
                rs.reconstruct_data(&mut received).unwrap();
                black_box(received[31].as_ref().map(|r| r[0]));
            })
        });
    }
    g.finish();
}

fn shred_pipeline(c: &mut Criterion) {
    let key = Keypair::from_secret_bytes(&[1; 32]);
    let parsed = ParsedPublicKey::parse(&key.public_key()).unwrap();
    let block: Vec<u8> = (0..1024 * 1024).map(|i| (i * 13 + i / 977) as u8).collect();
    let mut g = c.benchmark_group("shreds");
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.sample_size(20);
    g.bench_function("make_shreds 1 MiB (32 batches: code, Merkle, sign)", |b| {
        b.iter(|| make_shreds(ValidatorIndex(0), &key, black_box(&block)).unwrap())
    });
    g.finish();
    let (_, shreds) = make_shreds(ValidatorIndex(0), &key, &block).unwrap();
    let wire = shreds[5].encode();
    let mut g = c.benchmark_group("shred receive");
    g.bench_function("decode + Merkle proof", |b| {
        b.iter(|| {
            let s = Shred::decode(black_box(&wire)).unwrap();
            s.check_proof().unwrap();
        })
    });
    g.bench_function("batch signature (once per batch)", |b| {
        let s = Shred::decode(&wire).unwrap();
        b.iter(|| s.check_signature(black_box(&parsed)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, reed_solomon, shred_pipeline);
criterion_main!(benches);
