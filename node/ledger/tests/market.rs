//! The AI market in the state transition: the whole job flow with
//! simulated TEE evidence and balances checked at every step, every
//! rejection on its own, and the supply invariant.
//!
//! The job runtime here is a small deterministic stand-in
//! ([`ChainRuntime`]): segment `j` maps checkpoint data `d` to
//! `BLAKE3(j ‖ d)`. It drives the same trace, proof and re-execution code
//! as the real inference runtime (tested with it in the node's tests).

mod common;

use aether_client::{TxBuilder, Utxo};
use aether_crypto::ed25519::Keypair;
use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions};
use aether_ledger::market::MarketError;
use aether_ledger::*;
use aether_types::*;
use common::*;
use std::sync::Arc;

const T0_MS: u64 = 1_750_000_000_000;
const SEGMENTS: u32 = 5;
const PRICE: u128 = 2 * AIC;
const MAX_FEE: u128 = 5 * AIC;
const WORKER_MEASUREMENT: [u8; 48] = [0x5a; 48];
const VALIDATOR_MEASUREMENT: [u8; 48] = [0x6b; 48];
const OTHER_MEASUREMENT: [u8; 48] = [0x7c; 48];
const TDX_MRTD: [u8; 48] = [0x11; 48];
const TDX_RTMR1: [u8; 48] = [0x12; 48];
const TDX_RTMR2: [u8; 48] = [0x13; 48];

/// Deterministic stand-in runtime (see the module docs).
#[derive(Debug)]
struct ChainRuntime;

fn step(segment: u32, data: &[u8]) -> Vec<u8> {
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
fn run(input: &[u8], cheat_from: Option<u32>) -> Vec<Vec<u8>> {
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

fn checkpoint_hash(data: &[u8]) -> Digest {
    Digest(aether_infer::checkpoint_hash(data))
}

fn hashes(data: &[Vec<u8>]) -> Vec<Digest> {
    data.iter().map(|d| checkpoint_hash(d)).collect()
}

fn trace_root(h: &[Digest]) -> Digest {
    let raw: Vec<[u8; 32]> = h.iter().map(|d| d.0).collect();
    Digest(aether_infer::trace_root(&raw))
}

fn proof(h: &[Digest], index: usize) -> Vec<Digest> {
    let raw: Vec<[u8; 32]> = h.iter().map(|d| d.0).collect();
    aether_infer::trace_proof(&raw, index)
        .unwrap()
        .path
        .into_iter()
        .map(Digest)
        .collect()
}

fn keys() -> (Keypair, Keypair, Keypair, Keypair, Keypair, Keypair) {
    // governance, provider owner, worker, client, challenger, stranger
    (key(10), key(11), key(12), key(13), key(14), key(15))
}

fn market_params(simulated: bool) -> ProtocolParams {
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
struct Chain {
    ledger: Ledger,
    set: MemoryUtxoSet,
    height: u64,
    burned: u128,
    fees: u128,
    genesis_supply: u128,
}

impl Chain {
    fn new(params: ProtocolParams) -> Chain {
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
            genesis_supply: 6 * 1_000 * AIC,
        }
    }

    fn ctx(&self) -> BlockContext {
        let h = self.height + 1;
        BlockContext {
            height: h,
            timestamp_ms: T0_MS + h * 500,
            parent_hash: BlockHash(*blake3::hash(&self.height.to_le_bytes()).as_bytes()),
        }
    }

    fn coins(&self, k: &Keypair) -> Vec<Utxo> {
        let a = addr(k);
        self.set
            .iter()
            .filter(|(_, o)| o.address == a)
            .map(|(op, o)| Utxo::new(*op, o))
            .collect()
    }

    fn balance(&self, k: &Keypair) -> u128 {
        self.coins(k).iter().map(|c| c.value.coin).sum()
    }

    /// A transaction paid by `payer` (change back), signed by `payer` and
    /// `extra` signers, carrying `actions`.
    fn tx(&self, payer: &Keypair, extra: &[&Keypair], actions: Vec<Action>) -> Transaction {
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
    fn block(&mut self, txs: &[Transaction]) -> BlockOutcome {
        let ctx = self.ctx();
        let seq = self
            .ledger
            .execute_block(&self.set, &ctx, txs, ExecutionMode::Sequential)
            .unwrap();
        let par = self
            .ledger
            .execute_block(&self.set, &ctx, txs, ExecutionMode::Parallel)
            .unwrap();
        assert_eq!(seq, par, "parallel and sequential execution differ");
        self.set.apply(&par.diff);
        self.height = ctx.height;
        for r in &par.receipts {
            self.fees += r.fee_charged;
            self.burned += burned(&r.events);
        }
        self.burned += burned(&par.boundary.events);
        self.check_supply();
        par
    }

    /// Executes one block that must accept `tx`.
    fn ok(&mut self, tx: Transaction) -> Receipt {
        let out = self.block(std::slice::from_ref(&tx));
        assert!(out.rejected.is_empty(), "rejected: {:?}", out.rejected);
        out.receipts[0].clone()
    }

    /// `tx` must be refused with a market error; the block that carries it
    /// rejects it and changes nothing but what the boundary does.
    fn refused(&mut self, tx: Transaction) -> MarketError {
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

    fn held_by_objects(&self) -> u128 {
        self.set.objects().map(|(_, o)| o.held_value()).sum()
    }

    fn utxo_total(&self) -> u128 {
        self.set.iter().map(|(_, o)| o.value.coin).sum()
    }

    /// Value is conserved: UTxOs + objects + fees + burned = genesis.
    fn check_supply(&self) {
        assert_eq!(
            self.utxo_total() + self.held_by_objects() + self.fees + self.burned,
            self.genesis_supply,
            "supply not conserved at height {}",
            self.height
        );
    }

    fn job(&self, id: JobId) -> JobRecord {
        match self.set.get_object(&ObjectKey::Job(id)) {
            Some(Object::Job(j)) => *j,
            other => panic!("no job {id}: {other:?}"),
        }
    }

    fn provider(&self, id: ProviderId) -> ProviderRecord {
        match self.set.get_object(&ObjectKey::Provider(id)) {
            Some(Object::Provider(p)) => p,
            other => panic!("no provider {id}: {other:?}"),
        }
    }
}

fn burned(events: &[Event]) -> u128 {
    events
        .iter()
        .map(|e| match e {
            Event::Burned { amount } => *amount,
            _ => 0,
        })
        .sum()
}

fn snp_entry(m: [u8; 48]) -> MeasurementEntry {
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

fn register_image(
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
struct World {
    chain: Chain,
    provider: ProviderId,
}

fn world(params: ProtocolParams) -> World {
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

const INPUT: &[u8] = b"the job's input";

fn wasm_job(deadline: u64, tees: &[TeeKind]) -> PostJob {
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
    fn post(&mut self, deadline_in: u64) -> JobId {
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

    fn body(&self, job: JobId, data: &[Vec<u8>]) -> VcrBody {
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

fn snp_evidence(measurement: [u8; 48], body: &VcrBody, opts: &SimSnpOptions) -> TeeEvidence {
    to_chain(SimSigner::new().snp(measurement, body.report_data(), opts))
}

fn tdx_evidence(body: &VcrBody) -> TeeEvidence {
    to_chain(SimSigner::new().tdx(
        TDX_MRTD,
        [[0; 48], TDX_RTMR1, TDX_RTMR2, [0; 48]],
        body.report_data(),
        &SimTdxOptions::default(),
    ))
}

fn to_chain(e: aether_evidence::Evidence) -> TeeEvidence {
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

fn receipt_action(body: VcrBody, evidence: TeeEvidence) -> Action {
    Action::SubmitReceipt(Box::new(Vcr { body, evidence }))
}

impl World {
    /// A receipt transaction by the worker for `job` with data `data`.
    fn receipt_tx(&self, job: JobId, data: &[Vec<u8>]) -> Transaction {
        let (_, _, worker, ..) = keys();
        let body = self.body(job, data);
        let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
        self.chain
            .tx(&worker, &[], vec![receipt_action(body, evidence)])
    }
}

fn challenge(job: JobId, claim: ChallengeClaim, payout: Address) -> Action {
    Action::Challenge(Challenge {
        job,
        claim,
        deposit: 3 * AIC,
        payout,
    })
}

/// A segment challenge of `provider_data` at `segment`, with the correct
/// re-execution as the challenger's hash.
fn segment_claim(provider_data: &[Vec<u8>], segment: u32) -> ChallengeClaim {
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

#[test]
fn job_flow_post_receipt_window_settle() {
    let mut w = world(market_params(true));
    let (_, owner, worker, client, ..) = keys();
    let client_before = w.chain.balance(&client);
    let owner_before = w.chain.balance(&owner);
    let fees0 = w.chain.fees;
    let job = w.post(10);
    let post_fee = w.chain.fees - fees0;
    assert_eq!(w.chain.job(job).escrow, MAX_FEE);
    let p = w.chain.provider(w.provider);
    assert_eq!((p.active_jobs, p.locked), (1, 10 * PRICE));
    let data = run(INPUT, None);
    let receipt = w.chain.ok(w.receipt_tx(job, &data));
    let window_end = match receipt.events[0] {
        Event::ReceiptAccepted { window_end, .. } => window_end,
        ref other => panic!("{other:?}"),
    };
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Receipted { .. }
    ));
    // The window: challenges possible until window_end.
    while w.chain.height < window_end {
        let out = w.chain.block(&[]);
        assert!(out.boundary.events.is_empty());
    }
    let settle = w.chain.block(&[]);
    let burned = PRICE / 10;
    let settled = settle
        .boundary
        .events
        .iter()
        .find_map(|e| match e {
            Event::JobSettled {
                paid,
                client_refund,
                ..
            } => Some((*paid, *client_refund)),
            _ => None,
        })
        .expect("settled at the window's end");
    assert_eq!(settled, (PRICE - burned, MAX_FEE - PRICE));
    assert!(matches!(w.chain.job(job).status, JobStatus::Settled { .. }));
    assert_eq!(w.chain.job(job).escrow, 0);
    let p = w.chain.provider(w.provider);
    assert_eq!((p.active_jobs, p.locked, p.jobs_settled), (0, 0, 1));
    assert_eq!(p.reputation, INITIAL_REPUTATION + 50);
    // Balances: the client paid the price and the posting fee; the owner
    // got the price minus the burn share.
    assert_eq!(w.chain.balance(&client), client_before - PRICE - post_fee);
    assert_eq!(w.chain.balance(&owner), owner_before + PRICE - burned);
    assert!(
        w.chain.balance(&worker) < 1_000 * AIC,
        "the worker paid its fee"
    );
}

#[test]
fn tdx_receipts_are_accepted_too() {
    let mut w = world(market_params(true));
    let (_, _, worker, ..) = keys();
    let job = w.post(10);
    let data = run(INPUT, None);
    let body = w.body(job, &data);
    let evidence = tdx_evidence(&body);
    let r = w.chain.ok(w
        .chain
        .tx(&worker, &[], vec![receipt_action(body, evidence)]));
    assert!(matches!(r.events[0], Event::ReceiptAccepted { .. }));
    match w.chain.set.get_object(&ObjectKey::ComputeReceipt(job)) {
        Some(Object::ComputeReceipt(rec)) => {
            assert_eq!(rec.claims.tee, TeeKind::Tdx);
            assert_eq!(rec.claims.root.as_str(), "simulated");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_job_without_receipt_expires_refunded_and_penalised() {
    let mut w = world(market_params(true));
    let (_, _, _, client, ..) = keys();
    let before = w.chain.balance(&client);
    let fees0 = w.chain.fees;
    let job = w.post(2);
    let fee = w.chain.fees - fees0;
    let deadline = w.chain.job(job).deadline;
    while w.chain.height < deadline {
        w.chain.block(&[]);
    }
    let out = w.chain.block(&[]);
    let penalty = 10 * PRICE / 10;
    assert!(out.boundary.events.contains(&Event::ProviderSlashed {
        provider: w.provider,
        job,
        amount: penalty
    }));
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Refunded {
            reason: RefundReason::Expired,
            ..
        }
    ));
    assert_eq!(w.chain.balance(&client), before - fee);
    let p = w.chain.provider(w.provider);
    assert_eq!(
        (p.bond, p.locked, p.jobs_failed),
        (200 * AIC - penalty, 0, 1)
    );
    assert_eq!(p.reputation, INITIAL_REPUTATION - 500);
}

#[test]
fn a_job_nobody_can_take_is_refunded_at_once() {
    let mut w = world(market_params(true));
    let (_, _, _, client, ..) = keys();
    let before = w.chain.balance(&client);
    let mut job = wasm_job(w.chain.height + 5, &[TeeKind::Tdx]);
    job.max_fee = PRICE - 1; // below the only provider's price
    let tx = w.chain.tx(&client, &[], vec![Action::PostJob(job)]);
    let id = JobId::derive(&tx.id(), 0);
    let r = w.chain.ok(tx);
    assert!(matches!(
        r.events[0],
        Event::JobRefunded { job, reason: RefundReason::NoProvider, amount, output: Some(_) }
            if job == id && amount == PRICE - 1
    ));
    assert_eq!(w.chain.balance(&client), before - r.fee_charged);
}

#[test]
fn a_cheating_provider_is_caught_and_slashed() {
    let mut w = world(market_params(true));
    let (_, owner, _, client, challenger, _) = keys();
    let client_before = w.chain.balance(&client);
    let challenger_before = w.chain.balance(&challenger);
    let owner_before = w.chain.balance(&owner);
    let fees0 = w.chain.fees;
    let job = w.post(10);
    let post_fee = w.chain.fees - fees0;
    let lying = run(INPUT, Some(3));
    w.chain.ok(w.receipt_tx(job, &lying));
    let fees_before = w.chain.fees;
    let tx = w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, segment_claim(&lying, 3), addr(&challenger))],
    );
    let r = w.chain.ok(tx);
    let challenge_fee = w.chain.fees - fees_before;
    let slashed = 10 * PRICE;
    let reward = slashed / 2;
    assert!(r.events.contains(&Event::ProviderSlashed {
        provider: w.provider,
        job,
        amount: slashed
    }));
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Refunded {
            reason: RefundReason::ReceiptDisproved,
            ..
        }
    ));
    // The client gets everything back but its posting fee; the challenger
    // earns half the slashed bond; the owner's bond shrank.
    assert_eq!(w.chain.balance(&client), client_before - post_fee);
    assert_eq!(
        w.chain.balance(&challenger),
        challenger_before + reward - challenge_fee
    );
    assert_eq!(w.chain.balance(&owner), owner_before);
    let p = w.chain.provider(w.provider);
    assert_eq!(
        (p.bond, p.locked, p.slashed),
        (200 * AIC - slashed, 0, slashed)
    );
    // Nothing settles later.
    for _ in 0..5 {
        let out = w.chain.block(&[]);
        assert!(out.boundary.events.is_empty());
    }
}

#[test]
fn a_wrong_challenge_loses_its_deposit() {
    let mut w = world(market_params(true));
    let (_, owner, _, _, challenger, _) = keys();
    let job = w.post(10);
    let honest = run(INPUT, None);
    w.chain.ok(w.receipt_tx(job, &honest));
    let owner_before = w.chain.balance(&owner);
    let challenger_before = w.chain.balance(&challenger);
    let mut claim = segment_claim(&honest, 2);
    if let ChallengeClaim::Segment { challenger, .. } = &mut claim {
        *challenger = Digest([0xcc; 32]); // the challenger is wrong
    }
    let fees_before = w.chain.fees;
    let r = w.chain.ok(w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    ));
    let fee = w.chain.fees - fees_before;
    assert!(r.events.iter().any(|e| matches!(e,
        Event::ChallengeDecided { upheld: false, provider_paid, .. } if *provider_paid == 3 * AIC / 2)));
    assert_eq!(
        w.chain.balance(&challenger),
        challenger_before - 3 * AIC - fee
    );
    assert_eq!(w.chain.balance(&owner), owner_before + 3 * AIC / 2);
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Receipted { .. }
    ));
}

#[test]
fn output_and_input_claims_are_decided_on_chain() {
    let mut w = world(market_params(true));
    let (_, _, _, _, challenger, _) = keys();
    // An honest trace whose last checkpoint is not the output it returned.
    let job = w.post(10);
    let mut data = run(INPUT, None);
    let trace_of_honest = hashes(&data);
    let returned = b"a different output".to_vec();
    data.pop();
    data.push(returned);
    let mut body = w.body(job, &data);
    body.trace_root = trace_root(&trace_of_honest);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let (_, _, worker, ..) = keys();
    w.chain.ok(w
        .chain
        .tx(&worker, &[], vec![receipt_action(body, evidence)]));
    let claim = ChallengeClaim::Output {
        claimed: trace_of_honest[SEGMENTS as usize],
        claimed_proof: proof(&trace_of_honest, SEGMENTS as usize),
        output: BoundedBytes::default(),
    };
    let r = w.chain.ok(w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    ));
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::ChallengeDecided { upheld: true, .. }))
    );

    // A correct input checkpoint: an input claim loses.
    let job = w.post(10);
    let data = run(INPUT, None);
    w.chain.ok(w.receipt_tx(job, &data));
    let h = hashes(&data);
    let claim = ChallengeClaim::Input {
        claimed: h[0],
        claimed_proof: proof(&h, 0),
    };
    let r = w.chain.ok(w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    ));
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::ChallengeDecided { upheld: false, .. }))
    );
}

#[test]
fn unbonding_pays_out_after_the_delay() {
    let mut w = world(market_params(true));
    let (_, owner, ..) = keys();
    let tx = w.chain.tx(
        &owner,
        &[],
        vec![Action::UnbondProvider(UnbondProvider {
            provider: w.provider,
            amount: 50 * AIC,
        })],
    );
    let fee_before = w.chain.fees;
    w.chain.ok(tx);
    let fee = w.chain.fees - fee_before;
    let before = w.chain.balance(&owner);
    assert_eq!(w.chain.provider(w.provider).bond, 150 * AIC);
    let mut released = None;
    for _ in 0..5 {
        let out = w.chain.block(&[]);
        if let Some(e) = out
            .boundary
            .events
            .iter()
            .find(|e| matches!(e, Event::UnbondingReleased { .. }))
        {
            released = Some(e.clone());
        }
    }
    assert!(
        matches!(released, Some(Event::UnbondingReleased { amount, output: Some(_), .. }) if amount == 50 * AIC)
    );
    assert_eq!(w.chain.balance(&owner), before + 50 * AIC);
    let _ = fee;
    // More than the free bond cannot be unbonded.
    let e = w.chain.refused(w.chain.tx(
        &owner,
        &[],
        vec![Action::UnbondProvider(UnbondProvider {
            provider: w.provider,
            amount: 151 * AIC,
        })],
    ));
    assert!(matches!(e, MarketError::InsufficientFreeBond { .. }), "{e}");
    // Only the owner may.
    let (.., stranger) = keys();
    let e = w.chain.refused(w.chain.tx(
        &stranger,
        &[],
        vec![Action::UnbondProvider(UnbondProvider {
            provider: w.provider,
            amount: AIC,
        })],
    ));
    assert_eq!(e, MarketError::NotOwner);
}

// ---- every rejection on its own ----

/// A world with a posted job and the honest data for it.
fn posted(params: ProtocolParams) -> (World, JobId, Vec<Vec<u8>>) {
    let mut w = world(params);
    let job = w.post(10);
    (w, job, run(INPUT, None))
}

fn refused_receipt(
    w: &mut World,
    signer: &Keypair,
    body: VcrBody,
    evidence: TeeEvidence,
) -> MarketError {
    let tx = w
        .chain
        .tx(signer, &[], vec![receipt_action(body, evidence)]);
    w.chain.refused(tx)
}

#[test]
fn reject_wrong_binding() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let mut other = body.clone();
    other.segments += 1; // the evidence binds the original body
    assert_eq!(
        refused_receipt(&mut w, &worker, other, evidence),
        MarketError::WrongBinding
    );
}

#[test]
fn reject_unregistered_measurement() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(OTHER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::UnregisteredMeasurement(id) if id == LaunchMeasurement::Snp(OTHER_MEASUREMENT).id()
    ));
}

#[test]
fn reject_validator_image_measurement() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(VALIDATOR_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::MeasurementRole {
            role: ImageRole::Validator,
            ..
        }
    ));
}

#[test]
fn reject_revoked_measurement() {
    let (mut w, job, data) = posted(market_params(true));
    let (gov, _, worker, ..) = keys();
    w.chain.ok(w.chain.tx(
        &gov,
        &[],
        vec![Action::RevokeMeasurement(RevokeMeasurement {
            image: ImageId([1; 32]),
        })],
    ));
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::RevokedMeasurement(_)
    ));
}

#[test]
fn reject_debug_guest() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let opts = SimSnpOptions {
        debug: true,
        ..SimSnpOptions::default()
    };
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &opts);
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::Evidence { check: "debug", .. }
    ));
}

#[test]
fn reject_simulated_root_on_a_chain_that_does_not_trust_it() {
    let (mut w, job, data) = posted(market_params(false));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let e = refused_receipt(&mut w, &worker, body, evidence);
    assert!(
        matches!(e, MarketError::Evidence { check, .. } if check == "root_not_allowed"),
        "{e}"
    );
}

#[test]
fn reject_tcb_below_the_minimum() {
    let mut params = market_params(true);
    params.market.evidence.snp_min_tcb.snp = u8::MAX;
    let (mut w, job, data) = posted(params);
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::Evidence {
            check: "min_tcb",
            ..
        }
    ));
}

#[test]
fn reject_replayed_evidence() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    w.chain.ok(w.chain.tx(
        &worker,
        &[],
        vec![receipt_action(body.clone(), evidence.clone())],
    ));
    // The same receipt again, in a new transaction.
    assert_eq!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::EvidenceReplayed(job)
    );
}

#[test]
fn reject_wrong_provider_key() {
    let (mut w, job, data) = posted(market_params(true));
    let (.., stranger) = keys();
    // A body naming another worker key, signed by it.
    let mut body = w.body(job, &data);
    body.worker_key = stranger.public_key();
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert_eq!(
        refused_receipt(&mut w, &stranger, body, evidence),
        MarketError::WrongWorkerKey
    );
    // The right key in the body, but the transaction not signed by it.
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert_eq!(
        refused_receipt(&mut w, &stranger, body, evidence),
        MarketError::WrongWorkerKey
    );
}

#[test]
fn reject_expired_job() {
    let mut w = world(market_params(true));
    let (_, _, worker, ..) = keys();
    let job = w.post(1);
    let data = run(INPUT, None);
    let body = w.body(job, &data);
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    let deadline = w.chain.job(job).deadline;
    while w.chain.height < deadline {
        w.chain.block(&[]);
    }
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::JobExpired { .. }
    ));
}

#[test]
fn reject_bad_kzg_proof() {
    let (mut w, job, data) = posted(market_params(true));
    let (_, _, worker, ..) = keys();
    let mut body = w.body(job, &data);
    // A proof of other data: swap in the commitment of another output.
    let other = aether_crypto::kzg::commit(b"not the output").unwrap();
    body.commitment.blobs[0].proof = other[0].proof;
    let evidence = snp_evidence(WORKER_MEASUREMENT, &body, &SimSnpOptions::default());
    assert!(matches!(
        refused_receipt(&mut w, &worker, body, evidence),
        MarketError::BadKzgProof(_)
    ));
}

#[test]
fn reject_challenge_after_the_window() {
    let (mut w, job, _) = posted(market_params(true));
    let (.., challenger, _) = keys();
    let lying = run(INPUT, Some(2));
    let r = w.chain.ok(w.receipt_tx(job, &lying));
    let window_end = match r.events[0] {
        Event::ReceiptAccepted { window_end, .. } => window_end,
        _ => unreachable!(),
    };
    while w.chain.height <= window_end {
        w.chain.block(&[]);
    }
    let tx = w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, segment_claim(&lying, 2), addr(&challenger))],
    );
    assert!(matches!(
        w.chain.refused(tx),
        MarketError::ChallengeWindowClosed { .. }
    ));
}

#[test]
fn reject_challenge_with_a_wrong_proof_of_the_previous_checkpoint() {
    let (mut w, job, _) = posted(market_params(true));
    let (.., challenger, _) = keys();
    let lying = run(INPUT, Some(3));
    w.chain.ok(w.receipt_tx(job, &lying));
    let mut claim = segment_claim(&lying, 3);
    if let ChallengeClaim::Segment { previous, .. } = &mut claim {
        // Data the provider never committed to.
        *previous = BoundedBytes::new(b"invented".to_vec()).unwrap();
    }
    let tx = w.chain.tx(
        &challenger,
        &[],
        vec![challenge(job, claim, addr(&challenger))],
    );
    assert_eq!(
        w.chain.refused(tx),
        MarketError::BadCheckpointProof { index: 2 }
    );
    assert!(matches!(
        w.chain.job(job).status,
        JobStatus::Receipted { .. }
    ));
}

#[test]
fn governance_actions_need_the_governance_key() {
    let mut w = world(market_params(true));
    let (.., stranger) = keys();
    let tx = w.chain.tx(
        &stranger,
        &[],
        vec![register_image(
            9,
            ImageRole::Worker,
            TeeKind::Snp,
            vec![snp_entry([0x99; 48])],
        )],
    );
    assert_eq!(
        w.chain.refused(tx),
        MarketError::NotGovernance { threshold: 1 }
    );
}

#[test]
fn registrations_and_posts_are_checked() {
    let mut w = world(market_params(true));
    let (gov, owner, _, client, ..) = keys();
    // The same image twice.
    let e = w.chain.refused(w.chain.tx(
        &gov,
        &[],
        vec![register_image(
            1,
            ImageRole::Worker,
            TeeKind::Snp,
            vec![snp_entry([0x42; 48])],
        )],
    ));
    assert_eq!(e, MarketError::ImageExists(ImageId([1; 32])));
    // A provider with too small a bond.
    let mut offer = w.chain.provider(w.provider).offer;
    offer.price = 1;
    let e = w.chain.refused(w.chain.tx(
        &owner,
        &[],
        vec![Action::RegisterProvider(RegisterProvider {
            owner: owner.key_hash(),
            offer: offer.clone(),
            bond: AIC,
        })],
    ));
    assert!(matches!(e, MarketError::BondTooLow { .. }));
    // A provider serving an unregistered model.
    offer.models.insert(ModelId([7; 32]));
    let e = w.chain.refused(w.chain.tx(
        &owner,
        &[],
        vec![Action::RegisterProvider(RegisterProvider {
            owner: owner.key_hash(),
            offer,
            bond: 100 * AIC,
        })],
    ));
    assert_eq!(e, MarketError::UnknownModel(ModelId([7; 32])));
    // A job whose deadline has passed.
    let job = wasm_job(w.chain.height, &[TeeKind::Snp]);
    let e = w
        .chain
        .refused(w.chain.tx(&client, &[], vec![Action::PostJob(job)]));
    assert!(matches!(e, MarketError::DeadlineInPast { .. }));
}
