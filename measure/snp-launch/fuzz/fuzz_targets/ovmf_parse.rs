//! Decodes arbitrary bytes as OVMF / SVSM firmware: footer table, SEV
//! metadata and the entries the digest reads. Must never panic.
#![no_main]

use aether_snp_launch::{Firmware, SectionType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(fw) = Firmware::parse_ovmf(data) {
        let _ = fw.sev_es_reset_eip();
        let _ = fw.sev_hashes_table_gpa();
        let _ = fw.supports_sev_hashes_table();
        let _ = fw.svsm_info_offset();
        let _ = fw.has_section(SectionType::SnpKernelHashes);
        let _ = fw.gpa();
        for s in fw.sections() {
            let _ = s.section_type();
        }
    }
    let _ = Firmware::parse(data, "SVSM", i128::from(u64::MAX));
});
