//! Prints the matrix kernel level in use (`kernel LEVEL`), then the output
//! sha256 and trace root of fixed token inputs, one line each:
//! `NAME OUTPUT_SHA256 TRACE_ROOT`. Built with different `RUSTFLAGS`
//! by `tests/build_flags.rs` (as bin `aether-infer-golden`, feature `golden`), whose outputs must agree with each other and
//! with the golden values of `tests/model.rs` (and must not, when built with
//! `--cfg aether_infer_fma`).
//!
//! Needs no tokenizer: `cargo run --release -p aether-infer --bin
//! aether-infer-golden --no-default-features --features golden -- MODEL_DIR`.

use aether_infer::Model;
use std::path::PathBuf;

/// The fixed inputs: (name, token ids). Shared with the tests through `include!`.
mod inputs {
    include!("../../tests/common/golden_inputs.rs");
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .expect("usage: golden MODEL_DIR");
    let model = Model::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    println!("kernel {}", aether_infer::kernel_level());
    for (name, tokens) in inputs::golden_inputs() {
        let run = model.run(&tokens).unwrap_or_else(|e| panic!("{name}: {e}"));
        println!(
            "{name} {} {}",
            hex::encode(run.output_sha256()),
            hex::encode(run.trace.root())
        );
    }
}
