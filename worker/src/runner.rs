//! `aether-worker run`: the job runner.
//!
//! One loop, driven by the chain:
//! 1. read the market events of the next committed blocks with
//!    `aether_getJobEvents` (one page of up to 256 blocks at a time, from
//!    the height saved in the data directory);
//! 2. record every `jobAssigned` to our provider as `taken` (saved before
//!    the height is passed);
//! 3. for each taken job: ask the chain whether it still waits for us,
//!    fetch its data, run it (`aether-infer`), save the checkpoints (served
//!    over HTTP), commit the output with KZG, ask the TEE for evidence
//!    binding the receipt body, submit the receipt and wait for it.
//!
//! Why polling a page API and not a WebSocket subscription: a subscription
//! drops whatever happens while the connection is down, so a worker needs
//! the range query to catch up after every disconnect or restart anyway;
//! with the range query as the only path there is one code path, no gap
//! and no duplicate, and a node restart is just a few failed polls
//! (retried with back-off). Each poll is one small request per
//! `poll_interval` (default 200 ms).
//!
//! A job that cannot be run (unknown model, malformed input, a TEE the job
//! does not accept) gets no receipt: the worker logs why, marks it
//! `failed`, and the chain refunds the client at the deadline. A receipt
//! the chain refuses is `failed` with the chain's check named.

use crate::evidence::EvidenceProvider;
use crate::job::{Execution, JobError, Models, Prepared, runtime_of};
use crate::serve::Metrics;
use crate::store::{JobEntry, JobState, State, Store, parse_checkpoints};
use aether_client::{BlockingClient, ClientError, TxBuilder};
use aether_crypto::ed25519::Keypair;
use aether_evidence::Evidence;
use aether_rpc_types::market::{EventDto, JobDto};
use aether_types::{
    Action, Address, BoundedBytes, BoundedString, ChainId, Digest, JobData, JobId, JobKind,
    MAX_INLINE_DATA, OutputCommitment, ProviderId, TeeEvidence, Vcr, VcrBody,
};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// What the runner needs.
pub struct RunConfig {
    /// The node's JSON-RPC URL.
    pub rpc: String,
    /// Where clients reach our HTTP endpoint (no trailing slash): an
    /// output above the inline limit is published at
    /// `<public_url>/jobs/<id>/output` and the receipt carries its hash.
    pub public_url: String,
    /// Our provider.
    pub provider: ProviderId,
    /// The provider's worker key (signs and pays for receipts).
    pub worker_key: Keypair,
    /// The models served.
    pub models: Models,
    /// The data directory.
    pub store: Store,
    /// The evidence provider.
    pub evidence: Box<dyn EvidenceProvider>,
    /// Time between polls once caught up.
    pub poll_interval: Duration,
    /// Test builds only: corrupt checkpoint N of every run.
    pub cheat: Option<usize>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// The runner.
pub struct Runner {
    cfg: RunConfig,
    client: BlockingClient,
    chain_id: ChainId,
    state: State,
}

/// How long to wait for a submitted receipt's transaction.
const RECEIPT_WAIT: Duration = Duration::from_secs(60);

/// Converts a provider's evidence into the form a receipt carries.
pub fn tee_evidence(e: Evidence) -> Result<TeeEvidence, String> {
    fn b<const N: usize>(what: &str, v: Vec<u8>) -> Result<BoundedBytes<N>, String> {
        BoundedBytes::new(v).map_err(|e| format!("evidence {what} too large for a receipt: {e}"))
    }
    Ok(match e {
        Evidence::Snp { report, vek, chain } => TeeEvidence::Snp {
            report: b("report", report)?,
            vek: b("certificate", vek)?,
            chain: chain.map(|c| b("chain", c)).transpose()?,
        },
        Evidence::Tdx { quote, collateral } => TeeEvidence::Tdx {
            quote: b("quote", quote)?,
            collateral: b("collateral", collateral)?,
        },
    })
}

/// A transaction carrying `action`, signed by `key` and paid from its
/// address's coins (change back to it).
pub fn action_tx(
    client: &BlockingClient,
    key: &Keypair,
    action: Action,
) -> Result<aether_types::Transaction, String> {
    let me = Address::Key(key.key_hash());
    let params = client.params().map_err(|e| e.to_string())?;
    let coins = client.spendable(&me).map_err(|e| e.to_string())?;
    TxBuilder::new(&params)
        .change_to(me)
        .signer(key)
        .action(action)
        .fund_from(&coins)
        .map_err(|e| format!("cannot pay from key:{}: {e}", key.key_hash()))
}

/// Connects to `url`, retrying with back-off until `deadline`.
pub fn connect(url: &str, deadline: Duration) -> Result<BlockingClient, String> {
    let start = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        let attempt = BlockingClient::connect(url).and_then(|c| c.status().map(|_| c));
        match attempt {
            Ok(c) => return Ok(c),
            Err(e) if start.elapsed() >= deadline => {
                return Err(format!("cannot reach the node at {url}: {e}"));
            }
            Err(e) => {
                tracing::info!(url, error = %e, "waiting for the node");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

impl Runner {
    /// Connects, checks that the key is the provider's worker key, and
    /// loads the saved state. A fresh data directory starts reading at the
    /// provider's registration height.
    pub fn start(cfg: RunConfig) -> Result<Self, String> {
        let client = connect(&cfg.rpc, Duration::from_secs(60))?;
        let status = client.status().map_err(|e| e.to_string())?;
        let provider = client
            .provider(&cfg.provider)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("provider {} is not registered on this chain", cfg.provider))?;
        let ours = hex::encode(cfg.worker_key.public_key().0);
        if provider.worker_key != ours {
            return Err(format!(
                "the worker key {ours} is not provider {}'s worker key {}",
                cfg.provider, provider.worker_key
            ));
        }
        let tee = cfg.evidence.tee().to_string();
        if !provider.tees.contains(&tee) {
            tracing::warn!(
                tee,
                offered = ?provider.tees,
                "this machine's TEE is not one the provider offers: jobs will fail"
            );
        }
        // The KZG setup is loaded on first use (seconds): load it now, not
        // while the first job's deadline runs.
        let started = Instant::now();
        aether_crypto::kzg::commit(&[]).map_err(|e| format!("KZG setup: {e}"))?;
        tracing::debug!(elapsed = ?started.elapsed(), "KZG setup loaded");
        let mut state = cfg.store.load()?;
        if state.next_height == 0 {
            state.next_height = provider.registered_at;
            cfg.store.save(&state)?;
        }
        tracing::info!(
            provider = %cfg.provider,
            chain_id = status.chain_id,
            head = status.height,
            from = state.next_height,
            taken = state.count(JobState::Taken),
            evidence = cfg.evidence.name(),
            models = ?cfg.models,
            "worker started"
        );
        Ok(Runner {
            chain_id: ChainId(status.chain_id),
            cfg,
            client,
            state,
        })
    }

    /// The saved state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// One round: read a page of events, then work on the taken jobs.
    /// `Ok(true)` when caught up with the head.
    pub fn step(&mut self) -> Result<bool, String> {
        let page = self
            .client
            .job_events(self.state.next_height, None, None)
            .map_err(|e| e.to_string())?;
        let mine = self.cfg.provider.to_string();
        let mut changed = false;
        for block in &page.blocks {
            for e in &block.events {
                if let EventDto::JobAssigned { job, provider, .. } = &e.event
                    && *provider == mine
                    && !self.state.jobs.contains_key(job)
                {
                    tracing::info!(job, height = block.height, "job assigned to us");
                    self.cfg.metrics.taken.inc();
                    self.state.jobs.insert(
                        job.clone(),
                        JobEntry {
                            state: JobState::Taken,
                            assigned_at: block.height,
                            tx: None,
                            detail: None,
                        },
                    );
                    changed = true;
                }
            }
        }
        let caught_up = page.to_height < page.from_height || {
            let head = self.client.status().map_err(|e| e.to_string())?.height;
            page.to_height >= head
        };
        if page.to_height >= page.from_height {
            self.state.next_height = page.to_height + 1;
            changed = true;
        }
        if changed {
            self.cfg.store.save(&self.state)?;
        }
        for job in self.state.in_state(JobState::Taken) {
            match self.process(&job) {
                Ok((state, detail, tx)) => {
                    match state {
                        JobState::Submitted => self.cfg.metrics.done.inc(),
                        JobState::Failed => self.cfg.metrics.failed.inc(),
                        _ => 0,
                    };
                    if let Some(entry) = self.state.jobs.get_mut(&job) {
                        entry.state = state;
                        entry.detail = detail;
                        entry.tx = tx.or(entry.tx.take());
                    }
                    self.cfg.store.save(&self.state)?;
                }
                // The node is unreachable or busy: the job stays taken and
                // is tried again next round.
                Err(e) => tracing::warn!(job, error = %e, "job not finished; retrying"),
            }
        }
        Ok(caught_up)
    }

    /// Runs until `stop` is set or `for_at_least` has passed (then returns
    /// after the current round): lets a caller refresh its status.
    pub fn run_for(&mut self, stop: &AtomicBool, for_at_least: Duration) {
        let interval = self.cfg.poll_interval;
        crate::poll::poll(
            stop,
            Some(Instant::now() + for_at_least),
            interval,
            || self.step(),
            std::thread::sleep,
        );
    }

    /// Works on one taken job: `(new state, detail, tx)`; `Err` leaves it
    /// taken (transient failure).
    fn process(&self, id: &str) -> Result<(JobState, Option<String>, Option<String>), String> {
        let job_id = JobId(Digest::from_hex(id).map_err(|e| e.to_string())?.0);
        let Some(job) = self.client.job(&job_id).map_err(|e| e.to_string())? else {
            return Ok((JobState::Closed, Some("unknown to the chain".into()), None));
        };
        if job.status != "assigned" {
            return Ok(self.not_waiting(&job_id, &job));
        }
        let head = self.client.status().map_err(|e| e.to_string())?.height;
        if head >= job.deadline {
            return Ok((
                JobState::Closed,
                Some(format!("deadline {} passed (head {head})", job.deadline)),
                None,
            ));
        }
        let failed = |why: String| {
            tracing::error!(job = id, reason = %why, "job failed: no receipt (the chain refunds at the deadline)");
            Ok((JobState::Failed, Some(why), None))
        };
        let tee = self.cfg.evidence.tee().to_string();
        if !job.tees.contains(&tee) {
            return failed(format!(
                "the job accepts {:?}, this worker has {tee}",
                job.tees
            ));
        }
        let kind = match JobKind::try_from(&job.job) {
            Ok(k) => k,
            Err(e) => return failed(format!("the job as the node reports it: {e}")),
        };
        // A run saved before (a crash, or evidence that failed last round)
        // is not run again: runs are deterministic, the saved data is ours.
        let started = Instant::now();
        let run = match self.cfg.store.checkpoints_json(id)? {
            Some(bytes) => Execution {
                runtime: runtime_of(&kind),
                checkpoints: parse_checkpoints(&bytes)?,
            },
            None => {
                let run =
                    Prepared::fetch(&kind).and_then(|p| p.run(&self.cfg.models, self.cfg.cheat));
                let run = match run {
                    Ok(r) => r,
                    // External data that could not be fetched may come back: retry.
                    Err(JobError::Data(e)) => return Err(format!("job data: {e}")),
                    Err(e) => return failed(e.to_string()),
                };
                self.cfg
                    .metrics
                    .inference
                    .observe(started.elapsed().as_secs_f64());
                self.cfg.store.save_checkpoints(id, &run.checkpoints)?;
                run
            }
        };
        let ran = started.elapsed();
        let output = run.output().to_vec();
        let blobs = aether_crypto::kzg::commit(&output).map_err(|e| format!("KZG: {e}"))?;
        let body = VcrBody {
            chain_id: self.chain_id,
            job: job_id,
            provider: self.cfg.provider,
            worker_key: self.cfg.worker_key.public_key(),
            runtime: run.runtime,
            input_hash: kind.input_hash(),
            output: if output.len() <= MAX_INLINE_DATA {
                JobData::inline(output).map_err(|e| e.to_string())?
            } else {
                let location = format!("{}/jobs/{id}/output", self.cfg.public_url);
                JobData::External {
                    hash: JobData::hash_bytes(&output),
                    size: output.len() as u64,
                    location: match BoundedString::new(location) {
                        Ok(l) => l,
                        Err(e) => return failed(format!("output location: {e}")),
                    },
                }
            },
            commitment: OutputCommitment {
                root: OutputCommitment::compute_root(&blobs),
                blobs,
            },
            trace_root: Digest(aether_infer::trace_root(&run.hashes())),
            segments: run.segments(),
        };
        let started = Instant::now();
        let evidence = self
            .cfg
            .evidence
            .evidence(body.report_data())
            .map_err(|e| format!("evidence: {e}"))?;
        self.cfg
            .metrics
            .evidence
            .observe(started.elapsed().as_secs_f64());
        let evidence = match tee_evidence(evidence) {
            Ok(e) => e,
            Err(e) => return failed(e),
        };
        let tx = action_tx(
            &self.client,
            &self.cfg.worker_key,
            Action::SubmitReceipt(Box::new(Vcr { body, evidence })),
        )
        .map_err(|e| format!("the receipt: {e}"))?;
        let tx_id = match self.client.send_transaction(&tx) {
            Ok(id) => id,
            Err(e @ ClientError::Refused { .. }) if e.code() != Some(-32603) => {
                // Refused by the ledger or the pool: if the job is no
                // longer waiting (our own earlier submission landed before
                // a crash), that decides; otherwise the receipt is bad.
                if let Ok(Some(j)) = self.client.job(&job_id)
                    && j.status != "assigned"
                {
                    return Ok(self.not_waiting(&job_id, &j));
                }
                return failed(format!("receipt refused: {e}"));
            }
            Err(e) => return Err(e.to_string()),
        };
        let receipt = self
            .client
            .wait_for_receipt(&tx_id, RECEIPT_WAIT)
            .map_err(|e| e.to_string())?;
        tracing::info!(
            job = id,
            tx = %tx_id,
            height = receipt.location.block_height,
            run_ms = ran.as_millis() as u64,
            segments = run.segments(),
            "receipt accepted"
        );
        Ok((JobState::Submitted, None, Some(tx_id.to_string())))
    }

    /// A job the chain no longer waits for: ours if our worker key's
    /// receipt is on it.
    fn not_waiting(&self, id: &JobId, job: &JobDto) -> (JobState, Option<String>, Option<String>) {
        let ours = hex::encode(self.cfg.worker_key.public_key().0);
        match self.client.compute_receipt(id) {
            Ok(Some(r)) if r.worker_key == ours => {
                (JobState::Submitted, None, Some(r.tx_id.clone()))
            }
            _ => (
                JobState::Closed,
                Some(format!(
                    "{}{}",
                    job.status,
                    job.refund_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )),
                None,
            ),
        }
    }
}
