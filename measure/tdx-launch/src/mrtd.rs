//! MRTD: the build-time measurement the TDX module accumulates while the VMM
//! adds the firmware pages to the TD.
//!
//! MRTD is one running SHA-384 over 128-byte operation records:
//!
//! ```text
//! TDH.MEM.PAGE.ADD   "MEM.PAGE.ADD" (12 B) | 0 (4 B) | GPA (u64 LE) | 0 ... (to 128 B)
//! TDH.MR.EXTEND      "MR.EXTEND"    (9 B)  | 0 (7 B) | GPA (u64 LE) | 0 ... (to 128 B)
//!                    followed by the 256 bytes of page data at that GPA
//! ```
//!
//! Every page of every section is added (unless it is `PAGE.AUG`); pages of
//! `MR.EXTEND` sections are then extended in 16 chunks of 256 bytes. The VMM
//! decides the interleaving:
//!
//! * [`PageOrder::SinglePass`] — per page, ADD then its 16 EXTENDs. This is
//!   what upstream KVM's `KVM_TDX_INIT_MEM_REGION` does (QEMU ≥ 9 / 10.1 upstream TDX).
//! * [`PageOrder::TwoPass`] — per section, all ADDs, then all EXTENDs
//!   (older out-of-tree TDX KVM/QEMU 8.x stacks).
//!
//! Sections are processed in metadata order.

use crate::tdvf::{PAGE_SIZE, TdvfImage};
use crate::{Error, Result, Sha384Digest};
use serde::Serialize;
use sha2::{Digest, Sha384};

/// Bytes per `TDH.MR.EXTEND` chunk.
pub const MR_EXTEND_GRANULARITY: u64 = 256;

/// Interleaving of page additions and extensions chosen by the VMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageOrder {
    /// Per page: `TDH.MEM.PAGE.ADD` then its `TDH.MR.EXTEND`s (upstream KVM; default).
    #[default]
    SinglePass,
    /// Per section: all `TDH.MEM.PAGE.ADD`s, then all `TDH.MR.EXTEND`s.
    TwoPass,
}

fn page_add_record(gpa: u64) -> [u8; 128] {
    let mut buf = [0u8; 128];
    buf[..12].copy_from_slice(b"MEM.PAGE.ADD");
    buf[16..24].copy_from_slice(&gpa.to_le_bytes());
    buf
}

fn mr_extend_record(gpa: u64) -> [u8; 128] {
    let mut buf = [0u8; 128];
    buf[..9].copy_from_slice(b"MR.EXTEND");
    buf[16..24].copy_from_slice(&gpa.to_le_bytes());
    buf
}

/// Computes MRTD for `image` with the given page order.
pub fn compute_mrtd(image: &TdvfImage<'_>, order: PageOrder) -> Result<Sha384Digest> {
    let mut h = Sha384::new();
    for (index, s) in image.metadata().sections.iter().enumerate() {
        let data = if s.attributes.mr_extend() {
            Some(
                image
                    .section_memory_bytes(s)
                    .ok_or_else(|| Error::TdxSection {
                        index,
                        reason: "extended data runs past the image".into(),
                    })?,
            )
        } else {
            None
        };
        let add = |h: &mut Sha384, page: u64| {
            if !s.attributes.page_aug() {
                h.update(page_add_record(s.memory_address + page * PAGE_SIZE));
            }
        };
        let extend = |h: &mut Sha384, page: u64| {
            if let Some(data) = data {
                for chunk in 0..PAGE_SIZE / MR_EXTEND_GRANULARITY {
                    let off = page * PAGE_SIZE + chunk * MR_EXTEND_GRANULARITY;
                    h.update(mr_extend_record(s.memory_address + off));
                    // In range: section_memory_bytes spans pages() * PAGE_SIZE bytes.
                    let start = off as usize;
                    h.update(&data[start..start + MR_EXTEND_GRANULARITY as usize]);
                }
            }
        };
        match order {
            PageOrder::SinglePass => {
                for page in 0..s.pages() {
                    add(&mut h, page);
                    extend(&mut h, page);
                }
            }
            PageOrder::TwoPass => {
                for page in 0..s.pages() {
                    add(&mut h, page);
                }
                for page in 0..s.pages() {
                    extend(&mut h, page);
                }
            }
        }
    }
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tdvf::tests::{section, synthetic_firmware};

    #[test]
    fn records_have_the_tdx_module_layout() {
        let r = page_add_record(0x1122_3344_5566_7788);
        assert_eq!(&r[..12], b"MEM.PAGE.ADD");
        assert_eq!(&r[12..16], &[0; 4]);
        assert_eq!(&r[16..24], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert!(r[24..].iter().all(|b| *b == 0));
        let e = mr_extend_record(0x1000);
        assert_eq!(&e[..9], b"MR.EXTEND");
        assert!(e[9..16].iter().all(|b| *b == 0));
    }

    #[test]
    fn single_page_matches_hand_computation() {
        let mut fw = synthetic_firmware(
            0x2000,
            &[section(0x1000, 0x1000, 0xffff_f000, 0x1000, 0, 1)],
        );
        for (i, b) in fw[0x1000..0x2000].iter_mut().enumerate() {
            *b = i as u8;
        }
        let img = TdvfImage::parse(&fw).unwrap();
        let mut h = Sha384::new();
        h.update(page_add_record(0xffff_f000));
        for c in 0..16u64 {
            h.update(mr_extend_record(0xffff_f000 + c * 256));
            h.update(&fw[0x1000 + c as usize * 256..0x1000 + (c as usize + 1) * 256]);
        }
        let want: Sha384Digest = h.finalize().into();
        // With one page both orders coincide.
        assert_eq!(compute_mrtd(&img, PageOrder::SinglePass).unwrap(), want);
        assert_eq!(compute_mrtd(&img, PageOrder::TwoPass).unwrap(), want);
    }

    #[test]
    fn orders_differ_with_two_pages_and_aug_pages_are_not_added() {
        let fw = synthetic_firmware(
            0x3000,
            &[
                section(0x1000, 0x2000, 0xffff_e000, 0x2000, 0, 1),
                section(0, 0, 0x80_0000, 0x1000, 3, 2),
            ],
        );
        let img = TdvfImage::parse(&fw).unwrap();
        let a = compute_mrtd(&img, PageOrder::SinglePass).unwrap();
        let b = compute_mrtd(&img, PageOrder::TwoPass).unwrap();
        assert_ne!(a, b);
        let fw2 = synthetic_firmware(
            0x3000,
            &[section(0x1000, 0x2000, 0xffff_e000, 0x2000, 0, 1)],
        );
        let img2 = TdvfImage::parse(&fw2).unwrap();
        // The PAGE.AUG TempMem section contributes nothing.
        assert_eq!(a, compute_mrtd(&img2, PageOrder::SinglePass).unwrap());
    }
}
