//! The host service (feature `server`; dev and tests only): answers
//! evidence requests for ONE launch, whose measurement it was given, by
//! signing real-format SEV-SNP reports or TDX quotes under the simulated
//! root with `aether_evidence::sim::SimSigner`.
//!
//! The measurement is never taken from the guest: the service is created
//! with what the VMM launched (for `aether-image boot --sim-tee`, computed
//! from the image's firmware, kernel, initrd, the command line given to
//! QEMU and the vCPU shape), so a guest booted with other artifacts or
//! another command line gets evidence of *that* launch, which no registry
//! entry matches. The guest chooses only the report data.
//!
//! Bounds: at most [`MAX_CONNECTIONS`] connections at a time (more are
//! closed at once), frames bounded by the protocol; a connection whose
//! frame is malformed gets an ERROR answer and is closed (the stream cannot
//! be resynchronised).

use crate::client::PspAddr;
use crate::protocol::{
    ErrorCode, FrameError, Request, RequestFrame, Response, ResponseFrame, peek_id, read_frame,
    write_frame,
};
use aether_evidence::sim::{SimSigner, SimSnpOptions, SimTdxOptions};
use aether_evidence::{LaunchMeasurement, TeeKind};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Connections served at the same time.
pub const MAX_CONNECTIONS: usize = 16;

/// A progress callback (one line per event).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// The simulated PSP of one launch.
#[derive(Clone, Debug)]
pub struct SimPsp {
    measurement: LaunchMeasurement,
    description: String,
    /// Options of the SEV-SNP reports (report version 5 by default).
    pub snp: SimSnpOptions,
    /// Options of the TDX quotes.
    pub tdx: SimTdxOptions,
    signer: SimSigner,
}

impl SimPsp {
    /// The PSP of a launch that measured to `measurement`; `description`
    /// tells humans what was launched.
    pub fn new(measurement: LaunchMeasurement, description: impl Into<String>) -> Self {
        SimPsp {
            measurement,
            description: description.into(),
            snp: SimSnpOptions::default(),
            tdx: SimTdxOptions::default(),
            signer: SimSigner::new(),
        }
    }

    /// The TEE of the launch.
    pub fn tee(&self) -> TeeKind {
        self.measurement.tee()
    }

    /// The launch measurement every piece of evidence carries.
    pub fn measurement(&self) -> &LaunchMeasurement {
        &self.measurement
    }

    /// The description given at creation.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The answer to one request (pure but for the signer's key cache).
    pub fn handle(&self, frame: &RequestFrame) -> ResponseFrame {
        let response = match &frame.request {
            Request::Info => Response::Info {
                tee: self.tee(),
                description: self.description.clone(),
            },
            Request::Evidence { tee, report_data } => match (&self.measurement, tee) {
                (LaunchMeasurement::Snp(m), TeeKind::Snp) => {
                    Response::Evidence(self.signer.snp(*m, *report_data, &self.snp))
                }
                (LaunchMeasurement::Tdx { mrtd, rtmr }, TeeKind::Tdx) => {
                    Response::Evidence(self.signer.tdx(*mrtd, *rtmr, *report_data, &self.tdx))
                }
                _ => Response::Error {
                    code: ErrorCode::WrongTee,
                    message: format!(
                        "this VM was launched as {}, not {tee} ({})",
                        self.tee(),
                        self.description
                    ),
                },
            },
        };
        ResponseFrame {
            id: frame.id,
            response,
        }
    }

    /// The answer to one frame body, and whether the connection can go on
    /// (not after a malformed frame).
    pub fn handle_bytes(&self, body: &[u8]) -> (ResponseFrame, bool) {
        match RequestFrame::decode(body) {
            Ok(frame) => (self.handle(&frame), true),
            Err(e) => {
                let code = match e {
                    crate::protocol::DecodeError::UnsupportedVersion(_) => {
                        ErrorCode::UnsupportedVersion
                    }
                    _ => ErrorCode::Malformed,
                };
                let frame = ResponseFrame {
                    id: peek_id(body).unwrap_or(0),
                    response: Response::Error {
                        code,
                        message: e.to_string(),
                    },
                };
                (frame, false)
            }
        }
    }

    /// Serves one connection until it ends or sends a malformed frame.
    pub fn serve_connection(
        &self,
        mut stream: impl Read + Write,
        log: &Log,
    ) -> std::io::Result<()> {
        loop {
            let body = match read_frame(&mut stream) {
                Ok(Some(body)) => body,
                Ok(None) => return Ok(()),
                Err(FrameError::Io(e)) => return Err(e),
                Err(e @ FrameError::BadLength(_)) => {
                    log(&format!("sim-psp: refused a frame: {e}"));
                    let refusal = ResponseFrame {
                        id: 0,
                        response: Response::Error {
                            code: ErrorCode::Malformed,
                            message: e.to_string(),
                        },
                    };
                    return write_frame(&mut stream, &refusal.encode());
                }
            };
            let (response, go_on) = self.handle_bytes(&body);
            log(&describe(&body, &response.response));
            write_frame(&mut stream, &response.encode())?;
            if !go_on {
                return Ok(());
            }
        }
    }
}

fn describe(body: &[u8], response: &Response) -> String {
    let request = match RequestFrame::decode(body) {
        Ok(RequestFrame {
            request: Request::Evidence { tee, report_data },
            ..
        }) => format!("{tee} evidence for report data {}…", hex8(&report_data)),
        Ok(RequestFrame {
            request: Request::Info,
            ..
        }) => "info".to_string(),
        Err(e) => format!("malformed request ({e})"),
    };
    let answer = match response {
        Response::Evidence(e) => match e.digest() {
            Ok(d) => format!("signed (evidence digest {}…)", hex8(&d)),
            Err(_) => "signed".to_string(),
        },
        Response::Info { tee, .. } => format!("{tee}"),
        Response::Error { code, message } => format!("refused: {code}: {message}"),
    };
    format!("sim-psp: {request}: {answer}")
}

fn hex8(b: &[u8]) -> String {
    b.iter().take(8).map(|x| format!("{x:02x}")).collect()
}

/// Where the service listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    /// A Unix socket path (removed when the server stops).
    Unix(PathBuf),
    /// A TCP address (`127.0.0.1:0` picks a free port).
    Tcp(String),
}

impl std::str::FromStr for ListenAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.parse::<PspAddr>()? {
            PspAddr::Unix(p) => Ok(ListenAddr::Unix(p)),
            PspAddr::Tcp(a) => Ok(ListenAddr::Tcp(a)),
            _ => Err(format!(
                "{s:?}: the service listens on unix:PATH or tcp:HOST:PORT"
            )),
        }
    }
}

enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

/// A running service: accepts connections on a thread, one thread per
/// connection. Stops (and removes its Unix socket) when dropped.
pub struct Server {
    addr: PspAddr,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
    socket: Option<PathBuf>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `listen` and serves `psp` until dropped.
    pub fn start(psp: SimPsp, listen: &ListenAddr, log: Log) -> std::io::Result<Server> {
        let (listener, addr, socket) = match listen {
            ListenAddr::Unix(path) => {
                let l = UnixListener::bind(path)?;
                l.set_nonblocking(true)?;
                (
                    Listener::Unix(l, path.clone()),
                    PspAddr::Unix(path.clone()),
                    Some(path.clone()),
                )
            }
            ListenAddr::Tcp(a) => {
                let l = TcpListener::bind(a.as_str())?;
                l.set_nonblocking(true)?;
                let local = l.local_addr()?;
                (Listener::Tcp(l), PspAddr::Tcp(local.to_string()), None)
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let psp = Arc::new(psp);
        let active = Arc::new(AtomicUsize::new(0));
        let stop2 = Arc::clone(&stop);
        let accept = std::thread::Builder::new()
            .name("sim-psp-accept".into())
            .spawn(move || accept_loop(listener, psp, log, stop2, active))?;
        Ok(Server {
            addr,
            stop,
            accept: Some(accept),
            socket,
        })
    }

    /// The address clients connect to (the bound port for `tcp:…:0`).
    pub fn addr(&self) -> &PspAddr {
        &self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn accept_loop(
    listener: Listener,
    psp: Arc<SimPsp>,
    log: Log,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicUsize>,
) {
    while !stop.load(Ordering::SeqCst) {
        let conn: std::io::Result<Box<dyn ReadWrite>> = match &listener {
            Listener::Unix(l, _) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                Ok(Box::new(s) as Box<dyn ReadWrite>)
            }),
            Listener::Tcp(l) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                Ok(Box::new(s) as Box<dyn ReadWrite>)
            }),
        };
        match conn {
            Ok(stream) => {
                if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    log(&format!(
                        "sim-psp: {MAX_CONNECTIONS} connections open; closing a new one"
                    ));
                    continue;
                }
                active.fetch_add(1, Ordering::SeqCst);
                let (psp, conn_log, active) =
                    (Arc::clone(&psp), Arc::clone(&log), Arc::clone(&active));
                let spawned = std::thread::Builder::new()
                    .name("sim-psp-conn".into())
                    .spawn(move || {
                        if let Err(e) = psp.serve_connection(stream, &conn_log) {
                            conn_log(&format!("sim-psp: connection ended: {e}"));
                        }
                        active.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    log("sim-psp: cannot start a connection thread");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                log(&format!("sim-psp: accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    if let Listener::Unix(_, p) = &listener {
        let _ = std::fs::remove_file(p);
    }
}

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}
