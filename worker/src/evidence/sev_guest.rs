//! The `sev-guest` provider: `SNP_GET_EXT_REPORT` on `/dev/sev-guest`
//! through the `sev` crate's safe API, for SEV-SNP guests whose kernel has
//! the sev-guest driver but not configfs-tsm (before 6.7), or when chosen.
//!
//! The extended report returns the attestation report and the host's
//! certificate table (VCEK or VLEK, ASK/ASVK, ARK), parsed by `sev`; the
//! VEK and chain are picked as for configfs-tsm ([`super::certtable`]),
//! falling back to the configured `--snp-vek`. Not run on hardware here:
//! the device does not exist on this machine; the certificate handling is
//! shared with the tested configfs path.

use super::certtable::{CertEntry, CertKind};
use super::collateral::Source;
use super::{EvidenceProvider, EvidenceProviderError, ProviderConfig, certtable, check_binding};
use aether_evidence::{Evidence, TeeKind};
use std::sync::Mutex;

const NAME: &str = "sev-guest";

/// The provider.
pub struct SevGuest {
    // One request at a time: the driver serialises them anyway.
    device: Mutex<sev::firmware::guest::Firmware>,
    vmpl: u32,
    snp_vek: Option<Source>,
}

/// The `sev` crate's certificate table entry as ours.
pub fn from_sev(e: &sev::firmware::host::CertTableEntry) -> CertEntry {
    use sev::firmware::host::CertType;
    let kind = match &e.cert_type {
        CertType::ARK => CertKind::Ark,
        CertType::ASK => CertKind::Ask,
        CertType::VCEK => CertKind::Vcek,
        CertType::VLEK => CertKind::Vlek,
        CertType::CRL => CertKind::Crl,
        CertType::Empty => CertKind::Other([0; 16]),
        CertType::OTHER(g) => CertKind::Other(*g.as_bytes()),
    };
    CertEntry {
        kind,
        data: e.data.clone(),
    }
}

impl SevGuest {
    /// Opens `/dev/sev-guest`.
    pub fn open(cfg: &ProviderConfig) -> Result<Self, EvidenceProviderError> {
        if !cfg.sev_guest_device.exists() {
            return Err(EvidenceProviderError::Unavailable {
                provider: NAME,
                reason: format!(
                    "no {} (not an SEV-SNP guest)",
                    cfg.sev_guest_device.display()
                ),
            });
        }
        let device =
            sev::firmware::guest::Firmware::open().map_err(|e| EvidenceProviderError::Io {
                provider: NAME,
                what: "opening /dev/sev-guest".into(),
                source: e,
            })?;
        Ok(SevGuest {
            device: Mutex::new(device),
            vmpl: cfg.snp_vmpl,
            snp_vek: cfg.snp_vek.clone(),
        })
    }
}

impl EvidenceProvider for SevGuest {
    fn name(&self) -> &'static str {
        NAME
    }
    fn tee(&self) -> TeeKind {
        TeeKind::Snp
    }
    fn evidence(&self, report_data: [u8; 64]) -> Result<Evidence, EvidenceProviderError> {
        let (report, certs) = {
            let mut dev = self.device.lock().unwrap_or_else(|p| p.into_inner());
            dev.get_ext_report(None, Some(report_data), Some(self.vmpl))
                .map_err(|e| EvidenceProviderError::Platform {
                    provider: NAME,
                    reason: format!("SNP_GET_EXT_REPORT: {e}"),
                })?
        };
        let table: Vec<CertEntry> = certs.iter().flatten().map(from_sev).collect();
        let e = certtable::snp_evidence(NAME, report, &table, self.snp_vek.as_ref())?;
        check_binding(NAME, TeeKind::Snp, &report_data, &e)?;
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sev_entries_map_to_ours() {
        use sev::firmware::host::{CertTableEntry, CertType};
        for (theirs, ours) in [
            (CertType::ARK, CertKind::Ark),
            (CertType::ASK, CertKind::Ask),
            (CertType::VCEK, CertKind::Vcek),
            (CertType::VLEK, CertKind::Vlek),
            (CertType::CRL, CertKind::Crl),
        ] {
            let e = from_sev(&CertTableEntry::new(theirs, b"x".to_vec()));
            assert_eq!(
                e,
                CertEntry {
                    kind: ours,
                    data: b"x".to_vec()
                }
            );
        }
    }

    #[test]
    fn open_without_the_device_says_so() {
        let cfg = ProviderConfig {
            sev_guest_device: "/nonexistent/sev-guest".into(),
            ..ProviderConfig::default()
        };
        let err = SevGuest::open(&cfg).err().unwrap().to_string();
        assert!(err.contains("not an SEV-SNP guest"), "{err}");
    }
}
