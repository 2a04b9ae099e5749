//! Parsers never panic: random bytes, truncations and bit flips of valid inputs.

use aether_tdx_launch::kernel::{QEMU_ACPI_DATA_SIZE, QemuKernelLoad, SetupHeader, served_kernel};
use aether_tdx_launch::*;
use proptest::prelude::*;

/// A small valid firmware: one extended BFV page, a TD_HOB and a TempMem, plus the footer table.
fn tiny_firmware() -> Vec<u8> {
    let mut fw = vec![0u8; 0x2000];
    let sections: [(u32, u32, u64, u64, u32, u32); 3] = [
        (0x1000, 0x1000, 0xffff_f000, 0x1000, 0, 1),
        (0, 0, 0x80_9000, 0x2000, 2, 0),
        (0, 0, 0x80_0000, 0x6000, 3, 0),
    ];
    let mut desc = b"TDVF".to_vec();
    desc.extend_from_slice(&(16u32 + 32 * 3).to_le_bytes());
    desc.extend_from_slice(&1u32.to_le_bytes());
    desc.extend_from_slice(&3u32.to_le_bytes());
    for (o, r, a, m, t, at) in sections {
        desc.extend_from_slice(&o.to_le_bytes());
        desc.extend_from_slice(&r.to_le_bytes());
        desc.extend_from_slice(&a.to_le_bytes());
        desc.extend_from_slice(&m.to_le_bytes());
        desc.extend_from_slice(&t.to_le_bytes());
        desc.extend_from_slice(&at.to_le_bytes());
    }
    fw[..desc.len()].copy_from_slice(&desc);
    let total = fw.len() + 22 + 18 + 0x20;
    fw.extend_from_slice(&(total as u32).to_le_bytes());
    fw.extend_from_slice(&22u16.to_le_bytes());
    fw.extend_from_slice(guid::TDX_METADATA_OFFSET.bytes());
    fw.extend_from_slice(&40u16.to_le_bytes());
    fw.extend_from_slice(guid::OVMF_TABLE_FOOTER.bytes());
    fw.extend_from_slice(&[0u8; 0x20]);
    fw
}

fn tiny_log() -> Vec<u8> {
    let mut spec = b"Spec ID Event03\0".to_vec();
    spec.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 2]);
    spec.extend_from_slice(&1u32.to_le_bytes());
    spec.extend_from_slice(&0x000cu16.to_le_bytes());
    spec.extend_from_slice(&48u16.to_le_bytes());
    spec.push(0);
    let mut log = vec![0u8; 4];
    log.extend_from_slice(&3u32.to_le_bytes());
    log.extend_from_slice(&[0u8; 20]);
    log.extend_from_slice(&(spec.len() as u32).to_le_bytes());
    log.extend_from_slice(&spec);
    for (idx, ty, data) in [
        (1u32, 4u32, &[0u8; 4][..]),
        (2, 0x8000_0007, b"Exit Boot Services Invocation"),
    ] {
        log.extend_from_slice(&idx.to_le_bytes());
        log.extend_from_slice(&ty.to_le_bytes());
        log.extend_from_slice(&1u32.to_le_bytes());
        log.extend_from_slice(&0x000cu16.to_le_bytes());
        log.extend_from_slice(&[0x5a; 48]);
        log.extend_from_slice(&(data.len() as u32).to_le_bytes());
        log.extend_from_slice(data);
    }
    log
}

fn flip(mut v: Vec<u8>, flips: &[(usize, u8)]) -> Vec<u8> {
    if !v.is_empty() {
        let n = v.len();
        for (i, bit) in flips {
            v[i % n] ^= 1 << (bit % 8);
        }
    }
    v
}

#[test]
fn fixtures_are_valid() {
    let fw = tiny_firmware();
    let img = TdvfImage::parse(&fw).unwrap();
    assert_eq!(img.metadata().sections.len(), 3);
    compute_mrtd(&img, PageOrder::TwoPass).unwrap();
    assert_eq!(EventLog::parse(&tiny_log()).unwrap().events.len(), 2);
}

fn exercise_firmware(fw: &[u8]) {
    if let Ok(img) = TdvfImage::parse(fw) {
        let _ = compute_mrtd(&img, PageOrder::SinglePass);
        let _ = td_hob::qemu_td_hob(img.metadata(), 2 << 30);
    }
    let _ = tdvf::footer_table(fw);
}

fn exercise_log(b: &[u8]) {
    if let Ok(log) = EventLog::parse(b) {
        let _ = log.replay_rtmrs();
        let _ = log.replay_pcrs(eventlog::TPM_ALG_SHA384);
        for e in &log.events {
            let _ = e.description();
            let _ = e.data_digest_matches(eventlog::TPM_ALG_SHA384);
        }
    }
}

fn exercise_kernel(k: &[u8], memory: u64, initrd: Option<u64>) {
    let _ = SetupHeader::parse(k);
    let load = QemuKernelLoad {
        memory,
        cmdline: "console=ttyS0 vga=0x317",
        initrd_size: initrd,
        acpi_data_size: QEMU_ACPI_DATA_SIZE,
    };
    for p in [
        SetupHeaderPolicy::QemuPatched,
        SetupHeaderPolicy::Unmodified,
    ] {
        let _ = served_kernel(k, &load, p);
    }
    let _ = authenticode_sha384(k);
    let _ = kernel::EfiStubFeatures::detect(k);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn metadata_random(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        exercise_firmware(&bytes);
        let _ = TdvfProfile::detect(&bytes);
    }

    #[test]
    fn metadata_truncated_and_flipped(cut in 0usize..0x2100, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let fw = tiny_firmware();
        exercise_firmware(&fw[fw.len().saturating_sub(cut)..]);
        exercise_firmware(&fw[..cut.min(fw.len())]);
        // Flip bits in the descriptor and the footer table, where the parser looks.
        let mut v = fw.clone();
        let n = v.len();
        for (i, bit) in &flips {
            let pos = if i % 2 == 0 { i % 112 } else { n - 0x20 - 40 + i % 40 };
            v[pos] ^= 1 << (bit % 8);
        }
        exercise_firmware(&v);
    }

    #[test]
    fn event_log_random(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise_log(&bytes);
        let _ = CcelTable::parse(&bytes);
        let _ = acpi::table_loader_allocations(&bytes);
        let _ = acpi::madt_enabled_cpus(&bytes);
        let _ = uefi::UefiVariableData::decode(&bytes);
    }

    #[test]
    fn event_log_truncated_and_flipped(cut in 0usize..400, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let log = tiny_log();
        exercise_log(&log[..cut.min(log.len())]);
        exercise_log(&flip(log, &flips));
    }

    #[test]
    fn kernel_random(bytes in proptest::collection::vec(any::<u8>(), 0..8192), memory in any::<u64>(), initrd in proptest::option::of(any::<u64>())) {
        exercise_kernel(&bytes, memory, initrd);
        let mut hdr = bytes.clone();
        if hdr.len() >= 0x240 {
            hdr[0x202..0x206].copy_from_slice(b"HdrS");
        }
        exercise_kernel(&hdr, memory, initrd);
    }
}

/// Bit flips and truncations of the real Debian kernel's headers.
#[test]
fn real_kernel_flipped_and_truncated() {
    let Some(p) = aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64") else {
        return;
    };
    let k = std::fs::read(p).unwrap();
    let head = &k[..0x4000];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(96));
    runner
        .run(
            &(
                proptest::collection::vec((0usize..0x600, any::<u8>()), 1..6),
                0usize..0x4000,
            ),
            |(flips, cut)| {
                let mut v = head.to_vec();
                for (i, bit) in &flips {
                    v[*i] ^= 1 << (bit % 8);
                }
                exercise_kernel(&v, 2 << 30, Some(1 << 20));
                exercise_kernel(&head[..cut], 2 << 30, None);
                Ok(())
            },
        )
        .unwrap();
}

/// Bit flips of the real CCEL log.
#[test]
fn real_ccel_flipped() {
    let Some(p) = aether_testkit::vector("tdx/gotdx/ccel/ccel_data.dat") else {
        return;
    };
    let log = std::fs::read(p).unwrap();
    let body = &log[..18200];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(
            &(
                proptest::collection::vec((0usize..18200, any::<u8>()), 1..6),
                0usize..18200,
            ),
            |(flips, cut)| {
                exercise_log(&flip(body.to_vec(), &flips));
                exercise_log(&body[..cut]);
                Ok(())
            },
        )
        .unwrap();
}
