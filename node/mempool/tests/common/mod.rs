//! Helpers of the mempool tests: dev keys, a genesis UTxO set, signed
//! transfers with an exact fee, script-locked spends (fees and signatures
//! by `aether-client`; bodies by hand, since the pool tests also need
//! transactions the pool must refuse, such as dust outputs).

#![allow(dead_code)]

use aether_client::sign_with_exact_fee;
use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::Keypair;
use aether_ledger::{ExecutionMode, Ledger, MemoryUtxoSet, ProtocolParams};
use aether_mempool::{BlockRemoval, Mempool};
use aether_types::*;

pub const AIC: u128 = BASE_UNITS_PER_AIC;

pub fn key(i: u32) -> Keypair {
    dev_keypair(DEV_SEED, i)
}

pub fn addr(k: &Keypair) -> Address {
    Address::Key(k.key_hash())
}

pub fn ledger() -> Ledger {
    Ledger::new(ProtocolParams::dev())
}

pub fn genesis_point(i: u32) -> OutPoint {
    OutPoint::new(TxId([0xee; 32]), i)
}

/// Output `i` belongs to key `i % keys` and holds `coin`.
pub fn genesis(outputs: u32, keys: u32, coin: u128) -> MemoryUtxoSet {
    let mut set = MemoryUtxoSet::new();
    for i in 0..outputs {
        set.insert(genesis_point(i), TxOutput::coin(addr(&key(i % keys)), coin));
    }
    set
}

pub fn empty_body() -> TxBody {
    aether_client::empty_body(ProtocolParams::dev().chain_id)
}

/// Writes the exact `min_fee + extra_fee` and signs; `adjust(body, fee)`
/// fixes fee-dependent amounts without changing the size.
pub fn finish(
    body: TxBody,
    signers: &[&Keypair],
    scripts: Vec<Script>,
    extra_fee: u128,
    adjust: impl Fn(&mut TxBody, u128),
) -> Transaction {
    let params = ProtocolParams::dev();
    sign_with_exact_fee(&params.fees, body, signers, scripts, extra_fee, adjust).unwrap()
}

/// Spends `input` (holding `held`, owned by `from`): `amount` to `to`,
/// the rest minus the fee back to `from`.
pub fn transfer(
    from: &Keypair,
    input: OutPoint,
    held: u128,
    to: Address,
    amount: u128,
    extra_fee: u128,
) -> Transaction {
    let mut body = empty_body();
    body.inputs.insert(input);
    body.outputs.push(TxOutput::coin(to, amount));
    body.outputs.push(TxOutput::coin(addr(from), 0));
    finish(body, &[from], vec![], extra_fee, |b, fee| {
        b.outputs[1].value.coin = held - amount - fee;
    })
}

/// Executes `txs` as block `height` on `chain` (asserting that none is
/// rejected), applies it and tells the pool.
pub fn commit(
    ledger: &Ledger,
    chain: &mut MemoryUtxoSet,
    pool: &mut Mempool,
    height: u64,
    txs: Vec<Transaction>,
) -> BlockRemoval {
    let outcome = ledger
        .execute_block(
            &*chain,
            &aether_ledger::BlockContext::at(height),
            &txs,
            ExecutionMode::Sequential,
        )
        .unwrap();
    assert!(
        outcome.rejected.is_empty(),
        "block rejected: {:?}",
        outcome.rejected
    );
    chain.apply(&outcome.diff);
    let block = Block {
        header: BlockHeader {
            version: HEADER_VERSION,
            chain_id: ledger.params().chain_id,
            height,
            timestamp_ms: 0,
            parent_hash: BlockHash::default(),
            tx_root: Digest::default(),
            receipts_root: Digest::default(),
            state_root: chain.state_root(),
            data_root: Digest::default(),
            consensus: ConsensusFields::SingleValidator {
                proposer: PublicKey([0; 32]),
            },
        },
        transactions: txs,
    };
    pool.apply_block(&block, &outcome.receipts)
}

pub fn wasm(wat_source: &str) -> Script {
    Script::Wasm(WasmCode::new(wat::parse_str(wat_source).unwrap()).unwrap())
}

pub const REJECT_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 0))"#;

pub const ACCEPT_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "validate") (result i32) i32.const 1))"#;

/// Spends the script-locked `locked` (holding `held`) with the witness
/// `script`, paying to `to`; collateral `collateral` (holding
/// `collateral_held`, owned by `payer`) balances the fee exactly.
pub fn script_spend(
    script: &Script,
    locked: OutPoint,
    held: u128,
    payer: &Keypair,
    collateral: OutPoint,
    collateral_held: u128,
) -> Transaction {
    let mut body = empty_body();
    body.inputs.insert(locked);
    body.spend_redeemers.insert(
        locked,
        Redeemer {
            data: RedeemerData::new(vec![1]).unwrap(),
            fuel: 100_000,
        },
    );
    body.collateral.insert(collateral);
    body.outputs.push(TxOutput::coin(addr(payer), 0));
    body.collateral_return = Some(TxOutput::coin(addr(payer), 0));
    finish(body, &[payer], vec![script.clone()], 0, |b, fee| {
        b.outputs[0].value.coin = held.saturating_sub(fee);
        b.collateral_return.as_mut().unwrap().value.coin = collateral_held - fee;
    })
}
