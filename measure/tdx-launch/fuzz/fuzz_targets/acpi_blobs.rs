//! QEMU table-loader, MADT walk, UEFI variable data and firmware-profile scan.
#![no_main]
use aether_tdx_launch::{TdvfProfile, acpi, uefi};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = acpi::table_loader_allocations(data);
    let _ = acpi::madt_enabled_cpus(data);
    let _ = uefi::UefiVariableData::decode(data);
    let _ = TdvfProfile::detect(data);
});
