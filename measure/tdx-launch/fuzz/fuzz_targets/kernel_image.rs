//! bzImage setup-header handling (QEMU patch) and Authenticode PE parsing.
#![no_main]
use aether_tdx_launch::kernel::{EfiStubFeatures, QEMU_ACPI_DATA_SIZE, QemuKernelLoad, SetupHeader, served_kernel};
use aether_tdx_launch::{SetupHeaderPolicy, authenticode_sha384};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First 9 bytes steer memory and initrd size; the rest is the kernel.
    let (memory, initrd, kernel) = match data {
        [m0, m1, m2, m3, i0, i1, i2, i3, has, rest @ ..] => (
            u64::from(u32::from_le_bytes([*m0, *m1, *m2, *m3])) << 12,
            (has & 1 == 1).then(|| u64::from(u32::from_le_bytes([*i0, *i1, *i2, *i3]))),
            rest,
        ),
        _ => return,
    };
    let _ = SetupHeader::parse(kernel);
    let _ = EfiStubFeatures::detect(kernel);
    let _ = authenticode_sha384(kernel);
    let load = QemuKernelLoad { memory, cmdline: "console=ttyS0 vga=ask", initrd_size: initrd, acpi_data_size: QEMU_ACPI_DATA_SIZE };
    for policy in [SetupHeaderPolicy::QemuPatched, SetupHeaderPolicy::Unmodified] {
        if let Ok(k) = served_kernel(kernel, &load, policy) {
            let _ = authenticode_sha384(&k);
        }
    }
});
