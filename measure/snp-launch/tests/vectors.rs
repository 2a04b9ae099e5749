//! The `snp/measure/` cases of the shared vectors README, at the library
//! level (the CLI repeats them in `measure/tests/snp_cli.rs`).

use aether_snp_launch::{CpuType, Error, Kernel, LaunchInputs, Mode, VmmType, measure};

const APPEND: &str = "console=ttyS0 root=/dev/vda1";

fn vector(name: &str) -> Option<Vec<u8>> {
    let path = aether_testkit::vector(&format!("snp/measure/{name}"))?;
    Some(std::fs::read(path).expect("read vector"))
}

fn input(name: &str) -> Option<Vec<u8>> {
    let path = aether_testkit::input(name)?;
    Some(std::fs::read(path).expect("read input"))
}

fn snp<'a>(ovmf: &'a [u8], vcpus: u32) -> LaunchInputs<'a> {
    let mut i = LaunchInputs::new(Mode::Snp, ovmf);
    i.vcpus = vcpus;
    i.vcpu_sig = CpuType::EpycV4.signature();
    i
}

fn hex_of(inputs: &LaunchInputs<'_>) -> String {
    measure(inputs).expect("measure").digest.to_hex()
}

/// Compares a README value that may be abbreviated as `prefix…suffix`.
fn assert_matches(actual: &str, expected: &str) {
    match expected.split_once('…') {
        Some((prefix, suffix)) => assert!(
            actual.starts_with(prefix) && actual.ends_with(suffix),
            "{actual} does not match {expected}"
        ),
        None => assert_eq!(actual, expected),
    }
}

#[test]
fn amdsev_fixture_with_test_kernel() {
    let (Some(ovmf), Some(kernel), Some(initrd)) = (
        vector("ovmf_AmdSev_suffix.bin"),
        vector("kernel.test"),
        vector("initrd.test"),
    ) else {
        return;
    };
    let boot = Kernel::Bytes {
        kernel: &kernel,
        initrd: Some(&initrd),
        cmdline: Some(APPEND),
    };
    for (vcpus, expected) in [
        (
            1,
            "bc90a4c17c1394d6a5af2679f5909eebf0cce23f2d6535ac2803ebf72fa4838231a8911ffb05ca018549ce4660e22345",
        ),
        (
            4,
            "13c3aed790c8cd9587feaa9bdbea78ecbf92c8addb9d547b04603dc7044fbd7da22994fccf44b3c9d1a73e39d4aacf21",
        ),
    ] {
        let mut i = snp(&ovmf, vcpus);
        i.kernel = Some(boot);
        assert_eq!(hex_of(&i), expected, "vcpus {vcpus}");
    }
    // kernel only: initrd = sha256(""), cmdline = sha256("\0")
    let mut i = snp(&ovmf, 1);
    i.kernel = Some(Kernel::Bytes {
        kernel: &kernel,
        initrd: None,
        cmdline: None,
    });
    assert_eq!(
        hex_of(&i),
        "2947d1fc03b0c8754713f7cfd1d6ff5a2564637dc67616fd6bfbe305819c365b89a270da532312b6e52543ae6fa93cfb"
    );
    // no kernel
    assert_eq!(
        hex_of(&snp(&ovmf, 1)),
        "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"
    );
    // The README's file hashes of the small inputs.
    let h = measure(&{
        let mut i = snp(&ovmf, 1);
        i.kernel = Some(boot);
        i
    })
    .unwrap()
    .hashes
    .unwrap();
    assert!(
        hex::encode(h.kernel).starts_with("b6229049") && hex::encode(h.kernel).ends_with("7f49")
    );
    assert!(
        hex::encode(h.initrd).starts_with("6e1294a0") && hex::encode(h.initrd).ends_with("a585")
    );
    assert!(
        hex::encode(h.cmdline).starts_with("e3f97613") && hex::encode(h.cmdline).ends_with("912c")
    );
}

#[test]
fn amdsev_fixture_other_modes() {
    let (Some(ovmf), Some(kernel), Some(initrd)) = (
        vector("ovmf_AmdSev_suffix.bin"),
        vector("kernel.test"),
        vector("initrd.test"),
    ) else {
        return;
    };
    let boot = Kernel::Bytes {
        kernel: &kernel,
        initrd: Some(&initrd),
        cmdline: Some(APPEND),
    };
    let mut seves = snp(&ovmf, 2);
    seves.mode = Mode::SevEs;
    seves.kernel = Some(boot);
    assert_eq!(
        hex_of(&seves),
        "50e230e8905853ba7be0f4cf657342dba4e678599f5a93fd144ffdc680087f6b"
    );
    let mut sev = LaunchInputs::new(Mode::Sev, &ovmf);
    sev.kernel = Some(boot);
    assert_eq!(
        hex_of(&sev),
        "e583f6f0da92f7e8793d62d6063db48e56caec438c6dc9738b5b8b886bba1b25"
    );
}

#[test]
fn vmsa_dumps_match() {
    let (Some(ovmf), Some(vmsa0), Some(vmsa1)) = (
        vector("ovmf_AmdSev_suffix.bin"),
        vector("vmsa0_AmdSev_EPYCv4_gf1.bin"),
        vector("vmsa1_AmdSev_EPYCv4_gf1.bin"),
    ) else {
        return;
    };
    let m = measure(&snp(&ovmf, 2)).unwrap();
    let v = m.vmsa.unwrap();
    assert_eq!(v.page(0).unwrap().as_slice(), vmsa0.as_slice());
    assert_eq!(v.page(1).unwrap().as_slice(), vmsa1.as_slice());
}

#[test]
fn debian_kernel_rows() {
    let (Some(ovmf), Some(kernel), Some(initrd)) = (
        vector("ovmf_AmdSev_suffix.bin"),
        input("vmlinuz-6.1.0-56-cloud-amd64"),
        vector("initrd.test"),
    ) else {
        return;
    };
    for (vcpus, expected) in [
        (
            1,
            "492aa4dd0f7eefec6372e18e7b06732ab436d9d25115ca013aeef157e9481710cddc17088e2b46078272d5dc02e4da5f",
        ),
        (
            4,
            "09755fefa78fe6688d53624b7b81663ef1817fcd12c02bfab1c265dea7c892e175258186c390a999b85231cfea4a8a4e",
        ),
    ] {
        let mut i = snp(&ovmf, vcpus);
        i.kernel = Some(Kernel::Bytes {
            kernel: &kernel,
            initrd: Some(&initrd),
            cmdline: Some(APPEND),
        });
        let m = measure(&i).unwrap();
        assert_eq!(m.digest.to_hex(), expected, "vcpus {vcpus}");
        let k = hex::encode(m.hashes.unwrap().kernel);
        assert!(k.starts_with("51349501") && k.ends_with("3275"), "{k}");
    }
}

#[test]
fn debian_ovmf_rows() {
    let (Some(bookworm), Some(trixie)) = (input("ovmf-bookworm.fd"), input("ovmf-trixie.fd"))
    else {
        return;
    };
    for (ovmf, vcpus, expected) in [
        (
            &bookworm,
            1,
            "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3",
        ),
        (
            &bookworm,
            4,
            "32ac9d7a17d28f7cd4404a4516d2f00519668c40ada2062351c36767e908eb3f090d66c33ab10f80150e00a4385b6d0f",
        ),
        (
            &trixie,
            1,
            "6eef547a9fcf5720c5c04883fe85788d29de46b55a51e554467029b554a3352e66d2f3c71b84cea937d19a1a6c41596f",
        ),
        (
            &trixie,
            4,
            "676826e902524799a067f7c43b3ab0101dce73a2506d41436dd2f8472fa208081f11f9e65ca5d2439785732a0bfd8339",
        ),
    ] {
        assert_eq!(hex_of(&snp(ovmf, vcpus)), expected);
    }
    let b = &bookworm;
    assert_matches(
        &hex_of(&LaunchInputs::new(Mode::SnpOvmfHash, b)),
        "ba2c8115…73c6",
    );
    let mut milan = snp(b, 2);
    milan.vcpu_sig = CpuType::EpycMilan.signature();
    milan.guest_features = 0x21;
    assert_matches(&hex_of(&milan), "5b3db052…2305");
    let mut ec2 = snp(b, 2);
    ec2.vmm = VmmType::Ec2;
    assert_matches(&hex_of(&ec2), "7f6fef70…c93c");
    let mut seves = snp(b, 4);
    seves.mode = Mode::SevEs;
    assert_matches(&hex_of(&seves), "5f69b0f4…e480");
    assert_matches(&hex_of(&LaunchInputs::new(Mode::Sev, b)), "7b456907…d773");
    assert_eq!(
        hex_of(&LaunchInputs::new(Mode::Sev, b)),
        hex::encode(aether_snp_launch::hashes_table::sha256(b))
    );
    // The precomputed OVMF hash reproduces the full computation.
    let ovmf_hash = measure(&LaunchInputs::new(Mode::SnpOvmfHash, b))
        .unwrap()
        .digest;
    let mut seeded = snp(b, 4);
    let mut seed = [0u8; 48];
    seed.copy_from_slice(ovmf_hash.as_bytes());
    seeded.ovmf_hash = Some(seed);
    assert_eq!(
        hex_of(&seeded),
        "32ac9d7a17d28f7cd4404a4516d2f00519668c40ada2062351c36767e908eb3f090d66c33ab10f80150e00a4385b6d0f"
    );
    // A kernel with Debian's OVMF is the expected failure.
    for ovmf in [&bookworm, &trixie] {
        let mut i = snp(ovmf, 1);
        i.kernel = Some(Kernel::Bytes {
            kernel: b"kernel",
            initrd: None,
            cmdline: None,
        });
        let err = measure(&i).unwrap_err();
        assert_eq!(err, Error::KernelHashesSectionMissing);
        assert_eq!(
            err.to_string(),
            "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section"
        );
    }
}
