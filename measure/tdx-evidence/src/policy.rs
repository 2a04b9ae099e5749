//! The appraisal policy applied after the DCAP chain and signatures verify.
//!
//! A policy file is JSON or TOML with these fields (all optional; the defaults
//! are the strict production policy):
//!
//! ```toml
//! accepted_tcb_statuses = ["UpToDate"]          # default: only UpToDate
//! denied_advisory_ids = ["INTEL-SA-00837"]      # default: none denied (all surfaced)
//! allow_debug = false                           # TUD bits (DEBUG) must be clear
//! allow_service_td = false                      # TDX 1.5 service TD binding
//! accepted_quote_versions = [4, 5]
//! expected_mrtd = "91eb2b44…"                   # 48-byte hex
//! expected_rtmr0 = "44c0197b…"                  # expected_rtmr0..expected_rtmr3
//! expected_report_data = "9a9d48e7…"            # 64-byte hex
//! expected_mrconfigid = "00…"                   # also expected_mrowner, expected_mrownerconfig
//! expected_mrseam = "…"                         # TDX module identity
//! expected_mrsignerseam = "00…"
//! min_tee_tcb_svn = "06010300000000000000000000000000"  # per-component minimum
//! ```
//!
//! Unknown fields are an error, so a misspelt expectation cannot be ignored.

use dcap_qvl::TcbStatus;
use serde::{Deserialize, Serialize};

use crate::error::VerifyError;
use crate::hex_bytes::{HexBytes, Measurement};

/// What a verified quote must satisfy to be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// TCB statuses accepted after platform, QE and TDX module statuses converge
    /// (names as in Intel's TCB info: `UpToDate`, `SWHardeningNeeded`,
    /// `ConfigurationNeeded`, `ConfigurationAndSWHardeningNeeded`, `OutOfDate`,
    /// `OutOfDateConfigurationNeeded`, `TDRelaunchAdvised`,
    /// `TDRelaunchAdvisedConfigurationNeeded`). `Revoked` is always rejected.
    pub accepted_tcb_statuses: Vec<TcbStatus>,
    /// Advisory ids (e.g. `INTEL-SA-00837`) that reject the quote when they apply.
    pub denied_advisory_ids: Vec<String>,
    /// Accept a TD under debug (any TUD bit, including DEBUG). Dev networks only.
    pub allow_debug: bool,
    /// Accept a TDX 1.5 TD bound to service TDs (non-zero MRSERVICETD or SERVTD_EXT).
    pub allow_service_td: bool,
    /// Quote versions accepted (TDX quotes are 4 or 5).
    pub accepted_quote_versions: Vec<u16>,
    /// Expected MRTD.
    pub expected_mrtd: Option<Measurement>,
    /// Expected RTMR0.
    pub expected_rtmr0: Option<Measurement>,
    /// Expected RTMR1.
    pub expected_rtmr1: Option<Measurement>,
    /// Expected RTMR2.
    pub expected_rtmr2: Option<Measurement>,
    /// Expected RTMR3.
    pub expected_rtmr3: Option<Measurement>,
    /// Expected REPORTDATA (all 64 bytes).
    pub expected_report_data: Option<HexBytes<64>>,
    /// Expected MRCONFIGID.
    pub expected_mrconfigid: Option<Measurement>,
    /// Expected MROWNER.
    pub expected_mrowner: Option<Measurement>,
    /// Expected MROWNERCONFIG.
    pub expected_mrownerconfig: Option<Measurement>,
    /// Expected MRSEAM (measurement of the TDX module).
    pub expected_mrseam: Option<Measurement>,
    /// Expected MRSIGNERSEAM (signer of the TDX module; zero for Intel's).
    pub expected_mrsignerseam: Option<Measurement>,
    /// Minimum TEE_TCB_SVN, compared component by component (16 bytes).
    pub min_tee_tcb_svn: Option<HexBytes<16>>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            accepted_tcb_statuses: vec![TcbStatus::UpToDate],
            denied_advisory_ids: Vec::new(),
            allow_debug: false,
            allow_service_td: false,
            accepted_quote_versions: vec![4, 5],
            expected_mrtd: None,
            expected_rtmr0: None,
            expected_rtmr1: None,
            expected_rtmr2: None,
            expected_rtmr3: None,
            expected_report_data: None,
            expected_mrconfigid: None,
            expected_mrowner: None,
            expected_mrownerconfig: None,
            expected_mrseam: None,
            expected_mrsignerseam: None,
            min_tee_tcb_svn: None,
        }
    }
}

impl Policy {
    /// Parses a policy document: JSON when it starts with `{`, TOML otherwise.
    pub fn from_text(text: &str) -> Result<Self, VerifyError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_toml(text)
        }
    }

    /// Parses a JSON policy.
    pub fn from_json(text: &str) -> Result<Self, VerifyError> {
        serde_json::from_str(text).map_err(|e| VerifyError::Policy {
            reason: format!("JSON: {e}"),
        })
    }

    /// Parses a TOML policy.
    pub fn from_toml(text: &str) -> Result<Self, VerifyError> {
        toml::from_str(text).map_err(|e| VerifyError::Policy {
            reason: format!("TOML: {e}"),
        })
    }

    /// The expected RTMRs by index.
    pub fn expected_rtmrs(&self) -> [Option<&Measurement>; 4] {
        [
            self.expected_rtmr0.as_ref(),
            self.expected_rtmr1.as_ref(),
            self.expected_rtmr2.as_ref(),
            self.expected_rtmr3.as_ref(),
        ]
    }

    /// Sets the expected RTMR `index` (0..=3).
    pub fn set_expected_rtmr(
        &mut self,
        index: usize,
        value: Measurement,
    ) -> Result<(), VerifyError> {
        let slot = match index {
            0 => &mut self.expected_rtmr0,
            1 => &mut self.expected_rtmr1,
            2 => &mut self.expected_rtmr2,
            3 => &mut self.expected_rtmr3,
            _ => {
                return Err(VerifyError::Policy {
                    reason: format!("RTMR index {index} is not 0..=3"),
                });
            }
        };
        *slot = Some(value);
        Ok(())
    }
}

/// Parses a TCB status name as written in Intel's TCB info (case-sensitive).
pub fn parse_tcb_status(name: &str) -> Result<TcbStatus, VerifyError> {
    serde_json::from_value(serde_json::Value::String(name.trim().to_string())).map_err(|_| {
        VerifyError::Policy {
            reason: format!(
                "unknown TCB status {name:?} (one of UpToDate, SWHardeningNeeded, ConfigurationNeeded, \
                 ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, \
                 TDRelaunchAdvised, TDRelaunchAdvisedConfigurationNeeded, Revoked)"
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_strict() {
        let p = Policy::default();
        assert_eq!(p.accepted_tcb_statuses, vec![TcbStatus::UpToDate]);
        assert!(!p.allow_debug);
        assert_eq!(Policy::from_text("").unwrap(), p);
        assert_eq!(Policy::from_text("{}").unwrap(), p);
    }

    #[test]
    fn json_and_toml_agree() {
        let mrtd = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
        let json = format!(
            r#"{{"accepted_tcb_statuses": ["UpToDate", "SWHardeningNeeded"], "expected_mrtd": "{mrtd}",
                "denied_advisory_ids": ["INTEL-SA-00837"], "allow_debug": true}}"#
        );
        let toml = format!(
            "accepted_tcb_statuses = [\"UpToDate\", \"SWHardeningNeeded\"]\nexpected_mrtd = \"{mrtd}\"\n\
             denied_advisory_ids = [\"INTEL-SA-00837\"]\nallow_debug = true\n"
        );
        let a = Policy::from_text(&json).unwrap();
        let b = Policy::from_text(&toml).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.expected_mrtd.unwrap().to_hex(), mrtd);
        assert_eq!(a.accepted_tcb_statuses[1], TcbStatus::SWHardeningNeeded);
    }

    #[test]
    fn unknown_fields_wrong_lengths_and_statuses_are_errors() {
        assert_eq!(
            Policy::from_text("expect_mrtd = \"00\"")
                .unwrap_err()
                .check(),
            "policy"
        );
        assert!(Policy::from_text("expected_mrtd = \"00\"").is_err());
        assert!(Policy::from_text("accepted_tcb_statuses = [\"Fine\"]").is_err());
        assert_eq!(parse_tcb_status("OutOfDate").unwrap(), TcbStatus::OutOfDate);
        assert!(parse_tcb_status("uptodate").is_err());
        let mut p = Policy::default();
        assert!(p.set_expected_rtmr(4, HexBytes([0; 48])).is_err());
        p.set_expected_rtmr(3, HexBytes([1; 48])).unwrap();
        assert_eq!(p.expected_rtmrs()[3], Some(&HexBytes([1; 48])));
    }
}
