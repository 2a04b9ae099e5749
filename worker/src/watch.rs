//! `aether-worker watch`: the watchtower.
//!
//! Reads the market events of each committed block (`aether_getJobEvents`,
//! as the runner does), samples the accepted receipts, fetches the
//! provider's checkpoint data from the worker endpoints it knows
//! (`GET {url}/jobs/{job}/checkpoints`; the data is checked against the
//! receipt's trace root, so any source will do), re-runs every segment with
//! the same runtime the chain re-executes with, and when a checkpoint
//! differs submits the one-transaction challenge against the first one
//! (the claim is built by `aether_ledger::market::find_claim`, shared with
//! `aether job challenge`).
//!
//! Sampling is deterministic per job (the first byte of the job id against
//! the percentage), so two watchtowers with different samples cover
//! different jobs. A receipt whose checkpoints cannot be fetched is retried
//! every round until its challenge window closes, then reported.

use crate::job::{Models, Prepared};
use crate::store::parse_checkpoints;
use aether_client::BlockingClient;
use aether_crypto::ed25519::Keypair;
use aether_ledger::market::{ClaimError, ClaimTarget, ReexecError, SegmentExecutor, find_claim};
use aether_rpc_types::market::EventDto;
use aether_types::{Action, Address, Challenge, Digest, JobId, JobKind};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Largest checkpoint file fetched.
pub const MAX_CHECKPOINTS_FILE: u64 = 64 << 20;

/// The worker's runtime as a [`SegmentExecutor`]: its models and WASM.
#[derive(Debug)]
pub struct LocalExecutor<'a> {
    /// The models.
    pub models: &'a Models,
}

fn prepared(kind: &JobKind, input: &[u8], module: Option<&[u8]>) -> Prepared {
    Prepared {
        kind: kind.clone(),
        module: module.map(<[u8]>::to_vec),
        input: input.to_vec(),
    }
}

impl SegmentExecutor for LocalExecutor<'_> {
    fn input_checkpoint(
        &self,
        kind: &JobKind,
        input: &[u8],
        module: Option<&[u8]>,
    ) -> Result<Vec<u8>, ReexecError> {
        prepared(kind, input, module)
            .input_checkpoint(self.models)
            .map_err(|e| ReexecError::Unavailable(e.to_string()))
    }

    fn run_segment(
        &self,
        kind: &JobKind,
        module: Option<&[u8]>,
        segment: u32,
        previous: &[u8],
    ) -> Result<Vec<u8>, ReexecError> {
        prepared(kind, &[], module)
            .run_segment(self.models, segment, previous)
            .map_err(|e| ReexecError::InvalidCheckpoint(e.to_string()))
    }
}

/// What the watchtower needs.
pub struct WatchConfig {
    /// The node's JSON-RPC URL.
    pub rpc: String,
    /// The challenger's key (pays deposits and fees, receives rewards).
    pub key: Keypair,
    /// The models to re-run model jobs with.
    pub models: Models,
    /// Worker endpoints to fetch checkpoint data from.
    pub worker_urls: Vec<String>,
    /// Percentage of receipts checked (1..=100).
    pub sample_percent: u8,
    /// Deposit of each challenge, AIC base units.
    pub deposit: u128,
    /// First height to read (None: the head at start).
    pub from_height: Option<u64>,
    /// Time between polls once caught up.
    pub poll_interval: Duration,
}

/// The outcome of checking one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every checkpoint re-executes to the provider's.
    Honest,
    /// A challenge was submitted (transaction id).
    Challenged(String),
    /// Not sampled.
    Skipped,
    /// Could not check (reason); retried while the window is open.
    Pending(String),
}

/// The watchtower.
pub struct Watchtower {
    cfg: WatchConfig,
    client: BlockingClient,
    next_height: u64,
    /// Receipts to check: job id → window end.
    pending: BTreeMap<String, u64>,
    /// Verdicts so far, by job.
    pub verdicts: BTreeMap<String, Verdict>,
}

/// Whether `job` (hex id) is in a `percent` sample.
pub fn sampled(job: &str, percent: u8) -> bool {
    let first = u8::from_str_radix(job.get(..2).unwrap_or("00"), 16).unwrap_or(0);
    u32::from(first) * 100 < u32::from(percent.min(100)) * 256
}

impl Watchtower {
    /// Connects.
    pub fn start(cfg: WatchConfig) -> Result<Self, String> {
        let client = crate::runner::connect(&cfg.rpc, Duration::from_secs(60))?;
        let head = client.status().map_err(|e| e.to_string())?.height;
        let next_height = cfg.from_height.unwrap_or(head);
        tracing::info!(
            from = next_height,
            sample = cfg.sample_percent,
            workers = ?cfg.worker_urls,
            models = ?cfg.models,
            "watchtower started"
        );
        Ok(Watchtower {
            cfg,
            client,
            next_height,
            pending: BTreeMap::new(),
            verdicts: BTreeMap::new(),
        })
    }

    /// One round: read a page of events, then check the pending receipts.
    /// `Ok(true)` when caught up with the head.
    pub fn step(&mut self) -> Result<bool, String> {
        let page = self
            .client
            .job_events(self.next_height, None, None)
            .map_err(|e| e.to_string())?;
        for block in &page.blocks {
            for e in &block.events {
                if let EventDto::ReceiptAccepted {
                    job, window_end, ..
                } = &e.event
                {
                    if sampled(job, self.cfg.sample_percent) {
                        self.pending.insert(job.clone(), *window_end);
                    } else {
                        self.verdicts.insert(job.clone(), Verdict::Skipped);
                    }
                }
            }
        }
        if page.to_height >= page.from_height {
            self.next_height = page.to_height + 1;
        }
        let head = self.client.status().map_err(|e| e.to_string())?.height;
        let jobs: Vec<(String, u64)> = self.pending.iter().map(|(j, w)| (j.clone(), *w)).collect();
        for (job, window_end) in jobs {
            let verdict = match self.check(&job) {
                Ok(v) => v,
                Err(e) => Verdict::Pending(e),
            };
            match &verdict {
                Verdict::Pending(why) if head < window_end => {
                    tracing::debug!(job, reason = %why, "receipt not checked yet");
                    continue;
                }
                Verdict::Pending(why) => {
                    tracing::warn!(job, reason = %why, "challenge window closed before the receipt could be checked");
                }
                Verdict::Honest => tracing::info!(job, "receipt re-executes: honest"),
                Verdict::Challenged(tx) => tracing::warn!(job, tx, "receipt challenged"),
                Verdict::Skipped => {}
            }
            self.pending.remove(&job);
            self.verdicts.insert(job, verdict);
        }
        Ok(page.to_height < page.from_height || page.to_height >= head)
    }

    /// Runs until `stop` is set.
    pub fn run(&mut self, stop: &AtomicBool) {
        let interval = self.cfg.poll_interval;
        crate::poll::poll(stop, None, interval, || self.step(), std::thread::sleep);
    }

    fn checkpoints(&self, job: &str) -> Result<Vec<Vec<u8>>, String> {
        let mut why = Vec::new();
        for url in &self.cfg.worker_urls {
            let at = format!("{}/jobs/{job}/checkpoints", url.trim_end_matches('/'));
            match crate::job::fetch(&at, MAX_CHECKPOINTS_FILE)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_checkpoints(&b))
            {
                Ok(data) => return Ok(data),
                Err(e) => why.push(e),
            }
        }
        Err(format!(
            "no worker endpoint has its checkpoints ({})",
            why.join("; ")
        ))
    }

    /// Checks one receipt.
    fn check(&self, job: &str) -> Result<Verdict, String> {
        let id = JobId(Digest::from_hex(job).map_err(|e| e.to_string())?.0);
        let j = self
            .client
            .job(&id)
            .map_err(|e| e.to_string())?
            .ok_or("job unknown to the chain")?;
        let r = self
            .client
            .compute_receipt(&id)
            .map_err(|e| e.to_string())?
            .ok_or("no receipt on the job")?;
        let kind = JobKind::try_from(&j.job)?;
        let job_data = Prepared::fetch(&kind).map_err(|e| e.to_string())?;
        let data = self.checkpoints(job)?;
        let output = r.inline_output();
        let target = ClaimTarget {
            kind: &kind,
            module: job_data.module.as_deref(),
            input: &job_data.input,
            trace_root: Digest::from_hex(&r.trace_root).map_err(|e| e.to_string())?,
            segments: r.segments,
            output: &output,
        };
        let exec = LocalExecutor {
            models: &self.cfg.models,
        };
        let claim = match find_claim(&exec, &target, &data, None) {
            Ok(c) => c,
            Err(ClaimError::NothingToChallenge) => return Ok(Verdict::Honest),
            Err(e) => return Err(e.to_string()),
        };
        let me = Address::Key(self.cfg.key.key_hash());
        let challenge = Action::Challenge(Challenge {
            job: id,
            claim,
            deposit: self.cfg.deposit,
            payout: me,
        });
        let tx = crate::runner::action_tx(&self.client, &self.cfg.key, challenge)
            .map_err(|e| format!("the challenge: {e}"))?;
        let tx_id = self
            .client
            .send_transaction(&tx)
            .map_err(|e| format!("challenge refused: {e}"))?;
        self.client
            .wait_for_receipt(&tx_id, Duration::from_secs(60))
            .map_err(|e| e.to_string())?;
        Ok(Verdict::Challenged(tx_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_a_fraction_of_the_id_space() {
        assert!(sampled("00ff", 1));
        assert!(!sampled("ff00", 99));
        assert!(sampled("ff00", 100));
        assert!(!sampled("00ff", 0));
        let ids: Vec<String> = (0..=255u8).map(|b| format!("{b:02x}")).collect();
        let half = ids.iter().filter(|j| sampled(j, 50)).count();
        assert_eq!(half, 128);
    }
}
