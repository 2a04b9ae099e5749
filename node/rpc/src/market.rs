//! The market's JSON-RPC methods: jobs, providers, compute receipts with
//! their verified claims, the measurement registry, models, and a
//! subscription to job events. Served beside [`crate::api`] on the same
//! port; the node implements [`MarketReader`].

use crate::backend::{BackendError, RpcBackend};
use crate::error::RpcError;
use crate::params::parse_hash32;
use aether_rpc_types::market::*;
use aether_types::{
    BoundaryReceipt, ImageId, ImageRole, JobId, ModelId, Object, ObjectKey, ProviderId, TeeKind,
};
use jsonrpsee::PendingSubscriptionSink;
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use tokio::sync::broadcast::error::RecvError;

pub use aether_rpc_types::methods::JOB_EVENTS_NOTIFICATION;

/// Most objects a listing returns.
pub const MAX_LISTED: usize = 1_000;

/// Read access to the protocol objects of the committed state.
pub trait MarketReader: Send + Sync + 'static {
    /// The object at `key`.
    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, BackendError>;
    /// Up to `limit` objects of the namespace of `sample` (its variant).
    fn objects_of_kind(
        &self,
        sample: &ObjectKey,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, Object)>, BackendError>;
    /// The boundary receipt of block `height`.
    fn boundary_receipt(&self, height: u64) -> Result<Option<BoundaryReceipt>, BackendError>;
}

/// The market interface (see `docs/rpc.md`).
#[rpc(server)]
pub trait MarketApi {
    /// A job by id, or null.
    #[method(name = "aether_getJob", blocking)]
    fn get_job(&self, job: String) -> RpcResult<Option<JobDto>>;

    /// A provider by id, or null.
    #[method(name = "aether_getProvider", blocking)]
    fn get_provider(&self, provider: String) -> RpcResult<Option<ProviderDto>>;

    /// Every registered provider.
    #[method(name = "aether_getProviders", blocking)]
    fn get_providers(&self) -> RpcResult<Vec<ProviderDto>>;

    /// A job's verifiable compute receipt with its verified claims, or
    /// null (`aether_getReceipt` is the transaction receipt).
    #[method(name = "aether_getComputeReceipt", blocking)]
    fn get_compute_receipt(&self, job: String) -> RpcResult<Option<ComputeReceiptDto>>;

    /// Registered images and their measurements.
    #[method(name = "aether_getMeasurements", blocking)]
    fn get_measurements(&self, filter: Option<MeasurementFilter>) -> RpcResult<Vec<ImageDto>>;

    /// Registered models.
    #[method(name = "aether_getModels", blocking)]
    fn get_models(&self) -> RpcResult<Vec<ModelDto>>;

    /// The market events of the committed blocks `fromHeight..=toHeight`
    /// (at most [`MAX_EVENT_BLOCKS`] per call, never past the head),
    /// optionally only those of one job: how a subscriber catches up.
    #[method(name = "aether_getJobEvents", blocking)]
    fn get_job_events(
        &self,
        from_height: u64,
        to_height: Option<u64>,
        job: Option<String>,
    ) -> RpcResult<JobEventsPageDto>;

    /// The market events of each new block (boundary first, then each
    /// transaction's), optionally only those of one job.
    #[subscription(
        name = "aether_subscribeJobEvents" => "aether_jobEvents",
        unsubscribe = "aether_unsubscribeJobEvents",
        item = BlockEventsDto
    )]
    async fn subscribe_job_events(&self, job: Option<String>) -> SubscriptionResult;
}

/// The implementation of [`MarketApiServer`].
pub(crate) struct MarketRpc {
    pub(crate) backend: RpcBackend,
}

fn id32(what: &'static str, text: &str) -> Result<[u8; 32], RpcError> {
    Ok(parse_hash32(what, text)?)
}

fn tee_of(text: &str) -> Result<TeeKind, RpcError> {
    text.parse()
        .map_err(|e: String| RpcError::Param(crate::params::ParamError::new("tee", e)))
}

fn role_of(text: &str) -> Result<ImageRole, RpcError> {
    text.parse()
        .map_err(|e: String| RpcError::Param(crate::params::ParamError::new("role", e)))
}

impl MarketRpc {
    fn market(&self) -> &dyn MarketReader {
        self.backend.market.as_ref()
    }

    fn job(&self, job: &str) -> Result<Option<JobDto>, RpcError> {
        let id = JobId(id32("job id", job)?);
        Ok(match self.market().object(&ObjectKey::Job(id))? {
            Some(Object::Job(j)) => Some(JobDto::new(&id, &j)),
            _ => None,
        })
    }

    fn provider(&self, provider: &str) -> Result<Option<ProviderDto>, RpcError> {
        let id = ProviderId(id32("provider id", provider)?);
        Ok(match self.market().object(&ObjectKey::Provider(id))? {
            Some(Object::Provider(p)) => Some(ProviderDto::new(&id, &p)),
            _ => None,
        })
    }

    fn providers(&self) -> Result<Vec<ProviderDto>, RpcError> {
        let sample = ObjectKey::Provider(ProviderId::default());
        Ok(self
            .market()
            .objects_of_kind(&sample, MAX_LISTED)?
            .into_iter()
            .filter_map(|(k, o)| match (k, o) {
                (ObjectKey::Provider(id), Object::Provider(p)) => Some(ProviderDto::new(&id, &p)),
                _ => None,
            })
            .collect())
    }

    fn compute_receipt(&self, job: &str) -> Result<Option<ComputeReceiptDto>, RpcError> {
        let id = JobId(id32("job id", job)?);
        Ok(
            match self.market().object(&ObjectKey::ComputeReceipt(id))? {
                Some(Object::ComputeReceipt(r)) => Some(ComputeReceiptDto::from(&*r)),
                _ => None,
            },
        )
    }

    fn measurements(&self, filter: &MeasurementFilter) -> Result<Vec<ImageDto>, RpcError> {
        let role = filter.role.as_deref().map(role_of).transpose()?;
        let tee = filter.tee.as_deref().map(tee_of).transpose()?;
        let sample = ObjectKey::Image(ImageId::default());
        let mut out = Vec::new();
        for (key, object) in self.market().objects_of_kind(&sample, MAX_LISTED)? {
            let (ObjectKey::Image(id), Object::Image(image)) = (key, object) else {
                continue;
            };
            if role.is_some_and(|r| r != image.role)
                || tee.is_some_and(|t| t != image.tee)
                || (image.revoked_at.is_some() && !filter.include_revoked)
            {
                continue;
            }
            let mut measurements = Vec::with_capacity(image.measurements.len());
            for m in &image.measurements {
                if let Some(Object::Measurement(record)) =
                    self.market().object(&ObjectKey::Measurement(*m))?
                {
                    measurements.push(MeasurementDto::new(m, &record));
                }
            }
            out.push(ImageDto::new(&id, &image, measurements));
        }
        Ok(out)
    }

    fn job_events(
        &self,
        from: u64,
        to: Option<u64>,
        job: Option<&str>,
    ) -> Result<JobEventsPageDto, RpcError> {
        let job = job
            .map(|j| id32("job id", j).map(|b| JobId(b).to_string()))
            .transpose()?;
        if to.is_some_and(|t| t < from) {
            return Err(RpcError::Param(crate::params::ParamError::new(
                "toHeight",
                "below fromHeight",
            )));
        }
        let head = self.backend.chain.status()?.height;
        let last = to
            .unwrap_or(u64::MAX)
            .min(head)
            .min(from.saturating_add(MAX_EVENT_BLOCKS - 1));
        let mut blocks = Vec::new();
        if from <= last {
            for height in from..=last {
                let Some(block) = self.backend.chain.block_by_height(height)? else {
                    break;
                };
                let boundary = self.market().boundary_receipt(height)?.unwrap_or_default();
                let mut receipts = Vec::with_capacity(block.transactions.len());
                for tx in &block.transactions {
                    if let Some((r, _)) = self.backend.chain.receipt(&tx.id())? {
                        receipts.push(r);
                    }
                }
                let mut events = BlockEventsDto::new(height, &block.hash(), &boundary, &receipts);
                if let Some(j) = &job {
                    events = events.only_job(j);
                }
                if !events.events.is_empty() {
                    blocks.push(events);
                }
            }
        }
        Ok(JobEventsPageDto {
            from_height: from,
            to_height: last,
            blocks,
        })
    }

    fn models(&self) -> Result<Vec<ModelDto>, RpcError> {
        let sample = ObjectKey::Model(ModelId::default());
        Ok(self
            .market()
            .objects_of_kind(&sample, MAX_LISTED)?
            .into_iter()
            .filter_map(|(k, o)| match (k, o) {
                (ObjectKey::Model(id), Object::Model(m)) => Some(ModelDto::new(&id, &m)),
                _ => None,
            })
            .collect())
    }
}

#[async_trait]
impl MarketApiServer for MarketRpc {
    fn get_job(&self, job: String) -> RpcResult<Option<JobDto>> {
        Ok(self.job(&job)?)
    }

    fn get_provider(&self, provider: String) -> RpcResult<Option<ProviderDto>> {
        Ok(self.provider(&provider)?)
    }

    fn get_providers(&self) -> RpcResult<Vec<ProviderDto>> {
        Ok(self.providers()?)
    }

    fn get_compute_receipt(&self, job: String) -> RpcResult<Option<ComputeReceiptDto>> {
        Ok(self.compute_receipt(&job)?)
    }

    fn get_measurements(&self, filter: Option<MeasurementFilter>) -> RpcResult<Vec<ImageDto>> {
        Ok(self.measurements(&filter.unwrap_or_default())?)
    }

    fn get_models(&self) -> RpcResult<Vec<ModelDto>> {
        Ok(self.models()?)
    }

    fn get_job_events(
        &self,
        from_height: u64,
        to_height: Option<u64>,
        job: Option<String>,
    ) -> RpcResult<JobEventsPageDto> {
        Ok(self.job_events(from_height, to_height, job.as_deref())?)
    }

    async fn subscribe_job_events(
        &self,
        pending: PendingSubscriptionSink,
        job: Option<String>,
    ) -> SubscriptionResult {
        let job = match job.as_deref().map(|j| id32("job id", j)).transpose() {
            Ok(j) => j.map(|b| JobId(b).to_string()),
            Err(e) => {
                pending
                    .reject(jsonrpsee::types::ErrorObjectOwned::from(e))
                    .await;
                return Ok(());
            }
        };
        let mut events = self.backend.heads.subscribe_events();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                next = events.recv() => match next {
                    Ok(block) => {
                        let filtered;
                        let item: &BlockEventsDto = match &job {
                            None => &block,
                            Some(j) => {
                                filtered = block.only_job(j);
                                if filtered.events.is_empty() {
                                    continue;
                                }
                                &filtered
                            }
                        };
                        let message = serde_json::value::to_raw_value(item)?;
                        if sink.send(message).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "rpc: slow subscriber skipped job events");
                    }
                    Err(RecvError::Closed) => return Ok(()),
                }
            }
        }
    }
}
