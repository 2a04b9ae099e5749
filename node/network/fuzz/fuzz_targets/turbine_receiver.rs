//! Fuzzes the shred decoder and the Turbine receiver: arbitrary bytes
//! (and arbitrary sequences of them) never panic the receiver, and
//! nothing but a genuinely signed block is ever reported complete.
#![no_main]

use aether_crypto::ed25519::{Keypair, ParsedPublicKey};
use aether_network::fanout::FanoutSet;
use aether_network::shred::Shred;
use aether_network::turbine::{TurbineLimits, TurbineReceiver};
use aether_types::ValidatorIndex;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let keys: HashMap<ValidatorIndex, ParsedPublicKey> = (0..4u16)
        .map(|i| {
            let k = Keypair::from_secret_bytes(&[i as u8 + 1; 32]);
            (ValidatorIndex(i), ParsedPublicKey::parse(&k.public_key()).unwrap())
        })
        .collect();
    let mut receiver = TurbineReceiver::new(
        Some(ValidatorIndex(1)),
        keys,
        FanoutSet::new((0..4).map(|i| (ValidatorIndex(i), 1)).collect(), 2),
        TurbineLimits {
            max_block_len: 1 << 20,
            max_blocks: 4,
        },
    );
    // The input is a sequence of length-prefixed shreds.
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let shred = &rest[2..2 + len];
        let _ = Shred::decode(shred);
        if let Ok(Some(outcome)) = receiver.on_shred(shred) {
            assert!(outcome.complete.is_none(), "a forged block completed");
        }
        rest = &rest[2 + len..];
    }
});
