//! Benchmark placeholder; replaced by the benchmark implementation.

fn main() {}
