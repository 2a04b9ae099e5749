//! The staking test harness: a memory chain (the market harness's
//! [`Chain`], which compares both execution modes and checks the supply
//! invariant at every block) started with genesis validators, headers that
//! name a proposer and QC signers, and signed equivocations.

#![allow(dead_code)]

use super::market::*;
use super::*;
use aether_consensus::signing::block_message;
use aether_crypto::bls::{Domain, SecretKey};
use aether_crypto::ed25519::Keypair;
use aether_ledger::staking::*;
use aether_ledger::*;
use aether_types::*;

/// The genesis block id the test chains' consensus signs over.
pub const GENESIS: BlockHash = BlockHash([0x6e; 32]);
/// Blocks per epoch in the tests.
pub const EPOCH: u64 = 4;
/// Each genesis validator's self-bond.
pub const BOND: u128 = 1_000 * AIC;
/// Block reward in the tests.
pub const REWARD: u128 = AIC / 10;

/// Validator `i`'s BLS key.
pub fn bls(i: u32) -> SecretKey {
    let mut seed = [0x40u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    SecretKey::from_seed(&seed)
}

/// Validator `i`'s network key.
pub fn net(i: u32) -> Keypair {
    key(200 + i)
}

/// Validator `i`'s owner key.
pub fn owner(i: u32) -> Keypair {
    key(300 + i)
}

/// Test parameters: the market's (simulated evidence trusted, a
/// governance key), 4-block epochs, 100 AIC minimum self-bond, 5 %
/// slashes, a block reward, a low downtime window.
pub fn staking_params() -> ProtocolParams {
    let mut p = market_params(true);
    p.staking = StakingParams {
        epoch_length: EPOCH,
        min_self_bond: 100 * AIC,
        min_delegation: AIC,
        stake_unit: AIC,
        max_validators: 16,
        unbonding_delay: 3 * EPOCH,
        evidence_max_age: 1,
        slash_bps: 500,
        reporter_reward_bps: 1_000,
        block_reward: REWARD,
        proposer_reward_bps: 1_000,
        min_presence_bps: 5_000,
        downtime_min_blocks: 2,
        downtime_leak_bps: 100,
        require_attestation: false,
        genesis_hash: GENESIS,
    };
    p
}

pub fn genesis_validator(i: u32, bond: u128) -> GenesisValidator {
    GenesisValidator::from_secret(&bls(i), net(i).public_key(), owner(i).key_hash(), bond, 500)
}

/// A chain whose genesis lists `n` validators (self-bond [`BOND`] each,
/// 5 % commission) and funds their owners.
pub fn staking_chain(params: ProtocolParams, n: u32) -> Chain {
    let mut chain = Chain::new(params);
    add_genesis_validators(&mut chain, n);
    chain
}

/// Adds `n` genesis validators to a chain at height 0 (their self-bonds
/// join the genesis supply) and funds their owners.
pub fn add_genesis_validators(chain: &mut Chain, n: u32) {
    let params = chain.ledger.params().clone();
    let validators: Vec<GenesisValidator> = (0..n).map(|i| genesis_validator(i, BOND)).collect();
    let seed = genesis_seed(params.chain_id, &validators);
    for (k, o) in genesis_objects(&params.staking, &validators, seed).unwrap() {
        chain.set.put_object(k, Some(o));
    }
    chain.genesis_supply += BOND * u128::from(n);
    for i in 0..n {
        chain.fund(&owner(i), 1_000 * AIC, 2);
    }
    chain.check_supply();
}

impl Chain {
    pub fn validator(&self, id: ValidatorId) -> ValidatorRecord {
        match self.set.get_object(&ObjectKey::Validator(id)) {
            Some(Object::Validator(v)) => *v,
            other => panic!("no validator {id}: {other:?}"),
        }
    }

    pub fn delegation(&self, v: ValidatorId, delegator: &Keypair) -> Option<DelegationRecord> {
        match self
            .set
            .get_object(&ObjectKey::Delegation(DelegationId::derive(
                &v,
                &delegator.key_hash(),
            ))) {
            Some(Object::Delegation(d)) => Some(d),
            None => None,
            other => panic!("not a delegation: {other:?}"),
        }
    }

    pub fn epoch_set(&self, epoch: u64) -> Option<EpochSet> {
        epoch_set(&self.set, Epoch(epoch)).unwrap()
    }

    pub fn activity(&self) -> EpochActivity {
        match self.set.get_object(&ObjectKey::EpochActivity) {
            Some(Object::EpochActivity(a)) => a,
            other => panic!("no activity: {other:?}"),
        }
    }

    pub fn current_epoch(&self) -> u64 {
        current_epoch(&self.set).unwrap().unwrap().0
    }

    /// The index of validator `i` (by key) in `epoch`'s set.
    pub fn index_of(&self, epoch: u64, i: u32) -> u16 {
        let id = genesis_validator(i, BOND).id();
        self.epoch_set(epoch).unwrap().index_of(&id).unwrap() as u16
    }

    /// Sets the next header: proposer `proposer`, QC signers `signers`
    /// (indices of the current epoch's set), a VRF output.
    pub fn next_header(&mut self, proposer: u16, signers: &[u16]) {
        let e = self.current_epoch();
        let n = self.epoch_set(e).unwrap().members.len();
        let mut bitmap = SignerBitmap::new(n).unwrap();
        for s in signers {
            bitmap.set(ValidatorIndex(*s));
        }
        self.header = BlockConsensus {
            epoch: Some(Epoch(e)),
            proposer: Proposer::Index(ValidatorIndex(proposer)),
            justify: Some((Epoch(e), bitmap)),
            vrf_output: Some(*blake3::hash(&(self.height + 1).to_le_bytes()).as_bytes()),
        };
    }

    /// Runs empty blocks (each proposed by index `h mod n`, signed by all)
    /// until the current epoch has ended.
    pub fn finish_epoch(&mut self) -> Vec<BlockOutcome> {
        let e = self.current_epoch();
        let mut out = Vec::new();
        while self.current_epoch() == e {
            let n = self.epoch_set(e).unwrap().members.len() as u16;
            let all: Vec<u16> = (0..n).collect();
            self.next_header(((self.height + 1) % u64::from(n)) as u16, &all);
            out.push(self.block(&[]));
        }
        out
    }
}

/// Validator `i`'s signature of `kind` over `r`.
pub fn sign(i: u32, kind: EquivocationKind, r: &BlockRef) -> BlsSignatureBytes {
    let domain = match kind {
        EquivocationKind::Vote => Domain::Vote,
        EquivocationKind::Proposal => Domain::Proposal,
    };
    BlsSignatureBytes(bls(i).sign(domain, &block_message(&GENESIS, r)).to_bytes())
}

pub fn block_ref(epoch: u64, round: u64, block: u8) -> BlockRef {
    BlockRef {
        epoch: Epoch(epoch),
        round: Round(round),
        block: BlockHash([block; 32]),
        height: round,
    }
}

/// Evidence that validator `i` (index `index` in `epoch`'s set) signed
/// blocks `a` and `b` in `round`.
pub fn equivocation(
    i: u32,
    index: u16,
    epoch: u64,
    round: u64,
    kind: EquivocationKind,
    a: u8,
    b: u8,
) -> EquivocationEvidence {
    let ra = block_ref(epoch, round, a);
    let rb = block_ref(epoch, round, b);
    EquivocationEvidence::new(
        kind,
        ValidatorIndex(index),
        (ra, sign(i, kind, &ra)),
        (rb, sign(i, kind, &rb)),
    )
    .unwrap()
}

pub fn report(evidence: EquivocationEvidence, reporter: Address) -> Action {
    Action::ReportEquivocation(Box::new(ReportEquivocation { evidence, reporter }))
}

/// A registration of validator `i` (keys from the test seeds).
pub fn registration(i: u32, self_bond: u128) -> RegisterValidator {
    let g = genesis_validator(i, self_bond);
    RegisterValidator {
        owner: g.owner,
        bls_key: g.bls_key,
        proof_of_possession: g.proof_of_possession,
        network_key: g.network_key,
        self_bond,
        commission_bps: 1_000,
        attestation: None,
    }
}

pub fn staking_error(e: MarketError) -> StakingError {
    match e {
        MarketError::Staking(e) => e,
        other => panic!("expected a staking error, got {other:?}"),
    }
}
