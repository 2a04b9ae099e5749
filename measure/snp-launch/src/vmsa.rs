//! The VMSA: the initial register state of each vCPU, measured as one 4 KiB
//! page per vCPU in SEV-ES and SEV-SNP.
//!
//! The page is the SEV-ES save area of the AMD APM vol. 2, table B-4 (Linux
//! `struct sev_es_save_area`), zero except for the fields below, whose values
//! depend on the VMM that launches the guest:
//!
//! | field (offset) | QEMU | ec2 | gce |
//! |---|---|---|---|
//! | es/ds/fs/gs (0x00/0x30/0x40/0x50) | sel 0, attr 0x93, limit 0xffff | same | same |
//! | cs (0x10) | sel 0xf000, attr 0x9b, base `eip & 0xffff0000` | attr 0x9a for the BSP EIP 0xfffffff0, else 0x9b | attr 0x9b |
//! | ss (0x20) | attr 0x93 | attr 0x92 | attr 0x93 |
//! | gdtr/idtr (0x60/0x80) | limit 0xffff | same | same |
//! | ldtr (0x70) | attr 0x82, limit 0xffff | same | same |
//! | tr (0x90) | attr 0x8b, limit 0xffff | attr 0x83 | attr 0x8b |
//! | efer (0xd0) | 0x1000 (SVME) | same | same |
//! | cr4 (0x148) / cr0 (0x158) | 0x40 / 0x10 | same | same |
//! | dr7 (0x160) / dr6 (0x168) | 0x400 / 0xffff0ff0 | same | same |
//! | rflags (0x170) | 0x2 | same | same |
//! | rip (0x178) | `eip & 0xffff` | same | same |
//! | g_pat (0x268) | 0x0007040600070406 | same | 0x00070106 |
//! | rdx (0x310) | vCPU signature | 0x600 | 0x600 |
//! | sev_features (0x3b0) | guest features (0 for SEV-ES) | same | same |
//! | xcr0 (0x3e8) | 0x1 | same | same |
//! | mxcsr (0x408) | 0x1f80 | 0 | 0 |
//! | x87_fcw (0x410) | 0x37f | 0 | 0 |
//!
//! The bootstrap processor starts at EIP 0xfffffff0; application processors
//! at the SEV-ES AP reset EIP from the firmware's footer table, so every AP
//! has the same page and only two distinct pages exist per launch.
//!
//! With a Coconut SVSM (`snp:svsm`), every vCPU starts in 32-bit protected
//! mode at the SVSM entry point: flat code/data segments (selectors 8/16,
//! attributes 0xc9b/0xc93, limit 0xffffffff), cr0 0x11, `rip` = the full
//! entry address, sev_features 0x1, rdx the vCPU signature, mxcsr 0x1f80 and
//! x87_fcw **0** (`sev-snp-measure` 0.0.13 passes `fcw=` to a structure whose
//! field is `x87_fcw`, so the value is dropped; reproduced here).

use std::fmt;

use crate::PAGE_SIZE;

/// The VMM launching the guest, which fixes details of the initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmmType {
    /// QEMU/KVM.
    Qemu,
    /// Amazon EC2.
    Ec2,
    /// Google Compute Engine.
    Gce,
}

impl VmmType {
    /// Every VMM type.
    pub const ALL: [VmmType; 3] = [VmmType::Qemu, VmmType::Ec2, VmmType::Gce];

    /// The reference tool's spelling: `QEMU`, `ec2`, `gce`.
    pub fn name(self) -> &'static str {
        match self {
            VmmType::Qemu => "QEMU",
            VmmType::Ec2 => "ec2",
            VmmType::Gce => "gce",
        }
    }

    /// Parses a VMM name, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<VmmType> {
        Self::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for VmmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A segment register as stored in the save area (`struct vmcb_seg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Selector.
    pub selector: u16,
    /// Attributes (packed type, S, DPL, P, AVL, L, D/B, G).
    pub attrib: u16,
    /// Limit.
    pub limit: u32,
    /// Base address.
    pub base: u64,
}

impl Segment {
    const fn new(selector: u16, attrib: u16, limit: u32, base: u64) -> Self {
        Segment {
            selector,
            attrib,
            limit,
            base,
        }
    }

    fn write(&self, page: &mut [u8; PAGE_SIZE], at: usize) {
        page[at..at + 2].copy_from_slice(&self.selector.to_le_bytes());
        page[at + 2..at + 4].copy_from_slice(&self.attrib.to_le_bytes());
        page[at + 4..at + 8].copy_from_slice(&self.limit.to_le_bytes());
        page[at + 8..at + 16].copy_from_slice(&self.base.to_le_bytes());
    }
}

/// Byte offsets of the save-area fields that launches set.
pub mod offsets {
    /// `es` segment.
    pub const ES: usize = 0x00;
    /// `cs` segment.
    pub const CS: usize = 0x10;
    /// `ss` segment.
    pub const SS: usize = 0x20;
    /// `ds` segment.
    pub const DS: usize = 0x30;
    /// `fs` segment.
    pub const FS: usize = 0x40;
    /// `gs` segment.
    pub const GS: usize = 0x50;
    /// `gdtr`.
    pub const GDTR: usize = 0x60;
    /// `ldtr` (before `idtr` in the save area).
    pub const LDTR: usize = 0x70;
    /// `idtr`.
    pub const IDTR: usize = 0x80;
    /// `tr`.
    pub const TR: usize = 0x90;
    /// `efer`.
    pub const EFER: usize = 0xd0;
    /// `cr4`.
    pub const CR4: usize = 0x148;
    /// `cr0`.
    pub const CR0: usize = 0x158;
    /// `dr7`.
    pub const DR7: usize = 0x160;
    /// `dr6`.
    pub const DR6: usize = 0x168;
    /// `rflags`.
    pub const RFLAGS: usize = 0x170;
    /// `rip`.
    pub const RIP: usize = 0x178;
    /// `g_pat`.
    pub const G_PAT: usize = 0x268;
    /// `rdx`.
    pub const RDX: usize = 0x310;
    /// `sev_features`.
    pub const SEV_FEATURES: usize = 0x3b0;
    /// `xcr0`.
    pub const XCR0: usize = 0x3e8;
    /// `mxcsr`.
    pub const MXCSR: usize = 0x408;
    /// `x87_fcw`.
    pub const X87_FCW: usize = 0x410;
}

/// Reset EIP of the bootstrap processor.
pub const BSP_EIP: u64 = 0xffff_fff0;
/// Default PAT MSR value (AMD APM vol. 2, section A.3).
pub const DEFAULT_G_PAT: u64 = 0x0007_0406_0007_0406;
/// PAT value the GCE hypervisor sets.
pub const GCE_G_PAT: u64 = 0x0007_0106;

/// The fields of the SEV-ES save area that a launch sets; every other byte
/// of the page is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // register names, documented in the module table
pub struct SaveArea {
    pub es: Segment,
    pub cs: Segment,
    pub ss: Segment,
    pub ds: Segment,
    pub fs: Segment,
    pub gs: Segment,
    pub gdtr: Segment,
    pub ldtr: Segment,
    pub idtr: Segment,
    pub tr: Segment,
    pub efer: u64,
    pub cr4: u64,
    pub cr0: u64,
    pub dr7: u64,
    pub dr6: u64,
    pub rflags: u64,
    pub rip: u64,
    pub g_pat: u64,
    pub rdx: u64,
    pub sev_features: u64,
    pub xcr0: u64,
    pub mxcsr: u32,
    pub x87_fcw: u16,
}

impl SaveArea {
    /// The reset state of a vCPU starting at `eip` (`VMSA.build_save_area`).
    pub fn reset(eip: u64, sev_features: u64, vcpu_sig: u64, vmm: VmmType) -> SaveArea {
        let (cs_attr, ss_attr, tr_attr, g_pat, rdx, mxcsr, fcw) = match vmm {
            VmmType::Qemu => (0x9b, 0x93, 0x8b, DEFAULT_G_PAT, vcpu_sig, 0x1f80, 0x37f),
            VmmType::Ec2 => {
                let cs = if eip == BSP_EIP { 0x9a } else { 0x9b };
                (cs, 0x92, 0x83, DEFAULT_G_PAT, 0x600, 0, 0)
            }
            VmmType::Gce => (0x9b, 0x93, 0x8b, GCE_G_PAT, 0x600, 0, 0),
        };
        SaveArea {
            es: Segment::new(0, 0x93, 0xffff, 0),
            cs: Segment::new(0xf000, cs_attr, 0xffff, eip & 0xffff_0000),
            ss: Segment::new(0, ss_attr, 0xffff, 0),
            ds: Segment::new(0, 0x93, 0xffff, 0),
            fs: Segment::new(0, 0x93, 0xffff, 0),
            gs: Segment::new(0, 0x93, 0xffff, 0),
            gdtr: Segment::new(0, 0, 0xffff, 0),
            ldtr: Segment::new(0, 0x82, 0xffff, 0),
            idtr: Segment::new(0, 0, 0xffff, 0),
            tr: Segment::new(0, tr_attr, 0xffff, 0),
            efer: 0x1000,
            cr4: 0x40,
            cr0: 0x10,
            dr7: 0x400,
            dr6: 0xffff_0ff0,
            rflags: 0x2,
            rip: eip & 0xffff,
            g_pat,
            rdx,
            sev_features,
            xcr0: 0x1,
            mxcsr,
            x87_fcw: fcw,
        }
    }

    /// The state of every vCPU entering a Coconut SVSM at `eip`
    /// (`VMSA_SVSM.build_save_area` for QEMU).
    pub fn svsm(eip: u64, vcpu_sig: u64) -> SaveArea {
        let flat_data = Segment::new(16, 0xc93, 0xffff_ffff, 0);
        SaveArea {
            es: flat_data,
            cs: Segment::new(8, 0xc9b, 0xffff_ffff, 0),
            ss: flat_data,
            ds: flat_data,
            fs: flat_data,
            gs: Segment::new(0, 0x093, 0xffff, 0),
            gdtr: Segment::new(0, 0, 0xffff, 0),
            ldtr: Segment::new(0, 0x82, 0xffff, 0),
            idtr: Segment::new(0, 0, 0xffff, 0),
            tr: Segment::new(0, 0x8b, 0xffff, 0),
            efer: 0x1000,
            cr4: 0x40,
            cr0: 0x11,
            dr7: 0x400,
            dr6: 0xffff_0ff0,
            rflags: 0x2,
            rip: eip,
            g_pat: DEFAULT_G_PAT,
            rdx: vcpu_sig,
            sev_features: 0x1,
            xcr0: 0x1,
            mxcsr: 0x1f80,
            x87_fcw: 0,
        }
    }

    /// The 4 KiB VMSA page.
    pub fn to_page(&self) -> Box<[u8; PAGE_SIZE]> {
        use offsets::*;
        let mut p = Box::new([0u8; PAGE_SIZE]);
        let segments = [
            (ES, &self.es),
            (CS, &self.cs),
            (SS, &self.ss),
            (DS, &self.ds),
            (FS, &self.fs),
            (GS, &self.gs),
            (GDTR, &self.gdtr),
            (LDTR, &self.ldtr),
            (IDTR, &self.idtr),
            (TR, &self.tr),
        ];
        for (at, seg) in segments {
            seg.write(&mut p, at);
        }
        let qwords = [
            (EFER, self.efer),
            (CR4, self.cr4),
            (CR0, self.cr0),
            (DR7, self.dr7),
            (DR6, self.dr6),
            (RFLAGS, self.rflags),
            (RIP, self.rip),
            (G_PAT, self.g_pat),
            (RDX, self.rdx),
            (SEV_FEATURES, self.sev_features),
            (XCR0, self.xcr0),
        ];
        for (at, v) in qwords {
            p[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        p[MXCSR..MXCSR + 4].copy_from_slice(&self.mxcsr.to_le_bytes());
        p[X87_FCW..X87_FCW + 2].copy_from_slice(&self.x87_fcw.to_le_bytes());
        p
    }
}

/// The VMSA pages of a launch: the first vCPU's page and the page shared by
/// every other vCPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmsaPages {
    first: Box<[u8; PAGE_SIZE]>,
    rest: Option<Box<[u8; PAGE_SIZE]>>,
    vcpus: u32,
}

impl VmsaPages {
    /// Pages of a normal (SEV-ES / SEV-SNP) launch: BSP at [`BSP_EIP`], APs
    /// at `ap_eip` (no AP page when `ap_eip` is 0, as in the reference tool;
    /// then only one vCPU can be measured).
    pub fn reset(
        vcpus: u32,
        ap_eip: u32,
        sev_features: u64,
        vcpu_sig: u64,
        vmm: VmmType,
    ) -> Result<VmsaPages, crate::Error> {
        let first = SaveArea::reset(BSP_EIP, sev_features, vcpu_sig, vmm).to_page();
        let rest = (ap_eip != 0)
            .then(|| SaveArea::reset(u64::from(ap_eip), sev_features, vcpu_sig, vmm).to_page());
        if rest.is_none() && vcpus > 1 {
            return Err(crate::Error::NoApResetEip(vcpus));
        }
        Ok(VmsaPages { first, rest, vcpus })
    }

    /// Pages of an SVSM launch: every vCPU starts at `eip`.
    pub fn svsm(vcpus: u32, eip: u64, vcpu_sig: u64) -> VmsaPages {
        let page = SaveArea::svsm(eip, vcpu_sig).to_page();
        VmsaPages {
            first: page.clone(),
            rest: Some(page),
            vcpus,
        }
    }

    /// Number of vCPUs.
    pub fn vcpus(&self) -> u32 {
        self.vcpus
    }

    /// The page of the first vCPU (the BSP).
    pub fn first(&self) -> &[u8; PAGE_SIZE] {
        &self.first
    }

    /// The page shared by the other vCPUs, if any.
    pub fn rest(&self) -> Option<&[u8; PAGE_SIZE]> {
        self.rest.as_deref()
    }

    /// The page of vCPU `index`, or `None` past the last vCPU.
    pub fn page(&self, index: u32) -> Option<&[u8; PAGE_SIZE]> {
        match index {
            i if i >= self.vcpus => None,
            0 => Some(&self.first),
            _ => self.rest.as_deref(),
        }
    }

    /// The pages in vCPU order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8; PAGE_SIZE]> + '_ {
        (0..self.vcpus).filter_map(|i| self.page(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qword(p: &[u8; PAGE_SIZE], at: usize) -> u64 {
        u64::from_le_bytes(p[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn qemu_bsp_fields() {
        let p = SaveArea::reset(BSP_EIP, 1, 0x800f12, VmmType::Qemu).to_page();
        assert_eq!(qword(&p, offsets::RIP), 0xfff0);
        assert_eq!(qword(&p, offsets::CS + 8), 0xffff_0000);
        assert_eq!(&p[offsets::CS..offsets::CS + 4], &[0x00, 0xf0, 0x9b, 0x00]);
        assert_eq!(qword(&p, offsets::RDX), 0x800f12);
        assert_eq!(qword(&p, offsets::SEV_FEATURES), 1);
        assert_eq!(qword(&p, offsets::G_PAT), DEFAULT_G_PAT);
        assert_eq!(
            &p[offsets::MXCSR..offsets::MXCSR + 4],
            &0x1f80u32.to_le_bytes()
        );
        assert_eq!(
            &p[offsets::X87_FCW..offsets::X87_FCW + 2],
            &0x37fu16.to_le_bytes()
        );
    }

    #[test]
    fn ec2_and_gce_differences() {
        let bsp = SaveArea::reset(BSP_EIP, 1, 0x800f12, VmmType::Ec2);
        let ap = SaveArea::reset(0x80b004, 1, 0x800f12, VmmType::Ec2);
        assert_eq!((bsp.cs.attrib, ap.cs.attrib), (0x9a, 0x9b));
        assert_eq!((bsp.ss.attrib, bsp.tr.attrib, bsp.rdx), (0x92, 0x83, 0x600));
        let gce = SaveArea::reset(BSP_EIP, 1, 0x800f12, VmmType::Gce);
        assert_eq!(
            (gce.g_pat, gce.rdx, gce.mxcsr, gce.x87_fcw),
            (GCE_G_PAT, 0x600, 0, 0)
        );
    }

    #[test]
    fn pages_share_the_ap_page() {
        let v = VmsaPages::reset(3, 0x80b004, 1, 0x800f12, VmmType::Qemu).unwrap();
        assert_eq!(v.iter().count(), 3);
        assert_ne!(v.page(0), v.page(1));
        assert_eq!(v.page(1), v.page(2));
        assert!(v.page(3).is_none());
        assert_eq!(
            VmsaPages::reset(2, 0, 1, 1, VmmType::Qemu).unwrap_err(),
            crate::Error::NoApResetEip(2)
        );
        assert!(VmsaPages::reset(1, 0, 1, 1, VmmType::Qemu).is_ok());
    }

    #[test]
    fn vmm_names_are_case_insensitive() {
        assert_eq!(VmmType::from_name("qemu"), Some(VmmType::Qemu));
        assert_eq!(VmmType::from_name("EC2"), Some(VmmType::Ec2));
        assert_eq!(VmmType::from_name("GCE"), Some(VmmType::Gce));
        assert_eq!(VmmType::from_name("krun"), None);
    }
}
