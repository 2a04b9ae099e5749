//! OVMF footer table + TDX metadata decoding, MRTD and TD HOB on arbitrary images.
#![no_main]
use aether_tdx_launch::{PageOrder, TdvfImage, compute_mrtd, td_hob, tdvf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tdvf::footer_table(data);
    if let Ok(img) = TdvfImage::parse(data) {
        let _ = compute_mrtd(&img, PageOrder::SinglePass);
        let _ = compute_mrtd(&img, PageOrder::TwoPass);
        let _ = td_hob::qemu_td_hob(img.metadata(), 2 << 30);
        let _ = td_hob::qemu_td_hob(img.metadata(), 64 << 30);
    }
});
