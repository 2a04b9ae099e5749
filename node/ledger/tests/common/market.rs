//! The market test harness: a memory chain advanced block by block (both
//! execution modes compared and the supply invariant checked at every
//! block), a world with registered images and a provider, simulated TEE
//! evidence, and a deterministic stand-in runtime ([`ChainRuntime`]):
//! segment `j` maps checkpoint data `d` to `BLAKE3(j ‖ d)`. It drives the
//! same trace, proof and re-execution code as the real inference runtime.

#![allow(dead_code)]

use super::*;
use aether_client::{TxBuilder, Utxo};
use aether_crypto::ed25519::Keypair;
use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions};
use aether_ledger::market::MarketError;
use aether_ledger::*;
use aether_types::*;
use std::sync::Arc;

pub const T0_MS: u64 = 1_750_000_000_000;
pub const SEGMENTS: u32 = 5;
pub const PRICE: u128 = 2 * AIC;
pub const MAX_FEE: u128 = 5 * AIC;
pub const WORKER_MEASUREMENT: [u8; 48] = [0x5a; 48];
pub const VALIDATOR_MEASUREMENT: [u8; 48] = [0x6b; 48];
pub const OTHER_MEASUREMENT: [u8; 48] = [0x7c; 48];
pub const TDX_MRTD: [u8; 48] = [0x11; 48];
pub const TDX_RTMR1: [u8; 48] = [0x12; 48];
pub const TDX_RTMR2: [u8; 48] = [0x13; 48];

/// Deterministic stand-in runtime (see the module docs).
#[derive(Debug)]
pub struct ChainRuntime;

pub fn step(segment: u32, data: &[u8]) -> Vec<u8> {
    let mut h = blake3::Hasher::new();
    h.update(&segment.to_le_bytes());
    h.update(data);
    h.finalize().as_bytes().to_vec()
}

impl SegmentExecutor for ChainRuntime {
    fn input_checkpoint(
        &self,
        _: &JobKind,
        input: &[u8],
        _: Option<&[u8]>,
    ) -> Result<Vec<u8>, ReexecError> {
        Ok(input.to_vec())
    }

    fn run_segment(
        &self,
        _: &JobKind,
        _: Option<&[u8]>,
        segment: u32,
        previous: &[u8],
    ) -> Result<Vec<u8>, ReexecError> {
        if previous.is_empty() {
            return Err(ReexecError::InvalidCheckpoint("empty checkpoint".into()));
        }
        Ok(step(segment, previous))
    }
}

/// A worker's run: checkpoint data 0..=n (0 = input, n = output). A
/// cheating worker diverges from segment `cheat_from` on.
pub fn run(input: &[u8], cheat_from: Option<u32>) -> Vec<Vec<u8>> {
    let mut data = vec![input.to_vec()];
    for j in 1..=SEGMENTS {
        let mut next = step(j, &data[j as usize - 1]);
        if cheat_from.is_some_and(|c| j >= c) {
            next[0] ^= 0xff;
        }
        data.push(next);
    }
    data
}

pub fn checkpoint_hash(data: &[u8]) -> Digest {
    Digest(aether_infer::checkpoint_hash(data))
}

pub fn hashes(data: &[Vec<u8>]) -> Vec<Digest> {
    data.iter().map(|d| checkpoint_hash(d)).collect()
}

pub fn trace_root(h: &[Digest]) -> Digest {
    let raw: Vec<[u8; 32]> = h.iter().map(|d| d.0).collect();
    Digest(aether_infer::trace_root(&raw))
}

pub fn proof(h: &[Digest], index: usize) -> Vec<Digest> {
    let raw: Vec<[u8; 32]> = h.iter().map(|d| d.0).collect();
    aether_infer::trace_proof(&raw, index)
        .unwrap()
        .path
        .into_iter()
        .map(Digest)
        .collect()
}

pub fn keys() -> (Keypair, Keypair, Keypair, Keypair, Keypair, Keypair) {
    // governance, provider owner, worker, client, challenger, stranger
    (key(10), key(11), key(12), key(13), key(14), key(15))
}

pub fn market_params(simulated: bool) -> ProtocolParams {
    let mut p = ProtocolParams::dev();
    p.market.governance = aether_ledger::market::Governance {
        keys: [key(10).key_hash()].into(),
        threshold: 1,
    };
    p.market.evidence = aether_evidence::EvidencePolicy::production();
    if simulated {
        p.market.evidence = p.market.evidence.with_simulated();
    }
    p.market.challenge_window = 3;
    p.market.min_provider_bond = 100 * AIC;
    p.market.min_job_bond = AIC;
    p.market.job_bond_multiple = 10;
    p.market.unbonding_delay = 4;
    p
}

/// The chain: a memory state advanced block by block.
pub struct Chain {
    pub ledger: Ledger,
    pub set: MemoryUtxoSet,
    pub height: u64,
    pub burned: u128,
    /// Fees charged and held by nobody (chains without staking: on a
    /// staking chain every fee goes to a reward pool or is burned).
    pub fees: u128,
    /// Block rewards minted.
    pub minted: u128,
    pub genesis_supply: u128,
    /// The consensus facts the next block's header carries.
    pub header: BlockConsensus,
}

impl Chain {
    pub fn new(params: ProtocolParams) -> Chain {
        let (gov, owner, worker, client, challenger, stranger) = keys();
        let owners: Vec<Address> = [&gov, &owner, &worker, &client, &challenger, &stranger]
            .iter()
            .map(|k| addr(k))
            .collect();
        let set = genesis(&owners, 1_000 * AIC);
        Chain {
            ledger: Ledger::with_executor(params, Arc::new(ChainRuntime)),
            set,
            height: 0,
            burned: 0,
            fees: 0,
            minted: 0,
            genesis_supply: 6 * 1_000 * AIC,
            header: BlockConsensus::default(),
        }
    }

    /// Adds `count` outputs of `coin` each for `k` (outside any block: a
    /// richer genesis; the supply invariant counts them).
    pub fn fund(&mut self, k: &Keypair, coin: u128, count: usize) {
        for i in 0..count {
            let op = OutPoint::new(
                TxId(
                    *blake3::hash(&[&k.public_key().0[..], &(i as u64).to_le_bytes()].concat())
                        .as_bytes(),
                ),
                0,
            );
            self.set.insert(op, TxOutput::coin(addr(k), coin));
            self.genesis_supply += coin;
        }
    }

    pub fn ctx(&self) -> BlockContext {
        let h = self.height + 1;
        BlockContext {
            height: h,
            timestamp_ms: T0_MS + h * 500,
            parent_hash: BlockHash(*blake3::hash(&self.height.to_le_bytes()).as_bytes()),
        }
    }

    pub fn coins(&self, k: &Keypair) -> Vec<Utxo> {
        let a = addr(k);
        self.set
            .iter()
            .filter(|(_, o)| o.address == a)
            .map(|(op, o)| Utxo::new(*op, o))
            .collect()
    }

    pub fn balance(&self, k: &Keypair) -> u128 {
        self.coins(k).iter().map(|c| c.value.coin).sum()
    }

    /// A transaction paid by `payer` (change back), signed by `payer` and
    /// `extra` signers, carrying `actions`.
    pub fn tx(&self, payer: &Keypair, extra: &[&Keypair], actions: Vec<Action>) -> Transaction {
        let mut b = TxBuilder::new(&self.ledger.params().tx_params())
            .change_to(addr(payer))
            .signer(payer);
        for k in extra {
            b = b.signer(k);
        }
        for a in actions {
            b = b.action(a);
        }
        b.fund_from(&self.coins(payer)).unwrap()
    }

    /// Executes a block (both modes must agree), applies it, and returns
    /// its outcome.
    pub fn block(&mut self, txs: &[Transaction]) -> BlockOutcome {
        let ctx = self.ctx();
        let header = self.header.clone();
        let seq = self
            .ledger
            .execute_block_with(&self.set, &ctx, &header, txs, ExecutionMode::Sequential)
            .unwrap();
        let par = self
            .ledger
            .execute_block_with(&self.set, &ctx, &header, txs, ExecutionMode::Parallel)
            .unwrap();
        assert_eq!(seq, par, "parallel and sequential execution differ");
        let staking = self.set.get_object(&ObjectKey::EpochActivity).is_some();
        self.set.apply(&par.diff);
        self.height = ctx.height;
        for r in &par.receipts {
            if !staking {
                self.fees += r.fee_charged;
            }
            self.burned += burned(&r.events);
        }
        self.burned += burned(&par.boundary.events);
        for e in &par.boundary.events {
            if let Event::BlockRewarded { minted, .. } = e {
                self.minted += minted;
            }
        }
        self.check_supply();
        par
    }

    /// Executes one block that must accept `tx`.
    pub fn ok(&mut self, tx: Transaction) -> Receipt {
        let out = self.block(std::slice::from_ref(&tx));
        assert!(out.rejected.is_empty(), "rejected: {:?}", out.rejected);
        out.receipts[0].clone()
    }

    /// `tx` must be refused with a market error; the block that carries it
    /// rejects it and changes nothing but what the boundary does.
    pub fn refused(&mut self, tx: Transaction) -> MarketError {
        let ctx = self.ctx();
        let err = self
            .ledger
            .validate_transaction(&self.set, &ctx, &tx)
            .unwrap_err();
        let boundary_only = self
            .ledger
            .execute_block(&self.set, &ctx, &[], ExecutionMode::Parallel)
            .unwrap();
        let with_tx = self
            .ledger
            .execute_block(
                &self.set,
                &ctx,
                std::slice::from_ref(&tx),
                ExecutionMode::Parallel,
            )
            .unwrap();
        assert_eq!(with_tx.rejected.len(), 1);
        assert_eq!(
            with_tx.diff, boundary_only.diff,
            "a refused tx changed state"
        );
        match err {
            LedgerError::Action { error, .. } => error,
            other => panic!("expected a market error, got {other}"),
        }
    }

    pub fn held_by_objects(&self) -> u128 {
        self.set.objects().map(|(_, o)| o.held_value()).sum()
    }

    pub fn utxo_total(&self) -> u128 {
        self.set.iter().map(|(_, o)| o.value.coin).sum()
    }

    /// Value is conserved: UTxOs + objects + fees + burned = genesis +
    /// minted.
    pub fn check_supply(&self) {
        assert_eq!(
            self.utxo_total() + self.held_by_objects() + self.fees + self.burned,
            self.genesis_supply + self.minted,
            "supply not conserved at height {}",
            self.height
        );
    }

    pub fn job(&self, id: JobId) -> JobRecord {
        match self.set.get_object(&ObjectKey::Job(id)) {
            Some(Object::Job(j)) => *j,
            other => panic!("no job {id}: {other:?}"),
        }
    }

    pub fn provider(&self, id: ProviderId) -> ProviderRecord {
        match self.set.get_object(&ObjectKey::Provider(id)) {
            Some(Object::Provider(p)) => p,
            other => panic!("no provider {id}: {other:?}"),
        }
    }
}

pub fn burned(events: &[Event]) -> u128 {
    events
        .iter()
        .map(|e| match e {
            Event::Burned { amount } => *amount,
            _ => 0,
        })
        .sum()
}

pub fn snp_entry(m: [u8; 48]) -> MeasurementEntry {
    MeasurementEntry {
        measurement: LaunchMeasurement::Snp(m),
        shape: VmShape::Snp {
            vcpus: 2,
            cpu: BoundedString::new("EPYC-v4").unwrap(),
            guest_features: 1,
        },
        rtmr0: None,
    }
}

pub fn register_image(
    image: u8,
    role: ImageRole,
    tee: TeeKind,
    entries: Vec<MeasurementEntry>,
) -> Action {
    Action::RegisterMeasurement(RegisterMeasurement {
        image: ImageId([image; 32]),
        name: BoundedString::new(role.as_str()).unwrap(),
        role,
        tee,
        entries,
        source_commit: BoundedString::new("0123abcd").unwrap(),
    })
}

/// The set-up every flow starts from: registered worker and validator
/// images (SNP) and a worker image (TDX), a WASM-serving provider.
pub struct World {
    pub chain: Chain,
    pub provider: ProviderId,
}

pub fn world(params: ProtocolParams) -> World {
    let (gov, owner, worker, ..) = keys();
    let mut chain = Chain::new(params);
    let tdx_entry = MeasurementEntry {
        measurement: LaunchMeasurement::Tdx {
            mrtd: TDX_MRTD,
            rtmr1: TDX_RTMR1,
            rtmr2: TDX_RTMR2,
        },
        shape: VmShape::Tdx { memory_mib: 2048 },
        rtmr0: None,
    };
    let r = chain.ok(chain.tx(
        &gov,
        &[],
        vec![
            register_image(
                1,
                ImageRole::Worker,
                TeeKind::Snp,
                vec![snp_entry(WORKER_MEASUREMENT)],
            ),
            register_image(
                2,
                ImageRole::Validator,
                TeeKind::Snp,
                vec![snp_entry(VALIDATOR_MEASUREMENT)],
            ),
            register_image(3, ImageRole::Worker, TeeKind::Tdx, vec![tdx_entry]),
        ],
    ));
    assert_eq!(r.events.len(), 3);
    let tx = chain.tx(
        &owner,
        &[],
        vec![Action::RegisterProvider(RegisterProvider {
            owner: owner.key_hash(),
            offer: ProviderOffer {
                worker_key: worker.public_key(),
                payout: addr(&owner),
                tees: [TeeKind::Snp, TeeKind::Tdx].into(),
                models: Default::default(),
                wasm: true,
                price: PRICE,
                capacity: 4,
            },
            bond: 200 * AIC,
        })],
    );
    let provider = ProviderId::derive(&tx.id(), 0);
    chain.ok(tx);
    World { chain, provider }
}

pub const INPUT: &[u8] = b"the job's input";

pub fn wasm_job(deadline: u64, tees: &[TeeKind]) -> PostJob {
    let (_, _, _, client, ..) = keys();
    PostJob {
        client: addr(&client),
        kind: JobKind::Wasm {
            module: JobData::inline(b"\0asm\x01\0\0\0".to_vec()).unwrap(),
            input: JobData::inline(INPUT.to_vec()).unwrap(),
            fuel: 1_000_000,
        },
        tees: tees.iter().copied().collect(),
        max_fee: MAX_FEE,
        deadline,
    }
}

impl World {
    /// Posts a WASM job; returns its id.
    pub fn post(&mut self, deadline_in: u64) -> JobId {
        let (_, _, _, client, ..) = keys();
        let deadline = self.chain.height + 1 + deadline_in;
        let tx = self.chain.tx(
            &client,
            &[],
            vec![Action::PostJob(wasm_job(
                deadline,
                &[TeeKind::Snp, TeeKind::Tdx],
            ))],
        );
        let id = JobId::derive(&tx.id(), 0);
        let r = self.chain.ok(tx);
        assert!(
            matches!(r.events[0], Event::JobAssigned { job, provider, price, .. }
                if job == id && provider == self.provider && price == PRICE),
            "{:?}",
            r.events
        );
        id
    }

    pub fn body(&self, job: JobId, data: &[Vec<u8>]) -> VcrBody {
        let (_, _, worker, ..) = keys();
        let output = data.last().unwrap().clone();
        let job_record = self.chain.job(job);
        VcrBody {
            chain_id: self.chain.ledger.params().chain_id,
            job,
            provider: self.provider,
            worker_key: worker.public_key(),
            runtime: RuntimeId([9; 32]),
            input_hash: job_record.input_hash,
            commitment: {
                let blobs = aether_crypto::kzg::commit(&output).unwrap();
                OutputCommitment {
                    root: OutputCommitment::compute_root(&blobs),
                    blobs,
                }
            },
            output: JobData::inline(output).unwrap(),
            trace_root: trace_root(&hashes(data)),
            segments: SEGMENTS,
        }
    }
}

pub fn snp_evidence(measurement: [u8; 48], body: &VcrBody, opts: &SimSnpOptions) -> TeeEvidence {
    to_chain(SimSigner::new().snp(measurement, body.report_data(), opts))
}

pub fn tdx_evidence(body: &VcrBody) -> TeeEvidence {
    to_chain(SimSigner::new().tdx(
        TDX_MRTD,
        [[0; 48], TDX_RTMR1, TDX_RTMR2, [0; 48]],
        body.report_data(),
        &SimTdxOptions::default(),
    ))
}

pub fn to_chain(e: aether_evidence::Evidence) -> TeeEvidence {
    match e {
        aether_evidence::Evidence::Snp { report, vek, chain } => TeeEvidence::Snp {
            report: BoundedBytes::new(report).unwrap(),
            vek: BoundedBytes::new(vek).unwrap(),
            chain: chain.map(|c| BoundedBytes::new(c).unwrap()),
        },
        aether_evidence::Evidence::Tdx { quote, collateral } => TeeEvidence::Tdx {
            quote: BoundedBytes::new(quote).unwrap(),
            collateral: BoundedBytes::new(collateral).unwrap(),
        },
    }
}

pub fn receipt_action(body: VcrBody, evidence: TeeEvidence) -> Action {
    Action::SubmitReceipt(Box::new(Vcr { body, evidence }))
}

impl World {
    /// A receipt transaction by the worker for `job` with data `data`.
    pub fn receipt_tx(&self, job: JobId, data: &[Vec<u8>]) -> Transaction {
        let (_, _, worker, ..) = keys();
        let body = self.body(job, data);
        let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
        self.chain
            .tx(&worker, &[], vec![receipt_action(body, evidence)])
    }
}

pub fn challenge(job: JobId, claim: ChallengeClaim, payout: Address) -> Action {
    Action::Challenge(Challenge {
        job,
        claim,
        deposit: 3 * AIC,
        payout,
    })
}

/// A segment challenge of `provider_data` at `segment`, with the correct
/// re-execution as the challenger's hash.
pub fn segment_claim(provider_data: &[Vec<u8>], segment: u32) -> ChallengeClaim {
    let h = hashes(provider_data);
    let j = segment as usize;
    ChallengeClaim::Segment {
        segment,
        previous: BoundedBytes::new(provider_data[j - 1].clone()).unwrap(),
        previous_proof: proof(&h, j - 1),
        claimed: h[j],
        claimed_proof: proof(&h, j),
        challenger: checkpoint_hash(&step(segment, &provider_data[j - 1])),
    }
}
