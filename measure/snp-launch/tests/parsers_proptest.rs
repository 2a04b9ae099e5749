//! Property tests: the firmware decoders and the full digest never panic on
//! arbitrary, truncated or bit-flipped firmware, and accept what they built.

mod common;

use aether_snp_launch::ovmf::{SEV_ES_RESET_BLOCK_GUID, SEV_HASH_TABLE_RV_GUID};
use aether_snp_launch::{Firmware, Kernel, LaunchInputs, Mode, Parallelism, VmmType, measure};
use proptest::prelude::*;

fn amdsev_fixture() -> Option<Vec<u8>> {
    let path = aether_testkit::vector("snp/measure/ovmf_AmdSev_suffix.bin")?;
    Some(std::fs::read(path).expect("read fixture"))
}

/// Runs every mode over `fw`; only panics matter, results are ignored.
fn measure_all_modes(fw: &[u8], vcpus: u32, vmm: VmmType) {
    for mode in Mode::ALL {
        let mut i = LaunchInputs::new(mode, fw);
        i.vcpus = vcpus;
        i.vmm = vmm;
        i.parallelism = Parallelism::Sequential;
        if mode == Mode::SnpSvsm {
            i.svsm = Some(aether_snp_launch::Svsm {
                image: fw,
                vars_size: 0x1000,
            });
        }
        let _ = measure(&i);
        i.kernel = Some(Kernel::Bytes {
            kernel: b"k",
            initrd: None,
            cmdline: Some("c"),
        });
        let _ = measure(&i);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..9000)) {
        let _ = Firmware::parse_ovmf(&data);
        measure_all_modes(&data, 2, VmmType::Qemu);
    }

    #[test]
    fn truncated_and_flipped_fixture_never_panics(
        cut in 0usize..4096,
        flips in proptest::collection::vec((0usize..4096, 0u8..8), 0..6),
        vcpus in 0u32..5,
        vmm in prop_oneof![Just(VmmType::Qemu), Just(VmmType::Ec2), Just(VmmType::Gce)],
    ) {
        let Some(mut fw) = amdsev_fixture() else { return Ok(()) };
        for (at, bit) in flips {
            fw[at] ^= 1 << bit;
        }
        let _ = Firmware::parse_ovmf(&fw);
        measure_all_modes(&fw, vcpus, vmm);
        // Truncations from either end.
        let _ = Firmware::parse_ovmf(&fw[cut..]);
        let _ = Firmware::parse_ovmf(&fw[..cut]);
        measure_all_modes(&fw[cut..], vcpus, vmm);
    }

    #[test]
    fn synthetic_firmware_decodes_its_sections(
        sections in proptest::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..20),
        eip in any::<u32>(),
        pages in 1usize..4,
    ) {
        let entries = vec![
            (SEV_ES_RESET_BLOCK_GUID, eip.to_le_bytes().to_vec()),
            (SEV_HASH_TABLE_RV_GUID, [0x80_1000u32.to_le_bytes(), 0x400u32.to_le_bytes()].concat()),
        ];
        let Some(img) = common::synthetic_firmware(pages, &[0xa5], &entries, &sections) else {
            return Ok(());
        };
        let fw = Firmware::parse_ovmf(&img).expect("well-formed image");
        prop_assert_eq!(fw.sev_es_reset_eip().unwrap(), eip);
        prop_assert_eq!(fw.sections().len(), sections.len());
        for (s, (gpa, size, ty)) in fw.sections().iter().zip(&sections) {
            prop_assert_eq!((s.gpa, s.size, s.raw_type), (*gpa, *size, *ty));
        }
        // Huge sizes would take long to measure; keep the digest to small ones.
        if sections.iter().all(|s| s.1 <= 0x10_0000) {
            measure_all_modes(&img, 3, VmmType::Gce);
        }
    }
}
