//! [`SimSigner`]: signs SEV-SNP reports and TDX quotes under the simulated
//! root (feature `sim-signer`; never in production builds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aether_snp_evidence::test_signer::{ReportSpec, TestCa, TestVek, VekSpec};
use aether_snp_evidence::{Product, SignerKind};
use aether_tdx_evidence::TcbStatus;
use aether_tdx_evidence::test_signer::{TestChain, TestChainOptions, TestCollateral, TestTdReport};

use super::*;
use crate::Evidence;

/// The ASK's private key (PKCS#8), derived from [`SNP_CA_SEED`].
const SNP_ASK_KEY_PEM: &str = include_str!("../../sim/keys/snp_ask.key.pem");
/// The ASVK's private key (PKCS#8), derived from [`SNP_ASVK_SEED`].
const SNP_ASVK_KEY_PEM: &str = include_str!("../../sim/keys/snp_asvk.key.pem");

/// An SEV-SNP TCB version (Milan/Genoa layout, as the simulated product uses).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SnpTcb {
    /// PSP bootloader SVN.
    pub bootloader: u8,
    /// PSP OS (TEE) SVN.
    pub tee: u8,
    /// SNP firmware SVN.
    pub snp: u8,
    /// Microcode patch level.
    pub microcode: u8,
}

impl Default for SnpTcb {
    /// [`SNP_TCB`]: the TCB of the default VCEK and VLEK.
    fn default() -> Self {
        let [bootloader, tee, snp, microcode] = SNP_TCB;
        Self {
            bootloader,
            tee,
            snp,
            microcode,
        }
    }
}

impl SnpTcb {
    fn five(self) -> [u8; 5] {
        [self.bootloader, self.tee, self.snp, self.microcode, 0]
    }
}

/// What a simulated SEV-SNP report says besides its measurement and report
/// data. The default is a report [`crate::EvidencePolicy::production`]'s
/// checks accept (apart from its root).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SimSnpOptions {
    /// Report version: 3 or 5 (default 5); others are signed as given.
    pub version: u32,
    /// Set the guest policy's DEBUG bit (19).
    pub debug: bool,
    /// Guest policy without DEBUG (default 0x30000: SMT allowed, bit 17 set).
    pub guest_policy: u64,
    /// REPORTED_TCB (and the TCB of the VCEK/VLEK issued for it).
    pub reported_tcb: SnpTcb,
    /// HOST_DATA.
    pub host_data: [u8; 32],
    /// Sign with a VLEK (issued by the ASVK) instead of the VCEK.
    pub vlek: bool,
    /// VMPL the report was requested at (default 0).
    pub vmpl: u32,
    /// CHIP_ID, and the VCEK's hwID (default [`SNP_CHIP_ID`]); another value
    /// is another simulated machine with its own VCEK.
    pub chip_id: [u8; 64],
}

impl Default for SimSnpOptions {
    fn default() -> Self {
        Self {
            version: 5,
            debug: false,
            guest_policy: 0x30000,
            reported_tcb: SnpTcb::default(),
            host_data: [0; 32],
            vlek: false,
            vmpl: 0,
            chip_id: SNP_CHIP_ID,
        }
    }
}

/// What a simulated TDX quote says besides its measurements and report
/// data. The default is a quote [`crate::EvidencePolicy::production`]'s
/// checks accept (apart from its root).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SimTdxOptions {
    /// Set the DEBUG bit of the TD attributes.
    pub debug: bool,
    /// TCB status of the collateral's platform TCB level (default
    /// `UpToDate`, with the committed collateral; others get collateral
    /// signed for them).
    pub tcb_status: TcbStatus,
    /// Advisory ids of that level.
    pub advisory_ids: Vec<String>,
    /// TEE_TCB_SVN (default: byte 0 = 3; the collateral's TDX module level
    /// needs byte 0 >= 2, below that the TCB level check fails).
    pub tee_tcb_svn: [u8; 16],
    /// MRCONFIGID (the claims' host data).
    pub mrconfigid: [u8; 48],
}

impl Default for SimTdxOptions {
    fn default() -> Self {
        Self {
            debug: false,
            tcb_status: TcbStatus::UpToDate,
            advisory_ids: Vec::new(),
            tee_tcb_svn: TestTdReport::default().tee_tcb_svn,
            mrconfigid: [0; 48],
        }
    }
}

/// Signs simulated evidence. Deterministic: the same arguments give the
/// same bytes. Cheap to create; the keys are loaded once per process and
/// every VCEK/VLEK or collateral it issues is kept for reuse.
#[derive(Clone, Copy)]
pub struct SimSigner {
    keys: &'static SimKeys,
}

impl std::fmt::Debug for SimSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSigner").finish_non_exhaustive()
    }
}

impl Default for SimSigner {
    fn default() -> Self {
        Self::new()
    }
}

type VekKey = (SignerKind, [u8; 64], SnpTcb);
type CollateralKey = (String, Vec<String>);

struct SimKeys {
    ask: TestCa,
    asvk: TestCa,
    veks: Mutex<HashMap<VekKey, Arc<TestVek>>>,
    tdx: TestChain,
    collaterals: Mutex<HashMap<CollateralKey, Arc<Vec<u8>>>>,
}

fn sim_chain_options() -> TestChainOptions {
    TestChainOptions {
        not_before: (2000, 1, 1),
        not_after: (2099, 1, 1),
        pck_not_after: (2099, 1, 1),
        sgx_extension: true,
    }
}

fn sim_collateral(tcb_status: TcbStatus, advisory_ids: Vec<String>) -> TestCollateral {
    TestCollateral {
        tcb_status,
        advisory_ids,
        issue_date: "2000-01-01T00:00:00Z".into(),
        next_update: "2099-01-01T00:00:00Z".into(),
        crl_this_update: (2000, 1, 1),
        crl_next_update: (2099, 1, 1),
        ..TestCollateral::default()
    }
}

fn vek_spec(kind: SignerKind, chip_id: &[u8; 64], tcb: SnpTcb) -> VekSpec {
    let mut spec = VekSpec::vcek(SNP_PRODUCT, chip_id, tcb.five());
    match kind {
        SignerKind::Vcek => spec.key_seed = SNP_VCEK_KEY_SEED,
        SignerKind::Vlek => {
            spec.hw_id = None;
            spec.key_seed = SNP_VLEK_KEY_SEED;
        }
    }
    spec
}

/// The TDX collateral JSON as committed: pretty-printed, newline-terminated.
fn collateral_text(chain: &TestChain, opts: &TestCollateral) -> String {
    let compact = chain.collateral_json(opts);
    let value: serde_json::Value =
        serde_json::from_str(&compact).expect("the test signer writes JSON");
    let mut text = serde_json::to_string_pretty(&value).expect("JSON");
    text.push('\n');
    text
}

fn cert_pem(der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

impl SimKeys {
    fn load() -> Self {
        let ask = TestCa::from_pem(SNP_ARK_PEM, SNP_ASK_PEM, SNP_ASK_KEY_PEM)
            .expect("the committed simulated ASK and its key load");
        let asvk = TestCa::from_pem(SNP_ARK_PEM, SNP_ASVK_PEM, SNP_ASVK_KEY_PEM)
            .expect("the committed simulated ASVK and its key load");
        let mut veks = HashMap::new();
        for (kind, pem_text, seed) in [
            (SignerKind::Vcek, SNP_VCEK_PEM, SNP_VCEK_KEY_SEED),
            (SignerKind::Vlek, SNP_VLEK_PEM, SNP_VLEK_KEY_SEED),
        ] {
            let der = pem::parse(pem_text)
                .expect("the committed simulated VCEK/VLEK is PEM")
                .into_contents();
            veks.insert(
                (kind, SNP_CHIP_ID, SnpTcb::default()),
                Arc::new(TestVek::from_key_seed(der, seed)),
            );
        }
        let tdx = TestChain::from_seed(&TDX_CHAIN_SEED, &sim_chain_options());
        let mut collaterals = HashMap::new();
        collaterals.insert(
            (format!("{:?}", TcbStatus::UpToDate), Vec::new()),
            Arc::new(TDX_COLLATERAL_JSON.as_bytes().to_vec()),
        );
        Self {
            ask,
            asvk,
            veks: Mutex::new(veks),
            tdx,
            collaterals: Mutex::new(collaterals),
        }
    }

    fn vek(&self, kind: SignerKind, chip_id: [u8; 64], tcb: SnpTcb) -> Arc<TestVek> {
        let mut veks = self.veks.lock().unwrap_or_else(|p| p.into_inner());
        let ca = match kind {
            SignerKind::Vcek => &self.ask,
            SignerKind::Vlek => &self.asvk,
        };
        veks.entry((kind, chip_id, tcb))
            .or_insert_with(|| Arc::new(ca.issue(&vek_spec(kind, &chip_id, tcb))))
            .clone()
    }

    fn collateral(&self, status: TcbStatus, advisory_ids: &[String]) -> Arc<Vec<u8>> {
        let mut map = self.collaterals.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((format!("{status:?}"), advisory_ids.to_vec()))
            .or_insert_with(|| {
                let opts = sim_collateral(status, advisory_ids.to_vec());
                Arc::new(collateral_text(&self.tdx, &opts).into_bytes())
            })
            .clone()
    }
}

impl SimSigner {
    /// The signer (keys loaded on first use in the process).
    pub fn new() -> Self {
        static KEYS: OnceLock<SimKeys> = OnceLock::new();
        Self {
            keys: KEYS.get_or_init(SimKeys::load),
        }
    }

    /// A simulated SEV-SNP report of `measurement` carrying `report_data`,
    /// signed by the simulated VCEK (or VLEK), with the VCEK/VLEK as the only
    /// certificate (the ASK/ASVK come with the simulated roots).
    pub fn snp(
        &self,
        measurement: [u8; 48],
        report_data: [u8; 64],
        opts: &SimSnpOptions,
    ) -> Evidence {
        let kind = if opts.vlek {
            SignerKind::Vlek
        } else {
            SignerKind::Vcek
        };
        let vek = self.keys.vek(kind, opts.chip_id, opts.reported_tcb);
        let mut spec = ReportSpec::new(Product::Milan, opts.reported_tcb.five());
        spec.version = opts.version;
        spec.policy = opts.guest_policy | if opts.debug { 1 << 19 } else { 0 };
        spec.vmpl = opts.vmpl;
        spec.key_info = if opts.vlek { 1 << 2 } else { 0 };
        spec.report_data = report_data;
        spec.measurement = measurement;
        spec.host_data = opts.host_data;
        spec.chip_id = opts.chip_id;
        Evidence::Snp {
            report: spec.signed_by(&vek).to_vec(),
            vek: vek.cert_der.clone(),
            chain: None,
        }
    }

    /// A simulated TDX quote (v4) of `mrtd` and `rtmr` carrying
    /// `report_data`, with collateral for its TCB status.
    pub fn tdx(
        &self,
        mrtd: [u8; 48],
        rtmr: [[u8; 48]; 4],
        report_data: [u8; 64],
        opts: &SimTdxOptions,
    ) -> Evidence {
        let mut report = TestTdReport {
            tee_tcb_svn: opts.tee_tcb_svn,
            mrtd,
            mrconfigid: opts.mrconfigid,
            rtmr,
            report_data,
            ..TestTdReport::default()
        };
        if opts.debug {
            report.td_attributes[0] |= 1;
        }
        Evidence::Tdx {
            quote: self.keys.tdx.quote(&report),
            collateral: self
                .keys
                .collateral(opts.tcb_status, &opts.advisory_ids)
                .to_vec(),
        }
    }
}

/// A file of `measure/evidence/sim/` and its content.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SimFile {
    /// Path relative to `measure/evidence/sim/`.
    pub path: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Every committed simulated file, regenerated from the seeds with the test
/// signers (slow: three RSA-2048 key generations).
pub fn regenerate_files() -> Vec<SimFile> {
    let ask =
        TestCa::with_organization(SNP_PRODUCT, SignerKind::Vcek, SNP_CA_SEED, SNP_ORGANIZATION);
    let asvk = ask.sibling(SignerKind::Vlek, SNP_ASVK_SEED);
    let tcb = SnpTcb::default();
    let vcek = ask.issue(&vek_spec(SignerKind::Vcek, &SNP_CHIP_ID, tcb));
    let vlek = asvk.issue(&vek_spec(SignerKind::Vlek, &SNP_CHIP_ID, tcb));
    let tdx = TestChain::from_seed(&TDX_CHAIN_SEED, &sim_chain_options());
    let collateral = collateral_text(&tdx, &sim_collateral(TcbStatus::UpToDate, Vec::new()));
    let files: [(&'static str, String); 9] = [
        ("snp_ark.pem", ask.ark_pem()),
        ("snp_ask.pem", ask.intermediate_pem()),
        ("snp_asvk.pem", asvk.intermediate_pem()),
        ("snp_vcek.pem", cert_pem(&vcek.cert_der)),
        ("snp_vlek.pem", cert_pem(&vlek.cert_der)),
        ("tdx_root.pem", cert_pem(tdx.root_der())),
        ("tdx_collateral.json", collateral),
        ("keys/snp_ask.key.pem", ask.intermediate_key_pem()),
        ("keys/snp_asvk.key.pem", asvk.intermediate_key_pem()),
    ];
    files
        .into_iter()
        .map(|(path, text)| SimFile {
            path,
            bytes: text.into_bytes(),
        })
        .collect()
}
