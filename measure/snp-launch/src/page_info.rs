//! The SEV-SNP launch digest: a chain of SHA-384 hashes over `PAGE_INFO`
//! structures, one per page the VMM adds with `SNP_LAUNCH_UPDATE`.
//!
//! SNP firmware ABI specification, section 8.17.2, table 67 (`PAGE_INFO`,
//! 0x70 bytes, little endian):
//!
//! ```text
//! offset size field
//!   0x00   48  DIGEST_CUR   launch digest so far
//!   0x30   48  CONTENTS     SHA-384 of the page (zero for zero, unmeasured,
//!                           secrets and CPUID pages)
//!   0x60    2  LENGTH       0x70
//!   0x62    1  PAGE_TYPE    see PageType
//!   0x63    1  IMI_PAGE     0
//!   0x64    1  VMPL3_PERMS  0
//!   0x65    1  VMPL2_PERMS  0
//!   0x66    1  VMPL1_PERMS  0
//!   0x67    1  reserved     0
//!   0x68    8  GPA          guest-physical address (VMSA: 0xFFFFFFFFF000)
//! DIGEST_NEW = SHA-384(PAGE_INFO)
//! ```
//!
//! The digest starts as 48 zero bytes, or as a precomputed value ("OVMF
//! hash": the digest after the firmware pages, which lets a verifier skip
//! hashing a large firmware it already knows).

use sha2::{Digest, Sha384};

/// Size of a SHA-384 digest, and of the launch digest.
pub const LD_SIZE: usize = 48;
/// Size of the `PAGE_INFO` structure.
pub const PAGE_INFO_SIZE: usize = 0x70;
/// GPA recorded for VMSA pages: `(u64)-1`, page aligned, bits above 51 clear.
pub const VMSA_GPA: u64 = 0xFFFF_FFFF_F000;

/// A SHA-384 digest.
pub type Sha384Digest = [u8; LD_SIZE];

/// SHA-384 of `data`.
pub fn sha384(data: &[u8]) -> Sha384Digest {
    let mut out = [0u8; LD_SIZE];
    out.copy_from_slice(&Sha384::digest(data));
    out
}

/// `PAGE_TYPE` values of `PAGE_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PageType {
    /// A page of measured data.
    Normal = 0x01,
    /// A VMSA (initial vCPU register state) page.
    Vmsa = 0x02,
    /// A page of zeros.
    Zero = 0x03,
    /// A page whose contents are not measured.
    Unmeasured = 0x04,
    /// The SNP secrets page.
    Secrets = 0x05,
    /// The SNP CPUID page.
    Cpuid = 0x06,
}

/// One `PAGE_INFO` structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageInfo {
    /// The launch digest before this page.
    pub digest_cur: Sha384Digest,
    /// SHA-384 of the page contents (zeros where the type carries none).
    pub contents: Sha384Digest,
    /// The page type.
    pub page_type: PageType,
    /// The guest-physical address.
    pub gpa: u64,
}

impl PageInfo {
    /// The 0x70-byte encoding.
    pub fn to_bytes(&self) -> [u8; PAGE_INFO_SIZE] {
        let mut b = [0u8; PAGE_INFO_SIZE];
        b[..0x30].copy_from_slice(&self.digest_cur);
        b[0x30..0x60].copy_from_slice(&self.contents);
        b[0x60..0x62].copy_from_slice(&(PAGE_INFO_SIZE as u16).to_le_bytes());
        b[0x62] = self.page_type as u8;
        // IMI_PAGE, VMPL3/2/1 permissions and the reserved byte stay 0.
        b[0x68..0x70].copy_from_slice(&self.gpa.to_le_bytes());
        b
    }
}

/// The guest context of a launch: the running launch digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchDigest {
    ld: Sha384Digest,
}

impl Default for LaunchDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl LaunchDigest {
    /// A context starting from 48 zero bytes.
    pub fn new() -> Self {
        LaunchDigest { ld: [0; LD_SIZE] }
    }

    /// A context starting from a precomputed digest.
    pub fn from_seed(seed: Sha384Digest) -> Self {
        LaunchDigest { ld: seed }
    }

    /// The current digest.
    pub fn digest(&self) -> Sha384Digest {
        self.ld
    }

    /// Extends the digest with one page whose contents hash is known.
    pub fn update(&mut self, page_type: PageType, gpa: u64, contents: &Sha384Digest) {
        let info = PageInfo {
            digest_cur: self.ld,
            contents: *contents,
            page_type,
            gpa,
        };
        self.ld = sha384(&info.to_bytes());
    }

    /// Extends the digest with pages of data given by their SHA-384 digests,
    /// the first at `gpa`, the next 4 KiB higher, and so on.
    pub fn update_normal_digests(&mut self, gpa: u64, page_digests: &[Sha384Digest]) {
        let mut page_gpa = gpa;
        for d in page_digests {
            self.update(PageType::Normal, page_gpa, d);
            page_gpa = page_gpa.wrapping_add(crate::PAGE_SIZE as u64);
        }
    }

    /// Extends the digest with one data page, hashing it.
    pub fn update_normal_page(&mut self, gpa: u64, page: &[u8]) {
        self.update(PageType::Normal, gpa, &sha384(page));
    }

    /// Extends the digest with a VMSA page given by its SHA-384 digest.
    pub fn update_vmsa_digest(&mut self, page_digest: &Sha384Digest) {
        self.update(PageType::Vmsa, VMSA_GPA, page_digest);
    }

    /// Extends the digest with `count` pages of `page_type` carrying no
    /// contents hash (zero, unmeasured), starting at `gpa`.
    pub fn update_empty_pages(&mut self, page_type: PageType, gpa: u64, count: u64) {
        for i in 0..count {
            let page_gpa = gpa.wrapping_add(i.wrapping_mul(crate::PAGE_SIZE as u64));
            self.update(page_type, page_gpa, &[0; LD_SIZE]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_info_layout() {
        let info = PageInfo {
            digest_cur: [1; 48],
            contents: [2; 48],
            page_type: PageType::Cpuid,
            gpa: 0x1122_3344_5566_7788,
        };
        let b = info.to_bytes();
        assert_eq!(&b[0x60..0x68], &[0x70, 0, 6, 0, 0, 0, 0, 0]);
        assert_eq!(&b[0x68..], &0x1122_3344_5566_7788u64.to_le_bytes());
    }

    #[test]
    fn update_is_sha384_of_page_info() {
        let mut ld = LaunchDigest::new();
        ld.update(PageType::Secrets, 0x80d000, &[0; 48]);
        let expect = sha384(
            &PageInfo {
                digest_cur: [0; 48],
                contents: [0; 48],
                page_type: PageType::Secrets,
                gpa: 0x80d000,
            }
            .to_bytes(),
        );
        assert_eq!(ld.digest(), expect);
    }
}
