//! The simulated PSP's wire protocol, version 1.
//!
//! A connection carries frames in both directions; each request gets exactly
//! one response with the same `id`, in order. A frame is a big-endian `u32`
//! length followed by that many bytes of body:
//!
//! ```text
//! frame    = len:u32 body                       14 <= len <= MAX_FRAME (1 MiB)
//! body     = "APSP" version:u8 type:u8 id:u64 payload
//!
//! requests (type < 0x80)
//!   0x01 INFO       (no payload)                    which TEE the VM was launched as
//!   0x02 EVIDENCE   tee:u8 report_data:[u8; 64]     sign evidence binding report_data
//! responses (type >= 0x80)
//!   0x81 INFO       tee:u8 description:str
//!   0x82 EVIDENCE   tee:u8 = 1 (snp)  report:bytes vek:bytes has_chain:u8 [chain:bytes]
//!                   tee:u8 = 2 (tdx)  quote:bytes collateral:bytes
//!   0xFF ERROR      code:u16 message:str
//!
//! bytes = len:u32 data        (len <= MAX_FRAME)
//! str   = len:u16 utf8        (len <= MAX_TEXT = 1024)
//! ```
//!
//! Integers are big-endian. `tee` is 1 for SEV-SNP and 2 for TDX. The
//! evidence payload is exactly [`Evidence`]'s fields (the bytes the chain
//! verifies), so nothing is re-encoded between the signer and the verifier.
//!
//! Invariants the decoders enforce (they never panic, whatever the bytes;
//! a property test and the fuzz target `decode` check it): the magic, the
//! version (an unknown version is [`DecodeError::UnsupportedVersion`], so a
//! server can still answer with an ERROR of its own version), a known type
//! in the expected direction, every length inside the body and its bound,
//! UTF-8 text, and no trailing bytes. Frame readers refuse a length above
//! [`MAX_FRAME`] before reading the body, so a peer cannot make the other
//! side allocate more than that.

use aether_evidence::{Evidence, TeeKind};
use std::io::{Read, Write};

/// The first four bytes of every body.
pub const MAGIC: [u8; 4] = *b"APSP";
/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;
/// Largest frame body (and largest byte string inside one).
pub const MAX_FRAME: usize = 1 << 20;
/// Largest text field (descriptions, error messages), in bytes.
pub const MAX_TEXT: usize = 1024;
/// Length of the header: magic, version, type, id.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 8;

const T_INFO: u8 = 0x01;
const T_EVIDENCE: u8 = 0x02;
const T_INFO_RESPONSE: u8 = 0x81;
const T_EVIDENCE_RESPONSE: u8 = 0x82;
const T_ERROR: u8 = 0xFF;

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Which TEE the VM was launched as, and a description of the launch.
    Info,
    /// Evidence binding `report_data`, from a VM launched as `tee`.
    Evidence {
        /// The TEE the client expects.
        tee: TeeKind,
        /// The 64 bytes the evidence binds (SNP REPORT_DATA, TDX REPORTDATA).
        report_data: [u8; 64],
    },
}

/// A request with its id (echoed in the response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFrame {
    /// Chosen by the client; the response carries the same id.
    pub id: u64,
    /// The request.
    pub request: Request,
}

/// Why the PSP refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request did not decode.
    Malformed,
    /// The request's protocol version is not the server's.
    UnsupportedVersion,
    /// The VM was launched as another TEE than the request names.
    WrongTee,
    /// The server failed (a bug or a resource limit).
    Internal,
    /// A code this version does not know (from a newer peer).
    Other(u16),
}

impl ErrorCode {
    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            ErrorCode::Malformed => 1,
            ErrorCode::UnsupportedVersion => 2,
            ErrorCode::WrongTee => 3,
            ErrorCode::Internal => 4,
            ErrorCode::Other(c) => c,
        }
    }

    /// From the wire value.
    pub fn from_u16(v: u16) -> Self {
        match v {
            1 => ErrorCode::Malformed,
            2 => ErrorCode::UnsupportedVersion,
            3 => ErrorCode::WrongTee,
            4 => ErrorCode::Internal,
            c => ErrorCode::Other(c),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorCode::Malformed => f.write_str("malformed request"),
            ErrorCode::UnsupportedVersion => f.write_str("unsupported protocol version"),
            ErrorCode::WrongTee => f.write_str("wrong TEE"),
            ErrorCode::Internal => f.write_str("internal error"),
            ErrorCode::Other(c) => write!(f, "error code {c}"),
        }
    }
}

/// What the PSP answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The answer to [`Request::Info`].
    Info {
        /// The TEE the VM was launched as.
        tee: TeeKind,
        /// The launch, for humans (image, vCPUs, CPU type, ...).
        description: String,
    },
    /// The answer to [`Request::Evidence`].
    Evidence(Evidence),
    /// A refusal.
    Error {
        /// Why.
        code: ErrorCode,
        /// Details for humans.
        message: String,
    },
}

/// A response with the id of its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseFrame {
    /// The request's id (0 when the request was too broken to read one).
    pub id: u64,
    /// The response.
    pub response: Response,
}

/// Why bytes are not a valid body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the header.
    #[error("frame of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    /// The magic is not `APSP`.
    #[error("bad magic (not a simulated PSP frame)")]
    BadMagic,
    /// Another protocol version.
    #[error("protocol version {0} is not supported (this side speaks {VERSION})")]
    UnsupportedVersion(u8),
    /// A type this side does not know, or a response where a request was expected (or back).
    #[error("unexpected message type {0:#04x}")]
    UnexpectedType(u8),
    /// A TEE byte other than 1 or 2.
    #[error("unknown TEE {0}")]
    UnknownTee(u8),
    /// A field runs past the end of the body.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A field's length is above its bound.
    #[error("{field} of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A text field is not UTF-8.
    #[error("{0} is not UTF-8")]
    BadUtf8(&'static str),
    /// A flag byte other than 0 or 1.
    #[error("{0} must be 0 or 1")]
    BadFlag(&'static str),
    /// Bytes after the last field.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
}

fn tee_byte(tee: TeeKind) -> u8 {
    match tee {
        TeeKind::Snp => 1,
        TeeKind::Tdx => 2,
    }
}

fn tee_from(b: u8) -> Result<TeeKind, DecodeError> {
    match b {
        1 => Ok(TeeKind::Snp),
        2 => Ok(TeeKind::Tdx),
        other => Err(DecodeError::UnknownTee(other)),
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn header(kind: u8, id: u64) -> Self {
        let mut v = Vec::with_capacity(HEADER_LEN + 72);
        v.extend_from_slice(&MAGIC);
        v.push(VERSION);
        v.push(kind);
        v.extend_from_slice(&id.to_be_bytes());
        Writer(v)
    }
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }
    fn bytes(&mut self, b: &[u8]) {
        // Lengths above u32 cannot be produced by the signer; saturate
        // rather than wrap (the peer then refuses the frame).
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(b);
    }
    fn text(&mut self, s: &str) {
        // Cut at a character boundary within MAX_TEXT.
        let mut end = s.len().min(MAX_TEXT);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let len = end as u16; // end <= MAX_TEXT < u16::MAX
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(&s.as_bytes()[..end]);
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        let len = self.u32(field)? as usize;
        if len > MAX_FRAME {
            return Err(DecodeError::TooLong {
                field,
                len,
                max: MAX_FRAME,
            });
        }
        Ok(self.take(len, field)?.to_vec())
    }
    fn text(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = self.u16(field)? as usize;
        if len > MAX_TEXT {
            return Err(DecodeError::TooLong {
                field,
                len,
                max: MAX_TEXT,
            });
        }
        let raw = self.take(len, field)?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::BadUtf8(field))
    }
    fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::BadFlag(field)),
        }
    }
    fn finish(self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

/// Reads the header: `(type, id, payload reader)`.
fn header(body: &[u8]) -> Result<(u8, u64, Reader<'_>), DecodeError> {
    if body.len() < HEADER_LEN {
        return Err(DecodeError::TooShort(body.len()));
    }
    if body[..4] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if body[4] != VERSION {
        return Err(DecodeError::UnsupportedVersion(body[4]));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&body[6..14]);
    Ok((
        body[5],
        u64::from_be_bytes(id),
        Reader {
            rest: &body[HEADER_LEN..],
        },
    ))
}

/// The id of a body whose magic is right, whatever its version and
/// payload: what a server echoes when it refuses a frame.
pub fn peek_id(body: &[u8]) -> Option<u64> {
    if body.len() < HEADER_LEN || body[..4] != MAGIC {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&body[6..14]);
    Some(u64::from_be_bytes(id))
}

impl RequestFrame {
    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        match &self.request {
            Request::Info => Writer::header(T_INFO, self.id).0,
            Request::Evidence { tee, report_data } => {
                let mut w = Writer::header(T_EVIDENCE, self.id);
                w.u8(tee_byte(*tee));
                w.0.extend_from_slice(report_data);
                w.0
            }
        }
    }

    /// Decodes a body; never panics.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let (kind, id, mut r) = header(body)?;
        let request = match kind {
            T_INFO => Request::Info,
            T_EVIDENCE => {
                let tee = tee_from(r.u8("tee")?)?;
                let mut report_data = [0u8; 64];
                report_data.copy_from_slice(r.take(64, "report data")?);
                Request::Evidence { tee, report_data }
            }
            other => return Err(DecodeError::UnexpectedType(other)),
        };
        r.finish()?;
        Ok(RequestFrame { id, request })
    }
}

impl ResponseFrame {
    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        match &self.response {
            Response::Info { tee, description } => {
                let mut w = Writer::header(T_INFO_RESPONSE, self.id);
                w.u8(tee_byte(*tee));
                w.text(description);
                w.0
            }
            Response::Evidence(e) => {
                let mut w = Writer::header(T_EVIDENCE_RESPONSE, self.id);
                match e {
                    Evidence::Snp { report, vek, chain } => {
                        w.u8(tee_byte(TeeKind::Snp));
                        w.bytes(report);
                        w.bytes(vek);
                        match chain {
                            Some(c) => {
                                w.u8(1);
                                w.bytes(c);
                            }
                            None => w.u8(0),
                        }
                    }
                    Evidence::Tdx { quote, collateral } => {
                        w.u8(tee_byte(TeeKind::Tdx));
                        w.bytes(quote);
                        w.bytes(collateral);
                    }
                }
                w.0
            }
            Response::Error { code, message } => {
                let mut w = Writer::header(T_ERROR, self.id);
                w.0.extend_from_slice(&code.to_u16().to_be_bytes());
                w.text(message);
                w.0
            }
        }
    }

    /// Decodes a body; never panics.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let (kind, id, mut r) = header(body)?;
        let response = match kind {
            T_INFO_RESPONSE => Response::Info {
                tee: tee_from(r.u8("tee")?)?,
                description: r.text("description")?,
            },
            T_EVIDENCE_RESPONSE => Response::Evidence(match tee_from(r.u8("tee")?)? {
                TeeKind::Snp => {
                    let report = r.bytes("report")?;
                    let vek = r.bytes("vek")?;
                    let chain = if r.flag("chain flag")? {
                        Some(r.bytes("chain")?)
                    } else {
                        None
                    };
                    Evidence::Snp { report, vek, chain }
                }
                TeeKind::Tdx => Evidence::Tdx {
                    quote: r.bytes("quote")?,
                    collateral: r.bytes("collateral")?,
                },
            }),
            T_ERROR => Response::Error {
                code: ErrorCode::from_u16(r.u16("error code")?),
                message: r.text("message")?,
            },
            other => return Err(DecodeError::UnexpectedType(other)),
        };
        r.finish()?;
        Ok(ResponseFrame { id, response })
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream failed or ended inside a frame.
    #[error("reading a frame: {0}")]
    Io(#[from] std::io::Error),
    /// The length prefix is out of bounds (checked before reading the body).
    #[error("frame length {0} is outside {HEADER_LEN}..={MAX_FRAME}")]
    BadLength(usize),
}

/// Writes one frame (length prefix and body) and flushes.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| (*l as usize) <= MAX_FRAME)
        .ok_or_else(|| std::io::Error::other(format!("frame of {} bytes", body.len())))?;
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(body);
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame body; `Ok(None)` at end of stream before a frame starts.
pub fn read_frame(r: &mut impl Read) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if !(HEADER_LEN..=MAX_FRAME).contains(&len) {
        return Err(FrameError::BadLength(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snp() -> Evidence {
        Evidence::Snp {
            report: vec![1; 1184],
            vek: vec![2; 900],
            chain: Some(vec![3; 10]),
        }
    }

    #[test]
    fn round_trips() {
        for request in [
            Request::Info,
            Request::Evidence {
                tee: TeeKind::Tdx,
                report_data: [7; 64],
            },
        ] {
            let f = RequestFrame { id: 42, request };
            assert_eq!(RequestFrame::decode(&f.encode()).unwrap(), f);
        }
        for response in [
            Response::Info {
                tee: TeeKind::Snp,
                description: "worker-snp, 1 vCPU EPYC-v4".into(),
            },
            Response::Evidence(snp()),
            Response::Evidence(Evidence::Snp {
                report: vec![],
                vek: vec![],
                chain: None,
            }),
            Response::Evidence(Evidence::Tdx {
                quote: vec![4; 5000],
                collateral: b"{}".to_vec(),
            }),
            Response::Error {
                code: ErrorCode::WrongTee,
                message: "the VM was launched as snp".into(),
            },
            Response::Error {
                code: ErrorCode::Other(900),
                message: String::new(),
            },
        ] {
            let f = ResponseFrame {
                id: u64::MAX,
                response,
            };
            assert_eq!(ResponseFrame::decode(&f.encode()).unwrap(), f);
        }
    }

    #[test]
    fn request_layout_is_fixed() {
        let f = RequestFrame {
            id: 0x0102030405060708,
            request: Request::Evidence {
                tee: TeeKind::Snp,
                report_data: [0xAA; 64],
            },
        };
        let b = f.encode();
        assert_eq!(b.len(), HEADER_LEN + 1 + 64);
        assert_eq!(&b[..14], b"APSP\x01\x02\x01\x02\x03\x04\x05\x06\x07\x08");
        assert_eq!(b[14], 1);
        assert_eq!(peek_id(&b), Some(0x0102030405060708));
    }

    #[test]
    fn rejects_each_malformation() {
        let good = RequestFrame {
            id: 1,
            request: Request::Evidence {
                tee: TeeKind::Snp,
                report_data: [0; 64],
            },
        }
        .encode();
        let mut v = good.clone();
        v[0] = b'X';
        assert_eq!(RequestFrame::decode(&v), Err(DecodeError::BadMagic));
        let mut v = good.clone();
        v[4] = 2;
        assert_eq!(
            RequestFrame::decode(&v),
            Err(DecodeError::UnsupportedVersion(2))
        );
        assert_eq!(peek_id(&v), Some(1), "the id is readable for the refusal");
        let mut v = good.clone();
        v[5] = 0x81;
        assert_eq!(
            RequestFrame::decode(&v),
            Err(DecodeError::UnexpectedType(0x81))
        );
        let mut v = good.clone();
        v[14] = 3;
        assert_eq!(RequestFrame::decode(&v), Err(DecodeError::UnknownTee(3)));
        assert_eq!(
            RequestFrame::decode(&good[..good.len() - 1]),
            Err(DecodeError::Truncated("report data"))
        );
        let mut v = good.clone();
        v.push(0);
        assert_eq!(RequestFrame::decode(&v), Err(DecodeError::TrailingBytes(1)));
        assert_eq!(
            RequestFrame::decode(&good[..5]),
            Err(DecodeError::TooShort(5))
        );
        // A response type is not a request, and back.
        let resp = ResponseFrame {
            id: 1,
            response: Response::Evidence(snp()),
        }
        .encode();
        assert!(matches!(
            RequestFrame::decode(&resp),
            Err(DecodeError::UnexpectedType(0x82))
        ));
        assert!(matches!(
            ResponseFrame::decode(&good),
            Err(DecodeError::UnexpectedType(0x02))
        ));
        // A byte-string length above the bound is refused before any copy.
        let mut v = resp.clone();
        v[15..19].copy_from_slice(&(MAX_FRAME as u32 + 1).to_be_bytes());
        assert!(matches!(
            ResponseFrame::decode(&v),
            Err(DecodeError::TooLong {
                field: "report",
                ..
            })
        ));
        // Chain flag 2.
        let chain_flag_at = 14 + 1 + 4 + 1184 + 4 + 900;
        let mut v = resp.clone();
        v[chain_flag_at] = 2;
        assert_eq!(
            ResponseFrame::decode(&v),
            Err(DecodeError::BadFlag("chain flag"))
        );
        // Text not UTF-8, text too long.
        let err = ResponseFrame {
            id: 1,
            response: Response::Error {
                code: ErrorCode::Internal,
                message: "ab".into(),
            },
        }
        .encode();
        let mut v = err.clone();
        v[18] = 0xFF;
        assert_eq!(
            ResponseFrame::decode(&v),
            Err(DecodeError::BadUtf8("message"))
        );
        let mut v = err;
        v[16..18].copy_from_slice(&(MAX_TEXT as u16 + 1).to_be_bytes());
        assert!(matches!(
            ResponseFrame::decode(&v),
            Err(DecodeError::TooLong {
                field: "message",
                ..
            })
        ));
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary() {
        let f = ResponseFrame {
            id: 1,
            response: Response::Error {
                code: ErrorCode::Internal,
                message: "é".repeat(MAX_TEXT),
            },
        };
        let Response::Error { message, .. } = ResponseFrame::decode(&f.encode()).unwrap().response
        else {
            panic!("not an error")
        };
        assert_eq!(message.len(), MAX_TEXT);
    }

    #[test]
    fn frames_are_bounded_before_reading_the_body() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"APSP\x01\x01\0\0\0\0\0\0\0\x09").unwrap();
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap().unwrap().len(), 14);
        assert!(read_frame(&mut r).unwrap().is_none(), "clean end of stream");
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        assert!(matches!(
            read_frame(&mut &huge[..]),
            Err(FrameError::BadLength(_))
        ));
        let tiny = 3u32.to_be_bytes();
        assert!(matches!(
            read_frame(&mut &tiny[..]),
            Err(FrameError::BadLength(3))
        ));
        // Ends inside the length or the body.
        assert!(matches!(
            read_frame(&mut &[0u8, 0][..]),
            Err(FrameError::Io(_))
        ));
        assert!(matches!(
            read_frame(&mut &buf[..10]),
            Err(FrameError::Io(_))
        ));
        assert!(write_frame(&mut Vec::new(), &vec![0; MAX_FRAME + 1]).is_err());
    }
}
