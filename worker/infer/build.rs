//! Declares the test-only `aether_infer_fma` cfg (see src/kernels.rs).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(aether_infer_fma)");
}
