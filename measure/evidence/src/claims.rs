//! What a verified piece of evidence vouches for: one shape for SEV-SNP and TDX.

use std::fmt;

use aether_tdx_evidence::TcbStatus;
use serde::{Deserialize, Serialize};

use crate::TrustRoot;

/// The kind of TEE that produced the evidence.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeeKind {
    /// AMD SEV-SNP.
    Snp,
    /// Intel TDX.
    Tdx,
}

impl TeeKind {
    /// `snp` or `tdx`.
    pub fn name(self) -> &'static str {
        match self {
            TeeKind::Snp => "snp",
            TeeKind::Tdx => "tdx",
        }
    }
}

impl fmt::Display for TeeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The launch measurement the hardware signed: what the measurement
/// registry is checked against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaunchMeasurement {
    /// SEV-SNP MEASUREMENT (the launch digest), 48 bytes.
    Snp(#[serde(with = "crate::hexser::fixed")] [u8; 48]),
    /// TDX MRTD (the initial TD contents) and RTMR0..3.
    Tdx {
        /// MRTD.
        #[serde(with = "crate::hexser::fixed")]
        mrtd: [u8; 48],
        /// RTMR0..RTMR3.
        #[serde(with = "crate::hexser::rtmrs")]
        rtmr: [[u8; 48]; 4],
    },
}

impl LaunchMeasurement {
    /// The TEE the measurement is of.
    pub fn tee(&self) -> TeeKind {
        match self {
            LaunchMeasurement::Snp(_) => TeeKind::Snp,
            LaunchMeasurement::Tdx { .. } => TeeKind::Tdx,
        }
    }
}

/// The platform's security version, as verified: SEV-SNP REPORTED_TCB (the
/// TCB the signing key was derived for) or the TDX TCB status from Intel's
/// collateral with the TEE TCB SVN.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TcbSummary {
    /// SEV-SNP REPORTED_TCB components.
    Snp {
        /// PSP bootloader SVN.
        bootloader: u8,
        /// PSP OS (TEE) SVN.
        tee: u8,
        /// SNP firmware SVN.
        snp: u8,
        /// Microcode patch level.
        microcode: u8,
        /// FMC SVN (Turin), else `None`.
        fmc: Option<u8>,
    },
    /// TDX TCB status and SVN.
    Tdx {
        /// Converged TCB status (platform, TDX module, QE).
        status: TcbStatus,
        /// Advisory ids that apply to the platform.
        advisory_ids: Vec<String>,
        /// TEE_TCB_SVN of the TD report.
        #[serde(with = "crate::hexser::fixed")]
        tee_tcb_svn: [u8; 16],
    },
}

impl fmt::Display for TcbSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcbSummary::Snp {
                bootloader,
                tee,
                snp,
                microcode,
                fmc,
            } => {
                write!(
                    f,
                    "bootloader={bootloader} tee={tee} snp={snp} microcode={microcode}"
                )?;
                match fmc {
                    Some(fmc) => write!(f, " fmc={fmc}"),
                    None => Ok(()),
                }
            }
            TcbSummary::Tdx {
                status,
                advisory_ids,
                tee_tcb_svn,
            } => {
                write!(f, "{status} tee_tcb_svn={}", hex::encode(tee_tcb_svn))?;
                if !advisory_ids.is_empty() {
                    write!(f, " advisories={}", advisory_ids.join(","))?;
                }
                Ok(())
            }
        }
    }
}

/// The claims of evidence that passed every check: the same shape for both
/// TEEs, so that the ledger handles one type.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Which TEE signed it.
    pub tee: TeeKind,
    /// The launch measurement.
    pub measurement: LaunchMeasurement,
    /// REPORT_DATA (SNP) / REPORTDATA (TDX): the 64 bytes the guest bound
    /// into the evidence.
    #[serde(with = "crate::hexser::fixed")]
    pub report_data: [u8; 64],
    /// SNP HOST_DATA (32 bytes) or TDX MRCONFIGID (48 bytes): set by the
    /// host at launch.
    #[serde(with = "crate::hexser")]
    pub host_data: Vec<u8>,
    /// The platform's security version.
    pub tcb: TcbSummary,
    /// Whether the guest is debuggable. Always `false` in claims returned by
    /// [`crate::verify`]: debug guests are rejected.
    pub debug: bool,
    /// The root the evidence chains to.
    pub root: TrustRoot,
    /// The key that signed: `vcek`, `vlek` (SNP) or `pck` (TDX, via the QE's
    /// attestation key).
    pub signer: String,
    /// SHA-256 of the signed bytes (SNP report bytes 0..0x2A0; TDX quote
    /// header and TD report): the replay key. It excludes the signature
    /// itself, so a re-encoded signature (ECDSA's (r, n − s)) or a changed
    /// certificate chain does not make old evidence new.
    #[serde(with = "crate::hexser::fixed")]
    pub evidence_digest: [u8; 32],
}
