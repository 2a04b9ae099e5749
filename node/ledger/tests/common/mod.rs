//! Shared helpers of the ledger's integration tests and benchmark:
//! keys, a genesis builder, transaction finishing (exact fee + signatures,
//! by `aether-client`'s builder) and the WAT sources of the test scripts.

#![allow(dead_code)]

pub mod market;
pub mod staking;

use aether_client::{TxBuilder, sign_with_exact_fee};
use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::Keypair;
use aether_ledger::*;
use aether_types::*;

pub const AIC: u128 = BASE_UNITS_PER_AIC;

pub fn key(i: u32) -> Keypair {
    dev_keypair(DEV_SEED, i)
}

pub fn addr(k: &Keypair) -> Address {
    Address::Key(k.key_hash())
}

pub fn params() -> ProtocolParams {
    ProtocolParams::dev()
}

pub fn ctx(height: u64) -> BlockContext {
    BlockContext::at(height)
}

/// Out-point of genesis output `i`.
pub fn genesis_point(i: u32) -> OutPoint {
    OutPoint::new(TxId([0xee; 32]), i)
}

/// A genesis set: output `i` belongs to `owners[i]` and holds `coin`.
pub fn genesis(owners: &[Address], coin: u128) -> MemoryUtxoSet {
    let mut set = MemoryUtxoSet::new();
    for (i, owner) in owners.iter().enumerate() {
        set.insert(genesis_point(i as u32), TxOutput::coin(*owner, coin));
    }
    set
}

pub fn empty_body(params: &ProtocolParams) -> TxBody {
    aether_client::empty_body(params.chain_id)
}

/// Sets the exact minimum fee and signs. `adjust(body, fee)` runs after
/// the fee is written, to fix fee-dependent amounts (change, collateral
/// return); it must not change the encoded size.
pub fn finish(
    params: &ProtocolParams,
    body: TxBody,
    signers: &[&Keypair],
    scripts: Vec<Script>,
    adjust: impl Fn(&mut TxBody, u128),
) -> Transaction {
    sign_with_exact_fee(&params.fees, body, signers, scripts, 0, adjust).unwrap()
}

/// A transfer of `amount` from the output `input` (holding `held`, owned by
/// `from`) to `to`, change back to `from` as output 1.
pub fn transfer(
    params: &ProtocolParams,
    from: &Keypair,
    input: OutPoint,
    held: u128,
    to: Address,
    amount: u128,
) -> Transaction {
    TxBuilder::new(&params.tx_params())
        .input(input, &TxOutput::coin(addr(from), held))
        .pay(to, amount)
        .change_to(addr(from))
        .signer(from)
        .build()
        .unwrap()
}

pub fn wasm(wat_source: &str) -> Script {
    Script::Wasm(WasmCode::new(wat::parse_str(wat_source).unwrap()).unwrap())
}

pub const ACCEPT_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 1))"#;

pub const REJECT_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 0))"#;

pub const LOOP_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) (loop $l (br $l)) i32.const 1))"#;

pub const TRAP_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) unreachable))"#;

pub const FLOAT_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32)
    f32.const 1.5 f32.const 2.5 f32.add f32.const 4.0 f32.eq))"#;

/// Declares 64 pages (4 MiB), over the dev cap of 16.
pub const BIG_MEMORY_WAT: &str = r#"(module
  (memory (export "memory") 64)
  (func (export "validate") (result i32) i32.const 1))"#;

/// Grows memory by 1000 pages; accepts only if the growth succeeded.
pub const GROW_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32)
    (i32.ne (memory.grow (i32.const 1000)) (i32.const -1))))"#;

pub const FORBIDDEN_IMPORT_WAT: &str = r#"(module
  (import "env" "now" (func $now (result i64)))
  (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 1))"#;

pub const NO_VALIDATE_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "check") (result i32) i32.const 1))"#;

/// Reads past the end of the context: the host traps.
pub const READ_PAST_CONTEXT_WAT: &str = r#"(module
  (import "aether" "context_size" (func $size (result i32)))
  (import "aether" "context_read" (func $read (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "validate") (result i32)
    (call $read (i32.const 0) (i32.const 0) (i32.add (call $size) (i32.const 1)))
    i32.const 1))"#;

/// Spend validator: accepts iff the redeemer equals the spent output's
/// datum (a "password" lock). Parses the context layout of
/// `aether_types::context`: purpose tag at 0, out-point 1..37, datum tag at
/// 37, datum length at 38, datum bytes at 42, then redeemer length + bytes.
pub const PASSWORD_WAT: &str = r#"(module
  (import "aether" "context_size" (func $size (result i32)))
  (import "aether" "context_read" (func $read (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "validate") (result i32)
    (local $n i32) (local $dlen i32) (local $r i32) (local $i i32)
    (local.set $n (call $size))
    (if (i32.gt_u (local.get $n) (i32.const 65536)) (then (return (i32.const 0))))
    (call $read (i32.const 0) (i32.const 0) (local.get $n))
    (if (i32.ne (i32.load8_u (i32.const 0)) (i32.const 0)) (then (return (i32.const 0))))
    (if (i32.ne (i32.load8_u (i32.const 37)) (i32.const 1)) (then (return (i32.const 0))))
    (local.set $dlen (i32.load (i32.const 38)))
    (local.set $r (i32.add (i32.const 42) (local.get $dlen)))
    (if (i32.ne (local.get $dlen) (i32.load (local.get $r))) (then (return (i32.const 0))))
    (local.set $r (i32.add (local.get $r) (i32.const 4)))
    (block $done
      (loop $cmp
        (br_if $done (i32.ge_u (local.get $i) (local.get $dlen)))
        (if (i32.ne (i32.load8_u (i32.add (i32.const 42) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $r) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $cmp)))
    (i32.const 1)))"#;

/// Minting policy: approves iff the purpose is Mint and the redeemer's
/// first byte is 1 (context: tag 1 at 0, policy 1..33, datum tag 0 at 33,
/// redeemer length at 34, redeemer bytes at 38).
pub const APPROVAL_POLICY_WAT: &str = r#"(module
  (import "aether" "context_read" (func $read (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "validate") (result i32)
    (call $read (i32.const 0) (i32.const 0) (i32.const 39))
    (if (i32.ne (i32.load8_u (i32.const 0)) (i32.const 1)) (then (return (i32.const 0))))
    (if (i32.lt_u (i32.load (i32.const 34)) (i32.const 1)) (then (return (i32.const 0))))
    (i32.eq (i32.load8_u (i32.const 38)) (i32.const 1))))"#;

pub fn redeemer(data: &[u8], fuel: u64) -> Redeemer {
    Redeemer {
        data: RedeemerData::new(data.to_vec()).unwrap(),
        fuel,
    }
}

/// Applies a block and returns the outcome, asserting that sequential and
/// parallel execution agree.
pub fn run_block(
    ledger: &Ledger,
    set: &mut MemoryUtxoSet,
    height: u64,
    txs: &[Transaction],
) -> BlockOutcome {
    let seq = ledger
        .execute_block(&*set, &ctx(height), txs, ExecutionMode::Sequential)
        .unwrap();
    let par = ledger
        .execute_block(&*set, &ctx(height), txs, ExecutionMode::Parallel)
        .unwrap();
    assert_eq!(seq, par, "parallel execution diverged from sequential");
    set.apply(&seq.diff);
    seq
}

/// Total AIC held by `address` in `set`.
pub fn balance(set: &MemoryUtxoSet, address: Address) -> u128 {
    set.iter()
        .filter(|(_, o)| o.address == address)
        .map(|(_, o)| o.value.coin)
        .sum()
}
