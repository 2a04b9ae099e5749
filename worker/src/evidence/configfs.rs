//! The `configfs-tsm` provider: Linux's vendor-neutral report interface
//! (`CONFIG_TSM_REPORTS`, Linux ≥ 6.7; `Documentation/ABI/testing/configfs-tsm`).
//!
//! Protocol, per request (one private entry, so concurrent requests of this
//! or other processes do not mix):
//!
//! 1. `mkdir <root>/<unique name>`: the kernel creates the attributes;
//! 2. read `provider`: `sev_guest` (SEV-SNP) or `tdx_guest` (TDX); reading
//!    it fails (ENXIO) when no TEE driver registered;
//! 3. SNP only: write `privlevel` (the VMPL) when it is not 0;
//! 4. write the 64 bytes of report data to `inblob`;
//! 5. read `generation` (incremented by every write to the entry);
//! 6. read `outblob`: the kernel asks the TEE now: the SNP attestation
//!    report, or the TDX quote (through the host's quote service);
//! 7. SNP: read `auxblob`: the host's certificate table ([`super::certtable`]),
//!    absent or empty when the host loaded none;
//! 8. read `generation` again: a different value means another writer
//!    changed the entry between 4 and 8, so the blobs may not be ours:
//!    [`EvidenceProviderError::Conflict`] (retried up to [`ATTEMPTS`] times);
//! 9. `rmdir` the entry (also after a failure).
//!
//! Blobs are read with a bound ([`MAX_BLOB`]). The file operations go through
//! [`ConfigFs`] so that the protocol is tested against a temporary
//! directory that plays the kernel's part (`tests` below).
//!
//! Written here rather than with the `tsm-report` crate (MIT/Apache): that
//! crate serves only SVSM SEV-SNP requests (it requires the
//! `service_provider` attributes, absent without an SVSM, and knows no TDX)
//! and has a fixed root path; the protocol is small.

use super::certtable;
use super::collateral::Source;
use super::{EvidenceProvider, EvidenceProviderError, ProviderConfig, check_binding};
use aether_evidence::{Evidence, TeeKind};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where configfs-tsm lives.
pub const DEFAULT_ROOT: &str = "/sys/kernel/config/tsm/report";
/// Largest blob read (a TDX quote is about 5 KiB, an SNP certificate table a few pages).
pub const MAX_BLOB: u64 = 1 << 20;
/// Tries when another writer changes the entry.
pub const ATTEMPTS: u32 = 3;

const NAME: &str = "configfs-tsm";

/// The file operations of the protocol.
pub trait ConfigFs: Send + Sync {
    /// `mkdir`.
    fn mkdir(&self, path: &Path) -> std::io::Result<()>;
    /// `rmdir`.
    fn rmdir(&self, path: &Path) -> std::io::Result<()>;
    /// Reads a whole attribute, at most `max` bytes (more is an error).
    fn read(&self, path: &Path, max: u64) -> std::io::Result<Vec<u8>>;
    /// Writes a whole attribute in one `write` (configfs binary attributes
    /// take their value when the file is closed).
    fn write(&self, path: &Path, data: &[u8]) -> std::io::Result<()>;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

impl ConfigFs for RealFs {
    fn mkdir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir(path)
    }
    fn rmdir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn read(&self, path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::new();
        std::fs::File::open(path)?
            .take(max + 1)
            .read_to_end(&mut v)?;
        if v.len() as u64 > max {
            return Err(std::io::Error::other(format!("larger than {max} bytes")));
        }
        Ok(v)
    }
    fn write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        std::fs::write(path, data)
    }
}

/// What one request returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawReport {
    /// The TEE of the provider.
    pub tee: TeeKind,
    /// `outblob`: the SNP report or the TDX quote.
    pub outblob: Vec<u8>,
    /// `auxblob` (SNP certificate table), when present and not empty.
    pub auxblob: Option<Vec<u8>>,
}

fn tee_of(provider: &str) -> Result<TeeKind, String> {
    match provider.trim() {
        "sev_guest" => Ok(TeeKind::Snp),
        "tdx_guest" => Ok(TeeKind::Tdx),
        other => Err(format!(
            "configfs-tsm provider {other:?} is neither sev_guest nor tdx_guest"
        )),
    }
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "aether-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A private report entry, removed on drop.
struct Entry<'a> {
    fs: &'a dyn ConfigFs,
    dir: PathBuf,
}

impl<'a> Entry<'a> {
    fn create(fs: &'a dyn ConfigFs, root: &Path) -> Result<Self, EvidenceProviderError> {
        let mut last = None;
        for _ in 0..8 {
            let dir = root.join(unique_name());
            match fs.mkdir(&dir) {
                Ok(()) => return Ok(Entry { fs, dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(io(format!("mkdir {}", dir.display()), e)),
            }
        }
        Err(io(
            format!("mkdir in {}", root.display()),
            last.unwrap_or_else(|| std::io::Error::other("no unique name")),
        ))
    }
    fn attr(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    fn read(&self, name: &str, max: u64) -> Result<Vec<u8>, EvidenceProviderError> {
        self.fs
            .read(&self.attr(name), max)
            .map_err(|e| io(format!("reading {}", self.attr(name).display()), e))
    }
    fn write(&self, name: &str, data: &[u8]) -> Result<(), EvidenceProviderError> {
        self.fs
            .write(&self.attr(name), data)
            .map_err(|e| io(format!("writing {}", self.attr(name).display()), e))
    }
    fn provider(&self) -> Result<TeeKind, EvidenceProviderError> {
        let raw = self.fs.read(&self.attr("provider"), 64).map_err(|e| {
            EvidenceProviderError::Unavailable {
                provider: NAME,
                reason: no_provider(&e),
            }
        })?;
        tee_of(&String::from_utf8_lossy(&raw)).map_err(|reason| {
            EvidenceProviderError::Unavailable {
                provider: NAME,
                reason,
            }
        })
    }
    fn generation(&self) -> Result<u64, EvidenceProviderError> {
        let raw = self.read("generation", 64)?;
        String::from_utf8_lossy(&raw)
            .trim()
            .parse()
            .map_err(|_| EvidenceProviderError::Platform {
                provider: NAME,
                reason: format!(
                    "generation {:?} is not a number",
                    String::from_utf8_lossy(&raw)
                ),
            })
    }
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        let _ = self.fs.rmdir(&self.dir);
    }
}

fn io(what: String, source: std::io::Error) -> EvidenceProviderError {
    EvidenceProviderError::Io {
        provider: NAME,
        what,
        source,
    }
}

fn no_provider(e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(6) {
        // ENXIO: TSM_REPORTS is there, no TEE driver registered with it.
        "no TEE driver serves configfs-tsm reports (not an SEV-SNP or TDX guest)".into()
    } else {
        format!("cannot read the provider: {e}")
    }
}

/// Probes `root`: the TEE its provider serves, or why it is not usable.
pub fn probe(root: &Path) -> Result<TeeKind, String> {
    probe_with(&RealFs, root)
}

/// [`probe`] through `fs`.
pub fn probe_with(fs: &dyn ConfigFs, root: &Path) -> Result<TeeKind, String> {
    if !root.is_dir() {
        return Err(format!(
            "no {} (kernel without TSM_REPORTS, before 6.7, or configfs not mounted)",
            root.display()
        ));
    }
    let entry = Entry::create(fs, root).map_err(|e| e.to_string())?;
    entry.provider().map_err(|e| match e {
        EvidenceProviderError::Unavailable { reason, .. } => reason,
        other => other.to_string(),
    })
}

/// Requests one report through `fs` (steps 1-9 of the module docs).
pub fn request(
    fs: &dyn ConfigFs,
    root: &Path,
    report_data: &[u8; 64],
    privlevel: u32,
) -> Result<RawReport, EvidenceProviderError> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let entry = Entry::create(fs, root)?;
        let tee = entry.provider()?;
        if tee == TeeKind::Snp && privlevel != 0 {
            entry.write("privlevel", privlevel.to_string().as_bytes())?;
        }
        entry.write("inblob", report_data)?;
        let before = entry.generation()?;
        let outblob = entry.read("outblob", MAX_BLOB)?;
        let auxblob = match tee {
            TeeKind::Snp if entry.attr("auxblob").exists() => {
                Some(entry.read("auxblob", MAX_BLOB)?)
            }
            _ => None,
        };
        let after = entry.generation()?;
        if before != after {
            last = Some(EvidenceProviderError::Conflict {
                provider: NAME,
                before,
                after,
            });
            continue;
        }
        if outblob.is_empty() {
            return Err(EvidenceProviderError::Platform {
                provider: NAME,
                reason: "outblob is empty".into(),
            });
        }
        return Ok(RawReport {
            tee,
            outblob,
            auxblob: auxblob.filter(|a| !a.is_empty()),
        });
    }
    Err(last.unwrap_or_else(|| EvidenceProviderError::Platform {
        provider: NAME,
        reason: "no attempt made".into(),
    }))
}

/// Turns a raw report into evidence: SNP with the certificate table (or the
/// configured VEK), TDX with the configured collateral.
pub fn to_evidence(
    provider: &'static str,
    raw: RawReport,
    snp_vek: Option<&Source>,
    tdx_collateral: Option<&Source>,
) -> Result<Evidence, EvidenceProviderError> {
    match raw.tee {
        TeeKind::Snp => {
            let table =
                certtable::parse(raw.auxblob.as_deref().unwrap_or_default()).map_err(|e| {
                    EvidenceProviderError::Platform {
                        provider,
                        reason: e.to_string(),
                    }
                })?;
            certtable::snp_evidence(provider, raw.outblob, &table, snp_vek)
        }
        TeeKind::Tdx => {
            let src = tdx_collateral.ok_or_else(|| EvidenceProviderError::Collateral {
                provider,
                reason: "a TDX quote needs collateral: set --tdx-collateral FILE|URL (dcap-qvl \
                         QuoteCollateralV3 JSON from the provider's PCCS or Intel PCS)"
                    .into(),
            })?;
            let collateral = src
                .fetch()
                .map_err(|reason| EvidenceProviderError::Collateral {
                    provider,
                    reason: format!("TDX collateral: {reason}"),
                })?;
            Ok(Evidence::Tdx {
                quote: raw.outblob,
                collateral,
            })
        }
    }
}

/// The provider.
pub struct ConfigfsTsm {
    fs: Box<dyn ConfigFs>,
    root: PathBuf,
    tee: TeeKind,
    privlevel: u32,
    snp_vek: Option<Source>,
    tdx_collateral: Option<Source>,
}

impl ConfigfsTsm {
    /// Opens the provider at `cfg.configfs_root` (probes the TEE).
    pub fn open(cfg: &ProviderConfig) -> Result<Self, EvidenceProviderError> {
        Self::open_with(Box::new(RealFs), cfg)
    }

    /// [`ConfigfsTsm::open`] through `fs`.
    pub fn open_with(
        fs: Box<dyn ConfigFs>,
        cfg: &ProviderConfig,
    ) -> Result<Self, EvidenceProviderError> {
        let tee = probe_with(fs.as_ref(), &cfg.configfs_root).map_err(|reason| {
            EvidenceProviderError::Unavailable {
                provider: NAME,
                reason,
            }
        })?;
        Ok(ConfigfsTsm {
            fs,
            root: cfg.configfs_root.clone(),
            tee,
            privlevel: cfg.snp_vmpl,
            snp_vek: cfg.snp_vek.clone(),
            tdx_collateral: cfg.tdx_collateral.clone(),
        })
    }

    /// One request, without certificates or collateral.
    pub fn raw(&self, report_data: &[u8; 64]) -> Result<RawReport, EvidenceProviderError> {
        request(self.fs.as_ref(), &self.root, report_data, self.privlevel)
    }
}

impl EvidenceProvider for ConfigfsTsm {
    fn name(&self) -> &'static str {
        NAME
    }
    fn tee(&self) -> TeeKind {
        self.tee
    }
    fn evidence(&self, report_data: [u8; 64]) -> Result<Evidence, EvidenceProviderError> {
        let raw = self.raw(&report_data)?;
        let e = to_evidence(
            NAME,
            raw,
            self.snp_vek.as_ref(),
            self.tdx_collateral.as_ref(),
        )?;
        check_binding(NAME, self.tee, &report_data, &e)?;
        Ok(e)
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A temporary directory that plays the kernel's part of configfs-tsm.

    use super::*;
    use std::sync::Mutex;

    /// What the fake kernel does.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Behaviour {
        /// Answers like the SNP or TDX driver.
        Tee(TeeKind),
        /// TSM_REPORTS without a driver: `provider` fails with ENXIO.
        NoProvider,
        /// Another writer bumps the generation during the first `n` reads of outblob.
        Racing(TeeKind, u32),
        /// `outblob` fails with EIO (e.g. the host's quote service is down).
        OutblobFails(TeeKind),
        /// SNP, but the outblob binds other report data.
        WrongReportData,
        /// SNP without a certificate table.
        NoCerts,
    }

    /// The fake: a real temporary directory plus the kernel's side effects.
    pub struct FakeTsm {
        pub dir: tempfile::TempDir,
        pub behaviour: Behaviour,
        pub measurement: [u8; 48],
        races_left: Mutex<u32>,
        pub log: Mutex<Vec<String>>,
    }

    impl FakeTsm {
        pub fn new(behaviour: Behaviour) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let races = match behaviour {
                Behaviour::Racing(_, n) => n,
                _ => 0,
            };
            FakeTsm {
                dir,
                behaviour,
                measurement: [0x42; 48],
                races_left: Mutex::new(races),
                log: Mutex::new(Vec::new()),
            }
        }
        pub fn root(&self) -> PathBuf {
            self.dir.path().to_path_buf()
        }
        fn tee(&self) -> Option<TeeKind> {
            match &self.behaviour {
                Behaviour::Tee(t) | Behaviour::Racing(t, _) | Behaviour::OutblobFails(t) => {
                    Some(*t)
                }
                Behaviour::WrongReportData | Behaviour::NoCerts => Some(TeeKind::Snp),
                Behaviour::NoProvider => None,
            }
        }
        fn bump(&self, dir: &Path) {
            let g = std::fs::read_to_string(dir.join("generation")).unwrap();
            let g: u64 = g.trim().parse().unwrap();
            std::fs::write(dir.join("generation"), format!("{}\n", g + 1)).unwrap();
        }
        /// The report the fake TEE signs (simulated signer: real formats).
        fn outblob(&self, dir: &Path) -> (Vec<u8>, Option<Vec<u8>>) {
            let mut rd = [0u8; 64];
            rd.copy_from_slice(&std::fs::read(dir.join("inblob")).unwrap());
            if self.behaviour == Behaviour::WrongReportData {
                rd[0] ^= 1;
            }
            let signer = aether_evidence::sim::SimSigner::new();
            match self.tee() {
                Some(TeeKind::Tdx) => {
                    let Evidence::Tdx { quote, .. } = signer.tdx(
                        self.measurement,
                        [[1; 48], [2; 48], [3; 48], [0; 48]],
                        rd,
                        &Default::default(),
                    ) else {
                        unreachable!()
                    };
                    (quote, None)
                }
                _ => {
                    let Evidence::Snp { report, vek, .. } =
                        signer.snp(self.measurement, rd, &Default::default())
                    else {
                        unreachable!()
                    };
                    let table = (self.behaviour != Behaviour::NoCerts).then(|| {
                        let mut t = certtable::build(&[certtable::CertEntry {
                            kind: certtable::CertKind::Vcek,
                            data: vek,
                        }]);
                        t.resize(4096, 0);
                        t
                    });
                    (report, table)
                }
            }
        }
    }

    impl ConfigFs for FakeTsm {
        fn mkdir(&self, path: &Path) -> std::io::Result<()> {
            std::fs::create_dir(path)?;
            self.log.lock().unwrap().push(format!(
                "mkdir {}",
                path.file_name().unwrap().to_string_lossy()
            ));
            if let Some(tee) = self.tee() {
                let p = match tee {
                    TeeKind::Snp => "sev_guest\n",
                    TeeKind::Tdx => "tdx_guest\n",
                };
                std::fs::write(path.join("provider"), p)?;
            }
            std::fs::write(path.join("generation"), "0\n")?;
            if self.tee() == Some(TeeKind::Snp) {
                std::fs::write(path.join("auxblob"), b"")?;
            }
            Ok(())
        }
        fn rmdir(&self, path: &Path) -> std::io::Result<()> {
            self.log.lock().unwrap().push("rmdir".into());
            std::fs::remove_dir_all(path)
        }
        fn read(&self, path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let dir = path.parent().unwrap();
            self.log.lock().unwrap().push(format!("read {name}"));
            match name.as_str() {
                "provider" if self.tee().is_none() => Err(std::io::Error::from_raw_os_error(6)),
                "outblob" => {
                    if matches!(self.behaviour, Behaviour::OutblobFails(_)) {
                        return Err(std::io::Error::from_raw_os_error(5));
                    }
                    let (out, aux) = self.outblob(dir);
                    std::fs::write(dir.join("auxblob"), aux.unwrap_or_default())?;
                    let mut races = self.races_left.lock().unwrap();
                    if *races > 0 {
                        *races -= 1;
                        self.bump(dir);
                    }
                    Ok(out)
                }
                _ => RealFs.read(path, max),
            }
        }
        fn write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            self.log
                .lock()
                .unwrap()
                .push(format!("write {name} {}", data.len()));
            if name == "inblob" && data.len() > 64 {
                return Err(std::io::Error::from_raw_os_error(22));
            }
            std::fs::write(path, data)?;
            self.bump(path.parent().unwrap());
            Ok(())
        }
    }

    /// Lets a test keep the fake after handing a box to the provider.
    pub struct Shared(pub std::sync::Arc<FakeTsm>);
    impl ConfigFs for Shared {
        fn mkdir(&self, p: &Path) -> std::io::Result<()> {
            self.0.mkdir(p)
        }
        fn rmdir(&self, p: &Path) -> std::io::Result<()> {
            self.0.rmdir(p)
        }
        fn read(&self, p: &Path, m: u64) -> std::io::Result<Vec<u8>> {
            self.0.read(p, m)
        }
        fn write(&self, p: &Path, d: &[u8]) -> std::io::Result<()> {
            self.0.write(p, d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{Behaviour, FakeTsm, Shared};
    use super::*;
    use aether_evidence::{EvidencePolicy, LaunchMeasurement, verify};
    use std::sync::Arc;

    const NOW: u64 = 1_800_000_000;

    fn open(
        fake: &Arc<FakeTsm>,
        extra: impl FnOnce(&mut ProviderConfig),
    ) -> Result<ConfigfsTsm, EvidenceProviderError> {
        let mut cfg = ProviderConfig {
            configfs_root: fake.root(),
            ..ProviderConfig::default()
        };
        extra(&mut cfg);
        ConfigfsTsm::open_with(Box::new(Shared(Arc::clone(fake))), &cfg)
    }

    fn entries_left(fake: &FakeTsm) -> usize {
        std::fs::read_dir(fake.root()).unwrap().count()
    }

    #[test]
    fn snp_report_with_the_hosts_certificates_verifies() {
        let fake = Arc::new(FakeTsm::new(Behaviour::Tee(TeeKind::Snp)));
        let p = open(&fake, |_| {}).unwrap();
        assert_eq!(p.tee(), TeeKind::Snp);
        let rd = [0x11; 64];
        let e = p.evidence(rd).unwrap();
        let claims = verify(&e, &EvidencePolicy::production().with_simulated(), NOW).unwrap();
        assert_eq!(claims.report_data, rd);
        assert_eq!(claims.measurement, LaunchMeasurement::Snp(fake.measurement));
        assert_eq!(entries_left(&fake), 0, "every entry removed");
        // The protocol's order: write inblob, generation, outblob, auxblob, generation.
        let log = fake.log.lock().unwrap().join(", ");
        assert!(
            log.contains("read provider, write inblob 64, read generation, read outblob, read auxblob, read generation, rmdir"),
            "{log}"
        );
        assert!(
            !log.contains("privlevel"),
            "VMPL 0 is the default: not written"
        );
    }

    #[test]
    fn snp_privlevel_is_written_when_set() {
        let fake = Arc::new(FakeTsm::new(Behaviour::Tee(TeeKind::Snp)));
        let p = open(&fake, |c| c.snp_vmpl = 2).unwrap();
        p.raw(&[0; 64]).unwrap();
        assert!(
            fake.log
                .lock()
                .unwrap()
                .iter()
                .any(|l| l == "write privlevel 1")
        );
    }

    #[test]
    fn tdx_quote_needs_collateral_and_takes_it_from_a_file() {
        let fake = Arc::new(FakeTsm::new(Behaviour::Tee(TeeKind::Tdx)));
        let p = open(&fake, |_| {}).unwrap();
        assert_eq!(p.tee(), TeeKind::Tdx);
        let err = p.evidence([1; 64]).unwrap_err().to_string();
        assert!(err.contains("--tdx-collateral"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("collateral.json");
        std::fs::write(&file, aether_evidence::sim::TDX_COLLATERAL_JSON).unwrap();
        let p = open(&fake, |c| {
            c.tdx_collateral = Some(Source::File(file.clone()))
        })
        .unwrap();
        let e = p.evidence([2; 64]).unwrap();
        let claims = verify(&e, &EvidencePolicy::production().with_simulated(), NOW).unwrap();
        assert_eq!(claims.report_data, [2; 64]);
        assert_eq!(entries_left(&fake), 0);
    }

    #[test]
    fn a_racing_writer_is_detected_and_retried() {
        // One race: the second attempt succeeds.
        let fake = Arc::new(FakeTsm::new(Behaviour::Racing(TeeKind::Snp, 1)));
        let p = open(&fake, |_| {}).unwrap();
        p.evidence([3; 64]).unwrap();
        assert_eq!(
            fake.log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| *l == "read outblob")
                .count(),
            2
        );
        // Races on every attempt: a conflict error, no entry left behind.
        let fake = Arc::new(FakeTsm::new(Behaviour::Racing(TeeKind::Snp, ATTEMPTS)));
        let p = open(&fake, |_| {}).unwrap();
        let err = p.evidence([3; 64]).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceProviderError::Conflict {
                    before: 1,
                    after: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(entries_left(&fake), 0);
    }

    #[test]
    fn failures_are_reported_and_clean_up() {
        let fake = Arc::new(FakeTsm::new(Behaviour::NoProvider));
        let err = open(&fake, |_| {}).err().unwrap().to_string();
        assert!(err.contains("no TEE driver serves configfs-tsm"), "{err}");
        assert_eq!(entries_left(&fake), 0);

        let fake = Arc::new(FakeTsm::new(Behaviour::OutblobFails(TeeKind::Tdx)));
        let p = open(&fake, |_| {}).unwrap();
        let err = p.evidence([0; 64]).unwrap_err().to_string();
        assert!(
            err.contains("outblob") && err.contains("os error 5"),
            "{err}"
        );
        assert_eq!(entries_left(&fake), 0);

        let fake = Arc::new(FakeTsm::new(Behaviour::WrongReportData));
        let p = open(&fake, |_| {}).unwrap();
        let err = p.evidence([0; 64]).unwrap_err();
        assert!(
            matches!(err, EvidenceProviderError::Binding { .. }),
            "{err}"
        );

        let fake = Arc::new(FakeTsm::new(Behaviour::NoCerts));
        let p = open(&fake, |_| {}).unwrap();
        let err = p.evidence([0; 64]).unwrap_err().to_string();
        assert!(
            err.contains("no VCEK") && err.contains("--snp-vek"),
            "{err}"
        );
        // With a configured VCEK file it works.
        let dir = tempfile::tempdir().unwrap();
        let vcek = dir.path().join("vcek.pem");
        std::fs::write(&vcek, aether_evidence::sim::SNP_VCEK_PEM).unwrap();
        let p = open(&fake, |c| c.snp_vek = Some(Source::File(vcek.clone()))).unwrap();
        let e = p.evidence([5; 64]).unwrap();
        verify(&e, &EvidencePolicy::production().with_simulated(), NOW).unwrap();
    }

    #[test]
    fn probe_reasons() {
        let missing = probe(Path::new("/nonexistent/tsm/report")).unwrap_err();
        assert!(missing.contains("TSM_REPORTS"), "{missing}");
        let fake = FakeTsm::new(Behaviour::Tee(TeeKind::Tdx));
        assert_eq!(probe_with(&fake, &fake.root()), Ok(TeeKind::Tdx));
        assert_eq!(tee_of("sev_guest\n"), Ok(TeeKind::Snp));
        assert!(tee_of("arm_cca_guest").is_err());
        // A real directory without the kernel: the provider file is missing.
        let plain = tempfile::tempdir().unwrap();
        let err = probe(plain.path()).unwrap_err();
        assert!(err.contains("cannot read the provider"), "{err}");
    }
}
