//! TEE evidence for the worker: one trait, four providers, and the choice
//! among them.
//!
//! An [`EvidenceProvider`] turns 64 bytes of report data (a receipt's
//! binding, or an operator's challenge) into [`Evidence`] the chain
//! verifies with `aether-evidence`: an SEV-SNP report with the VCEK/VLEK
//! (and the ASK/ARK when the platform hands them out), or a TDX quote with
//! its collateral.
//!
//! | provider | source | TEE | needs |
//! |---|---|---|---|
//! | `configfs-tsm` ([`configfs`]) | `/sys/kernel/config/tsm/report` | SNP, TDX | Linux ≥ 6.7 with `TSM_REPORTS`, configfs mounted |
//! | `sev-guest` ([`sev_guest`]) | `/dev/sev-guest`, `SNP_GET_EXT_REPORT` (the `sev` crate) | SNP | the sev-guest driver (any kernel with it) |
//! | `tdx-guest` ([`tdx_guest`]) | TDREPORT from `/dev/tdx_guest`, the quote from configfs-tsm | TDX | the tdx-guest driver and configfs-tsm |
//! | `sim` ([`sim`]) | the simulated PSP on the host (virtio-serial, or a socket) | SNP, TDX | `aether-image boot --sim-tee`, or `--sim-psp ADDR` |
//!
//! # Choosing ([`select`])
//!
//! `auto` tries them in this fixed order and takes the first usable one:
//! configfs-tsm (the kernel's vendor-neutral interface), sev-guest (SNP on
//! kernels before 6.7), tdx-guest (TDX device present but configfs-tsm not
//! usable: it then fails with the reason, rather than falling back to the
//! simulation), sim (a simulated PSP configured or its virtio port present).
//! Real hardware therefore always wins over the simulation, and a guest
//! with a TEE device never silently uses the simulated PSP. The
//! [`Selection`] says which provider was taken and why each other one was
//! skipped. An explicit choice uses that provider or fails with the reason.
//!
//! # What every provider guarantees
//!
//! The evidence returned binds exactly the requested report data and is of
//! the provider's TEE ([`check_binding`]); otherwise the call fails. The
//! evidence is *not* verified here (the chain does it against its policy
//! and time); `aether-worker attest --verify-sim`-style checks are the
//! caller's.
//!
//! # Certificates and collateral ([`collateral`])
//!
//! SNP: the VCEK/VLEK, ASK and ARK come from the host's certificate table
//! when the host loaded one (`SNP_GET_EXT_REPORT`, configfs `auxblob`),
//! else from a configured file or URL (`--snp-vek`, e.g. AMD KDS:
//! `https://kdsintf.amd.com/vcek/v1/{Milan|Genoa|Turin}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..`,
//! or a cloud's metadata service). TDX: a quote needs collateral (TCB info,
//! QE identity, CRLs) as dcap-qvl's `QuoteCollateralV3` JSON, from a
//! configured file or URL (`--tdx-collateral`), e.g. produced from the
//! provider's PCCS or Intel PCS for the platform's FMSPC.

pub mod certtable;
pub mod collateral;
pub mod configfs;
pub mod sev_guest;
pub mod sim;
pub mod tdx_guest;

use aether_evidence::{Evidence, TeeKind};
use aether_sim_psp::PspAddr;
use collateral::Source;
use std::path::PathBuf;
use std::time::Duration;

/// A source of TEE evidence.
pub trait EvidenceProvider: Send + Sync {
    /// The provider's name (`configfs-tsm`, `sev-guest`, `tdx-guest`, `sim`).
    fn name(&self) -> &'static str;
    /// The TEE the evidence comes from.
    fn tee(&self) -> TeeKind;
    /// Evidence binding `report_data`.
    fn evidence(&self, report_data: [u8; 64]) -> Result<Evidence, EvidenceProviderError>;
}

/// The providers, in detection order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// `/sys/kernel/config/tsm/report`.
    ConfigfsTsm,
    /// `/dev/sev-guest`.
    SevGuest,
    /// `/dev/tdx_guest` (with configfs-tsm for the quote).
    TdxGuest,
    /// The simulated PSP.
    Sim,
}

impl ProviderKind {
    /// Every provider, in detection order.
    pub const ORDER: [ProviderKind; 4] = [
        ProviderKind::ConfigfsTsm,
        ProviderKind::SevGuest,
        ProviderKind::TdxGuest,
        ProviderKind::Sim,
    ];

    /// The name used on the command line and in logs.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::ConfigfsTsm => "configfs-tsm",
            ProviderKind::SevGuest => "sev-guest",
            ProviderKind::TdxGuest => "tdx-guest",
            ProviderKind::Sim => "sim",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `auto` or one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProviderChoice {
    /// The first usable provider in [`ProviderKind::ORDER`].
    #[default]
    Auto,
    /// Exactly this one.
    Only(ProviderKind),
}

impl std::str::FromStr for ProviderChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(ProviderChoice::Auto);
        }
        ProviderKind::ORDER
            .into_iter()
            .find(|k| k.name() == s)
            .map(ProviderChoice::Only)
            .ok_or_else(|| format!("unknown evidence provider {s:?} (auto, configfs-tsm, sev-guest, tdx-guest, sim)"))
    }
}

/// Why a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceProviderError {
    /// A file or device operation failed.
    #[error("{provider}: {what}: {source}")]
    Io {
        /// The provider.
        provider: &'static str,
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The provider cannot work here.
    #[error("{provider} is not usable here: {reason}")]
    Unavailable {
        /// The provider.
        provider: &'static str,
        /// Why.
        reason: String,
    },
    /// The platform answered with something malformed or refused.
    #[error("{provider}: {reason}")]
    Platform {
        /// The provider.
        provider: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// Another writer changed the configfs report entry while it was read.
    #[error(
        "{provider}: the report entry changed while it was read (generation {before} -> {after}); another process is using it"
    )]
    Conflict {
        /// The provider.
        provider: &'static str,
        /// Generation after the write.
        before: u64,
        /// Generation after the read.
        after: u64,
    },
    /// The evidence does not bind the requested report data, or is of another TEE.
    #[error("{provider}: the evidence {reason}")]
    Binding {
        /// The provider.
        provider: &'static str,
        /// What differs.
        reason: String,
    },
    /// Certificates or collateral are missing or could not be fetched.
    #[error("{provider}: {reason}")]
    Collateral {
        /// The provider.
        provider: &'static str,
        /// What is missing and where to get it.
        reason: String,
    },
    /// The simulated PSP failed.
    #[error("sim: {0}")]
    Sim(#[from] aether_sim_psp::ClientError),
    /// No provider is usable (auto) or the chosen one is not.
    #[error("no usable evidence provider:\n{0}")]
    NoProvider(String),
}

/// Checks that `evidence` is of `tee` and binds `report_data` (parsing
/// only; the chain verifies signatures).
pub fn check_binding(
    provider: &'static str,
    tee: TeeKind,
    report_data: &[u8; 64],
    evidence: &Evidence,
) -> Result<(), EvidenceProviderError> {
    let bad = |reason: String| EvidenceProviderError::Binding { provider, reason };
    if evidence.tee() != tee {
        return Err(bad(format!(
            "is {} evidence, expected {tee}",
            evidence.tee()
        )));
    }
    let claimed = evidence
        .claimed_report_data()
        .map_err(|e| bad(format!("does not parse: {e}")))?;
    if &claimed != report_data {
        return Err(bad(format!(
            "binds report data {}, not the requested {}",
            hex::encode(claimed),
            hex::encode(report_data)
        )));
    }
    Ok(())
}

/// Where the providers look, and what they attach.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// `auto` or one provider.
    pub choice: ProviderChoice,
    /// The configfs-tsm report directory.
    pub configfs_root: PathBuf,
    /// The SEV guest device (detection; the `sev` crate opens `/dev/sev-guest`).
    pub sev_guest_device: PathBuf,
    /// The TDX guest device.
    pub tdx_guest_device: PathBuf,
    /// The sysfs root (virtio-serial port lookup).
    pub sys_root: PathBuf,
    /// The simulated PSP: `None` looks for the virtio port
    /// [`aether_sim_psp::DEFAULT_PORT_NAME`].
    pub sim_psp: Option<PspAddr>,
    /// How long a call to the simulated PSP may take.
    pub sim_timeout: Duration,
    /// SNP: the VMPL the report is requested at (configfs `privlevel`).
    pub snp_vmpl: u32,
    /// SNP: the VCEK/VLEK (PEM or DER, or the KDS bundle) when the host's
    /// certificate table has none.
    pub snp_vek: Option<Source>,
    /// TDX: the collateral (dcap-qvl `QuoteCollateralV3` JSON).
    pub tdx_collateral: Option<Source>,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            choice: ProviderChoice::Auto,
            configfs_root: PathBuf::from(configfs::DEFAULT_ROOT),
            sev_guest_device: PathBuf::from("/dev/sev-guest"),
            tdx_guest_device: PathBuf::from("/dev/tdx_guest"),
            sys_root: PathBuf::from("/sys"),
            sim_psp: None,
            sim_timeout: aether_sim_psp::client::DEFAULT_TIMEOUT,
            snp_vmpl: 0,
            snp_vek: None,
            tdx_collateral: None,
        }
    }
}

/// What the probes found, for [`decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// configfs-tsm: the TEE its provider serves, or why it is not usable.
    pub configfs: Result<TeeKind, String>,
    /// `/dev/sev-guest` exists.
    pub sev_guest: bool,
    /// `/dev/tdx_guest` exists.
    pub tdx_guest: bool,
    /// A simulated PSP to use (configured, or the virtio port found).
    pub sim: Option<PspAddr>,
}

/// The decision: the provider to open (if any) and a line per provider
/// saying why it was taken or skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The provider to open.
    pub chosen: Option<ProviderKind>,
    /// `(provider, reason)` in detection order.
    pub reasons: Vec<(ProviderKind, String)>,
}

/// Decides which provider to use from what the probes found (pure).
pub fn decide(probe: &Probe, choice: ProviderChoice) -> Decision {
    let usable = |kind: ProviderKind| -> Result<String, String> {
        match kind {
            ProviderKind::ConfigfsTsm => match &probe.configfs {
                Ok(tee) => Ok(format!("configfs-tsm serves {tee} reports")),
                Err(why) => Err(why.clone()),
            },
            ProviderKind::SevGuest if probe.sev_guest => Ok("/dev/sev-guest present".into()),
            ProviderKind::SevGuest => Err("no /dev/sev-guest (not an SEV-SNP guest)".into()),
            ProviderKind::TdxGuest if probe.tdx_guest => match &probe.configfs {
                Ok(TeeKind::Tdx) => {
                    Ok("/dev/tdx_guest present, quotes through configfs-tsm".into())
                }
                Ok(other) => Err(format!(
                    "/dev/tdx_guest present but configfs-tsm serves {other}"
                )),
                // Taken even so: a TDX guest must not fall back to the simulation.
                Err(why) => Ok(format!(
                    "/dev/tdx_guest present; quotes need configfs-tsm, which is not usable ({why})"
                )),
            },
            ProviderKind::TdxGuest => Err("no /dev/tdx_guest (not a TDX guest)".into()),
            ProviderKind::Sim => match &probe.sim {
                Some(addr) => Ok(format!("simulated PSP at {addr}")),
                None => Err(format!(
                    "no simulated PSP (no --sim-psp and no virtio port {})",
                    aether_sim_psp::DEFAULT_PORT_NAME
                )),
            },
        }
    };
    let mut chosen = None;
    let mut reasons = Vec::new();
    for kind in ProviderKind::ORDER {
        let wanted = match choice {
            ProviderChoice::Auto => chosen.is_none(),
            ProviderChoice::Only(k) => k == kind,
        };
        let reason = match (wanted, usable(kind)) {
            (true, Ok(why)) => {
                chosen = Some(kind);
                format!("used: {why}")
            }
            (true, Err(why)) => format!("skipped: {why}"),
            (false, Ok(why)) if chosen.is_some() => {
                format!(
                    "not used ({} comes first): {why}",
                    chosen.map_or("", ProviderKind::name)
                )
            }
            (false, Ok(why)) => format!("not chosen: {why}"),
            (false, Err(why)) if matches!(choice, ProviderChoice::Only(_)) => {
                format!("not chosen: {why}")
            }
            (false, Err(why)) => format!("skipped: {why}"),
        };
        reasons.push((kind, reason));
    }
    Decision { chosen, reasons }
}

impl Decision {
    /// One line per provider: `  configfs-tsm: used: ...`.
    pub fn explain(&self) -> String {
        self.reasons
            .iter()
            .map(|(k, r)| format!("  {k}: {r}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs the probes (reads the configfs tree and device nodes, looks for the
/// simulated PSP's port; opens nothing else).
pub fn probe(cfg: &ProviderConfig) -> Probe {
    Probe {
        configfs: configfs::probe(&cfg.configfs_root),
        sev_guest: cfg.sev_guest_device.exists(),
        tdx_guest: cfg.tdx_guest_device.exists(),
        sim: cfg.sim_psp.clone().or_else(|| {
            aether_sim_psp::client::find_virtio_port(
                &cfg.sys_root,
                aether_sim_psp::DEFAULT_PORT_NAME,
            )
            .map(|_| PspAddr::Virtio(aether_sim_psp::DEFAULT_PORT_NAME.into()))
        }),
    }
}

/// The provider chosen, and why.
pub struct Selection {
    /// The provider.
    pub provider: Box<dyn EvidenceProvider>,
    /// The decision (log it: [`Decision::explain`]).
    pub decision: Decision,
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selection")
            .field("provider", &self.provider.name())
            .field("decision", &self.decision)
            .finish()
    }
}

/// Probes, decides and opens the provider.
pub fn select(cfg: &ProviderConfig) -> Result<Selection, EvidenceProviderError> {
    let decision = decide(&probe(cfg), cfg.choice);
    let Some(kind) = decision.chosen else {
        return Err(EvidenceProviderError::NoProvider(decision.explain()));
    };
    let provider = open(kind, cfg)?;
    Ok(Selection { provider, decision })
}

/// Opens provider `kind` with `cfg`.
pub fn open(
    kind: ProviderKind,
    cfg: &ProviderConfig,
) -> Result<Box<dyn EvidenceProvider>, EvidenceProviderError> {
    Ok(match kind {
        ProviderKind::ConfigfsTsm => Box::new(configfs::ConfigfsTsm::open(cfg)?),
        ProviderKind::SevGuest => Box::new(sev_guest::SevGuest::open(cfg)?),
        ProviderKind::TdxGuest => Box::new(tdx_guest::TdxGuest::open(cfg)?),
        ProviderKind::Sim => Box::new(sim::SimProvider::open(cfg)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(configfs: Result<TeeKind, &str>, sev: bool, tdx: bool, sim: bool) -> Probe {
        Probe {
            configfs: configfs.map_err(str::to_string),
            sev_guest: sev,
            tdx_guest: tdx,
            sim: sim.then(|| PspAddr::Virtio(aether_sim_psp::DEFAULT_PORT_NAME.into())),
        }
    }

    fn chosen(p: &Probe) -> Option<ProviderKind> {
        decide(p, ProviderChoice::Auto).chosen
    }

    #[test]
    fn detection_order() {
        use ProviderKind::*;
        let none = Err("no configfs");
        // configfs-tsm first, for both TEEs, whatever else is present.
        assert_eq!(
            chosen(&probe(Ok(TeeKind::Snp), true, false, true)),
            Some(ConfigfsTsm)
        );
        assert_eq!(
            chosen(&probe(Ok(TeeKind::Tdx), false, true, true)),
            Some(ConfigfsTsm)
        );
        // Older kernels: the device.
        assert_eq!(chosen(&probe(none, true, false, true)), Some(SevGuest));
        // A TDX guest without configfs-tsm takes tdx-guest (which then says
        // why it cannot quote), never the simulation.
        assert_eq!(chosen(&probe(none, false, true, true)), Some(TdxGuest));
        // No TEE: the simulation when there is one.
        assert_eq!(chosen(&probe(none, false, false, true)), Some(Sim));
        assert_eq!(chosen(&probe(none, false, false, false)), None);
    }

    #[test]
    fn reasons_name_every_provider() {
        let d = decide(
            &probe(Err("no /sys/kernel/config/tsm/report"), false, false, true),
            ProviderChoice::Auto,
        );
        let text = d.explain();
        assert_eq!(d.reasons.len(), 4);
        assert!(
            text.contains("configfs-tsm: skipped: no /sys/kernel/config/tsm/report"),
            "{text}"
        );
        assert!(
            text.contains("sev-guest: skipped: no /dev/sev-guest"),
            "{text}"
        );
        assert!(
            text.contains("tdx-guest: skipped: no /dev/tdx_guest"),
            "{text}"
        );
        assert!(
            text.contains("sim: used: simulated PSP at virtio:org.aether.sim-psp.0"),
            "{text}"
        );
        let d = decide(
            &probe(Ok(TeeKind::Snp), true, false, true),
            ProviderChoice::Auto,
        );
        assert!(
            d.explain()
                .contains("sev-guest: not used (configfs-tsm comes first)"),
            "{}",
            d.explain()
        );
    }

    #[test]
    fn explicit_choice_uses_only_that_provider() {
        let p = probe(Ok(TeeKind::Snp), true, false, true);
        let d = decide(&p, ProviderChoice::Only(ProviderKind::Sim));
        assert_eq!(d.chosen, Some(ProviderKind::Sim));
        assert!(
            d.explain().contains("configfs-tsm: not chosen"),
            "{}",
            d.explain()
        );
        let d = decide(&p, ProviderChoice::Only(ProviderKind::TdxGuest));
        assert_eq!(d.chosen, None);
        assert!(
            d.explain()
                .contains("tdx-guest: skipped: no /dev/tdx_guest")
        );
        // tdx-guest with configfs serving another TEE is refused.
        let d = decide(
            &probe(Ok(TeeKind::Snp), false, true, false),
            ProviderChoice::Only(ProviderKind::TdxGuest),
        );
        assert_eq!(d.chosen, None);
    }

    #[test]
    fn choice_parses() {
        assert_eq!(
            "auto".parse::<ProviderChoice>().unwrap(),
            ProviderChoice::Auto
        );
        for k in ProviderKind::ORDER {
            assert_eq!(
                k.name().parse::<ProviderChoice>().unwrap(),
                ProviderChoice::Only(k)
            );
        }
        assert!("tpm".parse::<ProviderChoice>().is_err());
    }
}
