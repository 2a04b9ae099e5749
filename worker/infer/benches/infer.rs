//! `cargo bench -p aether-infer --bench infer`: in one run, on one core,
//! - embedding of a 128-token input: ours vs candle's BERT (same weights,
//!   same machine), with the cosine between the two and a check that ours
//!   is bit-identical run to run;
//! - segment re-execution for a challenge: one encoder layer from its
//!   checkpoint data (decode, layer, encode), and the pooling segment.
//!
//! One core: the bench re-runs itself with `RAYON_NUM_THREADS=1` (candle's
//! matmul threads follow it) and runs everything on one thread. Figures are
//! the median and the minimum of timed runs after warm-up.

#[path = "../tests/common/candle_ref.rs"]
mod candle_ref;

mod inputs {
    include!("../tests/common/golden_inputs.rs");
}

use aether_infer::Model;
use std::time::{Duration, Instant};

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    for _ in 0..2 {
        std::hint::black_box(f());
    }
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    t.sort();
    (t[runs / 2], t[0])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    if std::env::var("RAYON_NUM_THREADS").as_deref() != Ok("1") {
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args_os().skip(1))
            .env("RAYON_NUM_THREADS", "1")
            .status()
            .expect("re-run the bench");
        std::process::exit(status.code().unwrap_or(1));
    }
    let Some(dir) = aether_testkit::minilm_model_dir() else {
        return;
    };
    let model = Model::load(&dir).expect("load the model");
    let candle = candle_ref::CandleBert::load(&dir);
    let tokens = inputs::golden_inputs()
        .into_iter()
        .find(|(n, _)| *n == "seq128")
        .expect("seq128")
        .1;
    assert_eq!(tokens.len(), 128);
    let runs = 15;

    let first = model.run(&tokens).expect("run");
    let (ours_med, ours_min) = time(runs, || model.run(&tokens).expect("run"));
    let again = model.run(&tokens).expect("run");
    assert_eq!(again.trace, first.trace, "not bit-identical run to run");
    let (candle_med, candle_min) = time(runs, || candle.embed(&tokens));
    let cosine = {
        let theirs = candle.embed(&tokens);
        let dot: f64 = first
            .embedding
            .iter()
            .zip(&theirs)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        dot / (n(&first.embedding) * n(&theirs))
    };
    let layer = 3;
    let (seg_med, seg_min) = time(runs * 2, || {
        model
            .run_segment(layer, &first.checkpoints[layer - 1])
            .expect("segment")
    });
    let pool = model.segment_count();
    let (pool_med, _) = time(runs * 2, || {
        model
            .run_segment(pool, &first.checkpoints[pool - 1])
            .expect("segment")
    });

    println!(
        "all-MiniLM-L6-v2, 128-token input, one core, kernel {} ({runs} runs after 2 warm-up; median / min)",
        aether_infer::kernel_level()
    );
    println!(
        "  ours (fixed-order f32, bit-exact):  {:7.1} ms / {:7.1} ms   (goal <= 250 ms)",
        ms(ours_med),
        ms(ours_min)
    );
    println!(
        "  candle 0.9 BERT (gemm, FMA):        {:7.1} ms / {:7.1} ms",
        ms(candle_med),
        ms(candle_min)
    );
    println!(
        "  ours / candle: {:.2}x (goal <= 2x); 1 - cosine(ours, candle) = {:.1e}",
        ms(ours_med) / ms(candle_med),
        1.0 - cosine
    );
    println!(
        "  segment re-execution, layer {layer} from checkpoint {} data: {:6.1} ms / {:6.1} ms  (goal <= 50 ms)",
        layer - 1,
        ms(seg_med),
        ms(seg_min)
    );
    println!(
        "  segment re-execution, pooling (segment {pool}): {:6.3} ms",
        ms(pool_med)
    );
}
