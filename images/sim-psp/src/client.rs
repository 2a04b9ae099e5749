//! The client side: how a guest (or a test on the host) reaches the
//! simulated PSP and asks for evidence. It holds no keys and signs nothing.
//!
//! Addresses ([`PspAddr`]):
//!
//! | form | transport |
//! |---|---|
//! | `unix:PATH` | a Unix stream socket (the host service, `aether-image sim-psp --listen unix:PATH`) |
//! | `tcp:HOST:PORT` | TCP |
//! | `virtio:NAME` | the guest's virtio-serial port named NAME (QEMU `virtserialport,name=NAME`), found through `/sys/class/virtio-ports/*/name` (the appliance has no udev, so `/dev/virtio-ports/NAME` links may be absent) |
//! | `dev:PATH` | a character device, e.g. `/dev/vport0p1` |
//!
//! Each call sends one request with a fresh id and reads frames until the
//! response with that id (at most [`MAX_STALE`] others, which a
//! virtio-serial port can hold when an earlier client gave up before its
//! answer came), within the client's timeout.

use crate::protocol::{
    DecodeError, ErrorCode, FrameError, Request, RequestFrame, Response, ResponseFrame, read_frame,
    write_frame,
};
use aether_evidence::{Evidence, TeeKind};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The virtio-serial port name `aether-image boot --sim-tee` gives the guest.
pub const DEFAULT_PORT_NAME: &str = "org.aether.sim-psp.0";
/// Frames with another id a call skips before giving up.
pub const MAX_STALE: usize = 16;
/// The default time a call may take (signing a report takes milliseconds;
/// the first TDX quote of a process a few hundred).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the simulated PSP is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PspAddr {
    /// A Unix stream socket.
    Unix(PathBuf),
    /// A TCP address (`host:port`).
    Tcp(String),
    /// A virtio-serial port, by name.
    Virtio(String),
    /// A character device.
    Device(PathBuf),
}

impl std::str::FromStr for PspAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            format!("{s:?}: expected unix:PATH, tcp:HOST:PORT, virtio:NAME or dev:PATH")
        })?;
        if rest.is_empty() {
            return Err(format!("{s:?}: empty address"));
        }
        match kind {
            "unix" => Ok(PspAddr::Unix(rest.into())),
            "tcp"
                if rest
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Ok(PspAddr::Tcp(rest.into()))
            }
            "tcp" => Err(format!("{s:?}: expected tcp:HOST:PORT")),
            "virtio" => Ok(PspAddr::Virtio(rest.into())),
            "dev" => Ok(PspAddr::Device(rest.into())),
            _ => Err(format!(
                "{s:?}: unknown transport {kind:?} (unix, tcp, virtio, dev)"
            )),
        }
    }
}

impl std::fmt::Display for PspAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PspAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            PspAddr::Tcp(a) => write!(f, "tcp:{a}"),
            PspAddr::Virtio(n) => write!(f, "virtio:{n}"),
            PspAddr::Device(p) => write!(f, "dev:{}", p.display()),
        }
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No virtio-serial port of that name.
    #[error(
        "no virtio-serial port named {name} under {sys}/class/virtio-ports (was the VM started with --sim-tee?)"
    )]
    NoPort {
        /// The name looked for.
        name: String,
        /// The sysfs root searched.
        sys: String,
    },
    /// Connecting failed.
    #[error("connecting to the simulated PSP at {addr}: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Sending or receiving failed, or the PSP closed the connection.
    #[error("talking to the simulated PSP: {0}")]
    Io(#[from] std::io::Error),
    /// A frame could not be read.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The PSP's answer did not decode.
    #[error("the simulated PSP's answer does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// The PSP refused.
    #[error("the simulated PSP refused: {code}: {message}")]
    Refused {
        /// Why.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// No answer in time.
    #[error("no answer from the simulated PSP within {0:?}")]
    Timeout(Duration),
    /// An answer of the wrong kind, or too many answers to other requests.
    #[error("unexpected answer from the simulated PSP: {0}")]
    Unexpected(String),
}

/// Finds the character device of the virtio-serial port `name` below the
/// sysfs root `sys` (normally `/sys`): `/dev/<entry>` for the entry of
/// `<sys>/class/virtio-ports/` whose `name` file holds `name`.
pub fn find_virtio_port(sys: &Path, name: &str) -> Option<PathBuf> {
    let links = std::path::Path::new("/dev/virtio-ports").join(name);
    if sys == Path::new("/sys") && links.exists() {
        return Some(links);
    }
    let mut entries: Vec<_> = std::fs::read_dir(sys.join("class/virtio-ports"))
        .ok()?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    entries.into_iter().find_map(|e| {
        let got = std::fs::read_to_string(e.path().join("name")).ok()?;
        (got.trim_end_matches('\n') == name).then(|| Path::new("/dev").join(e.file_name()))
    })
}

enum Conn {
    Unix(UnixStream),
    Tcp(std::net::TcpStream),
    Device(std::fs::File),
}

impl Conn {
    /// Sets up the wait for the next read: a socket timeout, or poll(2) on
    /// a device (which has no timeout of its own).
    fn wait_readable(&mut self, left: Duration) -> std::io::Result<bool> {
        let left = left.max(Duration::from_millis(1));
        match self {
            Conn::Unix(s) => s.set_read_timeout(Some(left)).map(|()| true),
            Conn::Tcp(s) => s.set_read_timeout(Some(left)).map(|()| true),
            Conn::Device(f) => {
                use rustix::event::{PollFd, PollFlags, Timespec, poll};
                let mut fds = [PollFd::new(f, PollFlags::IN)];
                let ts = Timespec {
                    tv_sec: left.as_secs() as i64,
                    tv_nsec: i64::from(left.subsec_nanos()),
                };
                Ok(poll(&mut fds, Some(&ts))? > 0)
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
            Conn::Device(f) => f.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
            Conn::Device(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
            Conn::Device(f) => f.flush(),
        }
    }
}

/// A reader that waits for each chunk until a deadline.
struct Deadline<'a> {
    conn: &'a mut Conn,
    until: Instant,
    timeout: Duration,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let left = self.until.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.conn.wait_readable(left)? {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{:?}", self.timeout),
                ));
            }
            match self.conn.read(buf) {
                // A socket's read timeout is EAGAIN on Linux: check the deadline again.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                r => return r,
            }
        }
    }
}

/// A connection to the simulated PSP.
pub struct Client {
    conn: Conn,
    addr: String,
    timeout: Duration,
    next_id: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A request id no earlier client of this port is likely to have used: the
/// time, the process id and a counter (uniqueness, not secrecy, is needed).
fn fresh_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let id =
        nanos ^ (u64::from(std::process::id()) << 40) ^ COUNTER.fetch_add(1, Ordering::Relaxed);
    id.max(1)
}

impl Client {
    /// Connects to `addr` (virtio port names are looked up below `/sys`).
    pub fn connect(addr: &PspAddr, timeout: Duration) -> Result<Self, ClientError> {
        Self::connect_with_sys(addr, timeout, Path::new("/sys"))
    }

    /// [`Client::connect`] with another sysfs root (tests).
    pub fn connect_with_sys(
        addr: &PspAddr,
        timeout: Duration,
        sys: &Path,
    ) -> Result<Self, ClientError> {
        let shown = addr.to_string();
        let connect_err = |source| ClientError::Connect {
            addr: shown.clone(),
            source,
        };
        let conn = match addr {
            PspAddr::Unix(p) => Conn::Unix(UnixStream::connect(p).map_err(connect_err)?),
            PspAddr::Tcp(a) => {
                Conn::Tcp(std::net::TcpStream::connect(a.as_str()).map_err(connect_err)?)
            }
            PspAddr::Device(p) => Conn::Device(open_device(p).map_err(connect_err)?),
            PspAddr::Virtio(name) => {
                let dev = find_virtio_port(sys, name).ok_or_else(|| ClientError::NoPort {
                    name: name.clone(),
                    sys: sys.display().to_string(),
                })?;
                Conn::Device(open_device(&dev).map_err(connect_err)?)
            }
        };
        Ok(Client {
            conn,
            addr: shown,
            timeout,
            next_id: fresh_id(),
        })
    }

    /// The address connected to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Which TEE the VM was launched as, and the PSP's description of the launch.
    pub fn info(&mut self) -> Result<(TeeKind, String), ClientError> {
        match self.call(Request::Info)? {
            Response::Info { tee, description } => Ok((tee, description)),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Evidence of a VM launched as `tee`, binding `report_data`.
    pub fn evidence(
        &mut self,
        tee: TeeKind,
        report_data: [u8; 64],
    ) -> Result<Evidence, ClientError> {
        match self.call(Request::Evidence { tee, report_data })? {
            Response::Evidence(e) => Ok(e),
            Response::Info { .. } => Err(ClientError::Unexpected(
                "an INFO answer to an EVIDENCE request".into(),
            )),
            Response::Error { .. } => Err(ClientError::Unexpected("an error".into())),
        }
    }

    /// Sends `request` and returns the response with its id (errors become
    /// [`ClientError::Refused`]).
    pub fn call(&mut self, request: Request) -> Result<Response, ClientError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        write_frame(&mut self.conn, &RequestFrame { id, request }.encode())?;
        let mut reader = Deadline {
            conn: &mut self.conn,
            until: Instant::now() + self.timeout,
            timeout: self.timeout,
        };
        for _ in 0..=MAX_STALE {
            let body = match read_frame(&mut reader) {
                Ok(Some(body)) => body,
                Ok(None) => {
                    return Err(ClientError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the simulated PSP closed the connection",
                    )));
                }
                Err(FrameError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(ClientError::Timeout(self.timeout));
                }
                Err(e) => return Err(e.into()),
            };
            let frame = ResponseFrame::decode(&body)?;
            if frame.id != id {
                continue;
            }
            return match frame.response {
                Response::Error { code, message } => Err(ClientError::Refused { code, message }),
                r => Ok(r),
            };
        }
        Err(ClientError::Unexpected(format!(
            "{MAX_STALE} answers to other requests before ours"
        )))
    }
}

fn open_device(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print() {
        for s in [
            "unix:/run/psp.sock",
            "tcp:127.0.0.1:7000",
            "virtio:org.aether.sim-psp.0",
            "dev:/dev/vport0p1",
        ] {
            let a: PspAddr = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
        for bad in [
            "",
            "unix:",
            "tcp:host",
            "tcp::80",
            "ftp:x",
            "/run/psp.sock",
            "tcp:h:99999",
        ] {
            assert!(bad.parse::<PspAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn virtio_port_found_by_name() {
        let sys = tempfile::tempdir().unwrap();
        let ports = sys.path().join("class/virtio-ports");
        for (dev, name) in [("vport0p0", "other"), ("vport1p1", DEFAULT_PORT_NAME)] {
            std::fs::create_dir_all(ports.join(dev)).unwrap();
            std::fs::write(ports.join(dev).join("name"), format!("{name}\n")).unwrap();
        }
        assert_eq!(
            find_virtio_port(sys.path(), DEFAULT_PORT_NAME),
            Some(PathBuf::from("/dev/vport1p1"))
        );
        assert_eq!(find_virtio_port(sys.path(), "missing"), None);
        let err = Client::connect_with_sys(
            &PspAddr::Virtio("missing".into()),
            DEFAULT_TIMEOUT,
            sys.path(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("no virtio-serial port named missing"),
            "{err}"
        );
    }
}
