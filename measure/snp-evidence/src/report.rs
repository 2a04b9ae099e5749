//! SEV-SNP attestation reports: length-checked parsing and typed claims.
//!
//! The wire format is `ATTESTATION_REPORT` of AMD's SEV-SNP ABI specification
//! (publication 56860), 1184 (0x4A0) bytes, little-endian:
//!
//! | offset | size | field | since |
//! |---|---|---|---|
//! | 0x000 | 4 | VERSION (2, 3 or 5) | v2 |
//! | 0x004 | 4 | GUEST_SVN | v2 |
//! | 0x008 | 8 | POLICY (guest policy, see [`GuestPolicyClaims`]) | v2 |
//! | 0x010 | 16 | FAMILY_ID | v2 |
//! | 0x020 | 16 | IMAGE_ID | v2 |
//! | 0x030 | 4 | VMPL | v2 |
//! | 0x034 | 4 | SIGNATURE_ALGO (1 = ECDSA P-384 with SHA-384) | v2 |
//! | 0x038 | 8 | CURRENT_TCB | v2 |
//! | 0x040 | 8 | PLATFORM_INFO | v2 |
//! | 0x048 | 4 | KEY_INFO (AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY) | v2 |
//! | 0x04C | 4 | reserved, zero | |
//! | 0x050 | 64 | REPORT_DATA | v2 |
//! | 0x090 | 48 | MEASUREMENT | v2 |
//! | 0x0C0 | 32 | HOST_DATA | v2 |
//! | 0x0E0 | 48 | ID_KEY_DIGEST | v2 |
//! | 0x110 | 48 | AUTHOR_KEY_DIGEST | v2 |
//! | 0x140 | 32 | REPORT_ID | v2 |
//! | 0x160 | 32 | REPORT_ID_MA | v2 |
//! | 0x180 | 8 | REPORTED_TCB | v2 |
//! | 0x188 | 3 | CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (v2: reserved) | v3 |
//! | 0x18B | 21 | reserved, zero | |
//! | 0x1A0 | 64 | CHIP_ID (zero when MaskChipId; Turin: 8 bytes + zeros) | v2 |
//! | 0x1E0 | 8 | COMMITTED_TCB | v2 |
//! | 0x1E8 | 3 | CURRENT_BUILD, CURRENT_MINOR, CURRENT_MAJOR | v2 |
//! | 0x1EC | 3 | COMMITTED_BUILD, COMMITTED_MINOR, COMMITTED_MAJOR | v2 |
//! | 0x1F0 | 8 | LAUNCH_TCB | v2 |
//! | 0x1F8 | 8 | LAUNCH_MIT_VECTOR (v2/v3: reserved) | v5 |
//! | 0x200 | 8 | CURRENT_MIT_VECTOR (v2/v3: reserved) | v5 |
//! | 0x208 | 152 | reserved, zero | |
//! | 0x2A0 | 512 | SIGNATURE: R (72, LE), S (72, LE), reserved (368) | v2 |
//!
//! The signed region is bytes `0..0x2A0`. A TCB version is 8 bytes: on Milan
//! and Genoa `[bootloader, tee, 0, 0, 0, 0, snp, microcode]`, on Turin
//! `[fmc, bootloader, tee, snp, 0, 0, 0, microcode]`.
//!
//! # Parsing
//! Field decoding is done by the `sev` crate's
//! [`sev::firmware::guest::AttestationReport`] (it rejects non-zero reserved
//! ranges and unknown CPUID generations). It is only called on exactly
//! [`REPORT_LEN`] bytes: with that length its decoder indexes fixed ranges of
//! a 1184-byte buffer and every other step returns an error, so it cannot
//! panic (audited for sev 8.0.0, and exercised by the property tests and the
//! fuzz target). We additionally require the unsigned tail of the signature
//! field (0x330..0x4A0, reserved) to be zero, so that a report has exactly
//! one accepted encoding. The raw bytes are kept: the signature is verified
//! over them, never over a re-encoding (sev's own `Verifiable` re-encodes the
//! parsed fields, which would silently drop any bits sev does not model).
//!
//! Known limitation of the sev 8.0.0 parser: a **v2** report whose CHIP_ID
//! is masked (all zero) is rejected, because v2 reports carry no CPUID and
//! sev infers the TCB layout from CHIP_ID.

use serde::Serialize;
use sev::firmware::guest::AttestationReport;
use sev::firmware::host::TcbVersion;
use sev::parser::ByteParser;

use crate::SnpError;
use crate::hexser;

/// Length of an attestation report in bytes.
pub const REPORT_LEN: usize = 0x4A0;
/// End of the signed region: the signature covers bytes `0..SIGNED_LEN`.
pub const SIGNED_LEN: usize = 0x2A0;
/// Offset of the signature's R component (72 bytes little-endian).
pub(crate) const SIG_R: usize = 0x2A0;
/// Offset of the signature's S component (72 bytes little-endian).
pub(crate) const SIG_S: usize = 0x2E8;
/// Start of the unsigned reserved tail of the signature field.
pub(crate) const SIG_RESERVED: usize = 0x330;

/// A parsed attestation report together with its exact bytes.
#[derive(Clone)]
pub struct SnpReport {
    raw: [u8; REPORT_LEN],
    parsed: AttestationReport,
}

impl std::fmt::Debug for SnpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnpReport")
            .field("version", &self.parsed.version)
            .field("measurement", &hex::encode(self.parsed.measurement))
            .finish_non_exhaustive()
    }
}

impl SnpReport {
    /// Parses a report. Never panics; any length other than 1184 bytes is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, SnpError> {
        let raw: [u8; REPORT_LEN] = bytes.try_into().map_err(|_| {
            SnpError::ReportParse(format!("expected {REPORT_LEN} bytes, got {}", bytes.len()))
        })?;
        let version = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        if !matches!(version, 2..=5) {
            // sev maps every version above 5 to the v5 layout; we refuse to guess.
            return Err(SnpError::ReportParse(format!(
                "unknown report version {version} (known: 2, 3, 4, 5)"
            )));
        }
        let parsed = AttestationReport::from_bytes(&raw)
            .map_err(|e| SnpError::ReportParse(format!("version {version}: {e}")))?;
        if raw[SIG_RESERVED..].iter().any(|&b| b != 0) {
            return Err(SnpError::ReportParse(
                "reserved bytes 0x330..0x4A0 of the signature field are not zero".into(),
            ));
        }
        Ok(Self { raw, parsed })
    }

    /// The exact report bytes.
    pub fn as_bytes(&self) -> &[u8; REPORT_LEN] {
        &self.raw
    }

    /// The signed region, bytes `0..0x2A0`.
    pub fn signed_region(&self) -> &[u8] {
        &self.raw[..SIGNED_LEN]
    }

    /// The `sev` crate's decoded view of the report.
    pub fn fields(&self) -> &AttestationReport {
        &self.parsed
    }

    /// The report version (2, 3, 4 or 5).
    pub fn version(&self) -> u32 {
        self.parsed.version
    }

    /// Signature R component, 72 bytes little-endian.
    pub(crate) fn sig_r(&self) -> &[u8] {
        &self.raw[SIG_R..SIG_S]
    }

    /// Signature S component, 72 bytes little-endian.
    pub(crate) fn sig_s(&self) -> &[u8] {
        &self.raw[SIG_S..SIG_RESERVED]
    }

    /// The TCB layout the parser used (from CPUID for v3+, from CHIP_ID for v2).
    pub fn tcb_layout(&self) -> TcbLayout {
        if self.parsed.reported_tcb.fmc.is_some() {
            TcbLayout::Turin
        } else {
            TcbLayout::MilanGenoa
        }
    }

    /// Every field of the report as typed claims (unverified on their own).
    pub fn claims(&self) -> ReportClaims {
        let r = &self.parsed;
        let raw_tcb = |off: usize| -> [u8; 8] {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.raw[off..off + 8]);
            b
        };
        ReportClaims {
            version: r.version,
            guest_svn: r.guest_svn,
            policy: GuestPolicyClaims::from_raw(u64::from_le_bytes(raw_tcb(0x08))),
            family_id: r.family_id,
            image_id: r.image_id,
            vmpl: r.vmpl,
            signature_algorithm: r.sig_algo,
            current_tcb: TcbClaims::new(&r.current_tcb, raw_tcb(0x38)),
            platform_info: PlatformInfoClaims::from_raw(u64::from_le_bytes(raw_tcb(0x40))),
            key_info: KeyInfoClaims::from_raw(u32::from(r.key_info)),
            report_data: r.report_data,
            measurement: r.measurement,
            host_data: r.host_data,
            id_key_digest: r.id_key_digest,
            author_key_digest: r.author_key_digest,
            report_id: r.report_id,
            report_id_ma: r.report_id_ma,
            reported_tcb: TcbClaims::new(&r.reported_tcb, raw_tcb(0x180)),
            cpuid: match (r.cpuid_fam_id, r.cpuid_mod_id, r.cpuid_step) {
                (Some(family), Some(model), Some(stepping)) => Some(CpuidClaims {
                    family,
                    model,
                    stepping,
                }),
                _ => None,
            },
            chip_id: r.chip_id,
            committed_tcb: TcbClaims::new(&r.committed_tcb, raw_tcb(0x1E0)),
            current_version: FirmwareVersion::from(r.current),
            committed_version: FirmwareVersion::from(r.committed),
            launch_tcb: TcbClaims::new(&r.launch_tcb, raw_tcb(0x1F0)),
            launch_mit_vector: r.launch_mit_vector,
            current_mit_vector: r.current_mit_vector,
            tcb_layout: self.tcb_layout(),
        }
    }
}

/// Byte layout of a TCB version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcbLayout {
    /// `[bootloader, tee, 0, 0, 0, 0, snp, microcode]` (Milan, Genoa).
    MilanGenoa,
    /// `[fmc, bootloader, tee, snp, 0, 0, 0, microcode]` (Turin and later).
    Turin,
}

/// One security version number of a TCB version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcbComponent {
    /// PSP bootloader SVN (VCEK extension blSPL, 1.3.6.1.4.1.3704.1.3.1).
    Bootloader,
    /// PSP OS (TEE) SVN (teeSPL, .3.2).
    Tee,
    /// SNP firmware SVN (snpSPL, .3.3).
    Snp,
    /// Lowest microcode patch level of all cores (ucodeSPL, .3.8).
    Microcode,
    /// Turin FMC firmware SVN (fmcSPL, .3.9).
    Fmc,
}

impl std::fmt::Display for TcbComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Bootloader => "bootloader",
            Self::Tee => "tee",
            Self::Snp => "snp",
            Self::Microcode => "microcode",
            Self::Fmc => "fmc",
        })
    }
}

/// A TCB version (CURRENT_TCB, REPORTED_TCB, COMMITTED_TCB or LAUNCH_TCB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TcbClaims {
    /// The 8 raw bytes (hex), in report order.
    #[serde(serialize_with = "hexser::bytes")]
    pub raw: [u8; 8],
    /// Turin FMC SVN; `None` on Milan and Genoa.
    pub fmc: Option<u8>,
    /// PSP bootloader SVN.
    pub bootloader: u8,
    /// PSP OS (TEE) SVN.
    pub tee: u8,
    /// SNP firmware SVN.
    pub snp: u8,
    /// Microcode patch level.
    pub microcode: u8,
}

impl TcbClaims {
    fn new(tcb: &TcbVersion, raw: [u8; 8]) -> Self {
        Self {
            raw,
            fmc: tcb.fmc,
            bootloader: tcb.bootloader,
            tee: tcb.tee,
            snp: tcb.snp,
            microcode: tcb.microcode,
        }
    }

    /// The value of one component (`None` for FMC outside Turin).
    pub fn component(&self, c: TcbComponent) -> Option<u8> {
        match c {
            TcbComponent::Bootloader => Some(self.bootloader),
            TcbComponent::Tee => Some(self.tee),
            TcbComponent::Snp => Some(self.snp),
            TcbComponent::Microcode => Some(self.microcode),
            TcbComponent::Fmc => self.fmc,
        }
    }
}

/// The guest policy (POLICY, offset 0x08), decoded.
///
/// | bits | name | meaning when set |
/// |---|---|---|
/// | 7:0 | ABI_MINOR | minimum firmware ABI minor the guest accepts |
/// | 15:8 | ABI_MAJOR | minimum firmware ABI major the guest accepts |
/// | 16 | SMT | host SMT allowed |
/// | 17 | reserved | must be one |
/// | 18 | MIGRATE_MA | association with a migration agent allowed |
/// | 19 | DEBUG | debugging allowed (the hypervisor can read guest memory) |
/// | 20 | SINGLE_SOCKET | guest may only run on one socket |
/// | 21 | CXL_ALLOW | CXL may be populated |
/// | 22 | MEM_AES_256_XTS | AES-256-XTS memory encryption required |
/// | 23 | RAPL_DIS | RAPL must be disabled |
/// | 24 | CIPHERTEXT_HIDING | ciphertext hiding must be enabled |
/// | 25 | PAGE_SWAP_DISABLE | page move/swap commands disabled |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuestPolicyClaims {
    /// The raw 64-bit policy.
    #[serde(serialize_with = "hexser::u64_hex")]
    pub raw: u64,
    /// ABI_MINOR (bits 7:0).
    pub abi_minor: u8,
    /// ABI_MAJOR (bits 15:8).
    pub abi_major: u8,
    /// SMT allowed (bit 16).
    pub smt_allowed: bool,
    /// Migration agent allowed (bit 18).
    pub migrate_ma_allowed: bool,
    /// Debugging allowed (bit 19).
    pub debug_allowed: bool,
    /// Single socket required (bit 20).
    pub single_socket_required: bool,
    /// CXL allowed (bit 21).
    pub cxl_allowed: bool,
    /// AES-256-XTS required (bit 22).
    pub mem_aes_256_xts: bool,
    /// RAPL disabled (bit 23).
    pub rapl_disabled: bool,
    /// Ciphertext hiding required (bit 24).
    pub ciphertext_hiding: bool,
    /// Page swap disabled (bit 25).
    pub page_swap_disabled: bool,
}

impl GuestPolicyClaims {
    /// Decodes a raw guest policy.
    pub fn from_raw(raw: u64) -> Self {
        let bit = |n: u32| raw >> n & 1 == 1;
        Self {
            raw,
            abi_minor: (raw & 0xff) as u8,
            abi_major: (raw >> 8 & 0xff) as u8,
            smt_allowed: bit(16),
            migrate_ma_allowed: bit(18),
            debug_allowed: bit(19),
            single_socket_required: bit(20),
            cxl_allowed: bit(21),
            mem_aes_256_xts: bit(22),
            rapl_disabled: bit(23),
            ciphertext_hiding: bit(24),
            page_swap_disabled: bit(25),
        }
    }
}

/// PLATFORM_INFO (offset 0x40), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlatformInfoClaims {
    /// The raw 64-bit value.
    #[serde(serialize_with = "hexser::u64_hex")]
    pub raw: u64,
    /// SMT is enabled on the host (bit 0).
    pub smt_enabled: bool,
    /// TSME is enabled (bit 1).
    pub tsme_enabled: bool,
    /// ECC memory is in use (bit 2).
    pub ecc_enabled: bool,
    /// RAPL is disabled (bit 3).
    pub rapl_disabled: bool,
    /// Ciphertext hiding is enabled (bit 4).
    pub ciphertext_hiding_enabled: bool,
    /// Alias check completed with no aliasing (bit 5, v3+).
    pub alias_check_complete: bool,
    /// SEV-TIO is enabled (bit 7, v5).
    pub tio_enabled: bool,
}

impl PlatformInfoClaims {
    /// Decodes a raw PLATFORM_INFO.
    pub fn from_raw(raw: u64) -> Self {
        let bit = |n: u32| raw >> n & 1 == 1;
        Self {
            raw,
            smt_enabled: bit(0),
            tsme_enabled: bit(1),
            ecc_enabled: bit(2),
            rapl_disabled: bit(3),
            ciphertext_hiding_enabled: bit(4),
            alias_check_complete: bit(5),
            tio_enabled: bit(7),
        }
    }
}

/// KEY_INFO (offset 0x48), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyInfoClaims {
    /// The raw 32-bit value.
    pub raw: u32,
    /// AUTHOR_KEY_DIGEST is present (bit 0).
    pub author_key_en: bool,
    /// MASK_CHIP_KEY (bit 1): the firmware wrote zeros instead of signing.
    pub mask_chip_key: bool,
    /// SIGNING_KEY (bits 4:2): 0 VCEK, 1 VLEK, 7 none.
    pub signing_key: u8,
}

impl KeyInfoClaims {
    /// Decodes a raw KEY_INFO.
    pub fn from_raw(raw: u32) -> Self {
        Self {
            raw,
            author_key_en: raw & 1 == 1,
            mask_chip_key: raw >> 1 & 1 == 1,
            signing_key: (raw >> 2 & 0b111) as u8,
        }
    }

    /// The signing key as a name: "VCEK", "VLEK", "none" or "reserved(n)".
    pub fn signing_key_name(&self) -> String {
        match self.signing_key {
            0 => "VCEK".into(),
            1 => "VLEK".into(),
            7 => "none".into(),
            n => format!("reserved({n})"),
        }
    }
}

/// CPUID family, model and stepping of the signing processor (v3+ reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuidClaims {
    /// Combined extended family and family (e.g. 0x19 Milan/Genoa, 0x1A Turin).
    pub family: u8,
    /// Combined extended model and model.
    pub model: u8,
    /// Stepping.
    pub stepping: u8,
}

/// A firmware version `major.minor.build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FirmwareVersion {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Build.
    pub build: u8,
}

impl From<sev::firmware::guest::Version> for FirmwareVersion {
    fn from(v: sev::firmware::guest::Version) -> Self {
        Self {
            major: v.major,
            minor: v.minor,
            build: v.build,
        }
    }
}

/// Every field of an attestation report, typed. On its own this is only what
/// the report *says*; [`crate::VerifiedSnpReport`] holds it once verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportClaims {
    /// VERSION: 2, 3 or 5 (4 parses like 3).
    pub version: u32,
    /// GUEST_SVN from the ID block.
    pub guest_svn: u32,
    /// POLICY, decoded.
    pub policy: GuestPolicyClaims,
    /// FAMILY_ID from the ID block.
    #[serde(serialize_with = "hexser::bytes")]
    pub family_id: [u8; 16],
    /// IMAGE_ID from the ID block.
    #[serde(serialize_with = "hexser::bytes")]
    pub image_id: [u8; 16],
    /// VMPL at which the report was requested.
    pub vmpl: u32,
    /// SIGNATURE_ALGO (1 = ECDSA P-384 with SHA-384).
    pub signature_algorithm: u32,
    /// CURRENT_TCB.
    pub current_tcb: TcbClaims,
    /// PLATFORM_INFO, decoded.
    pub platform_info: PlatformInfoClaims,
    /// KEY_INFO, decoded.
    pub key_info: KeyInfoClaims,
    /// REPORT_DATA supplied by the guest (64 bytes).
    #[serde(serialize_with = "hexser::bytes")]
    pub report_data: [u8; 64],
    /// MEASUREMENT: the launch digest (48 bytes).
    #[serde(serialize_with = "hexser::bytes")]
    pub measurement: [u8; 48],
    /// HOST_DATA supplied by the hypervisor at launch (32 bytes).
    #[serde(serialize_with = "hexser::bytes")]
    pub host_data: [u8; 32],
    /// ID_KEY_DIGEST: SHA-384 of the ID block's public key (zero without ID block).
    #[serde(serialize_with = "hexser::bytes")]
    pub id_key_digest: [u8; 48],
    /// AUTHOR_KEY_DIGEST: SHA-384 of the author key (zero unless AUTHOR_KEY_EN).
    #[serde(serialize_with = "hexser::bytes")]
    pub author_key_digest: [u8; 48],
    /// REPORT_ID of the guest.
    #[serde(serialize_with = "hexser::bytes")]
    pub report_id: [u8; 32],
    /// REPORT_ID of the guest's migration agent.
    #[serde(serialize_with = "hexser::bytes")]
    pub report_id_ma: [u8; 32],
    /// REPORTED_TCB: the TCB the signing key was derived for.
    pub reported_tcb: TcbClaims,
    /// CPUID family/model/stepping (v3+; `None` for v2).
    pub cpuid: Option<CpuidClaims>,
    /// CHIP_ID (64 bytes; zero when masked; Turin: first 8 bytes meaningful).
    #[serde(serialize_with = "hexser::bytes")]
    pub chip_id: [u8; 64],
    /// COMMITTED_TCB.
    pub committed_tcb: TcbClaims,
    /// CURRENT firmware version.
    pub current_version: FirmwareVersion,
    /// COMMITTED firmware version.
    pub committed_version: FirmwareVersion,
    /// LAUNCH_TCB: CURRENT_TCB when the guest was launched or imported.
    pub launch_tcb: TcbClaims,
    /// LAUNCH_MIT_VECTOR (v5 only).
    #[serde(serialize_with = "hexser::opt_u64_hex")]
    pub launch_mit_vector: Option<u64>,
    /// CURRENT_MIT_VECTOR (v5 only).
    #[serde(serialize_with = "hexser::opt_u64_hex")]
    pub current_mit_vector: Option<u64>,
    /// The TCB byte layout used to decode the TCB fields.
    pub tcb_layout: TcbLayout,
}
