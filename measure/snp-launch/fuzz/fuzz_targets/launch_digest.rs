//! The full launch digest over arbitrary firmware bytes, in every mode and
//! VMM type, with and without a kernel. Must never panic.
#![no_main]

use aether_snp_launch::{Kernel, LaunchInputs, Mode, Parallelism, Svsm, VmmType, measure};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the shape; the rest is the firmware.
    let Some((&shape, firmware)) = data.split_first() else {
        return;
    };
    let mode = Mode::ALL[usize::from(shape) % Mode::ALL.len()];
    let vmm = VmmType::ALL[usize::from(shape >> 3) % VmmType::ALL.len()];
    let mut inputs = LaunchInputs::new(mode, firmware);
    inputs.vmm = vmm;
    inputs.vcpus = u32::from(shape >> 5);
    inputs.parallelism = Parallelism::Sequential;
    if shape & 0x10 != 0 {
        inputs.kernel = Some(Kernel::Bytes {
            kernel: firmware,
            initrd: None,
            cmdline: Some("x"),
        });
    }
    if mode == Mode::SnpSvsm {
        inputs.svsm = Some(Svsm {
            image: firmware,
            vars_size: i64::from(shape) * 4096,
        });
    }
    let _ = measure(&inputs);
});
