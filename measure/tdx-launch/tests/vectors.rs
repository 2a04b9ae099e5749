//! Conformance against real artifacts: Debian OVMF builds (MRTD values in the
//! shared vectors README), a real Debian kernel (Authenticode digest signed by
//! Debian), and the CCEL log + quote of a real GCE TD.

use aether_tdx_launch::eventlog::{
    EV_EFI_VARIABLE_BOOT, EV_EFI_VARIABLE_DRIVER_CONFIG, TPM_ALG_SHA384,
};
use aether_tdx_launch::kernel::{
    EfiStubFeatures, QEMU_ACPI_DATA_SIZE, QemuKernelLoad, served_kernel,
};
use aether_tdx_launch::profile::InitrdOptionPlacement;
use aether_tdx_launch::uefi::{UefiVariableData, ovmf_ui_app_load_option};
use aether_tdx_launch::*;
use sha2::{Digest, Sha384};

fn read(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn mrtd_hex(fw: &[u8], order: PageOrder) -> String {
    hex::encode(compute_mrtd(&TdvfImage::parse(fw).unwrap(), order).unwrap())
}

#[test]
fn mrtd_of_debian_bookworm_ovmf() {
    let Some(p) = aether_testkit::input("ovmf-bookworm.fd") else {
        return;
    };
    let fw = read(&p);
    assert_eq!(
        mrtd_hex(&fw, PageOrder::SinglePass),
        "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057fb887fed0744d5631a212967fb231c47"
    );
    let two = mrtd_hex(&fw, PageOrder::TwoPass);
    assert!(
        two.starts_with("acccbcc8") && two.ends_with("f7e1"),
        "{two}"
    );
}

#[test]
fn mrtd_of_debian_trixie_ovmf() {
    let Some(p) = aether_testkit::input("ovmf-trixie.fd") else {
        return;
    };
    let fw = read(&p);
    assert_eq!(
        mrtd_hex(&fw, PageOrder::SinglePass),
        "bdc6fb145880f06f30c8b346b8dce2a99d9351b56892df22f80fcf6574caa9f9c31df8e8576d53b4d0cd1c3f28910e11"
    );
    let two = mrtd_hex(&fw, PageOrder::TwoPass);
    assert!(
        two.starts_with("456f0790") && two.ends_with("0db2"),
        "{two}"
    );
}

#[test]
fn debian_metadata_and_profiles() {
    let (Some(b), Some(t)) = (
        aether_testkit::input("ovmf-bookworm.fd"),
        aether_testkit::input("ovmf-trixie.fd"),
    ) else {
        return;
    };
    let (b, t) = (read(&b), read(&t));
    let tb = TdvfImage::parse(&t).unwrap();
    let kinds: Vec<_> = tb
        .metadata()
        .sections
        .iter()
        .map(|s| s.section_type.as_u32())
        .collect();
    assert_eq!(kinds, [0, 1, 3, 3, 2, 3]);
    // The trixie CFV hashes to the value dstack-mr hard-codes for its own
    // (identical, empty-variable-store) 4 MiB OVMF: an independent cross-check.
    let cfv = tb.metadata().section(tdvf::TdvfSectionType::Cfv).unwrap();
    assert_eq!(
        hex::encode(Sha384::digest(tb.section_raw_bytes(cfv).unwrap())),
        "344bc51c980ba621aaa00da3ed7436f7d6e549197dfe699515dfa2c6583d95e6412af21c097d473155875ffd561d6790"
    );
    let pb = TdvfProfile::detect(&b);
    assert!(pb.volumes_decompressed > 0 && !pb.cc_measurement, "{pb:?}");
    let pt = TdvfProfile::detect(&t);
    assert!(pt.cc_measurement && !pt.measures_fw_cfg_items, "{pt:?}");
    assert_eq!(pt.initrd_option, Some(InitrdOptionPlacement::Appended));
    // edk2 2025.02 loads QEMU's unpatched etc/boot/kernel; 2022.11 does not.
    assert!(pt.reads_etc_boot_kernel && !pb.reads_etc_boot_kernel);
}

#[test]
fn debian_kernel_authenticode_matches_debian_signature() {
    let Some(p) = aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64") else {
        return;
    };
    let k = read(&p);
    let ours = kernel::authenticode_digest::<sha2::Sha256>(&k).unwrap();
    // The digest Debian's signing service put into the kernel's own Authenticode signature.
    let pe = object::read::pe::PeFile64::parse(&k[..]).unwrap();
    let mut signed = Vec::new();
    for c in authenticode::AttributeCertificateIterator::new(&pe)
        .unwrap()
        .unwrap()
    {
        signed.push(
            c.unwrap()
                .get_authenticode_signature()
                .unwrap()
                .digest()
                .to_vec(),
        );
    }
    assert_eq!(signed, vec![ours.clone()]);
    // Also pinned (osslsigncode verify: "Calculated message digest").
    assert_eq!(
        hex::encode(ours),
        "5f21ff2c0d5d899842b28a8b19901ba72cf7a7ab93c02a77fadc6ff72be85b31"
    );
    assert_eq!(
        hex::encode(authenticode_sha384(&k).unwrap()),
        "85ac7473fe81fb47666a5c08d32d8e7a62af347ddae9567dff0781f954a9b06670accfcfa714830329b1e45cfa9e541c"
    );
    let stub = EfiStubFeatures::detect(&k);
    assert!(
        !stub.cc_measurement && stub.measures_load_options && stub.measures_initrd,
        "{stub:?}"
    );
}

#[test]
fn debian_kernel_as_served_by_qemu() {
    let Some(p) = aether_testkit::input("vmlinuz-6.1.0-56-cloud-amd64") else {
        return;
    };
    let k = read(&p);
    let load = |memory, initrd_size| QemuKernelLoad {
        memory,
        cmdline: "console=ttyS0",
        initrd_size,
        acpi_data_size: QEMU_ACPI_DATA_SIZE,
    };
    let patched = served_kernel(
        &k,
        &load(2 << 30, Some(0x10_0000)),
        SetupHeaderPolicy::QemuPatched,
    )
    .unwrap();
    let changed: Vec<usize> = (0..k.len()).filter(|&i| k[i] != patched[i]).collect();
    // type_of_loader, loadflags, ramdisk_image/size, heap_end_ptr, cmd_line_ptr only.
    assert!(
        changed.iter().all(|i| (0x210..0x22c).contains(i)),
        "{changed:x?}"
    );
    let h = |m, i| {
        hex::encode(
            authenticode_sha384(
                &served_kernel(&k, &load(m, i), SetupHeaderPolicy::QemuPatched).unwrap(),
            )
            .unwrap(),
        )
    };
    let two_g = h(2 << 30, Some(0x10_0000));
    assert_eq!(two_g, h(2 << 30, Some(0x10_0000)), "stable");
    assert_eq!(
        two_g,
        h(16 << 30, Some(0x10_0000)),
        "2 GiB and >= 0xb0000000 place the initrd alike"
    );
    assert_ne!(two_g, h(1 << 30, Some(0x10_0000)));
    assert_eq!(
        two_g,
        "049cc0fcb1ea19b799cba260167b2fce7c347282a95ff2bf4d6a15e0f0056004f7ba59a8d22c9ab9874e59b0822b9113"
    );
    assert_eq!(
        h(2 << 30, None),
        "a1544cf639a5c406b9598e4a2ba6db2d46a9129ba009d3c17b2f9229bd319a56baf1f1fe4b8beef812373a73e3466551"
    );
    // QEMU >= 10.2 serves the file unchanged.
    let unmod = served_kernel(&k, &load(2 << 30, Some(1)), SetupHeaderPolicy::Unmodified).unwrap();
    assert_eq!(unmod, k);
}

struct Ccel {
    log: EventLog,
    quote: Vec<u8>,
}

fn ccel() -> Option<Ccel> {
    let data = read(&aether_testkit::vector("tdx/gotdx/ccel/ccel_data.dat")?);
    let quote = read(&aether_testkit::vector(
        "tdx/gotdx/ccel/cos-113-tdx-quote.dat",
    )?);
    Some(Ccel {
        log: EventLog::parse(&data).unwrap(),
        quote,
    })
}

#[test]
fn ccel_replay_reproduces_the_quote_rtmrs() {
    let Some(c) = ccel() else { return };
    assert_eq!(c.log.events.len(), 43);
    assert!(c.log.trailing_len > 0);
    assert_eq!(c.log.spec_id.algorithms.len(), 1);
    assert_eq!(c.log.spec_id.algorithms[0].alg_id, TPM_ALG_SHA384);
    let rtmrs = c.log.replay_rtmrs().unwrap();
    // RTMRs straight from the quote: v4 header 48 bytes, then TD report body.
    assert_eq!(u16::from_le_bytes([c.quote[0], c.quote[1]]), 4);
    for (i, off) in [328usize, 376, 424, 472].into_iter().enumerate() {
        assert_eq!(
            rtmrs[i].as_slice(),
            &c.quote[48 + off..48 + off + 48],
            "RTMR{i}"
        );
    }
    // And the values recorded in the vectors README.
    assert_eq!(
        hex::encode(rtmrs[0]),
        "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6"
    );
    assert_eq!(
        hex::encode(rtmrs[1]),
        "f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1"
    );
    assert_eq!(
        hex::encode(rtmrs[2]),
        "4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1"
    );
    assert_eq!(rtmrs[3], [0u8; 48]);
}

#[test]
fn ccel_table_vector() {
    let Some(p) = aether_testkit::vector("tdx/gotdx/ccel/ccel_table.dat") else {
        return;
    };
    let t = CcelTable::parse(&read(&p)).unwrap();
    assert_eq!((t.laml, t.lasa, t.cc_type), (0x4_0000, 0xbedb_f000, 2));
}

/// The event-data structures this crate builds for RTMR0 are byte-identical
/// to what a real TDVF logged.
#[test]
fn real_log_confirms_uefi_structures() {
    let Some(c) = ccel() else { return };
    let ev = &c.log.events;
    // Secure-boot variables: decode/encode round trip and digest = hash of the event data.
    for e in ev
        .iter()
        .filter(|e| e.event_type == EV_EFI_VARIABLE_DRIVER_CONFIG)
    {
        let v = UefiVariableData::decode(&e.data).unwrap();
        assert_eq!(v.encode(), e.data);
        assert_eq!(e.data_digest_matches(TPM_ALG_SHA384), Some(true));
    }
    let names: Vec<String> = ev[2..7]
        .iter()
        .map(|e| UefiVariableData::decode(&e.data).unwrap().name)
        .collect();
    assert_eq!(names, ["SecureBoot", "PK", "KEK", "db", "dbx"]);
    // Boot0000 = OVMF's UiApp load option, built here from first principles.
    let boot0000 = ev
        .iter()
        .filter(|e| e.event_type == EV_EFI_VARIABLE_BOOT)
        .map(|e| UefiVariableData::decode(&e.data).unwrap())
        .find(|v| v.name == "Boot0000")
        .unwrap();
    assert_eq!(boot0000.data, ovmf_ui_app_load_option());
    let e13 = &ev[13];
    assert_eq!(
        e13.digest(TPM_ALG_SHA384).unwrap(),
        &Sha384::digest(ovmf_ui_app_load_option())[..]
    );
    // RTMR1 boot actions and separators are the strings/bytes launch.rs hashes.
    assert_eq!(e13.data_digest_matches(TPM_ALG_SHA384), Some(true));
    for e in ev
        .iter()
        .filter(|e| e.event_type == 0x8000_0007 || e.event_type == 4)
    {
        assert_eq!(
            e.data_digest_matches(TPM_ALG_SHA384),
            Some(true),
            "{:?}",
            e.description()
        );
    }
    assert_eq!(
        ev[14].description().as_deref(),
        Some("Calling EFI Application from Boot Option")
    );
    assert_eq!(
        ev[42].description().as_deref(),
        Some("Exit Boot Services Returned with Success")
    );
}
