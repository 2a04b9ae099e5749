//! TCG2 crypto-agile event logs (TPM 2.0 logs and the TDX CCEL) and their replay.
//!
//! # Format (TCG PC Client Platform Firmware Profile, "crypto agile")
//!
//! ```text
//! TCG_PCR_EVENT (header, SHA-1 format)
//!   u32 pcr_index | u32 event_type (EV_NO_ACTION) | u8 digest[20] | u32 event_size | event
//!   event = TCG_EfiSpecIDEvent:
//!     "Spec ID Event03\0" | u32 platform_class | u8 minor | u8 major | u8 errata
//!     | u8 uintn_size | u32 n | n × (u16 alg_id, u16 digest_size) | u8 vendor_size | vendor
//! TCG_PCR_EVENT2 (repeated)
//!   u32 pcr_index | u32 event_type | u32 count | count × (u16 alg_id, digest) | u32 event_size | event
//! ```
//!
//! In a CCEL log the "PCR index" is the CC measurement-register index:
//! 0 = MRTD (never extended by events), 1..4 = RTMR0..RTMR3, SHA-384 only.
//! Replay: `R = SHA-384(R || digest)` per event, starting from zero;
//! `EV_NO_ACTION` events are informational and not extended.
//!
//! The CCEL area (size LAML) usually continues past the last event with
//! 0xff (or 0x00) filler; parsing stops at the first event header whose
//! index and type are all-ones or all-zeros and reports the trailing bytes.

use crate::Sha384Digest;
use crate::bytes::Cursor;
use crate::error::{Error, Result};
use crate::uefi::UefiVariableData;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::BTreeMap;

/// `EV_NO_ACTION`.
pub const EV_NO_ACTION: u32 = 0x3;
/// `EV_SEPARATOR`.
pub const EV_SEPARATOR: u32 = 0x4;
/// `EV_EFI_VARIABLE_DRIVER_CONFIG`.
pub const EV_EFI_VARIABLE_DRIVER_CONFIG: u32 = 0x8000_0001;
/// `EV_EFI_VARIABLE_BOOT`.
pub const EV_EFI_VARIABLE_BOOT: u32 = 0x8000_0002;
/// `EV_EFI_ACTION`.
pub const EV_EFI_ACTION: u32 = 0x8000_0007;

/// `TPM_ALG_SHA1`.
pub const TPM_ALG_SHA1: u16 = 0x0004;
/// `TPM_ALG_SHA256`.
pub const TPM_ALG_SHA256: u16 = 0x000b;
/// `TPM_ALG_SHA384`.
pub const TPM_ALG_SHA384: u16 = 0x000c;
/// `TPM_ALG_SHA512`.
pub const TPM_ALG_SHA512: u16 = 0x000d;

/// Upper bound on algorithms in a Spec ID header (the TPM registry has fewer).
const MAX_ALGORITHMS: u32 = 32;

/// Name and digest size of a `TPM_ALG_ID`, when known.
pub fn algorithm_info(alg: u16) -> Option<(&'static str, usize)> {
    Some(match alg {
        TPM_ALG_SHA1 => ("SHA-1", 20),
        TPM_ALG_SHA256 => ("SHA-256", 32),
        TPM_ALG_SHA384 => ("SHA-384", 48),
        TPM_ALG_SHA512 => ("SHA-512", 64),
        0x0012 => ("SM3-256", 32),
        0x0027 => ("SHA3-256", 32),
        0x0028 => ("SHA3-384", 48),
        0x0029 => ("SHA3-512", 64),
        _ => return None,
    })
}

/// TCG name of an event type (`EV_…`), or `None` for unassigned values.
pub fn event_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0x0 => "EV_PREBOOT_CERT",
        0x1 => "EV_POST_CODE",
        0x2 => "EV_UNUSED",
        0x3 => "EV_NO_ACTION",
        0x4 => "EV_SEPARATOR",
        0x5 => "EV_ACTION",
        0x6 => "EV_EVENT_TAG",
        0x7 => "EV_S_CRTM_CONTENTS",
        0x8 => "EV_S_CRTM_VERSION",
        0x9 => "EV_CPU_MICROCODE",
        0xa => "EV_PLATFORM_CONFIG_FLAGS",
        0xb => "EV_TABLE_OF_DEVICES",
        0xc => "EV_COMPACT_HASH",
        0xd => "EV_IPL",
        0xe => "EV_IPL_PARTITION_DATA",
        0xf => "EV_NONHOST_CODE",
        0x10 => "EV_NONHOST_CONFIG",
        0x11 => "EV_NONHOST_INFO",
        0x12 => "EV_OMIT_BOOT_DEVICE_EVENTS",
        0x13 => "EV_POST_CODE2",
        0x8000_0000 => "EV_EFI_EVENT_BASE",
        0x8000_0001 => "EV_EFI_VARIABLE_DRIVER_CONFIG",
        0x8000_0002 => "EV_EFI_VARIABLE_BOOT",
        0x8000_0003 => "EV_EFI_BOOT_SERVICES_APPLICATION",
        0x8000_0004 => "EV_EFI_BOOT_SERVICES_DRIVER",
        0x8000_0005 => "EV_EFI_RUNTIME_SERVICES_DRIVER",
        0x8000_0006 => "EV_EFI_GPT_EVENT",
        0x8000_0007 => "EV_EFI_ACTION",
        0x8000_0008 => "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        0x8000_0009 => "EV_EFI_HANDOFF_TABLES",
        0x8000_000a => "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        0x8000_000b => "EV_EFI_HANDOFF_TABLES2",
        0x8000_000c => "EV_EFI_VARIABLE_BOOT2",
        0x8000_000d => "EV_EFI_GPT_EVENT2",
        0x8000_0010 => "EV_EFI_HCRTM_EVENT",
        0x8000_00e0 => "EV_EFI_VARIABLE_AUTHORITY",
        0x8000_00e1 => "EV_EFI_SPDM_FIRMWARE_BLOB",
        0x8000_00e2 => "EV_EFI_SPDM_FIRMWARE_CONFIG",
        0x8000_00e3 => "EV_EFI_SPDM_DEVICE_POLICY",
        0x8000_00e4 => "EV_EFI_SPDM_DEVICE_AUTHORITY",
        _ => return None,
    })
}

/// The event-type name, or its hex value for unassigned types.
pub fn event_type_label(t: u32) -> String {
    event_type_name(t).map_or_else(|| format!("{t:#010x}"), str::to_string)
}

fn hex_ser<S: serde::Serializer>(v: &[u8], s: S) -> core::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

/// One (algorithm, digest size) pair of the Spec ID header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AlgorithmSize {
    /// `TPM_ALG_ID`.
    pub alg_id: u16,
    /// Digest size in bytes.
    pub digest_size: u16,
}

/// `TCG_EfiSpecIDEvent`: the log's header event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecIdEvent {
    /// PCR index of the header event (informational).
    pub header_index: u32,
    /// Platform class (0 client, 1 server).
    pub platform_class: u32,
    /// Spec version minor.
    pub spec_version_minor: u8,
    /// Spec version major.
    pub spec_version_major: u8,
    /// Spec errata.
    pub spec_errata: u8,
    /// Size of UINTN in 32-bit words (1 or 2).
    pub uintn_size: u8,
    /// The digest algorithms every event carries.
    pub algorithms: Vec<AlgorithmSize>,
    /// Vendor information.
    #[serde(serialize_with = "hex_ser")]
    pub vendor_info: Vec<u8>,
}

/// One digest of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDigest {
    /// `TPM_ALG_ID`.
    pub alg_id: u16,
    /// The digest.
    #[serde(serialize_with = "hex_ser")]
    pub digest: Vec<u8>,
}

/// One `TCG_PCR_EVENT2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Offset of the event in the log.
    pub offset: usize,
    /// PCR index (TPM log) or CC measurement-register index (CCEL).
    pub register_index: u32,
    /// Event type.
    pub event_type: u32,
    /// Digests, in log order.
    pub digests: Vec<EventDigest>,
    /// Event data.
    #[serde(serialize_with = "hex_ser")]
    pub data: Vec<u8>,
}

impl Event {
    /// The digest of algorithm `alg`, if present.
    pub fn digest(&self, alg: u16) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|d| d.alg_id == alg)
            .map(|d| d.digest.as_slice())
    }

    /// A human-readable summary of the event data, when it has a known shape.
    pub fn description(&self) -> Option<String> {
        match self.event_type {
            EV_EFI_VARIABLE_DRIVER_CONFIG | EV_EFI_VARIABLE_BOOT | 0x8000_000c | 0x8000_00e0 => {
                UefiVariableData::decode(&self.data)
                    .map(|v| format!("{}:{} ({} bytes)", v.vendor, v.name, v.data.len()))
            }
            // EV_EFI_PLATFORM_FIRMWARE_BLOB2 / EV_EFI_HANDOFF_TABLES2: u8 length + description.
            0x8000_000a | 0x8000_000b => {
                let n = usize::from(*self.data.first()?);
                printable(self.data.get(1..1 + n)?)
            }
            _ => printable(&self.data),
        }
    }

    /// For event types whose digest is defined as a hash of (part of) the
    /// event data, whether the `alg` digest matches; `None` otherwise.
    pub fn data_digest_matches(&self, alg: u16) -> Option<bool> {
        let hashed: Vec<u8> = match self.event_type {
            EV_SEPARATOR | EV_EFI_ACTION | 0x5 | EV_EFI_VARIABLE_DRIVER_CONFIG => self.data.clone(),
            EV_EFI_VARIABLE_BOOT => UefiVariableData::decode(&self.data)?.data,
            _ => return None,
        };
        let want = self.digest(alg)?;
        let got = hash(alg, &hashed)?;
        Some(got == want)
    }
}

fn printable(b: &[u8]) -> Option<String> {
    let trimmed = b.strip_suffix(&[0]).unwrap_or(b);
    if !trimmed.is_empty()
        && trimmed
            .iter()
            .all(|c| (0x20..0x7f).contains(c) || *c == b'\n' || *c == b'\t')
    {
        Some(String::from_utf8_lossy(trimmed).into_owned())
    } else {
        None
    }
}

/// Hash `data` with `alg` (SHA-256/384/512 supported).
pub fn hash(alg: u16, data: &[u8]) -> Option<Vec<u8>> {
    Some(match alg {
        TPM_ALG_SHA256 => Sha256::digest(data).to_vec(),
        TPM_ALG_SHA384 => Sha384::digest(data).to_vec(),
        TPM_ALG_SHA512 => Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

fn extend(alg: u16, register: &[u8], digest: &[u8]) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(register.len() + digest.len());
    buf.extend_from_slice(register);
    buf.extend_from_slice(digest);
    hash(alg, &buf)
}

/// A decoded crypto-agile event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventLog {
    /// The Spec ID header.
    pub spec_id: SpecIdEvent,
    /// The events after the header.
    pub events: Vec<Event>,
    /// Bytes of the input the header and events occupy.
    pub log_len: usize,
    /// Filler bytes after the last event (0xff / 0x00 area padding).
    pub trailing_len: usize,
}

fn truncated(offset: usize, what: &'static str) -> impl Fn((usize, usize)) -> Error {
    move |(need, have)| Error::EventLogTruncated {
        offset,
        what,
        need,
        have,
    }
}

fn parse_spec_id(c: &mut Cursor<'_>) -> Result<SpecIdEvent> {
    let at = c.pos();
    let header_index = c.u32().map_err(truncated(at, "header event"))?;
    let event_type = c.u32().map_err(truncated(at, "header event"))?;
    if event_type != EV_NO_ACTION {
        return Err(Error::SpecIdEvent(format!(
            "first event has type {}, expected EV_NO_ACTION (not a crypto-agile log)",
            event_type_label(event_type)
        )));
    }
    c.take(20).map_err(truncated(at, "header SHA-1 digest"))?;
    let size = c.u32().map_err(truncated(at, "header event size"))? as usize;
    let body = c.take(size).map_err(truncated(at, "Spec ID event"))?;
    let mut b = Cursor::new(body, 0);
    let sig = b
        .take(16)
        .map_err(|_| Error::SpecIdEvent("shorter than its signature".into()))?;
    if sig != b"Spec ID Event03\0" {
        return Err(Error::SpecIdEvent(format!(
            "signature {:?}, expected \"Spec ID Event03\" (SHA-1-only logs are not supported)",
            String::from_utf8_lossy(sig)
        )));
    }
    let short = |_| Error::SpecIdEvent("Spec ID event truncated".into());
    let platform_class = b.u32().map_err(short)?;
    let v = b.take(4).map_err(short)?;
    let count = b.u32().map_err(short)?;
    if count == 0 || count > MAX_ALGORITHMS {
        return Err(Error::SpecIdEvent(format!(
            "{count} digest algorithms declared (1..={MAX_ALGORITHMS})"
        )));
    }
    let mut algorithms = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let alg_id = b.u16().map_err(short)?;
        let digest_size = b.u16().map_err(short)?;
        if let Some((name, size)) = algorithm_info(alg_id)
            && usize::from(digest_size) != size
        {
            return Err(Error::SpecIdEvent(format!(
                "{name} declared with digest size {digest_size}, expected {size}"
            )));
        }
        if digest_size == 0 {
            return Err(Error::SpecIdEvent(format!(
                "algorithm {alg_id:#06x} declared with digest size 0"
            )));
        }
        if algorithms
            .iter()
            .any(|a: &AlgorithmSize| a.alg_id == alg_id)
        {
            return Err(Error::SpecIdEvent(format!(
                "algorithm {alg_id:#06x} declared twice"
            )));
        }
        algorithms.push(AlgorithmSize {
            alg_id,
            digest_size,
        });
    }
    let vendor_size = usize::from(b.take(1).map_err(short)?[0]);
    let vendor_info = b.take(vendor_size).map_err(short)?.to_vec();
    Ok(SpecIdEvent {
        header_index,
        platform_class,
        spec_version_minor: v[0],
        spec_version_major: v[1],
        spec_errata: v[2],
        uintn_size: v[3],
        algorithms,
        vendor_info,
    })
}

impl EventLog {
    /// Decodes a crypto-agile log, stopping cleanly at 0xff/0x00 filler.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(bytes, 0);
        let spec_id = parse_spec_id(&mut c)?;
        let mut events = Vec::new();
        loop {
            let offset = c.pos();
            let rest = &bytes[offset..];
            if rest.is_empty() {
                break;
            }
            let head = &rest[..rest.len().min(8)];
            if head.iter().all(|b| *b == 0xff) || head.iter().all(|b| *b == 0) {
                break;
            }
            let index = events.len();
            let register_index = c.u32().map_err(truncated(offset, "event header"))?;
            let event_type = c.u32().map_err(truncated(offset, "event header"))?;
            let count = c.u32().map_err(truncated(offset, "digest count"))?;
            if count == 0 || count as usize > spec_id.algorithms.len() {
                return Err(Error::DigestCount {
                    index,
                    offset,
                    count,
                    declared: spec_id.algorithms.len(),
                });
            }
            let mut digests = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let alg_id = c.u16().map_err(truncated(offset, "digest algorithm"))?;
                let alg = spec_id
                    .algorithms
                    .iter()
                    .find(|a| a.alg_id == alg_id)
                    .ok_or(Error::UnknownDigestAlgorithm {
                        index,
                        offset,
                        alg: alg_id,
                    })?;
                let digest = c
                    .take(usize::from(alg.digest_size))
                    .map_err(truncated(offset, "digest"))?;
                digests.push(EventDigest {
                    alg_id,
                    digest: digest.to_vec(),
                });
            }
            let size = c.u32().map_err(truncated(offset, "event size"))? as usize;
            let data = c
                .take(size)
                .map_err(truncated(offset, "event data"))?
                .to_vec();
            events.push(Event {
                offset,
                register_index,
                event_type,
                digests,
                data,
            });
        }
        let log_len = c.pos();
        Ok(Self {
            spec_id,
            events,
            log_len,
            trailing_len: bytes.len() - log_len,
        })
    }

    /// Replays a CCEL log into RTMR0..RTMR3 (MR index 1..4, SHA-384).
    pub fn replay_rtmrs(&self) -> Result<[Sha384Digest; 4]> {
        let mut rtmrs = [[0u8; 48]; 4];
        for (index, e) in self.events.iter().enumerate() {
            if e.event_type == EV_NO_ACTION {
                continue;
            }
            let reason = match e.register_index {
                0 => Some("is MRTD, which no runtime event can extend"),
                1..=4 => None,
                _ => Some("is beyond RTMR3 (CC MR index 4)"),
            };
            if let Some(reason) = reason {
                return Err(Error::Replay {
                    index,
                    event_type: event_type_label(e.event_type),
                    register: e.register_index,
                    reason,
                });
            }
            let d = e
                .digest(TPM_ALG_SHA384)
                .ok_or(Error::MissingBank("SHA-384"))?;
            let r = &mut rtmrs[e.register_index as usize - 1];
            let mut h = Sha384::new();
            h.update(*r);
            h.update(d);
            *r = h.finalize().into();
        }
        Ok(rtmrs)
    }

    /// Replays a TPM log into the PCRs of the `alg` bank (SHA-256/384/512).
    /// PCR 0 starts at the locality of a `StartupLocality` event when present.
    pub fn replay_pcrs(&self, alg: u16) -> Result<BTreeMap<u32, Vec<u8>>> {
        let (name, size) = algorithm_info(alg).ok_or(Error::MissingBank("requested"))?;
        if hash(alg, &[]).is_none() {
            return Err(Error::MissingBank(name));
        }
        if !self.spec_id.algorithms.iter().any(|a| a.alg_id == alg) {
            return Err(Error::MissingBank(name));
        }
        let mut pcrs: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        for (index, e) in self.events.iter().enumerate() {
            if e.event_type == EV_NO_ACTION {
                if e.register_index == 0
                    && let Some(rest) = e.data.strip_prefix(b"StartupLocality\0")
                    && let Some(&loc) = rest.first()
                {
                    let mut v = vec![0u8; size];
                    v[size - 1] = loc;
                    pcrs.insert(0, v);
                }
                continue;
            }
            if e.register_index > 23 {
                return Err(Error::Replay {
                    index,
                    event_type: event_type_label(e.event_type),
                    register: e.register_index,
                    reason: "is not a TPM PCR (0..=23)",
                });
            }
            let d = e.digest(alg).ok_or(Error::MissingBank(name))?;
            let r = pcrs
                .entry(e.register_index)
                .or_insert_with(|| vec![0u8; size]);
            *r = extend(alg, r, d).ok_or(Error::MissingBank(name))?;
        }
        Ok(pcrs)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a crypto-agile log with the given algorithms and events (index, type, data).
    pub(crate) fn build_log(algs: &[(u16, u16)], events: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut spec = Vec::new();
        spec.extend_from_slice(b"Spec ID Event03\0");
        spec.extend_from_slice(&0u32.to_le_bytes());
        spec.extend_from_slice(&[0, 2, 0, 2]);
        spec.extend_from_slice(&(algs.len() as u32).to_le_bytes());
        for (a, s) in algs {
            spec.extend_from_slice(&a.to_le_bytes());
            spec.extend_from_slice(&s.to_le_bytes());
        }
        spec.push(0);
        let mut log = Vec::new();
        log.extend_from_slice(&0u32.to_le_bytes());
        log.extend_from_slice(&EV_NO_ACTION.to_le_bytes());
        log.extend_from_slice(&[0u8; 20]);
        log.extend_from_slice(&(spec.len() as u32).to_le_bytes());
        log.extend_from_slice(&spec);
        for (idx, ty, data) in events {
            log.extend_from_slice(&idx.to_le_bytes());
            log.extend_from_slice(&ty.to_le_bytes());
            log.extend_from_slice(&(algs.len() as u32).to_le_bytes());
            for (a, _) in algs {
                log.extend_from_slice(&a.to_le_bytes());
                log.extend_from_slice(&hash(*a, data).unwrap());
            }
            log.extend_from_slice(&(data.len() as u32).to_le_bytes());
            log.extend_from_slice(data);
        }
        log
    }

    #[test]
    fn replays_rtmrs_by_hand() {
        let log = build_log(
            &[(TPM_ALG_SHA384, 48)],
            &[
                (1, EV_SEPARATOR, &[0, 0, 0, 0]),
                (3, EV_EFI_ACTION, b"x"),
                (2, EV_NO_ACTION, b"n"),
            ],
        );
        let mut padded = log.clone();
        padded.extend_from_slice(&[0xff; 100]);
        let parsed = EventLog::parse(&padded).unwrap();
        assert_eq!(parsed.events.len(), 3);
        assert_eq!(parsed.trailing_len, 100);
        assert_eq!(parsed.log_len, log.len());
        let r = parsed.replay_rtmrs().unwrap();
        let sep = Sha384::digest([0u8; 4]);
        let want0: Sha384Digest = Sha384::digest([&[0u8; 48][..], &sep[..]].concat()).into();
        assert_eq!(r[0], want0);
        assert_eq!(r[1], [0u8; 48], "EV_NO_ACTION is not extended");
        assert_ne!(r[2], [0u8; 48]);
        assert_eq!(r[3], [0u8; 48]);
        assert_eq!(
            parsed.events[0].data_digest_matches(TPM_ALG_SHA384),
            Some(true)
        );
        assert_eq!(parsed.events[1].description().as_deref(), Some("x"));
    }

    #[test]
    fn tpm_replay_with_two_banks_and_locality() {
        let mut loc = b"StartupLocality\0".to_vec();
        loc.push(3);
        let log = build_log(
            &[(TPM_ALG_SHA256, 32), (TPM_ALG_SHA384, 48)],
            &[
                (0, EV_NO_ACTION, &loc),
                (0, 0x8, b"v"),
                (7, EV_SEPARATOR, &[0; 4]),
            ],
        );
        let parsed = EventLog::parse(&log).unwrap();
        let p = parsed.replay_pcrs(TPM_ALG_SHA256).unwrap();
        let mut init = vec![0u8; 32];
        init[31] = 3;
        assert_eq!(
            p[&0],
            extend(TPM_ALG_SHA256, &init, &Sha256::digest(b"v")).unwrap()
        );
        assert_eq!(p.len(), 2);
        assert!(parsed.replay_pcrs(TPM_ALG_SHA512).is_err());
        assert!(
            parsed.replay_rtmrs().is_err(),
            "PCR 0 is MRTD in CCEL terms"
        );
    }

    #[test]
    fn malformed_logs_are_errors_not_panics() {
        let log = build_log(&[(TPM_ALG_SHA384, 48)], &[(1, EV_SEPARATOR, &[0; 4])]);
        for cut in [0, 10, 40, 70, log.len() - 1] {
            assert!(EventLog::parse(&log[..cut]).is_err(), "cut {cut}");
        }
        let mut bad_alg = log.clone();
        let ev = bad_alg.len() - 4 - 4 - 48 - 2;
        bad_alg[ev] = 0x0b;
        assert!(matches!(
            EventLog::parse(&bad_alg),
            Err(Error::UnknownDigestAlgorithm { .. })
        ));
        assert_eq!(event_type_name(0x8000_0007), Some("EV_EFI_ACTION"));
        assert_eq!(event_type_label(0x1234), "0x00001234");
    }
}
