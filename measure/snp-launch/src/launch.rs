//! The launch measurement of each guest mode, as `sev-snp-measure` 0.0.13
//! (`guest.py`) computes it.
//!
//! | mode | digest |
//! |---|---|
//! | `sev` | SHA-256(OVMF ‖ hashes table if a kernel is given) |
//! | `seves` | SHA-256(OVMF ‖ hashes table? ‖ VMSA page of each vCPU), guest features 0 |
//! | `snp` | SNP launch digest (SHA-384 `PAGE_INFO` chain): OVMF pages, metadata sections, one VMSA page per vCPU |
//! | `snp:ovmf-hash` | the SNP launch digest after the OVMF pages only (input to `--snp-ovmf-hash`) |
//! | `snp:svsm` | SNP launch digest of OVMF + Coconut SVSM below it, the SVSM's metadata, SVSM VMSAs |
//!
//! SNP metadata sections are measured in declaration order:
//! `SNP_SEC_MEM` as zero pages (unmeasured pages on GCE), `SNP_SECRETS` as a
//! secrets page, `CPUID` as a CPUID page (on ec2: after all other sections),
//! `SNP_KERNEL_HASHES` as the page holding the [`SevHashes`] table when a
//! kernel is given (else zero pages), `SVSM_CAA` as zero pages.

use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::hashes_table::{SevHashes, cmdline_sha256};
use crate::hashing::{Parallelism, hash_all};
use crate::ovmf::{Firmware, SectionType};
use crate::page_info::{LaunchDigest, PageType, Sha384Digest};
use crate::vmsa::{VmmType, VmsaPages};
use crate::{PAGE_SIZE, page_info};

/// Guest modes (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `sev`: SEV, SHA-256 launch digest.
    Sev,
    /// `seves`: SEV-ES, SHA-256 launch digest including VMSAs.
    SevEs,
    /// `snp`: SEV-SNP launch digest.
    Snp,
    /// `snp:ovmf-hash`: the SNP digest of the OVMF pages alone.
    SnpOvmfHash,
    /// `snp:svsm`: SEV-SNP with a Coconut SVSM.
    SnpSvsm,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 5] = [
        Mode::Sev,
        Mode::SevEs,
        Mode::Snp,
        Mode::SnpOvmfHash,
        Mode::SnpSvsm,
    ];

    /// The `--mode` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sev => "sev",
            Mode::SevEs => "seves",
            Mode::Snp => "snp",
            Mode::SnpOvmfHash => "snp:ovmf-hash",
            Mode::SnpSvsm => "snp:svsm",
        }
    }

    /// The mode for a `--mode` spelling.
    pub fn from_name(name: &str) -> Option<Mode> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The reference tool's `SevMode` name, printed by `--verbose`.
    pub fn sev_mode_name(self) -> &'static str {
        match self {
            Mode::Sev => "SEV",
            Mode::SevEs => "SEV_ES",
            Mode::Snp | Mode::SnpOvmfHash => "SEV_SNP",
            Mode::SnpSvsm => "SEV_SNP_SVSM",
        }
    }

    /// Whether the mode has VMSA pages (and so needs a vCPU count).
    pub fn has_vmsa(self) -> bool {
        matches!(self, Mode::SevEs | Mode::Snp | Mode::SnpSvsm)
    }
}

/// The direct-boot kernel inputs measured through the SEV hashes table.
#[derive(Debug, Clone, Copy)]
pub enum Kernel<'a> {
    /// The artifacts themselves; they are hashed (SHA-256) in place.
    Bytes {
        /// Kernel image.
        kernel: &'a [u8],
        /// Initrd; `None` measures as the empty initrd.
        initrd: Option<&'a [u8]>,
        /// Kernel command line; `None` or empty measures as `"\0"`.
        cmdline: Option<&'a str>,
    },
    /// Digests computed elsewhere (e.g. while streaming the files).
    Hashes(SevHashes),
}

/// A Coconut SVSM image for `snp:svsm`.
#[derive(Debug, Clone, Copy)]
pub struct Svsm<'a> {
    /// The SVSM binary, placed to end `vars_size` bytes below the OVMF.
    pub image: &'a [u8],
    /// Size of the OVMF variable store between the SVSM and the OVMF.
    pub vars_size: i64,
}

/// Everything a launch measurement depends on.
#[derive(Debug, Clone)]
pub struct LaunchInputs<'a> {
    /// Guest mode.
    pub mode: Mode,
    /// The OVMF firmware image.
    pub ovmf: &'a [u8],
    /// Precomputed `snp:ovmf-hash` digest replacing the hashing of the OVMF
    /// pages (`snp` mode only; the OVMF is still decoded for its metadata).
    pub ovmf_hash: Option<Sha384Digest>,
    /// Kernel, initrd and command line for a direct boot.
    pub kernel: Option<Kernel<'a>>,
    /// Number of vCPUs (VMSA pages).
    pub vcpus: u32,
    /// vCPU signature placed in RDX (QEMU).
    pub vcpu_sig: u64,
    /// The VMM.
    pub vmm: VmmType,
    /// Guest features (`SEV_FEATURES` of the VMSA) for SNP.
    pub guest_features: u64,
    /// SVSM image (`snp:svsm`).
    pub svsm: Option<Svsm<'a>>,
    /// Threads for bulk hashing.
    pub parallelism: Parallelism,
}

impl<'a> LaunchInputs<'a> {
    /// Inputs with the reference tool's defaults: 1 vCPU, signature 0, QEMU,
    /// guest features 0x1, no kernel, no SVSM.
    pub fn new(mode: Mode, ovmf: &'a [u8]) -> Self {
        LaunchInputs {
            mode,
            ovmf,
            ovmf_hash: None,
            kernel: None,
            vcpus: 1,
            vcpu_sig: 0,
            vmm: VmmType::Qemu,
            guest_features: 0x1,
            svsm: None,
            parallelism: Parallelism::Auto,
        }
    }
}

/// A launch digest: SHA-256 for SEV and SEV-ES, SHA-384 for SNP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchDigestValue {
    /// SEV / SEV-ES.
    Sha256([u8; 32]),
    /// SEV-SNP.
    Sha384(Sha384Digest),
}

impl LaunchDigestValue {
    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            LaunchDigestValue::Sha256(d) => d,
            LaunchDigestValue::Sha384(d) => d,
        }
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

/// The result of [`measure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    /// The mode measured.
    pub mode: Mode,
    /// The launch digest.
    pub digest: LaunchDigestValue,
    /// SNP modes: the launch digest after the OVMF pages (what
    /// `snp:ovmf-hash` prints and `--snp-ovmf-hash` takes).
    pub ovmf_digest: Option<Sha384Digest>,
    /// The hashes table contents when a kernel was measured.
    pub hashes: Option<SevHashes>,
    /// The VMSA pages measured (SEV-ES and SNP modes).
    pub vmsa: Option<VmsaPages>,
}

/// Computes the launch measurement of `inputs`.
pub fn measure(inputs: &LaunchInputs<'_>) -> Result<Measurement, Error> {
    if inputs.ovmf_hash.is_some() && !matches!(inputs.mode, Mode::Snp | Mode::SnpOvmfHash) {
        return Err(Error::OvmfHashOnlyWithSnp);
    }
    match inputs.mode {
        Mode::Sev | Mode::SevEs => sev_or_seves(inputs),
        Mode::Snp => snp(inputs),
        Mode::SnpOvmfHash => snp_ovmf_hash(inputs.ovmf, inputs.parallelism),
        Mode::SnpSvsm => svsm(inputs),
    }
}

/// Checks that `fw` can be measured as data pages and returns its GPA.
fn page_run_gpa(fw: &Firmware<'_>) -> Result<u64, Error> {
    let len = fw.data().len();
    if !len.is_multiple_of(PAGE_SIZE) {
        return Err(Error::ImageNotPageAligned {
            image: fw.name(),
            len,
        });
    }
    let gpa = fw.gpa()?;
    let last = len.saturating_sub(PAGE_SIZE) as u64;
    gpa.checked_add(last).ok_or(Error::GpaOutOfRange {
        image: fw.name(),
        len,
        end_at: fw.gpa_signed().saturating_add(len as i128),
    })?;
    Ok(gpa)
}

/// What the bulk hashing of one measurement produced.
struct Hashed {
    page_digests: Vec<Vec<Sha384Digest>>,
    /// SHA-256 states of the streams, in the order given.
    streams: Vec<Sha256>,
}

fn hash_inputs(streams: &[&[u8]], page_sets: &[&[u8]], parallelism: Parallelism) -> Hashed {
    let mut states = vec![Sha256::new(); streams.len()];
    let mut page_digests: Vec<Vec<Sha384Digest>> = page_sets
        .iter()
        .map(|d| vec![[0u8; 48]; d.len() / PAGE_SIZE])
        .collect();
    hash_all(
        streams,
        &mut states,
        page_sets,
        &mut page_digests,
        parallelism,
    );
    Hashed {
        page_digests,
        streams: states,
    }
}

/// The streams to hash for a kernel, and how to rebuild [`SevHashes`].
fn kernel_streams<'a>(kernel: Option<&Kernel<'a>>) -> Vec<&'a [u8]> {
    match kernel {
        Some(Kernel::Bytes { kernel, initrd, .. }) => vec![kernel, initrd.unwrap_or(&[])],
        _ => Vec::new(),
    }
}

fn kernel_hashes(
    kernel: Option<&Kernel<'_>>,
    states: &mut impl Iterator<Item = Sha256>,
) -> Option<SevHashes> {
    match kernel? {
        Kernel::Bytes { cmdline, .. } => {
            let kernel = states
                .next()
                .map(|s| s.finalize().into())
                .unwrap_or_default();
            let initrd = states
                .next()
                .map(|s| s.finalize().into())
                .unwrap_or_default();
            Some(SevHashes {
                kernel,
                initrd,
                cmdline: cmdline_sha256(*cmdline),
            })
        }
        Kernel::Hashes(h) => Some(*h),
    }
}

fn sev_or_seves(inputs: &LaunchInputs<'_>) -> Result<Measurement, Error> {
    let ovmf = Firmware::parse_ovmf(inputs.ovmf)?;
    if inputs.kernel.is_some() && !ovmf.supports_sev_hashes_table() {
        return Err(Error::HashesTableUnsupported);
    }
    let mut streams = vec![inputs.ovmf];
    streams.extend(kernel_streams(inputs.kernel.as_ref()));
    let hashed = hash_inputs(&streams, &[], inputs.parallelism);
    let mut states = hashed.streams.into_iter();
    let mut launch = states.next().unwrap_or_default();
    let hashes = kernel_hashes(inputs.kernel.as_ref(), &mut states);
    if let Some(h) = &hashes {
        launch.update(h.table());
    }
    let vmsa = if inputs.mode == Mode::SevEs {
        let eip = ovmf.sev_es_reset_eip()?;
        let pages = VmsaPages::reset(inputs.vcpus, eip, 0, inputs.vcpu_sig, inputs.vmm)?;
        for page in pages.iter() {
            launch.update(page);
        }
        Some(pages)
    } else {
        None
    };
    Ok(Measurement {
        mode: inputs.mode,
        digest: LaunchDigestValue::Sha256(launch.finalize().into()),
        ovmf_digest: None,
        hashes,
        vmsa,
    })
}

fn snp_ovmf_hash(ovmf: &[u8], parallelism: Parallelism) -> Result<Measurement, Error> {
    let fw = Firmware::parse_ovmf(ovmf)?;
    let gpa = page_run_gpa(&fw)?;
    let hashed = hash_inputs(&[], &[ovmf], parallelism);
    let mut ld = LaunchDigest::new();
    ld.update_normal_digests(gpa, hashed.page_digests.first().map_or(&[], Vec::as_slice));
    Ok(Measurement {
        mode: Mode::SnpOvmfHash,
        digest: LaunchDigestValue::Sha384(ld.digest()),
        ovmf_digest: Some(ld.digest()),
        hashes: None,
        vmsa: None,
    })
}

fn snp(inputs: &LaunchInputs<'_>) -> Result<Measurement, Error> {
    let ovmf = Firmware::parse_ovmf(inputs.ovmf)?;
    let pages: &[&[u8]] = match inputs.ovmf_hash {
        Some(_) => &[],
        None => &[inputs.ovmf],
    };
    let gpa = match inputs.ovmf_hash {
        Some(_) => 0,
        None => page_run_gpa(&ovmf)?,
    };
    let streams = kernel_streams(inputs.kernel.as_ref());
    let hashed = hash_inputs(&streams, pages, inputs.parallelism);
    let mut ld = match inputs.ovmf_hash {
        Some(seed) => LaunchDigest::from_seed(seed),
        None => {
            let mut ld = LaunchDigest::new();
            ld.update_normal_digests(gpa, hashed.page_digests.first().map_or(&[], Vec::as_slice));
            ld
        }
    };
    let ovmf_digest = ld.digest();
    let hashes = kernel_hashes(inputs.kernel.as_ref(), &mut hashed.streams.into_iter());
    update_metadata_pages(&mut ld, &ovmf, hashes.as_ref(), inputs.vmm)?;
    let eip = ovmf.sev_es_reset_eip()?;
    let vmsa = VmsaPages::reset(
        inputs.vcpus,
        eip,
        inputs.guest_features,
        inputs.vcpu_sig,
        inputs.vmm,
    )?;
    update_vmsa_pages(&mut ld, &vmsa);
    Ok(Measurement {
        mode: Mode::Snp,
        digest: LaunchDigestValue::Sha384(ld.digest()),
        ovmf_digest: Some(ovmf_digest),
        hashes,
        vmsa: Some(vmsa),
    })
}

fn svsm(inputs: &LaunchInputs<'_>) -> Result<Measurement, Error> {
    if inputs.vmm != VmmType::Qemu {
        return Err(Error::SvsmOnlyQemu);
    }
    // The reference tool reads the OVMF before it looks for the SVSM image:
    // report a bad OVMF first, as it does.
    let ovmf = Firmware::parse_ovmf(inputs.ovmf)?;
    let svsm_in = inputs.svsm.ok_or(Error::SvsmImageMissing)?;
    let end_at = ovmf
        .gpa_signed()
        .saturating_sub(i128::from(svsm_in.vars_size));
    let svsm = Firmware::parse(svsm_in.image, "SVSM", end_at)?;
    // Python adds the offset to the (unbounded) GPA and stores the sum in a
    // 64-bit field: keep the low 64 bits.
    let eip = (i128::from(svsm.svsm_info_offset()?) + svsm.gpa_signed()) as u64;
    let ovmf_gpa = page_run_gpa(&ovmf)?;
    let svsm_gpa = page_run_gpa(&svsm)?;
    let hashed = hash_inputs(&[], &[inputs.ovmf, svsm_in.image], inputs.parallelism);
    let mut ld = LaunchDigest::new();
    let mut sets = hashed.page_digests.iter();
    ld.update_normal_digests(ovmf_gpa, sets.next().map_or(&[], Vec::as_slice));
    let ovmf_digest = ld.digest();
    ld.update_normal_digests(svsm_gpa, sets.next().map_or(&[], Vec::as_slice));
    update_metadata_pages(&mut ld, &svsm, None, VmmType::Qemu)?;
    let vmsa = VmsaPages::svsm(inputs.vcpus, eip, inputs.vcpu_sig);
    update_vmsa_pages(&mut ld, &vmsa);
    Ok(Measurement {
        mode: Mode::SnpSvsm,
        digest: LaunchDigestValue::Sha384(ld.digest()),
        ovmf_digest: Some(ovmf_digest),
        hashes: None,
        vmsa: Some(vmsa),
    })
}

/// Measures the VMSA pages, hashing each distinct page once.
fn update_vmsa_pages(ld: &mut LaunchDigest, vmsa: &VmsaPages) {
    if vmsa.vcpus() == 0 {
        return;
    }
    ld.update_vmsa_digest(&page_info::sha384(vmsa.first()));
    if let Some(rest) = vmsa.rest() {
        let digest = page_info::sha384(rest);
        for _ in 1..vmsa.vcpus() {
            ld.update_vmsa_digest(&digest);
        }
    }
}

fn zero_pages(
    ld: &mut LaunchDigest,
    page_type: PageType,
    section: SectionType,
    gpa: u32,
    size: u32,
) -> Result<(), Error> {
    if !(size as usize).is_multiple_of(PAGE_SIZE) {
        return Err(Error::SectionNotPageAligned { section, gpa, size });
    }
    ld.update_empty_pages(
        page_type,
        u64::from(gpa),
        u64::from(size) / PAGE_SIZE as u64,
    );
    Ok(())
}

/// Measures the SEV metadata sections of `fw` (`snp_update_metadata_pages`).
pub fn update_metadata_pages(
    ld: &mut LaunchDigest,
    fw: &Firmware<'_>,
    hashes: Option<&SevHashes>,
    vmm: VmmType,
) -> Result<(), Error> {
    const NO_CONTENTS: Sha384Digest = [0; 48];
    for section in fw.sections() {
        let kind = section.section_type()?;
        let (gpa, size) = (section.gpa, section.size);
        match kind {
            SectionType::SnpSecMem => {
                let page_type = if vmm == VmmType::Gce {
                    PageType::Unmeasured
                } else {
                    PageType::Zero
                };
                zero_pages(ld, page_type, kind, gpa, size)?;
            }
            SectionType::SnpSecrets => ld.update(PageType::Secrets, u64::from(gpa), &NO_CONTENTS),
            SectionType::Cpuid => {
                if vmm != VmmType::Ec2 {
                    ld.update(PageType::Cpuid, u64::from(gpa), &NO_CONTENTS);
                }
            }
            SectionType::SnpKernelHashes => match hashes {
                Some(h) => {
                    let table_gpa = fw.sev_hashes_table_gpa()?;
                    let page = h.page(table_gpa as usize & (PAGE_SIZE - 1))?;
                    if size as usize != PAGE_SIZE {
                        return Err(Error::HashesSectionSize(size));
                    }
                    ld.update_normal_page(u64::from(gpa), page.as_slice());
                }
                None => zero_pages(ld, PageType::Zero, kind, gpa, size)?,
            },
            SectionType::SvsmCaa => zero_pages(ld, PageType::Zero, kind, gpa, size)?,
        }
    }
    if vmm == VmmType::Ec2 {
        for section in fw.sections() {
            if section.section_type()? == SectionType::Cpuid {
                ld.update(PageType::Cpuid, u64::from(section.gpa), &NO_CONTENTS);
            }
        }
    }
    if hashes.is_some() && !fw.has_section(SectionType::SnpKernelHashes)? {
        return Err(Error::KernelHashesSectionMissing);
    }
    Ok(())
}
