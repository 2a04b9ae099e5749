//! The worker's HTTP endpoint (plain HTTP/1.1, GET only, bounded):
//!
//! | path | answer |
//! |---|---|
//! | `/jobs/<job id>/checkpoints` | `{"checkpoints": ["<hex>", ...]}`: the data of every checkpoint of our receipt for the job (what `aether job challenge --checkpoints` and `aether-worker watch` read) |
//! | `/jobs/<job id>/output` | the job's output bytes (its last checkpoint's data): where a receipt whose output is above the inline limit says to fetch it |
//! | `/status` | the worker's status (JSON: provider, jobs by state, next height) |
//! | `/metrics` | Prometheus text: `aether_worker_jobs_taken_total`, `_done_total`, `_failed_total`, `aether_worker_inference_seconds`, `aether_worker_evidence_seconds` |
//!
//! At most [`MAX_CONNECTIONS`] connections at once (more wait in the
//! kernel's backlog); a request has [`REQUEST_TIMEOUT`] to arrive.

use crate::store::Store;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Time for a request's header to arrive.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The worker's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Jobs assigned to us that we took on.
    pub taken: Counter,
    /// Jobs whose receipt the chain accepted.
    pub done: Counter,
    /// Jobs we could not run or whose receipt was refused.
    pub failed: Counter,
    /// Time to run a job (seconds).
    pub inference: Histogram,
    /// Time to obtain TEE evidence (seconds).
    pub evidence: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            taken: Counter::default(),
            done: Counter::default(),
            failed: Counter::default(),
            inference: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            evidence: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        };
        registry.register(
            "aether_worker_jobs_taken",
            "Jobs assigned to this worker's provider that it took on",
            m.taken.clone(),
        );
        registry.register(
            "aether_worker_jobs_done",
            "Jobs whose receipt the chain accepted",
            m.done.clone(),
        );
        registry.register(
            "aether_worker_jobs_failed",
            "Jobs that could not be run or whose receipt was refused",
            m.failed.clone(),
        );
        registry.register(
            "aether_worker_inference_seconds",
            "Time to run a job",
            m.inference.clone(),
        );
        registry.register(
            "aether_worker_evidence_seconds",
            "Time to obtain TEE evidence for a receipt",
            m.evidence.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!(error = %e, "metrics: encoding failed");
        }
        text
    }
}

/// What the endpoint serves from.
pub struct Served {
    /// The data directory.
    pub store: Store,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The status document.
    pub status: Arc<dyn Fn() -> serde_json::Value + Send + Sync>,
}

fn reply(code: StatusCode, kind: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    if let Ok(v) = kind.parse() {
        r.headers_mut().insert("content-type", v);
    }
    r
}

/// The answer to `method path`.
pub fn answer(served: &Served, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let text = |code, s: &str| reply(code, "text/plain; charset=utf-8", s.as_bytes().to_vec());
    if method != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["jobs", job, "checkpoints"] => match served.store.checkpoints_json(job) {
            Ok(Some(bytes)) => reply(StatusCode::OK, "application/json", bytes),
            Ok(None) => text(StatusCode::NOT_FOUND, "no checkpoints for that job here\n"),
            Err(e) => {
                tracing::warn!(error = %e, "serve: reading checkpoints");
                text(StatusCode::INTERNAL_SERVER_ERROR, "storage error\n")
            }
        },
        ["jobs", job, "output"] => match served.store.output(job) {
            Ok(Some(bytes)) => reply(StatusCode::OK, "application/octet-stream", bytes),
            Ok(None) => text(StatusCode::NOT_FOUND, "no output for that job here\n"),
            Err(e) => {
                tracing::warn!(error = %e, "serve: reading an output");
                text(StatusCode::INTERNAL_SERVER_ERROR, "storage error\n")
            }
        },
        ["status"] => reply(
            StatusCode::OK,
            "application/json",
            (served.status)().to_string().into_bytes(),
        ),
        ["metrics"] => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            served.metrics.render().into_bytes(),
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: /jobs/<id>/checkpoints, /jobs/<id>/output, /status, /metrics\n",
        ),
    }
}

/// Binds `addr` and serves from a thread of its own; returns the bound
/// address (port 0 picks one).
pub fn spawn(addr: SocketAddr, served: Served) -> Result<SocketAddr, String> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let served = Arc::new(served);
    std::thread::Builder::new()
        .name("aether-worker-http".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "serve: no runtime");
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "serve: listener");
                        return;
                    }
                };
                let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
                loop {
                    let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                        return;
                    };
                    let stream = match listener.accept().await {
                        Ok((s, _)) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "serve: accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let served = Arc::clone(&served);
                    tokio::spawn(async move {
                        let _permit = permit;
                        let service =
                            hyper::service::service_fn(
                                move |req: Request<hyper::body::Incoming>| {
                                    let served = Arc::clone(&served);
                                    async move {
                                        let method = req.method().clone();
                                        let path = req.uri().path().to_string();
                                        Ok::<_, std::convert::Infallible>(
                                            tokio::task::spawn_blocking(move || {
                                                answer(&served, &method, &path)
                                            })
                                            .await
                                            .unwrap_or_else(|_| {
                                                reply(
                                                    StatusCode::INTERNAL_SERVER_ERROR,
                                                    "text/plain",
                                                    Vec::new(),
                                                )
                                            }),
                                        )
                                    }
                                },
                            );
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let conn = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(REQUEST_TIMEOUT)
                            .serve_connection(io, service);
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "serve: connection ended");
                        }
                    });
                }
            });
        })
        .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(dir: &std::path::Path) -> Served {
        Served {
            store: Store::open(dir).unwrap(),
            metrics: Arc::new(Metrics::new()),
            status: Arc::new(|| serde_json::json!({"ok": true})),
        }
    }

    #[test]
    fn serves_checkpoints_status_and_metrics_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let s = served(dir.path());
        let job = "0f".repeat(32);
        s.store
            .save_checkpoints(&job, &[vec![7], vec![8, 9]])
            .unwrap();
        s.metrics.taken.inc();
        let get = |p: &str| answer(&s, &Method::GET, p);
        assert_eq!(
            get(&format!("/jobs/{job}/checkpoints")).status(),
            StatusCode::OK
        );
        assert_eq!(s.store.output(&job).unwrap(), Some(vec![8, 9]));
        assert_eq!(get(&format!("/jobs/{job}/output")).status(), StatusCode::OK);
        assert_eq!(
            get(&format!("/jobs/{}/output", "1f".repeat(32))).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&format!("/jobs/{}/checkpoints", "1f".repeat(32))).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get("/jobs/../../etc/passwd/checkpoints").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(get("/status").status(), StatusCode::OK);
        assert_eq!(get("/nope").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            answer(&s, &Method::POST, "/status").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        let text = s.metrics.render();
        assert!(text.contains("aether_worker_jobs_taken_total 1"), "{text}");
        assert!(text.contains("aether_worker_evidence_seconds"), "{text}");
    }

    #[test]
    fn answers_over_a_real_socket() {
        let dir = tempfile::tempdir().unwrap();
        let s = served(dir.path());
        let job = "0e".repeat(32);
        s.store.save_checkpoints(&job, &[vec![1, 2]]).unwrap();
        let addr = spawn("127.0.0.1:0".parse().unwrap(), s).unwrap();
        let body =
            crate::job::fetch(&format!("http://{addr}/jobs/{job}/checkpoints"), 1 << 20).unwrap();
        assert_eq!(
            crate::store::parse_checkpoints(&body).unwrap(),
            vec![vec![1, 2]]
        );
        assert!(
            crate::job::fetch(
                &format!("http://{addr}/jobs/{}/checkpoints", "00".repeat(32)),
                1 << 20
            )
            .is_err()
        );
    }
}
