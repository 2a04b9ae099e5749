//! DCAP quote parsing (v4 and v5 TDX quotes) into typed, serializable fields.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! v4: header (48) | TD report body (584, TDX 1.0)            | auth data length (4) | auth data
//! v5: header (48) | body type (2) | body size (4) | body     | auth data length (4) | auth data
//!     body: type 2 = TDX 1.0 (584), type 3 = TDX 1.5 (648), type 4 = TDX 1.5 ex (885)
//! ```
//!
//! The attestation key signs `header .. end of body` (the "signed region",
//! [`TdQuote::signed_len`]). The auth data holds that signature, the attestation
//! key, the QE report signed by the PCK key, and the PCK certificate chain.
//!
//! The decoding itself is `dcap-qvl`'s (length-checked SCALE decoding; it
//! allocates at most 1 MiB per length-prefixed field). This module adds an
//! input-size bound before decoding and contains any panic as an error (see
//! `parse_dcap_quote`). Bytes after the auth data (zero padding of quote
//! buffers) are tolerated and counted, never read.

use dcap_qvl::quote::{Quote, Report, TDReport10};
use serde::Serialize;

use crate::error::VerifyError;
use crate::hex_bytes::{HexBytes, Measurement};

/// Largest quote accepted, in bytes. Real TDX quotes are about 5 KB (most of it
/// the PEM PCK chain); the bound keeps hostile inputs from costing more than a
/// bounded parse.
pub const MAX_QUOTE_LEN: usize = 64 * 1024;

/// Size of the quote header.
pub const HEADER_LEN: usize = 48;

/// TEE type of a TDX quote.
pub const TEE_TYPE_TDX: u32 = 0x81;

/// Intel's QE vendor id.
pub const INTEL_QE_VENDOR_ID: [u8; 16] = dcap_qvl::INTEL_QE_VENDOR_ID;

/// The quote header (48 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteHeader {
    /// Quote format version: 4 or 5 for TDX.
    pub version: u16,
    /// Attestation key type: 2 = ECDSA-256-with-P-256.
    pub attestation_key_type: u16,
    /// TEE type: 0x81 = TDX, 0 = SGX.
    pub tee_type: u32,
    /// Security version of the quoting enclave.
    pub qe_svn: u16,
    /// Security version of the provisioning certification enclave.
    pub pce_svn: u16,
    /// QE vendor id (Intel's is `939a7233f79c4ca9940a0db3957f0607`).
    pub qe_vendor_id: HexBytes<16>,
    /// User data: the first 16 bytes are the platform's QE id.
    pub user_data: HexBytes<20>,
}

/// Which TD report body the quote carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TdReportKind {
    /// TDX 1.0 TD report (quote v4, or v5 body type 2), 584 bytes.
    #[serde(rename = "TDX 1.0")]
    Tdx10,
    /// TDX 1.5 TD report (v5 body type 3), 648 bytes: adds TEE_TCB_SVN2 and MRSERVICETD.
    #[serde(rename = "TDX 1.5")]
    Tdx15,
    /// TDX 1.5 extended TD report (v5 body type 4), 885 bytes.
    #[serde(rename = "TDX 1.5 ex")]
    Tdx15Ex,
}

/// TD attributes (TDX module ABI, TDREPORT `ATTRIBUTES`), decoded.
///
/// | bits | name | meaning |
/// |---|---|---|
/// | 0 | DEBUG | TD debug mode: host VMM can read and write TD state and memory |
/// | 7:1 | TUD (other) | reserved "TD under debug" bits; any TUD bit makes the TD untrusted |
/// | 16 | ICSSD | instruction-count based single-step defense |
/// | 17 | SERVTD_EXT | SERVTD_EXT_STRUCT hash included in the report |
/// | 27 | LASS | linear address space separation allowed |
/// | 28 | SEPT_VE_DISABLE | no #VE on access to pending private pages |
/// | 29 | MIGRATABLE | TD can be migrated by a migration TD |
/// | 30 | PKS | supervisor protection keys allowed |
/// | 31 | KL | key locker allowed |
/// | 62 | TPA | TDX Connect provisioning agent |
/// | 63 | PERFMON | perfmon and PERF_METRICS allowed |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TdAttributes {
    /// The raw 8 bytes as in the report.
    pub raw: HexBytes<8>,
    /// TUD byte (bits 7:0); non-zero means the TD is under debug.
    pub tud: u8,
    /// Bit 0: DEBUG.
    pub debug: bool,
    /// Bit 16: ICSSD.
    pub icssd: bool,
    /// Bit 17: SERVTD_EXT.
    pub servtd_ext: bool,
    /// Bit 27: LASS.
    pub lass: bool,
    /// Bit 28: SEPT_VE_DISABLE.
    pub sept_ve_disable: bool,
    /// Bit 29: MIGRATABLE.
    pub migratable: bool,
    /// Bit 30: PKS.
    pub pks: bool,
    /// Bit 31: KL.
    pub kl: bool,
    /// Bit 62: TPA.
    pub tpa: bool,
    /// Bit 63: PERFMON.
    pub perfmon: bool,
}

impl TdAttributes {
    /// Decodes the 8 attribute bytes of a TD report.
    pub fn decode(raw: [u8; 8]) -> Self {
        let value = u64::from_le_bytes(raw);
        let bit = |n: u32| value & (1u64 << n) != 0;
        Self {
            raw: HexBytes(raw),
            tud: raw[0],
            debug: bit(0),
            icssd: bit(16),
            servtd_ext: bit(17),
            lass: bit(27),
            sept_ve_disable: bit(28),
            migratable: bit(29),
            pks: bit(30),
            kl: bit(31),
            tpa: bit(62),
            perfmon: bit(63),
        }
    }
}

/// The TD report body of a quote: every field typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdReportBody {
    /// TDX 1.0, 1.5 or 1.5 ex.
    pub kind: TdReportKind,
    /// TEE_TCB_SVN: TDX module SVN (byte 0), module version (byte 1), ...
    pub tee_tcb_svn: HexBytes<16>,
    /// MRSEAM: measurement of the TDX module.
    pub mrseam: Measurement,
    /// MRSIGNERSEAM: signer of the TDX module (zero for Intel's).
    pub mrsignerseam: Measurement,
    /// SEAMATTRIBUTES.
    pub seam_attributes: HexBytes<8>,
    /// TD attributes, decoded.
    pub td_attributes: TdAttributes,
    /// XFAM: extended features available to the TD.
    pub xfam: HexBytes<8>,
    /// MRTD: measurement of the initial TD contents (firmware).
    pub mrtd: Measurement,
    /// MRCONFIGID: software-defined configuration id set by the host.
    pub mrconfigid: Measurement,
    /// MROWNER: software-defined owner id.
    pub mrowner: Measurement,
    /// MROWNERCONFIG: software-defined owner configuration.
    pub mrownerconfig: Measurement,
    /// RTMR0..RTMR3: run-time extendable measurement registers.
    pub rtmr: [Measurement; 4],
    /// REPORTDATA: 64 bytes chosen by the TD (binds the evidence to its content).
    pub report_data: HexBytes<64>,
    /// TEE_TCB_SVN2 (TDX 1.5): the current TCB after a TD-preserving update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tee_tcb_svn2: Option<HexBytes<16>>,
    /// MRSERVICETD (TDX 1.5): hash of the bound service TDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrservicetd: Option<Measurement>,
}

impl TdReportBody {
    fn from_td10(kind: TdReportKind, r: &TDReport10) -> Self {
        Self {
            kind,
            tee_tcb_svn: HexBytes(r.tee_tcb_svn),
            mrseam: HexBytes(r.mr_seam),
            mrsignerseam: HexBytes(r.mr_signer_seam),
            seam_attributes: HexBytes(r.seam_attributes),
            td_attributes: TdAttributes::decode(r.td_attributes),
            xfam: HexBytes(r.xfam),
            mrtd: HexBytes(r.mr_td),
            mrconfigid: HexBytes(r.mr_config_id),
            mrowner: HexBytes(r.mr_owner),
            mrownerconfig: HexBytes(r.mr_owner_config),
            rtmr: [
                HexBytes(r.rt_mr0),
                HexBytes(r.rt_mr1),
                HexBytes(r.rt_mr2),
                HexBytes(r.rt_mr3),
            ],
            report_data: HexBytes(r.report_data),
            tee_tcb_svn2: None,
            mrservicetd: None,
        }
    }
}

/// A parsed TDX quote (not yet verified: nothing here is authenticated).
#[derive(Debug, Clone)]
pub struct TdQuote {
    /// The header.
    pub header: QuoteHeader,
    /// The TD report body.
    pub body: TdReportBody,
    /// Length of the signed region (header, v5 body descriptor, body).
    pub signed_len: usize,
    /// Certification data type of the PCK chain (5 = PEM chain in the quote).
    pub cert_data_type: u16,
    /// Unsigned bytes after the auth data (padding), ignored.
    pub trailing_len: usize,
    pub(crate) dcap: Quote,
}

impl TdQuote {
    /// Parses a TDX DCAP quote (v4 or v5). Rejects SGX quotes, inputs larger than
    /// [`MAX_QUOTE_LEN`] and truncated layouts. Never panics.
    pub fn parse(bytes: &[u8]) -> Result<Self, VerifyError> {
        // The version and TEE type decide the layout: check them first so that a
        // quote of another kind gets its own error rather than a layout error.
        if let (true, Some(version), Some(tee_type)) = (
            (HEADER_LEN..=MAX_QUOTE_LEN).contains(&bytes.len()),
            bytes.get(0..2).and_then(|b| <[u8; 2]>::try_from(b).ok()),
            bytes.get(4..8).and_then(|b| <[u8; 4]>::try_from(b).ok()),
        ) {
            let tee_type = u32::from_le_bytes(tee_type);
            if tee_type != TEE_TYPE_TDX {
                return Err(VerifyError::TeeType { tee_type });
            }
            let version = u16::from_le_bytes(version);
            if !matches!(version, 4 | 5) {
                return Err(VerifyError::QuoteVersion {
                    version,
                    accepted: vec![4, 5],
                });
            }
        }
        let (dcap, trailing_len) = parse_dcap_quote(bytes)?;
        let h = &dcap.header;
        let header = QuoteHeader {
            version: h.version,
            attestation_key_type: h.attestation_key_type,
            tee_type: h.tee_type,
            qe_svn: h.qe_svn,
            pce_svn: h.pce_svn,
            qe_vendor_id: HexBytes(h.qe_vendor_id),
            user_data: HexBytes(h.user_data),
        };
        let body = match &dcap.report {
            Report::TD10(r) => TdReportBody::from_td10(TdReportKind::Tdx10, r),
            Report::TD15(r) => TdReportBody {
                tee_tcb_svn2: Some(HexBytes(r.tee_tcb_svn2)),
                mrservicetd: Some(HexBytes(r.mr_service_td)),
                ..TdReportBody::from_td10(TdReportKind::Tdx15, &r.base)
            },
            Report::TD15Ex(r) => TdReportBody {
                tee_tcb_svn2: Some(HexBytes(r.base.tee_tcb_svn2)),
                mrservicetd: Some(HexBytes(r.base.mr_service_td)),
                ..TdReportBody::from_td10(TdReportKind::Tdx15Ex, &r.base.base)
            },
            Report::SgxEnclave(_) => {
                return Err(VerifyError::TeeType {
                    tee_type: h.tee_type,
                });
            }
        };
        if h.tee_type != TEE_TYPE_TDX {
            return Err(VerifyError::TeeType {
                tee_type: h.tee_type,
            });
        }
        Ok(Self {
            header,
            body,
            signed_len: dcap.signed_length(),
            cert_data_type: dcap.inner_cert_type(),
            trailing_len,
            dcap,
        })
    }

    /// The signed region of `bytes` (the quote these fields were parsed from).
    pub fn signed_region<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        bytes.get(..self.signed_len)
    }
}

/// Decodes `bytes` with dcap-qvl after bounding the size; returns the quote and
/// the number of bytes after its auth data.
///
/// Trailing bytes are tolerated, as dcap-qvl, Intel's QVL and go-tdx-guest do:
/// quote buffers from the guest are often zero-padded (the dcap-qvl sample has
/// 70 zero bytes, go-tdx-guest's SPR sample carries a test string). They are not
/// signed and are never read; [`TdQuote::trailing_len`] reports them.
///
/// dcap-qvl's decoder is length-checked (reading past the end is an error, not
/// a panic) and bounds every length prefix to 1 MiB; reading its source (0.7.1
/// `quote.rs`) found no indexing or arithmetic on attacker-controlled offsets.
/// As a last line of defence the call still runs under `catch_unwind`: a panic
/// in a dependency becomes [`VerifyError::Internal`] (a rejection), never an
/// abort of the verifier.
pub(crate) fn parse_dcap_quote(bytes: &[u8]) -> Result<(Quote, usize), VerifyError> {
    if bytes.len() > MAX_QUOTE_LEN {
        return Err(VerifyError::Parse {
            reason: format!(
                "quote is {} bytes, more than the {MAX_QUOTE_LEN}-byte limit",
                bytes.len()
            ),
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(VerifyError::Parse {
            reason: format!(
                "quote is {} bytes, shorter than its {HEADER_LEN}-byte header",
                bytes.len()
            ),
        });
    }
    let quote =
        contain_panic("quote parse", || Quote::parse(bytes))?.map_err(|e| VerifyError::Parse {
            reason: format!("{e:#}"),
        })?;
    let signed = quote.signed_length();
    let auth_len = bytes
        .get(signed..signed.saturating_add(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| VerifyError::Parse {
            reason: "auth data length is missing".into(),
        })?;
    let end = usize::try_from(auth_len)
        .ok()
        .and_then(|len| signed.checked_add(4)?.checked_add(len))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| VerifyError::Parse {
            reason: "auth data runs past the end of the quote".into(),
        })?;
    Ok((quote, bytes.len().saturating_sub(end)))
}

/// Runs `f`, turning a panic into [`VerifyError::Internal`].
///
/// Last resort only: the inputs handed to dependencies are bounded first, and
/// no panic is known. `AssertUnwindSafe` is sound here because `f` only reads
/// its captures; nothing half-updated survives the unwind.
pub(crate) fn contain_panic<T>(
    stage: &'static str,
    f: impl FnOnce() -> T,
) -> Result<T, VerifyError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        VerifyError::Internal { stage, detail }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn td_attributes_decode_named_bits() {
        // The dcap-qvl sample quote: SEPT_VE_DISABLE only.
        let a = TdAttributes::decode(hex_arr("0000001000000000"));
        assert!(a.sept_ve_disable && !a.debug && a.tud == 0 && !a.migratable);
        let a = TdAttributes::decode(hex_arr("01000000000000c0"));
        assert!(a.debug && a.tud == 1 && a.tpa && a.perfmon && !a.sept_ve_disable);
        let a = TdAttributes::decode(hex_arr("0000034000000000"));
        assert!(a.icssd && a.servtd_ext && a.pks && !a.kl);
    }

    fn hex_arr(s: &str) -> [u8; 8] {
        let mut out = [0u8; 8];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }

    #[test]
    fn short_long_and_empty_inputs_are_parse_errors() {
        for len in [0usize, 1, 47] {
            let e = TdQuote::parse(&vec![0u8; len]).unwrap_err();
            assert_eq!(e.check(), "parse", "{len}: {e}");
        }
        let mut tdx_header = vec![0u8; 48];
        tdx_header[0] = 4;
        tdx_header[4] = 0x81;
        for len in [48usize, 100, 700] {
            let mut q = tdx_header.clone();
            q.resize(len, 0);
            let e = TdQuote::parse(&q).unwrap_err();
            assert_eq!(e.check(), "parse", "{len}: {e}");
        }
        assert_eq!(TdQuote::parse(&[0u8; 700]).unwrap_err().check(), "tee_type");
        tdx_header[0] = 3;
        assert_eq!(
            TdQuote::parse(&tdx_header).unwrap_err().check(),
            "quote_version"
        );
        let e = TdQuote::parse(&vec![0u8; MAX_QUOTE_LEN + 1]).unwrap_err();
        assert_eq!(e.check(), "parse");
    }

    #[test]
    fn contained_panics_become_internal_errors() {
        let e = contain_panic("test stage", || -> u8 { panic!("boom") }).unwrap_err();
        assert_eq!(e.check(), "internal");
        assert!(e.to_string().contains("boom") && e.to_string().contains("test stage"));
        assert_eq!(contain_panic("ok", || 7).unwrap(), 7);
    }
}
