//! The `tdx-guest` provider: the TDREPORT from `/dev/tdx_guest`
//! (`TDX_CMD_GET_REPORT0`) and the quote through configfs-tsm.
//!
//! A TDREPORT is MAC'd by the CPU for the local platform only; a remote
//! verifier needs a quote, which Linux produces only through configfs-tsm
//! (the tdx-guest driver's quote ioctl was removed in 6.7). This provider
//! therefore takes the TDREPORT with the same report data first (it shows
//! the TD is live and gives MRTD and the RTMRs, [`TdReport`]), then the quote
//! through configfs-tsm, and checks that the quote's TD body carries the
//! same MRTD, RTMRs and report data. Without configfs-tsm it fails with that
//! reason instead of producing a report nobody can verify.
//!
//! Layout read from the 1024-byte TDREPORT (Intel TDX module ABI,
//! `TDREPORT_STRUCT`): REPORTMACSTRUCT (256 bytes: REPORTDATA at 128),
//! TEE_TCB_INFO (239 + 17 reserved), TDINFO at 512 (ATTRIBUTES 512, XFAM
//! 520, MRTD 528, MRCONFIGID 576, MROWNER 624, MROWNERCONFIG 672, RTMR0..3
//! at 720, 768, 816, 864).

use super::collateral::Source;
use super::configfs::{self, RealFs};
use super::{EvidenceProvider, EvidenceProviderError, ProviderConfig, check_binding};
use aether_evidence::{Evidence, TeeKind};
use std::path::PathBuf;

const NAME: &str = "tdx-guest";

/// Length of a TDREPORT.
pub const TDREPORT_LEN: usize = 1024;

/// The fields of a TDREPORT the worker reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TdReport {
    /// REPORTDATA.
    pub report_data: [u8; 64],
    /// TD ATTRIBUTES.
    pub attributes: [u8; 8],
    /// MRTD.
    pub mrtd: [u8; 48],
    /// RTMR0..3.
    pub rtmr: [[u8; 48]; 4],
}

fn arr<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}

impl TdReport {
    /// Reads the fields of a 1024-byte TDREPORT.
    pub fn parse(raw: &[u8]) -> Result<Self, String> {
        if raw.len() != TDREPORT_LEN {
            return Err(format!(
                "TDREPORT of {} bytes, expected {TDREPORT_LEN}",
                raw.len()
            ));
        }
        Ok(TdReport {
            report_data: arr(raw, 128),
            attributes: arr(raw, 512),
            mrtd: arr(raw, 528),
            rtmr: [arr(raw, 720), arr(raw, 768), arr(raw, 816), arr(raw, 864)],
        })
    }
}

/// `TDX_CMD_GET_REPORT0` on `device` with `report_data`.
///
/// The one `unsafe` block of the worker: no maintained crate wraps this
/// ioctl without C code (Intel's `tdx-attest-rs` links libtdx_attest, the
/// `configfs-tsm` crate is AGPL), and rustix's `ioctl` is unsafe because it
/// cannot check the argument's type against the opcode.
#[allow(unsafe_code)]
pub fn get_report(device: &std::path::Path, report_data: &[u8; 64]) -> std::io::Result<Vec<u8>> {
    use rustix::ioctl::{Updater, ioctl, opcode};
    /// `struct tdx_report_req { __u8 reportdata[64]; __u8 tdreport[1024]; }`
    #[repr(C)]
    struct TdxReportReq {
        reportdata: [u8; 64],
        tdreport: [u8; TDREPORT_LEN],
    }
    /// `_IOWR('T', 1, struct tdx_report_req)` (include/uapi/linux/tdx-guest.h).
    const TDX_CMD_GET_REPORT0: rustix::ioctl::Opcode = opcode::read_write::<TdxReportReq>(b'T', 1);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)?;
    let mut req = TdxReportReq {
        reportdata: *report_data,
        tdreport: [0; TDREPORT_LEN],
    };
    // SAFETY: the opcode encodes exactly `TdxReportReq`'s size and
    // direction, the struct is `repr(C)` with the kernel's layout (two byte
    // arrays, no padding), and `req` outlives the call.
    unsafe {
        ioctl(
            &file,
            Updater::<TDX_CMD_GET_REPORT0, TdxReportReq>::new(&mut req),
        )?;
    }
    Ok(req.tdreport.to_vec())
}

/// The provider.
pub struct TdxGuest {
    device: PathBuf,
    configfs_root: PathBuf,
    tdx_collateral: Option<Source>,
}

impl TdxGuest {
    /// Opens the provider (checks that the device exists).
    pub fn open(cfg: &ProviderConfig) -> Result<Self, EvidenceProviderError> {
        if !cfg.tdx_guest_device.exists() {
            return Err(EvidenceProviderError::Unavailable {
                provider: NAME,
                reason: format!("no {} (not a TDX guest)", cfg.tdx_guest_device.display()),
            });
        }
        Ok(TdxGuest {
            device: cfg.tdx_guest_device.clone(),
            configfs_root: cfg.configfs_root.clone(),
            tdx_collateral: cfg.tdx_collateral.clone(),
        })
    }

    /// The TDREPORT of `report_data`, parsed.
    pub fn td_report(&self, report_data: &[u8; 64]) -> Result<TdReport, EvidenceProviderError> {
        let raw = get_report(&self.device, report_data).map_err(|e| EvidenceProviderError::Io {
            provider: NAME,
            what: format!("TDX_CMD_GET_REPORT0 on {}", self.device.display()),
            source: e,
        })?;
        let r = TdReport::parse(&raw).map_err(|reason| EvidenceProviderError::Platform {
            provider: NAME,
            reason,
        })?;
        if &r.report_data != report_data {
            return Err(EvidenceProviderError::Binding {
                provider: NAME,
                reason: "TDREPORT carries other report data than requested".into(),
            });
        }
        Ok(r)
    }
}

/// Checks that the quote's TD body matches the TDREPORT taken just before.
pub fn check_quote_matches(report: &TdReport, quote: &[u8]) -> Result<(), EvidenceProviderError> {
    let q = aether_evidence::tdx_evidence::TdQuote::parse(quote).map_err(|e| {
        EvidenceProviderError::Platform {
            provider: NAME,
            reason: format!("the quote does not parse: {e}"),
        }
    })?;
    let b = &q.body;
    let rtmr: Vec<[u8; 48]> = b.rtmr.iter().map(|m| m.0).collect();
    let mismatch = if b.mrtd.0 != report.mrtd {
        Some("MRTD")
    } else if rtmr != report.rtmr {
        Some("RTMRs (extended between the TDREPORT and the quote?)")
    } else if b.report_data.0 != report.report_data {
        Some("report data")
    } else {
        None
    };
    match mismatch {
        Some(what) => Err(EvidenceProviderError::Binding {
            provider: NAME,
            reason: format!("quote differs from the TDREPORT in {what}"),
        }),
        None => Ok(()),
    }
}

impl EvidenceProvider for TdxGuest {
    fn name(&self) -> &'static str {
        NAME
    }
    fn tee(&self) -> TeeKind {
        TeeKind::Tdx
    }
    fn evidence(&self, report_data: [u8; 64]) -> Result<Evidence, EvidenceProviderError> {
        let report = self.td_report(&report_data)?;
        match configfs::probe(&self.configfs_root) {
            Ok(TeeKind::Tdx) => {}
            Ok(other) => {
                return Err(EvidenceProviderError::Unavailable {
                    provider: NAME,
                    reason: format!("configfs-tsm serves {other}, not TDX"),
                });
            }
            Err(why) => {
                return Err(EvidenceProviderError::Unavailable {
                    provider: NAME,
                    reason: format!(
                        "TDREPORT taken (MRTD {}), but a quote needs configfs-tsm (Linux >= 6.7 with TSM_REPORTS): {why}",
                        hex::encode(report.mrtd)
                    ),
                });
            }
        }
        let raw = configfs::request(&RealFs, &self.configfs_root, &report_data, 0)?;
        check_quote_matches(&report, &raw.outblob)?;
        let e = configfs::to_evidence(NAME, raw, None, self.tdx_collateral.as_ref())?;
        check_binding(NAME, TeeKind::Tdx, &report_data, &e)?;
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tdreport(rd: [u8; 64], mrtd: [u8; 48], rtmr: [[u8; 48]; 4]) -> Vec<u8> {
        let mut r = vec![0u8; TDREPORT_LEN];
        r[128..192].copy_from_slice(&rd);
        r[528..576].copy_from_slice(&mrtd);
        for (i, m) in rtmr.iter().enumerate() {
            r[720 + 48 * i..768 + 48 * i].copy_from_slice(m);
        }
        r
    }

    #[test]
    fn tdreport_fields_and_the_quote_cross_check() {
        let rtmr = [[1; 48], [2; 48], [3; 48], [0; 48]];
        let raw = tdreport([9; 64], [7; 48], rtmr);
        let r = TdReport::parse(&raw).unwrap();
        assert_eq!((r.report_data, r.mrtd, r.rtmr), ([9; 64], [7; 48], rtmr));
        assert!(TdReport::parse(&raw[..1000]).is_err());
        let signer = aether_evidence::sim::SimSigner::new();
        let quote = |mrtd, rtmr, rd| match signer.tdx(mrtd, rtmr, rd, &Default::default()) {
            Evidence::Tdx { quote, .. } => quote,
            Evidence::Snp { .. } => unreachable!(),
        };
        check_quote_matches(&r, &quote([7; 48], rtmr, [9; 64])).unwrap();
        let bad_mrtd = check_quote_matches(&r, &quote([8; 48], rtmr, [9; 64])).unwrap_err();
        assert!(bad_mrtd.to_string().contains("MRTD"), "{bad_mrtd}");
        let mut other = rtmr;
        other[3] = [4; 48];
        let bad_rtmr = check_quote_matches(&r, &quote([7; 48], other, [9; 64])).unwrap_err();
        assert!(bad_rtmr.to_string().contains("RTMRs"), "{bad_rtmr}");
        let bad_rd = check_quote_matches(&r, &quote([7; 48], rtmr, [1; 64])).unwrap_err();
        assert!(bad_rd.to_string().contains("report data"), "{bad_rd}");
        assert!(check_quote_matches(&r, b"not a quote").is_err());
    }

    #[test]
    fn missing_device_and_ioctl_errors_are_reported() {
        let cfg = ProviderConfig {
            tdx_guest_device: "/nonexistent/tdx_guest".into(),
            ..ProviderConfig::default()
        };
        assert!(
            TdxGuest::open(&cfg)
                .err()
                .unwrap()
                .to_string()
                .contains("not a TDX guest")
        );
        // The ioctl on a device that is not tdx_guest fails cleanly (ENOTTY).
        let err = get_report(std::path::Path::new("/dev/null"), &[0; 64]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(25), "{err}");
    }
}
